//! Per-message cost through the C ABI beside native Rust, in one run
//! (issue #16's figures; `bindings/bench.sh` prints the ratios).
//!
//! Both sides encrypt and decrypt on an established session (plain mode,
//! a Message on an existing chain) with the operating system's generator
//! (getrandom), at 16 B and 4 KiB:
//!
//! * `native/{encrypt,decrypt}/N`: `chatcrypt::Session::encrypt` /
//!   `decrypt` (allocating, as a binding's caller gets a fresh buffer);
//! * `c_abi/{encrypt,decrypt}/N`: `chatcrypt_session_encrypt` /
//!   `chatcrypt_session_decrypt` on handles, into caller buffers, as a C
//!   program calls them (handle and pointer checks, `catch_unwind`, the
//!   facade's error mapping).
//!
//! Run: `cargo bench -p chatcrypt-c --bench abi`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::{hint::black_box, ptr};

use chatcrypt::{
    rand_core::UnwrapErr, AcceptPolicy, IdentityKeyPair, ModePolicy, OneTimePreKey, PqPolicy, PreKeyBundle,
    PreKeyMessage, Session, SignedPreKey,
};
use chatcrypt_c::{
    chatcrypt_rng_free, chatcrypt_rng_os, chatcrypt_session_decrypt, chatcrypt_session_encrypt,
    chatcrypt_session_free, chatcrypt_session_from_bytes, ChatcryptRng, ChatcryptSession,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use getrandom::SysRng;

const SIZES: [usize; 2] = [16, 4096];

/// Alice's and Bob's sessions after a handshake and one reply each way.
fn established() -> (Session, Session) {
    let mut rng = UnwrapErr(SysRng);
    let bob = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&bob, 1, &mut rng);
    let opk = OneTimePreKey::generate(2, &mut rng);
    let bundle =
        PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()));
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a =
        Session::initiate_with(&alice, &bundle, chatcrypt::Mode::Plain, PqPolicy::AllowClassical, &mut rng)
            .unwrap();
    let first = a.encrypt(b"hi", &mut rng).unwrap();
    let msg = PreKeyMessage::from_bytes(&first).unwrap();
    let policy = AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical);
    let mut b = Session::accept(&bob, &spk, Some(opk), None, &msg, policy, &mut rng).unwrap().session;
    a.decrypt(&b.encrypt(b"hi", &mut rng).unwrap(), &mut rng).unwrap();
    b.decrypt(&a.encrypt(b"ok", &mut rng).unwrap(), &mut rng).unwrap();
    (a, b)
}

/// A C handle for a session, loaded from its stored form as an app would.
fn handle(session: &Session) -> *mut ChatcryptSession {
    let bytes = session.to_bytes();
    let mut out = ptr::null_mut();
    // SAFETY: `bytes` is valid for its length; `out` is a valid out-pointer.
    let rc = unsafe { chatcrypt_session_from_bytes(bytes.as_ptr(), bytes.len(), &mut out) };
    assert_eq!(rc, 0);
    out
}

fn os_rng() -> *mut ChatcryptRng {
    let mut rng = ptr::null_mut();
    // SAFETY: `rng` is a valid out-pointer.
    assert_eq!(unsafe { chatcrypt_rng_os(&mut rng) }, 0);
    rng
}

/// Encrypts through the C ABI into `out`; returns the length.
fn c_encrypt(s: *mut ChatcryptSession, rng: *mut ChatcryptRng, pt: &[u8], out: &mut [u8]) -> usize {
    let mut len = 0;
    // SAFETY: live handles; buffers valid for their lengths.
    let rc = unsafe {
        chatcrypt_session_encrypt(s, rng, pt.as_ptr(), pt.len(), out.as_mut_ptr(), out.len(), &mut len)
    };
    debug_assert_eq!(rc, 0);
    len
}

fn abi(c: &mut Criterion) {
    let mut g = c.benchmark_group("binding");
    let mut rng = UnwrapErr(SysRng);
    for size in SIZES {
        let plaintext = vec![0x5au8; size];
        g.throughput(Throughput::Elements(1));

        let (mut a, _) = established();
        g.bench_function(format!("native/encrypt/{size}"), |bench| {
            bench.iter(|| a.encrypt(black_box(&plaintext), &mut rng).unwrap())
        });
        // A fresh pair for decryption (the receiver must not fall behind).
        let (mut a, mut b) = established();
        g.bench_function(format!("native/decrypt/{size}"), |bench| {
            bench.iter_batched(
                || a.encrypt(&plaintext, &mut UnwrapErr(SysRng)).unwrap(),
                |m| b.decrypt(black_box(&m), &mut rng).unwrap(),
                BatchSize::SmallInput,
            )
        });

        let (a, b) = established();
        let (ha, hb, crng) = (handle(&a), handle(&b), os_rng());
        let mut out = vec![0u8; size + 200];
        g.bench_function(format!("c_abi/encrypt/{size}"), |bench| {
            bench.iter(|| c_encrypt(ha, crng, black_box(&plaintext), &mut out))
        });
        // A fresh pair for decryption (the receiver must not fall behind).
        let (a, b2) = established();
        let (ha2, hb2) = (handle(&a), handle(&b2));
        let mut pt = vec![0u8; size + 200];
        g.bench_function(format!("c_abi/decrypt/{size}"), |bench| {
            bench.iter_batched(
                || {
                    let mut m = vec![0u8; size + 200];
                    let n = c_encrypt(ha2, crng, &plaintext, &mut m);
                    m.truncate(n);
                    m
                },
                |m| {
                    let mut len = 0;
                    // SAFETY: live handles; buffers valid for their lengths;
                    // no message id wanted (NULL, capacity 0).
                    let rc = unsafe {
                        chatcrypt_session_decrypt(
                            hb2,
                            crng,
                            m.as_ptr(),
                            m.len(),
                            pt.as_mut_ptr(),
                            pt.len(),
                            &mut len,
                            ptr::null_mut(),
                            0,
                        )
                    };
                    debug_assert_eq!((rc, len), (0, size));
                    len
                },
                BatchSize::SmallInput,
            )
        });
        // SAFETY: each handle is live and freed once.
        unsafe {
            for h in [ha, hb, ha2, hb2] {
                chatcrypt_session_free(h);
            }
            chatcrypt_rng_free(crng);
        }
    }
    g.finish();
}

criterion_group!(benches, abi);
criterion_main!(benches);
