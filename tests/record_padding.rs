//! Padding in session records (SPEC.md §20.2, §26): what a relay sees of
//! a record's messages, the stated policy, and strict unpadding that
//! changes nothing when it fails.

use std::num::NonZeroU16;

use chatcrypt::{
    padding::{pad, PaddingPolicy},
    AccountKeyPair, DeviceId, DeviceLink, Error, IdentityKeyPair, LocalDevice, PeerAccount, PreKeyUpload,
    Session, SessionPolicy, SessionRecord, MAX_PLAINTEXT_LEN,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

const NOW: u64 = 1_800_000_000;

/// Alice (one device, also available as a bare identity for a raw
/// session) and Bob (one device), trusting each other.
struct Pair {
    alice_identity: IdentityKeyPair,
    alice_device: LocalDevice,
    bob: LocalDevice,
    alice_for_bob: PeerAccount,
    bob_for_alice: PeerAccount,
    bob_upload: PreKeyUpload,
}

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

fn pair(rng: &mut ChaCha20Rng) -> Pair {
    let alice_account = AccountKeyPair::generate(rng);
    let bob_account = AccountKeyPair::generate(rng);
    let alice_seed = [7u8; 32];
    let (alice_device, alice_for_bob) = device(&alice_account, alice_seed, rng);
    let (mut bob, bob_for_alice) = device(&bob_account, [9u8; 32], rng);
    let persisted = bob.to_bytes();
    let bob_upload = bob.upload(&persisted).unwrap();
    bob.mark_uploaded(&bob_upload);
    Pair {
        alice_identity: IdentityKeyPair::from_seed(&alice_seed),
        alice_device,
        bob,
        alice_for_bob,
        bob_for_alice,
        bob_upload,
    }
}

fn blocks(n: u16) -> PaddingPolicy {
    PaddingPolicy::Blocks(NonZeroU16::new(n).unwrap())
}

#[test]
fn short_texts_give_one_length_and_classes_differ() {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let mut p = pair(&mut rng);
    let policy = SessionPolicy::default();
    let mut alice = SessionRecord::new(DeviceId::new(1));
    let mut bob = SessionRecord::new(DeviceId::new(1));
    let bundle = p.bob_upload.bundle(Some(0), Some(0)).unwrap();
    alice.initiate(&p.alice_device, &p.bob_for_alice, &bundle, &policy, NOW, &mut rng).unwrap();
    let first = alice.encrypt(&p.bob_for_alice, b"hi", NOW, &mut rng).unwrap();
    bob.decrypt(&mut p.bob, &p.alice_for_bob, &first, &policy, NOW, &mut rng).unwrap();
    let reply = bob.encrypt(&p.alice_for_bob, b"", NOW, &mut rng).unwrap();
    alice.decrypt(&mut p.alice_device, &p.bob_for_alice, &reply, &policy, NOW, &mut rng).unwrap();

    // Messages (not PreKeyMessages) of 0..=156 bytes all have one length.
    let mut lengths = std::collections::BTreeMap::new();
    for n in [0usize, 1, 2, 10, 100, 155, 156, 157, 172, 173, 1000, 1010, 1020, 1021] {
        let text = vec![b'x'; n];
        let m = alice.encrypt(&p.bob_for_alice, &text, NOW, &mut rng).unwrap();
        // The message's overhead over its padded plaintext is the reply's.
        assert_eq!(m.len() - PaddingPolicy::DEFAULT.padded_len(n).unwrap(), reply.len() - 160);
        let got = bob.decrypt(&mut p.bob, &p.alice_for_bob, &m, &policy, NOW, &mut rng).unwrap();
        assert_eq!(got.plaintext, text);
        lengths.insert(n, m.len());
    }
    let short = lengths[&0];
    for n in [1, 2, 10, 100, 155, 156] {
        assert_eq!(lengths[&n], short, "{n} bytes");
    }
    // 157..=172 bytes pad to 176 (Padmé steps of 16 there); 1021 to 1056.
    assert_eq!(lengths[&157], short + 16);
    assert_eq!(lengths[&172], lengths[&157]);
    assert_eq!(lengths[&173], short + 32);
    assert_eq!(lengths[&1000], lengths[&1020]);
    assert!(lengths[&1021] > lengths[&1020]);

    // Another policy is stated in the message: the receiver needs no
    // setting.
    for policy_out in [PaddingPolicy::None, blocks(64), PaddingPolicy::Padme { floor: 0 }] {
        let m = alice.encrypt_padded(&p.bob_for_alice, b"abc", policy_out, NOW, &mut rng).unwrap();
        let expected = short - 160 + policy_out.padded_len(3).unwrap();
        assert_eq!(m.len(), expected, "{policy_out:?}");
        let got = bob.decrypt(&mut p.bob, &p.alice_for_bob, &m, &policy, NOW, &mut rng).unwrap();
        assert_eq!(got.plaintext, b"abc");
    }

    // Padding is bounded by the session's plaintext limit.
    let big = vec![0u8; MAX_PLAINTEXT_LEN - 4];
    assert!(alice.encrypt_padded(&p.bob_for_alice, &big, PaddingPolicy::None, NOW, &mut rng).is_ok());
    let before = alice.to_bytes();
    assert_eq!(
        alice.encrypt_padded(&p.bob_for_alice, &big, blocks(160), NOW, &mut rng),
        Err(Error::TooLarge { len: 1_048_640, max: MAX_PLAINTEXT_LEN })
    );
    assert_eq!(*alice.to_bytes(), *before);
}

#[test]
fn malformed_padding_is_refused_and_changes_nothing() {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let mut p = pair(&mut rng);
    let policy = SessionPolicy::default();
    let mut bob = SessionRecord::new(DeviceId::new(1));
    // Alice talks through a bare session, so she can send any plaintext.
    let bundle = p.bob_upload.bundle(Some(0), Some(0)).unwrap();
    let mut alice = Session::initiate(&p.alice_identity, &bundle, &mut rng).unwrap();

    // A first message without padding: authenticated, then refused before
    // anything is committed (no prekey consumed, no session stored).
    let bad_first = alice.encrypt(b"not padded", &mut rng).unwrap();
    let device_before = p.bob.to_bytes();
    let counts = p.bob.one_time_prekey_counts();
    assert_eq!(
        bob.decrypt(&mut p.bob, &p.alice_for_bob, &bad_first, &policy, NOW, &mut rng).err(),
        Some(Error::Padding)
    );
    assert_eq!(p.bob.to_bytes(), device_before);
    assert_eq!(p.bob.one_time_prekey_counts(), counts);
    assert!(bob.current_session().is_none() && bob.archived_count() == 0);
    // The same bytes again: the same answer (not a duplicate).
    assert_eq!(
        bob.decrypt(&mut p.bob, &p.alice_for_bob, &bad_first, &policy, NOW, &mut rng).err(),
        Some(Error::Padding)
    );

    // A padded first message of the same handshake is accepted.
    let good = pad(PaddingPolicy::DEFAULT, b"padded", MAX_PLAINTEXT_LEN).unwrap();
    let first = alice.encrypt(&good, &mut rng).unwrap();
    let got = bob.decrypt(&mut p.bob, &p.alice_for_bob, &first, &policy, NOW, &mut rng).unwrap();
    assert_eq!(got.plaintext, b"padded");
    assert!(got.new_session);

    // On the existing session: every malformed form is refused and the
    // record is byte for byte what it was.
    let mut wrong: Vec<Vec<u8>> = vec![b"".to_vec(), b"abc".to_vec(), vec![0, 0, 0, 0x80, 1]];
    let mut zeros = good.clone();
    zeros.push(0);
    wrong.push(zeros);
    let mut no_marker = good.clone();
    no_marker[9] = 0;
    wrong.push(no_marker);
    let mut relabelled = good.clone();
    // Blocks of 64 bytes would have given another length.
    relabelled[..3].copy_from_slice(&[0x01, 0x00, 0x40]);
    wrong.push(relabelled);
    let mut nonzero = good.clone();
    *nonzero.last_mut().unwrap() = 1;
    wrong.push(nonzero);
    for plaintext in &wrong {
        let m = alice.encrypt(plaintext, &mut rng).unwrap();
        let before = bob.to_bytes();
        assert_eq!(
            bob.decrypt(&mut p.bob, &p.alice_for_bob, &m, &policy, NOW, &mut rng).err(),
            Some(Error::Padding),
            "{plaintext:02x?}"
        );
        assert_eq!(*bob.to_bytes(), *before);
    }
    // The session still works, and skipped the refused messages' keys
    // only when a later message authenticates.
    let m = alice.encrypt(&pad(blocks(32), b"still here", MAX_PLAINTEXT_LEN).unwrap(), &mut rng).unwrap();
    let got = bob.decrypt(&mut p.bob, &p.alice_for_bob, &m, &policy, NOW, &mut rng).unwrap();
    assert_eq!(got.plaintext, b"still here");
    // (and the refused first message's key, skipped when the second first
    // message was accepted).
    assert_eq!(bob.current_session().unwrap().skipped_key_count(), wrong.len() + 1);
}
