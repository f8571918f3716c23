//! The bounded store of skipped message keys ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §6.4).
//!
//! When messages arrive out of order, the keys of the ones not yet seen are
//! kept here, indexed by (ratchet key, message number), until their message
//! arrives. At most [`MAX_SKIPPED_KEYS`](crate::MAX_SKIPPED_KEYS) are kept per
//! session; inserting beyond that evicts the oldest (a message whose key was
//! evicted can no longer be decrypted and is reported as
//! [`Error::Duplicate`](crate::Error::Duplicate)).
//!
//! # No key outlives its use in memory
//!
//! The store is a ring of slots in one heap buffer. A used or evicted key's
//! slot is overwritten with zeros at once; removing from the middle swaps
//! the removed entry, slot by slot, to the end of its shorter side and zeroes
//! it there, so no copy of a removed key stays behind. The buffer grows by
//! doubling up to the bound; every growth step swaps the entries into the
//! new buffer (leaving zeroed slots behind) and zeroes the old one before it
//! is freed. Dropping the store zeroes the whole buffer.

use alloc::vec::Vec;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{keys::MessageKey, MAX_SKIPPED_KEYS};

/// One stored key.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SkippedKey {
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) n: u32,
    pub(crate) key: MessageKey,
}

impl SkippedKey {
    fn empty() -> Self {
        SkippedKey { ratchet_key: [0u8; 32], n: 0, key: MessageKey::from_bytes([0u8; 32]) }
    }
}

/// The smallest buffer the store allocates.
const MIN_CAPACITY: usize = 16;

/// Oldest first, in a ring of `slots` starting at `head`.
#[derive(Default)]
pub(crate) struct SkippedKeys {
    /// Every slot is initialised; the free ones hold zeros.
    slots: Vec<SkippedKey>,
    head: usize,
    len: usize,
}

impl Drop for SkippedKeys {
    fn drop(&mut self) {
        // Each slot zeroizes itself on drop, and `Vec::zeroize` also wipes
        // the spare capacity before the buffer is freed.
        self.slots.zeroize();
    }
}

impl SkippedKeys {
    /// A store with room for `capacity` keys allocated at once (used when
    /// decoding, where the count is known).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut slots = Vec::new();
        slots.resize_with(capacity.min(MAX_SKIPPED_KEYS), SkippedKey::empty);
        SkippedKeys { slots, head: 0, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The physical slot of logical position `i` (0 = oldest).
    fn slot(&self, i: usize) -> usize {
        let cap = self.slots.len();
        let p = self.head + i;
        if p >= cap {
            p - cap
        } else {
            p
        }
    }

    /// The entries, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &SkippedKey> {
        (0..self.len).filter_map(move |i| self.slots.get(self.slot(i)))
    }

    /// Logical position of the key for `(ratchet_key, n)`.
    pub(crate) fn find(&self, ratchet_key: &[u8; 32], n: u32) -> Option<usize> {
        self.iter().position(|k| k.n == n && &k.ratchet_key == ratchet_key)
    }

    pub(crate) fn get(&self, index: usize) -> Option<&SkippedKey> {
        if index >= self.len {
            return None;
        }
        self.slots.get(self.slot(index))
    }

    /// Removes the entry at logical position `index`: it is swapped to the
    /// end of its shorter side (the entries there move over by one slot)
    /// and zeroed, so at most `len / 2` entries move.
    pub(crate) fn remove(&mut self, index: usize) {
        if index >= self.len {
            return;
        }
        if index < self.len / 2 {
            for i in (0..index).rev() {
                let (a, b) = (self.slot(i + 1), self.slot(i));
                self.slots.swap(a, b);
            }
            self.pop_oldest();
        } else {
            for i in index..self.len - 1 {
                let (a, b) = (self.slot(i), self.slot(i + 1));
                self.slots.swap(a, b);
            }
            let last = self.slot(self.len - 1);
            if let Some(s) = self.slots.get_mut(last) {
                s.zeroize();
            }
            self.len -= 1;
        }
    }

    /// Removes every key of the chain with this ratchet key, keeping the
    /// order of the others; the freed slots are zeroed.
    pub(crate) fn remove_chain(&mut self, ratchet_key: &[u8; 32]) {
        let mut kept = 0;
        for i in 0..self.len {
            let s = self.slot(i);
            let keep = self.slots.get(s).is_some_and(|k| &k.ratchet_key != ratchet_key);
            if keep {
                let to = self.slot(kept);
                self.slots.swap(to, s);
                kept += 1;
            }
        }
        for i in kept..self.len {
            let s = self.slot(i);
            if let Some(k) = self.slots.get_mut(s) {
                k.zeroize();
            }
        }
        self.len = kept;
    }

    /// Evicts the oldest entry, zeroing its slot.
    fn pop_oldest(&mut self) {
        if self.len == 0 {
            return;
        }
        if let Some(k) = self.slots.get_mut(self.head) {
            k.zeroize();
        }
        self.head = self.slot(1);
        self.len -= 1;
    }

    /// Makes room for one more entry: doubles the buffer (up to the bound),
    /// moving the entries into the new buffer and zeroing the old one.
    fn grow(&mut self) {
        let cap = self.slots.len();
        let new_cap = (cap * 2).clamp(MIN_CAPACITY, MAX_SKIPPED_KEYS);
        let mut slots = Vec::with_capacity(new_cap);
        slots.resize_with(new_cap, SkippedKey::empty);
        for (i, to) in slots.iter_mut().enumerate().take(self.len) {
            let from = self.slot(i);
            if let Some(from) = self.slots.get_mut(from) {
                core::mem::swap(to, from);
            }
        }
        let mut old = core::mem::replace(&mut self.slots, slots);
        old.zeroize();
        self.head = 0;
    }

    /// Appends, evicting the oldest entry when the store is at its bound.
    /// The entry is written into its slot in place.
    pub(crate) fn push(&mut self, ratchet_key: &[u8; 32], n: u32, key: &MessageKey) {
        if self.len >= MAX_SKIPPED_KEYS {
            self.pop_oldest();
        }
        if self.len == self.slots.len() {
            self.grow();
        }
        let s = self.slot(self.len);
        if let Some(slot) = self.slots.get_mut(s) {
            slot.ratchet_key = *ratchet_key;
            slot.n = n;
            slot.key.copy_from(key);
            self.len += 1;
        }
    }

    /// How many slots the buffer holds now (each one entry), for the memory
    /// figures in the documentation and tests.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> MessageKey {
        MessageKey::from_bytes([b; 32])
    }

    fn contents(s: &SkippedKeys) -> Vec<(u8, u32)> {
        s.iter().map(|k| (k.ratchet_key[0], k.n)).collect()
    }

    #[test]
    fn keeps_order_through_growth_removal_and_eviction() {
        let mut s = SkippedKeys::default();
        for n in 0..40u32 {
            s.push(&[1; 32], n, &key(n as u8));
        }
        assert_eq!(s.capacity(), 64);
        s.remove(0);
        s.remove(10);
        assert_eq!(s.len(), 38);
        let got = contents(&s);
        assert_eq!(got[0], (1, 1));
        assert_eq!(got[10], (1, 12));
        assert_eq!(s.find(&[1; 32], 11), None);
        assert_eq!(s.get(s.find(&[1; 32], 12).unwrap()).unwrap().key.as_bytes(), &[12; 32]);
    }

    #[test]
    fn evicts_the_oldest_at_the_bound_and_wraps() {
        let mut s = SkippedKeys::default();
        for n in 0..(MAX_SKIPPED_KEYS as u32 + 5) {
            s.push(&[2; 32], n, &key(n as u8));
        }
        assert_eq!(s.len(), MAX_SKIPPED_KEYS);
        assert_eq!(s.capacity(), MAX_SKIPPED_KEYS);
        let got = contents(&s);
        assert_eq!(got.first(), Some(&(2, 5)));
        assert_eq!(got.last(), Some(&(2, MAX_SKIPPED_KEYS as u32 + 4)));
        // Removal across the wrap point keeps the order.
        s.remove(MAX_SKIPPED_KEYS - 3);
        let got = contents(&s);
        assert_eq!(got.len(), MAX_SKIPPED_KEYS - 1);
        assert!(got.windows(2).all(|w| w[0].1 < w[1].1));
        assert_eq!(s.find(&[2; 32], MAX_SKIPPED_KEYS as u32 + 2), None);
    }

    #[test]
    fn removed_chains_leave_zeroed_slots() {
        let mut s = SkippedKeys::default();
        for n in 0..10u32 {
            s.push(&[if n % 2 == 0 { 3 } else { 4 }; 32], n, &key(0xAA));
        }
        s.remove_chain(&[3; 32]);
        assert_eq!(contents(&s), (0..10).filter(|n| n % 2 == 1).map(|n| (4, n)).collect::<Vec<_>>());
        // Every slot beyond the live entries is zero.
        let live = s.len();
        for (i, slot) in s.slots.iter().enumerate() {
            let logical = (i + s.slots.len() - s.head) % s.slots.len();
            if logical >= live {
                assert_eq!(slot.key.as_bytes(), &[0; 32]);
                assert_eq!(slot.ratchet_key, [0; 32]);
            }
        }
    }
}
