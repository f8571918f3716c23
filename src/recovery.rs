//! Recovery: telling a peer that its message could not be decrypted
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §21).
//!
//! A device that cannot decrypt a message because it has no session for it
//! (it lost its state, or restored an old backup) or because the first
//! message names a prekey it no longer holds, answers with a
//! [`RetryMessage`]: a small message signed by its identity key, addressed
//! to the sender's identity key, naming the failed message by a digest of
//! its bytes. The sender's
//! [`SessionRecord::handle_retry`](crate::SessionRecord::handle_retry)
//! acts only if that digest is one of the messages it sent on its current
//! session: it archives the session, and the sender starts a new one from a
//! fresh bundle. The pair talks again within one round trip, and an
//! initiator whose prekey was gone stops repeating it.
//!
//! The signature means no one else can make a device drop its session; the
//! digest means a relay cannot either, by corrupting a message (the
//! corrupted copy is not a message the sender sent) or by replaying an old
//! retry (it names a message of an older session). What a retry cannot do
//! is bring back the lost message: the sender's app resends it (it knows
//! which message ids were unanswered).

use alloc::vec::Vec;
use core::fmt;

use sha2::{Digest, Sha256};

use crate::{
    codec::{labelled, Reader, Writer},
    error::DecodeError,
    identity::{IdentityKey, IdentityKeyPair},
    message::{MessageType, PreKeyMessage},
    primitives::{ed25519_public, ed25519_verify},
    Error,
};

/// Format tag of a [`RetryMessage`] (`'E'`).
pub const TAG_RETRY: u8 = 0x45;
/// The version of the retry format.
pub const RETRY_FORMAT_VERSION: u8 = 0x01;
/// Bytes of an encoded [`RetryMessage`].
pub const RETRY_MESSAGE_LEN: usize = 2 + 1 + 4 + MESSAGE_DIGEST_LEN + 8 + 32 + 32 + 64;
/// Bytes of a message digest: the first 16 bytes of SHA-256 of the
/// message's wire bytes.
pub const MESSAGE_DIGEST_LEN: usize = 16;

/// `SHA-256(message)[0..16]` (SPEC.md §20.2, §21.1).
pub(crate) fn message_digest(message: &[u8]) -> [u8; MESSAGE_DIGEST_LEN] {
    let hash = Sha256::digest(message);
    let mut out = [0u8; MESSAGE_DIGEST_LEN];
    out.copy_from_slice(&hash[..MESSAGE_DIGEST_LEN]);
    out
}

const LABEL_RETRY: &[u8] = b"chatcrypt v3 retry";

/// Why a message could not be decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// A Message arrived for which no session decrypts it (`0x01`).
    NoSession,
    /// A PreKeyMessage named a prekey the device does not hold (`0x02`).
    UnknownPreKey,
    /// A PreKeyMessage named prekeys the device holds but did not
    /// authenticate (`0x03`): the keys behind the ids differ, as when the
    /// device restored an older state and reissued ids, or the message was
    /// tampered with.
    HandshakeFailed,
}

impl RetryReason {
    fn to_byte(self) -> u8 {
        match self {
            RetryReason::NoSession => 1,
            RetryReason::UnknownPreKey => 2,
            RetryReason::HandshakeFailed => 3,
        }
    }

    fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            1 => Ok(RetryReason::NoSession),
            2 => Ok(RetryReason::UnknownPreKey),
            3 => Ok(RetryReason::HandshakeFailed),
            _ => Err(DecodeError::InvalidValue),
        }
    }
}

/// A signed "I could not decrypt your message" (SPEC.md §21.1). Always
/// verified: decoding checks the signature under the author's identity key.
#[derive(Clone, PartialEq, Eq)]
pub struct RetryMessage {
    reason: RetryReason,
    prekey_id: u32,
    digest: [u8; MESSAGE_DIGEST_LEN],
    timestamp: u64,
    author: IdentityKey,
    recipient: IdentityKey,
    signature: [u8; 64],
}

impl RetryMessage {
    /// The retry for `failed`, a message from the device with identity key
    /// `recipient` that could not be decrypted at `now` with error `error`;
    /// signed by `identity`. `None` if the error calls for no retry: only
    /// [`Error::UnknownPreKey`] and [`Error::Auth`] for a PreKeyMessage,
    /// and [`Error::NoSession`] and [`Error::Auth`] for a Message, do (a
    /// malformed message, a duplicate, a limit or a trust refusal is never
    /// answered).
    pub fn for_failure(
        identity: &IdentityKeyPair,
        recipient: &IdentityKey,
        failed: &[u8],
        error: Error,
        now: u64,
    ) -> Option<RetryMessage> {
        let (reason, prekey_id) = match (MessageType::of(failed).ok()?, error) {
            (MessageType::PreKey, Error::UnknownPreKey { id }) => {
                PreKeyMessage::from_bytes(failed).ok()?;
                (RetryReason::UnknownPreKey, id)
            }
            (MessageType::PreKey, Error::Auth) => {
                PreKeyMessage::from_bytes(failed).ok()?;
                (RetryReason::HandshakeFailed, 0)
            }
            (MessageType::Message, Error::NoSession | Error::Auth) => (RetryReason::NoSession, 0),
            _ => return None,
        };
        let mut retry = RetryMessage {
            reason,
            prekey_id,
            digest: message_digest(failed),
            timestamp: now,
            author: identity.public_key().clone(),
            recipient: recipient.clone(),
            signature: [0u8; 64],
        };
        retry.signature = identity.sign(&labelled(LABEL_RETRY, &retry.body()));
        Some(retry)
    }

    /// Why the message failed.
    pub fn reason(&self) -> RetryReason {
        self.reason
    }

    /// The unknown prekey's id ([`RetryReason::UnknownPreKey`]), else 0.
    pub fn prekey_id(&self) -> u32 {
        self.prekey_id
    }

    /// The failed message's digest: `SHA-256(message)[0..16]`.
    pub fn message_digest(&self) -> &[u8; MESSAGE_DIGEST_LEN] {
        &self.digest
    }

    /// When the failure happened, on the author's clock.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The identity key of the device that could not decrypt (and signed this).
    pub fn author(&self) -> &IdentityKey {
        &self.author
    }

    /// The identity key of the device whose message failed.
    pub fn recipient(&self) -> &IdentityKey {
        &self.recipient
    }

    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RETRY_MESSAGE_LEN);
        out.put_u8(TAG_RETRY);
        out.put_u8(RETRY_FORMAT_VERSION);
        out.put_u8(self.reason.to_byte());
        out.put_u32(self.prekey_id);
        out.put(&self.digest);
        out.put_u64(self.timestamp);
        out.put(self.author.as_bytes());
        out.put(self.recipient.as_bytes());
        out
    }

    /// The [`RETRY_MESSAGE_LEN`]-byte encoding: `'E' || 0x01 || reason ||
    /// u32(prekey id) || message digest || u64(timestamp) || author ||
    /// recipient || signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.put(&self.signature);
        out
    }

    /// Decodes and verifies a retry message.
    ///
    /// # Errors
    /// [`Error::Decode`] for a wrong tag, version or length, an unknown
    /// reason, a prekey id with [`RetryReason::NoSession`] or
    /// [`RetryReason::HandshakeFailed`] ([`DecodeError::InvalidValue`]), or
    /// a bad key encoding; [`Error::BadSignature`] if the author's signature
    /// does not verify.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        r.expect_header(TAG_RETRY, RETRY_FORMAT_VERSION)?;
        let reason = RetryReason::from_byte(r.u8()?)?;
        let prekey_id = r.u32()?;
        let digest: [u8; MESSAGE_DIGEST_LEN] = r.array()?;
        let timestamp = r.u64()?;
        let author_bytes: [u8; 32] = r.array()?;
        let author = IdentityKey::parse(&author_bytes)?;
        let recipient = IdentityKey::parse(&r.array()?)?;
        let signature: [u8; 64] = r.array()?;
        r.finish()?;
        let consistent = match reason {
            RetryReason::NoSession | RetryReason::HandshakeFailed => prekey_id == 0,
            RetryReason::UnknownPreKey => true,
        };
        if !consistent {
            return Err(DecodeError::InvalidValue.into());
        }
        let body_len = RETRY_MESSAGE_LEN - 64;
        ed25519_verify(
            &ed25519_public(&author_bytes)?,
            &labelled(LABEL_RETRY, &bytes[..body_len]),
            &signature,
        )?;
        Ok(RetryMessage { reason, prekey_id, digest, timestamp, author, recipient, signature })
    }
}

impl fmt::Debug for RetryMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryMessage")
            .field("reason", &self.reason)
            .field("prekey_id", &self.prekey_id)
            .field("timestamp", &self.timestamp)
            .field("author", &self.author)
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}
