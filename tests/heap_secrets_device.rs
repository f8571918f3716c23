//! Prekey secrets do not outlive their use in freed heap memory (SPEC.md
//! §12, §19): a one-time prekey consumed by a handshake, one dropped beyond
//! the device's bound, and a signed or last-resort prekey deleted after its
//! grace period leave no copy in any heap block the library frees.
//!
//! The recording allocator of `tests/heap_secrets.rs` (one per test binary,
//! hence this separate file) copies every block freed during a library call
//! into an arena. The secrets are read from the device's stored encoding
//! (SPEC.md §19.5) after every step; at the end, every secret no longer in
//! the device must be absent from every freed block. ML-KEM seeds are
//! checked as their two 32-byte halves `d` and `z`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
};

use chatcrypt::{
    AcceptPolicy, AccountKeyPair, DeviceId, IdentityKeyPair, LocalDevice, Mode, ModePolicy, PeerAccount,
    PqPolicy, PreKeyUpload, SessionPolicy, SessionRecord, SIGNED_PREKEY_GRACE,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

struct Recording;

static RECORDING: AtomicBool = AtomicBool::new(false);
static ARENA: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static OVERFLOW: AtomicBool = AtomicBool::new(false);
static BLOCKS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

fn record(ptr: *mut u8, size: usize) {
    if !RECORDING.load(Ordering::Relaxed) || size == 0 {
        return;
    }
    // SAFETY: `ptr` points to a live block of `size` bytes that is about to
    // be freed (or moved from) by the caller.
    let block = unsafe { std::slice::from_raw_parts(ptr, size) };
    if block.iter().all(|&b| b == 0) {
        return;
    }
    if let Ok(mut arena) = ARENA.try_lock() {
        if arena.capacity() - arena.len() >= size {
            if let Ok(mut b) = BLOCKS.try_lock() {
                if b.len() < b.capacity() {
                    b.push((arena.len(), size));
                }
            }
            arena.extend_from_slice(block);
        } else {
            OVERFLOW.store(true, Ordering::Relaxed);
        }
    }
}

unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(ptr, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(ptr, layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

fn lib<T>(f: impl FnOnce() -> T) -> T {
    RECORDING.store(true, Ordering::SeqCst);
    let out = f();
    RECORDING.store(false, Ordering::SeqCst);
    out
}

const SIGNED_LEN: usize = 4 + 32 + 64;
const KEM_LEN: usize = 1 + 4 + 64 + 64;

/// Every prekey secret in a stored device (SPEC.md §19.5): signed prekey
/// secrets, and both halves of every ML-KEM seed. The identity seed is
/// left out (it is never deleted).
fn secrets_of(state: &[u8], out: &mut Vec<[u8; 32]>) {
    let first = out.len();
    let key = |at: usize| -> [u8; 32] { state[at..at + 32].try_into().unwrap() };
    let mut kinds = KINDS.lock().unwrap();
    let signed = |at: usize, out: &mut Vec<[u8; 32]>| out.push(key(at + 4));
    assert!(out.capacity() - out.len() >= 1_000, "preallocated");
    let kem = |at: usize, out: &mut Vec<[u8; 32]>| {
        out.push(key(at + 5));
        out.push(key(at + 37));
    };
    let _ = &mut kinds;
    let mut at = 2 + 32 + chatcrypt::DEVICE_CERTIFICATE_LEN + 8 + 4 + 4;
    signed(at, out);
    at += SIGNED_LEN;
    kem(at, out);
    at += KEM_LEN;
    let retired = usize::from(state[at]);
    at += 1;
    for _ in 0..retired {
        at += 8;
        signed(at, out);
        at += SIGNED_LEN;
        kem(at, out);
        at += KEM_LEN;
    }
    let n = usize::from(u16::from_be_bytes([state[at], state[at + 1]]));
    at += 2;
    for _ in 0..n {
        out.push(key(at + 4));
        at += 36;
    }
    let m = usize::from(u16::from_be_bytes([state[at], state[at + 1]]));
    at += 2;
    for _ in 0..m {
        kem(at, out);
        at += KEM_LEN;
    }
    let seen = usize::from(u16::from_be_bytes([state[at], state[at + 1]]));
    at += 2 + 36 * seen;
    assert_eq!(at, state.len(), "the layout of SPEC.md §19.5");
    // Label: signed prekeys and KEM halves by position in `out`.
    let n_fixed = 3 + retired * 3;
    for (i, k) in out[first..].iter().enumerate() {
        let name = if i < n_fixed {
            ["signed", "kem-d", "kem-z"][i % 3]
        } else if i < n_fixed + n {
            "one-time"
        } else if (i - n_fixed - n) % 2 == 0 {
            "kem-one-time-d"
        } else {
            "kem-one-time-z"
        };
        kinds.push((*k, name));
    }
}

static KINDS: Mutex<Vec<([u8; 32], &'static str)>> = Mutex::new(Vec::new());

fn kind_of(k: &[u8; 32], kinds: &[([u8; 32], &'static str)]) -> String {
    kinds.iter().find(|(x, _)| x == k).map_or("?".into(), |(_, n)| (*n).to_string())
}

fn scan(arena: &[u8], dead: &HashSet<[u8; 32]>) -> HashSet<[u8; 32]> {
    let prefixes: HashSet<[u8; 8]> = dead.iter().map(|k| k[..8].try_into().unwrap()).collect();
    let mut found = HashSet::new();
    for at in 0..arena.len().saturating_sub(31) {
        let prefix: [u8; 8] = arena[at..at + 8].try_into().unwrap();
        if prefixes.contains(&prefix) {
            let window: [u8; 32] = arena[at..at + 32].try_into().unwrap();
            if dead.contains(&window) {
                found.insert(window);
            }
        }
    }
    found
}

fn device(account: &AccountKeyPair, seed: u8, rng: &mut ChaCha20Rng) -> LocalDevice {
    let identity = IdentityKeyPair::from_seed(&[seed; 32]);
    let cert = account.certify(DeviceId::new(1), identity.public_key());
    LocalDevice::new(identity, cert, 0, rng).unwrap()
}

#[test]
fn no_deleted_prekey_survives_in_freed_heap_memory() {
    ARENA.lock().unwrap().reserve_exact(256 << 20);
    BLOCKS.lock().unwrap().reserve_exact(1 << 20);
    // The test's own copies of secrets live in buffers allocated once, up
    // front, and never freed or grown during the run: a freed, unwiped
    // test buffer could be reused by a library allocation and show up in
    // the arena as if the library had left it there.
    KINDS.lock().unwrap().reserve_exact(20_000);
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    let alice_account = AccountKeyPair::from_seed(&[1; 32]);
    let bob_account = AccountKeyPair::from_seed(&[2; 32]);
    let alice = device(&alice_account, 3, &mut rng);
    let mut bob = device(&bob_account, 4, &mut rng);
    let list = |a: &AccountKeyPair, d: &LocalDevice| a.sign_device_list(1, &[d.link()]).unwrap();
    let bob_for_alice = PeerAccount::trust_on_first_use(b"bob", list(&bob_account, &bob)).unwrap();
    let alice_for_bob = PeerAccount::trust_on_first_use(b"alice", list(&alice_account, &alice)).unwrap();
    let policy = SessionPolicy::new(
        Mode::Plain,
        PqPolicy::Required,
        AcceptPolicy::new(ModePolicy::Any, PqPolicy::Required),
    );

    let mut seen: HashSet<[u8; 32]> = HashSet::with_capacity(20_000);
    let mut scratch: Vec<[u8; 32]> = Vec::with_capacity(2_000);
    let mut observe = |d: &LocalDevice, seen: &mut HashSet<[u8; 32]>| {
        scratch.clear();
        secrets_of(&d.to_bytes(), &mut scratch);
        seen.extend(scratch.iter().copied());
    };
    observe(&bob, &mut seen);

    let mut t = 10;
    let mut handshakes = 0;
    for round in 0u64..3 {
        lib(|| bob.replenish(0, 0, &mut rng)).unwrap();
        observe(&bob, &mut seen);
        let stored = bob.to_bytes();
        let upload = lib(|| PreKeyUpload::from_bytes(&bob.upload(&stored).unwrap().to_bytes())).unwrap();
        bob.mark_uploaded(&upload);
        // Half of each batch is used by handshakes (consumed); the rest
        // piles up until the bound drops the oldest.
        for i in 0..upload.kem_prekeys().len() / 2 {
            let bundle = upload.bundle(Some(i), Some(i)).unwrap();
            let mut a = SessionRecord::new(DeviceId::new(1));
            let mut b = SessionRecord::new(DeviceId::new(1));
            lib(|| {
                a.initiate(&alice, &bob_for_alice, &bundle, &policy, t, &mut rng).unwrap();
                let m = a.encrypt(&bob_for_alice, b"hi", t, &mut rng).unwrap();
                b.decrypt(&mut bob, &alice_for_bob, &m, &policy, t, &mut rng).unwrap();
            });
            handshakes += 1;
        }
        // Rotations: the first pair retires, then is pruned after the grace.
        lib(|| bob.rotate_signed_prekey(t, &mut rng)).unwrap();
        observe(&bob, &mut seen);
        t += SIGNED_PREKEY_GRACE + round;
        lib(|| bob.prune(t));
        // A restore from the stored form replaces the device.
        let bytes = bob.to_bytes();
        bob = lib(|| LocalDevice::from_bytes(&bytes)).unwrap();
    }
    // Enough uploads to pass MAX_ONE_TIME_PREKEYS and drop the oldest.
    for _ in 0..3 {
        lib(|| bob.replenish(0, 0, &mut rng)).unwrap();
        observe(&bob, &mut seen);
        let stored = bob.to_bytes();
        let upload = lib(|| bob.upload(&stored)).unwrap();
        bob.mark_uploaded(&upload);
    }
    let (x, k) = bob.one_time_prekey_counts();
    assert_eq!((x, k), (chatcrypt::MAX_ONE_TIME_PREKEYS, chatcrypt::MAX_KEM_ONE_TIME_PREKEYS));

    let mut live_keys = Vec::with_capacity(2_000);
    secrets_of(&bob.to_bytes(), &mut live_keys);
    let live: HashSet<[u8; 32]> = live_keys.into_iter().collect();
    let dead: HashSet<[u8; 32]> = seen.difference(&live).copied().collect();
    assert!(!OVERFLOW.load(Ordering::SeqCst), "the arena overflowed");
    let arena = ARENA.lock().unwrap();
    let found = scan(&arena, &dead);
    println!(
        "{handshakes} handshakes, {} secrets observed, {} deleted, {} bytes of freed blocks scanned, {} found",
        seen.len(),
        dead.len(),
        arena.len(),
        found.len()
    );
    assert!(handshakes >= 30 && dead.len() > 200, "the test exercised deletion");
    if !found.is_empty() {
        // Which kinds: classify against a fresh parse of every observed state.
        let kinds: Vec<String> = found.iter().map(|k| kind_of(k, &KINDS.lock().unwrap())).collect();
        let blocks = BLOCKS.lock().unwrap();
        for k in &found {
            let at = arena.windows(32).position(|w| w == k).unwrap();
            let b = blocks.iter().find(|(s, n)| *s <= at && at < s + n).unwrap();
            println!(
                "found {} at offset {} of a block of {} bytes",
                kind_of(k, &KINDS.lock().unwrap()),
                at - b.0,
                b.1
            );
            println!("  context {:02x?}", &arena[at.saturating_sub(20)..at]);
            println!("  block start {:02x?}", &arena[b.0..b.0 + 64]);
        }
        panic!("{} deleted prekey secrets found in freed memory: {kinds:?}", found.len());
    }
    drop(arena);

    // The recorder and the scan work: a planted key in a freed block is found.
    ARENA.lock().unwrap().clear();
    let planted = [0xA7u8; 32];
    lib(|| {
        let mut v = vec![0x11u8; 77];
        v[5..37].copy_from_slice(&planted);
        drop(std::hint::black_box(v));
    });
    let dead: HashSet<[u8; 32]> = [planted].into_iter().collect();
    assert_eq!(scan(&ARENA.lock().unwrap(), &dead), dead);
}
