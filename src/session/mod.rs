//! A Double Ratchet session between two devices ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §6-§8).
//!
//! A [`Session`] is created by [`Session::initiate`] (from the peer's
//! [`PreKeyBundle`]) or by [`Session::accept`] (from the peer's first
//! [`PreKeyMessage`]). It then encrypts with [`Session::encrypt`] and
//! decrypts with [`Session::decrypt`]. Sending lives in `send.rs`, receiving
//! (plan, authenticate, commit) in `receive.rs`, the chain state in
//! `chains.rs`.
//!
//! # Guarantees
//!
//! * **Transactional:** every method either succeeds or leaves the session
//!   exactly as it was. A forged, replayed, truncated or garbled message
//!   changes nothing; the candidate keys are computed on the side and
//!   committed only after the AEAD tag has verified.
//! * **No key and nonce twice, whatever you persist:** every message draws
//!   a fresh 16-byte reuse guard that enters its key and nonce derivation,
//!   so a session restored from any older snapshot (a crash before you
//!   saved, a restored backup) never encrypts two plaintexts under one
//!   AES-GCM key and nonce ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §6.3, §12).
//! * **Bounded:** a message may make the session skip at most
//!   [`MAX_SKIP`](crate::MAX_SKIP) keys per chain, and at most
//!   [`MAX_SKIPPED_KEYS`](crate::MAX_SKIPPED_KEYS) skipped keys are stored
//!   (oldest evicted first), so memory per session is bounded.
//! * **Exactly once:** each message key is used once and then deleted; a
//!   second delivery of the same message is [`Error::Duplicate`].
//! * **Forward secrecy in memory:** used and evicted keys are overwritten in
//!   place; no growth or removal step leaves a copy in freed memory.
//! * **Sans-IO:** nothing here reads a clock, file, socket or global RNG.
//!   Randomness comes from the RNG you pass; state leaves as bytes you
//!   persist ([`Session::to_bytes`]).

mod chains;
mod receive;
mod send;

use alloc::{vec, vec::Vec};
use core::fmt;

pub(crate) use chains::{HeaderKeys, PreviousChains, ReceivingChain, SendingChain};
use rand_core::CryptoRng;

use crate::{
    identity::{IdentityKey, IdentityKeyPair},
    kem::KemType,
    keys::{ChainKey, HeaderKey, RootKey},
    message::{KemPart, MessageId, Mode, PreKeyMessage, PreKeyPart, WireMessage},
    prekey::{random_x25519, KemPreKey, KemPreKeyUse, OneTimePreKey, PreKeyBundle, SignedPreKey},
    primitives::{x25519, x25519_public},
    skipped::SkippedKeys,
    x3dh::{self, associated_data, KemShare, AD_LEN},
    Error,
};

/// An end-to-end encrypted session with one peer device.
///
/// Not `Clone` (two live copies would send under the same chain); persist
/// and restore it with [`to_bytes`](Self::to_bytes) /
/// [`from_bytes`](Self::from_bytes) or [`seal`](Self::seal) /
/// [`open`](Self::open).
///
/// # What to persist, and when
///
/// * **After every call that returned `Ok` and changed the session**
///   ([`encrypt`](Self::encrypt), [`decrypt`](Self::decrypt), and the
///   session [`accept`](Self::accept) returns), store its new state,
///   replacing the old one. A call that returned `Err` changed nothing.
/// * **Persist before you send**, if you can: store the state after
///   `encrypt`, then hand the message to the network. This is not needed
///   for confidentiality (see below), but a message sent from a state that
///   is then lost is re-sent under the same message number after a
///   restore, and the peer drops the second one as
///   [`Error::Duplicate`] if it saw the first.
/// * **Whatever you persist, no key and nonce repeats.** If the app crashes
///   between `encrypt` and storing the state, or restores an older snapshot
///   (a phone backup), the restored session encrypts again under message
///   keys it already used; each encryption mixes 16 fresh bytes from your
///   RNG (the reuse guard) into its AES-GCM key and nonce, so no two
///   plaintexts share one. What the peer sees after a rollback is in
///   [SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §12: messages on a number it already received are dropped as
///   duplicates; a sender rolled back across a ratchet step has a root key
///   the peer has moved past, and the session must be replaced by a new
///   one.
/// * **The RNG must not be restored with the session.** The guarantee above
///   assumes the RNG never repeats itself: the OS generator, or one seeded
///   from it at each start. An RNG whose own state is saved and restored
///   along with the session (a persisted DRBG, a whole-VM snapshot) draws
///   the same guard again, and then a key and nonce do repeat
///   ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §12).
/// * **After restoring an older snapshot as a receiver,** messages the lost
///   state had already decrypted decrypt again if the server redelivers
///   them; drop them by their [`MessageId`] (see there).
/// * A one-time prekey passed to [`accept`](Self::accept) is consumed:
///   delete it from storage together with storing the new session.
///
/// # Example
/// ```
/// use chatcrypt::{
///     AcceptPolicy, IdentityKeyPair, KemPreKey, KemPreKeyUse, OneTimePreKey, PreKeyBundle, PreKeyMessage, Session,
///     SignedPreKey,
/// };
/// # use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
/// # let mut rng = ChaCha20Rng::from_seed([7; 32]);
/// // Bob publishes a bundle.
/// let bob = IdentityKeyPair::generate(&mut rng);
/// let spk = SignedPreKey::generate(&bob, 1, &mut rng);
/// let opk = OneTimePreKey::generate(100, &mut rng);
/// let kpk = KemPreKey::generate(&bob, 200, &mut rng);
/// let bundle = PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()))
///     .with_kem_prekey(kpk.public().clone());
///
/// // Alice starts a (hybrid) session from it and sends a first message.
/// let alice = IdentityKeyPair::generate(&mut rng);
/// let mut alice_session = Session::initiate(&alice, &bundle, &mut rng)?;
/// let wire = alice_session.encrypt(b"hi Bob", &mut rng)?;
///
/// // Bob reads the prekey ids, looks the secrets up, and accepts. The
/// // one-time prekeys are consumed: he deletes them from storage as he
/// // stores the new session.
/// let first = PreKeyMessage::from_bytes(&wire)?;
/// assert_eq!(first.one_time_prekey_id(), Some(100));
/// let kem = Some(KemPreKeyUse::OneTime(kpk));
/// let accepted = Session::accept(&bob, &spk, Some(opk), kem, &first, AcceptPolicy::default(), &mut rng)?;
/// let mut bob_session = accepted.session;
/// assert_eq!(accepted.plaintext, b"hi Bob");
///
/// let reply = bob_session.encrypt(b"hi Alice", &mut rng)?;
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
    pub(crate) previous: PreviousChains,
    pub(crate) skipped: SkippedKeys,
    /// Initiator only: the handshake fields sent with every message until
    /// the first reply decrypts.
    pub(crate) pending: Option<PreKeyPart>,
    /// Responder only: the base key of the handshake that created the
    /// session, to recognise the initiator's later PreKeyMessages.
    pub(crate) handshake_base_key: Option<[u8; 32]>,
    /// Header encryption only ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §14).
    pub(crate) header_keys: Option<HeaderKeys>,
    /// The KEM of a hybrid handshake ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16); `None` if classical.
    pub(crate) kem: Option<KemType>,
}

/// Whether a handshake must be hybrid (X25519 and ML-KEM,
/// [SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16), for the initiator
/// ([`Session::initiate_with`]) and the responder ([`AcceptPolicy`]).
///
/// Whatever the policy, an initiator whose bundle offers a KEM prekey
/// always makes the hybrid handshake: it never falls back to the classical
/// one on its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PqPolicy {
    /// Only the hybrid handshake (the default): a bundle without a KEM
    /// prekey, or a PreKeyMessage without a KEM part, is refused with
    /// [`Error::PostQuantumRequired`]. A relay that strips the KEM part is
    /// detected this way.
    #[default]
    Required,
    /// The classical handshake too, for peers that publish no KEM prekeys
    /// yet. A relay can then strip the KEM prekey from a bundle and make
    /// the session classical; use it only while such peers exist.
    AllowClassical,
}

/// What a responder accepts from initiators: the header mode
/// ([`ModePolicy`]) and whether the handshake must be hybrid
/// ([`PqPolicy`]). The default accepts either mode and requires the hybrid
/// handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptPolicy {
    /// The header modes accepted.
    pub mode: ModePolicy,
    /// Whether the classical handshake is accepted.
    pub pq: PqPolicy,
}

impl AcceptPolicy {
    /// A policy from its two parts.
    pub const fn new(mode: ModePolicy, pq: PqPolicy) -> Self {
        AcceptPolicy { mode, pq }
    }
}

/// Which modes a responder accepts from initiators ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §5.2).
///
/// The initiator chooses the mode and the handshake binds it, so a relay
/// cannot change it; a policy lets the responder refuse an initiator's
/// choice, for example to require header encryption.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModePolicy {
    /// Either mode: the initiator chooses.
    #[default]
    Any,
    /// Only [`Mode::HeaderEncryption`].
    HeaderEncryptionOnly,
    /// Only [`Mode::Plain`].
    PlainOnly,
}

impl ModePolicy {
    /// Whether the policy accepts a session in `mode`.
    pub fn allows(self, mode: Mode) -> bool {
        match self {
            ModePolicy::Any => true,
            ModePolicy::HeaderEncryptionOnly => mode == Mode::HeaderEncryption,
            ModePolicy::PlainOnly => mode == Mode::Plain,
        }
    }
}

/// What [`Session::accept`] returns: the new session and the first
/// message.
#[non_exhaustive]
pub struct Accepted {
    /// The new session; persist it (and delete the consumed one-time
    /// prekey) before acting on the plaintext.
    pub session: Session,
    /// The plaintext of the first message.
    pub plaintext: Vec<u8>,
    /// The id of the first message (see [`MessageId`]).
    pub id: MessageId,
}

/// Shows the session, the message id and the plaintext's length, never the
/// plaintext.
impl fmt::Debug for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Accepted { session, plaintext, id } = self;
        f.debug_struct("Accepted")
            .field("session", session)
            .field("plaintext_len", &plaintext.len())
            .field("id", id)
            .finish()
    }
}

/// What [`Session::decrypt_into`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Received {
    /// The plaintext's length, at the start of the output buffer.
    pub len: usize,
    /// The id of the message (see [`MessageId`]).
    pub id: MessageId,
}

impl Session {
    /// Starts a session as the initiator from the responder's bundle, with
    /// headers in clear ([`Mode::Plain`]) and the hybrid post-quantum
    /// handshake ([`PqPolicy::Required`]); see
    /// [`initiate_with`](Self::initiate_with).
    ///
    /// # Errors
    /// As [`initiate_with`](Self::initiate_with); in particular
    /// [`Error::PostQuantumRequired`] if the bundle has no KEM prekey.
    pub fn initiate<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        rng: &mut R,
    ) -> Result<Session, Error> {
        Self::initiate_with_mode(identity, bundle, Mode::Plain, rng)
    }

    /// Starts a session as the initiator in the given [`Mode`], with the
    /// hybrid handshake required; with [`Mode::HeaderEncryption`] every
    /// header is encrypted ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §14).
    ///
    /// # Errors
    /// As [`initiate_with`](Self::initiate_with).
    pub fn initiate_with_mode<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        mode: Mode,
        rng: &mut R,
    ) -> Result<Session, Error> {
        Self::initiate_with(identity, bundle, mode, PqPolicy::Required, rng)
    }

    /// Starts a session as the initiator from the responder's bundle in the
    /// given [`Mode`] and under the given [`PqPolicy`].
    ///
    /// If the bundle has a KEM prekey the handshake is hybrid
    /// ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16), whatever the policy; without one it is classical if
    /// `pq` allows it, else [`Error::PostQuantumRequired`] before any other
    /// work. Then the bundle's prekey encodings and signatures are checked
    /// (its KEM key passed the FIPS 203 check when it was decoded). The
    /// session's messages are PreKeyMessages until the
    /// first reply decrypts. Draws from `rng`: the ephemeral (base) key (32
    /// bytes), the KEM encapsulation's message (32, hybrid only), then the
    /// first ratchet key (32).
    ///
    /// # Errors
    /// [`Error::PostQuantumRequired`] (see above), [`Error::Decode`] for a
    /// non-canonical prekey, [`Error::BadSignature`]
    /// if a bundle signature does not verify, [`Error::NonContributory`] if
    /// a prekey has low order.
    pub fn initiate_with<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        mode: Mode,
        pq: PqPolicy,
        rng: &mut R,
    ) -> Result<Session, Error> {
        // Fail closed: only an explicit AllowClassical permits it.
        if bundle.kem_prekey().is_none() && !matches!(pq, PqPolicy::AllowClassical) {
            return Err(Error::PostQuantumRequired);
        }
        let ik_b_x = bundle.verified_identity_x25519()?;
        // The KEM key passed the FIPS 203 check when the bundle's
        // KemPreKeyPublic was built (SPEC.md §16.5 step 2).
        let kem_key = bundle.kem_prekey().map(|k| (k, k.encapsulation_key()));
        let spk = bundle.signed_prekey();
        let ek = random_x25519(rng);
        let (kem_share, kem_part) = match kem_key {
            Some((k, ek_kem)) => {
                let (ciphertext, secret) = ek_kem.encapsulate(rng);
                let share = KemShare::new(k.kem_type(), secret, k.key(), &ciphertext);
                (Some(share), Some(KemPart { kind: k.kem_type(), prekey_id: k.id(), ciphertext }))
            }
            None => (None, None),
        };
        let secrets = x3dh::initiator(
            mode,
            identity,
            &ek,
            &ik_b_x,
            spk.key(),
            bundle.one_time_prekey().map(|k| k.key()),
            kem_share.as_ref(),
        )?;
        let ratchet = random_x25519(rng);
        let dh = x25519(&ratchet, spk.key())?;
        let (root, chain, nhks) = RootKey::from_bytes(*secrets.sk).step(&dh, secrets.header_keys.is_some());
        let header_keys = match (secrets.header_keys, nhks) {
            (Some((hka, nhkb)), Some(nhks)) => {
                Some(HeaderKeys { send: hka, next_send: nhks, recv: None, next_recv: nhkb })
            }
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
            previous: PreviousChains::default(),
            skipped: SkippedKeys::default(),
            pending: Some(PreKeyPart {
                identity: identity.public_key().clone(),
                base_key: x25519_public(&ek),
                signed_prekey_id: spk.id(),
                one_time_prekey_id: bundle.one_time_prekey().map(|k| k.id()),
                kem: kem_part,
            }),
            handshake_base_key: None,
            header_keys,
            kem: kem_share.map(|k| k.kind),
        })
    }

    /// Accepts a session as the responder from the initiator's first
    /// PreKeyMessage, and decrypts that message.
    ///
    /// Read [`PreKeyMessage::signed_prekey_id`],
    /// [`PreKeyMessage::one_time_prekey_id`] and
    /// [`PreKeyMessage::kem_prekey_id`] first and look the secrets up in
    /// your own storage. One-time prekeys (X25519, and KEM as
    /// [`KemPreKeyUse::OneTime`]) are taken by value: **using them consumes
    /// them.** After a successful accept, delete them from your storage in
    /// the same transaction that stores the new session, so that the
    /// handshake cannot be accepted a second time. If accept fails, nothing
    /// was used up: the copies in your storage are still valid. The
    /// last-resort KEM prekey is only borrowed
    /// ([`KemPreKeyUse::LastResort`]).
    ///
    /// **Replays through the last-resort KEM prekey.** A handshake that used
    /// the last-resort KEM prekey and no one-time X25519 prekey can be
    /// replayed to a device that has lost the session (a server can force
    /// that combination). Keep, for as long as the last-resort key lives,
    /// the triples `(kem_prekey_id, signed_prekey_id, base_key)` of the
    /// accepts that used it ([`PreKeyMessage::kem_prekey_id`],
    /// [`PreKeyMessage::signed_prekey_id`], [`PreKeyMessage::base_key`]),
    /// and drop a PreKeyMessage whose triple is there (SPEC.md §16.7).
    ///
    /// If you already have a session whose handshake matches
    /// ([`Session::matches`]), pass the message to its
    /// [`decrypt`](Self::decrypt) instead. The sender's identity
    /// ([`PreKeyMessage::sender_identity`]) is authenticated only once this
    /// returns `Ok`.
    ///
    /// Draws 32 bytes from `rng` (the first sending ratchet key). In a hybrid
    /// handshake the KEM ciphertext is decapsulated with implicit rejection
    /// (FIPS 203): a wrong ciphertext gives a wrong key and fails as
    /// [`Error::Auth`] at the first message.
    ///
    /// The type system enforces the "once": a one-time prekey cannot be
    /// handed to two accepts.
    ///
    /// ```compile_fail
    /// # use chatcrypt::{AcceptPolicy, IdentityKeyPair, KemPreKey, KemPreKeyUse, OneTimePreKey, PreKeyBundle, PreKeyMessage, Session, SignedPreKey};
    /// # use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
    /// # let mut rng = ChaCha20Rng::from_seed([7; 32]);
    /// # let bob = IdentityKeyPair::generate(&mut rng);
    /// # let spk = SignedPreKey::generate(&bob, 1, &mut rng);
    /// # let kpk = KemPreKey::generate(&bob, 5, &mut rng);
    /// # let opk = OneTimePreKey::generate(100, &mut rng);
    /// # let bundle = PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()))
    /// #     .with_kem_prekey(kpk.public().clone());
    /// # let (alice, carol) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
    /// # let m1 = PreKeyMessage::from_bytes(&Session::initiate(&alice, &bundle, &mut rng)?.encrypt(b"1", &mut rng)?)?;
    /// # let m2 = PreKeyMessage::from_bytes(&Session::initiate(&carol, &bundle, &mut rng)?.encrypt(b"2", &mut rng)?)?;
    /// let first = Session::accept(&bob, &spk, Some(opk), Some(KemPreKeyUse::OneTime(kpk)), &m1, AcceptPolicy::default(), &mut rng)?;
    /// // error[E0382]: use of moved value: `opk` (and `kpk`)
    /// let second = Session::accept(&bob, &spk, Some(opk), Some(KemPreKeyUse::OneTime(kpk)), &m2, AcceptPolicy::default(), &mut rng)?;
    /// # Ok::<(), chatcrypt::Error>(())
    /// ```
    ///
    /// # Errors
    /// In this order: [`Error::ModeNotAllowed`] if `policy` refuses the
    /// message's mode; [`Error::PostQuantumRequired`] if the message is
    /// classical and `policy` requires the hybrid handshake;
    /// [`Error::UnknownPreKey`] if the prekeys passed in are not the ones
    /// the message names (signed, then one-time, then KEM prekey; a prekey
    /// passed that the message does not name is reported with its own id);
    /// [`Error::NonContributory`] for low-order keys; [`Error::Auth`] if the
    /// message does not authenticate; [`Error::TooFarAhead`] if it would
    /// skip too many keys.
    pub fn accept<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        signed_prekey: &SignedPreKey,
        one_time_prekey: Option<OneTimePreKey>,
        kem_prekey: Option<KemPreKeyUse<'_>>,
        message: &PreKeyMessage,
        policy: AcceptPolicy,
        rng: &mut R,
    ) -> Result<Accepted, Error> {
        let accepted = Self::accept_with_keys(
            identity,
            signed_prekey,
            one_time_prekey.as_ref(),
            kem_prekey.as_ref().map(KemPreKeyUse::key),
            message,
            policy,
            rng,
        )?;
        drop(one_time_prekey);
        drop(kem_prekey);
        Ok(accepted)
    }

    /// [`accept`](Self::accept) with borrowed prekeys, for callers that
    /// delete the consumed ones themselves after success (the
    /// [`SessionRecord`](crate::SessionRecord) through its
    /// [`LocalDevice`](crate::LocalDevice)).
    pub(crate) fn accept_with_keys<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        signed_prekey: &SignedPreKey,
        one_time_prekey: Option<&OneTimePreKey>,
        kem_prekey: Option<&KemPreKey>,
        message: &PreKeyMessage,
        policy: AcceptPolicy,
        rng: &mut R,
    ) -> Result<Accepted, Error> {
        let mode = message.mode();
        if !policy.mode.allows(mode) {
            return Err(Error::ModeNotAllowed { mode });
        }
        let part = &message.part;
        if part.kem.is_none() && !matches!(policy.pq, PqPolicy::AllowClassical) {
            return Err(Error::PostQuantumRequired);
        }
        if part.signed_prekey_id != signed_prekey.id() {
            return Err(Error::UnknownPreKey { id: part.signed_prekey_id });
        }
        let opk = match (part.one_time_prekey_id, one_time_prekey) {
            (Some(id), Some(k)) if k.id() == id => Some(&k.secret),
            (Some(id), _) => return Err(Error::UnknownPreKey { id }),
            (None, Some(k)) => return Err(Error::UnknownPreKey { id: k.id() }),
            (None, None) => None,
        };
        let kem_share = match (&part.kem, kem_prekey) {
            (Some(m), Some(k)) if k.id() == m.prekey_id && k.kem_type() == m.kind => {
                let secret = k.pair.decapsulate(&m.ciphertext)?;
                Some(KemShare::new(m.kind, secret, k.public().key(), &m.ciphertext))
            }
            (Some(m), _) => return Err(Error::UnknownPreKey { id: m.prekey_id }),
            (None, Some(k)) => return Err(Error::UnknownPreKey { id: k.id() }),
            (None, None) => None,
        };
        let secrets = x3dh::responder(
            mode,
            identity,
            &signed_prekey.secret,
            opk,
            &part.identity,
            &part.base_key,
            kem_share.as_ref(),
        )?;
        // The responder's header keys before its first decryption: HKs is
        // set by that decryption's ratchet step (from NHKs = NHKb).
        let header_keys = secrets.header_keys.map(|(hka, nhkb)| HeaderKeys {
            send: HeaderKey::from_bytes([0u8; 32]),
            next_send: nhkb,
            recv: None,
            next_recv: hka,
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
            previous: PreviousChains::default(),
            skipped: SkippedKeys::default(),
            pending: None,
            handshake_base_key: Some(part.base_key),
            header_keys,
            kem: kem_share.map(|k| k.kind),
        };
        let wire = WireMessage::parse(message.as_bytes())?;
        let mut plaintext = vec![0u8; wire.ciphertext.len()];
        let received = session.decrypt_wire(&wire, &mut plaintext, rng, &|_| Ok(()))?;
        Ok(Accepted { session, plaintext, id: received.id })
    }

    /// Whether this session encrypts its headers.
    pub fn mode(&self) -> Mode {
        match self.header_keys {
            None => Mode::Plain,
            Some(_) => Mode::HeaderEncryption,
        }
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

    /// The KEM of the session's hybrid handshake, or `None` if the session
    /// was made with the classical (X25519-only) handshake.
    pub fn handshake_kem(&self) -> Option<KemType> {
        self.kem
    }

    /// Whether the session was made with the hybrid post-quantum handshake,
    /// so that recording its traffic now does not let a future quantum
    /// computer decrypt it (SPEC.md §16.7 says what this covers).
    pub fn is_post_quantum(&self) -> bool {
        self.kem.is_some()
    }

    /// Whether our messages still carry the handshake (no reply decrypted yet).
    pub fn awaiting_reply(&self) -> bool {
        self.pending.is_some()
    }

    /// The base key of the handshake that made the session: our own while
    /// awaiting a reply as initiator, the initiator's as responder; `None`
    /// for an initiator that got its reply (it no longer needs it).
    pub(crate) fn base_key(&self) -> Option<&[u8; 32]> {
        match &self.pending {
            Some(p) => Some(&p.base_key),
            None => self.handshake_base_key.as_ref(),
        }
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
            previous,
            skipped,
            pending,
            handshake_base_key: _,
            header_keys,
            kem,
        } = self;
        f.debug_struct("Session")
            .field("initiator", initiator)
            .field("header_encryption", &header_keys.is_some())
            .field("kem", kem)
            .field("local_identity", local_identity)
            .field("remote_identity", remote_identity)
            .field("sending_n", &sending.n)
            .field("previous_counter", previous_counter)
            .field("receiving_n", &receiving.as_ref().map(|r| r.n))
            .field("previous_chains", &previous.len())
            .field("skipped_keys", &skipped.len())
            .field("awaiting_reply", &pending.is_some())
            .finish_non_exhaustive()
    }
}
