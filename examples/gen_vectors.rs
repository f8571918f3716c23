//! Regenerates every file in `test-vectors/protocol/` from fixed seeds.
//!
//! `cargo run --example gen_vectors --features hazmat`
//!
//! The output is deterministic; CI regenerates it and fails if it differs
//! from what is committed. The schema is documented in
//! `test-vectors/README.md`. The vectors are *checked* by
//! `tests/protocol_vectors.rs`, which recomputes them with raw primitive
//! calls following SPEC.md, not with this crate's internals.

use std::{collections::BTreeMap, convert::Infallible, fs, path::Path};

use chatcrypt::{
    hazmat, Error, IdentityKeyPair, Mode, OneTimePreKey, OneTimePreKeyPublic, PreKeyBundle, PreKeyMessage,
    Session, SignedPreKey, SignedPreKeyPublic,
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

fn write(dir: &Path, name: &str, description: &str, cases: Vec<Value>) {
    let doc = json!({
        "description": description,
        "spec": "SPEC.md, protocol version 1",
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

    let mut mk_cases = Vec::new();
    for i in 0..3 {
        let mk = if i == 2 { [0u8; 32] } else { rng.bytes32() };
        let (key, nonce) = hazmat::message_keys(&mk);
        mk_cases.push(json!({"description": format!("MESSAGE_KEYS case {i}"), "mk": hex(&mk), "key": hex(&key), "nonce": hex(&nonce)}));
    }
    write(dir, "message_keys.json", "MESSAGE_KEYS (SPEC.md 6.1): HKDF-Expand(prk = mk, info = \"chatcrypt v1 message keys\", 44) = key (32) || nonce (12)", mk_cases);

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
}

fn make_bob(seed: u8, with_opk: bool) -> Bob {
    let mut rng = Recorder::new(seed);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&identity, 0x0102_0304 + u32::from(seed), &mut rng);
    let opk = with_opk.then(|| OneTimePreKey::generate(1000 + u32::from(seed), &mut rng));
    let spk_private: [u8; 32] = hex_to32(&rng.draws[1]);
    let opk_private = with_opk.then(|| hex_to32(&rng.draws[2]));
    Bob { identity, spk, opk, spk_private, opk_private }
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
    json!({
        "identity": identity_json(&bob.identity),
        "signed_prekey": {
            "id": spk.id(), "private": hex(&bob.spk_private), "public": hex(spk.key()), "signature": hex(spk.signature()),
            "signed_message": hex(&hazmat::signed_prekey_message(spk.id(), spk.key())),
        },
        "one_time_prekey": match (&bob.opk, &bob.opk_private) {
            (Some(k), Some(p)) => json!({"id": k.id(), "private": hex(p), "public": hex(k.public().key())}),
            _ => Value::Null,
        },
    })
}

fn bundle_of(bob: &Bob) -> PreKeyBundle {
    PreKeyBundle::new(
        bob.identity.public_key().clone(),
        bob.spk.public().clone(),
        bob.opk.as_ref().map(|k| k.public().clone()),
    )
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
        let bob_keys = make_bob(seed, with_opk);
        let mut id_rng = Recorder::new(seed + 100);
        let alice_id = IdentityKeyPair::generate(&mut id_rng);
        let mut alice_rng = Recorder::new(seed + 200);
        let alice = Session::initiate_with_mode(&alice_id, &bundle_of(&bob_keys), mode, &mut alice_rng)
            .expect("initiate");
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
                    let session = if from_alice {
                        &mut self.alice
                    } else {
                        self.bob.as_mut().expect("bob has a session")
                    };
                    let msg = session.encrypt(text.as_bytes()).expect("encrypt");
                    let id = self.sent.len();
                    self.events.push(json!({
                        "op": "send", "from": if from_alice { "alice" } else { "bob" }, "id": id,
                        "plaintext": hex(text.as_bytes()), "message": hex(&msg),
                    }));
                    self.sent.push((from_alice, text.as_bytes().to_vec(), msg));
                }
                Ev::Deliver(id) => {
                    let (from_alice, plaintext, msg) = &self.sent[*id];
                    let got = if *from_alice {
                        match &mut self.bob {
                            Some(s) => s.decrypt(msg, &mut self.bob_rng).expect("bob decrypts"),
                            None => {
                                let pm = PreKeyMessage::from_bytes(msg).expect("prekey message");
                                let (s, p) = Session::accept(
                                    &self.bob_keys.identity,
                                    &self.bob_keys.spk,
                                    self.bob_keys.opk.as_ref(),
                                    &pm,
                                    &mut self.bob_rng,
                                )
                                .expect("accept");
                                self.bob = Some(s);
                                p
                            }
                        }
                    } else {
                        self.alice.decrypt(msg, &mut self.alice_rng).expect("alice decrypts")
                    };
                    assert_eq!(&got, plaintext);
                    self.events.push(json!({
                        "op": "deliver", "to": if *from_alice { "bob" } else { "alice" }, "id": id, "plaintext": hex(&got),
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
        let state = hex(&bob.to_bytes());
        let genuine = he.alice.encrypt(b"genuine").expect("encrypt");
        let mut rng = Recorder::new(96);
        let mut cases_he: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut m = genuine.clone();
        m[2 + 5] ^= 0x01;
        cases_he.push(("header encryption: tampered encrypted header", m));
        let mut m = genuine.clone();
        m[2 + 45] ^= 0x01;
        cases_he.push(("header encryption: tampered header tag", m));
        let mut m = genuine.clone();
        let n = m.len();
        m[n - 1] ^= 0x01;
        cases_he.push((
            "header encryption: tampered body tag (changes the sample, so the header does not open)",
            m,
        ));
        let mut m = genuine.clone();
        m[1] = 0x02;
        cases_he.push(("header encryption: a plain-mode type byte", m));
        cases_he.push(("header encryption: replay of a delivered message", he.sent[8].2.clone()));
        for (desc, msg) in cases_he {
            let err = bob.decrypt(&msg, &mut rng).expect_err("must be rejected");
            assert_eq!(hex(&bob.to_bytes()), state);
            rejects.push(json!({"description": desc, "kind": "decrypt", "state": state, "message": hex(&msg), "error": format!("{err:?}")}));
        }
    }

    // Rejections against Alice's and Bob's states in that conversation.
    {
        let bob4 = c4.bob.as_mut().expect("bob");
        let state = hex(&bob4.to_bytes());
        let mut rng = Recorder::new(98);
        for (desc, id) in [
            ("replay of a message from an earlier chain (its ratchet key is remembered)", 1usize),
            ("replay of the handshake's first PreKeyMessage", 0),
        ] {
            let msg = c4.sent[id].2.clone();
            let err = bob4.decrypt(&msg, &mut rng).expect_err("replay");
            assert_eq!(hex(&bob4.to_bytes()), state);
            rejects.push(json!({"description": desc, "kind": "decrypt", "state": state, "message": hex(&msg), "error": format!("{err:?}")}));
        }
        // A PreKeyMessage of another handshake by the same initiator, and one by another identity.
        let mut other_rng = Recorder::new(97);
        let mut again = Session::initiate(&aid4, &bundle_of(&c4.bob_keys), &mut other_rng).expect("initiate");
        let other_handshake = again.encrypt(b"new handshake").expect("encrypt");
        let stranger = IdentityKeyPair::from_seed(&[77; 32]);
        let mut s = Session::initiate(&stranger, &bundle_of(&c4.bob_keys), &mut other_rng).expect("initiate");
        let from_stranger = s.encrypt(b"stranger").expect("encrypt");
        for (desc, msg) in [
            ("PreKeyMessage of another handshake by the same initiator", other_handshake),
            ("PreKeyMessage from another identity", from_stranger),
        ] {
            let err = bob4.decrypt(&msg, &mut rng).expect_err("mismatch");
            assert_eq!(hex(&bob4.to_bytes()), state);
            rejects.push(json!({"description": desc, "kind": "decrypt", "state": state, "message": hex(&msg), "error": format!("{err:?}")}));
        }
    }

    // Rejections against Bob's state in the burst conversation.
    let bob = c.bob.as_mut().expect("bob");
    let state = hex(&bob.to_bytes());
    let genuine = c.alice.encrypt(b"genuine").expect("encrypt");
    let mut reject_decrypt = |desc: &str, msg: Vec<u8>, state: &str, session: &mut Session| {
        let mut rng = Recorder::new(99);
        let err = session.decrypt(&msg, &mut rng).expect_err("must be rejected");
        assert_eq!(hex(&session.to_bytes()), state, "rejection changed state");
        rejects.push(json!({"description": desc, "kind": "decrypt", "state": state, "message": hex(&msg), "error": format!("{err:?}")}));
    };
    let mut m = genuine.clone();
    let last = m.len() - 20;
    m[last] ^= 0x01;
    reject_decrypt("tampered ciphertext", m, &state, bob);
    let mut m = genuine.clone();
    let n = m.len();
    m[n - 1] ^= 0x80;
    reject_decrypt("tampered tag", m, &state, bob);
    let mut m = genuine.clone();
    m[41] ^= 0x01; // lowest bit of N
    reject_decrypt("tampered header: message number", m, &state, bob);
    let mut m = genuine.clone();
    m[35] ^= 0x01;
    reject_decrypt("tampered header: previous chain length", m, &state, bob);
    let mut m = genuine.clone();
    m[0] = 0x02;
    reject_decrypt("wrong version", m, &state, bob);
    let mut m = genuine.clone();
    m[1] = 0x05;
    reject_decrypt("unknown message type", m, &state, bob);
    reject_decrypt("truncated inside the header", genuine[..30].to_vec(), &state, bob);
    reject_decrypt(
        "truncated: shorter than a tag after the header",
        genuine[..42 + 15].to_vec(),
        &state,
        bob,
    );
    let mut m = genuine.clone();
    m[2..34].copy_from_slice(&[0u8; 32]);
    reject_decrypt("low-order ratchet key (u = 0) starting a new ratchet step", m, &state, bob);
    let mut m = genuine.clone();
    m[38..42].copy_from_slice(&u32::MAX.to_be_bytes());
    reject_decrypt("message number 0xFFFFFFFF", m, &state, bob);
    // Replay: decrypt once, then the same bytes again.
    let replayed = c.sent[2 + BURST.len() - 1].2.clone(); // the last burst message, already delivered
    reject_decrypt("replay of a delivered message", replayed, &state, bob);
    // Too far ahead: Alice's next message is `genuine` (n = 0 of a new
    // chain); 1001 more make the last one skip MAX_SKIP + 1 keys.
    let mut far = Vec::new();
    for _ in 0..1001 {
        far = c.alice.encrypt(b"far").expect("encrypt");
    }
    reject_decrypt(
        "too far ahead: a new chain's message number 1001 would skip MAX_SKIP + 1 keys",
        far,
        &state,
        bob,
    );
    // A plain message relabelled as header-encrypted decodes in that layout
    // (it is long enough), then the plain session rejects the mode.
    let mut m = c.alice.encrypt(b"long enough to decode as a header-encrypted message").expect("encrypt");
    m[1] = 0x04;
    reject_decrypt("a header-encrypted message type sent to a plain session", m, &state, bob);

    write(dir, "session.json", "Whole conversations (SPEC.md 6-8): keys, RNG draws, every message in order of sending, the order of delivery and every plaintext", cases);
    rejects
}

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
    b[0] = 0x02;
    push("wrong version", b);
    let mut b = good.clone();
    b[1] = 0x03;
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

    // A correctly signed bundle whose signed prekey has low order: initiate fails.
    let low = [0u8; 32];
    let sig = hazmat::sign(&bob.identity, &hazmat::signed_prekey_message(7, &low));
    let bad =
        PreKeyBundle::new(bob.identity.public_key().clone(), SignedPreKeyPublic::new(7, low, sig), None);
    let mut rng = Recorder::new(5);
    let err =
        Session::initiate(&IdentityKeyPair::from_seed(&[5; 32]), &bad, &mut rng).expect_err("low order");
    rejects.push(json!({"description": "correctly signed bundle with a low-order signed prekey: initiate fails", "kind": "initiate",
        "initiator_seed": hex(&[5u8; 32]), "bundle": hex(&bad.to_bytes()), "error": format!("{err:?}")}));
    let bad = PreKeyBundle::new(
        bob.identity.public_key().clone(),
        bob.spk.public().clone(),
        Some(OneTimePreKeyPublic::new(9, low)),
    );
    let err =
        Session::initiate(&IdentityKeyPair::from_seed(&[5; 32]), &bad, &mut rng).expect_err("low order");
    rejects.push(
        json!({"description": "bundle with a low-order one-time prekey: initiate fails", "kind": "initiate",
        "initiator_seed": hex(&[5u8; 32]), "bundle": hex(&bad.to_bytes()), "error": format!("{err:?}")}),
    );
}

fn accept_rejects(rejects: &mut Vec<Value>) {
    let bob = make_bob(40, true);
    let alice = IdentityKeyPair::from_seed(&[41; 32]);
    let mut rng = Recorder::new(42);
    let mut s = Session::initiate(&alice, &bundle_of(&bob), &mut rng).expect("initiate");
    let first = s.encrypt(b"first").expect("encrypt");
    let mut s_he = Session::initiate_with_mode(&alice, &bundle_of(&bob), Mode::HeaderEncryption, &mut rng)
        .expect("initiate");
    let first_he = s_he.encrypt(b"first, header-encrypted").expect("encrypt");
    let mut push = |desc: &str, msg: Vec<u8>| {
        let mut rng = Recorder::new(43);
        let err = match PreKeyMessage::from_bytes(&msg) {
            Err(e) => e,
            Ok(pm) => Session::accept(&bob.identity, &bob.spk, bob.opk.as_ref(), &pm, &mut rng)
                .expect_err("must be rejected"),
        };
        rejects.push(json!({"description": desc, "kind": "accept", "responder": bob_json(&bob), "message": hex(&msg), "error": format!("{err:?}")}));
    };
    let mut m = first.clone();
    m[35..67].copy_from_slice(&[0u8; 32]);
    push("low-order base key", m);
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
    m[2] = 0x02;
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
    let mut m = first_he;
    m[75 + 3] ^= 0x10;
    push("header encryption: tampered encrypted header of the first message", m);
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
