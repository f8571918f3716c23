//! The symmetric keys of the Double Ratchet, one type per role.
//!
//! * [`RootKey`]: advanced by every Diffie-Hellman ratchet step
//!   (`KDF_RK`), it yields the next root key and a new chain key.
//! * [`ChainKey`]: advanced once per message (`KDF_CK`), it yields one
//!   [`MessageKey`] per step.
//! * [`MessageKey`]: used for exactly one message; expanded into the
//!   AES-256-GCM key and nonce of that message.
//!
//! All three are 32 bytes, zeroized on drop, and neither `Clone` nor `Debug`
//! can leak them (the `Debug` output never shows key bytes).

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{
    error::Error,
    primitives::{hkdf, hkdf_expand, kdf_ck, kdf_ck_next},
};

/// HKDF info for `KDF_RK`.
pub(crate) const LABEL_ROOT: &[u8] = b"chatcrypt v1 root";
/// HKDF info prefix for the expansion of a message key (followed by the
/// message's reuse guard).
pub(crate) const LABEL_MESSAGE_KEYS: &[u8] = b"chatcrypt v2 message keys";
/// HKDF info for the expansion of a message key of a version-1 message
/// (received only).
pub(crate) const LABEL_MESSAGE_KEYS_V1: &[u8] = b"chatcrypt v1 message keys";
/// Length of a message's reuse guard `G` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §6.3).
pub(crate) const GUARD_LEN: usize = 16;
/// HKDF info for `KDF_RK_HE` (header encryption).
pub(crate) const LABEL_ROOT_HE: &[u8] = b"chatcrypt v1 root header encryption";
/// HKDF info prefix for the per-message header key and nonce.
pub(crate) const LABEL_HEADER: &[u8] = b"chatcrypt v1 header";

macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Zeroize, ZeroizeOnDrop)]
        pub(crate) struct $name([u8; 32]);

        impl $name {
            pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            pub(crate) fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Overwrites this key with a copy of `other`, in place.
            #[allow(dead_code)]
            pub(crate) fn copy_from(&mut self, other: &Self) {
                self.0 = other.0;
            }

            /// Overwrites this key with 32 bytes of `bytes`, in place.
            #[allow(dead_code)]
            pub(crate) fn copy_from_slice(&mut self, bytes: &[u8]) {
                self.0.copy_from_slice(bytes);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<secret>)"))
            }
        }
    };
}

secret_key!(
    /// The root key `RK` of a session.
    RootKey
);
secret_key!(
    /// A sending or receiving chain key `CK`.
    ChainKey
);
secret_key!(
    /// A message key `MK`: encrypts exactly one message.
    MessageKey
);

impl RootKey {
    /// `KDF_RK(rk, dh_out)`: HKDF-SHA256 with salt = `rk`, ikm = `dh_out`,
    /// info = `"chatcrypt v1 root"`, 64 bytes: the new root key, then the new
    /// chain key.
    pub(crate) fn ratchet(&self, dh_out: &[u8; 32]) -> (RootKey, ChainKey) {
        let mut okm = Zeroizing::new([0u8; 64]);
        // 64 bytes is far below HKDF's limit of 255 * 32.
        let _ = hkdf(&self.0, dh_out, LABEL_ROOT, &mut okm[..]);
        let mut rk = RootKey([0u8; 32]);
        let mut ck = ChainKey([0u8; 32]);
        rk.0.copy_from_slice(&okm[..32]);
        ck.0.copy_from_slice(&okm[32..]);
        (rk, ck)
    }

    /// `KDF_RK_HE(rk, dh_out)`: HKDF-SHA256 with salt = `rk`, ikm = `dh_out`,
    /// info = `"chatcrypt v1 root header encryption"`, 96 bytes: the new root
    /// key, the new chain key, the next header key.
    pub(crate) fn ratchet_he(&self, dh_out: &[u8; 32]) -> (RootKey, ChainKey, HeaderKey) {
        let mut okm = Zeroizing::new([0u8; 96]);
        // 96 bytes is far below HKDF's limit of 255 * 32.
        let _ = hkdf(&self.0, dh_out, LABEL_ROOT_HE, &mut okm[..]);
        let mut rk = RootKey([0u8; 32]);
        let mut ck = ChainKey([0u8; 32]);
        let mut hk = HeaderKey([0u8; 32]);
        rk.0.copy_from_slice(&okm[..32]);
        ck.0.copy_from_slice(&okm[32..64]);
        hk.0.copy_from_slice(&okm[64..]);
        (rk, ck, hk)
    }

    /// One root step in the session's mode: `KDF_RK` without header
    /// encryption, `KDF_RK_HE` (with its next header key) with it.
    pub(crate) fn step(
        &self,
        dh_out: &[u8; 32],
        header_encryption: bool,
    ) -> (RootKey, ChainKey, Option<HeaderKey>) {
        if header_encryption {
            let (rk, ck, hk) = self.ratchet_he(dh_out);
            (rk, ck, Some(hk))
        } else {
            let (rk, ck) = self.ratchet(dh_out);
            (rk, ck, None)
        }
    }
}

secret_key!(
    /// A header key (`HKs`, `NHKs`, `HKr`, `NHKr`): encrypts the headers of
    /// one chain, through a per-message key and nonce.
    HeaderKey
);

impl HeaderKey {
    /// `HEADER_KEYS(hk, sample)`: HKDF-SHA256-Expand(PRK = hk, info =
    /// `"chatcrypt v1 header" || sample`, 44): the AES-256 key and the GCM
    /// nonce for one message's header.
    pub(crate) fn expand(&self, sample: &[u8; 16]) -> Result<MessageSecrets, Error> {
        let mut info = [0u8; 19 + 16];
        info[..19].copy_from_slice(LABEL_HEADER);
        info[19..].copy_from_slice(sample);
        MessageSecrets::expand(&self.0, &info)
    }
}

impl ChainKey {
    /// `KDF_CK`: returns the message key `HMAC(ck, 0x01)` and replaces the
    /// chain key by `HMAC(ck, 0x02)` (the old chain key is overwritten).
    pub(crate) fn step(&mut self) -> MessageKey {
        let mut mk = MessageKey([0u8; 32]);
        let current = Zeroizing::new(self.0);
        kdf_ck(&current, &mut mk.0, &mut self.0);
        mk
    }

    /// The message key and the chain key after this one, leaving `self`
    /// untouched.
    pub(crate) fn peek(&self) -> (MessageKey, ChainKey) {
        let mut mk = MessageKey([0u8; 32]);
        let mut next = ChainKey([0u8; 32]);
        kdf_ck(&self.0, &mut mk.0, &mut next.0);
        (mk, next)
    }

    /// One `KDF_CK` step without its message key: the chain key becomes
    /// `HMAC(ck, 0x02)`. For walking past keys that are not needed.
    pub(crate) fn advance(&mut self) {
        let current = Zeroizing::new(self.0);
        kdf_ck_next(&current, &mut self.0);
    }

    /// A copy of this chain key, for deriving ahead without touching the
    /// original (zeroized on drop like every key).
    pub(crate) fn duplicate(&self) -> ChainKey {
        ChainKey(self.0)
    }
}

/// The AES-256-GCM key and nonce of one message (or one encrypted header).
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct MessageSecrets {
    pub(crate) key: [u8; 32],
    pub(crate) nonce: [u8; 12],
}

impl MessageSecrets {
    /// HKDF-SHA256-Expand(PRK = `prk`, `info`, 44): key (32) || nonce (12).
    fn expand(prk: &[u8; 32], info: &[u8]) -> Result<Self, Error> {
        let mut okm = Zeroizing::new([0u8; 44]);
        hkdf_expand(prk, info, &mut okm[..])?;
        let mut s = MessageSecrets { key: [0u8; 32], nonce: [0u8; 12] };
        s.key.copy_from_slice(&okm[..32]);
        s.nonce.copy_from_slice(&okm[32..]);
        Ok(s)
    }
}

impl MessageKey {
    /// `MESSAGE_KEYS(mk, G)`: HKDF-SHA256-Expand(PRK = mk, info =
    /// `"chatcrypt v2 message keys" || G`, 44): the AES-256 key (32 bytes)
    /// then the GCM nonce (12 bytes). The fresh random guard `G` makes two
    /// encryptions under one message key (a sender restored from an older
    /// snapshot) use unrelated keys and nonces.
    pub(crate) fn expand(&self, guard: &[u8; GUARD_LEN]) -> Result<MessageSecrets, Error> {
        let mut info = [0u8; 25 + GUARD_LEN];
        info[..25].copy_from_slice(LABEL_MESSAGE_KEYS);
        info[25..].copy_from_slice(guard);
        MessageSecrets::expand(&self.0, &info)
    }

    /// Version 1's `MESSAGE_KEYS(mk)`, for receiving messages sent before
    /// the reuse guard: info = `"chatcrypt v1 message keys"`.
    pub(crate) fn expand_v1(&self) -> Result<MessageSecrets, Error> {
        MessageSecrets::expand(&self.0, LABEL_MESSAGE_KEYS_V1)
    }
}
