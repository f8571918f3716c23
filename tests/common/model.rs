//! A state-machine model of two parties talking over a hostile network.
//!
//! A [`World`] starts from a real handshake ([`Pair::handshake`]) in either
//! [`Mode`] and applies
//! [`Event`]s: either party sends, and the network delivers, drops,
//! duplicates, tampers with or reorders the messages in flight. After every
//! event the world checks the crate's promises:
//!
//! * every genuine message that is delivered decrypts to its plaintext, once;
//!   except, with header encryption, a message whose chain is more than
//!   [`MAX_PREVIOUS_RATCHET_KEYS`] chains behind the receiver's current one:
//!   the receiver no longer has that chain's header key (and dropped its
//!   skipped keys), so the message is [`Error::Auth`] and changes nothing;
//! * a second delivery is [`Error::Duplicate`] (while the receiver still
//!   remembers the message's chain, [`MAX_PREVIOUS_RATCHET_KEYS`] chains
//!   back; after that [`Error::Auth`] with header encryption, and in plain
//!   mode [`Error::Auth`] is also allowed) and changes nothing;
//! * a message with one bit flipped is rejected and changes nothing;
//! * persisting and restoring a session changes nothing.
//!
//! [`World::finish`] delivers whatever is still in flight and has both sides
//! exchange one more message. The model has no proptest dependency, so a
//! fuzz target can drive it with [`events_from_bytes`] and [`World::run`]
//! (plain mode) or [`World::run_in`].
//!
//! The model tells chains apart without reading headers (which header
//! encryption hides): each message is labelled with the sender's
//! [`sending_chain_id`] when it is encrypted.

use super::TestSend;
use chatcrypt::{Error, Mode, Session, MAX_PREVIOUS_RATCHET_KEYS};

use super::{flip_bit, mode_of, ratchet_key_of, sending_chain_id, snapshot, Pair};

/// One of the two parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The initiator.
    Alice,
    /// The responder.
    Bob,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Alice => 0,
            Side::Bob => 1,
        }
    }
}

/// One step of the model. Indices pick a message modulo the length of the
/// relevant queue; an event on an empty queue does nothing.
#[derive(Clone, Debug)]
pub enum Event {
    /// Alice encrypts a plaintext of this many bytes (plus an 8-byte serial).
    SendA(u16),
    /// Bob encrypts a plaintext of this many bytes (plus an 8-byte serial).
    SendB(u16),
    /// The network delivers in-flight message `idx`.
    Deliver(usize),
    /// The network loses in-flight message `idx` for good.
    Drop(usize),
    /// The network delivers already-delivered message `idx` again.
    Duplicate(usize),
    /// The network delivers a copy of in-flight message `idx` with bit `bit`
    /// flipped; the genuine message stays in flight.
    Tamper(usize, usize),
    /// The network reverses the order of the messages in flight.
    Reorder,
    /// A party persists its session and restores it from the bytes.
    Persist(Side),
}

/// Decodes a byte string into events, for a fuzz target.
pub fn events_from_bytes(data: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut it = data.iter().copied();
    while let Some(op) = it.next() {
        let mut arg = || usize::from(it.next().unwrap_or(0));
        let ev = match op % 8 {
            0 => Event::SendA(u16::from(op / 8)),
            1 => Event::SendB(u16::from(op / 8)),
            2 => Event::Deliver(arg()),
            3 => Event::Drop(arg()),
            4 => Event::Duplicate(arg()),
            5 => {
                let idx = arg();
                let bit = arg() << 8 | arg();
                Event::Tamper(idx, bit)
            }
            6 => Event::Reorder,
            _ => Event::Persist(if op & 8 == 0 { Side::Alice } else { Side::Bob }),
        };
        events.push(ev);
    }
    events
}

/// A message on the network.
#[derive(Clone, Debug)]
struct Wire {
    to: Side,
    bytes: Vec<u8>,
    plaintext: Vec<u8>,
    /// The sender's [`sending_chain_id`] when it encrypted this message.
    chain: [u8; 32],
}

/// Counts of what happened, to let tests check that a run exercised something.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub sent: usize,
    pub delivered: usize,
    pub dropped: usize,
    pub duplicates: usize,
    pub tampered: usize,
    /// Replays from a chain too old to be remembered that came back as `Auth`.
    pub old_replays_auth: usize,
    /// Header encryption: genuine messages from a chain too old to be
    /// remembered, rejected as `Auth` (they count as lost).
    pub forgotten_chain: usize,
}

/// Two sessions and the network between them.
pub struct World {
    pair: Pair,
    in_flight: Vec<Wire>,
    delivered: Vec<Wire>,
    /// Per receiver: the chain ids of its receiving chains, in the order
    /// they became current.
    chains: [Vec<[u8; 32]>; 2],
    /// Per sender, plain mode: the chain id and ratchet key of its last
    /// message, to check that chain ids change exactly with ratchet keys.
    last_sent: [Option<([u8; 32], [u8; 32])>; 2],
    /// Per receiver: how many messages addressed to it were lost (dropped
    /// by the network, or from a forgotten chain).
    dropped_to: [usize; 2],
    serial: u64,
    pub stats: Stats,
}

impl World {
    /// A plain-mode world; see [`new_in`](Self::new_in).
    pub fn new(seed: u64) -> Self {
        Self::new_in(Mode::Plain, seed)
    }

    /// A world right after the handshake of [`Pair::handshake`] in `mode`
    /// (Alice's first message has been accepted by Bob; Alice awaits a reply).
    pub fn new_in(mode: Mode, seed: u64) -> Self {
        let pair = Pair::handshake(mode, seed);
        let chain = sending_chain_id(&pair.alice);
        let first = Wire { to: Side::Bob, bytes: pair.first.clone(), plaintext: b"hello".to_vec(), chain };
        let chains = [Vec::new(), vec![chain]];
        World {
            pair,
            in_flight: Vec::new(),
            delivered: vec![first],
            chains,
            last_sent: [None, None],
            dropped_to: [0, 0],
            serial: 0,
            stats: Stats::default(),
        }
    }

    /// The mode both sessions use.
    pub fn mode(&self) -> Mode {
        self.pair.mode
    }

    fn session(&mut self, side: Side) -> &mut Session {
        match side {
            Side::Alice => &mut self.pair.alice,
            Side::Bob => &mut self.pair.bob,
        }
    }

    /// How many chains behind the receiver's current receiving chain the
    /// message's chain is (0: the current one), or `None` for a chain the
    /// receiver has not seen (the message starts a ratchet step).
    fn age(&self, wire: &Wire) -> Option<usize> {
        let chains = &self.chains[wire.to.index()];
        chains.iter().position(|c| *c == wire.chain).map(|pos| chains.len() - 1 - pos)
    }

    fn send(&mut self, from: Side, len: u16) {
        self.serial += 1;
        let mut plaintext = self.serial.to_be_bytes().to_vec();
        plaintext.extend((0..len).map(|i| (i as u8) ^ (self.serial as u8)));
        let mode = self.mode();
        let session = self.session(from);
        let expected_len = session.encrypted_len(plaintext.len());
        let bytes = session.encrypt_t(&plaintext).expect("encrypt never fails for small plaintexts");
        assert_eq!(Ok(bytes.len()), expected_len, "encrypted_len disagrees with encrypt");
        assert_eq!(mode_of(&bytes), mode, "a message of the other mode");
        let chain = sending_chain_id(session);
        // Plain mode: the chain id changes exactly when the ratchet key does.
        if mode == Mode::Plain {
            let key = ratchet_key_of(&bytes);
            if let Some((last_chain, last_key)) = self.last_sent[from.index()] {
                assert_eq!(last_chain == chain, last_key == key, "chain ids and ratchet keys disagree");
            }
            self.last_sent[from.index()] = Some((chain, key));
        }
        let to = match from {
            Side::Alice => Side::Bob,
            Side::Bob => Side::Alice,
        };
        self.in_flight.push(Wire { to, bytes, plaintext, chain });
        self.stats.sent += 1;
    }

    fn deliver(&mut self, idx: usize) {
        if self.in_flight.is_empty() {
            return;
        }
        let wire = self.in_flight.remove(idx % self.in_flight.len());
        let forgotten = self.mode() == Mode::HeaderEncryption
            && self.age(&wire).is_some_and(|age| age > MAX_PREVIOUS_RATCHET_KEYS);
        let rng = &mut self.pair.rng;
        let session = match wire.to {
            Side::Alice => &mut self.pair.alice,
            Side::Bob => &mut self.pair.bob,
        };
        if forgotten {
            let before = snapshot(session);
            let got = session.decrypt(&wire.bytes, rng);
            assert_eq!(got, Err(Error::Auth), "a message from a forgotten chain: {wire:?}");
            assert_eq!(before, snapshot(session), "a rejected message changed the receiver's state");
            self.dropped_to[wire.to.index()] += 1;
            self.stats.forgotten_chain += 1;
            return;
        }
        let got = session.decrypt(&wire.bytes, rng);
        assert_eq!(got.as_ref(), Ok(&wire.plaintext), "a genuine message did not decrypt: {wire:?}");
        let chains = &mut self.chains[wire.to.index()];
        if !chains.contains(&wire.chain) {
            chains.push(wire.chain);
        }
        self.delivered.push(wire);
        self.stats.delivered += 1;
    }

    fn drop_message(&mut self, idx: usize) {
        if self.in_flight.is_empty() {
            return;
        }
        let wire = self.in_flight.remove(idx % self.in_flight.len());
        self.dropped_to[wire.to.index()] += 1;
        self.stats.dropped += 1;
    }

    fn duplicate(&mut self, idx: usize) {
        if self.delivered.is_empty() {
            return;
        }
        let wire = self.delivered[idx % self.delivered.len()].clone();
        let age = self.age(&wire).expect("a delivered message's chain is known");
        let mode = self.mode();
        let rng = &mut self.pair.rng;
        let session = match wire.to {
            Side::Alice => &mut self.pair.alice,
            Side::Bob => &mut self.pair.bob,
        };
        let before = snapshot(session);
        let got = session.decrypt(&wire.bytes, rng);
        assert_eq!(before, snapshot(session), "a replay changed the receiver's state");
        if age <= MAX_PREVIOUS_RATCHET_KEYS {
            assert_eq!(got, Err(Error::Duplicate), "replay from a chain {age} steps back");
        } else if mode == Mode::HeaderEncryption {
            // No header key of the receiver opens the header any more.
            assert_eq!(got, Err(Error::Auth), "replay from a forgotten chain ({age} steps back)");
        } else {
            assert!(
                matches!(got, Err(Error::Duplicate) | Err(Error::Auth)),
                "replay from a forgotten chain ({age} steps back) gave {got:?}"
            );
        }
        if got == Err(Error::Auth) {
            self.stats.old_replays_auth += 1;
        }
        self.stats.duplicates += 1;
    }

    fn tamper(&mut self, idx: usize, bit: usize) {
        if self.in_flight.is_empty() {
            return;
        }
        let wire = &self.in_flight[idx % self.in_flight.len()];
        let forged = flip_bit(&wire.bytes, bit % (wire.bytes.len() * 8));
        let rng = &mut self.pair.rng;
        let session = match wire.to {
            Side::Alice => &mut self.pair.alice,
            Side::Bob => &mut self.pair.bob,
        };
        let before = snapshot(session);
        let got = session.decrypt(&forged, rng);
        assert!(got.is_err(), "a message with a flipped bit was accepted: {got:?}");
        assert_eq!(before, snapshot(session), "a forged message changed the receiver's state");
        self.stats.tampered += 1;
    }

    fn persist(&mut self, side: Side) {
        let mode = self.mode();
        let session = self.session(side);
        let bytes = session.to_bytes();
        assert_eq!(bytes.len(), session.encoded_len(), "encoded_len disagrees with to_bytes");
        let restored = Session::from_bytes(&bytes).expect("a session's own encoding decodes");
        assert_eq!(restored.to_bytes(), bytes, "re-encoding a restored session differs");
        assert_eq!(restored.mode(), mode, "the mode survives persistence");
        *session = restored;
    }

    /// Applies one event and checks its outcome.
    pub fn apply(&mut self, event: &Event) {
        match *event {
            Event::SendA(len) => self.send(Side::Alice, len),
            Event::SendB(len) => self.send(Side::Bob, len),
            Event::Deliver(idx) => self.deliver(idx),
            Event::Drop(idx) => self.drop_message(idx),
            Event::Duplicate(idx) => self.duplicate(idx),
            Event::Tamper(idx, bit) => self.tamper(idx, bit),
            Event::Reorder => self.in_flight.reverse(),
            Event::Persist(side) => self.persist(side),
        }
    }

    /// Delivers everything still in flight (each must decrypt, or be from a
    /// forgotten chain), checks that no more skipped keys are stored than
    /// messages were lost, and has both parties exchange one more message
    /// each way.
    pub fn finish(mut self) -> Stats {
        while !self.in_flight.is_empty() {
            self.deliver(0);
        }
        for side in [Side::Alice, Side::Bob] {
            let lost = self.dropped_to[side.index()];
            let stored = self.session(side).skipped_key_count();
            assert!(
                stored <= lost,
                "{side:?} stores {stored} skipped keys but only {lost} messages were lost"
            );
        }
        self.send(Side::Alice, 3);
        self.deliver(0);
        self.send(Side::Bob, 3);
        self.deliver(0);
        assert!(!self.pair.alice.awaiting_reply(), "Alice decrypted a reply but still awaits one");
        self.stats
    }

    /// Runs a whole event sequence in plain mode and the final checks (the
    /// fuzz target's entry point; see [`run_in`](Self::run_in)).
    pub fn run(seed: u64, events: &[Event]) -> Stats {
        Self::run_in(Mode::Plain, seed, events)
    }

    /// Runs a whole event sequence in `mode` and the final checks.
    pub fn run_in(mode: Mode, seed: u64, events: &[Event]) -> Stats {
        let mut world = World::new_in(mode, seed);
        for event in events {
            world.apply(event);
        }
        world.finish()
    }
}
