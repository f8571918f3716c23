//! The X3DH key agreement ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §5).
//!
//! Both sides compute the same 32-byte shared secret `SK` and the 64-byte
//! associated data `AD = IK_A || IK_B` (Ed25519 encodings, initiator first):
//!
//! ```text
//! DH1 = X25519(IK_A, SPK_B)   DH2 = X25519(EK_A, IK_B)
//! DH3 = X25519(EK_A, SPK_B)   DH4 = X25519(EK_A, OPK_B)   (if a one-time prekey is used)
//! SK  = HKDF-SHA256(salt = 32 zero bytes,
//!                   ikm  = 0xFF * 32 || DH1 || DH2 || DH3 [|| DH4],
//!                   info = "chatcrypt v1 X3DH", L = 32)
//! ```
//!
//! The hybrid handshake (SPEC.md §16) adds a KEM shared secret `SS` after
//! the DH outputs, and names the KEM and binds its public key and
//! ciphertext in the HKDF info:
//!
//! ```text
//! SK = HKDF-SHA256(salt = 32 zero bytes,
//!                  ikm  = 0xFF * 32 || DH1 || DH2 || DH3 [|| DH4] || SS,
//!                  info = "chatcrypt v3 hybrid X3DH ML-KEM-1024"
//!                         || SHA-256(type || KEM public key || KEM ciphertext), L = 32)
//! ```
//!
//! Every DH output must be contributory (not all zeros), or the handshake
//! fails with [`Error::NonContributory`].

use alloc::vec::Vec;

use sha2::{Digest, Sha256};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::{
    identity::{IdentityKey, IdentityKeyPair},
    kem::{KemType, SharedSecret},
    keys::HeaderKey,
    message::Mode,
    primitives::{hkdf, x25519},
    Error,
};

/// HKDF info for the X3DH shared secret.
pub(crate) const LABEL_X3DH: &[u8] = b"chatcrypt v1 X3DH";
/// HKDF info for the X3DH output with header encryption: `SK || HKa || NHKb`.
pub(crate) const LABEL_X3DH_HE: &[u8] = b"chatcrypt v1 X3DH header encryption";

/// The start of the hybrid handshake's HKDF info; the KEM's name follows.
pub(crate) const LABEL_HYBRID: &[u8] = b"chatcrypt v3 hybrid X3DH ";
/// Appended to the hybrid label (after the KEM's name) with header encryption.
pub(crate) const LABEL_HYBRID_HE_SUFFIX: &[u8] = b" header encryption";

/// The KEM's contribution to the hybrid handshake: its shared secret, and
/// the binding `SHA-256(type || public key || ciphertext)` that goes into
/// the HKDF info.
pub(crate) struct KemShare {
    pub(crate) kind: KemType,
    pub(crate) secret: SharedSecret,
    pub(crate) binding: [u8; 32],
}

impl KemShare {
    pub(crate) fn new(kind: KemType, secret: SharedSecret, public_key: &[u8], ciphertext: &[u8]) -> Self {
        let binding = Sha256::new()
            .chain_update([kind.to_byte()])
            .chain_update(public_key)
            .chain_update(ciphertext)
            .finalize()
            .into();
        KemShare { kind, secret, binding }
    }
}

/// The HKDF info of a handshake: the classical label, or the hybrid label
/// with the KEM's name, the mode suffix and the binding.
fn info(mode: Mode, kem: Option<&KemShare>) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    match kem {
        None => out.extend_from_slice(match mode {
            Mode::Plain => LABEL_X3DH,
            Mode::HeaderEncryption => LABEL_X3DH_HE,
        }),
        Some(k) => {
            out.extend_from_slice(LABEL_HYBRID);
            out.extend_from_slice(k.kind.label_name());
            if mode == Mode::HeaderEncryption {
                out.extend_from_slice(LABEL_HYBRID_HE_SUFFIX);
            }
            out.extend_from_slice(&k.binding);
        }
    }
    out
}

/// The handshake's output: `SK`, and with header encryption the initial
/// header keys ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §14.2).
pub(crate) struct Secrets {
    pub(crate) sk: Zeroizing<[u8; 32]>,
    pub(crate) header_keys: Option<(HeaderKey, HeaderKey)>,
}

/// Length of the associated data.
pub(crate) const AD_LEN: usize = 64;

/// `AD = IK_A || IK_B`.
pub(crate) fn associated_data(initiator: &IdentityKey, responder: &IdentityKey) -> [u8; AD_LEN] {
    let mut ad = [0u8; AD_LEN];
    ad[..32].copy_from_slice(initiator.as_bytes());
    ad[32..].copy_from_slice(responder.as_bytes());
    ad
}

/// `SK` (and the header keys) from the DH outputs in order and, in the
/// hybrid handshake, the KEM's share.
fn shared_secret(mode: Mode, dhs: &[&[u8; 32]], kem: Option<&KemShare>) -> Secrets {
    let mut ikm = Zeroizing::new([0u8; 32 * 6]);
    ikm[..32].fill(0xFF);
    for (i, dh) in dhs.iter().enumerate() {
        ikm[32 * (i + 1)..32 * (i + 2)].copy_from_slice(&dh[..]);
    }
    let mut len = 32 * (dhs.len() + 1);
    if let Some(k) = kem {
        ikm[len..len + 32].copy_from_slice(&k.secret[..]);
        len += 32;
    }
    let ikm = &ikm[..len];
    let info = info(mode, kem);
    let mut sk = Zeroizing::new([0u8; 32]);
    match mode {
        Mode::Plain => {
            // 32 bytes is far below HKDF's output limit.
            let _ = hkdf(&[0u8; 32], ikm, &info, &mut sk[..]);
            Secrets { sk, header_keys: None }
        }
        Mode::HeaderEncryption => {
            let mut okm = Zeroizing::new([0u8; 96]);
            let _ = hkdf(&[0u8; 32], ikm, &info, &mut okm[..]);
            sk.copy_from_slice(&okm[..32]);
            // Written straight into the zeroizing key types: no stack copy.
            let mut hka = HeaderKey::from_bytes([0u8; 32]);
            let mut nhkb = HeaderKey::from_bytes([0u8; 32]);
            hka.copy_from_slice(&okm[32..64]);
            nhkb.copy_from_slice(&okm[64..]);
            Secrets { sk, header_keys: Some((hka, nhkb)) }
        }
    }
}

/// The initiator's side: `ik_a`, the ephemeral `ek_a`, the responder's keys
/// (`ik_b_x`: the X25519 form of the responder's identity key, computed from
/// the point whose bundle signature was verified).
pub(crate) fn initiator(
    mode: Mode,
    ik_a: &IdentityKeyPair,
    ek_a: &StaticSecret,
    ik_b_x: &[u8; 32],
    spk_b: &[u8; 32],
    opk_b: Option<&[u8; 32]>,
    kem: Option<&KemShare>,
) -> Result<Secrets, Error> {
    let dh1 = x25519(ik_a.dh_secret(), spk_b)?;
    let dh2 = x25519(ek_a, ik_b_x)?;
    let dh3 = x25519(ek_a, spk_b)?;
    match opk_b {
        Some(opk) => {
            let dh4 = x25519(ek_a, opk)?;
            Ok(shared_secret(mode, &[&dh1, &dh2, &dh3, &dh4], kem))
        }
        None => Ok(shared_secret(mode, &[&dh1, &dh2, &dh3], kem)),
    }
}

/// The responder's side: its identity and prekey secrets, the initiator's
/// identity key and ephemeral (base) key.
pub(crate) fn responder(
    mode: Mode,
    ik_b: &IdentityKeyPair,
    spk_b: &StaticSecret,
    opk_b: Option<&StaticSecret>,
    ik_a: &IdentityKey,
    ek_a: &[u8; 32],
    kem: Option<&KemShare>,
) -> Result<Secrets, Error> {
    let dh1 = x25519(spk_b, ik_a.x25519_bytes())?;
    let dh2 = x25519(ik_b.dh_secret(), ek_a)?;
    let dh3 = x25519(spk_b, ek_a)?;
    match opk_b {
        Some(opk) => {
            let dh4 = x25519(opk, ek_a)?;
            Ok(shared_secret(mode, &[&dh1, &dh2, &dh3, &dh4], kem))
        }
        None => Ok(shared_secret(mode, &[&dh1, &dh2, &dh3], kem)),
    }
}
