//! The messenger layer through the facade: a whole conversation between
//! two users' devices, sealed sender, retries, trust changes, padding, and
//! the transactional promise under a generator that runs dry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

const NOW: u64 = 1_800_000_000;

struct User {
    id: Vec<u8>,
    account: AccountKeyPair,
    devices: Vec<LocalDevice>,
}

fn device(account: &AccountKeyPair, id: u32, rng: &mut Rng) -> LocalDevice {
    let identity = IdentityKeyPair::generate(rng).unwrap();
    let cert = account.certify(id, &identity.public_key()).unwrap();
    let cert = DeviceCertificate::from_bytes(&cert.to_bytes()).unwrap();
    let mut d = LocalDevice::new(&identity, &cert, NOW, rng).unwrap();
    assert_eq!(d.identity_key().unwrap(), identity.public_key());
    assert_eq!(d.replenish(0, 0, rng).unwrap(), Replenished { one_time: 100, kem: 20 });
    d
}

fn user(name: &str, n: u32, rng: &mut Rng) -> User {
    let account = AccountKeyPair::generate(rng).unwrap();
    let devices = (1..=n).map(|i| device(&account, i, rng)).collect();
    User { id: name.as_bytes().to_vec(), account, devices }
}

impl User {
    /// The device list, from links that travelled as bytes.
    fn list(&self, epoch: u64) -> DeviceList {
        let links: Vec<DeviceLink> = self
            .devices
            .iter()
            .map(|d| DeviceLink::from_bytes(&d.link().unwrap().to_bytes()).unwrap())
            .collect();
        let list = self.account.sign_device_list(epoch, &links).unwrap();
        DeviceList::from_bytes(&list.to_bytes()).unwrap()
    }

    /// Device `i`'s upload, persisted first, as the server decodes it.
    fn upload(&mut self, i: usize) -> PreKeyUpload {
        let d = &mut self.devices[i];
        let stored = d.to_bytes().unwrap();
        let up = d.upload(&stored).unwrap();
        d.mark_uploaded(&up).unwrap();
        PreKeyUpload::from_bytes(&up.to_bytes()).unwrap()
    }
}

fn code(r: Result<impl Sized>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.code(),
    }
}

struct Pair {
    alice: User,
    bob: User,
    /// Alice's view of Bob, Bob's view of Alice.
    a_peer: PeerAccount,
    b_peer: PeerAccount,
    /// Alice's record for Bob's device 1, Bob's (device 1) for Alice's.
    a_rec: SessionRecord,
    b_rec: SessionRecord,
    /// The bundle Alice's session started from.
    bundle: PreKeyBundle,
}

fn pair(rng: &mut Rng) -> Pair {
    let mut alice = user("alice", 1, rng);
    let mut bob = user("bob", 2, rng);
    let a_peer = PeerAccount::trust_on_first_use(&bob.id, &bob.list(1)).unwrap();
    let b_peer = PeerAccount::trust_on_first_use(&alice.id, &alice.list(1)).unwrap();
    let _ = alice.upload(0);
    let up = bob.upload(0);
    assert_eq!((up.one_time_prekey_count(), up.kem_prekey_count()), (100, 20));
    let bundle = up.bundle(Some(0), Some(0)).unwrap();
    let mut a_rec = SessionRecord::new(1);
    assert!(a_rec.needs_new_session(NOW).unwrap());
    a_rec.initiate(&alice.devices[0], &a_peer, &bundle, SessionPolicy::default(), NOW, rng).unwrap();
    let b_rec = SessionRecord::new(1);
    Pair { alice, bob, a_peer, b_peer, a_rec, b_rec, bundle }
}

#[test]
fn a_conversation_between_two_users() {
    let rng = &mut Rng::os();
    let mut p = pair(rng);
    let expected = p.a_rec.encrypted_len(9, Padding::default()).unwrap();
    let first = p.a_rec.encrypt(&p.a_peer, b"hello Bob", NOW, rng).unwrap();
    assert_eq!(first.len(), expected);
    // The default padding: 160 bytes of padded plaintext, whatever the text.
    let other = {
        let mut q = pair(rng);
        q.a_rec.encrypt(&q.a_peer, b"hi", NOW, rng).unwrap()
    };
    assert_eq!(first.len(), other.len());
    let got = p
        .b_rec
        .decrypt(&mut p.bob.devices[0], &p.b_peer, &first, SessionPolicy::default(), NOW, rng)
        .unwrap();
    assert_eq!(&got.plaintext[..], b"hello Bob");
    assert!(got.new_session);
    assert_eq!(p.bob.devices[0].one_time_prekey_counts().unwrap(), (99, 19));
    // A replay is a duplicate, and changes nothing.
    let before = p.b_rec.to_bytes().unwrap();
    assert_eq!(
        code(p.b_rec.decrypt(&mut p.bob.devices[0], &p.b_peer, &first, SessionPolicy::default(), NOW, rng)),
        ErrorCode::Duplicate
    );
    assert_eq!(p.b_rec.to_bytes().unwrap(), before);
    let reply = p.b_rec.encrypt(&p.b_peer, b"hello Alice", NOW, rng).unwrap();
    let got = p
        .a_rec
        .decrypt(&mut p.alice.devices[0], &p.a_peer, &reply, SessionPolicy::default(), NOW, rng)
        .unwrap();
    assert_eq!(&got.plaintext[..], b"hello Alice");
    assert!(!got.new_session);
    assert_eq!(p.a_rec.current_session_id().unwrap(), p.b_rec.current_session_id().unwrap());
    // Stored forms round-trip, plain and sealed.
    let key = [7u8; 32];
    let mut a_rec = SessionRecord::open(&key, &p.a_rec.seal(&key, rng).unwrap()).unwrap();
    let mut b_dev = LocalDevice::from_bytes(&p.bob.devices[0].to_bytes().unwrap()).unwrap();
    let b_peer = PeerAccount::open(&key, &p.b_peer.seal(&key, rng).unwrap()).unwrap();
    let none = Padding::new(0, 0).unwrap();
    let expected = a_rec.encrypted_len(1, none).unwrap();
    let m = a_rec.encrypt_padded(&p.a_peer, b"x", none, NOW, rng).unwrap();
    assert_eq!(m.len(), expected);
    assert_eq!(code(a_rec.encrypted_len(MAX_PLAINTEXT_LEN, none)), ErrorCode::TooLarge);
    let got = p.b_rec.decrypt(&mut b_dev, &b_peer, &m, SessionPolicy::default(), NOW, rng).unwrap();
    assert_eq!(&got.plaintext[..], b"x");
    // Both users compute the same account safety number.
    let a_sn = p.a_peer.safety_number(&p.alice.id, &p.alice.account.public_key().unwrap()).unwrap();
    let b_sn = SafetyNumber::for_accounts(
        &p.bob.id,
        &p.bob.account.public_key().unwrap(),
        &p.alice.id,
        &p.alice.account.public_key().unwrap(),
    )
    .unwrap();
    assert_eq!(a_sn.displayable(), b_sn.displayable());
    assert_eq!(a_sn.displayable().len(), SAFETY_NUMBER_DIGITS);
    assert!(b_sn.compare_scanned(&a_sn.scannable()).unwrap());
}

#[test]
fn sealed_sender_through_records() {
    let rng = &mut Rng::os();
    let mut p = pair(rng);
    let server = ServerKeyPair::generate(rng).unwrap();
    let a_dev = &p.alice.devices[0];
    let cert = server
        .issue(41, NOW + 86_400, &p.alice.account.public_key().unwrap(), 1, &a_dev.identity_key().unwrap())
        .unwrap();
    let cert = SenderCertificate::from_bytes(&cert.to_bytes()).unwrap();
    assert_eq!(cert.to_bytes().len(), SENDER_CERTIFICATE_LEN);
    let inner = p.a_rec.encrypted_len(12, Padding::default()).unwrap();
    let envelope = p.a_rec.encrypt_sealed(a_dev, &p.a_peer, &cert, b"sealed hello", NOW, rng).unwrap();
    assert_eq!(envelope.len(), SEALED_ENVELOPE_OVERHEAD + 4 + inner);
    let b_identity = p.bob.devices[0].identity().unwrap();
    let mut policy = CertificatePolicy::new(NOW);
    // No root: untrusted.
    assert_eq!(code(open(&b_identity, &envelope, &policy)), ErrorCode::UntrustedCertificate);
    policy.add_root(&server.public_key()).unwrap();
    let opened = open(&b_identity, &envelope, &policy).unwrap();
    assert_eq!(opened.certificate().serial(), 41);
    assert_eq!(opened.certificate().identity_key(), a_dev.identity_key().unwrap());
    let got = p
        .b_rec
        .decrypt_sealed(&mut p.bob.devices[0], &p.b_peer, &opened, SessionPolicy::default(), NOW, rng)
        .unwrap();
    assert_eq!(&got.plaintext[..], b"sealed hello");
    // A record for another device refuses it (the certificate names device 1).
    let mut wrong = SessionRecord::new(2);
    assert_eq!(
        code(wrong.decrypt_sealed(
            &mut p.bob.devices[0],
            &p.b_peer,
            &opened,
            SessionPolicy::default(),
            NOW,
            rng
        )),
        ErrorCode::SenderMismatch
    );
    // Revoked and expired certificates.
    let mut revoked = policy.clone();
    revoked.revoke(41);
    assert_eq!(code(open(&b_identity, &envelope, &revoked)), ErrorCode::CertificateRevoked);
    let mut late = policy.clone();
    late.set_now(NOW + 86_400);
    assert_eq!(late.now(), NOW + 86_400);
    assert_eq!(code(open(&b_identity, &envelope, &late)), ErrorCode::CertificateExpired);
    late.set_now(NOW + 86_399);
    assert!(open(&b_identity, &envelope, &late).is_ok());
    // A certificate whose signature does not verify under its (trusted) issuer.
    let mut forged = cert.to_bytes();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let forged = SenderCertificate::from_bytes(&forged).unwrap();
    assert_eq!(code(forged.validate(&policy)), ErrorCode::BadSignature);
    cert.validate(&policy).unwrap();
    // The device opens it with its own key, without a copy.
    let own = p.bob.devices[0].open_envelope(&envelope, &policy).unwrap();
    assert_eq!(own.certificate().serial(), 41);
    // Multi-recipient: sealed once, split by the server, opened by each.
    let recipients = [p.bob.devices[0].identity_key().unwrap(), p.bob.devices[1].identity_key().unwrap()];
    let a_identity = p.alice.devices[0].identity().unwrap();
    let multi = seal_multi(&a_identity, &cert, &recipients, b"to both", Padding::default(), rng).unwrap();
    let parts = split_multi_recipient(&multi).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(split_multi_recipient_range(&multi, 1, 5).unwrap(), parts[1..].to_vec());
    assert_eq!(split_multi_recipient_range(&multi, 0, 1).unwrap(), parts[..1].to_vec());
    assert!(split_multi_recipient_range(&multi, 2, 5).unwrap().is_empty());
    for (i, d) in p.bob.devices.iter().enumerate() {
        let part = parts.iter().find(|x| x.recipient == recipients[i]).unwrap();
        let opened = open(&d.identity().unwrap(), &part.envelope, &policy).unwrap();
        assert_eq!(&opened.content()[..], b"to both");
    }
    // One part is not for the other device.
    let part0 = parts.iter().find(|x| x.recipient == recipients[0]).unwrap();
    assert_eq!(code(open(&p.bob.devices[1].identity().unwrap(), &part0.envelope, &policy)), ErrorCode::Auth);
    // A single envelope with a certificate of someone else is refused before sealing.
    assert_eq!(
        code(seal(&b_identity, &cert, &recipients[1], b"x", Padding::default(), rng)),
        ErrorCode::WrongIdentity
    );
    assert_eq!(
        code(seal(&b_identity, &cert, &[0u8; 3], b"x", Padding::default(), rng)),
        ErrorCode::WrongIdentity
    );
    assert_eq!(
        code(seal_multi(&b_identity, &cert, &[[0u8; 32]], b"x", Padding::default(), rng)),
        ErrorCode::WrongIdentity
    );
}

#[test]
fn a_failed_message_brings_a_retry_and_a_new_session() {
    let rng = &mut Rng::os();
    let mut p = pair(rng);
    let first = p.a_rec.encrypt(&p.a_peer, b"one", NOW, rng).unwrap();
    p.b_rec.decrypt(&mut p.bob.devices[0], &p.b_peer, &first, SessionPolicy::default(), NOW, rng).unwrap();
    let mut second = p.a_rec.encrypt(&p.a_peer, b"two", NOW, rng).unwrap();
    let last = second.len() - 1;
    second[last] ^= 1;
    let err = p
        .b_rec
        .decrypt(&mut p.bob.devices[0], &p.b_peer, &second, SessionPolicy::default(), NOW, rng)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Auth);
    let a_key = p.alice.devices[0].identity_key().unwrap();
    let retry = p.bob.devices[0].retry_for(&a_key, &second, &err, NOW).unwrap().unwrap();
    // The same retry from the code alone (bindings hand errors over as codes).
    let by_code = p.bob.devices[0].retry_for_code(&a_key, &second, err.code(), 0, NOW).unwrap().unwrap();
    assert_eq!(by_code.to_bytes(), retry.to_bytes());
    assert!(p.bob.devices[0]
        .retry_for_code(&a_key, &second, ErrorCode::Duplicate, 0, NOW)
        .unwrap()
        .is_none());
    assert_eq!(err.prekey_id(), None);
    assert_eq!(
        code(p.bob.devices[0].retry_for_code(&a_key, &second, ErrorCode::Auth, 7, NOW)),
        ErrorCode::InvalidArgument
    );
    let retry = RetryMessage::from_bytes(&retry.to_bytes()).unwrap();
    assert_eq!(retry.to_bytes().len(), RETRY_MESSAGE_LEN);
    // Alice's messages still carry the handshake: a failed handshake.
    assert_eq!(retry.reason(), RetryReason::HandshakeFailed);
    assert_eq!(retry.author(), p.bob.devices[0].identity_key().unwrap());
    // A duplicate calls for no retry.
    let dup = p
        .b_rec
        .decrypt(&mut p.bob.devices[0], &p.b_peer, &first, SessionPolicy::default(), NOW, rng)
        .unwrap_err();
    assert!(p.bob.devices[0].retry_for(&a_key, &first, &dup, NOW).unwrap().is_none());
    // Alice's record: the tampered copy is not what she sent, so ignored...
    assert_eq!(p.a_rec.handle_retry(&p.alice.devices[0], &p.a_peer, &retry).unwrap(), RetryOutcome::Ignored);
    // ...but a retry for her genuine message starts a new session.
    second[last] ^= 1;
    let genuine = Error::Protocol(chatcrypt::Error::Auth);
    let retry = p.bob.devices[0].retry_for(&a_key, &second, &genuine, NOW).unwrap().unwrap();
    assert_eq!(
        p.a_rec.handle_retry(&p.alice.devices[0], &p.a_peer, &retry).unwrap(),
        RetryOutcome::StartNewSession
    );
    assert_eq!(p.a_rec.archived_count().unwrap(), 1);
    assert!(p.a_rec.needs_new_session(NOW).unwrap());
    assert_eq!(code(p.a_rec.encrypt(&p.a_peer, b"three", NOW, rng)), ErrorCode::NoSession);
    assert_eq!(code(p.a_rec.encrypted_len(5, Padding::default())), ErrorCode::NoSession);
}

#[test]
fn device_list_changes_and_account_key_changes() {
    let rng = &mut Rng::os();
    let mut p = pair(rng);
    // Bob adds a device: epoch 2.
    let new = device(&p.bob.account, 3, rng);
    p.bob.devices.push(new);
    let update = p.a_peer.update_device_list(&p.bob.list(2)).unwrap();
    assert_eq!(update.change, DeviceListChange::Updated);
    assert_eq!(update.added, vec![3]);
    assert!(update.removed.is_empty() && update.reinstalled.is_empty());
    assert_eq!(p.a_peer.device_list().unwrap().devices(), vec![1, 2, 3]);
    assert_eq!(p.a_peer.update_device_list(&p.bob.list(2)).unwrap().change, DeviceListChange::Unchanged);
    // Bob removes device 2 and reinstalls device 3 (new identity key).
    p.bob.devices.remove(1);
    p.bob.devices[1] = device(&p.bob.account, 3, rng);
    let update = p.a_peer.update_device_list(&p.bob.list(3)).unwrap();
    assert_eq!(update.change, DeviceListChange::Updated);
    assert!(update.added.is_empty());
    assert_eq!(update.removed, vec![2]);
    assert_eq!(update.reinstalled, vec![3]);
    assert_eq!(p.a_peer.device_identity(3).unwrap(), p.bob.devices[1].identity_key().unwrap());
    assert_eq!(code(p.a_peer.device_identity(2)), ErrorCode::UnknownDevice);
    // A rollback is refused.
    assert_eq!(code(p.a_peer.update_device_list(&p.bob.list(1))), ErrorCode::DeviceListRollback);
    assert_eq!(code(p.a_peer.update_device_list(&p.bob.list(2))), ErrorCode::DeviceListRollback);
    // A new account key: pending, every device refused until the decision.
    let other = user("bob", 1, rng);
    let update = p.a_peer.update_device_list(&other.list(1)).unwrap();
    assert_eq!(update.change, DeviceListChange::AccountKeyChanged);
    let pending = p.a_peer.pending_account_key().unwrap().unwrap();
    assert_eq!(pending, other.account.public_key().unwrap());
    assert_eq!(code(p.a_rec.encrypt(&p.a_peer, b"x", NOW, rng)), ErrorCode::AccountKeyChanged);
    assert_eq!(code(p.a_peer.mark_verified()), ErrorCode::AccountKeyChanged);
    let mut rejected = p.a_peer.clone();
    rejected.reject_account_key_change().unwrap();
    assert_eq!(code(rejected.reject_account_key_change()), ErrorCode::NoPendingChange);
    assert_eq!(
        code(p.a_peer.accept_account_key_change(&p.bob.account.public_key().unwrap())),
        ErrorCode::AccountKeyChanged
    );
    p.a_peer.accept_account_key_change(&pending).unwrap();
    assert_eq!(p.a_peer.trust_level().unwrap(), TrustLevel::TrustedOnFirstUse);
    // The old session's device is now listed with another identity key.
    assert_eq!(code(p.a_rec.encrypt(&p.a_peer, b"x", NOW, rng)), ErrorCode::WrongIdentity);
    p.a_peer.mark_verified().unwrap();
    assert_eq!(p.a_peer.trust_level().unwrap(), TrustLevel::Verified);
    // Verified first contact needs the list's key.
    assert_eq!(
        code(PeerAccount::verified(&p.bob.id, &p.alice.account.public_key().unwrap(), &p.bob.list(4))),
        ErrorCode::AccountKeyChanged
    );
    // Links and keys of the wrong length.
    assert_eq!(code(DeviceLink::from_bytes(&[0u8; 99])), ErrorCode::DecodeTruncated);
    assert_eq!(code(p.alice.account.certify(1, &[0u8; 31])), ErrorCode::InvalidArgument);
    assert_eq!(code(PeerAccount::trust_on_first_use(&[b'x'; 256], &p.bob.list(5))), ErrorCode::TooLarge);
}

#[test]
fn upload_needs_the_persisted_form() {
    let rng = &mut Rng::os();
    let mut u = user("carol", 1, rng);
    let d = &mut u.devices[0];
    let stale = d.to_bytes().unwrap();
    d.rotate_signed_prekey(NOW + 1, rng).unwrap();
    assert_eq!(code(d.upload(&stale)), ErrorCode::NotPersisted);
    assert!(d.needs_upload().unwrap());
    let up = d.upload(&d.to_bytes().unwrap()).unwrap();
    d.mark_uploaded(&up).unwrap();
    assert!(!d.needs_upload().unwrap());
    assert_eq!(d.replenish(100, 20, rng).unwrap(), Replenished { one_time: 0, kem: 0 });
    assert_eq!(code(up.bundle(Some(100), None)), ErrorCode::DecodeInvalidValue);
}

#[test]
fn a_generator_that_runs_dry_changes_nothing() {
    let rng = &mut Rng::os();
    let mut p = pair(rng);
    let first = p.a_rec.encrypt(&p.a_peer, b"hello", NOW, rng).unwrap();
    // Accepting the first message draws 32 bytes (the responder's
    // ratchet key) after it has consumed the prekeys; with fewer, the
    // record and the device (prekeys included) are as they were.
    let rec_before = p.b_rec.to_bytes().unwrap();
    let dev_before = p.bob.devices[0].to_bytes().unwrap();
    let mut dry = Rng::scripted(&[1u8; 31]);
    assert_eq!(
        code(p.b_rec.decrypt(
            &mut p.bob.devices[0],
            &p.b_peer,
            &first,
            SessionPolicy::default(),
            NOW,
            &mut dry
        )),
        ErrorCode::RngExhausted
    );
    assert_eq!(p.b_rec.to_bytes().unwrap(), rec_before);
    assert_eq!(p.bob.devices[0].to_bytes().unwrap(), dev_before);
    let mut exact = Rng::scripted(&[1u8; 32]);
    let got = p
        .b_rec
        .decrypt(&mut p.bob.devices[0], &p.b_peer, &first, SessionPolicy::default(), NOW, &mut exact)
        .unwrap();
    assert_eq!(&got.plaintext[..], b"hello");
    assert_eq!(exact.remaining(), Some(0));
    // Encrypting draws; with too few bytes nothing changes.
    let before = p.b_rec.to_bytes().unwrap();
    let mut dry = Rng::scripted(&[2u8; 15]);
    assert_eq!(code(p.b_rec.encrypt(&p.b_peer, b"r", NOW, &mut dry)), ErrorCode::RngExhausted);
    assert_eq!(p.b_rec.to_bytes().unwrap(), before);
    let reply = p.b_rec.encrypt(&p.b_peer, b"reply", NOW, rng).unwrap();
    // Alice's ratchet step on the reply draws 32 bytes.
    let rec_before = p.a_rec.to_bytes().unwrap();
    let dev_before = p.alice.devices[0].to_bytes().unwrap();
    let mut dry = Rng::scripted(&[1u8; 31]);
    assert_eq!(
        code(p.a_rec.decrypt(
            &mut p.alice.devices[0],
            &p.a_peer,
            &reply,
            SessionPolicy::default(),
            NOW,
            &mut dry
        )),
        ErrorCode::RngExhausted
    );
    assert_eq!(p.a_rec.to_bytes().unwrap(), rec_before);
    assert_eq!(p.alice.devices[0].to_bytes().unwrap(), dev_before);
    let mut enough = Rng::scripted(&[1u8; 32]);
    let got = p
        .a_rec
        .decrypt(&mut p.alice.devices[0], &p.a_peer, &reply, SessionPolicy::default(), NOW, &mut enough)
        .unwrap();
    assert_eq!(&got.plaintext[..], b"reply");
    assert_eq!(enough.remaining(), Some(0));
    // Replenishing draws too.
    // Replenishing draws too (device 1's keys were uploaded: it makes 100
    // and 20 more when the server has none left).
    let dev_before = p.bob.devices[0].to_bytes().unwrap();
    let mut dry = Rng::scripted(&[3u8; 100]);
    assert_eq!(code(p.bob.devices[0].replenish(0, 0, &mut dry)), ErrorCode::RngExhausted);
    assert_eq!(p.bob.devices[0].to_bytes().unwrap(), dev_before);
    assert_eq!(p.bob.devices[0].replenish(0, 0, rng).unwrap(), Replenished { one_time: 100, kem: 20 });
}

#[test]
fn padding_policies() {
    assert_eq!(Padding::default().kind(), PaddingKind::Padme);
    assert_eq!(Padding::default().param(), 160);
    assert_eq!(Padding::new(1, 0).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(Padding::new(0, 5).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(Padding::new(3, 0).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(Padding::new(2, 65_536).unwrap_err().code(), ErrorCode::InvalidArgument);
    let blocks = Padding::new(1, 16).unwrap();
    assert_eq!(blocks.padded_len(13).unwrap(), 32);
    let padded = blocks.pad(b"thirteen byte", MAX_PLAINTEXT_LEN).unwrap();
    assert_eq!(padded.len(), 32);
    // kind || u16 param || content || 0x80 || zeros (SPEC.md §26).
    assert_eq!(&padded[..3], &[1, 0, 16]);
    assert_eq!(padded[16], 0x80);
    assert_eq!(&unpad(&padded).unwrap()[..], b"thirteen byte");
    let mut bad = padded.to_vec();
    bad[31] = 1;
    assert_eq!(unpad(&bad).unwrap_err().code(), ErrorCode::Padding);
    assert_eq!(blocks.pad(&[0u8; 40], 32).unwrap_err().code(), ErrorCode::TooLarge);
}

#[test]
fn an_unknown_prekey_brings_a_retry_naming_it() {
    let rng = &mut Rng::os();
    let mut p = pair(rng);
    // Two starts from the same bundle (the server handed it out twice):
    // the second names a one-time prekey the first consumed.
    let bundle = p.bundle.clone();
    let first = p.a_rec.encrypt(&p.a_peer, b"one", NOW, rng).unwrap();
    p.b_rec.decrypt(&mut p.bob.devices[0], &p.b_peer, &first, SessionPolicy::default(), NOW, rng).unwrap();
    let mut again = SessionRecord::new(1);
    again.initiate(&p.alice.devices[0], &p.a_peer, &bundle, SessionPolicy::default(), NOW, rng).unwrap();
    let second = again.encrypt(&p.a_peer, b"two", NOW, rng).unwrap();
    let pkm = PreKeyMessage::from_bytes(&second).unwrap();
    let used = pkm.one_time_prekey_id().unwrap();
    let before = (p.b_rec.to_bytes().unwrap(), p.bob.devices[0].to_bytes().unwrap());
    let err = p
        .b_rec
        .decrypt(&mut p.bob.devices[0], &p.b_peer, &second, SessionPolicy::default(), NOW, rng)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownPreKey);
    assert_eq!(err.prekey_id(), Some(used));
    assert_eq!((p.b_rec.to_bytes().unwrap(), p.bob.devices[0].to_bytes().unwrap()), before);
    let a_key = p.alice.devices[0].identity_key().unwrap();
    let retry = p.bob.devices[0].retry_for_code(&a_key, &second, err.code(), used, NOW).unwrap().unwrap();
    assert_eq!(retry.reason(), RetryReason::UnknownPreKey);
    assert_eq!(retry.prekey_id(), used);
    assert_eq!(
        retry.to_bytes(),
        p.bob.devices[0].retry_for(&a_key, &second, &err, NOW).unwrap().unwrap().to_bytes()
    );
    // An id the message does not name is refused.
    assert_eq!(
        code(p.bob.devices[0].retry_for_code(&a_key, &second, ErrorCode::UnknownPreKey, used + 1000, NOW)),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn an_os_generator_failure_restores_prekeys_and_drops_only_the_record() {
    let rng = &mut Rng::os();
    let mut p = pair(rng);
    let first = p.a_rec.encrypt(&p.a_peer, b"hello", NOW, rng).unwrap();
    // A first message: record and device restored (the prekeys it would
    // consume are kept), not unusable.
    let before = (p.b_rec.to_bytes().unwrap(), p.bob.devices[0].to_bytes().unwrap());
    let mut failing = Rng::failing_os(8);
    assert_eq!(
        code(p.b_rec.decrypt(
            &mut p.bob.devices[0],
            &p.b_peer,
            &first,
            SessionPolicy::default(),
            NOW,
            &mut failing
        )),
        ErrorCode::RngFailure
    );
    assert_eq!((p.b_rec.to_bytes().unwrap(), p.bob.devices[0].to_bytes().unwrap()), before);
    p.b_rec.decrypt(&mut p.bob.devices[0], &p.b_peer, &first, SessionPolicy::default(), NOW, rng).unwrap();
    // An ordinary message: the record is dropped (unusable), the device is
    // untouched; the stored record brings it back.
    let reply = p.b_rec.encrypt(&p.b_peer, b"reply", NOW, rng).unwrap();
    let stored = p.a_rec.to_bytes().unwrap();
    let device_before = p.alice.devices[0].to_bytes().unwrap();
    let mut failing = Rng::failing_os(0);
    assert_eq!(
        code(p.a_rec.decrypt(
            &mut p.alice.devices[0],
            &p.a_peer,
            &reply,
            SessionPolicy::default(),
            NOW,
            &mut failing
        )),
        ErrorCode::RngFailure
    );
    assert_eq!(code(p.a_rec.to_bytes()), ErrorCode::Unusable);
    assert_eq!(p.alice.devices[0].to_bytes().unwrap(), device_before);
    let mut a_rec = SessionRecord::from_bytes(&stored).unwrap();
    let got = a_rec
        .decrypt(&mut p.alice.devices[0], &p.a_peer, &reply, SessionPolicy::default(), NOW, rng)
        .unwrap();
    assert_eq!(&got.plaintext[..], b"reply");
    // A refusal by chatcrypt after the failed draw keeps the record: a
    // replay draws nothing and is a duplicate.
    let mut failing = Rng::failing_os(0);
    assert_eq!(
        code(a_rec.decrypt(
            &mut p.alice.devices[0],
            &p.a_peer,
            &reply,
            SessionPolicy::default(),
            NOW,
            &mut failing
        )),
        ErrorCode::Duplicate
    );
    assert!(a_rec.to_bytes().is_ok());
    // Initiating is always restorable.
    let up = p.bob.upload(1);
    let bundle = up.bundle(Some(0), None).unwrap();
    let mut rec = SessionRecord::new(2);
    let empty = rec.to_bytes().unwrap();
    let mut failing = Rng::failing_os(40);
    assert_eq!(
        code(rec.initiate(
            &p.alice.devices[0],
            &p.a_peer,
            &bundle,
            SessionPolicy::default(),
            NOW,
            &mut failing
        )),
        ErrorCode::RngFailure
    );
    assert_eq!(rec.to_bytes().unwrap(), empty);
    // The device's own calls are restored too.
    let d = p.bob.devices[1].to_bytes().unwrap();
    assert_eq!(
        code(p.bob.devices[1].rotate_signed_prekey(NOW + 5, &mut Rng::failing_os(40))),
        ErrorCode::RngFailure
    );
    assert_eq!(p.bob.devices[1].to_bytes().unwrap(), d);
}
