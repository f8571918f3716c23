//! The messenger layer (SPEC.md §17-§21, §26-§27) for Python, Kotlin and
//! Swift: chatcrypt-bindings-core's `messenger` module in UniFFI's
//! calling convention, as the rest of the crate (objects in `Arc`s, a
//! `Mutex` inside those that change, byte strings as `Vec<u8>`, records
//! and enums for results, [`ChatcryptError`] for failures, an optional
//! generator as the last argument of every call that draws).
//!
//! A user's account key pair certifies each of the user's devices and
//! signs their device list; each device is a [`LocalDevice`] (identity,
//! certificate, prekeys) that persists its stored form before uploading
//! its prekeys; a peer's account is a [`PeerAccount`] (the pinned account
//! key and the newest device list); and all sessions with one peer device
//! live in a [`SessionRecord`]. Every record, device and peer call is
//! transactional: one that fails changes nothing (a generator that runs
//! dry included), as the facade promises.
//!
//! Secrets leave only where the facade hands them out: the account and
//! server seeds, and the stored forms (`to_bytes`, `seal`) of the account
//! key pair, the local device, the peer account and the session record.

use std::sync::{Arc, Mutex};

use chatcrypt_bindings_core as facade;
use zeroize::Zeroizing;

use super::{
    len, lock, rng_of, ChatcryptError, IdentityKeyPair, Mode, ModePolicy, PqPolicy, PreKeyBundle, Result,
    Rng, SafetyNumber,
};

/// A caller's 32-byte key as an array (`InvalidArgument` otherwise).
fn key32(bytes: &[u8], what: &'static str) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| ChatcryptError::from(facade::Error::InvalidArgument(what)))
}

/// A caller's count or index as a `usize` (`InvalidArgument` if it does not fit).
fn size(n: u64, what: &'static str) -> Result<usize> {
    usize::try_from(n).map_err(|_| ChatcryptError::from(facade::Error::InvalidArgument(what)))
}

/// `to_bytes`, `from_bytes`, `seal` and `open` of a persistent messenger
/// object held as `$name($wrap<facade::$name>)`.
macro_rules! stored_forms {
    ($name:ident, $get:ident) => {
        #[uniffi::export]
        impl $name {
            /// Restores `to_bytes`' output.
            ///
            /// # Errors
            /// A `Decode*` error.
            #[uniffi::constructor]
            pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
                let bytes = Zeroizing::new(bytes);
                Ok(Arc::new(Self::from(facade::$name::from_bytes(&bytes)?)))
            }

            /// Opens `seal`'s output with the same 32-byte key.
            ///
            /// # Errors
            /// `InvalidArgument` for a wrong key length; `Auth`; a `Decode*` error.
            #[uniffi::constructor]
            pub fn open(key: Vec<u8>, sealed: Vec<u8>) -> Result<Arc<Self>> {
                let key = Zeroizing::new(key);
                Ok(Arc::new(Self::from(facade::$name::open(&key, &sealed)?)))
            }

            /// The stored form (secret): store it after every change.
            ///
            /// # Errors
            /// `Unusable`.
            pub fn to_bytes(&self) -> Result<Vec<u8>> {
                Ok(self.$get().to_bytes()?.to_vec())
            }

            /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
            ///
            /// # Errors
            /// `InvalidArgument` for a wrong key length; a generator failure;
            /// `Unusable`.
            #[uniffi::method(default(rng = None))]
            pub fn seal(&self, key: Vec<u8>, rng: Option<Arc<Rng>>) -> Result<Vec<u8>> {
                let key = Zeroizing::new(key);
                let inner = self.$get();
                Ok(inner.seal(&key, &mut rng_of(&rng))?)
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Accounts

/// A user's account key pair: certifies the user's devices and signs
/// their device list. Its seed and stored forms are secret.
#[derive(uniffi::Object)]
pub struct AccountKeyPair(facade::AccountKeyPair);

impl AccountKeyPair {
    fn inner(&self) -> &facade::AccountKeyPair {
        &self.0
    }
}

impl From<facade::AccountKeyPair> for AccountKeyPair {
    fn from(k: facade::AccountKeyPair) -> Self {
        Self(k)
    }
}

stored_forms!(AccountKeyPair, inner);

#[uniffi::export]
impl AccountKeyPair {
    /// A new account key pair (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    #[uniffi::constructor(default(rng = None))]
    pub fn generate(rng: Option<Arc<Rng>>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::AccountKeyPair::generate(&mut rng_of(&rng))?)))
    }

    /// The key pair of a 32-byte seed.
    ///
    /// # Errors
    /// `InvalidArgument` if `seed` is not 32 bytes.
    #[uniffi::constructor]
    pub fn from_seed(seed: Vec<u8>) -> Result<Arc<Self>> {
        let seed = Zeroizing::new(seed);
        Ok(Arc::new(Self(facade::AccountKeyPair::from_seed(&seed)?)))
    }

    /// The 32-byte seed (secret).
    ///
    /// # Errors
    /// `Unusable` (never, for an account key pair).
    pub fn seed(&self) -> Result<Vec<u8>> {
        Ok(self.0.seed()?.to_vec())
    }

    /// The account key (Ed25519, 32 bytes).
    ///
    /// # Errors
    /// `Unusable` (never, for an account key pair).
    pub fn public_key(&self) -> Result<Vec<u8>> {
        Ok(self.0.public_key()?.to_vec())
    }

    /// Certifies that device `device` of this account has identity key
    /// `identity_key` (32 bytes): a new device's first step
    /// (`LocalDevice(identity, certificate, now)`).
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong length; a `Decode*` error for an
    /// invalid key.
    pub fn certify(&self, device: u32, identity_key: Vec<u8>) -> Result<Arc<DeviceCertificate>> {
        Ok(Arc::new(DeviceCertificate(self.0.certify(device, &identity_key)?)))
    }

    /// Signs the account's device list at `epoch` (larger than every epoch
    /// signed before: persist it first) from the devices' links.
    ///
    /// # Errors
    /// `DecodeInvalidValue` for epoch 0, no or too many devices, a device
    /// id or identity key twice; `BadSignature` for a link not made for
    /// this account.
    pub fn sign_device_list(&self, epoch: u64, links: Vec<Arc<DeviceLink>>) -> Result<Arc<DeviceList>> {
        let links: Vec<facade::DeviceLink> = links.iter().map(|l| l.0.clone()).collect();
        Ok(Arc::new(DeviceList(self.0.sign_device_list(epoch, &links)?)))
    }
}

/// A device's certificate from its account: account key, device id and
/// the device's identity key, signed by the account key.
#[derive(uniffi::Object)]
pub struct DeviceCertificate(facade::DeviceCertificate);

#[uniffi::export]
impl DeviceCertificate {
    /// Decodes and verifies a certificate (signed by the account key it names).
    ///
    /// # Errors
    /// A `Decode*` error; `BadSignature`.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::DeviceCertificate::from_bytes(&bytes)?)))
    }

    /// The encoding (`constants().device_certificate_len` bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The account key that signed it (32 bytes).
    pub fn account_key(&self) -> Vec<u8> {
        self.0.account_key().to_vec()
    }

    /// The device id.
    pub fn device(&self) -> u32 {
        self.0.device()
    }

    /// The device's identity key (32 bytes).
    pub fn identity_key(&self) -> Vec<u8> {
        self.0.identity_key().to_vec()
    }

    /// Checks that it was signed by `account_key` (32 bytes; the signature
    /// itself was checked by `from_bytes`).
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong length; a `Decode*` error for an
    /// invalid key; `WrongIdentity` if another account key signed it.
    pub fn verify(&self, account_key: Vec<u8>) -> Result<()> {
        Ok(self.0.verify(&account_key)?)
    }
}

/// A device's consent to be listed by an account: travels as bytes from
/// the device to the account's signer (`AccountKeyPair.sign_device_list`).
#[derive(uniffi::Object)]
pub struct DeviceLink(facade::DeviceLink);

#[uniffi::export]
impl DeviceLink {
    /// The consent of the device with key pair `identity` to be device
    /// `device` of the account with key `account_key` (32 bytes).
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong length; a `Decode*` error for an
    /// invalid key.
    #[uniffi::constructor]
    pub fn new(identity: &IdentityKeyPair, account_key: Vec<u8>, device: u32) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::DeviceLink::new(&identity.0, &account_key, device)?)))
    }

    /// Decodes a link (its consent is checked when a list is signed).
    ///
    /// # Errors
    /// A `Decode*` error (`DecodeTruncated` for a short one).
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::DeviceLink::from_bytes(&bytes)?)))
    }

    /// The encoding (`constants().device_link_len` bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    /// The device id.
    pub fn device(&self) -> u32 {
        self.0.device()
    }

    /// The device's identity key (32 bytes).
    pub fn identity_key(&self) -> Vec<u8> {
        self.0.identity_key().to_vec()
    }
}

/// An account's signed device list.
#[derive(uniffi::Object)]
pub struct DeviceList(facade::DeviceList);

#[uniffi::export]
impl DeviceList {
    /// Decodes and verifies a device list (signed by the account key it
    /// names; whether to trust that key is a `PeerAccount`'s decision).
    ///
    /// # Errors
    /// A `Decode*` error; `BadSignature`.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::DeviceList::from_bytes(&bytes)?)))
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The account key that signed it (32 bytes).
    pub fn account_key(&self) -> Vec<u8> {
        self.0.account_key().to_vec()
    }

    /// Its epoch.
    pub fn epoch(&self) -> u64 {
        self.0.epoch()
    }

    /// The device ids, ascending.
    pub fn devices(&self) -> Vec<u32> {
        self.0.devices()
    }

    /// The identity key of device `device` (32 bytes), if listed.
    pub fn identity_of(&self, device: u32) -> Option<Vec<u8>> {
        self.0.identity_of(device).map(|k| k.to_vec())
    }

    /// The links (to sign the next list from).
    pub fn links(&self) -> Vec<Arc<DeviceLink>> {
        self.0.links().into_iter().map(|l| Arc::new(DeviceLink(l))).collect()
    }
}

// ---------------------------------------------------------------------------
// The local device

/// What `LocalDevice.replenish` made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Replenished {
    /// One-time X25519 prekeys made.
    pub one_time: u32,
    /// One-time KEM prekeys made.
    pub kem: u32,
}

/// How many one-time prekeys a device holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PreKeyCounts {
    /// One-time X25519 prekeys.
    pub one_time: u64,
    /// One-time KEM prekeys.
    pub kem: u64,
}

/// This device: its identity, its certificate from the account and its
/// prekeys. After every call that changes it (replenish, rotate, prune,
/// mark_uploaded, a session record's decrypt of a first message), store
/// `to_bytes` (secret); upload prekeys only from what is stored (`upload`).
#[derive(uniffi::Object)]
pub struct LocalDevice(Mutex<facade::LocalDevice>);

impl LocalDevice {
    fn locked(&self) -> std::sync::MutexGuard<'_, facade::LocalDevice> {
        lock(&self.0)
    }
}

impl From<facade::LocalDevice> for LocalDevice {
    fn from(x: facade::LocalDevice) -> Self {
        Self(Mutex::new(x))
    }
}

stored_forms!(LocalDevice, locked);

#[uniffi::export]
impl LocalDevice {
    /// A new device for `identity`, certified by its account as
    /// `certificate`, with a first signed and last-resort prekey made at
    /// `now` (seconds; draws 32 + 64 bytes) and no one-time prekeys yet
    /// (call `replenish`).
    ///
    /// # Errors
    /// `WrongIdentity` if the certificate is for another identity key; a
    /// generator failure.
    #[uniffi::constructor(default(rng = None))]
    pub fn new(
        identity: &IdentityKeyPair,
        certificate: &DeviceCertificate,
        now: u64,
        rng: Option<Arc<Rng>>,
    ) -> Result<Arc<Self>> {
        let d = facade::LocalDevice::new(&identity.0, &certificate.0, now, &mut rng_of(&rng))?;
        Ok(Arc::new(Self(Mutex::new(d))))
    }

    /// A copy of the identity key pair (to open sealed envelopes, sign
    /// links).
    ///
    /// # Errors
    /// `Unusable`.
    pub fn identity(&self) -> Result<Arc<IdentityKeyPair>> {
        Ok(Arc::new(IdentityKeyPair(lock(&self.0).identity()?)))
    }

    /// The identity key (32 bytes).
    ///
    /// # Errors
    /// `Unusable`.
    pub fn identity_key(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).identity_key()?.to_vec())
    }

    /// The device id.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn device_id(&self) -> Result<u32> {
        Ok(lock(&self.0).device_id()?)
    }

    /// The device certificate.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn certificate(&self) -> Result<Arc<DeviceCertificate>> {
        Ok(Arc::new(DeviceCertificate(lock(&self.0).certificate()?)))
    }

    /// This device's link for its account's device list.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn link(&self) -> Result<Arc<DeviceLink>> {
        Ok(Arc::new(DeviceLink(lock(&self.0).link()?)))
    }

    /// How many one-time X25519 and KEM prekeys the device holds.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn one_time_prekey_counts(&self) -> Result<PreKeyCounts> {
        let (one_time, kem) = lock(&self.0).one_time_prekey_counts()?;
        Ok(PreKeyCounts { one_time: len(one_time), kem: len(kem) })
    }

    /// Whether the signed prekey is due for rotation at `now`.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn needs_rotation(&self, now: u64) -> Result<bool> {
        Ok(lock(&self.0).needs_rotation(now)?)
    }

    /// Whether some keys are not yet in a confirmed upload.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn needs_upload(&self) -> Result<bool> {
        Ok(lock(&self.0).needs_upload()?)
    }

    /// Replaces the signed and last-resort prekeys (draws 32 + 64 bytes).
    /// Persist, then `upload`.
    ///
    /// # Errors
    /// `CounterExhausted`; a generator failure (the device unchanged).
    #[uniffi::method(default(rng = None))]
    pub fn rotate_signed_prekey(&self, now: u64, rng: Option<Arc<Rng>>) -> Result<()> {
        let mut d = lock(&self.0);
        Ok(d.rotate_signed_prekey(now, &mut rng_of(&rng))?)
    }

    /// Deletes retired prekeys whose grace period is over at `now`.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn prune(&self, now: u64) -> Result<()> {
        Ok(lock(&self.0).prune(now)?)
    }

    /// Makes one-time prekeys when the server reports fewer than the low
    /// water mark (draws 32 bytes per X25519 and 64 per KEM prekey).
    /// Persist, then `upload`.
    ///
    /// # Errors
    /// `CounterExhausted`; a generator failure (the device unchanged).
    #[uniffi::method(default(rng = None))]
    pub fn replenish(
        &self,
        server_one_time: u32,
        server_kem: u32,
        rng: Option<Arc<Rng>>,
    ) -> Result<Replenished> {
        let mut d = lock(&self.0);
        let r = d.replenish(server_one_time, server_kem, &mut rng_of(&rng))?;
        Ok(Replenished { one_time: r.one_time, kem: r.kem })
    }

    /// The prekey upload, for `persisted`: the caller's stored form of this
    /// device (`to_bytes`, also when what is stored is its sealed form).
    ///
    /// # Errors
    /// `NotPersisted` if `persisted` is not the current stored form.
    pub fn upload(&self, persisted: Vec<u8>) -> Result<Arc<PreKeyUpload>> {
        let persisted = Zeroizing::new(persisted);
        Ok(Arc::new(PreKeyUpload(lock(&self.0).upload(&persisted)?)))
    }

    /// Records that the server stored `upload`. Persist afterwards.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn mark_uploaded(&self, upload: &PreKeyUpload) -> Result<()> {
        Ok(lock(&self.0).mark_uploaded(&upload.0)?)
    }

    /// Opens a sealed envelope addressed to this device, validating its
    /// sender certificate against `policy` (as `open_envelope` with the
    /// device's own identity; changes no state).
    ///
    /// # Errors
    /// As `open_envelope`; `Unusable`.
    pub fn open_envelope(
        &self,
        envelope: Vec<u8>,
        policy: &CertificatePolicy,
    ) -> Result<Arc<OpenedEnvelope>> {
        let d = lock(&self.0);
        let policy = lock(&policy.0);
        Ok(Arc::new(OpenedEnvelope(d.open_envelope(&envelope, &policy)?)))
    }

    /// The signed retry for `failed`, a message from the device with
    /// identity key `sender_identity` that failed to decrypt at `now` with
    /// `error` (the exception the decrypt raised); `None` if that failure
    /// calls for no retry (only `Auth`, `NoSession` and `UnknownPreKey`
    /// may).
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong length; a `Decode*` error for an
    /// invalid key; `Unusable`.
    pub fn retry_for(
        &self,
        sender_identity: Vec<u8>,
        failed: Vec<u8>,
        error: ChatcryptError,
        now: u64,
    ) -> Result<Option<Arc<RetryMessage>>> {
        self.retry_for_code(
            sender_identity,
            failed,
            error.error_code(),
            error.error_prekey_id().unwrap_or(0),
            now,
        )
    }

    /// As `retry_for`, from the failure's stable code (`error_code()`) and,
    /// for `UnknownPreKey`, the prekey id it carries (`prekey_id`; 0
    /// otherwise).
    ///
    /// # Errors
    /// As `retry_for`; `InvalidArgument` for a number that is no code, a
    /// prekey id other than 0 with another code than `UnknownPreKey`, or a
    /// prekey id the failed PreKeyMessage does not name.
    pub fn retry_for_code(
        &self,
        sender_identity: Vec<u8>,
        failed: Vec<u8>,
        code: i32,
        prekey_id: u32,
        now: u64,
    ) -> Result<Option<Arc<RetryMessage>>> {
        let code = facade::ErrorCode::from_i32(code)
            .ok_or_else(|| ChatcryptError::from(facade::Error::InvalidArgument("unknown error code")))?;
        let d = lock(&self.0);
        Ok(d.retry_for_code(&sender_identity, &failed, code, prekey_id, now)?
            .map(|r| Arc::new(RetryMessage(r))))
    }
}

/// A device's signed prekey upload: what the server stores and hands out
/// bundles from.
#[derive(uniffi::Object)]
pub struct PreKeyUpload(facade::PreKeyUpload);

#[uniffi::export]
impl PreKeyUpload {
    /// Decodes and verifies an upload (the server's side).
    ///
    /// # Errors
    /// A `Decode*` error; `BadSignature`.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::PreKeyUpload::from_bytes(&bytes)?)))
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The device's certificate.
    pub fn certificate(&self) -> Arc<DeviceCertificate> {
        Arc::new(DeviceCertificate(self.0.certificate()))
    }

    /// The device's identity key (32 bytes).
    pub fn identity_key(&self) -> Vec<u8> {
        self.0.identity_key().to_vec()
    }

    /// How many one-time X25519 prekeys it carries.
    pub fn one_time_prekey_count(&self) -> u64 {
        len(self.0.one_time_prekey_count())
    }

    /// How many one-time KEM prekeys it carries.
    pub fn kem_prekey_count(&self) -> u64 {
        len(self.0.kem_prekey_count())
    }

    /// The bundle a server hands out: with the one-time X25519 prekey at
    /// index `one_time` and the one-time KEM prekey at index `kem` of this
    /// upload, or without (`None`: no one-time prekey; the last-resort KEM
    /// prekey).
    ///
    /// # Errors
    /// `DecodeInvalidValue` for an index out of range.
    #[uniffi::method(default(one_time = None, kem = None))]
    pub fn bundle(&self, one_time: Option<u64>, kem: Option<u64>) -> Result<Arc<PreKeyBundle>> {
        let one_time = one_time.map(|i| size(i, "prekey index")).transpose()?;
        let kem = kem.map(|i| size(i, "prekey index")).transpose()?;
        Ok(Arc::new(PreKeyBundle(self.0.bundle(one_time, kem)?)))
    }
}

// ---------------------------------------------------------------------------
// Peers

/// How a peer's account key was pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TrustLevel {
    /// Trusted on first use, not compared out of band.
    TrustedOnFirstUse,
    /// The users compared safety numbers.
    Verified,
}

/// What `PeerAccount.update_device_list` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DeviceListChange {
    /// The list is the one already held.
    Unchanged,
    /// A newer list under the pinned account key replaced the old one.
    Updated,
    /// The list is signed by another account key: held as pending, every
    /// device refused (`AccountKeyChanged`) until the caller decides
    /// (`accept_account_key_change`, `reject_account_key_change`).
    AccountKeyChanged,
}

/// `PeerAccount.update_device_list`'s result.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceListUpdate {
    /// What happened.
    pub change: DeviceListChange,
    /// Devices new on the list.
    pub added: Vec<u32>,
    /// Devices no longer on the list: delete their records.
    pub removed: Vec<u32>,
    /// Devices with a new identity key (reinstalled).
    pub reinstalled: Vec<u32>,
}

/// What this device trusts about a peer account: its user id, the pinned
/// account key and the newest device list. Store `to_bytes` (secret)
/// after every change.
#[derive(uniffi::Object)]
pub struct PeerAccount(Mutex<facade::PeerAccount>);

impl PeerAccount {
    fn locked(&self) -> std::sync::MutexGuard<'_, facade::PeerAccount> {
        lock(&self.0)
    }
}

impl From<facade::PeerAccount> for PeerAccount {
    fn from(x: facade::PeerAccount) -> Self {
        Self(Mutex::new(x))
    }
}

stored_forms!(PeerAccount, locked);

#[uniffi::export]
impl PeerAccount {
    /// First contact, trusting on first use the account key that signed `list`.
    ///
    /// # Errors
    /// `TooLarge` for a user id over `constants().max_user_id_len` bytes.
    #[uniffi::constructor]
    pub fn trust_on_first_use(user_id: Vec<u8>, list: &DeviceList) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(Mutex::new(facade::PeerAccount::trust_on_first_use(&user_id, &list.0)?))))
    }

    /// First contact with an account key (32 bytes) verified out of band.
    ///
    /// # Errors
    /// As `trust_on_first_use`; `InvalidArgument` for a wrong length, a
    /// `Decode*` error for an invalid key; `AccountKeyChanged` if `list` is
    /// signed by another key.
    #[uniffi::constructor]
    pub fn verified(user_id: Vec<u8>, account_key: Vec<u8>, list: &DeviceList) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(Mutex::new(facade::PeerAccount::verified(&user_id, &account_key, &list.0)?))))
    }

    /// The peer's stable user id.
    ///
    /// # Errors
    /// `Unusable` (never, for a peer account).
    pub fn user_id(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).user_id()?)
    }

    /// The pinned account key (32 bytes).
    ///
    /// # Errors
    /// `Unusable` (never, for a peer account).
    pub fn account_key(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).account_key()?.to_vec())
    }

    /// How the account key was pinned.
    ///
    /// # Errors
    /// `Unusable` (never, for a peer account).
    pub fn trust_level(&self) -> Result<TrustLevel> {
        Ok(match lock(&self.0).trust_level()? {
            facade::TrustLevel::Verified => TrustLevel::Verified,
            facade::TrustLevel::TrustedOnFirstUse => TrustLevel::TrustedOnFirstUse,
        })
    }

    /// The newest device list under the pinned key.
    ///
    /// # Errors
    /// `Unusable` (never, for a peer account).
    pub fn device_list(&self) -> Result<Arc<DeviceList>> {
        Ok(Arc::new(DeviceList(lock(&self.0).device_list()?)))
    }

    /// The account key (32 bytes) of a change waiting for the caller's
    /// decision, if any.
    ///
    /// # Errors
    /// `Unusable` (never, for a peer account).
    pub fn pending_account_key(&self) -> Result<Option<Vec<u8>>> {
        Ok(lock(&self.0).pending_account_key()?.map(|k| k.to_vec()))
    }

    /// Records that the users compared safety numbers and they matched.
    ///
    /// # Errors
    /// `AccountKeyChanged` while a change is pending.
    pub fn mark_verified(&self) -> Result<()> {
        Ok(lock(&self.0).mark_verified()?)
    }

    /// Applies a device list fetched for this account.
    ///
    /// # Errors
    /// `DeviceListRollback`, `DeviceListConflict`; nothing changes on error.
    pub fn update_device_list(&self, list: &DeviceList) -> Result<DeviceListUpdate> {
        let u = lock(&self.0).update_device_list(&list.0)?;
        Ok(DeviceListUpdate {
            change: match u.change {
                facade::DeviceListChange::Unchanged => DeviceListChange::Unchanged,
                facade::DeviceListChange::Updated => DeviceListChange::Updated,
                facade::DeviceListChange::AccountKeyChanged => DeviceListChange::AccountKeyChanged,
            },
            added: u.added,
            removed: u.removed,
            reinstalled: u.reinstalled,
        })
    }

    /// The caller's decision to trust the pending account key `expected`
    /// (32 bytes).
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong length, a `Decode*` error for an
    /// invalid key; `NoPendingChange`; `AccountKeyChanged` if the pending
    /// key is another.
    pub fn accept_account_key_change(&self, expected: Vec<u8>) -> Result<()> {
        Ok(lock(&self.0).accept_account_key_change(&expected)?)
    }

    /// The caller's decision to keep the pinned key.
    ///
    /// # Errors
    /// `NoPendingChange`.
    pub fn reject_account_key_change(&self) -> Result<()> {
        Ok(lock(&self.0).reject_account_key_change()?)
    }

    /// The identity key (32 bytes) device `device` must have.
    ///
    /// # Errors
    /// `AccountKeyChanged`, `UnknownDevice`.
    pub fn device_identity(&self, device: u32) -> Result<Vec<u8>> {
        Ok(lock(&self.0).device_identity(device)?.to_vec())
    }

    /// Whether device `device` with identity key `identity_key` may send
    /// and receive (returns if so).
    ///
    /// # Errors
    /// `AccountKeyChanged`, `UnknownDevice`, `WrongIdentity`; a wrong
    /// length or invalid key.
    pub fn authorize(&self, device: u32, identity_key: Vec<u8>) -> Result<()> {
        Ok(lock(&self.0).authorize(device, &identity_key)?)
    }

    /// The safety number between the local user (`local_user_id`,
    /// `local_account_key`) and this peer's pinned account key: the one a
    /// multi-device messenger shows.
    ///
    /// # Errors
    /// A wrong length or invalid key; `TooLarge` for a longer user id.
    pub fn safety_number(
        &self,
        local_user_id: Vec<u8>,
        local_account_key: Vec<u8>,
    ) -> Result<Arc<SafetyNumber>> {
        Ok(Arc::new(SafetyNumber(lock(&self.0).safety_number(&local_user_id, &local_account_key)?)))
    }
}

#[uniffi::export]
impl SafetyNumber {
    /// The safety number between two users' account keys (32 bytes each):
    /// the one a multi-device messenger shows (both sides compute the same
    /// digits).
    ///
    /// # Errors
    /// `InvalidArgument` for wrong key lengths; a `Decode*` error for an
    /// invalid key; `TooLarge` for a longer user id.
    #[uniffi::constructor]
    pub fn for_accounts(
        local_user_id: Vec<u8>,
        local_account_key: Vec<u8>,
        remote_user_id: Vec<u8>,
        remote_account_key: Vec<u8>,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::SafetyNumber::for_accounts(
            &local_user_id,
            &local_account_key,
            &remote_user_id,
            &remote_account_key,
        )?)))
    }
}

// ---------------------------------------------------------------------------
// Session records

/// How a `SessionRecord` starts and accepts sessions
/// (`default_session_policy()`: plain headers, hybrid post-quantum
/// required, either mode accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SessionPolicy {
    /// The header mode of sessions this device starts.
    pub mode: Mode,
    /// Whether this device may start a classical session.
    pub pq: PqPolicy,
    /// The modes accepted from initiators.
    pub accept_mode: ModePolicy,
    /// Whether a classical session is accepted.
    pub accept_pq: PqPolicy,
}

/// chatcrypt's default session policy: plain headers, hybrid post-quantum
/// required, either mode accepted.
#[uniffi::export]
pub fn default_session_policy() -> SessionPolicy {
    let d = facade::SessionPolicy::default();
    SessionPolicy {
        mode: d.mode.into(),
        pq: pq_of(d.pq),
        accept_mode: match d.accept_mode {
            facade::ModePolicy::Any => ModePolicy::Any,
            facade::ModePolicy::HeaderEncryptionOnly => ModePolicy::HeaderEncryptionOnly,
            facade::ModePolicy::PlainOnly => ModePolicy::PlainOnly,
        },
        accept_pq: pq_of(d.accept_pq),
    }
}

fn pq_of(p: facade::PqPolicy) -> PqPolicy {
    match p {
        facade::PqPolicy::Required => PqPolicy::Required,
        facade::PqPolicy::AllowClassical => PqPolicy::AllowClassical,
    }
}

impl From<SessionPolicy> for facade::SessionPolicy {
    fn from(p: SessionPolicy) -> Self {
        facade::SessionPolicy {
            mode: p.mode.into(),
            pq: p.pq.into(),
            accept_mode: p.accept_mode.into(),
            accept_pq: p.accept_pq.into(),
        }
    }
}

/// A message a `SessionRecord` decrypted.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RecordDecrypted {
    /// The plaintext, without its padding.
    pub plaintext: Vec<u8>,
    /// The message's id.
    pub message_id: Vec<u8>,
    /// Whether the message started a new session (the local device's
    /// prekeys it used are consumed: store the device too).
    pub new_session: bool,
}

impl From<facade::Decrypted> for RecordDecrypted {
    fn from(d: facade::Decrypted) -> Self {
        RecordDecrypted {
            plaintext: d.plaintext.to_vec(),
            message_id: d.message_id.to_vec(),
            new_session: d.new_session,
        }
    }
}

/// What `SessionRecord.handle_retry` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RetryOutcome {
    /// Nothing to do.
    Ignored,
    /// The current session was archived: fetch a bundle, initiate, resend.
    StartNewSession,
}

/// All sessions with one peer device: the current one and a few earlier
/// ones. After every call that changes it, store `to_bytes` (secret); a
/// call that fails changes neither the record nor the local device.
///
/// Every call takes the `PeerAccount` that authorizes the device (its
/// device list and pinned account key): a device no longer listed, or
/// listed with another identity key, is refused.
#[derive(uniffi::Object)]
pub struct SessionRecord(Mutex<facade::SessionRecord>);

impl SessionRecord {
    fn locked(&self) -> std::sync::MutexGuard<'_, facade::SessionRecord> {
        lock(&self.0)
    }
}

impl From<facade::SessionRecord> for SessionRecord {
    fn from(x: facade::SessionRecord) -> Self {
        Self(Mutex::new(x))
    }
}

stored_forms!(SessionRecord, locked);

#[uniffi::export]
impl SessionRecord {
    /// An empty record for the peer's device `device`.
    #[uniffi::constructor]
    pub fn new(device: u32) -> Arc<Self> {
        Arc::new(Self(Mutex::new(facade::SessionRecord::new(device))))
    }

    /// The peer's device id.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn device(&self) -> Result<u32> {
        Ok(lock(&self.0).device()?)
    }

    /// Whether there is no session to send on at `now`: fetch a bundle and
    /// `initiate`.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn needs_new_session(&self, now: u64) -> Result<bool> {
        Ok(lock(&self.0).needs_new_session(now)?)
    }

    /// The current session's id (its handshake's base key, 32 bytes), if any.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn current_session_id(&self) -> Result<Option<Vec<u8>>> {
        Ok(lock(&self.0).current_session_id()?.map(|k| k.to_vec()))
    }

    /// How many earlier sessions are kept.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn archived_count(&self) -> Result<u64> {
        Ok(len(lock(&self.0).archived_count()?))
    }

    /// Starts a session with the device from its `bundle`, authorized by
    /// `peer`'s device list; it becomes the current session.
    ///
    /// # Errors
    /// `UnknownDevice`, `WrongIdentity`, `AccountKeyChanged`,
    /// `BadSignature`, `PostQuantumRequired`, ...; a generator failure.
    #[uniffi::method(default(rng = None))]
    pub fn initiate(
        &self,
        local: &LocalDevice,
        peer: &PeerAccount,
        bundle: &PreKeyBundle,
        policy: SessionPolicy,
        now: u64,
        rng: Option<Arc<Rng>>,
    ) -> Result<()> {
        let mut rec = lock(&self.0);
        let local = lock(&local.0);
        let peer = lock(&peer.0);
        Ok(rec.initiate(&local, &peer, &bundle.0, policy.into(), now, &mut rng_of(&rng))?)
    }

    /// The length of the message `encrypt_padded` gives now for
    /// `plaintext_len` bytes padded with `padding`; add
    /// `constants().sealed_envelope_overhead` + 4 for `encrypt_sealed`
    /// (default padding).
    ///
    /// # Errors
    /// `NoSession` without a current session; `TooLarge`; `Unusable`.
    pub fn encrypted_len(&self, plaintext_len: u64, padding: &Padding) -> Result<u64> {
        let n = size(plaintext_len, "plaintext length")?;
        Ok(len(lock(&self.0).encrypted_len(n, padding.0)?))
    }

    /// Encrypts `plaintext` on the current session, padded with the
    /// default policy (draws a 16-byte reuse guard).
    ///
    /// # Errors
    /// `NoSession`, `SessionExpired`, `AccountKeyChanged`, `UnknownDevice`,
    /// `WrongIdentity`, `TooLarge`; a generator failure.
    #[uniffi::method(default(rng = None))]
    pub fn encrypt(
        &self,
        peer: &PeerAccount,
        plaintext: Vec<u8>,
        now: u64,
        rng: Option<Arc<Rng>>,
    ) -> Result<Vec<u8>> {
        let plaintext = Zeroizing::new(plaintext);
        let mut rec = lock(&self.0);
        let peer = lock(&peer.0);
        Ok(rec.encrypt(&peer, &plaintext, now, &mut rng_of(&rng))?)
    }

    /// As `encrypt`, padded with `padding`.
    ///
    /// # Errors
    /// As `encrypt`.
    #[uniffi::method(default(rng = None))]
    pub fn encrypt_padded(
        &self,
        peer: &PeerAccount,
        plaintext: Vec<u8>,
        padding: &Padding,
        now: u64,
        rng: Option<Arc<Rng>>,
    ) -> Result<Vec<u8>> {
        let plaintext = Zeroizing::new(plaintext);
        let mut rec = lock(&self.0);
        let peer = lock(&peer.0);
        Ok(rec.encrypt_padded(&peer, &plaintext, padding.0, now, &mut rng_of(&rng))?)
    }

    /// Decrypts a message from the device; a new PreKeyMessage is accepted
    /// with `local`'s prekeys, which it consumes on success
    /// (`new_session`: store the device too). Draws 32 bytes on a new
    /// ratchet step.
    ///
    /// # Errors
    /// `Auth`, `Duplicate` (drop it), `UnknownPreKey`, `NoSession`,
    /// `UnknownDevice`, `WrongIdentity`, a `Decode*` error, ...; a
    /// generator failure. Nothing changes on error; answer `Auth`,
    /// `NoSession` and `UnknownPreKey` with `LocalDevice.retry_for`.
    #[allow(clippy::too_many_arguments)]
    #[uniffi::method(default(rng = None))]
    pub fn decrypt(
        &self,
        local: &LocalDevice,
        peer: &PeerAccount,
        message: Vec<u8>,
        policy: SessionPolicy,
        now: u64,
        rng: Option<Arc<Rng>>,
    ) -> Result<RecordDecrypted> {
        let mut rec = lock(&self.0);
        let mut local = lock(&local.0);
        let peer = lock(&peer.0);
        Ok(rec.decrypt(&mut local, &peer, &message, policy.into(), now, &mut rng_of(&rng))?.into())
    }

    /// Encrypts `plaintext` on the current session (default padding) and
    /// seals the message for the session's peer device with `certificate`,
    /// this device's sender certificate (draws 16 + 32 bytes).
    ///
    /// # Errors
    /// As `encrypt`; `WrongIdentity` for a certificate of another device.
    #[allow(clippy::too_many_arguments)]
    #[uniffi::method(default(rng = None))]
    pub fn encrypt_sealed(
        &self,
        local: &LocalDevice,
        peer: &PeerAccount,
        certificate: &SenderCertificate,
        plaintext: Vec<u8>,
        now: u64,
        rng: Option<Arc<Rng>>,
    ) -> Result<Vec<u8>> {
        let plaintext = Zeroizing::new(plaintext);
        let mut rec = lock(&self.0);
        let local = lock(&local.0);
        let peer = lock(&peer.0);
        Ok(rec.encrypt_sealed(&local, &peer, &certificate.0, &plaintext, now, &mut rng_of(&rng))?)
    }

    /// Decrypts the content of an opened sealed envelope from the device,
    /// if its certificate names the sender the inner session authenticates.
    ///
    /// # Errors
    /// `SenderMismatch`; as `decrypt`. Nothing changes on error.
    #[allow(clippy::too_many_arguments)]
    #[uniffi::method(default(rng = None))]
    pub fn decrypt_sealed(
        &self,
        local: &LocalDevice,
        peer: &PeerAccount,
        opened: &OpenedEnvelope,
        policy: SessionPolicy,
        now: u64,
        rng: Option<Arc<Rng>>,
    ) -> Result<RecordDecrypted> {
        let mut rec = lock(&self.0);
        let mut local = lock(&local.0);
        let peer = lock(&peer.0);
        Ok(rec.decrypt_sealed(&mut local, &peer, &opened.0, policy.into(), now, &mut rng_of(&rng))?.into())
    }

    /// Reacts to a retry message from the device: `StartNewSession` if it
    /// names a message this record sent recently on the current session
    /// (which is archived), `Ignored` otherwise.
    ///
    /// # Errors
    /// `WrongIdentity` if the retry is not addressed to `local`;
    /// `AccountKeyChanged`, `UnknownDevice`, `WrongIdentity` if its author is
    /// not the device's listed identity; nothing changes on error.
    pub fn handle_retry(
        &self,
        local: &LocalDevice,
        peer: &PeerAccount,
        retry: &RetryMessage,
    ) -> Result<RetryOutcome> {
        let mut rec = lock(&self.0);
        let local = lock(&local.0);
        let peer = lock(&peer.0);
        Ok(match rec.handle_retry(&local, &peer, &retry.0)? {
            facade::RetryOutcome::Ignored => RetryOutcome::Ignored,
            facade::RetryOutcome::StartNewSession => RetryOutcome::StartNewSession,
        })
    }
}

// ---------------------------------------------------------------------------
// Retries

/// Why a message could not be decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RetryReason {
    /// No session decrypts the message.
    NoSession,
    /// A PreKeyMessage named a prekey the device does not hold.
    UnknownPreKey,
    /// A PreKeyMessage named held prekeys but did not authenticate.
    HandshakeFailed,
}

/// A signed "I could not decrypt your message", from the device that
/// failed to the sender (`LocalDevice.retry_for`, then
/// `SessionRecord.handle_retry` on the sender's side).
#[derive(uniffi::Object)]
pub struct RetryMessage(facade::RetryMessage);

#[uniffi::export]
impl RetryMessage {
    /// Decodes and verifies a retry message.
    ///
    /// # Errors
    /// A `Decode*` error; `BadSignature`.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::RetryMessage::from_bytes(&bytes)?)))
    }

    /// The encoding (`constants().retry_message_len` bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Why the message failed.
    pub fn reason(&self) -> RetryReason {
        match self.0.reason() {
            facade::RetryReason::NoSession => RetryReason::NoSession,
            facade::RetryReason::UnknownPreKey => RetryReason::UnknownPreKey,
            facade::RetryReason::HandshakeFailed => RetryReason::HandshakeFailed,
        }
    }

    /// The unknown prekey's id, else 0.
    pub fn prekey_id(&self) -> u32 {
        self.0.prekey_id()
    }

    /// The failed message's digest (16 bytes).
    pub fn message_digest(&self) -> Vec<u8> {
        self.0.message_digest().to_vec()
    }

    /// When the failure happened, on the author's clock.
    pub fn timestamp(&self) -> u64 {
        self.0.timestamp()
    }

    /// The identity key of the device that could not decrypt (32 bytes).
    pub fn author(&self) -> Vec<u8> {
        self.0.author().to_vec()
    }

    /// The identity key of the device whose message failed (32 bytes).
    pub fn recipient(&self) -> Vec<u8> {
        self.0.recipient().to_vec()
    }
}

// ---------------------------------------------------------------------------
// Padding

/// The kinds of `Padding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PaddingKind {
    /// No rounding (parameter 0).
    None,
    /// Round up to a multiple of the parameter (1 to 65 535).
    Blocks,
    /// Padmé with the parameter as the floor (0 to 65 535).
    Padme,
}

/// How a plaintext is padded before it is encrypted or sealed (SPEC.md §26).
#[derive(Debug, uniffi::Object)]
pub struct Padding(facade::Padding);

#[uniffi::export]
impl Padding {
    /// The policy of a kind and its parameter.
    ///
    /// # Errors
    /// `InvalidArgument` for a parameter out of range (`None` with a
    /// parameter, `Blocks` with 0, a parameter above 65 535).
    #[uniffi::constructor]
    pub fn new(kind: PaddingKind, param: u32) -> Result<Arc<Self>> {
        let kind = match kind {
            PaddingKind::None => facade::PaddingKind::None,
            PaddingKind::Blocks => facade::PaddingKind::Blocks,
            PaddingKind::Padme => facade::PaddingKind::Padme,
        };
        Ok(Arc::new(Self(facade::Padding::new(kind as u32, param)?)))
    }

    /// chatcrypt's default policy (Padmé with a 160-byte floor), the one
    /// `SessionRecord.encrypt` uses.
    #[uniffi::constructor]
    pub fn default_policy() -> Arc<Self> {
        Arc::new(Self(facade::Padding::default()))
    }

    /// The kind.
    pub fn kind(&self) -> PaddingKind {
        match self.0.kind() {
            facade::PaddingKind::None => PaddingKind::None,
            facade::PaddingKind::Blocks => PaddingKind::Blocks,
            facade::PaddingKind::Padme => PaddingKind::Padme,
        }
    }

    /// The parameter.
    pub fn param(&self) -> u32 {
        self.0.param()
    }

    /// The padded length of `content_len` bytes.
    ///
    /// # Errors
    /// `TooLarge` if it does not fit.
    pub fn padded_len(&self, content_len: u64) -> Result<u64> {
        Ok(len(self.0.padded_len(size(content_len, "content length")?)?))
    }

    /// Pads `content` (at most `max` bytes padded).
    ///
    /// # Errors
    /// `TooLarge`.
    pub fn pad(&self, content: Vec<u8>, max: u64) -> Result<Vec<u8>> {
        let content = Zeroizing::new(content);
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        Ok(self.0.pad(&content, max)?.to_vec())
    }
}

/// Removes `Padding.pad`'s padding (strictly).
///
/// # Errors
/// `Padding` for anything `pad` does not make.
#[uniffi::export]
pub fn unpad(padded: Vec<u8>) -> Result<Vec<u8>> {
    let padded = Zeroizing::new(padded);
    Ok(facade::unpad(&padded)?.to_vec())
}

// ---------------------------------------------------------------------------
// Sealed sender

/// The server's certificate-signing key pair (sealed sender). Its seed is
/// secret.
#[derive(uniffi::Object)]
pub struct ServerKeyPair(facade::ServerKeyPair);

#[uniffi::export]
impl ServerKeyPair {
    /// A new key pair (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    #[uniffi::constructor(default(rng = None))]
    pub fn generate(rng: Option<Arc<Rng>>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::ServerKeyPair::generate(&mut rng_of(&rng))?)))
    }

    /// The key pair of a 32-byte seed.
    ///
    /// # Errors
    /// `InvalidArgument` if `seed` is not 32 bytes.
    #[uniffi::constructor]
    pub fn from_seed(seed: Vec<u8>) -> Result<Arc<Self>> {
        let seed = Zeroizing::new(seed);
        Ok(Arc::new(Self(facade::ServerKeyPair::from_seed(&seed)?)))
    }

    /// The 32-byte seed (secret).
    pub fn seed(&self) -> Vec<u8> {
        self.0.seed().to_vec()
    }

    /// The public key (32 bytes; what clients trust as a root).
    pub fn public_key(&self) -> Vec<u8> {
        self.0.public_key().to_vec()
    }

    /// Issues certificate `serial`, valid while the recipient's clock is
    /// below `expires`, for device `device` of account `account_key` with
    /// identity key `identity_key` (32 bytes each).
    ///
    /// # Errors
    /// `InvalidArgument` for wrong lengths; a `Decode*` error for invalid keys.
    pub fn issue(
        &self,
        serial: u64,
        expires: u64,
        account_key: Vec<u8>,
        device: u32,
        identity_key: Vec<u8>,
    ) -> Result<Arc<SenderCertificate>> {
        Ok(Arc::new(SenderCertificate(self.0.issue(serial, expires, &account_key, device, &identity_key)?)))
    }
}

/// A sender certificate: the server's statement of who a sealed
/// envelope's sender is, until when.
#[derive(uniffi::Object)]
pub struct SenderCertificate(facade::SenderCertificate);

#[uniffi::export]
impl SenderCertificate {
    /// Decodes a certificate (validated against a policy when opened).
    ///
    /// # Errors
    /// A `Decode*` error.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::SenderCertificate::from_bytes(&bytes)?)))
    }

    /// The encoding (`constants().sender_certificate_len` bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The serial number.
    pub fn serial(&self) -> u64 {
        self.0.serial()
    }

    /// The expiry time.
    pub fn expires(&self) -> u64 {
        self.0.expires()
    }

    /// The sender's account key (32 bytes).
    pub fn account_key(&self) -> Vec<u8> {
        self.0.account_key().to_vec()
    }

    /// The sender's device id.
    pub fn device(&self) -> u32 {
        self.0.device()
    }

    /// The sender device's identity key (32 bytes).
    pub fn identity_key(&self) -> Vec<u8> {
        self.0.identity_key().to_vec()
    }

    /// The issuing server key (32 bytes).
    pub fn issuer(&self) -> Vec<u8> {
        self.0.issuer().to_vec()
    }

    /// Checks the certificate against `policy`.
    ///
    /// # Errors
    /// `UntrustedCertificate`, `CertificateRevoked`, `CertificateExpired`,
    /// `BadSignature`.
    pub fn validate(&self, policy: &CertificatePolicy) -> Result<()> {
        Ok(self.0.validate(&lock(&policy.0))?)
    }
}

/// Which sender certificates a recipient accepts: the trusted server keys
/// (roots), the revoked serials and the time.
#[derive(uniffi::Object)]
pub struct CertificatePolicy(Mutex<facade::CertificatePolicy>);

#[uniffi::export]
impl CertificatePolicy {
    /// A policy at time `now` with no roots yet (which accepts nothing:
    /// `UntrustedCertificate`). The time is part of the policy: a policy
    /// kept across calls must be moved on with `set_now` before each
    /// `open_envelope`, or expired certificates pass.
    #[uniffi::constructor]
    pub fn new(now: u64) -> Arc<Self> {
        Arc::new(Self(Mutex::new(facade::CertificatePolicy::new(now))))
    }

    /// Sets the time certificates are checked at.
    pub fn set_now(&self, now: u64) {
        lock(&self.0).set_now(now);
    }

    /// The time certificates are checked at.
    pub fn now(&self) -> u64 {
        lock(&self.0).now()
    }

    /// Trusts the server key `root` (32 bytes).
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong length; a `Decode*` error for an
    /// invalid key.
    pub fn add_root(&self, root: Vec<u8>) -> Result<()> {
        Ok(lock(&self.0).add_root(&root)?)
    }

    /// Refuses certificates with serial `serial`.
    pub fn revoke(&self, serial: u64) {
        lock(&self.0).revoke(serial);
    }
}

/// An opened sealed envelope: the validated sender certificate and the
/// content.
#[derive(uniffi::Object)]
pub struct OpenedEnvelope(facade::OpenedEnvelope);

#[uniffi::export]
impl OpenedEnvelope {
    /// The sender's certificate.
    pub fn certificate(&self) -> Arc<SenderCertificate> {
        Arc::new(SenderCertificate(self.0.certificate()))
    }

    /// The content without its padding (for a session record's message,
    /// give the envelope to `SessionRecord.decrypt_sealed`).
    pub fn content(&self) -> Vec<u8> {
        self.0.content().to_vec()
    }
}

/// Seals `content` for the device with identity key `recipient` (32
/// bytes), as the sender `identity` with its `certificate` (draws 32
/// bytes). Named `seal_envelope` rather than `seal`, as `open_envelope`
/// is: a module-level `open` would shadow Python's built-in `open` on
/// `from chatcrypt import *`.
///
/// # Errors
/// `WrongIdentity` for a certificate of another identity; `TooLarge`;
/// a wrong length or invalid key; a generator failure.
#[uniffi::export(default(rng = None))]
pub fn seal_envelope(
    identity: &IdentityKeyPair,
    certificate: &SenderCertificate,
    recipient: Vec<u8>,
    content: Vec<u8>,
    padding: &Padding,
    rng: Option<Arc<Rng>>,
) -> Result<Vec<u8>> {
    let content = Zeroizing::new(content);
    Ok(facade::seal(&identity.0, &certificate.0, &recipient, &content, padding.0, &mut rng_of(&rng))?)
}

/// Seals `content` once for every device in `recipients` (32-byte identity
/// keys, at most `constants().max_sealed_recipients`; draws 32 bytes): the
/// multi-recipient envelope the server splits with `split_multi_recipient`.
///
/// # Errors
/// As `seal_envelope`; `TooLarge` for too many recipients.
#[uniffi::export(default(rng = None))]
pub fn seal_multi(
    identity: &IdentityKeyPair,
    certificate: &SenderCertificate,
    recipients: Vec<Vec<u8>>,
    content: Vec<u8>,
    padding: &Padding,
    rng: Option<Arc<Rng>>,
) -> Result<Vec<u8>> {
    let content = Zeroizing::new(content);
    let keys =
        recipients.iter().map(|k| key32(k, "identity key must be 32 bytes")).collect::<Result<Vec<_>>>()?;
    Ok(facade::seal_multi(&identity.0, &certificate.0, &keys, &content, padding.0, &mut rng_of(&rng))?)
}

/// One recipient's part of a split multi-recipient envelope.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RecipientEnvelope {
    /// The recipient device's identity key (32 bytes; the server's
    /// routing address).
    pub recipient: Vec<u8>,
    /// The sealed envelope to deliver to it (for `open_envelope`).
    pub envelope: Vec<u8>,
}

fn envelopes(v: Vec<facade::RecipientEnvelope>) -> Vec<RecipientEnvelope> {
    v.into_iter()
        .map(|e| RecipientEnvelope { recipient: e.recipient.to_vec(), envelope: e.envelope })
        .collect()
}

/// The server's split of a multi-recipient envelope into one sealed
/// envelope per recipient, if they take at most
/// `constants().max_split_len` bytes together (each repeats the payload);
/// otherwise split in ranges with `split_multi_recipient_range`.
///
/// # Errors
/// A `Decode*` error; `TooLarge` for more than `max_split_len` bytes of
/// envelopes, before anything is built.
#[uniffi::export]
pub fn split_multi_recipient(bytes: Vec<u8>) -> Result<Vec<RecipientEnvelope>> {
    Ok(envelopes(facade::split_multi_recipient(&bytes)?))
}

/// The envelopes of recipients `first`, `first + 1`, ... (at most `count`
/// of them, fewer at the end of the list, none from `first` on past the
/// end), in the envelope's order. Each call decodes the whole upload
/// again: choose `count` so that `count` envelopes fit in memory and in
/// `constants().max_split_len`.
///
/// # Errors
/// A `Decode*` error; `TooLarge` if the envelopes asked for exceed
/// `max_split_len` bytes together, before anything is built.
#[uniffi::export]
pub fn split_multi_recipient_range(bytes: Vec<u8>, first: u64, count: u64) -> Result<Vec<RecipientEnvelope>> {
    let first = usize::try_from(first).unwrap_or(usize::MAX);
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    Ok(envelopes(facade::split_multi_recipient_range(&bytes, first, count)?))
}

/// Opens a sealed envelope addressed to `identity`, validating its sender
/// certificate against `policy` (changes no state).
///
/// # Errors
/// `Auth` (not for this identity, or tampered), `UntrustedCertificate`,
/// `CertificateRevoked`, `CertificateExpired`, a `Decode*` error, in
/// chatcrypt's order.
#[uniffi::export]
pub fn open_envelope(
    identity: &IdentityKeyPair,
    envelope: Vec<u8>,
    policy: &CertificatePolicy,
) -> Result<Arc<OpenedEnvelope>> {
    Ok(Arc::new(OpenedEnvelope(facade::open(&identity.0, &envelope, &lock(&policy.0))?)))
}
