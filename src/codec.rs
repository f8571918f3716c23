//! Byte-level reading and writing shared by every format of the crate.
//!
//! A [`Reader`] consumes a borrowed slice from the front and fails with
//! [`DecodeError::Truncated`] instead of panicking; [`Reader::finish`] rejects
//! trailing bytes, so every decoder recognises the whole input before anything
//! acts on it. All integers are big-endian.

use alloc::vec::Vec;
use core::fmt;

use crate::{error::DecodeError, primitives::x25519_canonical};

/// A cursor over untrusted input.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A 32-byte X25519 public key, which must be a canonical encoding
    /// (SPEC.md §2): `InvalidPublicKey` as soon as it is read otherwise.
    pub(crate) fn x25519_key(&mut self) -> Result<[u8; 32], DecodeError> {
        let key = self.array()?;
        x25519_canonical(&key)?;
        Ok(key)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a format's tag byte and version byte: `UnexpectedType` for
    /// another tag, `UnsupportedVersion` for a version outside
    /// `oldest..=newest`. Returns the version.
    pub(crate) fn tag_and_version(&mut self, tag: u8, oldest: u8, newest: u8) -> Result<u8, DecodeError> {
        let t = self.u8()?;
        if t != tag {
            return Err(DecodeError::UnexpectedType(t));
        }
        let v = self.u8()?;
        if v < oldest || v > newest {
            return Err(DecodeError::UnsupportedVersion(v));
        }
        Ok(v)
    }

    /// [`tag_and_version`](Self::tag_and_version) for a format with one version.
    pub(crate) fn expect_header(&mut self, tag: u8, version: u8) -> Result<(), DecodeError> {
        self.tag_and_version(tag, version, version).map(|_| ())
    }

    /// Everything that is left, without consuming it (for signatures over
    /// a prefix of what is read next).
    pub(crate) fn peek_all(&self) -> &'a [u8] {
        self.buf
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    /// How many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Succeeds only if the whole input was consumed.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}

/// `label || body`: the message a domain-separated signature covers.
pub(crate) fn labelled(label: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(label.len() + body.len());
    m.extend_from_slice(label);
    m.extend_from_slice(body);
    m
}

/// Bytes shown as lowercase hex by `Debug` (public values only: keys,
/// digests, ids).
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Appending writer helpers for `Vec<u8>`.
pub(crate) trait Writer {
    fn put(&mut self, bytes: &[u8]);
    fn put_u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    fn put_u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }
}

impl Writer for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}
