//! Writes seed corpora for every target into `fuzz/corpus/<target>/`, from
//! the published vectors, the state fixtures and the targets' own fixture.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --bin seed_corpora`

use std::{fs, path::Path};

use serde_json::Value;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// Every string value of a JSON document that is even-length hex, under the
/// given keys.
fn hex_fields(v: &Value, keys: &[&str], out: &mut Vec<Vec<u8>>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if let (true, Value::String(s)) = (keys.contains(&k.as_str()), v) {
                    if s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        out.push(unhex(s));
                    }
                }
                hex_fields(v, keys, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| hex_fields(v, keys, out)),
        _ => {}
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let load =
        |p: &str| -> Value { serde_json::from_str(&fs::read_to_string(root.join(p)).unwrap()).unwrap() };
    let mut wire = Vec::new();
    for f in ["session.json", "reject.json", "x3dh.json"] {
        hex_fields(&load(&format!("test-vectors/protocol/{f}")), &["message", "bundle", "state"], &mut wire);
    }
    let mut states = Vec::new();
    hex_fields(
        &load("test-vectors/state/v1.json"),
        &["plain", "sealed", "session", "identity", "bytes"],
        &mut states,
    );

    let genuine_of = |f: &chatcrypt_fuzz::Fixture| -> Vec<Vec<u8>> {
        std::iter::once(f.first.clone()).chain(f.undelivered.iter().map(|(m, _)| m.clone())).collect()
    };
    let genuine = genuine_of(chatcrypt_fuzz::fixture());
    let genuine_he = genuine_of(chatcrypt_fuzz::fixture_he());
    let genuine_pq = genuine_of(chatcrypt_fuzz::fixture_pq());
    let kem = chatcrypt_fuzz::kem_prekey();
    let kem_encodings = [kem.to_bytes().to_vec(), kem.public().to_bytes()];

    let mut conversation = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for len in [8usize, 32, 64, 128, 256] {
        let mut v = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v.push(x as u8);
        }
        conversation.push(v);
    }
    // A plain ping-pong script: SendA, Deliver 0, SendB, Deliver 0, ...
    conversation.push([0u8, 2, 0, 1, 2, 0].repeat(10));

    let sets: [(&str, Vec<Vec<u8>>); 5] = [
        ("decode", wire.iter().chain(&states).chain(&kem_encodings).chain(&genuine_pq).cloned().collect()),
        ("decrypt_established", wire.iter().chain(&genuine).cloned().collect()),
        ("decrypt_established_he", wire.iter().chain(&genuine_he).cloned().collect()),
        (
            "accept_arbitrary",
            wire.iter().chain(&genuine).chain(&genuine_he).chain(&genuine_pq).cloned().collect(),
        ),
        ("conversation", conversation),
    ];
    for (target, inputs) in sets {
        let dir = root.join("fuzz/corpus").join(target);
        fs::create_dir_all(&dir).unwrap();
        for (i, input) in inputs.iter().enumerate() {
            fs::write(dir.join(format!("seed-{i:04}")), input).unwrap();
        }
        println!("{target}: {} seeds", inputs.len());
    }
}
