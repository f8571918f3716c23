//! Published test vectors for the primitives, run through the crate's own
//! wrappers (`crate::primitives` and `crate::identity`), never through the
//! underlying crates directly, so the checks cover exactly the code paths the
//! protocol uses, including the extra rules the wrappers add (contributory
//! X25519, strict Ed25519 key parsing and verification).
//!
//! The data files live in `test-vectors/primitives/`; `test-vectors/README.md`
//! records where each came from and under which licence. Every test counts
//! the cases it ran and asserts that the count equals the number in the file,
//! so a parsing slip that silently skips cases makes the test fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

extern crate std;

use alloc::{collections::BTreeMap, collections::BTreeSet, vec, vec::Vec};
use std::println;

use serde_json::Value;
use x25519_dalek::StaticSecret;

use crate::{
    error::DecodeError,
    identity::{IdentityKey, IdentityKeyPair},
    primitives::{
        aead_open, aead_seal, ed25519_public, ed25519_verify, hkdf, hkdf_expand, hmac_sha256, x25519,
        x25519_public,
    },
    Error,
};

const WP_X25519: &str = include_str!("../test-vectors/primitives/x25519_test.json");
const WP_ED25519: &str = include_str!("../test-vectors/primitives/ed25519_test.json");
const WP_AES_GCM: &str = include_str!("../test-vectors/primitives/aes_gcm_test.json");
const WP_HKDF: &str = include_str!("../test-vectors/primitives/hkdf_sha256_test.json");
const WP_HMAC: &str = include_str!("../test-vectors/primitives/hmac_sha256_test.json");
const RFC7748: &str = include_str!("../test-vectors/primitives/x25519-rfc7748.txt");
const RFC5869: &str = include_str!("../test-vectors/primitives/rfc-5869-HKDF-SHA256.txt");
const RFC4231: &str = include_str!("../test-vectors/primitives/rfc-4231-sha256.txt");
const RFC8032_SIGN: &str = include_str!("../test-vectors/primitives/ed25519-sign.input.first3");

/// The X25519 base point, u = 9.
const BASEPOINT: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 9;
    b
};

// ---------------------------------------------------------------------------
// Parsing helpers
// ---------------------------------------------------------------------------

fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not a hex digit: {:?}", c as char),
    }
}

/// Decodes a hex string (no prefix, no separators, even length).
fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex string: {s:?}");
    s.as_bytes().chunks(2).map(|p| (nibble(p[0]) << 4) | nibble(p[1])).collect()
}

/// Decodes a hex string that must be exactly `N` bytes long.
fn hex_array<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().unwrap_or_else(|v: Vec<u8>| panic!("expected {N} bytes, got {}: {s:?}", v.len()))
}

/// A string field of a JSON object.
fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("missing string field {key:?} in {v}"))
}

/// An unsigned integer field of a JSON object.
fn number(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("missing integer field {key:?} in {v}"))
}

/// A hex field of a JSON object, decoded.
fn bytes(v: &Value, key: &str) -> Vec<u8> {
    hex(text(v, key))
}

/// The `result` of a Wycheproof test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Valid,
    Acceptable,
    Invalid,
}

/// A parsed Wycheproof file.
struct Wycheproof {
    json: Value,
}

impl Wycheproof {
    fn load(src: &str, algorithm: &str, schema: &str) -> Self {
        let json: Value = serde_json::from_str(src).expect("Wycheproof file is valid JSON");
        assert_eq!(text(&json, "algorithm"), algorithm);
        assert_eq!(text(&json, "schema"), schema);
        Wycheproof { json }
    }

    fn number_of_tests(&self) -> usize {
        usize::try_from(number(&self.json, "numberOfTests")).unwrap()
    }

    /// Every `(group, test)` pair in file order. Asserts that the file holds
    /// exactly `numberOfTests` tests with distinct `tcId`s.
    fn cases(&self) -> Vec<(&Value, &Value)> {
        let groups = self.json["testGroups"].as_array().expect("testGroups array");
        let mut out = Vec::new();
        for group in groups {
            for test in group["tests"].as_array().expect("tests array") {
                out.push((group, test));
            }
        }
        let ids: BTreeSet<u64> = out.iter().map(|(_, t)| tc_id(t)).collect();
        assert_eq!(out.len(), self.number_of_tests(), "test count differs from numberOfTests");
        assert_eq!(ids.len(), out.len(), "duplicate tcId");
        out
    }
}

fn tc_id(test: &Value) -> u64 {
    number(test, "tcId")
}

fn expected(test: &Value) -> Expected {
    match text(test, "result") {
        "valid" => Expected::Valid,
        "acceptable" => Expected::Acceptable,
        "invalid" => Expected::Invalid,
        other => panic!("tcId {}: unknown result {other:?}", tc_id(test)),
    }
}

fn has_flag(test: &Value, flag: &str) -> bool {
    test["flags"].as_array().expect("flags array").iter().any(|f| f.as_str() == Some(flag))
}

/// Records of a CAVP-style `KEY = value` text file. `#` lines and blank lines
/// are skipped; a new record starts at each line whose key is `first`.
fn kv_records<'a>(src: &'a str, first: &str) -> Vec<BTreeMap<&'a str, &'a str>> {
    let mut out: Vec<BTreeMap<&str, &str>> = Vec::new();
    for line in src.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not a KEY = value line: {line:?}"));
        let (key, value) = (key.trim(), value.trim());
        if key == first {
            out.push(BTreeMap::new());
        }
        let record = out.last_mut().unwrap_or_else(|| panic!("{key:?} before the first {first:?}"));
        assert!(record.insert(key, value).is_none(), "duplicate {key:?} in one record");
    }
    out
}

fn field<'a>(record: &BTreeMap<&str, &'a str>, key: &str) -> &'a str {
    record.get(key).copied().unwrap_or_else(|| panic!("record without {key:?}: {record:?}"))
}

// ---------------------------------------------------------------------------
// X25519
// ---------------------------------------------------------------------------

#[test]
fn wycheproof_x25519() {
    let file = Wycheproof::load(WP_X25519, "XDH", "xdh_comp_schema_v1.json");
    let (mut valid, mut acceptable, mut non_contributory, mut matched) = (0usize, 0usize, 0usize, 0usize);

    for (group, test) in file.cases() {
        assert_eq!(text(group, "curve"), "curve25519");
        let id = tc_id(test);
        let secret = StaticSecret::from(hex_array::<32>(text(test, "private")));
        let public = hex_array::<32>(text(test, "public"));
        let shared = hex_array::<32>(text(test, "shared"));
        match expected(test) {
            Expected::Valid => valid += 1,
            Expected::Acceptable => acceptable += 1,
            Expected::Invalid => panic!("tcId {id}: this file is not expected to hold invalid cases"),
        }
        let got = x25519(&secret, &public);
        if shared == [0u8; 32] {
            assert_eq!(got.err(), Some(Error::NonContributory), "tcId {id}: all-zero output must be refused");
            non_contributory += 1;
        } else {
            let got = got.unwrap_or_else(|e| panic!("tcId {id}: {e:?}"));
            assert_eq!(*got, shared, "tcId {id}: shared secret");
            matched += 1;
        }
    }

    let total = file.number_of_tests();
    println!(
        "wycheproof x25519_test.json: {total} cases ({valid} valid, {acceptable} acceptable; \
         {matched} shared secrets matched, {non_contributory} all-zero outputs refused as non-contributory)"
    );
    assert_eq!(valid + acceptable, total);
    assert_eq!(matched + non_contributory, total);
    assert_eq!((total, valid, acceptable, non_contributory), (518, 264, 254, 31));
}

#[test]
fn rfc7748_x25519() {
    let records = kv_records(RFC7748, "COUNT");
    for r in &records {
        let scalar = hex_array::<32>(field(r, "INPUT_SCALAR"));
        let u = hex_array::<32>(field(r, "INPUT_U"));
        let out = hex_array::<32>(field(r, "OUTPUT_U"));
        let secret = StaticSecret::from(scalar);
        assert_eq!(*x25519(&secret, &u).unwrap(), out, "RFC 7748 COUNT {}", field(r, "COUNT"));
        // The public-key wrapper is scalar multiplication of the base point.
        assert_eq!(x25519_public(&secret), *x25519(&secret, &BASEPOINT).unwrap());
    }
    println!("rfc x25519-rfc7748.txt: {} cases (RFC 7748 section 5.2)", records.len());
    assert_eq!(records.len(), 3);
}

// ---------------------------------------------------------------------------
// Ed25519
// ---------------------------------------------------------------------------

/// What the library did with one Ed25519 test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EdOutcome {
    /// The key parsed and the signature verified.
    Accepted,
    /// The signature is not 64 bytes, so it cannot even be passed to
    /// `ed25519_verify` (which takes `&[u8; 64]`).
    RejectedByType,
    /// `ed25519_public` refused the public key.
    KeyRejected,
    /// The key parsed but `ed25519_verify` refused the signature.
    SignatureRejected,
}

/// Wycheproof cases marked `valid` that the library's stricter policy
/// (canonical keys, no small-order keys, `verify_strict`) rejects, with the
/// outcome and the reason. The test asserts that exactly these valid cases
/// are rejected, so adding or dropping a rejection fails it.
///
/// Empty for the pinned file: none of its valid cases uses a small-order or
/// non-canonically encoded key, a small-order `R`, or a non-canonical `S`.
const ED25519_VALID_BUT_REJECTED: &[(u64, EdOutcome, &str)] = &[];

fn ed25519_outcome(pk: &[u8; 32], msg: &[u8], sig: &[u8]) -> EdOutcome {
    let Ok(sig) = <&[u8; 64]>::try_from(sig) else {
        return EdOutcome::RejectedByType;
    };
    let key = match ed25519_public(pk) {
        Ok(key) => key,
        Err(e) => {
            assert_eq!(e, DecodeError::InvalidPublicKey);
            return EdOutcome::KeyRejected;
        }
    };
    match ed25519_verify(&key, msg, sig) {
        Ok(()) => EdOutcome::Accepted,
        Err(e) => {
            assert_eq!(e, Error::BadSignature);
            EdOutcome::SignatureRejected
        }
    }
}

#[test]
fn wycheproof_ed25519() {
    let file = Wycheproof::load(WP_ED25519, "EDDSA", "eddsa_verify_schema_v1.json");
    let mut valid_accepted = 0usize;
    let mut valid_rejected: Vec<(u64, EdOutcome)> = Vec::new();
    let mut invalid: BTreeMap<&str, usize> = BTreeMap::new();

    for (group, test) in file.cases() {
        let id = tc_id(test);
        let key = &group["publicKey"];
        assert_eq!(text(key, "curve"), "edwards25519");
        let pk = hex_array::<32>(text(key, "pk"));
        let outcome = ed25519_outcome(&pk, &bytes(test, "msg"), &bytes(test, "sig"));
        match expected(test) {
            Expected::Valid => {
                if outcome == EdOutcome::Accepted {
                    valid_accepted += 1;
                } else {
                    valid_rejected.push((id, outcome));
                }
            }
            Expected::Invalid => {
                assert_ne!(outcome, EdOutcome::Accepted, "tcId {id} ({}) accepted", text(test, "comment"));
                let kind = match outcome {
                    EdOutcome::RejectedByType => "signature length != 64",
                    EdOutcome::KeyRejected => "key rejected",
                    EdOutcome::SignatureRejected => "signature rejected",
                    EdOutcome::Accepted => unreachable!(),
                };
                *invalid.entry(kind).or_default() += 1;
            }
            Expected::Acceptable => panic!("tcId {id}: this file is not expected to hold acceptable cases"),
        }
    }

    let expected_rejected: Vec<(u64, EdOutcome)> =
        ED25519_VALID_BUT_REJECTED.iter().map(|&(id, outcome, _)| (id, outcome)).collect();
    assert_eq!(valid_rejected, expected_rejected, "valid cases rejected by the strict policy");

    let total = file.number_of_tests();
    let invalid_total: usize = invalid.values().sum();
    println!(
        "wycheproof ed25519_test.json: {total} cases ({} valid: {valid_accepted} verified, {} rejected by \
         policy; {invalid_total} invalid, all rejected: {invalid:?})",
        valid_accepted + valid_rejected.len(),
        valid_rejected.len(),
    );
    assert_eq!(valid_accepted + valid_rejected.len() + invalid_total, total);
    assert_eq!((total, valid_accepted + valid_rejected.len(), invalid_total), (151, 88, 63));
}

/// One line of SUPERCOP `sign.input`: `sk||pk : pk : msg : sig||msg :`.
struct SignLine {
    seed: [u8; 32],
    public: [u8; 32],
    msg: Vec<u8>,
    sig: [u8; 64],
}

fn rfc8032_lines() -> Vec<SignLine> {
    let lines: Vec<SignLine> = RFC8032_SIGN
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            assert_eq!(f.len(), 5, "sign.input line with {} fields", f.len());
            assert!(f[4].is_empty());
            let (sk, sk_pk) = f[0].split_at(64);
            assert_eq!(sk_pk, f[1], "pk half of sk||pk");
            let msg = hex(f[2]);
            let (sig, sig_msg) = f[3].split_at(128);
            assert_eq!(hex(sig_msg), msg, "msg half of sig||msg");
            SignLine { seed: hex_array(sk), public: hex_array(f[1]), msg, sig: hex_array(sig) }
        })
        .collect();
    assert_eq!(lines.len(), 3);
    lines
}

#[test]
fn rfc8032_ed25519_sign() {
    let lines = rfc8032_lines();
    for (i, l) in lines.iter().enumerate() {
        let n = i + 1;
        let identity = IdentityKeyPair::from_seed(&l.seed);
        assert_eq!(identity.public_key().to_bytes(), l.public, "RFC 8032 TEST {n}: public key");
        assert_eq!(*identity.seed(), l.seed);
        let sig = identity.sign(&l.msg);
        assert_eq!(sig, l.sig, "RFC 8032 TEST {n}: signature");

        let key = ed25519_public(&l.public).unwrap();
        ed25519_verify(&key, &l.msg, &sig).unwrap();
        let parsed = IdentityKey::from_bytes(&l.public).unwrap();
        assert_eq!(&parsed, identity.public_key());
        ed25519_verify(&ed25519_public(parsed.as_bytes()).unwrap(), &l.msg, &sig).unwrap();

        // A changed message or signature must not verify.
        let mut other = l.msg.clone();
        other.push(0);
        assert_eq!(ed25519_verify(&key, &other, &sig), Err(Error::BadSignature));
        let mut bad = sig;
        bad[0] ^= 1;
        assert_eq!(ed25519_verify(&key, &l.msg, &bad), Err(Error::BadSignature));
    }
    println!("rfc ed25519-sign.input.first3: {} cases (RFC 8032 section 7.1 TEST 1-3)", lines.len());
}

#[test]
fn rfc8032_identity_x25519_map() {
    let lines = rfc8032_lines();
    for (i, l) in lines.iter().enumerate() {
        let n = i + 1;
        let identity = IdentityKeyPair::from_seed(&l.seed);
        // The X25519 form of the public key (Montgomery u of the Ed25519
        // point) must be the X25519 public key of the derived DH secret.
        let from_secret = x25519(identity.dh_secret(), &BASEPOINT).unwrap();
        assert_eq!(identity.public_key().x25519_bytes(), &*from_secret, "RFC 8032 TEST {n}");
        assert_eq!(x25519_public(identity.dh_secret()), *from_secret);
        // A peer derives the same X25519 key from the 32 public bytes alone.
        let parsed = IdentityKey::from_bytes(&l.public).unwrap();
        assert_eq!(parsed.x25519_bytes(), &*from_secret, "RFC 8032 TEST {n}: from public bytes");
    }
    println!(
        "rfc ed25519-sign.input.first3: {} identity keys, Ed25519 -> X25519 map consistent",
        lines.len()
    );
}

// ---------------------------------------------------------------------------
// HKDF-SHA256
// ---------------------------------------------------------------------------

#[test]
fn wycheproof_hkdf_sha256() {
    let file = Wycheproof::load(WP_HKDF, "HKDF-SHA-256", "hkdf_test_schema_v1.json");
    let (mut valid, mut invalid, mut empty_salt) = (0usize, 0usize, 0usize);

    for (group, test) in file.cases() {
        let id = tc_id(test);
        let ikm = bytes(test, "ikm");
        let salt = bytes(test, "salt");
        let info = bytes(test, "info");
        let size = usize::try_from(number(test, "size")).unwrap();
        assert_eq!(number(group, "keySize"), u64::try_from(ikm.len() * 8).unwrap(), "tcId {id}: keySize");
        if salt.is_empty() {
            // HKDF treats an empty salt as HashLen zero bytes; the wrapper
            // receives the empty string, as the file gives it.
            empty_salt += 1;
        }
        let mut out = vec![0u8; size];
        let result = hkdf(&salt, &ikm, &info, &mut out);
        match expected(test) {
            Expected::Valid => {
                result.unwrap_or_else(|e| panic!("tcId {id}: {e:?}"));
                assert_eq!(out, bytes(test, "okm"), "tcId {id}: okm");
                valid += 1;
            }
            Expected::Invalid => {
                assert!(has_flag(test, "SizeTooLarge"), "tcId {id}: unexpected kind of invalid case");
                assert!(
                    matches!(result, Err(Error::TooLarge { len, max: 8160 }) if len == size),
                    "tcId {id}: size {size} must be refused, got {result:?}"
                );
                invalid += 1;
            }
            Expected::Acceptable => panic!("tcId {id}: this file is not expected to hold acceptable cases"),
        }
    }

    let total = file.number_of_tests();
    println!(
        "wycheproof hkdf_sha256_test.json: {total} cases ({valid} valid, {empty_salt} of them with empty salt; \
         {invalid} invalid SizeTooLarge refused)"
    );
    assert_eq!(valid + invalid, total);
    assert_eq!((total, valid, invalid, empty_salt), (86, 83, 3, 23));
}

#[test]
fn rfc5869_hkdf_sha256() {
    let records = kv_records(RFC5869, "COUNT");
    for r in &records {
        let count = field(r, "COUNT");
        assert_eq!(field(r, "Hash"), "SHA-256");
        let ikm = hex(field(r, "IKM"));
        let salt = hex(field(r, "salt"));
        let info = hex(field(r, "info"));
        let len: usize = field(r, "L").parse().unwrap();
        let prk = hex(field(r, "PRK"));
        let okm = hex(field(r, "OKM"));
        assert_eq!(okm.len(), len);

        let mut out = vec![0u8; len];
        hkdf(&salt, &ikm, &info, &mut out).unwrap();
        assert_eq!(out, okm, "RFC 5869 COUNT {count}: hkdf");

        let mut out = vec![0u8; len];
        hkdf_expand(&prk, &info, &mut out).unwrap();
        assert_eq!(out, okm, "RFC 5869 COUNT {count}: hkdf_expand from PRK");

        // Extract is HMAC(salt, IKM); an empty salt is the same HMAC key as
        // HashLen zero bytes.
        assert_eq!(hmac_sha256(&salt, &ikm).as_slice(), prk.as_slice(), "RFC 5869 COUNT {count}: PRK");
        if salt.is_empty() {
            let mut zeros_salt = vec![0u8; len];
            hkdf(&[0u8; 32], &ikm, &info, &mut zeros_salt).unwrap();
            assert_eq!(zeros_salt, okm, "RFC 5869 COUNT {count}: empty salt == 32 zero bytes");
        }
    }
    println!(
        "rfc rfc-5869-HKDF-SHA256.txt: {} cases (RFC 5869 A.1-A.3, OKM via hkdf and hkdf_expand)",
        records.len()
    );
    assert_eq!(records.len(), 3);
}

// ---------------------------------------------------------------------------
// HMAC-SHA256
// ---------------------------------------------------------------------------

#[test]
fn wycheproof_hmac_sha256() {
    let file = Wycheproof::load(WP_HMAC, "HMACSHA256", "mac_test_schema_v1.json");
    let (mut valid, mut invalid, mut truncated) = (0usize, 0usize, 0usize);

    for (group, test) in file.cases() {
        let id = tc_id(test);
        let key = bytes(test, "key");
        let msg = bytes(test, "msg");
        let tag = bytes(test, "tag");
        let tag_bits = usize::try_from(number(group, "tagSize")).unwrap();
        assert_eq!(number(group, "keySize"), u64::try_from(key.len() * 8).unwrap(), "tcId {id}: keySize");
        let full = hmac_sha256(&key, &msg);
        // The expected tag is the first tagSize bits of the HMAC output.
        let ours = full.get(..tag_bits / 8).expect("tagSize at most 256");
        match expected(test) {
            Expected::Valid => {
                assert_eq!(tag.len() * 8, tag_bits, "tcId {id}: tag length");
                assert_eq!(ours, tag.as_slice(), "tcId {id}: tag");
                valid += 1;
                if tag_bits < 256 {
                    truncated += 1;
                }
            }
            Expected::Invalid => {
                assert_ne!(
                    ours,
                    tag.as_slice(),
                    "tcId {id} ({}): invalid tag matched",
                    text(test, "comment")
                );
                invalid += 1;
            }
            Expected::Acceptable => panic!("tcId {id}: this file is not expected to hold acceptable cases"),
        }
    }

    let total = file.number_of_tests();
    println!(
        "wycheproof hmac_sha256_test.json: {total} cases ({valid} valid matched, {truncated} of them on a \
         128-bit truncated tag; {invalid} invalid, none matched)"
    );
    assert_eq!(valid + invalid, total);
    assert_eq!((total, valid, invalid), (174, 66, 108));
}

#[test]
fn rfc4231_hmac_sha256() {
    let records = kv_records(RFC4231, "Len");
    for r in &records {
        let key = hex(field(r, "Key"));
        let msg = hex(field(r, "Msg"));
        let bits: usize = field(r, "Len").parse().unwrap();
        assert_eq!(msg.len() * 8, bits);
        let md = hex_array::<32>(field(r, "MD"));
        assert_eq!(hmac_sha256(&key, &msg), md, "RFC 4231 case with key {}", field(r, "Key"));
    }
    println!("rfc rfc-4231-sha256.txt: {} cases (RFC 4231 cases 1-4, 6, 7)", records.len());
    assert_eq!(records.len(), 6);
}

// ---------------------------------------------------------------------------
// AES-256-GCM
// ---------------------------------------------------------------------------

#[test]
fn wycheproof_aes_256_gcm() {
    let file = Wycheproof::load(WP_AES_GCM, "AES-GCM", "aead_test_schema_v1.json");
    let (mut valid, mut invalid, mut skipped) = (0usize, 0usize, 0usize);

    for (group, test) in file.cases() {
        let id = tc_id(test);
        let sizes = (number(group, "keySize"), number(group, "ivSize"), number(group, "tagSize"));
        if sizes != (256, 96, 128) {
            // AES-128/192, or a nonce length the protocol never uses.
            skipped += 1;
            continue;
        }
        let key = hex_array::<32>(text(test, "key"));
        let nonce = hex_array::<12>(text(test, "iv"));
        let tag = hex_array::<16>(text(test, "tag"));
        let aad = bytes(test, "aad");
        let msg = bytes(test, "msg");
        let ct = bytes(test, "ct");
        match expected(test) {
            Expected::Valid => {
                let mut buf = msg.clone();
                let sealed_tag = aead_seal(&key, &nonce, &aad, &mut buf).unwrap();
                assert_eq!(buf, ct, "tcId {id}: ciphertext");
                assert_eq!(sealed_tag, tag, "tcId {id}: tag");
                let mut buf = ct.clone();
                aead_open(&key, &nonce, &aad, &mut buf, &tag).unwrap_or_else(|e| panic!("tcId {id}: {e:?}"));
                assert_eq!(buf, msg, "tcId {id}: plaintext");
                valid += 1;
            }
            Expected::Invalid => {
                let mut buf = ct.clone();
                let result = aead_open(&key, &nonce, &aad, &mut buf, &tag);
                assert_eq!(result, Err(Error::Auth), "tcId {id} ({}): must not open", text(test, "comment"));
                assert!(buf.iter().all(|&b| b == 0), "tcId {id}: buffer zeroed on failure");
                invalid += 1;
            }
            Expected::Acceptable => panic!("tcId {id}: no acceptable cases expected for 96-bit nonces"),
        }
    }

    let total = file.number_of_tests();
    println!(
        "wycheproof aes_gcm_test.json: {total} cases, {} checked (AES-256, 96-bit nonce, 128-bit tag: \
         {valid} valid sealed and opened, {invalid} invalid refused), {skipped} in other groups skipped",
        valid + invalid
    );
    assert_eq!(valid + invalid + skipped, total);
    assert_eq!((total, valid, invalid), (316, 39, 27));
}
