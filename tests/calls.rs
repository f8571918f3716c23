//! Per-call key agreement (SPEC.md §23): offer and answer carried over an
//! established session, keys equal on both sides with the directions
//! swapped, bound to the identities and the transcript, and refusals.

mod common;

use chatcrypt::{
    media::{CallAnswer, CallOffer, CallRole, SFRAME_KID_CALLEE, SFRAME_KID_CALLER},
    Error, KemType, Mode, PqPolicy,
};
use common::Pair;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

#[test]
fn caller_and_callee_agree_and_the_session_only_carries_the_messages() {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let mut p = Pair::handshake_hybrid(Mode::Plain, 1);
    let (pending, offer) = CallOffer::new(&p.alice, &mut rng);
    assert_eq!(offer.kem_type(), Some(KemType::MlKem1024));
    // The offer travels as an ordinary session message.
    let wire = p.alice.encrypt(&offer.to_bytes(), &mut rng).unwrap();
    let got = CallOffer::from_bytes(&p.bob.decrypt(&wire, &mut rng).unwrap()).unwrap();
    assert_eq!(got, offer);
    let (bob_keys, answer) = got.answer(&p.bob, PqPolicy::Required, &mut rng).unwrap();
    let wire = p.bob.encrypt(&answer.to_bytes(), &mut rng).unwrap();
    let answer = CallAnswer::from_bytes(&p.alice.decrypt(&wire, &mut rng).unwrap()).unwrap();
    let mut alice_keys = pending.complete(&p.alice, &answer).unwrap();
    let mut bob_keys = bob_keys;

    assert_eq!(alice_keys.role(), CallRole::Caller);
    assert_eq!(bob_keys.role(), CallRole::Callee);
    assert!(alice_keys.is_post_quantum() && bob_keys.is_post_quantum());
    assert_eq!(alice_keys.call_id(), bob_keys.call_id());
    assert_eq!(alice_keys.srtp_send().master_key(), bob_keys.srtp_receive().master_key());
    assert_eq!(alice_keys.srtp_send().master_salt(), bob_keys.srtp_receive().master_salt());
    assert_eq!(alice_keys.srtp_receive().master_key(), bob_keys.srtp_send().master_key());
    assert_ne!(alice_keys.srtp_send().master_key(), alice_keys.srtp_receive().master_key());
    assert_eq!(
        (alice_keys.sframe_receive().kid(), bob_keys.sframe_receive().kid()),
        (SFRAME_KID_CALLEE, SFRAME_KID_CALLER)
    );
    assert_ne!(alice_keys.sframe_receive().key(), bob_keys.sframe_receive().key());
    // SFrame both ways: each side's one sender, the other side's receiver.
    let suite = chatcrypt::media::CipherSuite::AesGcm256Sha512;
    let mut senders = [alice_keys.sframe_sender(suite).unwrap(), bob_keys.sframe_sender(suite).unwrap()];
    // One sender per call: a second would restart the counter at 0.
    assert!(matches!(alice_keys.sframe_sender(suite), Err(Error::Duplicate)));
    assert!(matches!(bob_keys.sframe_sender(suite), Err(Error::Duplicate)));
    let mut receivers =
        [bob_keys.sframe_receiver(suite).unwrap(), alice_keys.sframe_receiver(suite).unwrap()];
    for (sender, receiver) in senders.iter_mut().zip(receivers.iter_mut()) {
        let mut frame = vec![0u8; sender.ciphertext_len(5)];
        let n = sender.encrypt(b"", b"hello", &mut frame).unwrap();
        let mut out = [0u8; 64];
        let got = receiver.decrypt(b"", &frame[..n], &mut out).unwrap();
        assert_eq!(&out[..got.len], b"hello");
    }
    // Debug shows no key bytes.
    assert_eq!(format!("{:?}", alice_keys.srtp_send()), "SrtpKeys { .. }");
    assert_eq!(format!("{:?}", alice_keys.sframe_receive()), "SframeBaseKey { kid: 1, .. }");
    assert_eq!(format!("{alice_keys:?}"), "CallKeys { role: Caller, post_quantum: true, .. }");
}

#[test]
fn two_calls_on_one_session_have_unrelated_keys() {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let p = Pair::handshake_hybrid(Mode::Plain, 2);
    let call = |rng: &mut ChaCha20Rng| {
        let (pending, offer) = CallOffer::new(&p.alice, rng);
        let (_, answer) = offer.answer(&p.bob, PqPolicy::Required, rng).unwrap();
        pending.complete(&p.alice, &answer).unwrap()
    };
    let one = call(&mut rng);
    let two = call(&mut rng);
    assert_ne!(one.call_id(), two.call_id());
    assert_ne!(one.srtp_send().master_key(), two.srtp_send().master_key());
}

#[test]
fn tampering_and_mismatches_are_refused() {
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let p = Pair::handshake_hybrid(Mode::Plain, 2);
    // An answer to another offer.
    let (pending, offer) = CallOffer::new(&p.alice, &mut rng);
    let (_, other_offer) = CallOffer::new(&p.alice, &mut rng);
    assert_ne!(offer.call_id(), other_offer.call_id());
    let (_, wrong) = other_offer.answer(&p.bob, PqPolicy::Required, &mut rng).unwrap();
    assert_eq!(pending.complete(&p.alice, &wrong).map(|_| ()), Err(Error::HandshakeMismatch));

    // A classical offer is refused under the default policy, accepted when allowed.
    let (pending, classical) = CallOffer::new_with_kem(&p.alice, None, &mut rng);
    assert_eq!(
        classical.answer(&p.bob, PqPolicy::Required, &mut rng).map(|_| ()),
        Err(Error::PostQuantumRequired)
    );
    let (bob_keys, answer) = classical.answer(&p.bob, PqPolicy::AllowClassical, &mut rng).unwrap();
    let alice_keys = pending.complete(&p.alice, &answer).unwrap();
    assert!(!alice_keys.is_post_quantum());
    assert_eq!(alice_keys.srtp_send().master_key(), bob_keys.srtp_receive().master_key());

    // A KEM ciphertext changed in transit: implicit rejection gives other
    // keys, so the call's media does not decrypt (the answer itself is
    // authenticated by the session in a real app).
    let (pending, offer) = CallOffer::new(&p.alice, &mut rng);
    let (bob_keys, answer) = offer.answer(&p.bob, PqPolicy::Required, &mut rng).unwrap();
    let mut bytes = answer.to_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let alice_keys = pending.complete(&p.alice, &CallAnswer::from_bytes(&bytes).unwrap()).unwrap();
    assert_ne!(alice_keys.srtp_send().master_key(), bob_keys.srtp_receive().master_key());

    // Low-order X25519 keys are refused at decoding or at the exchange.
    let (_, offer) = CallOffer::new(&p.alice, &mut rng);
    let mut bytes = offer.to_bytes();
    bytes[18..50].copy_from_slice(&[0u8; 32]);
    let zero = CallOffer::from_bytes(&bytes).unwrap();
    assert_eq!(zero.answer(&p.bob, PqPolicy::Required, &mut rng).map(|_| ()), Err(Error::NonContributory));
}

#[test]
fn the_keys_are_bound_to_both_identities() {
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    let p = Pair::handshake_hybrid(Mode::Plain, 2);
    let q = Pair::handshake_hybrid(Mode::Plain, 9); // other identities
    let (pending, offer) = CallOffer::new(&p.alice, &mut rng);
    // The same offer answered from another session (another callee identity).
    let (carol_keys, answer) = offer.answer(&q.bob, PqPolicy::Required, &mut rng).unwrap();
    // Completing it on the session with Bob refuses an answer that came on
    // another session...
    assert_eq!(pending.complete(&q.alice, &answer).map(|_| ()), Err(Error::WrongIdentity));
    // ...and if the app routes it to the right session anyway, the keys differ.
    let (pending, offer) = CallOffer::new(&p.alice, &mut rng);
    let (carol_keys2, answer) = offer.answer(&q.bob, PqPolicy::Required, &mut rng).unwrap();
    let alice_keys = pending.complete(&p.alice, &answer).unwrap();
    assert_ne!(alice_keys.srtp_send().master_key(), carol_keys2.srtp_receive().master_key());
    assert_ne!(carol_keys.srtp_send().master_key(), carol_keys2.srtp_send().master_key());
}

#[test]
fn decoders_are_strict() {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let p = Pair::handshake_hybrid(Mode::Plain, 2);
    let (_, offer) = CallOffer::new(&p.alice, &mut rng);
    let (_, answer) = offer.answer(&p.bob, PqPolicy::Required, &mut rng).unwrap();
    for bytes in [offer.to_bytes(), answer.to_bytes()] {
        for cut in 0..bytes.len() {
            let is_offer = bytes[0] == 0x6F;
            let r = if is_offer {
                CallOffer::from_bytes(&bytes[..cut]).map(|_| ())
            } else {
                CallAnswer::from_bytes(&bytes[..cut]).map(|_| ())
            };
            assert!(matches!(r, Err(Error::Decode(_))), "cut {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        let r = if bytes[0] == 0x6F {
            CallOffer::from_bytes(&long).map(|_| ())
        } else {
            CallAnswer::from_bytes(&long).map(|_| ())
        };
        assert_eq!(r, Err(Error::Decode(chatcrypt::DecodeError::TrailingBytes)));
    }
    assert_eq!(
        CallOffer::from_bytes(&answer.to_bytes()).map(|_| ()),
        Err(Error::Decode(chatcrypt::DecodeError::UnexpectedType(0x61)))
    );
    let mut bad = offer.to_bytes();
    bad[50] = 0x7f; // unknown KEM type
    assert_eq!(
        CallOffer::from_bytes(&bad).map(|_| ()),
        Err(Error::Decode(chatcrypt::DecodeError::UnknownKeyType(0x7f)))
    );
}
