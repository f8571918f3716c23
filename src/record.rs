//! Session records: every session with one remote device
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §20).
//!
//! A [`SessionRecord`] holds the **current** session with one device of a
//! peer (the one to send on) and at most [`MAX_ARCHIVED_SESSIONS`] earlier
//! ones (newest first; the oldest is dropped), which still decrypt messages
//! already in flight. It guarantees:
//!
//! * **Trust is checked.** Sending, and receiving on an existing session,
//!   requires [`PeerAccount::authorize`] for the session's remote identity;
//!   a new handshake is authorized only *after* it authenticated, and a
//!   refused one changes nothing (no prekey consumed, no session stored).
//! * **Bounded work.** A message is tried on at most `1 +
//!   MAX_ARCHIVED_SESSIONS` sessions, current first, then archived from
//!   newest to oldest; each try costs at most one session decryption.
//! * **Convergence.** When both devices start a session at the same time,
//!   both end up sending on the same one as soon as each has received a
//!   message of the other, and every message still decrypts: of two live
//!   sessions, the one with the lower handshake base key is current on
//!   both ends (SPEC.md §20.3). A session that can no longer be used (the
//!   peer lost it, or the device list no longer vouches for its identity)
//!   gives way to any other.
//! * **Expiry.** A session we started that got no reply within
//!   [`MAX_UNACKNOWLEDGED_AGE`] seconds is not sent on
//!   ([`Error::SessionExpired`]): fetch a new bundle and
//!   [`initiate`](SessionRecord::initiate) again.
//! * **Padded.** Every plaintext is padded inside the encryption (by
//!   default with [`PaddingPolicy::DEFAULT`]; the policy is stated in each
//!   message), and every decrypted one must carry exactly the padding its
//!   stated policy gives ([`Error::Padding`] otherwise), so a relay learns
//!   only a length class (SPEC.md §26).
//! * **Transactional.** Every call succeeds or leaves the record (and the
//!   [`LocalDevice`]) exactly as it was.
//!
//! Time is the caller's `now`, in seconds, as for [`LocalDevice`].

use alloc::{boxed::Box, vec::Vec};
use core::fmt;

use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::{
    account::DeviceId,
    codec::{Reader, Writer},
    device::LocalDevice,
    error::DecodeError,
    identity::IdentityKey,
    message::{MessageId, MessageType, Mode, PreKeyMessage},
    padding::{self, PaddingPolicy},
    prekey::PreKeyBundle,
    recovery::{message_digest, RetryMessage, RetryReason},
    sealed::{self, OpenedEnvelope, SenderCertificate},
    session::{AcceptPolicy, PqPolicy, Session},
    trust::PeerAccount,
    Error,
};

/// The most earlier sessions a record keeps besides the current one. One
/// is needed for a simultaneous start, one more for a restart (reinstall or
/// recovery) racing it; four also cover a restart during a simultaneous
/// start on both sides. Each is one more trial decryption for a message
/// that matches no session, so the bound is also the work bound; libsignal
/// keeps 40.
pub const MAX_ARCHIVED_SESSIONS: usize = 4;
/// How long, in seconds, a session we started may go without a reply
/// before the record stops sending on it: 30 days.
pub const MAX_UNACKNOWLEDGED_AGE: u64 = 30 * 24 * 60 * 60;
/// How many recently decrypted messages a record remembers (by a 16-byte
/// digest of their bytes), to tell an exact copy of one
/// ([`Error::Duplicate`]) from another message that names an already used
/// key ([`Error::UsedKey`]). 64 covers redeliveries of a burst; 1 KiB per
/// record.
pub const MAX_RECENT_MESSAGES: usize = 64;
/// How many of its last sent messages a record remembers (by digest, with
/// the session they were sent on), so that a [`RetryMessage`] is acted on
/// only for a message this device really sent on its current session. 48
/// bytes each.
pub const MAX_SENT_MESSAGES: usize = 32;
/// Format tag of an encoded [`SessionRecord`] (`'R'`).
pub const TAG_SESSION_RECORD: u8 = 0x52;
/// The version of the record format.
pub const RECORD_FORMAT_VERSION: u8 = 0x01;

/// Entry flag: the peer reported, with a [`RetryMessage`], that it lost
/// this session; it is never made current again.
const FLAG_PEER_LOST: u8 = 1;

/// How a [`SessionRecord`] starts and accepts sessions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionPolicy {
    /// The header mode of sessions this device starts.
    pub mode: Mode,
    /// Whether this device may start a classical session with a peer that
    /// publishes no KEM prekey.
    pub pq: PqPolicy,
    /// What this device accepts from initiators.
    pub accept: AcceptPolicy,
}

impl SessionPolicy {
    /// A policy from its parts.
    pub const fn new(mode: Mode, pq: PqPolicy, accept: AcceptPolicy) -> Self {
        SessionPolicy { mode, pq, accept }
    }
}

/// One session and what the record knows about it.
pub(crate) struct Entry {
    pub(crate) session: Session,
    pub(crate) base_key: [u8; 32],
    pub(crate) created_at: u64,
    pub(crate) flags: u8,
}

impl Entry {
    fn new(session: Session, created_at: u64) -> Result<Box<Entry>, Error> {
        let base_key = *session.base_key().ok_or(Error::Decode(DecodeError::InvalidValue))?;
        Ok(Box::new(Entry { session, base_key, created_at, flags: 0 }))
    }

    fn peer_lost(&self) -> bool {
        self.flags & FLAG_PEER_LOST != 0
    }
}

/// What [`SessionRecord::decrypt`] returns.
#[non_exhaustive]
pub struct Decrypted {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The message's id (see [`MessageId`]).
    pub id: MessageId,
    /// Whether the message started a new session (a PreKeyMessage the
    /// record accepted).
    pub new_session: bool,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("plaintext_len", &self.plaintext.len())
            .field("id", &self.id)
            .field("new_session", &self.new_session)
            .finish()
    }
}

/// What [`SessionRecord::handle_retry`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryOutcome {
    /// The current session was archived: fetch a new bundle for the device
    /// and [`initiate`](SessionRecord::initiate), then resend what the peer
    /// could not read.
    StartNewSession,
    /// The retry concerns a session already replaced, or is older than the
    /// current session: nothing to do.
    Ignored,
}

/// All sessions with one remote device (see the module docs).
pub struct SessionRecord {
    pub(crate) device: DeviceId,
    /// Digests of the last [`MAX_RECENT_MESSAGES`] messages decrypted, oldest first.
    pub(crate) recent: Vec<[u8; 16]>,
    /// Digests of the last [`MAX_SENT_MESSAGES`] messages sent, with the
    /// base key of their session, oldest first.
    pub(crate) sent: Vec<([u8; 16], [u8; 32])>,
    pub(crate) current: Option<Box<Entry>>,
    /// Newest first, at most [`MAX_ARCHIVED_SESSIONS`].
    #[allow(clippy::vec_box)] // one allocation per secret, wiped on drop; moves are pointer moves
    pub(crate) archived: Vec<Box<Entry>>,
}

impl SessionRecord {
    /// An empty record for the peer's device `device`.
    pub fn new(device: DeviceId) -> Self {
        SessionRecord { device, recent: Vec::new(), sent: Vec::new(), current: None, archived: Vec::new() }
    }

    /// The remote device.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The session to send on, if any.
    pub fn current_session(&self) -> Option<&Session> {
        self.current.as_ref().map(|e| &e.session)
    }

    /// The handshake base key of the current session: an id of the session
    /// that both ends share, so two records are on the same session exactly
    /// when their ids are equal.
    pub fn current_session_id(&self) -> Option<&[u8; 32]> {
        self.current.as_ref().map(|e| &e.base_key)
    }

    /// How many earlier sessions are kept.
    pub fn archived_count(&self) -> usize {
        self.archived.len()
    }

    /// Whether the record has no session to send on at `now` (none, or
    /// one that expired unanswered): fetch a bundle and
    /// [`initiate`](Self::initiate).
    pub fn needs_new_session(&self, now: u64) -> bool {
        match &self.current {
            None => true,
            Some(e) => expired(e, now),
        }
    }

    /// Starts a session with the device from its `bundle` (fetched from the
    /// server), under `policy`; it becomes the current session and the old
    /// one is archived.
    ///
    /// # Errors
    /// [`PeerAccount::authorize`]'s errors if the bundle's identity key is
    /// not the one the peer's device list gives this device (checked
    /// first); then [`Session::initiate_with`]'s.
    pub fn initiate<R: CryptoRng + ?Sized>(
        &mut self,
        local: &LocalDevice,
        peer: &PeerAccount,
        bundle: &PreKeyBundle,
        policy: &SessionPolicy,
        now: u64,
        rng: &mut R,
    ) -> Result<(), Error> {
        peer.authorize(self.device, bundle.identity())?;
        let session = Session::initiate_with(&local.identity, bundle, policy.mode, policy.pq, rng)?;
        let entry = Entry::new(session, now)?;
        if let Some(old) = self.current.replace(entry) {
            self.archive(old);
        }
        Ok(())
    }

    /// Encrypts `plaintext` on the current session.
    ///
    /// # Errors
    /// [`Error::NoSession`] without a current session;
    /// [`Error::SessionExpired`] if it is ours, unanswered and older than
    /// [`MAX_UNACKNOWLEDGED_AGE`] at `now`; [`PeerAccount::authorize`]'s
    /// errors (an account key change awaiting a decision, a device no
    /// longer listed or listed with another identity key); then
    /// [`Session::encrypt`]'s.
    ///
    /// The plaintext is padded with [`PaddingPolicy::DEFAULT`]; see
    /// [`encrypt_padded`](Self::encrypt_padded).
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &PeerAccount,
        plaintext: &[u8],
        now: u64,
        rng: &mut R,
    ) -> Result<Vec<u8>, Error> {
        self.encrypt_padded(peer, plaintext, PaddingPolicy::DEFAULT, now, rng)
    }

    /// As [`encrypt`](Self::encrypt), padding the plaintext with `padding`
    /// (SPEC.md §26; the policy travels inside the message, the receiver
    /// needs no setting).
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt); after the authorization,
    /// [`Error::TooLarge`] if the padded plaintext would exceed
    /// [`MAX_PLAINTEXT_LEN`](crate::MAX_PLAINTEXT_LEN).
    pub fn encrypt_padded<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &PeerAccount,
        plaintext: &[u8],
        padding: PaddingPolicy,
        now: u64,
        rng: &mut R,
    ) -> Result<Vec<u8>, Error> {
        let entry = self.current.as_mut().ok_or(Error::NoSession)?;
        if expired(entry, now) {
            return Err(Error::SessionExpired);
        }
        peer.authorize(self.device, entry.session.remote_identity())?;
        let padded = Zeroizing::new(padding::pad(padding, plaintext, crate::MAX_PLAINTEXT_LEN)?);
        let message = entry.session.encrypt(&padded, rng)?;
        let base_key = entry.base_key;
        if self.sent.len() >= MAX_SENT_MESSAGES {
            self.sent.remove(0);
        }
        self.sent.push((message_digest(&message), base_key));
        Ok(message)
    }

    /// Decrypts a message from the device: a PreKeyMessage of a session in
    /// the record, a new PreKeyMessage (accepted with `local`'s prekeys,
    /// which it consumes on success), or a Message, tried on the current
    /// session and then on the archived ones, newest first.
    ///
    /// # Errors
    /// [`Error::Decode`] for malformed bytes. For a new PreKeyMessage:
    /// [`Error::UnknownPreKey`] if `local` does not hold (or no longer
    /// accepts) a prekey it names, then [`Session::accept`]'s errors, then
    /// [`PeerAccount::authorize`]'s for the authenticated sender identity.
    /// For a message on existing sessions: [`Error::NoSession`] if the
    /// record has none; otherwise the error of the first session tried,
    /// except that [`Error::Duplicate`] from any session wins (a replay),
    /// and that sessions `peer` does not authorize are not tried (their
    /// error is returned if no session is left). A [`Error::Duplicate`] is
    /// returned only for an exact copy of one of the last
    /// [`MAX_RECENT_MESSAGES`] messages the record decrypted; any other
    /// message that names an already used key is [`Error::UsedKey`] (a
    /// corrupted or forged copy, or a message from a sender restored from an
    /// older state: it cannot be authenticated). [`Error::Padding`] if
    /// the message authenticates but its plaintext is not padded exactly
    /// as its stated policy gives (SPEC.md §26.2). Nothing changes on
    /// error.
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        local: &mut LocalDevice,
        peer: &PeerAccount,
        message: &[u8],
        policy: &SessionPolicy,
        now: u64,
        rng: &mut R,
    ) -> Result<Decrypted, Error> {
        self.decrypt_from(local, peer, message, policy, now, None, rng)
    }

    /// Encrypts `plaintext` on the current session, as
    /// [`encrypt`](Self::encrypt) (default padding), and seals the message
    /// for the session's remote identity (SPEC.md §27.2, padding none: the
    /// record padded the plaintext already), so the server does not learn
    /// the sender. `local` is this device, `certificate` its sender
    /// certificate from the server.
    ///
    /// # Errors
    /// [`Error::WrongIdentity`] if `certificate` names another identity
    /// key than `local`'s (checked first); [`Error::CertificateExpired`]
    /// if it has expired at `now` (renew it before it does); then
    /// [`encrypt`](Self::encrypt)'s. Nothing changes on error.
    pub fn encrypt_sealed<R: CryptoRng + ?Sized>(
        &mut self,
        local: &LocalDevice,
        peer: &PeerAccount,
        certificate: &SenderCertificate,
        plaintext: &[u8],
        now: u64,
        rng: &mut R,
    ) -> Result<Vec<u8>, Error> {
        if certificate.identity() != local.identity.public_key() {
            return Err(Error::WrongIdentity);
        }
        // Every recipient would refuse it, and could not even tell whom to
        // ask for a retry: the message would be lost.
        if now >= certificate.expires() {
            return Err(Error::CertificateExpired);
        }
        let recipient = match &self.current {
            Some(entry) => entry.session.remote_identity().clone(),
            None => return Err(Error::NoSession),
        };
        let message = self.encrypt(peer, plaintext, now, rng)?;
        // Cannot fail now: the certificate is ours, a session message is
        // below MAX_SEALED_PADDED_LEN, and an identity key is of large
        // order (no all-zero Diffie-Hellman).
        sealed::seal(&local.identity, certificate, &recipient, &message, PaddingPolicy::None, rng)
    }

    /// Decrypts the content of an opened sealed envelope
    /// ([`sealed::open`]) from the device, as [`decrypt`](Self::decrypt),
    /// and only if the sender the certificate names is the one the inner
    /// session authenticates (SPEC.md §27.5).
    ///
    /// # Errors
    /// [`Error::SenderMismatch`] if the certificate names another account
    /// than `peer`'s pinned key or another device than the record's, if a
    /// new PreKeyMessage comes from another identity key than the
    /// certificate's (before its prekeys are looked up); in the trial of
    /// existing sessions, a session with another identity key is skipped
    /// with [`Error::SenderMismatch`] noted as its error, and the first
    /// error noted in trial order is returned, as
    /// [`decrypt`](Self::decrypt) does. Nothing changes on error.
    pub fn decrypt_sealed<R: CryptoRng + ?Sized>(
        &mut self,
        local: &mut LocalDevice,
        peer: &PeerAccount,
        opened: &OpenedEnvelope,
        policy: &SessionPolicy,
        now: u64,
        rng: &mut R,
    ) -> Result<Decrypted, Error> {
        let certificate = opened.certificate();
        if certificate.account_key() != peer.account_key() || certificate.device() != self.device {
            return Err(Error::SenderMismatch);
        }
        self.decrypt_from(local, peer, opened.content(), policy, now, Some(certificate.identity()), rng)
    }

    /// [`decrypt`](Self::decrypt); with `sender`, only a session with that
    /// remote identity may take the message (SPEC.md §27.5).
    #[allow(clippy::too_many_arguments)]
    fn decrypt_from<R: CryptoRng + ?Sized>(
        &mut self,
        local: &mut LocalDevice,
        peer: &PeerAccount,
        message: &[u8],
        policy: &SessionPolicy,
        now: u64,
        sender: Option<&IdentityKey>,
        rng: &mut R,
    ) -> Result<Decrypted, Error> {
        let result = match MessageType::of(message)? {
            MessageType::PreKey => {
                let pkm = PreKeyMessage::from_bytes(message)?;
                if self.entries().any(|e| e.session.matches(&pkm)) {
                    self.decrypt_existing(peer, message, sender, rng)
                } else if sender.is_some_and(|s| s != pkm.sender_identity()) {
                    Err(Error::SenderMismatch)
                } else {
                    self.accept(local, peer, &pkm, policy, now, rng)
                }
            }
            MessageType::Message => self.decrypt_existing(peer, message, sender, rng),
        };
        let digest = message_digest(message);
        match result {
            Ok(d) => {
                if self.recent.len() >= MAX_RECENT_MESSAGES {
                    self.recent.remove(0);
                }
                self.recent.push(digest);
                Ok(d)
            }
            // A used key: an exact copy of a message read here is a
            // duplicate; anything else naming a used key cannot be told
            // apart from a forgery.
            Err(Error::Duplicate) if !self.recent.contains(&digest) => Err(Error::UsedKey),
            Err(e) => Err(e),
        }
    }

    fn accept<R: CryptoRng + ?Sized>(
        &mut self,
        local: &mut LocalDevice,
        peer: &PeerAccount,
        pkm: &PreKeyMessage,
        policy: &SessionPolicy,
        now: u64,
        rng: &mut R,
    ) -> Result<Decrypted, Error> {
        let found = local.find(pkm, now)?;
        let accepted = Session::accept_with_keys(
            &local.identity,
            found.signed,
            found.one_time,
            found.kem,
            pkm,
            policy.accept,
            rng,
        )?;
        // Authenticated: only now may the device list judge the identity.
        let mut accepted = accepted;
        if let Err(e) = peer.authorize(self.device, accepted.session.remote_identity()) {
            accepted.plaintext.zeroize();
            return Err(e);
        }
        let plaintext = strip_padding(accepted.plaintext)?;
        let entry = Entry::new(accepted.session, now)?;
        // Commit.
        let reusable = found.reusable;
        local.consume(pkm, reusable);
        if promote(self.current.as_deref(), &entry, peer, self.device) {
            if let Some(old) = self.current.replace(entry) {
                self.archive(old);
            }
        } else {
            self.archive(entry);
        }
        Ok(Decrypted { plaintext, id: accepted.id, new_session: true })
    }

    fn decrypt_existing<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &PeerAccount,
        message: &[u8],
        sender: Option<&IdentityKey>,
        rng: &mut R,
    ) -> Result<Decrypted, Error> {
        let mut first_error = None;
        let content_len = core::cell::Cell::new(0usize);
        let mut duplicate = false;
        let mut hit = None;
        let slots = usize::from(self.current.is_some()) + self.archived.len();
        let device = self.device;
        for slot in 0..slots {
            let entry = self.slot_mut(slot);
            if sender.is_some_and(|s| s != entry.session.remote_identity()) {
                first_error.get_or_insert(Error::SenderMismatch);
                continue;
            }
            if let Err(e) = peer.authorize(device, entry.session.remote_identity()) {
                first_error.get_or_insert(e);
                continue;
            }
            let entry = self.slot_mut(slot);
            // The check before the session commits is the only unpadding:
            // it records the content's length for the strip below.
            let check = |p: &[u8]| padding::unpad(p).map(|c| content_len.set(c.len()));
            match entry.session.decrypt_checked(message, rng, &check) {
                Ok(r) => {
                    hit = Some((slot, r));
                    break;
                }
                // Authenticated on this session, but not padded as stated:
                // no other session can take it.
                Err(Error::Padding) => return Err(Error::Padding),
                Err(e) => {
                    duplicate |= e == Error::Duplicate;
                    first_error.get_or_insert(e);
                }
            }
        }
        let Some((slot, (padded, id))) = hit else {
            return Err(match (duplicate, first_error) {
                (true, _) => Error::Duplicate,
                (false, Some(e)) => e,
                (false, None) => Error::NoSession,
            });
        };
        // The length the check measured on this plaintext before the commit.
        let plaintext = take_content(padded, content_len.get());
        if self.current.is_none() || slot > 0 {
            let archived_index = slot - usize::from(self.current.is_some());
            let candidate = &self.archived[archived_index];
            if promote(self.current.as_deref(), candidate, peer, self.device) {
                let entry = self.archived.remove(archived_index);
                if let Some(old) = self.current.replace(entry) {
                    self.archived.insert(0, old);
                }
            }
        }
        Ok(Decrypted { plaintext, id, new_session: false })
    }

    /// Slot 0 is the current session if there is one; the archived ones follow.
    fn slot_mut(&mut self, slot: usize) -> &mut Entry {
        match (&mut self.current, slot) {
            (Some(c), 0) => c,
            (Some(_), i) => &mut self.archived[i - 1],
            (None, i) => &mut self.archived[i],
        }
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.current.as_deref().into_iter().chain(self.archived.iter().map(|e| &**e))
    }

    fn archive(&mut self, entry: Box<Entry>) {
        self.archived.insert(0, entry);
        self.archived.truncate(MAX_ARCHIVED_SESSIONS);
    }

    /// Reacts to a [`RetryMessage`] from the device: if it names one of the
    /// last [`MAX_SENT_MESSAGES`] messages this record sent, sent on the
    /// current session, the session is archived and marked as lost by the
    /// peer, and the caller should start a new one.
    ///
    /// # Errors
    /// [`Error::WrongIdentity`] if the retry is not addressed to `local`;
    /// [`PeerAccount::authorize`]'s errors if its author is not this
    /// device's listed identity. Nothing changes on error.
    pub fn handle_retry(
        &mut self,
        local: &LocalDevice,
        peer: &PeerAccount,
        retry: &RetryMessage,
    ) -> Result<RetryOutcome, Error> {
        if retry.recipient() != local.identity.public_key() {
            return Err(Error::WrongIdentity);
        }
        peer.authorize(self.device, retry.author())?;
        let Some(current) = self.current.as_deref() else {
            return Ok(RetryOutcome::Ignored);
        };
        // Only a message we sent on the current session: not a corrupted
        // copy (another digest), not a message of an older session.
        let concerns_current =
            self.sent.iter().any(|(d, base)| d == retry.message_digest() && *base == current.base_key);
        // A failed handshake can only concern a session we started and
        // that got no reply yet.
        let plausible = retry.reason() == RetryReason::NoSession || current.session.awaiting_reply();
        if !(concerns_current && plausible) {
            return Ok(RetryOutcome::Ignored);
        }
        if let Some(mut old) = self.current.take() {
            old.flags |= FLAG_PEER_LOST;
            self.archive(old);
        }
        Ok(RetryOutcome::StartNewSession)
    }
}

fn expired(entry: &Entry, now: u64) -> bool {
    entry.session.awaiting_reply() && now.saturating_sub(entry.created_at) >= MAX_UNACKNOWLEDGED_AGE
}

/// Whether `candidate`, a session that just decrypted a message (or was
/// just made by one), becomes the current session (SPEC.md §20.3): if there
/// is none, if the current one is no longer authorized (the device was
/// reinstalled or removed), or if the candidate's handshake base key is
/// lower. The base keys are the one thing both ends know about both
/// sessions of a simultaneous start, so both ends pick the same one, and
/// never change their minds later. A session the peer reported lost never
/// becomes current again.
fn promote(current: Option<&Entry>, candidate: &Entry, peer: &PeerAccount, device: DeviceId) -> bool {
    if candidate.peer_lost() {
        return false;
    }
    match current {
        None => true,
        Some(c) => {
            peer.authorize(device, c.session.remote_identity()).is_err() || candidate.base_key < c.base_key
        }
    }
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("device", &self.device)
            .field("current", &self.current.as_ref().map(|e| &e.session))
            .field("archived", &self.archived.len())
            .finish()
    }
}

/// Encrypts one payload for many devices: each target's record encrypts it
/// on its current session. Returns, in the targets' order, each address with
/// its ciphertext or the error of that device alone (a device without a
/// usable session does not stop the others). For a peer's devices and the
/// sender's own other devices, pass both accounts' records.
pub fn fan_out<'a, A, I, R>(
    targets: I,
    plaintext: &[u8],
    now: u64,
    rng: &mut R,
) -> Vec<(A, Result<Vec<u8>, Error>)>
where
    I: IntoIterator<Item = (A, &'a mut SessionRecord, &'a PeerAccount)>,
    R: CryptoRng + ?Sized,
{
    targets
        .into_iter()
        .map(|(address, record, peer)| {
            let result = record.encrypt(peer, plaintext, now, rng);
            (address, result)
        })
        .collect()
}

/// Unpads `padded` (SPEC.md §26.2) and returns its content
/// ([`take_content`]); on error the buffer is zeroed.
fn strip_padding(mut padded: Vec<u8>) -> Result<Vec<u8>, Error> {
    match padding::unpad(&padded) {
        Ok(content) => {
            let len = content.len();
            Ok(take_content(padded, len))
        }
        Err(e) => {
            padded.zeroize();
            Err(e)
        }
    }
}

/// The content of a padded plaintext that unpadded to `len` bytes, moved to
/// the front of its buffer; the rest is zeroed before it is cut off.
fn take_content(mut padded: Vec<u8>, len: usize) -> Vec<u8> {
    // `unpad` returned `padded[3..3 + len]`: the range is in the buffer.
    if let Some(end) = len.checked_add(3).filter(|&end| end <= padded.len()) {
        padded.copy_within(3..end, 0);
    }
    if let Some(tail) = padded.get_mut(len..) {
        tail.zeroize();
    }
    padded.truncate(len);
    padded
}

/// Encoding (SPEC.md §20.4), used by the state module.
impl SessionRecord {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u32(self.device.get());
        out.put_u8(u8::from(self.current.is_some()));
        // At most 1 + MAX_ARCHIVED_SESSIONS entries.
        out.put_u8(self.archived.len() as u8);
        for e in self.entries() {
            out.put_u8(e.flags);
            out.put(&e.base_key);
            out.put_u64(e.created_at);
            let s = e.session.to_bytes();
            // A session's encoding is far below 4 GiB (SPEC.md §9).
            out.put_u32(s.len() as u32);
            out.put(&s);
        }
        // At most MAX_RECENT_MESSAGES.
        out.put_u8(self.recent.len() as u8);
        for d in &self.recent {
            out.put(d);
        }
        // At most MAX_SENT_MESSAGES.
        out.put_u8(self.sent.len() as u8);
        for (d, base) in &self.sent {
            out.put(d);
            out.put(base);
        }
    }

    pub(crate) fn body_len(&self) -> usize {
        4 + 1
            + 1
            + self.entries().map(|e| 1 + 32 + 8 + 4 + e.session.encoded_len()).sum::<usize>()
            + 1
            + 16 * self.recent.len()
            + 1
            + 48 * self.sent.len()
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let device = DeviceId::new(r.u32()?);
        let has_current = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::InvalidValue),
        };
        let n_archived = usize::from(r.u8()?);
        if n_archived > MAX_ARCHIVED_SESSIONS {
            return Err(DecodeError::InvalidValue);
        }
        let read_entry = |r: &mut Reader<'_>| -> Result<Box<Entry>, DecodeError> {
            let flags = r.u8()?;
            if flags & !FLAG_PEER_LOST != 0 {
                return Err(DecodeError::InvalidFlags(flags));
            }
            let base_key = r.array()?;
            let created_at = r.u64()?;
            let len = r.u32()? as usize;
            let session = Session::from_bytes(r.take(len)?).map_err(Error::in_stored_state)?;
            if session.base_key().is_some_and(|k| *k != base_key) {
                return Err(DecodeError::InvalidValue);
            }
            Ok(Box::new(Entry { session, base_key, created_at, flags }))
        };
        let current = if has_current { Some(read_entry(r)?) } else { None };
        if current.as_ref().is_some_and(|e| e.peer_lost()) {
            // A session the peer reported lost is never current.
            return Err(DecodeError::InvalidValue);
        }
        let mut archived = Vec::with_capacity(n_archived);
        for _ in 0..n_archived {
            archived.push(read_entry(r)?);
        }
        let n_recent = usize::from(r.u8()?);
        if n_recent > MAX_RECENT_MESSAGES {
            return Err(DecodeError::InvalidValue);
        }
        let mut recent = Vec::with_capacity(n_recent);
        for _ in 0..n_recent {
            recent.push(r.array()?);
        }
        let n_sent = usize::from(r.u8()?);
        if n_sent > MAX_SENT_MESSAGES {
            return Err(DecodeError::InvalidValue);
        }
        let mut sent = Vec::with_capacity(n_sent);
        for _ in 0..n_sent {
            sent.push((r.array()?, r.array()?));
        }
        Ok(SessionRecord { device, recent, sent, current, archived })
    }
}
