//! Encrypted attachments: files of any size as a stream of authenticated
//! chunks ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §22).
//!
//! A file is encrypted under a fresh random 32-byte key with AES-256-GCM, as
//! a sequence of chunks of [`ATTACHMENT_CHUNK_LEN`] plaintext bytes (the last
//! one holds what remains, 0 to [`ATTACHMENT_CHUNK_LEN`] bytes; an empty file
//! is one empty chunk). This is the STREAM construction of
//! Hoang, Reyhanitabar, Rogaway and Vizár ("Online authenticated-encryption
//! and its nonce-reuse misuse-resistance", CRYPTO 2015), as in libsodium's
//! secretstream: chunk `i` is sealed with the nonce
//! `0x00 * 7 || u32(i) || final`, where `final` is `0x01` for the last chunk
//! and `0x00` otherwise, and with the file's total size in the associated
//! data. The blob the app uploads is the concatenation of the chunks, each
//! `ciphertext || tag`.
//!
//! The key, the size and a digest of the chunks' tags travel in an
//! [`AttachmentPointer`] (74 bytes) that the app sends through the chat
//! session. The receiver decrypts the blob chunk by chunk with an
//! [`AttachmentDecryptor`]: each chunk's plaintext is released only after
//! its tag verifies, so a file can be verified and written out without
//! holding it in memory.
//!
//! Guarantees, for anyone holding the pointer:
//!
//! * a chunk released by [`AttachmentDecryptor::decrypt_chunk`] is the
//!   chunk the sender encrypted at that position of that file;
//! * reordered, duplicated, dropped or inserted chunks, a chunk of another
//!   file (another key), a wrong final flag and a blob of another size are
//!   refused ([`Error::Auth`], [`Error::ChunkLength`]);
//! * a blob cut after a chunk boundary is refused by
//!   [`AttachmentDecryptor::finish`] ([`Error::StreamIncomplete`]), and data
//!   after the final chunk by [`AttachmentDecryptor::decrypt_chunk`]
//!   ([`Error::StreamFinished`]): the application must call `finish` before
//!   it treats the file as complete;
//! * a failed call changes nothing: the same chunk can be retried, and the
//!   next genuine chunk still decrypts.
//!
//! The digest covers the tags, not the whole ciphertext (SPEC.md §22.4 says
//! why and what it does not give). Keys are used for one file only; the
//! hot path allocates nothing and works in the caller's buffers.

use alloc::vec::Vec;
use core::fmt;

use aes_gcm::{aead::inout::InOutBuf, AeadInOut, Aes256Gcm, KeyInit};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{
    codec::{Hex, Reader},
    error::DecodeError,
    primitives::ct_eq,
    Error,
};

/// Plaintext bytes of every chunk but the last (64 KiB). The last chunk
/// holds the rest of the file, 0 to `ATTACHMENT_CHUNK_LEN` bytes.
pub const ATTACHMENT_CHUNK_LEN: usize = 65536;
/// Bytes of the authentication tag that ends every encrypted chunk.
pub const ATTACHMENT_TAG_LEN: usize = 16;
/// Bytes of an attachment key (AES-256).
pub const ATTACHMENT_KEY_LEN: usize = 32;
/// Bytes of an attachment digest (SHA-256).
pub const ATTACHMENT_DIGEST_LEN: usize = 32;
/// The largest attachment: 2^32 chunks of [`ATTACHMENT_CHUNK_LEN`] bytes
/// (2^48 bytes, 256 TiB), so that the chunk index fits its 32 bits.
pub const MAX_ATTACHMENT_LEN: u64 = (1u64 << 32) * ATTACHMENT_CHUNK_LEN as u64;
/// Format tag of an [`AttachmentPointer`] (`'F'`).
pub const TAG_ATTACHMENT_POINTER: u8 = 0x46;
/// The version of the attachment pointer format.
pub const ATTACHMENT_FORMAT_VERSION: u8 = 0x01;
/// Bytes of an encoded [`AttachmentPointer`]: tag, version, key, size,
/// digest.
pub const ATTACHMENT_POINTER_LEN: usize = 2 + ATTACHMENT_KEY_LEN + 8 + ATTACHMENT_DIGEST_LEN;

const LABEL_AD: &[u8; 23] = b"chatcrypt v3 attachment";
const LABEL_DIGEST: &[u8] = b"chatcrypt v3 attachment digest";
const AD_LEN: usize = 23 + 8;
const CHUNK: u64 = ATTACHMENT_CHUNK_LEN as u64;

/// The associated data of every chunk of a file of `size` bytes.
fn associated_data(size: u64) -> [u8; AD_LEN] {
    let mut ad = [0u8; AD_LEN];
    let (label, len) = ad.split_at_mut(LABEL_AD.len());
    label.copy_from_slice(LABEL_AD);
    len.copy_from_slice(&size.to_be_bytes());
    ad
}

/// The number of chunks of a file of `size` bytes: at least one.
fn chunk_count(size: u64) -> Result<u64, Error> {
    if size > MAX_ATTACHMENT_LEN {
        return Err(too_large(size));
    }
    Ok(size.div_ceil(CHUNK).max(1))
}

/// `TooLarge` for a size over [`MAX_ATTACHMENT_LEN`]. On targets whose
/// `usize` is narrower than 49 bits both numbers saturate at `usize::MAX`.
fn too_large(size: u64) -> Error {
    Error::TooLarge {
        len: usize::try_from(size).unwrap_or(usize::MAX),
        max: usize::try_from(MAX_ATTACHMENT_LEN).unwrap_or(usize::MAX),
    }
}

/// The nonce of chunk `index`: `0x00 * 7 || u32(index) || final`.
fn chunk_nonce(index: u64, last: bool) -> Result<[u8; 12], Error> {
    // `index < chunk_count <= 2^32`, so this never fails.
    let index = u32::try_from(index).map_err(|_| Error::CounterExhausted)?;
    let mut nonce = [0u8; 12];
    nonce[7..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    Ok(nonce)
}

/// Where a stream stands: the file's size, its chunk count, the next
/// chunk's index and the running digest. Shared by both directions.
#[derive(Clone)]
struct Position {
    size: u64,
    chunks: u64,
    next: u64,
    digest: Sha256,
}

impl Position {
    fn new(size: u64) -> Result<Self, Error> {
        let chunks = chunk_count(size)?;
        let mut digest = Sha256::new();
        digest.update(LABEL_DIGEST);
        digest.update(size.to_be_bytes());
        Ok(Position { size, chunks, next: 0, digest })
    }

    fn finished(&self) -> bool {
        self.next >= self.chunks
    }

    /// Plaintext length of the next chunk and whether it is the last one,
    /// or `StreamFinished` after the last.
    fn next_chunk(&self) -> Result<(usize, bool), Error> {
        if self.finished() {
            return Err(Error::StreamFinished);
        }
        let last = self.next + 1 == self.chunks;
        let len = if last {
            // size - (chunks - 1) * CHUNK is in 0..=CHUNK.
            let before = (self.chunks - 1).checked_mul(CHUNK).ok_or(Error::CounterExhausted)?;
            let rest = self.size.checked_sub(before).ok_or(Error::CounterExhausted)?;
            usize::try_from(rest).map_err(|_| Error::CounterExhausted)?
        } else {
            ATTACHMENT_CHUNK_LEN
        };
        Ok((len, last))
    }

    /// Records a chunk whose tag is final (sealed, or verified).
    fn commit(&mut self, tag: &[u8; ATTACHMENT_TAG_LEN]) {
        self.digest.update(tag);
        self.next += 1;
    }
}

/// What the app sends through the chat session so that the receiver can
/// fetch and decrypt an attachment: its key, its size and the digest of its
/// chunks' tags (SPEC.md §22.3).
///
/// It holds the key: zeroized on drop, not `Clone`, and `Debug` shows only
/// the size and digest. Encode with [`to_bytes`](Self::to_bytes), which
/// returns the 74 bytes in a zeroizing buffer.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct AttachmentPointer {
    key: [u8; ATTACHMENT_KEY_LEN],
    size: u64,
    digest: [u8; ATTACHMENT_DIGEST_LEN],
}

impl AttachmentPointer {
    /// The plaintext size of the attachment in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digest of the chunks' tags (SPEC.md §22.4). Not secret: anyone
    /// holding the blob can compute it.
    pub fn digest(&self) -> &[u8; ATTACHMENT_DIGEST_LEN] {
        &self.digest
    }

    /// The length of the encrypted blob this pointer describes.
    pub fn encrypted_len(&self) -> u64 {
        // A pointer's size is at most MAX_ATTACHMENT_LEN, so this fits.
        encrypted_len_unchecked(self.size)
    }

    /// The 74-byte encoding `0x46 || 0x01 || key || u64(size) || digest`
    /// (SPEC.md §22.3). It holds the key: send it only through the session.
    pub fn to_bytes(&self) -> Zeroizing<[u8; ATTACHMENT_POINTER_LEN]> {
        let mut out = Zeroizing::new([0u8; ATTACHMENT_POINTER_LEN]);
        out[0] = TAG_ATTACHMENT_POINTER;
        out[1] = ATTACHMENT_FORMAT_VERSION;
        out[2..34].copy_from_slice(&self.key);
        out[34..42].copy_from_slice(&self.size.to_be_bytes());
        out[42..].copy_from_slice(&self.digest);
        out
    }

    /// Decodes a pointer strictly (SPEC.md §22.3).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] with, in the order of the layout:
    /// [`DecodeError::Truncated`] if the input ends early,
    /// [`DecodeError::UnexpectedType`] for a tag other than `0x46`,
    /// [`DecodeError::UnsupportedVersion`] for a version other than `0x01`,
    /// [`DecodeError::InvalidValue`] for a size over [`MAX_ATTACHMENT_LEN`],
    /// [`DecodeError::TrailingBytes`] if bytes follow the digest.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        r.expect_header(TAG_ATTACHMENT_POINTER, ATTACHMENT_FORMAT_VERSION)?;
        let mut pointer = AttachmentPointer { key: [0; 32], size: 0, digest: [0; 32] };
        pointer.key.copy_from_slice(r.take(ATTACHMENT_KEY_LEN)?);
        pointer.size = r.u64()?;
        if pointer.size > MAX_ATTACHMENT_LEN {
            return Err(DecodeError::InvalidValue.into());
        }
        pointer.digest.copy_from_slice(r.take(ATTACHMENT_DIGEST_LEN)?);
        r.finish()?;
        Ok(pointer)
    }
}

impl fmt::Debug for AttachmentPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AttachmentPointer { key: _, size, digest } = self;
        f.debug_struct("AttachmentPointer")
            .field("size", size)
            .field("digest", &Hex(digest))
            .finish_non_exhaustive()
    }
}

fn encrypted_len_unchecked(size: u64) -> u64 {
    size + size.div_ceil(CHUNK).max(1) * ATTACHMENT_TAG_LEN as u64
}

/// Encrypts one file, chunk by chunk, in the caller's buffers
/// (SPEC.md §22.2).
///
/// The size must be known up front (it is authenticated with every chunk);
/// the encryptor knows from it how long each chunk must be and which one is
/// the last. After the last chunk, [`finish`](Self::finish) returns the
/// [`AttachmentPointer`]. The key is fresh from the caller's RNG and used for
/// this file only; it is zeroized on drop.
///
/// ```
/// use chatcrypt::media::{AttachmentDecryptor, AttachmentEncryptor, AttachmentPointer, ATTACHMENT_TAG_LEN};
/// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
///
/// let mut rng = ChaCha20Rng::from_seed([7; 32]); // an app uses the OS RNG
/// let file = vec![0x42u8; 100_000]; // two chunks: 65 536 and 34 464 bytes
///
/// // Sender: encrypt chunk by chunk into one reused buffer, upload each.
/// let mut enc = AttachmentEncryptor::new(file.len() as u64, &mut rng)?;
/// let mut blob = Vec::new();
/// let mut buf = vec![0u8; chatcrypt::media::ATTACHMENT_CHUNK_LEN + ATTACHMENT_TAG_LEN];
/// let mut rest = &file[..];
/// while let Some(len) = enc.next_chunk_len() {
///     let (chunk, tail) = rest.split_at(len);
///     let n = enc.encrypt_chunk_into(chunk, &mut buf)?;
///     blob.extend_from_slice(&buf[..n]); // upload
///     rest = tail;
/// }
/// let pointer = enc.finish()?;
/// assert_eq!(blob.len() as u64, AttachmentEncryptor::encrypted_len(file.len() as u64)?);
/// let message = pointer.to_bytes(); // sent with Session::encrypt
///
/// // Receiver: decode the pointer, verify and release chunk by chunk.
/// let pointer = AttachmentPointer::from_bytes(&message[..])?;
/// let mut dec = AttachmentDecryptor::new(&pointer);
/// let mut received = Vec::new();
/// let mut rest = &blob[..];
/// while let Some(len) = dec.next_chunk_len() {
///     let (chunk, tail) = rest.split_at(len);
///     let n = dec.decrypt_chunk(chunk, &mut buf)?;
///     received.extend_from_slice(&buf[..n]); // verified: write it out
///     rest = tail;
/// }
/// dec.finish()?; // the whole file arrived
/// assert_eq!(received, file);
/// # Ok::<(), chatcrypt::Error>(())
/// ```
pub struct AttachmentEncryptor {
    cipher: Aes256Gcm,
    key: Zeroizing<[u8; ATTACHMENT_KEY_LEN]>,
    ad: [u8; AD_LEN],
    position: Position,
}

// Every secret field zeroizes itself on drop: the key is `Zeroizing`, and
// aes-gcm's `zeroize` feature clears the expanded AES key and the GHASH key.
impl ZeroizeOnDrop for AttachmentEncryptor {}

impl AttachmentEncryptor {
    /// Starts encrypting a file of `size` bytes under a fresh key drawn
    /// from `rng` (32 bytes).
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] if `size` exceeds [`MAX_ATTACHMENT_LEN`]; nothing
    /// is drawn from `rng` then.
    pub fn new<R: CryptoRng + ?Sized>(size: u64, rng: &mut R) -> Result<Self, Error> {
        let position = Position::new(size)?;
        let mut key = Zeroizing::new([0u8; ATTACHMENT_KEY_LEN]);
        rng.fill_bytes(&mut key[..]);
        let cipher = Aes256Gcm::new((&*key).into());
        Ok(AttachmentEncryptor { cipher, key, ad: associated_data(size), position })
    }

    /// The length of the encrypted blob of a file of `size` bytes: the size
    /// plus 16 bytes per chunk.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] if `size` exceeds [`MAX_ATTACHMENT_LEN`].
    pub fn encrypted_len(size: u64) -> Result<u64, Error> {
        chunk_count(size)?;
        Ok(encrypted_len_unchecked(size))
    }

    /// The plaintext length the next chunk must have, or `None` after the
    /// last chunk.
    pub fn next_chunk_len(&self) -> Option<usize> {
        self.position.next_chunk().ok().map(|(len, _)| len)
    }

    /// Checks the next chunk's plaintext length; returns its nonce.
    fn prepare(&self, len: usize) -> Result<[u8; 12], Error> {
        let (expected, last) = self.position.next_chunk()?;
        if len != expected {
            return Err(Error::ChunkLength { len, expected });
        }
        chunk_nonce(self.position.next, last)
    }

    /// Encrypts the next chunk in place and returns its tag; the chunk on
    /// the wire is `chunk || tag`.
    ///
    /// # Errors
    ///
    /// In this order, each leaving the encryptor and `chunk` unchanged:
    /// [`Error::StreamFinished`] after the last chunk;
    /// [`Error::ChunkLength`] if `chunk` is not exactly
    /// [`next_chunk_len`](Self::next_chunk_len) bytes.
    pub fn encrypt_chunk(&mut self, chunk: &mut [u8]) -> Result<[u8; ATTACHMENT_TAG_LEN], Error> {
        let nonce = self.prepare(chunk.len())?;
        let tag = self.seal(&nonce, InOutBuf::from(chunk))?;
        self.position.commit(&tag);
        Ok(tag)
    }

    /// Encrypts the next chunk from `plaintext` into `out` as
    /// `ciphertext || tag`; returns the number of bytes written
    /// (`plaintext.len() + 16`).
    ///
    /// # Errors
    ///
    /// In this order, each leaving the encryptor and `out` unchanged:
    /// [`Error::StreamFinished`] after the last chunk;
    /// [`Error::ChunkLength`] if `plaintext` is not exactly
    /// [`next_chunk_len`](Self::next_chunk_len) bytes;
    /// [`Error::BufferTooSmall`] if `out` is shorter than
    /// `plaintext.len() + 16`.
    pub fn encrypt_chunk_into(&mut self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let nonce = self.prepare(plaintext.len())?;
        let needed = plaintext.len() + ATTACHMENT_TAG_LEN;
        let Some((body, rest)) = out.get_mut(..needed).map(|o| o.split_at_mut(plaintext.len())) else {
            return Err(Error::BufferTooSmall { needed });
        };
        let buf = InOutBuf::new(plaintext, body).map_err(|_| Error::BufferTooSmall { needed })?;
        let tag = self.seal(&nonce, buf)?;
        rest.copy_from_slice(&tag);
        self.position.commit(&tag);
        Ok(needed)
    }

    fn seal(&self, nonce: &[u8; 12], buf: InOutBuf<'_, '_, u8>) -> Result<[u8; ATTACHMENT_TAG_LEN], Error> {
        let len = buf.len();
        let tag = self
            .cipher
            .encrypt_inout_detached(nonce.into(), &self.ad, buf)
            // Only for plaintexts over 2^36 bytes; a chunk is at most 64 KiB.
            .map_err(|_| Error::ChunkLength { len, expected: ATTACHMENT_CHUNK_LEN })?;
        Ok(tag.into())
    }

    /// Ends the file and returns its pointer.
    ///
    /// # Errors
    ///
    /// [`Error::StreamIncomplete`] before the last chunk was encrypted (the
    /// encryptor is consumed: a file that was not finished is abandoned).
    pub fn finish(self) -> Result<AttachmentPointer, Error> {
        if !self.position.finished() {
            return Err(Error::StreamIncomplete);
        }
        let mut pointer = AttachmentPointer { key: *self.key, size: self.position.size, digest: [0; 32] };
        pointer.digest = self.position.digest.clone().finalize().into();
        Ok(pointer)
    }
}

impl fmt::Debug for AttachmentEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AttachmentEncryptor { cipher: _, key: _, ad: _, position } = self;
        f.debug_struct("AttachmentEncryptor")
            .field("size", &position.size)
            .field("next_chunk", &position.next)
            .field("chunks", &position.chunks)
            .finish_non_exhaustive()
    }
}

/// Decrypts one file described by an [`AttachmentPointer`], chunk by
/// chunk, releasing each chunk's plaintext only after its tag verifies
/// (SPEC.md §22.5). See [`AttachmentEncryptor`] for an example.
///
/// Each chunk must be passed whole (`ciphertext || tag`,
/// [`next_chunk_len`](Self::next_chunk_len) bytes) and in order. A call that
/// fails changes nothing. The file is complete only when
/// [`finish`](Self::finish) succeeds.
pub struct AttachmentDecryptor {
    cipher: Aes256Gcm,
    ad: [u8; AD_LEN],
    expected_digest: [u8; ATTACHMENT_DIGEST_LEN],
    position: Position,
}

// The only secret, the expanded key in `cipher`, is cleared on drop by
// aes-gcm's `zeroize` feature.
impl ZeroizeOnDrop for AttachmentDecryptor {}

impl AttachmentDecryptor {
    /// Starts decrypting the blob `pointer` describes.
    pub fn new(pointer: &AttachmentPointer) -> Self {
        let cipher = Aes256Gcm::new((&pointer.key).into());
        let mut digest = Sha256::new();
        digest.update(LABEL_DIGEST);
        digest.update(pointer.size.to_be_bytes());
        // A decoded pointer's size is at most MAX_ATTACHMENT_LEN.
        let chunks = pointer.size.div_ceil(CHUNK).max(1);
        AttachmentDecryptor {
            cipher,
            ad: associated_data(pointer.size),
            expected_digest: pointer.digest,
            position: Position { size: pointer.size, chunks, next: 0, digest },
        }
    }

    /// The length the next encrypted chunk (`ciphertext || tag`) must have,
    /// or `None` after the last chunk.
    pub fn next_chunk_len(&self) -> Option<usize> {
        self.position.next_chunk().ok().map(|(len, _)| len + ATTACHMENT_TAG_LEN)
    }

    /// Checks the next encrypted chunk's length; returns the plaintext
    /// length and the nonce.
    fn prepare(&self, len: usize) -> Result<(usize, [u8; 12]), Error> {
        let (plain, last) = self.position.next_chunk()?;
        let expected = plain + ATTACHMENT_TAG_LEN;
        if len != expected {
            return Err(Error::ChunkLength { len, expected });
        }
        Ok((plain, chunk_nonce(self.position.next, last)?))
    }

    /// Verifies the next encrypted chunk (`ciphertext || tag`) and writes
    /// its plaintext into `out`; returns the plaintext length.
    ///
    /// # Errors
    ///
    /// In this order, each leaving the decryptor unchanged (so the same
    /// chunk can be retried and the next genuine one still decrypts):
    /// [`Error::StreamFinished`] after the final chunk (data appended to
    /// the blob); [`Error::ChunkLength`] if `chunk` is not exactly
    /// [`next_chunk_len`](Self::next_chunk_len) bytes;
    /// [`Error::BufferTooSmall`] if `out` cannot hold the plaintext;
    /// [`Error::Auth`] if the tag does not verify: the chunk was altered,
    /// or is another position's (reordered, duplicated, a chunk missing
    /// before it), another file's, or has the wrong final flag. Nothing is
    /// written to `out` then.
    pub fn decrypt_chunk(&mut self, chunk: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let (len, nonce) = self.prepare(chunk.len())?;
        let (body, tag) = chunk.split_at(len);
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::BufferTooSmall { needed: len });
        };
        let tag = tag_array(tag)?;
        let buf = InOutBuf::new(body, out).map_err(|_| Error::BufferTooSmall { needed: len })?;
        self.open(&nonce, buf, &tag)?;
        self.position.commit(&tag);
        Ok(len)
    }

    /// [`decrypt_chunk`](Self::decrypt_chunk) in place: `chunk` is
    /// `ciphertext || tag`; on success its first bytes (the returned
    /// length) hold the plaintext.
    ///
    /// # Errors
    ///
    /// As [`decrypt_chunk`](Self::decrypt_chunk) (without `BufferTooSmall`);
    /// on error `chunk` is unchanged.
    pub fn decrypt_chunk_in_place(&mut self, chunk: &mut [u8]) -> Result<usize, Error> {
        let (len, nonce) = self.prepare(chunk.len())?;
        let (body, tag) = chunk.split_at_mut(len);
        let tag = tag_array(tag)?;
        self.open(&nonce, InOutBuf::from(body), &tag)?;
        self.position.commit(&tag);
        Ok(len)
    }

    fn open(
        &self,
        nonce: &[u8; 12],
        buf: InOutBuf<'_, '_, u8>,
        tag: &[u8; ATTACHMENT_TAG_LEN],
    ) -> Result<(), Error> {
        // aes-gcm checks the tag (in constant time) before it writes any
        // plaintext, so a failed chunk leaves the output untouched.
        self.cipher.decrypt_inout_detached(nonce.into(), &self.ad, buf, tag.into()).map_err(|_| Error::Auth)
    }

    /// Ends the file: succeeds only if the final chunk was decrypted and the
    /// digest of the tags equals the pointer's (compared in constant time).
    ///
    /// # Errors
    ///
    /// [`Error::StreamIncomplete`] if the final chunk has not been
    /// decrypted (the blob was truncated at a chunk boundary);
    /// [`Error::Auth`] if the digest differs from the pointer's.
    pub fn finish(self) -> Result<(), Error> {
        if !self.position.finished() {
            return Err(Error::StreamIncomplete);
        }
        let digest: [u8; ATTACHMENT_DIGEST_LEN] = self.position.digest.clone().finalize().into();
        if !ct_eq(&digest, &self.expected_digest) {
            return Err(Error::Auth);
        }
        Ok(())
    }
}

impl fmt::Debug for AttachmentDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AttachmentDecryptor { cipher: _, ad: _, expected_digest: _, position } = self;
        f.debug_struct("AttachmentDecryptor")
            .field("size", &position.size)
            .field("next_chunk", &position.next)
            .field("chunks", &position.chunks)
            .finish_non_exhaustive()
    }
}

fn tag_array(tag: &[u8]) -> Result<[u8; ATTACHMENT_TAG_LEN], Error> {
    tag.try_into().map_err(|_| Error::ChunkLength { len: tag.len(), expected: ATTACHMENT_TAG_LEN })
}

/// Encrypts a whole file in memory: the blob (one allocation of
/// [`AttachmentEncryptor::encrypted_len`] bytes) and its pointer.
///
/// # Errors
///
/// [`Error::TooLarge`] if the file exceeds [`MAX_ATTACHMENT_LEN`].
pub fn encrypt_attachment<R: CryptoRng + ?Sized>(
    plaintext: &[u8],
    rng: &mut R,
) -> Result<(Vec<u8>, AttachmentPointer), Error> {
    let size = u64::try_from(plaintext.len()).map_err(|_| too_large(u64::MAX))?;
    let total = AttachmentEncryptor::encrypted_len(size)?;
    let mut enc = AttachmentEncryptor::new(size, rng)?;
    let mut blob = Vec::with_capacity(usize::try_from(total).map_err(|_| too_large(size))?);
    let mut rest = plaintext;
    while let Some(len) = enc.next_chunk_len() {
        let (chunk, tail) = rest.split_at_checked(len).ok_or(Error::StreamIncomplete)?;
        let start = blob.len();
        blob.extend_from_slice(chunk);
        let body = blob.get_mut(start..).ok_or(Error::StreamIncomplete)?;
        let tag = enc.encrypt_chunk(body)?;
        blob.extend_from_slice(&tag);
        rest = tail;
    }
    Ok((blob, enc.finish()?))
}

/// Decrypts a whole blob in memory.
///
/// # Errors
///
/// [`Error::Decode`] with [`DecodeError::Truncated`] if the blob is shorter
/// than the pointer's size requires, [`DecodeError::TrailingBytes`] if it
/// is longer (both before any decryption); then the errors of
/// [`AttachmentDecryptor::decrypt_chunk`] and
/// [`AttachmentDecryptor::finish`]. No plaintext is returned unless the
/// whole file verifies; partial plaintext is zeroized.
pub fn decrypt_attachment(pointer: &AttachmentPointer, blob: &[u8]) -> Result<Vec<u8>, Error> {
    let expected = pointer.encrypted_len();
    let got = u64::try_from(blob.len()).map_err(|_| DecodeError::TrailingBytes)?;
    if got < expected {
        return Err(DecodeError::Truncated.into());
    }
    if got > expected {
        return Err(DecodeError::TrailingBytes.into());
    }
    // size <= blob.len(), so it fits a usize.
    let size = usize::try_from(pointer.size).map_err(|_| DecodeError::Truncated)?;
    let mut out = Zeroizing::new(alloc::vec![0u8; size]);
    let mut dec = AttachmentDecryptor::new(pointer);
    let (mut rest, mut written) = (blob, 0usize);
    while let Some(len) = dec.next_chunk_len() {
        let (chunk, tail) = rest.split_at_checked(len).ok_or(DecodeError::Truncated)?;
        let dst = out.get_mut(written..).ok_or(DecodeError::Truncated)?;
        written += dec.decrypt_chunk(chunk, dst)?;
        rest = tail;
    }
    dec.finish()?;
    Ok(core::mem::take(&mut *out))
}
