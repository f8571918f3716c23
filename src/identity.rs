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

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::{
    error::DecodeError,
    primitives::{ed25519_public, ed25519_verify},
    Error,
};

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
        let public = IdentityKey::from_verifying(verifying);
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
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityKey {
    verifying: VerifyingKey,
    bytes: [u8; 32],
    montgomery: [u8; 32],
}

impl IdentityKey {
    fn from_verifying(verifying: VerifyingKey) -> Self {
        IdentityKey {
            bytes: verifying.to_bytes(),
            montgomery: verifying.to_montgomery().to_bytes(),
            verifying,
        }
    }

    /// Parses a 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidPublicKey`] if the bytes
    /// are not a canonical point encoding, or the point has small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        Ok(Self::from_verifying(ed25519_public(bytes)?))
    }

    pub(crate) fn parse(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        Ok(Self::from_verifying(ed25519_public(bytes)?))
    }

    /// The 32-byte Ed25519 encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The 32-byte Ed25519 encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The X25519 (Montgomery u-coordinate) form used for Diffie-Hellman.
    pub fn x25519_bytes(&self) -> &[u8; 32] {
        &self.montgomery
    }

    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> Result<(), Error> {
        ed25519_verify(&self.verifying, msg, sig)
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey(")?;
        for b in &self.bytes {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}
