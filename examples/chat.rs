//! The messenger case, end to end: two users, Alice and Bob, with two
//! devices each, talking through a (simulated) server and a network that
//! reorders, repeats and corrupts messages. It uses only the messenger
//! layer: accounts and signed device lists, trust on first use, session
//! records, fan-out, a safety-number check, a reinstalled device, a
//! lost session recovered with a retry message, and sealed sender: messages
//! whose sender the server does not learn (it prints what it sees).
//!
//! Run with `cargo run --example chat`. The RNG is seeded and the network
//! is scripted, so every run prints the same story and the counts at the
//! end are asserted; a real application passes an OS-backed CSPRNG.

use std::collections::{BTreeMap, HashSet};

use chatcrypt::{
    fan_out,
    sealed::{open, CertificatePolicy, SenderCertificate, ServerKeyPair},
    AccountKeyPair, DeviceId, DeviceList, DeviceListUpdate, Error, IdentityKeyPair, LocalDevice, MessageId,
    PeerAccount, PreKeyBundle, PreKeyUpload, RetryMessage, RetryOutcome, SafetyNumber, SessionPolicy,
    SessionRecord, TrustLevel, Zeroizing,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

/// A device's address: its user and its device id.
type Addr = (&'static str, DeviceId);

fn addr(user: &'static str, id: u32) -> Addr {
    (user, DeviceId::new(id))
}

fn show(a: Addr) -> String {
    format!("{}/{}", a.0, a.1)
}

/// One device: its keys (persisted as bytes before every upload), what it
/// trusts about each account (its own included), one record per remote
/// device, and the ids of the messages it has shown.
struct Device {
    local: LocalDevice,
    stored: Zeroizing<Vec<u8>>,
    peers: BTreeMap<&'static str, PeerAccount>,
    records: BTreeMap<Addr, SessionRecord>,
    seen: HashSet<MessageId>,
}

enum Payload {
    Chat(Vec<u8>),
    Retry(Vec<u8>),
}

/// What the network delivered and what became of it.
#[derive(Debug, Default)]
struct Counts {
    delivered: usize,
    decrypted: usize,
    duplicates: usize,
    rejected_as_corrupted: usize,
    undecryptable: usize,
    retries: usize,
    recovered: usize,
}

struct World {
    now: u64,
    rng: ChaCha20Rng,
    policy: SessionPolicy,
    accounts: BTreeMap<&'static str, (AccountKeyPair, u64)>,
    devices: BTreeMap<Addr, Device>,
    /// The server: device lists and prekey uploads (public data only).
    lists: BTreeMap<&'static str, Vec<u8>>,
    uploads: BTreeMap<Addr, (PreKeyUpload, usize)>,
    /// (from, to, payload).
    in_flight: Vec<(Addr, Addr, Payload)>,
    /// The last text each device sent each other device: what an app
    /// resends when the peer reports it could not decrypt.
    last_sent: BTreeMap<(Addr, Addr), String>,
    /// (sender, recipient) pairs whose last message was resent after a retry.
    resent: HashSet<(Addr, Addr)>,
    counts: Counts,
    /// The server's key for sender certificates (every app holds its
    /// public key as its one trust root), the certificate it issued each
    /// device, and the serials it revoked.
    server: ServerKeyPair,
    certificates: BTreeMap<Addr, SenderCertificate>,
    revoked: Vec<u64>,
}

impl World {
    /// The next step of the story, a minute later.
    fn step(&mut self, title: &str) {
        self.now += 60;
        println!("{title}");
    }

    /// A new device (or a reinstall): identity key, certificate, prekeys,
    /// persisted, then uploaded through the persist-before-upload gate.
    fn install(&mut self, a: Addr) -> Result<(), Error> {
        let identity = IdentityKeyPair::generate(&mut self.rng);
        let certificate = self.accounts[a.0].0.certify(a.1, identity.public_key());
        let mut local = LocalDevice::new(identity, certificate, self.now, &mut self.rng)?;
        local.replenish(0, 0, &mut self.rng)?;
        let stored = local.to_bytes();
        let upload = local.upload(&stored)?;
        // The server decodes the upload (checking every signature) and
        // that the certificate's account key is the user's.
        let received = PreKeyUpload::from_bytes(&upload.to_bytes())?;
        received.certificate().verify(self.accounts[a.0].0.public_key())?;
        local.mark_uploaded(&received);
        let stored = local.to_bytes();
        let (x, k) = local.one_time_prekey_counts();
        println!("  {}: uploaded {x} one-time and {k} ML-KEM prekeys", show(a));
        self.uploads.insert(a, (received, 0));
        let device =
            Device { local, stored, peers: BTreeMap::new(), records: BTreeMap::new(), seen: HashSet::new() };
        self.devices.insert(a, device);
        Ok(())
    }

    /// The user signs a new device list (next epoch) naming its devices.
    fn publish_list(&mut self, user: &'static str) -> Result<(), Error> {
        let entries: Vec<_> =
            (self.devices.iter()).filter(|(a, _)| a.0 == user).map(|(_, d)| d.local.link()).collect();
        let (account, epoch) = self.accounts.get_mut(user).expect("the user exists");
        *epoch += 1;
        let list = account.sign_device_list(*epoch, &entries)?;
        println!("  {user}: signed device list epoch {} ({} bytes)", list.epoch(), list.encoded_len());
        self.lists.insert(user, list.to_bytes());
        Ok(())
    }

    /// The server hands out a bundle with the next unused one-time prekeys.
    fn fetch_bundle(&mut self, a: Addr) -> Result<PreKeyBundle, Error> {
        let (upload, next) = self.uploads.get_mut(&a).expect("the device uploaded");
        let bundle = upload.bundle(Some(*next), Some(*next))?;
        *next += 1;
        PreKeyBundle::from_bytes(&bundle.to_bytes())
    }

    fn device(&mut self, a: Addr) -> &mut Device {
        self.devices.get_mut(&a).expect("the device exists")
    }

    /// `from` starts a session with `to` from a fresh bundle.
    fn start(&mut self, from: Addr, to: Addr) -> Result<(), Error> {
        let bundle = self.fetch_bundle(to)?;
        let (now, policy) = (self.now, self.policy);
        let d = self.devices.get_mut(&from).expect("the device exists");
        let record = d.records.entry(to).or_insert_with(|| SessionRecord::new(to.1));
        record.initiate(&d.local, &d.peers[to.0], &bundle, &policy, now, &mut self.rng)?;
        println!("  {} started a session with {}", show(from), show(to));
        Ok(())
    }

    fn send(&mut self, from: Addr, to: Addr, text: &str) -> Result<Vec<u8>, Error> {
        let now = self.now;
        let d = self.devices.get_mut(&from).expect("the device exists");
        let record = d.records.get_mut(&to).ok_or(Error::NoSession)?;
        let bytes = record.encrypt(&d.peers[to.0], text.as_bytes(), now, &mut self.rng)?;
        println!("  {} -> {}: \"{text}\" ({} bytes)", show(from), show(to), bytes.len());
        self.last_sent.insert((from, to), text.to_string());
        self.in_flight.push((from, to, Payload::Chat(bytes.clone())));
        Ok(bytes)
    }

    /// Delivers everything in flight, in the order sent or reversed.
    fn flush(&mut self, reversed: bool) -> Result<(), Error> {
        let mut batch = std::mem::take(&mut self.in_flight);
        if reversed {
            println!("  network: delivers {} messages in reverse order", batch.len());
            batch.reverse();
        }
        for (from, to, payload) in batch {
            self.deliver(from, to, payload)?;
        }
        Ok(())
    }

    /// One envelope reaches its device. Expected failures are counted;
    /// anything else stops the demo.
    fn deliver(&mut self, from: Addr, to: Addr, payload: Payload) -> Result<(), Error> {
        let (now, policy) = (self.now, self.policy);
        let bytes = match payload {
            Payload::Chat(bytes) => bytes,
            Payload::Retry(bytes) => return self.handle_retry(from, to, &bytes),
        };
        self.counts.delivered += 1;
        let d = self.devices.get_mut(&to).expect("the device exists");
        let record = d.records.entry(from).or_insert_with(|| SessionRecord::new(from.1));
        let result = record.decrypt(&mut d.local, &d.peers[from.0], &bytes, &policy, now, &mut self.rng);
        let (t, f) = (show(to), show(from));
        match result {
            Ok(m) if !d.seen.insert(m.id) => {
                self.counts.duplicates += 1;
                println!("    {t}: already shown (same message id): dropped as a duplicate");
            }
            Ok(m) => {
                d.stored = d.local.to_bytes(); // prekeys may have been consumed
                self.counts.decrypted += 1;
                self.counts.recovered += usize::from(self.resent.remove(&(from, to)));
                let text = String::from_utf8_lossy(&m.plaintext);
                let new = if m.new_session { " (new session)" } else { "" };
                println!("    {t} read from {f}: \"{text}\"{new}");
            }
            Err(Error::Duplicate) => {
                self.counts.duplicates += 1;
                println!("    {t}: an exact copy of a message already read: dropped as a duplicate");
            }
            Err(err @ (Error::Auth | Error::UsedKey | Error::Decode(_))) => {
                self.counts.rejected_as_corrupted += 1;
                println!("    {t}: rejected as forged or corrupted: {err}");
            }
            Err(Error::NoSession) => {
                self.counts.undecryptable += 1;
                let author = d.peers[from.0].device_identity(from.1)?.clone();
                let retry =
                    RetryMessage::for_failure(d.local.identity(), &author, &bytes, Error::NoSession, now)
                        .expect("a Message without a session calls for a retry");
                println!("    {t}: no session decrypts it; sends a signed retry to {f}");
                self.in_flight.push((to, from, Payload::Retry(retry.to_bytes())));
            }
            Err(other) => return Err(other),
        }
        Ok(())
    }

    /// The sender's side of a retry: archive the lost session, start a new
    /// one from a fresh bundle, resend what the peer could not read.
    fn handle_retry(&mut self, from: Addr, to: Addr, bytes: &[u8]) -> Result<(), Error> {
        self.counts.retries += 1;
        let retry = RetryMessage::from_bytes(bytes)?;
        let d = self.device(to);
        let record = d.records.get_mut(&from).ok_or(Error::NoSession)?;
        let outcome = record.handle_retry(&d.local, &d.peers[from.0], &retry)?;
        println!("    {}: retry from {} ({:?}): {outcome:?}", show(to), show(from), retry.reason());
        assert_eq!(outcome, RetryOutcome::StartNewSession);
        self.start(to, from)?;
        let text = self.last_sent[&(to, from)].clone();
        self.send(to, from, &text)?;
        self.resent.insert((to, from));
        Ok(())
    }

    /// Device `a` trusts `other`'s account key on first use, and its own
    /// user's account key as verified (for sessions with its own devices).
    fn trust(&mut self, a: Addr, other: &'static str) -> Result<(), Error> {
        let peer =
            PeerAccount::trust_on_first_use(other.as_bytes(), DeviceList::from_bytes(&self.lists[other])?)?;
        let own = self.accounts[a.0].0.public_key().clone();
        let me = PeerAccount::verified(a.0.as_bytes(), &own, DeviceList::from_bytes(&self.lists[a.0])?)?;
        self.device(a).peers.extend([(other, peer), (a.0, me)]);
        Ok(())
    }

    /// The server issues `a` a sender certificate, valid for a day.
    fn issue_certificate(&mut self, a: Addr) {
        let serial = self.certificates.len() as u64 + 1;
        let account = self.accounts[a.0].0.public_key();
        let identity = self.devices[&a].local.identity().public_key();
        let certificate = self.server.issue(serial, self.now + 24 * 60 * 60, account, a.1, identity);
        println!("  server: sender certificate #{serial} for {} (valid for a day)", show(a));
        self.certificates.insert(a, certificate);
    }

    /// `from` sends `text` to `to` in a sealed envelope; the server sees it
    /// arrive on a connection without a login and prints what it can tell.
    fn send_sealed(&mut self, from: Addr, to: Addr, text: &str) -> Result<Vec<u8>, Error> {
        let now = self.now;
        let certificate = &self.certificates[&from];
        let d = self.devices.get_mut(&from).expect("the device exists");
        let record = d.records.get_mut(&to).ok_or(Error::NoSession)?;
        let envelope = record.encrypt_sealed(
            &d.local,
            &d.peers[to.0],
            certificate,
            text.as_bytes(),
            now,
            &mut self.rng,
        )?;
        println!("  {} -> {}: \"{text}\", sealed", show(from), show(to));
        let recipient = self.devices[&to].local.identity().public_key().as_bytes();
        println!(
            "    server sees: to {} (identity key {:02x}{:02x}{:02x}{:02x}...), {} bytes \
             [{:02x} {:02x} | {:02x}{:02x}{:02x}{:02x}...], sender: unknown",
            show(to),
            recipient[0],
            recipient[1],
            recipient[2],
            recipient[3],
            envelope.len(),
            envelope[0],
            envelope[1],
            envelope[2],
            envelope[3],
            envelope[4],
            envelope[5],
        );
        Ok(envelope)
    }

    /// `to` opens a sealed envelope against the server's key and the
    /// revocation list, then its record for the device the certificate
    /// names decrypts the message inside. Returns whether it was read.
    fn deliver_sealed(&mut self, to: Addr, envelope: &[u8]) -> Result<bool, Error> {
        let (now, policy) = (self.now, self.policy);
        let roots = [self.server.public_key().clone()];
        let check = CertificatePolicy::new(&roots, &self.revoked, now);
        let d = self.devices.get_mut(&to).expect("the device exists");
        let opened = match open(d.local.identity(), envelope, &check) {
            Ok(opened) => opened,
            Err(err) => {
                println!("    {}: refused the envelope: {err}", show(to));
                return Ok(false);
            }
        };
        let certificate = opened.certificate();
        let user = (self.accounts.iter())
            .find(|(_, (account, _))| account.public_key() == certificate.account_key())
            .map(|(user, _)| *user)
            .expect("a known account");
        let from = (user, certificate.device());
        let record = d.records.entry(from).or_insert_with(|| SessionRecord::new(from.1));
        let read =
            record.decrypt_sealed(&mut d.local, &d.peers[user], &opened, &policy, now, &mut self.rng)?;
        println!(
            "    {} opened it: from {} (certificate #{}), read \"{}\"",
            show(to),
            show(from),
            certificate.serial(),
            String::from_utf8_lossy(&read.plaintext)
        );
        Ok(true)
    }

    fn safety_number(&self, viewer: Addr, peer: &'static str) -> Result<SafetyNumber, Error> {
        let own = self.accounts[viewer.0].0.public_key();
        let pinned = self.devices[&viewer].peers[peer].account_key();
        SafetyNumber::for_accounts(viewer.0.as_bytes(), own, peer.as_bytes(), pinned)
    }
}

fn main() -> Result<(), Error> {
    let (a1, a2, b1, b2) = (addr("alice", 1), addr("alice", 2), addr("bob", 1), addr("bob", 2));
    let mut rng = ChaCha20Rng::from_seed(*b"chatcrypt demo: two users, four!");
    let mut rng_server = ChaCha20Rng::from_seed(*b"chatcrypt demo: the server's key");
    let accounts = ["alice", "bob"].map(|user| (user, (AccountKeyPair::generate(&mut rng), 0))).into();
    let mut w = World {
        now: 1_800_000_000,
        rng,
        policy: SessionPolicy::default(),
        accounts,
        devices: BTreeMap::new(),
        lists: BTreeMap::new(),
        uploads: BTreeMap::new(),
        in_flight: Vec::new(),
        last_sent: BTreeMap::new(),
        resent: HashSet::new(),
        counts: Counts::default(),
        server: ServerKeyPair::generate(&mut rng_server),
        certificates: BTreeMap::new(),
        revoked: Vec::new(),
    };

    w.step("[1] Accounts and devices: each user has an account key and two devices");
    for a in [a1, a2, b1, b2] {
        w.install(a)?;
    }
    w.publish_list("alice")?;
    w.publish_list("bob")?;

    w.step("[2] Every device trusts the other user's account key on first use, and its own");
    for (a, other) in [(a1, "bob"), (a2, "bob"), (b1, "alice"), (b2, "alice")] {
        w.trust(a, other)?;
    }

    w.step("[3] alice/1 and bob/1 start a session with each other at the same time");
    w.start(a1, b1)?;
    w.start(b1, a1)?;
    w.send(a1, b1, "Hi Bob!")?;
    w.send(b1, a1, "Hi Alice!")?;
    w.flush(false)?;
    println!("  one round trip:");
    w.send(a1, b1, "Which session are we on?")?;
    w.flush(false)?;
    w.send(b1, a1, "The same one, now.")?;
    w.flush(false)?;
    let sa = w.devices[&a1].records[&b1].current_session().expect("alice/1 has a session");
    let sb = w.devices[&b1].records[&a1].current_session().expect("bob/1 has a session");
    assert!(!sa.awaiting_reply() && !sb.awaiting_reply());
    assert_ne!(sa.is_initiator(), sb.is_initiator(), "both send on the session one of them started");
    let archived =
        (w.devices[&a1].records[&b1].archived_count(), w.devices[&b1].records[&a1].archived_count());
    assert_eq!(archived, (1, 1), "each side keeps the losing session for messages in flight");
    let winner = if sa.is_initiator() { "alice/1" } else { "bob/1" };
    println!("  both now send on the session {winner} started; the other one is archived on both sides");

    w.step("[4] Out of order, a repeat, and a corrupted copy");
    w.send(a1, b1, "one")?;
    let two = w.send(a1, b1, "two")?;
    let three = w.send(a1, b1, "three")?;
    w.flush(true)?;
    println!("  network: delivers \"two\" a second time");
    w.in_flight.push((a1, b1, Payload::Chat(two)));
    // A bit flipped in the body of a message already read: its key is used
    // and deleted, so nothing can authenticate the copy; the record tells
    // it from an exact copy (Error::Duplicate) and reports Error::UsedKey.
    let mut bad = three;
    let at = bad.len() - 20;
    bad[at] ^= 0x10;
    println!("  network: delivers a copy of \"three\" with one bit flipped in its body");
    w.in_flight.push((a1, b1, Payload::Chat(bad)));
    w.flush(false)?;

    w.step("[5] Fan-out: alice/1 writes to all of bob's devices and to her own alice/2");
    w.start(a1, b2)?;
    w.start(a1, a2)?;
    let (now, mut rng) = (w.now, w.rng.clone());
    let d = w.devices.get_mut(&a1).expect("alice/1 exists");
    let targets = d.records.iter_mut().map(|(to, r)| (*to, r, &d.peers[to.0]));
    let out = fan_out(targets, b"Dinner at eight?", now, &mut rng);
    w.rng = rng;
    assert_eq!(out.len(), 3);
    for (to, ciphertext) in out {
        let bytes = ciphertext?;
        println!("  alice/1 -> {}: \"Dinner at eight?\" ({} bytes)", show(to), bytes.len());
        w.last_sent.insert((a1, to), "Dinner at eight?".into());
        w.in_flight.push((a1, to, Payload::Chat(bytes)));
    }
    w.flush(true)?;

    w.step("[6] Alice and Bob compare safety numbers (from account keys)");
    let on_alice = w.safety_number(a1, "bob")?;
    let on_bob = w.safety_number(b1, "alice")?;
    println!("  alice/1 shows {on_alice}");
    println!("  bob/1   shows {on_bob}");
    assert_eq!(on_alice.displayable(), on_bob.displayable());
    assert!(on_alice.compare_scanned(&on_bob.scannable())?, "Alice scans Bob's code");
    assert!(on_bob.compare_scanned(&on_alice.scannable())?, "Bob scans Alice's code");
    println!("  the digits match and each code scans on the other phone: both mark the other verified");
    for (a, other) in [(a1, "bob"), (a2, "bob"), (b1, "alice"), (b2, "alice")] {
        w.device(a).peers.get_mut(other).expect("trusted in [2]").mark_verified()?;
    }

    w.step("[7] Bob reinstalls bob/2: new identity key, new device list");
    w.install(b2)?;
    w.publish_list("bob")?;
    let bob_list = DeviceList::from_bytes(&w.lists["bob"])?;
    w.device(b1).peers.get_mut("bob").expect("own account").update_device_list(bob_list.clone())?;
    w.trust(b2, "alice")?; // a fresh install: on first use again, its verification is gone
    let refused = w.start(a1, b2);
    println!("  alice/1 (list epoch 1) fetches the new bundle: {refused:?}");
    assert_eq!(refused, Err(Error::WrongIdentity));
    let update = w.device(a1).peers.get_mut("bob").expect("trusted").update_device_list(bob_list.clone())?;
    println!("  alice/1 applies epoch 2: {update:?}");
    let reinstalled = DeviceListUpdate::Updated { added: vec![], removed: vec![], reinstalled: vec![b2.1] };
    assert_eq!(update, reinstalled);
    w.device(a2).peers.get_mut("bob").expect("trusted").update_device_list(bob_list)?;
    let old = w.send(a1, b2, "still there?").map(|_| ());
    println!("  the old session with bob/2 is refused: {old:?}");
    assert_eq!(old, Err(Error::WrongIdentity));
    w.start(a1, b2)?;
    w.send(a1, b2, "Welcome back, bob/2.")?;
    w.flush(false)?;
    let after = w.safety_number(a1, "bob")?;
    assert_eq!(after.displayable(), on_alice.displayable());
    assert_eq!(w.devices[&a1].peers["bob"].trust_level(), TrustLevel::Verified);
    println!("  the safety number is unchanged and bob is still verified: the account key did not change");

    w.step("[8] bob/1 is restored from a backup that has its keys but no session records");
    let d = w.device(b1);
    d.local = LocalDevice::from_bytes(&d.stored)?;
    d.records.clear();
    w.send(a1, b1, "Did you get my photo?")?;
    w.flush(false)?; // bob/1 answers with a retry
    w.flush(false)?; // alice/1 restarts the session and resends
    w.flush(false)?; // bob/1 reads the resent message
    w.send(b1, a1, "Got it now, thanks.")?;
    w.flush(false)?;

    w.step("[9] Sealed sender: the server delivers messages without learning who sent them");
    for a in [a1, a2, b1] {
        w.issue_certificate(a);
    }
    let mut sealed_read = 0;
    w.start(a2, b1)?;
    let first = w.send_sealed(a2, b1, "Hi, it's alice/2")?;
    println!("  (a session's first message is longer: it carries the handshake, SPEC.md §27.7)");
    sealed_read += usize::from(w.deliver_sealed(b1, &first)?);
    let hello = w.send_sealed(b1, a2, "Hi!")?;
    sealed_read += usize::from(w.deliver_sealed(a2, &hello)?);
    let short = w.send_sealed(a1, b1, "ok")?;
    let longer = w.send_sealed(a2, b1, "Sure, see you at eight at the usual place.")?;
    // Same recipient, different senders and texts: only the length could
    // tell them apart, and both texts pad to one length class.
    assert_eq!(short.len(), longer.len());
    assert_eq!(short[..2], longer[..2]);
    println!(
        "  both envelopes are {} bytes: the server cannot tell the senders or the texts apart",
        short.len()
    );
    for envelope in [&short, &longer] {
        sealed_read += usize::from(w.deliver_sealed(b1, envelope)?);
    }
    let reply = w.send_sealed(b1, a1, "See you!")?;
    sealed_read += usize::from(w.deliver_sealed(a1, &reply)?);
    println!("  the server revokes alice/2's certificate (#{})", w.certificates[&a2].serial());
    w.revoked.push(w.certificates[&a2].serial());
    let after = w.send_sealed(a2, b1, "one more thing")?;
    sealed_read += usize::from(w.deliver_sealed(b1, &after)?);
    assert_eq!(sealed_read, 5, "five sealed messages read, the one under a revoked certificate refused");

    let c = &w.counts;
    println!("Done: {c:#?}");
    assert_eq!(c.delivered, c.decrypted + c.duplicates + c.rejected_as_corrupted + c.undecryptable);
    // The script above: 4 + 5 + 3 + 1 + 3 messages delivered; the repeat, the
    // corrupted copy and the message to the lost session are not decrypted.
    assert_eq!((c.delivered, c.decrypted, c.duplicates, c.rejected_as_corrupted), (16, 13, 1, 1));
    assert_eq!((c.undecryptable, c.retries, c.recovered), (1, 1, 1));
    Ok(())
}
