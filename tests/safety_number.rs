//! Safety numbers (SPEC.md §15): agreement, sensitivity to every input, the
//! scannable payload's comparison and its typed errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatcrypt::{
    DecodeError, Error, IdentityKey, IdentityKeyPair, SafetyNumber, MAX_STABLE_ID_LEN, SAFETY_NUMBER_DIGITS,
    SAFETY_NUMBER_VERSION, SCANNABLE_LEN,
};
use proptest::prelude::*;

fn key(seed: u8) -> IdentityKey {
    IdentityKeyPair::from_seed(&[seed; 32]).public_key().clone()
}

fn number(local_id: &[u8], local: &IdentityKey, remote_id: &[u8], remote: &IdentityKey) -> SafetyNumber {
    SafetyNumber::new(local_id, local, remote_id, remote).unwrap()
}

#[test]
fn both_sides_compute_the_same_digits() {
    let (a, b) = (key(1), key(2));
    let on_a = number(b"alice", &a, b"bob", &b);
    let on_b = number(b"bob", &b, b"alice", &a);
    assert_eq!(on_a.displayable(), on_b.displayable());
    assert_eq!(on_a.displayable().len(), SAFETY_NUMBER_DIGITS);
    assert!(on_a.displayable().bytes().all(|c| c.is_ascii_digit()));
}

#[test]
fn swapping_roles_gives_the_same_displayable() {
    let (a, b) = (key(3), key(4));
    for (x, y) in [(&b"x"[..], &b"y"[..]), (b"", b"id"), (b"same", b"same")] {
        assert_eq!(number(x, &a, y, &b).displayable(), number(y, &b, x, &a).displayable());
    }
}

#[test]
fn display_groups_the_digits_in_twelve_groups_of_five() {
    let n = number(b"alice", &key(1), b"bob", &key(2));
    let shown = n.to_string();
    let groups: Vec<&str> = shown.split(' ').collect();
    assert_eq!(groups.len(), 12);
    assert!(groups.iter().all(|g| g.len() == 5));
    assert_eq!(groups.concat(), n.displayable());
    assert_eq!(format!("{n:?}"), format!("SafetyNumber({:?})", n.displayable()));
}

#[test]
fn changing_either_key_or_either_id_changes_the_number() {
    let (a, b, c) = (key(1), key(2), key(3));
    let base = number(b"alice", &a, b"bob", &b);
    let variants = [
        number(b"alice", &c, b"bob", &b),
        number(b"alice", &a, b"bob", &c),
        number(b"alicf", &a, b"bob", &b),
        number(b"alice", &a, b"bob2", &b),
        number(b"", &a, b"bob", &b),
        number(b"alice", &a, b"", &b),
    ];
    for (i, v) in variants.iter().enumerate() {
        assert_ne!(v.displayable(), base.displayable(), "variant {i}: displayable");
        assert_ne!(v.scannable(), base.scannable(), "variant {i}: scannable");
        let other_side = match i {
            0 => number(b"bob", &b, b"alice", &c),
            1 => number(b"bob", &c, b"alice", &a),
            2 => number(b"bob", &b, b"alicf", &a),
            3 => number(b"bob2", &b, b"alice", &a),
            4 => number(b"bob", &b, b"", &a),
            _ => number(b"", &b, b"alice", &a),
        };
        assert_eq!(base.compare_scanned(&other_side.scannable()), Ok(false), "variant {i}: scanned");
        assert_eq!(v.compare_scanned(&other_side.scannable()), Ok(true), "variant {i}: its own peer");
    }
}

#[test]
fn scanned_payload_of_the_peer_compares_true_and_of_a_third_party_false() {
    let (a, b, eve) = (key(1), key(2), key(9));
    let on_a = number(b"alice", &a, b"bob", &b);
    let on_b = number(b"bob", &b, b"alice", &a);
    assert!(on_a.compare_scanned(&on_b.scannable()).unwrap());
    assert!(on_b.compare_scanned(&on_a.scannable()).unwrap());
    // A payload shown by a device in the middle, and our own payload.
    let on_eve = number(b"bob", &eve, b"alice", &a);
    assert!(!on_a.compare_scanned(&on_eve.scannable()).unwrap());
    assert!(!on_a.compare_scanned(&on_a.scannable()).unwrap());
    let scannable = on_a.scannable();
    assert_eq!(scannable.len(), SCANNABLE_LEN);
    assert_eq!(scannable[0], SAFETY_NUMBER_VERSION);
}

#[test]
fn every_bit_flip_of_a_scanned_payload_is_rejected() {
    let on_a = number(b"alice", &key(1), b"bob", &key(2));
    let good = number(b"bob", &key(2), b"alice", &key(1)).scannable();
    let mut flips = 0;
    for i in 0..good.len() * 8 {
        let mut bad = good;
        bad[i / 8] ^= 1 << (i % 8);
        match on_a.compare_scanned(&bad) {
            Ok(false) => {}
            Err(Error::Decode(DecodeError::UnsupportedVersion(v))) => assert_eq!((i / 8, v), (0, bad[0])),
            other => panic!("bit {i}: {other:?}"),
        }
        flips += 1;
    }
    assert_eq!(flips, SCANNABLE_LEN * 8);
}

#[test]
fn wrong_lengths_and_versions_give_typed_errors() {
    let on_a = number(b"alice", &key(1), b"bob", &key(2));
    let good = number(b"bob", &key(2), b"alice", &key(1)).scannable();
    assert_eq!(on_a.compare_scanned(&[]), Err(Error::Decode(DecodeError::Truncated)));
    for len in 1..SCANNABLE_LEN {
        assert_eq!(on_a.compare_scanned(&good[..len]), Err(Error::Decode(DecodeError::Truncated)), "{len}");
    }
    let mut long = good.to_vec();
    long.push(0);
    assert_eq!(on_a.compare_scanned(&long), Err(Error::Decode(DecodeError::TrailingBytes)));
    for version in [1u8, 2, 0x0a, 0xff] {
        let mut bad = good;
        bad[0] = version;
        assert_eq!(on_a.compare_scanned(&bad), Err(Error::Decode(DecodeError::UnsupportedVersion(version))));
        // The version is checked before the length.
        assert_eq!(
            on_a.compare_scanned(&bad[..1]),
            Err(Error::Decode(DecodeError::UnsupportedVersion(version)))
        );
    }
}

#[test]
fn stable_ids_longer_than_the_limit_are_too_large() {
    let (a, b) = (key(1), key(2));
    let longest = [0xabu8; MAX_STABLE_ID_LEN];
    let too_long = [0xabu8; MAX_STABLE_ID_LEN + 1];
    assert!(SafetyNumber::new(&longest, &a, &longest, &b).is_ok());
    let err = Error::TooLarge { len: MAX_STABLE_ID_LEN + 1, max: MAX_STABLE_ID_LEN };
    assert_eq!(SafetyNumber::new(&too_long, &a, b"bob", &b).unwrap_err(), err);
    assert_eq!(SafetyNumber::new(b"alice", &a, &too_long, &b).unwrap_err(), err);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random payloads never panic, and give `Ok(false)` or a decode error.
    #[test]
    fn random_scanned_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..100)) {
        let on_a = number(b"alice", &key(1), b"bob", &key(2));
        match on_a.compare_scanned(&input) {
            Ok(equal) => prop_assert!(!equal && input.len() == SCANNABLE_LEN),
            Err(Error::Decode(_)) => prop_assert!(input.len() != SCANNABLE_LEN || input[0] != SAFETY_NUMBER_VERSION),
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Any ids up to and past the limit: no panic, agreement when accepted.
    #[test]
    fn random_ids_agree_or_are_too_large(
        x in proptest::collection::vec(any::<u8>(), 0..300),
        y in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let (a, b) = (key(5), key(6));
        match (SafetyNumber::new(&x, &a, &y, &b), SafetyNumber::new(&y, &b, &x, &a)) {
            (Ok(n), Ok(m)) => {
                prop_assert_eq!(n.displayable(), m.displayable());
                prop_assert!(n.compare_scanned(&m.scannable()).unwrap());
            }
            (Err(Error::TooLarge { max, .. }), Err(Error::TooLarge { .. })) => {
                prop_assert_eq!(max, MAX_STABLE_ID_LEN);
                prop_assert!(x.len() > MAX_STABLE_ID_LEN || y.len() > MAX_STABLE_ID_LEN);
            }
            (n, m) => prop_assert!(false, "{n:?} / {m:?}"),
        }
    }
}
