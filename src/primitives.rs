//! Thin wrappers over the primitive crates, used by every other module.
//!
//! This is the only place that calls x25519-dalek, ed25519-dalek, hkdf, hmac
//! and aes-gcm, so the vector tests that run published RFC and Wycheproof
//! cases through these functions check exactly the code paths the protocol
//! uses. The wrappers add the protocol's rules on top of the raw primitives:
//! X25519 outputs must be contributory, Ed25519 keys and signatures are
//! checked strictly.

use aes_gcm::{aead::inout::InOutBuf, AeadInOut, Aes256Gcm, KeyInit};
use ed25519_dalek::{Signature, VerifyingKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use x25519_dalek::{PublicKey as XPublic, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{DecodeError, Error};

/// Length of an AES-256-GCM tag.
pub(crate) const TAG_LEN: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// X25519 with the contributory check: an all-zero shared secret (the peer's
/// key has low order) is [`Error::NonContributory`].
pub(crate) fn x25519(secret: &StaticSecret, public: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, Error> {
    // `SharedSecret` zeroizes itself on drop; the copy lives in a
    // zeroizing buffer.
    let shared = secret.diffie_hellman(&XPublic::from(*public));
    if !shared.was_contributory() {
        return Err(Error::NonContributory);
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(shared.as_bytes());
    Ok(out)
}

/// Checks that `bytes` is the canonical encoding of an X25519 public key
/// ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §2): bit 255 clear and the little-endian value below
/// p = 2^255 - 19. RFC 7748 decoders would silently reduce other encodings,
/// so two encodings would name one key; the protocol accepts exactly one.
pub(crate) fn x25519_canonical(bytes: &[u8; 32]) -> Result<(), DecodeError> {
    if bytes[31] & 0x80 != 0 {
        return Err(DecodeError::InvalidPublicKey);
    }
    // value >= p iff bytes[31] = 0x7f, bytes[1..31] = 0xff, bytes[0] >= 0xed.
    if bytes[31] == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[0] >= 0xed {
        return Err(DecodeError::InvalidPublicKey);
    }
    Ok(())
}

/// The X25519 public key of a private key (RFC 7748 clamping applies).
pub(crate) fn x25519_public(secret: &StaticSecret) -> [u8; 32] {
    XPublic::from(secret).to_bytes()
}

/// Parses an Ed25519 public key strictly: the encoding must be canonical and
/// the point must not have small order.
pub(crate) fn ed25519_public(bytes: &[u8; 32]) -> Result<VerifyingKey, DecodeError> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| DecodeError::InvalidPublicKey)?;
    // `as_bytes` returns the input; re-encode the point to detect a
    // non-canonical y coordinate (y >= p).
    if key.is_weak() || key.to_edwards().compress().as_bytes() != bytes {
        return Err(DecodeError::InvalidPublicKey);
    }
    Ok(key)
}

/// Strict Ed25519 verification (RFC 8032 §5.1.7 with canonical `S`, no small
/// order `R` or public key).
pub(crate) fn ed25519_verify(key: &VerifyingKey, msg: &[u8], sig: &[u8; 64]) -> Result<(), Error> {
    let sig = Signature::from_bytes(sig);
    key.verify_strict(msg, &sig).map_err(|_| Error::BadSignature)
}

/// Equality of two byte strings in time independent of their contents (their
/// lengths are public): for tags, digests, keys and encodings.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

/// HMAC-SHA256 keyed with `key` (any length), ready for input.
fn hmac_keyed(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    }
}

/// HMAC-SHA256 of `data` under `key`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    hmac_keyed(key).chain_update(data).finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> ! {
    // `Hmac::new_from_slice` only fails for fixed-key-size MACs.
    unreachable!("HMAC accepts keys of every length")
}

/// The symmetric-key ratchet step: `(HMAC(ck, 0x01), HMAC(ck, 0x02))`, the
/// message key and the next chain key. The keyed HMAC state is computed once
/// and used for both outputs.
/// The outputs are written into the caller's (zeroizing) key storage, and
/// the hash outputs on the stack are wiped.
pub(crate) fn kdf_ck(ck: &[u8; 32], mk: &mut [u8; 32], next: &mut [u8; 32]) {
    let mac = hmac_keyed(ck);
    let mut t = mac.clone().chain_update([0x01]).finalize().into_bytes();
    mk.copy_from_slice(&t);
    t.as_mut_slice().zeroize();
    let mut t = mac.chain_update([0x02]).finalize().into_bytes();
    next.copy_from_slice(&t);
    t.as_mut_slice().zeroize();
}

/// The chain half of [`kdf_ck`] alone: `HMAC(ck, 0x02)`, for walking a
/// chain past keys that are not needed (two of the six SHA-256
/// compressions of a full step are saved).
pub(crate) fn kdf_ck_next(ck: &[u8; 32], next: &mut [u8; 32]) {
    let mut t = hmac_keyed(ck).chain_update([0x02]).finalize().into_bytes();
    next.copy_from_slice(&t);
    t.as_mut_slice().zeroize();
}

/// HKDF-SHA256 (extract and expand) into `out`.
pub(crate) fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), Error> {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| Error::TooLarge { len: out.len(), max: 255 * 32 })
}

/// HKDF-SHA256-Expand only, with `prk` used directly as the pseudorandom key.
pub(crate) fn hkdf_expand(prk: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), Error> {
    let h = Hkdf::<Sha256>::from_prk(prk).map_err(|_| Error::Decode(DecodeError::InvalidValue))?;
    h.expand(info, out).map_err(|_| Error::TooLarge { len: out.len(), max: 255 * 32 })
}

/// AES-256-GCM encryption of `buf` in place; returns the tag.
pub(crate) fn aead_seal(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], Error> {
    let buf_len = buf.len();
    #[cfg(all(test, feature = "std"))]
    crate::crash_model::record_seal(key, nonce, ad, buf);
    let cipher = Aes256Gcm::new(key.into());
    let tag = cipher
        .encrypt_inout_detached(nonce.into(), ad, InOutBuf::from(buf))
        .map_err(|_| Error::TooLarge { len: buf_len, max: crate::MAX_PLAINTEXT_LEN })?;
    Ok(tag.into())
}

/// AES-256-GCM decryption of `buf` in place against `tag`. On failure `buf`
/// is zeroed and [`Error::Auth`] is returned.
pub(crate) fn aead_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), Error> {
    let cipher = Aes256Gcm::new(key.into());
    cipher.decrypt_inout_detached(nonce.into(), ad, InOutBuf::from(&mut *buf), tag.into()).map_err(|_| {
        buf.zeroize();
        Error::Auth
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y = p + 3 with each sign bit: a non-canonical encoding of the point
    /// whose canonical encoding is 03 00 .. 00. Both must not be accepted as
    /// two different identity keys.
    #[test]
    fn non_canonical_ed25519_public_keys_are_rejected() {
        let mut y = [0xffu8; 32];
        y[0] = 0xf0;
        y[31] = 0x7f;
        assert_eq!(ed25519_public(&y).err(), Some(DecodeError::InvalidPublicKey));
        y[31] = 0xff;
        assert_eq!(ed25519_public(&y).err(), Some(DecodeError::InvalidPublicKey));
        let mut canonical = [0u8; 32];
        canonical[0] = 3;
        assert!(ed25519_public(&canonical).is_ok());
    }

    /// HKDF-Expand's output limit is 255 hash lengths (RFC 5869 §2.3); both
    /// wrappers report the same limit, and the largest output succeeds.
    #[test]
    fn hkdf_output_limit_is_255_blocks() {
        let mut ok = [0u8; 255 * 32];
        let mut too_long = [0u8; 255 * 32 + 1];
        let expected = Err(Error::TooLarge { len: 8161, max: 8160 });
        assert_eq!(hkdf_expand(&[7u8; 32], b"info", &mut too_long), expected);
        assert_eq!(hkdf(&[1u8; 32], &[7u8; 32], b"info", &mut too_long), expected);
        assert_eq!(hkdf_expand(&[7u8; 32], b"info", &mut ok), Ok(()));
        assert_eq!(hkdf(&[1u8; 32], &[7u8; 32], b"info", &mut ok), Ok(()));
    }
}
