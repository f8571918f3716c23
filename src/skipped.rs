//! The bounded store of skipped message keys.
//!
//! When messages arrive out of order, the keys of the ones not yet seen are
//! kept here, indexed by (ratchet key, message number), until their message
//! arrives. At most [`MAX_SKIPPED_KEYS`](crate::MAX_SKIPPED_KEYS) are kept per
//! session; inserting beyond that evicts the oldest (a message whose key was
//! evicted can no longer be decrypted and is reported as
//! [`Error::Duplicate`](crate::Error::Duplicate)).

use alloc::collections::VecDeque;

use crate::{keys::MessageKey, MAX_SKIPPED_KEYS};

/// One stored key.
pub(crate) struct SkippedKey {
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) n: u32,
    pub(crate) key: MessageKey,
}

/// Oldest first.
#[derive(Default)]
pub(crate) struct SkippedKeys {
    keys: VecDeque<SkippedKey>,
}

impl SkippedKeys {
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &SkippedKey> {
        self.keys.iter()
    }

    /// Position of the key for `(ratchet_key, n)`.
    pub(crate) fn find(&self, ratchet_key: &[u8; 32], n: u32) -> Option<usize> {
        self.keys.iter().position(|k| k.n == n && &k.ratchet_key == ratchet_key)
    }

    pub(crate) fn get(&self, index: usize) -> Option<&SkippedKey> {
        self.keys.get(index)
    }

    pub(crate) fn remove(&mut self, index: usize) {
        self.keys.remove(index);
    }

    /// Removes every key of the chain with this ratchet key.
    pub(crate) fn remove_chain(&mut self, ratchet_key: &[u8; 32]) {
        self.keys.retain(|k| &k.ratchet_key != ratchet_key);
    }

    /// Appends, evicting the oldest entries beyond the bound.
    pub(crate) fn push(&mut self, key: SkippedKey) {
        while self.keys.len() >= MAX_SKIPPED_KEYS {
            self.keys.pop_front();
        }
        self.keys.push_back(key);
    }
}
