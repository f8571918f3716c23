//! The bodies of the fuzz targets `padding` and `sealed_open`: strict
//! unpadding (SPEC.md §26) and sealed sender (SPEC.md §27) on arbitrary
//! bytes.
//!
//! [`sealed_open`] hands its input to every decoder a recipient or a server
//! runs on untrusted bytes: [`open`] (as a fixed recipient, against a fixed
//! trust root and revocation list), [`MultiRecipientEnvelope::from_bytes`]
//! with the server's split (each split envelope then opened when it is
//! addressed to the fixed recipient), and [`SenderCertificate::from_bytes`].
//! Each must return `Ok` or one of the errors SPEC.md names for it, never
//! panic; a certificate that decodes re-encodes to exactly the input; an
//! envelope that opens names a certificate that validates under the
//! policy. The seed corpus holds genuine envelopes for the fixed recipient
//! (from [`sealed_fixture`]), so mutations reach every step of opening.
//!
//! This file is a module of the fuzz crate (`fuzz/src/lib.rs`) and is
//! replayed by `tests/fuzz_corpus.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{num::NonZeroU16, sync::OnceLock};

use chatcrypt::{
    padding::{pad, unpad, PaddingPolicy},
    sealed::{
        open, seal, seal_multi, CertificatePolicy, MultiRecipientEnvelope, SenderCertificate, ServerKey,
        ServerKeyPair,
    },
    AccountKeyPair, DeviceId, Error, IdentityKey, IdentityKeyPair,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

/// The fuzz targets' clock.
pub const NOW: u64 = 1_800_000_000;
/// The serial the fixed revocation list names.
pub const REVOKED_SERIAL: u64 = 13;

/// The fixed parties: a trusted server key, a recipient, senders with
/// certificates (one valid, one revoked, one expired, one from an
/// untrusted server).
pub struct SealedFixture {
    pub roots: Vec<ServerKey>,
    pub recipient: IdentityKeyPair,
    pub others: Vec<IdentityKeyPair>,
    /// (identity, certificate) pairs.
    pub senders: Vec<(IdentityKeyPair, SenderCertificate)>,
}

pub fn sealed_fixture() -> &'static SealedFixture {
    static F: OnceLock<SealedFixture> = OnceLock::new();
    F.get_or_init(|| {
        let server = ServerKeyPair::from_seed(&[0x51; 32]);
        let untrusted = ServerKeyPair::from_seed(&[0x52; 32]);
        let account = AccountKeyPair::from_seed(&[0x53; 32]);
        let recipient = IdentityKeyPair::from_seed(&[0x54; 32]);
        let others = (0..3).map(|i| IdentityKeyPair::from_seed(&[0x60 + i; 32])).collect();
        let mut senders = Vec::new();
        for (i, (issuer, serial, expires)) in [
            (&server, 1, NOW + 1000),
            (&server, REVOKED_SERIAL, NOW + 1000),
            (&server, 2, NOW),
            (&untrusted, 3, NOW + 1000),
        ]
        .into_iter()
        .enumerate()
        {
            let identity = IdentityKeyPair::from_seed(&[0x70 + i as u8; 32]);
            let cert = issuer.issue(
                serial,
                expires,
                account.public_key(),
                DeviceId::new(i as u32 + 1),
                identity.public_key(),
            );
            senders.push((identity, cert));
        }
        SealedFixture { roots: vec![server.public_key().clone()], recipient, others, senders }
    })
}

/// Genuine envelopes for the fixed recipient: single envelopes from every
/// sender under every padding policy, and multi-recipient envelopes of
/// 1, 2 and 4 recipients that include it; and every sender's certificate.
pub fn sealed_seeds() -> Vec<Vec<u8>> {
    let f = sealed_fixture();
    let mut rng = ChaCha20Rng::from_seed([0x55; 32]);
    let blocks = PaddingPolicy::Blocks(NonZeroU16::new(32).unwrap());
    let policies = [PaddingPolicy::None, blocks, PaddingPolicy::Padme { floor: 0 }, PaddingPolicy::DEFAULT];
    let mut seeds = Vec::new();
    let me = f.recipient.public_key();
    for (i, (identity, cert)) in f.senders.iter().enumerate() {
        let policy = policies[i % policies.len()];
        let content = vec![i as u8; 3 + 40 * i];
        seeds.push(seal(identity, cert, me, &content, policy, &mut rng).unwrap());
        seeds.push(cert.to_bytes().to_vec());
    }
    let (identity, cert) = &f.senders[0];
    for policy in policies {
        seeds.push(seal(identity, cert, me, b"hello", policy, &mut rng).unwrap());
    }
    let mut keys: Vec<IdentityKey> = vec![me.clone()];
    for n in [1, 2, 4] {
        while keys.len() < n {
            keys.push(f.others[keys.len() - 1].public_key().clone());
        }
        seeds.push(
            seal_multi(identity, cert, &keys, b"to everyone", PaddingPolicy::DEFAULT, &mut rng).unwrap(),
        );
    }
    seeds
}

/// Whether `e` is one of the errors SPEC.md §27.4 lets opening return.
fn open_error(e: &Error) -> bool {
    matches!(
        e,
        Error::Decode(_)
            | Error::TooLarge { .. }
            | Error::NonContributory
            | Error::Auth
            | Error::UntrustedCertificate
            | Error::BadSignature
            | Error::CertificateRevoked
            | Error::CertificateExpired
            | Error::Padding
    )
}

/// `sealed_open`: see the module documentation. Returns a bit set of what
/// the input reached (1: opened as a single envelope, 2: decoded as a
/// multi-recipient envelope, 4: one of its split envelopes opened,
/// 8: decoded as a certificate), for the corpus checks.
pub fn sealed_open(data: &[u8]) -> u8 {
    let f = sealed_fixture();
    let revoked = [REVOKED_SERIAL];
    let policy = CertificatePolicy::new(&f.roots, &revoked, NOW);
    let mut reached = 0;
    match open(&f.recipient, data, &policy) {
        Ok(opened) => {
            assert_eq!(data[..2], [0x73, 0x01]);
            assert_eq!(opened.certificate().validate(&policy), Ok(()));
            reached |= 1;
        }
        Err(e) => assert!(open_error(&e), "open: {e:?}"),
    }
    match MultiRecipientEnvelope::from_bytes(data) {
        Ok(multi) => {
            reached |= 2;
            let n = multi.recipient_count();
            assert!((1..=1024).contains(&n));
            let mut contents = Vec::new();
            let mut previous: Option<[u8; 32]> = None;
            for (i, (key, envelope)) in multi.envelopes().enumerate() {
                assert!(previous.is_none_or(|p| p < *key.as_bytes()), "recipients not strictly increasing");
                previous = Some(*key.as_bytes());
                assert_eq!(envelope.len(), multi.envelope_len());
                assert_eq!(multi.envelope_for(i).as_deref(), Some(&envelope[..]));
                assert_eq!(&envelope[..2], [0x73, 0x01]);
                if key == f.recipient.public_key() {
                    match open(&f.recipient, &envelope, &policy) {
                        Ok(opened) => {
                            reached |= 4;
                            contents.push(opened.into_content());
                        }
                        Err(e) => assert!(open_error(&e), "open of a split envelope: {e:?}"),
                    }
                }
            }
            assert!(multi.envelope_for(n).is_none());
        }
        Err(e) => assert!(matches!(e, Error::Decode(_) | Error::TooLarge { .. }), "multi: {e:?}"),
    }
    match SenderCertificate::from_bytes(data) {
        Ok(cert) => {
            reached |= 8;
            assert_eq!(&cert.to_bytes()[..], data, "certificate encoding is not canonical");
            match cert.validate(&policy) {
                Ok(()) => {}
                Err(e) => assert!(
                    matches!(
                        e,
                        Error::UntrustedCertificate
                            | Error::BadSignature
                            | Error::CertificateRevoked
                            | Error::CertificateExpired
                    ),
                    "validate: {e:?}"
                ),
            }
        }
        Err(e) => assert!(matches!(e, Error::Decode(_)), "certificate: {e:?}"),
    }
    reached
}

/// `padding`: strict unpadding of arbitrary bytes, and pad/unpad round
/// trips for a policy and content taken from the input.
///
/// - `unpad` returns the content or `Error::Padding`, nothing else; what it
///   accepts is canonical: padding the content again under the policy the
///   input states gives back exactly the input;
/// - for the policy named by the first three bytes (when it is one) and
///   the rest as content, `pad` gives `padded_len` bytes that unpad to the
///   content, under every limit at or above that length, and `TooLarge`
///   below it.
pub fn padding(data: &[u8]) {
    match unpad(data) {
        Ok(content) => {
            let policy = stated_policy(data).expect("unpad accepted an unknown policy");
            let again = pad(policy, content, usize::MAX).unwrap();
            assert_eq!(again, data, "unpad accepted a non-canonical padding");
        }
        Err(e) => assert_eq!(e, Error::Padding),
    }
    if let Some(policy) = stated_policy(data) {
        let content = &data[3..];
        let len = policy.padded_len(content.len()).unwrap();
        let padded = pad(policy, content, len).unwrap();
        assert_eq!(padded.len(), len);
        assert_eq!(unpad(&padded).unwrap(), content);
        assert_eq!(pad(policy, content, len - 1), Err(Error::TooLarge { len, max: len - 1 }));
    }
}

/// The policy a padded plaintext's first three bytes state, if any
/// (SPEC.md §26.2).
fn stated_policy(data: &[u8]) -> Option<PaddingPolicy> {
    let [kind, a, b, ..] = *data else { return None };
    let param = u16::from_be_bytes([a, b]);
    match kind {
        0 if param == 0 => Some(PaddingPolicy::None),
        1 => NonZeroU16::new(param).map(PaddingPolicy::Blocks),
        2 => Some(PaddingPolicy::Padme { floor: param }),
        _ => None,
    }
}
