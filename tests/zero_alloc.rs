//! The buffer API performs no heap allocation for a message on an existing
//! chain, in either direction (issue: zero-allocation hot path); and the
//! stored encodings, which hold secrets, are allocated exactly once.
//!
//! A counting global allocator counts allocations made by the current
//! thread only, so the test harness's own threads do not disturb the count.
#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

mod common;
#[allow(unused_imports)]
use common::TestSend;

use chatcrypt::Mode;
use common::{rng, Pair, Responder};

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards every call unchanged to the system allocator; the counter
// is a const-initialised thread-local that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(|c| c.get());
    f();
    ALLOCATIONS.with(|c| c.get()) - before
}

#[test]
fn messages_on_an_existing_chain_allocate_nothing_in_either_direction() {
    let Pair { mut alice, mut bob, mut rng, .. } = Pair::handshake(Mode::Plain, 11);

    let mut wire = vec![0u8; 70_000];
    let mut plain = vec![0u8; 70_000];
    let payload = vec![0x42u8; 65_536];
    for direction in 0..2 {
        let (sender, receiver) = if direction == 0 { (&mut bob, &mut alice) } else { (&mut alice, &mut bob) };
        // The first message of each direction starts a ratchet step (not
        // an existing chain): it may allocate, and is not counted.
        let n = sender.encrypt_into_t(b"warm-up", &mut wire).unwrap();
        receiver.decrypt_into(&wire[..n], &mut plain, &mut rng).unwrap();
        for size in [0usize, 1, 16, 256, 4096, 65_536] {
            for _ in 0..20 {
                let mut len = 0;
                let counted = allocations_during(|| {
                    let n = sender.encrypt_into_t(&payload[..size], &mut wire).unwrap();
                    len = receiver.decrypt_into(&wire[..n], &mut plain, &mut rng).unwrap().len;
                });
                assert_eq!(counted, 0, "a {size}-byte message allocated {counted} times");
                assert_eq!(&plain[..len], &payload[..size]);
            }
        }
    }
    // The counter works: the Vec API does allocate.
    assert!(allocations_during(|| drop(alice.encrypt_t(b"x").unwrap())) > 0);
}

/// `to_bytes` returns a `Zeroizing` buffer, which wipes only its final
/// allocation. If the encoder's size estimate were short, a growth step
/// would copy the secrets already written and free the old buffer unwiped;
/// so every encoding must be made in one allocation. `seal` makes two: the
/// inner encoding (wiped on drop) and the output, which is sized before the
/// plaintext is copied in and encrypted in place.
#[test]
fn stored_encodings_are_made_in_one_allocation() {
    let mut rng = rng(12);
    let key = [9u8; 32];
    let Responder { identity, spk, opk, .. } = Responder::new(&mut rng, true);
    let opk = opk.unwrap();
    for (what, encode, seal) in [
        (
            "identity",
            allocations_during(|| drop(identity.to_bytes())),
            allocations_during(|| drop(identity.seal(&key, &mut rng))),
        ),
        (
            "signed prekey",
            allocations_during(|| drop(spk.to_bytes())),
            allocations_during(|| drop(spk.seal(&key, &mut rng))),
        ),
        (
            "one-time prekey",
            allocations_during(|| drop(opk.to_bytes())),
            allocations_during(|| drop(opk.seal(&key, &mut rng))),
        ),
    ] {
        assert_eq!(encode, 1, "{what}: to_bytes allocated {encode} times");
        assert_eq!(seal, 2, "{what}: seal allocated {seal} times");
    }

    for mode in [Mode::Plain, Mode::HeaderEncryption] {
        let mut p = Pair::handshake(mode, 13);
        // Bob reads the fourth of four more PreKeyMessages and keeps three
        // skipped keys; a round trip gives Alice a receiving chain and Bob a
        // remembered ratchet key.
        let sent: Vec<_> = (0..4).map(|i| p.send_a(&[i; 10])).collect();
        p.recv_b(&sent[3]).unwrap();
        p.round_trip(0);
        assert_eq!(p.bob.skipped_key_count(), 3);
        for (who, s) in [("initiator", &p.alice), ("responder", &p.bob)] {
            let encode = allocations_during(|| drop(s.to_bytes()));
            assert_eq!(encode, 1, "{mode:?} {who}: to_bytes allocated {encode} times");
            let seal = allocations_during(|| drop(s.seal(&key, &mut rng)));
            assert_eq!(seal, 2, "{mode:?} {who}: seal allocated {seal} times");
        }
    }
}

#[test]
fn media_frames_and_attachment_chunks_allocate_nothing() {
    use chatcrypt::media::{
        AttachmentDecryptor, AttachmentEncryptor, CipherSuite, SframeReceiver, SframeSender,
        ATTACHMENT_CHUNK_LEN,
    };
    let mut rng = rng(13);
    // SFrame: one frame each way, every suite, after the first (which may
    // set things up): no allocation per frame, sender or receiver.
    for suite in [
        CipherSuite::AesCtr128HmacSha256_80,
        CipherSuite::AesCtr128HmacSha256_64,
        CipherSuite::AesCtr128HmacSha256_32,
        CipherSuite::AesGcm128Sha256,
        CipherSuite::AesGcm256Sha512,
    ] {
        let mut sender = SframeSender::new(suite, 5, 0, &[9u8; 32]).unwrap();
        let mut receiver = SframeReceiver::new(suite);
        receiver.add_base_key(5, 0, &[9u8; 32]).unwrap();
        let payload = [0x5au8; 1200];
        let mut frame = [0u8; 1300];
        let mut out = [0u8; 1300];
        let n = sender.encrypt(b"hdr", &payload, &mut frame).unwrap();
        receiver.decrypt(b"hdr", &frame[..n], &mut out).unwrap();
        let allocated = allocations_during(|| {
            for _ in 0..10 {
                let n = sender.encrypt(b"hdr", &payload, &mut frame).unwrap();
                let d = receiver.decrypt(b"hdr", &frame[..n], &mut out).unwrap();
                assert_eq!(&out[..d.len], &payload[..]);
            }
        });
        assert_eq!(allocated, 0, "{suite:?}");
    }

    // Attachments: encrypting and decrypting chunks in caller buffers.
    let size = 3 * ATTACHMENT_CHUNK_LEN as u64 + 100;
    let mut enc = AttachmentEncryptor::new(size, &mut rng).unwrap();
    let mut chunks = Vec::with_capacity(3);
    let mut buf = vec![0x11u8; ATTACHMENT_CHUNK_LEN];
    for i in 0..3 {
        buf.fill(0x11);
        let mut tag = [0u8; 16];
        let allocated = allocations_during(|| tag = enc.encrypt_chunk(&mut buf).unwrap());
        assert_eq!(allocated, 0, "chunk {i}");
        chunks.push((i, buf.clone(), tag));
    }
    let mut last = vec![0x22u8; 100];
    let last_tag = enc.encrypt_chunk(&mut last).unwrap();
    let pointer = enc.finish().unwrap();
    let mut dec = AttachmentDecryptor::new(&pointer);
    let mut wire = vec![0u8; ATTACHMENT_CHUNK_LEN + 16];
    let mut out = vec![0u8; ATTACHMENT_CHUNK_LEN];
    for (_, body, tag) in &chunks {
        wire[..body.len()].copy_from_slice(body);
        wire[body.len()..body.len() + 16].copy_from_slice(tag);
        let allocated = allocations_during(|| {
            dec.decrypt_chunk(&wire[..body.len() + 16], &mut out).unwrap();
        });
        assert_eq!(allocated, 0);
        assert!(out.iter().all(|&b| b == 0x11));
    }
    let mut final_wire = last.clone();
    final_wire.extend_from_slice(&last_tag);
    let allocated = allocations_during(|| {
        dec.decrypt_chunk(&final_wire, &mut out).unwrap();
        dec.finish().unwrap();
    });
    assert_eq!(allocated, 0);
}
