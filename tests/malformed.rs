//! Malformed input for every decoder: empty, truncated, extended, wrong
//! version, wrong type or tag, oversized, and random bytes. Every case is an
//! error (never a panic), with the variant checked wherever the format
//! determines it. Messages and sessions are checked in both modes.
//!
//! Types 0x01-0x04 are all known (0x03/0x04 are the header-encrypted
//! PreKeyMessage/Message); a message of the other mode's type decodes by
//! that mode's layout and is then refused by the session with
//! `UnexpectedType(t)`. Session flag 0x20 (header encryption) is valid.
//!
//! Protocol version 2 (SPEC.md §13): messages of version 0x02 are sent, and
//! version-0x01 messages (a ratchet header without the reuse guard) are
//! still received, so "another version" of a message means 0x00 or 0x03 to
//! 0xff; bundles are only 0x02. Sessions are stored in format version 0x02
//! and version 0x01 is still decoded; identities, prekeys and sealed state
//! stay at format version 0x01.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[allow(unused_imports)]
use chatcrypt::PqPolicy;
use common::TestSend;
#[path = "common/headers.rs"]
mod headers;

use chatcrypt::{
    DecodeError, Error, IdentityKeyPair, MessageType, Mode, OneTimePreKey, PreKeyBundle, PreKeyMessage,
    Session, SignedPreKey, MAX_MESSAGE_LEN, MAX_PREVIOUS_RATCHET_KEYS, MAX_SKIPPED_KEYS, SEALED_OVERHEAD,
    SESSION_BYTES_PER_SKIPPED_KEY, SESSION_FIXED_LEN, SESSION_STATE_VERSION, STATE_VERSION, TAG_IDENTITY,
    TAG_ONE_TIME_PREKEY, TAG_SEALED, TAG_SESSION, TAG_SIGNED_PREKEY, VERSION,
};
use rand_chacha::rand_core::Rng;

use common::{
    decrypt_decode_error, flip_bit, header_len, is_prekey, mode_of, reject_unchanged, rng, session_v2_to_v1,
    snapshot, type_byte, wire_decode_error, ChaCha20Rng, Pair, Responder, TAG_LEN, V1_LOCAL_IDENTITY_AT,
    V1_REMOTE_IDENTITY_AT, V2_LOCAL_IDENTITY_AT, V2_REMOTE_IDENTITY_AT,
};
use headers::with_header;

const TRUNCATED: Error = Error::Decode(DecodeError::Truncated);
const TRAILING: Error = Error::Decode(DecodeError::TrailingBytes);
const INVALID_VALUE: Error = Error::Decode(DecodeError::InvalidValue);
const INVALID_KEY: Error = Error::Decode(DecodeError::InvalidPublicKey);

fn version(v: u8) -> Error {
    Error::Decode(DecodeError::UnsupportedVersion(v))
}

fn unexpected(t: u8) -> Error {
    Error::Decode(DecodeError::UnexpectedType(t))
}

fn flags(f: u8) -> Error {
    Error::Decode(DecodeError::InvalidFlags(f))
}

/// The error of a call that must fail.
fn err<T>(r: Result<T, Error>) -> Error {
    match r {
        Ok(_) => panic!("malformed input was accepted"),
        Err(e) => e,
    }
}

/// The message version that is still received besides [`VERSION`] (SPEC.md §13).
const LEGACY_VERSION: u8 = 0x01;

/// Whether a receiver reads messages of version `v`.
fn received_version(v: u8) -> bool {
    v == VERSION || v == LEGACY_VERSION
}

fn with_byte(bytes: &[u8], i: usize, b: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[i] = b;
    out
}

/// Random byte strings of random lengths (mostly short, some long).
fn random_inputs(rng: &mut ChaCha20Rng, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let len = if i % 10 == 0 { rng.next_u32() % 4096 } else { rng.next_u32() % 320 } as usize;
            let mut v = vec![0u8; len];
            rng.fill_bytes(&mut v);
            v
        })
        .collect()
}

/// Random byte strings starting with `prefix`, to get past the first checks.
fn random_with_prefix(rng: &mut ChaCha20Rng, prefix: &[u8], count: usize, max_len: u32) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| {
            let mut v = vec![0u8; (rng.next_u32() % max_len) as usize];
            rng.fill_bytes(&mut v);
            let n = prefix.len().min(v.len());
            v[..n].copy_from_slice(&prefix[..n]);
            v
        })
        .collect()
}

/// Ed25519 public key encodings that are not acceptable identity keys:
/// small-order points and non-canonical encodings.
fn invalid_identity_keys() -> Vec<[u8; 32]> {
    let mut y0 = [0u8; 32]; // (sqrt(-1), 0): order 4
    let mut neutral = [0u8; 32]; // (0, 1): the identity
    neutral[0] = 1;
    let mut minus_one = [0xff; 32]; // (0, -1): order 2
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    let mut y_p = [0xff; 32]; // y = p: non-canonical 0
    y_p[0] = 0xed;
    y_p[31] = 0x7f;
    let mut y_p1 = y_p; // y = p + 1: non-canonical 1
    y_p1[0] = 0xee;
    y0[31] = 0;
    // y = p + 3, with either sign bit: non-canonical encodings of a point of
    // large order (its canonical encoding 03 00 .. 00 is a valid key).
    let mut y_p3 = y_p;
    y_p3[0] = 0xf0;
    let mut y_p3_signed = y_p3;
    y_p3_signed[31] = 0xff;
    vec![y0, neutral, minus_one, y_p, y_p1, y_p3, y_p3_signed]
}

// ---------------------------------------------------------------- bundles

#[test]
fn a_bundle_that_is_empty_truncated_or_extended_does_not_decode() {
    let mut rng = rng(400);
    for with_opk in [false, true] {
        let bytes = Responder::new(&mut rng, with_opk).bundle().to_bytes();
        assert_eq!(err(PreKeyBundle::from_bytes(&[])), TRUNCATED);
        for len in 0..bytes.len() {
            assert_eq!(err(PreKeyBundle::from_bytes(&bytes[..len])), TRUNCATED, "prefix of {len}");
        }
        for extra in [1, 4, 36, 1000] {
            let mut long = bytes.clone();
            long.resize(bytes.len() + extra, 0);
            assert_eq!(err(PreKeyBundle::from_bytes(&long)), TRAILING, "{extra} extra bytes");
        }
        let mut oversized = bytes.clone();
        oversized.resize(MAX_MESSAGE_LEN + 1, 0xAB);
        assert_eq!(err(PreKeyBundle::from_bytes(&oversized)), TRAILING);
    }
}

#[test]
fn a_bundle_with_another_version_or_reserved_flags_does_not_decode() {
    let mut rng = rng(401);
    let short = Responder::new(&mut rng, false).bundle().to_bytes();
    let long = Responder::new(&mut rng, true).bundle().to_bytes();
    for v in (0..=255u8).filter(|&v| v != VERSION) {
        assert_eq!(err(PreKeyBundle::from_bytes(&with_byte(&long, 0, v))), version(v));
    }
    for f in 4..=255u8 {
        assert_eq!(err(PreKeyBundle::from_bytes(&with_byte(&long, 1, f))), flags(f));
        assert_eq!(err(PreKeyBundle::from_bytes(&with_byte(&short, 1, f))), flags(f));
    }
    // Flag bit 1 (a KEM prekey, SPEC §16.3) reads the bytes after the
    // signature as one: here the one-time prekey id's first byte is an
    // unknown KEM type (ids are small), and a short bundle ends there.
    assert_eq!(
        err(PreKeyBundle::from_bytes(&with_byte(&long, 1, 3))),
        Error::Decode(DecodeError::UnknownKeyType(0))
    );
    assert_eq!(err(PreKeyBundle::from_bytes(&with_byte(&short, 1, 2))), TRUNCATED);
    // The one-time prekey flag must agree with the length.
    assert_eq!(err(PreKeyBundle::from_bytes(&with_byte(&short, 1, 1))), TRUNCATED);
    assert_eq!(err(PreKeyBundle::from_bytes(&with_byte(&long, 1, 0))), TRAILING);
}

#[test]
fn the_canonical_encoding_of_the_non_canonical_test_point_is_a_valid_identity_key() {
    let mut canonical = [0u8; 32];
    canonical[0] = 3;
    assert!(chatcrypt::IdentityKey::from_bytes(&canonical).is_ok());
    for key in invalid_identity_keys() {
        assert_eq!(chatcrypt::IdentityKey::from_bytes(&key).err(), Some(INVALID_KEY), "{key:02x?}");
    }
}

#[test]
fn a_bundle_with_an_invalid_identity_key_does_not_decode() {
    let mut rng = rng(402);
    let bytes = Responder::new(&mut rng, true).bundle().to_bytes();
    for key in invalid_identity_keys() {
        let mut b = bytes.clone();
        b[2..34].copy_from_slice(&key);
        assert_eq!(err(PreKeyBundle::from_bytes(&b)), INVALID_KEY, "{key:02x?}");
    }
}

#[test]
fn random_bytes_never_decode_to_a_verifiable_bundle() {
    let mut rng = rng(403);
    for input in random_inputs(&mut rng, 2000) {
        assert!(PreKeyBundle::from_bytes(&input).is_err(), "{input:02x?}");
    }
    // Past the version and flags, random content may decode (any valid point is a
    // valid identity key) but never verifies. Ed25519 is slow in debug: keep it small.
    let mut decoded = 0;
    for _ in 0..40 {
        let mut input = vec![0u8; chatcrypt::BUNDLE_LEN];
        rng.fill_bytes(&mut input);
        input[..2].copy_from_slice(&[VERSION, 0]);
        match PreKeyBundle::from_bytes(&input) {
            Ok(bundle) => {
                decoded += 1;
                assert_eq!(bundle.verify(), Err(Error::BadSignature));
            }
            Err(e) => assert_eq!(e, INVALID_KEY),
        }
    }
    assert!(decoded > 0, "no random identity key was a valid point");
}

// ------------------------------------------------------------ MessageType

#[test]
fn message_type_reads_only_the_version_and_type_bytes() {
    assert_eq!(MessageType::of(&[]), Err(TRUNCATED));
    assert_eq!(MessageType::of(&[VERSION]), Err(TRUNCATED));
    // 0x01 / 0x02 in plain mode, 0x03 / 0x04 with header encryption.
    assert_eq!(MessageType::of(&[VERSION, 1]), Ok(MessageType::PreKey));
    assert_eq!(MessageType::of(&[VERSION, 2]), Ok(MessageType::Message));
    assert_eq!(MessageType::of(&[VERSION, 3]), Ok(MessageType::PreKey));
    assert_eq!(MessageType::of(&[VERSION, 4]), Ok(MessageType::Message));
    // Version-1 messages are still received (SPEC.md §13), with the same types.
    assert_eq!(MessageType::of(&[LEGACY_VERSION]), Err(TRUNCATED));
    assert_eq!(MessageType::of(&[LEGACY_VERSION, 1]), Ok(MessageType::PreKey));
    assert_eq!(MessageType::of(&[LEGACY_VERSION, 2]), Ok(MessageType::Message));
    assert_eq!(MessageType::of(&[LEGACY_VERSION, 3]), Ok(MessageType::PreKey));
    assert_eq!(MessageType::of(&[LEGACY_VERSION, 4]), Ok(MessageType::Message));
    for v in (0..=255u8).filter(|&v| !received_version(v)) {
        assert_eq!(MessageType::of(&[v, 2, 0, 0]), Err(version(v)));
        assert_eq!(MessageType::of(&[v]), Err(version(v)), "the version is checked before the length");
    }
    // Only 0x05..=0xff (and 0x00) are unknown.
    for v in [VERSION, LEGACY_VERSION] {
        for t in (0..=255u8).filter(|t| !(1..=4).contains(t)) {
            assert_eq!(MessageType::of(&[v, t, 9, 9]), Err(unexpected(t)));
        }
    }
    // By design it does not look further: an oversized or truncated body is
    // for the decoders to reject.
    for v in [VERSION, LEGACY_VERSION] {
        for t in 1..=4u8 {
            let mut oversized = vec![0u8; MAX_MESSAGE_LEN + 1];
            oversized[..2].copy_from_slice(&[v, t]);
            let expected = if t % 2 == 1 { MessageType::PreKey } else { MessageType::Message };
            assert_eq!(MessageType::of(&oversized), Ok(expected));
        }
    }

    let mut rng = rng(404);
    for input in random_inputs(&mut rng, 2000) {
        let expected = match input.as_slice() {
            [] => Err(TRUNCATED),
            [v, ..] if !received_version(*v) => Err(version(*v)),
            [_] => Err(TRUNCATED),
            [_, 1 | 3, ..] => Ok(MessageType::PreKey),
            [_, 2 | 4, ..] => Ok(MessageType::Message),
            [_, t, ..] => Err(unexpected(*t)),
        };
        assert_eq!(MessageType::of(&input), expected);
    }
}

// --------------------------------------------------------- PreKeyMessages

fn a_prekey_message_that_is_empty_or_truncated_does_not_decode_or_authenticate(mode: Mode) {
    let mut rng = rng(405);
    for with_opk in [true, false] {
        let bob = Responder::new(&mut rng, with_opk);
        let alice = IdentityKeyPair::generate(&mut rng);
        let mut s =
            Session::initiate_with(&alice, &bob.bundle(), mode, PqPolicy::AllowClassical, &mut rng).unwrap();
        let m = s.encrypt_t(b"a first message").unwrap();
        let min = header_len(&m) + TAG_LEN;
        assert_eq!(err(PreKeyMessage::from_bytes(&[])), TRUNCATED);
        for len in 0..m.len() {
            let prefix = &m[..len];
            if len < min {
                assert_eq!(err(PreKeyMessage::from_bytes(prefix)), TRUNCATED, "prefix of {len}");
            } else {
                // A shorter ciphertext is still well-formed; authentication catches it.
                let parsed = PreKeyMessage::from_bytes(prefix).unwrap();
                let got = common::accept(&bob.identity, &bob.spk, bob.opk.as_ref(), &parsed, &mut rng);
                assert_eq!(err(got), Error::Auth, "prefix of {len}");
            }
        }
        assert!(bob.accept(&m, &mut rng).is_ok());
    }
}
both_modes!(a_prekey_message_that_is_empty_or_truncated_does_not_decode_or_authenticate);

fn a_prekey_message_with_appended_bytes_fails_authentication(mode: Mode) {
    appended_bytes_fail_authentication(mode, false);
    appended_bytes_fail_authentication(mode, true);
}
both_modes!(a_prekey_message_with_appended_bytes_fails_authentication);

fn appended_bytes_fail_authentication(mode: Mode, hybrid: bool) {
    let mut rng = rng(406);
    let bob = if hybrid { Responder::new_hybrid(&mut rng, true) } else { Responder::new(&mut rng, true) };
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut s =
        Session::initiate_with(&alice, &bob.bundle(), mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    let m = s.encrypt_t(b"first").unwrap();
    for extra in [1, 16, 100] {
        let mut long = m.clone();
        long.resize(m.len() + extra, 0);
        assert_eq!(err(bob.accept(&long, &mut rng)), Error::Auth, "{extra} extra bytes");
    }
    // A ciphertext of up to MAX_PLAINTEXT_LEN bytes decodes; one more byte
    // is refused (SPEC.md §7.3), and so is anything over MAX_MESSAGE_LEN,
    // before parsing. With header encryption, a one-time prekey id and the
    // KEM part the two limits meet.
    let header = common::header_len(&m);
    let mut max = m.clone();
    max.resize(header + chatcrypt::MAX_PLAINTEXT_LEN + TAG_LEN, 0);
    assert!(PreKeyMessage::from_bytes(&max).is_ok());
    assert_eq!(err(bob.accept(&max, &mut rng)), Error::Auth);
    max.push(0);
    assert_eq!(err(PreKeyMessage::from_bytes(&max)), INVALID_VALUE);
    let mut over = m.clone();
    over.resize(MAX_MESSAGE_LEN + 1, 0);
    assert_eq!(err(PreKeyMessage::from_bytes(&over)), INVALID_VALUE);
    if mode == Mode::HeaderEncryption && hybrid {
        assert_eq!(header + chatcrypt::MAX_PLAINTEXT_LEN + TAG_LEN, MAX_MESSAGE_LEN);
    }
}

fn a_prekey_message_with_another_version_type_or_flags_does_not_decode(mode: Mode) {
    let p = Pair::handshake(mode, 407);
    let m = p.first.clone();
    let own = type_byte(mode, true);
    assert_eq!(m[0], VERSION);
    for v in (0..=255u8).filter(|&v| !received_version(v)) {
        assert_eq!(err(PreKeyMessage::from_bytes(&with_byte(&m, 0, v))), version(v));
    }
    // Relabelled as version 1, the message decodes by the version-1 layout (a
    // header 16 bytes shorter: the guard is read as ciphertext) with the same
    // handshake fields, and the responder's decryption fails.
    let relabelled = PreKeyMessage::from_bytes(&with_byte(&m, 0, LEGACY_VERSION)).unwrap();
    let genuine = PreKeyMessage::from_bytes(&m).unwrap();
    assert_eq!(relabelled.sender_identity(), genuine.sender_identity());
    assert_eq!(relabelled.base_key(), genuine.base_key());
    assert_eq!(relabelled.signed_prekey_id(), genuine.signed_prekey_id());
    assert_eq!(relabelled.one_time_prekey_id(), genuine.one_time_prekey_id());
    assert_eq!(relabelled.mode(), mode);
    let mut rng = rng(428);
    assert_eq!(err(p.responder.accept(&with_byte(&m, 0, LEGACY_VERSION), &mut rng)), Error::Auth);
    for t in (0..=255u8).filter(|&t| t != own) {
        let forged = with_byte(&m, 1, t);
        let got = PreKeyMessage::from_bytes(&forged);
        match wire_decode_error(&forged) {
            // Unknown types, and the other mode's layouts that do not fit.
            Some(e) => assert_eq!(err(got), e, "type {t:#04x}"),
            // The other mode's PreKeyMessage type: a PreKeyMessage of that mode
            // (which its handshake then refuses, see header_encryption.rs).
            None if is_prekey(&forged) => {
                assert_eq!(got.unwrap().mode(), mode_of(&forged), "type {t:#04x}");
            }
            // An ordinary Message (either mode) is not a PreKeyMessage (SPEC.md §5.2).
            None => assert_eq!(err(got), unexpected(t), "type {t:#04x}"),
        }
    }
    for f in 4..=255u8 {
        assert_eq!(err(PreKeyMessage::from_bytes(&with_byte(&m, 2, f))), flags(f));
    }
    // Flag bit 1 (a KEM part, SPEC §16.4) reads the bytes after the prekey
    // ids as one; a version-1 message has no such flag.
    for f in [2, 3] {
        let forged = with_byte(&m, 2, f);
        assert_eq!(PreKeyMessage::from_bytes(&forged).err(), wire_decode_error(&forged), "flags {f}");
        assert!(PreKeyMessage::from_bytes(&forged).is_err());
        let v1 = with_byte(&forged, 0, LEGACY_VERSION);
        assert_eq!(err(PreKeyMessage::from_bytes(&v1)), flags(f), "version 1, flags {f}");
    }
    for key in invalid_identity_keys() {
        let mut b = m.clone();
        b[3..35].copy_from_slice(&key);
        assert_eq!(err(PreKeyMessage::from_bytes(&b)), INVALID_KEY);
    }
    // A PreKeyMessage must name a signed prekey, and so never decodes from an ordinary Message.
    let mut p = Pair::established(mode, 408);
    let ordinary = p.send_a(b"x");
    assert_eq!(ordinary[1], type_byte(mode, false));
    assert_eq!(err(PreKeyMessage::from_bytes(&ordinary)), unexpected(ordinary[1]));
}
both_modes!(a_prekey_message_with_another_version_type_or_flags_does_not_decode);

#[test]
fn a_header_encrypted_message_is_not_a_prekey_message_and_the_error_names_its_type() {
    // SPEC.md §5.2: `UnexpectedType(t)`, `t` the type byte read (this once
    // reported UnexpectedType(2) for every ordinary Message).
    let mut p = Pair::established(Mode::HeaderEncryption, 408);
    let ordinary = p.send_a(b"x");
    assert_eq!(ordinary[1], 0x04);
    assert_eq!(err(PreKeyMessage::from_bytes(&ordinary)), unexpected(4));
    // The same for any well-formed type-4 bytes, e.g. a plain first message retyped.
    let plain = Pair::handshake(Mode::Plain, 407).first;
    assert_eq!(err(PreKeyMessage::from_bytes(&with_byte(&plain, 1, 4))), unexpected(4));
}

fn random_bytes_never_make_a_session_through_accept(mode: Mode) {
    let mut rng = rng(409);
    let bob = Responder::new(&mut rng, true);
    for input in random_inputs(&mut rng, 2000) {
        assert!(PreKeyMessage::from_bytes(&input).is_err(), "{input:02x?}");
    }
    // With a valid version, type and flags, the rest may parse: then accept refuses it.
    let mut parsed = 0;
    for (i, input) in
        random_with_prefix(&mut rng, &[VERSION, type_byte(mode, true)], 600, 400).into_iter().enumerate()
    {
        let mut input = input;
        if input.len() > 2 {
            input[2] &= 1;
        }
        if let Ok(msg) = PreKeyMessage::from_bytes(&input) {
            parsed += 1;
            // Name the prekeys Bob has, so that accept gets to the cryptography.
            let mut named = input.clone();
            named[67..71].copy_from_slice(&common::SPK_ID.to_be_bytes());
            if input[2] == 1 {
                named[71..75].copy_from_slice(&common::OPK_ID.to_be_bytes());
            }
            let opk = if input[2] == 1 { bob.opk.as_ref() } else { None };
            let named = PreKeyMessage::from_bytes(&named).unwrap();
            let got = common::accept(&bob.identity, &bob.spk, opk, &named, &mut rng).map(|_| ());
            match mode {
                // A random plain header: its N or ratchet key may decide first.
                Mode::Plain => assert!(
                    matches!(got, Err(Error::Auth | Error::TooFarAhead { .. } | Error::NonContributory)),
                    "input {i}: {got:?}"
                ),
                // A random encrypted header never opens.
                _ => assert_eq!(got, Err(Error::Auth), "input {i}"),
            }
            let got = common::accept(&bob.identity, &bob.spk, bob.opk.as_ref(), &msg, &mut rng);
            assert!(got.is_err());
        }
    }
    assert!(parsed > 50, "only {parsed} random inputs got past the parser");
}
both_modes!(random_bytes_never_make_a_session_through_accept);

// ---------------------------------------------------------- Session::decrypt

fn decrypt_rejects_empty_truncated_and_extended_messages_and_changes_nothing(mode: Mode) {
    let mut p = Pair::handshake(mode, 410);
    let prekey = p.send_a(b"a later prekey message");
    let reply = p.send_b(b"a reply");
    for (m, to_bob) in [(prekey, true), (reply, false)] {
        let min = header_len(&m) + TAG_LEN;
        let (session, rng) = if to_bob { (&mut p.bob, &mut p.rng) } else { (&mut p.alice, &mut p.rng) };
        assert_eq!(reject_unchanged(session, &[], rng), TRUNCATED);
        for len in 0..m.len() {
            let expected = if len < min { TRUNCATED } else { Error::Auth };
            assert_eq!(reject_unchanged(session, &m[..len], rng), expected, "prefix of {len}");
        }
        for extra in [1, 15, 16, 17, 300] {
            let mut long = m.clone();
            long.resize(m.len() + extra, 0);
            assert_eq!(reject_unchanged(session, &long, rng), Error::Auth, "{extra} extra bytes");
        }
        let mut oversized = m.clone();
        oversized.resize(MAX_MESSAGE_LEN + 1, 0);
        assert_eq!(reject_unchanged(session, &oversized, rng), INVALID_VALUE);
        assert!(session.decrypt(&m, rng).is_ok());
    }
}
both_modes!(decrypt_rejects_empty_truncated_and_extended_messages_and_changes_nothing);

fn decrypt_rejects_another_version_or_type_and_changes_nothing(mode: Mode) {
    let mut p = Pair::established(mode, 411);
    let m = p.send_a(b"an ordinary message");
    assert_eq!(m[0], VERSION);
    for v in (0..=255u8).filter(|&v| !received_version(v)) {
        assert_eq!(reject_unchanged(&mut p.bob, &with_byte(&m, 0, v), &mut p.rng), version(v));
    }
    // Relabelled as version 1 (received, SPEC.md §13): read with a header 16
    // bytes shorter and the version-1 message keys, it fails to authenticate.
    assert_eq!(reject_unchanged(&mut p.bob, &with_byte(&m, 0, LEGACY_VERSION), &mut p.rng), Error::Auth);
    for t in (0..=255u8).filter(|&t| t != type_byte(mode, false)) {
        let forged = with_byte(&m, 1, t);
        let got = reject_unchanged(&mut p.bob, &forged, &mut p.rng);
        match decrypt_decode_error(mode, &forged) {
            // Unknown types; the other mode's types (decoded by that mode's
            // layout if they fit, then UnexpectedType(t) from the session).
            Some(e) => assert_eq!(got, e, "type {t:#04x}"),
            // The own mode's PreKeyMessage type: the header's first bytes are read as
            // the handshake fields, and decoding or the handshake checks refuse them.
            None => {
                assert_eq!(t, type_byte(mode, true));
                assert!(matches!(got, Error::WrongIdentity | Error::Decode(_)), "type {t:#04x}: {got:?}");
            }
        }
    }
    // Read as a PreKeyMessage, the header's first byte becomes the flags.
    let as_prekey = with_byte(&m, 1, type_byte(mode, true));
    let got = reject_unchanged(&mut p.bob, &as_prekey, &mut p.rng);
    if m[2] & !1 != 0 {
        assert_eq!(got, flags(m[2]));
    }
    // N = 2^32 - 1 is never sent (with header encryption, sealed under the
    // sender's header key so that the header opens).
    let never_sent = with_header(&p.alice, &m, |h| h.n = u32::MAX);
    assert_eq!(reject_unchanged(&mut p.bob, &never_sent, &mut p.rng), INVALID_VALUE);
    assert_eq!(p.recv_b(&m).unwrap(), b"an ordinary message");
}
both_modes!(decrypt_rejects_another_version_or_type_and_changes_nothing);

fn decrypt_rejects_random_bytes_and_changes_nothing(mode: Mode) {
    let mut p = Pair::established(mode, 412);
    let mut rng = rng(413);
    let inputs = random_inputs(&mut rng, 2000)
        .into_iter()
        .chain(random_with_prefix(&mut rng, &[VERSION, type_byte(mode, false)], 1000, 200))
        .chain(random_with_prefix(&mut rng, &[VERSION, type_byte(mode, true), 1], 300, 300))
        // Version-1 messages are still decoded (SPEC.md §13).
        .chain(random_with_prefix(&mut rng, &[LEGACY_VERSION, type_byte(mode, false)], 300, 200))
        .chain(random_with_prefix(&mut rng, &[LEGACY_VERSION, type_byte(mode, true), 1], 300, 300));
    for input in inputs {
        reject_unchanged(&mut p.bob, &input, &mut p.rng);
        let mut out = [0u8; 64];
        let before = snapshot(&p.alice);
        assert!(p.alice.decrypt_into(&input, &mut out, &mut p.rng).is_err());
        assert_eq!(before, snapshot(&p.alice));
    }
    p.round_trip(0);
}
both_modes!(decrypt_rejects_random_bytes_and_changes_nothing);

/// SPEC.md §1 decoding rule with §2 and §7.3: each check applies as soon as
/// its field has been read, so a plain-mode ratchet key that is not a
/// canonical X25519 encoding is `InvalidPublicKey` even when the input ends
/// later in the header (PN, N or G), and `Truncated` only while the key
/// itself is incomplete. The same for a PreKeyMessage's base key.
#[test]
fn a_non_canonical_key_is_reported_before_a_truncation_after_it() {
    let mut p = Pair::established(Mode::Plain, 429);
    let m = p.send_a(b"x");
    let first = p.first.clone();
    // Message: ratchet key at 2..34; PreKeyMessage (with a one-time prekey id):
    // base key at 35..67, ratchet key at 75..107.
    // (key offset, input length, error, expected error) of every disagreement.
    let mut wrong = Vec::new();
    for (message, key_at) in [(&m, 2), (&first, 35), (&first, 75)] {
        let mut forged = message.clone();
        forged[key_at + 31] |= 0x80;
        assert_eq!(wire_decode_error(&forged), Some(INVALID_KEY));
        for len in 0..forged.len() {
            let cut = &forged[..len];
            let expected = if len < key_at + 32 { TRUNCATED } else { INVALID_KEY };
            assert_eq!(wire_decode_error(cut), Some(expected), "reference, key at {key_at}, cut at {len}");
            let got = if is_prekey(message) {
                err(PreKeyMessage::from_bytes(cut))
            } else {
                reject_unchanged(&mut p.bob, cut, &mut p.rng)
            };
            if got != expected {
                wrong.push((key_at, len, got, expected));
            }
        }
    }
    assert_eq!(wrong, vec![], "(key offset, input length, got, expected)");
}

// ------------------------------------------------------------ stored state

/// Sessions of every shape: initiator awaiting a reply (with and without a
/// one-time prekey), responder, and one with previous ratchet keys and
/// skipped keys.
fn sessions(mode: Mode, seed: u64) -> Vec<Session> {
    let a = Pair::handshake_with(mode, seed, true);
    let b = Pair::handshake_with(mode, seed + 1, false);
    let mut c = Pair::established(mode, seed + 2);
    for round in 0..3 {
        let ms: Vec<_> = (0..4).map(|i| c.send_a(&common::plaintext(i))).collect();
        c.recv_b(&ms[3]).unwrap();
        c.round_trip(10 * round);
    }
    let all = vec![a.alice, a.bob, b.alice, c.bob, c.alice];
    for s in &all {
        assert_eq!(s.mode(), mode);
        assert_eq!(s.to_bytes()[2] & 0x20 != 0, mode == Mode::HeaderEncryption, "flag 0x20");
    }
    all
}

fn every_shape_of_session_round_trips_through_bytes_and_sealing(mode: Mode) {
    let mut rng = rng(414);
    let key = [7u8; 32];
    for s in sessions(mode, 415) {
        let bytes = s.to_bytes();
        assert_eq!(bytes.len(), s.encoded_len());
        assert_eq!(bytes[..2], [TAG_SESSION, SESSION_STATE_VERSION]);
        // The version-1 encoding of the same state decodes and re-encodes as version 2.
        let v1 = session_v2_to_v1(&bytes);
        assert_eq!(v1.len(), bytes.len() - 3 * 32);
        assert_eq!(Session::from_bytes(&v1).unwrap().to_bytes(), bytes);
        let back = Session::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.mode(), mode);
        assert_eq!(back.awaiting_reply(), s.awaiting_reply());
        assert_eq!(back.skipped_key_count(), s.skipped_key_count());
        let sealed = s.seal(&key, &mut rng);
        assert_eq!(sealed.len(), bytes.len() + SEALED_OVERHEAD);
        assert_ne!(sealed, s.seal(&key, &mut rng), "a fresh nonce every time");
        assert_eq!(Session::open(&key, &sealed).unwrap().to_bytes(), bytes);
    }
}
both_modes!(every_shape_of_session_round_trips_through_bytes_and_sealing);

fn a_session_that_is_empty_truncated_or_extended_does_not_decode(mode: Mode) {
    // SPEC §1 decoding rule and §10.4: running out of input anywhere (fixed fields,
    // remembered ratchet keys, skipped keys) is Truncated; bytes after the last
    // skipped entry are TrailingBytes.
    let all = sessions(mode, 416);
    assert!(all.iter().any(|s| s.skipped_key_count() > 0));
    for s in all {
        let bytes = s.to_bytes();
        assert_eq!(err(Session::from_bytes(&[])), TRUNCATED);
        for len in 0..bytes.len() {
            assert_eq!(
                err(Session::from_bytes(&bytes[..len])),
                TRUNCATED,
                "prefix of {len} of {}",
                bytes.len()
            );
        }
        for extra in [1, 67, 68, 69] {
            let mut long = bytes.to_vec();
            long.resize(bytes.len() + extra, 0);
            assert_eq!(err(Session::from_bytes(&long)), TRAILING, "{extra} extra bytes");
        }
        let mut oversized = bytes.to_vec();
        oversized.resize(MAX_MESSAGE_LEN + 1, 0);
        assert_eq!(err(Session::from_bytes(&oversized)), TRAILING);
    }
}
both_modes!(a_session_that_is_empty_truncated_or_extended_does_not_decode);

fn a_session_with_another_tag_version_or_flags_does_not_decode(mode: Mode) {
    for s in sessions(mode, 417) {
        let bytes = s.to_bytes();
        for t in (0..=255u8).filter(|&t| t != TAG_SESSION) {
            assert_eq!(err(Session::from_bytes(&with_byte(&bytes, 0, t))), unexpected(t));
        }
        assert_eq!(bytes[1], SESSION_STATE_VERSION);
        for v in (0..=255u8).filter(|&v| v != SESSION_STATE_VERSION && v != 1 && v != 2) {
            assert_eq!(err(Session::from_bytes(&with_byte(&bytes, 1, v))), version(v));
        }
        // Version 2 is the version-3 layout without the hybrid fields: this
        // classical session decodes as version 2 and re-encodes as version 3.
        let v2 = Session::from_bytes(&with_byte(&bytes, 1, 2)).unwrap();
        assert_eq!(v2.to_bytes(), bytes);
        // Its flags 0x40 and 0x80 (the hybrid fields) are reserved.
        for f in [0x40, 0x80] {
            let b = with_byte(&with_byte(&bytes, 1, 2), 2, bytes[2] | f);
            assert_eq!(err(Session::from_bytes(&b)), flags(bytes[2] | f), "version 2, flag {f:#04x}");
        }
        // Version 1 is decoded, by its own layout (without the three derived
        // fields): a version-2 body does not fit it.
        let got = err(Session::from_bytes(&with_byte(&bytes, 1, 1)));
        assert!(!matches!(got, Error::Decode(DecodeError::UnsupportedVersion(_))), "{got:?}");
        for f in 0..=255u8 {
            let got = Session::from_bytes(&with_byte(&bytes, 2, f));
            let (initiator, receiving, pending) = (f & 1 != 0, f & 2 != 0, f & 4 != 0);
            let (one_time, base_key) = (f & 8 != 0, f & 16 != 0);
            // SPEC §10.4: bit 5 (header encryption) is free; bit 6 (hybrid) is
            // free but bit 7 (a pending KEM part) needs bits 2 and 6, and a pending
            // hybrid handshake has it; a base key exactly for a responder; bit 3
            // only with bit 2; an initiator has exactly one of a receiving chain
            // and a pending handshake; a responder has a receiving chain and no
            // pending handshake.
            let (hybrid, pending_kem) = (f & 64 != 0, f & 128 != 0);
            let invalid = (pending_kem && !(pending && hybrid))
                || (pending && hybrid && !pending_kem)
                || base_key == initiator
                || (one_time && !pending)
                || (initiator && receiving == pending)
                || (!initiator && (pending || !receiving));
            if f == bytes[2] {
                assert!(got.is_ok());
            } else if invalid {
                assert_eq!(err(got), flags(f), "flags {f:#04x}");
            } else {
                // Consistent flags that do not describe these bytes: the lengths no longer add up.
                assert!(got.is_err(), "flags {f:#04x} (genuine {:#04x})", bytes[2]);
            }
        }
        // SPEC.md §10.4: a version-1 session's identity keys are checked strictly.
        let v1 = session_v2_to_v1(&bytes);
        for key in invalid_identity_keys() {
            for at in [V1_LOCAL_IDENTITY_AT, V1_REMOTE_IDENTITY_AT] {
                let mut b = v1.clone();
                b[at..at + 32].copy_from_slice(&key);
                assert_eq!(err(Session::from_bytes(&b)), INVALID_KEY, "version 1, offset {at}");
            }
        }
        // Version 2 stores them with their X25519 forms and takes them as stored
        // (no curve arithmetic, "Stored derived values"): the session decodes,
        // canonically; its messages then fail to authenticate (persistence.rs,
        // a_corrupted_identity_key_in_a_version_2_session_fails_every_message).
        for key in invalid_identity_keys() {
            for at in [V2_LOCAL_IDENTITY_AT, V2_REMOTE_IDENTITY_AT] {
                let mut b = bytes.to_vec();
                b[at..at + 32].copy_from_slice(&key);
                let decoded = Session::from_bytes(&b).unwrap();
                assert_eq!(decoded.to_bytes().to_vec(), b, "version 2, offset {at}");
            }
        }
    }
}
both_modes!(a_session_with_another_tag_version_or_flags_does_not_decode);

/// Offset of the optional receiving chain in an encoded session: tag,
/// version, flags, eight 32-byte fields (the two identity keys and their
/// X25519 forms, RK, the DHs private and public keys, CKs), Ns and PN.
const RECEIVING_CHAIN_OFFSET: usize = 3 + 8 * 32 + 4 + 4;

/// Encoded sessions whose lengths agree with their flags but whose flags
/// break SPEC §10.4: "for an initiator (bit 0 set) exactly one of bits 1 and
/// 2 is set; for a responder (bit 0 clear) bit 1 is set and bit 2 is clear".
/// With header encryption a receiving chain comes with its header key `HKr`
/// (after `HKs || NHKs || NHKr`), which is added or removed with it.
fn sessions_breaking_the_flag_invariants(mode: Mode) -> Vec<(&'static str, Vec<u8>)> {
    let handshake = Pair::handshake(mode, 424);
    let awaiting = handshake.alice.to_bytes().to_vec();
    assert_eq!(RECEIVING_CHAIN_OFFSET, SESSION_FIXED_LEN - 3);
    // The first optional field of an initiator awaiting a reply is its base key.
    let base_key = *PreKeyMessage::from_bytes(&handshake.first).unwrap().base_key();
    assert_eq!(awaiting[RECEIVING_CHAIN_OFFSET..RECEIVING_CHAIN_OFFSET + 32], base_key);
    let established = Pair::established(mode, 425);
    let initiator = established.alice.to_bytes().to_vec();
    let responder = established.bob.to_bytes().to_vec();
    let he = if mode == Mode::HeaderEncryption { 0x20 } else { 0 };
    assert_eq!((awaiting[2], initiator[2], responder[2]), (0x0D | he, 0x03 | he, 0x12 | he));
    let at = RECEIVING_CHAIN_OFFSET;
    let initiator_hkr: &[u8] = if he != 0 { &initiator[at + 68 + 96..at + 68 + 96 + 32] } else { &[] };

    // An initiator awaiting a reply (with a one-time prekey id: 40 bytes) that
    // also has a receiving chain.
    let mut both = awaiting.clone();
    both[2] |= 2;
    both.splice(at..at, initiator[at..at + 68].iter().copied());
    if he != 0 {
        let hkr_at = at + 68 + 40 + 96;
        both.splice(hkr_at..hkr_at, initiator_hkr.iter().copied());
    }
    // An initiator with neither.
    let mut neither = initiator.clone();
    neither[2] &= !2;
    neither.drain(at..at + 68);
    if he != 0 {
        neither.drain(at + 96..at + 96 + 32);
    }
    // A responder without a receiving chain (it has a 32-byte base key).
    let mut no_receiving = responder.clone();
    no_receiving[2] &= !2;
    no_receiving.drain(at..at + 68);
    if he != 0 {
        no_receiving.drain(at + 32 + 96..at + 32 + 96 + 32);
    }
    vec![
        ("initiator with receiving chain and pending handshake", both),
        ("initiator with neither receiving chain nor pending handshake", neither),
        ("responder without receiving chain", no_receiving),
    ]
}

fn a_session_whose_flags_break_the_spec_invariants_does_not_decode(mode: Mode) {
    for (what, bytes) in sessions_breaking_the_flag_invariants(mode) {
        let got = Session::from_bytes(&bytes).map(|s| s.encoded_len());
        assert_eq!(got, Err(flags(bytes[2])), "{what}");
    }
}
both_modes!(a_session_whose_flags_break_the_spec_invariants_does_not_decode);

fn every_decodable_bit_flip_of_a_stored_session_re_encodes_to_the_same_bytes(mode: Mode) {
    // SPEC §10.5: encoding is canonical. A decoder that accepted two encodings of
    // one value would let the same state be stored (and compared) two ways.
    let mut decoded = 0;
    for s in sessions(mode, 426) {
        let bytes = s.to_bytes();
        for bit in 0..bytes.len() * 8 {
            let flipped = flip_bit(&bytes, bit);
            if let Ok(other) = Session::from_bytes(&flipped) {
                // A classical session relabelled as version 2 decodes by the
                // same layout and is re-encoded as version 3 (SPEC §10.5).
                let mut expected = flipped.clone();
                if expected[1] == 0x02 {
                    expected[1] = SESSION_STATE_VERSION;
                }
                assert_eq!(other.to_bytes().to_vec(), expected, "bit {bit}");
                decoded += 1;
            }
        }
    }
    assert!(decoded > 1000, "only {decoded} flipped sessions decoded");
}
both_modes!(every_decodable_bit_flip_of_a_stored_session_re_encodes_to_the_same_bytes);

#[test]
fn every_decodable_bit_flip_of_a_stored_prekey_or_a_bundle_re_encodes_to_the_same_bytes() {
    let mut rng = rng(427);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&identity, 5, &mut rng).to_bytes();
    let opk = OneTimePreKey::generate(6, &mut rng).to_bytes();
    let bundle = Responder::new(&mut rng, true).bundle().to_bytes();
    for bit in 0..spk.len() * 8 {
        if let Ok(k) = SignedPreKey::from_bytes(&flip_bit(&spk, bit)) {
            assert_eq!(k.to_bytes().to_vec(), flip_bit(&spk, bit), "signed prekey bit {bit}");
        }
    }
    for bit in 0..opk.len() * 8 {
        if let Ok(k) = OneTimePreKey::from_bytes(&flip_bit(&opk, bit)) {
            assert_eq!(k.to_bytes().to_vec(), flip_bit(&opk, bit), "one-time prekey bit {bit}");
        }
    }
    for bit in 0..bundle.len() * 8 {
        if let Ok(b) = PreKeyBundle::from_bytes(&flip_bit(&bundle, bit)) {
            assert_eq!(b.to_bytes(), flip_bit(&bundle, bit), "bundle bit {bit}");
        }
    }
}

fn a_session_with_counts_over_the_limits_does_not_decode(mode: Mode) {
    let p = Pair::handshake(mode, 418);
    let bytes = p.bob.to_bytes();
    // The responder: no remembered ratchet keys, no skipped keys.
    assert_eq!(bytes[bytes.len() - 3..], [0, 0, 0]);
    let base = &bytes[..bytes.len() - 3];

    let mut too_many_prev = base.to_vec();
    too_many_prev.push(MAX_PREVIOUS_RATCHET_KEYS as u8 + 1);
    too_many_prev.extend(std::iter::repeat_n(0x11, 32 * (MAX_PREVIOUS_RATCHET_KEYS + 1)));
    too_many_prev.extend([0, 0]);
    assert_eq!(err(Session::from_bytes(&too_many_prev)), INVALID_VALUE);

    let count = MAX_SKIPPED_KEYS + 1;
    let mut too_many_skipped = base.to_vec();
    too_many_skipped.push(0);
    too_many_skipped.extend((count as u16).to_be_bytes());
    too_many_skipped.extend(std::iter::repeat_n(0x22, SESSION_BYTES_PER_SKIPPED_KEY * count));
    assert_eq!(err(Session::from_bytes(&too_many_skipped)), INVALID_VALUE);

    // A skipped key for message number 2^32 - 1, which is never sent.
    let mut bad_n = base.to_vec();
    bad_n.extend([0, 0, 1]);
    bad_n.extend([0x33; 32]);
    bad_n.extend(u32::MAX.to_be_bytes());
    bad_n.extend([0x44; 32]);
    assert_eq!(err(Session::from_bytes(&bad_n)), INVALID_VALUE);
    // The same entry with a possible number decodes.
    let n = bad_n.len() - 36;
    bad_n[n..n + 4].copy_from_slice(&5u32.to_be_bytes());
    assert_eq!(Session::from_bytes(&bad_n).unwrap().skipped_key_count(), 1);
}
both_modes!(a_session_with_counts_over_the_limits_does_not_decode);

/// Checks one fixed-length stored format: round trip, empty, every
/// truncation, appended bytes, every other tag and version, a foreign
/// encoding, and random bytes.
fn check_fixed_format<T>(
    name: &str,
    bytes: &[u8],
    tag: u8,
    decode: impl Fn(&[u8]) -> Result<T, Error>,
    encode: impl Fn(&T) -> Vec<u8>,
) {
    assert_eq!(bytes[..2], [tag, STATE_VERSION], "{name}");
    let back = decode(bytes).unwrap();
    assert_eq!(encode(&back), bytes, "{name} round trip");
    assert_eq!(err(decode(&[])), TRUNCATED, "{name}");
    for len in 0..bytes.len() {
        assert_eq!(err(decode(&bytes[..len])), TRUNCATED, "{name}: prefix of {len}");
    }
    for extra in [1, 32, 1000] {
        let mut long = bytes.to_vec();
        long.resize(bytes.len() + extra, 0);
        assert_eq!(err(decode(&long)), TRAILING, "{name}: {extra} extra bytes");
    }
    for t in (0..=255u8).filter(|&t| t != tag) {
        assert_eq!(err(decode(&with_byte(bytes, 0, t))), unexpected(t), "{name}");
    }
    for v in (0..=255u8).filter(|&v| v != STATE_VERSION) {
        assert_eq!(err(decode(&with_byte(bytes, 1, v))), version(v), "{name}");
    }
    let mut r = rng(u64::from(tag));
    for input in random_inputs(&mut r, 2000) {
        assert!(decode(&input).is_err(), "{name}: {input:02x?}");
    }
}

#[test]
fn identity_and_prekey_encodings_that_are_malformed_do_not_decode() {
    let mut rng = rng(419);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&identity, 77, &mut rng);
    let opk = OneTimePreKey::generate(78, &mut rng);
    let session = Pair::handshake(Mode::Plain, 420).alice.to_bytes();

    let id_bytes = identity.to_bytes();
    assert_eq!(id_bytes.len(), 34);
    check_fixed_format("identity", &id_bytes, TAG_IDENTITY, IdentityKeyPair::from_bytes, |k| {
        k.to_bytes().to_vec()
    });
    assert_eq!(IdentityKeyPair::from_bytes(&id_bytes).unwrap().public_key(), identity.public_key());

    let spk_bytes = spk.to_bytes();
    assert_eq!(spk_bytes.len(), 2 + 4 + 32 + 64);
    check_fixed_format("signed prekey", &spk_bytes, TAG_SIGNED_PREKEY, SignedPreKey::from_bytes, |k| {
        k.to_bytes().to_vec()
    });
    assert_eq!(SignedPreKey::from_bytes(&spk_bytes).unwrap().public(), spk.public());

    let opk_bytes = opk.to_bytes();
    assert_eq!(opk_bytes.len(), 2 + 4 + 32);
    check_fixed_format("one-time prekey", &opk_bytes, TAG_ONE_TIME_PREKEY, OneTimePreKey::from_bytes, |k| {
        k.to_bytes().to_vec()
    });
    assert_eq!(OneTimePreKey::from_bytes(&opk_bytes).unwrap().public(), opk.public());

    // One format's bytes are not another's.
    assert_eq!(err(IdentityKeyPair::from_bytes(&session)), unexpected(TAG_SESSION));
    assert_eq!(err(SignedPreKey::from_bytes(&opk_bytes)), unexpected(TAG_ONE_TIME_PREKEY));
    assert_eq!(err(OneTimePreKey::from_bytes(&spk_bytes)), unexpected(TAG_SIGNED_PREKEY));
    assert_eq!(err(Session::from_bytes(&id_bytes)), unexpected(TAG_IDENTITY));
}

#[test]
fn a_stored_session_from_random_bytes_does_not_decode() {
    let mut rng = rng(421);
    for input in random_inputs(&mut rng, 2000) {
        assert!(Session::from_bytes(&input).is_err(), "{input:02x?}");
    }
    // Past the tag and version (either session format version), flags and
    // lengths still have to agree.
    for v in [SESSION_STATE_VERSION, 1] {
        for input in random_with_prefix(&mut rng, &[TAG_SESSION, v], 2000, 600) {
            assert!(Session::from_bytes(&input).is_err(), "{input:02x?}");
        }
    }
}

/// Checks `open` for one sealed format.
fn check_sealed<T>(
    name: &str,
    sealed: &[u8],
    inner: u8,
    open: impl Fn(&[u8; 32], &[u8]) -> Result<T, Error>,
) {
    let key = [9u8; 32];
    assert!(open(&key, sealed).is_ok(), "{name}");
    assert_eq!(sealed[..3], [TAG_SEALED, STATE_VERSION, inner], "{name}");
    assert_eq!(err(open(&[8u8; 32], sealed)), Error::Auth, "{name}: wrong key");
    assert_eq!(err(open(&key, &[])), TRUNCATED, "{name}");
    for len in 0..sealed.len() {
        // Header (3), nonce (12) and tag (16) must be there; a shorter body fails authentication.
        let expected = if len < 3 + 12 + TAG_LEN { TRUNCATED } else { Error::Auth };
        assert_eq!(err(open(&key, &sealed[..len])), expected, "{name}: prefix of {len}");
    }
    for extra in [1, 16, 100] {
        let mut long = sealed.to_vec();
        long.resize(sealed.len() + extra, 0);
        assert_eq!(err(open(&key, &long)), Error::Auth, "{name}: {extra} extra bytes");
    }
    for t in (0..=255u8).filter(|&t| t != TAG_SEALED) {
        assert_eq!(err(open(&key, &with_byte(sealed, 0, t))), unexpected(t), "{name}");
    }
    for v in (0..=255u8).filter(|&v| v != STATE_VERSION) {
        assert_eq!(err(open(&key, &with_byte(sealed, 1, v))), version(v), "{name}");
    }
    for t in (0..=255u8).filter(|&t| t != inner) {
        assert_eq!(err(open(&key, &with_byte(sealed, 2, t))), unexpected(t), "{name}");
    }
    // Every bit after the header is authenticated.
    for bit in 24..sealed.len().min(200) * 8 {
        assert_eq!(err(open(&key, &flip_bit(sealed, bit))), Error::Auth, "{name}: bit {bit}");
    }
    let mut r = rng(u64::from(inner) + 1000);
    for input in random_inputs(&mut r, 2000).into_iter().chain(random_with_prefix(
        &mut r,
        &[TAG_SEALED, STATE_VERSION, inner],
        500,
        300,
    )) {
        assert!(open(&key, &input).is_err(), "{name}: {input:02x?}");
    }
}

fn sealed_state_that_is_malformed_or_under_another_key_does_not_open(mode: Mode) {
    let mut rng = rng(422);
    let key = [9u8; 32];
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&identity, 1, &mut rng);
    let opk = OneTimePreKey::generate(2, &mut rng);
    let session = Pair::established(mode, 423).bob;

    let sealed_id = identity.seal(&key, &mut rng);
    let sealed_spk = spk.seal(&key, &mut rng);
    let sealed_opk = opk.seal(&key, &mut rng);
    let sealed_session = session.seal(&key, &mut rng);
    assert_eq!(sealed_id.len(), 34 + SEALED_OVERHEAD);

    check_sealed("identity", &sealed_id, TAG_IDENTITY, IdentityKeyPair::open);
    check_sealed("signed prekey", &sealed_spk, TAG_SIGNED_PREKEY, SignedPreKey::open);
    check_sealed("one-time prekey", &sealed_opk, TAG_ONE_TIME_PREKEY, OneTimePreKey::open);
    check_sealed("session", &sealed_session, TAG_SESSION, Session::open);

    assert_eq!(IdentityKeyPair::open(&key, &sealed_id).unwrap().public_key(), identity.public_key());
    assert_eq!(SignedPreKey::open(&key, &sealed_spk).unwrap().public(), spk.public());
    assert_eq!(OneTimePreKey::open(&key, &sealed_opk).unwrap().public(), opk.public());
    assert_eq!(Session::open(&key, &sealed_session).unwrap().to_bytes(), session.to_bytes());
    // A sealed session is not a sealed identity.
    assert_eq!(err(IdentityKeyPair::open(&key, &sealed_session)), unexpected(TAG_SESSION));
}
both_modes!(sealed_state_that_is_malformed_or_under_another_key_does_not_open);
