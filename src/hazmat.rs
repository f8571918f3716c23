//! Raw protocol functions, for test-vector generation and for
//! implementers cross-checking their own code (feature `hazmat`).
//!
//! **Not for building messengers.** Nothing here enforces the protocol's
//! rules on key lifetimes or state; use [`Session`](crate::Session). Each
//! function is exactly the [SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) function it names.

use zeroize::Zeroizing;

use crate::{
    identity::{IdentityKey, IdentityKeyPair},
    keys::{ChainKey, HeaderKey, MessageKey, RootKey},
    message::Mode,
    primitives, x3dh, Error,
};

/// `KDF_RK(rk, dh_out)` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §6.1): the new root key and chain key.
pub fn kdf_rk(rk: &[u8; 32], dh_out: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let (rk, ck) = RootKey::from_bytes(*rk).ratchet(dh_out);
    (*rk.as_bytes(), *ck.as_bytes())
}

/// `KDF_CK(ck)` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §6.1): the next chain key and the message key.
pub fn kdf_ck(ck: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let mut ck = ChainKey::from_bytes(*ck);
    let mk = ck.step();
    (*ck.as_bytes(), *mk.as_bytes())
}

/// `MESSAGE_KEYS(mk, G)` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §6.1): the AES-256 key and the GCM nonce
/// of a message with reuse guard `guard`.
pub fn message_keys(mk: &[u8; 32], guard: &[u8; 16]) -> ([u8; 32], [u8; 12]) {
    // A 32-byte PRK is always accepted by HKDF-Expand.
    match MessageKey::from_bytes(*mk).expand(guard) {
        Ok(s) => (s.key, s.nonce),
        Err(_) => ([0; 32], [0; 12]),
    }
}

/// `X25519(k, u)` under the DH rule ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §2).
///
/// # Errors
/// [`Error::NonContributory`] for an all-zero output.
pub fn x25519(private: &[u8; 32], public: &[u8; 32]) -> Result<[u8; 32], Error> {
    let secret = x25519_dalek::StaticSecret::from(*Zeroizing::new(*private));
    Ok(*primitives::x25519(&secret, public)?)
}

/// `X25519_BASE(k)`.
pub fn x25519_base(private: &[u8; 32]) -> [u8; 32] {
    primitives::x25519_public(&x25519_dalek::StaticSecret::from(*Zeroizing::new(*private)))
}

/// The X25519 private key `SHA-512(seed)[0..32]` of an identity ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §3).
pub fn identity_x25519_private(identity: &IdentityKeyPair) -> [u8; 32] {
    identity.dh_secret().to_bytes()
}

/// The initiator's X3DH `SK` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §5.1) from the ephemeral private key.
///
/// # Errors
/// [`Error::NonContributory`] if a DH output is all zeros.
pub fn x3dh_initiator(
    identity: &IdentityKeyPair,
    ephemeral: &[u8; 32],
    peer_identity: &IdentityKey,
    signed_prekey: &[u8; 32],
    one_time_prekey: Option<&[u8; 32]>,
) -> Result<[u8; 32], Error> {
    let ek = x25519_dalek::StaticSecret::from(*Zeroizing::new(*ephemeral));
    let ik_b_x = peer_identity.x25519_from_point()?;
    Ok(*x3dh::initiator(Mode::Plain, identity, &ek, &ik_b_x, signed_prekey, one_time_prekey, None)?.sk)
}

/// The associated data `IK_A || IK_B` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §5.1).
pub fn associated_data(initiator: &IdentityKey, responder: &IdentityKey) -> [u8; 64] {
    x3dh::associated_data(initiator, responder)
}

/// The message an identity key signs for a signed prekey ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §3).
pub fn signed_prekey_message(id: u32, public: &[u8; 32]) -> [u8; 62] {
    crate::prekey::signed_prekey_message(id, public)
}

/// Signs `msg` with the identity key (Ed25519), e.g. to build bundles with
/// chosen (even invalid) prekeys for tests.
pub fn sign(identity: &IdentityKeyPair, msg: &[u8]) -> [u8; 64] {
    identity.sign(msg)
}

/// `KDF_RK_HE(rk, dh_out)` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §14.1): the new root key, chain key and
/// next header key.
pub fn kdf_rk_he(rk: &[u8; 32], dh_out: &[u8; 32]) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let (rk, ck, hk) = RootKey::from_bytes(*rk).ratchet_he(dh_out);
    (*rk.as_bytes(), *ck.as_bytes(), *hk.as_bytes())
}

/// `HEADER_KEYS(hk, sample)` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §14.1): the AES-256 key and nonce that
/// encrypt one message's header.
pub fn header_keys(hk: &[u8; 32], sample: &[u8; 16]) -> ([u8; 32], [u8; 12]) {
    // A 32-byte PRK is always accepted by HKDF-Expand.
    match HeaderKey::from_bytes(*hk).expand(sample) {
        Ok(s) => (s.key, s.nonce),
        Err(_) => ([0; 32], [0; 12]),
    }
}

/// `(SK, HKa, NHKb)`.
pub type HeSecrets = ([u8; 32], [u8; 32], [u8; 32]);

/// The initiator's X3DH output with header encryption ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §14.2):
/// `SK`, `HKa`, `NHKb`.
///
/// # Errors
/// [`Error::NonContributory`] if a DH output is all zeros.
pub fn x3dh_initiator_he(
    identity: &IdentityKeyPair,
    ephemeral: &[u8; 32],
    peer_identity: &IdentityKey,
    signed_prekey: &[u8; 32],
    one_time_prekey: Option<&[u8; 32]>,
) -> Result<HeSecrets, Error> {
    let ek = x25519_dalek::StaticSecret::from(*Zeroizing::new(*ephemeral));
    let s = x3dh::initiator(
        Mode::HeaderEncryption,
        identity,
        &ek,
        &peer_identity.x25519_from_point()?,
        signed_prekey,
        one_time_prekey,
        None,
    )?;
    match s.header_keys {
        Some((hka, nhkb)) => Ok((*s.sk, *hka.as_bytes(), *nhkb.as_bytes())),
        None => Err(Error::Decode(crate::DecodeError::InvalidValue)),
    }
}

/// One party's safety number fingerprint `FP(key, stable_id)`
/// ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §15), all 64 bytes, on raw key bytes: the 32-byte
/// Ed25519 encoding in chatcrypt, any byte string (such as libsignal's
/// 33-byte keys) for cross-checks. No length limit on `stable_id`.
pub fn safety_number_fingerprint(key: &[u8], stable_id: &[u8]) -> [u8; 64] {
    crate::safety_number::fingerprint(key, stable_id)
}

/// The 60 ASCII digits of the safety number of two fingerprints
/// ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §15); the order of the arguments does not matter.
pub fn safety_number_displayable(a: &[u8; 64], b: &[u8; 64]) -> [u8; 60] {
    crate::safety_number::displayable_digits(a, b)
}

/// The message an identity key signs for a KEM prekey ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16.2).
pub fn kem_prekey_message(kind: crate::KemType, id: u32, public: &[u8]) -> alloc::vec::Vec<u8> {
    crate::prekey::kem_prekey_message(kind, id, public)
}

/// FIPS 203 `ML-KEM.KeyGen_internal(d, z)` with `seed = d || z`: the
/// encapsulation key's encoding.
pub fn kem_public_key(kind: crate::KemType, seed: &[u8; 64]) -> alloc::vec::Vec<u8> {
    crate::kem::DecapsulationKeyPair::from_seed(kind, seed).public_key()
}

/// FIPS 203 `ML-KEM.Encaps_internal(ek, m)`: the ciphertext and the shared
/// secret.
///
/// # Errors
/// [`Error::Decode`] if `public` fails the FIPS 203 §7.2 key check.
pub fn kem_encapsulate(
    kind: crate::KemType,
    public: &[u8],
    m: &[u8; 32],
) -> Result<(alloc::vec::Vec<u8>, [u8; 32]), Error> {
    let (ct, ss) = crate::kem::EncapsulationKeyOf::parse(kind, public)?.encapsulate_with(m);
    Ok((ct, *ss))
}

/// FIPS 203 `ML-KEM.Decaps` with the key of `seed`.
///
/// # Errors
/// [`Error::Decode`] for a ciphertext of the wrong length.
pub fn kem_decapsulate(kind: crate::KemType, seed: &[u8; 64], ciphertext: &[u8]) -> Result<[u8; 32], Error> {
    Ok(*crate::kem::DecapsulationKeyPair::from_seed(kind, seed).decapsulate(ciphertext)?)
}

/// The initiator's hybrid X3DH output ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16.5): `SK`, and with
/// header encryption `HKa` and `NHKb`, from the DH inputs, the KEM shared
/// secret `ss`, the KEM public key and the ciphertext.
///
/// # Errors
/// [`Error::NonContributory`] if a DH output is all zeros.
#[allow(clippy::too_many_arguments)]
pub fn x3dh_initiator_hybrid(
    mode: Mode,
    identity: &IdentityKeyPair,
    ephemeral: &[u8; 32],
    peer_identity: &IdentityKey,
    signed_prekey: &[u8; 32],
    one_time_prekey: Option<&[u8; 32]>,
    kem: (crate::KemType, &[u8; 32], &[u8], &[u8]),
) -> Result<HybridSecrets, Error> {
    let ek = x25519_dalek::StaticSecret::from(*Zeroizing::new(*ephemeral));
    let (kind, ss, public, ciphertext) = kem;
    let share = x3dh::KemShare::new(kind, Zeroizing::new(*ss), public, ciphertext);
    let s = x3dh::initiator(
        mode,
        identity,
        &ek,
        &peer_identity.x25519_from_point()?,
        signed_prekey,
        one_time_prekey,
        Some(&share),
    )?;
    Ok(HybridSecrets {
        sk: *s.sk,
        header_keys: s.header_keys.map(|(hka, nhkb)| (*hka.as_bytes(), *nhkb.as_bytes())),
        binding: share.binding,
    })
}

/// What [`x3dh_initiator_hybrid`] returns. `Debug` shows only the binding.
#[derive(Clone, PartialEq, Eq)]
pub struct HybridSecrets {
    /// `SK`.
    pub sk: [u8; 32],
    /// `(HKa, NHKb)` with header encryption.
    pub header_keys: Option<([u8; 32], [u8; 32])>,
    /// `SHA-256(type || KEM public key || ciphertext)`, the binding in the
    /// HKDF info.
    pub binding: [u8; 32],
}

impl core::fmt::Debug for HybridSecrets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HybridSecrets").field("binding", &self.binding).finish_non_exhaustive()
    }
}
