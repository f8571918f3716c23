//! Forged and replayed input: every single-bit change of a message or bundle
//! is rejected with the error its position calls for and changes nothing,
//! and every replay is reported as a duplicate, in both modes.
//!
//! With header encryption a flipped bit anywhere in the ratchet header or
//! the body is `Auth` (the header no longer opens, or the body's tag
//! fails), where plain mode reports what the altered field calls for
//! (`TooFarAhead`, `Duplicate`, and `InvalidPublicKey` for a ratchet key
//! that is no longer a canonical X25519 encoding, SPEC.md §2, §7.3). The
//! field rules themselves, the reuse guard `G` included, are checked in both
//! modes by re-encrypting an altered header under the sender's header key
//! (`headers::with_header`).
//!
//! Expected decoding errors come from the field rules below; every one is
//! also checked against `common::wire_decode_error`, an independent
//! reference of SPEC.md §7.3 (versions 0x02 and 0x01, canonical keys).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[allow(unused_imports)]
use chatcrypt::PqPolicy;
use common::TestSend;

#[path = "common/headers.rs"]
mod headers;

use chatcrypt::{
    DecodeError, Error, IdentityKey, IdentityKeyPair, Mode, PreKeyBundle, Session, MAX_SKIP, VERSION,
};
use common::{
    decrypt_decode_error, flip_bit, header_range, is_canonical_x25519, is_prekey, mode_of, plaintext,
    reject_unchanged, rng, snapshot, wire_decode_error, Pair, Responder, MODES, OPK_ID, SPK_ID,
};
use headers::{sent_header, with_header, Header};

/// The error for a message whose N field says `n`, on the chain the receiver
/// currently receives on, which has delivered everything before `recv_n`.
fn on_current_chain(n: u32, recv_n: u32) -> Error {
    if n < recv_n {
        Error::Duplicate
    } else if n - recv_n > MAX_SKIP {
        Error::TooFarAhead { got: n - recv_n, max: MAX_SKIP }
    } else {
        Error::Auth
    }
}

/// The error for a message that starts a new receiving chain with header
/// fields `pn`, `n`, when the current receiving chain has delivered
/// everything before `recv_n`.
fn on_new_chain(pn: u32, n: u32, recv_n: u32) -> Error {
    let old = pn.saturating_sub(recv_n);
    if old > MAX_SKIP {
        Error::TooFarAhead { got: old, max: MAX_SKIP }
    } else if n > MAX_SKIP {
        Error::TooFarAhead { got: n, max: MAX_SKIP }
    } else {
        Error::Auth
    }
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes(bytes[offset..offset + 4].try_into().unwrap())
}

const INVALID_KEY: Error = Error::Decode(DecodeError::InvalidPublicKey);

/// Whether the 32 bytes at `offset` are a canonical X25519 encoding.
fn canonical_at(bytes: &[u8], offset: usize) -> bool {
    is_canonical_x25519(bytes[offset..offset + 32].try_into().unwrap())
}

/// The error for a flipped bit of a plain-mode ratchet key at `offset`:
/// a non-canonical encoding (bit 255 set) does not decode (SPEC.md §2,
/// §7.3); any other key is `otherwise`.
fn ratchet_key_error(forged: &[u8], offset: usize, otherwise: Error) -> Error {
    if canonical_at(forged, offset) {
        otherwise
    } else {
        INVALID_KEY
    }
}

/// Checks that the expected error of a forged message agrees with the
/// reference decoder wherever decoding decides (`session`: the receiving
/// session's mode, or `None` for accept).
fn agrees_with_the_reference_decoder(session: Option<Mode>, forged: &[u8], expected: Error, bit: usize) {
    let reference = match session {
        Some(mode) => decrypt_decode_error(mode, forged),
        None => wire_decode_error(forged),
    };
    if let Some(e) = reference {
        assert_eq!(expected, e, "bit {bit}: the field rules disagree with the reference decoder");
    }
}

/// The error expected when bit `bit` of one of the leading bytes every
/// message shares (version, type, PreKeyMessage flags) is flipped, if it is
/// determined there, for a receiver in `mode`. A flipped type byte may name
/// a type of the other mode (0x01 <-> 0x03, 0x02 <-> 0x03): that message is
/// decoded by the other mode's layout and then refused by the session
/// (`UnexpectedType`) if it decodes at all.
fn leading_byte_error(mode: Mode, original: &[u8], bit: usize) -> Option<Error> {
    let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
    let flipped = original[byte] ^ mask;
    match byte {
        // One flipped bit never turns 0x02 into 0x01, the other version received.
        0 => {
            assert_eq!(original[0], VERSION);
            assert_ne!(flipped, 0x01);
            Some(Error::Decode(DecodeError::UnsupportedVersion(flipped)))
        }
        1 => {
            let e = decrypt_decode_error(mode, &flip_bit(original, bit));
            assert!(e.is_some(), "a flipped type bit gave a message of the session's mode");
            e
        }
        // Bit 1 announces a KEM part (SPEC.md §16.4): the bytes after the
        // prekey ids are read as one, which the reference decoder judges.
        2 if is_prekey(original) && mask == 2 && original[2] & 2 == 0 => {
            let e = wire_decode_error(&flip_bit(original, bit));
            assert!(e.is_some(), "a classical message read with a KEM part decoded");
            e
        }
        2 if is_prekey(original) && mask != 1 => Some(Error::Decode(DecodeError::InvalidFlags(flipped))),
        _ => None,
    }
}

/// The error of a message whose prefix (version, type, handshake fields)
/// is genuine but whose ratchet header or body has a flipped bit, with
/// header encryption: the header no longer opens (a flip in the body
/// changes the sample the header key and nonce are derived from, or the
/// body's own tag), so every such flip is `Auth`.
const HE_AUTH: Error = Error::Auth;

fn every_flipped_bit_of_a_later_prekey_message_is_rejected_and_changes_nothing(mode: Mode) {
    let mut p = Pair::handshake(mode, 100);
    let m = p.send_a(b"abcd");
    let h = sent_header(&p.alice, &m);
    assert_eq!((h.pn, h.n), (0, 1));
    // 0 version, 1 type, 2 flags, 3..35 identity, 35..67 base key, 67..71 signed prekey id,
    // 71..75 one-time prekey id; plain: 75..107 ratchet key, 107..111 PN, 111..115 N,
    // 115..131 G; header encryption: 75..147 encrypted header; then ciphertext and tag.
    assert_eq!(m[2], 1);
    assert_eq!(header_range(&m).start, 75);
    assert_eq!(header_range(&m).end, if mode == Mode::Plain { 131 } else { 147 });
    let mut non_canonical = 0;
    for bit in 0..m.len() * 8 {
        let forged = flip_bit(&m, bit);
        let byte = bit / 8;
        let expected = leading_byte_error(mode, &m, bit).unwrap_or_else(|| match byte {
            3..35 => match IdentityKey::from_bytes(forged[3..35].try_into().unwrap()) {
                Ok(_) => Error::WrongIdentity,
                Err(e) => {
                    assert_eq!(e, INVALID_KEY);
                    e
                }
            },
            // A base key with bit 255 set does not decode; any other is another handshake.
            35..67 if !canonical_at(&forged, 35) => INVALID_KEY,
            35..67 => Error::HandshakeMismatch,
            // Without the one-time prekey flag the ratchet header is read 4 bytes early: its
            // ratchet key is bytes 71..103, which decoding checks in the plain mode.
            2 if wire_decode_error(&forged).is_some() => wire_decode_error(&forged).unwrap(),
            _ if mode == Mode::HeaderEncryption => HE_AUTH,
            // Its PN is bytes 103..107 of the genuine message and its N is the genuine PN (0).
            2 => on_new_chain(u32_at(&m, 103), 0, 1),
            75..107 => ratchet_key_error(&forged, 75, Error::Auth),
            111..115 => on_current_chain(u32_at(&forged, 111), 1),
            // PN (not used on the current chain), G, the ciphertext and the tag.
            _ => Error::Auth,
        });
        if expected == INVALID_KEY && !(3..35).contains(&byte) {
            non_canonical += 1;
        }
        agrees_with_the_reference_decoder(Some(mode), &forged, expected, bit);
        let got = reject_unchanged(&mut p.bob, &forged, &mut p.rng);
        assert_eq!(got, expected, "bit {bit} (byte {byte})");
    }
    // Bit 255 of the base key, and in the plain mode of the ratchet key.
    assert!(non_canonical >= if mode == Mode::Plain { 2 } else { 1 }, "{non_canonical}");
    assert_eq!(p.recv_b(&m).unwrap(), b"abcd");
}
both_modes!(every_flipped_bit_of_a_later_prekey_message_is_rejected_and_changes_nothing);

/// The error `accept` gives for a first message whose type byte was
/// flipped (to `forged[1]`).
fn accept_error_for_flipped_type(forged: &[u8]) -> Error {
    if let Some(e) = wire_decode_error(forged) {
        return e;
    }
    if !is_prekey(forged) {
        // A well-formed ordinary Message is not a PreKeyMessage (SPEC.md §5.2).
        return Error::Decode(DecodeError::UnexpectedType(forged[1]));
    }
    // A PreKeyMessage of the other mode: accept runs the handshake in that
    // mode, which derives other keys. Read in plain mode, the encrypted
    // header is taken for a plain one, whose N decides before any
    // authentication (SPEC.md §8 step 2-3); read with header encryption,
    // the header does not open.
    match mode_of(forged) {
        Mode::Plain => {
            let n = u32_at(forged, header_range(forged).start + 36);
            if n == u32::MAX {
                Error::Decode(DecodeError::InvalidValue)
            } else {
                on_new_chain(0, n, 0)
            }
        }
        _ => Error::Auth,
    }
}

fn every_flipped_bit_of_a_first_prekey_message_makes_accept_fail(mode: Mode) {
    let mut rng = rng(101);
    let bob = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let mut alice =
        Session::initiate_with(&alice_id, &bob.bundle(), mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    let m = alice.encrypt_t(b"abcd").unwrap();
    let h = sent_header(&alice, &m);
    assert_eq!((h.pn, h.n), (0, 0));
    let mut non_canonical = 0;
    for bit in 0..m.len() * 8 {
        let forged = flip_bit(&m, bit);
        let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
        let expected = match byte {
            0 => {
                assert_ne!(forged[0], 0x01);
                Error::Decode(DecodeError::UnsupportedVersion(forged[0]))
            }
            1 => accept_error_for_flipped_type(&forged),
            // Without the one-time prekey flag the ratchet header is read 4 bytes early;
            // in the plain mode decoding checks its ratchet key (bytes 71..103).
            2 if mask == 1 && mode == Mode::Plain && !canonical_at(&forged, 71) => INVALID_KEY,
            // The message no longer names a one-time prekey, but one was passed in.
            2 if mask == 1 => Error::UnknownPreKey { id: OPK_ID },
            // A KEM part announced: the ratchet header's first byte is read as
            // its KEM type (SPEC.md §16.4), which the reference decoder judges.
            2 if mask == 2 => wire_decode_error(&forged).expect("a classical message read with a KEM part"),
            2 => Error::Decode(DecodeError::InvalidFlags(forged[2])),
            3..35 => match IdentityKey::from_bytes(forged[3..35].try_into().unwrap()) {
                Ok(_) => Error::Auth,
                Err(e) => e,
            },
            // A base key with bit 255 set does not decode; any other gives other DH outputs.
            35..67 => ratchet_key_error(&forged, 35, Error::Auth),
            67..71 => Error::UnknownPreKey { id: u32_at(&forged, 67) },
            71..75 => Error::UnknownPreKey { id: u32_at(&forged, 71) },
            _ if mode == Mode::HeaderEncryption => HE_AUTH,
            75..107 => ratchet_key_error(&forged, 75, Error::Auth),
            111..115 => on_new_chain(0, u32_at(&forged, 111), 0),
            // PN (the responder has no receiving chain yet), G, the ciphertext and the tag.
            _ => Error::Auth,
        };
        if expected == INVALID_KEY && byte >= 35 {
            non_canonical += 1;
        }
        agrees_with_the_reference_decoder(None, &forged, expected, bit);
        let got = bob.accept(&forged, &mut rng).map(|(_, pt)| pt);
        assert_eq!(got, Err(expected), "bit {bit} (byte {byte})");
    }
    // Bit 255 of the base key, and in the plain mode of the ratchet key.
    assert!(non_canonical >= if mode == Mode::Plain { 2 } else { 1 }, "{non_canonical}");
    let (_, pt) = bob.accept(&m, &mut rng).unwrap();
    assert_eq!(pt, b"abcd");
    assert_eq!(SPK_ID, u32_at(&m, 67));
}
both_modes!(every_flipped_bit_of_a_first_prekey_message_makes_accept_fail);

fn every_flipped_bit_of_a_message_on_the_current_chain_is_rejected_and_changes_nothing(mode: Mode) {
    let mut p = Pair::established(mode, 102);
    let x0 = p.send_a(b"x0");
    let x1 = p.send_a(b"x1");
    let x2 = p.send_a(b"x2!");
    p.recv_b(&x0).unwrap();
    p.recv_b(&x1).unwrap();
    assert_eq!(sent_header(&p.alice, &x2).n, 2);
    // 0 version, 1 type; plain: 2..34 ratchet key, 34..38 PN, 38..42 N, 42..58 G;
    // header encryption: 2..74 encrypted header; then ciphertext and tag.
    assert_eq!(header_range(&x2), if mode == Mode::Plain { 2..58 } else { 2..74 });
    for bit in 0..x2.len() * 8 {
        let forged = flip_bit(&x2, bit);
        let expected = leading_byte_error(mode, &x2, bit).unwrap_or_else(|| match bit / 8 {
            _ if mode == Mode::HeaderEncryption => HE_AUTH,
            // Another (canonical) ratchet key starts a new chain, whose tag fails.
            2..34 => ratchet_key_error(&forged, 2, Error::Auth),
            38..42 => on_current_chain(u32_at(&forged, 38), 2),
            // PN, G, the ciphertext and the tag.
            _ => Error::Auth,
        });
        agrees_with_the_reference_decoder(Some(mode), &forged, expected, bit);
        let got = reject_unchanged(&mut p.bob, &forged, &mut p.rng);
        assert_eq!(got, expected, "bit {bit}");
    }
    assert_eq!(p.recv_b(&x2).unwrap(), b"x2!");
}
both_modes!(every_flipped_bit_of_a_message_on_the_current_chain_is_rejected_and_changes_nothing);

fn every_flipped_bit_of_a_message_starting_a_new_chain_is_rejected_and_changes_nothing(mode: Mode) {
    let mut p = Pair::established(mode, 103);
    // Bob has received 1 message ("hello") on Alice's first chain; Alice's current chain is new.
    let m = p.send_a(b"new chain");
    let h = sent_header(&p.alice, &m);
    let pn = h.pn;
    assert_eq!((pn, h.n), (1, 0));
    for bit in 0..m.len() * 8 {
        let forged = flip_bit(&m, bit);
        let expected = leading_byte_error(mode, &m, bit).unwrap_or_else(|| match bit / 8 {
            _ if mode == Mode::HeaderEncryption => HE_AUTH,
            2..34 => ratchet_key_error(&forged, 2, Error::Auth),
            34..38 => on_new_chain(u32_at(&forged, 34), 0, 1),
            38..42 => on_new_chain(pn, u32_at(&forged, 38), 1),
            // G, the ciphertext and the tag.
            _ => Error::Auth,
        });
        agrees_with_the_reference_decoder(Some(mode), &forged, expected, bit);
        let got = reject_unchanged(&mut p.bob, &forged, &mut p.rng);
        assert_eq!(got, expected, "bit {bit}");
    }
    assert_eq!(p.recv_b(&m).unwrap(), b"new chain");
}
both_modes!(every_flipped_bit_of_a_message_starting_a_new_chain_is_rejected_and_changes_nothing);

fn every_flipped_bit_of_a_reply_to_the_initiator_is_rejected_and_leaves_it_awaiting_the_reply(mode: Mode) {
    let mut p = Pair::handshake(mode, 104);
    let reply = p.send_b(b"reply");
    for bit in 0..reply.len() * 8 {
        let forged = flip_bit(&reply, bit);
        let expected = leading_byte_error(mode, &reply, bit).unwrap_or_else(|| match bit / 8 {
            _ if mode == Mode::HeaderEncryption => HE_AUTH,
            2..34 => ratchet_key_error(&forged, 2, Error::Auth),
            // Alice has no receiving chain yet: no PN jump to check.
            38..42 => on_new_chain(0, u32_at(&forged, 38), 0),
            // PN, G, the ciphertext and the tag.
            _ => Error::Auth,
        });
        agrees_with_the_reference_decoder(Some(mode), &forged, expected, bit);
        let got = reject_unchanged(&mut p.alice, &forged, &mut p.rng);
        assert_eq!(got, expected, "bit {bit}");
        assert!(p.alice.awaiting_reply());
    }
    assert_eq!(p.recv_a(&reply).unwrap(), b"reply");
    assert!(!p.alice.awaiting_reply());
}
both_modes!(every_flipped_bit_of_a_reply_to_the_initiator_is_rejected_and_leaves_it_awaiting_the_reply);

/// Every bit of the ratchet header (ratchet key, PN, N, reuse guard G)
/// flipped by a forger who can write the header: anyone in plain mode, only
/// a holder of the sender's header key with header encryption (the header
/// is re-encrypted under it). Past the header, both modes then apply the
/// same rules, so both give the same error for each field, except where
/// the header key's chain decides first (SPEC.md §14.4 step 3); the body's
/// tag, which covers the genuine header (and whose key and nonce G enters),
/// fails last.
fn every_flipped_header_field_bit_is_rejected_with_the_error_its_field_calls_for(mode: Mode) {
    let mut p = Pair::established(mode, 106);
    let c0 = p.send_a(b"c0");
    let c1 = p.send_a(b"c1");
    p.recv_b(&c0).unwrap();
    // c1 is on Bob's current receiving chain (which has delivered 1 message).
    let h1 = sent_header(&p.alice, &c1);
    assert_eq!((h1.pn, h1.n), (1, 1));
    let mut guard_bits = 0;
    for bit in 0..HEADER_BITS {
        let forged = with_header(&p.alice, &c1, |h| flip_header_bit(h, bit));
        let edited = flip_header_bit_value(&h1, bit);
        let expected = match bit / 8 {
            // Plain mode: a ratchet key with bit 255 set does not decode (SPEC.md §2, §7.3);
            // any other is a new chain, whose tag fails.
            0..32 if mode == Mode::Plain => {
                if is_canonical_x25519(&edited.ratchet_key) {
                    Error::Auth
                } else {
                    INVALID_KEY
                }
            }
            // Header encryption: a header opened by the current chain's header key must
            // name that chain's ratchet key (§14.4 step 3, before the canonical check of
            // step 4), so every flipped bit is Auth, bit 255 included.
            0..32 => Error::Auth,
            // PN is not used on the current chain.
            32..36 => Error::Auth,
            36..40 => on_current_chain(edited.n, 1),
            // G: the header is associated data and G enters the message key derivation.
            _ => {
                assert_ne!(edited.guard, h1.guard);
                guard_bits += 1;
                Error::Auth
            }
        };
        assert_eq!(reject_unchanged(&mut p.bob, &forged, &mut p.rng), expected, "current chain, bit {bit}");
    }
    assert_eq!(guard_bits, 16 * 8);
    assert_eq!(p.recv_b(&c1).unwrap(), b"c1");

    // A message starting a new chain: PN is 2, Bob has received 2 of the old chain.
    let r = p.send_b(b"r");
    p.recv_a(&r).unwrap();
    let m = p.send_a(b"new chain");
    let h = sent_header(&p.alice, &m);
    assert_eq!((h.pn, h.n), (2, 0));
    let mut guard_bits = 0;
    for bit in 0..HEADER_BITS {
        let forged = with_header(&p.alice, &m, |h| flip_header_bit(h, bit));
        let edited = flip_header_bit_value(&h, bit);
        let expected = match bit / 8 {
            // In both modes (with header encryption the next header key NHKr opens it and
            // accepts a ratchet key not seen yet): bit 255 set is InvalidPublicKey, any
            // other key a new chain whose tag fails.
            0..32 => {
                if is_canonical_x25519(&edited.ratchet_key) {
                    Error::Auth
                } else {
                    INVALID_KEY
                }
            }
            32..36 => on_new_chain(edited.pn, 0, 2),
            36..40 => on_new_chain(2, edited.n, 2),
            _ => {
                assert_ne!(edited.guard, h.guard);
                guard_bits += 1;
                Error::Auth
            }
        };
        assert_eq!(reject_unchanged(&mut p.bob, &forged, &mut p.rng), expected, "new chain, bit {bit}");
    }
    assert_eq!(guard_bits, 16 * 8);
    assert_eq!(p.recv_b(&m).unwrap(), b"new chain");
}
both_modes!(every_flipped_header_field_bit_is_rejected_with_the_error_its_field_calls_for);

/// Bits of the 56-byte ratchet header: ratchet key, PN, N and G.
const HEADER_BITS: usize = (32 + 4 + 4 + 16) * 8;

/// Flips bit `bit` of the 56-byte header encoding (bit 0 is the least
/// significant bit of byte 0, as in `flip_bit`).
fn flip_header_bit(h: &mut Header, bit: usize) {
    *h = flip_header_bit_value(h, bit);
}

fn flip_header_bit_value(h: &Header, bit: usize) -> Header {
    Header::parse(&flip_bit(&h.bytes(), bit))
}

fn a_header_naming_another_chain_than_its_header_key_is_rejected(mode: Mode) {
    // Alice's message on a new chain, its header rewritten to name the chain
    // Bob currently receives on (with a message number he has not seen).
    let mut p = Pair::established(mode, 107);
    let old = p.send_a(b"old chain");
    p.recv_b(&old).unwrap();
    let current = sent_header(&p.alice, &old).ratchet_key;
    let used = sent_header(&p.alice, &old).n;
    let r = p.send_b(b"r");
    p.recv_a(&r).unwrap();
    let m = p.send_a(b"new chain");
    let forged = with_header(&p.alice, &m, |h| {
        h.ratchet_key = current;
        h.n = 5;
    });
    let got = reject_unchanged(&mut p.bob, &forged, &mut p.rng);
    // Plain mode: a message of the current chain, 3 keys ahead, whose tag fails.
    // Header encryption: the header opened under the next chain's header key
    // (NHKr) but names the current chain: refused before any key is derived.
    assert_eq!(got, Error::Auth);
    // The same header with a message number Bob has already used on the
    // current chain: plain mode can only call it a replay; with header
    // encryption the header key (NHKr) does not belong to the chain it names,
    // which is refused as Auth before the stored keys are consulted.
    let forged = with_header(&p.alice, &m, |h| {
        h.ratchet_key = current;
        h.n = used;
    });
    let expected = if mode == Mode::Plain { Error::Duplicate } else { Error::Auth };
    assert_eq!(reject_unchanged(&mut p.bob, &forged, &mut p.rng), expected);
    // And the reverse: a message of the current chain whose header names a
    // ratchet key never seen (plain: a new ratchet step; header encryption:
    // the current chain's header key must name its own chain).
    let same = p.send_a(b"same chain");
    let forged = with_header(&p.alice, &same, |h| h.ratchet_key = [9; 32]);
    assert_eq!(reject_unchanged(&mut p.bob, &forged, &mut p.rng), Error::Auth);
    assert_eq!(p.recv_b(&m).unwrap(), b"new chain");
    assert_eq!(p.recv_b(&same).unwrap(), b"same chain");
}
both_modes!(a_header_naming_another_chain_than_its_header_key_is_rejected);

/// A bundle has no mode; the initiator's chosen mode only matters after the
/// signature verified. Ed25519 is slow in debug builds, so the signed fields
/// are tried once per bit, alternating the mode, and the unsigned one-time
/// prekey in both modes.
///
/// Every one of the 170 * 8 flips is classified and asserted: rejected by
/// decoding (version, flags, a non-strict identity key, a non-canonical
/// X25519 prekey), by the signature, or, for the unsigned one-time prekey
/// id and key (SPEC.md §4), accepted by the initiator but refused by the
/// responder (`UnknownPreKey` for an id it does not have, `Auth` for a key
/// other than its own): no flip yields a working session.
#[test]
fn every_flipped_bit_of_a_bundle_is_caught_by_decoding_signing_or_the_responder() {
    let mut rng = rng(105);
    let bob = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let bytes = bob.bundle().to_bytes();
    // 0 version, 1 flags, 2..34 identity, 34..38 signed prekey id, 38..70 signed prekey,
    // 70..134 signature, 134..138 one-time prekey id, 138..170 one-time prekey.
    assert_eq!(bytes.len(), 170);
    assert_eq!(bytes[..2], [VERSION, 1]);
    #[derive(Debug, Default, PartialEq)]
    struct Tally {
        version: usize,
        flags: usize,
        identity_key: usize,
        non_canonical_prekey: usize,
        signature: usize,
        unknown_one_time_prekey: usize,
        other_one_time_prekey: usize,
    }
    let mut tally = Tally::default();
    for bit in 0..bytes.len() * 8 {
        let forged = flip_bit(&bytes, bit);
        let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
        let decoded = PreKeyBundle::from_bytes(&forged);
        match byte {
            // Bundles are only version 0x02 (SPEC.md §13).
            0 => {
                assert_eq!(decoded, Err(Error::Decode(DecodeError::UnsupportedVersion(VERSION ^ mask))));
                tally.version += 1;
            }
            1 => {
                // Bit 1 announces a KEM prekey (SPEC.md §16.3): the one-time
                // prekey id's first byte is then read as its KEM type.
                let expected = match mask {
                    1 => DecodeError::TrailingBytes,
                    2 => DecodeError::UnknownKeyType(forged[134]),
                    _ => DecodeError::InvalidFlags(1 | mask),
                };
                assert_eq!(decoded, Err(Error::Decode(expected)), "bit {bit}");
                tally.flags += 1;
            }
            2..134 => {
                let identity_ok = IdentityKey::from_bytes(forged[2..34].try_into().unwrap()).is_ok();
                let spk_ok = canonical_at(&forged, 38);
                match decoded {
                    Ok(bundle) => {
                        assert!(identity_ok && spk_ok, "bit {bit}");
                        // (initiate verifies first; Ed25519 is slow in debug builds, so verify once.)
                        let mode = MODES[bit % 2];
                        let got = Session::initiate_with(
                            &alice_id,
                            &bundle,
                            mode,
                            PqPolicy::AllowClassical,
                            &mut rng,
                        )
                        .err();
                        assert_eq!(got, Some(Error::BadSignature), "bit {bit}");
                        tally.signature += 1;
                    }
                    Err(e) => {
                        assert_eq!(e, INVALID_KEY, "bit {bit}");
                        if byte < 34 {
                            assert!(!identity_ok, "bit {bit}");
                            tally.identity_key += 1;
                        } else {
                            // Only bit 255 of the signed prekey.
                            assert_eq!(bit, 69 * 8 + 7);
                            assert!(!spk_ok);
                            tally.non_canonical_prekey += 1;
                        }
                    }
                }
            }
            // Bit 255 of the one-time prekey: not canonical, so it does not decode (it
            // would name the same u-coordinate to RFC 7748, SPEC.md §2).
            169 if mask == 0x80 => {
                assert_eq!(decoded, Err(INVALID_KEY), "bit {bit}");
                tally.non_canonical_prekey += 1;
            }
            _ => {
                // The one-time prekey is not signed (as in X3DH): a tampered one starts
                // a session the responder then cannot accept.
                let bundle = decoded.unwrap();
                assert_eq!(bundle.verify(), Ok(()));
                for mode in MODES {
                    let mut alice =
                        Session::initiate_with(&alice_id, &bundle, mode, PqPolicy::AllowClassical, &mut rng)
                            .unwrap();
                    let m = alice.encrypt_t(b"x").unwrap();
                    let got = bob.accept(&m, &mut rng).map(|(_, pt)| pt);
                    if byte < 138 {
                        let id = u32_at(&forged, 134);
                        assert_ne!(id, OPK_ID);
                        assert_eq!(got, Err(Error::UnknownPreKey { id }), "{mode:?}: bit {bit}");
                    } else {
                        assert_eq!(got, Err(Error::Auth), "{mode:?}: bit {bit}");
                    }
                }
                if byte < 138 {
                    tally.unknown_one_time_prekey += 1;
                } else {
                    tally.other_one_time_prekey += 1;
                }
            }
        }
    }
    let identity_key = tally.identity_key;
    assert!(identity_key > 0, "some identity key flips are not valid keys");
    assert_eq!(
        tally,
        Tally {
            version: 8,
            flags: 8,
            identity_key,
            non_canonical_prekey: 2,
            signature: 132 * 8 - identity_key - 1,
            unknown_one_time_prekey: 4 * 8,
            other_one_time_prekey: 32 * 8 - 1,
        }
    );
    let total = tally.version
        + tally.flags
        + tally.identity_key
        + tally.non_canonical_prekey
        + tally.signature
        + tally.unknown_one_time_prekey
        + tally.other_one_time_prekey;
    assert_eq!(total, 170 * 8, "every flip is classified");
}

fn replay_within_a_chain_is_a_duplicate_and_changes_nothing(mode: Mode) {
    let mut p = Pair::established(mode, 110);
    let m0 = p.send_a(b"m0");
    let m1 = p.send_a(b"m1");
    assert_eq!(p.recv_b(&m0).unwrap(), b"m0");
    assert_eq!(reject_unchanged(&mut p.bob, &m0, &mut p.rng), Error::Duplicate);
    assert_eq!(p.recv_b(&m1).unwrap(), b"m1");
    assert_eq!(reject_unchanged(&mut p.bob, &m1, &mut p.rng), Error::Duplicate);
    assert_eq!(reject_unchanged(&mut p.bob, &m0, &mut p.rng), Error::Duplicate);
}
both_modes!(replay_within_a_chain_is_a_duplicate_and_changes_nothing);

fn replay_of_a_message_decrypted_with_a_skipped_key_is_a_duplicate(mode: Mode) {
    let mut p = Pair::established(mode, 111);
    let ms: Vec<_> = (0..4).map(|i| p.send_a(&plaintext(i))).collect();
    assert_eq!(p.recv_b(&ms[3]).unwrap(), plaintext(3));
    assert_eq!(p.bob.skipped_key_count(), 3);
    assert_eq!(p.recv_b(&ms[1]).unwrap(), plaintext(1));
    assert_eq!(p.bob.skipped_key_count(), 2);
    assert_eq!(reject_unchanged(&mut p.bob, &ms[1], &mut p.rng), Error::Duplicate);
    assert_eq!(reject_unchanged(&mut p.bob, &ms[3], &mut p.rng), Error::Duplicate);
    assert_eq!(p.bob.skipped_key_count(), 2);
    assert_eq!(p.recv_b(&ms[0]).unwrap(), plaintext(0));
    assert_eq!(p.recv_b(&ms[2]).unwrap(), plaintext(2));
    assert_eq!(p.bob.skipped_key_count(), 0);
}
both_modes!(replay_of_a_message_decrypted_with_a_skipped_key_is_a_duplicate);

fn replay_from_an_older_chain_after_a_ratchet_step_is_a_duplicate(mode: Mode) {
    let mut p = Pair::established(mode, 112);
    let old = p.send_a(b"old chain");
    assert_eq!(p.recv_b(&old).unwrap(), b"old chain");
    let old_reply = p.send_b(b"old reply");
    p.round_trip(0);
    assert_eq!(p.recv_a(&old_reply).unwrap(), b"old reply");
    p.round_trip(2);
    assert_eq!(reject_unchanged(&mut p.bob, &old, &mut p.rng), Error::Duplicate);
    assert_eq!(reject_unchanged(&mut p.alice, &old_reply, &mut p.rng), Error::Duplicate);
}
both_modes!(replay_from_an_older_chain_after_a_ratchet_step_is_a_duplicate);

fn replay_of_the_first_prekey_message_to_the_responders_session_is_a_duplicate(mode: Mode) {
    let mut p = Pair::handshake(mode, 113);
    let first = p.first.clone();
    assert_eq!(reject_unchanged(&mut p.bob, &first, &mut p.rng), Error::Duplicate);
    p.round_trip(0);
    p.round_trip(2);
    assert_eq!(reject_unchanged(&mut p.bob, &first, &mut p.rng), Error::Duplicate);
}
both_modes!(replay_of_the_first_prekey_message_to_the_responders_session_is_a_duplicate);

fn replay_of_the_first_reply_to_the_initiator_is_a_duplicate(mode: Mode) {
    let mut p = Pair::handshake(mode, 114);
    let reply = p.send_b(b"reply");
    assert_eq!(p.recv_a(&reply).unwrap(), b"reply");
    assert_eq!(reject_unchanged(&mut p.alice, &reply, &mut p.rng), Error::Duplicate);
    let before = snapshot(&p.alice);
    p.round_trip(0);
    assert_ne!(before, snapshot(&p.alice));
    assert_eq!(reject_unchanged(&mut p.alice, &reply, &mut p.rng), Error::Duplicate);
}
both_modes!(replay_of_the_first_reply_to_the_initiator_is_a_duplicate);
