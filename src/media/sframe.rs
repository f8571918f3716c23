//! SFrame (RFC 9605): end-to-end encryption of media frames
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §24).
//!
//! An SFrame ciphertext is `header || ciphertext || tag`: the header
//! ([`SframeHeader`]) carries the key id (KID) and the frame counter (CTR)
//! in the clear, so a media server can forward frames it cannot read; the
//! key and nonce come from the KID's base key through RFC 9605's key
//! schedule ([`SframeKey`]), and header and caller metadata are
//! authenticated. All five cipher suites of RFC 9605 are here
//! ([`CipherSuite`]).
//!
//! * [`SframeSender`] encrypts with one KID and a counter that starts at 0
//!   and never repeats under one key; when it would wrap, encrypting fails
//!   with [`Error::CounterExhausted`] (ratchet or rekey).
//! * [`SframeReceiver`] holds at most [`MAX_SFRAME_KEYS`] keys by KID, with
//!   a replay window of [`SFRAME_REPLAY_WINDOW`] counters per key, and
//!   follows a sender's key ratchet (RFC 9605 §5.1) at most
//!   [`MAX_SFRAME_RATCHET_STEPS`] steps per frame.
//!
//! Guarantees: every call works in caller buffers, with no heap allocation
//! per frame (a receiver allocates only when a key is added or a frame
//! authenticates under a new ratchet step); decoding is strict (canonical
//! headers only, typed errors, no panics); a receiver checks, decrypts and
//! only then records, so a forged, truncated, replayed or too-old frame
//! changes nothing; keys are zeroized when dropped, never `Clone`, and
//! `Debug` never shows key bytes.
//!
//! ```
//! use chatcrypt::media::sframe::{CipherSuite, SframeReceiver, SframeSender};
//!
//! let base_key = [7u8; 32]; // in a call, CallKeys::sframe_sender makes the sender
//! let suite = CipherSuite::AesGcm128Sha256;
//! let mut sender = SframeSender::new(suite, 1, 0, &base_key)?;
//! let mut receiver = SframeReceiver::new(suite);
//! receiver.add_base_key(1, 0, &base_key)?;
//!
//! let metadata = b"rtp header bits";
//! let mut frame = [0u8; 64];
//! let n = sender.encrypt(metadata, b"an audio frame", &mut frame)?;
//! let mut plaintext = [0u8; 64];
//! let got = receiver.decrypt(metadata, &frame[..n], &mut plaintext)?;
//! assert_eq!((got.kid, got.ctr), (1, 0));
//! assert_eq!(&plaintext[..got.len], b"an audio frame");
//! // A replay is refused, and so is a forgery; neither changes the receiver.
//! assert_eq!(receiver.decrypt(metadata, &frame[..n], &mut plaintext), Err(chatcrypt::Error::Duplicate));
//! # Ok::<(), chatcrypt::Error>(())
//! ```

use alloc::{boxed::Box, vec::Vec};
use core::fmt;

use aes::Aes128;
use aes_gcm::{aead::inout::InOutBuf, AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit};
use ctr::{
    cipher::{InnerIvInit, StreamCipher},
    Ctr32BE, CtrCore,
};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{error::DecodeError, primitives::ct_eq, Error};

type HmacSha256 = Hmac<Sha256>;

/// The longest SFrame header: the config byte, 8 KID bytes and 8 CTR bytes.
pub const SFRAME_MAX_HEADER_LEN: usize = 17;

/// The most bytes of metadata (RFC 9605 §9.4) one frame may authenticate.
///
/// Metadata is what the application also sends in the clear next to the
/// frame (RTP header extension data, at most a few hundred bytes); the
/// AES-GCM suites need header and metadata as one associated-data string,
/// which is assembled on the stack in a buffer of this size plus
/// [`SFRAME_MAX_HEADER_LEN`], so no frame allocates.
pub const MAX_SFRAME_METADATA_LEN: usize = 1024;

/// The largest plaintext (and ciphertext body) of one frame: 16 MiB.
///
/// A 4K key frame is a few MB; the limit bounds the work a forged frame
/// costs (one MAC over at most this much) and stays far below the AES-CTR
/// block counter's 2^32 blocks and AES-GCM's 2^36 - 32 bytes.
pub const MAX_SFRAME_PLAINTEXT_LEN: usize = 1 << 24;

/// The most keys an [`SframeReceiver`] holds; adding one more evicts the
/// key added first.
///
/// A receiver serves one call (or one remote sender, as RFC 9605 §5.1
/// assumes): a few senders, each with its current key generation and the
/// next one announced before use. Each key keeps its current ratchet step
/// and the step before it.
pub const MAX_SFRAME_KEYS: usize = 16;

/// The replay window of each receiver key, in counters: a frame whose
/// counter is this far or further behind the highest authenticated
/// counter of its key is refused with [`Error::CounterTooOld`].
///
/// 128 frames is over four seconds of 30 fps video and well over a second
/// of audio at 50 packets per second, far more than a media server
/// reorders (a jitter buffer gives up on frames after a few hundred
/// milliseconds), in two machine words.
pub const SFRAME_REPLAY_WINDOW: u64 = 128;

/// The most ratchet steps (RFC 9605 §5.1) a receiver derives for one frame.
///
/// The step comes from an unauthenticated header, so each derived step is
/// work a forger can ask for: at most this many HKDF computations (two
/// HMACs each) per frame. Senders ratchet when someone joins a call, a
/// handful of times per call; 16 covers several joins whose frames were
/// all lost.
pub const MAX_SFRAME_RATCHET_STEPS: u64 = 16;

/// The largest number of ratchet bits (`R` of RFC 9605 §5.1): at least one
/// KID bit is left for the key generation.
pub const MAX_SFRAME_RATCHET_BITS: u8 = 63;

const LABEL_KEY: &[u8] = b"SFrame 1.0 Secret key ";
const LABEL_SALT: &[u8] = b"SFrame 1.0 Secret salt ";
const LABEL_RATCHET: &[u8] = b"SFrame 1.0 Ratchet";

/// Bytes of an SFrame nonce (`Nn`, the same for every suite).
pub const SFRAME_NONCE_LEN: usize = 12;
const MAX_KEY_LEN: usize = 48;
const MAX_HASH_LEN: usize = 64;

/// The cipher suites of RFC 9605 §4.5, with their registry values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuite {
    /// `AES_128_CTR_HMAC_SHA256_80` (0x0001): AES-128-CTR with an 80-bit
    /// HMAC-SHA256 tag.
    AesCtr128HmacSha256_80,
    /// `AES_128_CTR_HMAC_SHA256_64` (0x0002): 64-bit tag.
    AesCtr128HmacSha256_64,
    /// `AES_128_CTR_HMAC_SHA256_32` (0x0003): 32-bit tag (audio only; see
    /// RFC 9605 §7.5 on short tags).
    AesCtr128HmacSha256_32,
    /// `AES_128_GCM_SHA256_128` (0x0004).
    AesGcm128Sha256,
    /// `AES_256_GCM_SHA512_128` (0x0005).
    AesGcm256Sha512,
}

impl CipherSuite {
    /// Every suite, in registry order.
    pub const ALL: [CipherSuite; 5] = [
        CipherSuite::AesCtr128HmacSha256_80,
        CipherSuite::AesCtr128HmacSha256_64,
        CipherSuite::AesCtr128HmacSha256_32,
        CipherSuite::AesGcm128Sha256,
        CipherSuite::AesGcm256Sha512,
    ];

    /// The suite's 2-byte registry value (RFC 9605 §8.1).
    pub fn id(self) -> u16 {
        match self {
            CipherSuite::AesCtr128HmacSha256_80 => 1,
            CipherSuite::AesCtr128HmacSha256_64 => 2,
            CipherSuite::AesCtr128HmacSha256_32 => 3,
            CipherSuite::AesGcm128Sha256 => 4,
            CipherSuite::AesGcm256Sha512 => 5,
        }
    }

    /// The suite with registry value `id`.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidValue`] for any other
    /// value (0, the private-use range, unassigned values).
    pub fn from_id(id: u16) -> Result<Self, Error> {
        CipherSuite::ALL.into_iter().find(|s| s.id() == id).ok_or(Error::Decode(DecodeError::InvalidValue))
    }

    /// `Nk`: bytes of the AEAD key (for the CTR-HMAC suites, the AES key
    /// followed by the HMAC key).
    pub fn key_len(self) -> usize {
        match self {
            CipherSuite::AesGcm128Sha256 => 16,
            CipherSuite::AesGcm256Sha512 => 32,
            _ => 48,
        }
    }

    /// `Nn`: bytes of the nonce, 12 for every suite.
    pub fn nonce_len(self) -> usize {
        SFRAME_NONCE_LEN
    }

    /// `Nt`: bytes of the authentication tag.
    pub fn tag_len(self) -> usize {
        match self {
            CipherSuite::AesCtr128HmacSha256_80 => 10,
            CipherSuite::AesCtr128HmacSha256_64 => 8,
            CipherSuite::AesCtr128HmacSha256_32 => 4,
            CipherSuite::AesGcm128Sha256 | CipherSuite::AesGcm256Sha512 => 16,
        }
    }

    /// `Nh`: bytes of the suite's hash (SHA-256, or SHA-512 for
    /// `AES_256_GCM_SHA512_128`), used by HKDF and the ratchet.
    pub fn hash_len(self) -> usize {
        match self {
            CipherSuite::AesGcm256Sha512 => 64,
            _ => 32,
        }
    }
}

/// An SFrame header (RFC 9605 §4.3): the key id and the counter.
///
/// The encoding is `config || KID bytes || CTR bytes`, config =
/// `X(1) K(3) Y(1) C(3)`: a value below 8 sits in `K` (or `C`) with its flag
/// clear; a larger one follows the config byte in the fewest big-endian
/// bytes, its length minus one in `K` (or `C`) with the flag set. Only
/// this minimal form decodes (RFC 9605 §4.3: "MUST be encoded with the
/// minimum number of bytes"), so each (KID, CTR) has exactly one header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SframeHeader {
    /// The key id.
    pub kid: u64,
    /// The frame counter.
    pub ctr: u64,
}

/// Bytes needed for `v` after the config byte: 0 if it fits the 3-bit field.
fn value_len(v: u64) -> usize {
    if v < 8 {
        0
    } else {
        // 1..=8: the number of significant bytes.
        (64 - v.leading_zeros() as usize).div_ceil(8)
    }
}

impl SframeHeader {
    /// The length of this header's encoding, 1 to 17 bytes.
    pub fn encoded_len(&self) -> usize {
        1 + value_len(self.kid) + value_len(self.ctr)
    }

    /// Writes the header at the front of `out` and returns its length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is shorter than
    /// [`encoded_len`](Self::encoded_len); `out` is then unchanged.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        let len = self.encoded_len();
        let out = out.get_mut(..len).ok_or(Error::BufferTooSmall { needed: len })?;
        let (klen, clen) = (value_len(self.kid), value_len(self.ctr));
        // Values below 8 and lengths minus one both fit in 3 bits.
        let field = |v: u64, n: usize| -> u8 {
            if n == 0 {
                v as u8
            } else {
                0x08 | (n - 1) as u8
            }
        };
        let (config, rest) = out.split_at_mut(1);
        let (rest_k, rest_c) = rest.split_at_mut(klen);
        config[0] = (field(self.kid, klen) << 4) | field(self.ctr, clen);
        rest_k.copy_from_slice(&self.kid.to_be_bytes()[8 - klen..]);
        rest_c.copy_from_slice(&self.ctr.to_be_bytes()[8 - clen..]);
        Ok(len)
    }

    /// Decodes the header at the front of `frame` and returns it with its
    /// length; the rest of `frame` is not looked at.
    ///
    /// # Errors
    /// [`Error::Decode`] with, in reading order: [`DecodeError::Truncated`]
    /// if `frame` ends before the header does (an empty frame included);
    /// [`DecodeError::InvalidValue`] if the KID, then the CTR, is not in its
    /// minimal form (an extended field whose value is below 8 or whose
    /// first byte is zero).
    pub fn decode(frame: &[u8]) -> Result<(SframeHeader, usize), Error> {
        let (&config, mut rest) = frame.split_first().ok_or(DecodeError::Truncated)?;
        let mut read = |nibble: u8| -> Result<u64, DecodeError> {
            if nibble & 0x08 == 0 {
                return Ok(u64::from(nibble & 0x07));
            }
            let n = usize::from(nibble & 0x07) + 1;
            if rest.len() < n {
                return Err(DecodeError::Truncated);
            }
            let (bytes, tail) = rest.split_at(n);
            rest = tail;
            let mut be = [0u8; 8];
            be[8 - n..].copy_from_slice(bytes);
            let v = u64::from_be_bytes(be);
            if value_len(v) != n {
                return Err(DecodeError::InvalidValue);
            }
            Ok(v)
        };
        let kid = read(config >> 4)?;
        let ctr = read(config & 0x0f)?;
        let header = SframeHeader { kid, ctr };
        Ok((header, header.encoded_len()))
    }
}

/// The key material of one KID under one suite (RFC 9605 §4.4.2):
/// `sframe_key` (`Nk` bytes) and `sframe_salt` (12 bytes). Secret:
/// zeroized on drop, not `Clone`, `Debug` shows only the suite and KID.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SframeKey {
    #[zeroize(skip)]
    suite: CipherSuite,
    kid: u64,
    key: [u8; MAX_KEY_LEN],
    salt: [u8; SFRAME_NONCE_LEN],
}

/// `HKDF-Extract("", ikm)` under the suite's hash: an `Nh`-byte secret.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Secret {
    bytes: [u8; MAX_HASH_LEN],
    len: usize,
}

impl Secret {
    fn extract(suite: CipherSuite, ikm: &[u8]) -> Secret {
        let mut s = Secret { bytes: [0; MAX_HASH_LEN], len: suite.hash_len() };
        match suite {
            CipherSuite::AesGcm256Sha512 => {
                let (mut prk, _) = Hkdf::<Sha512>::extract(Some(&[]), ikm);
                s.bytes.copy_from_slice(&prk);
                prk.as_mut_slice().zeroize();
            }
            _ => {
                let (mut prk, _) = Hkdf::<Sha256>::extract(Some(&[]), ikm);
                s.bytes[..32].copy_from_slice(&prk);
                prk.as_mut_slice().zeroize();
            }
        }
        s
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }

    /// `HKDF-Expand(self, info[0] || info[1] || ..., out.len())`.
    fn expand(&self, suite: CipherSuite, info: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
        let len = out.len();
        let too_large = |_| Error::TooLarge { len, max: 255 * suite.hash_len() };
        match suite {
            CipherSuite::AesGcm256Sha512 => Hkdf::<Sha512>::from_prk(self.as_bytes())
                .map_err(|_| Error::Decode(DecodeError::InvalidValue))?
                .expand_multi_info(info, out)
                .map_err(too_large),
            _ => Hkdf::<Sha256>::from_prk(self.as_bytes())
                .map_err(|_| Error::Decode(DecodeError::InvalidValue))?
                .expand_multi_info(info, out)
                .map_err(too_large),
        }
    }

    /// The secret of the next ratchet step (RFC 9605 §5.1):
    /// `Extract("", Expand(self, "SFrame 1.0 Ratchet", Nh))`.
    fn ratchet(&self, suite: CipherSuite) -> Result<Secret, Error> {
        let mut next_base = Secret { bytes: [0; MAX_HASH_LEN], len: suite.hash_len() };
        let len = next_base.len;
        self.expand(suite, &[LABEL_RATCHET], next_base.bytes.get_mut(..len).unwrap_or(&mut []))?;
        Ok(Secret::extract(suite, next_base.as_bytes()))
    }
}

/// The next base key of RFC 9605 §5.1:
/// `HKDF-Expand(HKDF-Extract("", base_key), "SFrame 1.0 Ratchet", Nh)`,
/// written to the first `Nh` bytes of `out` (for group call keys, which
/// hand a ratcheted base key to a new participant).
pub(crate) fn ratchet_base_key(
    suite: CipherSuite,
    base_key: &[u8],
    out: &mut [u8; MAX_HASH_LEN],
) -> Result<usize, Error> {
    let secret = Secret::extract(suite, base_key);
    let len = suite.hash_len();
    secret.expand(suite, &[LABEL_RATCHET], out.get_mut(..len).unwrap_or(&mut []))?;
    Ok(len)
}

/// The longest hash output of the suites (`Nh` of SHA-512).
pub(crate) const MAX_SUITE_HASH_LEN: usize = MAX_HASH_LEN;

impl SframeKey {
    /// Derives the key and salt of `kid` from `base_key` (any length) under
    /// `suite` (RFC 9605 §4.4.2, SPEC.md §24.3).
    ///
    /// # Errors
    /// None in practice: the HKDF output lengths are fixed and valid.
    pub fn derive(suite: CipherSuite, kid: u64, base_key: &[u8]) -> Result<SframeKey, Error> {
        Self::from_secret(suite, kid, &Secret::extract(suite, base_key))
    }

    fn from_secret(suite: CipherSuite, kid: u64, secret: &Secret) -> Result<SframeKey, Error> {
        let mut key = SframeKey { suite, kid, key: [0; MAX_KEY_LEN], salt: [0; SFRAME_NONCE_LEN] };
        let tail = {
            let mut t = [0u8; 10];
            t[..8].copy_from_slice(&kid.to_be_bytes());
            t[8..].copy_from_slice(&suite.id().to_be_bytes());
            t
        };
        let nk = suite.key_len();
        secret.expand(suite, &[LABEL_KEY, &tail], key.key.get_mut(..nk).unwrap_or(&mut []))?;
        secret.expand(suite, &[LABEL_SALT, &tail], &mut key.salt)?;
        Ok(key)
    }

    /// Key material given directly: `key` is `sframe_key` (`Nk` bytes,
    /// [`CipherSuite::key_len`]) and `salt` is `sframe_salt`. For keys
    /// agreed by other means than RFC 9605's key schedule (and for the
    /// RFC's AEAD test vectors); a sender made from it cannot ratchet.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidValue`] if `key` is not
    /// `Nk` bytes long.
    pub fn from_raw(
        suite: CipherSuite,
        kid: u64,
        key: &[u8],
        salt: &[u8; SFRAME_NONCE_LEN],
    ) -> Result<SframeKey, Error> {
        if key.len() != suite.key_len() {
            return Err(Error::Decode(DecodeError::InvalidValue));
        }
        let mut k = SframeKey { suite, kid, key: [0; MAX_KEY_LEN], salt: *salt };
        k.key[..key.len()].copy_from_slice(key);
        Ok(k)
    }

    /// The suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The key id.
    pub fn kid(&self) -> u64 {
        self.kid
    }

    /// `sframe_key`, `Nk` bytes. Secret.
    pub fn key(&self) -> &[u8] {
        self.key.get(..self.suite.key_len()).unwrap_or(&self.key)
    }

    /// `sframe_salt`. Secret.
    pub fn salt(&self) -> &[u8; SFRAME_NONCE_LEN] {
        &self.salt
    }

    /// The nonce of counter `ctr`: the salt XOR `ctr` as a 12-byte
    /// big-endian integer.
    pub fn nonce(&self, ctr: u64) -> [u8; SFRAME_NONCE_LEN] {
        nonce(&self.salt, ctr)
    }
}

fn nonce(salt: &[u8; SFRAME_NONCE_LEN], ctr: u64) -> [u8; SFRAME_NONCE_LEN] {
    let mut n = *salt;
    for (b, c) in n[4..].iter_mut().zip(ctr.to_be_bytes()) {
        *b ^= c;
    }
    n
}

impl fmt::Debug for SframeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SframeKey")
            .field("suite", &self.suite)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A key ready for frames: the expanded cipher and the salt.
struct FrameKey {
    kid: u64,
    cipher: Cipher,
    salt: [u8; SFRAME_NONCE_LEN],
}

/// The AEAD of a suite with its key schedule done once. Each cipher
/// zeroizes its round keys (and HMAC state) on drop.
enum Cipher {
    CtrHmac { aes: Aes128, mac: HmacSha256, tag_len: usize },
    Gcm128(Aes128Gcm),
    Gcm256(Aes256Gcm),
}

impl Drop for FrameKey {
    fn drop(&mut self) {
        self.salt.zeroize();
    }
}

impl FrameKey {
    fn new(key: &SframeKey) -> Result<FrameKey, Error> {
        let bad = |_| Error::Decode(DecodeError::InvalidValue);
        let k = key.key();
        let cipher = match key.suite {
            CipherSuite::AesGcm128Sha256 => Cipher::Gcm128(Aes128Gcm::new_from_slice(k).map_err(bad)?),
            CipherSuite::AesGcm256Sha512 => Cipher::Gcm256(Aes256Gcm::new_from_slice(k).map_err(bad)?),
            suite => {
                let (enc, auth) = k.split_at(16);
                Cipher::CtrHmac {
                    aes: <Aes128 as KeyInit>::new_from_slice(enc).map_err(bad)?,
                    mac: <HmacSha256 as KeyInit>::new_from_slice(auth).map_err(bad)?,
                    tag_len: suite.tag_len(),
                }
            }
        };
        Ok(FrameKey { kid: key.kid, cipher, salt: key.salt })
    }

    fn tag_len(&self) -> usize {
        match &self.cipher {
            Cipher::CtrHmac { tag_len, .. } => *tag_len,
            Cipher::Gcm128(_) | Cipher::Gcm256(_) => 16,
        }
    }

    /// Encrypts `buf` in place and writes the tag into `tag`
    /// (`tag_len()` bytes). The associated data is `header || metadata`.
    fn seal(
        &self,
        ctr: u64,
        header: &[u8],
        metadata: &[u8],
        buf: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), Error> {
        let nonce = nonce(&self.salt, ctr);
        match &self.cipher {
            Cipher::CtrHmac { aes, mac, tag_len } => {
                ctr_keystream(aes, &nonce, buf)?;
                let full = ctr_hmac_tag(mac, *tag_len, &nonce, header, metadata, buf);
                let t = tag.get_mut(..*tag_len).ok_or(Error::BufferTooSmall { needed: *tag_len })?;
                t.copy_from_slice(full.get(..*tag_len).unwrap_or(&[]));
                Ok(())
            }
            Cipher::Gcm128(c) => gcm_seal(c, &nonce, header, metadata, buf, tag),
            Cipher::Gcm256(c) => gcm_seal(c, &nonce, header, metadata, buf, tag),
        }
    }

    /// Checks `tag` over `ct` and, only if it verifies, decrypts `ct` into
    /// `out` (exactly `ct.len()` bytes). On failure `out` is zeroed.
    fn open(
        &self,
        ctr: u64,
        header: &[u8],
        metadata: &[u8],
        ct: &[u8],
        tag: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        let nonce = nonce(&self.salt, ctr);
        match &self.cipher {
            Cipher::CtrHmac { aes, mac, tag_len } => {
                let full = ctr_hmac_tag(mac, *tag_len, &nonce, header, metadata, ct);
                if !ct_eq(full.get(..*tag_len).unwrap_or(&[]), tag) {
                    out.zeroize();
                    return Err(Error::Auth);
                }
                out.copy_from_slice(ct);
                ctr_keystream(aes, &nonce, out)
            }
            Cipher::Gcm128(c) => gcm_open(c, &nonce, header, metadata, ct, tag, out),
            Cipher::Gcm256(c) => gcm_open(c, &nonce, header, metadata, ct, tag, out),
        }
    }
}

/// AES-128-CTR with initial counter block `nonce || 00000000`.
fn ctr_keystream(aes: &Aes128, nonce: &[u8; SFRAME_NONCE_LEN], buf: &mut [u8]) -> Result<(), Error> {
    let mut iv = [0u8; 16];
    iv[..SFRAME_NONCE_LEN].copy_from_slice(nonce);
    let mut ctr = Ctr32BE::<Aes128>::from_core(CtrCore::inner_iv_init(aes.clone(), &iv.into()));
    ctr.try_apply_keystream(buf)
        .map_err(|_| Error::TooLarge { len: buf.len(), max: MAX_SFRAME_PLAINTEXT_LEN })
}

/// `HMAC(auth_key, u64(len(aad)) || u64(len(ct)) || u64(Nt) || nonce || aad || ct)`,
/// with `aad = header || metadata`.
fn ctr_hmac_tag(
    mac: &HmacSha256,
    tag_len: usize,
    nonce: &[u8; SFRAME_NONCE_LEN],
    header: &[u8],
    metadata: &[u8],
    ct: &[u8],
) -> [u8; 32] {
    let aad_len = (header.len() as u64).saturating_add(metadata.len() as u64);
    let mut m = mac.clone();
    m.update(&aad_len.to_be_bytes());
    m.update(&(ct.len() as u64).to_be_bytes());
    m.update(&(tag_len as u64).to_be_bytes());
    m.update(nonce);
    m.update(header);
    m.update(metadata);
    m.update(ct);
    m.finalize().into_bytes().into()
}

/// `header || metadata` in a stack buffer (the GCM suites take the
/// associated data in one piece).
fn with_aad<T>(header: &[u8], metadata: &[u8], f: impl FnOnce(&[u8]) -> T) -> Result<T, Error> {
    let mut aad = [0u8; SFRAME_MAX_HEADER_LEN + MAX_SFRAME_METADATA_LEN];
    let len = header.len() + metadata.len();
    let dst =
        aad.get_mut(..len).ok_or(Error::TooLarge { len: metadata.len(), max: MAX_SFRAME_METADATA_LEN })?;
    let (h, m) = dst.split_at_mut(header.len());
    h.copy_from_slice(header);
    m.copy_from_slice(metadata);
    Ok(f(&aad[..len]))
}

fn gcm_seal<C: AeadInOut>(
    cipher: &C,
    nonce: &[u8; SFRAME_NONCE_LEN],
    header: &[u8],
    metadata: &[u8],
    buf: &mut [u8],
    tag: &mut [u8],
) -> Result<(), Error> {
    let len = buf.len();
    let t = with_aad(header, metadata, |aad| {
        cipher
            .encrypt_inout_detached(nonce.as_slice().try_into().map_err(|_| ())?, aad, InOutBuf::from(buf))
            .map_err(|_| ())
    })?
    .map_err(|_| Error::TooLarge { len, max: MAX_SFRAME_PLAINTEXT_LEN })?;
    let dst = tag.get_mut(..t.len()).ok_or(Error::BufferTooSmall { needed: t.len() })?;
    dst.copy_from_slice(&t);
    Ok(())
}

fn gcm_open<C: AeadInOut>(
    cipher: &C,
    nonce: &[u8; SFRAME_NONCE_LEN],
    header: &[u8],
    metadata: &[u8],
    ct: &[u8],
    tag: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    out.copy_from_slice(ct);
    let result = with_aad(header, metadata, |aad| {
        let n = nonce.as_slice().try_into().map_err(|_| ())?;
        let t = tag.try_into().map_err(|_| ())?;
        cipher.decrypt_inout_detached(n, aad, InOutBuf::from(&mut *out), t).map_err(|_| ())
    })?;
    result.map_err(|_| {
        out.zeroize();
        Error::Auth
    })
}

/// A frame that decrypted: its KID and counter, and the plaintext length
/// written at the front of the output buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SframeDecrypted {
    /// The KID of the frame's header.
    pub kid: u64,
    /// The counter of the frame's header.
    pub ctr: u64,
    /// Bytes of plaintext written to the front of the output buffer.
    pub len: usize,
}

fn check_ratchet_bits(bits: u8) -> Result<(), Error> {
    if bits > MAX_SFRAME_RATCHET_BITS {
        return Err(Error::Decode(DecodeError::InvalidValue));
    }
    Ok(())
}

fn step_mask(bits: u8) -> u64 {
    (1u64 << bits) - 1
}

/// The sending side of one SFrame stream: one KID (and, with ratchet bits,
/// its later ratchet steps), a counter from 0 that never repeats under one
/// key (SPEC.md §24.4).
///
/// Persisting a sender is not supported: a sender restored from an older
/// copy would repeat counters. Keys are per call; make a new sender from
/// a new base key instead.
pub struct SframeSender {
    suite: CipherSuite,
    bits: u8,
    generation: u64,
    step: u64,
    secret: Option<Secret>,
    key: FrameKey,
    /// The counter of the next frame; `None` once `u64::MAX` was used.
    next_ctr: Option<u64>,
}

impl SframeSender {
    /// A sender for `kid` with `base_key` (any length), whose KID has
    /// `ratchet_bits` low bits of ratchet step (`R` of RFC 9605 §5.1; 0 for
    /// a sender that never ratchets). The KID's low `R` bits are the
    /// starting step.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidValue`] if
    /// `ratchet_bits` exceeds [`MAX_SFRAME_RATCHET_BITS`].
    pub fn new(
        suite: CipherSuite,
        kid: u64,
        ratchet_bits: u8,
        base_key: &[u8],
    ) -> Result<SframeSender, Error> {
        check_ratchet_bits(ratchet_bits)?;
        let secret = Secret::extract(suite, base_key);
        let key = FrameKey::new(&SframeKey::from_secret(suite, kid, &secret)?)?;
        Ok(SframeSender {
            suite,
            bits: ratchet_bits,
            generation: kid >> ratchet_bits,
            step: kid & step_mask(ratchet_bits),
            secret: Some(secret),
            key,
            next_ctr: Some(0),
        })
    }

    /// A sender with key material given directly ([`SframeKey`]); it
    /// cannot ratchet.
    ///
    /// # Errors
    /// None for a well-formed key.
    pub fn from_key(key: &SframeKey) -> Result<SframeSender, Error> {
        Ok(SframeSender {
            suite: key.suite,
            bits: 0,
            generation: key.kid,
            step: 0,
            secret: None,
            key: FrameKey::new(key)?,
            next_ctr: Some(0),
        })
    }

    /// The suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The KID the next frame carries.
    pub fn kid(&self) -> u64 {
        self.key.kid
    }

    /// The counter the next frame carries, or `None` if the key's counters
    /// are used up.
    pub fn next_counter(&self) -> Option<u64> {
        self.next_ctr
    }

    /// The length of the SFrame ciphertext of a `plaintext_len`-byte frame
    /// sent next: header, ciphertext and tag.
    pub fn ciphertext_len(&self, plaintext_len: usize) -> usize {
        let header = SframeHeader { kid: self.key.kid, ctr: self.next_ctr.unwrap_or(u64::MAX) };
        header.encoded_len().saturating_add(plaintext_len).saturating_add(self.key.tag_len())
    }

    /// Encrypts one frame into `out` as `header || ciphertext || tag` and
    /// returns its length; `metadata` is authenticated, not sent
    /// (RFC 9605 §9.4). The counter advances only on success.
    ///
    /// # Errors
    /// In this order: [`Error::CounterExhausted`] if the counter 2^64 - 1
    /// was used; [`Error::TooLarge`] if `plaintext` exceeds
    /// [`MAX_SFRAME_PLAINTEXT_LEN`] or `metadata` [`MAX_SFRAME_METADATA_LEN`];
    /// [`Error::BufferTooSmall`] if `out` is shorter than
    /// [`ciphertext_len`](Self::ciphertext_len). On error the sender is
    /// unchanged.
    pub fn encrypt(&mut self, metadata: &[u8], plaintext: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let ctr = self.next_ctr.ok_or(Error::CounterExhausted)?;
        if plaintext.len() > MAX_SFRAME_PLAINTEXT_LEN {
            return Err(Error::TooLarge { len: plaintext.len(), max: MAX_SFRAME_PLAINTEXT_LEN });
        }
        if metadata.len() > MAX_SFRAME_METADATA_LEN {
            return Err(Error::TooLarge { len: metadata.len(), max: MAX_SFRAME_METADATA_LEN });
        }
        let header = SframeHeader { kid: self.key.kid, ctr };
        let hlen = header.encoded_len();
        let total = hlen + plaintext.len() + self.key.tag_len();
        let out = out.get_mut(..total).ok_or(Error::BufferTooSmall { needed: total })?;
        let (head, rest) = out.split_at_mut(hlen);
        header.encode(head)?;
        let (body, tag) = rest.split_at_mut(plaintext.len());
        body.copy_from_slice(plaintext);
        if let Err(e) = self.key.seal(ctr, head, metadata, body, tag) {
            out.zeroize();
            return Err(e);
        }
        self.next_ctr = ctr.checked_add(1);
        Ok(total)
    }

    /// Ratchets the key forward one step (RFC 9605 §5.1): the next base key
    /// is `HKDF-Expand(HKDF-Extract("", base_key), "SFrame 1.0 Ratchet",
    /// Nh)`, the KID's low `R` bits advance by one (modulo 2^R), and the
    /// counter starts again at 0. The old key is gone.
    ///
    /// # Errors
    /// [`Error::NoRatchet`] if the sender has no ratchet bits or was made
    /// from raw key material; [`Error::CounterExhausted`] after 2^64 - 1
    /// steps.
    pub fn ratchet(&mut self) -> Result<(), Error> {
        let secret = match &self.secret {
            Some(s) if self.bits > 0 => s,
            _ => return Err(Error::NoRatchet),
        };
        let step = self.step.checked_add(1).ok_or(Error::CounterExhausted)?;
        let next = secret.ratchet(self.suite)?;
        let kid = (self.generation << self.bits) | (step & step_mask(self.bits));
        let key = FrameKey::new(&SframeKey::from_secret(self.suite, kid, &next)?)?;
        self.secret = Some(next);
        self.key = key;
        self.step = step;
        self.next_ctr = Some(0);
        Ok(())
    }
}

impl fmt::Debug for SframeSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SframeSender { suite, bits, generation, step, secret: _, key, next_ctr } = self;
        f.debug_struct("SframeSender")
            .field("suite", suite)
            .field("kid", &key.kid)
            .field("ratchet_bits", bits)
            .field("generation", generation)
            .field("step", step)
            .field("next_ctr", next_ctr)
            .finish_non_exhaustive()
    }
}

/// Which counters of one key were seen: the highest, and a bitmap of it
/// and the [`SFRAME_REPLAY_WINDOW`] - 1 below it (bit i = `top - i`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ReplayWindow {
    top: Option<u64>,
    seen: u128,
}

impl ReplayWindow {
    const EMPTY: ReplayWindow = ReplayWindow { top: None, seen: 0 };

    fn check(&self, ctr: u64) -> Result<(), Error> {
        let Some(top) = self.top else { return Ok(()) };
        if ctr > top {
            return Ok(());
        }
        let age = top - ctr;
        if age >= SFRAME_REPLAY_WINDOW {
            return Err(Error::CounterTooOld { ctr, oldest: top - (SFRAME_REPLAY_WINDOW - 1) });
        }
        if self.seen >> age & 1 == 1 {
            return Err(Error::Duplicate);
        }
        Ok(())
    }

    /// Records `ctr`, which [`check`](Self::check) accepted.
    fn record(&mut self, ctr: u64) {
        match self.top {
            Some(top) if ctr <= top => self.seen |= 1u128 << (top - ctr),
            Some(top) => {
                let shift = ctr - top;
                self.seen = if shift >= 128 { 0 } else { self.seen << shift } | 1;
                self.top = Some(ctr);
            }
            None => {
                self.seen = 1;
                self.top = Some(ctr);
            }
        }
    }
}

/// One ratchet step of a receiver key: its frame key, replay window and
/// (for a ratcheting key) the secret the next step is derived from.
struct Step {
    step: u64,
    key: FrameKey,
    window: ReplayWindow,
    secret: Option<Secret>,
}

/// A receiver key: a KID range `[generation << bits, (generation + 1) <<
/// bits)`, its current step and the step before it.
struct Entry {
    bits: u8,
    generation: u64,
    current: Box<Step>,
    previous: Option<Box<Step>>,
}

impl Entry {
    fn covers(&self, kid: u64) -> bool {
        kid >> self.bits == self.generation
    }

    fn overlaps(&self, bits: u8, generation: u64) -> bool {
        // Two aligned power-of-two ranges overlap iff one contains the
        // other's start.
        let start = generation << bits;
        self.covers(start) || (self.generation << self.bits) >> bits == generation
    }
}

/// The receiving side of SFrame: keys by KID, a replay window per key,
/// ratchet steps followed on demand (SPEC.md §24.5).
///
/// [`decrypt`](Self::decrypt) checks, decrypts and only then records: a
/// frame that does not authenticate, is replayed or is too old changes
/// nothing, including which ratchet step is current.
pub struct SframeReceiver {
    suite: CipherSuite,
    /// In the order they were added, oldest first. Boxed so that no key
    /// material is left behind in the vector's spare capacity (or in a
    /// freed block) when entries are removed or shift.
    #[allow(clippy::vec_box)]
    entries: Vec<Box<Entry>>,
}

impl SframeReceiver {
    /// An empty receiver for `suite`. Allocates room for
    /// [`MAX_SFRAME_KEYS`] entries once.
    pub fn new(suite: CipherSuite) -> SframeReceiver {
        SframeReceiver { suite, entries: Vec::with_capacity(MAX_SFRAME_KEYS) }
    }

    /// The suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The number of keys held.
    pub fn key_count(&self) -> usize {
        self.entries.len()
    }

    /// Adds the base key of `kid`, with `ratchet_bits` low KID bits of
    /// ratchet step (0: the key is for exactly `kid`). Frames whose KID has
    /// the same high bits (the key generation) and a later step are
    /// decrypted by ratcheting (SPEC.md §24.5). A key already held for an
    /// overlapping KID range is replaced; at [`MAX_SFRAME_KEYS`] the key
    /// added first is dropped.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidValue`] if
    /// `ratchet_bits` exceeds [`MAX_SFRAME_RATCHET_BITS`]; nothing changes.
    pub fn add_base_key(&mut self, kid: u64, ratchet_bits: u8, base_key: &[u8]) -> Result<(), Error> {
        check_ratchet_bits(ratchet_bits)?;
        let secret = Secret::extract(self.suite, base_key);
        let key = FrameKey::new(&SframeKey::from_secret(self.suite, kid, &secret)?)?;
        let secret = if ratchet_bits > 0 { Some(secret) } else { None };
        let step =
            Box::new(Step { step: kid & step_mask(ratchet_bits), key, window: ReplayWindow::EMPTY, secret });
        self.insert(Box::new(Entry {
            bits: ratchet_bits,
            generation: kid >> ratchet_bits,
            current: step,
            previous: None,
        }));
        Ok(())
    }

    /// Adds key material given directly, for exactly its KID (no
    /// ratcheting). Replacement and eviction as in
    /// [`add_base_key`](Self::add_base_key).
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidValue`] if the key is
    /// for another suite than the receiver's; nothing changes.
    pub fn add_key(&mut self, key: &SframeKey) -> Result<(), Error> {
        if key.suite != self.suite {
            return Err(Error::Decode(DecodeError::InvalidValue));
        }
        let step =
            Box::new(Step { step: 0, key: FrameKey::new(key)?, window: ReplayWindow::EMPTY, secret: None });
        self.insert(Box::new(Entry { bits: 0, generation: key.kid, current: step, previous: None }));
        Ok(())
    }

    fn insert(&mut self, entry: Box<Entry>) {
        self.entries.retain(|e| !e.overlaps(entry.bits, entry.generation));
        if self.entries.len() >= MAX_SFRAME_KEYS {
            self.entries.remove(0);
        }
        self.entries.push(entry);
    }

    /// The current ratchet step of the key covering `kid`, if one does.
    pub(crate) fn current_step(&self, kid: u64) -> Option<u64> {
        self.entries.iter().find(|e| e.covers(kid)).map(|e| e.current.step)
    }

    /// Drops the key whose KID range covers `kid`, with all its steps.
    /// Returns whether there was one.
    pub fn remove_key(&mut self, kid: u64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| !e.covers(kid));
        self.entries.len() != before
    }

    /// Decrypts one SFrame ciphertext `frame` with `metadata` into the
    /// front of `out`.
    ///
    /// Checks in this order (SPEC.md §24.5), and records the counter (and
    /// a new ratchet step) only after the frame authenticated.
    ///
    /// # Errors
    /// [`Error::Decode`] ([`DecodeError::Truncated`],
    /// [`DecodeError::InvalidValue`]) for a malformed header or a body
    /// shorter than the tag; [`Error::TooLarge`] for metadata or a body over
    /// the limits; [`Error::BufferTooSmall`] if `out` cannot take the
    /// plaintext; [`Error::UnknownKeyId`] if no key covers the KID (or its
    /// step was dropped); [`Error::TooFarAhead`] if the KID names a step
    /// more than [`MAX_SFRAME_RATCHET_STEPS`] ahead; [`Error::CounterTooOld`]
    /// and [`Error::Duplicate`] from the replay window; [`Error::Auth`] if
    /// the frame does not authenticate (then `out` is zeroed).
    pub fn decrypt(
        &mut self,
        metadata: &[u8],
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<SframeDecrypted, Error> {
        let (header, hlen) = SframeHeader::decode(frame)?;
        let (head, body) = frame.split_at(hlen);
        let tag_len = self.suite.tag_len();
        let ct_len = body.len().checked_sub(tag_len).ok_or(Error::Decode(DecodeError::Truncated))?;
        if metadata.len() > MAX_SFRAME_METADATA_LEN {
            return Err(Error::TooLarge { len: metadata.len(), max: MAX_SFRAME_METADATA_LEN });
        }
        if ct_len > MAX_SFRAME_PLAINTEXT_LEN {
            return Err(Error::TooLarge { len: ct_len, max: MAX_SFRAME_PLAINTEXT_LEN });
        }
        let out = out.get_mut(..ct_len).ok_or(Error::BufferTooSmall { needed: ct_len })?;
        let (ct, tag) = body.split_at(ct_len);
        let suite = self.suite;
        let kid = header.kid;
        let entry = self.entries.iter_mut().find(|e| e.covers(kid)).ok_or(Error::UnknownKeyId { kid })?;
        let mask = step_mask(entry.bits);
        let low = kid & mask;
        let done = SframeDecrypted { kid, ctr: header.ctr, len: ct_len };

        // The current step: check the window, authenticate, then record.
        let current = &mut entry.current;
        if current.step & mask == low {
            current.window.check(header.ctr)?;
            current.key.open(header.ctr, head, metadata, ct, tag, out)?;
            current.window.record(header.ctr);
            return Ok(done);
        }
        // The step before it, if its low bits match. With few ratchet bits
        // a later step can have the same low bits, so a frame that fails
        // here still gets the ratchet attempt below; if that fails too,
        // this error is the one reported (a replay stays a Duplicate).
        let mut previous_error = None;
        if let Some(previous) = entry.previous.as_mut().filter(|p| p.step & mask == low) {
            match previous
                .window
                .check(header.ctr)
                .and_then(|()| previous.key.open(header.ctr, head, metadata, ct, tag, out))
            {
                Ok(()) => {
                    previous.window.record(header.ctr);
                    return Ok(done);
                }
                Err(e) => previous_error = Some(e),
            }
        }

        // A later step of this generation: derive it on the side, and keep
        // it only if the frame authenticates under it.
        let ahead = low.wrapping_sub(entry.current.step) & mask;
        let Some(secret) = entry.current.secret.as_ref() else {
            return Err(previous_error.unwrap_or(Error::UnknownKeyId { kid }));
        };
        if ahead > MAX_SFRAME_RATCHET_STEPS {
            return Err(previous_error.unwrap_or(Error::TooFarAhead {
                got: u32::try_from(ahead).unwrap_or(u32::MAX),
                max: MAX_SFRAME_RATCHET_STEPS as u32,
            }));
        }
        let mut next = secret.ratchet(suite)?;
        for _ in 1..ahead {
            next = next.ratchet(suite)?;
        }
        let step_no = entry.current.step.checked_add(ahead).ok_or(Error::UnknownKeyId { kid })?;
        let key = FrameKey::new(&SframeKey::from_secret(suite, kid, &next)?)?;
        if let Err(e) = key.open(header.ctr, head, metadata, ct, tag, out) {
            return Err(previous_error.unwrap_or(e));
        }
        let mut window = ReplayWindow::EMPTY;
        window.record(header.ctr);
        let candidate = Box::new(Step { step: step_no, key, window, secret: Some(next) });
        let old = core::mem::replace(&mut entry.current, candidate);
        entry.previous = Some(old);
        Ok(done)
    }
}

impl fmt::Debug for SframeReceiver {
    /// Shows each key's KID range, steps and replay windows; never key
    /// bytes. Two receivers with the same `Debug` output accept the same
    /// frames.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Steps<'a>(&'a Entry);
        impl fmt::Debug for Steps<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let Entry { bits, generation, current, previous } = self.0;
                let show = |s: &Step| (s.step, s.key.kid, s.window.top, s.window.seen);
                f.debug_struct("Key")
                    .field("ratchet_bits", bits)
                    .field("generation", generation)
                    .field("current", &show(current))
                    .field("previous", &previous.as_deref().map(show))
                    .finish()
            }
        }
        let SframeReceiver { suite, entries } = self;
        f.debug_struct("SframeReceiver")
            .field("suite", suite)
            .field("keys", &entries.iter().map(|e| Steps(e)).collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_counter_is_sent_then_the_sender_is_exhausted() {
        let mut s = SframeSender::new(CipherSuite::AesGcm128Sha256, 3, 0, &[1; 32]).unwrap();
        s.next_ctr = Some(u64::MAX);
        let mut out = [0u8; 64];
        let n = s.encrypt(b"", b"last", &mut out).unwrap();
        assert_eq!(SframeHeader::decode(&out[..n]).unwrap().0, SframeHeader { kid: 3, ctr: u64::MAX });
        assert_eq!(s.next_counter(), None);
        let before = out;
        assert_eq!(s.encrypt(b"", b"one more", &mut out), Err(Error::CounterExhausted));
        assert_eq!(out, before);
        // The receiver takes the frame with the largest counter.
        let mut r = SframeReceiver::new(CipherSuite::AesGcm128Sha256);
        r.add_base_key(3, 0, &[1; 32]).unwrap();
        let mut pt = [0u8; 64];
        assert_eq!(r.decrypt(b"", &out[..n], &mut pt).unwrap().ctr, u64::MAX);
    }

    #[test]
    fn ratchet_resets_the_counter_after_exhaustion() {
        let mut s = SframeSender::new(CipherSuite::AesCtr128HmacSha256_80, 0b1_0000, 4, &[2; 16]).unwrap();
        s.next_ctr = None;
        s.ratchet().unwrap();
        assert_eq!((s.kid(), s.next_counter()), (0b1_0001, Some(0)));
    }

    /// The key schedule's labels and `sframe_secret` of the RFC vectors,
    /// which the public API does not expose (tests/sframe.rs checks the
    /// rest through it).
    #[test]
    fn rfc9605_labels_and_secrets() {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../test-vectors/sframe/rfc9605.json")).unwrap();
        let hex = |v: &serde_json::Value| -> Vec<u8> {
            let s = v.as_str().unwrap();
            (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
        };
        let mut n = 0;
        for case in json["sframe"].as_array().unwrap() {
            let suite = CipherSuite::from_id(case["cipher_suite"].as_u64().unwrap() as u16).unwrap();
            let kid = case["kid"].as_u64().unwrap();
            let mut tail = kid.to_be_bytes().to_vec();
            tail.extend_from_slice(&suite.id().to_be_bytes());
            assert_eq!([LABEL_KEY, &tail].concat(), hex(&case["sframe_key_label"]));
            assert_eq!([LABEL_SALT, &tail].concat(), hex(&case["sframe_salt_label"]));
            let secret = Secret::extract(suite, &hex(&case["base_key"]));
            assert_eq!(secret.as_bytes(), hex(&case["sframe_secret"]).as_slice());
            n += 1;
        }
        assert_eq!(n, 5);
    }
}
