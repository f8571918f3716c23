//! The chains a session holds: its sending chain, its receiving chain, the
//! header keys of header encryption, and the bounded memory of earlier
//! receiving chains.
//!
//! None of these allocate: the earlier chains live in fixed arrays inside
//! the session, so remembering and forgetting a chain never leaves a copy of
//! its header key in freed heap memory.

use x25519_dalek::StaticSecret;
use zeroize::Zeroize;

use crate::{
    keys::{ChainKey, HeaderKey},
    MAX_PREVIOUS_RATCHET_KEYS,
};

/// `DHs`, `CKs`, `Ns`: the chain this side sends on.
pub(crate) struct SendingChain {
    pub(crate) ratchet: StaticSecret,
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) chain: ChainKey,
    pub(crate) n: u32,
}

/// `DHr`, `CKr`, `Nr`: the chain the peer currently sends on.
pub(crate) struct ReceivingChain {
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) chain: ChainKey,
    pub(crate) n: u32,
}

/// The header keys of a header-encrypted session ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §14).
pub(crate) struct HeaderKeys {
    /// `HKs`: encrypts the headers we send.
    pub(crate) send: HeaderKey,
    /// `NHKs`: becomes `HKs` at our next ratchet step.
    pub(crate) next_send: HeaderKey,
    /// `HKr`: the current receiving chain's header key (with the chain).
    pub(crate) recv: Option<HeaderKey>,
    /// `NHKr`: the header key of the peer's next chain.
    pub(crate) next_recv: HeaderKey,
}

/// The remembered earlier receiving chains, oldest first: their ratchet
/// keys `DHr` and, with header encryption, their header keys `HKr`. At most
/// [`MAX_PREVIOUS_RATCHET_KEYS`]; remembering one more forgets the oldest.
pub(crate) struct PreviousChains {
    ratchet_keys: [[u8; 32]; MAX_PREVIOUS_RATCHET_KEYS],
    /// All zeros in plain mode and in unused slots.
    header_keys: [HeaderKey; MAX_PREVIOUS_RATCHET_KEYS],
    len: usize,
}

impl Default for PreviousChains {
    fn default() -> Self {
        PreviousChains {
            ratchet_keys: [[0u8; 32]; MAX_PREVIOUS_RATCHET_KEYS],
            header_keys: core::array::from_fn(|_| HeaderKey::from_bytes([0u8; 32])),
            len: 0,
        }
    }
}

impl PreviousChains {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The ratchet key of the chain at position `i` (0 = oldest).
    pub(crate) fn ratchet_key(&self, i: usize) -> Option<&[u8; 32]> {
        if i < self.len {
            self.ratchet_keys.get(i)
        } else {
            None
        }
    }

    /// The header key of the chain at position `i` (header encryption).
    pub(crate) fn header_key(&self, i: usize) -> Option<&HeaderKey> {
        if i < self.len {
            self.header_keys.get(i)
        } else {
            None
        }
    }

    pub(crate) fn contains(&self, ratchet_key: &[u8; 32]) -> bool {
        self.ratchet_keys.iter().take(self.len).any(|k| k == ratchet_key)
    }

    /// Remembers a chain; returns the ratchet key of the chain forgotten to
    /// make room, if any. The forgotten header key is zeroed in place.
    pub(crate) fn push(&mut self, ratchet_key: [u8; 32], header_key: Option<&HeaderKey>) -> Option<[u8; 32]> {
        let mut evicted = None;
        if self.len == MAX_PREVIOUS_RATCHET_KEYS {
            evicted = Some(self.ratchet_keys[0]);
            // Wipe the forgotten header key before the rotation moves it.
            self.header_keys[0].zeroize();
            self.ratchet_keys.rotate_left(1);
            self.header_keys.rotate_left(1);
            self.len -= 1;
        }
        if let Some(slot) = self.ratchet_keys.get_mut(self.len) {
            *slot = ratchet_key;
        }
        if let Some(slot) = self.header_keys.get_mut(self.len) {
            match header_key {
                Some(k) => slot.copy_from(k),
                None => slot.zeroize(),
            }
        }
        self.len += 1;
        evicted
    }
}
