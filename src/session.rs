//! A Double Ratchet session between two devices (SPEC.md §6-§8).
//!
//! A [`Session`] is created by [`Session::initiate`] (from the peer's
//! [`PreKeyBundle`]) or by [`Session::accept`] (from the peer's first
//! [`PreKeyMessage`]). It then encrypts with [`Session::encrypt`] and
//! decrypts with [`Session::decrypt`].
//!
//! # Guarantees
//!
//! * **Transactional:** every method either succeeds or leaves the session
//!   exactly as it was. A forged, replayed, truncated or garbled message
//!   changes nothing; the candidate keys are computed on the side and
//!   committed only after the AEAD tag has verified.
//! * **Bounded:** a message may make the session skip at most
//!   [`MAX_SKIP`](crate::MAX_SKIP) keys per chain, and at most
//!   [`MAX_SKIPPED_KEYS`](crate::MAX_SKIPPED_KEYS) skipped keys are stored
//!   (oldest evicted first), so memory per session is bounded.
//! * **Exactly once:** each message key is used once and then deleted; a
//!   second delivery of the same message is [`Error::Duplicate`].
//! * **Sans-IO:** nothing here reads a clock, file, socket or global RNG.
//!   Randomness comes from the RNG you pass; state leaves as bytes you
//!   persist ([`Session::to_bytes`]).

use alloc::{collections::VecDeque, vec, vec::Vec};
use core::fmt;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;

use crate::{
    identity::{IdentityKey, IdentityKeyPair},
    keys::{ChainKey, MessageKey, RootKey},
    message::{
        Header, PreKeyMessage, PreKeyPart, WireMessage, MAX_PREKEY_HEADER_LEN, RATCHET_HEADER_LEN,
        TYPE_MESSAGE, TYPE_PREKEY,
    },
    prekey::{random_x25519, OneTimePreKey, PreKeyBundle, SignedPreKey},
    primitives::{aead_open, aead_seal, x25519, x25519_public, TAG_LEN},
    skipped::{SkippedKey, SkippedKeys},
    x3dh::{self, associated_data, AD_LEN},
    Error, MAX_PLAINTEXT_LEN, MAX_PREVIOUS_RATCHET_KEYS, MAX_SKIP, VERSION,
};

pub(crate) struct SendingChain {
    pub(crate) ratchet: StaticSecret,
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) chain: ChainKey,
    pub(crate) n: u32,
}

pub(crate) struct ReceivingChain {
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) chain: ChainKey,
    pub(crate) n: u32,
}

/// An end-to-end encrypted session with one peer device.
///
/// Not `Clone` (two copies would reuse message keys); persist and restore it
/// with [`to_bytes`](Self::to_bytes) / [`from_bytes`](Self::from_bytes) or
/// [`seal`](Self::seal) / [`open`](Self::open) after every call that
/// changed it.
///
/// # Example
/// ```
/// use chatcrypt::{IdentityKeyPair, OneTimePreKey, PreKeyBundle, PreKeyMessage, Session, SignedPreKey};
/// # use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
/// # let mut rng = ChaCha20Rng::from_seed([7; 32]);
/// // Bob publishes a bundle.
/// let bob = IdentityKeyPair::generate(&mut rng);
/// let spk = SignedPreKey::generate(&bob, 1, &mut rng);
/// let opk = OneTimePreKey::generate(100, &mut rng);
/// let bundle = PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()));
///
/// // Alice starts a session from it and sends a first message.
/// let alice = IdentityKeyPair::generate(&mut rng);
/// let mut alice_session = Session::initiate(&alice, &bundle, &mut rng)?;
/// let wire = alice_session.encrypt(b"hi Bob")?;
///
/// // Bob reads the prekey ids, looks the secrets up, and accepts.
/// let first = PreKeyMessage::from_bytes(&wire)?;
/// assert_eq!(first.one_time_prekey_id(), Some(100));
/// let (mut bob_session, plaintext) = Session::accept(&bob, &spk, Some(&opk), &first, &mut rng)?;
/// drop(opk); // a one-time prekey is deleted after a successful accept
/// assert_eq!(plaintext, b"hi Bob");
///
/// let reply = bob_session.encrypt(b"hi Alice")?;
/// assert_eq!(alice_session.decrypt(&reply, &mut rng)?, b"hi Alice");
/// # Ok::<(), chatcrypt::Error>(())
/// ```
pub struct Session {
    pub(crate) initiator: bool,
    pub(crate) local_identity: IdentityKey,
    pub(crate) remote_identity: IdentityKey,
    pub(crate) ad: [u8; AD_LEN],
    pub(crate) root: RootKey,
    pub(crate) sending: SendingChain,
    pub(crate) previous_counter: u32,
    pub(crate) receiving: Option<ReceivingChain>,
    pub(crate) previous_ratchet_keys: VecDeque<[u8; 32]>,
    pub(crate) skipped: SkippedKeys,
    /// Initiator only: the handshake fields sent with every message until
    /// the first reply decrypts.
    pub(crate) pending: Option<PreKeyPart>,
    /// Responder only: the base key of the handshake that created the
    /// session, to recognise the initiator's later PreKeyMessages.
    pub(crate) handshake_base_key: Option<[u8; 32]>,
}

/// Where the key of an incoming message comes from, computed without
/// touching the session.
enum Plan {
    /// A stored skipped key, at this index.
    Stored(usize),
    /// The current receiving chain, advanced.
    Chain { skipped: Vec<SkippedKey>, key: MessageKey, next: ChainKey },
    /// A new receiving chain after a Diffie-Hellman ratchet step.
    Ratchet {
        old_skipped: Vec<SkippedKey>,
        root: RootKey,
        new_skipped: Vec<SkippedKey>,
        key: MessageKey,
        next: ChainKey,
    },
}

/// Keys `from..to` of a chain, as skipped keys, and the chain key after them.
fn skip_keys(chain: &ChainKey, ratchet_key: &[u8; 32], from: u32, to: u32) -> (Vec<SkippedKey>, ChainKey) {
    let mut ck = ChainKey::from_bytes(*chain.as_bytes());
    let mut out = Vec::new();
    if to > from {
        out.reserve_exact((to - from) as usize);
        for n in from..to {
            out.push(SkippedKey { ratchet_key: *ratchet_key, n, key: ck.step() });
        }
    }
    (out, ck)
}

/// Checks one chain jump against [`MAX_SKIP`].
fn check_skip(from: u32, to: u32) -> Result<(), Error> {
    let got = to.saturating_sub(from);
    if got > MAX_SKIP {
        return Err(Error::TooFarAhead { got, max: MAX_SKIP });
    }
    Ok(())
}

impl Session {
    /// Starts a session as the initiator from the responder's bundle.
    ///
    /// The bundle's signature is verified before anything else. The session's
    /// messages are PreKeyMessages until the first reply decrypts.
    /// Draws 64 bytes from `rng`: the ephemeral (base) key, then the first
    /// ratchet key.
    ///
    /// # Errors
    /// [`Error::BadSignature`] if the bundle's signature does not verify,
    /// [`Error::NonContributory`] if a prekey has low order.
    pub fn initiate<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        rng: &mut R,
    ) -> Result<Session, Error> {
        bundle.verify()?;
        let spk = bundle.signed_prekey();
        let ek = random_x25519(rng);
        let sk = x3dh::initiator(
            identity,
            &ek,
            bundle.identity(),
            spk.key(),
            bundle.one_time_prekey().map(|k| k.key()),
        )?;
        let ratchet = random_x25519(rng);
        let dh = x25519(&ratchet, spk.key())?;
        let (root, chain) = RootKey::from_bytes(*sk).ratchet(&dh);
        Ok(Session {
            initiator: true,
            local_identity: identity.public_key().clone(),
            remote_identity: bundle.identity().clone(),
            ad: associated_data(identity.public_key(), bundle.identity()),
            root,
            sending: SendingChain { ratchet_key: x25519_public(&ratchet), ratchet, chain, n: 0 },
            previous_counter: 0,
            receiving: None,
            previous_ratchet_keys: VecDeque::new(),
            skipped: SkippedKeys::default(),
            pending: Some(PreKeyPart {
                identity: identity.public_key().clone(),
                base_key: x25519_public(&ek),
                signed_prekey_id: spk.id(),
                one_time_prekey_id: bundle.one_time_prekey().map(|k| k.id()),
            }),
            handshake_base_key: None,
        })
    }

    /// Accepts a session as the responder from the initiator's first
    /// PreKeyMessage, and decrypts that message.
    ///
    /// Read [`PreKeyMessage::signed_prekey_id`] and
    /// [`PreKeyMessage::one_time_prekey_id`] first and look the secrets up in
    /// your own storage. **After a successful accept, delete the one-time
    /// prekey** (and persist that deletion together with the new session), so
    /// that the handshake cannot be replayed. If you already have a session
    /// whose handshake matches ([`Session::matches`]), pass the message to its
    /// [`decrypt`](Self::decrypt) instead.
    ///
    /// Draws 32 bytes from `rng` (the first sending ratchet key).
    ///
    /// # Errors
    /// [`Error::UnknownPreKey`] if the prekeys passed in are not the ones the
    /// message names (or a one-time prekey is passed that it does not name),
    /// [`Error::NonContributory`] for low-order keys, [`Error::Auth`] if the
    /// message does not authenticate, [`Error::TooFarAhead`] if it would skip
    /// too many keys.
    pub fn accept<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        signed_prekey: &SignedPreKey,
        one_time_prekey: Option<&OneTimePreKey>,
        message: &PreKeyMessage,
        rng: &mut R,
    ) -> Result<(Session, Vec<u8>), Error> {
        let part = &message.part;
        if part.signed_prekey_id != signed_prekey.id() {
            return Err(Error::UnknownPreKey { id: part.signed_prekey_id });
        }
        let opk = match (part.one_time_prekey_id, one_time_prekey) {
            (Some(id), Some(k)) if k.id() == id => Some(&k.secret),
            (Some(id), _) => return Err(Error::UnknownPreKey { id }),
            (None, Some(k)) => return Err(Error::UnknownPreKey { id: k.id() }),
            (None, None) => None,
        };
        let sk = x3dh::responder(identity, &signed_prekey.secret, opk, &part.identity, &part.base_key)?;
        let mut session = Session {
            initiator: false,
            local_identity: identity.public_key().clone(),
            remote_identity: part.identity.clone(),
            ad: associated_data(&part.identity, identity.public_key()),
            root: RootKey::from_bytes(*sk),
            // The signed prekey is the responder's first ratchet key; the
            // chain key here is never used, as the first decrypt replaces
            // the sending chain or the session is dropped.
            sending: SendingChain {
                ratchet: signed_prekey.secret.clone(),
                ratchet_key: *signed_prekey.public().key(),
                chain: ChainKey::from_bytes([0u8; 32]),
                n: 0,
            },
            previous_counter: 0,
            receiving: None,
            previous_ratchet_keys: VecDeque::new(),
            skipped: SkippedKeys::default(),
            pending: None,
            handshake_base_key: Some(part.base_key),
        };
        let wire = WireMessage::parse(message.as_bytes())?;
        let mut plaintext = vec![0u8; wire.ciphertext.len()];
        session.decrypt_wire(&wire, &mut plaintext, rng)?;
        Ok((session, plaintext))
    }

    /// The length of the message that encrypting `plaintext_len` bytes gives now.
    pub fn encrypted_len(&self, plaintext_len: usize) -> usize {
        self.header_len() + plaintext_len + TAG_LEN
    }

    fn header_len(&self) -> usize {
        2 + self.pending.as_ref().map_or(0, |p| p.encoded_len()) + RATCHET_HEADER_LEN
    }

    /// Encrypts a message to the peer.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a plaintext over
    /// [`MAX_PLAINTEXT_LEN`](crate::MAX_PLAINTEXT_LEN),
    /// [`Error::CounterExhausted`] after 2^32 - 1 messages in one chain.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::TooLarge { len: plaintext.len(), max: MAX_PLAINTEXT_LEN });
        }
        let mut out = vec![0u8; self.encrypted_len(plaintext.len())];
        let n = self.encrypt_into(plaintext, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// Encrypts into `out` without allocating; returns the message length
    /// ([`encrypted_len`](Self::encrypted_len)).
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt), and [`Error::BufferTooSmall`].
    pub fn encrypt_into(&mut self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::TooLarge { len: plaintext.len(), max: MAX_PLAINTEXT_LEN });
        }
        let needed = self.encrypted_len(plaintext.len());
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        // N = 0xFFFFFFFF is never sent, so that PN always fits in a u32.
        if self.sending.n == u32::MAX {
            return Err(Error::CounterExhausted);
        }
        let (out, _) = out.split_at_mut(needed);
        let hlen = self.header_len();
        let (header, body) = out.split_at_mut(hlen);
        header[0] = VERSION;
        let rest = match &self.pending {
            Some(part) => {
                header[1] = TYPE_PREKEY;
                let l = part.encoded_len();
                part.write_into(&mut header[2..2 + l]);
                &mut header[2 + l..]
            }
            None => {
                header[1] = TYPE_MESSAGE;
                &mut header[2..]
            }
        };
        let mut h = [0u8; RATCHET_HEADER_LEN];
        Header { ratchet_key: self.sending.ratchet_key, pn: self.previous_counter, n: self.sending.n }
            .write(&mut h);
        rest.copy_from_slice(&h);

        let mut ad = [0u8; AD_LEN + MAX_PREKEY_HEADER_LEN];
        ad[..AD_LEN].copy_from_slice(&self.ad);
        ad[AD_LEN..AD_LEN + hlen].copy_from_slice(header);

        let (key, next) = self.sending.chain.peek();
        let secrets = key.expand()?;
        let (ct, tag) = body.split_at_mut(plaintext.len());
        ct.copy_from_slice(plaintext);
        let t = aead_seal(&secrets.key, &secrets.nonce, &ad[..AD_LEN + hlen], ct)?;
        tag.copy_from_slice(&t);

        self.sending.chain = next;
        self.sending.n += 1;
        Ok(needed)
    }

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
        let wire = WireMessage::parse(message)?;
        let mut out = vec![0u8; wire.ciphertext.len()];
        self.decrypt_wire(&wire, &mut out, rng)?;
        Ok(out)
    }

    /// Decrypts into `out`; returns the plaintext length. `out` needs
    /// `message.len() - header - 16` bytes (the ciphertext length). Works for
    /// every message `decrypt` accepts; a message on an existing chain (no
    /// ratchet step, no skipped keys) performs no heap allocation.
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
    ) -> Result<usize, Error> {
        let wire = WireMessage::parse(message)?;
        let result = self.decrypt_wire(&wire, out, rng);
        if result.is_err() {
            let n = out.len().min(wire.ciphertext.len());
            out[..n].fill(0);
        }
        result
    }

    fn decrypt_wire<R: CryptoRng + ?Sized>(
        &mut self,
        wire: &WireMessage<'_>,
        out: &mut [u8],
        rng: &mut R,
    ) -> Result<usize, Error> {
        let len = wire.ciphertext.len();
        if out.len() < len {
            return Err(Error::BufferTooSmall { needed: len });
        }
        if let Some(part) = &wire.prekey {
            if part.identity != self.remote_identity {
                return Err(Error::WrongIdentity);
            }
            if self.handshake_base_key != Some(part.base_key) {
                return Err(Error::HandshakeMismatch);
            }
        }
        let plan = self.plan(&wire.header)?;
        let key = match &plan {
            Plan::Stored(i) => match self.skipped.get(*i) {
                Some(k) => &k.key,
                None => return Err(Error::Duplicate),
            },
            Plan::Chain { key, .. } | Plan::Ratchet { key, .. } => key,
        };
        let secrets = key.expand()?;
        let hlen = wire.header_bytes.len();
        let mut ad = [0u8; AD_LEN + MAX_PREKEY_HEADER_LEN];
        ad[..AD_LEN].copy_from_slice(&self.ad);
        ad[AD_LEN..AD_LEN + hlen].copy_from_slice(wire.header_bytes);
        let out = &mut out[..len];
        out.copy_from_slice(wire.ciphertext);
        aead_open(&secrets.key, &secrets.nonce, &ad[..AD_LEN + hlen], out, &wire.tag)?;
        self.commit(plan, &wire.header, rng)?;
        Ok(len)
    }

    /// Finds the message key for `h` without changing anything.
    fn plan(&self, h: &Header) -> Result<Plan, Error> {
        if h.n == u32::MAX {
            return Err(Error::Decode(crate::DecodeError::InvalidValue));
        }
        if let Some(recv) = &self.receiving {
            if recv.ratchet_key == h.ratchet_key {
                if h.n < recv.n {
                    return self.skipped.find(&h.ratchet_key, h.n).map(Plan::Stored).ok_or(Error::Duplicate);
                }
                check_skip(recv.n, h.n)?;
                let (skipped, mut next) = skip_keys(&recv.chain, &h.ratchet_key, recv.n, h.n);
                let key = next.step();
                return Ok(Plan::Chain { skipped, key, next });
            }
        }
        if let Some(i) = self.skipped.find(&h.ratchet_key, h.n) {
            return Ok(Plan::Stored(i));
        }
        if self.previous_ratchet_keys.contains(&h.ratchet_key) {
            return Err(Error::Duplicate);
        }
        // A new ratchet step: check both jumps before deriving anything.
        if let Some(recv) = &self.receiving {
            check_skip(recv.n, h.pn)?;
        }
        check_skip(0, h.n)?;
        let old_skipped = match &self.receiving {
            Some(recv) => skip_keys(&recv.chain, &recv.ratchet_key, recv.n, h.pn).0,
            None => Vec::new(),
        };
        let dh = x25519(&self.sending.ratchet, &h.ratchet_key)?;
        let (root, chain) = self.root.ratchet(&dh);
        let (new_skipped, mut next) = skip_keys(&chain, &h.ratchet_key, 0, h.n);
        let key = next.step();
        Ok(Plan::Ratchet { old_skipped, root, new_skipped, key, next })
    }

    /// Applies a plan whose message authenticated.
    fn commit<R: CryptoRng + ?Sized>(&mut self, plan: Plan, h: &Header, rng: &mut R) -> Result<(), Error> {
        match plan {
            Plan::Stored(i) => self.skipped.remove(i),
            Plan::Chain { skipped, key: _, next } => {
                for k in skipped {
                    self.skipped.push(k);
                }
                if let Some(recv) = &mut self.receiving {
                    recv.chain = next;
                    recv.n = h.n + 1;
                }
            }
            Plan::Ratchet { old_skipped, root, new_skipped, key: _, next } => {
                // Everything fallible first, then the assignments.
                let ratchet = random_x25519(rng);
                let dh = x25519(&ratchet, &h.ratchet_key)?;
                let (root, sending_chain) = root.ratchet(&dh);
                for k in old_skipped.into_iter().chain(new_skipped) {
                    self.skipped.push(k);
                }
                if let Some(old) = self.receiving.take() {
                    if self.previous_ratchet_keys.len() >= MAX_PREVIOUS_RATCHET_KEYS {
                        self.previous_ratchet_keys.pop_front();
                    }
                    self.previous_ratchet_keys.push_back(old.ratchet_key);
                }
                self.receiving = Some(ReceivingChain { ratchet_key: h.ratchet_key, chain: next, n: h.n + 1 });
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

    /// Whether `message` is a PreKeyMessage of the handshake that created
    /// this (responder) session, so that it belongs to [`decrypt`](Self::decrypt)
    /// rather than to a new [`accept`](Self::accept).
    pub fn matches(&self, message: &PreKeyMessage) -> bool {
        self.handshake_base_key.as_ref() == Some(message.base_key())
            && message.sender_identity() == &self.remote_identity
    }

    /// The peer's identity key.
    pub fn remote_identity(&self) -> &IdentityKey {
        &self.remote_identity
    }

    /// Our own identity key.
    pub fn local_identity(&self) -> &IdentityKey {
        &self.local_identity
    }

    /// Whether this side started the session.
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    /// Whether our messages still carry the handshake (no reply decrypted yet).
    pub fn awaiting_reply(&self) -> bool {
        self.pending.is_some()
    }

    /// How many skipped message keys are stored.
    pub fn skipped_key_count(&self) -> usize {
        self.skipped.len()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Session {
            initiator,
            local_identity,
            remote_identity,
            ad: _,
            root: _,
            sending,
            previous_counter,
            receiving,
            previous_ratchet_keys: _,
            skipped,
            pending,
            handshake_base_key: _,
        } = self;
        f.debug_struct("Session")
            .field("initiator", initiator)
            .field("local_identity", local_identity)
            .field("remote_identity", remote_identity)
            .field("sending_n", &sending.n)
            .field("previous_counter", previous_counter)
            .field("receiving_n", &receiving.as_ref().map(|r| r.n))
            .field("skipped_keys", &skipped.len())
            .field("awaiting_reply", &pending.is_some())
            .finish_non_exhaustive()
    }
}
