//! Reproduces the committed protocol vectors in `test-vectors/protocol/`
//! byte for byte with a second, independent implementation written from
//! SPEC.md alone (`tests/support/spec_impl.rs`), and replays the session,
//! reject and version-1 receive vectors through chatcrypt's public API as
//! well, and every messenger vector (`messenger.json`, SPEC.md §17-§21)
//! through both, and every media vector (`media.json`, SPEC.md §22-§25)
//! through `chatcrypt::media` and the second implementation, and every
//! metadata vector (`metadata.json`, SPEC.md §26-§27: padding, sender
//! certificates, sealed envelopes) through `chatcrypt::padding` /
//! `chatcrypt::sealed` and the second implementation.
//!
//! Every test prints how many cases it ran and fails if that differs from the
//! file's `number_of_cases` or from the length of its `cases` array.
//!
//! Run: `cargo test --test protocol_vectors -- --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/spec_impl.rs"]
mod spec_impl;

use std::collections::HashMap;
use std::convert::Infallible;

use chatcrypt::rand_core::{TryCryptoRng, TryRng};
use serde_json::Value;
use spec_impl::{
    header_keys, hex, kdf_ck, kdf_rk, kdf_rk_he, kem_decapsulate, kem_encapsulate, kem_prekey_message,
    kem_public_key, message_keys, signed_prekey_message, unhex, verify_strict, x25519_base, x3dh_initiator,
    x3dh_initiator_kem, x3dh_responder, x3dh_responder_kem, Bundle, Draws, Identity, KemPreKey,
    KemPreKeyPublic, Mode, OneTimePreKey, Policy, PqPolicy, Session, SignedPreKey, KEM_ML_KEM_1024, VERSION,
    VERSION_1,
};

// ---------------------------------------------------------------------------
// JSON helpers

/// Loads `test-vectors/<dir>/<name>` and returns it parsed.
fn load_from(dir: &str, name: &str) -> Value {
    let path = format!("{}/test-vectors/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Loads `test-vectors/protocol/<name>` and checks the top-level fields.
fn load(name: &str) -> Value {
    let file = load_from("protocol", name);
    for field in ["description", "spec", "generator"] {
        assert!(file[field].is_string(), "{name}: top-level field {field} missing");
    }
    assert_eq!(text(&file["spec"]), "SPEC.md, protocol version 2", "{name}: spec");
    assert!(file["cases"].is_array(), "{name}: no cases array");
    file
}

fn cases(file: &Value) -> &Vec<Value> {
    file["cases"].as_array().expect("cases array")
}

/// Prints the count and checks it against `number_of_cases` and the array length.
fn finish(name: &str, file: &Value, count: usize) {
    println!("{name}: {count} cases checked");
    let declared = file["number_of_cases"].as_u64().expect("number_of_cases");
    assert_eq!(count as u64, declared, "{name}: number_of_cases");
    assert_eq!(count, cases(file).len(), "{name}: length of cases");
}

fn bytes(v: &Value) -> Vec<u8> {
    unhex(v.as_str().unwrap_or_else(|| panic!("expected a hex string, got {v}")))
}

fn b32(v: &Value) -> [u8; 32] {
    bytes(v).try_into().unwrap_or_else(|_| panic!("expected 32 bytes: {v}"))
}

fn u32_of(v: &Value) -> u32 {
    u32::try_from(v.as_u64().unwrap_or_else(|| panic!("expected an integer, got {v}"))).expect("u32")
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// An `rng_draws` array: 32-byte keys and 16-byte reuse guards, in order.
fn draws(v: &Value) -> Vec<Vec<u8>> {
    let list: Vec<Vec<u8>> = v.as_array().expect("rng_draws array").iter().map(bytes).collect();
    for d in &list {
        assert!(d.len() == 32 || d.len() == 16, "a draw of {} bytes", d.len());
    }
    list
}

/// Checks an identity object (`seed`, `ed25519_public`, `x25519_private`,
/// `x25519_public`) against SPEC.md §3 and returns it.
fn check_identity(v: &Value) -> Identity {
    let id = Identity::from_seed(&b32(&v["seed"]));
    assert_eq!(hex(&id.public), text(&v["ed25519_public"]), "ed25519_public");
    assert_eq!(hex(&id.x25519_private), text(&v["x25519_private"]), "x25519_private");
    assert_eq!(hex(&id.x25519_public), text(&v["x25519_public"]), "x25519_public");
    assert_eq!(id.x25519_public, x25519_base(&id.x25519_private));
    id
}

/// Checks a signed prekey object (`id`, `private`, `public`, `signed_message`,
/// `signature`) against §3: the signature is re-made (Ed25519 is
/// deterministic) and verified strictly.
fn check_signed_prekey(owner: &Identity, v: &Value) -> SignedPreKey {
    let id = u32_of(&v["id"]);
    let private = b32(&v["private"]);
    let public = x25519_base(&private);
    assert_eq!(hex(&public), text(&v["public"]), "signed prekey public");
    let msg = signed_prekey_message(id, &public);
    assert_eq!(hex(&msg), text(&v["signed_message"]), "signed_message");
    let signature = owner.sign(&msg);
    assert_eq!(hex(&signature), text(&v["signature"]), "signature");
    assert!(verify_strict(&owner.public, &msg, &signature));
    SignedPreKey { id, private, signature }
}

/// Checks a one-time prekey object (`id`, `private`, `public`) or `null`.
fn check_one_time_prekey(v: &Value) -> Option<OneTimePreKey> {
    if v.is_null() {
        return None;
    }
    let key = OneTimePreKey { id: u32_of(&v["id"]), private: b32(&v["private"]) };
    assert_eq!(hex(&key.public()), text(&v["public"]), "one-time prekey public");
    Some(key)
}

fn bundle_of(owner: &Identity, spk: &SignedPreKey, opk: Option<&OneTimePreKey>) -> Bundle {
    hybrid_bundle_of(owner, spk, None, opk)
}

/// The bundle (§4, §16.3), with the KEM prekey if there is one.
fn hybrid_bundle_of(
    owner: &Identity,
    spk: &SignedPreKey,
    kem: Option<&KemPreKey>,
    opk: Option<&OneTimePreKey>,
) -> Bundle {
    Bundle {
        identity: owner.public,
        spk_id: spk.id,
        spk: spk.public(),
        signature: spk.signature,
        kem: kem.map(KemPreKey::public),
        opk: opk.map(|k| (k.id, k.public())),
    }
}

/// Checks a KEM prekey object (`type`, `id`, `seed`, `public`,
/// `signed_message`, `signature`, `public_encoding`; §16.1, §16.2) or
/// `null`/absent: the key pair from the seed (`ml-kem`), the signed message,
/// the signature re-made and verified strictly, the public encoding both
/// ways. The library agrees: it restores the key from the §16.2 stored form
/// built here, re-encodes the public part identically, decodes and verifies
/// the public encoding, and (with `hazmat`) derives the same key and
/// signed message.
fn check_kem_prekey(owner: &Identity, v: &Value) -> Option<KemPreKey> {
    if v.is_null() {
        return None;
    }
    let what = format!("KEM prekey {}", v["id"]);
    assert_eq!(v["type"].as_u64(), Some(u64::from(KEM_ML_KEM_1024)), "{what}: type");
    let seed: [u8; 64] = bytes(&v["seed"]).try_into().expect("64-byte seed");
    let key = KemPreKey::new(owner, u32_of(&v["id"]), &seed);
    let public = key.public();
    assert_eq!(hex(&public.ek), text(&v["public"]), "{what}: public (encapsulation key)");
    let msg = kem_prekey_message(key.kem_type, key.id, &public.ek);
    assert_eq!(msg.len(), 1596, "{what}: §16.2 signed message length");
    assert_eq!(hex(&msg), text(&v["signed_message"]), "{what}: signed_message");
    assert_eq!(hex(&key.signature), text(&v["signature"]), "{what}: signature");
    assert!(verify_strict(&owner.public, &msg, &key.signature), "{what}: signature verifies");
    let encoding = bytes(&v["public_encoding"]);
    assert_eq!(encoding.len(), spec_impl::KEM_PREKEY_PUBLIC_LEN, "{what}: public encoding length");
    assert_eq!(hex(&public.encode()), hex(&encoding), "{what}: public_encoding");
    assert_eq!(KemPreKeyPublic::decode(&encoding).unwrap(), public, "{what}: public_encoding decodes");
    public.verify(&owner.public).unwrap();
    assert_eq!(KemPreKey::from_state_bytes(&key.to_state_bytes()).unwrap(), key, "{what}: §16.2 state");

    // The library.
    let lib = lib_kem(&key);
    assert_eq!(lib.id(), key.id, "{what}: library id");
    assert_eq!(lib.kem_type().to_byte(), key.kem_type, "{what}: library type");
    assert_eq!(hex(&lib.public().to_bytes()), hex(&encoding), "{what}: library public encoding");
    assert_eq!(lib.to_bytes()[..], key.to_state_bytes()[..], "{what}: library stored form");
    let lib_public = chatcrypt::KemPreKeyPublic::from_bytes(&encoding).unwrap();
    lib_public.verify(&chatcrypt::IdentityKey::from_bytes(&owner.public).unwrap()).unwrap();
    assert_eq!(&lib_public, lib.public(), "{what}: library decodes the public encoding");
    #[cfg(feature = "hazmat")]
    {
        let kind = chatcrypt::KemType::from_byte(key.kem_type).unwrap();
        assert_eq!(
            hex(&chatcrypt::hazmat::kem_public_key(kind, &seed)),
            text(&v["public"]),
            "{what}: hazmat"
        );
        assert_eq!(
            hex(&chatcrypt::hazmat::kem_prekey_message(kind, key.id, &public.ek)),
            text(&v["signed_message"]),
            "{what}: hazmat signed message"
        );
    }
    Some(key)
}

/// The library's KEM prekey, from the §16.2 stored form.
fn lib_kem(key: &KemPreKey) -> chatcrypt::KemPreKey {
    chatcrypt::KemPreKey::from_bytes(&key.to_state_bytes()).expect("§16.2 stored form")
}

/// A case's `pq_policy` (§16.5, §16.6): absent in the cases that predate
/// §16, which are classical handshakes with classical allowed.
fn pq_of(case: &Value) -> (PqPolicy, chatcrypt::PqPolicy) {
    match case.get("pq_policy").map(text) {
        None | Some("allow_classical") => (PqPolicy::AllowClassical, chatcrypt::PqPolicy::AllowClassical),
        Some("required") => (PqPolicy::Required, chatcrypt::PqPolicy::Required),
        Some(other) => panic!("unknown pq_policy {other}"),
    }
}

/// An accept case's `policy` (§5.2), in both implementations' terms.
fn policy_of(v: &Value) -> (Policy, chatcrypt::ModePolicy) {
    match text(v) {
        "any" => (Policy::Any, chatcrypt::ModePolicy::Any),
        "plain_only" => (Policy::PlainOnly, chatcrypt::ModePolicy::PlainOnly),
        "header_encryption_only" => {
            (Policy::HeaderEncryptionOnly, chatcrypt::ModePolicy::HeaderEncryptionOnly)
        }
        other => panic!("unknown policy {other}"),
    }
}

// ---------------------------------------------------------------------------
// A deterministic RNG for the public API: returns the listed draws in order.
// Each request must be exactly as long as the next listed draw, so the test
// checks the order of 32-byte keys and 16-byte guards, not only the stream.

struct ListRng {
    draws: Vec<Vec<u8>>,
    used: usize,
}

impl ListRng {
    fn new(draws: &[Vec<u8>]) -> Self {
        ListRng { draws: draws.to_vec(), used: 0 }
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let i = self.used;
        let d = self.draws.get(i).unwrap_or_else(|| {
            panic!("the library asked for more randomness than the vector lists ({} draws)", self.draws.len())
        });
        assert_eq!(
            d.len(),
            n,
            "draw {i}: the library asked for {n} bytes where the vector lists {}",
            d.len()
        );
        self.used += 1;
        &self.draws[i]
    }

    fn draws_used(&self) -> usize {
        self.used
    }
}

impl TryRng for ListRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(u32::from_le_bytes(self.take(4).try_into().unwrap()))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(u64::from_le_bytes(self.take(8).try_into().unwrap()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.copy_from_slice(self.take(dst.len()));
        Ok(())
    }
}

impl TryCryptoRng for ListRng {}

/// The library's state encodings of Bob's prekeys (§10.2, §10.3), built from the JSON fields.
fn lib_prekeys(
    spk: &SignedPreKey,
    opk: Option<&OneTimePreKey>,
) -> (chatcrypt::SignedPreKey, Option<chatcrypt::OneTimePreKey>) {
    let lib_spk = chatcrypt::SignedPreKey::from_bytes(&spk.to_state_bytes()).expect("§10.2 encoding");
    assert_eq!(lib_spk.id(), spk.id);
    assert_eq!(lib_spk.public().key(), &spk.public());
    assert_eq!(lib_spk.public().signature(), &spk.signature);
    let lib_opk = opk.map(|k| {
        let lib = chatcrypt::OneTimePreKey::from_bytes(&k.to_state_bytes()).expect("§10.3 encoding");
        assert_eq!(lib.public().key(), &k.public());
        lib
    });
    (lib_spk, lib_opk)
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn identity() {
    let file = load("identity.json");
    let mut count = 0;
    for case in cases(&file) {
        let id = check_identity(case);
        // The library agrees on the public key.
        let lib = chatcrypt::IdentityKeyPair::from_seed(&id.seed);
        assert_eq!(lib.public_key().as_bytes(), &id.public);
        assert_eq!(lib.public_key().x25519_bytes(), &id.x25519_public);
        count += 1;
    }
    finish("identity.json", &file, count);
}

#[test]
fn kdf_rk_vectors() {
    let file = load("kdf_rk.json");
    let mut count = 0;
    for case in cases(&file) {
        let (new_rk, ck) = kdf_rk(&b32(&case["rk"]), &b32(&case["dh_out"]));
        assert_eq!(hex(&new_rk), text(&case["new_rk"]), "{}", case["description"]);
        assert_eq!(hex(&ck), text(&case["ck"]), "{}", case["description"]);
        count += 1;
    }
    finish("kdf_rk.json", &file, count);
}

#[test]
fn kdf_rk_he_vectors() {
    let file = load("kdf_rk_he.json");
    let mut count = 0;
    for case in cases(&file) {
        let what = text(&case["description"]);
        let (new_rk, ck, nhk) = kdf_rk_he(&b32(&case["rk"]), &b32(&case["dh_out"]));
        assert_eq!(hex(&new_rk), text(&case["new_rk"]), "{what}: new_rk");
        assert_eq!(hex(&ck), text(&case["ck"]), "{what}: ck");
        assert_eq!(hex(&nhk), text(&case["nhk"]), "{what}: nhk");
        // The labels differ, so no output coincides with KDF_RK's.
        let (plain_rk, plain_ck) = kdf_rk(&b32(&case["rk"]), &b32(&case["dh_out"]));
        assert!(plain_rk != new_rk && plain_ck != ck, "{what}: KDF_RK_HE equals KDF_RK");
        count += 1;
    }
    finish("kdf_rk_he.json", &file, count);
}

#[test]
fn header_keys_vectors() {
    let file = load("header_keys.json");
    let mut count = 0;
    for case in cases(&file) {
        let what = text(&case["description"]);
        let sample: [u8; 16] = bytes(&case["sample"]).try_into().expect("16-byte sample");
        let (key, nonce) = header_keys(&b32(&case["hk"]), &sample);
        assert_eq!(hex(&key), text(&case["key"]), "{what}: key");
        assert_eq!(hex(&nonce), text(&case["nonce"]), "{what}: nonce");
        count += 1;
    }
    finish("header_keys.json", &file, count);
}

#[test]
fn kdf_ck_vectors() {
    let file = load("kdf_ck.json");
    let mut count = 0;
    for case in cases(&file) {
        let mut ck = b32(&case["ck"]);
        let steps = case["steps"].as_array().expect("steps");
        assert!(!steps.is_empty());
        for step in steps {
            let (next, mk) = kdf_ck(&ck);
            assert_eq!(hex(&mk), text(&step["mk"]), "{}", case["description"]);
            assert_eq!(hex(&next), text(&step["next_ck"]), "{}", case["description"]);
            ck = next;
        }
        count += 1;
    }
    finish("kdf_ck.json", &file, count);
}

#[test]
fn message_keys_vectors() {
    let file = load("message_keys.json");
    let mut count = 0;
    let mut outputs = HashMap::new();
    for case in cases(&file) {
        let what = text(&case["description"]);
        let guard: [u8; 16] = bytes(&case["guard"]).try_into().expect("16-byte guard");
        let (key, nonce) = message_keys(&b32(&case["mk"]), &guard);
        assert_eq!(hex(&key), text(&case["key"]), "{what}: key");
        assert_eq!(hex(&nonce), text(&case["nonce"]), "{what}: nonce");
        // Different inputs never give the same key (§6.3: the guard matters).
        let previous = outputs.insert(key, (text(&case["mk"]).to_owned(), hex(&guard)));
        assert!(previous.is_none(), "{what}: the key of another case");
        count += 1;
    }
    finish("message_keys.json", &file, count);
}

#[test]
fn x3dh() {
    let file = load("x3dh.json");
    let mut count = 0;
    for case in cases(&file) {
        let what = text(&case["description"]);
        let alice = check_identity(&case["alice"]["identity"]);
        let ek_a = b32(&case["alice"]["ephemeral_private"]);
        let ek_a_pub = x25519_base(&ek_a);
        assert_eq!(hex(&ek_a_pub), text(&case["alice"]["ephemeral_public"]), "{what}");
        let bob = check_identity(&case["bob"]["identity"]);
        let spk = check_signed_prekey(&bob, &case["bob"]["signed_prekey"]);
        let opk = check_one_time_prekey(&case["bob"]["one_time_prekey"]);

        // The bundle (§4), both ways.
        let bundle = bundle_of(&bob, &spk, opk.as_ref());
        assert_eq!(hex(&bundle.encode()), text(&case["bundle"]), "{what}: bundle");
        assert_eq!(Bundle::decode(&bytes(&case["bundle"])).unwrap(), bundle, "{what}");
        bundle.verify().unwrap();

        // Both sides (§5.1, §5.2) give every listed value.
        let a = x3dh_initiator(&alice, &ek_a, &bundle).unwrap();
        let b =
            x3dh_responder(&bob, &spk.private, opk.as_ref().map(|k| &k.private), &alice.public, &ek_a_pub)
                .unwrap();
        assert_eq!(a, b, "{what}: initiator and responder disagree");
        assert_eq!(hex(&a.dh1), text(&case["dh1"]), "{what}: dh1");
        assert_eq!(hex(&a.dh2), text(&case["dh2"]), "{what}: dh2");
        assert_eq!(hex(&a.dh3), text(&case["dh3"]), "{what}: dh3");
        match a.dh4 {
            Some(dh4) => assert_eq!(hex(&dh4), text(&case["dh4"]), "{what}: dh4"),
            None => assert!(case["dh4"].is_null(), "{what}: dh4"),
        }
        assert_eq!(hex(&a.sk), text(&case["sk"]), "{what}: sk");
        assert_eq!(hex(&a.ad), text(&case["ad"]), "{what}: ad");
        // §14.2: the header-encryption outputs from the same DHs.
        let he = &case["header_encryption"];
        assert_eq!(hex(&a.he.sk), text(&he["sk"]), "{what}: header_encryption.sk");
        assert_eq!(hex(&a.he.hka), text(&he["hka"]), "{what}: header_encryption.hka");
        assert_eq!(hex(&a.he.nhkb), text(&he["nhkb"]), "{what}: header_encryption.nhkb");
        assert_ne!(a.he.sk, a.sk, "{what}: the mode is bound into SK");

        // The library parses and verifies the same bundle and re-encodes it.
        let lib = chatcrypt::PreKeyBundle::from_bytes(&bundle.encode()).unwrap();
        lib.verify().unwrap();
        assert_eq!(lib.to_bytes(), bundle.encode());
        count += 1;
    }
    finish("x3dh.json", &file, count);
}

/// `kem_prekey.json` (§16.1, §16.2): each KEM prekey through the
/// independent implementation and the library (`check_kem_prekey`), and
/// its stored form (tag `0x4B`, 135 bytes) both ways.
#[test]
fn kem_prekeys() {
    let file = load("kem_prekey.json");
    let mut count = 0;
    let mut ids = Vec::new();
    for case in cases(&file) {
        let what = text(&case["description"]);
        let owner = check_identity(&case["identity"]);
        let key = check_kem_prekey(&owner, case).unwrap();
        let state = bytes(&case["state"]);
        assert_eq!(hex(&key.to_state_bytes()), hex(&state), "{what}: state");
        assert_eq!(state[..3], [spec_impl::TAG_KEM_PREKEY, 0x01, KEM_ML_KEM_1024], "{what}: state header");
        let lib = chatcrypt::KemPreKey::from_bytes(&state).unwrap();
        assert_eq!(lib.to_bytes()[..], state[..], "{what}: library re-encodes the state");
        // The signature is bound to the owner, the id and the type (§16.2).
        let public = key.public();
        let mut other_id = public.clone();
        other_id.id ^= 1;
        assert_eq!(
            other_id.verify(&owner.public),
            Err(spec_impl::Error::BadSignature),
            "{what}: id is signed"
        );
        let mut encoding = public.encode();
        encoding[0] = 0x02;
        assert_eq!(
            KemPreKeyPublic::decode(&encoding),
            Err(spec_impl::Error::Decode(spec_impl::DecodeError::UnknownKeyType(2))),
            "{what}: unknown type"
        );
        assert_eq!(
            format!("{:?}", chatcrypt::KemPreKeyPublic::from_bytes(&encoding).unwrap_err()),
            "Decode(UnknownKeyType(2))",
            "{what}: unknown type (library)"
        );
        ids.push(key.id);
        count += 1;
    }
    assert!(ids.contains(&0) && ids.contains(&u32::MAX), "kem_prekey.json: the extreme ids");
    finish("kem_prekey.json", &file, count);
}

/// `x3dh_hybrid.json` (§16.5, §16.6): the encapsulation (`ml-kem` directly)
/// and decapsulation, the binding, the info, `SK` and the header keys on
/// both sides in the independent implementation, the bundle both ways in
/// both implementations, and (with `hazmat`) the library's ML-KEM and
/// hybrid X3DH on the same inputs.
#[test]
fn x3dh_hybrid() {
    let file = load("x3dh_hybrid.json");
    let mut count = 0;
    for case in cases(&file) {
        let what = text(&case["description"]);
        let alice = check_identity(&case["alice"]["identity"]);
        let ek_a = b32(&case["alice"]["ephemeral_private"]);
        let ek_a_pub = x25519_base(&ek_a);
        assert_eq!(hex(&ek_a_pub), text(&case["alice"]["ephemeral_public"]), "{what}");
        let m = b32(&case["alice"]["kem_m"]);
        let bob = check_identity(&case["bob"]["identity"]);
        let spk = check_signed_prekey(&bob, &case["bob"]["signed_prekey"]);
        let opk = check_one_time_prekey(&case["bob"]["one_time_prekey"]);
        let kem = check_kem_prekey(&bob, &case["bob"]["kem_prekey"]).expect("a KEM prekey");

        // The bundle (§16.3), both ways; flag bit 1, the KEM prekey at offset 134.
        let bundle = hybrid_bundle_of(&bob, &spk, Some(&kem), opk.as_ref());
        let encoded = bytes(&case["bundle"]);
        assert_eq!(hex(&bundle.encode()), hex(&encoded), "{what}: bundle");
        assert_eq!(encoded[1] & 0x02, 0x02, "{what}: bundle flag bit 1");
        assert_eq!(encoded.len(), if opk.is_some() { 170 } else { 134 } + 1637, "{what}: bundle length");
        assert_eq!(Bundle::decode(&encoded).unwrap(), bundle, "{what}");
        bundle.verify().unwrap();
        let lib = chatcrypt::PreKeyBundle::from_bytes(&encoded).unwrap();
        lib.verify().unwrap();
        assert_eq!(lib.to_bytes(), encoded, "{what}: library bundle");
        assert_eq!(lib.kem_prekey().map(|k| k.id()), Some(kem.id), "{what}: library KEM prekey id");

        // ML-KEM (§16.1).
        let ek = kem_public_key(&kem.seed);
        let (ct, ss) = kem_encapsulate(&ek, &m).unwrap();
        assert_eq!(hex(&ct), text(&case["kem_ciphertext"]), "{what}: kem_ciphertext");
        assert_eq!(hex(&ss), text(&case["kem_shared_secret"]), "{what}: kem_shared_secret");
        assert_eq!(kem_decapsulate(&kem.seed, &ct), ss, "{what}: decapsulation");

        // Both sides (§16.5, §16.6).
        let a = x3dh_initiator_kem(&alice, &ek_a, Some(&m), &bundle).unwrap();
        let b = x3dh_responder_kem(
            &bob,
            &spk.private,
            opk.as_ref().map(|k| &k.private),
            Some((&kem, &ct)),
            &alice.public,
            &ek_a_pub,
        )
        .unwrap();
        assert_eq!(a, b, "{what}: initiator and responder disagree");
        let share = a.kem.as_ref().expect("hybrid");
        assert_eq!(share.ct, ct, "{what}: the initiator's ciphertext");
        assert_eq!(hex(&a.dh1), text(&case["dh1"]), "{what}: dh1");
        assert_eq!(hex(&a.dh2), text(&case["dh2"]), "{what}: dh2");
        assert_eq!(hex(&a.dh3), text(&case["dh3"]), "{what}: dh3");
        match a.dh4 {
            Some(dh4) => assert_eq!(hex(&dh4), text(&case["dh4"]), "{what}: dh4"),
            None => assert!(case["dh4"].is_null(), "{what}: dh4"),
        }
        assert_eq!(hex(&share.binding), text(&case["binding"]), "{what}: binding");
        assert_eq!(hex(&share.info(false)), text(&case["info"]), "{what}: info");
        assert_eq!(hex(&a.sk), text(&case["sk"]), "{what}: sk");
        assert_eq!(hex(&a.ad), text(&case["ad"]), "{what}: ad");
        let he = &case["header_encryption"];
        assert_eq!(hex(&share.info(true)), text(&he["info"]), "{what}: header_encryption.info");
        assert_eq!(hex(&a.he.sk), text(&he["sk"]), "{what}: header_encryption.sk");
        assert_eq!(hex(&a.he.hka), text(&he["hka"]), "{what}: header_encryption.hka");
        assert_eq!(hex(&a.he.nhkb), text(&he["nhkb"]), "{what}: header_encryption.nhkb");
        // The hybrid derivation differs from the classical one of the same DHs.
        let classical = x3dh_initiator(&alice, &ek_a, &bundle).unwrap();
        assert_eq!(
            (classical.dh1, classical.dh2, classical.dh3, classical.dh4),
            (a.dh1, a.dh2, a.dh3, a.dh4)
        );
        assert_ne!(classical.sk, a.sk, "{what}: SS and the label are bound into SK");
        assert_ne!(classical.he.sk, a.he.sk, "{what}");

        #[cfg(feature = "hazmat")]
        {
            use chatcrypt::hazmat;
            let kind = chatcrypt::KemType::MlKem1024;
            let (lib_ct, lib_ss) = hazmat::kem_encapsulate(kind, &ek, &m).unwrap();
            assert_eq!(hex(&lib_ct), text(&case["kem_ciphertext"]), "{what}: library ciphertext");
            assert_eq!(lib_ss, ss, "{what}: library shared secret");
            assert_eq!(hazmat::kem_decapsulate(kind, &kem.seed, &ct).unwrap(), ss, "{what}: library decaps");
            let lib_alice = chatcrypt::IdentityKeyPair::from_seed(&alice.seed);
            let lib_bob = chatcrypt::IdentityKey::from_bytes(&bob.public).unwrap();
            let opk_pub = opk.as_ref().map(OneTimePreKey::public);
            for (mode, sk) in
                [(chatcrypt::Mode::Plain, &case["sk"]), (chatcrypt::Mode::HeaderEncryption, &he["sk"])]
            {
                let out = hazmat::x3dh_initiator_hybrid(
                    mode,
                    &lib_alice,
                    &ek_a,
                    &lib_bob,
                    &spk.public(),
                    opk_pub.as_ref(),
                    (kind, &ss, &ek, &ct),
                )
                .unwrap();
                assert_eq!(hex(&out.sk), text(sk), "{what}: library sk ({mode:?})");
                assert_eq!(hex(&out.binding), text(&case["binding"]), "{what}: library binding");
                match out.header_keys {
                    None => assert_eq!(mode, chatcrypt::Mode::Plain, "{what}"),
                    Some((hka, nhkb)) => {
                        assert_eq!(hex(&hka), text(&he["hka"]), "{what}: library hka");
                        assert_eq!(hex(&nhkb), text(&he["nhkb"]), "{what}: library nhkb");
                    }
                }
            }
        }
        count += 1;
    }
    finish("x3dh_hybrid.json", &file, count);
}

/// One side of a conversation, in both implementations.
#[derive(Default)]
struct Side {
    spec: Option<Session>,
    lib: Option<chatcrypt::Session>,
}

impl Side {
    /// §10.4: the library's state bytes equal this implementation's encoding,
    /// and decode to the same session.
    fn check_state(&self, who: &str, what: &str) {
        if let (Some(spec), Some(lib)) = (&self.spec, &self.lib) {
            check_state_pair(spec, lib, &format!("{what}: {who}'s state"));
        }
    }
}

/// The library's `to_bytes()` equals the §10.4 (version 2) encoding of
/// `spec`, its length `encoded_len()`, and decodes back to `spec`.
fn check_state_pair(spec: &Session, lib: &chatcrypt::Session, what: &str) {
    let lib_bytes = lib.to_bytes();
    assert_eq!(hex(&spec.encode()), hex(&lib_bytes), "{what} (§10.4)");
    assert_eq!(lib.encoded_len(), lib_bytes.len(), "{what}: encoded_len");
    assert_eq!(lib_bytes[1], chatcrypt::SESSION_STATE_VERSION, "{what}: state format version");
    assert_eq!(&Session::decode(&lib_bytes).unwrap(), spec, "{what}: decodes");
}

/// A case's `mode` field, in both implementations' terms.
fn mode_of(v: &Value) -> (Mode, chatcrypt::Mode) {
    match text(v) {
        "plain" => (Mode::Plain, chatcrypt::Mode::Plain),
        "header_encryption" => (Mode::HeaderEncryption, chatcrypt::Mode::HeaderEncryption),
        other => panic!("unknown mode {other}"),
    }
}

#[test]
fn session() {
    let file = load("session.json");
    let mut count = 0;
    let mut events_run = 0;
    let mut by_mode: HashMap<String, (usize, usize)> = HashMap::new();
    for case in cases(&file) {
        let what = text(&case["description"]);
        let (mode, lib_mode) = mode_of(&case["mode"]);
        let events_before = events_run;
        let alice = check_identity(&case["alice"]["identity"]);
        let keys = &case["bob"]["keys"];
        let bob = check_identity(&keys["identity"]);
        let spk = check_signed_prekey(&bob, &keys["signed_prekey"]);
        let opk = check_one_time_prekey(&keys["one_time_prekey"]);
        // A KEM prekey in Bob's keys: a hybrid handshake (§16) under the
        // default policies; without one, classical with classical allowed.
        let kem = check_kem_prekey(&bob, &keys["kem_prekey"]);
        let hybrid = kem.is_some();
        let (pq, lib_pq) = if hybrid {
            (PqPolicy::Required, chatcrypt::PqPolicy::Required)
        } else {
            (PqPolicy::AllowClassical, chatcrypt::PqPolicy::AllowClassical)
        };
        let bundle = hybrid_bundle_of(&bob, &spk, kem.as_ref(), opk.as_ref());
        assert_eq!(hex(&bundle.encode()), text(&case["bundle"]), "{what}: bundle");

        let alice_draws = draws(&case["alice"]["rng_draws"]);
        let bob_draws = draws(&case["bob"]["rng_draws"]);
        let (mut alice_spec_rng, mut bob_spec_rng) =
            (Draws::new(alice_draws.clone()), Draws::new(bob_draws.clone()));
        let (mut alice_lib_rng, mut bob_lib_rng) = (ListRng::new(&alice_draws), ListRng::new(&bob_draws));

        let lib_alice_id = chatcrypt::IdentityKeyPair::from_seed(&alice.seed);
        let lib_bob_id = chatcrypt::IdentityKeyPair::from_seed(&bob.seed);
        let lib_bundle = chatcrypt::PreKeyBundle::from_bytes(&bytes(&case["bundle"])).unwrap();

        let mut a = Side::default();
        let mut b = Side::default();
        let mut sent: HashMap<u64, Vec<u8>> = HashMap::new();

        for (i, event) in case["events"].as_array().expect("events").iter().enumerate() {
            let id = event["id"].as_u64().expect("event id");
            let plaintext = bytes(&event["plaintext"]);
            let at = format!("{what}: event {i} ({} {id})", text(&event["op"]));
            match (text(&event["op"]), event["from"].as_str(), event["to"].as_str()) {
                ("send", Some(from), None) => {
                    let expected = bytes(&event["message"]);
                    let (side, spec_rng, lib_rng) = match from {
                        "alice" => (&mut a, &mut alice_spec_rng, &mut alice_lib_rng),
                        "bob" => (&mut b, &mut bob_spec_rng, &mut bob_lib_rng),
                        other => panic!("{at}: unknown sender {other}"),
                    };
                    if from == "alice" && side.spec.is_none() {
                        // Alice starts the session at her first send (§5.1, §6.2),
                        // choosing the mode (§14).
                        let (s, _) = Session::initiate_with(&alice, &bundle, mode, pq, spec_rng).unwrap();
                        assert_eq!(s.mode(), mode);
                        assert_eq!(s.kem_type.is_some(), hybrid, "{at}: hybrid (SPEC implementation)");
                        side.spec = Some(s);
                        let lib = chatcrypt::Session::initiate_with(
                            &lib_alice_id,
                            &lib_bundle,
                            lib_mode,
                            lib_pq,
                            lib_rng,
                        )
                        .unwrap();
                        assert_eq!(lib.mode(), lib_mode, "{at}: Alice's mode (library)");
                        assert_eq!(lib.is_post_quantum(), hybrid, "{at}: hybrid (library)");
                        side.lib = Some(lib);
                    }
                    // Version 2, and the type byte is the mode's (§7, §14.3).
                    assert_eq!(expected[0], VERSION, "{at}: version byte");
                    let (prekey_type, message_type) = mode.types();
                    assert!(
                        expected[1] == prekey_type || expected[1] == message_type,
                        "{at}: type byte {} in {mode:?} mode",
                        expected[1]
                    );
                    let mine = side
                        .spec
                        .as_mut()
                        .expect("sender has a session")
                        .encrypt(&plaintext, spec_rng)
                        .unwrap();
                    assert_eq!(hex(&mine), hex(&expected), "{at}: message (SPEC implementation)");
                    let lib_session = side.lib.as_mut().expect("sender has a session");
                    assert_eq!(
                        lib_session.encrypted_len(plaintext.len()),
                        Ok(expected.len()),
                        "{at}: encrypted_len"
                    );
                    let lib = lib_session.encrypt(&plaintext, lib_rng).unwrap();
                    assert_eq!(hex(&lib), hex(&expected), "{at}: message (library)");
                    // §16.4: every PreKeyMessage of a hybrid handshake has the KEM part.
                    if expected[1] == prekey_type {
                        let part = spec_impl::decode_message(&expected, None).unwrap().prekey.unwrap();
                        assert_eq!(part.kem.is_some(), hybrid, "{at}: KEM part");
                        assert_eq!(part.kem.map(|k| k.kem_id), kem.as_ref().map(|k| k.id), "{at}: kem_id");
                    }
                    assert!(sent.insert(id, expected).is_none(), "{at}: id sent twice");
                    side.check_state(from, &at);
                }
                ("deliver", None, Some(to)) => {
                    let message =
                        sent.get(&id).unwrap_or_else(|| panic!("{at}: delivered before sent")).clone();
                    let message_id = text(&event["message_id"]);
                    match to {
                        "bob" if b.spec.is_none() => {
                            // Bob accepts on the first message he receives (§5.2).
                            let decoded = spec_impl::decode_message(&message, None).unwrap();
                            assert_eq!(decoded.mode, mode, "{at}: the first message's mode");
                            let names_opk = decoded.prekey.unwrap().opk_id.is_some();
                            let my_opk = if names_opk { opk.clone() } else { None };
                            let acc = Session::accept_with(
                                &bob,
                                &spk,
                                my_opk,
                                kem.as_ref(),
                                &message,
                                Policy::Any,
                                pq,
                                &mut bob_spec_rng,
                            )
                            .unwrap();
                            assert_eq!(
                                hex(&acc.plaintext),
                                hex(&plaintext),
                                "{at}: plaintext (SPEC implementation)"
                            );
                            assert_eq!(hex(&acc.id), message_id, "{at}: message id (SPEC implementation)");
                            assert_eq!(acc.session.mode(), mode, "{at}: Bob's mode is the message's (§14)");
                            b.spec = Some(acc.session);
                            let pkm = chatcrypt::PreKeyMessage::from_bytes(&message).unwrap();
                            assert_eq!(pkm.mode(), lib_mode, "{at}: PreKeyMessage::mode");
                            // The one-time prekey is consumed (taken by value), so
                            // build it afresh from its stored form.
                            let (lib_spk, lib_opk) = lib_prekeys(&spk, opk.as_ref());
                            let lib_opk = if pkm.one_time_prekey_id().is_some() { lib_opk } else { None };
                            assert_eq!(pkm.is_post_quantum(), hybrid, "{at}: PreKeyMessage::is_post_quantum");
                            let lib_kem_use =
                                kem.as_ref().map(|k| chatcrypt::KemPreKeyUse::OneTime(lib_kem(k)));
                            let acc = chatcrypt::Session::accept(
                                &lib_bob_id,
                                &lib_spk,
                                lib_opk,
                                lib_kem_use,
                                &pkm,
                                chatcrypt::AcceptPolicy::new(chatcrypt::ModePolicy::Any, lib_pq),
                                &mut bob_lib_rng,
                            )
                            .unwrap();
                            assert_eq!(
                                acc.session.is_post_quantum(),
                                hybrid,
                                "{at}: Bob's handshake (library)"
                            );
                            assert_eq!(hex(&acc.plaintext), hex(&plaintext), "{at}: plaintext (library)");
                            assert_eq!(hex(acc.id.as_bytes()), message_id, "{at}: message id (library)");
                            assert_eq!(acc.session.mode(), lib_mode, "{at}: Bob's mode (library)");
                            b.lib = Some(acc.session);
                            b.check_state("bob", &at);
                        }
                        "alice" | "bob" => {
                            let (side, spec_rng, lib_rng) = if to == "alice" {
                                (&mut a, &mut alice_spec_rng, &mut alice_lib_rng)
                            } else {
                                (&mut b, &mut bob_spec_rng, &mut bob_lib_rng)
                            };
                            let (p, mid) = side
                                .spec
                                .as_mut()
                                .expect("receiver has a session")
                                .decrypt_with_id(&message, spec_rng)
                                .unwrap();
                            assert_eq!(hex(&p), hex(&plaintext), "{at}: plaintext (SPEC implementation)");
                            assert_eq!(hex(&mid), message_id, "{at}: message id (SPEC implementation)");
                            let (p, mid) = side
                                .lib
                                .as_mut()
                                .expect("receiver has a session")
                                .decrypt_with_id(&message, lib_rng)
                                .unwrap();
                            assert_eq!(hex(&p), hex(&plaintext), "{at}: plaintext (library)");
                            assert_eq!(hex(mid.as_bytes()), message_id, "{at}: message id (library)");
                            side.check_state(to, &at);
                        }
                        other => panic!("{at}: unknown receiver {other}"),
                    }
                }
                _ => panic!("{at}: malformed event {event}"),
            }
            events_run += 1;
        }
        // Every listed draw was used, in the listed order, by both.
        assert!(alice_spec_rng.all_used(), "{what}: Alice's draws not all used (SPEC implementation)");
        assert!(bob_spec_rng.all_used(), "{what}: Bob's draws not all used (SPEC implementation)");
        assert_eq!(alice_lib_rng.draws_used(), alice_draws.len(), "{what}: Alice's draws (library)");
        assert_eq!(bob_lib_rng.draws_used(), bob_draws.len(), "{what}: Bob's draws (library)");
        let handshake = if hybrid { "hybrid" } else { "classical" };
        let entry = by_mode.entry(format!("{} {handshake}", text(&case["mode"]))).or_default();
        entry.0 += 1;
        entry.1 += events_run - events_before;
        count += 1;
    }
    let mut by_mode: Vec<_> = by_mode.into_iter().collect();
    by_mode.sort();
    println!("session.json: {events_run} events replayed; (cases, events) by mode {by_mode:?}");
    for kind in ["plain classical", "header_encryption classical", "plain hybrid", "header_encryption hybrid"]
    {
        assert!(
            by_mode.iter().any(|(m, (c, _))| m == kind && *c > 0),
            "session.json: no {kind} conversation"
        );
    }
    finish("session.json", &file, count);
}

/// Draws handed to calls that must fail; a conforming implementation uses
/// at most the first one (the ephemeral key of `initiate`).
fn reject_draws() -> Vec<Vec<u8>> {
    vec![vec![0x42; 32], vec![0x43; 32]]
}

#[test]
fn reject() {
    let file = load("reject.json");
    let mut count = 0;
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for case in cases(&file) {
        let what = text(&case["description"]);
        let kind = text(&case["kind"]);
        let expected = text(&case["error"]);
        let mut lib_rng = ListRng::new(&reject_draws());
        let mut spec_rng = Draws::new(reject_draws());
        // Header-encryption cases: a decrypt whose state has flag bit 5
        // (§10.4, §14); counted apart, messages of type 0x03 / 0x04 (§14.3).
        let he_state = kind == "decrypt" && bytes(&case["state"])[2] & 0x20 != 0;
        let he_message = matches!(case.get("message").map(bytes).as_deref(), Some([_, 3 | 4, ..]));

        let (lib_err, spec_err) = match kind {
            "bundle" => {
                let b = bytes(&case["bundle"]);
                let lib = chatcrypt::PreKeyBundle::from_bytes(&b).and_then(|x| x.verify());
                let spec = Bundle::decode(&b).and_then(|x| x.verify());
                (lib.err(), spec.err())
            }
            "initiate" => {
                let seed = b32(&case["initiator_seed"]);
                let b = bytes(&case["bundle"]);
                let (pq, lib_pq) = pq_of(case);
                let lib_id = chatcrypt::IdentityKeyPair::from_seed(&seed);
                let lib = chatcrypt::PreKeyBundle::from_bytes(&b).and_then(|bundle| {
                    chatcrypt::Session::initiate_with(
                        &lib_id,
                        &bundle,
                        chatcrypt::Mode::Plain,
                        lib_pq,
                        &mut lib_rng,
                    )
                    .map(|_| ())
                });
                let id = Identity::from_seed(&seed);
                let spec = Bundle::decode(&b).and_then(|bundle| {
                    Session::initiate_with(&id, &bundle, Mode::Plain, pq, &mut spec_rng).map(|_| ())
                });
                (lib.err(), spec.err())
            }
            "accept" => {
                let r = &case["responder"];
                let bob = check_identity(&r["identity"]);
                let spk = check_signed_prekey(&bob, &r["signed_prekey"]);
                let opk = check_one_time_prekey(&r["one_time_prekey"]);
                // §16.6: the KEM prekey the responder supplies, if any.
                let kem = check_kem_prekey(&bob, &r["kem_prekey"]);
                let (policy, lib_policy) = policy_of(&case["policy"]);
                let (pq, lib_pq) = pq_of(case);
                let m = bytes(&case["message"]);
                let lib_id = chatcrypt::IdentityKeyPair::from_seed(&bob.seed);
                let (lib_spk, lib_opk) = lib_prekeys(&spk, opk.as_ref());
                let lib_kem_key = kem.as_ref().map(lib_kem);
                let lib = chatcrypt::PreKeyMessage::from_bytes(&m).and_then(|pkm| {
                    chatcrypt::Session::accept(
                        &lib_id,
                        &lib_spk,
                        lib_opk,
                        lib_kem_key.as_ref().map(chatcrypt::KemPreKeyUse::LastResort),
                        &pkm,
                        chatcrypt::AcceptPolicy::new(lib_policy, lib_pq),
                        &mut lib_rng,
                    )
                    .map(|_| ())
                });
                let spec = Session::accept_with(&bob, &spk, opk, kem.as_ref(), &m, policy, pq, &mut spec_rng)
                    .map(|_| ());
                (lib.err(), spec.err())
            }
            "decrypt" => {
                let state = bytes(&case["state"]);
                let m = bytes(&case["message"]);
                let mut lib = chatcrypt::Session::from_bytes(&state).expect("state decodes");
                let lib_res = lib.decrypt(&m, &mut lib_rng);
                assert_eq!(
                    hex(&lib.to_bytes()),
                    hex(&state),
                    "{what}: library session changed by a failed decrypt"
                );
                let mut spec = Session::decode(&state).expect("state decodes (SPEC implementation)");
                assert_eq!(hex(&spec.encode()), hex(&state), "{what}: §10.4 encoding is canonical");
                let mode = if he_state { Mode::HeaderEncryption } else { Mode::Plain };
                assert_eq!(spec.mode(), mode, "{what}: mode of the state (SPEC implementation)");
                assert_eq!(
                    lib.mode() == chatcrypt::Mode::HeaderEncryption,
                    he_state,
                    "{what}: mode of the state (library)"
                );
                let before = spec.clone();
                let spec_res = spec.decrypt(&m, &mut spec_rng);
                assert_eq!(spec, before, "{what}: SPEC implementation changed by a failed decrypt");
                (lib_res.err(), spec_res.err())
            }
            other => panic!("{what}: unknown kind {other}"),
        };
        let lib_err = lib_err.unwrap_or_else(|| panic!("{what}: the library accepted it"));
        assert_eq!(format!("{lib_err:?}"), expected, "{what}: library error");
        let spec_err = spec_err.unwrap_or_else(|| panic!("{what}: the SPEC implementation accepted it"));
        assert_eq!(format!("{spec_err:?}"), expected, "{what}: SPEC implementation error");
        // Failures draw nothing, except an initiate that fails in its DHs,
        // which draws ek_A (§5.1) and, hybrid, m (§16.5 step 3) first; the
        // policy and the bundle's checks come before any draw (§16.5 steps 1-2).
        let hybrid_bundle = kind == "initiate" && bytes(&case["bundle"])[1] & 0x02 != 0;
        let expected_draws = if kind == "initiate" && expected == "NonContributory" {
            1 + usize::from(hybrid_bundle)
        } else {
            0
        };
        assert_eq!(spec_rng.used, expected_draws, "{what}: draws (SPEC implementation)");
        assert_eq!(lib_rng.draws_used(), expected_draws, "{what}: draws (library)");
        *kinds.entry(kind.to_owned()).or_default() += 1;
        if he_state {
            *kinds.entry(format!("{kind} with a header-encryption state")).or_default() += 1;
        }
        if he_message {
            *kinds.entry(format!("{kind} of a type 0x03/0x04 message")).or_default() += 1;
        }
        if case.get("pq_policy").is_some() || (kind == "decrypt" && bytes(&case["state"])[2] & 0x40 != 0) {
            *kinds.entry(format!("{kind}, hybrid (SPEC.md 16)")).or_default() += 1;
        }
        count += 1;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort();
    println!("reject.json: by kind {kinds:?}");
    finish("reject.json", &file, count);
}

#[test]
fn receive_v1() {
    let file = load("receive_v1.json");
    let mut count = 0;
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for case in cases(&file) {
        let what = text(&case["description"]);
        let kind = text(&case["kind"]);
        let m = bytes(&case["message"]);
        assert_eq!(m[0], VERSION_1, "{what}: a version-1 message");
        let expected_plaintext = text(&case["plaintext"]);
        let expected_id = text(&case["message_id"]);
        // §8.1: a version-1 id ends with the body's tag in place of G.
        assert!(
            expected_id.ends_with(&hex(&m[m.len() - 16..])),
            "{what}: §8.1: the body tag in a version-1 id"
        );
        let state_after = text(&case["state_after"]);
        let rng_draws = draws(&case["rng_draws"]);
        let mut spec_rng = Draws::new(rng_draws.clone());
        let mut lib_rng = ListRng::new(&rng_draws);
        let (spec, lib) = match kind {
            "accept" => {
                let r = &case["responder"];
                let bob = check_identity(&r["identity"]);
                let spk = check_signed_prekey(&bob, &r["signed_prekey"]);
                let opk = check_one_time_prekey(&r["one_time_prekey"]);
                let acc = Session::accept(&bob, &spk, opk.clone(), &m, Policy::Any, &mut spec_rng).unwrap();
                assert_eq!(
                    hex(&acc.plaintext),
                    expected_plaintext,
                    "{what}: plaintext (SPEC implementation)"
                );
                assert_eq!(hex(&acc.id), expected_id, "{what}: message id (SPEC implementation)");
                let (lib_spk, lib_opk) = lib_prekeys(&spk, opk.as_ref());
                let pkm = chatcrypt::PreKeyMessage::from_bytes(&m).unwrap();
                let lib_id = chatcrypt::IdentityKeyPair::from_seed(&bob.seed);
                let lib = chatcrypt::Session::accept(
                    &lib_id,
                    &lib_spk,
                    lib_opk,
                    None,
                    &pkm,
                    chatcrypt::AcceptPolicy::new(
                        chatcrypt::ModePolicy::Any,
                        chatcrypt::PqPolicy::AllowClassical,
                    ),
                    &mut lib_rng,
                )
                .unwrap();
                assert_eq!(hex(&lib.plaintext), expected_plaintext, "{what}: plaintext (library)");
                assert_eq!(hex(lib.id.as_bytes()), expected_id, "{what}: message id (library)");
                (acc.session, lib.session)
            }
            "decrypt" => {
                let state = bytes(&case["state"]);
                let mut spec = Session::decode(&state).unwrap();
                assert_eq!(hex(&spec.encode()), hex(&state), "{what}: §10.4 encoding is canonical");
                let (p, id) = spec.decrypt_with_id(&m, &mut spec_rng).unwrap();
                assert_eq!(hex(&p), expected_plaintext, "{what}: plaintext (SPEC implementation)");
                assert_eq!(hex(&id), expected_id, "{what}: message id (SPEC implementation)");
                let mut lib = chatcrypt::Session::from_bytes(&state).unwrap();
                let (p, id) = lib.decrypt_with_id(&m, &mut lib_rng).unwrap();
                assert_eq!(hex(&p), expected_plaintext, "{what}: plaintext (library)");
                assert_eq!(hex(id.as_bytes()), expected_id, "{what}: message id (library)");
                (spec, lib)
            }
            other => panic!("{what}: unknown kind {other}"),
        };
        assert_eq!(hex(&spec.encode()), state_after, "{what}: state after (SPEC implementation)");
        check_state_pair(&spec, &lib, &format!("{what}: state after"));
        assert!(spec_rng.all_used(), "{what}: draws not all used (SPEC implementation)");
        assert_eq!(lib_rng.draws_used(), rng_draws.len(), "{what}: draws (library)");
        let mode = if m[1] == 3 || m[1] == 4 { "header_encryption" } else { "plain" };
        *kinds.entry(format!("{kind}, {mode}")).or_default() += 1;
        count += 1;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort();
    println!("receive_v1.json: by kind {kinds:?}");
    finish("receive_v1.json", &file, count);
}

/// The frozen state fixtures (`test-vectors/state/`): `v1.json` and
/// `v1_he.json` (session format version 1, written by the version-1
/// library, with protocol-version-1 messages in flight) and `v2.json`,
/// `v2_he.json` (format version 2, protocol-version-2 messages) and
/// `v3_hybrid.json`, `v3_hybrid_he.json` (format version 3 after a hybrid
/// handshake, §16.8, one initiator still holding its pending KEM part), through
/// this implementation: each stored session decodes (§10.4) and re-encodes
/// as version 3 exactly as the library re-encodes it (a version-3 encoding
/// unchanged), and the messages each fixture lists decrypt in order in both,
/// with the same plaintexts, ids and states. For version 1 this checks the
/// receive path against messages that a version-1 sender really produced.
#[test]
fn state_fixtures() {
    let mut messages = HashMap::new();
    for name in ["v1.json", "v1_he.json", "v2.json", "v2_he.json", "v3_hybrid.json", "v3_hybrid_he.json"] {
        let f = load_from("state", name);
        let version = u8::try_from(f["format_version"].as_u64().expect("format_version")).expect("u8");
        // Session format 1 went with protocol version 1, format 2 with protocol 2.
        let message_version = if version == 1 { VERSION_1 } else { VERSION };
        for side in ["alice", "bob"] {
            let what = format!("state/{name}: {side}");
            let stored = bytes(&f[side]["session"]["plain"]);
            assert_eq!(stored[..2], [spec_impl::TAG_SESSION, version], "{what}: session format version");
            let mut spec = Session::decode(&stored).unwrap();
            if version == spec_impl::SESSION_STATE_VERSION {
                assert_eq!(hex(&spec.encode()), hex(&stored), "{what}: §10.5 encoding is canonical");
            }
            let mut lib = chatcrypt::Session::from_bytes(&stored).unwrap();
            check_state_pair(&spec, &lib, &format!("{what}: restored"));
            let draws: Vec<Vec<u8>> = (0..4u8).map(|i| vec![0x60 + i; 32]).collect();
            let mut spec_rng = Draws::new(draws.clone());
            let mut lib_rng = ListRng::new(&draws);
            for (i, m) in f[side]["receive"].as_array().expect("receive list").iter().enumerate() {
                let at = format!("{what}: message {i}");
                let wire = bytes(&m["wire"]);
                assert_eq!(wire[0], message_version, "{at}: protocol version");
                let (p, spec_id) = spec.decrypt_with_id(&wire, &mut spec_rng).unwrap();
                assert_eq!(hex(&p), text(&m["plaintext"]), "{at}: plaintext (SPEC implementation)");
                let (p, lib_id) = lib.decrypt_with_id(&wire, &mut lib_rng).unwrap();
                assert_eq!(hex(&p), text(&m["plaintext"]), "{at}: plaintext (library)");
                assert_eq!(hex(&spec_id), hex(lib_id.as_bytes()), "{at}: message id");
                if wire[0] == VERSION_1 {
                    assert_eq!(
                        spec_id[36..],
                        wire[wire.len() - 16..],
                        "{at}: §8.1: the body tag in a version-1 id"
                    );
                }
                check_state_pair(&spec, &lib, &at);
                *messages.entry(name).or_insert(0) += 1;
            }
            assert_eq!(spec_rng.used, lib_rng.draws_used(), "{what}: draws");
        }
    }
    let mut messages: Vec<_> = messages.into_iter().collect();
    messages.sort();
    println!("state fixtures: messages decrypted by both, per file: {messages:?}");
    assert_eq!(messages.len(), 6, "every fixture file lists messages");
}

/// `safety_number.json` (SPEC.md §15) through the independent implementation
/// and through the library's public API.
#[test]
fn safety_number() {
    let file = load("safety_number.json");
    let mut count = 0;
    for case in cases(&file) {
        let what = text(&case["description"]);
        let (local_key, local_id) = (b32(&case["local_key"]), bytes(&case["local_stable_id"]));
        let (remote_key, remote_id) = (b32(&case["remote_key"]), bytes(&case["remote_stable_id"]));
        let local_fp = spec_impl::safety_fingerprint(&local_key, &local_id);
        let remote_fp = spec_impl::safety_fingerprint(&remote_key, &remote_id);
        assert_eq!(hex(&local_fp), text(&case["local_fingerprint"]), "{what}: local fingerprint");
        assert_eq!(hex(&remote_fp), text(&case["remote_fingerprint"]), "{what}: remote fingerprint");
        let displayable = text(&case["displayable"]);
        assert_eq!(spec_impl::safety_displayable(&local_fp, &remote_fp), displayable, "{what}: displayable");
        assert_eq!(spec_impl::safety_displayable(&remote_fp, &local_fp), displayable, "{what}: mirrored");
        let local_scan = bytes(&case["local_scannable"]);
        let remote_scan = bytes(&case["remote_scannable"]);
        assert_eq!(spec_impl::safety_scannable(&local_fp, &remote_fp), local_scan, "{what}: local scannable");
        assert_eq!(
            spec_impl::safety_scannable(&remote_fp, &local_fp),
            remote_scan,
            "{what}: remote scannable"
        );
        assert_eq!(
            spec_impl::safety_compare_scanned(&local_fp, &remote_fp, &remote_scan),
            Ok(true),
            "{what}"
        );
        assert_eq!(spec_impl::safety_compare_scanned(&remote_fp, &local_fp, &local_scan), Ok(true), "{what}");

        // The library, through its public API.
        let lk = chatcrypt::IdentityKey::from_bytes(&local_key).unwrap();
        let rk = chatcrypt::IdentityKey::from_bytes(&remote_key).unwrap();
        let lib = chatcrypt::SafetyNumber::new(&local_id, &lk, &remote_id, &rk).unwrap();
        let mirror = chatcrypt::SafetyNumber::new(&remote_id, &rk, &local_id, &lk).unwrap();
        assert_eq!(lib.displayable(), displayable, "{what}: library displayable");
        assert_eq!(mirror.displayable(), displayable, "{what}: library mirrored");
        assert_eq!(lib.scannable().as_slice(), local_scan.as_slice(), "{what}: library scannable");
        assert_eq!(mirror.scannable().as_slice(), remote_scan.as_slice(), "{what}: library remote scannable");
        assert_eq!(lib.compare_scanned(&remote_scan), Ok(true), "{what}: library compare");
        assert_eq!(lib.compare_scanned(&local_scan), Ok(local_scan == remote_scan), "{what}: own payload");
        count += 1;
    }
    finish("safety_number.json", &file, count);
}

/// libsignal's published known answer for its version-0 fingerprint
/// (`test-vectors/primitives/signal-safety-number-v1.json`, 33-byte keys as
/// opaque bytes) through the independent implementation, and through the
/// library's `hazmat` functions when that feature is on (the library's own
/// unit test checks it always).
#[test]
fn signal_safety_number_known_answer() {
    let file = load_from("primitives", "signal-safety-number-v1.json");
    assert_eq!(file["algorithm"]["iterations"].as_u64(), Some(spec_impl::SAFETY_NUMBER_ITERATIONS as u64));
    let mut count = 0;
    for case in file["cases"].as_array().expect("cases") {
        let (alice_key, alice_id) = (bytes(&case["alice_key"]), text(&case["alice_stable_id"]).as_bytes());
        let (bob_key, bob_id) = (bytes(&case["bob_key"]), text(&case["bob_stable_id"]).as_bytes());
        let alice = spec_impl::safety_fingerprint(&alice_key, alice_id);
        let bob = spec_impl::safety_fingerprint(&bob_key, bob_id);
        assert_eq!(hex(&alice[..32]), text(&case["alice_fingerprint_first32"]));
        assert_eq!(hex(&bob[..32]), text(&case["bob_fingerprint_first32"]));
        assert_eq!(spec_impl::safety_displayable(&alice, &bob), text(&case["displayable"]));
        #[cfg(feature = "hazmat")]
        {
            use chatcrypt::hazmat::{safety_number_displayable, safety_number_fingerprint};
            assert_eq!(safety_number_fingerprint(&alice_key, alice_id), alice, "library: alice");
            assert_eq!(safety_number_fingerprint(&bob_key, bob_id), bob, "library: bob");
            let digits = safety_number_displayable(&bob, &alice);
            assert_eq!(std::str::from_utf8(&digits).unwrap(), text(&case["displayable"]), "library");
        }
        count += 1;
    }
    println!("signal-safety-number-v1.json: {count} cases checked");
    assert_eq!(count, 1);
}

// ---------------------------------------------------------------------------
// Messenger formats (SPEC.md §17-§21): messenger.json

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("expected an integer, got {v}"))
}

fn b64(v: &Value) -> [u8; 64] {
    bytes(v).try_into().unwrap_or_else(|_| panic!("expected 64 bytes: {v}"))
}

/// The identity of a seed field, checked against a key field if one is given.
fn identity_of(seed: &Value, key: Option<&Value>) -> Identity {
    let id = Identity::from_seed(&b32(seed));
    if let Some(k) = key {
        assert_eq!(hex(&id.public), text(k), "identity key of seed {}", text(seed));
    }
    id
}

fn check_device_certificate(case: &Value, what: &str) {
    let account_seed = b32(&case["account_seed"]);
    assert_eq!(hex(&spec_impl::ed25519_public_of(&account_seed)), text(&case["account_key"]), "{what}");
    let identity = identity_of(&case["identity_seed"], Some(&case["identity_key"]));
    let device = u32_of(&case["device_id"]);
    let expected = bytes(&case["certificate"]);

    // The independent implementation: encoding and signature, then decoding.
    let spec = spec_impl::DeviceCertificate::sign(&account_seed, device, &identity.public);
    assert_eq!(hex(&spec.encode()), hex(&expected), "{what}: certificate");
    assert_eq!(spec_impl::DeviceCertificate::decode(&expected), Ok(spec.clone()), "{what}: spec decode");

    // The library.
    let account = chatcrypt::AccountKeyPair::from_seed(&account_seed);
    let lib_identity = chatcrypt::IdentityKeyPair::from_seed(&identity.seed);
    let cert = account.certify(chatcrypt::DeviceId::new(device), lib_identity.public_key());
    assert_eq!(cert.to_bytes(), expected, "{what}: library certify");
    let decoded = chatcrypt::DeviceCertificate::from_bytes(&expected).expect("library decodes");
    assert_eq!(decoded.account_key().as_bytes(), &spec.account, "{what}");
    assert_eq!(decoded.device().get(), device, "{what}");
    assert_eq!(decoded.identity().as_bytes(), &identity.public, "{what}");
    assert_eq!(decoded.verify(account.public_key()), Ok(()), "{what}");
}

fn check_device_list(case: &Value, what: &str) {
    let account_seed = b32(&case["account_seed"]);
    assert_eq!(hex(&spec_impl::ed25519_public_of(&account_seed)), text(&case["account_key"]), "{what}");
    let epoch = u64_of(&case["epoch"]);
    let entries: Vec<(u32, [u8; 32])> = case["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| (u32_of(&e["device_id"]), identity_of(&e["identity_seed"], Some(&e["identity_key"])).seed))
        .collect();
    let expected = bytes(&case["list"]);

    let spec = spec_impl::DeviceList::sign(&account_seed, epoch, &entries);
    assert_eq!(hex(&spec.encode()), hex(&expected), "{what}: list");
    let decoded = spec_impl::DeviceList::decode(&expected).expect("spec decodes");
    assert_eq!(decoded, spec, "{what}: spec decode");
    let mut sorted: Vec<(u32, [u8; 32])> =
        entries.iter().map(|(d, seed)| (*d, spec_impl::ed25519_public_of(seed))).collect();
    sorted.sort_by_key(|(d, _)| *d);
    let decoded_keys: Vec<(u32, [u8; 32])> = decoded.entries.iter().map(|(d, k, _)| (*d, *k)).collect();
    assert_eq!(decoded_keys, sorted, "{what}: entries sorted by id");

    let account = chatcrypt::AccountKeyPair::from_seed(&account_seed);
    let lib_entries: Vec<chatcrypt::DeviceLink> = entries
        .iter()
        .map(|(d, seed)| {
            chatcrypt::DeviceLink::new(
                &chatcrypt::IdentityKeyPair::from_seed(seed),
                account.public_key(),
                chatcrypt::DeviceId::new(*d),
            )
        })
        .collect();
    let list = account.sign_device_list(epoch, &lib_entries).expect("library signs");
    assert_eq!(list.to_bytes(), expected, "{what}: library sign_device_list");
    assert_eq!(list.encoded_len(), expected.len(), "{what}: encoded_len");
    let decoded = chatcrypt::DeviceList::from_bytes(&expected).expect("library decodes");
    assert_eq!(decoded.account_key(), account.public_key(), "{what}");
    assert_eq!(decoded.epoch(), epoch, "{what}");
    let lib_sorted: Vec<(u32, [u8; 32])> = decoded.devices().map(|(d, k)| (d.get(), k.to_bytes())).collect();
    assert_eq!(lib_sorted, sorted, "{what}: library devices");
}

fn check_account_safety_number(case: &Value, what: &str) {
    let (local_seed, remote_seed) = (b32(&case["local_account_seed"]), b32(&case["remote_account_seed"]));
    let (local_key, remote_key) =
        (spec_impl::ed25519_public_of(&local_seed), spec_impl::ed25519_public_of(&remote_seed));
    assert_eq!(hex(&local_key), text(&case["local_account_key"]), "{what}");
    assert_eq!(hex(&remote_key), text(&case["remote_account_key"]), "{what}");
    let (local_id, remote_id) = (bytes(&case["local_stable_id"]), bytes(&case["remote_stable_id"]));
    // §15 over the 32-byte account keys.
    let local_fp = spec_impl::safety_fingerprint(&local_key, &local_id);
    let remote_fp = spec_impl::safety_fingerprint(&remote_key, &remote_id);
    assert_eq!(hex(&local_fp), text(&case["local_fingerprint"]), "{what}: local fingerprint");
    assert_eq!(hex(&remote_fp), text(&case["remote_fingerprint"]), "{what}: remote fingerprint");
    let displayable = text(&case["displayable"]);
    assert_eq!(displayable.len(), 60, "{what}");
    assert_eq!(spec_impl::safety_displayable(&local_fp, &remote_fp), displayable, "{what}: displayable");
    let (local_scan, remote_scan) = (bytes(&case["local_scannable"]), bytes(&case["remote_scannable"]));
    assert_eq!(spec_impl::safety_scannable(&local_fp, &remote_fp), local_scan, "{what}: local scannable");
    assert_eq!(spec_impl::safety_scannable(&remote_fp, &local_fp), remote_scan, "{what}: remote scannable");

    let lk = chatcrypt::AccountKeyPair::from_seed(&local_seed);
    let rk = chatcrypt::AccountKeyPair::from_seed(&remote_seed);
    let lib = chatcrypt::SafetyNumber::for_accounts(&local_id, lk.public_key(), &remote_id, rk.public_key())
        .unwrap();
    let mirror =
        chatcrypt::SafetyNumber::for_accounts(&remote_id, rk.public_key(), &local_id, lk.public_key())
            .unwrap();
    assert_eq!(lib.displayable(), displayable, "{what}: library");
    assert_eq!(mirror.displayable(), displayable, "{what}: library mirrored");
    assert_eq!(lib.scannable().as_slice(), local_scan.as_slice(), "{what}: library scannable");
    assert_eq!(mirror.scannable().as_slice(), remote_scan.as_slice(), "{what}: library remote scannable");
    assert_eq!(lib.compare_scanned(&remote_scan), Ok(true), "{what}: library compare");
}

fn check_prekey_upload(case: &Value, what: &str) {
    let account_seed = b32(&case["account_seed"]);
    let identity = identity_of(&case["identity_seed"], None);
    let device = u32_of(&case["device_id"]);
    let certificate = spec_impl::DeviceCertificate::sign(&account_seed, device, &identity.public);
    assert_eq!(hex(&certificate.encode()), text(&case["certificate"]), "{what}: certificate");

    // Rebuild every key from its secret, every signature from the identity
    // seed (Ed25519 is deterministic), then the upload.
    let spk_id = u32_of(&case["signed_prekey"]["id"]);
    let spk_private = b32(&case["signed_prekey"]["private"]);
    let spk = x25519_base(&spk_private);
    let kem_of = |v: &Value| KemPreKey::new(&identity, u32_of(&v["id"]), &b64(&v["seed"]));
    let one_time: Vec<(u32, [u8; 32])> = case["one_time_prekeys"]
        .as_array()
        .expect("one_time_prekeys")
        .iter()
        .map(|k| (u32_of(&k["id"]), x25519_base(&b32(&k["private"]))))
        .collect();
    let kem_keys: Vec<KemPreKey> =
        case["kem_prekeys"].as_array().expect("kem_prekeys").iter().map(kem_of).collect();
    let mut upload = spec_impl::PreKeyUpload {
        certificate,
        spk_id,
        spk,
        spk_signature: identity.sign(&signed_prekey_message(spk_id, &spk)),
        last_resort: kem_of(&case["last_resort_prekey"]).public(),
        one_time: one_time.clone(),
        kem: kem_keys.iter().map(KemPreKey::public).collect(),
        signature: [0; 64],
    };
    upload.sign(&identity);
    let encoded = upload.encode();
    assert_eq!(encoded.len() as u64, u64_of(&case["upload_len"]), "{what}: length");
    assert_eq!(hex(&spec_impl::sha256(&encoded)), text(&case["upload_sha256"]), "{what}: SHA-256");
    if !case["upload"].is_null() {
        assert_eq!(hex(&encoded), text(&case["upload"]), "{what}: upload");
    }
    assert_eq!(spec_impl::PreKeyUpload::decode(&encoded), Ok(upload.clone()), "{what}: spec decode");

    // The library decodes the rebuilt bytes to the same fields.
    let lib = chatcrypt::PreKeyUpload::from_bytes(&encoded).expect("library decodes");
    assert_eq!(lib.to_bytes(), encoded, "{what}: library re-encoding");
    assert_eq!(lib.identity().as_bytes(), &identity.public, "{what}");
    assert_eq!(lib.certificate().device().get(), device, "{what}");
    let account = chatcrypt::AccountKeyPair::from_seed(&account_seed);
    assert_eq!(lib.certificate().verify(account.public_key()), Ok(()), "{what}");
    assert_eq!((lib.signed_prekey().id(), lib.signed_prekey().key()), (spk_id, &spk), "{what}");
    assert_eq!(lib.last_resort_prekey().id(), upload.last_resort.id, "{what}");
    let lib_one_time: Vec<(u32, [u8; 32])> =
        lib.one_time_prekeys().iter().map(|k| (k.id(), *k.key())).collect();
    assert_eq!(lib_one_time, one_time, "{what}: one-time prekeys");
    let lib_kem: Vec<u32> = lib.kem_prekeys().iter().map(|k| k.id()).collect();
    assert_eq!(lib_kem, kem_keys.iter().map(|k| k.id).collect::<Vec<_>>(), "{what}: KEM prekeys");

    // And the library's device, replayed from the same secrets as RNG
    // draws (§19: signed prekey, then last-resort seed; a rotation draws a
    // new pair; a replenishment draws the one-time keys, then the KEM
    // seeds), produces the same upload.
    let mut draws: Vec<Vec<u8>> = Vec::new();
    if let Some(r) = case["retired_prekeys"].as_object() {
        draws.push(bytes(&r["signed_prekey"]["private"]));
        draws.push(bytes(&r["last_resort_prekey"]["seed"]));
    }
    draws.push(spk_private.to_vec());
    draws.push(bytes(&case["last_resort_prekey"]["seed"]));
    draws.extend(case["one_time_prekeys"].as_array().unwrap().iter().map(|k| bytes(&k["private"])));
    draws.extend(case["kem_prekeys"].as_array().unwrap().iter().map(|k| bytes(&k["seed"])));
    let mut rng = ListRng::new(&draws);
    let lib_identity = chatcrypt::IdentityKeyPair::from_seed(&identity.seed);
    let cert = account.certify(chatcrypt::DeviceId::new(device), lib_identity.public_key());
    let mut local =
        chatcrypt::LocalDevice::new(lib_identity, cert, u64_of(&case["created_at"]), &mut rng).unwrap();
    if let Some(t) = case["rotated_at"].as_u64() {
        local.rotate_signed_prekey(t, &mut rng).unwrap();
    }
    if let Some(counts) = case["server_prekey_counts"].as_array() {
        let (x, k) = (u64_of(&counts[0]) as usize, u64_of(&counts[1]) as usize);
        local.replenish(x, k, &mut rng).unwrap();
    }
    assert_eq!(rng.draws_used(), draws.len(), "{what}: every draw used");
    let persisted = local.to_bytes();
    let replayed = local.upload(&persisted).expect("persisted").to_bytes();
    assert_eq!(hex(&replayed), hex(&encoded), "{what}: library device replayed");
}

fn check_retry_message(case: &Value, what: &str) {
    let author = identity_of(&case["author_seed"], Some(&case["author_key"]));
    let recipient = b32(&case["recipient_key"]);
    let reason = match text(&case["reason"]) {
        "NoSession" => spec_impl::RETRY_NO_SESSION,
        "UnknownPreKey" => spec_impl::RETRY_UNKNOWN_PREKEY,
        r => panic!("{what}: unknown reason {r}"),
    };
    let (prekey_id, timestamp) = (u32_of(&case["prekey_id"]), u64_of(&case["timestamp"]));
    let failed = bytes(&case["failed_message"]);
    let expected = bytes(&case["retry"]);

    // The fields follow from the failed message (§21): its digest, and for
    // UnknownPreKey the id it names.
    let digest: [u8; 16] = spec_impl::sha256(&failed)[..16].try_into().unwrap();
    assert_eq!(text(&case["message_digest"]), hex(&digest), "{what}: digest of the failed message");
    let decoded = spec_impl::decode_message(&failed, None).expect("the failed message decodes");
    match &decoded.prekey {
        Some(p) => {
            assert_eq!(reason, spec_impl::RETRY_UNKNOWN_PREKEY, "{what}");
            assert_eq!(p.ik_a, recipient, "{what}: the failed message's sender is the recipient");
            let named = [Some(p.spk_id), p.opk_id, p.kem.as_ref().map(|k| k.kem_id)];
            assert!(named.contains(&Some(prekey_id)), "{what}: the failed message names the prekey");
        }
        None => {
            assert_eq!(reason, spec_impl::RETRY_NO_SESSION, "{what}");
            assert_eq!(prekey_id, 0, "{what}");
        }
    }
    let spec = spec_impl::RetryMessage::sign(&author, reason, prekey_id, digest, timestamp, recipient);
    assert_eq!(hex(&spec.encode()), hex(&expected), "{what}: retry");
    assert_eq!(spec_impl::RetryMessage::decode(&expected), Ok(spec), "{what}: spec decode");

    // The library: the same bytes from the failed message and the error.
    let error = match reason {
        spec_impl::RETRY_NO_SESSION => chatcrypt::Error::NoSession,
        _ => chatcrypt::Error::UnknownPreKey { id: prekey_id },
    };
    assert_eq!(format!("{error:?}"), text(&case["error"]), "{what}: error");
    let lib_author = chatcrypt::IdentityKeyPair::from_seed(&author.seed);
    let lib_recipient = chatcrypt::IdentityKey::from_bytes(&recipient).unwrap();
    let retry = chatcrypt::RetryMessage::for_failure(&lib_author, &lib_recipient, &failed, error, timestamp)
        .expect("a retry");
    assert_eq!(retry.to_bytes(), expected, "{what}: library for_failure");
    let lib = chatcrypt::RetryMessage::from_bytes(&expected).expect("library decodes");
    assert_eq!(format!("{:?}", lib.reason()), text(&case["reason"]), "{what}");
    assert_eq!(lib.prekey_id(), prekey_id, "{what}");
    assert_eq!(lib.message_digest(), &digest, "{what}");
    assert_eq!(lib.timestamp(), timestamp, "{what}");
    assert_eq!(lib.author().as_bytes(), &author.public, "{what}");
    assert_eq!(lib.recipient().as_bytes(), &recipient, "{what}");
}

fn check_session_record(case: &Value, what: &str) {
    let record = bytes(&case["record"]);
    let local = b32(&case["local_identity_key"]);
    let remote = b32(&case["remote_identity_key"]);
    let device = u32_of(&case["device_id"]);

    // The independent implementation: the record layout (§20.4), each
    // embedded session through the §10.4 decoder.
    let spec = spec_impl::SessionRecord::decode(&record).expect("spec decodes the record");
    assert_eq!(spec.device, device, "{what}: device");
    let expected: Vec<&Value> = std::iter::once(&case["current"])
        .filter(|c| !c.is_null())
        .chain(case["archived"].as_array().expect("archived"))
        .collect();
    assert_eq!(spec.current.is_some(), !case["current"].is_null(), "{what}: current");
    assert_eq!(spec.archived.len(), expected.len() - usize::from(spec.current.is_some()), "{what}: archived");
    for (entry, want) in spec.current.iter().chain(&spec.archived).zip(&expected) {
        assert_eq!(u64::from(entry.flags), u64_of(&want["flags"]), "{what}: flags");
        assert_eq!(hex(&entry.base_key), text(&want["base_key"]), "{what}: base key");
        assert_eq!(entry.created_at, u64_of(&want["created_at"]), "{what}: created_at");
        assert_eq!(hex(&entry.session_bytes), text(&want["session"]), "{what}: session");
        let s = &entry.session;
        assert_eq!(s.encode(), entry.session_bytes, "{what}: session re-encoding");
        assert_eq!((s.local_identity, s.remote_identity), (local, remote), "{what}: identities");
        assert!(s.initiator, "{what}: both sessions were started by the local side");
        assert_eq!(s.pending.is_some(), want["awaiting_reply"].as_bool().unwrap(), "{what}: awaiting reply");
        if let Some(p) = &s.pending {
            assert_eq!(p.ek_a, entry.base_key, "{what}: pending base key");
        }
    }
    // The digests of the messages the record decrypted (§20.2).
    let decrypted: Vec<[u8; 16]> = case["decrypted"]
        .as_array()
        .expect("decrypted")
        .iter()
        .map(|m| spec_impl::sha256(&bytes(m))[..16].try_into().unwrap())
        .collect();
    assert!(!decrypted.is_empty());
    assert_eq!(spec.recent, decrypted, "{what}: recent message digests");
    // The digests of the messages it sent, with their sessions' base keys.
    let sent: Vec<([u8; 16], [u8; 32])> = case["sent"]
        .as_array()
        .expect("sent")
        .iter()
        .map(|m| (spec_impl::sha256(&bytes(&m["message"]))[..16].try_into().unwrap(), b32(&m["base_key"])))
        .collect();
    assert!(sent.len() >= 2);
    assert_eq!(spec.sent, sent, "{what}: sent message digests");
    assert_eq!(hex(&spec.encode()), hex(&record), "{what}: spec re-encoding");

    // The library.
    let lib = chatcrypt::SessionRecord::from_bytes(&record).expect("library decodes the record");
    assert_eq!(lib.to_bytes().as_slice(), record.as_slice(), "{what}: library re-encoding");
    assert_eq!(lib.device().get(), device, "{what}");
    assert_eq!(lib.archived_count(), spec.archived.len(), "{what}");
    let current = lib.current_session().expect("a current session");
    assert_eq!(hex(&current.to_bytes()), text(&case["current"]["session"]), "{what}: library current");
    assert_eq!(current.awaiting_reply(), case["current"]["awaiting_reply"].as_bool().unwrap(), "{what}");
    assert_eq!(current.remote_identity().as_bytes(), &remote, "{what}");
}

/// A rejected encoding: the library and the independent implementation
/// give the same error (the same first violation in check order).
fn check_messenger_reject(case: &Value, what: &str) -> String {
    let input = bytes(&case["input"]);
    let decoder = text(&case["decoder"]);
    let (lib, spec) = match decoder {
        "device_certificate" => (
            chatcrypt::DeviceCertificate::from_bytes(&input).err(),
            spec_impl::DeviceCertificate::decode(&input).err(),
        ),
        "device_list" => {
            (chatcrypt::DeviceList::from_bytes(&input).err(), spec_impl::DeviceList::decode(&input).err())
        }
        "prekey_upload" => {
            (chatcrypt::PreKeyUpload::from_bytes(&input).err(), spec_impl::PreKeyUpload::decode(&input).err())
        }
        "retry_message" => {
            (chatcrypt::RetryMessage::from_bytes(&input).err(), spec_impl::RetryMessage::decode(&input).err())
        }
        d => panic!("{what}: unknown decoder {d}"),
    };
    let expected = text(&case["error"]);
    assert_eq!(lib.map(|e| format!("{e:?}")).as_deref(), Some(expected), "{what}: library");
    assert_eq!(spec.map(|e| format!("{e:?}")).as_deref(), Some(expected), "{what}: spec");
    decoder.to_string()
}

#[test]
fn messenger() {
    let file = load("messenger.json");
    let mut count = 0;
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for case in cases(&file) {
        let what = &format!("{} ({})", text(&case["description"]), text(&case["kind"]));
        let kind = match text(&case["kind"]) {
            "device_certificate" => {
                check_device_certificate(case, what);
                "device_certificate".to_string()
            }
            "device_list" => {
                check_device_list(case, what);
                "device_list".to_string()
            }
            "account_safety_number" => {
                check_account_safety_number(case, what);
                "account_safety_number".to_string()
            }
            "prekey_upload" => {
                check_prekey_upload(case, what);
                "prekey_upload".to_string()
            }
            "retry_message" => {
                check_retry_message(case, what);
                "retry_message".to_string()
            }
            "session_record" => {
                check_session_record(case, what);
                "session_record".to_string()
            }
            "reject" => format!("reject {}", check_messenger_reject(case, what)),
            k => panic!("{what}: unknown kind {k}"),
        };
        *kinds.entry(kind).or_default() += 1;
        count += 1;
    }
    let mut listed: Vec<_> = kinds.into_iter().collect();
    listed.sort();
    println!("messenger.json kinds: {listed:?}");
    finish("messenger.json", &file, count);
}

// ---------------------------------------------------------------------------
// Media (SPEC.md §22-§25): media.json, through chatcrypt::media and spec_impl.

use chatcrypt::media;

fn suite_of(v: &Value) -> (spec_impl::SframeSuite, media::CipherSuite) {
    let id = u16::try_from(v.as_u64().expect("cipher_suite")).expect("u16");
    (spec_impl::SframeSuite::from_id(id).expect("suite"), media::CipherSuite::from_id(id).expect("suite"))
}

/// An established classical session pair between two identities; its own
/// keys do not enter the call keys (§23.2), so its RNG is not listed.
fn call_sessions(
    caller: &chatcrypt::IdentityKeyPair,
    callee: &chatcrypt::IdentityKeyPair,
) -> (chatcrypt::Session, chatcrypt::Session) {
    use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
    let mut rng = ChaCha20Rng::from_seed([0x33; 32]);
    let spk = chatcrypt::SignedPreKey::generate(callee, 1, &mut rng);
    let bundle = chatcrypt::PreKeyBundle::new(callee.public_key().clone(), spk.public().clone(), None);
    let mut a = chatcrypt::Session::initiate_with(
        caller,
        &bundle,
        chatcrypt::Mode::Plain,
        chatcrypt::PqPolicy::AllowClassical,
        &mut rng,
    )
    .unwrap();
    let first = a.encrypt(b"call me", &mut rng).unwrap();
    let message = chatcrypt::PreKeyMessage::from_bytes(&first).unwrap();
    let policy =
        chatcrypt::AcceptPolicy::new(chatcrypt::ModePolicy::Any, chatcrypt::PqPolicy::AllowClassical);
    let b = chatcrypt::Session::accept(callee, &spk, None, None, &message, policy, &mut rng).unwrap().session;
    (a, b)
}

/// Draws of any length (the media side draws 16, 32 and 64 bytes).
fn any_draws(v: &Value) -> Vec<Vec<u8>> {
    v.as_array().expect("draws array").iter().map(bytes).collect()
}

fn check_call_keys(case: &Value, what: &str) {
    let caller_id = Identity::from_seed(&b32(&case["caller_seed"]));
    let callee_id = Identity::from_seed(&b32(&case["callee_seed"]));
    assert_eq!(hex(&caller_id.public), text(&case["caller_identity_key"]), "{what}");
    assert_eq!(hex(&callee_id.public), text(&case["callee_identity_key"]), "{what}");
    let hybrid = case["kem_type"].as_u64() == Some(1);
    let cd = any_draws(&case["caller_rng_draws"]);
    let rd = any_draws(&case["callee_rng_draws"]);
    assert_eq!(cd.len(), if hybrid { 3 } else { 2 }, "{what}: caller draws");
    assert_eq!(rd.len(), if hybrid { 2 } else { 1 }, "{what}: callee draws");
    let (offer_bytes, answer_bytes) = (bytes(&case["offer"]), bytes(&case["answer"]));

    // spec_impl, from the draws and the identity keys alone (§23).
    let cid: [u8; 16] = cd[0].clone().try_into().unwrap();
    let e_c: [u8; 32] = cd[1].clone().try_into().unwrap();
    let seed: Option<[u8; 64]> = cd.get(2).map(|s| s.clone().try_into().unwrap());
    let e_r: [u8; 32] = rd[0].clone().try_into().unwrap();
    let m: Option<[u8; 32]> = rd.get(1).map(|s| s.clone().try_into().unwrap());
    let offer = spec_impl::CallOffer::new(cid, &e_c, seed.as_ref());
    assert_eq!(hex(&offer.encode()), text(&case["offer"]), "{what}: spec offer");
    assert_eq!(spec_impl::CallOffer::decode(&offer_bytes).unwrap(), offer, "{what}");
    let (answer, callee_keys) =
        spec_impl::call_answer(&offer, &e_r, m.as_ref(), &caller_id.public, &callee_id.public).unwrap();
    assert_eq!(hex(&answer.encode()), text(&case["answer"]), "{what}: spec answer");
    assert_eq!(spec_impl::CallAnswer::decode(&answer_bytes).unwrap(), answer, "{what}");
    let keys =
        spec_impl::call_complete(&offer, &e_c, seed.as_ref(), &answer, &caller_id.public, &callee_id.public)
            .unwrap();
    assert_eq!(keys, callee_keys, "{what}: both sides of spec_impl agree");
    assert_eq!(hex(&keys.dh), text(&case["dh"]), "{what}: dh");
    assert_eq!(keys.ss.map(|s| hex(&s)).as_deref(), case["kem_shared_secret"].as_str(), "{what}: ss");
    assert_eq!(hex(&keys.transcript), text(&case["transcript_hash"]), "{what}: T");
    let srtp = |k: &[u8; 44], v: &Value| {
        assert_eq!(hex(&k[..32]), text(&v["master_key"]), "{what}: SRTP master key");
        assert_eq!(hex(&k[32..]), text(&v["master_salt"]), "{what}: SRTP master salt");
    };
    srtp(&keys.srtp_caller, &case["srtp_caller"]);
    srtp(&keys.srtp_callee, &case["srtp_callee"]);
    assert_eq!(hex(&keys.sframe_caller), text(&case["sframe_caller"]["key"]), "{what}: SF_C");
    assert_eq!(hex(&keys.sframe_callee), text(&case["sframe_callee"]["key"]), "{what}: SF_R");
    assert_eq!(case["sframe_caller"]["kid"].as_u64(), Some(0), "{what}");
    assert_eq!(case["sframe_callee"]["kid"].as_u64(), Some(1), "{what}");

    // The library, through the public API with the listed draws.
    let caller = chatcrypt::IdentityKeyPair::from_seed(&b32(&case["caller_seed"]));
    let callee = chatcrypt::IdentityKeyPair::from_seed(&b32(&case["callee_seed"]));
    let (a, b) = call_sessions(&caller, &callee);
    let mut crng = ListRng::new(&cd);
    let kem = hybrid.then_some(chatcrypt::KemType::MlKem1024);
    let (pending, lib_offer) = media::CallOffer::new_with_kem(&a, kem, &mut crng);
    assert_eq!(crng.draws_used(), cd.len(), "{what}: caller draws used");
    assert_eq!(hex(&lib_offer.to_bytes()), text(&case["offer"]), "{what}: library offer");
    let got = media::CallOffer::from_bytes(&offer_bytes).unwrap();
    let mut rrng = ListRng::new(&rd);
    let (lib_callee, lib_answer) = got.answer(&b, chatcrypt::PqPolicy::AllowClassical, &mut rrng).unwrap();
    assert_eq!(rrng.draws_used(), rd.len(), "{what}: callee draws used");
    assert_eq!(hex(&lib_answer.to_bytes()), text(&case["answer"]), "{what}: library answer");
    let mut lib_caller =
        pending.complete(&a, &media::CallAnswer::from_bytes(&answer_bytes).unwrap()).unwrap();
    let mut lib_callee = lib_callee;
    for (side, send_c) in [("caller", lib_caller.srtp_send()), ("callee", lib_callee.srtp_receive())] {
        assert_eq!(send_c.master_key()[..], keys.srtp_caller[..32], "{what}: {side} SRTP_C");
        assert_eq!(send_c.master_salt()[..], keys.srtp_caller[32..], "{what}: {side} SRTP_C salt");
    }
    for (side, srtp_r) in [("caller", lib_caller.srtp_receive()), ("callee", lib_callee.srtp_send())] {
        assert_eq!(srtp_r.master_key()[..], keys.srtp_callee[..32], "{what}: {side} SRTP_R");
        assert_eq!(srtp_r.master_salt()[..], keys.srtp_callee[32..], "{what}: {side} SRTP_R salt");
    }
    // SF_C and SF_R: the receive keys directly; the send keys (not
    // exposed) through a frame from each side's one sender that a receiver
    // built from the spec_impl key opens.
    let recv_c = lib_callee.sframe_receive();
    assert_eq!((recv_c.kid(), recv_c.key()), (0, &keys.sframe_caller), "{what}: callee's SF_C");
    let recv_r = lib_caller.sframe_receive();
    assert_eq!((recv_r.kid(), recv_r.key()), (1, &keys.sframe_callee), "{what}: caller's SF_R");
    let suite = media::CipherSuite::AesGcm128Sha256;
    for (side, keys_of, kid, base) in [
        ("caller", &mut lib_caller, 0u64, keys.sframe_caller),
        ("callee", &mut lib_callee, 1, keys.sframe_callee),
    ] {
        let mut sender = keys_of.sframe_sender(suite).unwrap();
        let mut frame = vec![0u8; sender.ciphertext_len(3)];
        let n = sender.encrypt(b"", b"abc", &mut frame).unwrap();
        let mut receiver = media::SframeReceiver::new(suite);
        receiver.add_base_key(kid, 0, &base).unwrap();
        let mut out = [0u8; 8];
        assert_eq!(
            receiver.decrypt(b"", &frame[..n], &mut out).map(|d| d.len),
            Ok(3),
            "{what}: {side} SF send"
        );
    }
    assert_eq!(lib_caller.is_post_quantum(), hybrid, "{what}");
}

fn check_attachment(case: &Value, what: &str) {
    let draws = any_draws(&case["rng_draws"]);
    assert_eq!(draws.len(), 1, "{what}: one draw, the key");
    let key: [u8; 32] = draws[0].clone().try_into().unwrap();
    let size = usize::try_from(case["size"].as_u64().unwrap()).unwrap();
    let plaintext = match case["plaintext"].as_str() {
        Some(h) => unhex(h),
        None => {
            assert_eq!(text(&case["plaintext_rule"]), "byte i = i mod 251", "{what}");
            (0..size).map(|i| (i % 251) as u8).collect()
        }
    };
    assert_eq!(plaintext.len(), size, "{what}: size");
    assert_eq!(hex(&spec_impl::sha256(&plaintext)), text(&case["plaintext_sha256"]), "{what}");

    let spec = spec_impl::attachment_encrypt(&key, &plaintext);
    let tags: Vec<String> = spec.tags.iter().map(|t| hex(t)).collect();
    let listed: Vec<&str> = case["tags"].as_array().unwrap().iter().map(text).collect();
    assert_eq!(tags, listed, "{what}: tags");
    assert_eq!(hex(&spec.digest), text(&case["digest"]), "{what}: digest");
    assert_eq!(hex(&spec.pointer), text(&case["pointer"]), "{what}: pointer");
    assert_eq!(spec.blob.len() as u64, case["blob_len"].as_u64().unwrap(), "{what}: blob length");
    assert_eq!(hex(&spec_impl::sha256(&spec.blob)), text(&case["blob_sha256"]), "{what}: blob hash");
    if let Some(blob) = case["blob"].as_str() {
        assert_eq!(hex(&spec.blob), blob, "{what}: blob");
    }
    let spec_pointer = spec_impl::AttachmentPointer::decode(&spec.pointer).unwrap();
    assert_eq!(spec_impl::attachment_decrypt(&spec_pointer, &spec.blob).unwrap(), plaintext, "{what}");

    // The library: one-shot with the listed draw, then chunk by chunk.
    let mut rng = ListRng::new(&draws);
    let (blob, pointer) = media::encrypt_attachment(&plaintext, &mut rng).unwrap();
    assert_eq!(rng.draws_used(), 1, "{what}");
    assert_eq!(blob, spec.blob, "{what}: library blob");
    assert_eq!(hex(&pointer.to_bytes()[..]), text(&case["pointer"]), "{what}: library pointer");
    let decoded = media::AttachmentPointer::from_bytes(&spec.pointer).unwrap();
    assert_eq!(hex(decoded.digest()), text(&case["digest"]), "{what}");
    assert_eq!(decoded.encrypted_len(), spec.blob.len() as u64, "{what}");
    assert_eq!(media::decrypt_attachment(&decoded, &spec.blob).unwrap(), plaintext, "{what}");
    let mut dec = media::AttachmentDecryptor::new(&decoded);
    let (mut rest, mut out, mut i) = (&spec.blob[..], Vec::new(), 0);
    while let Some(len) = dec.next_chunk_len() {
        let (chunk, tail) = rest.split_at(len);
        assert_eq!(hex(&chunk[len - 16..]), listed[i], "{what}: chunk {i}'s tag");
        let mut buf = vec![0u8; len];
        let n = dec.decrypt_chunk(chunk, &mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
        rest = tail;
        i += 1;
    }
    dec.finish().unwrap();
    assert_eq!((out, i), (plaintext, listed.len()), "{what}: chunks");
}

/// One frame object (`kid`, `ctr`, `metadata`, `plaintext`, `frame`).
fn frame_fields(v: &Value) -> (u64, u64, Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        v["kid"].as_u64().unwrap(),
        v["ctr"].as_u64().unwrap(),
        bytes(&v["metadata"]),
        bytes(&v["plaintext"]),
        bytes(&v["frame"]),
    )
}

fn check_sframe(case: &Value, what: &str) {
    let (spec, suite) = suite_of(&case["cipher_suite"]);
    let base = bytes(&case["base_key"]);
    let kid = case["kid"].as_u64().unwrap();
    let (key, salt) = spec.key_and_salt(kid, &base);
    assert_eq!(hex(&key), text(&case["sframe_key"]), "{what}: sframe_key");
    assert_eq!(hex(&salt), text(&case["sframe_salt"]), "{what}: sframe_salt");
    let lib_key = media::SframeKey::derive(suite, kid, &base).unwrap();
    assert_eq!((lib_key.key(), lib_key.salt()), (&key[..], &salt), "{what}: library key schedule");

    let frames = case["frames"].as_array().unwrap();
    let mut sender = media::SframeSender::new(suite, kid, 0, &base).unwrap();
    let mut receiver = media::SframeReceiver::new(suite);
    receiver.add_base_key(kid, 0, &base).unwrap();
    for f in frames {
        let (fkid, ctr, metadata, plaintext, frame) = frame_fields(f);
        assert_eq!(fkid, kid, "{what}");
        assert_eq!(spec.encrypt(&base, kid, ctr, &metadata, &plaintext), frame, "{what}: spec frame {ctr}");
        assert_eq!(spec.decrypt(&base, &frame, &metadata).unwrap(), (kid, ctr, plaintext.clone()), "{what}");
        // The library's sender reaches the counter by sending (any plaintext).
        while sender.next_counter() != Some(ctr) {
            sender.encrypt(b"", b"filler", &mut [0u8; 64]).unwrap();
        }
        let mut out = vec![0u8; sender.ciphertext_len(plaintext.len())];
        let n = sender.encrypt(&metadata, &plaintext, &mut out).unwrap();
        assert_eq!(out[..n], frame[..], "{what}: library frame {ctr}");
        let mut pt = vec![0u8; frame.len()];
        let got = receiver.decrypt(&metadata, &frame, &mut pt).unwrap();
        assert_eq!((got.kid, got.ctr, &pt[..got.len]), (kid, ctr, &plaintext[..]), "{what}");
    }
}

fn check_sframe_ratchet(case: &Value, what: &str) {
    let (spec, suite) = suite_of(&case["cipher_suite"]);
    let bits = u8::try_from(case["ratchet_bits"].as_u64().unwrap()).unwrap();
    let steps = case["steps"].as_array().unwrap();
    let base0 = bytes(&steps[0]["base_key"]);
    let kid0 = steps[0]["kid"].as_u64().unwrap();
    assert_eq!(kid0 & ((1 << bits) - 1), 0, "{what}: step 0's KID has step bits 0");
    let mut base = base0.clone();
    let mut sender = media::SframeSender::new(suite, kid0, bits, &base0).unwrap();
    for (i, s) in steps.iter().enumerate() {
        if i > 0 {
            base = spec.ratchet(&base);
            sender.ratchet().unwrap();
        }
        let kid = (kid0 >> bits << bits) | (i as u64 & ((1 << bits) - 1));
        assert_eq!(s["kid"].as_u64(), Some(kid), "{what}: KID of step {i}");
        assert_eq!(sender.kid(), kid, "{what}: library KID of step {i}");
        assert_eq!(hex(&base), text(&s["base_key"]), "{what}: base key of step {i}");
        assert_eq!(base.len(), if i == 0 { 32 } else { spec.nh }, "{what}");
        let (key, salt) = spec.key_and_salt(kid, &base);
        assert_eq!(hex(&key), text(&s["sframe_key"]), "{what}: step {i} key");
        assert_eq!(hex(&salt), text(&s["sframe_salt"]), "{what}: step {i} salt");
    }
    let (kid, ctr, metadata, plaintext, frame) = frame_fields(&case["frame"]);
    assert_eq!(kid, steps.last().unwrap()["kid"].as_u64().unwrap(), "{what}");
    assert_eq!(spec.encrypt(&base, kid, ctr, &metadata, &plaintext), frame, "{what}: spec frame");
    let mut out = vec![0u8; sender.ciphertext_len(plaintext.len())];
    let n = sender.encrypt(&metadata, &plaintext, &mut out).unwrap();
    assert_eq!(out[..n], frame[..], "{what}: library frame after two ratchet steps");
    // A sender made from the step's base key directly gives the same frame.
    let mut direct = media::SframeSender::new(suite, kid, bits, &base).unwrap();
    let n = direct.encrypt(&metadata, &plaintext, &mut out).unwrap();
    assert_eq!(out[..n], frame[..], "{what}: library frame from the ratcheted base key");
    let mut receiver = media::SframeReceiver::new(suite);
    receiver.add_base_key(kid0, bits, &base0).unwrap();
    let mut pt = vec![0u8; frame.len()];
    let got = receiver.decrypt(&metadata, &frame, &mut pt).unwrap();
    assert_eq!(&pt[..got.len], &plaintext[..], "{what}: a receiver at step 0 ratchets");
}

fn check_group_keys(case: &Value, what: &str) {
    let (spec, suite) = suite_of(&case["cipher_suite"]);
    let call_id: [u8; 16] = bytes(&case["call_id"]).try_into().unwrap();
    let sender_id = u32_of(&case["sender"]);
    let draws = any_draws(&case["rng_draws"]);
    assert_eq!(draws.len(), 1, "{what}: one draw, the generation's base key");
    let chain = case["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 4, "{what}: steps 0 to 3");
    let mut base = draws[0].clone();
    for (i, s) in chain.iter().enumerate() {
        if i > 0 {
            base = spec.ratchet(&base);
        }
        let kid = spec_impl::group_kid(sender_id, 0, i as u8);
        assert_eq!(s["kid"].as_u64(), Some(kid), "{what}: KID of step {i}");
        assert_eq!(hex(&base), text(&s["base_key"]), "{what}: base key of step {i}");
        let message =
            spec_impl::MediaKeyMessage { call_id, suite: spec.id, kid, activate_at: 0, key: base.clone() };
        assert_eq!(hex(&message.encode()), text(&s["media_key_message"]), "{what}: message of step {i}");
        assert_eq!(spec_impl::MediaKeyMessage::decode(&message.encode()).unwrap(), message, "{what}");
        let lib = media::MediaKeyMessage::from_bytes(&message.encode()).unwrap();
        assert_eq!((lib.kid(), lib.sender(), lib.activate_at()), (kid, sender_id, 0), "{what}");
        assert_eq!(hex(&lib.to_bytes()), text(&s["media_key_message"]), "{what}: library re-encoding");
    }
    let (kid, ctr, metadata, plaintext, frame) = frame_fields(&case["frame"]);
    assert_eq!((kid, ctr), (spec_impl::group_kid(sender_id, 0, 3), 0), "{what}");
    assert_eq!(spec.encrypt(&base, kid, ctr, &metadata, &plaintext), frame, "{what}: spec frame at step 3");

    // The library: the sender's chain from the listed draw, and a receiver
    // holding step 0 that decrypts the frame at step 3.
    let mut rng = ListRng::new(&draws);
    let mut sender = media::GroupCallSender::new(call_id, suite, sender_id, &mut rng).unwrap();
    assert_eq!(hex(&sender.current_key().to_bytes()), text(&chain[0]["media_key_message"]), "{what}");
    for (i, s) in chain.iter().enumerate().skip(1) {
        // A join ratchets only a key that was used (§25.2): one frame first.
        let f = sender.sframe_sender(0).unwrap();
        let mut out = vec![0u8; f.ciphertext_len(0)];
        f.encrypt(b"", b"", &mut out).unwrap();
        match sender.member_joined(&mut rng).unwrap() {
            media::KeyDistribution::Joiner(m) => {
                assert_eq!(m.len(), 1, "{what}");
                assert_eq!(hex(&m[0].to_bytes()), text(&s["media_key_message"]), "{what}: library step {i}");
            }
            other => panic!("{what}: a join gave {other:?}"),
        }
    }
    assert_eq!(rng.draws_used(), 1, "{what}");
    let s = sender.sframe_sender(0).unwrap();
    let mut out = vec![0u8; s.ciphertext_len(plaintext.len())];
    let n = s.encrypt(&metadata, &plaintext, &mut out).unwrap();
    assert_eq!(out[..n], frame[..], "{what}: library frame at step 3");
    let mut receiver = media::GroupCallReceiver::new(call_id, suite);
    let first = media::MediaKeyMessage::from_bytes(&bytes(&chain[0]["media_key_message"])).unwrap();
    receiver.add_key(sender_id, &first).unwrap();
    let mut pt = vec![0u8; frame.len()];
    let got = receiver.decrypt(&metadata, &frame, &mut pt).unwrap();
    assert_eq!(&pt[..got.len], &plaintext[..], "{what}: a receiver at step 0 follows three steps");
}

fn check_media_reject(case: &Value, what: &str) -> String {
    let input = bytes(&case["input"]);
    let decoder = text(&case["decoder"]);
    let (lib, spec) = match decoder {
        "attachment_pointer" => (
            media::AttachmentPointer::from_bytes(&input).err(),
            spec_impl::AttachmentPointer::decode(&input).err(),
        ),
        "call_offer" => {
            (media::CallOffer::from_bytes(&input).err(), spec_impl::CallOffer::decode(&input).err())
        }
        "call_answer" => {
            (media::CallAnswer::from_bytes(&input).err(), spec_impl::CallAnswer::decode(&input).err())
        }
        "media_key_message" => (
            media::MediaKeyMessage::from_bytes(&input).err(),
            spec_impl::MediaKeyMessage::decode(&input).err(),
        ),
        "sframe_header" => {
            (media::SframeHeader::decode(&input).err(), spec_impl::sframe_header_decode(&input).err())
        }
        d => panic!("{what}: unknown decoder {d}"),
    };
    let expected = text(&case["error"]);
    assert_eq!(lib.map(|e| format!("{e:?}")).as_deref(), Some(expected), "{what}: library");
    assert_eq!(spec.map(|e| format!("{e:?}")).as_deref(), Some(expected), "{what}: spec");
    decoder.to_string()
}

#[test]
fn media() {
    let file = load("media.json");
    let mut count = 0;
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for case in cases(&file) {
        let what = &format!("{} ({})", text(&case["description"]), text(&case["kind"]));
        let kind = match text(&case["kind"]) {
            "call_keys" => {
                check_call_keys(case, what);
                "call_keys".to_string()
            }
            "attachment" => {
                check_attachment(case, what);
                "attachment".to_string()
            }
            "sframe" => {
                check_sframe(case, what);
                "sframe".to_string()
            }
            "sframe_ratchet" => {
                check_sframe_ratchet(case, what);
                "sframe_ratchet".to_string()
            }
            "group_keys" => {
                check_group_keys(case, what);
                "group_keys".to_string()
            }
            "reject" => format!("reject {}", check_media_reject(case, what)),
            k => panic!("{what}: unknown kind {k}"),
        };
        *kinds.entry(kind).or_default() += 1;
        count += 1;
    }
    let mut listed: Vec<_> = kinds.into_iter().collect();
    listed.sort();
    println!("media.json kinds: {listed:?}");
    finish("media.json", &file, count);
}

// ---------------------------------------------------------------------------
// Metadata vectors (SPEC.md §26-§27): metadata.json, through
// `chatcrypt::padding` / `chatcrypt::sealed` and through spec_impl.

use chatcrypt::{padding, sealed};

/// A padding policy object `{kind, param}`, for both implementations.
fn padding_policy_of(v: &Value) -> (spec_impl::PaddingPolicy, padding::PaddingPolicy) {
    let param = u16::try_from(u64_of(&v["param"])).expect("u16 param");
    match text(&v["kind"]) {
        "none" => {
            assert_eq!(param, 0);
            (spec_impl::PaddingPolicy::None, padding::PaddingPolicy::None)
        }
        "blocks" => (
            spec_impl::PaddingPolicy::Blocks(param),
            padding::PaddingPolicy::Blocks(std::num::NonZeroU16::new(param).expect("blocks ≥ 1")),
        ),
        "padme" => (spec_impl::PaddingPolicy::Padme(param), padding::PaddingPolicy::Padme { floor: param }),
        k => panic!("unknown padding kind {k}"),
    }
}

fn check_padding(case: &Value, what: &str) {
    let (spec, lib) = padding_policy_of(&case["policy"]);
    let content = bytes(&case["content"]);
    let padded = bytes(&case["padded"]);
    let n = content.len();
    assert_eq!(u64_of(&case["content_len"]) as usize, n, "{what}: content_len");
    assert_eq!(u64_of(&case["unpadded_len"]) as usize, n + 4, "{what}: unpadded_len");
    assert_eq!(u64_of(&case["padded_len"]) as usize, padded.len(), "{what}: padded_len");
    assert_eq!(bytes(&case["header"]), spec.header(), "{what}: header (spec)");
    assert_eq!(padded[..3], spec.header(), "{what}: the padded bytes start with the header");
    // Library.
    assert_eq!(lib.padded_len(n), Some(padded.len()), "{what}: library padded_len");
    assert_eq!(padding::pad(lib, &content, padded.len()).unwrap(), padded, "{what}: library pad");
    assert_eq!(
        padding::pad(lib, &content, padded.len() - 1),
        Err(chatcrypt::Error::TooLarge { len: padded.len(), max: padded.len() - 1 }),
        "{what}: library pad under a limit one byte short"
    );
    assert_eq!(padding::unpad(&padded).unwrap(), &content[..], "{what}: library unpad");
    // spec_impl.
    assert_eq!(spec.padded_len(n), padded.len(), "{what}: spec P(u)");
    assert_eq!(spec_impl::pad(spec, &content), padded, "{what}: spec pad");
    assert_eq!(spec_impl::unpad(&padded).unwrap(), (spec, content), "{what}: spec unpad");
}

fn check_padding_reject(case: &Value, what: &str) {
    let input = bytes(&case["input"]);
    let expected = text(&case["error"]);
    let lib = padding::unpad(&input).err().map(|e| format!("{e:?}"));
    let spec = spec_impl::unpad(&input).err().map(|e| format!("{e:?}"));
    assert_eq!(lib.as_deref(), Some(expected), "{what}: library");
    assert_eq!(spec.as_deref(), Some(expected), "{what}: spec");
}

fn check_sender_certificate(case: &Value, what: &str) {
    let server_seed = b32(&case["server_seed"]);
    let account_seed = b32(&case["account_seed"]);
    let identity_seed = b32(&case["identity_seed"]);
    let (serial, expires, device) =
        (u64_of(&case["serial"]), u64_of(&case["expires"]), u32_of(&case["device_id"]));
    let certificate = bytes(&case["certificate"]);
    // spec_impl: the keys from their seeds, the signed message, the encoding.
    let server_key = spec_impl::ed25519_public_of(&server_seed);
    let account_key = spec_impl::ed25519_public_of(&account_seed);
    let identity_key = spec_impl::ed25519_public_of(&identity_seed);
    assert_eq!(b32(&case["server_key"]), server_key, "{what}: server_key");
    assert_eq!(b32(&case["account_key"]), account_key, "{what}: account_key");
    assert_eq!(b32(&case["identity_key"]), identity_key, "{what}: identity_key");
    let spec = spec_impl::SenderCertificate::issue(
        &server_seed,
        serial,
        expires,
        &account_key,
        device,
        &identity_key,
    );
    let signed = [spec_impl::LABEL_SENDER_CERTIFICATE, &spec.body()].concat();
    assert_eq!(signed.len(), 149, "{what}: §27.1 signed message length");
    assert_eq!(bytes(&case["signed_message"]), signed, "{what}: signed_message");
    assert_eq!(spec.encode(), certificate, "{what}: spec certificate");
    assert_eq!(spec_impl::SenderCertificate::decode(&certificate).unwrap(), spec, "{what}: spec decode");
    assert!(
        spec_impl::verify_strict(&server_key, &signed, &certificate[118..].try_into().unwrap()),
        "{what}: SIG_S verifies strictly"
    );
    // Library.
    let server = sealed::ServerKeyPair::from_seed(&server_seed);
    assert_eq!(server.public_key().as_bytes(), &server_key, "{what}: library server key");
    let account = chatcrypt::AccountKeyPair::from_seed(&account_seed);
    let identity = chatcrypt::IdentityKeyPair::from_seed(&identity_seed);
    let cert = server.issue(
        serial,
        expires,
        account.public_key(),
        chatcrypt::DeviceId::new(device),
        identity.public_key(),
    );
    assert_eq!(cert.to_bytes().to_vec(), certificate, "{what}: library certificate");
    let decoded = sealed::SenderCertificate::from_bytes(&certificate).unwrap();
    assert_eq!(decoded, cert, "{what}: library decode");
    assert_eq!((decoded.serial(), decoded.expires(), decoded.device().get()), (serial, expires, device));
    assert_eq!(decoded.account_key().as_bytes(), &account_key);
    assert_eq!(decoded.identity().as_bytes(), &identity_key);
    assert_eq!(decoded.issuer().as_bytes(), &server_key);
}

/// A certificate policy `{roots, revoked, now}`: spec_impl's, and the
/// library's parts (its `CertificatePolicy` borrows them).
fn certificate_policy_of(v: &Value) -> (spec_impl::CertificatePolicy, Vec<sealed::ServerKey>, Vec<u64>, u64) {
    let roots: Vec<[u8; 32]> = v["roots"].as_array().expect("roots").iter().map(b32).collect();
    let revoked: Vec<u64> = v["revoked"].as_array().expect("revoked").iter().map(u64_of).collect();
    let now = u64_of(&v["now"]);
    let lib_roots = roots.iter().map(|r| sealed::ServerKey::from_bytes(r).expect("strict root")).collect();
    (spec_impl::CertificatePolicy { roots, revoked: revoked.clone(), now }, lib_roots, revoked, now)
}

fn check_certificate_validation(case: &Value, what: &str) {
    let certificate = bytes(&case["certificate"]);
    let (spec_policy, roots, revoked, now) = certificate_policy_of(&case["policy"]);
    let expected = text(&case["result"]);
    let show = |r: Result<(), String>| r.err().unwrap_or_else(|| "ok".to_string());
    let lib = sealed::SenderCertificate::from_bytes(&certificate)
        .unwrap()
        .validate(&sealed::CertificatePolicy::new(&roots, &revoked, now))
        .map_err(|e| format!("{e:?}"));
    let spec = spec_impl::SenderCertificate::decode(&certificate)
        .unwrap()
        .validate(&spec_policy)
        .map_err(|e| format!("{e:?}"));
    assert_eq!(show(lib), expected, "{what}: library");
    assert_eq!(show(spec), expected, "{what}: spec");
}

fn check_certificate_reject(case: &Value, what: &str) {
    let input = bytes(&case["input"]);
    let expected = text(&case["error"]);
    let lib = sealed::SenderCertificate::from_bytes(&input).err().map(|e| format!("{e:?}"));
    let spec = spec_impl::SenderCertificate::decode(&input).err().map(|e| format!("{e:?}"));
    assert_eq!(lib.as_deref(), Some(expected), "{what}: library");
    assert_eq!(spec.as_deref(), Some(expected), "{what}: spec");
}

/// Opens `envelope` as `recipient_seed` under `policy` in both
/// implementations; both must give the `view` (certificate and content).
fn check_view(recipient_seed: &[u8; 32], envelope: &[u8], policy: &Value, view: &Value, what: &str) {
    let (spec_policy, roots, revoked, now) = certificate_policy_of(policy);
    let recipient = chatcrypt::IdentityKeyPair::from_seed(recipient_seed);
    let opened = sealed::open(&recipient, envelope, &sealed::CertificatePolicy::new(&roots, &revoked, now))
        .unwrap_or_else(|e| panic!("{what}: library open: {e:?}"));
    assert_eq!(opened.certificate().to_bytes().to_vec(), bytes(&view["certificate"]), "{what}: library view");
    assert_eq!(opened.content(), &bytes(&view["content"])[..], "{what}: library view content");
    let spec = spec_impl::open(&Identity::from_seed(recipient_seed), envelope, &spec_policy)
        .unwrap_or_else(|e| panic!("{what}: spec open: {e:?}"));
    assert_eq!(spec.certificate.encode(), bytes(&view["certificate"]), "{what}: spec view");
    assert_eq!(spec.content, bytes(&view["content"]), "{what}: spec view content");
}

/// The sender, its certificate, the content, the padding and `M` of a
/// sealing case, checked for consistency.
struct SealInputs {
    sender_seed: [u8; 32],
    certificate: Vec<u8>,
    content: Vec<u8>,
    padding: (spec_impl::PaddingPolicy, padding::PaddingPolicy),
    draws: Vec<Vec<u8>>,
    m: [u8; 32],
}

fn seal_inputs(case: &Value, what: &str) -> SealInputs {
    let sender_seed = b32(&case["sender_identity_seed"]);
    assert_eq!(
        b32(&case["sender_identity_key"]),
        Identity::from_seed(&sender_seed).public,
        "{what}: sender_identity_key"
    );
    let draws = any_draws(&case["rng_draws"]);
    assert_eq!(draws.len(), 1, "{what}: one draw, M (§27.2 step 1)");
    let m = b32(&case["m"]);
    assert_eq!(draws[0], m, "{what}: the draw is M");
    SealInputs {
        sender_seed,
        certificate: bytes(&case["certificate"]),
        content: bytes(&case["content"]),
        padding: padding_policy_of(&case["padding"]),
        draws,
        m,
    }
}

/// Checks `e`, `k`, `ephemeral` and `q` of a case against spec_impl's sealing.
fn check_seal_intermediates(case: &Value, spec: &spec_impl::Sealed, inputs: &SealInputs, what: &str) {
    assert_eq!(b32(&case["e"]), spec.e, "{what}: e");
    assert_eq!(b32(&case["k"]), spec.k, "{what}: K");
    assert_eq!(b32(&case["ephemeral"]), spec.ephemeral, "{what}: E");
    assert_eq!(x25519_base(&spec.e), spec.ephemeral, "{what}: E = X25519_BASE(e)");
    let q = bytes(&case["q"]);
    assert_eq!(q, spec.q, "{what}: Q");
    assert_eq!(q[..182], inputs.certificate[..], "{what}: Q starts with the certificate");
    assert_eq!(
        q[182..],
        spec_impl::pad(inputs.padding.0, &inputs.content)[..],
        "{what}: then the padded content"
    );
}

fn check_sealed(case: &Value, what: &str) {
    let inputs = seal_inputs(case, what);
    let recipient_seed = b32(&case["recipient_identity_seed"]);
    let recipient = Identity::from_seed(&recipient_seed);
    assert_eq!(b32(&case["recipient_identity_key"]), recipient.public, "{what}: recipient_identity_key");
    let envelope = bytes(&case["envelope"]);
    assert_eq!(u64_of(&case["envelope_len"]) as usize, envelope.len(), "{what}: envelope_len");
    // spec_impl: every intermediate value and the envelope.
    let spec = spec_impl::seal(
        &Identity::from_seed(&inputs.sender_seed),
        &inputs.certificate,
        &[recipient.public],
        &inputs.content,
        inputs.padding.0,
        &inputs.m,
    )
    .unwrap();
    check_seal_intermediates(case, &spec, &inputs, what);
    assert_eq!(b32(&case["c"]), spec.parts[0].c, "{what}: C");
    assert_eq!(bytes(&case["at"]), spec.parts[0].at, "{what}: AT");
    assert_eq!(spec.wire(), envelope, "{what}: spec envelope");
    assert_eq!(envelope.len(), 82 + 182 + spec_impl::pad(inputs.padding.0, &inputs.content).len() + 16);
    // Library, with M from a scripted RNG.
    let sender = chatcrypt::IdentityKeyPair::from_seed(&inputs.sender_seed);
    let cert = sealed::SenderCertificate::from_bytes(&inputs.certificate).unwrap();
    let lib_recipient = chatcrypt::IdentityKeyPair::from_seed(&recipient_seed);
    let mut rng = ListRng::new(&inputs.draws);
    let lib =
        sealed::seal(&sender, &cert, lib_recipient.public_key(), &inputs.content, inputs.padding.1, &mut rng)
            .unwrap();
    assert_eq!(rng.draws_used(), 1, "{what}: library draws");
    assert_eq!(lib, envelope, "{what}: library envelope");
    // The recipient's view.
    check_view(&recipient_seed, &envelope, &case["policy"], &case["view"], what);
    assert_eq!(bytes(&case["view"]["content"]), inputs.content, "{what}: the view is the content");
}

fn check_sealed_multi(case: &Value, what: &str) {
    let inputs = seal_inputs(case, what);
    let seeds: Vec<[u8; 32]> =
        case["recipient_identity_seeds"].as_array().expect("seeds").iter().map(b32).collect();
    let keys: Vec<[u8; 32]> = seeds.iter().map(|s| Identity::from_seed(s).public).collect();
    let envelope = bytes(&case["envelope"]);
    assert_eq!(u64_of(&case["envelope_len"]) as usize, envelope.len(), "{what}: envelope_len");
    // spec_impl.
    let spec = spec_impl::seal(
        &Identity::from_seed(&inputs.sender_seed),
        &inputs.certificate,
        &keys,
        &inputs.content,
        inputs.padding.0,
        &inputs.m,
    )
    .unwrap();
    check_seal_intermediates(case, &spec, &inputs, what);
    let entries = case["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), seeds.len(), "{what}: one entry per recipient");
    for (entry, part) in entries.iter().zip(&spec.parts) {
        assert_eq!(b32(&entry["recipient_identity_key"]), part.recipient, "{what}: R_i (sorted)");
        assert_eq!(b32(&entry["c"]), part.c, "{what}: C_i");
        assert_eq!(bytes(&entry["at"]), part.at, "{what}: AT_i");
    }
    assert_eq!(spec.multi_envelope(), envelope, "{what}: spec envelope");
    assert_eq!(envelope.len(), 36 + 80 * seeds.len() + spec.payload.len(), "{what}: 80 bytes per recipient");
    // Library.
    let sender = chatcrypt::IdentityKeyPair::from_seed(&inputs.sender_seed);
    let cert = sealed::SenderCertificate::from_bytes(&inputs.certificate).unwrap();
    let lib_keys: Vec<chatcrypt::IdentityKey> =
        seeds.iter().map(|s| chatcrypt::IdentityKeyPair::from_seed(s).public_key().clone()).collect();
    let mut rng = ListRng::new(&inputs.draws);
    let lib =
        sealed::seal_multi(&sender, &cert, &lib_keys, &inputs.content, inputs.padding.1, &mut rng).unwrap();
    assert_eq!(rng.draws_used(), 1, "{what}: library draws");
    assert_eq!(lib, envelope, "{what}: library envelope");
    // The server's split, both ways.
    let split = case["split"].as_array().expect("split");
    let spec_split = spec_impl::MultiEnvelope::decode(&envelope).unwrap().split();
    let lib_split = sealed::MultiRecipientEnvelope::from_bytes(&envelope).unwrap();
    assert_eq!(lib_split.recipient_count(), split.len(), "{what}: library recipient count");
    assert_eq!(spec_split.len(), split.len(), "{what}: spec recipient count");
    for (i, ((s, (spec_key, spec_env)), (lib_key, lib_env))) in
        split.iter().zip(&spec_split).zip(lib_split.envelopes()).enumerate()
    {
        let key = b32(&s["recipient_identity_key"]);
        let env = bytes(&s["envelope"]);
        assert_eq!((spec_key, spec_env), (&key, &env), "{what}: spec split {i}");
        assert_eq!((lib_key.as_bytes(), &lib_env), (&key, &env), "{what}: library split {i}");
        assert_eq!(env, spec.envelope(i), "{what}: split {i} is the single form of part {i}");
    }
    // Every recipient's view.
    let views = case["views"].as_array().expect("views");
    assert_eq!(views.len(), split.len(), "{what}: one view per recipient");
    for (i, (s, view)) in split.iter().zip(views).enumerate() {
        let seed = b32(&view["recipient_identity_seed"]);
        assert_eq!(
            Identity::from_seed(&seed).public,
            b32(&s["recipient_identity_key"]),
            "{what}: view {i}'s recipient"
        );
        check_view(&seed, &bytes(&s["envelope"]), &case["policy"], view, &format!("{what}, recipient {i}"));
        assert_eq!(bytes(&view["content"]), inputs.content, "{what}: view {i} is the content");
    }
}

fn check_sealed_reject(case: &Value, what: &str) -> String {
    let envelope = bytes(&case["envelope"]);
    let expected = text(&case["error"]);
    let operation = text(&case["operation"]);
    let (lib, spec) = match operation {
        "open" => {
            let seed = b32(&case["recipient_identity_seed"]);
            let (spec_policy, roots, revoked, now) = certificate_policy_of(&case["policy"]);
            let recipient = chatcrypt::IdentityKeyPair::from_seed(&seed);
            (
                sealed::open(&recipient, &envelope, &sealed::CertificatePolicy::new(&roots, &revoked, now))
                    .err(),
                spec_impl::open(&Identity::from_seed(&seed), &envelope, &spec_policy).err(),
            )
        }
        "split" => (
            sealed::MultiRecipientEnvelope::from_bytes(&envelope).err(),
            spec_impl::MultiEnvelope::decode(&envelope).err(),
        ),
        o => panic!("{what}: unknown operation {o}"),
    };
    assert_eq!(lib.map(|e| format!("{e:?}")).as_deref(), Some(expected), "{what}: library");
    assert_eq!(spec.map(|e| format!("{e:?}")).as_deref(), Some(expected), "{what}: spec");
    operation.to_string()
}

#[test]
fn metadata() {
    let file = load("metadata.json");
    let mut count = 0;
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for case in cases(&file) {
        let what = &format!("{} ({})", text(&case["description"]), text(&case["kind"]));
        let kind = match text(&case["kind"]) {
            "padding" => {
                check_padding(case, what);
                "padding".to_string()
            }
            "padding_reject" => {
                check_padding_reject(case, what);
                "padding_reject".to_string()
            }
            "sender_certificate" => {
                check_sender_certificate(case, what);
                "sender_certificate".to_string()
            }
            "certificate_validation" => {
                check_certificate_validation(case, what);
                "certificate_validation".to_string()
            }
            "certificate_reject" => {
                check_certificate_reject(case, what);
                "certificate_reject".to_string()
            }
            "sealed" => {
                check_sealed(case, what);
                "sealed".to_string()
            }
            "sealed_multi" => {
                check_sealed_multi(case, what);
                "sealed_multi".to_string()
            }
            "sealed_reject" => format!("sealed_reject {}", check_sealed_reject(case, what)),
            k => panic!("{what}: unknown kind {k}"),
        };
        *kinds.entry(kind).or_default() += 1;
        count += 1;
    }
    let mut listed: Vec<_> = kinds.into_iter().collect();
    listed.sort();
    println!("metadata.json kinds: {listed:?}");
    finish("metadata.json", &file, count);
}
