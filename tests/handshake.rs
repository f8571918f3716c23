//! The X3DH handshake: bundles, signatures, prekey ids, low-order keys, and
//! the PreKeyMessage phase of a new session. Every session test runs in both
//! modes; the handshake is the same but for the mode it binds in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[allow(unused_imports)]
use chatcrypt::PqPolicy;
use common::TestSend;
#[path = "common/headers.rs"]
mod headers;

use chatcrypt::{
    DecodeError, Error, IdentityKeyPair, MessageType, Mode, OneTimePreKey, OneTimePreKeyPublic, PreKeyBundle,
    PreKeyMessage, Session, SignedPreKey, SignedPreKeyPublic, BUNDLE_LEN, BUNDLE_LEN_WITH_ONE_TIME,
};
use common::{
    flip_bit, header_wire_len, is_canonical_x25519, low_order_points, mode_of, plaintext, reject_unchanged,
    rng, sign_signed_prekey, snapshot, Pair, Responder, OPK_ID, SPK_ID,
};
use headers::{sent_header, with_header};

/// Offset of the base key in a PreKeyMessage (version, type, flags, identity key).
const BASE_KEY_OFFSET: usize = 3 + 32;

fn session_with_one_time_prekey_exchanges_messages_both_ways(mode: Mode) {
    let mut rng = rng(1);
    let bob = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let mut alice =
        Session::initiate_with(&alice_id, &bob.bundle(), mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    assert!(alice.is_initiator());
    assert_eq!(alice.mode(), mode);
    assert_eq!(alice.remote_identity(), bob.identity.public_key());
    assert_eq!(alice.local_identity(), alice_id.public_key());

    let first = alice.encrypt_t(b"hi Bob").unwrap();
    assert_eq!(MessageType::of(&first), Ok(MessageType::PreKey));
    assert_eq!(mode_of(&first), mode);
    let parsed = PreKeyMessage::from_bytes(&first).unwrap();
    assert_eq!(parsed.mode(), mode);
    assert_eq!(parsed.signed_prekey_id(), SPK_ID);
    assert_eq!(parsed.one_time_prekey_id(), Some(OPK_ID));
    assert_eq!(parsed.sender_identity(), alice_id.public_key());
    assert_eq!(parsed.as_bytes(), &first[..]);
    assert_eq!(&first[BASE_KEY_OFFSET..BASE_KEY_OFFSET + 32], parsed.base_key());

    let (mut bob_s, pt) =
        common::accept(&bob.identity, &bob.spk, bob.opk.as_ref(), &parsed, &mut rng).unwrap();
    assert_eq!(pt, b"hi Bob");
    assert!(!bob_s.is_initiator());
    assert_eq!(bob_s.mode(), mode, "the responder takes the mode of the first message");
    assert_eq!(bob_s.remote_identity(), alice_id.public_key());
    assert_eq!(bob_s.local_identity(), bob.identity.public_key());

    let reply = bob_s.encrypt_t(b"hi Alice").unwrap();
    assert_eq!(MessageType::of(&reply), Ok(MessageType::Message));
    assert_eq!(mode_of(&reply), mode);
    assert_eq!(alice.decrypt(&reply, &mut rng).unwrap(), b"hi Alice");
    let again = alice.encrypt_t(b"how are you").unwrap();
    assert_eq!(bob_s.decrypt(&again, &mut rng).unwrap(), b"how are you");
}
both_modes!(session_with_one_time_prekey_exchanges_messages_both_ways);

fn session_without_one_time_prekey_exchanges_messages_both_ways(mode: Mode) {
    let mut p = Pair::handshake_with(mode, 2, false);
    let parsed = PreKeyMessage::from_bytes(&p.first).unwrap();
    assert_eq!(parsed.one_time_prekey_id(), None);
    assert_eq!(parsed.signed_prekey_id(), SPK_ID);
    // Without the one-time prekey id the PreKeyMessage header is 4 bytes shorter.
    assert_eq!(p.first.len(), 2 + 1 + 32 + 32 + 4 + header_wire_len(mode) + b"hello".len() + 16);

    let reply = p.send_b(b"pong");
    assert_eq!(p.recv_a(&reply).unwrap(), b"pong");
    let m = p.send_a(b"ping");
    assert_eq!(MessageType::of(&m), Ok(MessageType::Message));
    assert_eq!(p.recv_b(&m).unwrap(), b"ping");
}
both_modes!(session_without_one_time_prekey_exchanges_messages_both_ways);

fn the_first_message_with_a_one_time_prekey_has_the_longest_header(mode: Mode) {
    let p = Pair::handshake(mode, 3);
    // The ratchet header (with its 16-byte reuse guard) is 56 bytes in clear, 72 encrypted.
    assert_eq!(p.first.len(), 2 + 1 + 32 + 32 + 4 + 4 + header_wire_len(mode) + b"hello".len() + 16);
}
both_modes!(the_first_message_with_a_one_time_prekey_has_the_longest_header);

#[test]
fn bundle_round_trips_through_bytes_with_and_without_one_time_prekey() {
    let mut rng = rng(4);
    for (with_opk, len) in [(true, BUNDLE_LEN_WITH_ONE_TIME), (false, BUNDLE_LEN)] {
        let bob = Responder::new(&mut rng, with_opk);
        let bundle = bob.bundle();
        let bytes = bundle.to_bytes();
        assert_eq!(bytes.len(), len);
        assert_eq!(bytes[0], chatcrypt::VERSION);
        assert_eq!(bytes[1], u8::from(with_opk));
        let decoded = PreKeyBundle::from_bytes(&bytes).unwrap();
        assert_eq!(decoded, bundle);
        assert_eq!(decoded.to_bytes(), bytes);
        assert_eq!(decoded.verify(), Ok(()));
        assert_eq!(decoded.identity(), bob.identity.public_key());
        assert_eq!(decoded.signed_prekey(), bob.spk.public());
        assert_eq!(decoded.signed_prekey().id(), SPK_ID);
        assert_eq!(decoded.one_time_prekey().map(OneTimePreKeyPublic::id), with_opk.then_some(OPK_ID));
    }
}

fn a_decoded_bundle_starts_a_working_session(mode: Mode) {
    let mut rng = rng(5);
    let bob = Responder::new(&mut rng, true);
    let bundle = PreKeyBundle::from_bytes(&bob.bundle().to_bytes()).unwrap();
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let mut alice =
        Session::initiate_with(&alice_id, &bundle, mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    let m = alice.encrypt_t(b"via the server").unwrap();
    let (_, pt) = bob.accept(&m, &mut rng).unwrap();
    assert_eq!(pt, b"via the server");
}
both_modes!(a_decoded_bundle_starts_a_working_session);

// tamper.rs flips every bit of a whole bundle; these pick bits at the edges of each field.

fn a_flipped_signature_bit_is_a_bad_signature(mode: Mode) {
    let mut rng = rng(6);
    let bob = Responder::new(&mut rng, false);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let spk = bob.spk.public();
    for bit in [0, 1, 7, 8, 255, 256, 257, 500, 504, 511] {
        let sig: [u8; 64] = flip_bit(spk.signature(), bit).try_into().unwrap();
        let bundle = PreKeyBundle::new(
            bob.identity.public_key().clone(),
            SignedPreKeyPublic::new(spk.id(), *spk.key(), sig),
            None,
        );
        assert_eq!(bundle.verify(), Err(Error::BadSignature), "signature bit {bit}");
        assert_eq!(
            Session::initiate_with(&alice_id, &bundle, mode, PqPolicy::AllowClassical, &mut rng).err(),
            Some(Error::BadSignature)
        );
    }
}
both_modes!(a_flipped_signature_bit_is_a_bad_signature);

fn a_flipped_signed_prekey_bit_is_a_bad_signature(mode: Mode) {
    let mut rng = rng(7);
    let bob = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let spk = bob.spk.public();
    for bit in [0, 1, 100, 128, 254] {
        let key: [u8; 32] = flip_bit(spk.key(), bit).try_into().unwrap();
        assert!(is_canonical_x25519(&key), "key bit {bit}");
        let bundle = PreKeyBundle::new(
            bob.identity.public_key().clone(),
            SignedPreKeyPublic::new(spk.id(), key, *spk.signature()),
            bob.opk.as_ref().map(|k| k.public().clone()),
        );
        assert_eq!(bundle.verify(), Err(Error::BadSignature), "key bit {bit}");
        assert_eq!(
            Session::initiate_with(&alice_id, &bundle, mode, PqPolicy::AllowClassical, &mut rng).err(),
            Some(Error::BadSignature)
        );
    }
    // Bit 255 is ignored by X25519, so a key with it set would name the same
    // key as the signed one (SPEC §2): such an encoding is not canonical and
    // is rejected before the signature is looked at, whether the signature
    // covers the original key or (re-signed) the flipped encoding itself.
    let high: [u8; 32] = flip_bit(spk.key(), 255).try_into().unwrap();
    assert!(!is_canonical_x25519(&high));
    for signed in [spk.clone(), sign_signed_prekey(&bob.identity, spk.id(), &high)] {
        let bundle = PreKeyBundle::new(
            bob.identity.public_key().clone(),
            SignedPreKeyPublic::new(spk.id(), high, *signed.signature()),
            bob.opk.as_ref().map(|k| k.public().clone()),
        );
        let invalid = Error::Decode(DecodeError::InvalidPublicKey);
        assert_eq!(bundle.verify(), Err(invalid), "key bit 255");
        let before = rng.clone();
        assert_eq!(
            Session::initiate_with(&alice_id, &bundle, mode, PqPolicy::AllowClassical, &mut rng).err(),
            Some(invalid)
        );
        assert_eq!(rng, before, "a non-canonical prekey draws nothing from the RNG");
        assert_eq!(PreKeyBundle::from_bytes(&bundle.to_bytes()).err(), Some(invalid));
    }
    for bit in [0, 15, 31] {
        let id = spk.id() ^ (1 << bit);
        let bundle = PreKeyBundle::new(
            bob.identity.public_key().clone(),
            SignedPreKeyPublic::new(id, *spk.key(), *spk.signature()),
            None,
        );
        let got = Session::initiate_with(&alice_id, &bundle, mode, PqPolicy::AllowClassical, &mut rng).err();
        assert_eq!(got, Some(Error::BadSignature), "id bit {bit}");
    }
}
both_modes!(a_flipped_signed_prekey_bit_is_a_bad_signature);

fn bundle_whose_signed_prekey_was_signed_by_another_identity_is_a_bad_signature(mode: Mode) {
    let mut rng = rng(8);
    let bob = Responder::new(&mut rng, true);
    let mallory = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);

    // Bob's identity with Mallory's (validly self-signed) prekey: a server substituting keys.
    let substituted = PreKeyBundle::new(
        bob.identity.public_key().clone(),
        mallory.spk.public().clone(),
        mallory.opk.as_ref().map(|k| k.public().clone()),
    );
    assert_eq!(mallory.bundle().verify(), Ok(()));
    assert_eq!(substituted.verify(), Err(Error::BadSignature));
    assert_eq!(
        Session::initiate_with(&alice_id, &substituted, mode, PqPolicy::AllowClassical, &mut rng).err(),
        Some(Error::BadSignature)
    );

    // Mallory's identity claiming Bob's prekey.
    let claimed = PreKeyBundle::new(mallory.identity.public_key().clone(), bob.spk.public().clone(), None);
    assert_eq!(
        Session::initiate_with(&alice_id, &claimed, mode, PqPolicy::AllowClassical, &mut rng).err(),
        Some(Error::BadSignature)
    );
}
both_modes!(bundle_whose_signed_prekey_was_signed_by_another_identity_is_a_bad_signature);

/// Alice's first message to `bob` in `mode` and its parsed form.
fn first_message(mode: Mode, bob: &Responder, seed: u64) -> (Vec<u8>, PreKeyMessage) {
    let (_, m, parsed) = first_message_from(mode, bob, seed);
    (m, parsed)
}

/// Alice's session, her first message to `bob` in `mode`, and its parsed form.
fn first_message_from(mode: Mode, bob: &Responder, seed: u64) -> (Session, Vec<u8>, PreKeyMessage) {
    let mut rng = rng(seed);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let mut alice =
        Session::initiate_with(&alice_id, &bob.bundle(), mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    let m = alice.encrypt_t(b"first").unwrap();
    let parsed = PreKeyMessage::from_bytes(&m).unwrap();
    assert_eq!(parsed.mode(), mode);
    (alice, m, parsed)
}

fn accept_with_a_signed_prekey_of_another_id_reports_the_requested_id(mode: Mode) {
    let mut rng = rng(9);
    let bob = Responder::new(&mut rng, true);
    let (_, msg) = first_message(mode, &bob, 90);
    let other = SignedPreKey::generate(&bob.identity, SPK_ID + 1, &mut rng);
    let got = common::accept(&bob.identity, &other, bob.opk.as_ref(), &msg, &mut rng);
    assert_eq!(got.err(), Some(Error::UnknownPreKey { id: SPK_ID }));
}
both_modes!(accept_with_a_signed_prekey_of_another_id_reports_the_requested_id);

fn accept_with_a_one_time_prekey_of_another_id_reports_the_requested_id(mode: Mode) {
    let mut rng = rng(10);
    let bob = Responder::new(&mut rng, true);
    let (_, msg) = first_message(mode, &bob, 100);
    let other = OneTimePreKey::generate(OPK_ID + 1, &mut rng);
    let got = common::accept(&bob.identity, &bob.spk, Some(&other), &msg, &mut rng);
    assert_eq!(got.err(), Some(Error::UnknownPreKey { id: OPK_ID }));
}
both_modes!(accept_with_a_one_time_prekey_of_another_id_reports_the_requested_id);

fn accept_without_the_one_time_prekey_the_message_names_reports_its_id(mode: Mode) {
    let mut rng = rng(11);
    let bob = Responder::new(&mut rng, true);
    let (_, msg) = first_message(mode, &bob, 110);
    let got = common::accept(&bob.identity, &bob.spk, None, &msg, &mut rng);
    assert_eq!(got.err(), Some(Error::UnknownPreKey { id: OPK_ID }));
}
both_modes!(accept_without_the_one_time_prekey_the_message_names_reports_its_id);

fn accept_with_a_superfluous_one_time_prekey_reports_that_prekeys_id(mode: Mode) {
    let mut rng = rng(12);
    let bob = Responder::new(&mut rng, false);
    let (_, msg) = first_message(mode, &bob, 120);
    assert_eq!(msg.one_time_prekey_id(), None);
    let extra = OneTimePreKey::generate(4242, &mut rng);
    let got = common::accept(&bob.identity, &bob.spk, Some(&extra), &msg, &mut rng);
    assert_eq!(got.err(), Some(Error::UnknownPreKey { id: 4242 }));
}
both_modes!(accept_with_a_superfluous_one_time_prekey_reports_that_prekeys_id);

fn accept_with_prekeys_of_the_right_ids_but_wrong_secrets_fails_authentication(mode: Mode) {
    let mut rng = rng(13);
    let bob = Responder::new(&mut rng, true);
    let (_, msg) = first_message(mode, &bob, 130);
    let spk_same_id = SignedPreKey::generate(&bob.identity, SPK_ID, &mut rng);
    let opk_same_id = OneTimePreKey::generate(OPK_ID, &mut rng);
    let got = common::accept(&bob.identity, &spk_same_id, bob.opk.as_ref(), &msg, &mut rng);
    assert_eq!(got.err(), Some(Error::Auth));
    let got = common::accept(&bob.identity, &bob.spk, Some(&opk_same_id), &msg, &mut rng);
    assert_eq!(got.err(), Some(Error::Auth));
    let other_identity = IdentityKeyPair::generate(&mut rng);
    let got = common::accept(&other_identity, &bob.spk, bob.opk.as_ref(), &msg, &mut rng);
    assert_eq!(got.err(), Some(Error::Auth));
    // The genuine keys still work.
    let (_, pt) = common::accept(&bob.identity, &bob.spk, bob.opk.as_ref(), &msg, &mut rng).unwrap();
    assert_eq!(pt, b"first");
}
both_modes!(accept_with_prekeys_of_the_right_ids_but_wrong_secrets_fails_authentication);

/// The small-order X25519 points of [`low_order_points`] and, for each
/// canonical one, the same encoding with bit 255 set: to RFC 7748 that is
/// the same u-coordinate, to SPEC §2 a non-canonical encoding.
fn low_order_encodings() -> Vec<[u8; 32]> {
    let points = low_order_points();
    let canonical = points.iter().filter(|p| is_canonical_x25519(p)).count();
    assert!(canonical > 0 && canonical < points.len(), "the list has canonical and non-canonical points");
    let high_bit = points.iter().filter(|p| is_canonical_x25519(p)).map(|p| {
        let mut q = *p;
        q[31] |= 0x80;
        q
    });
    points.iter().copied().chain(high_bit.collect::<Vec<_>>()).collect()
}

/// The error for a peer X25519 key `point` of small order (SPEC §2): a
/// canonical encoding decodes and the DH rule refuses its all-zero output
/// (`NonContributory`); any other encoding is `InvalidPublicKey`, before
/// it is used.
fn low_order_error(point: &[u8; 32]) -> Error {
    if is_canonical_x25519(point) {
        Error::NonContributory
    } else {
        Error::Decode(DecodeError::InvalidPublicKey)
    }
}

/// A bundle carrying the low-order key `point` (with a valid signature
/// where one applies) and what `initiate` said of it: a canonical encoding
/// verifies and decodes, and the handshake refuses the zero DH output
/// (`NonContributory`); a non-canonical one is refused at decoding and
/// before the signature and the DH (`InvalidPublicKey`).
fn check_low_order_bundle(bundle: &PreKeyBundle, point: &[u8; 32], got: Option<Error>) {
    if is_canonical_x25519(point) {
        assert_eq!(bundle.verify(), Ok(()));
        assert_eq!(PreKeyBundle::from_bytes(&bundle.to_bytes()).as_ref(), Ok(bundle));
        assert_eq!(got, Some(Error::NonContributory), "{point:02x?}");
    } else {
        let invalid = Error::Decode(DecodeError::InvalidPublicKey);
        assert_eq!(bundle.verify(), Err(invalid), "{point:02x?}");
        assert_eq!(PreKeyBundle::from_bytes(&bundle.to_bytes()).err(), Some(invalid));
        assert_eq!(got, Some(invalid), "{point:02x?}");
    }
}

fn low_order_one_time_prekey_in_a_signed_bundle_is_non_contributory(mode: Mode) {
    let mut rng = rng(14);
    let bob = Responder::new(&mut rng, false);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    for point in low_order_encodings() {
        let bundle = PreKeyBundle::new(
            bob.identity.public_key().clone(),
            bob.spk.public().clone(),
            Some(OneTimePreKeyPublic::new(9, point)),
        );
        // The one-time prekey is not signed, so a canonical one verifies
        // and decodes, and the handshake refuses the zero DH output.
        let got = Session::initiate_with(&alice_id, &bundle, mode, PqPolicy::AllowClassical, &mut rng).err();
        check_low_order_bundle(&bundle, &point, got);
        assert_eq!(got, Some(low_order_error(&point)));
    }
}
both_modes!(low_order_one_time_prekey_in_a_signed_bundle_is_non_contributory);

fn low_order_signed_prekey_with_a_valid_signature_is_non_contributory(mode: Mode) {
    let mut rng = rng(15);
    let bob = IdentityKeyPair::generate(&mut rng);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    // Sanity check of the test's signing helper on a genuine prekey.
    let genuine = SignedPreKey::generate(&bob, 3, &mut rng);
    assert_eq!(&sign_signed_prekey(&bob, 3, genuine.public().key()), genuine.public());

    for point in low_order_encodings() {
        let spk = sign_signed_prekey(&bob, 3, &point);
        let bundle = PreKeyBundle::new(bob.public_key().clone(), spk, None);
        // Validly signed; a non-canonical one is still rejected first.
        let got = Session::initiate_with(&alice_id, &bundle, mode, PqPolicy::AllowClassical, &mut rng).err();
        check_low_order_bundle(&bundle, &point, got);
    }
}
both_modes!(low_order_signed_prekey_with_a_valid_signature_is_non_contributory);

fn low_order_base_key_in_a_prekey_message_is_non_contributory(mode: Mode) {
    let mut rng = rng(16);
    let bob = Responder::new(&mut rng, true);
    let (m, _) = first_message(mode, &bob, 160);
    for point in low_order_encodings() {
        let mut forged = m.clone();
        forged[BASE_KEY_OFFSET..BASE_KEY_OFFSET + 32].copy_from_slice(&point);
        if is_canonical_x25519(&point) {
            let msg = PreKeyMessage::from_bytes(&forged).unwrap();
            assert_eq!(msg.base_key(), &point);
            let got = common::accept(&bob.identity, &bob.spk, bob.opk.as_ref(), &msg, &mut rng);
            assert_eq!(got.err(), Some(Error::NonContributory), "{point:02x?}");
        } else {
            // A non-canonical base key does not decode (SPEC §7.3), in either mode.
            let got = PreKeyMessage::from_bytes(&forged);
            assert_eq!(got.err(), Some(Error::Decode(DecodeError::InvalidPublicKey)), "{point:02x?}");
        }
        assert_eq!(bob.accept(&forged, &mut rng).err(), Some(low_order_error(&point)));
    }
}
both_modes!(low_order_base_key_in_a_prekey_message_is_non_contributory);

fn low_order_ratchet_key_in_a_prekey_message_is_non_contributory(mode: Mode) {
    let mut rng = rng(17);
    for with_opk in [true, false] {
        let bob = Responder::new(&mut rng, with_opk);
        let (alice, m, _) = first_message_from(mode, &bob, 170);
        for point in low_order_encodings() {
            // Plain mode: a relay rewrites the header. Header encryption: only
            // a holder of the header key can, so this re-encrypts it.
            let forged = with_header(&alice, &m, |h| h.ratchet_key = point);
            // A non-canonical ratchet key fails decoding in plain mode; with
            // header encryption it is checked once the header decrypts
            // (SPEC §7.3, §14.4), with the same error.
            let decoded = PreKeyMessage::from_bytes(&forged).map(|_| ());
            if is_canonical_x25519(&point) || mode == Mode::HeaderEncryption {
                assert_eq!(decoded, Ok(()), "{point:02x?}");
            } else {
                assert_eq!(decoded, Err(Error::Decode(DecodeError::InvalidPublicKey)), "{point:02x?}");
            }
            let got = bob.accept(&forged, &mut rng);
            assert_eq!(got.err(), Some(low_order_error(&point)), "{point:02x?}");
        }
    }
}
both_modes!(low_order_ratchet_key_in_a_prekey_message_is_non_contributory);

fn low_order_ratchet_key_in_a_message_is_non_contributory_and_changes_nothing(mode: Mode) {
    let mut p = Pair::established(mode, 18);
    let m = p.send_a(b"next");
    for point in low_order_encodings() {
        // Canonical: NonContributory; otherwise InvalidPublicKey, at decoding
        // (plain) or after the header decrypts (header encryption).
        let forged = with_header(&p.alice, &m, |h| h.ratchet_key = point);
        assert_eq!(
            reject_unchanged(&mut p.bob, &forged, &mut p.rng),
            low_order_error(&point),
            "{point:02x?}"
        );
    }
    assert_eq!(p.recv_b(&m).unwrap(), b"next");
}
both_modes!(low_order_ratchet_key_in_a_message_is_non_contributory_and_changes_nothing);

fn initiator_sends_prekey_messages_until_the_first_reply_then_plain_messages(mode: Mode) {
    let mut p = Pair::handshake(mode, 19);
    assert!(p.alice.awaiting_reply());
    assert!(!p.bob.awaiting_reply());
    let first = PreKeyMessage::from_bytes(&p.first).unwrap();

    let mut pending = Vec::new();
    for i in 0..3 {
        let m = p.send_a(&plaintext(i));
        assert_eq!(MessageType::of(&m), Ok(MessageType::PreKey));
        let parsed = PreKeyMessage::from_bytes(&m).unwrap();
        // Every PreKeyMessage repeats the same handshake.
        assert_eq!(parsed.base_key(), first.base_key());
        assert_eq!(parsed.signed_prekey_id(), SPK_ID);
        assert_eq!(parsed.one_time_prekey_id(), Some(OPK_ID));
        assert!(p.bob.matches(&parsed));
        pending.push(m);
    }
    // Bob's messages are never PreKeyMessages.
    let reply = p.send_b(b"reply");
    assert_eq!(MessageType::of(&reply), Ok(MessageType::Message));
    assert!(p.alice.awaiting_reply(), "encrypting or sending does not end the handshake phase");

    // Bob decrypts Alice's later PreKeyMessages with his existing session.
    for (i, m) in pending.iter().enumerate().rev() {
        assert_eq!(p.recv_b(m).unwrap(), plaintext(i));
    }

    assert_eq!(p.recv_a(&reply).unwrap(), b"reply");
    assert!(!p.alice.awaiting_reply());
    for i in 10..13 {
        let m = p.send_a(&plaintext(i));
        assert_eq!(MessageType::of(&m), Ok(MessageType::Message));
        assert_eq!(p.recv_b(&m).unwrap(), plaintext(i));
    }
}
both_modes!(initiator_sends_prekey_messages_until_the_first_reply_then_plain_messages);

fn awaiting_reply_is_not_cleared_by_a_rejected_reply(mode: Mode) {
    let mut p = Pair::handshake(mode, 20);
    let reply = p.send_b(b"reply");
    let forged = flip_bit(&reply, reply.len() * 8 - 1);
    assert_eq!(reject_unchanged(&mut p.alice, &forged, &mut p.rng), Error::Auth);
    assert!(p.alice.awaiting_reply());
    assert_eq!(MessageType::of(&p.send_a(b"still")), Ok(MessageType::PreKey));
    assert_eq!(p.recv_a(&reply).unwrap(), b"reply");
    assert!(!p.alice.awaiting_reply());
}
both_modes!(awaiting_reply_is_not_cleared_by_a_rejected_reply);

fn awaiting_reply_survives_persistence(mode: Mode) {
    let mut p = Pair::handshake(mode, 21);
    let bytes = p.alice.to_bytes();
    let mut restored = Session::from_bytes(&bytes).unwrap();
    assert!(restored.awaiting_reply());
    assert_eq!(restored.mode(), mode);
    assert!(restored.is_initiator());
    let m = restored.encrypt_t(b"after restart").unwrap();
    assert_eq!(MessageType::of(&m), Ok(MessageType::PreKey));
    let parsed = PreKeyMessage::from_bytes(&m).unwrap();
    assert_eq!(parsed.one_time_prekey_id(), Some(OPK_ID));
    assert!(p.bob.matches(&parsed));
    assert_eq!(p.recv_b(&m).unwrap(), b"after restart");
}
both_modes!(awaiting_reply_survives_persistence);

fn a_prekey_message_of_another_handshake_is_a_handshake_mismatch(mode: Mode) {
    let mut p = Pair::handshake(mode, 22);
    // Alice (same identity) starts over with a fresh handshake, e.g. after losing her state.
    let mut again = Session::initiate_with(
        &p.alice_identity,
        &p.responder.bundle(),
        mode,
        PqPolicy::AllowClassical,
        &mut p.rng,
    )
    .unwrap();
    let m = again.encrypt_t(b"new session").unwrap();
    let parsed = PreKeyMessage::from_bytes(&m).unwrap();
    assert!(!p.bob.matches(&parsed));
    assert_eq!(reject_unchanged(&mut p.bob, &m, &mut p.rng), Error::HandshakeMismatch);
    // It belongs to a new accept instead.
    let (_, pt) = p.responder.accept(&m, &mut p.rng).unwrap();
    assert_eq!(pt, b"new session");
    // The old session is unaffected.
    let m = p.send_a(b"old session");
    assert_eq!(p.recv_b(&m).unwrap(), b"old session");
}
both_modes!(a_prekey_message_of_another_handshake_is_a_handshake_mismatch);

fn a_prekey_message_from_another_identity_is_a_wrong_identity(mode: Mode) {
    let mut p = Pair::handshake(mode, 23);
    let carol = IdentityKeyPair::generate(&mut p.rng);
    let mut carol_s =
        Session::initiate_with(&carol, &p.responder.bundle(), mode, PqPolicy::AllowClassical, &mut p.rng)
            .unwrap();
    let m = carol_s.encrypt_t(b"hi from carol").unwrap();
    assert!(!p.bob.matches(&PreKeyMessage::from_bytes(&m).unwrap()));
    assert_eq!(reject_unchanged(&mut p.bob, &m, &mut p.rng), Error::WrongIdentity);
}
both_modes!(a_prekey_message_from_another_identity_is_a_wrong_identity);

fn a_prekey_message_sent_to_the_initiator_is_rejected(mode: Mode) {
    let mut p = Pair::handshake(mode, 24);
    // A PreKeyMessage from Bob's identity to Alice: Alice's session has no handshake of Bob's to match.
    let alice_bundle = {
        let spk = SignedPreKey::generate(&p.alice_identity, 1, &mut p.rng);
        PreKeyBundle::new(p.alice_identity.public_key().clone(), spk.public().clone(), None)
    };
    let mut bob_as_initiator = Session::initiate_with(
        &p.responder.identity,
        &alice_bundle,
        mode,
        PqPolicy::AllowClassical,
        &mut p.rng,
    )
    .unwrap();
    let m = bob_as_initiator.encrypt_t(b"crossed").unwrap();
    assert_eq!(reject_unchanged(&mut p.alice, &m, &mut p.rng), Error::HandshakeMismatch);
}
both_modes!(a_prekey_message_sent_to_the_initiator_is_rejected);

fn responder_can_send_before_receiving_a_second_message(mode: Mode) {
    let mut p = Pair::handshake(mode, 25);
    let mut replies = Vec::new();
    for i in 0..3 {
        replies.push(p.send_b(&plaintext(i)));
    }
    // Delivered out of order: the reply that arrives first ends the handshake phase.
    assert_eq!(p.recv_a(&replies[2]).unwrap(), plaintext(2));
    assert!(!p.alice.awaiting_reply());
    assert_eq!(p.recv_a(&replies[0]).unwrap(), plaintext(0));
    assert_eq!(p.recv_a(&replies[1]).unwrap(), plaintext(1));
    assert_eq!(p.alice.skipped_key_count(), 0);
}
both_modes!(responder_can_send_before_receiving_a_second_message);

fn a_failed_accept_leaves_the_prekeys_usable_for_the_genuine_message(mode: Mode) {
    // accept is a constructor, so "unchanged" means the inputs still work afterwards.
    let mut rng = rng(26);
    let bob = Responder::new(&mut rng, true);
    let (m, msg) = first_message(mode, &bob, 260);
    let forged = flip_bit(&m, m.len() * 8 - 1);
    assert_eq!(bob.accept(&forged, &mut rng).err(), Some(Error::Auth));
    let (s, pt) = common::accept(&bob.identity, &bob.spk, bob.opk.as_ref(), &msg, &mut rng).unwrap();
    assert_eq!(pt, b"first");
    assert_eq!(snapshot(&s).len(), s.encoded_len());
}
both_modes!(a_failed_accept_leaves_the_prekeys_usable_for_the_genuine_message);

/// `X25519_BASE(k)` for 32 bytes drawn from `rng`.
fn drawn_public_key(rng: &mut common::ChaCha20Rng) -> [u8; 32] {
    let mut k = [0u8; 32];
    rand_chacha::rand_core::Rng::fill_bytes(rng, &mut k);
    x25519_dalek::x25519(k, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// A reuse guard: 16 bytes drawn from `rng` (SPEC §6.3 step 1).
fn drawn_guard(rng: &mut common::ChaCha20Rng) -> [u8; 16] {
    let mut g = [0u8; 16];
    rand_chacha::rand_core::Rng::fill_bytes(rng, &mut g);
    g
}

fn initiate_draws_the_base_key_then_the_first_ratchet_key_from_the_rng(mode: Mode) {
    let mut rng = rng(27);
    let bob = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let mut replay = rng.clone();
    let mut alice =
        Session::initiate_with(&alice_id, &bob.bundle(), mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    let base_key = drawn_public_key(&mut replay);
    let ratchet_key = drawn_public_key(&mut replay);
    assert_eq!(rng, replay, "initiate draws exactly 64 bytes");
    // Each encryption draws exactly its 16-byte reuse guard (SPEC §6.3).
    let m = alice.encrypt(b"x", &mut rng).unwrap();
    let guard = drawn_guard(&mut replay);
    assert_eq!(rng, replay, "encrypt draws exactly 16 bytes");
    assert_eq!(PreKeyMessage::from_bytes(&m).unwrap().base_key(), &base_key);
    let h = sent_header(&alice, &m);
    assert_eq!(h.ratchet_key, ratchet_key);
    assert_eq!(h.guard, guard, "the reuse guard is the 16 bytes encrypt drew");
    let m2 = alice.encrypt(b"x", &mut rng).unwrap();
    assert_eq!(sent_header(&alice, &m2).guard, drawn_guard(&mut replay));
    assert_eq!(rng, replay);
}
both_modes!(initiate_draws_the_base_key_then_the_first_ratchet_key_from_the_rng);

fn a_bundle_with_a_bad_signature_draws_nothing_from_the_rng(mode: Mode) {
    let mut rng = rng(28);
    let bob = Responder::new(&mut rng, false);
    let mallory = IdentityKeyPair::generate(&mut rng);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let bundle = PreKeyBundle::new(mallory.public_key().clone(), bob.spk.public().clone(), None);
    let before = rng.clone();
    assert_eq!(
        Session::initiate_with(&alice_id, &bundle, mode, PqPolicy::AllowClassical, &mut rng).err(),
        Some(Error::BadSignature)
    );
    assert_eq!(rng, before);
}
both_modes!(a_bundle_with_a_bad_signature_draws_nothing_from_the_rng);

fn accept_draws_one_ratchet_key_and_decrypt_draws_only_on_a_ratchet_step(mode: Mode) {
    let mut rng = rng(29);
    let bob = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let mut alice =
        Session::initiate_with(&alice_id, &bob.bundle(), mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    let m0 = alice.encrypt_t(b"m0").unwrap();
    let m1 = alice.encrypt_t(b"m1").unwrap();

    let mut bob_rng = common::rng(290);
    let mut replay = bob_rng.clone();
    let (mut bob_s, _) = bob.accept(&m0, &mut bob_rng).unwrap();
    let first_ratchet_key = drawn_public_key(&mut replay);
    assert_eq!(bob_rng, replay, "accept draws exactly 32 bytes");
    let reply = bob_s.encrypt(b"r", &mut bob_rng).unwrap();
    let guard = drawn_guard(&mut replay);
    assert_eq!(bob_rng, replay, "encrypt draws exactly 16 bytes");
    let h = sent_header(&bob_s, &reply);
    assert_eq!((h.ratchet_key, h.guard), (first_ratchet_key, guard));

    // Same chain: nothing drawn.
    assert_eq!(bob_s.decrypt(&m1, &mut bob_rng).unwrap(), b"m1");
    assert_eq!(bob_rng, replay);
    // A rejected message: nothing drawn.
    assert_eq!(bob_s.decrypt(&m1, &mut bob_rng), Err(Error::Duplicate));
    assert_eq!(bob_rng, replay);
    // A new ratchet step: one new ratchet key.
    assert_eq!(alice.decrypt(&reply, &mut rng).unwrap(), b"r");
    let m2 = alice.encrypt_t(b"m2").unwrap();
    assert_eq!(bob_s.decrypt(&m2, &mut bob_rng).unwrap(), b"m2");
    let next_ratchet_key = drawn_public_key(&mut replay);
    assert_eq!(bob_rng, replay);
    let r2 = bob_s.encrypt(b"r2", &mut bob_rng).unwrap();
    let guard = drawn_guard(&mut replay);
    assert_eq!(bob_rng, replay, "encrypt draws exactly 16 bytes");
    let h = sent_header(&bob_s, &r2);
    assert_eq!((h.ratchet_key, h.guard), (next_ratchet_key, guard));
}
both_modes!(accept_draws_one_ratchet_key_and_decrypt_draws_only_on_a_ratchet_step);

fn the_responder_accepts_whichever_prekey_message_arrives_first(mode: Mode) {
    let mut rng = rng(30);
    let bob = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let mut alice =
        Session::initiate_with(&alice_id, &bob.bundle(), mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    let ms: Vec<_> = (0..3).map(|i| alice.encrypt_t(&plaintext(i)).unwrap()).collect();
    let (mut bob_s, pt) = bob.accept(&ms[2], &mut rng).unwrap();
    assert_eq!(pt, plaintext(2));
    assert_eq!(bob_s.skipped_key_count(), 2);
    assert_eq!(bob_s.decrypt(&ms[0], &mut rng).unwrap(), plaintext(0));
    assert_eq!(bob_s.decrypt(&ms[1], &mut rng).unwrap(), plaintext(1));
    assert_eq!(bob_s.decrypt(&ms[2], &mut rng), Err(Error::Duplicate));
}
both_modes!(the_responder_accepts_whichever_prekey_message_arrives_first);

fn a_first_message_without_one_time_prekey_can_be_accepted_again_as_spec_12_says(mode: Mode) {
    // SPEC §12 (non-goal): without a one-time prekey, a responder that lost the
    // session accepts a replayed PreKeyMessage again. One-time prekeys prevent this,
    // which is why the caller must delete them after a successful accept.
    let p = Pair::handshake_with(mode, 31, false);
    let mut rng = rng(310);
    let (_, pt) = p.responder.accept(&p.first, &mut rng).unwrap();
    assert_eq!(pt, b"hello");
}
both_modes!(a_first_message_without_one_time_prekey_can_be_accepted_again_as_spec_12_says);

fn debug_output_never_shows_secret_key_material(mode: Mode) {
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    let p = Pair::established(mode, 32);
    let seed = p.alice_identity.seed();
    let identity_debug = format!("{:?}", p.alice_identity);
    assert!(identity_debug.contains(&hex(p.alice_identity.public_key().as_bytes())));
    assert!(!identity_debug.contains(&hex(&seed[..])));
    assert!(!identity_debug.contains(&format!("{:?}", &seed[..8])));

    let spk_state = p.responder.spk.to_bytes();
    let spk_secret = &spk_state[6..38];
    let opk = p.responder.opk.as_ref().unwrap();
    let opk_secret = &opk.to_bytes()[6..38];
    for (what, debug, secret) in [
        ("signed prekey", format!("{:?}", p.responder.spk), spk_secret),
        ("one-time prekey", format!("{:?}", opk), opk_secret),
    ] {
        assert!(!debug.contains(&hex(secret)), "{what}: {debug}");
        assert!(!debug.contains(&format!("{:?}", &secret[..8])), "{what}: {debug}");
    }

    // Session encoding (version 2): root key and sending ratchet secret at
    // 131..195, then the sending ratchet public key, then the sending chain
    // key at 227..259, and (receiving chain present) the receiving chain key
    // at 299..331; with header encryption also the header keys.
    for s in [&p.alice, &p.bob] {
        let state = s.to_bytes();
        assert_eq!(state[..2], [0x53, 0x03], "session format version 3");
        assert_eq!(state[2] & 0xC0, 0, "a classical session: the version-2 layout");
        assert_eq!(state[2] & 2, 2, "a receiving chain is present");
        let ratchet_secret: [u8; 32] = state[163..195].try_into().unwrap();
        assert_eq!(
            x25519_dalek::x25519(ratchet_secret, x25519_dalek::X25519_BASEPOINT_BYTES),
            state[195..227],
            "the sending ratchet key pair is where the layout says"
        );
        let debug = format!("{s:?}");
        let mut secrets: Vec<[u8; 32]> = state[131..195]
            .chunks(32)
            .chain([&state[227..259], &state[299..331]])
            .map(|c| c.try_into().unwrap())
            .collect();
        if let Some(keys) = headers::header_keys(s) {
            assert_eq!(mode, Mode::HeaderEncryption);
            secrets.extend([keys.send, keys.next_send, keys.next_recv]);
            secrets.extend(keys.recv);
            secrets.extend(keys.previous.iter().map(|(_, hk)| *hk));
        }
        for secret in &secrets {
            assert!(!debug.contains(&hex(secret)), "{debug}");
            assert!(!debug.contains(&format!("{:?}", &secret[..8])), "{debug}");
        }
    }
}
both_modes!(debug_output_never_shows_secret_key_material);
