//! A plaintext that authenticated but is refused (its padding is not what
//! its stated policy gives, SPEC.md §26.2) is not left in freed heap memory:
//! the session record zeroes it on both paths, a message on an existing
//! session and a session's first message.
//!
//! The recording allocator (one per test binary, as in
//! `tests/heap_secrets.rs`) copies every block freed during the library
//! call into an arena, which must not contain the refused plaintext.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
};

use chatcrypt::{
    padding::{pad, PaddingPolicy},
    AccountKeyPair, DeviceId, DeviceLink, Error, IdentityKeyPair, LocalDevice, PeerAccount, Session,
    SessionPolicy, SessionRecord, MAX_PLAINTEXT_LEN,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

struct Recording;
static RECORDING: AtomicBool = AtomicBool::new(false);
static ARENA: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn record(ptr: *mut u8, size: usize) {
    if !RECORDING.load(Ordering::Relaxed) || size == 0 {
        return;
    }
    // SAFETY: `ptr` points to a live block of `size` bytes that is about to
    // be freed (or moved from) by the caller.
    let block = unsafe { std::slice::from_raw_parts(ptr, size) };
    if let Ok(mut arena) = ARENA.try_lock() {
        if arena.capacity() - arena.len() >= size {
            arena.extend_from_slice(block);
        }
    }
}
// SAFETY: every call is forwarded to `System`; recording only reads the
// block before it is released.
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

const NOW: u64 = 1_800_000_000;

fn device(account: &AccountKeyPair, seed: [u8; 32], rng: &mut ChaCha20Rng) -> (LocalDevice, PeerAccount) {
    let identity = IdentityKeyPair::from_seed(&seed);
    let cert = account.certify(DeviceId::new(1), identity.public_key());
    let link = DeviceLink::new(&identity, account.public_key(), DeviceId::new(1));
    let list = account.sign_device_list(1, &[link]).unwrap();
    let peer = PeerAccount::trust_on_first_use(b"someone", list).unwrap();
    let mut d = LocalDevice::new(identity, cert, NOW, rng).unwrap();
    d.replenish(0, 0, rng).unwrap();
    (d, peer)
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    h.windows(n.len()).any(|w| w == n)
}

#[test]
fn a_plaintext_refused_for_its_padding_is_not_left_in_freed_memory() {
    ARENA.lock().unwrap().reserve(64 << 20);
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let alice_account = AccountKeyPair::generate(&mut rng);
    let bob_account = AccountKeyPair::generate(&mut rng);
    let alice_seed = [7u8; 32];
    let (_alice_device, alice_for_bob) = device(&alice_account, alice_seed, &mut rng);
    let (mut bob_dev, _) = device(&bob_account, [9u8; 32], &mut rng);
    let persisted = bob_dev.to_bytes();
    let upload = bob_dev.upload(&persisted).unwrap();
    bob_dev.mark_uploaded(&upload);
    let policy = SessionPolicy::default();
    let mut bob = SessionRecord::new(DeviceId::new(1));
    let bundle = upload.bundle(Some(0), Some(0)).unwrap();
    let alice_identity = IdentityKeyPair::from_seed(&alice_seed);
    let mut alice = Session::initiate(&alice_identity, &bundle, &mut rng).unwrap();

    // A first message whose plaintext is not padded: the new-handshake path.
    let first_secret = b"FIRST-SECRET-PLAINTEXT-0123456789abcdef";
    let bad_first = alice.encrypt(first_secret, &mut rng).unwrap();
    RECORDING.store(true, Ordering::SeqCst);
    let r = bob.decrypt(&mut bob_dev, &alice_for_bob, &bad_first, &policy, NOW, &mut rng);
    RECORDING.store(false, Ordering::SeqCst);
    assert_eq!(r.err(), Some(Error::Padding));

    let good = pad(PaddingPolicy::DEFAULT, b"hello", MAX_PLAINTEXT_LEN).unwrap();
    let first = alice.encrypt(&good, &mut rng).unwrap();
    bob.decrypt(&mut bob_dev, &alice_for_bob, &first, &policy, NOW, &mut rng).unwrap();

    // A later message whose plaintext is not padded: the existing-session path.
    let secret = b"TOP-SECRET-PLAINTEXT-0123456789abcdef";
    let bad = alice.encrypt(secret, &mut rng).unwrap();
    RECORDING.store(true, Ordering::SeqCst);
    let r = bob.decrypt(&mut bob_dev, &alice_for_bob, &bad, &policy, NOW, &mut rng);
    RECORDING.store(false, Ordering::SeqCst);
    assert_eq!(r.err(), Some(Error::Padding));

    let arena = ARENA.lock().unwrap();
    assert!(!arena.is_empty(), "the recording saw no freed block: the check would prove nothing");
    assert!(!contains(&arena, first_secret), "a refused first message's plaintext is in a freed heap block");
    assert!(!contains(&arena, secret), "a refused message's plaintext is in a freed heap block");
}
