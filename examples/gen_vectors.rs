//! Regenerates every file in `test-vectors/protocol/` from fixed seeds.
//!
//! `cargo run --example gen_vectors --features hazmat`
//!
//! The output is deterministic; CI regenerates it and fails if it differs
//! from what is committed. The schema is documented in
//! `test-vectors/README.md`. The vectors are *checked* by
//! `tests/protocol_vectors.rs`, which recomputes them with raw primitive
//! calls following SPEC.md, not with this crate's internals.
//!
//! Almost every value here comes from the library's public API (and the
//! `hazmat` functions). The exceptions are messages the library cannot
//! send, built with the independent SPEC.md implementation
//! `tests/support/spec_impl.rs` from a library session's stored state:
//! version-1 messages (`receive_v1.json`; SPEC.md §13 lets receivers accept
//! them but no sender send them) and messages whose ratchet key is a
//! non-canonical alias of a real one (in `reject.json`), and malformed but
//! correctly signed messenger encodings (in `messenger.json`: device lists,
//! retry messages and an upload that break a rule other than the
//! signature). Their expected outcome is still the library's.
//!
//! `media.json` (SPEC.md §22-§25) comes from `chatcrypt::media` alone; the
//! ratcheted SFrame base keys of its `sframe_ratchet` cases are read from
//! the key messages a `GroupCallSender` gives joiners (the public route to
//! RFC 9605 §5.1's next base key).
//!
//! `metadata.json` (SPEC.md §26-§27) comes from `chatcrypt::padding` and
//! `chatcrypt::sealed`; spec_impl builds the inputs the library cannot
//! make (a certificate signed by another key than it names, envelopes
//! correctly encrypted around a malformed certificate or padding, or
//! sealed by another identity than their certificate names), and their
//! expected outcome is still the library's.

#[path = "../tests/support/spec_impl.rs"]
mod spec_impl;

use chatcrypt::{media, AcceptPolicy, PqPolicy};
use std::{collections::BTreeMap, convert::Infallible, fs, path::Path};

use chatcrypt::{
    hazmat, Error, IdentityKeyPair, KemPreKey, KemPreKeyPublic, KemPreKeyUse, KemType, Mode, ModePolicy,
    OneTimePreKey, OneTimePreKeyPublic, PreKeyBundle, PreKeyMessage, SafetyNumber, Session, SignedPreKey,
    SignedPreKeyPublic,
};
use chatcrypt::{
    AccountKeyPair, DeviceCertificate, DeviceId, DeviceLink, DeviceList, LocalDevice, PeerAccount,
    PreKeyUpload, RetryMessage, RetryOutcome, SessionPolicy, SessionRecord,
};
use rand_chacha::{
    rand_core::{Rng, SeedableRng, TryCryptoRng, TryRng},
    ChaCha20Rng,
};
use serde_json::{json, Value};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An RNG that records every draw, so the vectors can list them.
struct Recorder {
    inner: ChaCha20Rng,
    draws: Vec<String>,
}

impl Recorder {
    fn new(seed: u8) -> Self {
        Recorder { inner: ChaCha20Rng::from_seed([seed; 32]), draws: Vec::new() }
    }
    fn bytes32(&mut self) -> [u8; 32] {
        let mut b = [0u8; 32];
        self.fill_bytes(&mut b);
        b
    }
    fn bytes16(&mut self) -> [u8; 16] {
        let mut b = [0u8; 16];
        self.fill_bytes(&mut b);
        b
    }
}

impl TryRng for Recorder {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("chatcrypt only draws bytes")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unreachable!("chatcrypt only draws bytes")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.inner.fill_bytes(dst);
        self.draws.push(hex(dst));
        Ok(())
    }
}
impl TryCryptoRng for Recorder {}

impl spec_impl::Draw for Recorder {
    fn draw(&mut self, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        self.fill_bytes(&mut b);
        b
    }
}

fn write(dir: &Path, name: &str, description: &str, cases: Vec<Value>) {
    let doc = json!({
        "description": description,
        "spec": "SPEC.md, protocol version 2",
        "generator": "cargo run --example gen_vectors --features hazmat",
        "number_of_cases": cases.len(),
        "cases": cases,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON encodes");
    text.push('\n');
    fs::write(dir.join(name), text).expect("write vector file");
    println!("wrote test-vectors/protocol/{name}: {} cases", doc["number_of_cases"]);
}

fn kdf_vectors(dir: &Path) {
    let mut rng = Recorder::new(1);
    let mut rk_cases = Vec::new();
    let mut rk = rng.bytes32();
    for step in 0..4 {
        let dh = rng.bytes32();
        let (new_rk, ck) = hazmat::kdf_rk(&rk, &dh);
        rk_cases.push(json!({
            "description": format!("KDF_RK step {step} of a chain: each case's rk is the previous case's new_rk"),
            "rk": hex(&rk), "dh_out": hex(&dh), "new_rk": hex(&new_rk), "ck": hex(&ck),
        }));
        rk = new_rk;
    }
    let (new_rk, ck) = hazmat::kdf_rk(&[0; 32], &[0; 32]);
    rk_cases.push(json!({"description": "KDF_RK with all-zero inputs", "rk": hex(&[0;32]), "dh_out": hex(&[0;32]), "new_rk": hex(&new_rk), "ck": hex(&ck)}));
    write(
        dir,
        "kdf_rk.json",
        "KDF_RK (SPEC.md 6.1): HKDF-SHA256(salt = rk, ikm = dh_out, info = \"chatcrypt v1 root\", 64)",
        rk_cases,
    );

    let mut ck_cases = Vec::new();
    for (c, len) in [(0, 5usize), (1, 3)] {
        let start = if c == 0 { rng.bytes32() } else { [0u8; 32] };
        let mut ck = start;
        let mut steps = Vec::new();
        for _ in 0..len {
            let (next, mk) = hazmat::kdf_ck(&ck);
            steps.push(json!({"mk": hex(&mk), "next_ck": hex(&next)}));
            ck = next;
        }
        ck_cases.push(json!({
            "description": format!("{len} consecutive KDF_CK steps from {}", if c == 0 { "a random chain key" } else { "an all-zero chain key" }),
            "ck": hex(&start), "steps": steps,
        }));
    }
    write(
        dir,
        "kdf_ck.json",
        "KDF_CK (SPEC.md 6.1): mk = HMAC-SHA256(ck, 0x01), next_ck = HMAC-SHA256(ck, 0x02)",
        ck_cases,
    );

    // The message keys take the reuse guard (SPEC.md 6.1, 6.3); the guards
    // come from their own RNG so that the files after this one keep their
    // inputs.
    let mut guards = Recorder::new(4);
    let mut mks = Vec::new();
    for i in 0..3 {
        mks.push(if i == 2 { [0u8; 32] } else { rng.bytes32() });
    }
    let mk_inputs = [
        ("a random mk and guard", mks[0], guards.bytes16()),
        ("another random mk and guard", mks[1], guards.bytes16()),
        ("all-zero mk and guard", mks[2], [0u8; 16]),
        (
            "the mk of the first case with another guard: a second encryption under one message key (a restored sender) gets another key and nonce",
            mks[0],
            guards.bytes16(),
        ),
        ("all-zero mk, guard 0xff * 16", mks[2], [0xff; 16]),
    ];
    let mut mk_cases = Vec::new();
    for (description, mk, guard) in mk_inputs {
        let (key, nonce) = hazmat::message_keys(&mk, &guard);
        mk_cases.push(json!({"description": description, "mk": hex(&mk), "guard": hex(&guard), "key": hex(&key), "nonce": hex(&nonce)}));
    }
    write(dir, "message_keys.json", "MESSAGE_KEYS (SPEC.md 6.1): HKDF-Expand(prk = mk, info = \"chatcrypt v2 message keys\" || guard, 44) = key (32) || nonce (12)", mk_cases);

    let mut he_cases = Vec::new();
    let mut rk = rng.bytes32();
    for step in 0..3 {
        let dh = rng.bytes32();
        let (new_rk, ck, nhk) = hazmat::kdf_rk_he(&rk, &dh);
        he_cases.push(json!({
            "description": format!("KDF_RK_HE step {step} of a chain: each case's rk is the previous case's new_rk"),
            "rk": hex(&rk), "dh_out": hex(&dh), "new_rk": hex(&new_rk), "ck": hex(&ck), "nhk": hex(&nhk),
        }));
        rk = new_rk;
    }
    write(dir, "kdf_rk_he.json", "KDF_RK_HE (SPEC.md 14.1): HKDF-SHA256(salt = rk, ikm = dh_out, info = \"chatcrypt v1 root header encryption\", 96) = new_rk || ck || nhk", he_cases);

    let mut hk_cases = Vec::new();
    for i in 0..3 {
        let hk = rng.bytes32();
        let mut sample = [0u8; 16];
        sample.copy_from_slice(&rng.bytes32()[..16]);
        let (key, nonce) = hazmat::header_keys(&hk, &sample);
        hk_cases.push(json!({"description": format!("HEADER_KEYS case {i}"), "hk": hex(&hk), "sample": hex(&sample), "key": hex(&key), "nonce": hex(&nonce)}));
    }
    write(dir, "header_keys.json", "HEADER_KEYS (SPEC.md 14.1): HKDF-Expand(prk = hk, info = \"chatcrypt v1 header\" || sample, 44) = key (32) || nonce (12)", hk_cases);
}

fn identity_json(id: &IdentityKeyPair) -> Value {
    let x_priv = hazmat::identity_x25519_private(id);
    json!({
        "seed": hex(&id.seed()[..]),
        "ed25519_public": hex(id.public_key().as_bytes()),
        "x25519_private": hex(&x_priv),
        "x25519_public": hex(id.public_key().x25519_bytes()),
    })
}

fn identity_vectors(dir: &Path) {
    let mut cases = Vec::new();
    // RFC 8032 section 7.1 TEST 1-3 seeds.
    for (name, seed) in [
        ("RFC 8032 TEST 1 key", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
        ("RFC 8032 TEST 2 key", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"),
        ("RFC 8032 TEST 3 key", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"),
    ] {
        let mut seed_bytes = [0u8; 32];
        for i in 0..32 {
            seed_bytes[i] = u8::from_str_radix(&seed[2 * i..2 * i + 2], 16).expect("hex");
        }
        let id = IdentityKeyPair::from_seed(&seed_bytes);
        let mut v = identity_json(&id);
        v["description"] = json!(name);
        cases.push(v);
    }
    let mut rng = Recorder::new(2);
    for i in 0..3 {
        let id = IdentityKeyPair::generate(&mut rng);
        let mut v = identity_json(&id);
        v["description"] = json!(format!("random seed {i}"));
        cases.push(v);
    }
    write(dir, "identity.json", "Identity keys (SPEC.md 3): Ed25519 seed -> Ed25519 public key -> X25519 private (SHA-512(seed)[0..32]) and public (Montgomery form)", cases);
}

struct Bob {
    identity: IdentityKeyPair,
    spk: SignedPreKey,
    opk: Option<OneTimePreKey>,
    spk_private: [u8; 32],
    opk_private: Option<[u8; 32]>,
    /// The KEM prekey of a hybrid bundle (SPEC.md 16.2), with its seed.
    kem: Option<(KemPreKey, [u8; 64])>,
}

fn make_bob(seed: u8, with_opk: bool) -> Bob {
    let mut rng = Recorder::new(seed);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&identity, 0x0102_0304 + u32::from(seed), &mut rng);
    let opk = with_opk.then(|| OneTimePreKey::generate(1000 + u32::from(seed), &mut rng));
    let spk_private: [u8; 32] = hex_to32(&rng.draws[1]);
    let opk_private = with_opk.then(|| hex_to32(&rng.draws[2]));
    Bob { identity, spk, opk, spk_private, opk_private, kem: None }
}

/// `make_bob` with an ML-KEM-1024 prekey (id `0x4B00_0000 + seed`) from its
/// own RNG, so that the classical keys are those of `make_bob(seed, ..)`.
fn make_bob_hybrid(seed: u8, with_opk: bool) -> Bob {
    make_bob_hybrid_with(seed, with_opk, 0x4B00_0000 + u32::from(seed))
}

fn make_bob_hybrid_with(seed: u8, with_opk: bool, kem_id: u32) -> Bob {
    let mut bob = make_bob(seed, with_opk);
    bob.kem = Some(make_kem_prekey(&bob.identity, kem_id, seed ^ 0x4B));
    bob
}

/// A KEM prekey from `Recorder::new(rng_seed)`, with the 64-byte seed it drew.
fn make_kem_prekey(owner: &IdentityKeyPair, id: u32, rng_seed: u8) -> (KemPreKey, [u8; 64]) {
    let mut rng = Recorder::new(rng_seed);
    let key = KemPreKey::generate(owner, id, &mut rng);
    assert_eq!(rng.draws.len(), 1, "one 64-byte draw: the seed d || z");
    let seed: [u8; 64] = hex_to(&rng.draws[0]);
    assert_eq!(hazmat::kem_public_key(KemType::MlKem1024, &seed), key.public().key());
    (key, seed)
}

fn hex_to<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for i in 0..N {
        out[i] = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

/// A KEM prekey object (SPEC.md 16.2).
fn kem_prekey_json(key: &KemPreKey, seed: &[u8; 64]) -> Value {
    let public = key.public();
    assert_eq!(public.kem_type(), KemType::MlKem1024);
    json!({
        "type": public.kem_type().to_byte(),
        "id": public.id(),
        "seed": hex(seed),
        "public": hex(public.key()),
        "signed_message": hex(&hazmat::kem_prekey_message(public.kem_type(), public.id(), public.key())),
        "signature": hex(public.signature()),
        "public_encoding": hex(&public.to_bytes()),
    })
}

/// A fresh copy of Bob's KEM prekey (a one-time KEM prekey is consumed by
/// accept), through its stored form.
fn kem_copy(bob: &Bob) -> Option<KemPreKeyUse<'static>> {
    bob.kem
        .as_ref()
        .map(|(k, _)| KemPreKeyUse::OneTime(KemPreKey::from_bytes(&k.to_bytes()).expect("stored KEM prekey")))
}

fn hex_to32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..32 {
        out[i] = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

fn bob_json(bob: &Bob) -> Value {
    let spk = bob.spk.public();
    let mut v = json!({
        "identity": identity_json(&bob.identity),
        "signed_prekey": {
            "id": spk.id(), "private": hex(&bob.spk_private), "public": hex(spk.key()), "signature": hex(spk.signature()),
            "signed_message": hex(&hazmat::signed_prekey_message(spk.id(), spk.key())),
        },
        "one_time_prekey": match (&bob.opk, &bob.opk_private) {
            (Some(k), Some(p)) => json!({"id": k.id(), "private": hex(p), "public": hex(k.public().key())}),
            _ => Value::Null,
        },
    });
    // Only hybrid keys have the field, so the classical vectors keep their bytes.
    if let Some((k, seed)) = &bob.kem {
        v["kem_prekey"] = kem_prekey_json(k, seed);
    }
    v
}

fn bundle_of(bob: &Bob) -> PreKeyBundle {
    let b = PreKeyBundle::new(
        bob.identity.public_key().clone(),
        bob.spk.public().clone(),
        bob.opk.as_ref().map(|k| k.public().clone()),
    );
    match &bob.kem {
        Some((k, _)) => b.with_kem_prekey(k.public().clone()),
        None => b,
    }
}

/// A fresh copy of Bob's one-time prekey (accept consumes it; it is not
/// `Clone`), through its stored form.
fn opk_copy(bob: &Bob) -> Option<OneTimePreKey> {
    bob.opk.as_ref().map(|k| OneTimePreKey::from_bytes(&k.to_bytes()).expect("stored one-time prekey"))
}

/// A library session's state in the SPEC.md implementation (SPEC.md 10.4).
fn spec_session(s: &Session) -> spec_impl::Session {
    spec_impl::Session::decode(&s.to_bytes()).expect("the SPEC implementation decodes the state")
}

/// What `session` would send next, with its ratchet key replaced by a
/// non-canonical alias (bit 255 set, SPEC.md 2) and the message otherwise
/// correct: a receiver that masks bit 255 instead of rejecting the key
/// derives the same X25519 output and accepts it. Built by the SPEC.md
/// implementation; `session` itself is not changed.
fn aliased_ratchet_key_message(session: &Session, plaintext: &[u8], rng: &mut Recorder) -> Vec<u8> {
    let mut spec = spec_session(session);
    spec.dhs_pub[31] |= 0x80;
    spec.encrypt(plaintext, rng).expect("encrypt")
}

fn x3dh_vectors(dir: &Path) {
    let mut cases = Vec::new();
    for (seed, with_opk) in [(10u8, true), (11, false)] {
        let bob = make_bob(seed, with_opk);
        let mut arng = Recorder::new(seed + 100);
        let alice = IdentityKeyPair::generate(&mut arng);
        let ek = arng.bytes32();
        let ek_pub = hazmat::x25519_base(&ek);
        let a_x = hazmat::identity_x25519_private(&alice);
        let spk = *bob.spk.public().key();
        let dh1 = hazmat::x25519(&a_x, &spk).expect("contributory");
        let dh2 = hazmat::x25519(&ek, bob.identity.public_key().x25519_bytes()).expect("contributory");
        let dh3 = hazmat::x25519(&ek, &spk).expect("contributory");
        let dh4 = bob.opk.as_ref().map(|k| hazmat::x25519(&ek, k.public().key()).expect("contributory"));
        let sk = hazmat::x3dh_initiator(
            &alice,
            &ek,
            bob.identity.public_key(),
            &spk,
            bob.opk.as_ref().map(|k| k.public().key()),
        )
        .expect("x3dh");
        let ad = hazmat::associated_data(alice.public_key(), bob.identity.public_key());
        let (sk_he, hka, nhkb) = hazmat::x3dh_initiator_he(
            &alice,
            &ek,
            bob.identity.public_key(),
            &spk,
            bob.opk.as_ref().map(|k| k.public().key()),
        )
        .expect("x3dh");
        cases.push(json!({
            "description": if with_opk { "X3DH with a one-time prekey (DH1..DH4)" } else { "X3DH without a one-time prekey (DH1..DH3)" },
            "header_encryption": {"sk": hex(&sk_he), "hka": hex(&hka), "nhkb": hex(&nhkb)},
            "alice": {"identity": identity_json(&alice), "ephemeral_private": hex(&ek), "ephemeral_public": hex(&ek_pub)},
            "bob": bob_json(&bob),
            "bundle": hex(&bundle_of(&bob).to_bytes()),
            "dh1": hex(&dh1), "dh2": hex(&dh2), "dh3": hex(&dh3),
            "dh4": dh4.map(|d| hex(&d)),
            "sk": hex(&sk), "ad": hex(&ad),
        }));
    }
    write(
        dir,
        "x3dh.json",
        "X3DH (SPEC.md 5): all keys of both sides, each DH output, SK and AD, and the bundle bytes; \
         header_encryption holds the SPEC.md 14.2 outputs from the same DHs",
        cases,
    );
}

/// A scripted conversation. `Send(from_alice, text)` sends and keeps the
/// message in flight under the next id; `Deliver(id)` delivers it.
enum Ev {
    A(&'static str),
    B(&'static str),
    Deliver(usize),
}

struct Convo {
    alice_rng: Recorder,
    bob_rng: Recorder,
    alice: Session,
    bob: Option<Session>,
    bob_keys: Bob,
    sent: Vec<(bool, Vec<u8>, Vec<u8>)>,
    events: Vec<Value>,
}

impl Convo {
    fn new(seed: u8, with_opk: bool) -> (Self, IdentityKeyPair) {
        Self::new_in(Mode::Plain, seed, with_opk)
    }

    fn new_in(mode: Mode, seed: u8, with_opk: bool) -> (Self, IdentityKeyPair) {
        Self::new_with(mode, make_bob(seed, with_opk), seed)
    }

    /// A hybrid handshake (SPEC.md 16): Bob's bundle has a KEM prekey, and
    /// both sides use the default policies (hybrid required).
    fn new_hybrid(mode: Mode, seed: u8, with_opk: bool) -> (Self, IdentityKeyPair) {
        Self::new_with(mode, make_bob_hybrid(seed, with_opk), seed)
    }

    fn new_with(mode: Mode, bob_keys: Bob, seed: u8) -> (Self, IdentityKeyPair) {
        let mut id_rng = Recorder::new(seed + 100);
        let alice_id = IdentityKeyPair::generate(&mut id_rng);
        let mut alice_rng = Recorder::new(seed + 200);
        let pq = if bob_keys.kem.is_some() { PqPolicy::Required } else { PqPolicy::AllowClassical };
        let alice = Session::initiate_with(&alice_id, &bundle_of(&bob_keys), mode, pq, &mut alice_rng)
            .expect("initiate");
        assert_eq!(alice.is_post_quantum(), bob_keys.kem.is_some());
        let bob_rng = Recorder::new(seed + 150);
        (
            Convo { alice_rng, bob_rng, alice, bob: None, bob_keys, sent: Vec::new(), events: Vec::new() },
            alice_id,
        )
    }

    fn run(&mut self, script: &[Ev]) {
        for ev in script {
            match ev {
                Ev::A(text) | Ev::B(text) => {
                    let from_alice = matches!(ev, Ev::A(_));
                    let (session, rng) = if from_alice {
                        (&mut self.alice, &mut self.alice_rng)
                    } else {
                        (self.bob.as_mut().expect("bob has a session"), &mut self.bob_rng)
                    };
                    let msg = session.encrypt(text.as_bytes(), rng).expect("encrypt");
                    let id = self.sent.len();
                    self.events.push(json!({
                        "op": "send", "from": if from_alice { "alice" } else { "bob" }, "id": id,
                        "plaintext": hex(text.as_bytes()), "message": hex(&msg),
                    }));
                    self.sent.push((from_alice, text.as_bytes().to_vec(), msg));
                }
                Ev::Deliver(id) => {
                    let (from_alice, plaintext, msg) = &self.sent[*id];
                    let (got, message_id) = if *from_alice {
                        match &mut self.bob {
                            Some(s) => s.decrypt_with_id(msg, &mut self.bob_rng).expect("bob decrypts"),
                            None => {
                                let pm = PreKeyMessage::from_bytes(msg).expect("prekey message");
                                let opk = if pm.one_time_prekey_id().is_some() {
                                    opk_copy(&self.bob_keys)
                                } else {
                                    None
                                };
                                let pq = if self.bob_keys.kem.is_some() {
                                    PqPolicy::Required
                                } else {
                                    PqPolicy::AllowClassical
                                };
                                let accepted = Session::accept(
                                    &self.bob_keys.identity,
                                    &self.bob_keys.spk,
                                    opk,
                                    kem_copy(&self.bob_keys),
                                    &pm,
                                    AcceptPolicy::new(ModePolicy::Any, pq),
                                    &mut self.bob_rng,
                                )
                                .expect("accept");
                                assert_eq!(accepted.session.is_post_quantum(), pm.is_post_quantum());
                                self.bob = Some(accepted.session);
                                (accepted.plaintext, accepted.id)
                            }
                        }
                    } else {
                        self.alice.decrypt_with_id(msg, &mut self.alice_rng).expect("alice decrypts")
                    };
                    assert_eq!(&got, plaintext);
                    self.events.push(json!({
                        "op": "deliver", "to": if *from_alice { "bob" } else { "alice" }, "id": id,
                        "plaintext": hex(&got), "message_id": hex(message_id.as_bytes()),
                    }));
                }
            }
        }
    }

    fn to_json(&self, description: &str, alice_id: &IdentityKeyPair) -> Value {
        json!({
            "description": description,
            "mode": match self.alice.mode() { Mode::Plain => "plain", _ => "header_encryption" },
            "alice": {"identity": identity_json(alice_id), "rng_draws": self.alice_rng.draws},
            "bob": {"keys": bob_json(&self.bob_keys), "rng_draws": self.bob_rng.draws},
            "bundle": hex(&bundle_of(&self.bob_keys).to_bytes()),
            "events": self.events,
        })
    }
}

/// A `decrypt` rejection: `session` must refuse `msg` with an error and stay unchanged.
fn reject_decrypt(rejects: &mut Vec<Value>, desc: &str, session: &mut Session, msg: &[u8]) {
    let state = hex(&session.to_bytes());
    let mut rng = Recorder::new(99);
    let err = session.decrypt(msg, &mut rng).expect_err("must be rejected");
    assert_eq!(hex(&session.to_bytes()), state, "{desc}: rejection changed state");
    assert!(rng.draws.is_empty(), "{desc}: a failed decrypt drew randomness");
    rejects.push(json!({"description": desc, "kind": "decrypt", "state": state, "message": hex(msg), "error": format!("{err:?}")}));
}

fn session_vectors(dir: &Path) -> Vec<Value> {
    use Ev::*;
    let mut cases = Vec::new();
    let mut rejects = Vec::new();

    let (mut c, aid) = Convo::new(20, true);
    c.run(&[
        A("hello Bob"),
        A("second"),
        Deliver(0),
        Deliver(1),
        B("hi Alice"),
        Deliver(2),
        A("how are you?"),
        Deliver(3),
        B(""),
        Deliver(4),
    ]);
    cases.push(c.to_json(
        "In-order conversation with a one-time prekey; three DH ratchet steps; an empty plaintext",
        &aid,
    ));

    let (mut c, aid) = Convo::new(21, false);
    c.run(&[
        A("a0"),
        A("a1"),
        A("a2"), // ids 0, 1, 2
        Deliver(1),
        Deliver(2), // a0 is late
        B("b0"),
        B("b1"),    // ids 3, 4
        Deliver(4), // b1 before b0
        A("a3"),
        A("a4"), // ids 5, 6: a new chain after Alice saw b1
        Deliver(6),
        Deliver(0), // a4, then a0 from Alice's first chain
        Deliver(3),
        Deliver(5), // b0 (skipped key), a3 (skipped key)
        B("b2"),
        Deliver(7), // id 7
        A("a5"),
        Deliver(8), // id 8
        B("b3"),
        B("b4"),
        Deliver(10),
        Deliver(9), // ids 9, 10
    ]);
    cases.push(c.to_json(
        "Out-of-order delivery within chains and across several DH ratchet steps, no one-time prekey",
        &aid,
    ));

    let (mut c, aid) = Convo::new(22, true);
    let mut script = vec![A("start"), Deliver(0), B("ok"), Deliver(1)];
    const BURST: &[&str] = &[
        "m00", "m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08", "m09", "m10", "m11", "m12", "m13",
        "m14", "m15", "m16", "m17", "m18", "m19", "m20", "m21", "m22", "m23", "m24", "m25", "m26", "m27",
        "m28", "m29", "m30", "m31", "m32", "m33", "m34", "m35", "m36", "m37", "m38", "m39",
    ];
    for t in BURST {
        script.push(A(t));
    }
    for i in (2..2 + BURST.len()).rev() {
        if i % 7 != 3 {
            script.push(Deliver(i)); // some are lost forever
        }
    }
    script.push(B("got most of them"));
    script.push(Deliver(2 + BURST.len()));
    c.run(&script);
    cases.push(
        c.to_json("A long one-way burst of 40 messages delivered in reverse order, with some lost", &aid),
    );

    let (mut c4, aid4) = Convo::new(23, true);
    c4.run(&[
        A("a0"),
        A("a1"),
        A("a2"),    // ids 0, 1, 2
        Deliver(0), // Bob: Nr = 1 on Alice's first chain
        B("b0"),
        Deliver(3), // id 3; Alice ratchets
        A("a3"),
        Deliver(4), // id 4: PN = 3 > Nr = 1, so Bob stores the keys of a1 and a2
        Deliver(2),
        Deliver(1), // the stored keys of the old chain
        B("b1"),
        Deliver(5),
        A("a4"),
        Deliver(6),
    ]);
    cases.push(c4.to_json("A new ratchet step whose PN is ahead of the receiving chain: the old chain's remaining keys are stored and used", &aid4));

    let (mut he, aid_he) = Convo::new_in(Mode::HeaderEncryption, 24, true);
    he.run(&[
        A("a0"),
        A("a1"),
        A("a2"),    // ids 0, 1, 2
        Deliver(1), // Bob accepts a1; a0's key is stored
        B("b0"),
        B("b1"),    // ids 3, 4
        Deliver(4), // b1 before b0
        A("a3"),
        A("a4"),    // ids 5, 6: a new chain
        Deliver(6), // PN = 3 > Nr = 2: a2's key is stored
        Deliver(0),
        Deliver(2), // late a0 and a2 under the previous chain's header key
        Deliver(3),
        Deliver(5),
        B("b2"),
        Deliver(7),
        A("a5"),
        Deliver(8),
    ]);
    cases.push(he.to_json("Header encryption: out-of-order delivery across DH ratchet steps, late messages under earlier header keys", &aid_he));
    {
        let bob = he.bob.as_mut().expect("bob");
        let genuine = he.alice.encrypt(b"genuine", &mut he.alice_rng).expect("encrypt");
        // EH is bytes 2..74: 56 bytes of encrypted header, then its tag.
        let mut cases_he: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut m = genuine.clone();
        m[2 + 5] ^= 0x01;
        cases_he.push(("header encryption: tampered encrypted header", m));
        let mut m = genuine.clone();
        m[2 + 50] ^= 0x01;
        cases_he.push((
            "header encryption: tampered encrypted header, in the bytes that hide the reuse guard",
            m,
        ));
        let mut m = genuine.clone();
        m[2 + 61] ^= 0x01;
        cases_he.push(("header encryption: tampered header tag", m));
        let mut m = genuine.clone();
        let n = m.len();
        m[n - 1] ^= 0x01;
        cases_he.push((
            "header encryption: tampered body tag (changes the sample, so the header does not open)",
            m,
        ));
        // Relabelled as plain, EH's first 32 bytes are read as a ratchet
        // key (SPEC.md 7.3): with bit 255 set the key check fails first;
        // with it clear the message decodes and the session rejects the type.
        let mut m = genuine.clone();
        m[1] = 0x02;
        m[2 + 31] |= 0x80;
        cases_he.push((
            "header encryption: a plain-mode type byte, the encrypted header's first 32 bytes (read as a plain ratchet key) with bit 255 set: the key check of the plain layout comes before the session's mode check",
            m,
        ));
        let mut m = genuine.clone();
        m[1] = 0x02;
        m[2 + 31] &= 0x7f;
        cases_he.push((
            "header encryption: a plain-mode type byte, decoding in the plain layout (bit 255 of the would-be ratchet key clear): the session rejects the mode",
            m,
        ));
        cases_he.push(("header encryption: replay of a delivered message", he.sent[8].2.clone()));
        // A header opened by HKr (Alice's current chain) that names that
        // chain's ratchet key with bit 255 set: the source check (SPEC.md
        // 14.4 step 3) fails before the key's encoding is looked at: Auth.
        cases_he.push((
            "header encryption: a header opened by HKr names the current chain's ratchet key with bit 255 set: the source check (step 3) comes before the canonical check (step 4), so Auth",
            aliased_ratchet_key_message(&he.alice, b"aliased current chain", &mut Recorder::new(93)),
        ));
        for (desc, msg) in cases_he {
            reject_decrypt(&mut rejects, desc, bob, &msg);
        }

        // Alice ratchets once more; her next message's header is encrypted
        // under Bob's NHKr (a chain Bob has not seen). With a non-canonical
        // alias of her new ratchet key in it, the header opens and passes
        // the source check of SPEC.md 14.4 step 3, and step 4 rejects it.
        let b3 = bob.encrypt(b"b3", &mut he.bob_rng).expect("encrypt");
        he.alice.decrypt(&b3, &mut he.alice_rng).expect("alice decrypts");
        let m = aliased_ratchet_key_message(&he.alice, b"aliased ratchet key", &mut Recorder::new(94));
        reject_decrypt(
            &mut rejects,
            "header encryption: the decrypted header of a new chain (opened by NHKr) names a non-canonical ratchet key (bit 255 set); masking bit 255 would decrypt it",
            bob,
            &m,
        );
    }

    // Rejections against Bob's state in the conversation with PN ahead.
    {
        let bob4 = c4.bob.as_mut().expect("bob");
        for (desc, id) in [
            ("replay of a message from an earlier chain (its ratchet key is remembered)", 1usize),
            ("replay of the handshake's first PreKeyMessage", 0),
        ] {
            let msg = c4.sent[id].2.clone();
            reject_decrypt(&mut rejects, desc, bob4, &msg);
        }
        // A PreKeyMessage of another handshake by the same initiator, and one by another identity.
        let mut other_rng = Recorder::new(97);
        let mut again = Session::initiate_with(
            &aid4,
            &bundle_of(&c4.bob_keys),
            Mode::Plain,
            PqPolicy::AllowClassical,
            &mut other_rng,
        )
        .expect("initiate");
        let other_handshake = again.encrypt(b"new handshake", &mut other_rng).expect("encrypt");
        let stranger = IdentityKeyPair::from_seed(&[77; 32]);
        let mut s = Session::initiate_with(
            &stranger,
            &bundle_of(&c4.bob_keys),
            Mode::Plain,
            PqPolicy::AllowClassical,
            &mut other_rng,
        )
        .expect("initiate");
        let from_stranger = s.encrypt(b"stranger", &mut other_rng).expect("encrypt");
        for (desc, msg) in [
            ("PreKeyMessage of another handshake by the same initiator", other_handshake),
            ("PreKeyMessage from another identity", from_stranger),
        ] {
            reject_decrypt(&mut rejects, desc, bob4, &msg);
        }
    }

    // Rejections against Bob's state in the burst conversation. Alice's next
    // message starts a new chain for Bob (n = 0).
    let bob = c.bob.as_mut().expect("bob");
    let aliased = aliased_ratchet_key_message(&c.alice, b"aliased ratchet key", &mut Recorder::new(95));
    let genuine = c.alice.encrypt(b"genuine", &mut c.alice_rng).expect("encrypt");
    let mut m = genuine.clone();
    let last = m.len() - 20;
    m[last] ^= 0x01;
    reject_decrypt(&mut rejects, "tampered ciphertext", bob, &m);
    let mut m = genuine.clone();
    let n = m.len();
    m[n - 1] ^= 0x80;
    reject_decrypt(&mut rejects, "tampered tag", bob, &m);
    let mut m = genuine.clone();
    m[41] ^= 0x01; // lowest bit of N
    reject_decrypt(&mut rejects, "tampered header: message number", bob, &m);
    let mut m = genuine.clone();
    m[35] ^= 0x01;
    reject_decrypt(&mut rejects, "tampered header: previous chain length", bob, &m);
    let mut m = genuine.clone();
    m[50] ^= 0x01; // G is bytes 42..58
    reject_decrypt(&mut rejects, "tampered header: reuse guard", bob, &m);
    let mut m = genuine.clone();
    m[0] = 0x03;
    reject_decrypt(&mut rejects, "unknown version 3", bob, &m);
    let mut m = genuine.clone();
    m[0] = 0x01;
    reject_decrypt(
        &mut rejects,
        "a version-2 message relabelled as version 1 (read without a guard, it does not authenticate)",
        bob,
        &m,
    );
    let mut m = genuine.clone();
    m[1] = 0x05;
    reject_decrypt(&mut rejects, "unknown message type", bob, &m);
    reject_decrypt(&mut rejects, "truncated inside the header", bob, &genuine[..30]);
    reject_decrypt(&mut rejects, "truncated: shorter than a tag after the header", bob, &genuine[..58 + 15]);
    let mut m = genuine.clone();
    m[2..34].copy_from_slice(&[0u8; 32]);
    reject_decrypt(&mut rejects, "low-order ratchet key (u = 0) starting a new ratchet step", bob, &m);
    reject_decrypt(
        &mut rejects,
        "non-canonical ratchet key (bit 255 set) starting a new ratchet step; masking bit 255 would decrypt it",
        bob,
        &aliased,
    );
    let mut m = genuine.clone();
    m[2..34].copy_from_slice(&P);
    reject_decrypt(&mut rejects, "non-canonical ratchet key u = p (2^255 - 19)", bob, &m);
    let mut m = genuine[..2 + 32 + 4].to_vec();
    m[2 + 31] |= 0x80;
    reject_decrypt(
        &mut rejects,
        "truncated inside the header after a non-canonical ratchet key (bit 255 set): the key is checked as soon as it is read (SPEC.md 1, 7.3), before the truncation",
        bob,
        &m,
    );
    let mut m = genuine.clone();
    m[38..42].copy_from_slice(&u32::MAX.to_be_bytes());
    reject_decrypt(&mut rejects, "message number 0xFFFFFFFF", bob, &m);
    // Replay: decrypt once, then the same bytes again.
    let replayed = c.sent[2 + BURST.len() - 1].2.clone(); // the last burst message, already delivered
    reject_decrypt(&mut rejects, "replay of a delivered message", bob, &replayed);
    // Too far ahead: Alice's next message is `genuine` (n = 0 of a new
    // chain); 1001 more make the last one skip MAX_SKIP + 1 keys.
    let mut far = Vec::new();
    for _ in 0..1001 {
        far = c.alice.encrypt(b"far", &mut c.alice_rng).expect("encrypt");
    }
    reject_decrypt(
        &mut rejects,
        "too far ahead: a new chain's message number 1001 would skip MAX_SKIP + 1 keys",
        bob,
        &far,
    );
    // A plain message relabelled as header-encrypted decodes in that layout
    // (it is long enough), then the plain session rejects the mode.
    let mut m = c
        .alice
        .encrypt(b"long enough to decode as a header-encrypted message", &mut c.alice_rng)
        .expect("encrypt");
    m[1] = 0x04;
    reject_decrypt(&mut rejects, "a header-encrypted message type sent to a plain session", bob, &m);

    // Hybrid handshakes (SPEC.md 16): Bob's keys have a KEM prekey, both
    // sides use the default policies. Every PreKeyMessage carries the same
    // KEM part; after the first reply the messages are classical in size.
    for (mode, seed, with_opk, description) in [
        (Mode::Plain, 25u8, true, "Hybrid handshake (ML-KEM-1024, SPEC.md 16) with a one-time prekey: two PreKeyMessages with the same KEM part, accepted out of order, then replies"),
        (Mode::HeaderEncryption, 26, false, "Hybrid handshake (ML-KEM-1024, SPEC.md 16) with header encryption and no one-time prekey: two PreKeyMessages with the same KEM part, accepted out of order, then replies"),
    ] {
        let (mut h, aid) = Convo::new_hybrid(mode, seed, with_opk);
        h.run(&[
            A("hello, post-quantum Bob"),
            A("a second PreKeyMessage"),
            Deliver(1),
            Deliver(0),
            B("hi Alice"),
            Deliver(2),
            A("after the reply: no KEM part"),
            Deliver(3),
            B("and a new ratchet step"),
            Deliver(4),
        ]);
        assert!(h.alice.is_post_quantum() && h.bob.as_ref().is_some_and(Session::is_post_quantum));
        cases.push(h.to_json(description, &aid));
    }

    write(dir, "session.json", "Whole conversations (SPEC.md 6-8, 14, 16): keys, RNG draws, every message in order of sending, the order of delivery, every plaintext and message id", cases);
    rejects
}

/// KEM prekeys (SPEC.md 16.2): the signed message, the signature, the
/// public encoding and the stored form, from the library.
fn kem_prekey_vectors(dir: &Path) {
    let mut rng = Recorder::new(60);
    let owners: Vec<IdentityKeyPair> = (0..2).map(|_| IdentityKeyPair::generate(&mut rng)).collect();
    let mut cases = Vec::new();
    for (description, owner, id, rng_seed) in [
        ("ML-KEM-1024 prekey, id 1", 0usize, 1u32, 61u8),
        ("ML-KEM-1024 prekey, id 0xFFFFFFFF", 0, u32::MAX, 62),
        ("ML-KEM-1024 prekey of another identity, id 0", 1, 0, 63),
    ] {
        let owner = &owners[owner];
        let (key, seed) = make_kem_prekey(owner, id, rng_seed);
        let public = key.public();
        public.verify(owner.public_key()).expect("verifies");
        assert_eq!(KemPreKeyPublic::from_bytes(&public.to_bytes()).as_ref(), Ok(public));
        let mut v = kem_prekey_json(&key, &seed);
        v["description"] = json!(description);
        v["identity"] = identity_json(owner);
        v["state"] = json!(hex(&key.to_bytes()));
        cases.push(v);
    }
    write(dir, "kem_prekey.json", "KEM prekeys (SPEC.md 16.1, 16.2): seed (d || z) -> ML-KEM-1024 encapsulation key; signed_message = \"chatcrypt v3 kem prekey\" || u8(type) || u32(id) || EK (1596 bytes); Ed25519 signature under the identity; public_encoding (type || u32(id) || EK || SIG_K, 1637 bytes); state (tag 0x4B, 135 bytes)", cases);
}

/// The hybrid X3DH (SPEC.md 16.5, 16.6) on explicit inputs, both modes.
fn x3dh_hybrid_vectors(dir: &Path) {
    let mut cases = Vec::new();
    for (seed, with_opk) in [(12u8, true), (13, false)] {
        let bob = make_bob_hybrid(seed, with_opk);
        let (kem, kem_seed) = bob.kem.as_ref().expect("hybrid");
        let mut arng = Recorder::new(seed + 100);
        let alice = IdentityKeyPair::generate(&mut arng);
        let ek = arng.bytes32();
        let m = arng.bytes32();
        let ek_pub = hazmat::x25519_base(&ek);
        let a_x = hazmat::identity_x25519_private(&alice);
        let spk = *bob.spk.public().key();
        let dh1 = hazmat::x25519(&a_x, &spk).expect("contributory");
        let dh2 = hazmat::x25519(&ek, bob.identity.public_key().x25519_bytes()).expect("contributory");
        let dh3 = hazmat::x25519(&ek, &spk).expect("contributory");
        let dh4 = bob.opk.as_ref().map(|k| hazmat::x25519(&ek, k.public().key()).expect("contributory"));
        let kem_public = kem.public().key();
        let (ct, ss) = hazmat::kem_encapsulate(KemType::MlKem1024, kem_public, &m).expect("valid key");
        assert_eq!(hazmat::kem_decapsulate(KemType::MlKem1024, kem_seed, &ct).expect("decaps"), ss);
        let opk = bob.opk.as_ref().map(|k| *k.public().key());
        let derive = |mode| {
            hazmat::x3dh_initiator_hybrid(
                mode,
                &alice,
                &ek,
                bob.identity.public_key(),
                &spk,
                opk.as_ref(),
                (KemType::MlKem1024, &ss, kem_public, &ct),
            )
            .expect("x3dh")
        };
        let plain = derive(Mode::Plain);
        let he = derive(Mode::HeaderEncryption);
        assert_eq!(plain.binding, he.binding);
        let (hka, nhkb) = he.header_keys.expect("header keys");
        let mut info = b"chatcrypt v3 hybrid X3DH ML-KEM-1024".to_vec();
        info.extend_from_slice(&plain.binding);
        let mut info_he = b"chatcrypt v3 hybrid X3DH ML-KEM-1024 header encryption".to_vec();
        info_he.extend_from_slice(&plain.binding);
        let ad = hazmat::associated_data(alice.public_key(), bob.identity.public_key());
        cases.push(json!({
            "description": if with_opk { "hybrid X3DH with a one-time prekey (DH1..DH4 || SS)" } else { "hybrid X3DH without a one-time prekey (DH1..DH3 || SS)" },
            "alice": {"identity": identity_json(&alice), "ephemeral_private": hex(&ek), "ephemeral_public": hex(&ek_pub), "kem_m": hex(&m)},
            "bob": bob_json(&bob),
            "bundle": hex(&bundle_of(&bob).to_bytes()),
            "dh1": hex(&dh1), "dh2": hex(&dh2), "dh3": hex(&dh3),
            "dh4": dh4.map(|d| hex(&d)),
            "kem_ciphertext": hex(&ct), "kem_shared_secret": hex(&ss),
            "binding": hex(&plain.binding),
            "info": hex(&info),
            "sk": hex(&plain.sk), "ad": hex(&ad),
            "header_encryption": {"info": hex(&info_he), "sk": hex(&he.sk), "hka": hex(&hka), "nhkb": hex(&nhkb)},
        }));
    }
    write(
        dir,
        "x3dh_hybrid.json",
        "Hybrid X3DH (SPEC.md 16.5, 16.6): both sides' keys with Bob's ML-KEM-1024 prekey, the encapsulation's m, CT and SS, \
         the binding B = SHA-256(type || EK || CT), the HKDF info, SK and AD; header_encryption holds the 96-byte derivation (SK, HKa, NHKb)",
        cases,
    );
}

/// `p = 2^255 - 19`, little-endian: the smallest non-canonical u-coordinate
/// with bit 255 clear (SPEC.md 2). It names u = 0.
const P: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// `p - 1`: canonical, and of low order (SPEC.md 2: low-order keys are
/// canonical; the DH rule rejects them).
const P_MINUS_1: [u8; 32] = {
    let mut p = P;
    p[0] = 0xec;
    p
};

/// `2^255 - 1`: the largest value with bit 255 clear; not canonical.
const TOP: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[31] = 0x7f;
    p
};

fn bundle_rejects(rejects: &mut Vec<Value>) {
    let bob = make_bob(30, true);
    let good = bundle_of(&bob).to_bytes();
    let mut push = |desc: &str, bytes: Vec<u8>| {
        let err = match PreKeyBundle::from_bytes(&bytes) {
            Err(e) => e,
            Ok(b) => b.verify().expect_err("must be rejected"),
        };
        rejects.push(json!({"description": desc, "kind": "bundle", "bundle": hex(&bytes), "error": format!("{err:?}")}));
    };
    let mut b = good.clone();
    b[100] ^= 0x04;
    push("bad signature (a signature bit flipped)", b);
    let mut b = good.clone();
    b[40] ^= 0x01;
    push("bad signature (a signed prekey bit flipped)", b);
    let mut b = good.clone();
    b[36] ^= 0x01;
    push("bad signature (the signed prekey id changed)", b);
    let mut b = good.clone();
    b[0] = 0x03;
    push("unknown version 3", b);
    let mut b = good.clone();
    b[0] = 0x01;
    push("a version-1 bundle (no longer accepted)", b);
    let mut b = good.clone();
    b[1] = 0x05;
    push("reserved flag bit set", b);
    push("truncated", good[..good.len() - 1].to_vec());
    let mut b = good.clone();
    b.push(0);
    push("trailing byte", b);
    let mut b = good.clone();
    b[2..34].copy_from_slice(&[0u8; 32]);
    push("identity key of small order", b);
    let other = make_bob(31, false);
    let forged = PreKeyBundle::new(
        other.identity.public_key().clone(),
        SignedPreKeyPublic::new(bob.spk.id(), *bob.spk.public().key(), *bob.spk.public().signature()),
        None,
    );
    push("signed prekey signed by another identity", forged.to_bytes());

    // Non-canonical prekeys (SPEC.md 2, 4). The signed prekey is signed over
    // the very bytes in the bundle, so only the canonical check rejects it.
    let signed = |key: [u8; 32]| {
        let sig = hazmat::sign(&bob.identity, &hazmat::signed_prekey_message(7, &key));
        SignedPreKeyPublic::new(7, key, sig)
    };
    let mut alias = *bob.spk.public().key();
    alias[31] |= 0x80;
    for (desc, key) in [
        ("signed prekey with bit 255 set (a non-canonical alias of a real key), correctly signed", alias),
        ("signed prekey u = p (non-canonical zero), correctly signed", P),
        ("signed prekey u = 2^255 - 1 (non-canonical, bit 255 clear), correctly signed", TOP),
    ] {
        push(desc, PreKeyBundle::new(bob.identity.public_key().clone(), signed(key), None).to_bytes());
    }
    let b = PreKeyBundle::new(bob.identity.public_key().clone(), signed(alias), None).to_bytes();
    push(
        "signed prekey with bit 255 set in a bundle truncated inside the signature: the key's check comes first (layout order)",
        b[..100].to_vec(),
    );
    let mut opk_alias = *bob.opk.as_ref().expect("opk").public().key();
    opk_alias[31] |= 0x80;
    for (desc, key) in [
        ("one-time prekey with bit 255 set (a non-canonical alias of a real key)", opk_alias),
        ("one-time prekey u = p (non-canonical zero)", P),
    ] {
        let b = PreKeyBundle::new(
            bob.identity.public_key().clone(),
            bob.spk.public().clone(),
            Some(OneTimePreKeyPublic::new(9, key)),
        );
        push(desc, b.to_bytes());
    }

    // Correctly signed bundles with a canonical but low-order prekey: they
    // decode and verify, and initiate fails.
    let mut rng = Recorder::new(5);
    let initiator = IdentityKeyPair::from_seed(&[5; 32]);
    let mut initiate = |desc: &str, bundle: PreKeyBundle| {
        let before = rng.draws.len();
        let err =
            Session::initiate_with(&initiator, &bundle, Mode::Plain, PqPolicy::AllowClassical, &mut rng)
                .expect_err("low order");
        assert_eq!(rng.draws.len(), before + 1, "{desc}: initiate draws ek_A, then fails");
        rejects.push(json!({"description": desc, "kind": "initiate",
            "initiator_seed": hex(&[5u8; 32]), "bundle": hex(&bundle.to_bytes()), "error": format!("{err:?}")}));
    };
    initiate(
        "correctly signed bundle with a low-order signed prekey (u = 0): initiate fails",
        PreKeyBundle::new(bob.identity.public_key().clone(), signed([0u8; 32]), None),
    );
    initiate(
        "bundle with a low-order one-time prekey (u = 0): initiate fails",
        PreKeyBundle::new(
            bob.identity.public_key().clone(),
            bob.spk.public().clone(),
            Some(OneTimePreKeyPublic::new(9, [0u8; 32])),
        ),
    );
    initiate(
        "correctly signed bundle with the signed prekey u = p - 1 (canonical, low order): initiate fails",
        PreKeyBundle::new(bob.identity.public_key().clone(), signed(P_MINUS_1), None),
    );
}

fn accept_rejects(rejects: &mut Vec<Value>) {
    let bob = make_bob(40, true);
    let alice = IdentityKeyPair::from_seed(&[41; 32]);
    let mut rng = Recorder::new(42);
    let mut s =
        Session::initiate_with(&alice, &bundle_of(&bob), Mode::Plain, PqPolicy::AllowClassical, &mut rng)
            .expect("initiate");
    let aliased = aliased_ratchet_key_message(&s, b"first, aliased ratchet key", &mut Recorder::new(44));
    let first = s.encrypt(b"first", &mut rng).expect("encrypt");
    let mut s_he = Session::initiate_with(
        &alice,
        &bundle_of(&bob),
        Mode::HeaderEncryption,
        PqPolicy::AllowClassical,
        &mut rng,
    )
    .expect("initiate");
    let first_he = s_he.encrypt(b"first, header-encrypted", &mut rng).expect("encrypt");
    // Well-formed Messages (types 0x02 and 0x04): Bob accepts, replies, and
    // Alice's next message is no longer a PreKeyMessage.
    let mut later = Vec::new();
    for (session, pkm) in [(&mut s, &first), (&mut s_he, &first_he)] {
        let pm = PreKeyMessage::from_bytes(pkm).expect("prekey message");
        let mut bob_rng = Recorder::new(45);
        let mut accepted = Session::accept(
            &bob.identity,
            &bob.spk,
            opk_copy(&bob),
            None,
            &pm,
            AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
            &mut bob_rng,
        )
        .expect("accept");
        let reply = accepted.session.encrypt(b"reply", &mut bob_rng).expect("encrypt");
        session.decrypt(&reply, &mut rng).expect("decrypt");
        later.push(session.encrypt(b"a later message", &mut rng).expect("encrypt"));
    }
    let mut push_with = |desc: &str, msg: Vec<u8>, policy: ModePolicy| {
        let mut rng = Recorder::new(43);
        let err = match PreKeyMessage::from_bytes(&msg) {
            Err(e) => e,
            Ok(pm) => Session::accept(
                &bob.identity,
                &bob.spk,
                opk_copy(&bob),
                None,
                &pm,
                AcceptPolicy::new(policy, PqPolicy::AllowClassical),
                &mut rng,
            )
            .expect_err("must be rejected"),
        };
        assert!(rng.draws.is_empty(), "{desc}: a failed accept drew randomness");
        let policy = match policy {
            ModePolicy::Any => "any",
            ModePolicy::PlainOnly => "plain_only",
            ModePolicy::HeaderEncryptionOnly => "header_encryption_only",
            other => panic!("unknown policy {other:?}"),
        };
        rejects.push(json!({"description": desc, "kind": "accept", "responder": bob_json(&bob), "policy": policy, "message": hex(&msg), "error": format!("{err:?}")}));
    };
    let mut push = |desc: &str, msg: Vec<u8>| push_with(desc, msg, ModePolicy::Any);
    let mut m = first.clone();
    m[35..67].copy_from_slice(&[0u8; 32]);
    push("low-order base key", m);
    let mut m = first.clone();
    m[66] |= 0x80;
    push("non-canonical base key (bit 255 set)", m);
    let mut m = first.clone();
    m[35..67].copy_from_slice(&P);
    push("non-canonical base key u = p", m);
    push(
        "non-canonical ratchet key (bit 255 set) in the first message's header; masking bit 255 would accept it",
        aliased,
    );
    let mut m = first.clone();
    m[70] ^= 0x01;
    push("unknown signed prekey id", m);
    let mut m = first.clone();
    m[74] ^= 0x01;
    push("unknown one-time prekey id", m);
    let mut m = first.clone();
    m[50] ^= 0x01;
    push("tampered base key", m);
    let mut m = first.clone();
    let n = m.len();
    m[n - 5] ^= 0x01;
    push("tampered ciphertext of the first message", m);
    let mut m = first.clone();
    m[2] = 0x04;
    push("reserved flag bit set", m);
    let mut m = first.clone();
    m[3..35].copy_from_slice(&[0u8; 32]);
    push("sender identity key of small order", m);
    let mut m = first_he.clone();
    m[1] = 0x01;
    push("header-encrypted first message relabelled as plain (mode downgrade)", m);
    let mut m = first.clone();
    m[1] = 0x03;
    push("plain first message relabelled as header-encrypted", m);
    let mut m = first_he.clone();
    m[75 + 3] ^= 0x10;
    push("header encryption: tampered encrypted header of the first message", m);
    push("a Message (type 0x02), not a PreKeyMessage", later[0].clone());
    push("a header-encrypted Message (type 0x04), not a PreKeyMessage", later[1].clone());
    // The responder's mode policy (SPEC.md 5.2) is checked first.
    push_with(
        "plain first message, responder policy header encryption only",
        first.clone(),
        ModePolicy::HeaderEncryptionOnly,
    );
    push_with(
        "header-encrypted first message, responder policy plain only",
        first_he.clone(),
        ModePolicy::PlainOnly,
    );
    let mut m = first.clone();
    m[70] ^= 0x01;
    push_with(
        "plain first message naming an unknown signed prekey, responder policy header encryption only: the policy is checked before the prekey ids",
        m,
        ModePolicy::HeaderEncryptionOnly,
    );
}

/// The `pq_policy` field of hybrid-era `initiate` and `accept` cases.
fn pq_name(pq: PqPolicy) -> &'static str {
    match pq {
        PqPolicy::Required => "required",
        PqPolicy::AllowClassical => "allow_classical",
        other => panic!("unknown post-quantum policy {other:?}"),
    }
}

fn mode_policy_name(policy: ModePolicy) -> &'static str {
    match policy {
        ModePolicy::Any => "any",
        ModePolicy::PlainOnly => "plain_only",
        ModePolicy::HeaderEncryptionOnly => "header_encryption_only",
        other => panic!("unknown policy {other:?}"),
    }
}

/// Offset of the KEM prekey in a bundle (SPEC.md 16.3): after the signature.
const BUNDLE_KEM_AT: usize = 134;
/// Offset of the KEM part in a PreKeyMessage with a one-time prekey id (SPEC.md 16.4).
const MESSAGE_KEM_AT: usize = 75;
/// Length of an ML-KEM-1024 KEM prekey's public encoding / a KEM part.
const KEM_PREKEY_LEN: usize = 1 + 4 + 1568 + 64;
const KEM_PART_LEN: usize = 1 + 4 + 1568;

/// The rejections of the hybrid handshake (SPEC.md 16), appended to
/// `reject.json` with the existing kinds: `bundle`, `initiate` and `accept`
/// cases with a `pq_policy`, and `decrypt` cases on a hybrid session.
fn hybrid_rejects(rejects: &mut Vec<Value>) {
    // Bundles (SPEC.md 16.2, 16.3): decoded, then verified.
    let bob = make_bob_hybrid(32, true);
    let (kem, _) = bob.kem.as_ref().expect("hybrid");
    let kem_id = kem.id();
    let good = bundle_of(&bob).to_bytes();
    let ek_at = BUNDLE_KEM_AT + 5;
    let sig_at = ek_at + 1568;
    let mut push_bundle = |desc: &str, bytes: Vec<u8>| {
        let err = match PreKeyBundle::from_bytes(&bytes) {
            Err(e) => e,
            Ok(b) => b.verify().expect_err("must be rejected"),
        };
        rejects.push(json!({"description": desc, "kind": "bundle", "bundle": hex(&bytes), "error": format!("{err:?}")}));
    };
    let (other_kem, _) = make_kem_prekey(&bob.identity, kem_id, 0x77);
    let mut b = good.clone();
    b[ek_at..sig_at].copy_from_slice(other_kem.public().key());
    push_bundle("hybrid bundle: the KEM prekey's encapsulation key swapped for another valid one of the same identity, signature unchanged", b);
    let mut b = good.clone();
    b[BUNDLE_KEM_AT + 4] ^= 0x01;
    push_bundle("hybrid bundle: the KEM prekey id changed (it is signed)", b);
    let mut b = good.clone();
    b[sig_at + 10] ^= 0x04;
    push_bundle("hybrid bundle: a bit of the KEM prekey's signature flipped", b);
    let stranger = IdentityKeyPair::from_seed(&[33; 32]);
    let (foreign, _) = make_kem_prekey(&stranger, kem_id, 0x78);
    let b = PreKeyBundle::new(bob.identity.public_key().clone(), bob.spk.public().clone(), None)
        .with_kem_prekey(foreign.public().clone());
    push_bundle("hybrid bundle: a KEM prekey signed by another identity", b.to_bytes());
    for t in [0x02u8, 0x00] {
        let mut b = good.clone();
        b[BUNDLE_KEM_AT] = t;
        push_bundle(&format!("hybrid bundle: unknown KEM type byte 0x{t:02x}"), b);
    }
    // Encapsulation keys that fail FIPS 203's modulus check (SPEC.md 16.1),
    // correctly signed over those bytes, so only the key check rejects them.
    let resigned = |ek: &[u8]| {
        let mut b = good.clone();
        b[ek_at..sig_at].copy_from_slice(ek);
        let sig = hazmat::sign(&bob.identity, &hazmat::kem_prekey_message(KemType::MlKem1024, kem_id, ek));
        b[sig_at..sig_at + 64].copy_from_slice(&sig);
        b
    };
    let mut ek = kem.public().key().to_vec();
    ek[0] = 0x01; // the first 12-bit coefficient = 0xD01 = q = 3329
    ek[1] = (ek[1] & 0xf0) | 0x0d;
    push_bundle("hybrid bundle: the encapsulation key's first coefficient is q = 3329 (fails the FIPS 203 modulus check), correctly signed", resigned(&ek));
    let mut ek = kem.public().key().to_vec();
    ek[1534] |= 0xf0; // the last coefficient of the last polynomial = 0xFFF
    ek[1535] = 0xff;
    push_bundle("hybrid bundle: the encapsulation key's last coefficient is 4095 (fails the FIPS 203 modulus check), correctly signed", resigned(&ek));
    push_bundle(
        "hybrid bundle truncated inside the KEM prekey's encapsulation key",
        good[..ek_at + 100].to_vec(),
    );
    let mut b = good.clone();
    b[1] |= 0x04;
    push_bundle("hybrid bundle with reserved flag bit 2 set", b);

    // Initiators (SPEC.md 16.5): the policy, then the bundle's checks,
    // before any draw; a hybrid initiator draws ek_A and m before its DHs.
    let initiator = IdentityKeyPair::from_seed(&[34; 32]);
    let mut stripped = good[..BUNDLE_KEM_AT].to_vec();
    stripped.extend_from_slice(&good[BUNDLE_KEM_AT + KEM_PREKEY_LEN..]);
    stripped[1] &= !0x02;
    let mut push_initiate = |desc: &str, bundle: Vec<u8>, pq: PqPolicy, draws: usize| {
        let mut rng = Recorder::new(35);
        let b = PreKeyBundle::from_bytes(&bundle).expect("decodes");
        let err =
            Session::initiate_with(&initiator, &b, Mode::Plain, pq, &mut rng).expect_err("must be rejected");
        assert_eq!(rng.draws.len(), draws, "{desc}: draws");
        rejects.push(json!({"description": desc, "kind": "initiate", "initiator_seed": hex(&[34u8; 32]),
            "bundle": hex(&bundle), "pq_policy": pq_name(pq), "error": format!("{err:?}")}));
    };
    push_initiate(
        "hybrid bundle with its KEM prekey stripped (flag bit 1 cleared, the KEM prekey removed), initiator with the default policy",
        stripped.clone(),
        PqPolicy::Required,
        0,
    );
    let mut b = stripped.clone();
    b[100] ^= 0x04;
    push_initiate(
        "stripped bundle whose signed-prekey signature is also bad, default policy: PostQuantumRequired comes before the signature check",
        b,
        PqPolicy::Required,
        0,
    );
    let mut b = good.clone();
    b[sig_at + 10] ^= 0x04;
    push_initiate(
        "hybrid bundle with a bad KEM prekey signature, initiator allowing classical handshakes: no fallback to classical",
        b,
        PqPolicy::AllowClassical,
        0,
    );
    let low = [0u8; 32];
    let sig = hazmat::sign(&bob.identity, &hazmat::signed_prekey_message(7, &low));
    let b = PreKeyBundle::new(bob.identity.public_key().clone(), SignedPreKeyPublic::new(7, low, sig), None)
        .with_kem_prekey(kem.public().clone());
    push_initiate(
        "hybrid bundle with a low-order signed prekey (u = 0), correctly signed: initiate draws ek_A and m, then a DH fails",
        b.to_bytes(),
        PqPolicy::Required,
        2,
    );

    // Responders (SPEC.md 16.4, 16.6).
    let bob = make_bob_hybrid(46, true);
    let bob_classical = make_bob(46, true);
    let bob_other_kem = make_bob_hybrid_with(46, true, 0x4B00_1000);
    let kem_id = bob.kem.as_ref().expect("hybrid").0.id();
    let alice = IdentityKeyPair::from_seed(&[47; 32]);
    let mut rng = Recorder::new(48);
    let mut s = Session::initiate_with(&alice, &bundle_of(&bob), Mode::Plain, PqPolicy::Required, &mut rng)
        .expect("initiate");
    let first = s.encrypt(b"first, hybrid", &mut rng).expect("encrypt");
    let second = s.encrypt(b"second, hybrid", &mut rng).expect("encrypt");
    let mut s_he = Session::initiate_with(
        &alice,
        &bundle_of(&bob),
        Mode::HeaderEncryption,
        PqPolicy::Required,
        &mut rng,
    )
    .expect("initiate");
    let first_he = s_he.encrypt(b"first, hybrid, header-encrypted", &mut rng).expect("encrypt");
    let ct_at = MESSAGE_KEM_AT + 5;
    let strip = |m: &[u8]| {
        let mut out = m[..MESSAGE_KEM_AT].to_vec();
        out.extend_from_slice(&m[MESSAGE_KEM_AT + KEM_PART_LEN..]);
        out[2] &= !0x02;
        out
    };
    let mut push_accept = |desc: &str, responder: &Bob, msg: Vec<u8>, policy: ModePolicy, pq: PqPolicy| {
        let mut rng = Recorder::new(49);
        let err = match PreKeyMessage::from_bytes(&msg) {
            Err(e) => e,
            Ok(pm) => Session::accept(
                &responder.identity,
                &responder.spk,
                opk_copy(responder),
                kem_copy(responder),
                &pm,
                AcceptPolicy::new(policy, pq),
                &mut rng,
            )
            .expect_err("must be rejected"),
        };
        assert!(rng.draws.is_empty(), "{desc}: a failed accept drew randomness");
        rejects.push(json!({"description": desc, "kind": "accept", "responder": bob_json(responder),
            "policy": mode_policy_name(policy), "pq_policy": pq_name(pq), "message": hex(&msg), "error": format!("{err:?}")}));
    };
    let (any, req, classical) = (ModePolicy::Any, PqPolicy::Required, PqPolicy::AllowClassical);
    let mut m = first.clone();
    m[ct_at + 100] ^= 0x01;
    push_accept("hybrid: tampered KEM ciphertext (implicit rejection gives another SS; the first message fails its tag)", &bob, m, any, req);
    let mut m = first_he.clone();
    m[ct_at + 5] ^= 0x01;
    push_accept("hybrid, header encryption: tampered KEM ciphertext", &bob, m, any, req);
    push_accept("hybrid: the KEM part stripped (flag bit 1 cleared, 1573 bytes removed), responder with the default policy", &bob, strip(&first), any, req);
    push_accept(
        "hybrid: the KEM part stripped, responder allowing classical handshakes and supplying no KEM prekey: the classical SK differs",
        &bob_classical,
        strip(&first),
        any,
        classical,
    );
    push_accept(
        "hybrid: the KEM part stripped, responder allowing classical handshakes but supplying a KEM prekey: that key's id is unknown to the message",
        &bob,
        strip(&first),
        any,
        classical,
    );
    push_accept(
        "hybrid: the KEM part stripped, responder policy header encryption only: the mode policy is checked first",
        &bob,
        strip(&first),
        ModePolicy::HeaderEncryptionOnly,
        req,
    );
    let mut m = strip(&first);
    m[70] ^= 0x01;
    push_accept(
        "hybrid: the KEM part stripped and an unknown signed prekey id, default policy: PostQuantumRequired comes before the prekey ids",
        &bob,
        m,
        any,
        req,
    );
    let mut m = first.clone();
    m[MESSAGE_KEM_AT + 4] ^= 0x01;
    push_accept("hybrid: the message names another KEM prekey id", &bob, m, any, req);
    push_accept(
        &format!(
            "hybrid: the responder supplies a KEM prekey of another id (0x{:08x}) than the message names",
            0x4B00_1000
        ),
        &bob_other_kem,
        first.clone(),
        any,
        req,
    );
    for t in [0x02u8, 0x00] {
        let mut m = first.clone();
        m[MESSAGE_KEM_AT] = t;
        push_accept(&format!("hybrid: unknown KEM type byte 0x{t:02x} in the message"), &bob, m, any, req);
    }
    push_accept("hybrid: truncated inside the KEM ciphertext", &bob, first[..ct_at + 700].to_vec(), any, req);
    let mut m = first.clone();
    m[0] = 0x01;
    push_accept(
        "hybrid PreKeyMessage relabelled as version 1, where flag bit 1 is reserved",
        &bob,
        m,
        any,
        req,
    );
    let mut m = first.clone();
    m[2] |= 0x04;
    push_accept("hybrid PreKeyMessage with reserved flag bit 2 set", &bob, m, any, req);
    assert_eq!(kem_id, 0x4B00_0000 + 46);

    // A hybrid session (state flag 0x40): the KEM part of a later
    // PreKeyMessage of the same handshake is authenticated (SPEC.md 16.4).
    let mut brng = Recorder::new(50);
    let pm = PreKeyMessage::from_bytes(&first).expect("prekey message");
    let mut bob_s = Session::accept(
        &bob.identity,
        &bob.spk,
        opk_copy(&bob),
        kem_copy(&bob),
        &pm,
        AcceptPolicy::default(),
        &mut brng,
    )
    .expect("accept")
    .session;
    let mut m = second.clone();
    m[ct_at + 3] ^= 0x01;
    reject_decrypt(rejects, "hybrid session: a later PreKeyMessage of the same handshake with a tampered KEM ciphertext (the KEM part is in HB)", &mut bob_s, &m);
    let mut m = second.clone();
    m[MESSAGE_KEM_AT + 4] ^= 0x01;
    reject_decrypt(
        rejects,
        "hybrid session: a later PreKeyMessage of the same handshake naming another KEM prekey id",
        &mut bob_s,
        &m,
    );
    reject_decrypt(
        rejects,
        "hybrid session: a later PreKeyMessage of the same handshake with its KEM part stripped",
        &mut bob_s,
        &strip(&second),
    );
    assert_eq!(bob_s.decrypt(&second, &mut brng).expect("the genuine one decrypts"), b"second, hybrid");
}

/// Version-1 messages (SPEC.md 13) that a version-2 receiver still accepts.
/// The library sends only version 2, so the SPEC.md implementation sends
/// them from the library sender's stored state, which it then hands back.
fn v1_vectors(dir: &Path) {
    fn send_v1(sender: &mut Session, plaintext: &[u8]) -> Vec<u8> {
        let mut spec = spec_session(sender);
        let m = spec.encrypt_v1(plaintext).expect("encrypt");
        *sender = Session::from_bytes(&spec.encode()).expect("the library decodes the state");
        m
    }
    fn accept_case(desc: &str, bob: &Bob, m: &[u8], rng: &mut Recorder) -> (Value, Session) {
        let before = rng.draws.len();
        let pm = PreKeyMessage::from_bytes(m).expect("prekey message");
        let opk = if pm.one_time_prekey_id().is_some() { opk_copy(bob) } else { None };
        let accepted = Session::accept(
            &bob.identity,
            &bob.spk,
            opk,
            None,
            &pm,
            AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
            rng,
        )
        .expect("accept");
        let case = json!({
            "description": desc, "kind": "accept", "responder": bob_json(bob), "message": hex(m),
            "rng_draws": rng.draws[before..], "plaintext": hex(&accepted.plaintext),
            "message_id": hex(accepted.id.as_bytes()), "state_after": hex(&accepted.session.to_bytes()),
        });
        (case, accepted.session)
    }
    fn decrypt_case(desc: &str, receiver: &mut Session, m: &[u8], rng: &mut Recorder) -> Value {
        let before = rng.draws.len();
        let state = hex(&receiver.to_bytes());
        let (plaintext, id) = receiver.decrypt_with_id(m, rng).expect("decrypt");
        json!({
            "description": desc, "kind": "decrypt", "state": state, "message": hex(m),
            "rng_draws": rng.draws[before..], "plaintext": hex(&plaintext),
            "message_id": hex(id.as_bytes()), "state_after": hex(&receiver.to_bytes()),
        })
    }

    let mut cases = Vec::new();

    // Plain mode, with a one-time prekey.
    let bob = make_bob(50, true);
    let alice_id = IdentityKeyPair::generate(&mut Recorder::new(51));
    let (mut arng, mut brng) = (Recorder::new(52), Recorder::new(53));
    let mut alice =
        Session::initiate_with(&alice_id, &bundle_of(&bob), Mode::Plain, PqPolicy::AllowClassical, &mut arng)
            .expect("initiate");
    let p1 = send_v1(&mut alice, b"v1: first");
    let p2 = send_v1(&mut alice, b"v1: second");
    let (case, mut bob_s) = accept_case(
        "version-1 PreKeyMessage (type 0x01) accepted, with a one-time prekey",
        &bob,
        &p1,
        &mut brng,
    );
    cases.push(case);
    cases.push(decrypt_case(
        "a second version-1 PreKeyMessage of the same handshake, on the current chain",
        &mut bob_s,
        &p2,
        &mut brng,
    ));
    let reply = bob_s.encrypt(b"v2 reply", &mut brng).expect("encrypt");
    alice.decrypt(&reply, &mut arng).expect("decrypt");
    let m3 = send_v1(&mut alice, b"v1: a new chain");
    let m4 = send_v1(&mut alice, b"v1: late");
    let m5 = send_v1(&mut alice, b"v1: early");
    cases.push(decrypt_case(
        "version-1 Message (type 0x02) starting a new ratchet step",
        &mut bob_s,
        &m3,
        &mut brng,
    ));
    cases.push(decrypt_case(
        "version-1 Message one ahead on the current chain (the key it skips is stored)",
        &mut bob_s,
        &m5,
        &mut brng,
    ));
    cases.push(decrypt_case(
        "version-1 Message whose key is a stored skipped key",
        &mut bob_s,
        &m4,
        &mut brng,
    ));

    // Header encryption, without a one-time prekey.
    let bob = make_bob(55, false);
    let alice_id = IdentityKeyPair::generate(&mut Recorder::new(56));
    let (mut arng, mut brng) = (Recorder::new(57), Recorder::new(58));
    let mut alice = Session::initiate_with(
        &alice_id,
        &bundle_of(&bob),
        Mode::HeaderEncryption,
        PqPolicy::AllowClassical,
        &mut arng,
    )
    .expect("initiate");
    let p1 = send_v1(&mut alice, b"v1 he: first");
    let (case, mut bob_s) = accept_case(
        "header encryption: version-1 PreKeyMessage (type 0x03, 56-byte encrypted header) accepted, no one-time prekey",
        &bob,
        &p1,
        &mut brng,
    );
    cases.push(case);
    let reply = bob_s.encrypt(b"v2 reply", &mut brng).expect("encrypt");
    alice.decrypt(&reply, &mut arng).expect("decrypt");
    let m2 = send_v1(&mut alice, b"v1 he: a new chain");
    let m3 = send_v1(&mut alice, b"v1 he: same chain");
    cases.push(decrypt_case(
        "header encryption: version-1 Message (type 0x04) starting a new ratchet step (header opened by NHKr)",
        &mut bob_s,
        &m2,
        &mut brng,
    ));
    cases.push(decrypt_case(
        "header encryption: version-1 Message on the current chain (header opened by HKr)",
        &mut bob_s,
        &m3,
        &mut brng,
    ));

    write(dir, "receive_v1.json", "Version-1 messages (SPEC.md 13: no reuse guard, 40-byte ratchet header, 56-byte encrypted header, MESSAGE_KEYS_V1) that a version-2 receiver still decrypts: the receiver's state before and after, its RNG draws, the plaintext and the message id (SPEC.md 8.1: the body tag in place of G)", cases);
}

/// A safety number case: description, local key index and id, remote key index and id.
type SafetyCase<'a> = (&'a str, usize, &'a [u8], usize, &'a [u8]);

fn safety_number_vectors(dir: &Path) -> Result<(), Error> {
    let mut rng = Recorder::new(40);
    let keys: Vec<IdentityKeyPair> = (0..4).map(|_| IdentityKeyPair::generate(&mut rng)).collect();
    let long_id: Vec<u8> = (0..=254u8).collect();
    let cases_in: [SafetyCase; 6] = [
        ("phone numbers as ids", 0, b"+14152222222", 1, b"+14153333333"),
        ("the same two parties seen from the other side", 1, b"+14153333333", 0, b"+14152222222"),
        ("empty local id", 2, b"", 3, b"c0a8e2f4-5b1d-4c3e-9f70-2a6b8d1e3c55"),
        ("255-byte local id (the longest allowed: bytes 0x00..0xfe), empty remote id", 3, &long_id, 1, b""),
        ("equal ids, different keys", 0, b"same", 2, b"same"),
        ("same key on both sides, different ids", 2, b"device-a", 2, b"device-b"),
    ];
    let mut cases = Vec::new();
    for (description, l, local_id, r, remote_id) in cases_in {
        let (local_key, remote_key) = (keys[l].public_key(), keys[r].public_key());
        let number = SafetyNumber::new(local_id, local_key, remote_id, remote_key)?;
        let mirror = SafetyNumber::new(remote_id, remote_key, local_id, local_key)?;
        assert_eq!(number.displayable(), mirror.displayable(), "both sides agree");
        cases.push(json!({
            "description": description,
            "local_key": hex(local_key.as_bytes()),
            "local_stable_id": hex(local_id),
            "remote_key": hex(remote_key.as_bytes()),
            "remote_stable_id": hex(remote_id),
            "local_fingerprint": hex(&hazmat::safety_number_fingerprint(local_key.as_bytes(), local_id)),
            "remote_fingerprint": hex(&hazmat::safety_number_fingerprint(remote_key.as_bytes(), remote_id)),
            "displayable": number.displayable(),
            "local_scannable": hex(&number.scannable()),
            "remote_scannable": hex(&mirror.scannable()),
        }));
    }
    write(dir, "safety_number.json", "Safety numbers (SPEC.md 15): FP(IK, id) = 5200 iterations of SHA-512 per party; 60 displayable digits (the two parties' 30 digits, smaller first); scannable payloads 0x00 || local FP[0..32] || remote FP[0..32] of both sides", cases);
    Ok(())
}

// ---------------------------------------------------------------------------
// Messenger vectors (SPEC.md §17-§21): messenger.json.

/// The clock of the messenger vectors (seconds).
const MSG_NOW: u64 = 1_800_000_000;

/// An Ed25519 key of order 1 (the identity point): never a valid account or identity key.
const ED25519_IDENTITY_POINT: [u8; 32] = {
    let mut k = [0u8; 32];
    k[0] = 1;
    k
};

fn certificate_case(
    description: &str,
    account_seed: [u8; 32],
    device: u32,
    identity_seed: [u8; 32],
) -> Value {
    let account = AccountKeyPair::from_seed(&account_seed);
    let identity = IdentityKeyPair::from_seed(&identity_seed);
    let cert = account.certify(DeviceId::new(device), identity.public_key());
    json!({
        "kind": "device_certificate",
        "description": description,
        "account_seed": hex(&account_seed),
        "account_key": hex(account.public_key().as_bytes()),
        "device_id": device,
        "identity_seed": hex(&identity_seed),
        "identity_key": hex(identity.public_key().as_bytes()),
        "certificate": hex(&cert.to_bytes()),
    })
}

fn list_case(description: &str, account_seed: [u8; 32], epoch: u64, entries: &[(u32, [u8; 32])]) -> Value {
    let account = AccountKeyPair::from_seed(&account_seed);
    let links: Vec<DeviceLink> = entries
        .iter()
        .map(|(d, seed)| {
            DeviceLink::new(&IdentityKeyPair::from_seed(seed), account.public_key(), DeviceId::new(*d))
        })
        .collect();
    let list = account.sign_device_list(epoch, &links).expect("a valid list");
    let entries_json: Vec<Value> = entries
        .iter()
        .zip(&links)
        .map(|((d, seed), link)| {
            json!({"device_id": d, "identity_seed": hex(seed), "identity_key": hex(link.identity().as_bytes())})
        })
        .collect();
    json!({
        "kind": "device_list",
        "description": description,
        "account_seed": hex(&account_seed),
        "account_key": hex(account.public_key().as_bytes()),
        "epoch": epoch,
        "entries": entries_json,
        "list": hex(&list.to_bytes()),
    })
}

fn account_safety_number_case(
    description: &str,
    (local_id, local_seed): (&[u8], [u8; 32]),
    (remote_id, remote_seed): (&[u8], [u8; 32]),
) -> Result<Value, Error> {
    let local = AccountKeyPair::from_seed(&local_seed);
    let remote = AccountKeyPair::from_seed(&remote_seed);
    let number = SafetyNumber::for_accounts(local_id, local.public_key(), remote_id, remote.public_key())?;
    let mirror = SafetyNumber::for_accounts(remote_id, remote.public_key(), local_id, local.public_key())?;
    assert_eq!(number.displayable(), mirror.displayable(), "both sides agree");
    Ok(json!({
        "kind": "account_safety_number",
        "description": description,
        "local_stable_id": hex(local_id),
        "local_account_seed": hex(&local_seed),
        "local_account_key": hex(local.public_key().as_bytes()),
        "remote_stable_id": hex(remote_id),
        "remote_account_seed": hex(&remote_seed),
        "remote_account_key": hex(remote.public_key().as_bytes()),
        "local_fingerprint": hex(&hazmat::safety_number_fingerprint(local.public_key().as_bytes(), local_id)),
        "remote_fingerprint": hex(&hazmat::safety_number_fingerprint(remote.public_key().as_bytes(), remote_id)),
        "displayable": number.displayable(),
        "local_scannable": hex(&number.scannable()),
        "remote_scannable": hex(&mirror.scannable()),
    }))
}

/// A device from fixed seeds whose prekeys come from `Recorder::new(rng_seed)`:
/// made at `MSG_NOW`, optionally rotated once, then replenished for a
/// server that reports `server` one-time prekeys of each kind. Returns the
/// device's upload (through the persist-then-upload gate) and the
/// upload-case JSON with every secret the upload's keys come from.
fn upload_case(
    description: &str,
    (account_seed, device, identity_seed): ([u8; 32], u32, [u8; 32]),
    rng_seed: u8,
    rotate: bool,
    server: Option<(usize, usize)>,
    full_hex: bool,
) -> (PreKeyUpload, Value) {
    let mut rng = Recorder::new(rng_seed);
    let account = AccountKeyPair::from_seed(&account_seed);
    let identity = IdentityKeyPair::from_seed(&identity_seed);
    let cert = account.certify(DeviceId::new(device), identity.public_key());
    let mut d = LocalDevice::new(identity, cert, MSG_NOW, &mut rng).expect("new device");
    if rotate {
        d.rotate_signed_prekey(MSG_NOW + 60, &mut rng).expect("rotate");
    }
    let base = rng.draws.len();
    let (nx, nk) = match server {
        Some((x, k)) => d.replenish(x, k, &mut rng).expect("replenish"),
        None => (0, 0),
    };
    assert_eq!(rng.draws.len(), base + nx + nk, "one draw per prekey");
    let persisted = d.to_bytes();
    let upload = d.upload(&persisted).expect("persisted");
    let bytes = upload.to_bytes();

    let spk = upload.signed_prekey();
    let spk_private: [u8; 32] = hex_to(&rng.draws[base - 2]);
    assert_eq!(&hazmat::x25519_base(&spk_private), spk.key());
    let lr = upload.last_resort_prekey();
    let lr_seed: [u8; 64] = hex_to(&rng.draws[base - 1]);
    assert_eq!(hazmat::kem_public_key(KemType::MlKem1024, &lr_seed), lr.key());
    assert_eq!((upload.one_time_prekeys().len(), upload.kem_prekeys().len()), (nx, nk));
    let one_time: Vec<Value> = upload
        .one_time_prekeys()
        .iter()
        .zip(&rng.draws[base..base + nx])
        .map(|(k, draw)| {
            let private: [u8; 32] = hex_to(draw);
            assert_eq!(&hazmat::x25519_base(&private), k.key());
            json!({"id": k.id(), "private": draw})
        })
        .collect();
    let kem: Vec<Value> = upload
        .kem_prekeys()
        .iter()
        .zip(&rng.draws[base + nx..])
        .map(|(k, draw)| {
            let seed: [u8; 64] = hex_to(draw);
            assert_eq!(hazmat::kem_public_key(KemType::MlKem1024, &seed), k.key());
            json!({"id": k.id(), "seed": draw})
        })
        .collect();
    // The pair the rotation retired (draws 0 and 1): not in the upload,
    // listed so that the device's whole history can be replayed.
    let retired = rotate.then(|| {
        json!({
            "signed_prekey": {"id": 1, "private": rng.draws[0]},
            "last_resort_prekey": {"id": 2, "seed": rng.draws[1]},
        })
    });
    let case = json!({
        "kind": "prekey_upload",
        "description": description,
        "account_seed": hex(&account_seed),
        "device_id": device,
        "identity_seed": hex(&identity_seed),
        "created_at": MSG_NOW,
        "rotated_at": rotate.then_some(MSG_NOW + 60),
        "retired_prekeys": retired,
        "server_prekey_counts": server.map(|(x, k)| [x, k]),
        "certificate": hex(&upload.certificate().to_bytes()),
        "signed_prekey": {"id": spk.id(), "private": hex(&spk_private)},
        "last_resort_prekey": {"id": lr.id(), "seed": hex(&lr_seed)},
        "one_time_prekeys": one_time,
        "kem_prekeys": kem,
        "upload_len": bytes.len(),
        "upload_sha256": hex(&spec_impl::sha256(&bytes)),
        "upload": if full_hex { json!(hex(&bytes)) } else { Value::Null },
    });
    (upload, case)
}

fn retry_case(
    description: &str,
    author_seed: [u8; 32],
    failed: &[u8],
    error: Error,
    retry: &RetryMessage,
) -> Value {
    json!({
        "kind": "retry_message",
        "description": description,
        "author_seed": hex(&author_seed),
        "author_key": hex(retry.author().as_bytes()),
        "recipient_key": hex(retry.recipient().as_bytes()),
        "failed_message": hex(failed),
        "error": format!("{error:?}"),
        "reason": format!("{:?}", retry.reason()),
        "prekey_id": retry.prekey_id(),
        "message_digest": hex(retry.message_digest()),
        "timestamp": retry.timestamp(),
        "retry": hex(&retry.to_bytes()),
    })
}

/// Alice's device 1 and Bob's device 1 talk through session records: the
/// two retry cases (a Message after Bob lost his record; a PreKeyMessage
/// naming a one-time prekey Bob already used) and Alice's record after the
/// first retry and a restart (one current, one archived session).
fn messenger_conversation() -> Result<(Vec<Value>, Value), Error> {
    let (alice_seed, bob_seed) = ([0x1A; 32], [0x1B; 32]);
    let alice_account = AccountKeyPair::from_seed(&[0xA1; 32]);
    let bob_account = AccountKeyPair::from_seed(&[0xB1; 32]);
    let mut arng = Recorder::new(60);
    let mut brng = Recorder::new(61);
    let alice_id = IdentityKeyPair::from_seed(&alice_seed);
    let alice_key = alice_id.public_key().clone();
    let alice_cert = alice_account.certify(DeviceId::new(1), &alice_key);
    let mut alice = LocalDevice::new(alice_id, alice_cert, MSG_NOW, &mut arng)?;
    let bob_id = IdentityKeyPair::from_seed(&bob_seed);
    let bob_key = bob_id.public_key().clone();
    let bob_cert = bob_account.certify(DeviceId::new(1), &bob_key);
    let mut bob = LocalDevice::new(bob_id, bob_cert, MSG_NOW, &mut brng)?;
    bob.replenish(9, 9, &mut brng)?;
    let up = bob.upload(&bob.to_bytes())?;
    bob.mark_uploaded(&up);
    let bob_for_alice =
        PeerAccount::trust_on_first_use(b"bob", bob_account.sign_device_list(1, &[bob.link()])?)?;
    let alice_for_bob =
        PeerAccount::trust_on_first_use(b"alice", alice_account.sign_device_list(1, &[alice.link()])?)?;
    let policy = SessionPolicy::default();

    let mut a = SessionRecord::new(DeviceId::new(1));
    a.initiate(&alice, &bob_for_alice, &up.bundle(Some(0), Some(0))?, &policy, MSG_NOW, &mut arng)?;
    let m1 = a.encrypt(&bob_for_alice, b"hello", MSG_NOW, &mut arng)?;
    let first_base_key = *PreKeyMessage::from_bytes(&m1)?.base_key();
    let mut b = SessionRecord::new(DeviceId::new(1));
    b.decrypt(&mut bob, &alice_for_bob, &m1, &policy, MSG_NOW, &mut brng)?;
    let r1 = b.encrypt(&alice_for_bob, b"hi", MSG_NOW, &mut brng)?;
    a.decrypt(&mut alice, &bob_for_alice, &r1, &policy, MSG_NOW, &mut arng)?;

    // Bob loses his record: Alice's next Message finds no session.
    let mut retries = Vec::new();
    let lost = a.encrypt(&bob_for_alice, b"lost", MSG_NOW + 10, &mut arng)?;
    let mut b_new = SessionRecord::new(DeviceId::new(1));
    let err = b_new
        .decrypt(&mut bob, &alice_for_bob, &lost, &policy, MSG_NOW + 10, &mut brng)
        .expect_err("no session");
    assert_eq!(err, Error::NoSession);
    let retry =
        RetryMessage::for_failure(bob.identity(), &alice_key, &lost, err, MSG_NOW + 10).expect("retry");
    retries.push(retry_case(
        "NoSession: a Message after the recipient lost its record",
        bob_seed,
        &lost,
        err,
        &retry,
    ));
    let first_session = a.current_session().expect("current").to_bytes();
    assert_eq!(a.handle_retry(&alice, &bob_for_alice, &retry)?, RetryOutcome::StartNewSession);

    // Alice restarts from the last-resort KEM prekey and sends once.
    a.initiate(&alice, &bob_for_alice, &up.bundle(Some(1), None)?, &policy, MSG_NOW + 20, &mut arng)?;
    let m3 = a.encrypt(&bob_for_alice, b"again", MSG_NOW + 20, &mut arng)?;
    let second_base_key = *PreKeyMessage::from_bytes(&m3)?.base_key();
    let current = a.current_session().expect("current");
    assert!(current.awaiting_reply());
    assert_eq!(a.archived_count(), 1);
    let record = json!({
        "kind": "session_record",
        "description": "Alice's record of Bob's device 1: the session Bob reported lost (archived, flag 1) and the one she started after it (current, awaiting a reply, hybrid from the last-resort KEM prekey)",
        "local_identity_key": hex(alice_key.as_bytes()),
        "remote_identity_key": hex(bob_key.as_bytes()),
        "device_id": 1,
        "record": hex(&a.to_bytes()),
        "current": {
            "flags": 0, "base_key": hex(&second_base_key), "created_at": MSG_NOW + 20,
            "awaiting_reply": true, "session": hex(&current.to_bytes()),
        },
        "archived": [{
            "flags": 1, "base_key": hex(&first_base_key), "created_at": MSG_NOW,
            "awaiting_reply": false, "session": hex(&first_session),
        }],
        "decrypted": [hex(&r1)],
        "sent": [
            { "message": hex(&m1), "base_key": hex(&first_base_key) },
            { "message": hex(&lost), "base_key": hex(&first_base_key) },
            { "message": hex(&m3), "base_key": hex(&second_base_key) },
        ],
    });

    // A second session from the first bundle names the one-time prekeys
    // Bob used for the first: UnknownPreKey.
    let mut a2 = SessionRecord::new(DeviceId::new(1));
    a2.initiate(&alice, &bob_for_alice, &up.bundle(Some(0), Some(0))?, &policy, MSG_NOW + 30, &mut arng)?;
    let dead = a2.encrypt(&bob_for_alice, b"to a used prekey", MSG_NOW + 30, &mut arng)?;
    let mut b2 = SessionRecord::new(DeviceId::new(1));
    let err = b2
        .decrypt(&mut bob, &alice_for_bob, &dead, &policy, MSG_NOW + 30, &mut brng)
        .expect_err("used prekey");
    assert!(matches!(err, Error::UnknownPreKey { .. }), "{err:?}");
    let retry =
        RetryMessage::for_failure(bob.identity(), &alice_key, &dead, err, MSG_NOW + 30).expect("retry");
    retries.push(retry_case(
        "UnknownPreKey: a PreKeyMessage naming a one-time prekey the recipient already used",
        bob_seed,
        &dead,
        err,
        &retry,
    ));
    Ok((retries, record))
}

/// A reject case: `decoder` must refuse `input` with the library's error.
fn messenger_reject(rejects: &mut Vec<Value>, decoder: &str, description: &str, input: Vec<u8>) {
    let result = match decoder {
        "device_certificate" => DeviceCertificate::from_bytes(&input).map(|_| ()),
        "device_list" => DeviceList::from_bytes(&input).map(|_| ()),
        "prekey_upload" => PreKeyUpload::from_bytes(&input).map(|_| ()),
        "retry_message" => RetryMessage::from_bytes(&input).map(|_| ()),
        _ => unreachable!("unknown decoder {decoder}"),
    };
    let err = result.expect_err(description);
    rejects.push(json!({
        "kind": "reject",
        "decoder": decoder,
        "description": description,
        "input": hex(&input),
        "error": format!("{err:?}"),
    }));
}

fn flip(bytes: &[u8], index: usize, mask: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[index] ^= mask;
    b
}

fn set(bytes: &[u8], index: usize, value: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[index..index + value.len()].copy_from_slice(value);
    b
}

fn with_trailing_byte(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b.push(0);
    b
}

fn messenger_rejects(rejects: &mut Vec<Value>, cert: &[u8], list: &[u8], upload: &[u8], retries: &[Vec<u8>]) {
    // Certificates: 'C' || 0x01 || account (2..34) || u32 device (34..38) || identity (38..70) || sig (70..134).
    let r = |rejects: &mut Vec<Value>, d: &str, input: Vec<u8>| {
        messenger_reject(rejects, "device_certificate", d, input)
    };
    r(rejects, "empty", Vec::new());
    r(rejects, "wrong tag (a device list's 'L')", set(cert, 0, &[0x4C]));
    r(rejects, "version 2", set(cert, 1, &[0x02]));
    r(rejects, "truncated (last byte missing)", cert[..cert.len() - 1].to_vec());
    r(rejects, "trailing byte", with_trailing_byte(cert));
    r(rejects, "bad signature (a signature bit flipped)", flip(cert, 100, 0x10));
    r(rejects, "bad signature (the device id changed)", flip(cert, 37, 0x01));
    r(rejects, "bad signature (the identity key replaced by another valid key)", {
        set(cert, 38, IdentityKeyPair::from_seed(&[0x77; 32]).public_key().as_bytes())
    });
    r(rejects, "account key of order 1 (the identity point)", set(cert, 2, &ED25519_IDENTITY_POINT));
    r(rejects, "identity key of order 1 (the identity point)", set(cert, 38, &ED25519_IDENTITY_POINT));
    r(rejects, "order: a bad signature and a trailing byte (the signature is checked first)", {
        with_trailing_byte(&flip(cert, 100, 0x10))
    });
    r(rejects, "order: an account key of order 1 in a certificate cut at 50 bytes (the key check first)", {
        set(&cert[..50], 2, &ED25519_IDENTITY_POINT)
    });

    // Device lists, correctly signed by the account key where a rule other
    // than the signature is broken.
    let r = |rejects: &mut Vec<Value>, d: &str, input: Vec<u8>| {
        messenger_reject(rejects, "device_list", d, input)
    };
    let seed = [0xA3u8; 32];
    let account_key = spec_impl::ed25519_public_of(&seed);
    // Device `d` with identity seed `[b; 32]`, consenting to this account.
    let key = |d: u32, b: u8| {
        let k = IdentityKeyPair::from_seed(&[b; 32]).public_key().to_bytes();
        (d, k, spec_impl::device_consent(&[b; 32], &account_key, d))
    };
    let signed = |epoch: u64, entries: Vec<(u32, [u8; 32], [u8; 64])>| {
        spec_impl::DeviceList::sign_raw(&seed, epoch, entries).encode()
    };
    r(rejects, "wrong tag (a certificate's 'C')", set(list, 0, &[0x43]));
    r(rejects, "version 0", set(list, 1, &[0x00]));
    r(rejects, "truncated (last byte missing)", list[..list.len() - 1].to_vec());
    r(rejects, "trailing byte", with_trailing_byte(list));
    r(rejects, "bad signature (a signature bit flipped)", flip(list, list.len() - 1, 0x01));
    r(rejects, "bad signature (the epoch changed)", flip(list, 41, 0x01));
    r(rejects, "epoch 0, correctly signed", signed(0, vec![key(1, 1)]));
    r(rejects, "no entries, correctly signed", signed(1, vec![]));
    r(rejects, "17 entries, correctly signed", signed(1, (1..=17u8).map(|i| key(u32::from(i), i)).collect()));
    r(rejects, "entries not sorted by device id, correctly signed", signed(1, vec![key(2, 2), key(1, 1)]));
    r(rejects, "duplicate device id, correctly signed", signed(1, vec![key(1, 1), key(1, 2)]));
    r(rejects, "two devices with one identity key, correctly signed", signed(1, vec![key(1, 1), key(2, 1)]));
    r(
        rejects,
        "an identity key of order 1, correctly signed",
        signed(1, vec![(1, ED25519_IDENTITY_POINT, [0; 64])]),
    );
    r(rejects, "a consent for another device id, correctly signed", {
        let (_, k, c) = key(2, 1);
        signed(1, vec![(1, k, c)])
    });
    r(rejects, "a consent for another account, correctly signed", {
        let (d, k, _) = key(1, 1);
        signed(1, vec![(d, k, spec_impl::device_consent(&[1; 32], &[0x11; 32], d))])
    });
    r(rejects, "order: epoch 0 in a list cut after the epoch (Truncated: the check waits for n)", {
        signed(0, vec![key(1, 1)])[..42].to_vec()
    });
    r(
        rejects,
        "order: ids out of order and the second identity key of order 1 (the key check comes before the order rule)",
        signed(1, vec![key(2, 2), (1, ED25519_IDENTITY_POINT, [0; 64])]),
    );
    r(rejects, "order: ids out of order and a bad signature (the order rule comes first)", {
        let b = signed(1, vec![key(2, 2), key(1, 1)]);
        flip(&b, b.len() - 3, 0x01)
    });
    r(rejects, "order: a bad signature and a trailing byte (the signature is checked first)", {
        with_trailing_byte(&flip(list, list.len() - 1, 0x01))
    });

    // Prekey uploads (the small one, without one-time prekeys):
    // 'U' || 0x01 || certificate (2..136) || u32 spk id (136..140) || SPK (140..172) || SIG (172..236)
    // || last resort (236..1873) || u16 n (1873..1875) || u16 m (1875..1877) || signature.
    let r = |rejects: &mut Vec<Value>, d: &str, input: Vec<u8>| {
        messenger_reject(rejects, "prekey_upload", d, input)
    };
    r(rejects, "wrong tag (a certificate's 'C')", set(upload, 0, &[0x43]));
    r(rejects, "version 2", set(upload, 1, &[0x02]));
    r(rejects, "truncated (last byte missing)", upload[..upload.len() - 1].to_vec());
    r(rejects, "trailing byte", with_trailing_byte(upload));
    r(
        rejects,
        "bad signature (the upload signature's last bit flipped)",
        flip(upload, upload.len() - 1, 0x80),
    );
    r(rejects, "bad signature (the certificate's signature changed)", flip(upload, 2 + 100, 0x04));
    r(rejects, "bad signature (the signed prekey's signature changed)", flip(upload, 200, 0x04));
    r(rejects, "bad signature (the last-resort KEM prekey's signature changed)", flip(upload, 1850, 0x04));
    r(rejects, "signed prekey with bit 255 set (non-canonical)", flip(upload, 171, 0x80));
    r(rejects, "last-resort KEM prekey of unknown type 2", set(upload, 236, &[0x02]));
    r(rejects, "201 one-time prekeys announced", set(upload, 1873, &201u16.to_be_bytes()));
    r(rejects, "41 one-time KEM prekeys announced", set(upload, 1875, &41u16.to_be_bytes()));
    {
        // The signed prekey takes the last-resort prekey's id: every
        // signature is remade, so only the distinct-ids rule is broken.
        let identity = spec_impl::Identity::from_seed(&[0x2C; 32]);
        let mut u = spec_impl::PreKeyUpload::decode(upload).expect("the upload decodes");
        u.spk_id = u.last_resort.id;
        u.spk_signature = identity.sign(&spec_impl::signed_prekey_message(u.spk_id, &u.spk));
        u.sign(&identity);
        r(rejects, "signed prekey and last-resort prekey with one id, all signatures valid", u.encode());
        r(
            rejects,
            "order: signed prekey id set to the last-resort id without re-signing (distinct ids come before the signatures)",
            set(upload, 136, &u.spk_id.to_be_bytes()),
        );
    }
    r(rejects, "order: a bad signed-prekey signature and a trailing byte (TrailingBytes first)", {
        with_trailing_byte(&flip(upload, 200, 0x04))
    });
    r(rejects, "order: a bad certificate signature in an upload cut at 300 bytes (the certificate is checked where it is read)", {
        flip(upload, 2 + 100, 0x04)[..300].to_vec()
    });

    // Retry messages: 'E' || 0x01 || reason (2) || u32 prekey id (3..7) || base key (7..39)
    // || u64 timestamp (39..47) || author (47..79) || recipient (79..111) || signature (111..175).
    let r = |rejects: &mut Vec<Value>, d: &str, input: Vec<u8>| {
        messenger_reject(rejects, "retry_message", d, input)
    };
    let (no_session, unknown) = (&retries[0], &retries[1]);
    let author = spec_impl::Identity::from_seed(&[0x1B; 32]);
    let recipient = spec_impl::Identity::from_seed(&[0x1A; 32]).public;
    r(rejects, "wrong tag (a device list's 'L')", set(no_session, 0, &[0x4C]));
    r(rejects, "version 0", set(no_session, 1, &[0x00]));
    r(rejects, "truncated (last byte missing)", no_session[..no_session.len() - 1].to_vec());
    r(rejects, "trailing byte", with_trailing_byte(unknown));
    r(rejects, "bad signature (a signature bit flipped)", flip(unknown, 150, 0x02));
    r(rejects, "bad signature (the timestamp changed)", flip(no_session, 30, 0x01));
    r(rejects, "bad signature (the prekey id changed)", flip(unknown, 6, 0x01));
    r(rejects, "reason 0", set(no_session, 2, &[0x00]));
    r(rejects, "reason 4", set(no_session, 2, &[0x04]));
    let resigned = |reason: u8, prekey_id: u32| {
        spec_impl::RetryMessage::sign(&author, reason, prekey_id, [7; 16], MSG_NOW, recipient).encode()
    };
    r(rejects, "NoSession with a non-zero prekey id, correctly signed", resigned(1, 5));
    r(rejects, "HandshakeFailed with a non-zero prekey id, correctly signed", resigned(3, 5));
    r(rejects, "author key of order 1 (the identity point)", set(no_session, 31, &ED25519_IDENTITY_POINT));
    r(rejects, "recipient key of order 1 (the identity point)", set(no_session, 63, &ED25519_IDENTITY_POINT));
    let inconsistent = set(no_session, 3, &5u32.to_be_bytes());
    r(
        rejects,
        "order: NoSession with prekey id 5, not re-signed (the consistency rule comes before the signature)",
        inconsistent.clone(),
    );
    r(rejects, "order: NoSession with prekey id 5 and a trailing byte (TrailingBytes first)", {
        with_trailing_byte(&inconsistent)
    });
    r(
        rejects,
        "order: NoSession with prekey id 5, cut at 100 bytes (Truncated first)",
        inconsistent[..100].to_vec(),
    );
    r(rejects, "order: NoSession with prekey id 5 and an author key of order 1 (InvalidPublicKey first)", {
        set(&inconsistent, 31, &ED25519_IDENTITY_POINT)
    });
}

fn messenger_vectors(dir: &Path) -> Result<(), Error> {
    let mut cases = vec![
        certificate_case("device 1", [0xA1; 32], 1, [0x1A; 32]),
        certificate_case("device 0xFFFFFFFF of another account", [0xA2; 32], u32::MAX, [0x2A; 32]),
        certificate_case("device 0", [0xA2; 32], 0, [0x2B; 32]),
        list_case("one device", [0xA1; 32], 1, &[(1, [0x1A; 32])]),
        list_case(
            "five devices given out of order (the encoding sorts them by id), epoch 42",
            [0xA3; 32],
            42,
            &[(7, [0x37; 32]), (1, [0x31; 32]), (0x8000_0000, [0x38; 32]), (2, [0x32; 32]), (3, [0x33; 32])],
        ),
    ];
    let sixteen: Vec<(u32, [u8; 32])> =
        (0..16u8).rev().map(|i| (u32::from(i) * 1000, [0x40 + i; 32])).collect();
    cases.push(list_case(
        "16 devices (the most), in reverse order, epoch 2^64 - 1",
        [0xA2; 32],
        u64::MAX,
        &sixteen,
    ));

    cases.push(account_safety_number_case(
        "two users' account keys",
        (b"alice", [0xA1; 32]),
        (b"bob", [0xB1; 32]),
    )?);
    cases.push(account_safety_number_case(
        "phone numbers as ids, the remote id empty",
        (b"+14152222222", [0xA2; 32]),
        (b"", [0xA3; 32]),
    )?);

    let (small, case) = upload_case(
        "a new device: certificate, signed prekey 1 and last-resort KEM prekey 2, no one-time prekeys",
        ([0xA4; 32], 3, [0x2C; 32]),
        62,
        false,
        None,
        true,
    );
    let small = small.to_bytes();
    cases.push(case);
    let (_, case) = upload_case(
        "after a rotation (signed prekey 3, last resort 4) and a replenishment for a server holding 9 of each kind (91 one-time X25519 and 11 one-time KEM prekeys); hash and length only",
        ([0xA4; 32], 3, [0x2C; 32]),
        63,
        true,
        Some((9, 9)),
        false,
    );
    cases.push(case);

    let (retries, record) = messenger_conversation()?;
    let retry_bytes: Vec<Vec<u8>> =
        retries.iter().map(|c| spec_impl::unhex(c["retry"].as_str().expect("hex"))).collect();
    cases.extend(retries);
    cases.push(record);

    let cert = spec_impl::unhex(cases[0]["certificate"].as_str().expect("hex"));
    let list = spec_impl::unhex(cases[4]["list"].as_str().expect("hex"));
    messenger_rejects(&mut cases, &cert, &list, &small, &retry_bytes);

    write(
        dir,
        "messenger.json",
        "Messenger formats (SPEC.md 17-21): device certificates, device lists, account safety numbers, prekey uploads, retry messages, a session record, and rejected encodings with the error each must give; every case has a kind",
        cases,
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Media vectors (SPEC.md §22-§25): media.json.

/// An established classical session pair between two identities (the
/// session's own keys do not enter the call keys: only the identity keys
/// do, SPEC.md 23.2), from a fixed RNG that the vectors do not list.
fn call_sessions(caller: &IdentityKeyPair, callee: &IdentityKeyPair, seed: u8) -> (Session, Session) {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let spk = SignedPreKey::generate(callee, 1, &mut rng);
    let bundle = PreKeyBundle::new(callee.public_key().clone(), spk.public().clone(), None);
    let mut a = Session::initiate_with(caller, &bundle, Mode::Plain, PqPolicy::AllowClassical, &mut rng)
        .expect("initiate");
    let first = a.encrypt(b"call me", &mut rng).expect("encrypt");
    let message = PreKeyMessage::from_bytes(&first).expect("prekey message");
    let policy = AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical);
    let b = Session::accept(callee, &spk, None, None, &message, policy, &mut rng).expect("accept").session;
    (a, b)
}

fn srtp_json(keys: &media::SrtpKeys) -> Value {
    json!({"master_key": hex(keys.master_key()), "master_salt": hex(keys.master_salt())})
}

fn sframe_base_json(key: &media::SframeBaseKey) -> Value {
    json!({"kid": key.kid(), "key": hex(key.key())})
}

fn call_case(
    description: &str,
    caller_seed: [u8; 32],
    callee_seed: [u8; 32],
    hybrid: bool,
    seed: u8,
) -> Value {
    let caller = IdentityKeyPair::from_seed(&caller_seed);
    let callee = IdentityKeyPair::from_seed(&callee_seed);
    let (a, b) = call_sessions(&caller, &callee, seed);
    let mut crng = Recorder::new(seed);
    let mut rrng = Recorder::new(seed.wrapping_add(1));
    let kem = hybrid.then_some(KemType::MlKem1024);
    let (pending, offer) = media::CallOffer::new_with_kem(&a, kem, &mut crng);
    let offer_bytes = offer.to_bytes();
    let got = media::CallOffer::from_bytes(&offer_bytes).expect("offer decodes");
    let (callee_keys, answer) = got.answer(&b, PqPolicy::AllowClassical, &mut rrng).expect("answer");
    let answer_bytes = answer.to_bytes();
    let caller_keys = pending
        .complete(&a, &media::CallAnswer::from_bytes(&answer_bytes).expect("answer decodes"))
        .expect("complete");
    assert_eq!(caller_keys.srtp_send().master_key(), callee_keys.srtp_receive().master_key());
    // Intermediate values through hazmat (the call secret S is internal).
    let e_c: [u8; 32] = hex_to(&crng.draws[1]);
    let e_r_pub: [u8; 32] = answer_bytes[18..50].try_into().expect("32 bytes");
    let dh = hazmat::x25519(&e_c, &e_r_pub).expect("contributory");
    let ss = hybrid.then(|| {
        let seed: [u8; 64] = hex_to(&crng.draws[2]);
        hazmat::kem_decapsulate(KemType::MlKem1024, &seed, &answer_bytes[51..]).expect("decapsulate")
    });
    json!({
        "kind": "call_keys",
        "description": description,
        "caller_seed": hex(&caller_seed),
        "callee_seed": hex(&callee_seed),
        "caller_identity_key": hex(caller.public_key().as_bytes()),
        "callee_identity_key": hex(callee.public_key().as_bytes()),
        "kem_type": if hybrid { 1 } else { 0 },
        "caller_rng_draws": crng.draws,
        "callee_rng_draws": rrng.draws,
        "offer": hex(&offer_bytes),
        "answer": hex(&answer_bytes),
        "dh": hex(&dh),
        "kem_shared_secret": ss.map(|s| hex(&s)),
        "transcript_hash": hex(&spec_impl::sha256(&[&offer_bytes[..], &answer_bytes].concat())),
        "srtp_caller": srtp_json(caller_keys.srtp_send()),
        "srtp_callee": srtp_json(caller_keys.srtp_receive()),
        // The send keys are not exposed: each side's is the other's receive key.
        "sframe_caller": sframe_base_json(callee_keys.sframe_receive()),
        "sframe_callee": sframe_base_json(caller_keys.sframe_receive()),
    })
}

/// The plaintext rule of the two-chunk attachment: byte `i` is `i mod 251`.
fn attachment_plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn attachment_case(description: &str, plaintext: &[u8], full: bool, seed: u8) -> Value {
    let mut rng = Recorder::new(seed);
    let (blob, pointer) = media::encrypt_attachment(plaintext, &mut rng).expect("encrypt");
    assert_eq!(rng.draws.len(), 1, "one draw: the key");
    let encoded = pointer.to_bytes();
    let decoded = media::AttachmentPointer::from_bytes(&encoded[..]).expect("pointer decodes");
    assert_eq!(media::decrypt_attachment(&decoded, &blob).expect("decrypt"), plaintext);
    // The chunks' tags, cut from the blob at the lengths of SPEC.md 22.1.
    let mut tags = Vec::new();
    let mut rest = &blob[..];
    let mut left = plaintext.len();
    loop {
        let len = left.min(media::ATTACHMENT_CHUNK_LEN);
        let (chunk, tail) = rest.split_at(len + 16);
        tags.push(hex(&chunk[len..]));
        rest = tail;
        left -= len;
        if left == 0 {
            break;
        }
    }
    assert!(rest.is_empty());
    json!({
        "kind": "attachment",
        "description": description,
        "rng_draws": rng.draws,
        "size": plaintext.len(),
        "plaintext": if full { json!(hex(plaintext)) } else { Value::Null },
        "plaintext_rule": if full { Value::Null } else { json!("byte i = i mod 251") },
        "plaintext_sha256": hex(&spec_impl::sha256(plaintext)),
        "tags": tags,
        "digest": hex(decoded.digest()),
        "pointer": hex(&encoded[..]),
        "blob_len": blob.len(),
        "blob_sha256": hex(&spec_impl::sha256(&blob)),
        "blob": if full { json!(hex(&blob)) } else { Value::Null },
    })
}

fn frame_json(sender: &mut media::SframeSender, metadata: &[u8], plaintext: &[u8]) -> Value {
    let ctr = sender.next_counter().expect("counter");
    let kid = sender.kid();
    let mut out = vec![0u8; sender.ciphertext_len(plaintext.len())];
    let n = sender.encrypt(metadata, plaintext, &mut out).expect("encrypt");
    json!({"kid": kid, "ctr": ctr, "metadata": hex(metadata), "plaintext": hex(plaintext), "frame": hex(&out[..n])})
}

/// Two frames (counters 0 and 8) of one SFrame sender, with the key schedule's outputs.
fn sframe_case(suite: media::CipherSuite, kid: u64, base_key: &[u8]) -> Value {
    let mut sender = media::SframeSender::new(suite, kid, 0, base_key).expect("sender");
    let key = media::SframeKey::derive(suite, kid, base_key).expect("derive");
    let mut frames = vec![frame_json(&mut sender, b"", b"frame 0 of the stream")];
    for i in 1..8 {
        frame_json(&mut sender, b"", format!("frame {i}").as_bytes());
    }
    frames.push(frame_json(
        &mut sender,
        b"rtp header extension",
        b"frame 8: counter 8 takes an extended CTR field",
    ));
    json!({
        "kind": "sframe",
        "description": format!("suite {:#06x}: frames 0 and 8 of a sender with a {}-byte base key", suite.id(), base_key.len()),
        "cipher_suite": suite.id(),
        "base_key": hex(base_key),
        "kid": kid,
        "sframe_key": hex(key.key()),
        "sframe_salt": hex(key.salt()),
        "frames": frames,
    })
}

/// The ratcheted base key after a group sender's join (SPEC.md 25.2): the
/// one public route to RFC 9605 §5.1's next base key.
fn ratcheted(suite: media::CipherSuite, base_key: &[u8; 32], steps: usize) -> Vec<Vec<u8>> {
    let mut rng = ListRng32(vec![*base_key]);
    let mut sender = media::GroupCallSender::new([0; 16], suite, 0, &mut rng).expect("sender");
    let mut keys = Vec::new();
    for _ in 0..steps {
        send_one_frame(&mut sender);
        match sender.member_joined(&mut rng).expect("join") {
            media::KeyDistribution::Joiner(m) => keys.push(media_key_of(&m[0].to_bytes())),
            _ => unreachable!("a join below step 255 ratchets"),
        }
    }
    keys
}

/// One frame under the sender's current step: a join ratchets only a key
/// that was used (SPEC.md §25.2).
fn send_one_frame(sender: &mut media::GroupCallSender) {
    let s = sender.sframe_sender(0).expect("sender");
    let mut out = vec![0u8; s.ciphertext_len(0)];
    s.encrypt(b"", b"", &mut out).expect("a frame");
}

/// The base key at the end of a media key message (SPEC.md 25.1).
fn media_key_of(encoding: &[u8]) -> Vec<u8> {
    encoding[37..].to_vec()
}

/// An RNG that hands out the listed 32-byte values.
struct ListRng32(Vec<[u8; 32]>);

impl TryRng for ListRng32 {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("chatcrypt only draws bytes")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unreachable!("chatcrypt only draws bytes")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.copy_from_slice(&self.0.remove(0));
        Ok(())
    }
}
impl TryCryptoRng for ListRng32 {}

fn sframe_ratchet_case(suite: media::CipherSuite, bits: u8, generation: u64, base_key: [u8; 32]) -> Value {
    let kid0 = generation << bits;
    let mut keys = vec![base_key.to_vec()];
    keys.extend(ratcheted(suite, &base_key, 2));
    let mut sender = media::SframeSender::new(suite, kid0, bits, &base_key).expect("sender");
    let mut steps = Vec::new();
    for (step, key) in keys.iter().enumerate() {
        if step > 0 {
            sender.ratchet().expect("ratchet");
        }
        let derived = media::SframeKey::derive(suite, sender.kid(), key).expect("derive");
        steps.push(json!({
            "step": step, "kid": sender.kid(), "base_key": hex(key),
            "sframe_key": hex(derived.key()), "sframe_salt": hex(derived.salt()),
        }));
    }
    let frame = frame_json(&mut sender, b"meta", b"a frame at ratchet step 2");
    // A receiver holding step 0 follows the ratchet to decrypt it.
    let mut receiver = media::SframeReceiver::new(suite);
    receiver.add_base_key(kid0, bits, &base_key).expect("add");
    let bytes = spec_impl::unhex(frame["frame"].as_str().expect("hex"));
    let mut out = vec![0u8; bytes.len()];
    receiver.decrypt(b"meta", &bytes, &mut out).expect("the receiver ratchets");
    json!({
        "kind": "sframe_ratchet",
        "description": format!("suite {:#06x}, R = {bits}, generation {generation}: base keys and KIDs of steps 0-2 (RFC 9605 §5.1) and a frame at step 2 that a receiver holding step 0 decrypts", suite.id()),
        "cipher_suite": suite.id(),
        "ratchet_bits": bits,
        "steps": steps,
        "frame": frame,
    })
}

fn group_case(
    description: &str,
    suite: media::CipherSuite,
    call_id: [u8; 16],
    sender_id: u32,
    seed: u8,
) -> Value {
    let mut rng = Recorder::new(seed);
    let mut sender = media::GroupCallSender::new(call_id, suite, sender_id, &mut rng).expect("sender");
    let first = sender.current_key();
    let first_bytes = first.to_bytes();
    let mut chain = vec![json!({
        "step": 0, "kid": first.kid(), "base_key": hex(&media_key_of(&first_bytes)),
        "media_key_message": hex(&first_bytes),
    })];
    for step in 1..=3 {
        send_one_frame(&mut sender);
        match sender.member_joined(&mut rng).expect("join") {
            media::KeyDistribution::Joiner(m) => {
                assert_eq!(m.len(), 1);
                let bytes = m[0].to_bytes();
                chain.push(json!({
                    "step": step, "kid": m[0].kid(), "base_key": hex(&media_key_of(&bytes)),
                    "media_key_message": hex(&bytes),
                }));
            }
            _ => unreachable!("a join below step 255 ratchets"),
        }
    }
    assert_eq!(rng.draws.len(), 1, "joins draw nothing");
    let frame = frame_json(sender.sframe_sender(0).expect("sender"), b"", b"spoken after the third join");
    let mut receiver = media::GroupCallReceiver::new(call_id, suite);
    receiver
        .add_key(sender_id, &media::MediaKeyMessage::from_bytes(&first_bytes).expect("decodes"))
        .expect("add");
    let bytes = spec_impl::unhex(frame["frame"].as_str().expect("hex"));
    let mut out = vec![0u8; bytes.len()];
    receiver.decrypt(b"", &bytes, &mut out).expect("a receiver at step 0 follows three steps");
    json!({
        "kind": "group_keys",
        "description": description,
        "call_id": hex(&call_id),
        "cipher_suite": suite.id(),
        "sender": sender_id,
        "rng_draws": rng.draws,
        "chain": chain,
        "frame": frame,
    })
}

/// A reject case: `decoder` must refuse `input` with the library's error.
fn media_reject(cases: &mut Vec<Value>, decoder: &str, description: &str, input: Vec<u8>) {
    let result = match decoder {
        "attachment_pointer" => media::AttachmentPointer::from_bytes(&input).map(|_| ()),
        "call_offer" => media::CallOffer::from_bytes(&input).map(|_| ()),
        "call_answer" => media::CallAnswer::from_bytes(&input).map(|_| ()),
        "media_key_message" => media::MediaKeyMessage::from_bytes(&input).map(|_| ()),
        "sframe_header" => media::SframeHeader::decode(&input).map(|_| ()),
        _ => unreachable!("unknown decoder {decoder}"),
    };
    let err = result.expect_err(description);
    cases.push(json!({
        "kind": "reject",
        "decoder": decoder,
        "description": description,
        "input": hex(&input),
        "error": format!("{err:?}"),
    }));
}

fn media_rejects(
    cases: &mut Vec<Value>,
    pointer: &[u8],
    offer: &[u8],
    classical_offer: &[u8],
    answer: &[u8],
    key_message: &[u8],
) {
    // Pointer: 'F' || 0x01 || key (2..34) || u64 size (34..42) || digest (42..74).
    let r =
        |cases: &mut Vec<Value>, d: &str, input: Vec<u8>| media_reject(cases, "attachment_pointer", d, input);
    let too_big = ((1u64 << 48) + 1).to_be_bytes();
    r(cases, "empty", Vec::new());
    r(cases, "wrong tag (a call offer's 'o')", set(pointer, 0, &[0x6F]));
    r(cases, "version 2", set(pointer, 1, &[0x02]));
    r(cases, "truncated (last byte missing)", pointer[..73].to_vec());
    r(cases, "trailing byte", with_trailing_byte(pointer));
    r(cases, "size 2^48 + 1", set(pointer, 34, &too_big));
    r(cases, "size 2^64 - 1", set(pointer, 34, &[0xff; 8]));
    r(cases, "order: size 2^48 + 1 in a pointer cut after the size (the size is checked before the digest is read)", {
        set(pointer, 34, &too_big)[..42].to_vec()
    });
    r(
        cases,
        "order: version 2 and a trailing byte (the version first)",
        with_trailing_byte(&set(pointer, 1, &[0x02])),
    );

    // Offer: 'o' || 0x01 || CID (2..18) || E_C (18..50) || KEM type (50) || EK (51..1619).
    let r = |cases: &mut Vec<Value>, d: &str, input: Vec<u8>| media_reject(cases, "call_offer", d, input);
    r(cases, "empty", Vec::new());
    r(cases, "wrong tag (an answer's 'a')", set(offer, 0, &[0x61]));
    r(cases, "version 2", set(offer, 1, &[0x02]));
    r(cases, "truncated (last byte of EK missing)", offer[..offer.len() - 1].to_vec());
    r(cases, "truncated before the KEM type", offer[..50].to_vec());
    r(cases, "trailing byte", with_trailing_byte(offer));
    r(cases, "classical offer with a trailing byte", with_trailing_byte(classical_offer));
    r(cases, "E_C with bit 255 set (non-canonical)", flip(offer, 49, 0x80));
    r(cases, "E_C = p (non-canonical)", set(offer, 18, &P));
    r(cases, "KEM type 2", set(offer, 50, &[0x02]));
    r(
        cases,
        "EK failing the FIPS 203 modulus check (first coefficient 0xfff)",
        set(offer, 51, &[0xff, 0x0f]),
    );
    r(
        cases,
        "order: non-canonical E_C and KEM type 2 (the key first)",
        set(&flip(offer, 49, 0x80), 50, &[0x02]),
    );
    r(
        cases,
        "order: KEM type 2 in an offer cut after the type (the type first)",
        set(offer, 50, &[0x02])[..51].to_vec(),
    );
    r(
        cases,
        "order: a bad EK and a trailing byte (the EK check first)",
        with_trailing_byte(&set(offer, 51, &[0xff, 0x0f])),
    );

    // Answer: 'a' || 0x01 || CID (2..18) || E_R (18..50) || KEM type (50) || CT (51..1619).
    let r = |cases: &mut Vec<Value>, d: &str, input: Vec<u8>| media_reject(cases, "call_answer", d, input);
    r(cases, "empty", Vec::new());
    r(cases, "wrong tag (an offer's 'o')", set(answer, 0, &[0x6F]));
    r(cases, "version 0", set(answer, 1, &[0x00]));
    r(cases, "truncated (last byte of CT missing)", answer[..answer.len() - 1].to_vec());
    r(cases, "trailing byte", with_trailing_byte(answer));
    r(cases, "E_R with bit 255 set (non-canonical)", flip(answer, 49, 0x80));
    r(cases, "KEM type 0xff", set(answer, 50, &[0xff]));
    r(cases, "KEM type 0 followed by a ciphertext", set(answer, 50, &[0x00]));

    // Media key message: 'k' || 0x01 || call id (2..18) || u16 suite (18..20) || u64 KID (20..28)
    // || u64 activate_at (28..36) || u8 len (36) || key (37..).
    let r =
        |cases: &mut Vec<Value>, d: &str, input: Vec<u8>| media_reject(cases, "media_key_message", d, input);
    r(cases, "empty", Vec::new());
    r(cases, "wrong tag (a pointer's 'F')", set(key_message, 0, &[0x46]));
    r(cases, "version 2", set(key_message, 1, &[0x02]));
    r(cases, "suite 0", set(key_message, 18, &[0x00, 0x00]));
    r(cases, "suite 6", set(key_message, 18, &[0x00, 0x06]));
    r(cases, "suite 0xF000 (private use)", set(key_message, 18, &[0xF0, 0x00]));
    r(cases, "key length 16", set(key_message, 36, &[16]));
    r(cases, "key length 64 under a SHA-256 suite", {
        let mut b = set(key_message, 36, &[64]);
        b.extend_from_slice(&[0x5A; 32]);
        b
    });
    r(cases, "truncated (last key byte missing)", key_message[..key_message.len() - 1].to_vec());
    r(cases, "trailing byte", with_trailing_byte(key_message));
    r(
        cases,
        "order: suite 0 in a message cut after the suite (the suite first)",
        set(key_message, 18, &[0, 0])[..20].to_vec(),
    );
    r(
        cases,
        "order: key length 16 and a truncated key (the length first)",
        set(key_message, 36, &[16])[..40].to_vec(),
    );

    // SFrame headers (SPEC.md 24.2): config X K Y C, then KID and CTR bytes.
    let r = |cases: &mut Vec<Value>, d: &str, input: Vec<u8>| media_reject(cases, "sframe_header", d, input);
    r(cases, "empty", Vec::new());
    r(cases, "one KID byte announced, none follows", vec![0x80]);
    r(cases, "eight CTR bytes announced, seven follow", [&[0x0F][..], &[1; 7]].concat());
    r(cases, "KID 7 in an extended field (non-minimal)", vec![0x80, 0x07, 0x00]);
    r(cases, "KID 0x00ff in two bytes (leading zero byte)", vec![0x90, 0x00, 0xff]);
    r(cases, "CTR 0 in an extended field", vec![0x08, 0x00]);
    r(cases, "CTR 0x0100 in three bytes (leading zero byte)", vec![0x0A, 0x00, 0x01, 0x00]);
    r(cases, "order: a non-minimal KID and a truncated CTR (the KID first)", vec![0x89, 0x05, 0x01]);
    r(cases, "two KID bytes announced, one follows", vec![0x98, 0x10]);
}

fn media_vectors(dir: &Path) {
    let mut cases = vec![
        call_case("hybrid call (ML-KEM-1024)", [0xC1; 32], [0xC2; 32], true, 80),
        call_case("classical call (callee policy AllowClassical)", [0xC3; 32], [0xC4; 32], false, 82),
    ];
    let offer = spec_impl::unhex(cases[0]["offer"].as_str().expect("hex"));
    let answer = spec_impl::unhex(cases[0]["answer"].as_str().expect("hex"));
    let classical_offer = spec_impl::unhex(cases[1]["offer"].as_str().expect("hex"));

    cases.push(attachment_case("empty file: one empty final chunk, a 16-byte blob", b"", true, 84));
    cases.push(attachment_case("1-byte file: a 17-byte blob", b"\x42", true, 85));
    cases.push(attachment_case(
        "65 546-byte file (65 536 + 10): a full chunk and a 10-byte final chunk; plaintext by rule, blob by hash",
        &attachment_plaintext(65_546),
        false,
        86,
    ));
    let pointer = spec_impl::unhex(cases[3]["pointer"].as_str().expect("hex"));

    let base16 = [0x5Bu8; 16];
    let base32: Vec<u8> = (0..32u8).collect();
    let base64: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(3)).collect();
    for (suite, kid, base) in [
        (media::CipherSuite::AesCtr128HmacSha256_80, 0u64, &base32[..]),
        (media::CipherSuite::AesCtr128HmacSha256_64, 7, &base16[..]),
        (media::CipherSuite::AesCtr128HmacSha256_32, 8, &base32[..]),
        (media::CipherSuite::AesGcm128Sha256, 0x1234, &base32[..]),
        (media::CipherSuite::AesGcm256Sha512, u64::MAX, &base64[..]),
    ] {
        cases.push(sframe_case(suite, kid, base));
    }
    cases.push(sframe_ratchet_case(media::CipherSuite::AesGcm128Sha256, 4, 0x5, [0x71; 32]));
    cases.push(sframe_ratchet_case(media::CipherSuite::AesGcm256Sha512, 8, 0x0102, [0x72; 32]));
    cases.push(sframe_ratchet_case(media::CipherSuite::AesCtr128HmacSha256_80, 2, 3, [0x73; 32]));

    cases.push(group_case(
        "sender 7, AES_128_GCM_SHA256_128: three joins",
        media::CipherSuite::AesGcm128Sha256,
        [0xCA; 16],
        7,
        88,
    ));
    cases.push(group_case(
        "sender 0xFFFFFFFF, AES_256_GCM_SHA512_128: three joins (64-byte ratcheted keys)",
        media::CipherSuite::AesGcm256Sha512,
        [0xCB; 16],
        u32::MAX,
        89,
    ));
    let key_message =
        spec_impl::unhex(cases[cases.len() - 2]["chain"][0]["media_key_message"].as_str().expect("hex"));

    media_rejects(&mut cases, &pointer, &offer, &classical_offer, &answer, &key_message);
    write(
        dir,
        "media.json",
        "Media (SPEC.md 22-25): call keys, attachments, SFrame frames and ratchets, group call key chains, and rejected encodings with the error each must give; every case has a kind",
        cases,
    );
}

// ---------------------------------------------------------------------------
// Metadata vectors (SPEC.md §26-§27): metadata.json.
//
// Padding, sender certificates and sealed envelopes come from the library's
// public API (`chatcrypt::padding`, `chatcrypt::sealed`). The inputs the
// library cannot make are built with the independent implementation or by
// hand from valid encodings: certificates signed by another key than the one
// they name, envelopes whose padding or certificate is malformed but which
// are correctly encrypted, and envelopes whose sender tag was made by another
// identity than the certificate's. Their expected outcome is the library's.

use chatcrypt::{padding, sealed};

/// The clock of the certificate vectors.
const META_NOW: u64 = 1_800_000_000;

fn meta_padding_policy(p: spec_impl::PaddingPolicy) -> padding::PaddingPolicy {
    match p {
        spec_impl::PaddingPolicy::None => padding::PaddingPolicy::None,
        spec_impl::PaddingPolicy::Blocks(b) => {
            padding::PaddingPolicy::Blocks(core::num::NonZeroU16::new(b).expect("blocks of at least 1 byte"))
        }
        spec_impl::PaddingPolicy::Padme(floor) => padding::PaddingPolicy::Padme { floor },
    }
}

fn meta_policy_json(p: spec_impl::PaddingPolicy) -> Value {
    match p {
        spec_impl::PaddingPolicy::None => json!({"kind": "none", "param": 0}),
        spec_impl::PaddingPolicy::Blocks(b) => json!({"kind": "blocks", "param": b}),
        spec_impl::PaddingPolicy::Padme(f) => json!({"kind": "padme", "param": f}),
    }
}

fn meta_policy_name(p: spec_impl::PaddingPolicy) -> String {
    match p {
        spec_impl::PaddingPolicy::None => "none".to_string(),
        spec_impl::PaddingPolicy::Blocks(b) => format!("blocks {b}"),
        spec_impl::PaddingPolicy::Padme(f) => format!("Padmé floor {f}"),
    }
}

/// Content of `n` bytes from `rng`; an odd length ends in `0x80` (if it has
/// two bytes) and `0x00`, so that the marker search of SPEC.md §26.2 step 3
/// must skip the content's own zeros and marker-like bytes.
fn meta_content(rng: &mut ChaCha20Rng, n: usize) -> Vec<u8> {
    let mut c = vec![0u8; n];
    rng.fill_bytes(&mut c);
    if n % 2 == 1 {
        c[n - 1] = 0x00;
        if n >= 2 {
            c[n - 2] = 0x80;
        }
    }
    c
}

fn padding_case(policy: spec_impl::PaddingPolicy, content: &[u8]) -> Value {
    let lib = meta_padding_policy(policy);
    let padded = padding::pad(lib, content, usize::MAX).expect("pads");
    assert_eq!(padded, spec_impl::pad(policy, content), "library and spec_impl pad alike");
    assert_eq!(padding::unpad(&padded).expect("unpads"), content);
    let n = content.len();
    json!({
        "kind": "padding",
        "description": format!("{}: {n}-byte content (u = {})", meta_policy_name(policy), n + 4),
        "policy": meta_policy_json(policy),
        "header": hex(&policy.header()),
        "content_len": n,
        "content": hex(content),
        "unpadded_len": n + 4,
        "padded_len": padded.len(),
        "padded": hex(&padded),
    })
}

fn padding_vectors(cases: &mut Vec<Value>) {
    use spec_impl::PaddingPolicy as P;
    let mut rng = ChaCha20Rng::from_seed([0x9A; 32]);
    // Content lengths n (u = n + 4) on each side of class boundaries.
    let around = |u: usize| [u - 5, u - 4, u - 3];
    let mut plan: Vec<(P, Vec<usize>)> = vec![
        (P::None, vec![0, 1, 156, 157]),
        (P::Blocks(1), vec![0, 1, 157]),
        (P::Blocks(16), [vec![0], around(16).to_vec(), around(32).to_vec(), around(4096).to_vec()].concat()),
        (
            P::Blocks(160),
            [vec![0], around(160).to_vec(), around(320).to_vec(), around(4800).to_vec()].concat(),
        ),
    ];
    let mut padme0 = vec![0];
    for k in 3..=12 {
        padme0.extend(around(1 << k).map(|n| n + 1)); // u = 2^k - 1, 2^k, 2^k + 1
    }
    // Step boundaries inside a power of two: padme(100) = 104, padme(105) =
    // 112; padme(4100) = 4352, padme(4353) = 4608.
    padme0.extend([96, 100, 101, 4096, 4348, 4349]);
    plan.push((P::Padme(0), padme0));
    let mut padme160 = vec![0, 155, 156, 157];
    for k in 8..=12 {
        padme160.extend(around(1 << k).map(|n| n + 1));
    }
    padme160.push(996); // u = 1000 → 1024
    plan.push((P::Padme(160), padme160));
    for (policy, lengths) in plan {
        for n in lengths {
            let content = meta_content(&mut rng, n);
            cases.push(padding_case(policy, &content));
        }
    }
}

fn padding_reject(cases: &mut Vec<Value>, description: &str, input: Vec<u8>) {
    let err = padding::unpad(&input).expect_err(description);
    assert_eq!(spec_impl::unpad(&input).map(|_| ()).expect_err(description), spec_impl::Error::Padding);
    cases.push(json!({
        "kind": "padding_reject",
        "description": description,
        "input": hex(&input),
        "error": format!("{err:?}"),
    }));
}

fn padding_rejects(cases: &mut Vec<Value>) {
    use spec_impl::PaddingPolicy as P;
    let good16 = spec_impl::pad(P::Blocks(16), b"hi"); // 16 bytes: 01 0010 'h' 'i' 80 00*9
    let default = spec_impl::pad(P::Padme(160), b"twelve bytes"); // 160 bytes
    let none = spec_impl::pad(P::None, b"abc"); // 7 bytes
    let r = padding_reject;
    r(cases, "rule 1: empty", vec![]);
    r(cases, "rule 1: three bytes (a header alone)", vec![0x00, 0x00, 0x00]);
    r(cases, "rule 1: three bytes, the last the marker", vec![0x01, 0x00, 0x80]);
    r(cases, "rule 2: unknown kind 0x03 (a valid blocks-16 padding otherwise)", set(&good16, 0, &[0x03]));
    r(cases, "rule 2: unknown kind 0xFF", set(&good16, 0, &[0xFF]));
    r(cases, "rule 2: none with param 1", set(&none, 1, &[0x00, 0x01]));
    r(cases, "rule 2: none with param 0x0100", set(&none, 1, &[0x01, 0x00]));
    r(cases, "rule 2: blocks with param 0", set(&good16, 1, &[0x00, 0x00]));
    r(cases, "rule 3: no marker, all zeros after the header", [vec![0x01, 0x00, 0x10], vec![0; 13]].concat());
    r(cases, "rule 3: no non-zero byte at all", vec![0x00; 4]);
    r(cases, "rule 3: the marker in the header (blocks of 0x0080, then zeros)", vec![0x01, 0x00, 0x80, 0x00]);
    r(
        cases,
        "rule 3: the marker in the header (Padmé floor 0x0080, then zeros)",
        [vec![0x02, 0x00, 0x80], vec![0; 125]].concat(),
    );
    r(cases, "rule 3: a non-zero byte after the marker", set(&good16, 15, &[0x01]));
    r(cases, "rule 3: 0x80 then 0x01 after the marker", set(&good16, 6, &[0x80, 0x01]));
    r(cases, "rule 3: the marker is 0x81", set(&good16, 5, &[0x81]));
    r(cases, "rule 3: the marker is 0x01 (none)", set(&none, 6, &[0x01]));
    r(cases, "rule 4: blocks 16, one zero too many", [good16.clone(), vec![0]].concat());
    r(cases, "rule 4: blocks 16, one zero too few", good16[..15].to_vec());
    r(cases, "rule 4: blocks 16, a whole block of zeros too many", [good16.clone(), vec![0; 16]].concat());
    r(cases, "rule 4: none, one zero too many", [none.clone(), vec![0]].concat());
    r(cases, "rule 4: Padmé floor 160, one zero too many", [default.clone(), vec![0]].concat());
    r(cases, "rule 4: Padmé floor 160, one zero too few", default[..159].to_vec());
    r(
        cases,
        "rule 4: Padmé floor 160, 176 bytes for a 12-byte content (the next class)",
        [default.clone(), vec![0; 16]].concat(),
    );
    r(cases, "rule 4: blocks 16 relabelled as Padmé floor 0", set(&good16, 0, &[0x02, 0x00, 0x00]));
    r(cases, "rule 4: blocks 16 relabelled as none", set(&good16, 0, &[0x00, 0x00, 0x00]));
    r(cases, "rule 4: blocks 16 relabelled as blocks 32", set(&good16, 0, &[0x01, 0x00, 0x20]));
    r(
        cases,
        "rule 4: Padmé floor 160 relabelled as blocks 16 (160 is a multiple of 16)",
        set(&default, 0, &[0x01, 0x00, 0x10]),
    );
    r(cases, "rule 4: Padmé floor 160 relabelled as Padmé floor 0", set(&default, 0, &[0x02, 0x00, 0x00]));
    r(cases, "rule 4: none relabelled as blocks 16", set(&none, 0, &[0x01, 0x00, 0x10]));
    r(cases, "order: unknown kind and no marker (rule 2 first; same error)", vec![0x07, 0x00, 0x00, 0x00]);
}

/// The sender of the certificate and envelope vectors.
struct MetaSender {
    server_seed: [u8; 32],
    account_seed: [u8; 32],
    device: u32,
    identity_seed: [u8; 32],
    serial: u64,
    expires: u64,
}

const META_SENDER: MetaSender = MetaSender {
    server_seed: [0x5E; 32],
    account_seed: [0xA1; 32],
    device: 3,
    identity_seed: [0x51; 32],
    serial: 1001,
    expires: META_NOW + 3600,
};

impl MetaSender {
    fn certificate(&self) -> sealed::SenderCertificate {
        let server = sealed::ServerKeyPair::from_seed(&self.server_seed);
        let account = AccountKeyPair::from_seed(&self.account_seed);
        let identity = IdentityKeyPair::from_seed(&self.identity_seed);
        server.issue(
            self.serial,
            self.expires,
            account.public_key(),
            DeviceId::new(self.device),
            identity.public_key(),
        )
    }

    fn server_key(&self) -> [u8; 32] {
        *sealed::ServerKeyPair::from_seed(&self.server_seed).public_key().as_bytes()
    }
}

fn sender_certificate_case(
    description: &str,
    server_seed: [u8; 32],
    serial: u64,
    expires: u64,
    account_seed: [u8; 32],
    device: u32,
    identity_seed: [u8; 32],
) -> Value {
    let server = sealed::ServerKeyPair::from_seed(&server_seed);
    let account = AccountKeyPair::from_seed(&account_seed);
    let identity = IdentityKeyPair::from_seed(&identity_seed);
    let cert =
        server.issue(serial, expires, account.public_key(), DeviceId::new(device), identity.public_key());
    let spec = spec_impl::SenderCertificate::issue(
        &server_seed,
        serial,
        expires,
        account.public_key().as_bytes(),
        device,
        identity.public_key().as_bytes(),
    );
    assert_eq!(cert.to_bytes().to_vec(), spec.encode(), "{description}");
    json!({
        "kind": "sender_certificate",
        "description": description,
        "server_seed": hex(&server_seed),
        "server_key": hex(server.public_key().as_bytes()),
        "serial": serial,
        "expires": expires,
        "account_seed": hex(&account_seed),
        "account_key": hex(account.public_key().as_bytes()),
        "device_id": device,
        "identity_seed": hex(&identity_seed),
        "identity_key": hex(identity.public_key().as_bytes()),
        "signed_message": hex(&[spec_impl::LABEL_SENDER_CERTIFICATE, &spec.body()].concat()),
        "certificate": hex(&cert.to_bytes()),
    })
}

fn cert_policy_json(roots: &[[u8; 32]], revoked: &[u64], now: u64) -> Value {
    json!({
        "roots": roots.iter().map(|r| hex(r)).collect::<Vec<_>>(),
        "revoked": revoked,
        "now": now,
    })
}

fn lib_roots(roots: &[[u8; 32]]) -> Vec<sealed::ServerKey> {
    roots.iter().map(|r| sealed::ServerKey::from_bytes(r).expect("strict server key")).collect()
}

fn certificate_validation_case(
    cases: &mut Vec<Value>,
    description: &str,
    certificate: &[u8],
    roots: &[[u8; 32]],
    revoked: &[u64],
    now: u64,
) {
    let lib_roots = lib_roots(roots);
    let cert = sealed::SenderCertificate::from_bytes(certificate).expect("decodes");
    let result = match cert.validate(&sealed::CertificatePolicy::new(&lib_roots, revoked, now)) {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("{e:?}"),
    };
    cases.push(json!({
        "kind": "certificate_validation",
        "description": description,
        "certificate": hex(certificate),
        "policy": cert_policy_json(roots, revoked, now),
        "result": result,
    }));
}

fn certificate_vectors(cases: &mut Vec<Value>) {
    let s = &META_SENDER;
    let first = cases.len();
    cases.push(sender_certificate_case(
        "the sender of the envelope vectors: serial 1001, device 3",
        s.server_seed,
        s.serial,
        s.expires,
        s.account_seed,
        s.device,
        s.identity_seed,
    ));
    cases.push(sender_certificate_case(
        "serial 0, expiry 0, device 0",
        [0x5F; 32],
        0,
        0,
        [0xA2; 32],
        0,
        [0x52; 32],
    ));
    cases.push(sender_certificate_case(
        "serial, expiry and device at their maximum",
        [0x5E; 32],
        u64::MAX,
        u64::MAX,
        [0xA3; 32],
        u32::MAX,
        [0x53; 32],
    ));
    let cert = s.certificate().to_bytes().to_vec();
    let root = s.server_key();
    let other_root = ed25519_public_of_seed(&[0x60; 32]);
    let e = s.expires;
    let v = certificate_validation_case;
    v(cases, "valid: now = expires - 1", &cert, &[root], &[], e - 1);
    v(cases, "valid: now = 0, other serials revoked", &cert, &[root], &[1000, 1002, 0, u64::MAX], 0);
    v(cases, "valid: the issuer is the second of two roots", &cert, &[other_root, root], &[], META_NOW);
    v(cases, "expired: now = expires", &cert, &[root], &[], e);
    v(cases, "expired: now = expires + 1", &cert, &[root], &[], e + 1);
    v(cases, "expired: now = 2^64 - 1", &cert, &[root], &[], u64::MAX);
    v(cases, "untrusted: no roots", &cert, &[], &[], META_NOW);
    v(cases, "untrusted: another server's key is the only root", &cert, &[other_root], &[], META_NOW);
    v(cases, "revoked: its serial is on the list", &cert, &[root], &[7, 1001], META_NOW);
    let flipped_sig = flip(&cert, 150, 0x01);
    v(cases, "bad signature: a signature bit flipped", &flipped_sig, &[root], &[], META_NOW);
    let changed_expiry = set(&cert, 10, &u64::MAX.to_be_bytes());
    v(cases, "bad signature: the expiry changed after signing", &changed_expiry, &[root], &[], META_NOW);
    let changed_device = set(&cert, 50, &4u32.to_be_bytes());
    v(cases, "bad signature: the device changed after signing", &changed_device, &[root], &[], META_NOW);
    // Signed by another server key, naming the trusted one.
    let account = ed25519_public_of_seed(&s.account_seed);
    let identity = ed25519_public_of_seed(&s.identity_seed);
    let mut forged = spec_impl::SenderCertificate::issue(
        &s.server_seed,
        s.serial,
        s.expires,
        &account,
        s.device,
        &identity,
    );
    forged.signature =
        spec_impl::sign_labelled(&[0x60; 32], spec_impl::LABEL_SENDER_CERTIFICATE, &forged.body());
    let forged = forged.encode();
    v(
        cases,
        "bad signature: signed by another server key than the one it names",
        &forged,
        &[root, other_root],
        &[],
        META_NOW,
    );
    // The order of the checks.
    v(
        cases,
        "order: untrusted and a bad signature (UntrustedCertificate)",
        &flipped_sig,
        &[other_root],
        &[],
        META_NOW,
    );
    v(
        cases,
        "order: untrusted, revoked and expired (UntrustedCertificate)",
        &cert,
        &[other_root],
        &[1001],
        e,
    );
    v(cases, "order: a bad signature and revoked (BadSignature)", &flipped_sig, &[root], &[1001], META_NOW);
    v(cases, "order: a bad signature and expired (BadSignature)", &changed_device, &[root], &[], e);
    v(cases, "order: revoked and expired (CertificateRevoked)", &cert, &[root], &[1001], e);
    let zero = sealed::ServerKeyPair::from_seed(&[0x5F; 32]);
    let cert0 = cases[first + 1]["certificate"].as_str().map(spec_impl::unhex).expect("hex");
    v(cases, "expiry 0: expired even at now = 0", &cert0, &[*zero.public_key().as_bytes()], &[], 0);
    let certmax = cases[first + 2]["certificate"].as_str().map(spec_impl::unhex).expect("hex");
    v(cases, "expiry 2^64 - 1: valid at now = 2^64 - 2", &certmax, &[root], &[], u64::MAX - 1);
    v(cases, "serial 2^64 - 1 revoked", &certmax, &[root], &[u64::MAX], 0);
    certificate_rejects(cases, &cert);
}

fn ed25519_public_of_seed(seed: &[u8; 32]) -> [u8; 32] {
    spec_impl::ed25519_public_of(seed)
}

/// A non-canonical encoding of a point of large order: `y + p` for the
/// smallest `y` (2 to 18) that is on the curve and of large order, which
/// ed25519-dalek's plain decoding accepts and reduces.
fn non_canonical_ed25519_key() -> [u8; 32] {
    for y in 2u8..=18 {
        let mut b = [0xFFu8; 32];
        b[0] = 0xED + y;
        b[31] = 0x7F;
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_bytes(&b) {
            if !k.is_weak() {
                assert_ne!(k.to_bytes(), k.to_edwards().compress().to_bytes());
                return b;
            }
        }
    }
    unreachable!("some y in 2..=18 is on the curve")
}

fn certificate_reject(cases: &mut Vec<Value>, description: &str, input: Vec<u8>) {
    let err = sealed::SenderCertificate::from_bytes(&input).expect_err(description);
    cases.push(json!({
        "kind": "certificate_reject",
        "description": description,
        "input": hex(&input),
        "error": format!("{err:?}"),
    }));
}

fn certificate_rejects(cases: &mut Vec<Value>, cert: &[u8]) {
    let nc = non_canonical_ed25519_key();
    let mut small = [0u8; 32];
    small[0] = 1; // the neutral point, order 1
    let r = certificate_reject;
    r(cases, "empty", vec![]);
    r(cases, "wrong tag: 0x43 (a device certificate's)", set(cert, 0, &[0x43]));
    r(cases, "wrong tag: 0x73 (a sealed envelope's)", set(cert, 0, &[0x73]));
    r(cases, "version 0x02", set(cert, 1, &[0x02]));
    r(cases, "version 0x00", set(cert, 1, &[0x00]));
    for (field, offset) in [("account key", 18), ("identity key", 54), ("server key", 86)] {
        r(
            cases,
            &format!("{field}: non-canonical encoding (y + p) of a large-order point"),
            set(cert, offset, &nc),
        );
        r(cases, &format!("{field}: the neutral point (order 1)"), set(cert, offset, &small));
        let mut order8 = [0u8; 32];
        order8.copy_from_slice(&spec_impl::unhex(
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        ));
        let point = ed25519_dalek::VerifyingKey::from_bytes(&order8).expect("on the curve");
        assert!(
            point.is_weak() && point.to_bytes() == point.to_edwards().compress().to_bytes(),
            "canonical, small order"
        );
        r(cases, &format!("{field}: a point of order 8"), set(cert, offset, &order8));
    }
    r(cases, "truncated: 181 bytes", cert[..181].to_vec());
    r(cases, "truncated: 118 bytes (no signature)", cert[..118].to_vec());
    r(cases, "truncated: 2 bytes", cert[..2].to_vec());
    r(cases, "a trailing byte", with_trailing_byte(cert));
    r(cases, "order: version 0x02 and truncated (UnsupportedVersion)", set(&cert[..100], 1, &[0x02]));
    r(
        cases,
        "order: a bad account key and a bad server key (the account key's InvalidPublicKey)",
        set(&set(cert, 18, &small), 86, &nc),
    );
    r(
        cases,
        "order: a bad identity key and truncated inside the server key (InvalidPublicKey)",
        set(&cert[..100], 54, &small),
    );
    r(
        cases,
        "order: a bad server key and a trailing byte (InvalidPublicKey)",
        with_trailing_byte(&set(cert, 86, &small)),
    );
}

fn view_policy_json() -> Value {
    cert_policy_json(&[META_SENDER.server_key()], &[7], META_NOW)
}

/// The recipient's view of `envelope` under the view policy (the library's `open`).
fn recipient_view(recipient: &IdentityKeyPair, envelope: &[u8]) -> Value {
    let roots = lib_roots(&[META_SENDER.server_key()]);
    let opened = sealed::open(recipient, envelope, &sealed::CertificatePolicy::new(&roots, &[7], META_NOW))
        .expect("the recipient opens it");
    json!({
        "certificate": hex(&opened.certificate().to_bytes()),
        "content": hex(opened.content()),
    })
}

fn sealed_case(
    description: &str,
    recipient_seed: [u8; 32],
    content: &[u8],
    policy: spec_impl::PaddingPolicy,
    rng_seed: u8,
) -> Value {
    let s = &META_SENDER;
    let sender = IdentityKeyPair::from_seed(&s.identity_seed);
    let cert = s.certificate();
    let recipient = IdentityKeyPair::from_seed(&recipient_seed);
    let mut rng = Recorder::new(rng_seed);
    let envelope =
        sealed::seal(&sender, &cert, recipient.public_key(), content, meta_padding_policy(policy), &mut rng)
            .expect("seals");
    assert_eq!(rng.draws.len(), 1, "one draw: M");
    let m: [u8; 32] = hex_to32(&rng.draws[0]);
    let spec = spec_impl::seal(
        &spec_impl::Identity::from_seed(&s.identity_seed),
        &cert.to_bytes(),
        &[*recipient.public_key().as_bytes()],
        content,
        policy,
        &m,
    )
    .expect("spec_impl seals");
    assert_eq!(spec.wire(), envelope, "{description}: library and spec_impl");
    let part = &spec.parts[0];
    json!({
        "kind": "sealed",
        "description": description,
        "sender_identity_seed": hex(&s.identity_seed),
        "sender_identity_key": hex(sender.public_key().as_bytes()),
        "certificate": hex(&cert.to_bytes()),
        "recipient_identity_seed": hex(&recipient_seed),
        "recipient_identity_key": hex(recipient.public_key().as_bytes()),
        "content": hex(content),
        "padding": meta_policy_json(policy),
        "rng_draws": rng.draws,
        "m": hex(&m),
        "e": hex(&spec.e),
        "k": hex(&spec.k),
        "ephemeral": hex(&spec.ephemeral),
        "c": hex(&part.c),
        "at": hex(&part.at),
        "q": hex(&spec.q),
        "envelope_len": envelope.len(),
        "envelope": hex(&envelope),
        "policy": view_policy_json(),
        "view": recipient_view(&recipient, &envelope),
    })
}

fn sealed_multi_case(
    description: &str,
    recipient_seeds: &[[u8; 32]],
    content: &[u8],
    policy: spec_impl::PaddingPolicy,
    rng_seed: u8,
) -> Value {
    let s = &META_SENDER;
    let sender = IdentityKeyPair::from_seed(&s.identity_seed);
    let cert = s.certificate();
    let recipients: Vec<IdentityKeyPair> = recipient_seeds.iter().map(IdentityKeyPair::from_seed).collect();
    let keys: Vec<chatcrypt::IdentityKey> = recipients.iter().map(|r| r.public_key().clone()).collect();
    let mut rng = Recorder::new(rng_seed);
    let envelope = sealed::seal_multi(&sender, &cert, &keys, content, meta_padding_policy(policy), &mut rng)
        .expect("seals");
    assert_eq!(rng.draws.len(), 1, "one draw: M");
    let m: [u8; 32] = hex_to32(&rng.draws[0]);
    let spec = spec_impl::seal(
        &spec_impl::Identity::from_seed(&s.identity_seed),
        &cert.to_bytes(),
        &keys.iter().map(|k| *k.as_bytes()).collect::<Vec<_>>(),
        content,
        policy,
        &m,
    )
    .expect("spec_impl seals");
    assert_eq!(spec.multi_envelope(), envelope, "{description}: library and spec_impl");
    let split = sealed::MultiRecipientEnvelope::from_bytes(&envelope).expect("the server decodes it");
    let mut split_json = Vec::new();
    let mut views = Vec::new();
    for (i, (key, env)) in split.envelopes().enumerate() {
        assert_eq!(env, spec.envelope(i));
        let recipient = recipients.iter().find(|r| r.public_key() == key).expect("a recipient");
        let seed = recipient_seeds[recipients.iter().position(|r| r.public_key() == key).expect("listed")];
        split_json.push(json!({"recipient_identity_key": hex(key.as_bytes()), "envelope": hex(&env)}));
        let mut view = recipient_view(recipient, &env);
        view["recipient_identity_seed"] = json!(hex(&seed));
        views.push(view);
    }
    json!({
        "kind": "sealed_multi",
        "description": description,
        "sender_identity_seed": hex(&s.identity_seed),
        "sender_identity_key": hex(sender.public_key().as_bytes()),
        "certificate": hex(&cert.to_bytes()),
        "recipient_identity_seeds": recipient_seeds.iter().map(|s| hex(s)).collect::<Vec<_>>(),
        "content": hex(content),
        "padding": meta_policy_json(policy),
        "rng_draws": rng.draws,
        "m": hex(&m),
        "e": hex(&spec.e),
        "k": hex(&spec.k),
        "ephemeral": hex(&spec.ephemeral),
        "entries": spec.parts.iter().map(|p| json!({
            "recipient_identity_key": hex(&p.recipient),
            "c": hex(&p.c),
            "at": hex(&p.at),
        })).collect::<Vec<_>>(),
        "q": hex(&spec.q),
        "envelope_len": envelope.len(),
        "envelope": hex(&envelope),
        "split": split_json,
        "policy": view_policy_json(),
        "views": views,
    })
}

fn sealed_open_reject(
    cases: &mut Vec<Value>,
    description: &str,
    recipient_seed: [u8; 32],
    envelope: Vec<u8>,
    roots: &[[u8; 32]],
    revoked: &[u64],
    now: u64,
) {
    let recipient = IdentityKeyPair::from_seed(&recipient_seed);
    let lib_roots = lib_roots(roots);
    let err = sealed::open(&recipient, &envelope, &sealed::CertificatePolicy::new(&lib_roots, revoked, now))
        .expect_err(description);
    cases.push(json!({
        "kind": "sealed_reject",
        "operation": "open",
        "description": description,
        "recipient_identity_seed": hex(&recipient_seed),
        "policy": cert_policy_json(roots, revoked, now),
        "envelope": hex(&envelope),
        "error": format!("{err:?}"),
    }));
}

fn sealed_split_reject(cases: &mut Vec<Value>, description: &str, envelope: Vec<u8>) {
    let err = sealed::MultiRecipientEnvelope::from_bytes(&envelope).map(|_| ()).expect_err(description);
    cases.push(json!({
        "kind": "sealed_reject",
        "operation": "split",
        "description": description,
        "envelope": hex(&envelope),
        "error": format!("{err:?}"),
    }));
}

/// A canonical X25519 key whose every X25519 output is zero.
fn low_order_x25519(hex_key: &str) -> [u8; 32] {
    let u = hex_to32(hex_key);
    assert_eq!(spec_impl::x25519_raw(&[0x42; 32], &u), [0u8; 32], "low order");
    u
}

fn sealed_rejects(cases: &mut Vec<Value>) {
    let s = &META_SENDER;
    let bob_seed = [0xB1; 32];
    let carol_seed = [0xB2; 32];
    let bob = spec_impl::Identity::from_seed(&bob_seed);
    let carol = spec_impl::Identity::from_seed(&carol_seed);
    let sender = spec_impl::Identity::from_seed(&s.identity_seed);
    let cert = s.certificate().to_bytes().to_vec();
    let root = s.server_key();
    let policy = spec_impl::PaddingPolicy::Padme(160);
    let content = b"sealed for Bob";
    let mut rng = ChaCha20Rng::from_seed([0x9B; 32]);
    let mut m = || {
        let mut m = [0u8; 32];
        rng.fill_bytes(&mut m);
        m
    };
    let env = spec_impl::seal(&sender, &cert, &[bob.public], content, policy, &m()).expect("seals").wire();
    let env2 = spec_impl::seal(&sender, &cert, &[bob.public], content, policy, &m()).expect("seals").wire();
    let multi =
        spec_impl::seal(&sender, &cert, &[bob.public, carol.public], content, policy, &m()).expect("seals");
    let to_carol =
        spec_impl::seal(&sender, &cert, &[carol.public], content, policy, &m()).expect("seals").wire();
    // Sanity: the base envelope opens.
    let roots = lib_roots(&[root]);
    sealed::open(
        &IdentityKeyPair::from_seed(&bob_seed),
        &env,
        &sealed::CertificatePolicy::new(&roots, &[], META_NOW),
    )
    .expect("the base envelope opens");

    let o = |cases: &mut Vec<Value>, d: &str, e: Vec<u8>| {
        sealed_open_reject(cases, d, bob_seed, e, &[root], &[], META_NOW)
    };
    // Step 1: decoding.
    o(cases, "empty", vec![]);
    o(cases, "tag 0x6D (a multi-recipient envelope's)", set(&env, 0, &[0x6D]));
    o(cases, "tag 0x63 (a certificate's)", set(&env, 0, &[0x63]));
    o(cases, "version 0x02", set(&env, 1, &[0x02]));
    o(cases, "version 0x00", set(&env, 1, &[0x00]));
    o(cases, "E with bit 255 set (non-canonical)", flip(&env, 2 + 31, 0x80));
    let mut p = [0xFFu8; 32];
    p[0] = 0xED;
    p[31] = 0x7F;
    o(cases, "E = p (non-canonical)", set(&env, 2, &p));
    o(cases, "truncated inside E", env[..20].to_vec());
    o(cases, "truncated inside C", env[..50].to_vec());
    o(cases, "truncated inside AT", env[..70].to_vec());
    o(cases, "no payload", env[..82].to_vec());
    o(cases, "a 201-byte payload (one byte below the shortest)", env[..82 + 201].to_vec());
    o(
        cases,
        "order: version 0x02 and a non-canonical E (UnsupportedVersion)",
        flip(&set(&env, 1, &[0x02]), 33, 0x80),
    );
    o(cases, "order: a non-canonical E and a short payload (InvalidPublicKey)", flip(&env[..100], 33, 0x80));
    // Step 2: the DH rule.
    for (d, u) in [
        ("E = 0 (low order)", "0000000000000000000000000000000000000000000000000000000000000000"),
        ("E = 1 (low order)", "0100000000000000000000000000000000000000000000000000000000000000"),
        ("E = p - 1 (low order)", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        ("E of order 8", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    ] {
        o(cases, d, set(&env, 2, &low_order_x25519(u)));
    }
    // Steps 3-4.
    o(cases, "E changed (another canonical key): M differs, E does not match", flip(&env, 2, 0x01));
    o(cases, "C: first bit flipped", flip(&env, 34, 0x01));
    o(cases, "C: last byte flipped", flip(&env, 65, 0xFF));
    o(cases, "payload: first byte flipped", flip(&env, 82, 0x01));
    o(cases, "payload: a byte of the padding flipped", flip(&env, env.len() - 40, 0x01));
    o(cases, "payload: the tag's last byte flipped", flip(&env, env.len() - 1, 0x80));
    o(cases, "payload: one byte cut off", env[..env.len() - 1].to_vec());
    o(cases, "payload: one byte appended", with_trailing_byte(&env));
    o(
        cases,
        "a part moved to another payload (E, C, AT of one envelope, the payload of another)",
        [&env[..82], &env2[82..]].concat(),
    );
    o(cases, "a part moved to another recipient: Carol's split part opened by Bob", multi.envelope(1));
    o(
        cases,
        "a part moved to another recipient: an envelope sealed for Carol opened by Bob",
        to_carol.clone(),
    );
    o(
        cases,
        "a part moved to another recipient: Bob's C and AT in Carol's envelope",
        [&to_carol[..34], &env[34..82], &to_carol[82..]].concat(),
    );
    // Step 6.
    o(cases, "AT: first bit flipped", flip(&env, 66, 0x01));
    o(cases, "AT: last byte flipped", flip(&env, 81, 0xFF));
    let other = spec_impl::Identity::from_seed(&[0x57; 32]);
    let impostor =
        spec_impl::seal_padded(&other, &cert, &[bob.public], &spec_impl::pad(policy, content), &m())
            .expect("seals");
    o(cases, "sealed by another identity than the certificate names (its AT is not IK_S's)", impostor.wire());
    let own_cert = spec_impl::SenderCertificate::issue(
        &s.server_seed,
        s.serial,
        s.expires,
        &spec_impl::ed25519_public_of(&s.account_seed),
        s.device,
        &other.public,
    );
    // Sanity: with its own certificate the impostor's envelope would open.
    let honest =
        spec_impl::seal(&other, &own_cert.encode(), &[bob.public], content, policy, &m()).expect("seals");
    sealed::open(
        &IdentityKeyPair::from_seed(&bob_seed),
        &honest.wire(),
        &sealed::CertificatePolicy::new(&roots, &[], META_NOW),
    )
    .expect("an honest envelope of the other identity opens");
    // Step 5: a malformed certificate inside a correctly encrypted payload.
    let inner = |cert: &[u8], padded: &[u8], m: &[u8; 32]| {
        spec_impl::seal_padded(&sender, cert, &[bob.public], padded, m).expect("seals").wire()
    };
    let padded = spec_impl::pad(policy, content);
    o(cases, "inside: the certificate's tag is 0x43", inner(&set(&cert, 0, &[0x43]), &padded, &m()));
    o(cases, "inside: the certificate's version is 0x02", inner(&set(&cert, 1, &[0x02]), &padded, &m()));
    let mut small = [0u8; 32];
    small[0] = 1;
    o(
        cases,
        "inside: the certificate's identity key is the neutral point",
        inner(&set(&cert, 54, &small), &padded, &m()),
    );
    o(
        cases,
        "inside: the certificate's server key is non-canonical",
        inner(&set(&cert, 86, &non_canonical_ed25519_key()), &padded, &m()),
    );
    // Step 7.
    let other_root = ed25519_public_of_seed(&[0x60; 32]);
    sealed_open_reject(
        cases,
        "policy: the roots lack the issuer",
        bob_seed,
        env.clone(),
        &[other_root],
        &[],
        META_NOW,
    );
    sealed_open_reject(cases, "policy: no roots", bob_seed, env.clone(), &[], &[], META_NOW);
    sealed_open_reject(
        cases,
        "policy: the serial is revoked",
        bob_seed,
        env.clone(),
        &[root],
        &[s.serial],
        META_NOW,
    );
    sealed_open_reject(cases, "policy: now = expires", bob_seed, env.clone(), &[root], &[], s.expires);
    o(
        cases,
        "inside: the certificate's signature bit flipped",
        inner(&flip(&cert, 150, 0x01), &padded, &m()),
    );
    o(
        cases,
        "inside: the certificate's expiry changed after signing",
        inner(&set(&cert, 10, &u64::MAX.to_be_bytes()), &padded, &m()),
    );
    // Step 8: malformed padding, correctly encrypted.
    let mut bad = padded.clone();
    bad[159] = 0x01;
    o(cases, "inside: padding with a non-zero byte after the marker", inner(&cert, &bad, &m()));
    o(
        cases,
        "inside: padding one zero short (159 bytes, Padmé floor 160)",
        inner(&cert, &padded[..159], &m()),
    );
    o(
        cases,
        "inside: padding one zero too many (161 bytes)",
        inner(&cert, &[&padded[..], &[0]].concat(), &m()),
    );
    o(cases, "inside: padding of unknown kind 0x03", inner(&cert, &set(&padded, 0, &[0x03]), &m()));
    o(cases, "inside: padding without a marker (four zeros)", inner(&cert, &[0, 0, 0, 0], &m()));
    o(
        cases,
        "inside: Padmé floor 160 padding relabelled as blocks 16",
        inner(&cert, &set(&padded, 0, &[0x01, 0x00, 0x10]), &m()),
    );
    // The order of steps 6-8.
    sealed_open_reject(
        cases,
        "order: AT flipped and the issuer untrusted (Auth: step 6 before 7)",
        bob_seed,
        flip(&env, 66, 0x01),
        &[other_root],
        &[],
        META_NOW,
    );
    sealed_open_reject(
        cases,
        "order: a malformed certificate and a flipped AT (the certificate's error: step 5 before 6)",
        bob_seed,
        flip(&inner(&set(&cert, 1, &[0x02]), &padded, &m()), 66, 0x01),
        &[root],
        &[],
        META_NOW,
    );
    sealed_open_reject(
        cases,
        "order: expired and malformed padding (CertificateExpired: step 7 before 8)",
        bob_seed,
        inner(&cert, &bad, &m()),
        &[root],
        &[],
        s.expires,
    );
    sealed_open_reject(
        cases,
        "order: a bad certificate signature and malformed padding (BadSignature)",
        bob_seed,
        inner(&flip(&cert, 150, 0x01), &bad, &m()),
        &[root],
        &[],
        META_NOW,
    );
    sealed_open_reject(
        cases,
        "order: low-order E and a flipped C (NonContributory: step 2 first)",
        bob_seed,
        flip(&set(&env, 2, &[0u8; 32]), 34, 0x01),
        &[root],
        &[],
        META_NOW,
    );

    // The server's decoder (split) of the multi-recipient form.
    let me = multi.multi_envelope();
    let sp = sealed_split_reject;
    let payload = &multi.payload;
    let entry = |i: usize| -> Vec<u8> {
        let p = &multi.parts[i];
        [&p.recipient[..], &p.c[..], &p.at[..]].concat()
    };
    let header =
        |n: u16| -> Vec<u8> { [&[0x6D, 0x01][..], &multi.ephemeral[..], &n.to_be_bytes()[..]].concat() };
    sp(cases, "empty", vec![]);
    sp(cases, "tag 0x73 (a sealed envelope)", env.clone());
    sp(cases, "version 0x02", set(&me, 1, &[0x02]));
    sp(cases, "E with bit 255 set", flip(&me, 33, 0x80));
    sp(cases, "n = 0", [header(0), payload.clone()].concat());
    sp(cases, "n = 1025", [header(1025), entry(0), entry(1), payload.clone()].concat());
    sp(cases, "n = 65535", [header(u16::MAX), entry(0), payload.clone()].concat());
    sp(cases, "recipients out of order", [header(2), entry(1), entry(0), payload.clone()].concat());
    sp(cases, "a recipient repeated", [header(2), entry(0), entry(0), payload.clone()].concat());
    sp(cases, "a recipient key of order 1", set(&me, 36, &small));
    sp(cases, "a recipient key non-canonical", set(&me, 36 + 80, &non_canonical_ed25519_key()));
    sp(cases, "truncated inside n", me[..35].to_vec());
    sp(cases, "truncated inside the second entry", me[..36 + 80 + 40].to_vec());
    sp(cases, "n = 2, one entry and a payload (the payload's first 32 bytes, read as the second key, are no strict key)", [header(2), entry(0), payload.clone()].concat());
    sp(cases, "a 201-byte payload", [header(2), entry(0), entry(1), payload[..201].to_vec()].concat());
    sp(
        cases,
        "order: n = 0 and a non-canonical E (InvalidPublicKey)",
        flip(&[header(0), payload.clone()].concat(), 33, 0x80),
    );
    sp(
        cases,
        "order: a repeated recipient cut short after its key (InvalidValue)",
        [header(2), entry(0), entry(0)[..32].to_vec()].concat(),
    );
    sp(
        cases,
        "order: out of order and a short payload (InvalidValue)",
        [header(2), entry(1), entry(0), payload[..10].to_vec()].concat(),
    );
}

fn metadata_vectors(dir: &Path) {
    let mut cases = Vec::new();
    padding_vectors(&mut cases);
    padding_rejects(&mut cases);
    certificate_vectors(&mut cases);
    use spec_impl::PaddingPolicy as P;
    let bob = [0xB1; 32];
    let texts: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
    for (description, content, policy, seed) in [
        ("Padmé floor 160 (the default): a 14-byte text", &b"sealed for Bob"[..], P::Padme(160), 0x90),
        ("Padmé floor 160: a 157-byte content (the next class, 176)", &texts[..157], P::Padme(160), 0x91),
        ("Padmé floor 0: a 1000-byte content (1024)", &texts[..1000], P::Padme(0), 0x92),
        ("blocks of 160: a 156-byte content (one block)", &texts[..156], P::Blocks(160), 0x93),
        ("blocks of 16: an empty content", &b""[..], P::Blocks(16), 0x94),
        ("blocks of 1: a 3-byte content", &b"abc"[..], P::Blocks(1), 0x95),
        ("none (a session message already padded by its record): 100 bytes", &texts[..100], P::None, 0x96),
        ("none: an empty content (the shortest envelope, 284 bytes)", &b""[..], P::None, 0x97),
    ] {
        cases.push(sealed_case(description, bob, content, policy, seed));
    }
    cases.push(sealed_multi_case(
        "one recipient, in the multi-recipient form",
        &[bob],
        b"to one",
        P::None,
        0xA0,
    ));
    cases.push(sealed_multi_case(
        "two recipients, blocks of 160",
        &[[0xB2; 32], bob],
        b"to two devices",
        P::Blocks(160),
        0xA1,
    ));
    cases.push(sealed_multi_case(
        "five recipients given unsorted, Padmé floor 160",
        &[[0xB3; 32], [0xB4; 32], bob, [0xB5; 32], [0xB2; 32]],
        &texts[..300],
        P::Padme(160),
        0xA2,
    ));
    sealed_rejects(&mut cases);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in &cases {
        *counts.entry(c["kind"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    write(
        dir,
        "metadata.json",
        "Metadata protection (SPEC.md 26-27): padding of boundary lengths per policy and malformed paddings, sender certificates with their validation and malformed encodings, sealed envelopes for one and many recipients with every recipient's view and the server's split, and envelopes that must be refused; every case has a kind",
        cases,
    );
    println!("metadata kinds: {counts:?}");
}

fn main() -> Result<(), Error> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors/protocol");
    fs::create_dir_all(&dir).expect("create test-vectors/protocol");
    kdf_vectors(&dir);
    identity_vectors(&dir);
    x3dh_vectors(&dir);
    let mut rejects = session_vectors(&dir);
    bundle_rejects(&mut rejects);
    accept_rejects(&mut rejects);
    hybrid_rejects(&mut rejects);
    kem_prekey_vectors(&dir);
    x3dh_hybrid_vectors(&dir);
    v1_vectors(&dir);
    safety_number_vectors(&dir)?;
    messenger_vectors(&dir)?;
    media_vectors(&dir);
    metadata_vectors(&dir);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rejects {
        *counts.entry(r["kind"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    write(
        &dir,
        "reject.json",
        "Inputs that must be rejected, each with the error it must produce (Debug form of chatcrypt::Error)",
        rejects,
    );
    println!("reject kinds: {counts:?}");
    Ok(())
}
