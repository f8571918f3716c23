//! Receiving ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §8, §14.4): plan, authenticate, commit.
//!
//! [`Session::plan`] finds the key of an incoming message without changing
//! the session, deriving only what authentication needs: the message's own
//! key (and, for a new ratchet step, one X25519 and one root step). The
//! keys a message makes the session skip are derived in the commit phase,
//! after the AEAD tag has verified, straight into the skipped-key store, so
//! a forged message costs at most one chain walk of `MAX_SKIP + 1` steps,
//! one X25519 and the AES-GCM check of its ciphertext before it is
//! rejected. Through `decrypt_into` nothing is allocated on the way; the
//! `Vec` API allocates the plaintext's buffer first.

use alloc::{vec, vec::Vec};

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::{Received, ReceivingChain, SendingChain, Session};
use crate::{
    keys::{ChainKey, HeaderKey, MessageKey, RootKey},
    message::{Header, MessageId, Mode, WireMessage, MAX_CLASSICAL_PREKEY_HEADER_LEN, RATCHET_HEADER_LEN},
    prekey::random_x25519,
    primitives::{aead_open, x25519, x25519_canonical, x25519_public, TAG_LEN},
    x3dh::AD_LEN,
    DecodeError, Error, MAX_SKIP,
};

/// Which header key opened an encrypted header.
#[derive(Clone, Copy)]
enum HeaderSource {
    Current,
    Next,
    Previous(usize),
}

/// Where the key of an incoming message comes from, computed without
/// touching the session.
enum Plan {
    /// A stored skipped key, at this position.
    Stored(usize),
    /// The current receiving chain, advanced to the message; the keys it
    /// skips (if any) are derived again at commit, from the chain's key.
    Chain { key: MessageKey, next: ChainKey },
    /// A new receiving chain after a Diffie-Hellman ratchet step.
    Ratchet {
        root: RootKey,
        /// The new chain's key before its first message (to derive the
        /// skipped keys from at commit).
        chain: ChainKey,
        key: MessageKey,
        /// The new chain's key after the message.
        next: ChainKey,
        /// Header encryption: the new `NHKr`.
        next_header_key: Option<HeaderKey>,
    },
}

/// The largest associated data of a classical message body:
/// `AD || prefix || header`, built on the stack.
const AD_BUF_LEN: usize = AD_LEN + MAX_CLASSICAL_PREKEY_HEADER_LEN;

/// A message body's associated data (public bytes only): on the stack for
/// every message but a hybrid PreKeyMessage, whose 1.5 KB KEM ciphertext
/// goes to the heap rather than enlarging every call's stack frame.
pub(super) enum AdBuf {
    Stack([u8; AD_BUF_LEN]),
    Heap(Vec<u8>),
}

impl core::ops::Deref for AdBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            AdBuf::Stack(a) => a,
            AdBuf::Heap(v) => v,
        }
    }
}

impl core::ops::DerefMut for AdBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            AdBuf::Stack(a) => a,
            AdBuf::Heap(v) => v,
        }
    }
}

/// Checks one chain jump against [`MAX_SKIP`].
fn check_skip(from: u32, to: u32) -> Result<(), Error> {
    let got = to.saturating_sub(from);
    if got > MAX_SKIP {
        return Err(Error::TooFarAhead { got, max: MAX_SKIP });
    }
    Ok(())
}

/// The message key of message `n` of a chain whose key at `from` is
/// `chain`, and the chain key after it: `n - from + 1` steps of `KDF_CK`,
/// the intermediate message keys not computed at all (they are derived at
/// commit, only if the message authenticates).
fn key_at(chain: &ChainKey, from: u32, n: u32) -> (MessageKey, ChainKey) {
    if from == n {
        return chain.peek();
    }
    let mut ck = chain.duplicate();
    for _ in from..n {
        ck.advance();
    }
    let key = ck.step();
    (key, ck)
}

impl Session {
    /// Decrypts a message (a Message, or one of the initiator's
    /// PreKeyMessages for this session's handshake).
    ///
    /// Draws 32 bytes from `rng` when the message starts a new ratchet step.
    ///
    /// # Errors
    /// [`Error::Decode`] for malformed bytes, [`Error::Auth`] if the message
    /// does not authenticate, [`Error::Duplicate`] if its key was already used
    /// (or evicted), [`Error::TooFarAhead`] if it would skip more than
    /// [`MAX_SKIP`](crate::MAX_SKIP) keys in a chain,
    /// [`Error::NonContributory`] for a low-order ratchet key,
    /// [`Error::HandshakeMismatch`] / [`Error::WrongIdentity`] for a
    /// PreKeyMessage of another handshake. On any error the session is
    /// unchanged.
    pub fn decrypt<R: CryptoRng + ?Sized>(&mut self, message: &[u8], rng: &mut R) -> Result<Vec<u8>, Error> {
        self.decrypt_with_id(message, rng).map(|(plaintext, _)| plaintext)
    }

    /// As [`decrypt`](Self::decrypt), and also returns the message's
    /// [`MessageId`], with which an app drops messages that a session
    /// restored from an older snapshot decrypts a second time.
    ///
    /// # Errors
    /// As [`decrypt`](Self::decrypt).
    pub fn decrypt_with_id<R: CryptoRng + ?Sized>(
        &mut self,
        message: &[u8],
        rng: &mut R,
    ) -> Result<(Vec<u8>, MessageId), Error> {
        self.decrypt_checked(message, rng, &|_| Ok(()))
    }

    /// As [`decrypt_with_id`](Self::decrypt_with_id), and the authenticated
    /// plaintext must pass `check` before anything is committed: if it
    /// fails, its error is returned and the session is unchanged (the
    /// session record unpads with it, SPEC.md §20.2).
    pub(crate) fn decrypt_checked<R: CryptoRng + ?Sized>(
        &mut self,
        message: &[u8],
        rng: &mut R,
        check: &dyn Fn(&[u8]) -> Result<(), Error>,
    ) -> Result<(Vec<u8>, MessageId), Error> {
        let wire = WireMessage::parse(message)?;
        // Zeroed on every error, also when `check` refuses a plaintext
        // that authenticated.
        let mut out = Zeroizing::new(vec![0u8; wire.ciphertext.len()]);
        let received = self.decrypt_wire(&wire, &mut out, rng, check)?;
        Ok((core::mem::take(&mut *out), received.id))
    }

    /// Decrypts into `out`; returns the plaintext length and the message's
    /// id. `out` needs `message.len() - header - 16` bytes (the ciphertext
    /// length). Works for every message `decrypt` accepts; a message on an
    /// existing chain (no ratchet step, no skipped keys, not a hybrid
    /// PreKeyMessage) performs no heap
    /// allocation.
    ///
    /// On any error after the message was parsed, the first
    /// `min(out.len(), ciphertext length)` bytes of `out` are zeroed, so no
    /// earlier plaintext is mistaken for this message's.
    ///
    /// # Errors
    /// As [`decrypt`](Self::decrypt), and [`Error::BufferTooSmall`].
    pub fn decrypt_into<R: CryptoRng + ?Sized>(
        &mut self,
        message: &[u8],
        out: &mut [u8],
        rng: &mut R,
    ) -> Result<Received, Error> {
        let wire = WireMessage::parse(message)?;
        let result = self.decrypt_wire(&wire, out, rng, &|_| Ok(()));
        if result.is_err() {
            let n = out.len().min(wire.ciphertext.len());
            out[..n].fill(0);
        }
        result
    }

    pub(super) fn decrypt_wire<R: CryptoRng + ?Sized>(
        &mut self,
        wire: &WireMessage<'_>,
        out: &mut [u8],
        rng: &mut R,
        check: &dyn Fn(&[u8]) -> Result<(), Error>,
    ) -> Result<Received, Error> {
        let len = wire.ciphertext.len();
        if out.len() < len {
            return Err(Error::BufferTooSmall { needed: len });
        }
        if wire.mode != self.mode() {
            return Err(Error::Decode(DecodeError::UnexpectedType(wire.prefix[1])));
        }
        if let Some(part) = &wire.prekey {
            if part.identity != self.remote_identity {
                return Err(Error::WrongIdentity);
            }
            if self.handshake_base_key != Some(part.base_key) {
                return Err(Error::HandshakeMismatch);
            }
        }
        // `AD || prefix` is the encrypted header's associated data; the
        // body's continues with the plaintext header.
        let (mut ad, prefix_end) = self.ad_with_prefix(wire.prefix);
        let header_len = wire.ratchet_header_len();
        let ad_end = prefix_end + header_len;
        let mut raw_buf = [0u8; RATCHET_HEADER_LEN];
        let raw = &mut raw_buf[..header_len];
        let source = match wire.mode {
            Mode::Plain => {
                raw.copy_from_slice(wire.header);
                None
            }
            Mode::HeaderEncryption => Some(self.open_header(wire, &ad[..prefix_end], raw)?),
        };
        let header = Header::parse(raw)?;
        if let Some(source) = source {
            // SPEC.md §14.4: the source first, then the ratchet key's
            // encoding (already checked at decoding in the plain mode).
            self.check_header_source(source, &header)?;
            x25519_canonical(&header.ratchet_key)?;
        }
        let plan = self.plan(&header)?;
        let key = match &plan {
            Plan::Stored(i) => match self.skipped.get(*i) {
                Some(k) => &k.key,
                None => return Err(Error::Duplicate),
            },
            Plan::Chain { key, .. } | Plan::Ratchet { key, .. } => key,
        };
        let secrets = match &header.guard {
            Some(guard) => key.expand(guard)?,
            None => key.expand_v1()?,
        };
        ad[prefix_end..ad_end].copy_from_slice(raw);
        let out = &mut out[..len];
        out.copy_from_slice(wire.ciphertext);
        aead_open(&secrets.key, &secrets.nonce, &ad[..ad_end], out, &wire.tag)?;
        check(out)?;
        self.commit(plan, &header, rng)?;
        Ok(Received { len, id: header.message_id(&wire.tag) })
    }

    /// `AD || prefix` at the start of a scratch buffer that has room for
    /// the plaintext ratchet header after it; returns the buffer and the
    /// prefix's end.
    pub(super) fn ad_with_prefix(&self, prefix: &[u8]) -> (AdBuf, usize) {
        let end = AD_LEN + prefix.len();
        let mut ad = if end + RATCHET_HEADER_LEN <= AD_BUF_LEN {
            AdBuf::Stack([0u8; AD_BUF_LEN])
        } else {
            AdBuf::Heap(vec![0u8; end + RATCHET_HEADER_LEN])
        };
        ad[..AD_LEN].copy_from_slice(&self.ad);
        ad[AD_LEN..end].copy_from_slice(prefix);
        (ad, end)
    }

    /// Header encryption: decrypts the header into `raw` with the first
    /// header key that opens it, trying `HKr`, `NHKr`, then the remembered
    /// earlier receiving chains' keys, newest first (at most
    /// `2 + MAX_PREVIOUS_RATCHET_KEYS` attempts). `ad` is `AD || prefix`.
    fn open_header(&self, wire: &WireMessage<'_>, ad: &[u8], raw: &mut [u8]) -> Result<HeaderSource, Error> {
        let Some(keys) = &self.header_keys else { return Err(Error::Auth) };
        let sample = wire.sample();
        let len = raw.len();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&wire.header[len..]);
        let mut try_key = |key: &HeaderKey| -> Result<bool, Error> {
            let hs = key.expand(&sample)?;
            raw.copy_from_slice(&wire.header[..len]);
            Ok(aead_open(&hs.key, &hs.nonce, ad, raw, &tag).is_ok())
        };
        if let Some(current) = &keys.recv {
            if try_key(current)? {
                return Ok(HeaderSource::Current);
            }
        }
        if try_key(&keys.next_recv)? {
            return Ok(HeaderSource::Next);
        }
        for i in (0..self.previous.len()).rev() {
            if let Some(key) = self.previous.header_key(i) {
                if try_key(key)? {
                    return Ok(HeaderSource::Previous(i));
                }
            }
        }
        Err(Error::Auth)
    }

    /// A header opened by a chain's header key must name that chain's
    /// ratchet key (or, for `NHKr`, a ratchet key not seen yet).
    fn check_header_source(&self, source: HeaderSource, h: &Header) -> Result<(), Error> {
        let current = self.receiving.as_ref().map(|r| &r.ratchet_key);
        let consistent = match source {
            HeaderSource::Current => current == Some(&h.ratchet_key),
            HeaderSource::Next => current != Some(&h.ratchet_key) && !self.previous.contains(&h.ratchet_key),
            HeaderSource::Previous(i) => self.previous.ratchet_key(i) == Some(&h.ratchet_key),
        };
        if consistent {
            Ok(())
        } else {
            Err(Error::Auth)
        }
    }

    /// Finds the message key for `h` without changing anything, deriving
    /// only what authentication needs.
    fn plan(&self, h: &Header) -> Result<Plan, Error> {
        if h.n == u32::MAX {
            return Err(Error::Decode(DecodeError::InvalidValue));
        }
        if let Some(recv) = &self.receiving {
            if recv.ratchet_key == h.ratchet_key {
                if h.n < recv.n {
                    return self.skipped.find(&h.ratchet_key, h.n).map(Plan::Stored).ok_or(Error::Duplicate);
                }
                check_skip(recv.n, h.n)?;
                let (key, next) = key_at(&recv.chain, recv.n, h.n);
                return Ok(Plan::Chain { key, next });
            }
        }
        if let Some(i) = self.skipped.find(&h.ratchet_key, h.n) {
            return Ok(Plan::Stored(i));
        }
        if self.previous.contains(&h.ratchet_key) {
            return Err(Error::Duplicate);
        }
        // A new ratchet step: check both jumps before deriving anything.
        if let Some(recv) = &self.receiving {
            check_skip(recv.n, h.pn)?;
        }
        check_skip(0, h.n)?;
        let dh = x25519(&self.sending.ratchet, &h.ratchet_key)?;
        let (root, chain, next_header_key) = self.root.step(&dh, self.header_keys.is_some());
        let (key, next) = key_at(&chain, 0, h.n);
        Ok(Plan::Ratchet { root, chain, key, next, next_header_key })
    }

    /// Applies a plan whose message authenticated. Nothing here fails after
    /// the first change to the session.
    fn commit<R: CryptoRng + ?Sized>(&mut self, plan: Plan, h: &Header, rng: &mut R) -> Result<(), Error> {
        match plan {
            Plan::Stored(i) => self.skipped.remove(i),
            Plan::Chain { key: _, next } => {
                if let Some(recv) = &mut self.receiving {
                    skip_into(&mut self.skipped, recv, h.n);
                    recv.chain = next;
                    recv.n = h.n + 1;
                }
            }
            Plan::Ratchet { root, chain, key: _, next, next_header_key } => {
                // Everything fallible first, then the assignments.
                let ratchet = random_x25519(rng);
                let dh = x25519(&ratchet, &h.ratchet_key)?;
                let (root, sending_chain, next_send) = root.step(&dh, self.header_keys.is_some());
                // The old chain's skipped keys, then the new chain's.
                if let Some(recv) = &mut self.receiving {
                    skip_into(&mut self.skipped, recv, h.pn);
                }
                let mut new_chain = ReceivingChain { ratchet_key: h.ratchet_key, chain, n: 0 };
                skip_into(&mut self.skipped, &mut new_chain, h.n);
                new_chain.chain = next;
                new_chain.n = h.n + 1;
                if let Some(old) = self.receiving.take() {
                    let hkr = self.header_keys.as_mut().and_then(|keys| keys.recv.take());
                    let evicted = self.previous.push(old.ratchet_key, hkr.as_ref());
                    if let (Some(evicted), Some(_)) = (evicted, &self.header_keys) {
                        // Without its header key, that chain's skipped keys
                        // can no longer be found.
                        self.skipped.remove_chain(&evicted);
                    }
                }
                if let (Some(keys), Some(next_recv), Some(next_send)) =
                    (&mut self.header_keys, next_header_key, next_send)
                {
                    keys.send = core::mem::replace(&mut keys.next_send, next_send);
                    keys.recv = Some(core::mem::replace(&mut keys.next_recv, next_recv));
                }
                self.receiving = Some(new_chain);
                self.previous_counter = self.sending.n;
                self.sending = SendingChain {
                    ratchet_key: x25519_public(&ratchet),
                    ratchet,
                    chain: sending_chain,
                    n: 0,
                };
                self.root = root;
            }
        }
        self.pending = None;
        Ok(())
    }
}

/// Advances `chain` from its position to `to`, storing each key it passes
/// as a skipped key (nothing, and no derivation, when `to` is not ahead).
fn skip_into(store: &mut crate::skipped::SkippedKeys, chain: &mut ReceivingChain, to: u32) {
    while chain.n < to {
        let mk = chain.chain.step();
        store.push(&chain.ratchet_key, chain.n, &mk);
        chain.n += 1;
    }
}
