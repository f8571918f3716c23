//! Group call keys: each participant's media key, distributed over the
//! pairwise sessions ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §25).
//!
//! In a call through a media server (an SFU) every participant encrypts its
//! media once, with SFrame ([`super::sframe`]), under its own **sender key**,
//! and sends that key to every other participant in a [`MediaKeyMessage`]
//! over their pairwise [`Session`](crate::Session)s. The server forwards
//! frames and never holds a key.
//!
//! * **Someone joins:** the sender ratchets its key forward one step
//!   (RFC 9605 §5.1) and gives the new participant only the ratcheted key,
//!   so the newcomer cannot decrypt what was said before. The others
//!   follow by themselves: a frame with the next step in its key id makes
//!   their SFrame receiver ratchet too.
//! * **Someone leaves:** the sender makes a fresh key (a new generation)
//!   and sends it to those who stay, to be used from a caller-given time
//!   on (so that it arrives before the first frame needs it); the leaver
//!   never gets it. Until then the old key is used.
//! * **Bounded:** a receiver keeps, per sender, the newest
//!   [`MAX_RETAINED_GENERATIONS`] generations (frames of the old key still
//!   in flight decrypt during a switch), at most [`MAX_GROUP_SENDERS`]
//!   senders, and SFrame's own bounds (a replay window per key, at most
//!   [`MAX_SFRAME_RATCHET_STEPS`](super::MAX_SFRAME_RATCHET_STEPS) steps of
//!   catch-up per frame).
//!
//! Key ids: `KID = u32(sender) << 32 | u24(generation) << 8 | u8(step)`, so
//! the SFrame ratchet uses `R = 8` bits ([`GROUP_RATCHET_BITS`]). A sender
//! that has ratcheted 255 times starts a new generation instead.

use alloc::{boxed::Box, vec::Vec};
use core::fmt;

use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::sframe::{ratchet_base_key, CipherSuite, SframeReceiver, SframeSender, MAX_SUITE_HASH_LEN};
use crate::{
    codec::{Reader, Writer},
    error::DecodeError,
    media::call::CALL_ID_LEN,
    Error,
};

/// Format tag of a [`MediaKeyMessage`] (`'k'`).
pub const TAG_MEDIA_KEY: u8 = 0x6B;
/// The version of the media key message format.
pub const MEDIA_KEY_FORMAT_VERSION: u8 = 0x01;
/// Key id bits of the ratchet step (`R` of RFC 9605 §5.1).
pub const GROUP_RATCHET_BITS: u8 = 8;
/// Bytes of a fresh generation's base key.
pub const GROUP_BASE_KEY_LEN: usize = 32;
/// Generations of one sender a receiver keeps: the one in use, the one it
/// replaces (frames still in flight during a switch), and one more, because
/// two leaves within one activation delay (or a rollover while a
/// generation is pending) hand out two new generations while the old one
/// is still in use.
pub const MAX_RETAINED_GENERATIONS: usize = 3;
/// Senders one [`GroupCallReceiver`] keeps keys for. Calls through a media
/// server rarely show more than a few dozen senders at once.
pub const MAX_GROUP_SENDERS: usize = 64;

const MAX_GENERATION: u32 = (1 << 24) - 1;
const MAX_STEP: u32 = (1 << GROUP_RATCHET_BITS) - 1;

/// The generation a key id names.
fn generation_of(kid: u64) -> u32 {
    (kid >> 8) as u32 & MAX_GENERATION
}

/// The key id of `sender`'s media at `generation` and ratchet `step`.
pub fn group_kid(sender: u32, generation: u32, step: u32) -> u64 {
    (u64::from(sender) << 32) | (u64::from(generation & MAX_GENERATION) << 8) | u64::from(step & MAX_STEP)
}

/// A base key with its key id and the time from which it is used. Secret.
#[derive(Zeroize, ZeroizeOnDrop)]
struct KeyAt {
    kid: u64,
    key: [u8; MAX_SUITE_HASH_LEN],
    len: usize,
    activate_at: u64,
}

impl KeyAt {
    fn bytes(&self) -> &[u8] {
        self.key.get(..self.len).unwrap_or(&self.key)
    }
}

/// A sender key as distributed to one participant (SPEC.md §25.1): the call
/// id, the cipher suite, the key id (sender, generation, step), the time
/// from which the sender uses it, and the base key. It holds a secret:
/// send it only as the plaintext of a session message; zeroized on drop;
/// `Debug` hides the key.
pub struct MediaKeyMessage {
    call_id: [u8; CALL_ID_LEN],
    suite: CipherSuite,
    key: KeyAt,
}

impl MediaKeyMessage {
    /// The call id.
    pub fn call_id(&self) -> &[u8; CALL_ID_LEN] {
        &self.call_id
    }

    /// The key id of the key.
    pub fn kid(&self) -> u64 {
        self.key.kid
    }

    /// The sender the key belongs to (the key id's high 32 bits).
    pub fn sender(&self) -> u32 {
        (self.key.kid >> 32) as u32
    }

    /// When the sender starts using the key (its clock, seconds).
    pub fn activate_at(&self) -> u64 {
        self.key.activate_at
    }

    /// The encoding: `'k' || 0x01 || call id || u16(suite) || u64(kid) ||
    /// u64(activate_at) || u8(len) || base key`. Secret.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(2 + CALL_ID_LEN + 2 + 8 + 8 + 1 + self.key.len));
        out.put_u8(TAG_MEDIA_KEY);
        out.put_u8(MEDIA_KEY_FORMAT_VERSION);
        out.put(&self.call_id);
        out.put_u16(self.suite.id());
        out.put_u64(self.key.kid);
        out.put_u64(self.key.activate_at);
        // 32 or the suite's Nh (at most 64).
        out.put_u8(self.key.len as u8);
        out.put(self.key.bytes());
        out
    }

    /// Decodes a media key message.
    ///
    /// # Errors
    /// [`Error::Decode`]: a wrong tag or version, an unknown suite, a key
    /// length other than 32 or the suite's `Nh`, truncation, trailing
    /// bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        r.expect_header(TAG_MEDIA_KEY, MEDIA_KEY_FORMAT_VERSION)?;
        let call_id = r.array()?;
        let suite = CipherSuite::from_id(r.u16()?)?;
        let kid = r.u64()?;
        let activate_at = r.u64()?;
        let len = usize::from(r.u8()?);
        if len != GROUP_BASE_KEY_LEN && len != suite.hash_len() {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut key = KeyAt { kid, key: [0; MAX_SUITE_HASH_LEN], len, activate_at };
        key.key[..len].copy_from_slice(r.take(len)?);
        r.finish()?;
        Ok(MediaKeyMessage { call_id, suite, key })
    }
}

impl fmt::Debug for MediaKeyMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaKeyMessage")
            .field("suite", &self.suite)
            .field("kid", &self.key.kid)
            .field("activate_at", &self.key.activate_at)
            .finish_non_exhaustive()
    }
}

/// Who must receive the key messages a [`GroupCallSender`] returns.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyDistribution {
    /// Only the participant who joined: the ratcheted current key (and the
    /// pending next generation, if one waits for activation).
    Joiner(Vec<MediaKeyMessage>),
    /// Every participant now in the call (the sender's ratchet ran out, or
    /// someone left): a new generation.
    Everyone(MediaKeyMessage),
}

/// This participant's own media key in a group call (see the module docs).
/// Zeroized on drop; not `Clone`.
pub struct GroupCallSender {
    call_id: [u8; CALL_ID_LEN],
    suite: CipherSuite,
    sender: u32,
    generation: u32,
    step: u32,
    current: KeyAt,
    sframe: SframeSender,
    pending: Option<Box<KeyAt>>,
}

impl GroupCallSender {
    /// Starts sending in call `call_id` as participant `sender`, with a
    /// fresh 32-byte base key from `rng` (generation 0, step 0).
    ///
    /// # Errors
    /// None in practice (the SFrame sender of a fresh key).
    pub fn new<R: CryptoRng + ?Sized>(
        call_id: [u8; CALL_ID_LEN],
        suite: CipherSuite,
        sender: u32,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let current = fresh(group_kid(sender, 0, 0), 0, rng);
        let sframe = SframeSender::new(suite, current.kid, GROUP_RATCHET_BITS, current.bytes())?;
        Ok(GroupCallSender { call_id, suite, sender, generation: 0, step: 0, current, sframe, pending: None })
    }

    /// The key message for a participant already in the call: the current
    /// key (send it to everyone when the call starts).
    pub fn current_key(&self) -> MediaKeyMessage {
        self.message(&self.current)
    }

    /// The key id the next frame carries.
    pub fn kid(&self) -> u64 {
        self.current.kid
    }

    fn message(&self, key: &KeyAt) -> MediaKeyMessage {
        let mut copy =
            KeyAt { kid: key.kid, key: [0; MAX_SUITE_HASH_LEN], len: key.len, activate_at: key.activate_at };
        copy.key.copy_from_slice(&key.key);
        MediaKeyMessage { call_id: self.call_id, suite: self.suite, key: copy }
    }

    /// Someone joined: the key ratchets one step (RFC 9605 §5.1), and the
    /// joiner gets only the ratcheted key (plus a pending generation, if
    /// one waits). If no frame was sent under the current step yet, there
    /// is nothing to hide from the joiner and the key stays (so a silent
    /// sender does not run ahead of its receivers' catch-up bound while
    /// people join). After 255 steps the sender starts a new generation
    /// instead, which everyone must get.
    ///
    /// # Errors
    /// [`Error::CounterExhausted`] after 2^24 generations; nothing changes.
    pub fn member_joined<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) -> Result<KeyDistribution, Error> {
        if self.sframe.next_counter() == Some(0) {
            let mut messages = Vec::with_capacity(2);
            messages.push(self.message(&self.current));
            if let Some(p) = &self.pending {
                messages.push(self.message(p));
            }
            return Ok(KeyDistribution::Joiner(messages));
        }
        if self.step == MAX_STEP {
            let generation = self.next_generation()?;
            let key = fresh(group_kid(self.sender, generation, 0), 0, rng);
            let sframe = SframeSender::new(self.suite, key.kid, GROUP_RATCHET_BITS, key.bytes())?;
            let message = self.message(&key);
            self.generation = generation;
            self.step = 0;
            self.current = key;
            self.sframe = sframe;
            self.pending = None;
            return Ok(KeyDistribution::Everyone(message));
        }
        let step = self.step + 1;
        let mut next = KeyAt {
            kid: group_kid(self.sender, self.generation, step),
            key: [0; MAX_SUITE_HASH_LEN],
            len: 0,
            activate_at: self.current.activate_at,
        };
        next.len = ratchet_base_key(self.suite, self.current.bytes(), &mut next.key)?;
        let sframe = SframeSender::new(self.suite, next.kid, GROUP_RATCHET_BITS, next.bytes())?;
        let mut messages = Vec::with_capacity(2);
        messages.push(self.message(&next));
        if let Some(p) = &self.pending {
            messages.push(self.message(p));
        }
        self.step = step;
        self.current = next;
        self.sframe = sframe;
        Ok(KeyDistribution::Joiner(messages))
    }

    /// Someone left: a fresh key (the next generation) for those who stay,
    /// used from `now + activate_after` on; until then the old key sends.
    /// A pending generation not yet active is replaced (the leaver may
    /// have received it).
    ///
    /// # Errors
    /// [`Error::CounterExhausted`] after 2^24 generations; nothing changes.
    pub fn member_left<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        activate_after: u64,
        rng: &mut R,
    ) -> Result<KeyDistribution, Error> {
        let pending_generation = self.next_generation()?;
        let key =
            fresh(group_kid(self.sender, pending_generation, 0), now.saturating_add(activate_after), rng);
        let message = self.message(&key);
        self.pending = Some(Box::new(key));
        Ok(KeyDistribution::Everyone(message))
    }

    fn next_generation(&self) -> Result<u32, Error> {
        let after = self.pending.as_ref().map_or(self.generation, |p| generation_of(p.kid));
        after.checked_add(1).filter(|g| *g <= MAX_GENERATION).ok_or(Error::CounterExhausted)
    }

    /// The SFrame sender to encrypt frames with at `now`: a pending
    /// generation whose activation time has come replaces the current key
    /// first.
    ///
    /// # Errors
    /// None in practice (the SFrame sender of a fresh key).
    pub fn sframe_sender(&mut self, now: u64) -> Result<&mut SframeSender, Error> {
        if self.pending.as_ref().is_some_and(|p| now >= p.activate_at) {
            if let Some(p) = self.pending.take() {
                let sframe = SframeSender::new(self.suite, p.kid, GROUP_RATCHET_BITS, p.bytes())?;
                self.generation = generation_of(p.kid);
                self.step = 0;
                self.current = KeyAt { kid: p.kid, key: p.key, len: p.len, activate_at: p.activate_at };
                self.sframe = sframe;
            }
        }
        Ok(&mut self.sframe)
    }
}

impl fmt::Debug for GroupCallSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupCallSender")
            .field("sender", &self.sender)
            .field("kid", &self.current.kid)
            .field("pending", &self.pending.as_ref().map(|p| (p.kid, p.activate_at)))
            .finish_non_exhaustive()
    }
}

fn fresh<R: CryptoRng + ?Sized>(kid: u64, activate_at: u64, rng: &mut R) -> KeyAt {
    let mut key = KeyAt { kid, key: [0; MAX_SUITE_HASH_LEN], len: GROUP_BASE_KEY_LEN, activate_at };
    rng.fill_bytes(&mut key.key[..GROUP_BASE_KEY_LEN]);
    key
}

/// One remote sender's keys.
struct RemoteSender {
    sender: u32,
    /// Generations held, ascending (at most MAX_RETAINED_GENERATIONS).
    generations: Vec<u32>,
    /// Generations below this were dropped: their keys are refused.
    dropped_below: u32,
    sframe: SframeReceiver,
}

/// The other participants' media keys, and the SFrame receiver that
/// decrypts their frames (see the module docs).
pub struct GroupCallReceiver {
    call_id: [u8; CALL_ID_LEN],
    suite: CipherSuite,
    senders: Vec<RemoteSender>,
}

impl GroupCallReceiver {
    /// Keys for call `call_id` under `suite`.
    pub fn new(call_id: [u8; CALL_ID_LEN], suite: CipherSuite) -> Self {
        GroupCallReceiver { call_id, suite, senders: Vec::new() }
    }

    /// Takes a key message received from participant `from` over its
    /// session (the session authenticated `from`).
    ///
    /// # Errors
    /// In this order: [`Error::HandshakeMismatch`] if the message is for
    /// another call or suite; [`Error::WrongIdentity`] if its key id names
    /// another sender than `from`; [`Error::Duplicate`] if its generation was
    /// dropped already, or is held at the same or a later ratchet step (a
    /// replay: re-adding a key would reset its replay window; a key of a
    /// later step is taken, to resynchronise a receiver that missed
    /// frames);
    /// [`Error::TooLarge`] if the receiver already holds
    /// [`MAX_GROUP_SENDERS`] senders. Nothing changes on error.
    pub fn add_key(&mut self, from: u32, message: &MediaKeyMessage) -> Result<(), Error> {
        if message.call_id != self.call_id || message.suite != self.suite {
            return Err(Error::HandshakeMismatch);
        }
        if message.sender() != from {
            return Err(Error::WrongIdentity);
        }
        let generation = generation_of(message.kid());
        let index = self.senders.iter().position(|s| s.sender == from);
        if index.is_none() && self.senders.len() >= MAX_GROUP_SENDERS {
            return Err(Error::TooLarge { len: self.senders.len() + 1, max: MAX_GROUP_SENDERS });
        }
        if let Some(s) = index.and_then(|i| self.senders.get(i)) {
            if generation < s.dropped_below {
                return Err(Error::Duplicate);
            }
            if s.generations.contains(&generation) {
                let step = message.kid() & u64::from(MAX_STEP);
                if s.sframe.current_step(message.kid()).is_none_or(|held| step <= held) {
                    return Err(Error::Duplicate);
                }
            }
        }
        let sender = match index {
            Some(i) => &mut self.senders[i],
            None => {
                self.senders.push(RemoteSender {
                    sender: from,
                    generations: Vec::new(),
                    dropped_below: 0,
                    sframe: SframeReceiver::new(self.suite),
                });
                let last = self.senders.len() - 1;
                &mut self.senders[last]
            }
        };
        sender.sframe.add_base_key(message.kid(), GROUP_RATCHET_BITS, message.key.bytes())?;
        if !sender.generations.contains(&generation) {
            sender.generations.push(generation);
            sender.generations.sort_unstable();
        }
        while sender.generations.len() > MAX_RETAINED_GENERATIONS {
            let oldest = sender.generations.remove(0);
            sender.dropped_below = oldest + 1;
            sender.sframe.remove_key(group_kid(from, oldest, 0));
        }
        Ok(())
    }

    /// Forgets a participant who left.
    pub fn remove_sender(&mut self, sender: u32) {
        self.senders.retain(|s| s.sender != sender);
    }

    /// Decrypts one frame (as [`SframeReceiver::decrypt`]), from the sender
    /// its key id names.
    ///
    /// # Errors
    /// [`Error::UnknownKeyId`] if no key of that sender is held; otherwise
    /// [`SframeReceiver::decrypt`]'s. Nothing changes on error.
    pub fn decrypt(
        &mut self,
        metadata: &[u8],
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<super::SframeDecrypted, Error> {
        let (header, _) = super::SframeHeader::decode(frame)?;
        let sender = (header.kid >> 32) as u32;
        let s = self
            .senders
            .iter_mut()
            .find(|s| s.sender == sender)
            .ok_or(Error::UnknownKeyId { kid: header.kid })?;
        s.sframe.decrypt(metadata, frame, out)
    }
}

impl fmt::Debug for GroupCallReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupCallReceiver")
            .field("suite", &self.suite)
            .field("senders", &self.senders.len())
            .finish_non_exhaustive()
    }
}
