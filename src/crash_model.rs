//! Model test of point "no key and nonce twice, whatever the caller
//! persists" (SPEC.md §6.3, §12): two devices whose app crashes at any
//! point and restores **any** earlier persisted snapshot, in both modes.
//!
//! Every AES-GCM seal the library performs goes through
//! `primitives::aead_seal`, which (in test builds, on a thread that asked
//! for it) records the key, the nonce and a digest of the associated data
//! and plaintext. The model asserts that no (key, nonce) pair ever sealed two
//! different (associated data, plaintext) inputs: that is exactly the
//! condition under which AES-GCM loses confidentiality (`c1 XOR c2 = p1 XOR
//! p2`) and its authentication key.
//!
//! `cargo test --lib crash_model` runs 1 000 cases per mode (2 000 in all);
//! `CHATCRYPT_CRASH_CASES=50000 cargo test --release --lib crash_model`
//! is the long run (50 000 per mode), reported in the closing notes.

use crate::{AcceptPolicy, PqPolicy};
use std::{cell::RefCell, collections::HashMap, vec::Vec};

use proptest::{collection::vec, prelude::*};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{
    IdentityKeyPair, Mode, ModePolicy, OneTimePreKey, PreKeyBundle, PreKeyMessage, Session, SignedPreKey,
};

type Seal = ([u8; 32], [u8; 12]);

struct Recorder {
    seen: HashMap<Seal, [u8; 32]>,
    seals: usize,
    violations: usize,
}

std::thread_local! {
    static RECORDER: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

/// Called by `aead_seal` for every seal (test builds only).
pub(crate) fn record_seal(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8], plaintext: &[u8]) {
    RECORDER.with(|r| {
        if let Some(rec) = r.borrow_mut().as_mut() {
            let mut h = Sha256::new();
            h.update((ad.len() as u64).to_be_bytes());
            h.update(ad);
            h.update(plaintext);
            let digest: [u8; 32] = h.finalize().into();
            rec.seals += 1;
            match rec.seen.get(&(*key, *nonce)) {
                Some(d) if *d != digest => rec.violations += 1,
                Some(_) => {}
                None => {
                    rec.seen.insert((*key, *nonce), digest);
                }
            }
        }
    });
}

fn start_recording() {
    RECORDER.with(|r| *r.borrow_mut() = Some(Recorder { seen: HashMap::new(), seals: 0, violations: 0 }));
}

/// (seals, violations), and stops recording.
fn stop_recording() -> (usize, usize) {
    RECORDER.with(|r| r.borrow_mut().take().map_or((0, 0), |rec| (rec.seals, rec.violations)))
}

#[derive(Clone, Copy, Debug)]
enum Party {
    A,
    B,
}

#[derive(Clone, Debug)]
enum Op {
    /// Encrypt plaintext number `p` (from a small set, so equal plaintexts
    /// recur) and put the message on the network.
    Send(Party, u8),
    /// Deliver message number `i` (modulo the messages ever sent to the
    /// party); messages stay on the network, so this also duplicates.
    Deliver(Party, usize),
    /// Persist the live session as a new snapshot.
    Persist(Party),
    /// The app dies: the live session is lost and snapshot `k` (modulo the
    /// number of snapshots, any of them, not only the last) is restored.
    CrashRestore(Party, usize),
}

fn party() -> impl Strategy<Value = Party> {
    prop_oneof![Just(Party::A), Just(Party::B)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (party(), 0u8..4).prop_map(|(p, m)| Op::Send(p, m)),
        5 => (party(), any::<usize>()).prop_map(|(p, i)| Op::Deliver(p, i)),
        3 => party().prop_map(Op::Persist),
        3 => (party(), any::<usize>()).prop_map(|(p, k)| Op::CrashRestore(p, k)),
    ]
}

struct Device {
    live: Option<Session>,
    snapshots: Vec<Zeroizing<Vec<u8>>>,
    /// Messages sent to this device.
    inbox: Vec<Vec<u8>>,
}

struct World {
    rng: ChaCha20Rng,
    a: Device,
    b: Device,
    bob: IdentityKeyPair,
    spk: SignedPreKey,
    opk: Zeroizing<Vec<u8>>,
}

fn plaintext(i: u8) -> Vec<u8> {
    // Two lengths and two contents: equal plaintexts recur on purpose.
    let len = if i.is_multiple_of(2) { 5 } else { 40 };
    std::vec![b'a' + i; len]
}

impl World {
    fn new(mode: Mode, seed: u64) -> World {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let bob = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&bob, 1, &mut rng);
        let opk = OneTimePreKey::generate(2, &mut rng);
        let bundle =
            PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()));
        let alice = IdentityKeyPair::generate(&mut rng);
        let a = Session::initiate_with(&alice, &bundle, mode, PqPolicy::AllowClassical, &mut rng).unwrap();
        let a = Device { snapshots: std::vec![a.to_bytes()], live: Some(a), inbox: Vec::new() };
        let b = Device { live: None, snapshots: Vec::new(), inbox: Vec::new() };
        World { rng, a, b, bob, spk, opk: opk.to_bytes() }
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Send(p, m) => {
                let (from, to) = match p {
                    Party::A => (&mut self.a, &mut self.b),
                    Party::B => (&mut self.b, &mut self.a),
                };
                if let Some(s) = &mut from.live {
                    if let Ok(msg) = s.encrypt(&plaintext(m), &mut self.rng) {
                        to.inbox.push(msg);
                    }
                }
            }
            Op::Deliver(p, i) => {
                let to = match p {
                    Party::A => &mut self.a,
                    Party::B => &mut self.b,
                };
                if to.inbox.is_empty() {
                    return;
                }
                let msg = to.inbox[i % to.inbox.len()].clone();
                match &mut to.live {
                    Some(s) => {
                        let _ = s.decrypt(&msg, &mut self.rng);
                    }
                    None => {
                        // Only B starts without a session: a PreKeyMessage
                        // creates it.
                        if let Ok(first) = PreKeyMessage::from_bytes(&msg) {
                            let opk = OneTimePreKey::from_bytes(&self.opk).unwrap();
                            let got = Session::accept(
                                &self.bob,
                                &self.spk,
                                Some(opk),
                                None,
                                &first,
                                AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
                                &mut self.rng,
                            );
                            if let Ok(acc) = got {
                                to.live = Some(acc.session);
                            }
                        }
                    }
                }
            }
            Op::Persist(p) => {
                let d = match p {
                    Party::A => &mut self.a,
                    Party::B => &mut self.b,
                };
                if let Some(s) = &d.live {
                    d.snapshots.push(s.to_bytes());
                }
            }
            Op::CrashRestore(p, k) => {
                let d = match p {
                    Party::A => &mut self.a,
                    Party::B => &mut self.b,
                };
                d.live = if d.snapshots.is_empty() {
                    None
                } else {
                    Some(Session::from_bytes(&d.snapshots[k % d.snapshots.len()]).unwrap())
                };
            }
        }
    }
}

/// Runs one case; returns (seals, violations).
fn run(mode: Mode, seed: u64, ops: &[Op]) -> (usize, usize) {
    start_recording();
    let mut world = World::new(mode, seed);
    for op in ops {
        world.step(op);
    }
    stop_recording()
}

fn cases() -> u32 {
    std::env::var("CHATCRYPT_CRASH_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_key_and_nonce_seals_two_inputs_plain(seed in any::<u64>(), ops in vec(op(), 1..40)) {
        let (_, violations) = run(Mode::Plain, seed, &ops);
        prop_assert_eq!(violations, 0);
    }

    #[test]
    fn no_key_and_nonce_seals_two_inputs_header_encryption(seed in any::<u64>(), ops in vec(op(), 1..40)) {
        let (_, violations) = run(Mode::HeaderEncryption, seed, &ops);
        prop_assert_eq!(violations, 0);
    }
}

/// The model can see a violation: the scripted crash that broke version 1
/// (encrypt, crash before persisting, encrypt something else from the same
/// snapshot) seals twice under one message key, and the recorder must count
/// those seals. With the reuse guard the two seals use different keys and
/// nonces; this test checks both that the scenario happens and that it is
/// safe.
#[test]
fn a_crash_before_persisting_reuses_the_message_key_but_not_the_key_and_nonce() {
    for mode in [Mode::Plain, Mode::HeaderEncryption] {
        start_recording();
        let mut w = World::new(mode, 7);
        w.step(&Op::Send(Party::A, 0));
        w.step(&Op::CrashRestore(Party::A, 0));
        w.step(&Op::Send(Party::A, 1));
        let (seals, violations) = stop_recording();
        // One body seal per message, plus one header seal each with header
        // encryption.
        let per_message = if mode == Mode::Plain { 1 } else { 2 };
        assert_eq!(seals, 2 * per_message);
        assert_eq!(violations, 0);
        // Both messages name the same chain position: without the guard
        // they would share a key and nonce.
        let (m0, m1) = (&w.b.inbox[0], &w.b.inbox[1]);
        assert_eq!(m0.len(), prekey_header_len(mode) + 5 + 16);
        assert_ne!(m0, m1);
        let first = PreKeyMessage::from_bytes(m0).unwrap();
        let opk = OneTimePreKey::from_bytes(&w.opk).unwrap();
        let mut b = Session::accept(
            &w.bob,
            &w.spk,
            Some(opk),
            None,
            &first,
            AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
            &mut w.rng,
        )
        .unwrap()
        .session;
        // The peer sees the second message as a duplicate of the first.
        assert_eq!(b.decrypt(m1, &mut w.rng), Err(crate::Error::Duplicate));
    }
}

/// Prefix with a one-time prekey id, then the (encrypted) ratchet header.
fn prekey_header_len(mode: Mode) -> usize {
    75 + if mode == Mode::Plain { 56 } else { 72 }
}

/// The recorder itself catches a reuse: two seals under one key and nonce
/// with different plaintexts are counted.
#[test]
fn the_recorder_counts_a_reused_key_and_nonce() {
    start_recording();
    let mut a = [1u8; 8];
    let mut b = [2u8; 8];
    crate::primitives::aead_seal(&[9; 32], &[3; 12], b"ad", &mut a).unwrap();
    crate::primitives::aead_seal(&[9; 32], &[3; 12], b"ad", &mut b).unwrap();
    assert_eq!(stop_recording(), (2, 1));
}
