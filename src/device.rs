//! The local device and its prekey lifecycle
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §19).
//!
//! A [`LocalDevice`] holds everything a device needs to answer handshakes:
//! its identity key pair, its [`DeviceCertificate`], its current signed
//! prekey and last-resort KEM prekey, the ones it retired within the grace
//! period, and its one-time X25519 and KEM prekeys. It guarantees:
//!
//! * **Ids never repeat.** Every prekey id (signed, one-time, KEM, last
//!   resort) comes from one counter, stored with the device, so no two keys
//!   a device ever makes share an id.
//! * **Persist before publish.** [`LocalDevice::upload`] hands out the
//!   [`PreKeyUpload`] only for the bytes the caller shows it has persisted
//!   (the current [`to_bytes`](LocalDevice::to_bytes) encoding), so a crash
//!   can never lose the secrets of prekeys the server already hands out.
//! * **Rotation with grace.** [`rotate_signed_prekey`](LocalDevice::rotate_signed_prekey)
//!   replaces the signed prekey and the last-resort KEM prekey together; the
//!   old pair still answers handshakes for [`SIGNED_PREKEY_GRACE`] seconds
//!   (a message sent to a just-replaced bundle still gets through), then it
//!   is deleted. At most [`MAX_RETIRED_SIGNED_PREKEYS`] are kept.
//! * **Replenishment** ([`replenish`](LocalDevice::replenish)): when the
//!   server reports fewer than [`PREKEY_LOW_WATER`] one-time prekeys of a
//!   kind, the device makes enough for the server to hold
//!   [`ONE_TIME_PREKEY_BATCH`] (or [`KEM_PREKEY_BATCH`]) again.
//! * **Bounded.** At most [`MAX_ONE_TIME_PREKEYS`] and
//!   [`MAX_KEM_ONE_TIME_PREKEYS`] one-time keys are held; making more
//!   deletes the oldest (a handshake that names one then gets
//!   [`Error::UnknownPreKey`] and recovers with a
//!   [`RetryMessage`](crate::RetryMessage)).
//! * **Secrets stay put.** Each key lives in its own heap allocation, which
//!   is wiped when the key is consumed or deleted; growing or shrinking the
//!   lists moves only pointers.
//!
//! Time is whatever the caller passes as `now`: seconds on a clock of the
//! caller's choosing (Unix time is the natural one).

use alloc::{boxed::Box, vec::Vec};
use core::fmt;

use rand_core::CryptoRng;

use crate::{
    account::{DeviceCertificate, DeviceId, DeviceLink, DEVICE_CERTIFICATE_LEN},
    codec::{labelled, Reader, Writer},
    error::DecodeError,
    identity::{IdentityKey, IdentityKeyPair},
    message::PreKeyMessage,
    prekey::{
        KemPreKey, KemPreKeyPublic, OneTimePreKey, OneTimePreKeyPublic, PreKeyBundle, SignedPreKey,
        SignedPreKeyPublic,
    },
    primitives::{ct_eq, ed25519_verify},
    Error,
};

/// How long, in seconds, a retired signed prekey and its last-resort KEM
/// prekey still answer handshakes: 30 days. A bundle fetched just before a
/// rotation can sit in an offline initiator's outbox that long.
pub const SIGNED_PREKEY_GRACE: u64 = 30 * 24 * 60 * 60;
/// How often, in seconds, a device should rotate its signed prekey: 7 days
/// ([`LocalDevice::needs_rotation`]).
pub const SIGNED_PREKEY_ROTATION: u64 = 7 * 24 * 60 * 60;
/// The most retired signed prekeys kept: enough for one rotation every
/// [`SIGNED_PREKEY_ROTATION`] during the whole grace period, with room for
/// early rotations. A further rotation drops the oldest.
pub const MAX_RETIRED_SIGNED_PREKEYS: usize = 8;
/// How many one-time X25519 prekeys the server should hold after a
/// replenishment.
pub const ONE_TIME_PREKEY_BATCH: usize = 100;
/// How many one-time KEM prekeys the server should hold after a
/// replenishment. Fewer than X25519 ones: each costs 1637 bytes to upload
/// and holds a full ML-KEM key in memory; when they run out, the
/// last-resort KEM prekey takes over.
pub const KEM_PREKEY_BATCH: usize = 20;
/// Replenish a kind of one-time prekey when the server holds fewer than this.
pub const PREKEY_LOW_WATER: usize = 10;
/// The most one-time X25519 prekeys a device holds (twice the batch, for
/// keys handed out whose first message has not arrived yet).
pub const MAX_ONE_TIME_PREKEYS: usize = 2 * ONE_TIME_PREKEY_BATCH;
/// The most one-time KEM prekeys a device holds.
pub const MAX_KEM_ONE_TIME_PREKEYS: usize = 2 * KEM_PREKEY_BATCH;
/// The most handshakes that used no one-time prekey (only the signed and
/// last-resort prekeys) one signed prekey answers; the device remembers each
/// to refuse a replay of its first message once its session is gone
/// (SPEC.md §19.3). Nothing is forgotten while the signed prekey is
/// accepted, so no peer can flush the guard: when a signed prekey has
/// answered this many, it refuses further such handshakes (as an unknown
/// prekey, so the initiator fetches a new bundle) and
/// [`LocalDevice::needs_rotation`] says to rotate, which it does from half
/// full. 36 bytes each; the entries go with their signed prekey.
pub const MAX_LAST_RESORT_HANDSHAKES: usize = 250;
/// Format tag of an encoded [`LocalDevice`] (`'D'`).
pub const TAG_LOCAL_DEVICE: u8 = 0x44;
/// Format tag of a [`PreKeyUpload`] (`'U'`).
pub const TAG_PREKEY_UPLOAD: u8 = 0x55;
/// The version of the local-device and upload formats.
pub const DEVICE_FORMAT_VERSION: u8 = 0x01;

const LABEL_UPLOAD: &[u8] = b"chatcrypt v3 prekey upload";

/// A signed prekey and last-resort KEM prekey replaced at `retired_at`.
/// The keys stay in the allocations they had while current: moving a key
/// out of its box would leave its bytes in the freed box.
pub(crate) struct Retired {
    pub(crate) signed: Box<SignedPreKey>,
    pub(crate) last_resort: Box<KemPreKey>,
    pub(crate) retired_at: u64,
}

/// This device: identity, certificate and prekeys (see the module docs).
///
/// Zeroized on drop; not `Clone`; `Debug` shows ids and counts only.
pub struct LocalDevice {
    pub(crate) identity: IdentityKeyPair,
    pub(crate) certificate: DeviceCertificate,
    pub(crate) signed: Box<SignedPreKey>,
    pub(crate) last_resort: Box<KemPreKey>,
    pub(crate) rotated_at: u64,
    /// Newest first.
    pub(crate) retired: Vec<Retired>,
    /// Ascending ids.
    #[allow(clippy::vec_box)] // one allocation per secret, wiped on drop; moves are pointer moves
    pub(crate) one_time: Vec<Box<OneTimePreKey>>,
    /// Ascending ids.
    #[allow(clippy::vec_box)] // one allocation per secret, wiped on drop; moves are pointer moves
    pub(crate) kem_one_time: Vec<Box<KemPreKey>>,
    /// The next prekey id to use; every id in the device is below it.
    pub(crate) next_id: u32,
    /// Every id up to this one was in an upload the server confirmed.
    pub(crate) uploaded_through: u32,
    /// Base keys (with their signed prekey id) of the accepted handshakes
    /// that consumed no one-time prekey, oldest first.
    pub(crate) reusable_seen: Vec<([u8; 32], u32)>,
}

/// The prekeys a PreKeyMessage names, found in a [`LocalDevice`].
pub(crate) struct Found<'a> {
    pub(crate) signed: &'a SignedPreKey,
    pub(crate) one_time: Option<&'a OneTimePreKey>,
    pub(crate) kem: Option<&'a KemPreKey>,
    /// The handshake consumes no one-time prekey: it could be replayed.
    pub(crate) reusable: bool,
}

impl LocalDevice {
    /// A new device: `identity`, certified by its account as `certificate`,
    /// with a first signed prekey and last-resort KEM prekey made at `now`
    /// (ids 1 and 2) and no one-time prekeys yet (call
    /// [`replenish`](Self::replenish)).
    ///
    /// # Errors
    /// [`Error::WrongIdentity`] if the certificate is for another identity key.
    pub fn new<R: CryptoRng + ?Sized>(
        identity: IdentityKeyPair,
        certificate: DeviceCertificate,
        now: u64,
        rng: &mut R,
    ) -> Result<Self, Error> {
        if certificate.identity() != identity.public_key() {
            return Err(Error::WrongIdentity);
        }
        let signed = Box::new(SignedPreKey::generate(&identity, 1, rng));
        let last_resort = Box::new(KemPreKey::generate(&identity, 2, rng));
        Ok(LocalDevice {
            identity,
            certificate,
            signed,
            last_resort,
            rotated_at: now,
            retired: Vec::new(),
            one_time: Vec::new(),
            kem_one_time: Vec::new(),
            next_id: 3,
            uploaded_through: 0,
            reusable_seen: Vec::new(),
        })
    }

    /// The identity key pair.
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    /// The device's id in its account.
    pub fn device_id(&self) -> DeviceId {
        self.certificate.device()
    }

    /// The account's certificate for this device.
    pub fn certificate(&self) -> &DeviceCertificate {
        &self.certificate
    }

    /// This device's consent to be listed by its account (the account key
    /// and device id of its certificate), for the account's next
    /// [`DeviceList`](crate::DeviceList).
    pub fn link(&self) -> DeviceLink {
        DeviceLink::new(&self.identity, self.certificate.account_key(), self.certificate.device())
    }

    /// The current signed prekey's public part.
    pub fn signed_prekey(&self) -> &SignedPreKeyPublic {
        self.signed.public()
    }

    /// The current last-resort KEM prekey's public part.
    pub fn last_resort_prekey(&self) -> &KemPreKeyPublic {
        self.last_resort.public()
    }

    /// How many one-time X25519 and KEM prekeys the device holds.
    pub fn one_time_prekey_counts(&self) -> (usize, usize) {
        (self.one_time.len(), self.kem_one_time.len())
    }

    /// How many retired signed prekeys are still kept.
    pub fn retired_signed_prekey_count(&self) -> usize {
        self.retired.len()
    }

    /// Whether the signed prekey should be rotated: it is
    /// [`SIGNED_PREKEY_ROTATION`] old or older, or it has answered half of
    /// [`MAX_LAST_RESORT_HANDSHAKES`] handshakes without a one-time prekey.
    pub fn needs_rotation(&self, now: u64) -> bool {
        now.saturating_sub(self.rotated_at) >= SIGNED_PREKEY_ROTATION
            || self.reusable_count(self.signed.id()) >= MAX_LAST_RESORT_HANDSHAKES / 2
    }

    /// How many handshakes without a one-time prekey signed prekey `spk` answered.
    fn reusable_count(&self, spk: u32) -> usize {
        self.reusable_seen.iter().filter(|(_, s)| *s == spk).count()
    }

    /// Whether some prekey has not been in a confirmed upload yet.
    pub fn needs_upload(&self) -> bool {
        self.next_id - 1 > self.uploaded_through
    }

    fn take_id(&mut self) -> Result<u32, Error> {
        let id = self.next_id;
        self.next_id = id.checked_add(1).ok_or(Error::CounterExhausted)?;
        Ok(id)
    }

    /// Replaces the signed prekey and the last-resort KEM prekey with new
    /// ones (new ids), retiring the old pair at `now`; deletes retired pairs
    /// older than [`SIGNED_PREKEY_GRACE`] and, beyond
    /// [`MAX_RETIRED_SIGNED_PREKEYS`], the oldest. Persist, then
    /// [`upload`](Self::upload).
    ///
    /// # Errors
    /// [`Error::CounterExhausted`] if the id counter is used up (nothing
    /// changes).
    pub fn rotate_signed_prekey<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<(), Error> {
        if self.next_id > u32::MAX - 2 {
            return Err(Error::CounterExhausted);
        }
        let sid = self.take_id()?;
        let kid = self.take_id()?;
        let signed = Box::new(SignedPreKey::generate(&self.identity, sid, rng));
        let last_resort = Box::new(KemPreKey::generate(&self.identity, kid, rng));
        let old_signed = core::mem::replace(&mut self.signed, signed);
        let old_last_resort = core::mem::replace(&mut self.last_resort, last_resort);
        self.retired.insert(0, Retired { signed: old_signed, last_resort: old_last_resort, retired_at: now });
        self.rotated_at = now;
        self.retired.truncate(MAX_RETIRED_SIGNED_PREKEYS);
        self.prune(now);
        Ok(())
    }

    /// Deletes the retired signed and last-resort prekeys whose grace
    /// period is over at `now`.
    pub fn prune(&mut self, now: u64) {
        self.retired.retain(|r| now.saturating_sub(r.retired_at) < SIGNED_PREKEY_GRACE);
        let current = self.signed.id();
        let retired = &self.retired;
        self.reusable_seen
            .retain(|(_, spk)| *spk == current || retired.iter().any(|r| r.signed.id() == *spk));
    }

    /// Makes one-time prekeys when the server reports fewer than
    /// [`PREKEY_LOW_WATER`] of a kind: enough for it to hold
    /// [`ONE_TIME_PREKEY_BATCH`] X25519 and [`KEM_PREKEY_BATCH`] KEM prekeys
    /// again, counting keys made but not yet in a confirmed upload. Returns
    /// how many of each it made. Persist, then [`upload`](Self::upload).
    ///
    /// # Errors
    /// [`Error::CounterExhausted`] if the id counter would run out (nothing
    /// changes).
    pub fn replenish<R: CryptoRng + ?Sized>(
        &mut self,
        server_one_time: usize,
        server_kem: usize,
        rng: &mut R,
    ) -> Result<(usize, usize), Error> {
        let pending_x = self.one_time.iter().filter(|k| k.id() > self.uploaded_through).count();
        let pending_k = self.kem_one_time.iter().filter(|k| k.id() > self.uploaded_through).count();
        let want = |server: usize, pending: usize, batch: usize| {
            if server < PREKEY_LOW_WATER {
                batch.saturating_sub(server.saturating_add(pending))
            } else {
                0
            }
        };
        let nx = want(server_one_time, pending_x, ONE_TIME_PREKEY_BATCH);
        let nk = want(server_kem, pending_k, KEM_PREKEY_BATCH);
        // At most 120 ids per call: check the counter once, up front.
        if u64::from(self.next_id) + (nx + nk) as u64 > u64::from(u32::MAX) {
            return Err(Error::CounterExhausted);
        }
        for _ in 0..nx {
            let id = self.take_id()?;
            self.one_time.push(Box::new(OneTimePreKey::generate(id, rng)));
        }
        for _ in 0..nk {
            let id = self.take_id()?;
            self.kem_one_time.push(Box::new(KemPreKey::generate(&self.identity, id, rng)));
        }
        let excess = self.one_time.len().saturating_sub(MAX_ONE_TIME_PREKEYS);
        self.one_time.drain(..excess);
        let excess = self.kem_one_time.len().saturating_sub(MAX_KEM_ONE_TIME_PREKEYS);
        self.kem_one_time.drain(..excess);
        Ok((nx, nk))
    }

    /// The prekey upload, for the bytes the caller has persisted: `persisted`
    /// must be this device's current [`to_bytes`](Self::to_bytes) encoding
    /// (the plain encoding, also when what is stored is its
    /// [`seal`](Self::seal)ed form). It holds the certificate, the current
    /// signed and last-resort prekeys and every one-time prekey not yet in a
    /// confirmed upload, signed by the identity key. Uploading it twice is
    /// harmless (same ids, same keys).
    ///
    /// # Errors
    /// [`Error::NotPersisted`] if `persisted` is not the current encoding:
    /// persist first, so that no key the server hands out can be lost.
    pub fn upload(&self, persisted: &[u8]) -> Result<PreKeyUpload, Error> {
        let current = self.to_bytes();
        if !ct_eq(&current, persisted) {
            return Err(Error::NotPersisted);
        }
        let one_time: Vec<OneTimePreKeyPublic> = self
            .one_time
            .iter()
            .filter(|k| k.id() > self.uploaded_through)
            .map(|k| k.public().clone())
            .collect();
        let kem_one_time: Vec<KemPreKeyPublic> = self
            .kem_one_time
            .iter()
            .filter(|k| k.id() > self.uploaded_through)
            .map(|k| k.public().clone())
            .collect();
        let mut upload = PreKeyUpload {
            certificate: self.certificate.clone(),
            signed: self.signed.public().clone(),
            last_resort: self.last_resort.public().clone(),
            one_time,
            kem_one_time,
            signature: [0u8; 64],
        };
        upload.signature = self.identity.sign(&labelled(LABEL_UPLOAD, &upload.body()));
        Ok(upload)
    }

    /// Records that the server stored `upload`: its keys are no longer
    /// pending. Persist afterwards.
    pub fn mark_uploaded(&mut self, upload: &PreKeyUpload) {
        if upload.certificate.identity() == self.identity.public_key() {
            self.uploaded_through = self.uploaded_through.max(upload.max_id()).min(self.next_id - 1);
        }
    }

    /// Finds the prekeys `message` names, valid at `now`.
    ///
    /// # Errors
    /// [`Error::UnknownPreKey`] with the first id (signed, one-time, KEM)
    /// the device does not hold, or whose grace period is over.
    pub(crate) fn find(&self, message: &PreKeyMessage, now: u64) -> Result<Found<'_>, Error> {
        let sid = message.signed_prekey_id();
        let (signed, retired_lr) = if self.signed.id() == sid {
            (&*self.signed, None)
        } else {
            let r = self
                .retired
                .iter()
                .find(|r| r.signed.id() == sid && now.saturating_sub(r.retired_at) < SIGNED_PREKEY_GRACE)
                .ok_or(Error::UnknownPreKey { id: sid })?;
            (&*r.signed, Some(&*r.last_resort))
        };
        let one_time = match message.one_time_prekey_id() {
            None => None,
            Some(id) => {
                Some(&**self.one_time.iter().find(|k| k.id() == id).ok_or(Error::UnknownPreKey { id })?)
            }
        };
        let (kem, kem_one_time) = match message.kem_prekey_id() {
            None => (None, false),
            Some((_, id)) => {
                let lr = [Some(&*self.last_resort), retired_lr].into_iter().flatten().find(|k| k.id() == id);
                match lr {
                    Some(k) => (Some(k), false),
                    None => {
                        let k = self
                            .kem_one_time
                            .iter()
                            .find(|k| k.id() == id)
                            .ok_or(Error::UnknownPreKey { id })?;
                        (Some(&**k), true)
                    }
                }
            }
        };
        let reusable = one_time.is_none() && !kem_one_time;
        if reusable {
            if self.reusable_seen.iter().any(|(b, _)| b == message.base_key()) {
                // The first message of a handshake already accepted: a replay.
                return Err(Error::Duplicate);
            }
            if self.reusable_count(sid) >= MAX_LAST_RESORT_HANDSHAKES {
                // The signed prekey takes no more: rotate.
                return Err(Error::UnknownPreKey { id: sid });
            }
        }
        Ok(Found { signed, one_time, kem, reusable })
    }

    /// Deletes the one-time prekeys `message` named (after a successful
    /// accept). The last-resort and signed prekeys stay; a handshake that
    /// used only them (`reusable`) is remembered against replay.
    pub(crate) fn consume(&mut self, message: &PreKeyMessage, reusable: bool) {
        if let Some(id) = message.one_time_prekey_id() {
            self.one_time.retain(|k| k.id() != id);
        }
        if let Some((_, id)) = message.kem_prekey_id() {
            self.kem_one_time.retain(|k| k.id() != id);
        }
        if reusable {
            // `find` refused the handshake if its signed prekey was full.
            self.reusable_seen.push((*message.base_key(), message.signed_prekey_id()));
        }
    }
}

impl fmt::Debug for LocalDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalDevice")
            .field("identity", self.identity.public_key())
            .field("device", &self.device_id())
            .field("signed_prekey", &self.signed.id())
            .field("last_resort", &self.last_resort.id())
            .field("retired", &self.retired.len())
            .field("one_time", &self.one_time.len())
            .field("kem_one_time", &self.kem_one_time.len())
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

/// What a device uploads to the server: its certificate, signed prekey,
/// last-resort KEM prekey and new one-time prekeys, signed as a whole by
/// the device's identity key (SPEC.md §19.4). Always verified: decoding
/// checks every signature, so a server (or a peer fetching it) that
/// decodes it knows the keys belong to the identity key the certificate
/// names, and with [`DeviceCertificate::verify`] to the account.
#[derive(Clone, PartialEq, Eq)]
pub struct PreKeyUpload {
    certificate: DeviceCertificate,
    signed: SignedPreKeyPublic,
    last_resort: KemPreKeyPublic,
    one_time: Vec<OneTimePreKeyPublic>,
    kem_one_time: Vec<KemPreKeyPublic>,
    signature: [u8; 64],
}

impl PreKeyUpload {
    /// The device certificate.
    pub fn certificate(&self) -> &DeviceCertificate {
        &self.certificate
    }

    /// The signed prekey.
    pub fn signed_prekey(&self) -> &SignedPreKeyPublic {
        &self.signed
    }

    /// The last-resort KEM prekey.
    pub fn last_resort_prekey(&self) -> &KemPreKeyPublic {
        &self.last_resort
    }

    /// The one-time X25519 prekeys.
    pub fn one_time_prekeys(&self) -> &[OneTimePreKeyPublic] {
        &self.one_time
    }

    /// The one-time KEM prekeys.
    pub fn kem_prekeys(&self) -> &[KemPreKeyPublic] {
        &self.kem_one_time
    }

    /// The identity key the keys belong to.
    pub fn identity(&self) -> &IdentityKey {
        self.certificate.identity()
    }

    fn max_id(&self) -> u32 {
        let ids = [self.signed.id(), self.last_resort.id()]
            .into_iter()
            .chain(self.one_time.iter().map(OneTimePreKeyPublic::id))
            .chain(self.kem_one_time.iter().map(KemPreKeyPublic::id));
        ids.max().unwrap_or(0)
    }

    /// A bundle for an initiator, as a server builds it: the signed prekey,
    /// the one-time X25519 prekey `one_time` (by index, if any left) and
    /// the one-time KEM prekey `kem` (by index), or the last-resort KEM
    /// prekey when `kem` is `None`.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidValue`] for an index
    /// out of range.
    pub fn bundle(&self, one_time: Option<usize>, kem: Option<usize>) -> Result<PreKeyBundle, Error> {
        let opk = match one_time {
            None => None,
            Some(i) => Some(self.one_time.get(i).ok_or(DecodeError::InvalidValue)?.clone()),
        };
        let kpk = match kem {
            None => self.last_resort.clone(),
            Some(i) => self.kem_one_time.get(i).ok_or(DecodeError::InvalidValue)?.clone(),
        };
        Ok(PreKeyBundle::new(self.identity().clone(), self.signed.clone(), opk).with_kem_prekey(kpk))
    }

    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.put_u8(TAG_PREKEY_UPLOAD);
        out.put_u8(DEVICE_FORMAT_VERSION);
        self.certificate.write(&mut out);
        out.put_u32(self.signed.id());
        out.put(self.signed.key());
        out.put(self.signed.signature());
        out.put(&self.last_resort.to_bytes());
        // Both counts are bounded by the device's limits (at most 200).
        out.put_u16(self.one_time.len() as u16);
        for k in &self.one_time {
            out.put_u32(k.id());
            out.put(k.key());
        }
        out.put_u16(self.kem_one_time.len() as u16);
        for k in &self.kem_one_time {
            out.put(&k.to_bytes());
        }
        out
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        2 + DEVICE_CERTIFICATE_LEN
            + 100
            + self.last_resort.encoded_len()
            + 2
            + 36 * self.one_time.len()
            + 2
            + self.kem_one_time.iter().map(KemPreKeyPublic::encoded_len).sum::<usize>()
            + 64
    }

    /// The encoding (SPEC.md §19.4).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.put(&self.signature);
        out
    }

    /// Decodes and verifies an upload.
    ///
    /// # Errors
    /// [`Error::Decode`] for a malformed encoding, more one-time prekeys
    /// than [`MAX_ONE_TIME_PREKEYS`] / [`MAX_KEM_ONE_TIME_PREKEYS`], or ids
    /// that are not all distinct ([`DecodeError::InvalidValue`]);
    /// [`Error::BadSignature`] if the certificate, a prekey or the upload's
    /// signature does not verify.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        r.expect_header(TAG_PREKEY_UPLOAD, DEVICE_FORMAT_VERSION)?;
        let certificate = DeviceCertificate::read(&mut r)?;
        let signed = SignedPreKeyPublic::new(r.u32()?, r.x25519_key()?, r.array()?);
        let last_resort = KemPreKeyPublic::read(&mut r)?;
        let n = usize::from(r.u16()?);
        if n > MAX_ONE_TIME_PREKEYS {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut one_time = Vec::with_capacity(n.min(r.remaining() / 36));
        for _ in 0..n {
            one_time.push(OneTimePreKeyPublic::new(r.u32()?, r.x25519_key()?));
        }
        let m = usize::from(r.u16()?);
        if m > MAX_KEM_ONE_TIME_PREKEYS {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut kem_one_time = Vec::with_capacity(m.min(r.remaining() / 1637));
        for _ in 0..m {
            kem_one_time.push(KemPreKeyPublic::read(&mut r)?);
        }
        let signature: [u8; 64] = r.array()?;
        r.finish()?;
        let upload = PreKeyUpload { certificate, signed, last_resort, one_time, kem_one_time, signature };
        upload.check_ids()?;
        let identity = upload.identity();
        let verifying = crate::primitives::ed25519_public(identity.as_bytes())?;
        ed25519_verify(
            &verifying,
            &crate::prekey::signed_prekey_message(upload.signed.id(), upload.signed.key()),
            upload.signed.signature(),
        )?;
        upload.last_resort.verify(identity)?;
        for k in &upload.kem_one_time {
            k.verify(identity)?;
        }
        // The decoding is canonical: the body is the input before the signature.
        let body = &bytes[..bytes.len() - 64];
        ed25519_verify(&verifying, &labelled(LABEL_UPLOAD, body), &upload.signature)?;
        Ok(upload)
    }

    fn check_ids(&self) -> Result<(), DecodeError> {
        let mut ids: Vec<u32> = [self.signed.id(), self.last_resort.id()]
            .into_iter()
            .chain(self.one_time.iter().map(OneTimePreKeyPublic::id))
            .chain(self.kem_one_time.iter().map(KemPreKeyPublic::id))
            .collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(DecodeError::InvalidValue);
        }
        Ok(())
    }
}

impl fmt::Debug for PreKeyUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreKeyUpload")
            .field("certificate", &self.certificate)
            .field("signed_prekey", &self.signed.id())
            .field("last_resort", &self.last_resort.id())
            .field("one_time", &self.one_time.len())
            .field("kem_one_time", &self.kem_one_time.len())
            .finish_non_exhaustive()
    }
}
