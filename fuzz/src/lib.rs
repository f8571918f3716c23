//! The bodies of the fuzz targets, shared with `tests/fuzz_corpus.rs`, which
//! replays the committed corpora through the same checks in `cargo test`.
//!
//! Each function panics only when a property of the library is violated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{collections::HashMap, sync::OnceLock};

use chatcrypt::{
    media::{
        decrypt_attachment, encrypt_attachment, AttachmentDecryptor, AttachmentPointer, CallAnswer,
        CallOffer, CipherSuite, MediaKeyMessage, SframeHeader, SframeReceiver, SframeSender,
        SFRAME_MAX_HEADER_LEN,
    },
    DecodeError, Error, IdentityKeyPair, KemPreKey, KemPreKeyPublic, MessageType, Mode, OneTimePreKey,
    PqPolicy, PreKeyBundle, PreKeyMessage, Session, SignedPreKey,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

/// The integration tests' helpers and event model, compiled here too.
#[path = "../../tests/common/mod.rs"]
pub mod common;

/// The multi-user messenger model, the `messenger_model` target's body
/// (`messenger_model::run_bytes`); `tests/messenger_model.rs` runs it as a
/// proptest and replays its corpus.
#[path = "messenger_model.rs"]
pub mod messenger_model;

/// The messenger-layer decoders, the `messenger_decode` target's body
/// (also compiled by `tests/messenger_decoders.rs`).
#[path = "messenger_decode.rs"]
pub mod messenger_decode;

/// Padding and sealed sender, the `padding` and `sealed_open` targets'
/// bodies.
#[path = "metadata.rs"]
pub mod metadata;
pub use metadata::{padding, sealed_open};

/// The sealing key the `decode` target opens sealed states with.
pub const SEAL_KEY: [u8; 32] = [0x5e; 32];

/// Every decoder: must return `Ok` or a typed error; whatever decodes must
/// re-encode to exactly the input (all our encodings are canonical).
pub fn decode(data: &[u8]) {
    let _ = MessageType::of(data);
    if let Ok(m) = PreKeyMessage::from_bytes(data) {
        assert_eq!(m.as_bytes(), data);
    }
    if let Ok(b) = PreKeyBundle::from_bytes(data) {
        assert_eq!(b.to_bytes(), data, "bundle encoding is not canonical");
        let _ = b.verify();
    }
    if let Ok(s) = Session::from_bytes(data) {
        let encoded = s.to_bytes();
        assert_eq!(s.encoded_len(), encoded.len());
        if data[1] == chatcrypt::SESSION_STATE_VERSION {
            assert_eq!(&encoded[..], data, "session encoding is not canonical");
        } else {
            // An older version is re-encoded in the current one, which
            // decodes to the same encoding again.
            let again = Session::from_bytes(&encoded).unwrap();
            assert_eq!(again.to_bytes()[..], encoded[..], "re-encoded session is not canonical");
        }
    }
    if let Ok(k) = IdentityKeyPair::from_bytes(data) {
        assert_eq!(&k.to_bytes()[..], data);
    }
    if let Ok(k) = SignedPreKey::from_bytes(data) {
        assert_eq!(&k.to_bytes()[..], data);
    }
    if let Ok(k) = OneTimePreKey::from_bytes(data) {
        assert_eq!(&k.to_bytes()[..], data);
    }
    if let Ok(k) = KemPreKey::from_bytes(data) {
        assert_eq!(&k.to_bytes()[..], data);
    }
    if let Ok(k) = KemPreKeyPublic::from_bytes(data) {
        assert_eq!(&k.to_bytes()[..], data);
    }
    if let Ok(s) = Session::open(&SEAL_KEY, data) {
        let _ = s.to_bytes();
    }
    let _ = IdentityKeyPair::open(&SEAL_KEY, data);
}

/// A fixed responder and a conversation prefix, built once.
pub struct Fixture {
    pub bob: IdentityKeyPair,
    pub spk: SignedPreKey,
    pub opk: OneTimePreKey,
    /// Bob's session state after the handshake and some traffic.
    pub bob_state: Vec<u8>,
    /// Messages from Alice that Bob has not received yet, with plaintexts.
    pub undelivered: Vec<(Vec<u8>, Vec<u8>)>,
    /// Alice's first PreKeyMessage, which Bob has accepted.
    pub first: Vec<u8>,
}

/// The plain-mode fixture.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build_fixture(Mode::Plain))
}

/// The same conversation with header encryption.
pub fn fixture_he() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build_fixture(Mode::HeaderEncryption))
}

/// The same responder with a KEM prekey in its bundle: the conversation
/// starts with the hybrid handshake (SPEC.md §16).
pub fn fixture_pq() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build_fixture_with(Mode::Plain, true))
}

/// The responder's ML-KEM-1024 prekey (id 3), used as its last-resort key.
pub fn kem_prekey() -> &'static KemPreKey {
    static K: OnceLock<KemPreKey> = OnceLock::new();
    K.get_or_init(|| {
        let bob = IdentityKeyPair::generate(&mut ChaCha20Rng::from_seed([0xf0; 32]));
        KemPreKey::generate(&bob, 3, &mut ChaCha20Rng::from_seed([0xf1; 32]))
    })
}

fn build_fixture(mode: Mode) -> Fixture {
    build_fixture_with(mode, false)
}

fn build_fixture_with(mode: Mode, hybrid: bool) -> Fixture {
    let mut rng = ChaCha20Rng::from_seed([0xf0; 32]);
    let bob = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&bob, 1, &mut rng);
    let opk = OneTimePreKey::generate(2, &mut rng);
    let mut bundle =
        PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()));
    if hybrid {
        bundle = bundle.with_kem_prekey(kem_prekey().public().clone());
    }
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a = Session::initiate_with(&alice, &bundle, mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    assert_eq!(a.is_post_quantum(), hybrid);
    let first = a.encrypt(b"first", &mut rng).unwrap();
    let held_prekey = a.encrypt(b"held back prekey message", &mut rng).unwrap();
    let (mut b, _) =
        accept_with_fixture_keys(&bob, &spk, &opk, &PreKeyMessage::from_bytes(&first).unwrap(), &mut rng)
            .unwrap();
    let reply = b.encrypt(b"reply", &mut rng).unwrap();
    a.decrypt(&reply, &mut rng).unwrap();
    let mut undelivered = vec![(held_prekey, b"held back prekey message".to_vec())];
    for i in 0..3u8 {
        let p = vec![b'm', i];
        undelivered.push((a.encrypt(&p, &mut rng).unwrap(), p));
    }
    let delivered = a.encrypt(b"delivered", &mut rng).unwrap();
    b.decrypt(&delivered, &mut rng).unwrap();
    for i in 0..2u8 {
        let p = vec![b'n', i];
        undelivered.push((a.encrypt(&p, &mut rng).unwrap(), p));
    }
    Fixture { bob, spk, opk, bob_state: b.to_bytes().to_vec(), undelivered, first }
}

/// Arbitrary bytes against an established session: either a genuine
/// undelivered message decrypts to its plaintext, or the call fails and the
/// session is byte-for-byte unchanged.
pub fn decrypt_established(data: &[u8]) {
    decrypt_established_in(fixture(), data);
}

/// [`decrypt_established`] against a header-encrypted session.
pub fn decrypt_established_he(data: &[u8]) {
    decrypt_established_in(fixture_he(), data);
}

fn decrypt_established_in(f: &Fixture, data: &[u8]) {
    let mut session = Session::from_bytes(&f.bob_state).unwrap();
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    match session.decrypt(data, &mut rng) {
        Ok(plaintext) => {
            let genuine = f.undelivered.iter().find(|(m, _)| m == data);
            let (_, expected) = genuine.unwrap_or_else(|| panic!("a forged message decrypted: {data:02x?}"));
            assert_eq!(&plaintext, expected);
            // Exactly once.
            assert_eq!(session.decrypt(data, &mut rng), Err(Error::Duplicate));
        }
        Err(_) => {
            assert_eq!(&session.to_bytes()[..], &f.bob_state[..], "a failed decrypt changed the session")
        }
    }
    // The buffer API agrees with the Vec API.
    let mut fresh = Session::from_bytes(&f.bob_state).unwrap();
    let mut out = vec![0u8; data.len()];
    let r = fresh.decrypt_into(data, &mut out, &mut ChaCha20Rng::from_seed([1; 32]));
    let mut again = Session::from_bytes(&f.bob_state).unwrap();
    assert_eq!(
        r.map(|got| out[..got.len].to_vec()),
        again.decrypt(data, &mut ChaCha20Rng::from_seed([1; 32]))
    );
}

/// The responder's accept with the fixture's keys: the one-time prekey if
/// named, the KEM prekey (as the last-resort key) if named, either mode,
/// classical or hybrid.
fn accept_with_fixture_keys(
    bob: &IdentityKeyPair,
    spk: &SignedPreKey,
    opk: &OneTimePreKey,
    msg: &PreKeyMessage,
    rng: &mut ChaCha20Rng,
) -> Result<(Session, Vec<u8>), Error> {
    let opk = msg.one_time_prekey_id().map(|_| opk);
    let kem = msg.kem_prekey_id().map(|_| kem_prekey());
    common::accept_with_kem(bob, spk, opk, kem, msg, rng)
}

/// Arbitrary bytes as the first message to a responder holding real
/// prekeys (X25519 and ML-KEM): only Alice's genuine first messages, of
/// either mode and either handshake, are accepted.
pub fn accept_arbitrary(data: &[u8]) {
    // The fixtures use the same responder keys (same seed), so one
    // responder accepts the genuine first messages of every fixture.
    let (f, he, pq) = (fixture(), fixture_he(), fixture_pq());
    let Ok(msg) = PreKeyMessage::from_bytes(data) else { return };
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    if let Ok((s, plaintext)) = accept_with_fixture_keys(&f.bob, &f.spk, &f.opk, &msg, &mut rng) {
        assert_eq!(s.is_post_quantum(), msg.is_post_quantum());
        let genuine = [f, he, pq]
            .iter()
            .any(|f| f.first == data || f.undelivered.first().is_some_and(|(m, _)| m == data));
        assert!(genuine, "a forged PreKeyMessage was accepted: {data:02x?}");
        assert!(plaintext == b"first" || plaintext == b"held back prekey message");
    }
}

/// The two-party event model (shared with the proptest in `tests/model.rs`):
/// every genuine delivered message decrypts exactly once, every forged one
/// is rejected without changing state, and both sides can always go on.
pub fn conversation(data: &[u8]) {
    let events = common::model::events_from_bytes(data);
    common::model::World::run(0, &events);
}

/// [`conversation`] with header encryption.
pub fn conversation_he(data: &[u8]) {
    let events = common::model::events_from_bytes(data);
    common::model::World::run_in(Mode::HeaderEncryption, 0, &events);
}

/// Every messenger-layer decoder (`messenger_decode::messenger_decode`):
/// `Ok` or the documented error class, canonical re-encoding.
pub fn messenger_decode(data: &[u8]) {
    messenger_decode::messenger_decode(data);
}

// ---------------------------------------------------------------------------
// Media (SPEC.md §22-§25).

/// The metadata every `sframe` frame is authenticated with.
pub const SFRAME_METADATA: &[u8] = b"fuzz metadata";
/// The ratcheting key of the `sframe` receiver: KID 0x50, R = 4 ratchet
/// bits, so generation 5 starting at step 0 (KIDs 0x50..=0x5f).
pub const SFRAME_RATCHET_KID: u64 = 0x50;
/// The ratchet bits of [`SFRAME_RATCHET_KID`].
pub const SFRAME_RATCHET_BITS: u8 = 4;
/// Its base key.
pub const SFRAME_RATCHET_BASE: [u8; 32] = [0x71; 32];
/// The receiver's second key, for exactly KID 3 (no ratchet).
pub const SFRAME_FIXED_KID: u64 = 3;
/// Its base key.
pub const SFRAME_FIXED_BASE: [u8; 16] = [0x33; 16];
/// Steps of the ratcheting sender with genuine frames (0 to 3).
pub const SFRAME_GENUINE_STEPS: u64 = 4;
/// The counters of the genuine frames: 0..=7 and three far ones, so that a
/// sequence can move the replay window (128 counters) past older frames.
pub const SFRAME_GENUINE_CTRS: [u64; 11] = [0, 1, 2, 3, 4, 5, 6, 7, 130, 200, 300];
/// At most this many frames of an `sframe` input are processed.
pub const SFRAME_MAX_FRAMES: usize = 64;
/// The plaintext space the `sframe` receiver decrypts into: longer frames
/// fail with `BufferTooSmall`.
pub const SFRAME_OUT_LEN: usize = 64;

/// The plaintext of the genuine frame with `kid` and `ctr`.
pub fn sframe_plaintext(kid: u64, ctr: u64) -> Vec<u8> {
    [&b"frame "[..], &kid.to_be_bytes(), &ctr.to_be_bytes()].concat()
}

/// The genuine frames of one suite: for the ratcheting sender at steps
/// 0..[`SFRAME_GENUINE_STEPS`] and for the KID-3 sender, one frame per
/// counter of [`SFRAME_GENUINE_CTRS`], mapped to (KID, counter).
pub struct SframeGenuine {
    /// Frame bytes to (KID, counter).
    pub frames: HashMap<Vec<u8>, (u64, u64)>,
    /// The same frames in order: ratcheting steps 0.., then KID 3; within
    /// each, by counter.
    pub ordered: Vec<(u64, u64, Vec<u8>)>,
}

fn frames_of(sender: &mut SframeSender, out: &mut Vec<(u64, u64, Vec<u8>)>) {
    let last = SFRAME_GENUINE_CTRS[SFRAME_GENUINE_CTRS.len() - 1];
    let mut buf = [0u8; 128];
    for ctr in 0..=last {
        let kid = sender.kid();
        assert_eq!(sender.next_counter(), Some(ctr));
        let n = sender.encrypt(SFRAME_METADATA, &sframe_plaintext(kid, ctr), &mut buf).unwrap();
        if SFRAME_GENUINE_CTRS.contains(&ctr) {
            out.push((kid, ctr, buf[..n].to_vec()));
        }
    }
}

fn build_sframe_genuine(suite: CipherSuite) -> SframeGenuine {
    let mut ordered = Vec::new();
    let mut ratcheting =
        SframeSender::new(suite, SFRAME_RATCHET_KID, SFRAME_RATCHET_BITS, &SFRAME_RATCHET_BASE).unwrap();
    for step in 0..SFRAME_GENUINE_STEPS {
        if step > 0 {
            ratcheting.ratchet().unwrap();
        }
        frames_of(&mut ratcheting, &mut ordered);
    }
    frames_of(&mut SframeSender::new(suite, SFRAME_FIXED_KID, 0, &SFRAME_FIXED_BASE).unwrap(), &mut ordered);
    let frames = ordered.iter().map(|(k, c, f)| (f.clone(), (*k, *c))).collect();
    SframeGenuine { frames, ordered }
}

/// The genuine frames of `suite`, built once.
pub fn sframe_genuine(suite: CipherSuite) -> &'static SframeGenuine {
    static G: OnceLock<Vec<SframeGenuine>> = OnceLock::new();
    let all = G.get_or_init(|| CipherSuite::ALL.iter().map(|s| build_sframe_genuine(*s)).collect());
    let i = CipherSuite::ALL.iter().position(|s| *s == suite).unwrap();
    &all[i]
}

/// The `sframe` receiver: the ratcheting key and the KID-3 key.
pub fn sframe_receiver(suite: CipherSuite) -> SframeReceiver {
    let mut r = SframeReceiver::new(suite);
    r.add_base_key(SFRAME_RATCHET_KID, SFRAME_RATCHET_BITS, &SFRAME_RATCHET_BASE).unwrap();
    r.add_base_key(SFRAME_FIXED_KID, 0, &SFRAME_FIXED_BASE).unwrap();
    r
}

/// Splits an `sframe` input: the suite (first byte, modulo 5) and the
/// frames, each `u8(len) || len bytes` (a short last one is kept as it is).
pub fn sframe_split(data: &[u8]) -> Option<(CipherSuite, Vec<&[u8]>)> {
    let (&first, mut rest) = data.split_first()?;
    let suite = CipherSuite::ALL[usize::from(first) % CipherSuite::ALL.len()];
    let mut frames = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        if frames.len() == SFRAME_MAX_FRAMES {
            break;
        }
        let (frame, tail) = tail.split_at(usize::from(len).min(tail.len()));
        frames.push(frame);
        rest = tail;
    }
    Some((suite, frames))
}

/// The inverse of [`sframe_split`], for building seeds.
pub fn sframe_join(suite: CipherSuite, frames: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![CipherSuite::ALL.iter().position(|s| *s == suite).unwrap() as u8];
    for f in frames {
        out.push(u8::try_from(f.len()).unwrap());
        out.extend_from_slice(f);
    }
    out
}

/// `SframeHeader::decode` must accept only minimal encodings: whatever it
/// decodes re-encodes to exactly the bytes it consumed.
fn sframe_header_roundtrip(bytes: &[u8]) {
    match SframeHeader::decode(bytes) {
        Ok((h, n)) => {
            assert!(n <= bytes.len() && n == h.encoded_len() && n <= SFRAME_MAX_HEADER_LEN);
            let mut buf = [0u8; SFRAME_MAX_HEADER_LEN];
            assert_eq!(h.encode(&mut buf).unwrap(), n);
            assert_eq!(&buf[..n], &bytes[..n], "header {h:?} decoded from a non-minimal encoding");
        }
        Err(e) => {
            assert!(matches!(e, Error::Decode(DecodeError::Truncated | DecodeError::InvalidValue)), "{e:?}")
        }
    }
}

/// The `sframe` target: the input chooses a suite and gives a sequence of
/// frames (see [`sframe_split`]), decrypted in order by a fresh
/// [`sframe_receiver`] with [`SFRAME_METADATA`]. Checks:
///
/// * every frame's header decodes only if minimal (re-encodes to the same
///   bytes);
/// * a failed decrypt returns one of the documented errors, leaves the
///   receiver's `Debug` (keys, steps, replay windows) unchanged and writes
///   nothing but zeros into the output;
/// * a frame that decrypts is one of the sender's genuine frames, with its
///   plaintext (except under the 32-bit-tag suite, where a chance forgery
///   is a 2^-32 event per try that a long run can reach: RFC 9605 §7.5),
///   and decrypts exactly once (a replay is `Duplicate`);
/// * a genuine frame must decrypt when the receiver can take it for sure:
///   the first frame its key sees, or a frame of the step the key last
///   accepted a frame under, with a counter above every counter accepted
///   under that KID.
pub fn sframe(data: &[u8]) {
    let Some((suite, frames)) = sframe_split(data) else { return };
    sframe_header_roundtrip(&data[1..]);
    let genuine = sframe_genuine(suite);
    let mut receiver = sframe_receiver(suite);
    // Per key (0: the ratcheting one, 1: KID 3): the KID of the last frame
    // it accepted.
    let mut last_kid: [Option<u64>; 2] = [None, None];
    // The highest counter accepted per KID.
    let mut top: HashMap<u64, u64> = HashMap::new();
    let key_of = |kid: u64| usize::from(kid == SFRAME_FIXED_KID);
    let mut out = [0u8; SFRAME_OUT_LEN];
    for frame in frames {
        sframe_header_roundtrip(frame);
        let before = format!("{receiver:?}");
        out.fill(0xa5);
        let expected = genuine.frames.get(frame).copied();
        match receiver.decrypt(SFRAME_METADATA, frame, &mut out) {
            Ok(got) => {
                let (h, _) = SframeHeader::decode(frame).unwrap();
                assert_eq!((got.kid, got.ctr), (h.kid, h.ctr));
                if suite != CipherSuite::AesCtr128HmacSha256_32 {
                    assert_eq!(expected, Some((got.kid, got.ctr)), "a forged frame decrypted: {frame:02x?}");
                    assert_eq!(&out[..got.len], &sframe_plaintext(got.kid, got.ctr)[..]);
                }
                let after = format!("{receiver:?}");
                assert_eq!(receiver.decrypt(SFRAME_METADATA, frame, &mut out), Err(Error::Duplicate));
                assert_eq!(format!("{receiver:?}"), after, "a replay changed the receiver");
                last_kid[key_of(got.kid)] = Some(got.kid);
                let t = top.entry(got.kid).or_insert(got.ctr);
                *t = (*t).max(got.ctr);
            }
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        Error::Decode(DecodeError::Truncated | DecodeError::InvalidValue)
                            | Error::TooLarge { .. }
                            | Error::BufferTooSmall { .. }
                            | Error::UnknownKeyId { .. }
                            | Error::TooFarAhead { .. }
                            | Error::CounterTooOld { .. }
                            | Error::Duplicate
                            | Error::Auth
                    ),
                    "undocumented error {e:?}"
                );
                assert_eq!(format!("{receiver:?}"), before, "a failed decrypt ({e:?}) changed the receiver");
                // Untouched, or its ciphertext-length prefix zeroed after
                // a failed tag check: no plaintext is released.
                let zeroed = out.iter().take_while(|&&b| b == 0).count();
                assert!(out[zeroed..].iter().all(|&b| b == 0xa5), "a failed decrypt ({e:?}) released bytes");
                if let Some((kid, ctr)) = expected {
                    let sure = match last_kid[key_of(kid)] {
                        None => true,
                        Some(k) => k == kid && top.get(&kid).is_none_or(|&t| ctr > t),
                    };
                    assert!(!sure, "genuine frame (KID {kid}, CTR {ctr}) refused with {e:?}");
                }
            }
        }
    }
}

/// A file of the `attachment` target: its plaintext, blob and pointer.
pub struct AttachmentFixture {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The genuine encrypted blob.
    pub blob: Vec<u8>,
    /// Its pointer.
    pub pointer: AttachmentPointer,
}

fn build_attachment(len: usize, seed: u8) -> AttachmentFixture {
    let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8 ^ seed).collect();
    let (blob, pointer) = encrypt_attachment(&plaintext, &mut ChaCha20Rng::from_seed([seed; 32])).unwrap();
    AttachmentFixture { plaintext, blob, pointer }
}

/// The files of the `attachment` target, built once: 70 000 bytes (two
/// chunks: 65 536 and 4 464 bytes) and 100 bytes (one chunk), each
/// encrypted with a seeded RNG.
pub fn attachment_fixtures() -> &'static [AttachmentFixture; 2] {
    static F: OnceLock<[AttachmentFixture; 2]> = OnceLock::new();
    F.get_or_init(|| [build_attachment(70_000, 0xa1), build_attachment(100, 0xa2)])
}

/// The `attachment` target: the input as the blob of each fixed file, and
/// as an encoded pointer.
///
/// * `decrypt_attachment` returns the plaintext for exactly the genuine
///   blob; otherwise `Decode(Truncated)` if the input is shorter than the
///   pointer says, `Decode(TrailingBytes)` if longer, `Auth` if as long;
/// * an `AttachmentDecryptor` fed the input chunk by chunk (cut at the
///   lengths `next_chunk_len` asks for): a chunk decrypts only if it is the
///   genuine chunk at that position, to its plaintext; a failing chunk
///   gives `ChunkLength` (wrong length) or `Auth`, leaves
///   `next_chunk_len` and `Debug` unchanged and writes nothing to the
///   output; bytes after the final chunk give `StreamFinished`;
///   `decrypt_chunk_in_place` agrees and leaves a failed chunk as it was;
///   `finish` succeeds exactly when the input starts with the genuine blob
///   (what follows it was refused as `StreamFinished`);
/// * `AttachmentPointer::from_bytes`: a decoded pointer re-encodes to the
///   input; failures are `Decode` errors.
pub fn attachment(data: &[u8]) {
    for f in attachment_fixtures() {
        attachment_blob(f, data);
    }
    match AttachmentPointer::from_bytes(data) {
        Ok(p) => assert_eq!(&p.to_bytes()[..], data, "pointer encoding is not canonical"),
        Err(e) => assert!(matches!(e, Error::Decode(_)), "{e:?}"),
    }
}

fn attachment_blob(f: &AttachmentFixture, data: &[u8]) {
    let genuine = data == &f.blob[..];
    match decrypt_attachment(&f.pointer, data) {
        Ok(plaintext) => {
            assert!(genuine, "a forged blob decrypted");
            assert_eq!(plaintext, f.plaintext);
        }
        Err(e) => {
            assert!(!genuine, "the genuine blob failed: {e:?}");
            let expected = match data.len().cmp(&f.blob.len()) {
                std::cmp::Ordering::Less => Error::Decode(DecodeError::Truncated),
                std::cmp::Ordering::Greater => Error::Decode(DecodeError::TrailingBytes),
                std::cmp::Ordering::Equal => Error::Auth,
            };
            assert_eq!(e, expected);
        }
    }

    let mut dec = AttachmentDecryptor::new(&f.pointer);
    let mut in_place = AttachmentDecryptor::new(&f.pointer);
    let mut out = vec![0u8; chatcrypt::media::ATTACHMENT_CHUNK_LEN];
    let (mut rest, mut offset, mut released) = (data, 0usize, 0usize);
    while !rest.is_empty() {
        let want = dec.next_chunk_len();
        let (chunk, tail) = rest.split_at(want.unwrap_or(rest.len()).min(rest.len()));
        let before = format!("{dec:?}");
        out.fill(0xa5);
        let r = dec.decrypt_chunk(chunk, &mut out);
        let mut copy = chunk.to_vec();
        let r2 = in_place.decrypt_chunk_in_place(&mut copy);
        match r {
            Ok(n) => {
                assert_eq!(chunk, &f.blob[offset..offset + chunk.len()], "a forged chunk decrypted");
                assert_eq!(&out[..n], &f.plaintext[released..released + n]);
                assert_eq!(r2, Ok(n));
                assert_eq!(&copy[..n], &out[..n]);
                released += n;
                offset += chunk.len();
                rest = tail;
            }
            Err(e) => {
                let expected = match want {
                    None => Error::StreamFinished,
                    Some(len) if len != chunk.len() => Error::ChunkLength { len: chunk.len(), expected: len },
                    Some(_) => Error::Auth,
                };
                assert_eq!(e, expected);
                assert_eq!(r2, Err(e));
                assert_eq!(copy, chunk, "a failed in-place chunk was changed");
                assert_eq!(dec.next_chunk_len(), want, "a failed chunk moved the decryptor");
                assert_eq!(format!("{dec:?}"), before, "a failed chunk changed the decryptor");
                assert!(out.iter().all(|&b| b == 0xa5), "a failed chunk wrote to the output");
                break;
            }
        }
    }
    // Bytes after the final chunk were refused above (StreamFinished);
    // `finish` sees that every chunk, and the right ones, came.
    let complete = data.starts_with(&f.blob);
    assert_eq!(dec.finish().is_ok(), complete, "finish disagrees with the chunks");
    assert_eq!(in_place.finish().is_ok(), complete);
}

/// Every other media decoder (`CallOffer`, `CallAnswer`,
/// `MediaKeyMessage`, and `CipherSuite::from_id` on the first two bytes):
/// `Ok` or a `Decode` error, never a panic; whatever decodes re-encodes to
/// exactly the input. Returns a bit mask of the decoders that accepted the
/// input (bit 0 offer, 1 answer, 2 media key message).
pub fn media_decode(data: &[u8]) -> u8 {
    let mut accepted = 0;
    if let Some(id) = data.get(..2) {
        let id = u16::from_be_bytes([id[0], id[1]]);
        match CipherSuite::from_id(id) {
            Ok(s) => assert_eq!(s.id(), id),
            Err(e) => assert_eq!(e, Error::Decode(DecodeError::InvalidValue)),
        }
    }
    match CallOffer::from_bytes(data) {
        Ok(o) => {
            assert_eq!(o.to_bytes(), data, "offer encoding is not canonical");
            accepted |= 1;
        }
        Err(e) => assert!(matches!(e, Error::Decode(_)), "offer: {e:?}"),
    }
    match CallAnswer::from_bytes(data) {
        Ok(a) => {
            assert_eq!(a.to_bytes(), data, "answer encoding is not canonical");
            accepted |= 2;
        }
        Err(e) => assert!(matches!(e, Error::Decode(_)), "answer: {e:?}"),
    }
    match MediaKeyMessage::from_bytes(data) {
        Ok(m) => {
            assert_eq!(&m.to_bytes()[..], data, "media key message encoding is not canonical");
            accepted |= 4;
        }
        Err(e) => assert!(matches!(e, Error::Decode(_)), "media key message: {e:?}"),
    }
    accepted
}
