//! Prekeys and the prekey bundle a device publishes.
//!
//! A device uploads to its server, once, a [`SignedPreKey`]'s public part
//! (replaced every few weeks) and a batch of [`OneTimePreKey`] public parts.
//! Someone who wants to start a chat fetches a [`PreKeyBundle`]: the identity
//! key, the current signed prekey with its signature, and (while the server
//! has any) one one-time prekey, which the server hands out only once.
//!
//! The signed prekey is signed with the identity key over
//! `"chatcrypt v1 signed prekey" || id (u32 BE) || public key`, so a server
//! cannot substitute its own key. [`PreKeyBundle::verify`] checks it, and
//! [`Session::initiate`](crate::Session::initiate) does so before any other
//! work.

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::{
    codec::{Reader, Writer},
    error::DecodeError,
    identity::{IdentityKey, IdentityKeyPair},
    primitives::{x25519_canonical, x25519_public},
    Error, VERSION,
};

/// Domain separation for the signed prekey signature.
pub(crate) const LABEL_SIGNED_PREKEY: &[u8] = b"chatcrypt v1 signed prekey";

/// Length of a bundle without a one-time prekey.
pub const BUNDLE_LEN: usize = 134;
/// Length of a bundle with a one-time prekey.
pub const BUNDLE_LEN_WITH_ONE_TIME: usize = BUNDLE_LEN + 36;

pub(crate) fn random_x25519<R: CryptoRng + ?Sized>(rng: &mut R) -> StaticSecret {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut bytes[..]);
    StaticSecret::from(*bytes)
}

/// The message the identity key signs for a signed prekey.
pub(crate) fn signed_prekey_message(id: u32, public: &[u8; 32]) -> [u8; 62] {
    let mut m = [0u8; 62];
    m[..26].copy_from_slice(LABEL_SIGNED_PREKEY);
    m[26..30].copy_from_slice(&id.to_be_bytes());
    m[30..].copy_from_slice(public);
    m
}

/// A signed prekey with its private key. Keep it until it has been replaced
/// and messages sent to it can no longer arrive.
///
/// Zeroized on drop; not `Clone`; `Debug` shows only the public part.
pub struct SignedPreKey {
    pub(crate) id: u32,
    pub(crate) secret: StaticSecret,
    pub(crate) public: SignedPreKeyPublic,
}

impl SignedPreKey {
    /// Generates a signed prekey with the caller's `id` and signs it with `identity`.
    pub fn generate<R: CryptoRng + ?Sized>(identity: &IdentityKeyPair, id: u32, rng: &mut R) -> Self {
        let secret = random_x25519(rng);
        Self::from_parts(identity, id, secret)
    }

    pub(crate) fn from_parts(identity: &IdentityKeyPair, id: u32, secret: StaticSecret) -> Self {
        let key = x25519_public(&secret);
        let signature = identity.sign(&signed_prekey_message(id, &key));
        SignedPreKey { id, secret, public: SignedPreKeyPublic { id, key, signature } }
    }

    pub(crate) fn from_stored(id: u32, secret: StaticSecret, signature: [u8; 64]) -> Self {
        let key = x25519_public(&secret);
        SignedPreKey { id, secret, public: SignedPreKeyPublic { id, key, signature } }
    }

    /// The id the caller chose.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The public part to upload.
    pub fn public(&self) -> &SignedPreKeyPublic {
        &self.public
    }
}

impl fmt::Debug for SignedPreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPreKey").field("public", &self.public).finish_non_exhaustive()
    }
}

/// The public part of a signed prekey: id, X25519 public key, signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedPreKeyPublic {
    id: u32,
    key: [u8; 32],
    signature: [u8; 64],
}

impl SignedPreKeyPublic {
    /// Assembles the public part from its fields (as stored by a server).
    /// Nothing is checked until the bundle is verified.
    pub fn new(id: u32, key: [u8; 32], signature: [u8; 64]) -> Self {
        SignedPreKeyPublic { id, key, signature }
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The X25519 public key.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The Ed25519 signature by the identity key.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
}

impl fmt::Debug for SignedPreKeyPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPreKeyPublic").field("id", &self.id).finish_non_exhaustive()
    }
}

/// A one-time prekey with its private key.
///
/// [`Session::accept`](crate::Session::accept) takes it by value: using it
/// consumes it. After a successful accept, delete it from your storage in
/// the same transaction that stores the new session, so that no second
/// initiator (or a replay of the first) can be accepted with it.
///
/// Zeroized on drop; not `Clone`; `Debug` shows only the public part.
pub struct OneTimePreKey {
    pub(crate) secret: StaticSecret,
    pub(crate) public: OneTimePreKeyPublic,
}

impl OneTimePreKey {
    /// Generates a one-time prekey with the caller's `id`.
    pub fn generate<R: CryptoRng + ?Sized>(id: u32, rng: &mut R) -> Self {
        Self::from_secret(id, random_x25519(rng))
    }

    pub(crate) fn from_secret(id: u32, secret: StaticSecret) -> Self {
        let key = x25519_public(&secret);
        OneTimePreKey { secret, public: OneTimePreKeyPublic { id, key } }
    }

    /// The id the caller chose.
    pub fn id(&self) -> u32 {
        self.public.id
    }

    /// The public part to upload.
    pub fn public(&self) -> &OneTimePreKeyPublic {
        &self.public
    }
}

impl fmt::Debug for OneTimePreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimePreKey").field("public", &self.public).finish_non_exhaustive()
    }
}

/// The public part of a one-time prekey: id and X25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimePreKeyPublic {
    id: u32,
    key: [u8; 32],
}

impl OneTimePreKeyPublic {
    /// Assembles the public part from its fields.
    pub fn new(id: u32, key: [u8; 32]) -> Self {
        OneTimePreKeyPublic { id, key }
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The X25519 public key.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }
}

impl fmt::Debug for OneTimePreKeyPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimePreKeyPublic").field("id", &self.id).finish_non_exhaustive()
    }
}

/// What an initiator fetches to start a session: identity key, signed
/// prekey with signature, and optionally a one-time prekey.
///
/// Wire format ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §4): `version (0x02) || flags || identity key (32)
/// || signed prekey id (u32 BE) || signed prekey (32) || signature (64)
/// [|| one-time prekey id (u32 BE) || one-time prekey (32)]`, where flag bit 0
/// says whether the one-time prekey is present.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PreKeyBundle {
    identity: IdentityKey,
    signed_prekey: SignedPreKeyPublic,
    one_time_prekey: Option<OneTimePreKeyPublic>,
}

impl PreKeyBundle {
    /// Assembles a bundle. Call [`verify`](Self::verify) (or let
    /// [`Session::initiate`](crate::Session::initiate) do it) before trusting it.
    pub fn new(
        identity: IdentityKey,
        signed_prekey: SignedPreKeyPublic,
        one_time_prekey: Option<OneTimePreKeyPublic>,
    ) -> Self {
        PreKeyBundle { identity, signed_prekey, one_time_prekey }
    }

    /// Checks that both prekeys are canonical X25519 encodings, then the
    /// signed prekey's signature under the identity key.
    ///
    /// The one-time prekey is not signed (as in X3DH): a relay that changes
    /// it cannot make a working session with another key, because the
    /// responder derives the session from its own copy, and the first
    /// message then fails to authenticate.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidPublicKey`] for a
    /// non-canonical prekey encoding, [`Error::BadSignature`] if the
    /// signature does not verify (strict Ed25519).
    pub fn verify(&self) -> Result<(), Error> {
        self.verified_identity_x25519().map(|_| ())
    }

    /// [`verify`](Self::verify), returning the identity key's X25519 form
    /// computed from the point whose signature just verified (SPEC.md §5.1),
    /// so that the handshake never uses a stored or supplied form.
    pub(crate) fn verified_identity_x25519(&self) -> Result<[u8; 32], Error> {
        x25519_canonical(&self.signed_prekey.key)?;
        if let Some(otk) = &self.one_time_prekey {
            x25519_canonical(&otk.key)?;
        }
        let msg = signed_prekey_message(self.signed_prekey.id, &self.signed_prekey.key);
        self.identity.verify(&msg, &self.signed_prekey.signature)
    }

    /// The bundle owner's identity key.
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// The signed prekey.
    pub fn signed_prekey(&self) -> &SignedPreKeyPublic {
        &self.signed_prekey
    }

    /// The one-time prekey, if the server had one.
    pub fn one_time_prekey(&self) -> Option<&OneTimePreKeyPublic> {
        self.one_time_prekey.as_ref()
    }

    /// Encodes the bundle (134 or 170 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BUNDLE_LEN_WITH_ONE_TIME);
        out.put_u8(VERSION);
        out.put_u8(u8::from(self.one_time_prekey.is_some()));
        out.put(self.identity.as_bytes());
        out.put_u32(self.signed_prekey.id);
        out.put(&self.signed_prekey.key);
        out.put(&self.signed_prekey.signature);
        if let Some(otk) = &self.one_time_prekey {
            out.put_u32(otk.id);
            out.put(&otk.key);
        }
        out
    }

    /// Decodes a bundle. The signature is *not* checked here (see
    /// [`verify`](Self::verify)), but the identity key is parsed strictly
    /// and both prekeys must be canonical X25519 encodings.
    ///
    /// # Errors
    /// [`Error::Decode`] for a wrong version, reserved flag bits, a wrong
    /// length, an invalid identity key or a non-canonical prekey.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let flags = r.u8()?;
        if flags & !1 != 0 {
            return Err(DecodeError::InvalidFlags(flags).into());
        }
        let identity = IdentityKey::parse(&r.array()?)?;
        let id = r.u32()?;
        let key = r.x25519_key()?;
        let signed_prekey = SignedPreKeyPublic { id, key, signature: r.array()? };
        let one_time_prekey = if flags & 1 == 1 {
            let id = r.u32()?;
            let key = r.x25519_key()?;
            Some(OneTimePreKeyPublic { id, key })
        } else {
            None
        };
        r.finish()?;
        Ok(PreKeyBundle { identity, signed_prekey, one_time_prekey })
    }
}
