//! The bodies of the fuzz targets, shared with `tests/fuzz_corpus.rs`, which
//! replays the committed corpora through the same checks in `cargo test`.
//!
//! Each function panics only when a property of the library is violated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use chatcrypt::{
    Error, IdentityKeyPair, KemPreKey, KemPreKeyPublic, MessageType, Mode, OneTimePreKey, PqPolicy,
    PreKeyBundle, PreKeyMessage, Session, SignedPreKey,
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
