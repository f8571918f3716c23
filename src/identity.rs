//! Long-term identity keys.
//!
//! A device has one [`IdentityKeyPair`]: an Ed25519 key pair that signs the
//! device's signed prekeys. Its X25519 counterpart for the handshake's
//! Diffie-Hellman is derived by the standard birational map (the private
//! scalar is the first half of SHA-512 of the Ed25519 seed, the public key is
//! the Montgomery form of the Ed25519 point; libsodium's
//! `crypto_sign_ed25519_{sk,pk}_to_curve25519` compute the same), so a user
//! has exactly one public key, the 32-byte Ed25519 [`IdentityKey`], to verify
//! out of band.

use core::fmt;

use ed25519_dalek::{Signer, SigningKey};
use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::{codec::Hex, error::DecodeError, primitives::ed25519_public, Error};

/// A device's long-term identity key pair (Ed25519, with its X25519 form).
///
/// Zeroized on drop; not `Clone`; its `Debug` shows only the public key.
/// Persist it with [`IdentityKeyPair::to_bytes`] (see the crate's state
/// formats) or keep the 32-byte seed in the platform keystore.
pub struct IdentityKeyPair {
    signing: SigningKey,
    dh: StaticSecret,
    public: IdentityKey,
}

impl IdentityKeyPair {
    /// Generates a new identity from 32 bytes of `rng` output (the Ed25519 seed).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut seed[..]);
        Self::from_seed(&seed)
    }

    /// Rebuilds the identity from its 32-byte Ed25519 seed (RFC 8032 private key).
    ///
    /// The seed is the whole secret: treat it as key material.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let dh = StaticSecret::from(*Zeroizing::new(signing.to_scalar_bytes()));
        let verifying = signing.verifying_key();
        let public =
            IdentityKey { bytes: verifying.to_bytes(), montgomery: verifying.to_montgomery().to_bytes() };
        IdentityKeyPair { signing, dh, public }
    }

    /// The 32-byte Ed25519 seed. Secret: zeroize it after storing it.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The public identity key.
    pub fn public_key(&self) -> &IdentityKey {
        &self.public
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }

    pub(crate) fn dh_secret(&self) -> &StaticSecret {
        &self.dh
    }
}

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeyPair").field("public", &self.public).finish_non_exhaustive()
    }
}

/// A public identity key: a canonical Ed25519 public key of large order.
///
/// This is what users compare out of band (safety numbers are built from it).
/// It holds the 32-byte encoding and its X25519 form; the curve point is
/// decoded again only to verify a signature, so a session that stores its
/// identities restores without any curve arithmetic.
#[derive(Clone)]
pub struct IdentityKey {
    bytes: [u8; 32],
    montgomery: [u8; 32],
}

/// Two identity keys are equal when their Ed25519 encodings are: the X25519
/// form is derived from it and takes no part in identity.
impl PartialEq for IdentityKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for IdentityKey {}

impl IdentityKey {
    /// Parses a 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidPublicKey`] if the bytes
    /// are not a canonical point encoding, or the point has small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        Ok(Self::parse(bytes)?)
    }

    pub(crate) fn parse(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let verifying = ed25519_public(bytes)?;
        Ok(IdentityKey { bytes: *bytes, montgomery: verifying.to_montgomery().to_bytes() })
    }

    /// An identity key from stored state whose encoding and X25519 form were
    /// checked and computed when it was first parsed ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §10.4: a
    /// corrupted value can only make the session's messages fail to
    /// authenticate, since both enter the associated data).
    pub(crate) fn from_stored(bytes: [u8; 32], montgomery: [u8; 32]) -> Self {
        IdentityKey { bytes, montgomery }
    }

    /// The 32-byte Ed25519 encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The 32-byte Ed25519 encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The X25519 (Montgomery u-coordinate) form: computed when the key was
    /// parsed, or, for a key restored from a session's stored state, taken
    /// as stored (SPEC.md §10.4). The library's own handshakes never use a
    /// stored form: they recompute it from the decoded point.
    pub fn x25519_bytes(&self) -> &[u8; 32] {
        &self.montgomery
    }

    /// The X25519 form recomputed from the decoded (and strictly checked)
    /// Ed25519 point, never taken from storage (for the hazmat X3DH).
    #[cfg(feature = "hazmat")]
    pub(crate) fn x25519_from_point(&self) -> Result<[u8; 32], DecodeError> {
        Ok(ed25519_public(&self.bytes)?.to_montgomery().to_bytes())
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({:?})", Hex(&self.bytes))
    }
}
