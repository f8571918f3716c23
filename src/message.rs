//! Wire formats of the messages a session sends ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §7).
//!
//! Every message starts with the version byte [`VERSION`](crate::VERSION)
//! (`0x02`) and a type byte:
//!
//! * `0x02` **Message**: `version || type || ratchet key (32) || PN (u32 BE)
//!   || N (u32 BE) || G (16) || ciphertext || tag (16)`; the header is the
//!   first 58 bytes. `G` is the message's *reuse guard*: 16 fresh random
//!   bytes that enter the derivation of its key and nonce, so that a sender
//!   restored from an old snapshot never repeats a key and nonce.
//! * `0x01` **PreKeyMessage**, sent by an initiator until the first reply
//!   arrives: `version || type || flags || identity key (32) || base key (32)
//!   || signed prekey id (u32 BE) [|| one-time prekey id (u32 BE)] ||
//!   ratchet key (32) || PN || N || G || ciphertext || tag`; flag bit 0 says
//!   whether the one-time prekey id is present.
//!
//! Everything before the ciphertext is the *header bytes*; the AEAD's
//! associated data is `AD || header bytes`, so every bit of a message is
//! authenticated.
//!
//! With header encryption ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §14) the types are `0x04` (Message) and
//! `0x03` (PreKeyMessage), and the 56-byte ratchet header is replaced on the
//! wire by its 72-byte encryption; the body's associated data still covers
//! the plaintext header.

use alloc::vec::Vec;
use core::fmt;

use crate::{
    codec::{Hex, Reader},
    error::DecodeError,
    identity::IdentityKey,
    kem::{KemType, ML_KEM_1024_CIPHERTEXT_LEN},
    keys::GUARD_LEN,
    primitives::TAG_LEN,
    Error, MAX_PLAINTEXT_LEN, VERSION,
};

/// Type byte of a PreKeyMessage.
pub(crate) const TYPE_PREKEY: u8 = 0x01;
/// Type byte of a Message.
pub(crate) const TYPE_MESSAGE: u8 = 0x02;
/// Type byte of a header-encrypted PreKeyMessage.
pub(crate) const TYPE_PREKEY_HE: u8 = 0x03;
/// Type byte of a header-encrypted Message.
pub(crate) const TYPE_MESSAGE_HE: u8 = 0x04;
/// Length of an encrypted ratchet header: the header and an AES-GCM tag.
pub(crate) const ENCRYPTED_HEADER_LEN: usize = RATCHET_HEADER_LEN + TAG_LEN;
/// Length of the ratchet header (`ratchet key || PN || N || G`).
pub(crate) const RATCHET_HEADER_LEN: usize = 32 + 4 + 4 + GUARD_LEN;
/// Length of a version-1 ratchet header (`ratchet key || PN || N`), which
/// receivers still read ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §13).
pub(crate) const V1_RATCHET_HEADER_LEN: usize = 32 + 4 + 4;
/// The version of messages sent before the reuse guard existed; still
/// received, never sent.
pub(crate) const LEGACY_VERSION: u8 = 0x01;
/// Longest classical PreKeyMessage prefix (version, type, flags, identity
/// key, base key, both prekey ids).
pub(crate) const MAX_CLASSICAL_PREFIX_LEN: usize = 3 + 32 + 32 + 4 + 4;
/// Length of a PreKeyMessage's KEM part with the largest KEM ciphertext:
/// type byte, KEM prekey id, ciphertext ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16.4).
pub(crate) const MAX_KEM_PART_LEN: usize = 1 + 4 + ML_KEM_1024_CIPHERTEXT_LEN;
/// Longest PreKeyMessage prefix: a classical one and a KEM part.
pub(crate) const MAX_PREFIX_LEN: usize = MAX_CLASSICAL_PREFIX_LEN + MAX_KEM_PART_LEN;
/// Longest classical PreKeyMessage header (with a one-time prekey id),
/// plain mode.
pub(crate) const MAX_CLASSICAL_PREKEY_HEADER_LEN: usize = MAX_CLASSICAL_PREFIX_LEN + RATCHET_HEADER_LEN;
/// Longest PreKeyMessage header, plain mode.
pub(crate) const MAX_PREKEY_HEADER_LEN: usize = MAX_PREFIX_LEN + RATCHET_HEADER_LEN;
/// The largest message any decoder accepts.
pub const MAX_MESSAGE_LEN: usize = MAX_PREKEY_HEADER_LEN + TAG_LEN + MAX_PLAINTEXT_LEN + TAG_LEN;

/// Whether a session encrypts its Double Ratchet headers ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §14).
///
/// The initiator chooses with [`Session::initiate_with_mode`](crate::Session::initiate_with_mode);
/// the responder's session takes the mode of the first message
/// ([`PreKeyMessage::mode`]). The mode is bound into the handshake's key
/// derivation, so a relay that rewrites it makes the handshake fail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Headers in clear: a relay sees ratchet keys and message numbers.
    #[default]
    Plain,
    /// Headers encrypted: a relay sees a fixed-length ciphertext that
    /// differs every message.
    HeaderEncryption,
}

impl Mode {
    pub(crate) fn types(self) -> (u8, u8) {
        match self {
            Mode::Plain => (TYPE_PREKEY, TYPE_MESSAGE),
            Mode::HeaderEncryption => (TYPE_PREKEY_HE, TYPE_MESSAGE_HE),
        }
    }
}

/// The two kinds of message on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// A message that also carries the X3DH handshake; the first one from a
    /// new peer goes to [`Session::accept`](crate::Session::accept).
    PreKey,
    /// An ordinary Double Ratchet message for an existing session.
    Message,
}

impl MessageType {
    /// Reads the version and type bytes of a message, without parsing the
    /// rest (nor checking its length): a cheap dispatch between
    /// [`Session::accept`](crate::Session::accept) and
    /// [`Session::decrypt`](crate::Session::decrypt), which check everything.
    ///
    /// # Errors
    /// [`Error::Decode`] if the bytes are too short, or the version or type is unknown.
    pub fn of(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != VERSION && version != LEGACY_VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        match r.u8()? {
            TYPE_PREKEY | TYPE_PREKEY_HE => Ok(MessageType::PreKey),
            TYPE_MESSAGE | TYPE_MESSAGE_HE => Ok(MessageType::Message),
            t => Err(DecodeError::UnexpectedType(t).into()),
        }
    }
}

/// The Double Ratchet header: the sender's ratchet key, the length of its
/// previous sending chain, the message number in the current chain, and the
/// message's reuse guard (`None` in a version-1 message).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Header {
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) pn: u32,
    pub(crate) n: u32,
    pub(crate) guard: Option<[u8; GUARD_LEN]>,
}

impl Header {
    /// Reads a header of 56 bytes (version 2) or 40 bytes (version 1). The
    /// caller checks that the ratchet key is canonical: at decoding in the
    /// plain mode, after the header's source in header encryption ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md)
    /// §7.3, §14.4).
    pub(crate) fn parse(raw: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(raw);
        let ratchet_key = r.array()?;
        let pn = r.u32()?;
        let n = r.u32()?;
        let guard = if r.remaining() == 0 { None } else { Some(r.array()?) };
        r.finish()?;
        Ok(Header { ratchet_key, pn, n, guard })
    }

    pub(crate) fn write(&self, out: &mut [u8; RATCHET_HEADER_LEN]) {
        out[..32].copy_from_slice(&self.ratchet_key);
        out[32..36].copy_from_slice(&self.pn.to_be_bytes());
        out[36..40].copy_from_slice(&self.n.to_be_bytes());
        out[40..].copy_from_slice(&self.guard.unwrap_or_default());
    }

    /// The id of the message this header belongs to: `DHs_pub || u32(N)
    /// || G`, and for a version-1 message (no guard) the body's tag in
    /// place of `G` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §8.1).
    pub(crate) fn message_id(&self, body_tag: &[u8; TAG_LEN]) -> MessageId {
        let mut id = [0u8; MESSAGE_ID_LEN];
        id[..32].copy_from_slice(&self.ratchet_key);
        id[32..36].copy_from_slice(&self.n.to_be_bytes());
        match &self.guard {
            Some(g) => id[36..].copy_from_slice(g),
            None => id[36..].copy_from_slice(body_tag),
        }
        MessageId(id)
    }
}

/// Length of a [`MessageId`]: ratchet key, message number, reuse guard.
pub const MESSAGE_ID_LEN: usize = 32 + 4 + GUARD_LEN;

/// The identity of one decrypted message: `ratchet key || u32(N) || G`
/// from its (authenticated) header ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §8.1; for a
/// version-1 message, which has no `G`, the body's tag takes its place).
///
/// Every delivery of the same message gives the same id, and two different
/// messages never share one: even a sender restored from an old snapshot
/// that reuses a message number draws a fresh reuse guard `G`. A session
/// itself decrypts each message at most once; but a session **restored
/// from an older snapshot** (a backup, or a state saved before a crash)
/// has forgotten what it decrypted since, and decrypts those messages
/// again if the server delivers them again. To drop them, keep the ids of
/// delivered messages in storage that is *not* rolled back with the
/// session (for example beside the message history, for as long as the
/// server may redeliver), and discard a message whose id is there.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId([u8; MESSAGE_ID_LEN]);

impl MessageId {
    /// The 52 bytes of the id.
    pub fn as_bytes(&self) -> &[u8; MESSAGE_ID_LEN] {
        &self.0
    }

    /// Rebuilds an id from the bytes [`as_bytes`](Self::as_bytes) gave.
    pub fn from_bytes(bytes: [u8; MESSAGE_ID_LEN]) -> Self {
        MessageId(bytes)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({:?})", Hex(&self.0))
    }
}

/// The KEM part of a hybrid PreKeyMessage: which KEM, which KEM prekey,
/// and the ciphertext encapsulated to it ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16.4).
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct KemPart {
    pub(crate) kind: KemType,
    pub(crate) prekey_id: u32,
    pub(crate) ciphertext: Vec<u8>,
}

impl KemPart {
    pub(crate) fn encoded_len(&self) -> usize {
        1 + 4 + self.ciphertext.len()
    }
}

/// PreKeyMessage flag: a one-time prekey id follows the signed prekey id.
const PREKEY_FLAG_ONE_TIME: u8 = 0x01;
/// PreKeyMessage flag: a KEM part follows ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16.4).
const PREKEY_FLAG_KEM: u8 = 0x02;

/// The handshake fields of a PreKeyMessage.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct PreKeyPart {
    pub(crate) identity: IdentityKey,
    pub(crate) base_key: [u8; 32],
    pub(crate) signed_prekey_id: u32,
    pub(crate) one_time_prekey_id: Option<u32>,
    /// Hybrid handshake only.
    pub(crate) kem: Option<KemPart>,
}

impl PreKeyPart {
    /// Encoded length, flags byte included, version and type excluded.
    pub(crate) fn encoded_len(&self) -> usize {
        1 + 32
            + 32
            + 4
            + if self.one_time_prekey_id.is_some() { 4 } else { 0 }
            + self.kem.as_ref().map_or(0, KemPart::encoded_len)
    }

    /// Writes the fields into `out`, which is exactly
    /// [`encoded_len`](Self::encoded_len) bytes long.
    pub(crate) fn write_into(&self, out: &mut [u8]) {
        let mut flags = 0;
        if self.one_time_prekey_id.is_some() {
            flags |= PREKEY_FLAG_ONE_TIME;
        }
        if self.kem.is_some() {
            flags |= PREKEY_FLAG_KEM;
        }
        out[0] = flags;
        out[1..33].copy_from_slice(self.identity.as_bytes());
        out[33..65].copy_from_slice(&self.base_key);
        out[65..69].copy_from_slice(&self.signed_prekey_id.to_be_bytes());
        let mut at = 69;
        if let Some(id) = self.one_time_prekey_id {
            out[at..at + 4].copy_from_slice(&id.to_be_bytes());
            at += 4;
        }
        if let Some(kem) = &self.kem {
            out[at] = kem.kind.to_byte();
            out[at + 1..at + 5].copy_from_slice(&kem.prekey_id.to_be_bytes());
            out[at + 5..at + 5 + kem.ciphertext.len()].copy_from_slice(&kem.ciphertext);
        }
    }

    /// Reads the fields of a message of `version`; version-1 messages
    /// predate the KEM part, so their flag bit 1 is reserved.
    fn read(r: &mut Reader<'_>, version: u8) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        let known = if version == LEGACY_VERSION {
            PREKEY_FLAG_ONE_TIME
        } else {
            PREKEY_FLAG_ONE_TIME | PREKEY_FLAG_KEM
        };
        if flags & !known != 0 {
            return Err(DecodeError::InvalidFlags(flags));
        }
        let identity = IdentityKey::parse(&r.array()?)?;
        let base_key = r.x25519_key()?;
        let signed_prekey_id = r.u32()?;
        let one_time_prekey_id = if flags & PREKEY_FLAG_ONE_TIME != 0 { Some(r.u32()?) } else { None };
        let kem = if flags & PREKEY_FLAG_KEM != 0 {
            let kind = KemType::from_byte(r.u8()?)?;
            let prekey_id = r.u32()?;
            let ciphertext = r.take(kind.ciphertext_len())?.to_vec();
            Some(KemPart { kind, prekey_id, ciphertext })
        } else {
            None
        };
        Ok(PreKeyPart { identity, base_key, signed_prekey_id, one_time_prekey_id, kem })
    }
}

/// A parsed message borrowing the input.
pub(crate) struct WireMessage<'a> {
    /// [`VERSION`], or [`LEGACY_VERSION`] for a message without a guard.
    pub(crate) version: u8,
    pub(crate) mode: Mode,
    pub(crate) prekey: Option<PreKeyPart>,
    /// Version, type and the prekey fields: every byte before the ratchet
    /// header (or its encryption).
    pub(crate) prefix: &'a [u8],
    /// Plain mode: the ratchet header as sent. Header encryption: its
    /// encryption (56 bytes of ciphertext, 40 in version 1, then the tag).
    pub(crate) header: &'a [u8],
    pub(crate) ciphertext: &'a [u8],
    pub(crate) tag: [u8; TAG_LEN],
}

impl<'a> WireMessage<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::InvalidValue);
        }
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != VERSION && version != LEGACY_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let (mode, prekey) = match r.u8()? {
            TYPE_PREKEY => (Mode::Plain, true),
            TYPE_MESSAGE => (Mode::Plain, false),
            TYPE_PREKEY_HE => (Mode::HeaderEncryption, true),
            TYPE_MESSAGE_HE => (Mode::HeaderEncryption, false),
            t => return Err(DecodeError::UnexpectedType(t)),
        };
        let prekey = if prekey { Some(PreKeyPart::read(&mut r, version)?) } else { None };
        let prefix_len = bytes.len() - r.remaining();
        let ratchet_header_len =
            if version == LEGACY_VERSION { V1_RATCHET_HEADER_LEN } else { RATCHET_HEADER_LEN };
        let header_len = match mode {
            Mode::Plain => {
                // The ratchet key is the header's first field: checked as
                // soon as it is read (decoding rule, SPEC.md §1).
                r.x25519_key()?;
                r.take(ratchet_header_len - 32)?;
                ratchet_header_len
            }
            Mode::HeaderEncryption => {
                r.take(ratchet_header_len + TAG_LEN)?;
                ratchet_header_len + TAG_LEN
            }
        };
        let header = &bytes[prefix_len..prefix_len + header_len];
        if r.remaining() < TAG_LEN {
            return Err(DecodeError::Truncated);
        }
        let body = r.rest();
        let (ciphertext, tag) = body.split_at(body.len() - TAG_LEN);
        // No sender produces more; MAX_MESSAGE_LEN alone would leave room
        // for a plain Message 89 bytes longer.
        if ciphertext.len() > MAX_PLAINTEXT_LEN {
            return Err(DecodeError::InvalidValue);
        }
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag);
        Ok(WireMessage { version, mode, prekey, prefix: &bytes[..prefix_len], header, ciphertext, tag: t })
    }

    /// Length of the plain ratchet header: 56 bytes, 40 in version 1.
    pub(crate) fn ratchet_header_len(&self) -> usize {
        if self.version == LEGACY_VERSION {
            V1_RATCHET_HEADER_LEN
        } else {
            RATCHET_HEADER_LEN
        }
    }

    /// The first 16 bytes of `ciphertext || tag`, from which header
    /// encryption derives its per-message key and nonce.
    pub(crate) fn sample(&self) -> [u8; TAG_LEN] {
        let mut s = [0u8; TAG_LEN];
        let n = self.ciphertext.len().min(TAG_LEN);
        s[..n].copy_from_slice(&self.ciphertext[..n]);
        s[n..].copy_from_slice(&self.tag[..TAG_LEN - n]);
        s
    }
}

/// A received PreKeyMessage: the first message(s) of a new session.
///
/// Parse it with [`from_bytes`](Self::from_bytes), look up the prekeys it
/// names in your own storage, then call
/// [`Session::accept`](crate::Session::accept).
#[derive(Clone, PartialEq, Eq)]
pub struct PreKeyMessage {
    pub(crate) part: PreKeyPart,
    pub(crate) bytes: Vec<u8>,
}

impl PreKeyMessage {
    /// Parses a PreKeyMessage.
    ///
    /// # Errors
    /// [`Error::Decode`] if the bytes are not a well-formed PreKeyMessage
    /// (including [`DecodeError::UnexpectedType`] for an ordinary Message)
    /// or larger than [`MAX_MESSAGE_LEN`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let wire = WireMessage::parse(bytes)?;
        match wire.prekey {
            Some(part) => Ok(PreKeyMessage { part, bytes: bytes.to_vec() }),
            None => Err(DecodeError::UnexpectedType(wire.prefix[1]).into()),
        }
    }

    /// The sender's identity key, as the message claims it.
    ///
    /// **Unauthenticated until [`Session::accept`](crate::Session::accept)
    /// succeeds:** anyone can build a PreKeyMessage naming any identity key.
    /// Use it to look up keys and policy, never to show or trust a sender
    /// before `accept` has returned a session; after that the handshake has
    /// proved the sender holds it, and whether it is the contact you expect
    /// is for you to check.
    pub fn sender_identity(&self) -> &IdentityKey {
        &self.part.identity
    }

    /// The id of the signed prekey the sender used.
    pub fn signed_prekey_id(&self) -> u32 {
        self.part.signed_prekey_id
    }

    /// The id of the one-time prekey the sender used, if any.
    pub fn one_time_prekey_id(&self) -> Option<u32> {
        self.part.one_time_prekey_id
    }

    /// The sender's ephemeral (base) key, unique to this handshake.
    pub fn base_key(&self) -> &[u8; 32] {
        &self.part.base_key
    }

    /// The id of the KEM prekey the sender encapsulated to, and its KEM
    /// type, if the handshake is hybrid ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16); `None` for a classical
    /// (X25519-only) handshake.
    pub fn kem_prekey_id(&self) -> Option<(KemType, u32)> {
        self.part.kem.as_ref().map(|k| (k.kind, k.prekey_id))
    }

    /// Whether the handshake is hybrid (X25519 and a KEM).
    pub fn is_post_quantum(&self) -> bool {
        self.part.kem.is_some()
    }

    /// Whether the initiator chose header encryption; the session that
    /// [`Session::accept`](crate::Session::accept) creates uses this mode.
    /// Reject the message if your application requires another.
    pub fn mode(&self) -> Mode {
        match self.bytes.get(1) {
            Some(&TYPE_PREKEY_HE) => Mode::HeaderEncryption,
            _ => Mode::Plain,
        }
    }

    /// The message bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for PreKeyMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreKeyMessage")
            .field("sender_identity", &self.part.identity)
            .field("signed_prekey_id", &self.part.signed_prekey_id)
            .field("one_time_prekey_id", &self.part.one_time_prekey_id)
            .field("kem_prekey_id", &self.kem_prekey_id())
            .field("len", &self.bytes.len())
            .finish()
    }
}
