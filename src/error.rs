//! The one error type of the crate.
//!
//! Every fallible call returns [`Error`]. Decoding problems (the bytes are not
//! a well-formed encoding at all) are grouped under [`Error::Decode`] with a
//! [`DecodeError`] saying what was wrong, apart from protocol failures (the
//! bytes parse, but authentication, a signature or a limit says no), so that a
//! messenger can tell garbage from an attack from a message it has already
//! seen.
//!
//! A call that returns an error has changed nothing: sessions, key stores and
//! buffers handed in as `&mut` are exactly as they were (output buffers may
//! hold zeros).

use core::fmt;

use crate::message::Mode;

/// Everything that can go wrong in chatcrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed encoding; see the [`DecodeError`].
    Decode(DecodeError),
    /// A prekey bundle's signature (over its signed prekey, or over its KEM
    /// prekey) does not verify under the bundle's identity key.
    BadSignature,
    /// A Diffie-Hellman output was all zeros: the peer's public key has low
    /// order, so the exchange would not be contributory.
    NonContributory,
    /// The prekey named by a message is not the one handed to
    /// [`Session::accept`](crate::Session::accept), or a one-time prekey is
    /// missing or superfluous. `id` is the id the message names.
    UnknownPreKey {
        /// The prekey id the message asked for.
        id: u32,
    },
    /// The message was sent by, or for, another identity than the one the
    /// session or call expects.
    WrongIdentity,
    /// A prekey message belongs to another handshake than the one this session
    /// was created from (start a new session with [`Session::accept`](crate::Session::accept)).
    HandshakeMismatch,
    /// Authenticated decryption failed: the message was forged, tampered with,
    /// or encrypted under keys this session does not have.
    Auth,
    /// The message key for this position was already used or discarded: the
    /// message is a replay (or so old that its key was evicted). The message
    /// was not authenticated; applications usually drop it silently.
    Duplicate,
    /// Decrypting would require skipping more message keys in one chain than
    /// the limit allows. Nothing was derived or stored.
    TooFarAhead {
        /// The number of message keys the message would make us skip.
        got: u32,
        /// The limit, [`MAX_SKIP`](crate::MAX_SKIP).
        max: u32,
    },
    /// A plaintext or message is larger than the format allows.
    TooLarge {
        /// The length that was given.
        len: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// The output buffer is too small; `needed` bytes would have been enough.
    BufferTooSmall {
        /// The buffer length required.
        needed: usize,
    },
    /// The sending chain has used up its 2^32 message numbers.
    CounterExhausted,
    /// The responder's [`ModePolicy`](crate::ModePolicy) does not accept a
    /// session in the mode the initiator chose.
    ModeNotAllowed {
        /// The mode the PreKeyMessage asked for.
        mode: Mode,
    },
    /// The handshake would be classical (X25519 only) where the policy
    /// requires the hybrid post-quantum handshake: the bundle carries no KEM
    /// prekey (initiator), or the PreKeyMessage no KEM part (responder). A
    /// relay that strips the KEM part of a bundle or message causes this.
    PostQuantumRequired,
    /// The peer's newest device list does not name this device (it was
    /// removed, or the list is out of date: fetch it again).
    UnknownDevice {
        /// The device id.
        device: u32,
    },
    /// The peer's account key changed, and the caller has not yet decided
    /// to trust the new one ([`PeerAccount::accept_account_key_change`](crate::PeerAccount::accept_account_key_change)):
    /// nothing is sent to or accepted from the account until then.
    AccountKeyChanged,
    /// No account key change is pending.
    NoPendingChange,
    /// A device list older than the one already held (a rollback).
    DeviceListRollback {
        /// The epoch of the list held.
        held: u64,
        /// The epoch of the list offered.
        got: u64,
    },
    /// A device list with the epoch of the held one but other contents:
    /// the account signed two lists for one epoch, or its key is misused.
    DeviceListConflict {
        /// The epoch.
        epoch: u64,
    },
    /// The session record has no session that can take the message: start
    /// one, or (receiving) answer with a [`RetryMessage`](crate::RetryMessage).
    NoSession,
    /// The session we started got no reply within
    /// [`MAX_UNACKNOWLEDGED_AGE`](crate::MAX_UNACKNOWLEDGED_AGE): start a new
    /// one from a fresh bundle.
    SessionExpired,
    /// The bytes passed as persisted are not the state's current encoding:
    /// persist the state before publishing what depends on it.
    NotPersisted,
    /// A [`SessionRecord`](crate::SessionRecord) got a message that names
    /// a message key already used or discarded, but is not a copy of a
    /// message it recently decrypted: a corrupted or forged copy, or a
    /// message from a sender restored from an older state. It cannot be
    /// authenticated; count it as rejected, not as a duplicate.
    UsedKey,
    /// No SFrame key covers the frame's key id (SPEC.md §24.5): it was never
    /// added, was removed or evicted, or names a ratchet step already
    /// dropped. The frame was not authenticated; a receiver may keep it
    /// until the key arrives (RFC 9605 §4.4.4).
    UnknownKeyId {
        /// The KID of the frame's header.
        kid: u64,
    },
    /// An SFrame frame's counter is older than its key's replay window
    /// (SPEC.md §24.5): it cannot be told from a replay, so it is dropped.
    /// The frame was not authenticated.
    CounterTooOld {
        /// The frame's counter.
        ctr: u64,
        /// The oldest counter the window still accepts.
        oldest: u64,
    },
    /// This SFrame sender cannot ratchet: it has no ratchet bits, or was
    /// made from raw key material.
    NoRatchet,
    /// An attachment chunk does not have the length its position requires
    /// (SPEC.md §22): every chunk but the last holds
    /// [`ATTACHMENT_CHUNK_LEN`](crate::media::ATTACHMENT_CHUNK_LEN)
    /// plaintext bytes, the last one what remains of the size. For an
    /// encrypted chunk the 16-byte tag is included.
    ChunkLength {
        /// The length that was given.
        len: usize,
        /// The length the position requires.
        expected: usize,
    },
    /// An attachment's final chunk was already processed: nothing may
    /// follow it (receiving: the blob was extended).
    StreamFinished,
    /// An attachment stream was finished before its final chunk
    /// (receiving: the blob was truncated).
    StreamIncomplete,
    /// An authenticated plaintext's padding is not exactly what its stated
    /// policy produces (SPEC.md §26.2).
    Padding,
    /// A sender certificate is issued by a server key that is not among
    /// the trusted roots (SPEC.md §27.1).
    UntrustedCertificate,
    /// A sender certificate's serial is on the revocation list (SPEC.md §27.1).
    CertificateRevoked,
    /// A sender certificate has expired at the caller's time (SPEC.md §27.1).
    CertificateExpired,
    /// A sealed envelope's certificate names another account, device or
    /// identity key than the session record and session that would take
    /// its message (SPEC.md §27.5).
    SenderMismatch,
}

/// What is wrong with bytes that failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the encoding did.
    Truncated,
    /// Bytes remain after the end of the encoding.
    TrailingBytes,
    /// The version byte names a version this library does not speak.
    UnsupportedVersion(u8),
    /// The type or format tag byte is not one this decoder accepts.
    UnexpectedType(u8),
    /// Reserved flag bits are set.
    InvalidFlags(u8),
    /// A public key is not a valid, canonical encoding (or is of low order).
    InvalidPublicKey,
    /// A length, count or other field violates an invariant of the format.
    InvalidValue,
    /// A key-type byte names no key type this library knows (for KEM keys
    /// and ciphertexts, [`KemType`](crate::KemType)).
    UnknownKeyType(u8),
}

impl Error {
    /// This error met while decoding stored state: a decode error as it
    /// is, anything else (a signature that no longer verifies) as
    /// [`DecodeError::InvalidValue`]: the state is corrupt.
    pub(crate) fn in_stored_state(self) -> DecodeError {
        match self {
            Error::Decode(d) => d,
            _ => DecodeError::InvalidValue,
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("input is truncated"),
            DecodeError::TrailingBytes => f.write_str("unexpected bytes after the end of the encoding"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported version {v}"),
            DecodeError::UnexpectedType(t) => write!(f, "unexpected type or format tag 0x{t:02x}"),
            DecodeError::InvalidFlags(b) => write!(f, "reserved flag bits set in 0x{b:02x}"),
            DecodeError::InvalidPublicKey => f.write_str("invalid public key encoding"),
            DecodeError::InvalidValue => f.write_str("a field violates the format's invariants"),
            DecodeError::UnknownKeyType(t) => write!(f, "unknown key type 0x{t:02x}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(e) => write!(f, "malformed input: {e}"),
            Error::BadSignature => f.write_str("signed prekey signature does not verify"),
            Error::NonContributory => f.write_str("non-contributory Diffie-Hellman (low-order public key)"),
            Error::UnknownPreKey { id } => write!(f, "prekey {id} is unknown or does not match"),
            Error::WrongIdentity => f.write_str("message is bound to another identity"),
            Error::HandshakeMismatch => {
                f.write_str("prekey message belongs to another handshake than this session's")
            }
            Error::Auth => f.write_str("message authentication failed"),
            Error::Duplicate => f.write_str("duplicate message: its key was already used"),
            Error::TooFarAhead { got, max } => {
                write!(f, "message is too far ahead: {got} skipped keys, at most {max}")
            }
            Error::TooLarge { len, max } => write!(f, "{len} bytes is too large, at most {max}"),
            Error::BufferTooSmall { needed } => {
                write!(f, "output buffer too small, {needed} bytes needed")
            }
            Error::CounterExhausted => f.write_str("sending chain message counter exhausted"),
            Error::ModeNotAllowed { mode } => {
                write!(f, "the responder's policy does not accept {mode:?} sessions")
            }
            Error::PostQuantumRequired => {
                f.write_str("the handshake lacks its post-quantum (KEM) part, which the policy requires")
            }
            Error::UnknownDevice { device } => {
                write!(f, "device {device} is not on the account's device list")
            }
            Error::AccountKeyChanged => {
                f.write_str("the peer's account key changed and awaits the user's decision")
            }
            Error::NoPendingChange => f.write_str("no account key change is pending"),
            Error::DeviceListRollback { held, got } => {
                write!(f, "device list epoch {got} is older than the held epoch {held}")
            }
            Error::DeviceListConflict { epoch } => {
                write!(f, "a different device list for the held epoch {epoch}")
            }
            Error::NoSession => f.write_str("no session can take this message"),
            Error::SessionExpired => f.write_str("the session got no reply in time; start a new one"),
            Error::NotPersisted => f.write_str("the state must be persisted before this is published"),
            Error::UsedKey => {
                f.write_str("the message names an already used key and is not a copy of a message read")
            }
            Error::UnknownKeyId { kid } => write!(f, "no SFrame key for key id {kid}"),
            Error::CounterTooOld { ctr, oldest } => {
                write!(f, "SFrame counter {ctr} is older than the replay window (oldest {oldest})")
            }
            Error::NoRatchet => f.write_str("this SFrame sender cannot ratchet its key"),
            Error::ChunkLength { len, expected } => {
                write!(f, "attachment chunk of {len} bytes where its position requires {expected}")
            }
            Error::StreamFinished => f.write_str("the attachment's final chunk was already processed"),
            Error::StreamIncomplete => f.write_str("the attachment stream ended before its final chunk"),
            Error::Padding => f.write_str("the plaintext's padding is malformed"),
            Error::UntrustedCertificate => {
                f.write_str("the sender certificate is not issued by a trusted server key")
            }
            Error::CertificateRevoked => f.write_str("the sender certificate is revoked"),
            Error::CertificateExpired => f.write_str("the sender certificate has expired"),
            Error::SenderMismatch => {
                f.write_str("the sealed sender's certificate names another sender than the session's")
            }
        }
    }
}

impl core::error::Error for Error {}
impl core::error::Error for DecodeError {}
