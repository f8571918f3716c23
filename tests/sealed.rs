//! Sealed sender (SPEC.md §27): round trips for one and many recipients
//! under every padding policy and at the size limit; each certificate
//! failure with its own error and in the documented order; parts that do
//! not move between recipients or payloads; every bit flip, truncation and
//! random input refused with a typed error; what the relay sees of two
//! senders; forged envelopes that fail and change nothing.

use std::num::NonZeroU16;

use aes_gcm::{aead::inout::InOutBuf, AeadInOut, Aes256Gcm, KeyInit};
use chatcrypt::{
    padding::{pad, PaddingPolicy},
    sealed::{
        open, seal, seal_multi, CertificatePolicy, MultiRecipientEnvelope, SenderCertificate, ServerKey,
        ServerKeyPair, MAX_SEALED_PADDED_LEN, MAX_SEALED_RECIPIENTS, SEALED_ENVELOPE_OVERHEAD,
        SEALED_RECIPIENT_ENTRY_LEN, SENDER_CERTIFICATE_LEN,
    },
    AccountKeyPair, DecodeError, DeviceId, Error, IdentityKey, IdentityKeyPair,
};
use hkdf::Hkdf;
use rand_chacha::{
    rand_core::{Rng, SeedableRng},
    ChaCha20Rng,
};
use sha2::Sha256;

const NOW: u64 = 1_800_000_000;
const EXPIRES: u64 = NOW + 86_400;

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn bytes(len: usize, rng: &mut ChaCha20Rng) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

fn decode(e: DecodeError) -> Error {
    Error::Decode(e)
}

/// A sender device: its account, identity and certificate.
struct Sender {
    account: AccountKeyPair,
    identity: IdentityKeyPair,
    device: DeviceId,
    cert: SenderCertificate,
}

fn sender(server: &ServerKeyPair, serial: u64, device: u32, rng: &mut ChaCha20Rng) -> Sender {
    let account = AccountKeyPair::generate(rng);
    let identity = IdentityKeyPair::generate(rng);
    let device = DeviceId::new(device);
    let cert = server.issue(serial, EXPIRES, account.public_key(), device, identity.public_key());
    Sender { account, identity, device, cert }
}

struct World {
    server: ServerKeyPair,
    /// Leaked so that a policy does not borrow the world.
    roots: &'static [ServerKey],
    alice: Sender,
    bob: IdentityKeyPair,
    rng: ChaCha20Rng,
}

fn world(seed: u8) -> World {
    let mut rng = rng(seed);
    let server = ServerKeyPair::generate(&mut rng);
    let roots = Vec::leak(vec![server.public_key().clone()]);
    let alice = sender(&server, 7, 1, &mut rng);
    let bob = IdentityKeyPair::generate(&mut rng);
    World { server, roots, alice, bob, rng }
}

impl World {
    fn policy(&self) -> CertificatePolicy<'static> {
        CertificatePolicy::new(self.roots, &[], NOW)
    }

    fn seal_to_bob(&mut self, content: &[u8]) -> Vec<u8> {
        seal(
            &self.alice.identity,
            &self.alice.cert,
            self.bob.public_key(),
            content,
            PaddingPolicy::DEFAULT,
            &mut self.rng,
        )
        .unwrap()
    }
}

fn blocks(b: u16) -> PaddingPolicy {
    PaddingPolicy::Blocks(NonZeroU16::new(b).unwrap())
}

const POLICIES: [PaddingPolicy; 6] = [
    PaddingPolicy::None,
    PaddingPolicy::Blocks(NonZeroU16::MIN),
    PaddingPolicy::Blocks(NonZeroU16::new(160).unwrap()),
    PaddingPolicy::Blocks(NonZeroU16::MAX),
    PaddingPolicy::Padme { floor: 0 },
    PaddingPolicy::DEFAULT,
];

// ---------------------------------------------------------------- round trips

#[test]
fn one_recipient_round_trip() {
    let mut w = world(1);
    let envelope = w.seal_to_bob(b"hello Bob");
    assert_eq!(envelope.len(), SEALED_ENVELOPE_OVERHEAD + 160);
    assert_eq!(envelope[..2], [0x73, 0x01]);
    let opened = open(&w.bob, &envelope, &w.policy()).unwrap();
    assert_eq!(opened.certificate(), &w.alice.cert);
    assert_eq!(opened.certificate().identity(), w.alice.identity.public_key());
    assert_eq!(opened.certificate().account_key(), w.alice.account.public_key());
    assert_eq!(opened.certificate().device(), w.alice.device);
    assert_eq!(opened.certificate().issuer(), w.server.public_key());
    assert_eq!(opened.certificate().serial(), 7);
    assert_eq!(opened.certificate().expires(), EXPIRES);
    assert_eq!(opened.content(), b"hello Bob");
    assert_eq!(opened.into_content(), b"hello Bob");
}

/// Seals for `n` recipients, has the server split, and lets every
/// recipient open its envelope.
fn multi_round_trip(n: usize, seed: u8, content: &[u8], padding: PaddingPolicy) {
    let mut w = world(seed);
    let recipients: Vec<IdentityKeyPair> = (0..n).map(|_| IdentityKeyPair::generate(&mut w.rng)).collect();
    let keys: Vec<IdentityKey> = recipients.iter().map(|r| r.public_key().clone()).collect();
    let upload = seal_multi(&w.alice.identity, &w.alice.cert, &keys, content, padding, &mut w.rng).unwrap();
    let padded = padding.padded_len(content.len()).unwrap();
    assert_eq!(upload.len(), 36 + n * SEALED_RECIPIENT_ENTRY_LEN + SENDER_CERTIFICATE_LEN + padded + 16);
    assert_eq!(upload[..2], [0x6D, 0x01]);
    assert_eq!(upload[34..36], (n as u16).to_be_bytes());

    let server = MultiRecipientEnvelope::from_bytes(&upload).unwrap();
    assert_eq!(server.recipient_count(), n);
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(server.recipients().cloned().collect::<Vec<_>>(), sorted);
    assert_eq!(server.recipient(n), None);
    assert_eq!(server.envelope_for(n), None);

    let split: Vec<(IdentityKey, Vec<u8>)> = server.envelopes().map(|(k, e)| (k.clone(), e)).collect();
    assert_eq!(split.len(), n);
    for (i, (key, envelope)) in split.iter().enumerate() {
        assert_eq!(server.recipient(i), Some(key));
        assert_eq!(server.envelope_for(i).as_ref(), Some(envelope));
        assert_eq!(envelope.len(), SEALED_ENVELOPE_OVERHEAD + padded);
        assert_eq!(server.envelope_len(), envelope.len());
        // The server's split: 0x73 || 0x01 || E || C_i || AT_i || payload.
        let entry = &upload[36 + 80 * i..36 + 80 * (i + 1)];
        assert_eq!(&entry[..32], key.as_bytes());
        let expected = [&[0x73, 0x01][..], &upload[2..34], &entry[32..], &upload[36 + 80 * n..]].concat();
        assert_eq!(envelope, &expected);
        let recipient = recipients.iter().find(|r| r.public_key() == key).unwrap();
        let opened = open(recipient, envelope, &w.policy()).unwrap();
        assert_eq!(opened.certificate(), &w.alice.cert);
        assert_eq!(opened.content(), content);
    }
}

#[test]
fn multi_recipient_round_trip_for_1_2_and_5_recipients() {
    for (n, seed) in [(1, 2), (2, 3), (5, 4)] {
        multi_round_trip(n, seed, b"to the whole group", PaddingPolicy::DEFAULT);
    }
}

#[test]
fn multi_recipient_round_trip_at_the_recipient_limit() {
    multi_round_trip(MAX_SEALED_RECIPIENTS, 5, b"big group", PaddingPolicy::DEFAULT);
}

#[test]
fn every_padding_policy_round_trips() {
    let mut w = world(6);
    for policy in POLICIES {
        for len in [0, 1, 155, 156, 157, 160, 1000, 4093, 70_000] {
            let content = bytes(len, &mut w.rng);
            let envelope =
                seal(&w.alice.identity, &w.alice.cert, w.bob.public_key(), &content, policy, &mut w.rng)
                    .unwrap();
            assert_eq!(
                envelope.len(),
                SEALED_ENVELOPE_OVERHEAD + policy.padded_len(len).unwrap(),
                "{policy:?} {len}"
            );
            assert_eq!(
                open(&w.bob, &envelope, &w.policy()).unwrap().content(),
                &content[..],
                "{policy:?} {len}"
            );
        }
    }
    for (i, policy) in POLICIES.into_iter().enumerate() {
        multi_round_trip(2, 10 + i as u8, b"policy", policy);
    }
}

#[test]
fn empty_content_round_trips() {
    let mut w = world(7);
    let envelope = w.seal_to_bob(b"");
    assert_eq!(open(&w.bob, &envelope, &w.policy()).unwrap().content(), b"");
    let none =
        seal(&w.alice.identity, &w.alice.cert, w.bob.public_key(), b"", PaddingPolicy::None, &mut w.rng)
            .unwrap();
    // The shortest envelope: the overhead and the four bytes of an empty padding.
    assert_eq!(none.len(), SEALED_ENVELOPE_OVERHEAD + 4);
    assert_eq!(open(&w.bob, &none, &w.policy()).unwrap().content(), b"");
    multi_round_trip(3, 20, b"", PaddingPolicy::None);
}

#[test]
fn content_at_the_size_limit_fits_and_one_byte_more_is_too_large() {
    let mut w = world(8);
    let max = MAX_SEALED_PADDED_LEN;
    let content = bytes(max - 4, &mut w.rng);
    let envelope =
        seal(&w.alice.identity, &w.alice.cert, w.bob.public_key(), &content, PaddingPolicy::None, &mut w.rng)
            .unwrap();
    assert_eq!(envelope.len(), SEALED_ENVELOPE_OVERHEAD + max);
    assert_eq!(open(&w.bob, &envelope, &w.policy()).unwrap().content(), &content[..]);

    let keys = [w.bob.public_key().clone()];
    let upload =
        seal_multi(&w.alice.identity, &w.alice.cert, &keys, &content, PaddingPolicy::None, &mut w.rng)
            .unwrap();
    let server = MultiRecipientEnvelope::from_bytes(&upload).unwrap();
    assert_eq!(open(&w.bob, &server.envelope_for(0).unwrap(), &w.policy()).unwrap().content(), &content[..]);

    let over = bytes(max - 3, &mut w.rng);
    let too_large = Err(Error::TooLarge { len: max + 1, max });
    let r =
        seal(&w.alice.identity, &w.alice.cert, w.bob.public_key(), &over, PaddingPolicy::None, &mut w.rng);
    assert_eq!(r, too_large);
    let r = seal_multi(&w.alice.identity, &w.alice.cert, &keys, &over, PaddingPolicy::None, &mut w.rng);
    assert_eq!(r, too_large);
    // A policy that rounds a fitting content over the limit.
    let r = seal(&w.alice.identity, &w.alice.cert, w.bob.public_key(), &content, blocks(65535), &mut w.rng);
    assert_eq!(r, Err(Error::TooLarge { len: blocks(65535).padded_len(max - 4).unwrap(), max }));

    // A payload one byte over the limit is refused by both decoders.
    let payload_max = SENDER_CERTIFICATE_LEN + max + 16;
    let mut longer = envelope.clone();
    longer.push(0);
    assert_eq!(
        open(&w.bob, &longer, &w.policy()).err(),
        Some(Error::TooLarge { len: payload_max + 1, max: payload_max })
    );
    let mut longer = upload.clone();
    longer.push(0);
    assert_eq!(
        MultiRecipientEnvelope::from_bytes(&longer).err(),
        Some(Error::TooLarge { len: payload_max + 1, max: payload_max })
    );
}

// --------------------------------------------------------------- certificates

/// A certificate with `cert`'s fields, issuer bytes replaced by `issuer`
/// and signed by `signer`: a trusted name over another key's signature.
fn resigned(cert: &SenderCertificate, signer: &ServerKeyPair, issuer: &ServerKey) -> SenderCertificate {
    let other =
        signer.issue(cert.serial(), cert.expires(), cert.account_key(), cert.device(), cert.identity());
    let mut b = other.to_bytes();
    b[86..118].copy_from_slice(issuer.as_bytes());
    SenderCertificate::from_bytes(&b).unwrap()
}

#[test]
fn certificate_failures_each_have_their_error_in_order() {
    let mut w = world(30);
    let other_server = ServerKeyPair::generate(&mut w.rng);
    let other_roots = [other_server.public_key().clone()];
    let mallory = sender(&other_server, 9, 3, &mut w.rng);
    let forged = resigned(&w.alice.cert, &other_server, w.server.public_key());
    assert_eq!(forged.issuer(), w.server.public_key());

    let bob = w.bob.public_key().clone();
    let mut seal_with = |identity: &IdentityKeyPair, cert: &SenderCertificate| {
        seal(identity, cert, &bob, b"x", PaddingPolicy::DEFAULT, &mut w.rng).unwrap()
    };
    let genuine = seal_with(&w.alice.identity, &w.alice.cert);
    let untrusted = seal_with(&mallory.identity, &mallory.cert);
    let bad_sig = seal_with(&w.alice.identity, &forged);

    let open_at = |env: &[u8], roots: &[ServerKey], revoked: &[u64], now: u64| {
        open(&w.bob, env, &CertificatePolicy::new(roots, revoked, now)).map(|o| o.content().to_vec())
    };
    let roots = w.roots;
    // Valid until expires - 1.
    assert_eq!(open_at(&genuine, roots, &[], EXPIRES - 1), Ok(b"x".to_vec()));
    assert_eq!(open_at(&genuine, roots, &[6, 8], 0), Ok(b"x".to_vec()));
    // Each failure alone.
    assert_eq!(open_at(&untrusted, roots, &[], NOW), Err(Error::UntrustedCertificate));
    assert_eq!(open_at(&genuine, &[], &[], NOW), Err(Error::UntrustedCertificate));
    assert_eq!(open_at(&genuine, &other_roots, &[], NOW), Err(Error::UntrustedCertificate));
    assert_eq!(open_at(&bad_sig, roots, &[], NOW), Err(Error::BadSignature));
    assert_eq!(open_at(&genuine, roots, &[7], NOW), Err(Error::CertificateRevoked));
    assert_eq!(open_at(&genuine, roots, &[], EXPIRES), Err(Error::CertificateExpired));
    assert_eq!(open_at(&genuine, roots, &[], EXPIRES + 1), Err(Error::CertificateExpired));
    assert_eq!(open_at(&genuine, roots, &[], u64::MAX), Err(Error::CertificateExpired));
    // Several at once: the first in the order of SPEC.md §27.1 decides.
    assert_eq!(open_at(&untrusted, roots, &[9], EXPIRES), Err(Error::UntrustedCertificate));
    assert_eq!(open_at(&bad_sig, roots, &[7], EXPIRES), Err(Error::BadSignature));
    assert_eq!(open_at(&genuine, roots, &[7], EXPIRES), Err(Error::CertificateRevoked));
    // Mallory's certificate under a policy that trusts her server.
    assert_eq!(open_at(&untrusted, &other_roots, &[], NOW), Ok(b"x".to_vec()));

    // validate alone, the same order.
    let policy = |revoked: &'static [u64], now| CertificatePolicy::new(roots, revoked, now);
    assert_eq!(w.alice.cert.validate(&policy(&[], NOW)), Ok(()));
    assert_eq!(mallory.cert.validate(&policy(&[9], EXPIRES)), Err(Error::UntrustedCertificate));
    assert_eq!(forged.validate(&policy(&[7], EXPIRES)), Err(Error::BadSignature));
    assert_eq!(w.alice.cert.validate(&policy(&[7], EXPIRES)), Err(Error::CertificateRevoked));
    assert_eq!(w.alice.cert.validate(&policy(&[], EXPIRES)), Err(Error::CertificateExpired));
}

/// `IdentityKeyPair` is not `Clone`; tests rebuild it from its seed.
trait CloneForTest {
    fn clone_for_test(&self) -> Self;
}

impl CloneForTest for IdentityKeyPair {
    fn clone_for_test(&self) -> Self {
        IdentityKeyPair::from_seed(&self.seed())
    }
}

#[test]
fn sealing_with_a_certificate_for_another_identity_is_wrong_identity() {
    let mut w = world(31);
    let carol = IdentityKeyPair::generate(&mut w.rng);
    let keys = [w.bob.public_key().clone()];
    let r = seal(&carol, &w.alice.cert, w.bob.public_key(), b"x", PaddingPolicy::DEFAULT, &mut w.rng);
    assert_eq!(r, Err(Error::WrongIdentity));
    let r = seal_multi(&carol, &w.alice.cert, &keys, b"x", PaddingPolicy::DEFAULT, &mut w.rng);
    assert_eq!(r, Err(Error::WrongIdentity));
    // Before every other check.
    let r = seal_multi(&carol, &w.alice.cert, &[], b"x", PaddingPolicy::DEFAULT, &mut w.rng);
    assert_eq!(r, Err(Error::WrongIdentity));
    let big = vec![0u8; MAX_SEALED_PADDED_LEN];
    let r = seal(&carol, &w.alice.cert, w.bob.public_key(), &big, PaddingPolicy::None, &mut w.rng);
    assert_eq!(r, Err(Error::WrongIdentity));
}

#[test]
fn seal_multi_refuses_no_too_many_or_repeated_recipients() {
    let mut w = world(32);
    let (id, cert) = (&w.alice.identity, &w.alice.cert);
    let bob = w.bob.public_key().clone();
    let carol = IdentityKeyPair::generate(&mut w.rng).public_key().clone();
    let p = PaddingPolicy::DEFAULT;
    assert_eq!(seal_multi(id, cert, &[], b"x", p, &mut w.rng), Err(decode(DecodeError::InvalidValue)));
    let many = vec![bob.clone(); MAX_SEALED_RECIPIENTS + 1];
    assert_eq!(
        seal_multi(id, cert, &many, b"x", p, &mut w.rng),
        Err(Error::TooLarge { len: 1025, max: 1024 })
    );
    let repeated = [bob.clone(), carol.clone(), bob.clone()];
    assert_eq!(seal_multi(id, cert, &repeated, b"x", p, &mut w.rng), Err(decode(DecodeError::InvalidValue)));
    // The recipient checks come before the size check.
    let big = vec![0u8; MAX_SEALED_PADDED_LEN];
    let none = PaddingPolicy::None;
    assert_eq!(
        seal_multi(id, cert, &repeated, &big, none, &mut w.rng),
        Err(decode(DecodeError::InvalidValue))
    );
    assert!(seal_multi(id, cert, &[carol, bob], b"x", p, &mut w.rng).is_ok());
}

// -------------------------------------------------------------------- binding

#[test]
fn a_part_moved_to_another_recipient_fails() {
    let mut w = world(40);
    let carol = IdentityKeyPair::generate(&mut w.rng);
    let dave = IdentityKeyPair::generate(&mut w.rng);
    let keys = [w.bob.public_key().clone(), carol.public_key().clone()];
    let upload =
        seal_multi(&w.alice.identity, &w.alice.cert, &keys, b"group", PaddingPolicy::DEFAULT, &mut w.rng)
            .unwrap();
    let server = MultiRecipientEnvelope::from_bytes(&upload).unwrap();
    let idx = |k: &IdentityKey| server.recipients().position(|r| r == k).unwrap();
    let for_bob = server.envelope_for(idx(w.bob.public_key())).unwrap();
    let for_carol = server.envelope_for(idx(carol.public_key())).unwrap();

    // Carol's C and AT in Bob's envelope, and the other way round.
    let mut swapped = for_bob.clone();
    swapped[34..82].copy_from_slice(&for_carol[34..82]);
    assert_eq!(open(&w.bob, &swapped, &w.policy()).err(), Some(Error::Auth));
    let mut swapped = for_carol.clone();
    swapped[34..82].copy_from_slice(&for_bob[34..82]);
    assert_eq!(open(&carol, &swapped, &w.policy()).err(), Some(Error::Auth));
    // Bob's envelope delivered to Carol and to a third identity.
    assert_eq!(open(&carol, &for_bob, &w.policy()).err(), Some(Error::Auth));
    assert_eq!(open(&dave, &for_bob, &w.policy()).err(), Some(Error::Auth));

    // An upload for Bob alone whose entry is renamed to Dave: the server
    // routes it to Dave, who cannot open it.
    let single = seal_multi(
        &w.alice.identity,
        &w.alice.cert,
        &keys[..1],
        b"for Bob",
        PaddingPolicy::DEFAULT,
        &mut w.rng,
    )
    .unwrap();
    let mut renamed = single.clone();
    renamed[36..68].copy_from_slice(dave.public_key().as_bytes());
    let server = MultiRecipientEnvelope::from_bytes(&renamed).unwrap();
    assert_eq!(server.recipient(0), Some(dave.public_key()));
    assert_eq!(open(&dave, &server.envelope_for(0).unwrap(), &w.policy()).err(), Some(Error::Auth));
}

#[test]
fn a_part_moved_onto_another_payload_fails() {
    let mut w = world(41);
    let keys = [w.bob.public_key().clone()];
    let seal_once = |w: &mut World, content: &[u8]| {
        let upload =
            seal_multi(&w.alice.identity, &w.alice.cert, &keys, content, PaddingPolicy::DEFAULT, &mut w.rng)
                .unwrap();
        MultiRecipientEnvelope::from_bytes(&upload).unwrap().envelope_for(0).unwrap()
    };
    let first = seal_once(&mut w, b"first");
    let second = seal_once(&mut w, b"other");
    assert_eq!(first.len(), second.len());
    // The first's part (C, AT) with the second's E and payload.
    let mut moved = second.clone();
    moved[34..82].copy_from_slice(&first[34..82]);
    assert_eq!(open(&w.bob, &moved, &w.policy()).err(), Some(Error::Auth));
    // The first's E and part with the second's payload.
    let mut moved = first.clone();
    moved[82..].copy_from_slice(&second[82..]);
    assert_eq!(open(&w.bob, &moved, &w.policy()).err(), Some(Error::Auth));
    assert_eq!(open(&w.bob, &first, &w.policy()).unwrap().content(), b"first");
}

#[test]
fn a_low_order_ephemeral_key_is_non_contributory() {
    let mut w = world(42);
    let envelope = w.seal_to_bob(b"x");
    // Canonical encodings of points of order 8, 4 and 2 (and 1).
    let low_order: [[u8; 32]; 4] = [
        hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        hex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        hex32("0100000000000000000000000000000000000000000000000000000000000000"),
        [0; 32],
    ];
    for e in low_order {
        let mut bad = envelope.clone();
        bad[2..34].copy_from_slice(&e);
        assert_eq!(open(&w.bob, &bad, &w.policy()).err(), Some(Error::NonContributory));
    }
    // A non-canonical E is refused when decoded: bit 255 set, or u ≥ p.
    let mut bad = envelope.clone();
    bad[33] |= 0x80;
    assert_eq!(open(&w.bob, &bad, &w.policy()).err(), Some(decode(DecodeError::InvalidPublicKey)));
    let mut bad = envelope.clone();
    bad[2..34].copy_from_slice(&hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"));
    assert_eq!(open(&w.bob, &bad, &w.policy()).err(), Some(decode(DecodeError::InvalidPublicKey)));
}

fn hex32(s: &str) -> [u8; 32] {
    let v: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect();
    v.try_into().unwrap()
}

// ------------------------------------------------------------------- decoders

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[bit / 8] ^= 1 << (bit % 8);
    v
}

#[test]
fn every_bit_flip_of_a_sealed_envelope_is_refused() {
    let mut w = world(50);
    let envelope = w.seal_to_bob(b"flip me");
    let policy = w.policy();
    for bit in 0..envelope.len() * 8 {
        let bad = flip(&envelope, bit);
        let got = open(&w.bob, &bad, &policy).err();
        let byte = bit / 8;
        let expected = match byte {
            0 => decode(DecodeError::UnexpectedType(bad[0])),
            1 => decode(DecodeError::UnsupportedVersion(bad[1])),
            // The top bit of E makes it non-canonical.
            33 if bit % 8 == 7 => decode(DecodeError::InvalidPublicKey),
            // Any other change of E, C, AT or the payload.
            _ => Error::Auth,
        };
        assert_eq!(got, Some(expected), "bit {bit}");
    }
    assert!(open(&w.bob, &envelope, &policy).is_ok());
}

#[test]
fn every_bit_flip_of_a_multi_recipient_envelope_is_refused_for_the_recipients_it_touches() {
    let mut w = world(51);
    let carol = IdentityKeyPair::generate(&mut w.rng);
    let recipients = [w.bob.clone_for_test(), carol];
    let keys: Vec<IdentityKey> = recipients.iter().map(|r| r.public_key().clone()).collect();
    let upload =
        seal_multi(&w.alice.identity, &w.alice.cert, &keys, b"flip", PaddingPolicy::DEFAULT, &mut w.rng)
            .unwrap();
    let n = 2;
    let payload_start = 36 + 80 * n;
    let original = MultiRecipientEnvelope::from_bytes(&upload).unwrap();
    let order: Vec<IdentityKey> = original.recipients().cloned().collect();
    let policy = w.policy();
    let (mut decode_errors, mut refused, mut misrouted) = (0, 0, 0);
    for bit in 0..upload.len() * 8 {
        let bad = flip(&upload, bit);
        let byte = bit / 8;
        let parsed = match MultiRecipientEnvelope::from_bytes(&bad) {
            Err(e) => {
                match byte {
                    0 => assert_eq!(e, decode(DecodeError::UnexpectedType(bad[0]))),
                    1 => assert_eq!(e, decode(DecodeError::UnsupportedVersion(bad[1]))),
                    // E: non-canonical; n: another count; R_i: not a
                    // strict key, or out of order.
                    2..=33 => assert_eq!(e, decode(DecodeError::InvalidPublicKey), "bit {bit}"),
                    34..=35 => assert!(
                        matches!(e, Error::Decode(DecodeError::InvalidValue | DecodeError::Truncated)),
                        "bit {bit}: {e:?}"
                    ),
                    _ => assert!(
                        matches!(e, Error::Decode(DecodeError::InvalidValue | DecodeError::InvalidPublicKey)),
                        "bit {bit}: {e:?}"
                    ),
                }
                decode_errors += 1;
                continue;
            }
            Ok(parsed) => parsed,
        };
        // Which recipients the flip touches: the one whose entry it is in,
        // or everyone (E, n, the payload).
        let touched: Vec<usize> =
            if (36..payload_start).contains(&byte) { vec![(byte - 36) / 80] } else { (0..n).collect() };
        for (i, key) in order.iter().enumerate() {
            let recipient = recipients.iter().find(|r| r.public_key() == key).unwrap();
            let delivered =
                parsed.recipients().position(|r| r == key).map(|j| parsed.envelope_for(j).unwrap());
            if touched.contains(&i) {
                // Not delivered to it (its address changed), or refused.
                if let Some(envelope) = &delivered {
                    assert_eq!(open(recipient, envelope, &policy).err(), Some(Error::Auth), "bit {bit}");
                    refused += 1;
                }
                // A flip in R_i only changes the address: the server routes
                // the unchanged envelope to a key that is not the
                // recipient's (whose holder gets `Auth`, as
                // `a_part_moved_to_another_recipient_fails` shows).
                if delivered.is_none() {
                    assert!((36..payload_start).contains(&byte) && (byte - 36) % 80 < 32, "bit {bit}");
                    misrouted += 1;
                }
            } else {
                let envelope = delivered.unwrap();
                assert_eq!(open(recipient, &envelope, &policy).unwrap().content(), b"flip", "bit {bit}");
            }
        }
    }
    assert!(decode_errors > 0 && refused > 0 && misrouted > 0);
}

#[test]
fn every_bit_flip_of_a_certificate_is_refused() {
    let w = world(52);
    let cert = w.alice.cert.to_bytes();
    let policy = w.policy();
    for bit in 0..cert.len() * 8 {
        let bad = flip(&cert, bit);
        let byte = bit / 8;
        let got = SenderCertificate::from_bytes(&bad).and_then(|c| c.validate(&policy));
        let ok_key = |r: std::ops::Range<usize>, then: Error| {
            let key: [u8; 32] = bad[r].try_into().unwrap();
            if IdentityKey::from_bytes(&key).is_ok() {
                then
            } else {
                decode(DecodeError::InvalidPublicKey)
            }
        };
        let expected = match byte {
            0 => decode(DecodeError::UnexpectedType(bad[0])),
            1 => decode(DecodeError::UnsupportedVersion(bad[1])),
            18..=49 => ok_key(18..50, Error::BadSignature),
            54..=85 => ok_key(54..86, Error::BadSignature),
            86..=117 => ok_key(86..118, Error::UntrustedCertificate),
            // Serial, expiry, device id and the signature.
            _ => Error::BadSignature,
        };
        assert_eq!(got, Err(expected), "bit {bit}");
    }
}

#[test]
fn every_truncation_and_an_appended_byte_are_refused() {
    let mut w = world(53);
    let policy = w.policy();
    let envelope = w.seal_to_bob(b"truncate me");
    let min = 82 + 202;
    for len in 0..envelope.len() {
        let expected = if len < min { decode(DecodeError::Truncated) } else { Error::Auth };
        assert_eq!(open(&w.bob, &envelope[..len], &policy).err(), Some(expected), "len {len}");
    }
    let mut longer = envelope.clone();
    longer.push(0);
    assert_eq!(open(&w.bob, &longer, &policy).err(), Some(Error::Auth));

    let keys = [w.bob.public_key().clone()];
    let upload =
        seal_multi(&w.alice.identity, &w.alice.cert, &keys, b"truncate", PaddingPolicy::DEFAULT, &mut w.rng)
            .unwrap();
    let min = 36 + 80 + 202;
    for len in 0..upload.len() {
        match MultiRecipientEnvelope::from_bytes(&upload[..len]) {
            Err(e) => {
                assert!(len < min, "len {len}");
                assert_eq!(e, decode(DecodeError::Truncated), "len {len}");
            }
            Ok(parsed) => {
                assert!(len >= min, "len {len}");
                assert_eq!(open(&w.bob, &parsed.envelope_for(0).unwrap(), &policy).err(), Some(Error::Auth));
            }
        }
    }
    let mut longer = upload.clone();
    longer.push(0);
    let parsed = MultiRecipientEnvelope::from_bytes(&longer).unwrap();
    assert_eq!(open(&w.bob, &parsed.envelope_for(0).unwrap(), &policy).err(), Some(Error::Auth));

    let cert = w.alice.cert.to_bytes();
    for len in 0..cert.len() {
        assert_eq!(
            SenderCertificate::from_bytes(&cert[..len]),
            Err(decode(DecodeError::Truncated)),
            "len {len}"
        );
    }
    let mut longer = cert.to_vec();
    longer.push(0);
    assert_eq!(SenderCertificate::from_bytes(&longer), Err(decode(DecodeError::TrailingBytes)));
}

/// Random bytes, half of them behind the right tag and version, of every
/// length up to a few envelopes' worth.
fn random_inputs(seed: u8, header: [u8; 2]) -> impl Iterator<Item = Vec<u8>> {
    let mut rng = rng(seed);
    (0..2000).map(move |i| {
        let len = (rng.next_u32() % 900) as usize;
        let mut v = bytes(len, &mut rng);
        if i % 2 == 0 && len >= 2 {
            v[..2].copy_from_slice(&header);
        }
        v
    })
}

#[test]
fn random_inputs_are_refused_by_every_decoder() {
    let w = world(54);
    let policy = w.policy();
    for input in random_inputs(60, [0x73, 0x01]) {
        let e = open(&w.bob, &input, &policy).err().unwrap();
        assert!(
            matches!(e, Error::Decode(_) | Error::Auth | Error::NonContributory),
            "{e:?} for {} bytes",
            input.len()
        );
    }
    for input in random_inputs(61, [0x6D, 0x01]) {
        let e = MultiRecipientEnvelope::from_bytes(&input).err().unwrap();
        assert!(matches!(e, Error::Decode(_)), "{e:?}");
    }
    // With a plausible count (1 to 8) entries are read; some random
    // uploads are then well formed (a keyless server cannot tell), and
    // none of their envelopes opens.
    let mut well_formed = 0;
    for mut input in random_inputs(63, [0x6D, 0x01]) {
        if input.len() >= 36 && input[0] == 0x6D {
            let n = (input[35] % 8) + 1;
            input[34..36].copy_from_slice(&[0, n]);
        }
        match MultiRecipientEnvelope::from_bytes(&input) {
            Err(e) => assert!(matches!(e, Error::Decode(_)), "{e:?}"),
            Ok(m) => {
                well_formed += 1;
                for (_, envelope) in m.envelopes() {
                    assert_eq!(open(&w.bob, &envelope, &policy).err(), Some(Error::Auth));
                }
            }
        }
    }
    assert!(well_formed > 0);
    for input in random_inputs(62, [0x63, 0x01]) {
        let e = SenderCertificate::from_bytes(&input).and_then(|c| c.validate(&policy)).err().unwrap();
        assert!(matches!(e, Error::Decode(_) | Error::UntrustedCertificate), "{e:?}");
    }
}

#[test]
fn malformed_recipient_lists_are_invalid_values() {
    let mut w = world(55);
    let carol = IdentityKeyPair::generate(&mut w.rng);
    let keys = [w.bob.public_key().clone(), carol.public_key().clone()];
    let upload =
        seal_multi(&w.alice.identity, &w.alice.cert, &keys, b"list", PaddingPolicy::DEFAULT, &mut w.rng)
            .unwrap();
    let invalid = Some(decode(DecodeError::InvalidValue));
    for n in [0u16, 1025, u16::MAX] {
        let mut bad = upload.clone();
        bad[34..36].copy_from_slice(&n.to_be_bytes());
        assert_eq!(MultiRecipientEnvelope::from_bytes(&bad).err(), invalid, "n = {n}");
    }
    // Entries swapped (unsorted), and the first R repeated.
    let mut bad = upload.clone();
    bad[36..196].copy_from_slice(&[&upload[116..196], &upload[36..116]].concat());
    assert_eq!(MultiRecipientEnvelope::from_bytes(&bad).err(), invalid);
    let mut bad = upload.clone();
    bad.copy_within(36..68, 116);
    assert_eq!(MultiRecipientEnvelope::from_bytes(&bad).err(), invalid);
    // Each form refused by the other's decoder.
    assert_eq!(open(&w.bob, &upload, &w.policy()).err(), Some(decode(DecodeError::UnexpectedType(0x6D))));
    let single = w.seal_to_bob(b"x");
    assert_eq!(
        MultiRecipientEnvelope::from_bytes(&single).err(),
        Some(decode(DecodeError::UnexpectedType(0x73)))
    );
}

// ------------------------------------------------------------------- metadata

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn envelopes_of_two_senders_differ_only_in_what_padding_leaves() {
    let mut w = world(70);
    let carol = sender(&w.server, 8, 0x0102_0304, &mut w.rng);
    let senders = [&w.alice, &carol];
    let mut all: Vec<Vec<Vec<u8>>> = vec![Vec::new(), Vec::new()];
    let mut contents = Vec::new();
    for (s, sender) in senders.iter().enumerate() {
        for _ in 0..200 {
            // One length class of the default policy: 0..=156 bytes pad to
            // 160 (16 and more here, so that the content is a telling
            // substring).
            let len = 16 + (w.rng.next_u32() % 141) as usize;
            let content = bytes(len, &mut w.rng);
            let envelope = seal(
                &sender.identity,
                &sender.cert,
                w.bob.public_key(),
                &content,
                PaddingPolicy::DEFAULT,
                &mut w.rng,
            )
            .unwrap();
            contents.push((s, content));
            all[s].push(envelope);
        }
    }
    // (a) One length.
    let len = all[0][0].len();
    assert!(all.iter().flatten().all(|e| e.len() == len));
    // (b) The header bytes are the same; no byte after them is constant
    // across one sender's envelopes.
    assert!(all.iter().flatten().all(|e| e[..2] == [0x73, 0x01]));
    for envelopes in &all {
        for pos in 2..len {
            let first = envelopes[0][pos];
            assert!(envelopes.iter().any(|e| e[pos] != first), "byte {pos} is constant");
        }
    }
    // (c) Nothing of the sender or the content appears.
    for (s, sender) in senders.iter().enumerate() {
        let needles: Vec<Vec<u8>> = vec![
            sender.identity.public_key().as_bytes().to_vec(),
            sender.identity.public_key().x25519_bytes().to_vec(),
            sender.account.public_key().as_bytes().to_vec(),
            sender.cert.to_bytes().to_vec(),
            sender.cert.to_bytes()[118..].to_vec(),
            sender.device.get().to_be_bytes().to_vec(),
            sender.device.get().to_le_bytes().to_vec(),
        ];
        for envelope in all.iter().flatten() {
            for needle in &needles {
                assert!(!contains(envelope, needle), "sender {s}: {needle:?}");
            }
        }
    }
    for (i, (s, content)) in contents.iter().enumerate() {
        assert!(!contains(&all[*s][i % 200], content));
    }
}

#[test]
fn default_padding_makes_one_length_per_class() {
    let mut w = world(71);
    let len_of = |w: &mut World, n: usize| w.seal_to_bob(&vec![0x41; n]).len();
    // 0..=156 bytes: one class.
    let short = len_of(&mut w, 0);
    assert_eq!(short, SEALED_ENVELOPE_OVERHEAD + 160);
    for n in 1..=156 {
        assert_eq!(len_of(&mut w, n), short, "n = {n}");
    }
    // The next class starts at 157.
    assert_eq!(len_of(&mut w, 157), SEALED_ENVELOPE_OVERHEAD + 176);
    // A Padmé class above 160: unpadded lengths 289..=304 (contents of
    // 285..=300 bytes) round to 304; 301 bytes start the next class.
    for n in 285..=300 {
        assert_eq!(len_of(&mut w, n), SEALED_ENVELOPE_OVERHEAD + 304, "n = {n}");
    }
    assert_eq!(len_of(&mut w, 301), SEALED_ENVELOPE_OVERHEAD + 320);
    assert_ne!(len_of(&mut w, 300), len_of(&mut w, 301));
    assert_ne!(len_of(&mut w, 156), len_of(&mut w, 157));
}

// ------------------------------------------------------------------- forgery

/// HKDF-SHA256 with an empty salt, from the primitive crate.
fn hkdf(ikm: &[u8], info: &[&[u8]], out: &mut [u8]) {
    Hkdf::<Sha256>::new(Some(&[]), ikm).expand(&info.concat(), out).unwrap();
}

/// A forger who knows `M` (it picked it) but not the sender's identity
/// key: SPEC.md §27.2 rebuilt with the primitive crates, with an `AT` it
/// cannot compute. Passes steps 1-5 of opening.
fn forge_with_known_m(
    recipient: &IdentityKey,
    cert: &SenderCertificate,
    at: [u8; 16],
    rng: &mut ChaCha20Rng,
) -> Vec<u8> {
    let mut m = [0u8; 32];
    rng.fill_bytes(&mut m);
    let mut ek = [0u8; 64];
    hkdf(&m, &[b"chatcrypt v3 sealed keys"], &mut ek);
    let e = x25519_dalek::StaticSecret::from(<[u8; 32]>::try_from(&ek[..32]).unwrap());
    let e_pub = x25519_dalek::PublicKey::from(&e).to_bytes();
    let dh = e.diffie_hellman(&x25519_dalek::PublicKey::from(*recipient.x25519_bytes()));
    let mut mask = [0u8; 32];
    hkdf(dh.as_bytes(), &[b"chatcrypt v3 sealed key", &e_pub, recipient.as_bytes()], &mut mask);
    let c: Vec<u8> = m.iter().zip(mask).map(|(a, b)| a ^ b).collect();
    let mut q = cert.to_bytes().to_vec();
    q.extend_from_slice(&pad(PaddingPolicy::DEFAULT, b"forged", 1 << 21).unwrap());
    let k: [u8; 32] = ek[32..].try_into().unwrap();
    let ad = [&b"chatcrypt v3 sealed payload"[..], &e_pub].concat();
    let tag = Aes256Gcm::new((&k).into())
        .encrypt_inout_detached((&[0u8; 12]).into(), &ad, InOutBuf::from(&mut q[..]))
        .unwrap();
    [&[0x73, 0x01][..], &e_pub, &c, &at, &q, &tag[..]].concat()
}

#[test]
fn forged_envelopes_fail_with_auth_and_change_nothing() {
    let mut w = world(80);
    let genuine = w.seal_to_bob(b"genuine");
    let bob_before = format!("{:?} {:?}", w.bob, w.bob.seed());
    let payload_len = genuine.len() - 82;
    let policy = w.policy();
    for _ in 0..200 {
        // Random E (canonical), C, AT and a payload of the right size.
        let mut forged = bytes(genuine.len(), &mut w.rng);
        forged[..2].copy_from_slice(&[0x73, 0x01]);
        forged[33] &= 0x7f;
        assert_eq!(forged.len() - 82, payload_len);
        assert_eq!(open(&w.bob, &forged, &policy).err(), Some(Error::Auth));
        // The genuine E with a random C: another M, another E.
        let mut forged = genuine.clone();
        w.rng.fill_bytes(&mut forged[34..66]);
        assert_eq!(open(&w.bob, &forged, &policy).err(), Some(Error::Auth));
        // A forger who knows M, claiming Alice's certificate: the sender's
        // tag (step 6) stops it.
        let mut at = [0u8; 16];
        w.rng.fill_bytes(&mut at);
        let forged = forge_with_known_m(w.bob.public_key(), &w.alice.cert, at, &mut w.rng);
        assert_eq!(open(&w.bob, &forged, &policy).err(), Some(Error::Auth));
    }
    // The identity is unchanged and the genuine envelope still opens.
    assert_eq!(format!("{:?} {:?}", w.bob, w.bob.seed()), bob_before);
    assert_eq!(open(&w.bob, &genuine, &policy).unwrap().content(), b"genuine");
}

/// The forger's path is the construction itself: with the recipient's own
/// identity key (key-compromise impersonation, SPEC.md §27.7) its `AT` is
/// right and the envelope opens, which shows the independent rebuild
/// matches the library byte for byte in everything but `AT`.
#[test]
fn the_forgery_path_rebuilds_the_construction() {
    let mut w = world(81);
    let mut at = [0u8; 16];
    // AT = HKDF("", X25519(r, IK_S), "chatcrypt v3 sealed sender" || E || C || IK_S || R
    // || SHA-256(payload), 16), computed with Bob's key: build once with a
    // dummy AT to learn E, C and the payload (which do not depend on AT).
    let dummy = forge_with_known_m(w.bob.public_key(), &w.alice.cert, at, &mut w.rng.clone());
    let r = x25519_dalek::StaticSecret::from(bob_x25519_private(&w.bob));
    let dh = r.diffie_hellman(&x25519_dalek::PublicKey::from(*w.alice.identity.public_key().x25519_bytes()));
    hkdf(
        dh.as_bytes(),
        &[
            b"chatcrypt v3 sealed sender",
            &dummy[2..34],
            &dummy[34..66],
            w.alice.identity.public_key().as_bytes(),
            w.bob.public_key().as_bytes(),
            &<Sha256 as sha2::Digest>::digest(&dummy[82..]),
        ],
        &mut at,
    );
    let forged = forge_with_known_m(w.bob.public_key(), &w.alice.cert, at, &mut w.rng);
    let opened = open(&w.bob, &forged, &w.policy()).unwrap();
    assert_eq!(opened.content(), b"forged");
    assert_eq!(opened.certificate(), &w.alice.cert);
}

/// The X25519 private key of an identity (SPEC.md §3): the first half of
/// SHA-512 of the seed.
fn bob_x25519_private(identity: &IdentityKeyPair) -> [u8; 32] {
    use sha2::{Digest, Sha512};
    Sha512::digest(&identity.seed()[..])[..32].try_into().unwrap()
}

/// A co-recipient of a multi-recipient envelope knows `M` and `K`, so it
/// can encrypt any payload under `K` (AES-GCM gives no protection against
/// a key holder). Each part's `AT` covers SHA-256 of the payload, so such
/// a payload put under another recipient's part does not open (the review
/// of issue #15 found the earlier construction accepted it, in the real
/// sender's name).
#[test]
fn a_co_recipient_cannot_replace_the_payload_for_the_others() {
    let mut w = world(91);
    let carol = IdentityKeyPair::generate(&mut w.rng);
    let recipients = [w.bob.public_key().clone(), carol.public_key().clone()];
    let upload = seal_multi(
        &w.alice.identity,
        &w.alice.cert,
        &recipients,
        b"meet at 8",
        PaddingPolicy::DEFAULT,
        &mut w.rng,
    )
    .unwrap();
    let split = MultiRecipientEnvelope::from_bytes(&upload).unwrap();
    let index = |k: &IdentityKey| split.recipients().position(|r| r == k).unwrap();
    let for_bob = split.envelope_for(index(w.bob.public_key())).unwrap();
    let for_carol = split.envelope_for(index(carol.public_key())).unwrap();
    let opened = open(&w.bob, &for_bob, &w.policy()).unwrap();
    // Bob recovers M and then K with his own key (SPEC.md §27.4 steps 2-3).
    let e: [u8; 32] = for_bob[2..34].try_into().unwrap();
    let r = x25519_dalek::StaticSecret::from(bob_x25519_private(&w.bob));
    let dh = r.diffie_hellman(&x25519_dalek::PublicKey::from(e));
    let mut mask = [0u8; 32];
    hkdf(dh.as_bytes(), &[b"chatcrypt v3 sealed key", &e, w.bob.public_key().as_bytes()], &mut mask);
    let m: Vec<u8> = for_bob[34..66].iter().zip(mask).map(|(a, b)| a ^ b).collect();
    let mut ek = [0u8; 64];
    hkdf(&m, &[b"chatcrypt v3 sealed keys"], &mut ek);
    let k: [u8; 32] = ek[32..].try_into().unwrap();
    // A new payload in Alice's name, under Carol's untouched part.
    let mut q = opened.certificate().to_bytes().to_vec();
    q.extend_from_slice(&pad(PaddingPolicy::DEFAULT, b"send the money to Bob", 1 << 21).unwrap());
    let ad = [&b"chatcrypt v3 sealed payload"[..], &e].concat();
    let tag = Aes256Gcm::new((&k).into())
        .encrypt_inout_detached((&[0u8; 12]).into(), &ad, InOutBuf::from(&mut q[..]))
        .unwrap();
    let forged = [&for_carol[..82], &q, &tag[..]].concat();
    assert_eq!(open(&carol, &forged, &w.policy()).map(|_| ()), Err(Error::Auth));
    // Carol's genuine envelope still opens.
    assert_eq!(open(&carol, &for_carol, &w.policy()).unwrap().content(), b"meet at 8");
}
