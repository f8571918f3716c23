//! Forward secrecy in memory (SPEC.md §12): no used or evicted message key,
//! chain key, root key, header key or ratchet private key survives in a
//! freed heap block.
//!
//! A recording global allocator copies every heap block the library frees
//! (while the library is being called) into an arena. The test runs
//! conversations in both modes with out-of-order delivery, thousands of
//! skipped keys (so the skipped-key store grows, removes from the middle and
//! evicts), remembered-chain evictions, persist/restore through plain and
//! sealed encodings, and rejected forgeries. After every call it reads every
//! secret from both sessions' encodings (SPEC.md §10.4, version 2) and
//! derives the next message key of every chain key it sees. At the end,
//! every secret that is no longer in either session must be absent from
//! every freed block.
//!
//! One test function, so no other test's frees land in the arena.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Mutex,
    },
};

use chatcrypt::{Error, Mode, Session};
use common::{Pair, TestSend};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The allocator: `System`, plus a copy of each freed block while
/// `RECORDING` is set.
struct Recording;

static RECORDING: AtomicBool = AtomicBool::new(false);
/// Freed blocks, concatenated; its capacity is reserved before recording
/// starts, so appending never allocates.
static ARENA: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static OVERFLOW: AtomicBool = AtomicBool::new(false);
static FREED_BLOCKS: AtomicUsize = AtomicUsize::new(0);

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
    FREED_BLOCKS.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut arena) = ARENA.try_lock() {
        if arena.capacity() - arena.len() >= size {
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
        // A reallocation may move the block and free the old one without
        // wiping it: record the old contents as freed.
        record(ptr, layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

/// Runs `f` (a library call) with recording on.
fn lib<T>(f: impl FnOnce() -> T) -> T {
    RECORDING.store(true, Ordering::SeqCst);
    let out = f();
    RECORDING.store(false, Ordering::SeqCst);
    out
}

/// A reader of the SPEC.md §10.4 version-2 session layout that collects
/// every secret: RK, DHs private key, CKs and its next message key, CKr and
/// its next message key, the header keys, and every skipped message key.
fn secrets_of(state: &[u8], out: &mut Vec<[u8; 32]>) {
    let key = |at: usize| -> [u8; 32] { state[at..at + 32].try_into().unwrap() };
    assert_eq!(state[..2], [0x53, 0x03], "session format version 3");
    assert_eq!(state[2] & 0xC0, 0, "a classical session: the version-2 layout");
    let flags = state[2];
    let mut at = 3 + 4 * 32; // identities and their X25519 forms
    let rk = key(at);
    let dhs = key(at + 32);
    let cks = key(at + 96);
    out.extend([rk, dhs, cks, next_message_key(&cks)]);
    at += 32 * 4 + 8;
    if flags & 2 != 0 {
        let ckr = key(at + 32);
        out.extend([ckr, next_message_key(&ckr)]);
        at += 68;
    }
    if flags & 4 != 0 {
        at += 36 + if flags & 8 != 0 { 4 } else { 0 };
    }
    if flags & 16 != 0 {
        at += 32;
    }
    let he = flags & 32 != 0;
    if he {
        let n = if flags & 2 != 0 { 4 } else { 3 };
        for i in 0..n {
            out.push(key(at + 32 * i));
        }
        at += 32 * n;
    }
    let c1 = usize::from(state[at]);
    at += 1;
    for _ in 0..c1 {
        at += 32;
        if he {
            out.push(key(at));
            at += 32;
        }
    }
    let c2 = usize::from(u16::from_be_bytes([state[at], state[at + 1]]));
    at += 2;
    for _ in 0..c2 {
        out.push(key(at + 36));
        at += 68;
    }
    assert_eq!(at, state.len(), "the test's reader follows SPEC.md §10.4");
}

/// `HMAC(ck, 0x01)`: the key of the next message of a chain.
fn next_message_key(ck: &[u8; 32]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(ck).unwrap();
    mac.update(&[1]);
    mac.finalize().into_bytes().into()
}

struct Observer {
    seen: HashSet<[u8; 32]>,
    scratch: Vec<[u8; 32]>,
}

impl Observer {
    fn observe(&mut self, sessions: &[&Session]) {
        for s in sessions {
            let bytes = s.to_bytes();
            self.scratch.clear();
            secrets_of(&bytes, &mut self.scratch);
            self.seen.extend(self.scratch.iter().copied());
        }
    }

    fn live(&mut self, sessions: &[&Session]) -> HashSet<[u8; 32]> {
        let mut live = HashSet::new();
        for s in sessions {
            self.scratch.clear();
            secrets_of(&s.to_bytes(), &mut self.scratch);
            live.extend(self.scratch.iter().copied());
        }
        live
    }
}

/// One conversation; returns how many secrets were observed.
fn converse(mode: Mode, obs: &mut Observer) -> (HashSet<[u8; 32]>, usize) {
    let mut p = Pair::established(mode, 4242);
    let seal_key = [0x33u8; 32];
    obs.observe(&[&p.alice, &p.bob]);
    for round in 0..14usize {
        // Alice sends a burst; Bob receives it out of order, some never.
        let burst: Vec<Vec<u8>> =
            (0..40).map(|i| lib(|| p.alice.encrypt_t(format!("{round}/{i}").as_bytes()).unwrap())).collect();
        obs.observe(&[&p.alice, &p.bob]);
        for i in (0..40).rev().filter(|i| i % 3 != 0) {
            let m = &burst[i];
            lib(|| p.bob.decrypt(m, &mut p.rng).unwrap());
            obs.observe(&[&p.alice, &p.bob]);
        }
        // A forgery and a replay change nothing.
        let mut forged = burst[1].clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(lib(|| p.bob.decrypt(&forged, &mut p.rng)).is_err());
        assert_eq!(lib(|| p.bob.decrypt(&burst[2], &mut p.rng)), Err(Error::Duplicate));
        // A long gap: up to MAX_SKIP keys skipped at once, so the store grows
        // past its bound over the rounds and evicts.
        let skip = 200 + 60 * round;
        for _ in 0..skip {
            lib(|| p.alice.encrypt_t(b"lost").unwrap());
        }
        let m = lib(|| p.alice.encrypt_t(b"after the gap").unwrap());
        lib(|| p.bob.decrypt(&m, &mut p.rng).unwrap());
        obs.observe(&[&p.alice, &p.bob]);
        // Bob replies (a ratchet step both ways), and both go through
        // storage: Alice sealed, Bob plain.
        let r = lib(|| p.bob.encrypt_t(b"reply").unwrap());
        lib(|| p.alice.decrypt(&r, &mut p.rng).unwrap());
        obs.observe(&[&p.alice, &p.bob]);
        let sealed = lib(|| p.alice.seal(&seal_key, &mut p.rng));
        p.alice = lib(|| Session::open(&seal_key, &sealed).unwrap());
        let plain = lib(|| p.bob.to_bytes());
        p.bob = lib(|| Session::from_bytes(&plain).unwrap());
        drop(plain);
        obs.observe(&[&p.alice, &p.bob]);
    }
    assert!(p.bob.skipped_key_count() >= 1900, "the store reached its bound");
    let live = obs.live(&[&p.alice, &p.bob]);
    (live, obs.seen.len())
}

#[test]
fn no_dead_key_survives_in_freed_heap_memory() {
    ARENA.lock().unwrap().reserve_exact(512 << 20);
    let mut report = Vec::new();
    for mode in [Mode::Plain, Mode::HeaderEncryption] {
        ARENA.lock().unwrap().clear();
        FREED_BLOCKS.store(0, Ordering::SeqCst);
        let mut obs = Observer { seen: HashSet::with_capacity(200_000), scratch: Vec::with_capacity(4096) };
        let (live, seen) = converse(mode, &mut obs);
        assert!(!OVERFLOW.load(Ordering::SeqCst), "the arena overflowed: raise its size");
        let dead: HashSet<[u8; 32]> = obs.seen.difference(&live).copied().collect();
        let arena = ARENA.lock().unwrap();
        let found = scan(&arena, &dead);
        report.push(format!(
            "{mode:?}: {seen} secrets observed, {} dead, {} freed non-zero blocks ({} bytes) scanned, {} dead keys found",
            dead.len(),
            FREED_BLOCKS.load(Ordering::SeqCst),
            arena.len(),
            found.len()
        ));
        assert!(dead.len() > 5_000, "the conversation exercised the stores: {}", report.join("; "));
        assert!(found.is_empty(), "{}", report.join("; "));
    }
    println!("{}", report.join("\n"));

    // The recorder and the scan work: a key left in a freed, unwiped block
    // (at an odd offset) is found.
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

/// The dead keys that occur anywhere (at any byte offset) in `arena`.
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
