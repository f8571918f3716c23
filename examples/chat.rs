//! The main job, end to end: Alice fetches Bob's prekey bundle from a
//! (simulated) server, starts a session, and the two chat over a network that
//! loses, reorders, duplicates and corrupts messages. Every session is
//! persisted and restored between messages, as a messenger would.
//!
//! Run with `cargo run --example chat`. The RNG is seeded so the run is
//! reproducible; a real application passes an OS-backed CSPRNG.

use std::collections::VecDeque;

use chatcrypt::{
    Error, IdentityKeyPair, MessageType, OneTimePreKey, PreKeyBundle, PreKeyMessage, Session, SignedPreKey,
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

fn main() -> Result<(), Error> {
    let mut rng = ChaCha20Rng::from_seed(*b"chatcrypt demo: a lossy network!");

    // Bob's device publishes its keys; the server keeps the public parts.
    let bob = IdentityKeyPair::generate(&mut rng);
    let bob_spk = SignedPreKey::generate(&bob, 1, &mut rng);
    let mut bob_one_time: Vec<OneTimePreKey> =
        (100..105).map(|id| OneTimePreKey::generate(id, &mut rng)).collect();
    let server_bundle = PreKeyBundle::new(
        bob.public_key().clone(),
        bob_spk.public().clone(),
        Some(bob_one_time[0].public().clone()),
    )
    .to_bytes();
    println!("Bob uploaded a bundle ({} bytes) with one-time prekey 100", server_bundle.len());

    // Alice fetches it and starts a session.
    let alice = IdentityKeyPair::generate(&mut rng);
    let bundle = PreKeyBundle::from_bytes(&server_bundle)?;
    let alice_session = Session::initiate(&alice, &bundle, &mut rng)?;
    println!("Alice verified the bundle and started a session; Bob's identity is {:?}", bundle.identity());

    // Sessions live in "storage" as bytes between messages.
    let mut alice_store = alice_session.to_bytes();
    let mut bob_store: Option<chatcrypt::Zeroizing<Vec<u8>>> = None;
    let mut net = Network { in_flight: VecDeque::new(), rng: ChaCha20Rng::from_seed([1; 32]) };

    let script: [(&str, &str); 12] = [
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
        ("bob", "Forgeries too."),
        ("alice", "Bye!"),
    ];
    let mut stats = (0usize, 0usize, 0usize, 0usize); // delivered, duplicates, rejected, sent
    for (step, (from, text)) in script.iter().enumerate() {
        // The sender restores its session, encrypts, and stores it again.
        let (store, to) = if *from == "alice" {
            (&mut alice_store, "bob")
        } else {
            match bob_store.as_mut() {
                Some(s) => (s, "alice"),
                None => {
                    println!("[{step}] Bob has no session yet and cannot send \"{text}\"");
                    continue;
                }
            }
        };
        let mut session = Session::from_bytes(store)?;
        let wire = session.encrypt(text.as_bytes())?;
        *store = session.to_bytes();
        stats.3 += 1;
        println!("[{step}] {from} -> {to}: \"{text}\" ({} bytes, {:?})", wire.len(), MessageType::of(&wire)?);
        net.send(to, wire);

        // Deliver about half of what is in flight, in the network's order.
        let deliver = net.in_flight.len().div_ceil(2);
        for _ in 0..deliver {
            let Some((to, bytes)) = net.in_flight.pop_front() else { break };
            deliver_one(
                to,
                &bytes,
                &alice,
                &bob,
                &bob_spk,
                &mut bob_one_time,
                &mut alice_store,
                &mut bob_store,
                &mut rng,
                &mut stats,
            )?;
        }
    }
    println!("-- the network flushes what is left --");
    while let Some((to, bytes)) = net.in_flight.pop_front() {
        deliver_one(
            to,
            &bytes,
            &alice,
            &bob,
            &bob_spk,
            &mut bob_one_time,
            &mut alice_store,
            &mut bob_store,
            &mut rng,
            &mut stats,
        )?;
    }
    println!(
        "Done: {} sent, {} delivered and decrypted, {} duplicates dropped, {} forged or corrupted rejected.",
        stats.3, stats.0, stats.1, stats.2
    );
    let a = Session::from_bytes(&alice_store)?;
    println!(
        "Alice's stored session: {} bytes, {} skipped keys kept for lost or late messages",
        alice_store.len(),
        a.skipped_key_count()
    );
    if let Some(b) = &bob_store {
        println!(
            "Bob's stored session: {} bytes, {} skipped keys",
            b.len(),
            Session::from_bytes(b)?.skipped_key_count()
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn deliver_one(
    to: &str,
    bytes: &[u8],
    alice: &IdentityKeyPair,
    bob: &IdentityKeyPair,
    bob_spk: &SignedPreKey,
    bob_one_time: &mut Vec<OneTimePreKey>,
    alice_store: &mut chatcrypt::Zeroizing<Vec<u8>>,
    bob_store: &mut Option<chatcrypt::Zeroizing<Vec<u8>>>,
    rng: &mut ChaCha20Rng,
    stats: &mut (usize, usize, usize, usize),
) -> Result<(), Error> {
    let _ = alice;
    let result = if to == "bob" {
        match bob_store.as_mut() {
            Some(store) => {
                let mut session = Session::from_bytes(store)?;
                let r = session.decrypt(bytes, rng);
                if r.is_ok() {
                    *store = session.to_bytes();
                }
                r
            }
            None => {
                // No session yet: this must be Alice's PreKeyMessage.
                match PreKeyMessage::from_bytes(bytes) {
                    Err(e) => Err(e),
                    Ok(msg) => {
                        let opk_index = msg
                            .one_time_prekey_id()
                            .and_then(|id| bob_one_time.iter().position(|k| k.id() == id));
                        let opk = opk_index.map(|i| &bob_one_time[i]);
                        match Session::accept(bob, bob_spk, opk, &msg, rng) {
                            Ok((session, plaintext)) => {
                                if let Some(i) = opk_index {
                                    bob_one_time.remove(i);
                                    println!(
                                        "    bob: accepted the handshake and deleted one-time prekey {}",
                                        msg.one_time_prekey_id().unwrap_or_default()
                                    );
                                }
                                *bob_store = Some(session.to_bytes());
                                Ok(plaintext)
                            }
                            Err(e) => Err(e),
                        }
                    }
                }
            }
        }
    } else {
        let mut session = Session::from_bytes(alice_store)?;
        let r = session.decrypt(bytes, rng);
        if r.is_ok() {
            *alice_store = session.to_bytes();
        }
        r
    };
    match result {
        Ok(p) => {
            stats.0 += 1;
            println!("    {to} decrypted: \"{}\"", String::from_utf8_lossy(&p));
        }
        Err(Error::Duplicate) => {
            stats.1 += 1;
            println!("    {to} dropped a duplicate");
        }
        Err(e) => {
            stats.2 += 1;
            println!("    {to} rejected a message: {e}");
        }
    }
    Ok(())
}
