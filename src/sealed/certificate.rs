//! Server keys and sender certificates
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §27.1).
//!
//! The application's server holds a [`ServerKeyPair`] and issues each
//! device a short-lived [`SenderCertificate`]: "device `d` of the account
//! with key `AK` has identity key `IK_S`, until `expires`". The device puts
//! it inside every sealed envelope it sends; the recipient validates it
//! against a [`CertificatePolicy`] (the server keys it trusts, the revoked
//! serials, its clock) after the envelope has authenticated the sender's
//! identity key.

use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::SEALED_FORMAT_VERSION;
use crate::{
    account::{AccountKey, DeviceId},
    codec::{Hex, Reader, Writer},
    error::DecodeError,
    identity::IdentityKey,
    primitives::{ct_eq, ed25519_public, ed25519_verify},
    Error,
};

/// Format tag of a [`SenderCertificate`] (`'c'`).
pub const TAG_SENDER_CERTIFICATE: u8 = 0x63;
/// Bytes of an encoded [`SenderCertificate`]: tag, version, serial, expiry,
/// account key, device id, identity key, server key, signature.
pub const SENDER_CERTIFICATE_LEN: usize = 2 + 8 + 8 + 32 + 4 + 32 + 32 + 64;

/// The signed part of a certificate: everything before the signature.
const BODY_LEN: usize = SENDER_CERTIFICATE_LEN - 64;
const LABEL_SENDER_CERTIFICATE: &[u8; 31] = b"chatcrypt v3 sender certificate";
/// `label || body`, the 149-byte message `SIG_S` covers.
const SIGNED_LEN: usize = LABEL_SENDER_CERTIFICATE.len() + BODY_LEN;

/// The application server's signing key pair (Ed25519) for sender
/// certificates.
///
/// Zeroized on drop; not `Clone`; its `Debug` shows only the public key.
/// The library never holds server keys of its own: the app ships the
/// public [`ServerKey`]s it trusts and passes them in a
/// [`CertificatePolicy`].
pub struct ServerKeyPair {
    signing: SigningKey,
    public: ServerKey,
}

impl ServerKeyPair {
    /// Generates a server key from 32 bytes of `rng` output (the Ed25519 seed).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut seed[..]);
        Self::from_seed(&seed)
    }

    /// Rebuilds the server key from its 32-byte Ed25519 seed (RFC 8032
    /// private key). The seed is the whole secret.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let verifying = signing.verifying_key();
        ServerKeyPair { signing, public: ServerKey { bytes: verifying.to_bytes(), verifying } }
    }

    /// The 32-byte seed. Secret: zeroize it after storing it.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The public server key, which apps list among their trusted roots.
    pub fn public_key(&self) -> &ServerKey {
        &self.public
    }

    /// Issues a certificate with serial `serial` (the server's choice; its
    /// revocation list names it), valid while the recipient's clock is
    /// below `expires` (seconds), stating that device `device` of the
    /// account `account` has identity key `identity`.
    ///
    /// The server should issue it only to the device that proves it holds
    /// `identity` and is logged in to `account`; the library cannot check
    /// that here.
    pub fn issue(
        &self,
        serial: u64,
        expires: u64,
        account: &AccountKey,
        device: DeviceId,
        identity: &IdentityKey,
    ) -> SenderCertificate {
        let mut cert = SenderCertificate {
            serial,
            expires,
            account: account.clone(),
            device,
            identity: identity.clone(),
            issuer: self.public.clone(),
            signature: [0u8; 64],
        };
        cert.signature = self.signing.sign(&cert.signed_message()).to_bytes();
        cert
    }
}

impl fmt::Debug for ServerKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerKeyPair").field("public", &self.public).finish_non_exhaustive()
    }
}

/// A public server key: a trust root for sender certificates. Strictly
/// parsed (a canonical Ed25519 point not of small order); compared in
/// constant time.
#[derive(Clone)]
pub struct ServerKey {
    bytes: [u8; 32],
    verifying: VerifyingKey,
}

/// Constant time in the key bytes.
impl PartialEq for ServerKey {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.bytes, &other.bytes)
    }
}

impl Eq for ServerKey {}

impl ServerKey {
    /// Parses a 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidPublicKey`] for a
    /// non-canonical or small-order point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        Ok(Self::parse(bytes)?)
    }

    pub(crate) fn parse(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        Ok(ServerKey { bytes: *bytes, verifying: ed25519_public(bytes)? })
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerKey({:?})", Hex(&self.bytes))
    }
}

/// What a recipient trusts when it validates a [`SenderCertificate`]
/// (SPEC.md §27.1): the server keys that may issue certificates, the
/// revoked serials, and the current time in seconds (the caller's clock;
/// the library reads none).
///
/// The fields are private and set by [`CertificatePolicy::new`], so that a
/// later version can add a criterion with a new constructor without
/// breaking callers. It borrows the caller's lists and copies nothing.
#[derive(Clone, Copy, Debug)]
pub struct CertificatePolicy<'a> {
    roots: &'a [ServerKey],
    revoked: &'a [u64],
    now: u64,
}

impl<'a> CertificatePolicy<'a> {
    /// Trusts certificates issued by one of `roots`, whose serial is not
    /// in `revoked`, at time `now` (seconds, compared with the
    /// certificate's expiry). An empty `roots` trusts nothing.
    pub fn new(roots: &'a [ServerKey], revoked: &'a [u64], now: u64) -> Self {
        CertificatePolicy { roots, revoked, now }
    }

    /// The trusted server keys.
    pub fn roots(&self) -> &'a [ServerKey] {
        self.roots
    }

    /// The revoked serials.
    pub fn revoked(&self) -> &'a [u64] {
        self.revoked
    }

    /// The caller's time, in seconds.
    pub fn now(&self) -> u64 {
        self.now
    }
}

/// A server's statement that device `device` of the account with key
/// `account_key` has identity key `identity`, until `expires`
/// (SPEC.md §27.1, [`SENDER_CERTIFICATE_LEN`] bytes).
///
/// Decoding checks the encoding only (every key strictly); whether the
/// certificate is to be believed is [`validate`](Self::validate)'s
/// decision, which [`open`](super::open) makes against the caller's
/// [`CertificatePolicy`].
#[derive(Clone, PartialEq, Eq)]
pub struct SenderCertificate {
    serial: u64,
    expires: u64,
    account: AccountKey,
    device: DeviceId,
    identity: IdentityKey,
    issuer: ServerKey,
    signature: [u8; 64],
}

impl SenderCertificate {
    /// The serial the server gave it (revocation lists name it).
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The time (seconds) from which it is no longer valid.
    pub fn expires(&self) -> u64 {
        self.expires
    }

    /// The sender's account key.
    pub fn account_key(&self) -> &AccountKey {
        &self.account
    }

    /// The sender's device id.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The sender device's identity key (`IK_S`).
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// The server key that issued it (not necessarily trusted: see
    /// [`validate`](Self::validate)).
    pub fn issuer(&self) -> &ServerKey {
        &self.issuer
    }

    /// Validates the certificate against `policy` (SPEC.md §27.1), in this
    /// order.
    ///
    /// # Errors
    /// 1. [`Error::UntrustedCertificate`] if the issuing key is not one of
    ///    the policy's roots (compared in constant time, every root);
    /// 2. [`Error::BadSignature`] if the signature does not verify strictly
    ///    under it;
    /// 3. [`Error::CertificateRevoked`] if its serial is revoked;
    /// 4. [`Error::CertificateExpired`] unless `now < expires`.
    pub fn validate(&self, policy: &CertificatePolicy<'_>) -> Result<(), Error> {
        let trusted = policy
            .roots
            .iter()
            .fold(false, |found, root| found | ct_eq(root.as_bytes(), self.issuer.as_bytes()));
        if !trusted {
            return Err(Error::UntrustedCertificate);
        }
        ed25519_verify(&self.issuer.verifying, &self.signed_message(), &self.signature)?;
        if policy.revoked.contains(&self.serial) {
            return Err(Error::CertificateRevoked);
        }
        if policy.now >= self.expires {
            return Err(Error::CertificateExpired);
        }
        Ok(())
    }

    /// The [`SENDER_CERTIFICATE_LEN`]-byte encoding.
    pub fn to_bytes(&self) -> [u8; SENDER_CERTIFICATE_LEN] {
        let mut out = [0u8; SENDER_CERTIFICATE_LEN];
        let (body, sig) = out.split_at_mut(BODY_LEN);
        body.copy_from_slice(&self.body());
        sig.copy_from_slice(&self.signature);
        out
    }

    /// Appends the encoding to `out`.
    pub(crate) fn write(&self, out: &mut alloc::vec::Vec<u8>) {
        out.put(&self.body());
        out.put(&self.signature);
    }

    /// Decodes a certificate (SPEC.md §27.1). The signature is not
    /// verified here: [`validate`](Self::validate) does that.
    ///
    /// # Errors
    /// [`Error::Decode`], the first violation in layout order deciding:
    /// [`DecodeError::UnexpectedType`] for another tag,
    /// [`DecodeError::UnsupportedVersion`] for another version,
    /// [`DecodeError::InvalidPublicKey`] for an account, identity or server
    /// key that is not a strict Ed25519 key, [`DecodeError::Truncated`] if
    /// the input ends early, [`DecodeError::TrailingBytes`] if it goes on.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let cert = Self::read(&mut r)?;
        r.finish()?;
        Ok(cert)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.expect_header(TAG_SENDER_CERTIFICATE, SEALED_FORMAT_VERSION)?;
        let serial = r.u64()?;
        let expires = r.u64()?;
        let account = AccountKey::parse(&r.array()?)?;
        let device = DeviceId::new(r.u32()?);
        let identity = IdentityKey::parse(&r.array()?)?;
        let issuer = ServerKey::parse(&r.array()?)?;
        let signature = r.array()?;
        Ok(SenderCertificate { serial, expires, account, device, identity, issuer, signature })
    }

    /// `C[0..118]`: everything the signature covers but its label.
    fn body(&self) -> [u8; BODY_LEN] {
        let mut body = alloc::vec::Vec::with_capacity(BODY_LEN);
        body.put_u8(TAG_SENDER_CERTIFICATE);
        body.put_u8(SEALED_FORMAT_VERSION);
        body.put_u64(self.serial);
        body.put_u64(self.expires);
        body.put(self.account.as_bytes());
        body.put_u32(self.device.get());
        body.put(self.identity.as_bytes());
        body.put(self.issuer.as_bytes());
        let mut out = [0u8; BODY_LEN];
        out.copy_from_slice(&body);
        out
    }

    /// `"chatcrypt v3 sender certificate" || C[0..118]`.
    fn signed_message(&self) -> [u8; SIGNED_LEN] {
        let mut m = [0u8; SIGNED_LEN];
        let (label, body) = m.split_at_mut(LABEL_SENDER_CERTIFICATE.len());
        label.copy_from_slice(LABEL_SENDER_CERTIFICATE);
        body.copy_from_slice(&self.body());
        m
    }
}

impl fmt::Debug for SenderCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SenderCertificate { serial, expires, account, device, identity, issuer, signature: _ } = self;
        f.debug_struct("SenderCertificate")
            .field("serial", serial)
            .field("expires", expires)
            .field("account", account)
            .field("device", device)
            .field("identity", identity)
            .field("issuer", issuer)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

    use super::*;
    use crate::{AccountKeyPair, IdentityKeyPair};

    fn fixture() -> (ServerKeyPair, SenderCertificate) {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let server = ServerKeyPair::generate(&mut rng);
        let account = AccountKeyPair::generate(&mut rng);
        let identity = IdentityKeyPair::generate(&mut rng);
        let cert = server.issue(42, 1000, account.public_key(), DeviceId::new(3), identity.public_key());
        (server, cert)
    }

    #[test]
    fn encoding_is_the_layout_of_the_spec() {
        let (server, cert) = fixture();
        let bytes = cert.to_bytes();
        assert_eq!(bytes.len(), 182);
        assert_eq!(bytes[0], 0x63);
        assert_eq!(bytes[1], 0x01);
        assert_eq!(bytes[2..10], 42u64.to_be_bytes());
        assert_eq!(bytes[10..18], 1000u64.to_be_bytes());
        assert_eq!(&bytes[18..50], cert.account_key().as_bytes());
        assert_eq!(bytes[50..54], 3u32.to_be_bytes());
        assert_eq!(&bytes[54..86], cert.identity().as_bytes());
        assert_eq!(&bytes[86..118], server.public_key().as_bytes());
        let mut signed = LABEL_SENDER_CERTIFICATE.to_vec();
        signed.extend_from_slice(&bytes[..118]);
        assert_eq!(signed.len(), 149);
        let sig: [u8; 64] = bytes[118..].try_into().unwrap();
        assert_eq!(ed25519_verify(&server.public.verifying, &signed, &sig), Ok(()));
        let mut v = alloc::vec::Vec::new();
        cert.write(&mut v);
        assert_eq!(v, bytes);
        assert_eq!(SenderCertificate::from_bytes(&bytes), Ok(cert));
    }

    #[test]
    fn validation_order() {
        let (server, cert) = fixture();
        let roots = [server.public_key().clone()];
        assert_eq!(cert.validate(&CertificatePolicy::new(&roots, &[], 999)), Ok(()));
        assert_eq!(
            cert.validate(&CertificatePolicy::new(&[], &[42], 1000)),
            Err(Error::UntrustedCertificate)
        );
        let mut forged = cert.clone();
        forged.signature[0] ^= 1;
        assert_eq!(forged.validate(&CertificatePolicy::new(&roots, &[42], 1000)), Err(Error::BadSignature));
        assert_eq!(
            cert.validate(&CertificatePolicy::new(&roots, &[42], 1000)),
            Err(Error::CertificateRevoked)
        );
        assert_eq!(
            cert.validate(&CertificatePolicy::new(&roots, &[41], 1000)),
            Err(Error::CertificateExpired)
        );
    }

    #[test]
    fn server_key_round_trips_and_debug_shows_no_secret() {
        let (server, _) = fixture();
        let again = ServerKeyPair::from_seed(&server.seed());
        assert_eq!(again.public_key(), server.public_key());
        assert_eq!(ServerKey::from_bytes(server.public_key().as_bytes()).as_ref(), Ok(server.public_key()));
        let debug = alloc::format!("{server:?}");
        assert!(debug.starts_with("ServerKeyPair { public: ServerKey("), "{debug}");
        assert_eq!(ServerKey::from_bytes(&[0; 32]), Err(Error::Decode(DecodeError::InvalidPublicKey)));
    }
}
