//! Messenger sessions (SPEC.md §17-§21): accounts with several devices,
//! session records, trust decisions, prekey lifecycle and recovery, end to
//! end through the public API.

use chatcrypt::{
    fan_out, AccountKeyPair, DeviceId, DeviceListUpdate, Error, IdentityKeyPair, LocalDevice, PeerAccount,
    PreKeyUpload, RetryMessage, RetryOutcome, SessionPolicy, SessionRecord, TrustLevel,
    MAX_ARCHIVED_SESSIONS, MAX_UNACKNOWLEDGED_AGE, SIGNED_PREKEY_GRACE,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

const NOW: u64 = 1_800_000_000;

/// One user: an account key and devices.
struct User {
    id: Vec<u8>,
    account: AccountKeyPair,
    devices: Vec<LocalDevice>,
    epoch: u64,
}

impl User {
    fn new(name: &str, n: u32, rng: &mut ChaCha20Rng) -> User {
        let account = AccountKeyPair::generate(rng);
        let mut devices = Vec::new();
        for d in 1..=n {
            devices.push(new_device(&account, d, rng));
        }
        User { id: name.as_bytes().to_vec(), account, devices, epoch: 1 }
    }

    fn list(&self) -> chatcrypt::DeviceList {
        let entries: Vec<_> = self.devices.iter().map(LocalDevice::link).collect();
        self.account.sign_device_list(self.epoch, &entries).unwrap()
    }

    /// The upload of device `i`, through the persist-then-upload gate, and
    /// decoded as a server would.
    fn upload(&mut self, i: usize) -> PreKeyUpload {
        let d = &mut self.devices[i];
        let persisted = d.to_bytes();
        let up = d.upload(&persisted).unwrap();
        let up = PreKeyUpload::from_bytes(&up.to_bytes()).unwrap();
        d.mark_uploaded(&up);
        up
    }
}

fn new_device(account: &AccountKeyPair, id: u32, rng: &mut ChaCha20Rng) -> LocalDevice {
    let identity = IdentityKeyPair::generate(rng);
    let cert = account.certify(DeviceId::new(id), identity.public_key());
    let mut d = LocalDevice::new(identity, cert, NOW, rng).unwrap();
    d.replenish(0, 0, rng).unwrap();
    d
}

fn policy() -> SessionPolicy {
    SessionPolicy::default()
}

#[test]
fn two_users_two_devices_talk_through_records() {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let mut alice = User::new("alice", 2, &mut rng);
    let mut bob = User::new("bob", 2, &mut rng);
    let bob_for_alice = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let alice_for_bob = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    assert_eq!(bob_for_alice.trust_level(), TrustLevel::TrustedOnFirstUse);

    // Alice's device 1 starts sessions with both of Bob's devices.
    let mut records: Vec<SessionRecord> = (1..=2).map(|d| SessionRecord::new(DeviceId::new(d))).collect();
    for (i, r) in records.iter_mut().enumerate() {
        let up = bob.upload(i);
        let bundle = up.bundle(Some(0), Some(0)).unwrap();
        r.initiate(&alice.devices[0], &bob_for_alice, &bundle, &policy(), NOW, &mut rng).unwrap();
    }
    let targets = records.iter_mut().map(|r| (r.device(), r, &bob_for_alice));
    let out = fan_out(targets, b"hello both", NOW, &mut rng);
    assert_eq!(out.len(), 2);
    for (i, (addr, ct)) in out.into_iter().enumerate() {
        assert_eq!(addr, DeviceId::new(i as u32 + 1));
        let mut rec = SessionRecord::new(DeviceId::new(1));
        let (before_x, before_k) = bob.devices[i].one_time_prekey_counts();
        let got =
            rec.decrypt(&mut bob.devices[i], &alice_for_bob, &ct.unwrap(), &policy(), NOW, &mut rng).unwrap();
        assert_eq!(got.plaintext, b"hello both");
        assert!(got.new_session);
        // Both one-time prekeys were consumed.
        assert_eq!(bob.devices[i].one_time_prekey_counts(), (before_x - 1, before_k - 1));
        let reply = rec.encrypt(&alice_for_bob, b"hi", NOW, &mut rng).unwrap();
        let back = records[i]
            .decrypt(&mut alice.devices[0], &bob_for_alice, &reply, &policy(), NOW, &mut rng)
            .unwrap();
        assert_eq!(back.plaintext, b"hi");
        assert!(!records[i].current_session().unwrap().awaiting_reply());
    }
    // Records survive encoding, written in one exact allocation.
    let bytes = records[0].to_bytes();
    assert_eq!(bytes.capacity(), bytes.len());
    let again = SessionRecord::from_bytes(&bytes).unwrap();
    assert_eq!(again.to_bytes(), bytes);
}

#[test]
fn device_not_on_list_and_reinstall_are_refused_until_the_list_says_so() {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let mut bob_for_alice = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();

    // Bob adds device 2 but Alice has the old list: refused.
    bob.devices.push(new_device(&bob.account, 2, &mut rng));
    let up = bob.upload(1);
    let mut rec = SessionRecord::new(DeviceId::new(2));
    let bundle = up.bundle(None, None).unwrap();
    assert_eq!(
        rec.initiate(&alice.devices[0], &bob_for_alice, &bundle, &policy(), NOW, &mut rng),
        Err(Error::UnknownDevice { device: 2 })
    );
    // The new list (epoch 2) adds it, without any decision.
    bob.epoch = 2;
    let update = bob_for_alice.update_device_list(bob.list()).unwrap();
    assert_eq!(
        update,
        DeviceListUpdate::Updated { added: vec![DeviceId::new(2)], removed: vec![], reinstalled: vec![] }
    );
    rec.initiate(&alice.devices[0], &bob_for_alice, &bundle, &policy(), NOW, &mut rng).unwrap();

    // Rollback to epoch 1 is refused, and so is a different epoch-2 list.
    let old = bob.account.sign_device_list(1, &[bob.devices[0].link()]).unwrap();
    assert_eq!(bob_for_alice.update_device_list(old), Err(Error::DeviceListRollback { held: 2, got: 1 }));
    let other = bob.account.sign_device_list(2, &[bob.devices[0].link()]).unwrap();
    assert_eq!(bob_for_alice.update_device_list(other), Err(Error::DeviceListConflict { epoch: 2 }));
    assert_eq!(bob_for_alice.update_device_list(bob.list()), Ok(DeviceListUpdate::Unchanged));

    // Bob reinstalls device 2 (new identity key, same account): the old
    // session stops sending once the new list arrives.
    bob.devices[1] = new_device(&bob.account, 2, &mut rng);
    bob.epoch = 3;
    let update = bob_for_alice.update_device_list(bob.list()).unwrap();
    assert_eq!(
        update,
        DeviceListUpdate::Updated { added: vec![], removed: vec![], reinstalled: vec![DeviceId::new(2)] }
    );
    assert_eq!(rec.encrypt(&bob_for_alice, b"x", NOW, &mut rng), Err(Error::WrongIdentity));
}

#[test]
fn account_key_change_blocks_until_the_caller_decides() {
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let alice_for_bob = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    let mut bob_for_alice = PeerAccount::verified(&bob.id, bob.account.public_key(), bob.list()).unwrap();
    let mut rec = SessionRecord::new(DeviceId::new(1));
    let bundle = bob.upload(0).bundle(Some(0), None).unwrap();
    rec.initiate(&alice.devices[0], &bob_for_alice, &bundle, &policy(), NOW, &mut rng).unwrap();
    let m1 = rec.encrypt(&bob_for_alice, b"one", NOW, &mut rng).unwrap();

    // A list under another account key: an event, and everything stops.
    let mallory = User::new("bob", 1, &mut rng);
    assert_eq!(bob_for_alice.update_device_list(mallory.list()), Ok(DeviceListUpdate::AccountKeyChanged));
    assert_eq!(rec.encrypt(&bob_for_alice, b"two", NOW, &mut rng), Err(Error::AccountKeyChanged));
    assert_eq!(bob_for_alice.mark_verified(), Err(Error::AccountKeyChanged));
    // Rejecting keeps the old key; sending resumes.
    bob_for_alice.reject_account_key_change().unwrap();
    assert_eq!(bob_for_alice.reject_account_key_change(), Err(Error::NoPendingChange));
    assert_eq!(bob_for_alice.trust_level(), TrustLevel::Verified);
    rec.encrypt(&bob_for_alice, b"two", NOW, &mut rng).unwrap();
    // Accepting a change drops verification and the old devices.
    bob_for_alice.update_device_list(mallory.list()).unwrap();
    // Accepting needs the key the user was shown; another pending key is refused.
    assert_eq!(
        bob_for_alice.accept_account_key_change(bob.account.public_key()),
        Err(Error::AccountKeyChanged)
    );
    bob_for_alice.accept_account_key_change(mallory.account.public_key()).unwrap();
    assert_eq!(bob_for_alice.trust_level(), TrustLevel::TrustedOnFirstUse);
    assert_eq!(bob_for_alice.account_key(), mallory.account.public_key());
    assert_eq!(rec.encrypt(&bob_for_alice, b"three", NOW, &mut rng), Err(Error::WrongIdentity));

    // On Bob's side a message from a device whose identity key is not on
    // the list is refused after authentication, and consumes nothing.
    let mut bob_rec = SessionRecord::new(DeviceId::new(1));
    let stranger = PeerAccount::trust_on_first_use(&alice.id, mallory.list()).unwrap();
    let counts = bob.devices[0].one_time_prekey_counts();
    let before = bob.devices[0].to_bytes();
    assert_eq!(
        bob_rec.decrypt(&mut bob.devices[0], &stranger, &m1, &policy(), NOW, &mut rng).map(|d| d.plaintext),
        Err(Error::WrongIdentity)
    );
    assert_eq!(bob.devices[0].to_bytes(), before);
    assert_eq!(bob.devices[0].one_time_prekey_counts(), counts);
    assert!(bob_rec.current_session().is_none());
    let got = bob_rec.decrypt(&mut bob.devices[0], &alice_for_bob, &m1, &policy(), NOW, &mut rng).unwrap();
    assert_eq!(got.plaintext, b"one");
}

#[test]
fn simultaneous_start_converges_on_one_session() {
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    let mut alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    let mut a = SessionRecord::new(DeviceId::new(1));
    let mut b = SessionRecord::new(DeviceId::new(1));
    let bob_bundle = bob.upload(0).bundle(Some(0), Some(0)).unwrap();
    let alice_bundle = alice.upload(0).bundle(Some(0), Some(0)).unwrap();
    a.initiate(&alice.devices[0], &a_peer, &bob_bundle, &policy(), NOW, &mut rng).unwrap();
    b.initiate(&bob.devices[0], &b_peer, &alice_bundle, &policy(), NOW, &mut rng).unwrap();
    let from_a = a.encrypt(&a_peer, b"a1", NOW, &mut rng).unwrap();
    let from_b = b.encrypt(&b_peer, b"b1", NOW, &mut rng).unwrap();
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &from_a, &policy(), NOW, &mut rng).unwrap().plaintext,
        b"a1"
    );
    assert_eq!(
        a.decrypt(&mut alice.devices[0], &a_peer, &from_b, &policy(), NOW, &mut rng).unwrap().plaintext,
        b"b1"
    );
    // After one exchange both send on the same session.
    let a_base = a.current_session().unwrap().remote_identity().clone();
    assert_eq!(&a_base, bob.devices[0].identity().public_key());
    let m = a.encrypt(&a_peer, b"a2", NOW, &mut rng).unwrap();
    let n = b.encrypt(&b_peer, b"b2", NOW, &mut rng).unwrap();
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &m, &policy(), NOW, &mut rng).unwrap().plaintext,
        b"a2"
    );
    assert_eq!(
        a.decrypt(&mut alice.devices[0], &a_peer, &n, &policy(), NOW, &mut rng).unwrap().plaintext,
        b"b2"
    );
    assert_eq!(
        a.current_session().unwrap().is_initiator(),
        !b.current_session().unwrap().is_initiator(),
        "both on the same session: one is its initiator, the other its responder"
    );
    assert!(a.archived_count() <= MAX_ARCHIVED_SESSIONS);
}

#[test]
fn lost_session_and_dead_prekey_recover_with_a_retry() {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let mut alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    let mut a = SessionRecord::new(DeviceId::new(1));
    let mut b = SessionRecord::new(DeviceId::new(1));
    let up = bob.upload(0);
    a.initiate(&alice.devices[0], &a_peer, &up.bundle(Some(0), Some(0)).unwrap(), &policy(), NOW, &mut rng)
        .unwrap();
    let m = a.encrypt(&a_peer, b"first", NOW, &mut rng).unwrap();
    b.decrypt(&mut bob.devices[0], &b_peer, &m, &policy(), NOW, &mut rng).unwrap();
    let r = b.encrypt(&b_peer, b"reply", NOW, &mut rng).unwrap();
    a.decrypt(&mut alice.devices[0], &a_peer, &r, &policy(), NOW, &mut rng).unwrap();

    // Bob loses his record. Alice's next message cannot be decrypted.
    let mut b = SessionRecord::new(DeviceId::new(1));
    let lost = a.encrypt(&a_peer, b"lost", NOW + 10, &mut rng).unwrap();
    let err = b.decrypt(&mut bob.devices[0], &b_peer, &lost, &policy(), NOW + 10, &mut rng).unwrap_err();
    assert_eq!(err, Error::NoSession);
    let alice_key = b_peer.device_identity(DeviceId::new(1)).unwrap().clone();
    let retry =
        RetryMessage::for_failure(bob.devices[0].identity(), &alice_key, &lost, err, NOW + 10).unwrap();
    let retry = RetryMessage::from_bytes(&retry.to_bytes()).unwrap();
    assert_eq!(a.handle_retry(&alice.devices[0], &a_peer, &retry), Ok(RetryOutcome::StartNewSession));
    assert!(a.needs_new_session(NOW + 10));
    // A replay of the same retry after the restart changes nothing.
    bob.devices[0].replenish(0, 0, &mut rng).unwrap(); // the server ran out
    let up = bob.upload(0);
    a.initiate(
        &alice.devices[0],
        &a_peer,
        &up.bundle(Some(0), Some(0)).unwrap(),
        &policy(),
        NOW + 20,
        &mut rng,
    )
    .unwrap();
    assert_eq!(a.handle_retry(&alice.devices[0], &a_peer, &retry), Ok(RetryOutcome::Ignored));
    let again = a.encrypt(&a_peer, b"again", NOW + 20, &mut rng).unwrap();
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &again, &policy(), NOW + 20, &mut rng).unwrap().plaintext,
        b"again"
    );

    // A first message naming a prekey Bob no longer has: Alice learns it.
    let stale = bob.upload(0).bundle(None, None).unwrap();
    // Bob rotates twice and the grace period passes: the signed prekey is gone.
    bob.devices[0].rotate_signed_prekey(NOW + 30, &mut rng).unwrap();
    bob.devices[0].rotate_signed_prekey(NOW + 40 + SIGNED_PREKEY_GRACE, &mut rng).unwrap();
    let mut a2 = SessionRecord::new(DeviceId::new(1));
    let t = NOW + 50 + SIGNED_PREKEY_GRACE;
    a2.initiate(&alice.devices[0], &a_peer, &stale, &policy(), t, &mut rng).unwrap();
    let dead = a2.encrypt(&a_peer, b"to a dead prekey", t, &mut rng).unwrap();
    let mut b2 = SessionRecord::new(DeviceId::new(1));
    let err = b2.decrypt(&mut bob.devices[0], &b_peer, &dead, &policy(), t, &mut rng).unwrap_err();
    assert!(matches!(err, Error::UnknownPreKey { .. }));
    let retry = RetryMessage::for_failure(bob.devices[0].identity(), &alice_key, &dead, err, t).unwrap();
    assert_eq!(a2.handle_retry(&alice.devices[0], &a_peer, &retry), Ok(RetryOutcome::StartNewSession));
}

#[test]
fn rotation_keeps_old_signed_prekeys_for_the_grace_period() {
    let mut rng = ChaCha20Rng::from_seed([6; 32]);
    let alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    let old_bundle = bob.upload(0).bundle(None, None).unwrap();
    assert!(!bob.devices[0].needs_rotation(NOW + 1));
    bob.devices[0].rotate_signed_prekey(NOW + 100, &mut rng).unwrap();
    let mut a = SessionRecord::new(DeviceId::new(1));
    a.initiate(&alice.devices[0], &a_peer, &old_bundle, &policy(), NOW, &mut rng).unwrap();
    let m = a.encrypt(&a_peer, b"late", NOW, &mut rng).unwrap();
    // Within the grace period the old pair (signed + last resort) answers.
    let mut b = SessionRecord::new(DeviceId::new(1));
    let t = NOW + 100 + SIGNED_PREKEY_GRACE - 1;
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &m, &policy(), t, &mut rng).unwrap().plaintext,
        b"late"
    );
    // After it, the same message is refused.
    let mut b = SessionRecord::new(DeviceId::new(1));
    let t = NOW + 100 + SIGNED_PREKEY_GRACE;
    assert!(matches!(
        b.decrypt(&mut bob.devices[0], &b_peer, &m, &policy(), t, &mut rng).map(|d| d.plaintext),
        Err(Error::UnknownPreKey { .. })
    ));
}

#[test]
fn upload_requires_the_persisted_state_and_ids_never_repeat() {
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let mut bob = User::new("bob", 1, &mut rng);
    let d = &mut bob.devices[0];
    let stale = d.to_bytes();
    d.replenish(0, 0, &mut rng).unwrap(); // pending keys already cover the batch
    d.rotate_signed_prekey(NOW, &mut rng).unwrap();
    assert_eq!(d.upload(&stale).map(|_| ()), Err(Error::NotPersisted));
    let up = bob.upload(0);
    assert!(!bob.devices[0].needs_upload());
    let mut ids: Vec<u32> = up.one_time_prekeys().iter().map(|k| k.id()).collect();
    ids.extend(up.kem_prekeys().iter().map(|k| k.id()));
    ids.push(up.signed_prekey().id());
    ids.push(up.last_resort_prekey().id());
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    // The server reports 3 left: replenish tops up to the batch with new ids.
    let (x, k) = bob.devices[0].replenish(3, 3, &mut rng).unwrap();
    assert_eq!((x, k), (chatcrypt::ONE_TIME_PREKEY_BATCH - 3, chatcrypt::KEM_PREKEY_BATCH - 3));
    let up2 = bob.upload(0);
    assert!(up2.one_time_prekeys().iter().all(|k| !ids.contains(&k.id())));
    // The device state round-trips, in one exact allocation (no growth
    // step leaves a copy of the secrets behind).
    let bytes = bob.devices[0].to_bytes();
    assert_eq!(bytes.capacity(), bytes.len());
    assert_eq!(LocalDevice::from_bytes(&bytes).unwrap().to_bytes(), bytes);
    let account = bob.account.to_bytes();
    assert_eq!((account.len(), account.capacity()), (34, 34));
    let peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap().to_bytes();
    assert_eq!(peer.capacity(), peer.len());
}

#[test]
fn unanswered_sessions_expire() {
    let mut rng = ChaCha20Rng::from_seed([8; 32]);
    let alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let mut a = SessionRecord::new(DeviceId::new(1));
    a.initiate(
        &alice.devices[0],
        &a_peer,
        &bob.upload(0).bundle(None, None).unwrap(),
        &policy(),
        NOW,
        &mut rng,
    )
    .unwrap();
    a.encrypt(&a_peer, b"x", NOW + MAX_UNACKNOWLEDGED_AGE - 1, &mut rng).unwrap();
    assert_eq!(a.encrypt(&a_peer, b"x", NOW + MAX_UNACKNOWLEDGED_AGE, &mut rng), Err(Error::SessionExpired));
    assert!(a.needs_new_session(NOW + MAX_UNACKNOWLEDGED_AGE));
}

#[test]
fn a_last_resort_handshake_cannot_be_replayed_once_its_session_is_gone() {
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    let alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    // No one-time prekey of either kind: signed + last-resort KEM prekey.
    let bundle = bob.upload(0).bundle(None, None).unwrap();
    let mut a = SessionRecord::new(DeviceId::new(1));
    a.initiate(&alice.devices[0], &a_peer, &bundle, &policy(), NOW, &mut rng).unwrap();
    let m = a.encrypt(&a_peer, b"once", NOW, &mut rng).unwrap();
    let mut b = SessionRecord::new(DeviceId::new(1));
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &m, &policy(), NOW, &mut rng).unwrap().plaintext,
        b"once"
    );
    // The record recognises its own handshake...
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &m, &policy(), NOW, &mut rng).map(|d| d.plaintext),
        Err(Error::Duplicate)
    );
    // ...and after the record is lost, the device still does, across a
    // restore of its stored form (the new record has read nothing, so it
    // reports a message naming a used handshake, not a copy it has read).
    let mut bob_device = LocalDevice::from_bytes(&bob.devices[0].to_bytes()).unwrap();
    let mut fresh = SessionRecord::new(DeviceId::new(1));
    let before = bob_device.to_bytes();
    assert_eq!(
        fresh.decrypt(&mut bob_device, &b_peer, &m, &policy(), NOW, &mut rng).map(|d| d.plaintext),
        Err(Error::UsedKey)
    );
    assert_eq!(bob_device.to_bytes(), before);
    // Once the signed prekey is deleted the entry goes too (a replay then
    // fails as an unknown prekey).
    bob_device.rotate_signed_prekey(NOW, &mut rng).unwrap();
    bob_device.prune(NOW + SIGNED_PREKEY_GRACE);
    assert!(matches!(
        fresh
            .decrypt(&mut bob_device, &b_peer, &m, &policy(), NOW + SIGNED_PREKEY_GRACE, &mut rng)
            .map(|d| d.plaintext),
        Err(Error::UnknownPreKey { .. })
    ));
}

#[test]
fn a_handshake_that_fails_to_authenticate_gets_a_retry_but_a_tampered_copy_changes_nothing() {
    let mut rng = ChaCha20Rng::from_seed([10; 32]);
    let alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    let bundle = bob.upload(0).bundle(Some(0), Some(0)).unwrap();
    // Bob's device comes back from a state older than its upload (here:
    // rebuilt from its identity seed): it reissues the ids the server
    // still hands out (1, 2, 3, ...) with other keys.
    let mut fresh = new_device_without_prekeys(&bob, &mut rng);
    fresh.replenish(0, 0, &mut rng).unwrap();

    let mut a = SessionRecord::new(DeviceId::new(1));
    a.initiate(&alice.devices[0], &a_peer, &bundle, &policy(), NOW, &mut rng).unwrap();
    let m = a.encrypt(&a_peer, b"hello", NOW, &mut rng).unwrap();
    let alice_key = b_peer.device_identity(DeviceId::new(1)).unwrap().clone();

    // A tampered copy fails too, and its retry is ignored: it names a
    // message Alice never sent.
    let mut tampered = m.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let mut b = SessionRecord::new(DeviceId::new(1));
    let err = b.decrypt(&mut bob.devices[0], &b_peer, &tampered, &policy(), NOW, &mut rng).unwrap_err();
    assert_eq!(err, Error::Auth);
    let retry =
        RetryMessage::for_failure(bob.devices[0].identity(), &alice_key, &tampered, err, NOW).unwrap();
    assert_eq!(retry.reason(), chatcrypt::RetryReason::HandshakeFailed);
    let before = a.to_bytes();
    assert_eq!(a.handle_retry(&alice.devices[0], &a_peer, &retry), Ok(RetryOutcome::Ignored));
    assert_eq!(a.to_bytes(), before);

    // The genuine message against the device with reissued ids: its keys
    // differ, so it fails to authenticate, and that retry names a message
    // Alice sent: she starts over.
    let err = b.decrypt(&mut fresh, &b_peer, &m, &policy(), NOW, &mut rng).unwrap_err();
    assert_eq!(err, Error::Auth);
    let retry = RetryMessage::for_failure(fresh.identity(), &alice_key, &m, err, NOW).unwrap();
    let retry = RetryMessage::from_bytes(&retry.to_bytes()).unwrap();
    assert_eq!(a.handle_retry(&alice.devices[0], &a_peer, &retry), Ok(RetryOutcome::StartNewSession));
    // A duplicate, a malformed message or a trust refusal gets none.
    assert!(RetryMessage::for_failure(fresh.identity(), &alice_key, &m, Error::Duplicate, NOW).is_none());
    assert!(RetryMessage::for_failure(fresh.identity(), &alice_key, b"junk", Error::NoSession, NOW).is_none());
    assert!(RetryMessage::for_failure(fresh.identity(), &alice_key, &m, Error::WrongIdentity, NOW).is_none());
}

/// Bob's device 1 again, from its identity seed: same identity and
/// certificate, same ids from 3, other keys.
fn new_device_without_prekeys(bob: &User, rng: &mut ChaCha20Rng) -> LocalDevice {
    let identity = IdentityKeyPair::from_seed(&bob.devices[0].identity().seed());
    let cert = bob.devices[0].certificate().clone();
    LocalDevice::new(identity, cert, NOW, rng).unwrap()
}

#[test]
fn an_exact_copy_is_a_duplicate_and_a_corrupted_copy_is_rejected() {
    let mut rng = ChaCha20Rng::from_seed([11; 32]);
    let mut alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    let bundle = bob.upload(0).bundle(Some(0), Some(0)).unwrap();
    let mut a = SessionRecord::new(DeviceId::new(1));
    a.initiate(&alice.devices[0], &a_peer, &bundle, &policy(), NOW, &mut rng).unwrap();
    let mut b = SessionRecord::new(DeviceId::new(1));
    let first = a.encrypt(&a_peer, b"first", NOW, &mut rng).unwrap();
    b.decrypt(&mut bob.devices[0], &b_peer, &first, &policy(), NOW, &mut rng).unwrap();
    let reply = b.encrypt(&b_peer, b"reply", NOW, &mut rng).unwrap();
    a.decrypt(&mut alice.devices[0], &a_peer, &reply, &policy(), NOW, &mut rng).unwrap();
    let m = a.encrypt(&a_peer, b"read once", NOW, &mut rng).unwrap();
    b.decrypt(&mut bob.devices[0], &b_peer, &m, &policy(), NOW, &mut rng).unwrap();
    // The record survives encoding with what it remembers.
    let mut b = SessionRecord::from_bytes(&b.to_bytes()).unwrap();
    let before = b.to_bytes();
    let again = |b: &mut SessionRecord, bob: &mut User, msg: &[u8], rng: &mut ChaCha20Rng| {
        b.decrypt(&mut bob.devices[0], &b_peer, msg, &policy(), NOW, rng).map(|d| d.plaintext)
    };
    assert_eq!(again(&mut b, &mut bob, &m, &mut rng), Err(Error::Duplicate));
    assert_eq!(again(&mut b, &mut bob, &first, &mut rng), Err(Error::Duplicate), "the PreKeyMessage too");
    for at in [m.len() - 20, m.len() - 1, 60] {
        let mut bad = m.clone();
        bad[at] ^= 0x10;
        assert_eq!(again(&mut b, &mut bob, &bad, &mut rng), Err(Error::UsedKey), "flip at {at}");
    }
    assert_eq!(b.to_bytes(), before, "failures change nothing");
}

#[test]
fn a_relay_cannot_make_a_device_drop_a_working_session() {
    let mut rng = ChaCha20Rng::from_seed([12; 32]);
    let mut alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    let bundle = bob.upload(0).bundle(Some(0), Some(0)).unwrap();
    let mut a = SessionRecord::new(DeviceId::new(1));
    a.initiate(&alice.devices[0], &a_peer, &bundle, &policy(), NOW, &mut rng).unwrap();
    let mut b = SessionRecord::new(DeviceId::new(1));
    let first = a.encrypt(&a_peer, b"first", NOW, &mut rng).unwrap();
    b.decrypt(&mut bob.devices[0], &b_peer, &first, &policy(), NOW, &mut rng).unwrap();
    let reply = b.encrypt(&b_peer, b"reply", NOW, &mut rng).unwrap();
    a.decrypt(&mut alice.devices[0], &a_peer, &reply, &policy(), NOW, &mut rng).unwrap();

    // The relay corrupts Alice's next Message and delivers the copy first:
    // Bob's app answers with a genuine, signed retry...
    let m = a.encrypt(&a_peer, b"next", NOW, &mut rng).unwrap();
    let mut bad = m.clone();
    bad[60] ^= 4;
    let err = b.decrypt(&mut bob.devices[0], &b_peer, &bad, &policy(), NOW, &mut rng).unwrap_err();
    assert_eq!(err, Error::Auth);
    let alice_key = b_peer.device_identity(DeviceId::new(1)).unwrap().clone();
    let retry = RetryMessage::for_failure(bob.devices[0].identity(), &alice_key, &bad, err, NOW).unwrap();
    // ...which Alice ignores: it names a message she never sent.
    let before = a.to_bytes();
    assert_eq!(a.handle_retry(&alice.devices[0], &a_peer, &retry), Ok(RetryOutcome::Ignored));
    assert_eq!(a.to_bytes(), before);
    // The genuine message still reads, and both stay on the same session.
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &m, &policy(), NOW, &mut rng).unwrap().plaintext,
        b"next"
    );
    assert_eq!(a.current_session_id(), b.current_session_id());
}

#[test]
fn the_replay_guard_cannot_be_flushed_and_asks_for_rotation_when_full() {
    use chatcrypt::{AcceptPolicy, Mode, ModePolicy, PqPolicy, PreKeyBundle, MAX_LAST_RESORT_HANDSHAKES};
    let mut rng = ChaCha20Rng::from_seed([13; 32]);
    let alice = User::new("alice", 1, &mut rng);
    let mut bob = User::new("bob", 1, &mut rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, bob.list()).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, alice.list()).unwrap();
    // Classical handshakes without any one-time prekey, to keep this fast:
    // each is remembered against replay.
    let classical = SessionPolicy::new(
        Mode::Plain,
        PqPolicy::AllowClassical,
        AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
    );
    let d = &bob.devices[0];
    let bundle = PreKeyBundle::new(d.identity().public_key().clone(), d.signed_prekey().clone(), None);
    let mut firsts = Vec::new();
    for i in 0..MAX_LAST_RESORT_HANDSHAKES {
        let mut a = SessionRecord::new(DeviceId::new(1));
        a.initiate(&alice.devices[0], &a_peer, &bundle, &classical, NOW, &mut rng).unwrap();
        let m = a.encrypt(&a_peer, b"x", NOW, &mut rng).unwrap();
        let mut b = SessionRecord::new(DeviceId::new(1));
        b.decrypt(&mut bob.devices[0], &b_peer, &m, &classical, NOW, &mut rng).unwrap();
        assert_eq!(
            bob.devices[0].needs_rotation(NOW),
            i + 1 >= MAX_LAST_RESORT_HANDSHAKES / 2,
            "after {}",
            i + 1
        );
        firsts.push(m);
    }
    // Full: the first handshake is still refused as a replay (nothing was
    // forgotten), and a new one is refused until the device rotates.
    let mut b = SessionRecord::new(DeviceId::new(1));
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &firsts[0], &classical, NOW, &mut rng).map(|d| d.plaintext),
        Err(Error::UsedKey)
    );
    let mut a = SessionRecord::new(DeviceId::new(1));
    a.initiate(&alice.devices[0], &a_peer, &bundle, &classical, NOW, &mut rng).unwrap();
    let m = a.encrypt(&a_peer, b"one more", NOW, &mut rng).unwrap();
    let spk = bob.devices[0].signed_prekey().id();
    let before = bob.devices[0].to_bytes();
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &m, &classical, NOW, &mut rng).map(|d| d.plaintext),
        Err(Error::UnknownPreKey { id: spk })
    );
    assert_eq!(bob.devices[0].to_bytes(), before);
    // After a rotation, a handshake with the new signed prekey is answered.
    bob.devices[0].rotate_signed_prekey(NOW, &mut rng).unwrap();
    assert!(!bob.devices[0].needs_rotation(NOW));
    let d = &bob.devices[0];
    let bundle = PreKeyBundle::new(d.identity().public_key().clone(), d.signed_prekey().clone(), None);
    let mut a = SessionRecord::new(DeviceId::new(1));
    a.initiate(&alice.devices[0], &a_peer, &bundle, &classical, NOW, &mut rng).unwrap();
    let m = a.encrypt(&a_peer, b"after rotation", NOW, &mut rng).unwrap();
    assert_eq!(
        b.decrypt(&mut bob.devices[0], &b_peer, &m, &classical, NOW, &mut rng).unwrap().plaintext,
        b"after rotation"
    );
    // The stored device keeps every entry.
    let bytes = bob.devices[0].to_bytes();
    assert_eq!(LocalDevice::from_bytes(&bytes).unwrap().to_bytes(), bytes);
}

#[test]
fn an_account_cannot_list_a_device_that_did_not_consent() {
    let mut rng = ChaCha20Rng::from_seed([14; 32]);
    let bob = User::new("bob", 1, &mut rng);
    let mallory = User::new("mallory", 1, &mut rng);
    // Bob's device consented to Bob's account only.
    let bobs_link = bob.devices[0].link();
    assert_eq!(bobs_link.verify(bob.account.public_key()), Ok(()));
    assert_eq!(bobs_link.verify(mallory.account.public_key()), Err(Error::BadSignature));
    assert_eq!(
        mallory.account.sign_device_list(1, &[bobs_link]).map(|_| ()),
        Err(Error::BadSignature),
        "Mallory cannot list Bob's device"
    );
    // A consent names the device id too: the list carries exactly the id
    // the device consented to, and it survives decoding.
    let wrong_id =
        chatcrypt::DeviceLink::new(bob.devices[0].identity(), bob.account.public_key(), DeviceId::new(9));
    let list = bob.account.sign_device_list(1, &[wrong_id]).unwrap();
    assert_eq!(list.identity_of(DeviceId::new(9)), Some(bob.devices[0].identity().public_key()));
    assert_eq!(chatcrypt::DeviceList::from_bytes(&list.to_bytes()), Ok(list), "consents survive decoding");
}
