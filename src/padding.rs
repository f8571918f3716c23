//! Length padding inside the encryption ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §26).
//!
//! A ciphertext is as long as its plaintext, so a relay learns the length
//! of what was typed. A [`PaddingPolicy`] rounds a plaintext up to one of a
//! few lengths before it is encrypted; the receiver removes the padding
//! after the AEAD has authenticated it.
//!
//! # Guarantees
//!
//! * **Stated, never guessed:** the policy travels in the first three bytes
//!   of every padded plaintext (inside the encryption), so sender and
//!   receiver need not agree on it beforehand.
//! * **Strict:** [`unpad`] accepts exactly the one padded form that
//!   [`pad`] produces for a content and policy; anything else (non-zero
//!   padding, a missing marker, more or fewer zeros than the policy gives,
//!   an unknown policy) is [`Error::Padding`].
//! * **Bounded:** padding never makes a plaintext longer than the limit
//!   the caller gives; [`pad`] fails with [`Error::TooLarge`] instead.
//!
//! The [`SessionRecord`](crate::SessionRecord) pads every plaintext it
//! encrypts (by default with [`PaddingPolicy::DEFAULT`]) and the sealed
//! envelope ([`crate::sealed`]) pads its content; a bare
//! [`Session`](crate::Session) carries the caller's bytes as they are.
//!
//! ```
//! use chatcrypt::padding::{pad, unpad, PaddingPolicy};
//!
//! let padded = pad(PaddingPolicy::DEFAULT, b"see you at 8", 1 << 20)?;
//! assert_eq!(padded.len(), 160); // every text up to 156 bytes pads to 160
//! assert_eq!(unpad(&padded)?, b"see you at 8");
//! # Ok::<(), chatcrypt::Error>(())
//! ```

use alloc::vec::Vec;
use core::num::NonZeroU16;

use crate::Error;

/// The bytes [`pad`] adds to any content before rounding: the policy
/// (three bytes) and the `0x80` marker.
pub const PADDING_OVERHEAD: usize = 4;

const KIND_NONE: u8 = 0x00;
const KIND_BLOCKS: u8 = 0x01;
const KIND_PADME: u8 = 0x02;
const MARKER: u8 = 0x80;

/// How a plaintext is padded (SPEC.md §26.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaddingPolicy {
    /// No rounding: the padded plaintext is the content plus
    /// [`PADDING_OVERHEAD`] bytes. For callers that pad themselves or send
    /// content of fixed size.
    None,
    /// Rounds up to a multiple of the block size.
    Blocks(NonZeroU16),
    /// Padmé (Nikitin et al., PETS 2019): leaks `O(log log M)` bits of a
    /// length up to `M` and adds at most 12 %; padded plaintexts are never
    /// shorter than `floor` bytes.
    Padme {
        /// The shortest padded length.
        floor: u16,
    },
}

impl PaddingPolicy {
    /// The default: Padmé with a floor of 160 bytes, so every content of up
    /// to 156 bytes pads to 160 and longer ones grow by at most 12 %
    /// (SPEC.md §26.1 gives the reasons).
    pub const DEFAULT: PaddingPolicy = PaddingPolicy::Padme { floor: 160 };

    /// The padded length of a content of `content_len` bytes, or `None` if
    /// it does not fit in a `usize`.
    pub fn padded_len(self, content_len: usize) -> Option<usize> {
        self.target(content_len.checked_add(PADDING_OVERHEAD)?)
    }

    /// `P(u)` of SPEC.md §26.1 for an unpadded length `u` (content plus
    /// overhead).
    fn target(self, u: usize) -> Option<usize> {
        match self {
            PaddingPolicy::None => Some(u),
            PaddingPolicy::Blocks(b) => {
                let b = usize::from(b.get());
                u.div_ceil(b).checked_mul(b)
            }
            PaddingPolicy::Padme { floor } => Some(padme(u)?.max(usize::from(floor))),
        }
    }

    fn kind_and_param(self) -> (u8, u16) {
        match self {
            PaddingPolicy::None => (KIND_NONE, 0),
            PaddingPolicy::Blocks(b) => (KIND_BLOCKS, b.get()),
            PaddingPolicy::Padme { floor } => (KIND_PADME, floor),
        }
    }

    fn from_kind_and_param(kind: u8, param: u16) -> Option<Self> {
        match kind {
            KIND_NONE if param == 0 => Some(PaddingPolicy::None),
            KIND_BLOCKS => NonZeroU16::new(param).map(PaddingPolicy::Blocks),
            KIND_PADME => Some(PaddingPolicy::Padme { floor: param }),
            _ => None,
        }
    }
}

impl Default for PaddingPolicy {
    fn default() -> Self {
        PaddingPolicy::DEFAULT
    }
}

/// Padmé's length for `len ≥ 2` (for smaller lengths, `len`).
fn padme(len: usize) -> Option<usize> {
    if len < 2 {
        return Some(len);
    }
    let e = len.ilog2();
    let s = e.ilog2() + 1;
    let b = e - s;
    let step = 1usize.checked_shl(b)?;
    len.div_ceil(step).checked_mul(step)
}

/// Pads `content` under `policy` (SPEC.md §26.2).
///
/// # Errors
/// [`Error::TooLarge`] if the padded length would exceed `max`.
pub fn pad(policy: PaddingPolicy, content: &[u8], max: usize) -> Result<Vec<u8>, Error> {
    let len = policy.padded_len(content.len()).ok_or(Error::TooLarge { len: usize::MAX, max })?;
    if len > max {
        return Err(Error::TooLarge { len, max });
    }
    let mut out = Vec::with_capacity(len);
    pad_into(policy, content, len, &mut out);
    Ok(out)
}

/// Appends the padded form of `content` (whose padded length `len` the
/// caller computed with [`PaddingPolicy::padded_len`]) to `out`.
pub(crate) fn pad_into(policy: PaddingPolicy, content: &[u8], len: usize, out: &mut Vec<u8>) {
    let (kind, param) = policy.kind_and_param();
    let start = out.len();
    out.push(kind);
    out.extend_from_slice(&param.to_be_bytes());
    out.extend_from_slice(content);
    out.push(MARKER);
    out.resize(start + len, 0);
}

/// Removes the padding of `padded`, checking that it is exactly what
/// [`pad`] makes (SPEC.md §26.2); returns the content.
///
/// # Errors
/// [`Error::Padding`] for anything else.
pub fn unpad(padded: &[u8]) -> Result<&[u8], Error> {
    let [kind, p0, p1, ..] = *padded else { return Err(Error::Padding) };
    let policy =
        PaddingPolicy::from_kind_and_param(kind, u16::from_be_bytes([p0, p1])).ok_or(Error::Padding)?;
    let marker = padded.iter().rposition(|&b| b != 0).ok_or(Error::Padding)?;
    if marker < 3 || padded[marker] != MARKER {
        return Err(Error::Padding);
    }
    if policy.target(marker + 1) != Some(padded.len()) {
        return Err(Error::Padding);
    }
    Ok(&padded[3..marker])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(b: u16) -> PaddingPolicy {
        PaddingPolicy::Blocks(NonZeroU16::new(b).unwrap())
    }

    /// Padmé computed as in the paper, with floating-point logarithms.
    fn padme_reference(l: usize) -> usize {
        let e = (l as f64).log2().floor();
        let s = e.log2().floor() + 1.0;
        let last_bits = (e - s) as u32;
        let mask = (1usize << last_bits) - 1;
        (l + mask) & !mask
    }

    #[test]
    fn padme_matches_the_papers_definition() {
        for l in 4..200_000 {
            assert_eq!(padme(l), Some(padme_reference(l)), "L = {l}");
        }
        assert_eq!(padme(100), Some(104));
        assert_eq!(padme(1000), Some(1024));
        assert_eq!(padme(4100), Some(4352));
    }

    #[test]
    fn padme_overhead_is_at_most_twelve_percent() {
        for l in 4..(1 << 20) {
            let p = padme(l).unwrap();
            assert!(p >= l && (p - l) * 100 <= l * 12, "L = {l}, P = {p}");
        }
    }

    #[test]
    fn layout_is_policy_content_marker_zeros() {
        let padded = pad(blocks(16), b"abc", 1024).unwrap();
        assert_eq!(padded, [1, 0, 16, b'a', b'b', b'c', 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let padded = pad(PaddingPolicy::None, b"", 1024).unwrap();
        assert_eq!(padded, [0, 0, 0, 0x80]);
        let padded = pad(PaddingPolicy::Padme { floor: 0 }, &[0x80; 5], 1024).unwrap();
        assert_eq!(padded, [2, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0]);
    }

    #[test]
    fn round_trip_at_every_boundary() {
        let policies = [
            PaddingPolicy::None,
            blocks(1),
            blocks(160),
            PaddingPolicy::DEFAULT,
            PaddingPolicy::Padme { floor: 0 },
        ];
        for policy in policies {
            for n in (0..600).chain([1019, 1020, 1021, 4092, 4093, 65_000]) {
                // Content ending in zeros and in the marker value.
                let content: Vec<u8> = (0..n).map(|i| [0x80, 0x00, 0x41][i % 3]).collect();
                let padded = pad(policy, &content, 1 << 20).unwrap();
                assert_eq!(Some(padded.len()), policy.padded_len(n));
                assert_eq!(unpad(&padded).unwrap(), &content[..], "{policy:?} n = {n}");
            }
        }
    }

    #[test]
    fn default_makes_short_texts_one_length() {
        for n in 0..=156 {
            assert_eq!(PaddingPolicy::DEFAULT.padded_len(n), Some(160));
        }
        assert_eq!(PaddingPolicy::DEFAULT.padded_len(157), Some(176));
    }

    #[test]
    fn too_large_for_the_limit() {
        assert_eq!(pad(blocks(160), &[0; 100], 159), Err(Error::TooLarge { len: 160, max: 159 }));
        assert!(pad(blocks(160), &[0; 100], 160).is_ok());
    }

    #[test]
    fn every_other_form_is_refused() {
        let good = pad(blocks(32), b"hi", 1024).unwrap();
        assert!(unpad(&good).is_ok());
        // Shorter than the header and marker.
        for n in 0..4 {
            assert_eq!(unpad(&good[..n]), Err(Error::Padding));
        }
        // Each byte of the padding changed, each length change.
        for i in 3..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            if i < 5 {
                // Content bytes: still a valid padding of other content.
                assert!(unpad(&bad).is_ok());
            } else {
                assert_eq!(unpad(&bad), Err(Error::Padding), "byte {i}");
            }
        }
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(unpad(&longer), Err(Error::Padding));
        assert_eq!(unpad(&good[..good.len() - 1]), Err(Error::Padding));
        // Unknown kind, a none policy with a parameter, blocks of 0.
        for header in [[3, 0, 32], [0, 0, 1], [1, 0, 0]] {
            let mut bad = good.clone();
            bad[..3].copy_from_slice(&header);
            assert_eq!(unpad(&bad), Err(Error::Padding), "{header:?}");
        }
        // A valid blocks padding re-labelled as another policy.
        let mut relabelled = good.clone();
        relabelled[..3].copy_from_slice(&[2, 0, 0]);
        assert_eq!(unpad(&relabelled), Err(Error::Padding));
        // No marker at all, or the marker inside the header.
        assert_eq!(unpad(&[1, 0, 32, 0, 0, 0]), Err(Error::Padding));
        assert_eq!(unpad(&[0, 0, 0, 0]), Err(Error::Padding));
        assert_eq!(unpad(&[1, 0, 0x80, 0]), Err(Error::Padding));
    }
}
