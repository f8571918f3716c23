//! Sealed sender through session records (SPEC.md §27.5): a record seals
//! what it sends, and takes an opened envelope's message only from the
//! account, device and identity key its certificate names.

use chatcrypt::{
    padding::PaddingPolicy,
    sealed::{open, seal, CertificatePolicy, OpenedEnvelope, SenderCertificate, ServerKey, ServerKeyPair},
    AccountKeyPair, DeviceId, Error, IdentityKeyPair, LocalDevice, PeerAccount, SessionPolicy, SessionRecord,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 24 * 60 * 60;

/// A user with one device (id 1), its account as its peers hold it, and a
/// sender certificate from the server.
struct User {
    account: AccountKeyPair,
    device: LocalDevice,
    certificate: SenderCertificate,
}

impl User {
    fn new(server: &ServerKeyPair, serial: u64, rng: &mut ChaCha20Rng) -> User {
        let account = AccountKeyPair::generate(rng);
        let identity = IdentityKeyPair::generate(rng);
        let certificate =
            server.issue(serial, NOW + DAY, account.public_key(), DeviceId::new(1), identity.public_key());
        let cert = account.certify(DeviceId::new(1), identity.public_key());
        let mut device = LocalDevice::new(identity, cert, NOW, rng).unwrap();
        device.replenish(0, 0, rng).unwrap();
        User { account, device, certificate }
    }

    fn as_peer(&self) -> PeerAccount {
        let list = self.account.sign_device_list(1, &[self.device.link()]).unwrap();
        PeerAccount::trust_on_first_use(b"user", list).unwrap()
    }
}

struct World {
    rng: ChaCha20Rng,
    server: ServerKeyPair,
    roots: Vec<ServerKey>,
    alice: User,
    bob: User,
    /// Alice's record of Bob's device, Bob's of Alice's.
    alice_rec: SessionRecord,
    bob_rec: SessionRecord,
}

impl World {
    fn new(seed: u8) -> World {
        let mut rng = ChaCha20Rng::from_seed([seed; 32]);
        let server = ServerKeyPair::generate(&mut rng);
        let roots = vec![server.public_key().clone()];
        let alice = User::new(&server, 1, &mut rng);
        let mut bob = User::new(&server, 2, &mut rng);
        let mut alice_rec = SessionRecord::new(DeviceId::new(1));
        let persisted = bob.device.to_bytes();
        let up = bob.device.upload(&persisted).unwrap();
        bob.device.mark_uploaded(&up);
        let bundle = up.bundle(Some(0), Some(0)).unwrap();
        alice_rec
            .initiate(&alice.device, &bob.as_peer(), &bundle, &SessionPolicy::default(), NOW, &mut rng)
            .unwrap();
        World { rng, server, roots, alice, bob, alice_rec, bob_rec: SessionRecord::new(DeviceId::new(1)) }
    }

    fn bob_opens(&self, envelope: &[u8]) -> Result<OpenedEnvelope, Error> {
        open(self.bob.device.identity(), envelope, &CertificatePolicy::new(&self.roots, &[], NOW))
    }

    fn bob_decrypts(&mut self, opened: &OpenedEnvelope) -> Result<Vec<u8>, Error> {
        let peer = self.alice.as_peer();
        self.bob_rec
            .decrypt_sealed(
                &mut self.bob.device,
                &peer,
                opened,
                &SessionPolicy::default(),
                NOW,
                &mut self.rng,
            )
            .map(|d| d.plaintext)
    }
}

#[test]
fn sealed_conversation_both_ways() {
    let mut w = World::new(1);
    let bob_peer = w.bob.as_peer();
    let alice_peer = w.alice.as_peer();
    for (i, text) in [&b"first, a PreKeyMessage"[..], b"second", b""].into_iter().enumerate() {
        let envelope = w
            .alice_rec
            .encrypt_sealed(&w.alice.device, &bob_peer, &w.alice.certificate, text, NOW, &mut w.rng)
            .unwrap();
        // What the server sees: a sealed envelope of a padding class.
        assert_eq!(envelope[..2], [0x73, 0x01]);
        let opened = w.bob_opens(&envelope).unwrap();
        assert_eq!(opened.certificate(), &w.alice.certificate);
        assert_eq!(w.bob_decrypts(&opened).unwrap(), text, "message {i}");
        // A second delivery of the same envelope is a duplicate.
        let again = w.bob_opens(&envelope).unwrap();
        assert_eq!(w.bob_decrypts(&again), Err(Error::Duplicate));
    }
    let reply = w
        .bob_rec
        .encrypt_sealed(&w.bob.device, &alice_peer, &w.bob.certificate, b"hi Alice", NOW, &mut w.rng)
        .unwrap();
    let opened =
        open(w.alice.device.identity(), &reply, &CertificatePolicy::new(&w.roots, &[], NOW)).unwrap();
    let got = w
        .alice_rec
        .decrypt_sealed(&mut w.alice.device, &bob_peer, &opened, &SessionPolicy::default(), NOW, &mut w.rng)
        .unwrap();
    assert_eq!(got.plaintext, b"hi Alice");
}

#[test]
fn a_certificate_for_another_identity_is_refused_when_sealing() {
    let mut w = World::new(2);
    let bob_peer = w.bob.as_peer();
    let before = w.alice_rec.to_bytes();
    assert_eq!(
        w.alice_rec.encrypt_sealed(&w.alice.device, &bob_peer, &w.bob.certificate, b"x", NOW, &mut w.rng),
        Err(Error::WrongIdentity)
    );
    assert_eq!(*w.alice_rec.to_bytes(), *before);
}

#[test]
fn the_certificate_must_name_the_session_that_decrypts() {
    let mut w = World::new(3);
    let bob_peer = w.bob.as_peer();
    // Alice's first message, unsealed as the record made it.
    let first = w.alice_rec.encrypt(&bob_peer, b"hello", NOW, &mut w.rng).unwrap();

    // Mallory has a valid certificate of her own (another account): the
    // account does not match Bob's record of Alice.
    let mallory = User::new(&w.server, 9, &mut w.rng);
    let env = seal(
        mallory.device.identity(),
        &mallory.certificate,
        w.bob.device.identity().public_key(),
        &first,
        PaddingPolicy::None,
        &mut w.rng,
    )
    .unwrap();
    let opened = w.bob_opens(&env).unwrap();
    let device_before = w.bob.device.to_bytes();
    assert_eq!(w.bob_decrypts(&opened), Err(Error::SenderMismatch));
    assert_eq!(w.bob.device.to_bytes(), device_before);

    // A certificate for Alice's account and device but another identity
    // key (a stale or mis-issued one, held by whoever has that key): the
    // first message's IK_A is not the certificate's, refused before its
    // prekeys are looked up.
    let other = IdentityKeyPair::generate(&mut w.rng);
    let wrong =
        w.server.issue(5, NOW + DAY, w.alice.account.public_key(), DeviceId::new(1), other.public_key());
    let env =
        seal(&other, &wrong, w.bob.device.identity().public_key(), &first, PaddingPolicy::None, &mut w.rng)
            .unwrap();
    let opened = w.bob_opens(&env).unwrap();
    assert_eq!(w.bob_decrypts(&opened), Err(Error::SenderMismatch));
    assert_eq!(w.bob.device.to_bytes(), device_before);
    assert!(w.bob_rec.current_session().is_none());

    // Another device id of Alice's account.
    let dev2 =
        w.server.issue(6, NOW + DAY, w.alice.account.public_key(), DeviceId::new(2), other.public_key());
    let env =
        seal(&other, &dev2, w.bob.device.identity().public_key(), &first, PaddingPolicy::None, &mut w.rng)
            .unwrap();
    assert_eq!(w.bob_decrypts(&w.bob_opens(&env).unwrap()), Err(Error::SenderMismatch));

    // Alice's own certificate: accepted.
    let env = seal(
        w.alice.device.identity(),
        &w.alice.certificate,
        w.bob.device.identity().public_key(),
        &first,
        PaddingPolicy::None,
        &mut w.rng,
    )
    .unwrap();
    assert_eq!(w.bob_decrypts(&w.bob_opens(&env).unwrap()).unwrap(), b"hello");

    // On the established session: a later message of Alice's sealed under
    // the other identity's certificate finds no session with that key.
    let second = w.alice_rec.encrypt(&bob_peer, b"again", NOW, &mut w.rng).unwrap();
    let env =
        seal(&other, &wrong, w.bob.device.identity().public_key(), &second, PaddingPolicy::None, &mut w.rng)
            .unwrap();
    let record_before = w.bob_rec.to_bytes();
    assert_eq!(w.bob_decrypts(&w.bob_opens(&env).unwrap()), Err(Error::SenderMismatch));
    assert_eq!(*w.bob_rec.to_bytes(), *record_before);
    // The genuine one still decrypts.
    let env = seal(
        w.alice.device.identity(),
        &w.alice.certificate,
        w.bob.device.identity().public_key(),
        &second,
        PaddingPolicy::None,
        &mut w.rng,
    )
    .unwrap();
    assert_eq!(w.bob_decrypts(&w.bob_opens(&env).unwrap()).unwrap(), b"again");
}

#[test]
fn an_expired_certificate_is_refused_before_anything_is_sent() {
    let mut w = World::new(4);
    let bob_peer = w.bob.as_peer();
    let identity = w.alice.device.identity().public_key();
    let expired = w.server.issue(8, NOW, w.alice.account.public_key(), DeviceId::new(1), identity);
    let before = w.alice_rec.to_bytes();
    assert_eq!(
        w.alice_rec.encrypt_sealed(&w.alice.device, &bob_peer, &expired, b"lost", NOW, &mut w.rng),
        Err(Error::CertificateExpired)
    );
    assert_eq!(*w.alice_rec.to_bytes(), *before);
    // One second earlier it was still valid.
    assert!(w
        .alice_rec
        .encrypt_sealed(&w.alice.device, &bob_peer, &expired, b"ok", NOW - 1, &mut w.rng)
        .is_ok());
}
