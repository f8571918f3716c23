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
//! slot is overwritten with zeros at once; removing from the middle copies
//! the entries of its shorter side over it, slot by slot, and zeroes the slot
//! left free, so no copy of a removed key stays behind (not even in a swap
//! temporary on the stack). The buffer grows by
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

    /// Overwrites `self` with a copy of `other`.
    fn copy_from(&mut self, other: &SkippedKey) {
        self.ratchet_key = other.ratchet_key;
        self.n = other.n;
        self.key.copy_from(&other.key);
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

    /// Removes the entry at logical position `index`: the entries on its
    /// shorter side are copied over by one slot and the slot left free is
    /// zeroed, so at most `len / 2` entries move. Copies, not swaps: a swap
    /// would carry the removed key through a stack temporary.
    pub(crate) fn remove(&mut self, index: usize) {
        if index >= self.len {
            return;
        }
        if index < self.len / 2 {
            for i in (0..index).rev() {
                let (to, from) = (self.slot(i + 1), self.slot(i));
                self.copy_slot(to, from);
            }
            self.pop_oldest();
        } else {
            for i in index..self.len - 1 {
                let (to, from) = (self.slot(i), self.slot(i + 1));
                self.copy_slot(to, from);
            }
            let last = self.slot(self.len - 1);
            if let Some(s) = self.slots.get_mut(last) {
                s.zeroize();
            }
            self.len -= 1;
        }
    }

    /// Copies slot `from` over slot `to` (two distinct slots).
    fn copy_slot(&mut self, to: usize, from: usize) {
        if to == from {
            return;
        }
        let (a, b) = if to < from {
            let (lo, hi) = self.slots.split_at_mut(from);
            (lo.get_mut(to), hi.first())
        } else {
            let (lo, hi) = self.slots.split_at_mut(to);
            (hi.first_mut(), lo.get(from))
        };
        if let (Some(a), Some(b)) = (a, b) {
            a.copy_from(b);
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
                self.copy_slot(to, s);
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

#[cfg(test)]
mod ring_model {
    #![allow(clippy::unwrap_used, clippy::panic)]
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashSet, VecDeque};

    #[derive(Clone, Debug)]
    enum Op {
        Push(u8),
        PushMany(u8, u16),
        Remove(usize),
        RemoveLow(usize),
        RemoveHigh(usize),
        RemoveChain(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..4).prop_map(Op::Push),
            1 => (0u8..4, 0u16..2200).prop_map(|(r, c)| Op::PushMany(r, c)),
            2 => (0usize..2100).prop_map(Op::Remove),
            2 => any::<usize>().prop_map(Op::RemoveLow),
            2 => any::<usize>().prop_map(Op::RemoveHigh),
            1 => (0u8..5).prop_map(Op::RemoveChain),
        ]
    }

    fn key_of(c: u64) -> MessageKey {
        let mut k = [0xA5u8; 32];
        k[..8].copy_from_slice(&c.to_le_bytes());
        MessageKey::from_bytes(k)
    }
    fn counter_of(k: &[u8; 32]) -> Option<u64> {
        if k[8..] != [0xA5u8; 24] {
            return None;
        }
        Some(u64::from_le_bytes(k[..8].try_into().unwrap()))
    }

    type Entry = ([u8; 32], u32, u64);

    fn check(s: &SkippedKeys, m: &VecDeque<Entry>, removed: &HashSet<u64>) {
        let cap = s.slots.len();
        assert_eq!(s.len, m.len());
        assert!(s.len <= cap && cap <= MAX_SKIPPED_KEYS, "len {} cap {}", s.len, cap);
        assert!(cap == 0 || s.head < cap);
        let got: Vec<Entry> =
            s.iter().map(|k| (k.ratchet_key, k.n, counter_of(k.key.as_bytes()).unwrap())).collect();
        let want: Vec<Entry> = m.iter().cloned().collect();
        assert_eq!(got, want);
        for (i, slot) in s.slots.iter().enumerate() {
            let logical = (i + cap - s.head) % cap;
            if logical >= s.len {
                assert_eq!(slot.key.as_bytes(), &[0; 32], "slot {i} not zero");
                assert_eq!(slot.ratchet_key, [0; 32]);
                assert_eq!(slot.n, 0);
            }
            if let Some(c) = counter_of(slot.key.as_bytes()) {
                assert!(!removed.contains(&c), "removed key {c} still in slot {i}");
            }
        }
    }

    fn do_remove(s: &mut SkippedKeys, m: &mut VecDeque<Entry>, removed: &mut HashSet<u64>, i: usize) {
        s.remove(i);
        if i < m.len() {
            let e = m.remove(i).unwrap();
            removed.insert(e.2);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
        #[test]
        fn ring_matches_vecdeque(ops in proptest::collection::vec(op(), 1..60), initial in 0usize..40) {
            let mut s = SkippedKeys::with_capacity(initial);
            let mut m: VecDeque<Entry> = VecDeque::new();
            let mut removed = HashSet::new();
            let mut ctr = 0u64;
            let mut n = 0u32;
            let mut push = |s: &mut SkippedKeys, m: &mut VecDeque<Entry>, removed: &mut HashSet<u64>, r: u8| {
                let rk = [r + 1; 32];
                ctr += 1;
                n += 1;
                s.push(&rk, n, &key_of(ctr));
                if m.len() == MAX_SKIPPED_KEYS {
                    let e = m.pop_front().unwrap();
                    removed.insert(e.2);
                }
                m.push_back((rk, n, ctr));
            };
            for o in ops {
                match o {
                    Op::Push(r) => push(&mut s, &mut m, &mut removed, r),
                    Op::PushMany(r, c) => for _ in 0..c { push(&mut s, &mut m, &mut removed, r) },
                    Op::Remove(i) => do_remove(&mut s, &mut m, &mut removed, i),
                    Op::RemoveLow(x) => { let l = m.len(); let i = if l < 2 { x % 3 } else { x % (l / 2) }; do_remove(&mut s, &mut m, &mut removed, i) }
                    Op::RemoveHigh(x) => { let l = m.len(); let i = if l == 0 { x % 3 } else { l / 2 + x % (l - l / 2) }; do_remove(&mut s, &mut m, &mut removed, i) }
                    Op::RemoveChain(r) => {
                        let rk = [r + 1; 32];
                        s.remove_chain(&rk);
                        m.retain(|e| if e.0 == rk { removed.insert(e.2); false } else { true });
                    }
                }
                check(&s, &m, &removed);
            }
        }
    }
}
