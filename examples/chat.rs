//! The main job, end to end: Alice fetches Bob's prekey bundle from a
//! (simulated) server, starts a session with the hybrid post-quantum
//! handshake (X25519 and ML-KEM-1024), and the two chat over a network that
//! loses, reorders, duplicates and corrupts messages. Every session is
//! persisted and restored between messages, as a messenger would, and once
//! Alice's app crashes after sending but before saving: her next message
//! reuses a message number, under a fresh reuse guard (so a fresh AES-GCM
//! key and nonce), and Bob drops whichever of the two arrives second as a
//! duplicate.
//!
//! Run with `cargo run --example chat`. The RNG is seeded so the run is
//! reproducible; a real application passes an OS-backed CSPRNG.

use std::collections::VecDeque;

use chatcrypt::{
    AcceptPolicy, Error, IdentityKeyPair, KemPreKey, KemPreKeyUse, MessageType, OneTimePreKey, PreKeyBundle,
    PreKeyMessage, Session, SignedPreKey, Zeroizing,
};
use rand_chacha::{
    rand_core::{Rng, SeedableRng},
    ChaCha20Rng,
};

/// A network that drops, duplicates, corrupts and reorders.
struct Network {
    in_flight: VecDeque<(&'static str, Vec<u8>)>,
    rng: ChaCha20Rng,
}

impl Network {
    fn send(&mut self, to: &'static str, bytes: Vec<u8>) {
        let roll = self.rng.next_u32() % 100;
        if roll < 10 {
            println!("    network: lost a message to {to}");
            return;
        }
        if roll < 18 {
            println!("    network: duplicated a message to {to}");
            self.in_flight.push_back((to, bytes.clone()));
        }
        if (18..24).contains(&roll) {
            let mut bad = bytes.clone();
            let i = (self.rng.next_u32() as usize) % bad.len();
            bad[i] ^= 1 << (self.rng.next_u32() % 8);
            println!("    network: injected a corrupted copy of a message to {to} (byte {i})");
            self.in_flight.push_back((to, bad));
        }
        // Insert at a random position: reordering.
        let pos = (self.rng.next_u32() as usize) % (self.in_flight.len() + 1);
        self.in_flight.insert(pos, (to, bytes));
    }
}

/// What the two devices keep: Bob's long-term keys, and each side's session
/// as the bytes a messenger would store.
struct Devices {
    bob: IdentityKeyPair,
    bob_spk: SignedPreKey,
    bob_one_time: Vec<OneTimePreKey>,
    bob_kem_one_time: Vec<KemPreKey>,
    bob_kem_last_resort: KemPreKey,
    alice_store: Zeroizing<Vec<u8>>,
    bob_store: Option<Zeroizing<Vec<u8>>>,
    rng: ChaCha20Rng,
    delivered: usize,
    duplicates: usize,
    rejected: usize,
}

impl Devices {
    /// Restores a stored session, decrypts, and stores it again on success.
    fn decrypt_stored(
        store: &mut Zeroizing<Vec<u8>>,
        bytes: &[u8],
        rng: &mut ChaCha20Rng,
    ) -> Result<Vec<u8>, Error> {
        let mut session = Session::from_bytes(store)?;
        let plaintext = session.decrypt(bytes, rng)?;
        *store = session.to_bytes();
        Ok(plaintext)
    }

    /// Bob has no session yet: this must be Alice's PreKeyMessage.
    fn accept(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        let msg = PreKeyMessage::from_bytes(bytes)?;
        let index =
            msg.one_time_prekey_id().and_then(|id| self.bob_one_time.iter().position(|k| k.id() == id));
        // Load a copy from "storage"; it is deleted there only once the
        // accept has succeeded (a failed accept consumes nothing).
        let opk = index.map(|i| OneTimePreKey::from_bytes(&self.bob_one_time[i].to_bytes())).transpose()?;
        // The KEM prekey: a one-time one (consumed), or the last-resort one
        // (borrowed; it stays).
        let kem_id = msg.kem_prekey_id().map(|(_, id)| id);
        let kem_index = kem_id.and_then(|id| self.bob_kem_one_time.iter().position(|k| k.id() == id));
        let kem = match kem_index {
            Some(i) => {
                Some(KemPreKeyUse::OneTime(KemPreKey::from_bytes(&self.bob_kem_one_time[i].to_bytes())?))
            }
            None if kem_id == Some(self.bob_kem_last_resort.id()) => {
                Some(KemPreKeyUse::LastResort(&self.bob_kem_last_resort))
            }
            None => None,
        };
        // The default policy requires the hybrid handshake: a relay that
        // stripped the KEM part would be refused here.
        let accepted = Session::accept(
            &self.bob,
            &self.bob_spk,
            opk,
            kem,
            &msg,
            AcceptPolicy::default(),
            &mut self.rng,
        )?;
        let (session, plaintext) = (accepted.session, accepted.plaintext);
        if let Some(i) = index {
            let used = self.bob_one_time.remove(i);
            println!("    bob: accepted the handshake and deleted one-time prekey {}", used.id());
        }
        if let Some(i) = kem_index {
            let used = self.bob_kem_one_time.remove(i);
            println!("    bob: deleted one-time KEM prekey {}", used.id());
        }
        println!("    bob: the session is post-quantum: {}", session.is_post_quantum());
        self.bob_store = Some(session.to_bytes());
        Ok(plaintext)
    }

    fn deliver(&mut self, to: &str, bytes: &[u8]) {
        let result = match (to, self.bob_store.as_mut()) {
            ("bob", Some(store)) => Self::decrypt_stored(store, bytes, &mut self.rng),
            ("bob", None) => self.accept(bytes),
            _ => Self::decrypt_stored(&mut self.alice_store, bytes, &mut self.rng),
        };
        match result {
            Ok(p) => {
                self.delivered += 1;
                println!("    {to} decrypted: \"{}\"", String::from_utf8_lossy(&p));
            }
            Err(Error::Duplicate) => {
                self.duplicates += 1;
                println!("    {to} dropped a duplicate");
            }
            Err(e) => {
                self.rejected += 1;
                println!("    {to} rejected a message: {e}");
            }
        }
    }
}

fn main() -> Result<(), Error> {
    let mut rng = ChaCha20Rng::from_seed(*b"chatcrypt demo: a lossy network!");

    // Bob's device publishes its keys; the server keeps the public parts.
    let bob = IdentityKeyPair::generate(&mut rng);
    let bob_spk = SignedPreKey::generate(&bob, 1, &mut rng);
    let bob_one_time: Vec<OneTimePreKey> =
        (100..105).map(|id| OneTimePreKey::generate(id, &mut rng)).collect();
    let bob_kem_one_time: Vec<KemPreKey> =
        (200..203).map(|id| KemPreKey::generate(&bob, id, &mut rng)).collect();
    let bob_kem_last_resort = KemPreKey::generate(&bob, 299, &mut rng);
    let server_bundle = PreKeyBundle::new(
        bob.public_key().clone(),
        bob_spk.public().clone(),
        Some(bob_one_time[0].public().clone()),
    )
    .with_kem_prekey(bob_kem_one_time[0].public().clone())
    .to_bytes();
    println!(
        "Bob uploaded a bundle ({} bytes) with one-time prekey 100 and ML-KEM-1024 prekey 200",
        server_bundle.len()
    );

    // Alice fetches it and starts a session.
    let alice = IdentityKeyPair::generate(&mut rng);
    let bundle = PreKeyBundle::from_bytes(&server_bundle)?;
    let alice_session = Session::initiate(&alice, &bundle, &mut rng)?;
    println!(
        "Alice verified the bundle and started a hybrid (post-quantum: {}) session; Bob's identity is {:?}",
        alice_session.is_post_quantum(),
        bundle.identity()
    );

    // Sessions live in "storage" as bytes between messages.
    let mut devices = Devices {
        bob,
        bob_spk,
        bob_one_time,
        bob_kem_one_time,
        bob_kem_last_resort,
        alice_store: alice_session.to_bytes(),
        bob_store: None,
        rng,
        delivered: 0,
        duplicates: 0,
        rejected: 0,
    };
    let mut net = Network { in_flight: VecDeque::new(), rng: ChaCha20Rng::from_seed([1; 32]) };

    let script: [(&str, &str); 13] = [
        ("alice", "Hi Bob, it's Alice."),
        ("alice", "Are you there?"),
        ("bob", "Hi Alice! Got your messages."),
        ("alice", "Great, the handshake worked."),
        ("bob", "Let me send a few in a row"),
        ("bob", "second"),
        ("bob", "third"),
        ("alice", "They may arrive out of order."),
        ("bob", "And some may be lost."),
        ("alice", "Duplicates are rejected."),
        ("alice", "My app crashed: this one reuses the last one's number."),
        ("bob", "Forgeries too."),
        ("alice", "Bye!"),
    ];
    let mut sent = 0;
    // After sending this step's message, Alice's app dies before it stores
    // her session.
    let crash_at = 9;
    for (step, (from, text)) in script.iter().enumerate() {
        // The sender restores its session, encrypts, and stores it again.
        let (store, to) = match (*from, devices.bob_store.as_mut()) {
            ("alice", _) => (&mut devices.alice_store, "bob"),
            (_, Some(store)) => (store, "alice"),
            (_, None) => {
                println!("[{step}] Bob has no session yet and cannot send \"{text}\"");
                continue;
            }
        };
        let mut session = Session::from_bytes(store)?;
        let wire = session.encrypt(text.as_bytes(), &mut devices.rng)?;
        sent += 1;
        println!("[{step}] {from} -> {to}: \"{text}\" ({} bytes, {:?})", wire.len(), MessageType::of(&wire)?);
        net.send(to, wire);
        if step == crash_at {
            // The message left, the new state did not reach storage: the
            // next message reuses this one's number, not its key and nonce.
            println!("    {from}'s app crashed before saving its session; it restarts from the stored one");
        } else {
            *store = session.to_bytes();
        }

        // Deliver about half of what is in flight, in the network's order.
        for _ in 0..net.in_flight.len().div_ceil(2) {
            let Some((to, bytes)) = net.in_flight.pop_front() else { break };
            devices.deliver(to, &bytes);
        }
    }
    println!("-- the network flushes what is left --");
    while let Some((to, bytes)) = net.in_flight.pop_front() {
        devices.deliver(to, &bytes);
    }
    println!(
        "Done: {sent} sent, {} delivered and decrypted; dropped as duplicates: {}; rejected as forged or corrupted: {}.",
        devices.delivered, devices.duplicates, devices.rejected
    );
    let a = Session::from_bytes(&devices.alice_store)?;
    println!(
        "Alice's stored session: {} bytes, skipped keys kept for lost or late messages: {}",
        devices.alice_store.len(),
        a.skipped_key_count()
    );
    if let Some(b) = &devices.bob_store {
        println!(
            "Bob's stored session: {} bytes, skipped keys kept: {}",
            b.len(),
            Session::from_bytes(b)?.skipped_key_count()
        );
    }
    Ok(())
}
