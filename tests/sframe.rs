//! SFrame (RFC 9605, SPEC.md §24): every case of the RFC's Appendix C
//! vectors through the public API, and the receiver's replay window,
//! ratcheting and transactional behaviour.

use chatcrypt::{
    media::sframe::{
        CipherSuite, SframeHeader, SframeKey, SframeReceiver, SframeSender, MAX_SFRAME_KEYS,
        MAX_SFRAME_METADATA_LEN, MAX_SFRAME_RATCHET_STEPS, SFRAME_REPLAY_WINDOW,
    },
    DecodeError, Error,
};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test-vectors/sframe/rfc9605.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    assert!(s.len().is_multiple_of(2));
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn suite(case: &Value) -> CipherSuite {
    CipherSuite::from_id(case["cipher_suite"].as_u64().unwrap() as u16).unwrap()
}

/// Encrypts `n` throwaway frames, so the next frame carries counter `n`.
fn advance(sender: &mut SframeSender, n: u64) {
    let mut out = [0u8; 64];
    for _ in 0..n {
        sender.encrypt(b"", b"", &mut out).unwrap();
    }
    assert_eq!(sender.next_counter(), Some(n));
}

#[test]
fn rfc9605_header_vectors_encode_and_decode() {
    let v = vectors();
    let mut count = 0;
    for case in v["header"].as_array().unwrap() {
        let header = SframeHeader { kid: case["kid"].as_u64().unwrap(), ctr: case["ctr"].as_u64().unwrap() };
        let encoded = hex(&case["encoded"]);
        let mut buf = [0u8; 17];
        let n = header.encode(&mut buf).unwrap();
        assert_eq!(&buf[..n], encoded.as_slice(), "{header:?}");
        assert_eq!(header.encoded_len(), encoded.len());
        assert_eq!(SframeHeader::decode(&encoded).unwrap(), (header, encoded.len()));
        // The header is read from the front of a frame: what follows is
        // left alone.
        let mut frame = encoded.clone();
        frame.extend_from_slice(&[0xff; 20]);
        assert_eq!(SframeHeader::decode(&frame).unwrap(), (header, encoded.len()));
        // Every shorter prefix is truncated, and a buffer one byte short
        // is too small.
        for cut in 0..encoded.len() {
            assert_eq!(SframeHeader::decode(&encoded[..cut]), Err(Error::Decode(DecodeError::Truncated)));
        }
        assert_eq!(
            header.encode(&mut buf[..encoded.len() - 1]),
            Err(Error::BufferTooSmall { needed: encoded.len() })
        );
        count += 1;
    }
    assert_eq!(count, 289);
}

/// RFC 9605 §4.5.1's AEAD (AES-128-CTR + truncated HMAC-SHA256) with the
/// vectors' key, nonce and associated data, through the public API: the
/// associated data "IETF SFrame WG" starts with the bytes 49 45 54, which
/// are the header KID 4, CTR 0x4554; the rest is the metadata. A raw key
/// whose salt is the nonce XOR that counter gives the vector's nonce.
#[test]
fn rfc9605_aes_ctr_hmac_vectors_through_sender_and_receiver() {
    let v = vectors();
    let mut count = 0;
    for case in v["aes_ctr_hmac"].as_array().unwrap() {
        let suite = suite(case);
        let key = hex(&case["key"]);
        assert_eq!([hex(&case["enc_key"]), hex(&case["auth_key"])].concat(), key);
        let nonce: [u8; 12] = hex(&case["nonce"]).try_into().unwrap();
        let aad = hex(&case["aad"]);
        let (pt, ct) = (hex(&case["pt"]), hex(&case["ct"]));
        assert_eq!(ct.len(), pt.len() + suite.tag_len());

        let (header, hlen) = SframeHeader::decode(&aad).unwrap();
        assert_eq!((header, hlen), (SframeHeader { kid: 4, ctr: 0x4554 }, 3));
        let metadata = &aad[hlen..];
        let mut salt = nonce;
        for (s, c) in salt[4..].iter_mut().zip(header.ctr.to_be_bytes()) {
            *s ^= c;
        }
        let raw = SframeKey::from_raw(suite, header.kid, &key, &salt).unwrap();
        assert_eq!(raw.nonce(header.ctr), nonce);
        let frame = [&aad[..hlen], &ct].concat();

        let mut sender = SframeSender::from_key(&raw).unwrap();
        advance(&mut sender, header.ctr);
        let mut out = vec![0u8; frame.len()];
        assert_eq!(sender.encrypt(metadata, &pt, &mut out), Ok(frame.len()));
        assert_eq!(out, frame);

        let mut receiver = SframeReceiver::new(suite);
        receiver.add_key(&raw).unwrap();
        let mut plain = vec![0u8; pt.len()];
        let got = receiver.decrypt(metadata, &frame, &mut plain).unwrap();
        assert_eq!((got.kid, got.ctr, got.len), (4, 0x4554, pt.len()));
        assert_eq!(plain, pt);
        count += 1;
    }
    assert_eq!(count, 3);
}

/// RFC 9605 Appendix C.4: the key schedule from the base key, nonce, AAD
/// and the whole SFrame ciphertext for each suite, encrypting and
/// decrypting. (The labels and `sframe_secret` are checked inside the
/// crate, `media::sframe::tests::rfc9605_labels_and_secrets`.)
#[test]
fn rfc9605_sframe_vectors_encrypt_and_decrypt() {
    let v = vectors();
    let mut count = 0;
    for case in v["sframe"].as_array().unwrap() {
        let suite = suite(case);
        let (kid, ctr) = (case["kid"].as_u64().unwrap(), case["ctr"].as_u64().unwrap());
        let base_key = hex(&case["base_key"]);
        let metadata = hex(&case["metadata"]);
        let (pt, ct) = (hex(&case["pt"]), hex(&case["ct"]));

        let key = SframeKey::derive(suite, kid, &base_key).unwrap();
        assert_eq!(key.key(), hex(&case["sframe_key"]).as_slice());
        assert_eq!(key.salt().as_slice(), hex(&case["sframe_salt"]).as_slice());
        let nonce = hex(&case["nonce"]);
        assert_eq!(key.nonce(ctr).as_slice(), nonce.as_slice());
        // nonce = salt XOR u96(ctr), recomputed here.
        let mut expected = *key.salt();
        for (i, b) in ctr.to_be_bytes().iter().enumerate() {
            expected[4 + i] ^= b;
        }
        assert_eq!(expected.as_slice(), nonce.as_slice());
        let header = SframeHeader { kid, ctr };
        let mut hbuf = [0u8; 17];
        let hlen = header.encode(&mut hbuf).unwrap();
        assert_eq!([&hbuf[..hlen], &metadata[..]].concat(), hex(&case["aad"]));
        assert_eq!(&ct[..hlen], &hbuf[..hlen]);
        assert_eq!(ct.len(), hlen + pt.len() + suite.tag_len());

        let mut sender = SframeSender::new(suite, kid, 0, &base_key).unwrap();
        assert_eq!(sender.kid(), kid);
        advance(&mut sender, ctr);
        assert_eq!(sender.ciphertext_len(pt.len()), ct.len());
        let mut out = vec![0u8; ct.len()];
        assert_eq!(sender.encrypt(&metadata, &pt, &mut out), Ok(ct.len()));
        assert_eq!(out, ct);

        let mut receiver = SframeReceiver::new(suite);
        receiver.add_base_key(kid, 0, &base_key).unwrap();
        let mut plain = vec![0u8; pt.len()];
        let got = receiver.decrypt(&metadata, &ct, &mut plain).unwrap();
        assert_eq!((got.kid, got.ctr, got.len), (kid, ctr, pt.len()));
        assert_eq!(plain, pt);
        // The same frame from a key added as raw material.
        let mut raw_receiver = SframeReceiver::new(suite);
        raw_receiver.add_key(&key).unwrap();
        assert_eq!(raw_receiver.decrypt(&metadata, &ct, &mut plain), Ok(got));
        count += 1;
    }
    assert_eq!(count, 5);
}

#[test]
fn suites_have_the_rfc_constants() {
    let table: [(u16, usize, usize, usize); 5] =
        [(1, 48, 10, 32), (2, 48, 8, 32), (3, 48, 4, 32), (4, 16, 16, 32), (5, 32, 16, 64)];
    for (suite, (id, nk, nt, nh)) in CipherSuite::ALL.into_iter().zip(table) {
        assert_eq!((suite.id(), suite.key_len(), suite.tag_len(), suite.hash_len()), (id, nk, nt, nh));
        assert_eq!(suite.nonce_len(), 12);
        assert_eq!(CipherSuite::from_id(id), Ok(suite));
    }
    for id in [0u16, 6, 0xf000, 0xffff] {
        assert_eq!(CipherSuite::from_id(id), Err(Error::Decode(DecodeError::InvalidValue)));
    }
}

/// Only the minimal header form decodes (RFC 9605 §4.3): every header of
/// up to 3 bytes either fails or re-encodes to exactly the bytes read.
#[test]
fn only_minimal_headers_decode() {
    assert_eq!(SframeHeader::decode(&[]), Err(Error::Decode(DecodeError::Truncated)));
    // CTR 5 and KID 7 in the extended form; 0x00ff as a 2-byte CTR.
    for bad in [&[0x08u8, 0x05][..], &[0x80, 0x07], &[0x09, 0x00, 0xff], &[0x90, 0x00, 0x08]] {
        assert_eq!(SframeHeader::decode(bad), Err(Error::Decode(DecodeError::InvalidValue)), "{bad:02x?}");
    }
    // The KID is checked before the CTR is read.
    assert_eq!(SframeHeader::decode(&[0x8f, 0x01]), Err(Error::Decode(DecodeError::InvalidValue)));
    let mut accepted = 0;
    for config in 0..=255u8 {
        for a in 0..=255u8 {
            for b in [0u8, 1, 0x7f, 0xff] {
                let input = [config, a, b];
                if let Ok((h, n)) = SframeHeader::decode(&input) {
                    let mut buf = [0u8; 17];
                    assert_eq!(h.encode(&mut buf), Ok(n));
                    assert_eq!(&buf[..n], &input[..n]);
                    accepted += 1;
                }
            }
        }
    }
    // Configs with both flags clear (64) always decode; each extended
    // 1-byte field accepts 248 values (8..=255).
    assert!(accepted > 64 * 256 * 4);
}

fn pair(suite: CipherSuite, kid: u64, bits: u8) -> (SframeSender, SframeReceiver) {
    let base = [0x5a; 32];
    let sender = SframeSender::new(suite, kid, bits, &base).unwrap();
    let mut receiver = SframeReceiver::new(suite);
    receiver.add_base_key(kid, bits, &base).unwrap();
    (sender, receiver)
}

fn send(sender: &mut SframeSender, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; sender.ciphertext_len(payload.len())];
    let n = sender.encrypt(b"meta", payload, &mut out).unwrap();
    assert_eq!(n, out.len());
    out
}

fn recv(receiver: &mut SframeReceiver, frame: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; frame.len()];
    let got = receiver.decrypt(b"meta", frame, &mut out)?;
    out.truncate(got.len);
    Ok(out)
}

#[test]
fn every_suite_round_trips_frames_of_many_sizes() {
    for suite in CipherSuite::ALL {
        let (mut s, mut r) = pair(suite, 0x1234, 0);
        for len in [0usize, 1, 15, 16, 17, 160, 1200, 50_000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let frame = send(&mut s, &payload);
            assert_eq!(
                frame.len(),
                1 + 2 + usize::from(s.next_counter().unwrap() > 8) + len + suite.tag_len()
            );
            assert_eq!(recv(&mut r, &frame).unwrap(), payload);
        }
    }
}

#[test]
fn output_buffers_are_checked() {
    let (mut s, mut r) = pair(CipherSuite::AesGcm128Sha256, 9, 0);
    let mut small = [0u8; 10];
    assert_eq!(s.encrypt(b"", b"0123456789", &mut small), Err(Error::BufferTooSmall { needed: 2 + 10 + 16 }));
    assert_eq!(s.next_counter(), Some(0));
    let frame = send(&mut s, b"0123456789");
    let mut out = [0u8; 9];
    assert_eq!(r.decrypt(b"meta", &frame, &mut out), Err(Error::BufferTooSmall { needed: 10 }));
    assert_eq!(recv(&mut r, &frame).unwrap(), b"0123456789");
    let long = vec![0u8; MAX_SFRAME_METADATA_LEN + 1];
    let mut big = [0u8; 64];
    assert_eq!(
        s.encrypt(&long, b"x", &mut big),
        Err(Error::TooLarge { len: MAX_SFRAME_METADATA_LEN + 1, max: MAX_SFRAME_METADATA_LEN })
    );
    assert!(s.encrypt(&long[1..], b"x", &mut big).is_ok());
}

#[test]
fn replays_are_duplicates_and_reordering_within_the_window_is_accepted() {
    let (mut s, mut r) = pair(CipherSuite::AesCtr128HmacSha256_80, 2, 0);
    let frames: Vec<Vec<u8>> = (0..500u32).map(|i| send(&mut s, &i.to_be_bytes())).collect();
    // 200 first, then everything the window still holds, newest first.
    assert_eq!(recv(&mut r, &frames[200]).unwrap(), 200u32.to_be_bytes());
    let oldest = 200 - (SFRAME_REPLAY_WINDOW - 1); // 73
    for i in (oldest..200).rev() {
        assert_eq!(recv(&mut r, &frames[i as usize]).unwrap(), (i as u32).to_be_bytes());
    }
    // The first counter outside the window is refused, unauthenticated.
    assert_eq!(
        recv(&mut r, &frames[oldest as usize - 1]),
        Err(Error::CounterTooOld { ctr: oldest - 1, oldest })
    );
    assert_eq!(recv(&mut r, &frames[0]), Err(Error::CounterTooOld { ctr: 0, oldest }));
    for i in [oldest, 150, 200] {
        assert_eq!(recv(&mut r, &frames[i as usize]), Err(Error::Duplicate));
    }
    // Moving the top moves the window's lower edge with it.
    assert!(recv(&mut r, &frames[299]).is_ok());
    assert!(recv(&mut r, &frames[201]).is_ok());
    assert_eq!(recv(&mut r, &frames[171]), Err(Error::CounterTooOld { ctr: 171, oldest: 172 }));
    assert_eq!(recv(&mut r, &frames[172]), Err(Error::Duplicate));
    assert!(recv(&mut r, &frames[250]).is_ok());
    assert_eq!(recv(&mut r, &frames[250]), Err(Error::Duplicate));
    // A jump of more than the window forgets everything below it.
    assert!(recv(&mut r, &frames[499]).is_ok());
    assert_eq!(recv(&mut r, &frames[371]), Err(Error::CounterTooOld { ctr: 371, oldest: 372 }));
    for i in [372, 400, 498] {
        assert!(recv(&mut r, &frames[i]).is_ok());
    }
    assert_eq!(recv(&mut r, &frames[499]), Err(Error::Duplicate));
}

/// Forged, tampered, truncated and misdirected frames change nothing: the
/// receiver's state (its `Debug`, which shows every window and step) is the
/// same before and after, and the genuine frame still decrypts once.
#[test]
fn rejected_frames_leave_the_receiver_unchanged() {
    for suite in CipherSuite::ALL {
        let (mut s, mut r) = pair(suite, 0x21, 2);
        let first = send(&mut s, b"first");
        recv(&mut r, &first).unwrap();
        let frame = send(&mut s, b"a video frame");
        s.ratchet().unwrap();
        let next_step = send(&mut s, b"after ratchet");
        let before = format!("{r:?}");
        let mut attempts: Vec<(Vec<u8>, &[u8])> = Vec::new();
        for i in 0..frame.len() {
            for bit in [0x01u8, 0x80] {
                let mut f = frame.clone();
                f[i] ^= bit;
                attempts.push((f, b"meta"));
            }
        }
        for cut in 0..frame.len() {
            attempts.push((frame[..cut].to_vec(), b"meta"));
        }
        attempts.push((frame.clone(), b"metA"));
        attempts.push((frame.clone(), b""));
        let mut forged_step = next_step.clone();
        *forged_step.last_mut().unwrap() ^= 1;
        attempts.push((forged_step, b"meta"));
        attempts.push((first.clone(), b"meta")); // a replay
        for (f, meta) in &attempts {
            let mut out = vec![0u8; f.len()];
            let result = r.decrypt(meta, f, &mut out);
            assert!(result.is_err(), "{suite:?} accepted a modified frame");
            assert_eq!(format!("{r:?}"), before, "{suite:?}: {result:?} changed the receiver");
            if result == Err(Error::Auth) {
                assert!(out.iter().all(|&b| b == 0), "output not zeroed after Auth");
            }
        }
        assert_eq!(recv(&mut r, &frame).unwrap(), b"a video frame");
        assert_eq!(recv(&mut r, &next_step).unwrap(), b"after ratchet");
    }
}

#[test]
fn unknown_key_ids_are_reported() {
    let (mut s, mut r) = pair(CipherSuite::AesGcm256Sha512, 40, 0);
    let other = SframeSender::new(CipherSuite::AesGcm256Sha512, 41, 0, &[1; 32]);
    let frame = send(&mut other.unwrap(), b"x");
    assert_eq!(recv(&mut r, &frame), Err(Error::UnknownKeyId { kid: 41 }));
    let ours = send(&mut s, b"y");
    assert!(r.remove_key(40));
    assert!(!r.remove_key(40));
    assert_eq!(recv(&mut r, &ours), Err(Error::UnknownKeyId { kid: 40 }));
}

#[test]
fn receiver_keys_are_bounded_and_the_oldest_is_evicted() {
    let suite = CipherSuite::AesGcm128Sha256;
    let mut r = SframeReceiver::new(suite);
    let mut senders: Vec<SframeSender> = (0..=MAX_SFRAME_KEYS as u64)
        .map(|kid| SframeSender::new(suite, kid, 0, &[kid as u8; 32]).unwrap())
        .collect();
    for kid in 0..=MAX_SFRAME_KEYS as u64 {
        r.add_base_key(kid, 0, &[kid as u8; 32]).unwrap();
        assert_eq!(r.key_count(), (kid as usize + 1).min(MAX_SFRAME_KEYS));
    }
    let frame = send(&mut senders[0], b"x");
    assert_eq!(recv(&mut r, &frame), Err(Error::UnknownKeyId { kid: 0 }));
    for s in &mut senders[1..] {
        let f = send(s, b"x");
        assert!(recv(&mut r, &f).is_ok());
    }
    // A new key for a KID replaces the old one rather than adding one.
    r.add_base_key(5, 0, &[0xee; 32]).unwrap();
    assert_eq!(r.key_count(), MAX_SFRAME_KEYS);
    let f = send(&mut senders[5], b"x");
    assert_eq!(recv(&mut r, &f), Err(Error::Auth));
}

#[test]
fn receiver_follows_the_sender_ratchet_within_the_bound() {
    let suite = CipherSuite::AesCtr128HmacSha256_64;
    let generation = 3u64;
    let bits = 8u8;
    let kid0 = generation << bits;
    let (mut s, mut r) = pair(suite, kid0, bits);
    let step0 = send(&mut s, b"step 0");
    recv(&mut r, &step0).unwrap();
    let late0 = send(&mut s, b"late step 0");
    // Catch up three steps at once.
    for _ in 0..3 {
        s.ratchet().unwrap();
    }
    assert_eq!((s.kid(), s.next_counter()), (kid0 + 3, Some(0)));
    let step3 = send(&mut s, b"step 3");
    assert_eq!(recv(&mut r, &step3).unwrap(), b"step 3");
    // The step before is kept for frames still in flight...
    assert_eq!(recv(&mut r, &late0).unwrap(), b"late step 0");
    assert_eq!(recv(&mut r, &late0), Err(Error::Duplicate));
    // ...until a newer step authenticates.
    let late3 = send(&mut s, b"late step 3");
    s.ratchet().unwrap();
    recv(&mut r, &send(&mut s, b"step 4")).unwrap();
    let another0 = {
        let mut s0 = SframeSender::new(suite, kid0, bits, &[0x5a; 32]).unwrap();
        advance(&mut s0, 5);
        send(&mut s0, b"step 0 again")
    };
    assert_eq!(recv(&mut r, &late3).unwrap(), b"late step 3");
    // Step 0 is gone: 0 - 4 mod 256 is 252 steps "ahead", past the bound.
    assert_eq!(
        recv(&mut r, &another0),
        Err(Error::TooFarAhead { got: 252, max: MAX_SFRAME_RATCHET_STEPS as u32 })
    );

    // Exactly the bound is followed; one more is refused, unchanged.
    let mut far = SframeSender::new(suite, kid0, bits, &[0x5a; 32]).unwrap();
    for _ in 0..4 + MAX_SFRAME_RATCHET_STEPS + 1 {
        far.ratchet().unwrap();
    }
    let too_far = send(&mut far, b"too far");
    let before = format!("{r:?}");
    assert_eq!(
        recv(&mut r, &too_far),
        Err(Error::TooFarAhead {
            got: MAX_SFRAME_RATCHET_STEPS as u32 + 1,
            max: MAX_SFRAME_RATCHET_STEPS as u32
        })
    );
    assert_eq!(format!("{r:?}"), before);
    let mut edge = SframeSender::new(suite, kid0, bits, &[0x5a; 32]).unwrap();
    for _ in 0..4 + MAX_SFRAME_RATCHET_STEPS {
        edge.ratchet().unwrap();
    }
    assert_eq!(recv(&mut r, &send(&mut edge, b"edge")).unwrap(), b"edge");
    assert_eq!(recv(&mut r, &too_far).unwrap(), b"too far");
}

/// With one ratchet bit, step 2 has the low bits of the retained step 0:
/// the frame is tried under step 0, then as the next step.
#[test]
fn one_ratchet_bit_wraps_the_step() {
    let (mut s, mut r) = pair(CipherSuite::AesGcm128Sha256, 0b10, 1);
    recv(&mut r, &send(&mut s, b"0")).unwrap();
    let replay0 = send(&mut s, b"0'");
    recv(&mut r, &replay0).unwrap();
    s.ratchet().unwrap();
    assert_eq!(s.kid(), 0b11);
    recv(&mut r, &send(&mut s, b"1")).unwrap();
    s.ratchet().unwrap();
    assert_eq!(s.kid(), 0b10);
    // Counter 0 of step 2 was seen under step 0: still taken as step 2.
    assert_eq!(recv(&mut r, &send(&mut s, b"2")).unwrap(), b"2");
    // A replay of a step-0 frame is now unknown to both candidate steps.
    assert_eq!(recv(&mut r, &replay0), Err(Error::Auth));
}

#[test]
fn senders_without_ratchet_bits_cannot_ratchet() {
    let mut s = SframeSender::new(CipherSuite::AesGcm128Sha256, 1, 0, &[1; 32]).unwrap();
    assert_eq!(s.ratchet(), Err(Error::NoRatchet));
    let raw = SframeKey::derive(CipherSuite::AesGcm128Sha256, 1, &[1; 32]).unwrap();
    let mut from_raw = SframeSender::from_key(&raw).unwrap();
    assert_eq!(from_raw.ratchet(), Err(Error::NoRatchet));
    // The same key material gives the same frames.
    assert_eq!(send(&mut s, b"same"), send(&mut from_raw, b"same"));
    assert!(SframeSender::new(CipherSuite::AesGcm128Sha256, 1, 64, &[1; 32]).is_err());
    assert!(SframeSender::new(CipherSuite::AesGcm128Sha256, 1, 63, &[1; 32]).is_ok());
    assert_eq!(
        SframeKey::from_raw(CipherSuite::AesGcm128Sha256, 1, &[0; 17], &[0; 12]).err(),
        Some(Error::Decode(DecodeError::InvalidValue))
    );
}

#[test]
fn debug_output_hides_key_bytes() {
    let key = SframeKey::derive(CipherSuite::AesGcm128Sha256, 7, &[0xab; 32]).unwrap();
    assert_eq!(format!("{key:?}"), "SframeKey { suite: AesGcm128Sha256, kid: 7, .. }");
    let (s, r) = pair(CipherSuite::AesGcm128Sha256, 7, 0);
    assert_eq!(
        format!("{s:?}"),
        "SframeSender { suite: AesGcm128Sha256, kid: 7, ratchet_bits: 0, generation: 7, step: 0, next_ctr: Some(0), .. }"
    );
    assert_eq!(
        format!("{r:?}"),
        "SframeReceiver { suite: AesGcm128Sha256, keys: [Key { ratchet_bits: 0, generation: 7, current: (0, 7, None, 0), previous: None }] }"
    );
}
