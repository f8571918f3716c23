//! vodozemac (Olm, `SessionConfig::version_1`, as Matrix clients use it)
//! doing the same work as the `protocol` bench of chatcrypt, with group and
//! case names that mirror it: `vodozemac_encrypt/N`, `vodozemac_decrypt/N`,
//! `vodozemac_ratchet/round_trip_16`, `vodozemac_handshake/{initiate,accept}`.
//!
//! Run both in one invocation with `cargo bench --workspace`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use vodozemac::olm::{Account, OlmMessage, Session, SessionConfig};

const SIZES: [usize; 4] = [16, 256, 4096, 65536];

fn one_time_key(account: &mut Account) -> vodozemac::Curve25519PublicKey {
    account.generate_one_time_keys(1);
    let key = *account.one_time_keys().values().next().unwrap();
    account.mark_keys_as_published();
    key
}

/// Two Olm sessions after a handshake and one reply each way.
fn established() -> (Session, Session) {
    let alice = Account::new();
    let mut bob = Account::new();
    let otk = one_time_key(&mut bob);
    let mut a = alice.create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), otk).unwrap();
    let OlmMessage::PreKey(m) = a.encrypt("hi").unwrap() else { panic!("first message is a prekey message") };
    let mut b =
        bob.create_inbound_session(SessionConfig::version_1(), alice.curve25519_key(), &m).unwrap().session;
    let r = b.encrypt("hi").unwrap();
    a.decrypt(&r).unwrap();
    let m = a.encrypt("ok").unwrap();
    b.decrypt(&m).unwrap();
    (a, b)
}

fn encrypt(c: &mut Criterion) {
    let mut g = c.benchmark_group("vodozemac_encrypt");
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let (mut a, _b) = established();
        let plaintext = vec![0x5a; size];
        g.bench_function(format!("{size}"), |bench| bench.iter(|| a.encrypt(black_box(&plaintext)).unwrap()));
    }
    g.finish();
}

fn decrypt(c: &mut Criterion) {
    let mut g = c.benchmark_group("vodozemac_decrypt");
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let (mut a, mut b) = established();
        let plaintext = vec![0x5a; size];
        g.bench_function(format!("{size}"), |bench| {
            bench.iter_batched(
                || a.encrypt(&plaintext).unwrap(),
                |m| b.decrypt(&m).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn ratchet(c: &mut Criterion) {
    let mut g = c.benchmark_group("vodozemac_ratchet");
    let (mut a, mut b) = established();
    g.bench_function("round_trip_16", |bench| {
        bench.iter(|| {
            let m = a.encrypt([1u8; 16]).unwrap();
            b.decrypt(&m).unwrap();
            let r = b.encrypt([2u8; 16]).unwrap();
            a.decrypt(&r).unwrap();
        })
    });
    g.finish();
}

fn handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("vodozemac_handshake");
    let alice = Account::new();
    let mut bob = Account::new();
    let bob_key = bob.curve25519_key();
    let otk = one_time_key(&mut bob);
    // Olm has no signed prekey: the outbound session is 3DH on the identity
    // and one-time keys (the signature on the one-time key is checked by the
    // Matrix client, outside vodozemac).
    g.bench_function("initiate", |bench| {
        bench.iter(|| alice.create_outbound_session(SessionConfig::version_1(), bob_key, otk).unwrap())
    });
    // Setup: a fresh account with one one-time key and a first message to it.
    g.bench_function("accept", |bench| {
        bench.iter_batched(
            || {
                let mut bob = Account::new();
                let otk = one_time_key(&mut bob);
                let mut a = alice
                    .create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), otk)
                    .unwrap();
                let OlmMessage::PreKey(m) = a.encrypt([0u8; 16]).unwrap() else { panic!("prekey message") };
                (bob, m)
            },
            |(mut bob, m)| {
                bob.create_inbound_session(SessionConfig::version_1(), alice.curve25519_key(), &m).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, encrypt, decrypt, ratchet, handshake);
criterion_main!(benches);
