//! Prekeys and the prekey bundle a device publishes.
//!
//! A device uploads to its server, once, a [`SignedPreKey`]'s public part
//! (replaced every few weeks) and a batch of [`OneTimePreKey`] public parts.
//! Someone who wants to start a chat fetches a [`PreKeyBundle`]: the identity
//! key, the current signed prekey with its signature, and (while the server
//! has any) one one-time prekey, which the server hands out only once.
//!
//! For the hybrid (post-quantum) handshake a device also uploads
//! [`KemPreKey`]s: ML-KEM-1024 keys, each signed, of which one is the
//! *last-resort* key the server hands out when the one-time KEM prekeys run
//! out. A bundle carries one of them.
//!
//! The signed prekey is signed with the identity key over
//! `"chatcrypt v1 signed prekey" || id (u32 BE) || public key`, and each KEM
//! prekey over `"chatcrypt v3 kem prekey" || type || id (u32 BE) || key`, so a
//! server cannot substitute its own keys. [`PreKeyBundle::verify`] checks
//! both, and [`Session::initiate`](crate::Session::initiate) does so before
//! any other work.

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::{
    codec::{Reader, Writer},
    error::DecodeError,
    identity::{IdentityKey, IdentityKeyPair},
    kem::{DecapsulationKeyPair, EncapsulationKeyOf, KemType, ML_KEM_1024_PUBLIC_KEY_LEN},
    primitives::{ed25519_public, ed25519_verify, x25519_canonical, x25519_public},
    Error, VERSION,
};

/// Domain separation for the signed prekey signature.
pub(crate) const LABEL_SIGNED_PREKEY: &[u8] = b"chatcrypt v1 signed prekey";

/// Length of a bundle without a one-time prekey.
pub const BUNDLE_LEN: usize = 134;
/// Length of a bundle with a one-time prekey.
pub const BUNDLE_LEN_WITH_ONE_TIME: usize = BUNDLE_LEN + 36;
/// Length of the encoding of an ML-KEM-1024 [`KemPreKeyPublic`]: type,
/// id, key, signature.
pub const KEM_PREKEY_PUBLIC_LEN: usize = 1 + 4 + ML_KEM_1024_PUBLIC_KEY_LEN + 64;

/// Domain separation for the KEM prekey signature.
pub(crate) const LABEL_KEM_PREKEY: &[u8] = b"chatcrypt v3 kem prekey";

/// Bundle flag: a one-time prekey is present.
const BUNDLE_FLAG_ONE_TIME: u8 = 0x01;
/// Bundle flag: a KEM prekey is present.
const BUNDLE_FLAG_KEM: u8 = 0x02;

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

/// The message the identity key signs for a KEM prekey:
/// `"chatcrypt v3 kem prekey" || type || u32(id) || key`.
pub(crate) fn kem_prekey_message(kind: KemType, id: u32, key: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(LABEL_KEM_PREKEY.len() + 5 + key.len());
    m.put(LABEL_KEM_PREKEY);
    m.put_u8(kind.to_byte());
    m.put_u32(id);
    m.put(key);
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

/// A signed KEM prekey with its decapsulation key, for the hybrid handshake
/// ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16).
///
/// A device keeps two kinds, with the same lifecycle as its X25519 prekeys:
///
/// * **one-time** KEM prekeys, uploaded in batches; each is handed to one
///   initiator, and [`Session::accept`](crate::Session::accept) consumes it
///   ([`KemPreKeyUse::OneTime`] takes it by value): delete it when you
///   store the session.
/// * one **last-resort** KEM prekey, which the server hands out when the
///   one-time ones have run out; accept only borrows it
///   ([`KemPreKeyUse::LastResort`]). Replace it like a signed prekey. Its
///   exposure: every initiator that got it encapsulated to the same key, so
///   until it is replaced and deleted, its compromise exposes the
///   post-quantum share of all those handshakes, and a handshake that used
///   it and no X25519 one-time prekey can be replayed (SPEC.md §16.7).
///
/// Ids never repeat: choose them from one counter per device that you
/// persist before uploading (SPEC.md §16.2).
///
/// Zeroized on drop; not `Clone`; `Debug` shows only the public part.
pub struct KemPreKey {
    pub(crate) pair: DecapsulationKeyPair,
    pub(crate) public: KemPreKeyPublic,
}

impl KemPreKey {
    /// Generates an ML-KEM-1024 prekey with the caller's `id` and signs it
    /// with `identity`. Draws 64 bytes from `rng` (the seed `d || z`).
    pub fn generate<R: CryptoRng + ?Sized>(identity: &IdentityKeyPair, id: u32, rng: &mut R) -> Self {
        Self::generate_with_type(identity, KemType::MlKem1024, id, rng)
    }

    /// Generates a prekey of the given KEM type.
    pub fn generate_with_type<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        kind: KemType,
        id: u32,
        rng: &mut R,
    ) -> Self {
        let pair = DecapsulationKeyPair::generate(kind, rng);
        let key = pair.public_key();
        let signature = identity.sign(&kem_prekey_message(kind, id, &key));
        Self::from_pair(pair, kind, id, key, signature)
    }

    /// The prekey of a key pair; `key` is the pair's encapsulation key's
    /// encoding.
    fn from_pair(
        pair: DecapsulationKeyPair,
        kind: KemType,
        id: u32,
        key: Vec<u8>,
        signature: [u8; 64],
    ) -> Self {
        let public = KemPreKeyPublic { kind, id, key, signature, parsed: pair.encapsulation_key() };
        KemPreKey { pair, public }
    }

    pub(crate) fn from_stored(kind: KemType, id: u32, seed: &[u8; 64], signature: [u8; 64]) -> Self {
        let pair = DecapsulationKeyPair::from_seed(kind, seed);
        let key = pair.public_key();
        Self::from_pair(pair, kind, id, key, signature)
    }

    /// The id the caller chose.
    pub fn id(&self) -> u32 {
        self.public.id
    }

    /// The KEM type.
    pub fn kem_type(&self) -> KemType {
        self.public.kind
    }

    /// The public part to upload.
    pub fn public(&self) -> &KemPreKeyPublic {
        &self.public
    }
}

impl fmt::Debug for KemPreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KemPreKey").field("public", &self.public).finish_non_exhaustive()
    }
}

/// How [`Session::accept`](crate::Session::accept) gets the KEM prekey a
/// hybrid PreKeyMessage names.
#[derive(Debug)]
// Built once per accept and moved into it: boxing the key would cost an
// allocation for nothing.
#[allow(clippy::large_enum_variant)]
pub enum KemPreKeyUse<'a> {
    /// A one-time KEM prekey, consumed by a successful accept (delete it
    /// from storage when you store the session; after a failed accept it
    /// is still valid).
    OneTime(KemPreKey),
    /// The last-resort KEM prekey, which stays valid for later handshakes.
    LastResort(&'a KemPreKey),
}

impl KemPreKeyUse<'_> {
    pub(crate) fn key(&self) -> &KemPreKey {
        match self {
            KemPreKeyUse::OneTime(k) => k,
            KemPreKeyUse::LastResort(k) => k,
        }
    }
}

/// The public part of a KEM prekey: KEM type, id, encapsulation key and the
/// identity key's signature over them. Its encoding
/// ([`to_bytes`](Self::to_bytes), [SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16.2) is what a device uploads;
/// a server checks it on its own with [`verify`](Self::verify).
#[derive(Clone)]
pub struct KemPreKeyPublic {
    kind: KemType,
    id: u32,
    key: Vec<u8>,
    signature: [u8; 64],
    /// `key`, parsed and validated (FIPS 203 §7.2) once, when this value
    /// was decoded or generated: there is no other way to build one.
    parsed: EncapsulationKeyOf,
}

/// Equal when type, id, key and signature are (the parsed key follows from
/// the encoding).
impl PartialEq for KemPreKeyPublic {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.id == other.id
            && self.key == other.key
            && self.signature == other.signature
    }
}

impl Eq for KemPreKeyPublic {}

impl KemPreKeyPublic {
    /// The parsed, validated encapsulation key.
    pub(crate) fn encapsulation_key(&self) -> &EncapsulationKeyOf {
        &self.parsed
    }

    /// The KEM type.
    pub fn kem_type(&self) -> KemType {
        self.kind
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The encapsulation key's encoding.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The Ed25519 signature by the identity key.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Checks the signature under `identity` (strict Ed25519). The key's
    /// encoding was validated (FIPS 203 §7.2) when it was decoded or
    /// generated: a `KemPreKeyPublic` with an invalid key cannot exist.
    ///
    /// # Errors
    /// [`Error::BadSignature`] if it does not verify;
    /// [`Error::Decode`] if `identity` is not a valid key.
    pub fn verify(&self, identity: &IdentityKey) -> Result<(), Error> {
        let key = ed25519_public(identity.as_bytes())?;
        ed25519_verify(&key, &kem_prekey_message(self.kind, self.id, &self.key), &self.signature)
    }

    /// The length of its encoding ([`KEM_PREKEY_PUBLIC_LEN`] for ML-KEM-1024).
    pub fn encoded_len(&self) -> usize {
        1 + 4 + self.key.len() + 64
    }

    /// Encodes it: `type || u32(id) || key || signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.put_u8(self.kind.to_byte());
        out.put_u32(self.id);
        out.put(&self.key);
        out.put(&self.signature);
    }

    /// Decodes the encoding [`to_bytes`](Self::to_bytes) gives, checking the
    /// type and the encapsulation key (FIPS 203 §7.2); the signature is
    /// checked by [`verify`](Self::verify).
    ///
    /// # Errors
    /// [`Error::Decode`]: [`DecodeError::UnknownKeyType`],
    /// [`DecodeError::InvalidPublicKey`] for a key that fails the FIPS 203
    /// check, [`DecodeError::Truncated`], [`DecodeError::TrailingBytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let k = Self::read(&mut r)?;
        r.finish()?;
        Ok(k)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let kind = KemType::from_byte(r.u8()?)?;
        let id = r.u32()?;
        let key = r.take(kind.public_key_len())?;
        let parsed = EncapsulationKeyOf::parse(kind, key)?;
        let key = key.to_vec();
        let signature = r.array()?;
        Ok(KemPreKeyPublic { kind, id, key, signature, parsed })
    }
}

impl fmt::Debug for KemPreKeyPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KemPreKeyPublic")
            .field("kem_type", &self.kind)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What an initiator fetches to start a session: identity key, signed
/// prekey with signature, a signed KEM prekey (for the hybrid handshake,
/// the default), and optionally a one-time prekey.
///
/// Wire format ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §4, §16.3): `version (0x02) || flags || identity key (32)
/// || signed prekey id (u32 BE) || signed prekey (32) || signature (64)
/// [|| KEM prekey (type, id, key, signature)]
/// [|| one-time prekey id (u32 BE) || one-time prekey (32)]`, where flag bit 0
/// says whether the one-time prekey is present and bit 1 whether the KEM
/// prekey is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PreKeyBundle {
    identity: IdentityKey,
    signed_prekey: SignedPreKeyPublic,
    kem_prekey: Option<KemPreKeyPublic>,
    one_time_prekey: Option<OneTimePreKeyPublic>,
}

impl PreKeyBundle {
    /// Assembles a classical bundle (no KEM prekey); add one with
    /// [`with_kem_prekey`](Self::with_kem_prekey) for the hybrid handshake,
    /// which [`Session::initiate`](crate::Session::initiate) requires by
    /// default. Call [`verify`](Self::verify) (or let
    /// [`Session::initiate`](crate::Session::initiate) do it) before trusting it.
    pub fn new(
        identity: IdentityKey,
        signed_prekey: SignedPreKeyPublic,
        one_time_prekey: Option<OneTimePreKeyPublic>,
    ) -> Self {
        PreKeyBundle { identity, signed_prekey, kem_prekey: None, one_time_prekey }
    }

    /// The bundle with a KEM prekey (one-time or last-resort): initiators
    /// then make the hybrid handshake.
    #[must_use]
    pub fn with_kem_prekey(mut self, kem_prekey: KemPreKeyPublic) -> Self {
        self.kem_prekey = Some(kem_prekey);
        self
    }

    /// Checks that both X25519 prekeys are canonical encodings, then the
    /// signed prekey's signature and the KEM prekey's signature under the
    /// identity key, in that order (SPEC.md §5.1, §16.5). The KEM prekey's
    /// encapsulation key passed the FIPS 203 §7.2 check when it was decoded
    /// or generated (a [`KemPreKeyPublic`] with an invalid key cannot
    /// exist).
    ///
    /// The one-time prekey is not signed (as in X3DH): a relay that changes
    /// it cannot make a working session with another key, because the
    /// responder derives the session from its own copy, and the first
    /// message then fails to authenticate.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidPublicKey`] for a
    /// non-canonical prekey encoding, [`Error::BadSignature`] if a
    /// signature does not verify (strict Ed25519).
    pub fn verify(&self) -> Result<(), Error> {
        self.verified_identity_x25519().map(|_| ())
    }

    /// The checks of [`verify`](Self::verify) (the KEM key's FIPS 203 check
    /// was done when the [`KemPreKeyPublic`] was built, the only way one
    /// exists), returning the identity key's X25519 form computed from the
    /// point whose signatures just verified (SPEC.md §5.1), so that the
    /// handshake never uses a stored or supplied form.
    pub(crate) fn verified_identity_x25519(&self) -> Result<[u8; 32], Error> {
        x25519_canonical(&self.signed_prekey.key)?;
        if let Some(otk) = &self.one_time_prekey {
            x25519_canonical(&otk.key)?;
        }
        let key = ed25519_public(self.identity.as_bytes())?;
        let msg = signed_prekey_message(self.signed_prekey.id, &self.signed_prekey.key);
        ed25519_verify(&key, &msg, &self.signed_prekey.signature)?;
        if let Some(k) = &self.kem_prekey {
            ed25519_verify(&key, &kem_prekey_message(k.kind, k.id, &k.key), &k.signature)?;
        }
        Ok(key.to_montgomery().to_bytes())
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

    /// The KEM prekey, if the bundle offers the hybrid handshake.
    pub fn kem_prekey(&self) -> Option<&KemPreKeyPublic> {
        self.kem_prekey.as_ref()
    }

    /// Encodes the bundle: 134 or 170 bytes classical, plus
    /// [`KEM_PREKEY_PUBLIC_LEN`] with an ML-KEM-1024 prekey.
    pub fn to_bytes(&self) -> Vec<u8> {
        let kem_len = self.kem_prekey.as_ref().map_or(0, KemPreKeyPublic::encoded_len);
        let mut out = Vec::with_capacity(BUNDLE_LEN_WITH_ONE_TIME + kem_len);
        let mut flags = 0;
        if self.one_time_prekey.is_some() {
            flags |= BUNDLE_FLAG_ONE_TIME;
        }
        if self.kem_prekey.is_some() {
            flags |= BUNDLE_FLAG_KEM;
        }
        out.put_u8(VERSION);
        out.put_u8(flags);
        out.put(self.identity.as_bytes());
        out.put_u32(self.signed_prekey.id);
        out.put(&self.signed_prekey.key);
        out.put(&self.signed_prekey.signature);
        if let Some(k) = &self.kem_prekey {
            k.write(&mut out);
        }
        if let Some(otk) = &self.one_time_prekey {
            out.put_u32(otk.id);
            out.put(&otk.key);
        }
        out
    }

    /// Decodes a bundle. The signatures are *not* checked here (see
    /// [`verify`](Self::verify)), but the identity key is parsed strictly,
    /// both X25519 prekeys must be canonical encodings and a KEM prekey
    /// must be of a known type and pass the FIPS 203 key check.
    ///
    /// # Errors
    /// [`Error::Decode`] for a wrong version, reserved flag bits, a wrong
    /// length, an invalid identity key, a non-canonical prekey, an unknown
    /// KEM type or an invalid KEM key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let flags = r.u8()?;
        if flags & !(BUNDLE_FLAG_ONE_TIME | BUNDLE_FLAG_KEM) != 0 {
            return Err(DecodeError::InvalidFlags(flags).into());
        }
        let identity = IdentityKey::parse(&r.array()?)?;
        let id = r.u32()?;
        let key = r.x25519_key()?;
        let signed_prekey = SignedPreKeyPublic { id, key, signature: r.array()? };
        let kem_prekey =
            if flags & BUNDLE_FLAG_KEM != 0 { Some(KemPreKeyPublic::read(&mut r)?) } else { None };
        let one_time_prekey = if flags & BUNDLE_FLAG_ONE_TIME != 0 {
            let id = r.u32()?;
            let key = r.x25519_key()?;
            Some(OneTimePreKeyPublic { id, key })
        } else {
            None
        };
        r.finish()?;
        Ok(PreKeyBundle { identity, signed_prekey, kem_prekey, one_time_prekey })
    }
}
