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
    keys::{ChainKey, HeaderKey, MessageKey, RootKey},
    message::{
        Header, Mode, PreKeyMessage, PreKeyPart, WireMessage, ENCRYPTED_HEADER_LEN, MAX_PREKEY_HEADER_LEN,
        RATCHET_HEADER_LEN,
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

/// The header keys of a header-encrypted session (SPEC.md §14).
pub(crate) struct HeaderKeys {
    /// `HKs`: encrypts the headers we send.
    pub(crate) send: HeaderKey,
    /// `NHKs`: becomes `HKs` at our next ratchet step.
    pub(crate) next_send: HeaderKey,
    /// `HKr`: the current receiving chain's header key (with the chain).
    pub(crate) recv: Option<HeaderKey>,
    /// `NHKr`: the header key of the peer's next chain.
    pub(crate) next_recv: HeaderKey,
    /// The header keys of the remembered earlier receiving chains, in the
    /// order of `Session::previous_ratchet_keys`.
    pub(crate) previous_recv: VecDeque<HeaderKey>,
}

/// Which header key opened an encrypted header.
#[derive(Clone, Copy)]
enum HeaderSource {
    Current,
    Next,
    Previous(usize),
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
    /// Header encryption only (SPEC.md §14).
    pub(crate) header_keys: Option<HeaderKeys>,
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
        /// Header encryption: the new `NHKr`.
        next_header_key: Option<HeaderKey>,
    },
}

/// The largest associated data of a message body: `AD || prefix || header`.
const AD_BUF_LEN: usize = AD_LEN + MAX_PREKEY_HEADER_LEN;

/// Keys `from..to` of a chain, as skipped keys, and the chain key after them.
fn skip_keys(chain: &ChainKey, ratchet_key: &[u8; 32], from: u32, to: u32) -> (Vec<SkippedKey>, ChainKey) {
    let mut ck = ChainKey::from_bytes(*chain.as_bytes());
    // An empty range collects into an empty Vec without allocating.
    let out = (from..to).map(|n| SkippedKey { ratchet_key: *ratchet_key, n, key: ck.step() }).collect();
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
    /// Starts a session as the initiator from the responder's bundle, with
    /// headers in clear ([`Mode::Plain`]); see
    /// [`initiate_with_mode`](Self::initiate_with_mode).
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
        Self::initiate_with_mode(identity, bundle, Mode::Plain, rng)
    }

    /// Starts a session as the initiator in the given [`Mode`]; with
    /// [`Mode::HeaderEncryption`] every header is encrypted (SPEC.md §14).
    /// Otherwise as [`initiate`](Self::initiate).
    ///
    /// # Errors
    /// As [`initiate`](Self::initiate).
    pub fn initiate_with_mode<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        mode: Mode,
        rng: &mut R,
    ) -> Result<Session, Error> {
        bundle.verify()?;
        let spk = bundle.signed_prekey();
        let ek = random_x25519(rng);
        let secrets = x3dh::initiator(
            mode,
            identity,
            &ek,
            bundle.identity(),
            spk.key(),
            bundle.one_time_prekey().map(|k| k.key()),
        )?;
        let ratchet = random_x25519(rng);
        let dh = x25519(&ratchet, spk.key())?;
        let (root, chain, nhks) = RootKey::from_bytes(*secrets.sk).step(&dh, secrets.header_keys.is_some());
        let header_keys = match (secrets.header_keys, nhks) {
            (Some((hka, nhkb)), Some(nhks)) => Some(HeaderKeys {
                send: hka,
                next_send: nhks,
                recv: None,
                next_recv: nhkb,
                previous_recv: VecDeque::new(),
            }),
            _ => None,
        };
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
            header_keys,
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
        let mode = message.mode();
        let secrets =
            x3dh::responder(mode, identity, &signed_prekey.secret, opk, &part.identity, &part.base_key)?;
        // The responder's header keys before its first decryption: HKs is
        // set by that decryption's ratchet step (from NHKs = NHKb).
        let header_keys = secrets.header_keys.map(|(hka, nhkb)| HeaderKeys {
            send: HeaderKey::from_bytes([0u8; 32]),
            next_send: nhkb,
            recv: None,
            next_recv: hka,
            previous_recv: VecDeque::new(),
        });
        let mut session = Session {
            initiator: false,
            local_identity: identity.public_key().clone(),
            remote_identity: part.identity.clone(),
            ad: associated_data(&part.identity, identity.public_key()),
            root: RootKey::from_bytes(*secrets.sk),
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
            header_keys,
        };
        let wire = WireMessage::parse(message.as_bytes())?;
        let mut plaintext = vec![0u8; wire.ciphertext.len()];
        session.decrypt_wire(&wire, &mut plaintext, rng)?;
        Ok((session, plaintext))
    }

    /// The length of the message that encrypting `plaintext_len` bytes gives now.
    pub fn encrypted_len(&self, plaintext_len: usize) -> usize {
        self.prefix_len() + self.header_wire_len() + plaintext_len + TAG_LEN
    }

    /// Version, type and (while awaiting a reply) the handshake fields.
    fn prefix_len(&self) -> usize {
        2 + self.pending.as_ref().map_or(0, |p| p.encoded_len())
    }

    fn header_wire_len(&self) -> usize {
        match self.header_keys {
            None => RATCHET_HEADER_LEN,
            Some(_) => ENCRYPTED_HEADER_LEN,
        }
    }

    /// Whether this session encrypts its headers.
    pub fn mode(&self) -> Mode {
        match self.header_keys {
            None => Mode::Plain,
            Some(_) => Mode::HeaderEncryption,
        }
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
        let plen = self.prefix_len();
        let (prefix, rest) = out.split_at_mut(plen);
        let (header, body) = rest.split_at_mut(self.header_wire_len());
        let (type_prekey, type_message) = self.mode().types();
        prefix[0] = VERSION;
        match &self.pending {
            Some(part) => {
                prefix[1] = type_prekey;
                part.write_into(&mut prefix[2..]);
            }
            None => prefix[1] = type_message,
        }
        let mut h = [0u8; RATCHET_HEADER_LEN];
        Header { ratchet_key: self.sending.ratchet_key, pn: self.previous_counter, n: self.sending.n }
            .write(&mut h);

        // The body's associated data: AD || prefix || plaintext header.
        let (mut ad, prefix_end) = self.ad_with_prefix(prefix);
        let ad_end = prefix_end + RATCHET_HEADER_LEN;
        ad[prefix_end..ad_end].copy_from_slice(&h);

        let (key, next) = self.sending.chain.peek();
        let secrets = key.expand()?;
        let (ct, tag) = body.split_at_mut(plaintext.len());
        ct.copy_from_slice(plaintext);
        let t = aead_seal(&secrets.key, &secrets.nonce, &ad[..ad_end], ct)?;
        tag.copy_from_slice(&t);

        match &self.header_keys {
            None => header.copy_from_slice(&h),
            Some(keys) => {
                // The header is encrypted under a key and nonce derived from
                // HKs and the first 16 bytes of the body, with AD || prefix
                // as associated data.
                let mut sample = [0u8; TAG_LEN];
                sample.copy_from_slice(&body[..TAG_LEN]);
                let hs = keys.send.expand(&sample)?;
                let (hct, htag) = header.split_at_mut(RATCHET_HEADER_LEN);
                hct.copy_from_slice(&h);
                let t = aead_seal(&hs.key, &hs.nonce, &ad[..prefix_end], hct)?;
                htag.copy_from_slice(&t);
            }
        }

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
        if wire.mode != self.mode() {
            return Err(Error::Decode(crate::DecodeError::UnexpectedType(wire.prefix[1])));
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
        let ad_end = prefix_end + RATCHET_HEADER_LEN;
        let mut raw = [0u8; RATCHET_HEADER_LEN];
        let source = match wire.mode {
            Mode::Plain => {
                raw.copy_from_slice(wire.header);
                None
            }
            Mode::HeaderEncryption => Some(self.open_header(wire, &ad[..prefix_end], &mut raw)?),
        };
        let header = Header::parse(&raw);
        if let Some(source) = source {
            self.check_header_source(source, &header)?;
        }
        let plan = self.plan(&header)?;
        let key = match &plan {
            Plan::Stored(i) => match self.skipped.get(*i) {
                Some(k) => &k.key,
                None => return Err(Error::Duplicate),
            },
            Plan::Chain { key, .. } | Plan::Ratchet { key, .. } => key,
        };
        let secrets = key.expand()?;
        ad[prefix_end..ad_end].copy_from_slice(&raw);
        let out = &mut out[..len];
        out.copy_from_slice(wire.ciphertext);
        aead_open(&secrets.key, &secrets.nonce, &ad[..ad_end], out, &wire.tag)?;
        self.commit(plan, &header, rng)?;
        Ok(len)
    }

    /// `AD || prefix` at the start of a scratch buffer that has room for
    /// the plaintext ratchet header after it; returns the buffer and the
    /// prefix's end.
    fn ad_with_prefix(&self, prefix: &[u8]) -> ([u8; AD_BUF_LEN], usize) {
        let mut ad = [0u8; AD_BUF_LEN];
        let end = AD_LEN + prefix.len();
        ad[..AD_LEN].copy_from_slice(&self.ad);
        ad[AD_LEN..end].copy_from_slice(prefix);
        (ad, end)
    }

    /// Header encryption: decrypts the header into `raw` with the first
    /// header key that opens it, trying `HKr`, `NHKr`, then the remembered
    /// earlier receiving chains' keys, newest first (at most
    /// `2 + MAX_PREVIOUS_RATCHET_KEYS` attempts). `ad` is `AD || prefix`.
    fn open_header(
        &self,
        wire: &WireMessage<'_>,
        ad: &[u8],
        raw: &mut [u8; RATCHET_HEADER_LEN],
    ) -> Result<HeaderSource, Error> {
        let Some(keys) = &self.header_keys else { return Err(Error::Auth) };
        let sample = wire.sample();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&wire.header[RATCHET_HEADER_LEN..]);
        let mut try_key = |key: &HeaderKey| -> Result<bool, Error> {
            let hs = key.expand(&sample)?;
            raw.copy_from_slice(&wire.header[..RATCHET_HEADER_LEN]);
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
        for (i, key) in keys.previous_recv.iter().enumerate().rev() {
            if try_key(key)? {
                return Ok(HeaderSource::Previous(i));
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
            HeaderSource::Next => {
                current != Some(&h.ratchet_key) && !self.previous_ratchet_keys.contains(&h.ratchet_key)
            }
            HeaderSource::Previous(i) => self.previous_ratchet_keys.get(i) == Some(&h.ratchet_key),
        };
        if consistent {
            Ok(())
        } else {
            Err(Error::Auth)
        }
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
        let (root, chain, next_header_key) = self.root.step(&dh, self.header_keys.is_some());
        let (new_skipped, mut next) = skip_keys(&chain, &h.ratchet_key, 0, h.n);
        let key = next.step();
        Ok(Plan::Ratchet { old_skipped, root, new_skipped, key, next, next_header_key })
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
            Plan::Ratchet { old_skipped, root, new_skipped, key: _, next, next_header_key } => {
                // Everything fallible first, then the assignments.
                let ratchet = random_x25519(rng);
                let dh = x25519(&ratchet, &h.ratchet_key)?;
                let (root, sending_chain, next_send) = root.step(&dh, self.header_keys.is_some());
                for k in old_skipped.into_iter().chain(new_skipped) {
                    self.skipped.push(k);
                }
                if let Some(old) = self.receiving.take() {
                    if self.previous_ratchet_keys.len() >= MAX_PREVIOUS_RATCHET_KEYS {
                        if let Some(evicted) = self.previous_ratchet_keys.pop_front() {
                            if let Some(keys) = &mut self.header_keys {
                                // Without its header key, that chain's
                                // skipped keys can no longer be found.
                                keys.previous_recv.pop_front();
                                self.skipped.remove_chain(&evicted);
                            }
                        }
                    }
                    self.previous_ratchet_keys.push_back(old.ratchet_key);
                    if let Some(keys) = &mut self.header_keys {
                        if let Some(hkr) = keys.recv.take() {
                            keys.previous_recv.push_back(hkr);
                        }
                    }
                }
                if let (Some(keys), Some(next_recv), Some(next_send)) =
                    (&mut self.header_keys, next_header_key, next_send)
                {
                    keys.send = core::mem::replace(&mut keys.next_send, next_send);
                    keys.recv = Some(core::mem::replace(&mut keys.next_recv, next_recv));
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
            && message.mode() == self.mode()
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
            header_keys,
        } = self;
        f.debug_struct("Session")
            .field("initiator", initiator)
            .field("header_encryption", &header_keys.is_some())
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
