//! The body of the fuzz target `messenger_decode`: every decoder of the
//! messenger layer (SPEC.md §17-§21) on arbitrary bytes.
//!
//! The wire formats ([`DeviceCertificate`], [`DeviceList`], [`PreKeyUpload`],
//! [`RetryMessage`]) and the stored formats ([`AccountKeyPair`],
//! [`PeerAccount`], [`LocalDevice`], [`SessionRecord`], each with
//! `from_bytes` and `open` under [`SEAL_KEY`]) must return `Ok` or a typed
//! error, never panic; whatever decodes must re-encode to exactly the input
//! (every one of these encodings is canonical), and an opened state must
//! re-encode to bytes that decode to the same encoding again.
//!
//! The entry point is [`messenger_decode`]. This file is a module of the
//! fuzz crate (`fuzz/src/lib.rs`, whose `messenger_decode` wraps it for the
//! target and for `tests/fuzz_corpus.rs`) and is also compiled by
//! `tests/messenger_decoders.rs`, which replays
//! `fuzz/corpora/messenger_decode.hex` and checks that its seeds reach
//! every decoder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatcrypt::{
    AccountKeyPair, DeviceCertificate, DeviceList, Error, LocalDevice, PeerAccount, PreKeyUpload,
    RetryMessage, SessionRecord, DEVICE_CERTIFICATE_LEN, RETRY_MESSAGE_LEN,
};

/// The sealing key the target opens sealed states with (the one the
/// `decode` target uses).
pub const SEAL_KEY: [u8; 32] = [0x5e; 32];

/// The decoders, in the order of the bits [`messenger_decode`] returns.
pub const DECODERS: [&str; 12] = [
    "DeviceCertificate::from_bytes",
    "DeviceList::from_bytes",
    "PreKeyUpload::from_bytes",
    "RetryMessage::from_bytes",
    "AccountKeyPair::from_bytes",
    "PeerAccount::from_bytes",
    "LocalDevice::from_bytes",
    "SessionRecord::from_bytes",
    "AccountKeyPair::open",
    "PeerAccount::open",
    "LocalDevice::open",
    "SessionRecord::open",
];

/// A decoder's failure must be one of the errors it documents.
fn typed<T>(r: Result<T, Error>, allowed: fn(&Error) -> bool, what: &str) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(allowed(&e), "{what}: undocumented error {e:?}");
            None
        }
    }
}

fn wire(e: &Error) -> bool {
    matches!(e, Error::Decode(_) | Error::BadSignature)
}

fn stored(e: &Error) -> bool {
    matches!(e, Error::Decode(_))
}

fn sealed(e: &Error) -> bool {
    matches!(e, Error::Decode(_) | Error::Auth)
}

/// Runs `data` through every decoder and checks the properties above.
/// Returns a bit mask of the decoders that accepted it (bit `i` for
/// `DECODERS[i]`).
pub fn messenger_decode(data: &[u8]) -> u16 {
    let mut accepted = 0u16;
    let mut hit = |i: usize| accepted |= 1 << i;

    if let Some(c) = typed(DeviceCertificate::from_bytes(data), wire, DECODERS[0]) {
        assert_eq!(data.len(), DEVICE_CERTIFICATE_LEN);
        assert_eq!(c.to_bytes(), data, "certificate encoding is not canonical");
        c.verify(c.account_key()).unwrap();
        hit(0);
    }
    if let Some(l) = typed(DeviceList::from_bytes(data), wire, DECODERS[1]) {
        assert_eq!(l.encoded_len(), data.len());
        assert_eq!(l.to_bytes(), data, "device list encoding is not canonical");
        assert!(l.epoch() >= 1 && !l.is_empty() && l.len() <= chatcrypt::MAX_DEVICES);
        let ids: Vec<u32> = l.devices().map(|(d, _)| d.get()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "device list not sorted by id");
        hit(1);
    }
    if let Some(u) = typed(PreKeyUpload::from_bytes(data), wire, DECODERS[2]) {
        assert_eq!(u.encoded_len(), data.len());
        assert_eq!(u.to_bytes(), data, "upload encoding is not canonical");
        // A server builds bundles from it: they verify.
        u.bundle(None, None).unwrap().verify().unwrap();
        hit(2);
    }
    if let Some(r) = typed(RetryMessage::from_bytes(data), wire, DECODERS[3]) {
        assert_eq!(data.len(), RETRY_MESSAGE_LEN);
        assert_eq!(r.to_bytes(), data, "retry encoding is not canonical");
        hit(3);
    }
    if let Some(k) = typed(AccountKeyPair::from_bytes(data), stored, DECODERS[4]) {
        assert_eq!(&k.to_bytes()[..], data, "account key encoding is not canonical");
        hit(4);
    }
    if let Some(p) = typed(PeerAccount::from_bytes(data), stored, DECODERS[5]) {
        assert_eq!(&p.to_bytes()[..], data, "peer account encoding is not canonical");
        hit(5);
    }
    if let Some(d) = typed(LocalDevice::from_bytes(data), stored, DECODERS[6]) {
        assert_eq!(&d.to_bytes()[..], data, "local device encoding is not canonical");
        hit(6);
    }
    if let Some(r) = typed(SessionRecord::from_bytes(data), stored, DECODERS[7]) {
        assert_eq!(&r.to_bytes()[..], data, "session record encoding is not canonical");
        hit(7);
    }

    // Sealed states: whatever opens re-encodes to a stable encoding.
    if let Some(k) = typed(AccountKeyPair::open(&SEAL_KEY, data), sealed, DECODERS[8]) {
        let e = k.to_bytes();
        assert_eq!(AccountKeyPair::from_bytes(&e).unwrap().to_bytes(), e);
        hit(8);
    }
    if let Some(p) = typed(PeerAccount::open(&SEAL_KEY, data), sealed, DECODERS[9]) {
        let e = p.to_bytes();
        assert_eq!(PeerAccount::from_bytes(&e).unwrap().to_bytes(), e);
        hit(9);
    }
    if let Some(d) = typed(LocalDevice::open(&SEAL_KEY, data), sealed, DECODERS[10]) {
        let e = d.to_bytes();
        assert_eq!(LocalDevice::from_bytes(&e).unwrap().to_bytes(), e);
        hit(10);
    }
    if let Some(r) = typed(SessionRecord::open(&SEAL_KEY, data), sealed, DECODERS[11]) {
        let e = r.to_bytes();
        assert_eq!(SessionRecord::from_bytes(&e).unwrap().to_bytes(), e);
        hit(11);
    }
    accepted
}
