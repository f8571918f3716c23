//! The API points that make chatcrypt hard to misuse (SPEC.md §2, §5.2,
//! §8.1, §12): the responder's mode policy, the consumed one-time prekey,
//! total length queries, canonical X25519 keys, message ids, and what a
//! rolled-back sender's peer sees.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chatcrypt::{AcceptPolicy, PqPolicy};
use chatcrypt::{
    DecodeError, Error, IdentityKeyPair, Mode, ModePolicy, OneTimePreKey, PreKeyBundle, PreKeyMessage,
    Session, SignedPreKey, SignedPreKeyPublic, MAX_PLAINTEXT_LEN,
};
use common::{rng, Pair, Responder, TestSend, MODES};

/// A first message from a fresh initiator in `mode` to `bob`.
fn first_message(bob: &Responder, mode: Mode, seed: u64) -> (Session, PreKeyMessage) {
    let mut r = rng(seed);
    let alice = IdentityKeyPair::generate(&mut r);
    let mut a =
        Session::initiate_with(&alice, &bob.bundle(), mode, PqPolicy::AllowClassical, &mut r).unwrap();
    let m = a.encrypt(b"first", &mut r).unwrap();
    (a, PreKeyMessage::from_bytes(&m).unwrap())
}

fn opk_copy(bob: &Responder) -> Option<OneTimePreKey> {
    bob.opk.as_ref().map(|k| OneTimePreKey::from_bytes(&k.to_bytes()).unwrap())
}

#[test]
fn the_mode_policy_refuses_a_mode_before_looking_at_any_prekey() {
    let mut r = rng(1);
    let bob = Responder::new(&mut r, true);
    for mode in MODES {
        let (_, msg) = first_message(&bob, mode, 2);
        let (refusing, only) = match mode {
            Mode::Plain => (ModePolicy::HeaderEncryptionOnly, ModePolicy::PlainOnly),
            _ => (ModePolicy::PlainOnly, ModePolicy::HeaderEncryptionOnly),
        };
        // Refused even with the wrong signed prekey: the policy is checked first.
        let other_spk = SignedPreKey::generate(&bob.identity, 99, &mut r);
        for spk in [&bob.spk, &other_spk] {
            let got = Session::accept(
                &bob.identity,
                spk,
                opk_copy(&bob),
                None,
                &msg,
                AcceptPolicy::new(refusing, PqPolicy::AllowClassical),
                &mut r,
            );
            assert_eq!(got.err(), Some(Error::ModeNotAllowed { mode }));
        }
        // The policies that allow the mode accept it.
        for policy in [ModePolicy::Any, only] {
            assert!(policy.allows(mode));
            let acc = Session::accept(
                &bob.identity,
                &bob.spk,
                opk_copy(&bob),
                None,
                &msg,
                AcceptPolicy::new(policy, PqPolicy::AllowClassical),
                &mut r,
            )
            .unwrap();
            assert_eq!(acc.plaintext, b"first");
            assert_eq!(acc.session.mode(), mode);
        }
    }
}

#[test]
fn a_failed_accept_consumes_nothing_and_a_successful_one_reports_the_first_message_id() {
    let mut r = rng(3);
    let bob = Responder::new(&mut r, true);
    let (mut alice, msg) = first_message(&bob, Mode::Plain, 4);
    // A forged copy (last byte flipped) fails; the stored prekey, loaded
    // again, still accepts the genuine message.
    let mut forged = msg.as_bytes().to_vec();
    *forged.last_mut().unwrap() ^= 1;
    let forged = PreKeyMessage::from_bytes(&forged).unwrap();
    let got = Session::accept(
        &bob.identity,
        &bob.spk,
        opk_copy(&bob),
        None,
        &forged,
        AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
        &mut r,
    );
    assert_eq!(got.err(), Some(Error::Auth));
    let acc = Session::accept(
        &bob.identity,
        &bob.spk,
        opk_copy(&bob),
        None,
        &msg,
        AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
        &mut r,
    )
    .unwrap();
    let mut b = acc.session;
    // The id is the header's ratchet key, N and guard: Alice's next message
    // on the same chain shares the ratchet key, not the id.
    let m2 = alice.encrypt(b"second", &mut r).unwrap();
    let (p2, id2) = b.decrypt_with_id(&m2, &mut r).unwrap();
    assert_eq!(p2, b"second");
    assert_ne!(id2, acc.id);
    assert_eq!(id2.as_bytes()[..32], acc.id.as_bytes()[..32]);
    assert_eq!(u32::from_be_bytes(acc.id.as_bytes()[32..36].try_into().unwrap()), 0);
    assert_eq!(u32::from_be_bytes(id2.as_bytes()[32..36].try_into().unwrap()), 1);
}

#[test]
fn encrypted_len_never_overflows_or_panics() {
    let p = Pair::established(Mode::Plain, 5);
    for len in [usize::MAX, usize::MAX - 10, MAX_PLAINTEXT_LEN + 1] {
        assert_eq!(p.alice.encrypted_len(len), Err(Error::TooLarge { len, max: MAX_PLAINTEXT_LEN }));
    }
    assert_eq!(p.alice.encrypted_len(MAX_PLAINTEXT_LEN), Ok(2 + 56 + MAX_PLAINTEXT_LEN + 16));
    assert_eq!(p.alice.encrypted_len(0), Ok(2 + 56 + 16));
}

/// The u-coordinate encodings that are not canonical: bit 255 set on a
/// valid key, and the values p, p + 1 and 2^255 - 1.
fn non_canonical(valid: &[u8; 32]) -> Vec<[u8; 32]> {
    let mut top = *valid;
    top[31] |= 0x80;
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let mut p1 = p;
    p1[0] = 0xee;
    let mut max = [0xffu8; 32];
    max[31] = 0x7f;
    vec![top, p, p1, max]
}

#[test]
fn non_canonical_prekeys_are_rejected_when_decoded_and_before_the_signature() {
    let mut r = rng(6);
    let bob = Responder::new(&mut r, true);
    let bundle = bob.bundle();
    let bytes = bundle.to_bytes();
    let spk = *bundle.signed_prekey().key();
    let opk = *bundle.one_time_prekey().unwrap().key();
    for bad in non_canonical(&spk) {
        let mut b = bytes.clone();
        b[38..70].copy_from_slice(&bad);
        assert_eq!(PreKeyBundle::from_bytes(&b).err(), Some(Error::Decode(DecodeError::InvalidPublicKey)));
        // Built without decoding, with a valid signature over the bad key:
        // initiate refuses it before anything else.
        let signed = common::sign_signed_prekey(&bob.identity, 7, &bad);
        let built = PreKeyBundle::new(bob.identity.public_key().clone(), signed, None);
        let alice = IdentityKeyPair::generate(&mut r);
        assert_eq!(
            Session::initiate_with(&alice, &built, Mode::Plain, PqPolicy::AllowClassical, &mut r).err(),
            Some(Error::Decode(DecodeError::InvalidPublicKey))
        );
    }
    for bad in non_canonical(&opk) {
        let mut b = bytes.clone();
        b[138..170].copy_from_slice(&bad);
        assert_eq!(PreKeyBundle::from_bytes(&b).err(), Some(Error::Decode(DecodeError::InvalidPublicKey)));
    }
    // The genuine bundle still works.
    let _: SignedPreKeyPublic = bundle.signed_prekey().clone();
    PreKeyBundle::from_bytes(&bytes).unwrap().verify().unwrap();
}

#[test]
fn non_canonical_base_and_ratchet_keys_do_not_decode() {
    let mut r = rng(7);
    let bob = Responder::new(&mut r, true);
    let (_, msg) = first_message(&bob, Mode::Plain, 8);
    let bytes = msg.as_bytes().to_vec();
    // Base key at 35..67; ratchet key right after the prefix (75 with opk id).
    for (range, what) in [(35..67, "base key"), (75..107, "ratchet key")] {
        let valid: [u8; 32] = bytes[range.clone()].try_into().unwrap();
        for bad in non_canonical(&valid) {
            let mut b = bytes.clone();
            b[range.clone()].copy_from_slice(&bad);
            assert_eq!(
                PreKeyMessage::from_bytes(&b).err(),
                Some(Error::Decode(DecodeError::InvalidPublicKey)),
                "{what}"
            );
        }
    }
}

/// A sender restored from an older snapshot re-sends under message numbers
/// it used: the key and nonce differ (the guard), the ids differ, and the
/// peer that already received those numbers drops the new messages as
/// duplicates; the sender's next new number decrypts again.
#[test]
fn a_rolled_back_sender_is_seen_as_duplicates_then_recovers() {
    for mode in MODES {
        let mut p = Pair::established(mode, 9);
        let snapshot = p.alice.to_bytes();
        let sent: Vec<Vec<u8>> = (0..3).map(|i| p.send_a(format!("before crash {i}").as_bytes())).collect();
        for m in &sent {
            p.recv_b(m).unwrap();
        }
        // The crash: Alice's state after those messages was never stored.
        p.alice = Session::from_bytes(&snapshot).unwrap();
        let again: Vec<Vec<u8>> = (0..4).map(|i| p.send_a(format!("after restore {i}").as_bytes())).collect();
        for (old, new) in sent.iter().zip(&again) {
            assert_ne!(old, new);
            assert_eq!(p.recv_b(new), Err(Error::Duplicate));
        }
        // The fourth reuses no delivered number: it decrypts.
        assert_eq!(p.recv_b(&again[3]).unwrap(), b"after restore 3");
        // And the conversation goes on both ways.
        p.round_trip(100);
    }
}

/// A receiver restored from an older snapshot decrypts again what it had
/// already decrypted; the message id, the same both times, lets the app
/// drop it.
#[test]
fn a_rolled_back_receiver_decrypts_again_with_the_same_id() {
    for mode in MODES {
        let mut p = Pair::established(mode, 10);
        let snapshot = p.bob.to_bytes();
        let m = p.send_a(b"once");
        let (pt, id) = p.bob.decrypt_with_id(&m, &mut p.rng).unwrap();
        assert_eq!(pt, b"once");
        assert_eq!(p.bob.decrypt_with_id(&m, &mut p.rng), Err(Error::Duplicate));
        let mut restored = Session::from_bytes(&snapshot).unwrap();
        let (pt2, id2) = restored.decrypt_with_id(&m, &mut p.rng).unwrap();
        assert_eq!((pt2, id2), (pt, id));
        // decrypt_into reports the same id.
        let mut again = Session::from_bytes(&snapshot).unwrap();
        let mut out = [0u8; 4];
        let got = again.decrypt_into(&m, &mut out, &mut p.rng).unwrap();
        assert_eq!((got.len, got.id), (4, id));
        // Another message has another id.
        let m2 = p.send_a(b"once");
        assert_ne!(p.bob.decrypt_with_id(&m2, &mut p.rng).unwrap().1, id);
        let _ = p.alice.encrypt_t(b"unused").unwrap();
    }
}

/// A stored identity's X25519 form is never used for a handshake (SPEC.md
/// §5.1, §10.4): a session whose stored remote X25519 form was replaced
/// (by someone who can write unsealed storage) still shows the genuine
/// Ed25519 identity, and a new session started from that identity derives
/// its DH from the verified point, so the genuine owner accepts it.
#[test]
fn a_new_handshake_to_a_restored_identity_uses_the_verified_point_not_the_stored_form() {
    let mut p = Pair::established(Mode::Plain, 11);
    let mut state = p.alice.to_bytes().to_vec();
    common::assert_classical_v3(&state);
    // Remote identity at 67..99, its X25519 form at 99..131: put another
    // (canonical) identity's X25519 form there.
    let other = IdentityKeyPair::generate(&mut p.rng);
    state[99..131].copy_from_slice(other.public_key().x25519_bytes());
    let restored = Session::from_bytes(&state).unwrap();
    let pinned = restored.remote_identity().clone();
    assert_eq!(pinned.as_bytes(), p.responder.identity.public_key().as_bytes());
    assert_eq!(&pinned, p.responder.identity.public_key());
    // Alice starts a fresh session to the pinned identity with Bob's
    // published signed prekey; Bob accepts it.
    let bundle = PreKeyBundle::new(pinned, p.responder.spk.public().clone(), None);
    let mut fresh =
        Session::initiate_with(&p.alice_identity, &bundle, Mode::Plain, PqPolicy::AllowClassical, &mut p.rng)
            .unwrap();
    let m = fresh.encrypt(b"to the verified key", &mut p.rng).unwrap();
    let msg = PreKeyMessage::from_bytes(&m).unwrap();
    let acc = Session::accept(
        &p.responder.identity,
        &p.responder.spk,
        None,
        None,
        &msg,
        AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
        &mut p.rng,
    )
    .unwrap();
    assert_eq!(acc.plaintext, b"to the verified key");
}

/// No sender produces a ciphertext longer than MAX_PLAINTEXT_LEN, and no
/// decoder accepts one (SPEC.md §7.3), although MAX_MESSAGE_LEN alone would
/// leave room for it in a plain Message.
#[test]
fn a_ciphertext_longer_than_the_plaintext_limit_does_not_decode() {
    let mut p = Pair::established(Mode::Plain, 12);
    let m = p.send_a(b"x");
    // A Message: 2 + 56 header bytes, then ciphertext and tag.
    for extra in [0usize, 1, 89] {
        let mut long = m[..58].to_vec();
        long.resize(58 + MAX_PLAINTEXT_LEN + extra + 16, 0x41);
        assert!(long.len() <= chatcrypt::MAX_MESSAGE_LEN);
        let got = p.bob.decrypt(&long, &mut p.rng).err();
        if extra == 0 {
            assert_eq!(got, Some(Error::Auth), "at the limit the message decodes (and is forged)");
        } else {
            assert_eq!(got, Some(Error::Decode(DecodeError::InvalidValue)), "{extra} bytes over");
        }
    }
}
