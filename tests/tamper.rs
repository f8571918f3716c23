//! Forged and replayed input: every single-bit change of a message or bundle
//! is rejected with the error its position calls for and changes nothing,
//! and every replay is reported as a duplicate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chatcrypt::{DecodeError, Error, IdentityKey, IdentityKeyPair, PreKeyBundle, Session, MAX_SKIP};
use common::{
    flip_bit, n_of, plaintext, pn_of, reject_unchanged, rng, snapshot, Pair, Responder, OPK_ID, SPK_ID,
};

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

/// The error expected when bit `bit` of one of the leading bytes every
/// message shares (version, type, PreKeyMessage flags) is flipped, if it is
/// determined there.
fn leading_byte_error(original: &[u8], bit: usize) -> Option<Error> {
    let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
    let flipped = original[byte] ^ mask;
    match byte {
        0 => Some(Error::Decode(DecodeError::UnsupportedVersion(flipped))),
        1 => Some(Error::Decode(DecodeError::UnexpectedType(flipped))),
        2 if original[1] == 0x01 && mask != 1 => Some(Error::Decode(DecodeError::InvalidFlags(flipped))),
        _ => None,
    }
}

#[test]
fn every_flipped_bit_of_a_later_prekey_message_is_rejected_and_changes_nothing() {
    let mut p = Pair::handshake(100);
    let m = p.send_a(b"abcd");
    assert_eq!((pn_of(&m), n_of(&m)), (0, 1));
    // 0 version, 1 type, 2 flags, 3..35 identity, 35..67 base key, 67..71 signed prekey id,
    // 71..75 one-time prekey id, 75..107 ratchet key, 107..111 PN, 111..115 N, then ciphertext and tag.
    assert_eq!(m[2], 1);
    for bit in 0..m.len() * 8 {
        let forged = flip_bit(&m, bit);
        let byte = bit / 8;
        let expected = leading_byte_error(&m, bit).unwrap_or_else(|| match byte {
            // Without the one-time prekey flag the ratchet header is read 4 bytes early:
            // its PN is bytes 103..107 of the genuine message and its N is the genuine PN (0).
            2 => on_new_chain(u32_at(&m, 103), 0, 1),
            3..35 => match IdentityKey::from_bytes(forged[3..35].try_into().unwrap()) {
                Ok(_) => Error::WrongIdentity,
                Err(e) => {
                    assert_eq!(e, Error::Decode(DecodeError::InvalidPublicKey));
                    e
                }
            },
            35..67 => Error::HandshakeMismatch,
            111..115 => on_current_chain(u32_at(&forged, 111), 1),
            _ => Error::Auth,
        });
        let got = reject_unchanged(&mut p.bob, &forged, &mut p.rng);
        assert_eq!(got, expected, "bit {bit} (byte {byte})");
    }
    assert_eq!(p.recv_b(&m).unwrap(), b"abcd");
}

#[test]
fn every_flipped_bit_of_a_first_prekey_message_makes_accept_fail() {
    let mut rng = rng(101);
    let bob = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let mut alice = Session::initiate(&alice_id, &bob.bundle(), &mut rng).unwrap();
    let m = alice.encrypt(b"abcd").unwrap();
    assert_eq!((pn_of(&m), n_of(&m)), (0, 0));
    for bit in 0..m.len() * 8 {
        let forged = flip_bit(&m, bit);
        let byte = bit / 8;
        let expected = leading_byte_error(&m, bit).unwrap_or_else(|| match byte {
            // The message no longer names a one-time prekey, but one was passed in.
            2 => Error::UnknownPreKey { id: OPK_ID },
            3..35 => match IdentityKey::from_bytes(forged[3..35].try_into().unwrap()) {
                Ok(_) => Error::Auth,
                Err(e) => e,
            },
            67..71 => Error::UnknownPreKey { id: u32_at(&forged, 67) },
            71..75 => Error::UnknownPreKey { id: u32_at(&forged, 71) },
            111..115 => on_new_chain(0, u32_at(&forged, 111), 0),
            _ => Error::Auth,
        });
        let got = bob.accept(&forged, &mut rng).map(|(_, pt)| pt);
        assert_eq!(got, Err(expected), "bit {bit} (byte {byte})");
    }
    let (_, pt) = bob.accept(&m, &mut rng).unwrap();
    assert_eq!(pt, b"abcd");
    assert_eq!(SPK_ID, u32_at(&m, 67));
}

#[test]
fn every_flipped_bit_of_a_message_on_the_current_chain_is_rejected_and_changes_nothing() {
    let mut p = Pair::established(102);
    let x0 = p.send_a(b"x0");
    let x1 = p.send_a(b"x1");
    let x2 = p.send_a(b"x2!");
    p.recv_b(&x0).unwrap();
    p.recv_b(&x1).unwrap();
    assert_eq!(n_of(&x2), 2);
    // 0 version, 1 type, 2..34 ratchet key, 34..38 PN, 38..42 N, then ciphertext and tag.
    for bit in 0..x2.len() * 8 {
        let forged = flip_bit(&x2, bit);
        let expected = leading_byte_error(&x2, bit).unwrap_or_else(|| match bit / 8 {
            38..42 => on_current_chain(u32_at(&forged, 38), 2),
            _ => Error::Auth,
        });
        let got = reject_unchanged(&mut p.bob, &forged, &mut p.rng);
        assert_eq!(got, expected, "bit {bit}");
    }
    assert_eq!(p.recv_b(&x2).unwrap(), b"x2!");
}

#[test]
fn every_flipped_bit_of_a_message_starting_a_new_chain_is_rejected_and_changes_nothing() {
    let mut p = Pair::established(103);
    // Bob has received 1 message ("hello") on Alice's first chain; Alice's current chain is new.
    let m = p.send_a(b"new chain");
    let pn = pn_of(&m);
    assert_eq!((pn, n_of(&m)), (1, 0));
    for bit in 0..m.len() * 8 {
        let forged = flip_bit(&m, bit);
        let expected = leading_byte_error(&m, bit).unwrap_or_else(|| match bit / 8 {
            34..38 => on_new_chain(u32_at(&forged, 34), 0, 1),
            38..42 => on_new_chain(pn, u32_at(&forged, 38), 1),
            _ => Error::Auth,
        });
        let got = reject_unchanged(&mut p.bob, &forged, &mut p.rng);
        assert_eq!(got, expected, "bit {bit}");
    }
    assert_eq!(p.recv_b(&m).unwrap(), b"new chain");
}

#[test]
fn every_flipped_bit_of_a_reply_to_the_initiator_is_rejected_and_leaves_it_awaiting_the_reply() {
    let mut p = Pair::handshake(104);
    let reply = p.send_b(b"reply");
    for bit in 0..reply.len() * 8 {
        let forged = flip_bit(&reply, bit);
        let expected = leading_byte_error(&reply, bit).unwrap_or_else(|| match bit / 8 {
            // Alice has no receiving chain yet: no PN jump to check.
            38..42 => on_new_chain(0, u32_at(&forged, 38), 0),
            _ => Error::Auth,
        });
        let got = reject_unchanged(&mut p.alice, &forged, &mut p.rng);
        assert_eq!(got, expected, "bit {bit}");
        assert!(p.alice.awaiting_reply());
    }
    assert_eq!(p.recv_a(&reply).unwrap(), b"reply");
    assert!(!p.alice.awaiting_reply());
}

#[test]
fn every_flipped_bit_of_a_bundle_is_caught_by_decoding_signing_or_the_responder() {
    let mut rng = rng(105);
    let bob = Responder::new(&mut rng, true);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let bytes = bob.bundle().to_bytes();
    // 0 version, 1 flags, 2..34 identity, 34..38 signed prekey id, 38..70 signed prekey,
    // 70..134 signature, 134..138 one-time prekey id, 138..170 one-time prekey.
    assert_eq!(bytes.len(), 170);
    let mut benign = Vec::new();
    for bit in 0..bytes.len() * 8 {
        let forged = flip_bit(&bytes, bit);
        let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
        let decoded = PreKeyBundle::from_bytes(&forged);
        match byte {
            0 => assert_eq!(decoded, Err(Error::Decode(DecodeError::UnsupportedVersion(1 ^ mask)))),
            1 if mask == 1 => assert_eq!(decoded, Err(Error::Decode(DecodeError::TrailingBytes))),
            1 => assert_eq!(decoded, Err(Error::Decode(DecodeError::InvalidFlags(1 | mask)))),
            2..134 => {
                let identity_ok = IdentityKey::from_bytes(forged[2..34].try_into().unwrap()).is_ok();
                match decoded {
                    Ok(bundle) => {
                        assert!(identity_ok);
                        // (initiate verifies first; Ed25519 is slow in debug builds, so verify once.)
                        let got = Session::initiate(&alice_id, &bundle, &mut rng).err();
                        assert_eq!(got, Some(Error::BadSignature), "bit {bit}");
                    }
                    Err(e) => {
                        assert!(byte < 34 && !identity_ok, "bit {bit}: {e:?}");
                        assert_eq!(e, Error::Decode(DecodeError::InvalidPublicKey));
                    }
                }
            }
            _ => {
                // The one-time prekey is not signed (as in X3DH): a tampered one starts
                // a session the responder then cannot accept.
                let bundle = decoded.unwrap();
                assert_eq!(bundle.verify(), Ok(()));
                let mut alice = Session::initiate(&alice_id, &bundle, &mut rng).unwrap();
                let m = alice.encrypt(b"x").unwrap();
                let got = bob.accept(&m, &mut rng).map(|(_, pt)| pt);
                if byte < 138 {
                    assert_eq!(got, Err(Error::UnknownPreKey { id: u32_at(&forged, 134) }), "bit {bit}");
                } else if bit == bytes.len() * 8 - 1 {
                    // X25519 ignores bit 255 of a public key (RFC 7748 §5): same key.
                    assert_eq!(got, Ok(b"x".to_vec()), "bit {bit}");
                    benign.push(bit);
                } else {
                    assert_eq!(got, Err(Error::Auth), "bit {bit}");
                }
            }
        }
    }
    assert_eq!(benign, vec![170 * 8 - 1]);
}

#[test]
fn replay_within_a_chain_is_a_duplicate_and_changes_nothing() {
    let mut p = Pair::established(110);
    let m0 = p.send_a(b"m0");
    let m1 = p.send_a(b"m1");
    assert_eq!(p.recv_b(&m0).unwrap(), b"m0");
    assert_eq!(reject_unchanged(&mut p.bob, &m0, &mut p.rng), Error::Duplicate);
    assert_eq!(p.recv_b(&m1).unwrap(), b"m1");
    assert_eq!(reject_unchanged(&mut p.bob, &m1, &mut p.rng), Error::Duplicate);
    assert_eq!(reject_unchanged(&mut p.bob, &m0, &mut p.rng), Error::Duplicate);
}

#[test]
fn replay_of_a_message_decrypted_with_a_skipped_key_is_a_duplicate() {
    let mut p = Pair::established(111);
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

#[test]
fn replay_from_an_older_chain_after_a_ratchet_step_is_a_duplicate() {
    let mut p = Pair::established(112);
    let old = p.send_a(b"old chain");
    assert_eq!(p.recv_b(&old).unwrap(), b"old chain");
    let old_reply = p.send_b(b"old reply");
    p.round_trip(0);
    assert_eq!(p.recv_a(&old_reply).unwrap(), b"old reply");
    p.round_trip(2);
    assert_eq!(reject_unchanged(&mut p.bob, &old, &mut p.rng), Error::Duplicate);
    assert_eq!(reject_unchanged(&mut p.alice, &old_reply, &mut p.rng), Error::Duplicate);
}

#[test]
fn replay_of_the_first_prekey_message_to_the_responders_session_is_a_duplicate() {
    let mut p = Pair::handshake(113);
    let first = p.first.clone();
    assert_eq!(reject_unchanged(&mut p.bob, &first, &mut p.rng), Error::Duplicate);
    p.round_trip(0);
    p.round_trip(2);
    assert_eq!(reject_unchanged(&mut p.bob, &first, &mut p.rng), Error::Duplicate);
}

#[test]
fn replay_of_the_first_reply_to_the_initiator_is_a_duplicate() {
    let mut p = Pair::handshake(114);
    let reply = p.send_b(b"reply");
    assert_eq!(p.recv_a(&reply).unwrap(), b"reply");
    assert_eq!(reject_unchanged(&mut p.alice, &reply, &mut p.rng), Error::Duplicate);
    let before = snapshot(&p.alice);
    p.round_trip(0);
    assert_ne!(before, snapshot(&p.alice));
    assert_eq!(reject_unchanged(&mut p.alice, &reply, &mut p.rng), Error::Duplicate);
}
