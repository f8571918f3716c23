//! Replays the committed fuzz corpora (`fuzz/corpora/<target>.hex`, one
//! input per line in hex) through the same checks the fuzz targets run, so
//! that whatever the fuzzer found once stays fixed in every `cargo test`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/src/lib.rs"]
mod fuzz_checks;

use std::{fs, path::Path};

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex line");
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn replay(target: &str, check: fn(&[u8])) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpora").join(format!("{target}.hex"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let inputs: Vec<Vec<u8>> =
        text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).map(unhex).collect();
    assert!(!inputs.is_empty(), "{target}: empty corpus");
    for input in &inputs {
        check(input);
    }
    println!("fuzz corpus {target}: {} inputs replayed", inputs.len());
}

#[test]
fn decode_corpus_replays_cleanly() {
    replay("decode", fuzz_checks::decode);
}

#[test]
fn decrypt_established_corpus_replays_cleanly() {
    replay("decrypt_established", fuzz_checks::decrypt_established);
}

#[test]
fn accept_arbitrary_corpus_replays_cleanly() {
    replay("accept_arbitrary", fuzz_checks::accept_arbitrary);
}

#[test]
fn conversation_corpus_replays_cleanly() {
    replay("conversation", fuzz_checks::conversation);
}

#[test]
fn decrypt_established_he_corpus_replays_cleanly() {
    replay("decrypt_established_he", fuzz_checks::decrypt_established_he);
}

#[test]
fn conversation_he_corpus_replays_cleanly() {
    replay("conversation_he", fuzz_checks::conversation_he);
}
