//! Simultaneous initiation converges (SPEC.md §20.3): a model test that
//! explores **every** delivery order.
//!
//! Alice's and Bob's devices both start a session before either has seen
//! the other's first message, and each sends one or two messages on it. The
//! network then delivers the messages in flight in every possible order;
//! each side answers the first messages it decrypts with a reply on its
//! current session (the reply joins the messages in flight). For every
//! interleaving the test checks:
//!
//! * **no loss:** every message sent decrypts, exactly once, as soon as it is
//!   delivered (no error at all);
//! * **convergence within one round trip:** as soon as each side has
//!   decrypted one message of the other, both records' current sessions are
//!   the same session, and stay so;
//! * **then it works:** after the network is empty, one more message each
//!   way decrypts on that session.
//!
//! The exploration replays each path from the start with fixed seeds
//! (records are not `Clone`), so the run is deterministic.

use chatcrypt::Mode;
use chatcrypt::{
    AcceptPolicy, AccountKeyPair, DeviceId, DeviceList, IdentityKeyPair, LocalDevice, ModePolicy,
    PeerAccount, PqPolicy, PreKeyBundle, SessionPolicy, SessionRecord, MAX_ARCHIVED_SESSIONS,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

const NOW: u64 = 1_000;

/// Classical sessions keep the exploration fast; the rule under test does
/// not depend on the handshake's KEM part.
fn policy() -> SessionPolicy {
    SessionPolicy::new(
        Mode::Plain,
        PqPolicy::AllowClassical,
        AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
    )
}

struct Side {
    device: LocalDevice,
    peer: PeerAccount,
    record: SessionRecord,
    /// How many more replies this side sends.
    replies_left: usize,
    /// Whether it has decrypted a message of the other side.
    heard: bool,
}

struct Msg {
    to_bob: bool,
    bytes: Vec<u8>,
    label: String,
}

struct World {
    alice: Side,
    bob: Side,
    in_flight: Vec<Msg>,
    rng: ChaCha20Rng,
    delivered: Vec<String>,
    converged_at: Option<usize>,
}

fn device(seed: u8, account: &AccountKeyPair) -> (LocalDevice, DeviceList) {
    let identity = IdentityKeyPair::from_seed(&[seed; 32]);
    let cert = account.certify(DeviceId::new(1), identity.public_key());
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let device = LocalDevice::new(identity, cert, NOW, &mut rng).unwrap();
    let list = account.sign_device_list(1, &[device.link()]).unwrap();
    (device, list)
}

fn bundle(d: &LocalDevice) -> PreKeyBundle {
    PreKeyBundle::new(d.identity().public_key().clone(), d.signed_prekey().clone(), None)
}

impl World {
    /// Both start; Alice sends `na` and Bob `nb` messages before any
    /// delivery; each answers its first `replies` decrypted messages.
    fn new(seed: u8, na: usize, nb: usize, replies: usize) -> World {
        let alice_account = AccountKeyPair::from_seed(&[seed; 32]);
        let bob_account = AccountKeyPair::from_seed(&[seed.wrapping_add(1); 32]);
        let (alice_device, alice_list) = device(seed.wrapping_add(2), &alice_account);
        let (bob_device, bob_list) = device(seed.wrapping_add(3), &bob_account);
        let mut rng = ChaCha20Rng::from_seed([seed.wrapping_add(4); 32]);
        let mut alice = Side {
            peer: PeerAccount::trust_on_first_use(b"bob", bob_list).unwrap(),
            record: SessionRecord::new(DeviceId::new(1)),
            device: alice_device,
            replies_left: replies,
            heard: false,
        };
        let mut bob = Side {
            peer: PeerAccount::trust_on_first_use(b"alice", alice_list).unwrap(),
            record: SessionRecord::new(DeviceId::new(1)),
            device: bob_device,
            replies_left: replies,
            heard: false,
        };
        let bob_bundle = bundle(&bob.device);
        let alice_bundle = bundle(&alice.device);
        alice.record.initiate(&alice.device, &alice.peer, &bob_bundle, &policy(), NOW, &mut rng).unwrap();
        bob.record.initiate(&bob.device, &bob.peer, &alice_bundle, &policy(), NOW, &mut rng).unwrap();
        let mut in_flight = Vec::new();
        for i in 0..na {
            let label = format!("a{i}");
            let bytes = alice.record.encrypt(&alice.peer, label.as_bytes(), NOW, &mut rng).unwrap();
            in_flight.push(Msg { to_bob: true, bytes, label });
        }
        for i in 0..nb {
            let label = format!("b{i}");
            let bytes = bob.record.encrypt(&bob.peer, label.as_bytes(), NOW, &mut rng).unwrap();
            in_flight.push(Msg { to_bob: false, bytes, label });
        }
        World { alice, bob, in_flight, rng, delivered: Vec::new(), converged_at: None }
    }

    fn same_session(&self) -> bool {
        self.alice.record.current_session_id() == self.bob.record.current_session_id()
    }

    /// Delivers in-flight message `i`; panics (with the path) on any failure.
    fn deliver(&mut self, i: usize, path: &[usize]) {
        let msg = self.in_flight.remove(i);
        let (to, from_label) = if msg.to_bob { (&mut self.bob, "bob") } else { (&mut self.alice, "alice") };
        let got = to
            .record
            .decrypt(&mut to.device, &to.peer, &msg.bytes, &policy(), NOW, &mut self.rng)
            .unwrap_or_else(|e| panic!("path {path:?}: {from_label} could not decrypt {}: {e:?}", msg.label));
        assert_eq!(got.plaintext, msg.label.as_bytes(), "path {path:?}");
        assert!(to.record.archived_count() <= MAX_ARCHIVED_SESSIONS);
        to.heard = true;
        self.delivered.push(msg.label.clone());
        if to.replies_left > 0 {
            to.replies_left -= 1;
            let label = format!("re-{}", msg.label);
            let bytes = to.record.encrypt(&to.peer, label.as_bytes(), NOW, &mut self.rng).unwrap();
            self.in_flight.push(Msg { to_bob: !msg.to_bob, bytes, label });
        }
        if self.alice.heard && self.bob.heard {
            assert!(
                self.same_session(),
                "path {path:?}: both have heard from each other but send on different sessions"
            );
            self.converged_at.get_or_insert(self.delivered.len());
        }
    }

    /// After the network is empty: one more message each way.
    fn finish(&mut self, path: &[usize]) {
        for to_bob in [true, false] {
            let (from, to) =
                if to_bob { (&mut self.alice, &mut self.bob) } else { (&mut self.bob, &mut self.alice) };
            let bytes = from.record.encrypt(&from.peer, b"after", NOW, &mut self.rng).unwrap();
            let got =
                to.record.decrypt(&mut to.device, &to.peer, &bytes, &policy(), NOW, &mut self.rng).unwrap();
            assert_eq!(got.plaintext, b"after", "path {path:?}");
            assert!(!got.new_session, "path {path:?}: the last message started a new session");
        }
        assert!(self.same_session(), "path {path:?}");
    }
}

/// Explores every delivery order for one scenario; returns the number of
/// complete interleavings.
fn explore(seed: u8, na: usize, nb: usize, replies: usize) -> usize {
    fn walk(seed: u8, na: usize, nb: usize, replies: usize, path: &mut Vec<usize>, total: usize) -> usize {
        let mut w = World::new(seed, na, nb, replies);
        for &i in path.iter() {
            w.deliver(i, path);
        }
        if w.in_flight.is_empty() {
            assert_eq!(w.delivered.len(), total, "path {path:?}: every message delivered once");
            let mut seen = w.delivered.clone();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), total, "path {path:?}");
            w.finish(path);
            return 1;
        }
        let n = w.in_flight.len();
        drop(w);
        let mut leaves = 0;
        for i in 0..n {
            path.push(i);
            leaves += walk(seed, na, nb, replies, path, total);
            path.pop();
        }
        leaves
    }
    let total = na + nb + 2 * replies;
    walk(seed, na, nb, replies, &mut Vec::new(), total)
}

#[test]
fn every_interleaving_converges_within_one_round_trip() {
    let mut leaves = 0;
    // Several seeds, so that both "Alice's base key is lower" and "Bob's
    // is lower" occur.
    let mut lower_alice = 0;
    for seed in [3u8, 10] {
        let w = World::new(seed, 1, 1, 0);
        let a = *w.alice.record.current_session_id().unwrap();
        let b = *w.bob.record.current_session_id().unwrap();
        lower_alice += usize::from(a < b);
        for (na, nb, replies) in [(1, 1, 1), (2, 1, 1), (1, 2, 1), (2, 2, 1), (1, 1, 2)] {
            println!(
                "seed {seed}: {na} + {nb} first messages, {replies} replies each, Alice's base key lower: {}",
                a < b
            );
            leaves += explore(seed, na, nb, replies);
        }
    }
    assert_eq!(lower_alice, 1, "the two seeds cover both orders of the base keys");
    println!("{leaves} interleavings explored");
    assert_eq!(leaves, 2 * (8 + 50 + 50 + 360 + 32), "every interleaving reached its end");
}
