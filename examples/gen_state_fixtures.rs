//! Wrote the golden fixtures of session state format version 2,
//! `test-vectors/state/v2.json` and `v2_he.json` (while that version was
//! current; `write_fixture`), and writes those of version 3 with a
//! hybrid handshake (SPEC.md §16.8), `v3_hybrid.json` and
//! `v3_hybrid_he.json` (scenario below), which
//! `tests/state_fixtures.rs` loads beside the frozen version-1 files
//! (`v1.json`, `v1_he.json`, written by the version-1 form of this generator
//! and never rewritten).
//!
//! Run with `cargo run --example gen_state_fixtures`. Everything comes from
//! fixed ChaCha20Rng seeds, so the output is the same on every run.
//!
//! The fixtures are FROZEN once committed: every later version of the library
//! must keep decoding them (SPEC.md §10.5). This generator therefore never
//! overwrites an existing file that differs from what it would write; it
//! reports the difference and exits with an error instead (pass
//! `--overwrite` only while the format version is still unreleased).
//!
//! The scenario: Bob publishes an identity, signed prekey 1 and one-time
//! prekeys 100 and 101. Alice starts a session with prekey 100 and sends
//! a0 a1 a2 (PreKeyMessages); a2 overtakes the others, Bob accepts it, then
//! reads a0. Bob sends b0 b1; Alice reads only b1 (so she is past the
//! handshake). Alice sends a3 a4 from a new chain; Bob reads only a4. Then
//! Bob sends b2 b3 and Alice sends a5, and both sessions are stored while
//! those are in flight. Bob holds the skipped keys of a1 and a3, Alice that
//! of b0. The fixture lists what each side receives next, in order:
//! Bob: a5 (current chain), a1 (a late PreKeyMessage, stored key), a3
//! (stored key); Alice: b3 (a new ratchet step that skips b2), b0 (stored
//! key from the old chain), b2 (the key just stored).
//!
//! The version-3 scenario: Bob also publishes a one-time ML-KEM-1024 prekey
//! 200 and a last-resort one, 201. Alice starts a hybrid session (default
//! policy) with prekeys 100 and 200 and sends a0 a1 a2, each carrying the
//! KEM part; Bob accepts a1 (a0's key is stored) and sends b0 b1. Both
//! sessions are stored with those in flight: Alice still awaits a reply, so
//! her state holds the pending KEM part (flags 0x40 and 0x80). Bob: a2
//! (current chain), a0 (a late PreKeyMessage, stored key); Alice: b1 (a new
//! ratchet step that skips b0), b0 (the key just stored). Bob's unused
//! one-time prekey 101 and last-resort KEM prekey 201 are stored too.

use chatcrypt::{AcceptPolicy, PqPolicy};
use std::{fs, path::PathBuf, process::ExitCode};

use chatcrypt::{
    Error, IdentityKeyPair, KemPreKey, KemPreKeyUse, MessageType, Mode, ModePolicy, OneTimePreKey,
    PreKeyBundle, PreKeyMessage, Session, SignedPreKey, SESSION_STATE_VERSION, STATE_VERSION,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use serde_json::{json, Value};

/// The key every sealed fixture is sealed under (written into the JSON).
const SEALING_KEY: [u8; 32] = *b"chatcrypt v1 state fixture key!!";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One message in flight, with where its receiver will find its key.
struct Pending {
    wire: Vec<u8>,
    plaintext: &'static str,
    key: &'static str,
}

fn send(s: &mut Session, plaintext: &'static str, key: &'static str) -> Result<Pending, Error> {
    // The reuse guards come from a fixed seed per message, so the fixtures
    // are reproducible.
    let mut guard_rng = ChaCha20Rng::from_seed(label_seed(plaintext));
    Ok(Pending { wire: s.encrypt(plaintext.as_bytes(), &mut guard_rng)?, plaintext, key })
}

/// A 32-byte RNG seed from a plaintext label (its bytes, repeated).
fn label_seed(label: &str) -> [u8; 32] {
    let mut seed = [0u8; 32];
    for (i, b) in label.bytes().cycle().take(32).enumerate() {
        seed[i] = b;
    }
    seed
}

fn receive(s: &mut Session, m: &Pending, rng: &mut ChaCha20Rng) -> Result<(), Error> {
    let got = s.decrypt(&m.wire, rng)?;
    assert_eq!(got, m.plaintext.as_bytes(), "generator self-check");
    Ok(())
}

fn messages(list: &[Pending]) -> Value {
    Value::Array(
        list.iter()
            .map(|m| {
                let kind = match MessageType::of(&m.wire) {
                    Ok(MessageType::PreKey) => "prekey_message",
                    _ => "message",
                };
                json!({
                    "type": kind,
                    "key": m.key,
                    "wire": hex(&m.wire),
                    "plaintext": hex(m.plaintext.as_bytes()),
                })
            })
            .collect(),
    )
}

fn session(s: &Session, rng: &mut ChaCha20Rng) -> Value {
    json!({
        "plain": hex(&s.to_bytes()),
        "sealed": hex(&s.seal(&SEALING_KEY, rng)),
        "encoded_len": s.encoded_len(),
        "is_initiator": s.is_initiator(),
        "awaiting_reply": s.awaiting_reply(),
        "skipped_key_count": s.skipped_key_count(),
        "local_identity": hex(s.local_identity().as_bytes()),
        "remote_identity": hex(s.remote_identity().as_bytes()),
    })
}

fn identity(k: &IdentityKeyPair, rng: &mut ChaCha20Rng) -> Value {
    json!({
        "public_key": hex(k.public_key().as_bytes()),
        "plain": hex(&k.to_bytes()),
        "sealed": hex(&k.seal(&SEALING_KEY, rng)),
    })
}

/// Restores both sessions from the generated JSON and replays the listed
/// messages, so that a broken fixture is never written.
/// A signed prekey's public fields and its plain and sealed encodings.
fn signed_prekey(spk: &SignedPreKey, rng: &mut ChaCha20Rng) -> Value {
    json!({
        "id": spk.id(),
        "public_key": hex(spk.public().key()),
        "signature": hex(spk.public().signature()),
        "plain": hex(&spk.to_bytes()),
        "sealed": hex(&spk.seal(&SEALING_KEY, rng)),
    })
}

/// A one-time prekey's public fields and its plain and sealed encodings.
fn one_time_prekey(opk: &OneTimePreKey, rng: &mut ChaCha20Rng) -> Value {
    json!({
        "id": opk.id(),
        "public_key": hex(opk.public().key()),
        "plain": hex(&opk.to_bytes()),
        "sealed": hex(&opk.seal(&SEALING_KEY, rng)),
    })
}

fn self_check(doc: &Value) -> Result<(), Error> {
    let mut rng = ChaCha20Rng::from_seed([0xCC; 32]);
    let unhex = |s: &Value| -> Vec<u8> {
        let s = s.as_str().unwrap_or_default();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0)).collect()
    };
    for side in ["alice", "bob"] {
        let plain = unhex(&doc[side]["session"]["plain"]);
        let sealed = unhex(&doc[side]["session"]["sealed"]);
        for mut s in [Session::from_bytes(&plain)?, Session::open(&SEALING_KEY, &sealed)?] {
            assert_eq!(s.to_bytes()[..], plain[..]);
            for m in doc[side]["receive"].as_array().into_iter().flatten() {
                assert_eq!(s.decrypt(&unhex(&m["wire"]), &mut rng)?, unhex(&m["plaintext"]));
            }
        }
    }
    Ok(())
}

fn main() -> Result<ExitCode, Error> {
    // `v2.json` and `v2_he.json` hold format version 2, which the library
    // no longer writes (it writes version 3): they are frozen as written by
    // `write_fixture` when version 2 was current, and not regenerated.
    println!("test-vectors/state/v2.json, v2_he.json: frozen at format version 2, not regenerated");
    for (mode, file) in [(Mode::Plain, "v3_hybrid.json"), (Mode::HeaderEncryption, "v3_hybrid_he.json")] {
        let code = write_hybrid_fixture(mode, file)?;
        if code != ExitCode::SUCCESS {
            return Ok(code);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The version-3 fixture of a hybrid handshake (scenario in the module docs).
fn write_hybrid_fixture(mode: Mode, file: &str) -> Result<ExitCode, Error> {
    let mut bob_rng = ChaCha20Rng::from_seed([0xB3; 32]);
    let mut alice_rng = ChaCha20Rng::from_seed([0xA3; 32]);
    let mut seal_rng = ChaCha20Rng::from_seed([0x5F; 32]);

    let bob = IdentityKeyPair::generate(&mut bob_rng);
    let spk = SignedPreKey::generate(&bob, 1, &mut bob_rng);
    let opk_used = OneTimePreKey::generate(100, &mut bob_rng);
    let opk_unused = OneTimePreKey::generate(101, &mut bob_rng);
    let kem_used = KemPreKey::generate(&bob, 200, &mut bob_rng);
    let kem_last_resort = KemPreKey::generate(&bob, 201, &mut bob_rng);
    let alice = IdentityKeyPair::generate(&mut alice_rng);

    let bundle =
        PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk_used.public().clone()))
            .with_kem_prekey(kem_used.public().clone());
    let mut a = Session::initiate_with(&alice, &bundle, mode, PqPolicy::Required, &mut alice_rng)?;

    let a0 = send(&mut a, "a0: hi Bob, post-quantum (arrives late)", "stored skipped key")?;
    let a1 = send(&mut a, "a1: Bob accepts this one", "")?;
    let a2 = send(&mut a, "a2: the same KEM part again", "current receiving chain")?;
    let first = PreKeyMessage::from_bytes(&a1.wire)?;
    assert!(first.is_post_quantum());
    let accepted = Session::accept(
        &bob,
        &spk,
        Some(opk_used),
        Some(KemPreKeyUse::OneTime(kem_used)),
        &first,
        AcceptPolicy::default(),
        &mut bob_rng,
    )?;
    let b = accepted.session;
    assert_eq!(accepted.plaintext, a1.plaintext.as_bytes());
    let mut b = b;
    let b0 = send(&mut b, "b0: hi Alice (overtaken by b1)", "stored skipped key")?;
    let b1 = send(&mut b, "b1: got a1", "new ratchet step")?;
    assert!(a.awaiting_reply() && a.is_post_quantum() && b.is_post_quantum());
    assert_eq!(a.skipped_key_count(), 0);
    assert_eq!(b.skipped_key_count(), 1);

    let mode_note = match mode {
        Mode::Plain => "",
        _ => " Both sessions use header encryption (SPEC.md §14, session flag 0x20).",
    };
    let doc = json!({
        "description": String::from("chatcrypt golden state fixtures, session state format version 3 (SPEC.md §16.8) \
            after a hybrid handshake (X25519 and ML-KEM-1024, SPEC.md §16; identities and prekeys in their format \
            version 1), messages of protocol version 2. FROZEN: every later version of chatcrypt must keep \
            decoding these bytes. Generated once by examples/gen_state_fixtures.rs from fixed ChaCha20 seeds: \
            Alice started a hybrid session with Bob's signed prekey 1, one-time prekey 100 and one-time KEM \
            prekey 200 and still awaits a reply, so her state holds the pending KEM part (flags 0x40 and 0x80); \
            Bob accepted her second PreKeyMessage (flag 0x40) and holds the key of her first. All byte strings \
            are lowercase hex. 'plain' is to_bytes(), 'sealed' is seal() under sealing_key. Each side's \
            'receive' lists, in order, the messages that side decrypts next from the stored session, with the \
            expected plaintext and where the key comes from.") + mode_note,
        "format_version": SESSION_STATE_VERSION,
        "key_format_version": STATE_VERSION,
        "sealing_key": hex(&SEALING_KEY),
        "alice": {
            "identity": identity(&alice, &mut seal_rng),
            "session": session(&a, &mut seal_rng),
            "receive": messages(&[b1, b0]),
        },
        "bob": {
            "identity": identity(&bob, &mut seal_rng),
            "signed_prekey": signed_prekey(&spk, &mut seal_rng),
            "one_time_prekey": one_time_prekey(&opk_unused, &mut seal_rng),
            "kem_prekey": {
                "id": kem_last_resort.id(),
                "kem_type": kem_last_resort.kem_type().to_byte(),
                "public_encoding": hex(&kem_last_resort.public().to_bytes()),
                "plain": hex(&kem_last_resort.to_bytes()),
                "sealed": hex(&kem_last_resort.seal(&SEALING_KEY, &mut seal_rng)),
            },
            "session": session(&b, &mut seal_rng),
            "receive": messages(&[a2, a0]),
        },
    });
    self_check(&doc)?;
    write_doc(file, &doc)
}

/// How `v2.json` and `v2_he.json` were written while format version 2 was
/// current (kept as their record; the library now writes version 3, so
/// `main` no longer runs it).
#[allow(dead_code)]
fn write_fixture(mode: Mode, file: &str) -> Result<ExitCode, Error> {
    let mut bob_rng = ChaCha20Rng::from_seed([0xB0; 32]);
    let mut alice_rng = ChaCha20Rng::from_seed([0xA1; 32]);
    let mut seal_rng = ChaCha20Rng::from_seed([0x5E; 32]);

    let bob = IdentityKeyPair::generate(&mut bob_rng);
    let spk = SignedPreKey::generate(&bob, 1, &mut bob_rng);
    let opk_used = OneTimePreKey::generate(100, &mut bob_rng);
    let opk_unused = OneTimePreKey::generate(101, &mut bob_rng);
    let alice = IdentityKeyPair::generate(&mut alice_rng);

    let bundle =
        PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk_used.public().clone()));
    let mut a = Session::initiate_with(&alice, &bundle, mode, PqPolicy::AllowClassical, &mut alice_rng)?;

    let a0 = send(&mut a, "a0: hi Bob, it's Alice", "")?;
    let a1 = send(&mut a, "a1: a PreKeyMessage that arrives late", "stored skipped key")?;
    let a2 = send(&mut a, "a2: this one overtakes a0 and a1", "")?;
    let first = PreKeyMessage::from_bytes(&a2.wire)?;
    let accepted = Session::accept(
        &bob,
        &spk,
        Some(opk_used),
        None,
        &first,
        AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
        &mut bob_rng,
    )?;
    let mut b = accepted.session;
    assert_eq!(accepted.plaintext, a2.plaintext.as_bytes());
    receive(&mut b, &a0, &mut bob_rng)?;

    let b0 = send(&mut b, "b0: hi Alice (held back by the network)", "stored skipped key")?;
    let b1 = send(&mut b, "b1: got your messages", "")?;
    receive(&mut a, &b1, &mut alice_rng)?;
    assert!(!a.awaiting_reply());

    let a3 = send(&mut a, "a3: from my second chain, delayed", "stored skipped key")?;
    let a4 = send(&mut a, "a4: from my second chain", "")?;
    receive(&mut b, &a4, &mut bob_rng)?;

    let b2 = send(&mut b, "b2: from my second chain", "stored skipped key")?;
    let b3 = send(&mut b, "b3: overtakes b2", "new ratchet step")?;
    let a5 = send(&mut a, "a5: still my second chain", "current receiving chain")?;
    assert_eq!(a.skipped_key_count(), 1);
    assert_eq!(b.skipped_key_count(), 2);

    let mode_note = match mode {
        Mode::Plain => "",
        _ => " Both sessions use header encryption (SPEC.md §14, session flag 0x20).",
    };
    let doc = json!({
        "description": String::from("chatcrypt golden state fixtures, session state format version 2 (SPEC.md §10; \
            identities and prekeys in their format version 1), messages of protocol version 2. FROZEN: \
            every later version of chatcrypt must keep decoding these bytes. Generated once by \
            examples/gen_state_fixtures.rs from fixed ChaCha20 seeds: Alice started a session with \
            Bob's signed prekey 1 and one-time prekey 100 and both sides exchanged messages out of \
            order, so both sessions hold skipped keys and Alice is past the handshake. All byte \
            strings are lowercase hex. 'plain' is to_bytes(), 'sealed' is seal() under sealing_key. \
            Each side's 'receive' lists, in order, the messages that side decrypts next from the \
            stored session, with the expected plaintext and where the key comes from.") + mode_note,
        "format_version": SESSION_STATE_VERSION,
        "key_format_version": STATE_VERSION,
        "sealing_key": hex(&SEALING_KEY),
        "alice": {
            "identity": identity(&alice, &mut seal_rng),
            "session": session(&a, &mut seal_rng),
            "receive": messages(&[b3, b0, b2]),
        },
        "bob": {
            "identity": identity(&bob, &mut seal_rng),
            "signed_prekey": signed_prekey(&spk, &mut seal_rng),
            "one_time_prekey": one_time_prekey(&opk_unused, &mut seal_rng),
            "session": session(&b, &mut seal_rng),
            "receive": messages(&[a5, a1, a3]),
        },
    });
    self_check(&doc)?;
    write_doc(file, &doc)
}

/// Writes a fixture, refusing to overwrite a different existing one.
fn write_doc(file: &str, doc: &Value) -> Result<ExitCode, Error> {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "test-vectors", "state", file].iter().collect();
    let overwrite = std::env::args().any(|a| a == "--overwrite");
    match fs::read_to_string(&path) {
        Ok(existing) if existing == text => {
            println!("{} is up to date", path.display());
            return Ok(ExitCode::SUCCESS);
        }
        Ok(_) if !overwrite => {
            eprintln!(
                "{} exists and differs from what this generator writes. The fixtures are frozen: \
                 fix the generator (or the library) instead; --overwrite replaces them.",
                path.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        _ => {}
    }
    if let Some(dir) = path.parent() {
        if let Err(e) = fs::create_dir_all(dir) {
            eprintln!("cannot create {}: {e}", dir.display());
            return Ok(ExitCode::FAILURE);
        }
    }
    if let Err(e) = fs::write(&path, text) {
        eprintln!("cannot write {}: {e}", path.display());
        return Ok(ExitCode::FAILURE);
    }
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}
