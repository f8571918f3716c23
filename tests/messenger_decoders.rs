//! Robustness of every decoder of the messenger layer (SPEC.md §17-§21) and
//! "no state change on failure" for the calls that take untrusted input.
//!
//! For each wire format (device certificate, device list, prekey upload,
//! retry message) and each stored format (account key pair, peer account,
//! local device, session record, plain and sealed), starting from a valid
//! encoding built with seeded RNGs:
//!
//! * every single-bit flip is an error of the documented class, or, for
//!   stored formats, where secrets, counters and timestamps carry no
//!   signature or MAC, a value that re-encodes to exactly the flipped
//!   bytes. Signed wire formats reject every flip;
//! * every truncation fails with the error the layout predicts, and one
//!   trailing byte with `TrailingBytes`;
//! * random inputs, and inputs that start like the format, fail (or decode
//!   canonically) without panicking.
//!
//! The local device and the prekey upload hold ML-KEM keys, whose generation
//! and parsing are slow in the dev profile (about 3.5 ms a key), so the
//! default tests use a device and an upload without one-time KEM prekeys and
//! flip every bit of their head and tail and a sample of the rest
//! ([`QUICK_DEVICE`], [`QUICK_UPLOAD`]). The `full_*` tests, ignored by
//! default, take a device with 197 one-time and 38 KEM one-time prekeys
//! and an upload with 100 and 20 (37 KB) and flip every bit of the first
//! and last 600 bytes and 3000 sampled others ([`FULL`]):
//! `cargo test --release --test messenger_decoders -- --ignored`.
//!
//! It also replays `fuzz/corpora/messenger_decode.hex` through the fuzz
//! target's body (`fuzz/src/messenger_decode.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/src/messenger_decode.rs"]
mod messenger_decode;

use std::{
    collections::BTreeSet,
    panic::{catch_unwind, AssertUnwindSafe},
};

use chatcrypt::{
    AccountKeyPair, DecodeError, DeviceCertificate, DeviceId, DeviceList, DeviceListUpdate, Error,
    IdentityKeyPair, LocalDevice, Mode, PeerAccount, PqPolicy, PreKeyUpload, RetryMessage, RetryOutcome,
    SessionPolicy, SessionRecord, DEVICE_CERTIFICATE_LEN, KEM_SEED_LEN, PREKEY_LOW_WATER, RETRY_MESSAGE_LEN,
    TAG_ACCOUNT, TAG_DEVICE_CERTIFICATE, TAG_DEVICE_LIST, TAG_LOCAL_DEVICE, TAG_PEER_ACCOUNT,
    TAG_PREKEY_UPLOAD, TAG_RETRY, TAG_SEALED, TAG_SESSION_RECORD,
};
use messenger_decode::SEAL_KEY;
use rand_chacha::{
    rand_core::{Rng, SeedableRng},
    ChaCha20Rng,
};

const NOW: u64 = 1_800_000_000;

// ---------------------------------------------------------------------------
// Setup (the helpers of tests/messenger.rs).

/// One user: an account key and devices.
struct User {
    id: Vec<u8>,
    account: AccountKeyPair,
    devices: Vec<LocalDevice>,
    epoch: u64,
}

impl User {
    fn new(name: &str, n: u32, rng: &mut ChaCha20Rng) -> User {
        let account = AccountKeyPair::generate(rng);
        let devices = (1..=n).map(|d| new_device(&account, d, rng)).collect();
        User { id: name.as_bytes().to_vec(), account, devices, epoch: 1 }
    }

    fn list(&self) -> DeviceList {
        let entries: Vec<_> = self.devices.iter().map(LocalDevice::link).collect();
        self.account.sign_device_list(self.epoch, &entries).unwrap()
    }

    /// The upload of device `i`, through the persist-then-upload gate.
    fn upload(&mut self, i: usize) -> PreKeyUpload {
        let d = &mut self.devices[i];
        let up = d.upload(&d.to_bytes()).unwrap();
        d.mark_uploaded(&up);
        up
    }
}

fn new_device(account: &AccountKeyPair, id: u32, rng: &mut ChaCha20Rng) -> LocalDevice {
    let identity = IdentityKeyPair::generate(rng);
    let cert = account.certify(DeviceId::new(id), identity.public_key());
    let mut d = LocalDevice::new(identity, cert, NOW, rng).unwrap();
    d.replenish(0, 0, rng).unwrap();
    d
}

fn policy() -> SessionPolicy {
    SessionPolicy::default()
}

/// One valid value of every format, built from fixed seeds.
struct Samples {
    account: AccountKeyPair,
    certificate: DeviceCertificate,
    list: DeviceList,
    upload: PreKeyUpload,
    /// A retry for an unknown prekey (with base key and prekey id), one for
    /// a failed handshake (base key) and one for a lost session (neither).
    retries: [RetryMessage; 3],
    /// A peer account with a pending account-key change, and one without.
    peers: [PeerAccount; 2],
    /// A device with retired, one-time and KEM one-time prekeys.
    device: LocalDevice,
    /// A device with one-time X25519 prekeys only, and its later upload.
    small_device: LocalDevice,
    small_upload: PreKeyUpload,
    /// A record with a current session (ours, hybrid, header-encrypted,
    /// awaiting a reply) and two archived ones (one marked lost by the peer,
    /// one answered).
    record: SessionRecord,
}

fn samples() -> Samples {
    let mut rng = ChaCha20Rng::from_seed([0x31; 32]);
    let mut alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 3, &mut rng);
    bob.epoch = 5;
    let certificate = bob.devices[0].certificate().clone();
    let list = bob.list();
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();

    // Alice's record with Bob's device 1: S1 answered, S2 lost by Bob, S3 current.
    let mut record = SessionRecord::new(DeviceId::new(1));
    let up = bob.upload(0);
    record
        .initiate(&alice.devices[0], &a_peer, &up.bundle(Some(0), Some(0)).unwrap(), &policy(), NOW, &mut rng)
        .unwrap();
    let first = record.encrypt(&a_peer, b"s1", NOW, &mut rng).unwrap();
    let mut bob_record = SessionRecord::new(DeviceId::new(1));
    bob_record.decrypt(&mut bob.devices[0], &b_peer, &first, &policy(), NOW, &mut rng).unwrap();
    let reply = bob_record.encrypt(&b_peer, b"r1", NOW, &mut rng).unwrap();
    record.decrypt(&mut alice.devices[0], &a_peer, &reply, &policy(), NOW, &mut rng).unwrap();
    record
        .initiate(
            &alice.devices[0],
            &a_peer,
            &up.bundle(Some(1), Some(1)).unwrap(),
            &policy(),
            NOW + 5,
            &mut rng,
        )
        .unwrap();
    let s2 = record.encrypt(&a_peer, b"s2", NOW + 5, &mut rng).unwrap();
    let alice_key = alice.devices[0].identity().public_key().clone();
    let unknown = RetryMessage::for_failure(
        bob.devices[0].identity(),
        &alice_key,
        &s2,
        Error::UnknownPreKey { id: 77 },
        NOW + 6,
    )
    .unwrap();
    let failed =
        RetryMessage::for_failure(bob.devices[0].identity(), &alice_key, &s2, Error::Auth, NOW + 6).unwrap();
    assert_eq!(failed.reason(), chatcrypt::RetryReason::HandshakeFailed);
    assert_eq!(record.handle_retry(&alice.devices[0], &a_peer, &unknown), Ok(RetryOutcome::StartNewSession));
    let he = SessionPolicy::new(Mode::HeaderEncryption, PqPolicy::Required, Default::default());
    record
        .initiate(&alice.devices[0], &a_peer, &up.bundle(Some(2), Some(2)).unwrap(), &he, NOW + 7, &mut rng)
        .unwrap();
    assert_eq!(record.archived_count(), 2);
    let current = record.current_session().unwrap();
    assert!(current.awaiting_reply() && current.is_post_quantum());
    let lost = bob_record.encrypt(&b_peer, b"r2", NOW, &mut rng).unwrap();
    let no_session =
        RetryMessage::for_failure(bob.devices[0].identity(), &alice_key, &lost, Error::NoSession, NOW + 8)
            .unwrap();

    // Another device of Bob's after a rotation and a second replenishment.
    let mut device = new_device(&bob.account, 9, &mut rng);
    let persisted = device.to_bytes();
    let first_upload = device.upload(&persisted).unwrap();
    device.mark_uploaded(&first_upload);
    device.rotate_signed_prekey(NOW + 100, &mut rng).unwrap();
    device.replenish(3, 2, &mut rng).unwrap();
    let upload = bob.upload(1);
    let identity = IdentityKeyPair::generate(&mut rng);
    let cert = bob.account.certify(DeviceId::new(10), identity.public_key());
    let mut small_device = LocalDevice::new(identity, cert, NOW, &mut rng).unwrap();
    small_device.replenish(0, PREKEY_LOW_WATER, &mut rng).unwrap();
    // It answers a handshake on its last-resort prekeys, which it then
    // remembers (to refuse a replay).
    let persisted = small_device.to_bytes();
    let small_up = small_device.upload(&persisted).unwrap();
    small_device.mark_uploaded(&small_up);
    let entry = small_device.link();
    let peer10 =
        PeerAccount::trust_on_first_use(&bob.id, bob.account.sign_device_list(6, &[entry]).unwrap()).unwrap();
    let mut to10 = SessionRecord::new(small_device.device_id());
    to10.initiate(
        &alice.devices[0],
        &peer10,
        &small_up.bundle(None, None).unwrap(),
        &policy(),
        NOW,
        &mut rng,
    )
    .unwrap();
    let hello = to10.encrypt(&peer10, b"hello", NOW, &mut rng).unwrap();
    SessionRecord::new(DeviceId::new(1))
        .decrypt(&mut small_device, &b_peer, &hello, &policy(), NOW, &mut rng)
        .unwrap();
    let mut uploader = new_device(&bob.account, 11, &mut rng);
    let persisted = uploader.to_bytes();
    let first = uploader.upload(&persisted).unwrap();
    uploader.mark_uploaded(&first);
    uploader.replenish(PREKEY_LOW_WATER - 1, PREKEY_LOW_WATER, &mut rng).unwrap();
    let small_upload = uploader.upload(&uploader.to_bytes()).unwrap();

    let mallory = User::new("bob", 2, &mut rng);
    let mut pending = PeerAccount::verified(&bob.id, bob.account.public_key(), bob.list()).unwrap();
    assert_eq!(pending.update_device_list(mallory.list()), Ok(DeviceListUpdate::AccountKeyChanged));

    Samples {
        account: AccountKeyPair::generate(&mut rng),
        certificate,
        list,
        upload,
        retries: [unknown, failed, no_session],
        peers: [pending, a_peer],
        device,
        small_device,
        small_upload,
        record,
    }
}

// ---------------------------------------------------------------------------
// The checks.

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

/// Which bits to flip and which prefixes to try in a large encoding:
/// every bit of the first `head` and last `tail` bytes and `random`
/// distinct others (seeded); every prefix length up to `head` and from the
/// last `tail`, and every `step`-th in between.
#[derive(Clone, Copy)]
struct Sampling {
    head: usize,
    tail: usize,
    random: usize,
    step: usize,
}

/// Everything: for the encodings that are cheap to decode.
const ALL: Sampling = Sampling { head: usize::MAX / 4, tail: 0, random: 0, step: 1 };
/// The sample for the encodings of tens of KB (a device with its batches
/// of one-time prekeys, and its upload).
const FULL: Sampling = Sampling { head: 600, tail: 600, random: 3000, step: 7 };
/// The samples for the smaller device and upload of a default `cargo test`.
/// Every decode of these generates or parses ML-KEM keys, which is slow in
/// the dev profile (ml-kem's generic code is compiled at chatcrypt's
/// opt-level 0): about 3.5 ms per KEM key. The device's head covers the
/// identity, certificate and counters (its other structural fields are
/// added in `check_device`), its tail the last counts and entry; the
/// upload's head covers the certificate and signed prekey, its tail the
/// last entries, the count and the signature.
const QUICK_DEVICE: Sampling = Sampling { head: 200, tail: 40, random: 600, step: 13 };
const QUICK_UPLOAD: Sampling = Sampling { head: 300, tail: 200, random: 1000, step: 13 };

fn flip_positions(len: usize, seed: u64, s: Sampling) -> Vec<usize> {
    if len <= s.head + s.tail + s.random / 8 {
        return (0..len * 8).collect();
    }
    let mut bits: Vec<usize> = (0..s.head * 8).chain((len - s.tail) * 8..len * 8).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let middle = (len - s.head - s.tail) * 8;
    let mut sample = BTreeSet::new();
    while sample.len() < s.random {
        sample.insert(s.head * 8 + (rng.next_u64() as usize) % middle);
    }
    bits.extend(sample);
    bits
}

fn prefix_lengths(len: usize, s: Sampling) -> Vec<usize> {
    if len <= s.head + s.tail {
        return (0..len).collect();
    }
    (0..s.head).chain((s.head..len - s.tail).step_by(s.step)).chain(len - s.tail..len).collect()
}

/// One decoder under test: how it decodes and re-encodes.
struct Format<'a, T> {
    name: &'a str,
    decode: &'a dyn Fn(&[u8]) -> Result<T, Error>,
    encode: &'a dyn Fn(&T) -> Vec<u8>,
}

impl<T> Format<'_, T> {
    fn run(&self, input: &[u8], what: &str) -> Result<T, Error> {
        catch_unwind(AssertUnwindSafe(|| (self.decode)(input)))
            .unwrap_or_else(|_| panic!("{}: decoder panicked on {what}", self.name))
    }
}

#[derive(Debug, Default)]
struct Tally {
    errors: usize,
    canonical: usize,
}

/// Flips each bit of `bits` in `valid`. A flip at byte `i` giving `Err(e)`
/// must satisfy `expected(i, flipped, e)`; an `Ok` is allowed only where
/// `ok_at(i)`, and must re-encode to exactly the flipped bytes.
fn check_flips<T>(
    f: &Format<'_, T>,
    valid: &[u8],
    bits: &[usize],
    expected: &dyn Fn(usize, &[u8], &Error) -> bool,
    ok_at: &dyn Fn(usize) -> bool,
) -> Tally {
    let mut t = Tally::default();
    for &bit in bits {
        let m = flip(valid, bit);
        let byte = bit / 8;
        match f.run(&m, &format!("bit {bit}")) {
            Err(e) => {
                assert!(expected(byte, &m, &e), "{}: bit {bit} (byte {byte}) gave {e:?}", f.name);
                t.errors += 1;
            }
            Ok(v) => {
                assert!(ok_at(byte), "{}: bit {bit} (byte {byte}) was accepted", f.name);
                assert!((f.encode)(&v) == m, "{}: bit {bit} accepted but re-encodes differently", f.name);
                t.canonical += 1;
            }
        }
    }
    assert_eq!(t.errors + t.canonical, bits.len());
    println!("{}: {} flips, {} errors, {} canonical values", f.name, bits.len(), t.errors, t.canonical);
    t
}

/// Every prefix in `lens` fails with `expected(len)`; the whole input plus
/// one byte fails with `trailing`.
fn check_truncations<T>(
    f: &Format<'_, T>,
    valid: &[u8],
    expected: &dyn Fn(usize) -> Error,
    trailing: Error,
    s: Sampling,
) {
    let lens = prefix_lengths(valid.len(), s);
    for &len in &lens {
        match f.run(&valid[..len], &format!("prefix {len}")) {
            Ok(_) => panic!("{}: prefix of {len} bytes accepted", f.name),
            Err(e) => assert_eq!(e, expected(len), "{}: prefix of {len} bytes", f.name),
        }
    }
    let mut longer = valid.to_vec();
    longer.push(0);
    assert_eq!(f.run(&longer, "one trailing byte").err(), Some(trailing), "{}: trailing byte", f.name);
    println!("{}: {} truncations", f.name, lens.len());
}

/// Random inputs: 2000 of random lengths, then inputs that start with the
/// format's `header` (200 with random bodies around the valid length, 200
/// that keep a random-length prefix of `valid` and randomise the rest).
/// Each fails with an error `allowed` accepts or, if `ok_allowed`, decodes
/// to a value that re-encodes to the input.
fn check_random<T>(
    f: &Format<'_, T>,
    valid: &[u8],
    header: &[u8],
    allowed: fn(&Error) -> bool,
    ok_allowed: bool,
    seed: u64,
) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut inputs = Vec::new();
    for i in 0..2000 {
        let len = if i % 10 == 0 { rng.next_u32() % 8192 } else { rng.next_u32() % 400 } as usize;
        let mut v = vec![0u8; len];
        rng.fill_bytes(&mut v);
        inputs.push(v);
    }
    for i in 0..200 {
        let len = if i % 2 == 0 { valid.len() } else { (rng.next_u32() as usize) % (valid.len() + 64) };
        let mut v = vec![0u8; len.max(header.len())];
        rng.fill_bytes(&mut v);
        v[..header.len()].copy_from_slice(header);
        inputs.push(v);
    }
    for _ in 0..200 {
        let keep = header.len() + (rng.next_u32() as usize) % (valid.len() - header.len());
        let mut v = valid.to_vec();
        rng.fill_bytes(&mut v[keep..]);
        inputs.push(v);
    }
    let mut ok = 0;
    for (i, input) in inputs.iter().enumerate() {
        match f.run(input, &format!("random input {i}")) {
            Err(e) => assert!(allowed(&e), "{}: random input {i} gave {e:?}", f.name),
            Ok(v) => {
                assert!(ok_allowed, "{}: random input {i} accepted", f.name);
                assert!((f.encode)(&v) == *input, "{}: random input {i} not canonical", f.name);
                ok += 1;
            }
        }
    }
    println!("{}: {} random inputs, {ok} decoded canonically", f.name, inputs.len());
}

fn wire_error(e: &Error) -> bool {
    matches!(e, Error::Decode(_) | Error::BadSignature)
}

fn stored_error(e: &Error) -> bool {
    matches!(e, Error::Decode(_))
}

fn sealed_error(e: &Error) -> bool {
    matches!(e, Error::Decode(_) | Error::Auth)
}

/// The tag and version bytes give their own errors, whatever the format.
fn header_error(byte: usize, m: &[u8], e: &Error) -> Option<bool> {
    match byte {
        0 => Some(*e == Error::Decode(DecodeError::UnexpectedType(m[0]))),
        1 => Some(*e == Error::Decode(DecodeError::UnsupportedVersion(m[1]))),
        _ => None,
    }
}

/// A signed wire format: every flip fails; in the last 64 bytes (the
/// signature) with `BadSignature`.
fn check_wire<T>(f: &Format<'_, T>, valid: &[u8], tag: u8, seed: u64, s: Sampling) {
    let len = valid.len();
    let expected = |byte: usize, m: &[u8], e: &Error| {
        header_error(byte, m, e).unwrap_or(if byte >= len - 64 {
            *e == Error::BadSignature
        } else {
            wire_error(e)
        })
    };
    let t = check_flips(f, valid, &flip_positions(len, seed, s), &expected, &|_| false);
    assert_eq!(t.canonical, 0);
    check_truncations(
        f,
        valid,
        &|_| Error::Decode(DecodeError::Truncated),
        DecodeError::TrailingBytes.into(),
        s,
    );
    check_random(f, valid, &[tag, 1], wire_error, false, seed);
}

/// A stored format, plain: flips fail with a decode error or, where
/// `ok_at`, decode canonically; truncations fail with `truncated(len)`.
fn check_stored<T>(
    f: &Format<'_, T>,
    valid: &[u8],
    tag: u8,
    ok_at: &dyn Fn(usize) -> bool,
    truncated: &dyn Fn(usize) -> Error,
    seed: u64,
    s: Sampling,
) -> Tally {
    let expected = |byte: usize, m: &[u8], e: &Error| header_error(byte, m, e).unwrap_or(stored_error(e));
    let t = check_flips(f, valid, &flip_positions(valid.len(), seed, s), &expected, ok_at);
    check_truncations(f, valid, truncated, DecodeError::TrailingBytes.into(), s);
    check_random(f, valid, &[tag, 1], stored_error, true, seed);
    t
}

/// A sealed encoding (`'Z' || 0x01 || inner tag || nonce || ciphertext ||
/// tag`): a flip in the three header bytes is a decode error naming the
/// byte, any other flip fails authentication; a prefix shorter than the
/// header, nonce and AEAD tag is `Truncated`, a longer one (or a trailing
/// byte) fails authentication.
fn check_sealed<T>(f: &Format<'_, T>, sealed: &[u8], inner_tag: u8, seed: u64, s: Sampling) {
    let expected = |byte: usize, m: &[u8], e: &Error| match byte {
        2 => *e == Error::Decode(DecodeError::UnexpectedType(m[2])),
        _ => header_error(byte, m, e).unwrap_or(*e == Error::Auth),
    };
    let t = check_flips(f, sealed, &flip_positions(sealed.len(), seed, s), &expected, &|_| false);
    assert_eq!(t.canonical, 0);
    check_truncations(
        f,
        sealed,
        &|len| if len < 3 + 12 + 16 { Error::Decode(DecodeError::Truncated) } else { Error::Auth },
        Error::Auth,
        s,
    );
    check_random(f, sealed, &[TAG_SEALED, 1, inner_tag], sealed_error, false, seed);
}

// ---------------------------------------------------------------------------
// Wire formats.

#[test]
fn device_certificate_rejects_every_corruption() {
    let s = samples();
    let valid = s.certificate.to_bytes();
    assert_eq!(valid.len(), DEVICE_CERTIFICATE_LEN);
    let f = Format {
        name: "DeviceCertificate",
        decode: &DeviceCertificate::from_bytes,
        encode: &DeviceCertificate::to_bytes,
    };
    assert_eq!(f.run(&valid, "valid").unwrap().to_bytes(), valid);
    check_wire(&f, &valid, TAG_DEVICE_CERTIFICATE, 1, ALL);
}

#[test]
fn device_list_rejects_every_corruption() {
    let s = samples();
    let valid = s.list.to_bytes();
    assert_eq!(valid.len(), 2 + 32 + 8 + 1 + 3 * chatcrypt::DEVICE_LIST_ENTRY_LEN + 64);
    let f = Format { name: "DeviceList", decode: &DeviceList::from_bytes, encode: &DeviceList::to_bytes };
    assert_eq!(f.run(&valid, "valid").unwrap().to_bytes(), valid);
    check_wire(&f, &valid, TAG_DEVICE_LIST, 2, ALL);
}

fn check_upload(upload: &PreKeyUpload, sampling: Sampling) {
    let valid = upload.to_bytes();
    let f =
        Format { name: "PreKeyUpload", decode: &PreKeyUpload::from_bytes, encode: &PreKeyUpload::to_bytes };
    assert_eq!(f.run(&valid, "valid").unwrap().to_bytes(), valid);
    check_wire(&f, &valid, TAG_PREKEY_UPLOAD, 3, sampling);
}

#[test]
fn prekey_upload_rejects_every_corruption() {
    // A later upload: certificate, signed and last-resort prekeys, and 91
    // one-time X25519 prekeys (no KEM ones, to keep it fast; see below).
    let s = samples();
    assert_eq!((s.small_upload.one_time_prekeys().len(), s.small_upload.kem_prekeys().len()), (91, 0));
    check_upload(&s.small_upload, QUICK_UPLOAD);
}

#[test]
#[ignore = "slow: about 2 minutes with --release (`cargo test --release --test messenger_decoders -- --ignored`)"]
fn full_prekey_upload_rejects_every_corruption() {
    // A first upload: 100 one-time X25519 and 20 KEM prekeys, 37 KB.
    let s = samples();
    assert_eq!((s.upload.one_time_prekeys().len(), s.upload.kem_prekeys().len()), (100, 20));
    check_upload(&s.upload, FULL);
}

#[test]
fn retry_message_rejects_every_corruption() {
    let s = samples();
    for (i, retry) in s.retries.iter().enumerate() {
        let valid = retry.to_bytes();
        assert_eq!(valid.len(), RETRY_MESSAGE_LEN);
        let f = Format {
            name: "RetryMessage",
            decode: &RetryMessage::from_bytes,
            encode: &RetryMessage::to_bytes,
        };
        assert_eq!(f.run(&valid, "valid").unwrap().to_bytes(), valid);
        check_wire(&f, &valid, TAG_RETRY, 4 + i as u64, ALL);
    }
}

// ---------------------------------------------------------------------------
// Stored formats.

fn truncated(_: usize) -> Error {
    Error::Decode(DecodeError::Truncated)
}

#[test]
fn account_key_pair_decodes_only_canonical_encodings() {
    let s = samples();
    let valid = s.account.to_bytes().to_vec();
    assert_eq!(valid.len(), 2 + 32);
    let f = Format {
        name: "AccountKeyPair",
        decode: &AccountKeyPair::from_bytes,
        encode: &|k: &AccountKeyPair| k.to_bytes().to_vec(),
    };
    // Any 32-byte seed is an account key: flips there give another key.
    let t = check_stored(&f, &valid, TAG_ACCOUNT, &|byte| byte >= 2, &truncated, 10, ALL);
    assert_eq!((t.errors, t.canonical), (16, 256));
    let flipped = f.run(&flip(&valid, 16), "seed flip").unwrap();
    assert_ne!(flipped.public_key(), s.account.public_key());

    let sealed = s.account.seal(&SEAL_KEY, &mut ChaCha20Rng::seed_from_u64(11));
    let f = Format {
        name: "AccountKeyPair::open",
        decode: &|b: &[u8]| AccountKeyPair::open(&SEAL_KEY, b),
        encode: &|k: &AccountKeyPair| k.to_bytes().to_vec(),
    };
    assert_eq!(f.run(&sealed, "valid").unwrap().to_bytes(), s.account.to_bytes());
    check_sealed(&f, &sealed, TAG_ACCOUNT, 12, ALL);
}

#[test]
fn peer_account_decodes_only_canonical_encodings() {
    let s = samples();
    for (i, peer) in s.peers.iter().enumerate() {
        let valid = peer.to_bytes().to_vec();
        let f = Format {
            name: "PeerAccount",
            decode: &PeerAccount::from_bytes,
            encode: &|p: &PeerAccount| p.to_bytes().to_vec(),
        };
        assert!(f.run(&valid, "valid").unwrap() == *peer);
        // 'T' || 1 || level || u8 n || user id || u16 len || list || ...:
        // only the user id is free; the lists are signed.
        let user = 4..4 + peer.user_id().len();
        assert_eq!(valid[3] as usize, peer.user_id().len());
        let t = check_stored(
            &f,
            &valid,
            TAG_PEER_ACCOUNT,
            &|byte| user.contains(&byte),
            &truncated,
            20 + i as u64,
            ALL,
        );
        assert_eq!(t.canonical, user.len() * 8);

        let sealed = peer.seal(&SEAL_KEY, &mut ChaCha20Rng::seed_from_u64(30 + i as u64));
        let f = Format {
            name: "PeerAccount::open",
            decode: &|b: &[u8]| PeerAccount::open(&SEAL_KEY, b),
            encode: &|p: &PeerAccount| p.to_bytes().to_vec(),
        };
        assert!(f.run(&sealed, "valid").unwrap() == *peer);
        check_sealed(&f, &sealed, TAG_PEER_ACCOUNT, 40 + i as u64, ALL);
    }
}

/// Offsets in a local device encoding (SPEC.md §19.5): the counts of
/// one-time, KEM one-time prekeys and remembered last-resort handshakes,
/// each followed by its entries, and the number of those handshakes.
fn local_device_layout(d: &LocalDevice, len: usize) -> [usize; 4] {
    let signed = 4 + 32 + 64;
    let kem = 1 + 4 + KEM_SEED_LEN + 64;
    let fixed = 2 + 32 + DEVICE_CERTIFICATE_LEN + 8 + 4 + 4 + signed + kem;
    let one_time_count = fixed + 1 + d.retired_signed_prekey_count() * (8 + signed + kem);
    let (x, k) = d.one_time_prekey_counts();
    let kem_count = one_time_count + 2 + x * 36;
    let seen_count = kem_count + 2 + k * kem;
    assert_eq!((len - seen_count - 2) % 36, 0, "layout");
    [one_time_count, kem_count, seen_count, (len - seen_count - 2) / 36]
}

fn check_device(d: &LocalDevice, sampling: Sampling) {
    let valid = d.to_bytes().to_vec();
    let (x, k) = d.one_time_prekey_counts();
    let [one_time_count, kem_count, seen_count, seen] = local_device_layout(d, valid.len());
    let count_at = |i: usize| usize::from(u16::from_be_bytes([valid[i], valid[i + 1]]));
    assert_eq!((count_at(one_time_count), count_at(kem_count), count_at(seen_count)), (x, k, seen));
    let f = Format {
        name: "LocalDevice",
        decode: &LocalDevice::from_bytes,
        encode: &|d: &LocalDevice| d.to_bytes().to_vec(),
    };
    assert_eq!(f.run(&valid, "valid").unwrap().to_bytes()[..], valid[..]);
    // The identity seed and the signed certificate must match: no flip in
    // them decodes. Prekey secrets, signatures, counters and times may.
    let signed_part = 2 + 32 + DEVICE_CERTIFICATE_LEN;
    // A prefix that ends inside the one-time or KEM prekeys fails the
    // count check (the count promises more than is left) before reading.
    let inside = |count: usize, n: usize, len: usize| n > 0 && len >= count + 2 && len < count + 2 + n;
    let expected_truncation = |len: usize| {
        if inside(one_time_count, x * 36, len)
            || inside(kem_count, k * (1 + 4 + KEM_SEED_LEN + 64), len)
            || inside(seen_count, seen * 36, len)
        {
            Error::Decode(DecodeError::InvalidValue)
        } else {
            Error::Decode(DecodeError::Truncated)
        }
    };
    // The sample, plus every bit of the fields that give the layout: the
    // last-resort prekey's type and id, the retired count, the one-time
    // count and first id, and the other counts.
    let last_resort = 2 + 32 + DEVICE_CERTIFICATE_LEN + 16 + 100;
    let mut bits = flip_positions(valid.len(), 50, sampling);
    for range in [
        last_resort..last_resort + 5,
        one_time_count - 1..one_time_count + 6,
        kem_count..kem_count + 2,
        seen_count..seen_count + 2,
    ] {
        bits.extend(range.start * 8..range.end * 8);
    }
    bits.sort_unstable();
    bits.dedup();
    let stored = |byte: usize, m: &[u8], e: &Error| header_error(byte, m, e).unwrap_or(stored_error(e));
    let t = check_flips(&f, &valid, &bits, &stored, &|byte| byte >= signed_part);
    assert!(t.errors >= signed_part * 8);
    check_truncations(&f, &valid, &expected_truncation, DecodeError::TrailingBytes.into(), sampling);
    check_random(&f, &valid, &[TAG_LOCAL_DEVICE, 1], stored_error, true, 50);

    let sealed = d.seal(&SEAL_KEY, &mut ChaCha20Rng::seed_from_u64(51));
    let f = Format {
        name: "LocalDevice::open",
        decode: &|b: &[u8]| LocalDevice::open(&SEAL_KEY, b),
        encode: &|d: &LocalDevice| d.to_bytes().to_vec(),
    };
    assert_eq!(f.run(&sealed, "valid").unwrap().to_bytes()[..], valid[..]);
    check_sealed(&f, &sealed, TAG_LOCAL_DEVICE, 52, sampling);
}

#[test]
fn local_device_decodes_only_canonical_encodings() {
    // 100 one-time X25519 prekeys, one remembered last-resort handshake,
    // no retired or KEM one-time prekeys (each costs a KEM key generation
    // per decode; see below).
    let s = samples();
    assert_eq!(s.small_device.one_time_prekey_counts(), (100, 0));
    let len = s.small_device.to_bytes().len();
    assert_eq!(local_device_layout(&s.small_device, len)[3], 1);
    check_device(&s.small_device, QUICK_DEVICE);
}

#[test]
#[ignore = "slow: about 2 minutes with --release (`cargo test --release --test messenger_decoders -- --ignored`)"]
fn full_local_device_decodes_only_canonical_encodings() {
    // A rotated device with 197 one-time X25519 and 38 KEM prekeys.
    let s = samples();
    let d = &s.device;
    assert_eq!(d.one_time_prekey_counts(), (197, 38));
    assert_eq!(d.retired_signed_prekey_count(), 1);
    check_device(d, FULL);
}

#[test]
fn session_record_decodes_only_canonical_encodings() {
    let s = samples();
    let r = &s.record;
    let valid = r.to_bytes().to_vec();
    let f = Format {
        name: "SessionRecord",
        decode: &SessionRecord::from_bytes,
        encode: &|r: &SessionRecord| r.to_bytes().to_vec(),
    };
    assert_eq!(f.run(&valid, "valid").unwrap().to_bytes()[..], valid[..]);
    check_stored(&f, &valid, TAG_SESSION_RECORD, &|_| true, &truncated, 60, ALL);

    let sealed = r.seal(&SEAL_KEY, &mut ChaCha20Rng::seed_from_u64(61));
    let f = Format {
        name: "SessionRecord::open",
        decode: &|b: &[u8]| SessionRecord::open(&SEAL_KEY, b),
        encode: &|r: &SessionRecord| r.to_bytes().to_vec(),
    };
    assert_eq!(f.run(&sealed, "valid").unwrap().to_bytes()[..], valid[..]);
    check_sealed(&f, &sealed, TAG_SESSION_RECORD, 62, ALL);
}

// ---------------------------------------------------------------------------
// No state change on failure.

/// The encodings of everything a call may touch.
fn snapshot(record: &SessionRecord, device: &LocalDevice, peer: &PeerAccount) -> [Vec<u8>; 3] {
    [record.to_bytes().to_vec(), device.to_bytes().to_vec(), peer.to_bytes().to_vec()]
}

#[test]
fn rejected_device_lists_change_nothing() {
    let mut rng = ChaCha20Rng::from_seed([0x41; 32]);
    let mut bob = User::new("bob", 2, &mut rng);
    bob.epoch = 2;
    let mut peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let keys: Vec<_> = bob.devices.iter().map(LocalDevice::link).collect();
    let before = peer.to_bytes().to_vec();
    let rollback = bob.account.sign_device_list(1, &keys).unwrap();
    assert_eq!(peer.update_device_list(rollback), Err(Error::DeviceListRollback { held: 2, got: 1 }));
    assert_eq!(peer.to_bytes()[..], before[..]);
    let conflict = bob.account.sign_device_list(2, &keys[..1]).unwrap();
    assert_eq!(peer.update_device_list(conflict), Err(Error::DeviceListConflict { epoch: 2 }));
    assert_eq!(peer.to_bytes()[..], before[..]);

    // The same checks against a pending list under a new account key.
    let mut mallory = User::new("bob", 1, &mut rng);
    mallory.epoch = 3;
    assert_eq!(peer.update_device_list(mallory.list()), Ok(DeviceListUpdate::AccountKeyChanged));
    let before = peer.to_bytes().to_vec();
    let m_keys = vec![mallory.devices[0].link()];
    let rollback = mallory.account.sign_device_list(2, &m_keys).unwrap();
    assert_eq!(peer.update_device_list(rollback), Err(Error::DeviceListRollback { held: 3, got: 2 }));
    assert_eq!(peer.to_bytes()[..], before[..]);
    let other = IdentityKeyPair::generate(&mut rng);
    let other = chatcrypt::DeviceLink::new(&other, mallory.account.public_key(), DeviceId::new(1));
    let conflict = mallory.account.sign_device_list(3, &[other]).unwrap();
    assert_eq!(peer.update_device_list(conflict), Err(Error::DeviceListConflict { epoch: 3 }));
    assert_eq!(peer.to_bytes()[..], before[..]);
    // And the pinned list still refuses a rollback while a change is pending.
    let rollback = bob.account.sign_device_list(1, &keys).unwrap();
    assert_eq!(peer.update_device_list(rollback), Err(Error::DeviceListRollback { held: 2, got: 1 }));
    assert_eq!(peer.to_bytes()[..], before[..]);
}

/// Feeds `message` to Bob's record; it must fail with an error `expected`
/// accepts and leave record, device and peer byte-identical.
fn reject(
    record: &mut SessionRecord,
    device: &mut LocalDevice,
    peer: &PeerAccount,
    message: &[u8],
    rng: &mut ChaCha20Rng,
    what: &str,
) -> Error {
    let before = snapshot(record, device, peer);
    let r = catch_unwind(AssertUnwindSafe(|| record.decrypt(device, peer, message, &policy(), NOW, rng)))
        .unwrap_or_else(|_| panic!("decrypt panicked on {what}"));
    let e = match r {
        Ok(d) => panic!("{what} decrypted ({} bytes)", d.plaintext.len()),
        Err(e) => e,
    };
    assert!(snapshot(record, device, peer) == before, "{what}: state changed ({e:?})");
    e
}

#[test]
fn failed_decryptions_change_nothing() {
    let mut rng = ChaCha20Rng::from_seed([0x42; 32]);
    let mut alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    let mut a = SessionRecord::new(DeviceId::new(1));
    let bundle = bob.upload(0).bundle(Some(0), Some(0)).unwrap();
    a.initiate(&alice.devices[0], &a_peer, &bundle, &policy(), NOW, &mut rng).unwrap();
    let first = a.encrypt(&a_peer, b"first", NOW, &mut rng).unwrap();
    let second = a.encrypt(&a_peer, b"second", NOW, &mut rng).unwrap();
    let mut b = SessionRecord::new(DeviceId::new(1));
    let dev = &mut bob.devices[0];

    // Garbage, to an empty record and (below) to one with a session.
    let mut garbage = Vec::new();
    for i in 0..200u32 {
        let mut v = vec![0u8; (rng.next_u32() % 600) as usize];
        rng.fill_bytes(&mut v);
        if i % 2 == 0 && !v.is_empty() {
            v[0] = first[0]; // a plausible type byte
        }
        garbage.push(v);
    }
    for (i, g) in garbage.iter().enumerate() {
        let e = reject(&mut b, dev, &b_peer, g, &mut rng, &format!("garbage {i}"));
        assert!(matches!(e, Error::Decode(_) | Error::NoSession), "garbage {i}: {e:?}");
    }

    // Bit flips of the first PreKeyMessage, before it is accepted: its
    // header and the first 240 bytes bit by bit, the rest sampled.
    let pkm_bits = flip_positions(first.len(), 70, Sampling { head: 240, tail: 40, random: 150, step: 1 });
    for &bit in &pkm_bits {
        reject(&mut b, dev, &b_peer, &flip(&first, bit), &mut rng, &format!("PreKeyMessage bit {bit}"));
    }
    let got = b.decrypt(dev, &b_peer, &first, &policy(), NOW, &mut rng).unwrap();
    assert!(got.new_session);
    // Replays: the accepted PreKeyMessage, now on an existing session.
    assert_eq!(reject(&mut b, dev, &b_peer, &first, &mut rng, "replayed PreKeyMessage"), Error::Duplicate);
    for &bit in pkm_bits.iter().step_by(8) {
        reject(&mut b, dev, &b_peer, &flip(&second, bit), &mut rng, &format!("2nd PreKeyMessage bit {bit}"));
    }
    b.decrypt(dev, &b_peer, &second, &policy(), NOW, &mut rng).unwrap();
    let reply = b.encrypt(&b_peer, b"reply", NOW, &mut rng).unwrap();
    a.decrypt(&mut alice.devices[0], &a_peer, &reply, &policy(), NOW, &mut rng).unwrap();

    // A Message on the established session: every bit flip, garbage, replay.
    let m = a.encrypt(&a_peer, b"a message", NOW, &mut rng).unwrap();
    for bit in 0..m.len() * 8 {
        reject(&mut b, dev, &b_peer, &flip(&m, bit), &mut rng, &format!("Message bit {bit}"));
    }
    for (i, g) in garbage.iter().enumerate().take(50) {
        reject(&mut b, dev, &b_peer, g, &mut rng, &format!("garbage {i} with a session"));
    }
    assert_eq!(b.decrypt(dev, &b_peer, &m, &policy(), NOW, &mut rng).unwrap().plaintext, b"a message");
    assert_eq!(reject(&mut b, dev, &b_peer, &m, &mut rng, "replayed Message"), Error::Duplicate);
    assert_eq!(
        reject(&mut b, dev, &b_peer, &second, &mut rng, "replayed 2nd PreKeyMessage"),
        Error::Duplicate
    );
}

#[test]
fn refused_retries_change_nothing() {
    let mut rng = ChaCha20Rng::from_seed([0x43; 32]);
    let mut alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 2, &mut rng);
    let mut a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    let mut a = SessionRecord::new(DeviceId::new(1));
    let bundle = bob.upload(0).bundle(Some(0), Some(0)).unwrap();
    a.initiate(&alice.devices[0], &a_peer, &bundle, &policy(), NOW, &mut rng).unwrap();
    let m = a.encrypt(&a_peer, b"hi", NOW, &mut rng).unwrap();
    let mut b = SessionRecord::new(DeviceId::new(1));
    b.decrypt(&mut bob.devices[0], &b_peer, &m, &policy(), NOW, &mut rng).unwrap();
    let answer = b.encrypt(&b_peer, b"yo", NOW, &mut rng).unwrap();
    a.decrypt(&mut alice.devices[0], &a_peer, &answer, &policy(), NOW, &mut rng).unwrap();
    let lost = a.encrypt(&a_peer, b"lost", NOW + 10, &mut rng).unwrap();
    let alice_key = alice.devices[0].identity().public_key().clone();
    let retry_from = |identity: &IdentityKeyPair, to: &chatcrypt::IdentityKey| {
        RetryMessage::for_failure(identity, to, &lost, Error::NoSession, NOW + 20).unwrap()
    };
    let alice_dev = &alice.devices[0];
    let check = |record: &mut SessionRecord, peer: &PeerAccount, retry: &RetryMessage, want: Error| {
        let before = snapshot(record, alice_dev, peer);
        assert_eq!(record.handle_retry(alice_dev, peer, retry), Err(want));
        assert!(snapshot(record, alice_dev, peer) == before, "{want:?}: state changed");
    };

    // Addressed to someone else.
    let stranger = IdentityKeyPair::generate(&mut rng);
    check(
        &mut a,
        &a_peer,
        &retry_from(bob.devices[0].identity(), stranger.public_key()),
        Error::WrongIdentity,
    );
    // Authored by a key the list does not give device 1.
    check(&mut a, &a_peer, &retry_from(&stranger, &alice_key), Error::WrongIdentity);
    check(&mut a, &a_peer, &retry_from(bob.devices[1].identity(), &alice_key), Error::WrongIdentity);
    // A record for a device the list does not name.
    // (Alice's record, stored under device id 7: 'R' || 1 || u32 device || ...)
    assert_eq!(
        SessionRecord::new(DeviceId::new(7)).initiate(
            &alice.devices[0],
            &a_peer,
            &bundle,
            &policy(),
            NOW,
            &mut rng
        ),
        Err(Error::UnknownDevice { device: 7 })
    );
    let mut bytes = a.to_bytes().to_vec();
    bytes[2..6].copy_from_slice(&7u32.to_be_bytes());
    let mut unlisted = SessionRecord::from_bytes(&bytes).unwrap();
    assert!(unlisted.current_session().is_some());
    check(
        &mut unlisted,
        &a_peer,
        &retry_from(bob.devices[0].identity(), &alice_key),
        Error::UnknownDevice { device: 7 },
    );
    // While an account-key change waits for a decision.
    let mallory = User::new("bob", 1, &mut rng);
    a_peer.update_device_list(mallory.list()).unwrap();
    check(&mut a, &a_peer, &retry_from(bob.devices[0].identity(), &alice_key), Error::AccountKeyChanged);
    // The genuine retry still works afterwards.
    a_peer.reject_account_key_change().unwrap();
    let genuine = retry_from(bob.devices[0].identity(), &alice_key);
    assert_eq!(a.handle_retry(alice_dev, &a_peer, &genuine), Ok(RetryOutcome::StartNewSession));
}

#[test]
fn upload_of_a_stale_encoding_changes_nothing() {
    let mut rng = ChaCha20Rng::from_seed([0x44; 32]);
    let mut bob = User::new("bob", 1, &mut rng);
    bob.upload(0);
    let d = &mut bob.devices[0];
    let stale = d.to_bytes().to_vec();
    d.rotate_signed_prekey(NOW + 1, &mut rng).unwrap();
    d.replenish(0, 0, &mut rng).unwrap();
    let before = d.to_bytes().to_vec();
    let mut tampered = before.clone();
    tampered[40] ^= 1;
    let mut longer = before.clone();
    longer.push(0);
    for (what, persisted) in
        [("stale", &stale[..]), ("empty", &[][..]), ("tampered", &tampered[..]), ("longer", &longer[..])]
    {
        assert_eq!(d.upload(persisted).map(|_| ()), Err(Error::NotPersisted), "{what}");
        assert_eq!(d.to_bytes()[..], before[..], "{what}");
        assert!(d.needs_upload());
    }
    // The current encoding passes the gate.
    d.upload(&before).unwrap();
}

// ---------------------------------------------------------------------------
// The fuzz corpus.

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpora/messenger_decode.hex");

/// One valid input for each decoder of the fuzz target, in its order.
fn seed_inputs() -> Vec<Vec<u8>> {
    let s = samples();
    let mut rng = ChaCha20Rng::seed_from_u64(0x5eed);
    vec![
        s.certificate.to_bytes(),
        s.list.to_bytes(),
        s.small_upload.to_bytes(),
        s.retries[0].to_bytes(),
        s.account.to_bytes().to_vec(),
        s.peers[0].to_bytes().to_vec(),
        s.small_device.to_bytes().to_vec(),
        s.record.to_bytes().to_vec(),
        s.account.seal(&SEAL_KEY, &mut rng),
        s.peers[0].seal(&SEAL_KEY, &mut rng),
        s.small_device.seal(&SEAL_KEY, &mut rng),
        s.record.seal(&SEAL_KEY, &mut rng),
    ]
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex line");
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

#[test]
fn fuzz_corpus_replays_and_seeds_every_decoder() {
    let text = std::fs::read_to_string(CORPUS).unwrap();
    let inputs: Vec<Vec<u8>> =
        text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).map(unhex).collect();
    let mut seen = 0u16;
    for (i, input) in inputs.iter().enumerate() {
        let accepted = catch_unwind(|| messenger_decode::messenger_decode(input))
            .unwrap_or_else(|_| panic!("corpus input {i} violates the fuzz target's properties"));
        seen |= accepted;
    }
    for (i, name) in messenger_decode::DECODERS.iter().enumerate() {
        assert!(
            seen & (1 << i) != 0,
            "no corpus input decodes with {name}: after a format change, rewrite the seeds with \
             `cargo test --test messenger_decoders -- --ignored write_seed_corpus`"
        );
    }
    // The seeds themselves: each decodes with exactly its own decoder.
    for (i, input) in seed_inputs().iter().enumerate() {
        assert_eq!(messenger_decode::messenger_decode(input), 1 << i, "seed {i}");
    }
    println!("fuzz corpus messenger_decode: {} inputs replayed", inputs.len());
}

/// Writes the seed corpus (one valid input per decoder). Run it after a
/// format change: `cargo test --test messenger_decoders -- --ignored write_seed_corpus`.
#[test]
#[ignore = "writes fuzz/corpora/messenger_decode.hex"]
fn write_seed_corpus() {
    let mut out =
        String::from("# messenger_decode seeds: one valid input per decoder (tests/messenger_decoders.rs)\n");
    for input in seed_inputs() {
        for b in input {
            out.push_str(&format!("{b:02x}"));
        }
        out.push('\n');
    }
    std::fs::write(CORPUS, out).unwrap();
}

#[test]
fn device_link_is_its_list_entry_and_decodes_strictly() {
    let s = samples();
    let list_bytes = s.list.to_bytes();
    let links = s.list.links();
    assert_eq!(links.len(), 3);
    for (i, link) in links.iter().enumerate() {
        // SPEC.md §17.3: the link's bytes are its entry at 43 + 100 i.
        let entry = &list_bytes[43 + 100 * i..43 + 100 * (i + 1)];
        let bytes = link.to_bytes();
        assert_eq!(&bytes[..], entry);
        assert_eq!(bytes.len(), chatcrypt::DEVICE_LIST_ENTRY_LEN);
        let back = chatcrypt::DeviceLink::from_bytes(&bytes).unwrap();
        assert!(&back == link);
        back.verify(s.list.account_key()).unwrap();
        // Every other length is refused.
        for len in 0..bytes.len() {
            assert_eq!(
                chatcrypt::DeviceLink::from_bytes(&bytes[..len]).err(),
                Some(Error::Decode(DecodeError::Truncated)),
                "length {len}"
            );
        }
        // The length is checked before the key (SPEC.md §17.3).
        assert_eq!(
            chatcrypt::DeviceLink::from_bytes(&[0u8; 99]).err(),
            Some(Error::Decode(DecodeError::Truncated))
        );
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(
            chatcrypt::DeviceLink::from_bytes(&longer).err(),
            Some(Error::Decode(DecodeError::TrailingBytes))
        );
        // An identity key that is not a strict Ed25519 key (y = p: a
        // non-canonical encoding of a small-order point) is refused.
        let mut bad = bytes;
        bad[4..36].copy_from_slice(&{
            let mut p = [0xffu8; 32];
            p[0] = 0xed;
            p[31] = 0x7f;
            p
        });
        assert_eq!(
            chatcrypt::DeviceLink::from_bytes(&bad).err(),
            Some(Error::Decode(DecodeError::InvalidPublicKey))
        );
        // A flipped consent decodes but does not verify, and no list is
        // signed with it.
        let mut forged = bytes;
        forged[99] ^= 1;
        let forged = chatcrypt::DeviceLink::from_bytes(&forged).unwrap();
        assert_eq!(forged.verify(s.list.account_key()), Err(Error::BadSignature));
        assert_eq!(s.account.sign_device_list(9, &[forged]).err(), Some(Error::BadSignature));
    }
}
