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

#[test]
fn messenger_decode_corpus_replays_cleanly() {
    replay("messenger_decode", fuzz_checks::messenger_decode);
}

// `messenger_model`'s corpus is replayed by tests/messenger_model.rs
// (`the_fuzz_corpus_replays_cleanly`), not here.

#[test]
fn sframe_corpus_replays_cleanly() {
    replay("sframe", fuzz_checks::sframe);
}

#[test]
fn attachment_corpus_replays_cleanly() {
    replay("attachment", fuzz_checks::attachment);
}

#[test]
fn padding_corpus_replays_cleanly() {
    replay("padding", fuzz_checks::padding);
}

#[test]
fn sealed_open_corpus_replays_cleanly() {
    replay("sealed_open", |data| {
        fuzz_checks::sealed_open(data);
    });
}

/// The seeds reach every path of `sealed_open`: a single envelope opens,
/// a multi-recipient envelope decodes and a split envelope opens, a
/// certificate decodes. (A seed corpus that stopped reaching them would
/// leave the fuzzer at the first check.)
#[test]
fn sealed_open_seeds_reach_every_path() {
    let mask = fuzz_checks::metadata::sealed_seeds().iter().fold(0, |m, s| m | fuzz_checks::sealed_open(s));
    assert_eq!(mask, 0b1111);
}

#[test]
fn media_decode_corpus_replays_cleanly() {
    replay("media_decode", |data| {
        fuzz_checks::media_decode(data);
    });
}

// ---------------------------------------------------------------------------
// Seeds of the media targets.

use chatcrypt::media::{AttachmentPointer, CipherSuite};
use fuzz_checks::{attachment_fixtures, sframe_genuine, sframe_join, SFRAME_FIXED_KID, SFRAME_RATCHET_KID};

/// The media vectors' cases of `kind`.
fn media_cases(kind: &str) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors/protocol/media.json");
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    json["cases"].as_array().unwrap().iter().filter(|c| c["kind"] == kind).cloned().collect()
}

/// The rejected inputs of the media vectors for `decoder`.
fn media_rejects(decoder: &str) -> Vec<Vec<u8>> {
    media_cases("reject")
        .iter()
        .filter(|c| c["decoder"] == decoder)
        .map(|c| unhex(c["input"].as_str().unwrap()))
        .collect()
}

/// Seeds of `sframe`, per suite: a sequence of genuine frames that walks
/// the replay window (a replay, a jump to counter 300, a frame 170 behind,
/// one within the window), the ratchet (step 0 to 1, a step-0 frame then
/// held as the previous step, a jump to step 3, a step-1 frame then
/// previous, a step-2 frame that needs 15 steps ahead), and the KID-3 key;
/// then single genuine frames, then the vectors' rejected headers as
/// one-frame inputs.
fn sframe_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for suite in CipherSuite::ALL {
        let g = sframe_genuine(suite);
        let f = |kid: u64, ctr: u64| -> &[u8] {
            &g.ordered.iter().find(|(k, c, _)| (*k, *c) == (kid, ctr)).unwrap().2
        };
        let s = |step: u64, ctr: u64| f(SFRAME_RATCHET_KID + step, ctr);
        let k3 = |ctr: u64| f(SFRAME_FIXED_KID, ctr);
        seeds.push(sframe_join(
            suite,
            &[
                s(0, 0),
                s(0, 1),
                s(0, 1),
                s(0, 7),
                s(0, 300),
                s(0, 130),
                s(0, 200),
                s(1, 0),
                s(0, 6),
                s(1, 0),
                s(3, 2),
                s(1, 1),
                s(2, 0),
                s(3, 3),
                k3(0),
                k3(0),
                k3(300),
                k3(5),
            ],
        ));
        seeds.push(sframe_join(suite, &[s(2, 4)]));
        seeds.push(sframe_join(suite, &[k3(7), s(1, 130)]));
    }
    for header in media_rejects("sframe_header") {
        seeds.push(sframe_join(CipherSuite::AesGcm128Sha256, &[&header]));
    }
    seeds
}

/// Seeds of `attachment`: the two genuine blobs, the small one with a byte
/// appended, the fixtures' pointers, the vectors' pointers and rejected
/// pointers.
fn attachment_seeds() -> Vec<Vec<u8>> {
    let [big, small] = attachment_fixtures();
    let mut seeds = vec![big.blob.clone(), small.blob.clone(), [&small.blob[..], &[0]].concat()];
    seeds.push(big.pointer.to_bytes().to_vec());
    seeds.push(small.pointer.to_bytes().to_vec());
    for c in media_cases("attachment") {
        let p = unhex(c["pointer"].as_str().unwrap());
        assert!(AttachmentPointer::from_bytes(&p).is_ok());
        seeds.push(p);
    }
    seeds.extend(media_rejects("attachment_pointer"));
    seeds
}

/// Seeds of `media_decode`: the vectors' offers and answers (hybrid and
/// classical), their group key chains' media key messages, and every
/// rejected offer, answer and media key message.
fn media_decode_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for c in media_cases("call_keys") {
        seeds.push(unhex(c["offer"].as_str().unwrap()));
        seeds.push(unhex(c["answer"].as_str().unwrap()));
    }
    for c in media_cases("group_keys") {
        for link in c["chain"].as_array().unwrap() {
            seeds.push(unhex(link["media_key_message"].as_str().unwrap()));
        }
    }
    for decoder in ["call_offer", "call_answer", "media_key_message"] {
        seeds.extend(media_rejects(decoder));
    }
    seeds
}

/// The seeds reach what they are for: every genuine sequence decrypts
/// frames of every suite, the genuine blobs decrypt, every decoder of
/// `media_decode` accepts some seed. (The properties themselves are
/// checked by the replays above.)
#[test]
fn media_seeds_reach_their_decoders() {
    let mask = media_decode_seeds().iter().fold(0, |m, s| m | fuzz_checks::media_decode(s));
    assert_eq!(mask, 0b111);
    let [big, small] = attachment_fixtures();
    assert_eq!(big.blob.len(), 70_000 + 2 * 16);
    assert_eq!(small.blob.len(), 100 + 16);
    let seeds = attachment_seeds();
    assert!(seeds.contains(&big.blob) && seeds.contains(&small.blob));
    for seed in sframe_seeds().iter().take(3 * CipherSuite::ALL.len()) {
        let (suite, frames) = fuzz_checks::sframe_split(seed).unwrap();
        let mut r = fuzz_checks::sframe_receiver(suite);
        let mut out = [0u8; fuzz_checks::SFRAME_OUT_LEN];
        let ok =
            frames.iter().filter(|f| r.decrypt(fuzz_checks::SFRAME_METADATA, f, &mut out).is_ok()).count();
        assert!(ok >= 1, "{suite:?}: no seed frame decrypts");
    }
}

fn write_corpus(target: &str, how: &str, seeds: &[Vec<u8>]) {
    let mut text = format!("# {target} seeds: {how}\n");
    for seed in seeds {
        for b in seed {
            text.push_str(&format!("{b:02x}"));
        }
        text.push('\n');
    }
    fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpora").join(format!("{target}.hex")), text)
        .unwrap();
}

/// Writes the padding and sealed sender targets' seed corpora:
/// `cargo test --test fuzz_corpus -- --ignored write_metadata_seed_corpora`.
#[test]
#[ignore = "writes fuzz/corpora/{padding,sealed_open}.hex"]
fn write_metadata_seed_corpora() {
    use chatcrypt::padding::{pad, PaddingPolicy};
    let how = "written by `cargo test --test fuzz_corpus -- --ignored write_metadata_seed_corpora`";
    let blocks = |b: u16| PaddingPolicy::Blocks(std::num::NonZeroU16::new(b).unwrap());
    let mut padding = Vec::new();
    for policy in [
        PaddingPolicy::None,
        blocks(1),
        blocks(160),
        PaddingPolicy::Padme { floor: 0 },
        PaddingPolicy::DEFAULT,
    ] {
        for n in [0, 1, 12, 156, 157, 300] {
            padding.push(pad(policy, &vec![0x80; n], 1 << 20).unwrap());
        }
    }
    write_corpus(
        "padding",
        &format!("{how} (every policy at a few lengths, content of marker bytes)"),
        &padding,
    );
    write_corpus(
        "sealed_open",
        &format!(
            "{how} (genuine single and multi-recipient envelopes for the target's recipient, certificates)"
        ),
        &fuzz_checks::metadata::sealed_seeds(),
    );
}

/// Writes the media targets' seed corpora:
/// `cargo test --test fuzz_corpus -- --ignored write_media_seed_corpora`.
#[test]
#[ignore = "writes fuzz/corpora/{sframe,attachment,media_decode}.hex"]
fn write_media_seed_corpora() {
    let how = "written by `cargo test --test fuzz_corpus -- --ignored write_media_seed_corpora`";
    write_corpus(
        "sframe",
        &format!("{how} (frames of the target's fixed senders; the media vectors' rejected headers)"),
        &sframe_seeds(),
    );
    write_corpus(
        "attachment",
        &format!("{how} (the target's genuine blobs and pointers; the media vectors' pointers and rejects)"),
        &attachment_seeds(),
    );
    write_corpus(
        "media_decode",
        &format!("{how} (the media vectors' offers, answers, media key messages and rejects)"),
        &media_decode_seeds(),
    );
}
