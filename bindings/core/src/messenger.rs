//! The messenger layer ([SPEC.md] §17-§21, §26-§27) for the bindings:
//! accounts and device lists, the local device and its prekeys, peer
//! accounts and their trust, session records, retries, account safety
//! numbers, sealed sender and padding.
//!
//! Shapes as in the rest of the facade: owned objects, byte slices in,
//! `Vec`s and arrays out, device ids as `u32`, times as `u64` seconds.
//!
//! # Guarantees
//!
//! * **Transactional.** A [`SessionRecord`] or [`LocalDevice`] call that
//!   fails changes neither object. chatcrypt's own errors already leave
//!   them as they were; for a generator that fails in the middle of a
//!   call, the objects are restored from a snapshot taken before it when
//!   the generator is [`Rng::scripted`] or when the message starts a
//!   session (so a device's prekeys are never lost to a failed call);
//!   otherwise (the OS generator failing while a record encrypts or
//!   decrypts an ordinary message, which does not happen in practice) the
//!   record becomes unusable ([`Error::Unusable`]): restore it from its
//!   last stored form. A [`LocalDevice`] is always restored.
//! * **Persist before publishing.** [`LocalDevice::upload`] takes the bytes
//!   the caller stored, as chatcrypt does.
//!
//! [SPEC.md]: https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md

use chatcrypt::sealed as cs;
use zeroize::Zeroizing;

use crate::{
    array, fresh, Draw, Error, ErrorCode, IdentityKeyPair, Mode, ModePolicy, PqPolicy, PreKeyBundle, Result,
    Rng,
};

/// Bytes of an encoded [`DeviceCertificate`].
pub const DEVICE_CERTIFICATE_LEN: usize = chatcrypt::DEVICE_CERTIFICATE_LEN;
/// Bytes of an encoded [`DeviceLink`].
pub const DEVICE_LINK_LEN: usize = chatcrypt::DEVICE_LIST_ENTRY_LEN;
/// The most devices a [`DeviceList`] names.
pub const MAX_DEVICES: usize = chatcrypt::MAX_DEVICES;
/// The longest stable user id, in bytes.
pub const MAX_USER_ID_LEN: usize = chatcrypt::MAX_STABLE_ID_LEN;
/// Bytes of an encoded [`RetryMessage`].
pub const RETRY_MESSAGE_LEN: usize = chatcrypt::RETRY_MESSAGE_LEN;
/// Bytes of an encoded [`SenderCertificate`].
pub const SENDER_CERTIFICATE_LEN: usize = cs::SENDER_CERTIFICATE_LEN;
/// Bytes a sealed envelope adds to the padded content.
pub const SEALED_ENVELOPE_OVERHEAD: usize = cs::SEALED_ENVELOPE_OVERHEAD;
/// The most recipients of one multi-recipient envelope.
pub const MAX_SEALED_RECIPIENTS: usize = cs::MAX_SEALED_RECIPIENTS;

fn device_id(device: u32) -> chatcrypt::DeviceId {
    chatcrypt::DeviceId::new(device)
}

fn identity_key(bytes: &[u8]) -> Result<chatcrypt::IdentityKey> {
    Ok(chatcrypt::IdentityKey::from_bytes(&array::<32>(bytes, "identity key must be 32 bytes")?)?)
}

fn account_key(bytes: &[u8]) -> Result<chatcrypt::AccountKey> {
    Ok(chatcrypt::AccountKey::from_bytes(&array::<32>(bytes, "account key must be 32 bytes")?)?)
}

fn sealing_key(key: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    Ok(Zeroizing::new(array::<32>(key, "sealing key must be 32 bytes")?))
}

/// Stored forms and sealing, for the persistent messenger objects.
macro_rules! stored_forms {
    ($facade:ident, $lib:ty, $what:literal) => {
        impl $facade {
            #[doc = concat!("The stored form of ", $what, " (secret): store it after every change.")]
            ///
            /// # Errors
            /// [`Error::Unusable`].
            pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
                Ok(self.inner()?.to_bytes())
            }

            /// Restores [`to_bytes`](Self::to_bytes)' output.
            ///
            /// # Errors
            /// [`chatcrypt::Error::Decode`].
            pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
                Ok(Self(Some(<$lib>::from_bytes(bytes)?)))
            }

            /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
            ///
            /// # Errors
            /// A wrong key length; a generator failure; [`Error::Unusable`].
            pub fn seal(&self, key: &[u8], rng: &mut Rng) -> Result<Vec<u8>> {
                let key = sealing_key(key)?;
                let inner = self.inner()?;
                fresh(rng, |r| Ok(inner.seal(&key, r)))
            }

            /// Opens [`seal`](Self::seal)'s output.
            ///
            /// # Errors
            /// A wrong key length; [`chatcrypt::Error::Auth`]; [`chatcrypt::Error::Decode`].
            pub fn open(key: &[u8], bytes: &[u8]) -> Result<Self> {
                let key = sealing_key(key)?;
                Ok(Self(Some(<$lib>::open(&key, bytes)?)))
            }

            fn inner(&self) -> Result<&$lib> {
                self.0.as_ref().ok_or(Error::Unusable)
            }

            #[allow(dead_code)] // not every object changes
            fn inner_mut(&mut self) -> Result<&mut $lib> {
                self.0.as_mut().ok_or(Error::Unusable)
            }
        }

        impl core::fmt::Debug for $facade {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match &self.0 {
                    Some(x) => core::fmt::Debug::fmt(x, f),
                    None => f.write_str(concat!(stringify!($facade), "(unusable)")),
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Accounts

/// A user's account key pair ([`chatcrypt::AccountKeyPair`]): certifies the
/// user's devices and signs their device list.
pub struct AccountKeyPair(Option<chatcrypt::AccountKeyPair>);

stored_forms!(AccountKeyPair, chatcrypt::AccountKeyPair, "the account key pair");

impl AccountKeyPair {
    /// A new account key pair (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    pub fn generate(rng: &mut Rng) -> Result<Self> {
        fresh(rng, |r| Ok(chatcrypt::AccountKeyPair::generate(r))).map(|k| Self(Some(k)))
    }

    /// The key pair of a 32-byte seed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `seed` is not 32 bytes.
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let seed = Zeroizing::new(array::<32>(seed, "seed must be 32 bytes")?);
        Ok(Self(Some(chatcrypt::AccountKeyPair::from_seed(&seed))))
    }

    /// The 32-byte seed (secret).
    ///
    /// # Errors
    /// [`Error::Unusable`] (never, for an account key pair).
    pub fn seed(&self) -> Result<Zeroizing<[u8; 32]>> {
        Ok(self.inner()?.seed())
    }

    /// The account key (Ed25519 public key).
    ///
    /// # Errors
    /// [`Error::Unusable`] (never, for an account key pair).
    pub fn public_key(&self) -> Result<[u8; 32]> {
        Ok(*self.inner()?.public_key().as_bytes())
    }

    /// Certifies that device `device` of this account has identity key
    /// `identity_key` (a new device's first step: [`LocalDevice::new`]).
    ///
    /// # Errors
    /// A wrong length or invalid identity key.
    pub fn certify(&self, device: u32, identity_key: &[u8]) -> Result<DeviceCertificate> {
        let identity = super::messenger::identity_key(identity_key)?;
        Ok(DeviceCertificate(self.inner()?.certify(device_id(device), &identity)))
    }

    /// Signs the account's device list at `epoch` (larger than every epoch
    /// signed before: persist it first) from the devices' links.
    ///
    /// # Errors
    /// [`chatcrypt::AccountKeyPair::sign_device_list`]'s: `InvalidValue`
    /// for epoch 0, no or too many devices, a device id or identity key
    /// twice; `BadSignature` for a link not made for this account.
    pub fn sign_device_list(&self, epoch: u64, links: &[DeviceLink]) -> Result<DeviceList> {
        let links: Vec<chatcrypt::DeviceLink> = links.iter().map(|l| l.0.clone()).collect();
        Ok(DeviceList(self.inner()?.sign_device_list(epoch, &links)?))
    }
}

/// A device's certificate from its account ([`chatcrypt::DeviceCertificate`]).
#[derive(Clone, Debug)]
pub struct DeviceCertificate(chatcrypt::DeviceCertificate);

impl DeviceCertificate {
    /// Decodes and verifies a certificate (signed by the account key it names).
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`]; [`chatcrypt::Error::BadSignature`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(chatcrypt::DeviceCertificate::from_bytes(bytes)?))
    }

    /// The [`DEVICE_CERTIFICATE_LEN`]-byte encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The account key that signed it.
    pub fn account_key(&self) -> [u8; 32] {
        *self.0.account_key().as_bytes()
    }

    /// The device id.
    pub fn device(&self) -> u32 {
        self.0.device().get()
    }

    /// The device's identity key.
    pub fn identity_key(&self) -> [u8; 32] {
        self.0.identity().to_bytes()
    }

    /// Checks that it was made by `account_key` (its signature was
    /// checked when it was decoded).
    ///
    /// # Errors
    /// A wrong length or invalid key; [`chatcrypt::DeviceCertificate::verify`]'s
    /// ([`chatcrypt::Error::WrongIdentity`] for another account key).
    pub fn verify(&self, account_key: &[u8]) -> Result<()> {
        Ok(self.0.verify(&super::messenger::account_key(account_key)?)?)
    }
}

/// A device's consent to be listed by an account ([`chatcrypt::DeviceLink`]).
#[derive(Clone, Debug)]
pub struct DeviceLink(chatcrypt::DeviceLink);

impl DeviceLink {
    /// The consent of the device with key pair `identity` to be device
    /// `device` of the account with key `account_key`.
    ///
    /// # Errors
    /// A wrong length or invalid account key.
    pub fn new(identity: &IdentityKeyPair, account_key: &[u8], device: u32) -> Result<Self> {
        let account = super::messenger::account_key(account_key)?;
        Ok(Self(chatcrypt::DeviceLink::new(&identity.0, &account, device_id(device))))
    }

    /// Decodes a link (its consent is checked when a list is signed).
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(chatcrypt::DeviceLink::from_bytes(bytes)?))
    }

    /// The [`DEVICE_LINK_LEN`]-byte encoding, to hand to the account's signer.
    pub fn to_bytes(&self) -> [u8; DEVICE_LINK_LEN] {
        self.0.to_bytes()
    }

    /// The device id.
    pub fn device(&self) -> u32 {
        self.0.device().get()
    }

    /// The device's identity key.
    pub fn identity_key(&self) -> [u8; 32] {
        self.0.identity().to_bytes()
    }
}

/// An account's signed device list ([`chatcrypt::DeviceList`]).
#[derive(Clone, Debug)]
pub struct DeviceList(chatcrypt::DeviceList);

impl DeviceList {
    /// Decodes and verifies a device list (signed by the account key it
    /// names; whether to trust that key is a [`PeerAccount`]'s decision).
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`]; [`chatcrypt::Error::BadSignature`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(chatcrypt::DeviceList::from_bytes(bytes)?))
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The account key that signed it.
    pub fn account_key(&self) -> [u8; 32] {
        *self.0.account_key().as_bytes()
    }

    /// Its epoch.
    pub fn epoch(&self) -> u64 {
        self.0.epoch()
    }

    /// The device ids, ascending.
    pub fn devices(&self) -> Vec<u32> {
        self.0.devices().map(|(d, _)| d.get()).collect()
    }

    /// The identity key of device `device`, if listed.
    pub fn identity_of(&self, device: u32) -> Option<[u8; 32]> {
        self.0.identity_of(device_id(device)).map(chatcrypt::IdentityKey::to_bytes)
    }

    /// The links (to sign the next list from).
    pub fn links(&self) -> Vec<DeviceLink> {
        self.0.links().iter().cloned().map(DeviceLink).collect()
    }
}

// ---------------------------------------------------------------------------
// The local device

/// This device: identity, certificate and prekeys ([`chatcrypt::LocalDevice`]).
pub struct LocalDevice(Option<chatcrypt::LocalDevice>);

stored_forms!(LocalDevice, chatcrypt::LocalDevice, "the local device");

/// What [`LocalDevice::replenish`] made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replenished {
    /// One-time X25519 prekeys made.
    pub one_time: u32,
    /// One-time KEM prekeys made.
    pub kem: u32,
}

impl LocalDevice {
    /// A new device for `identity`, certified by its account as
    /// `certificate`, with a first signed and last-resort prekey made at
    /// `now` (draws 32 + 64 bytes) and no one-time prekeys yet (call
    /// [`replenish`](Self::replenish)).
    ///
    /// # Errors
    /// [`chatcrypt::Error::WrongIdentity`] if the certificate is for another
    /// identity key; a generator failure.
    pub fn new(
        identity: &IdentityKeyPair,
        certificate: &DeviceCertificate,
        now: u64,
        rng: &mut Rng,
    ) -> Result<Self> {
        let own = chatcrypt::IdentityKeyPair::from_seed(&identity.0.seed());
        let certificate = certificate.0.clone();
        fresh(rng, |r| chatcrypt::LocalDevice::new(own, certificate, now, r)).map(|d| Self(Some(d)))
    }

    /// Opens a sealed envelope addressed to this device ([`open`] with its
    /// identity, without a copy of the key pair).
    ///
    /// # Errors
    /// As [`open`]; [`Error::Unusable`].
    pub fn open_envelope(&self, envelope: &[u8], policy: &CertificatePolicy) -> Result<OpenedEnvelope> {
        Ok(OpenedEnvelope(cs::open(self.inner()?.identity(), envelope, &policy.as_lib())?))
    }

    /// A copy of the identity key pair (to seal envelopes or sign links),
    /// wiped when dropped; prefer the methods that use the device's own
    /// ([`open_envelope`](Self::open_envelope)).
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn identity(&self) -> Result<IdentityKeyPair> {
        Ok(IdentityKeyPair(chatcrypt::IdentityKeyPair::from_seed(&self.inner()?.identity().seed())))
    }

    /// The identity key.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn identity_key(&self) -> Result<[u8; 32]> {
        Ok(self.inner()?.identity().public_key().to_bytes())
    }

    /// The device id.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn device_id(&self) -> Result<u32> {
        Ok(self.inner()?.device_id().get())
    }

    /// The device certificate.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn certificate(&self) -> Result<DeviceCertificate> {
        Ok(DeviceCertificate(self.inner()?.certificate().clone()))
    }

    /// This device's link for its account's device list.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn link(&self) -> Result<DeviceLink> {
        Ok(DeviceLink(self.inner()?.link()))
    }

    /// How many one-time X25519 and KEM prekeys the device holds.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn one_time_prekey_counts(&self) -> Result<(usize, usize)> {
        Ok(self.inner()?.one_time_prekey_counts())
    }

    /// Whether the signed prekey is due for rotation at `now`.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn needs_rotation(&self, now: u64) -> Result<bool> {
        Ok(self.inner()?.needs_rotation(now))
    }

    /// Whether some keys are not yet in a confirmed upload.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn needs_upload(&self) -> Result<bool> {
        Ok(self.inner()?.needs_upload())
    }

    /// Runs a call that may draw: on a generator failure the device is
    /// restored from before the call (always: a device is small next to
    /// what losing it costs).
    fn mutate<T>(
        &mut self,
        rng: &mut Rng,
        f: impl FnOnce(&mut chatcrypt::LocalDevice, &mut Draw<'_>) -> core::result::Result<T, chatcrypt::Error>,
    ) -> Result<T> {
        let device = self.inner_mut()?;
        let snapshot = device.to_bytes();
        let mut draw = Draw::new(rng);
        let result = f(device, &mut draw);
        if let Some(e) = draw.failed {
            drop(result);
            self.0 = chatcrypt::LocalDevice::from_bytes(&snapshot).ok();
            return Err(e);
        }
        result.map_err(Error::Protocol)
    }

    /// Replaces the signed and last-resort prekeys (draws 32 + 64 bytes).
    /// Persist, then [`upload`](Self::upload).
    ///
    /// # Errors
    /// [`chatcrypt::Error::CounterExhausted`]; a generator failure.
    pub fn rotate_signed_prekey(&mut self, now: u64, rng: &mut Rng) -> Result<()> {
        self.mutate(rng, |d, r| d.rotate_signed_prekey(now, r))
    }

    /// Deletes retired prekeys whose grace period is over at `now`.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn prune(&mut self, now: u64) -> Result<()> {
        self.inner_mut()?.prune(now);
        Ok(())
    }

    /// Makes one-time prekeys when the server reports fewer than the low
    /// water mark (draws 32 bytes per X25519 and 64 per KEM prekey).
    /// Persist, then [`upload`](Self::upload).
    ///
    /// # Errors
    /// [`chatcrypt::Error::CounterExhausted`]; a generator failure.
    pub fn replenish(&mut self, server_one_time: u32, server_kem: u32, rng: &mut Rng) -> Result<Replenished> {
        let (x, k) =
            self.mutate(rng, |d, r| d.replenish(server_one_time as usize, server_kem as usize, r))?;
        // At most the batch sizes (100 and 20).
        Ok(Replenished { one_time: x as u32, kem: k as u32 })
    }

    /// The prekey upload, for `persisted`: the caller's stored form of this
    /// device ([`to_bytes`](Self::to_bytes), also when what is stored is
    /// its sealed form).
    ///
    /// # Errors
    /// [`chatcrypt::Error::NotPersisted`] if `persisted` is not the current
    /// stored form.
    pub fn upload(&self, persisted: &[u8]) -> Result<PreKeyUpload> {
        Ok(PreKeyUpload(self.inner()?.upload(persisted)?))
    }

    /// Records that the server stored `upload`. Persist afterwards.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn mark_uploaded(&mut self, upload: &PreKeyUpload) -> Result<()> {
        self.inner_mut()?.mark_uploaded(&upload.0);
        Ok(())
    }

    /// The signed retry for `failed`, a message from the device with
    /// identity key `sender_identity` that failed to decrypt at `now` with
    /// `error`; `None` if that failure calls for no retry
    /// ([`chatcrypt::RetryMessage::for_failure`]). For a sealed message,
    /// `failed` is the opened envelope's content (the session message the
    /// sender recorded), not the envelope.
    ///
    /// # Errors
    /// A wrong length or invalid identity key; [`Error::Unusable`].
    pub fn retry_for(
        &self,
        sender_identity: &[u8],
        failed: &[u8],
        error: &Error,
        now: u64,
    ) -> Result<Option<RetryMessage>> {
        let sender = identity_key(sender_identity)?;
        let Error::Protocol(e) = error else { return Ok(None) };
        Ok(chatcrypt::RetryMessage::for_failure(self.inner()?.identity(), &sender, failed, *e, now)
            .map(RetryMessage))
    }

    /// As [`retry_for`](Self::retry_for), from the failure's stable code
    /// (and, for [`ErrorCode::UnknownPreKey`], the id
    /// [`Error::prekey_id`] reported), for bindings that hand errors over as
    /// codes: [`ErrorCode::Auth`], [`ErrorCode::NoSession`] and
    /// [`ErrorCode::UnknownPreKey`] may call for a retry, no other code does.
    ///
    /// # Errors
    /// As [`retry_for`](Self::retry_for); [`Error::InvalidArgument`] if
    /// `prekey_id` is not 0 for another code than
    /// [`ErrorCode::UnknownPreKey`], or, for that code, is not one of the
    /// prekey ids the failed PreKeyMessage names (a stale id would be signed
    /// into the retry).
    pub fn retry_for_code(
        &self,
        sender_identity: &[u8],
        failed: &[u8],
        code: ErrorCode,
        prekey_id: u32,
        now: u64,
    ) -> Result<Option<RetryMessage>> {
        if code != ErrorCode::UnknownPreKey && prekey_id != 0 {
            return Err(Error::InvalidArgument("a prekey id goes only with UNKNOWN_PREKEY"));
        }
        let error = match code {
            ErrorCode::Auth => chatcrypt::Error::Auth,
            ErrorCode::NoSession => chatcrypt::Error::NoSession,
            ErrorCode::UnknownPreKey => {
                if let Ok(pkm) = chatcrypt::PreKeyMessage::from_bytes(failed) {
                    let named = pkm.signed_prekey_id() == prekey_id
                        || pkm.one_time_prekey_id() == Some(prekey_id)
                        || pkm.kem_prekey_id().is_some_and(|(_, id)| id == prekey_id);
                    if !named {
                        return Err(Error::InvalidArgument("prekey id not named by the failed message"));
                    }
                }
                chatcrypt::Error::UnknownPreKey { id: prekey_id }
            }
            _ => {
                identity_key(sender_identity)?;
                self.inner()?;
                return Ok(None);
            }
        };
        self.retry_for(sender_identity, failed, &Error::Protocol(error), now)
    }
}

/// A device's signed prekey upload ([`chatcrypt::PreKeyUpload`]): what the
/// server stores and hands out bundles from.
#[derive(Clone, Debug)]
pub struct PreKeyUpload(chatcrypt::PreKeyUpload);

impl PreKeyUpload {
    /// Decodes and verifies an upload.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`]; [`chatcrypt::Error::BadSignature`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(chatcrypt::PreKeyUpload::from_bytes(bytes)?))
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The device's certificate.
    pub fn certificate(&self) -> DeviceCertificate {
        DeviceCertificate(self.0.certificate().clone())
    }

    /// The device's identity key.
    pub fn identity_key(&self) -> [u8; 32] {
        self.0.identity().to_bytes()
    }

    /// How many one-time X25519 prekeys it carries.
    pub fn one_time_prekey_count(&self) -> usize {
        self.0.one_time_prekeys().len()
    }

    /// How many one-time KEM prekeys it carries.
    pub fn kem_prekey_count(&self) -> usize {
        self.0.kem_prekeys().len()
    }

    /// The bundle a server hands out: with the one-time X25519 prekey at
    /// index `one_time` and the one-time KEM prekey at index `kem` of this
    /// upload, or without (`None`: no one-time prekey; the last-resort KEM
    /// prekey).
    ///
    /// # Errors
    /// [`chatcrypt::PreKeyUpload::bundle`]'s for an index out of range.
    pub fn bundle(&self, one_time: Option<usize>, kem: Option<usize>) -> Result<PreKeyBundle> {
        Ok(PreKeyBundle(self.0.bundle(one_time, kem)?))
    }
}

// ---------------------------------------------------------------------------
// Peers

/// How a peer's account key was pinned ([`chatcrypt::TrustLevel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum TrustLevel {
    /// Trusted on first use, not compared out of band.
    TrustedOnFirstUse = 0,
    /// The users compared safety numbers.
    Verified = 1,
}

/// What [`PeerAccount::update_device_list`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DeviceListChange {
    /// The list is the one already held.
    Unchanged = 0,
    /// A newer list under the pinned account key replaced the old one.
    Updated = 1,
    /// The list is signed by another account key: held as pending, every
    /// device refused until the caller decides.
    AccountKeyChanged = 2,
}

/// [`PeerAccount::update_device_list`]'s result.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// What this device trusts about a peer account ([`chatcrypt::PeerAccount`]).
#[derive(Clone)]
pub struct PeerAccount(Option<chatcrypt::PeerAccount>);

stored_forms!(PeerAccount, chatcrypt::PeerAccount, "what is trusted about the peer account");

impl PeerAccount {
    /// First contact, trusting on first use the account key that signed `list`.
    ///
    /// # Errors
    /// [`chatcrypt::Error::TooLarge`] for a user id over [`MAX_USER_ID_LEN`] bytes.
    pub fn trust_on_first_use(user_id: &[u8], list: &DeviceList) -> Result<Self> {
        Ok(Self(Some(chatcrypt::PeerAccount::trust_on_first_use(user_id, list.0.clone())?)))
    }

    /// First contact with an account key verified out of band.
    ///
    /// # Errors
    /// As [`trust_on_first_use`](Self::trust_on_first_use); a wrong length
    /// or invalid key; [`chatcrypt::Error::AccountKeyChanged`] if `list` is
    /// signed by another key.
    pub fn verified(user_id: &[u8], account_key: &[u8], list: &DeviceList) -> Result<Self> {
        let key = super::messenger::account_key(account_key)?;
        Ok(Self(Some(chatcrypt::PeerAccount::verified(user_id, &key, list.0.clone())?)))
    }

    /// The peer's stable user id.
    ///
    /// # Errors
    /// [`Error::Unusable`] (never, for a peer account).
    pub fn user_id(&self) -> Result<Vec<u8>> {
        Ok(self.inner()?.user_id().to_vec())
    }

    /// The pinned account key.
    ///
    /// # Errors
    /// [`Error::Unusable`] (never, for a peer account).
    pub fn account_key(&self) -> Result<[u8; 32]> {
        Ok(*self.inner()?.account_key().as_bytes())
    }

    /// How the account key was pinned.
    ///
    /// # Errors
    /// [`Error::Unusable`] (never, for a peer account).
    pub fn trust_level(&self) -> Result<TrustLevel> {
        Ok(match self.inner()?.trust_level() {
            chatcrypt::TrustLevel::Verified => TrustLevel::Verified,
            _ => TrustLevel::TrustedOnFirstUse,
        })
    }

    /// The newest device list under the pinned key.
    ///
    /// # Errors
    /// [`Error::Unusable`] (never, for a peer account).
    pub fn device_list(&self) -> Result<DeviceList> {
        Ok(DeviceList(self.inner()?.device_list().clone()))
    }

    /// The account key of a change waiting for the caller's decision.
    ///
    /// # Errors
    /// [`Error::Unusable`] (never, for a peer account).
    pub fn pending_account_key(&self) -> Result<Option<[u8; 32]>> {
        Ok(self.inner()?.pending_account_key().map(|k| *k.as_bytes()))
    }

    /// Records that the users compared safety numbers and they matched.
    ///
    /// # Errors
    /// [`chatcrypt::Error::AccountKeyChanged`] while a change is pending.
    pub fn mark_verified(&mut self) -> Result<()> {
        Ok(self.inner_mut()?.mark_verified()?)
    }

    /// Applies a device list fetched for this account.
    ///
    /// # Errors
    /// [`chatcrypt::Error::DeviceListRollback`],
    /// [`chatcrypt::Error::DeviceListConflict`]; nothing changes on error.
    pub fn update_device_list(&mut self, list: &DeviceList) -> Result<DeviceListUpdate> {
        let ids = |v: Vec<chatcrypt::DeviceId>| v.into_iter().map(chatcrypt::DeviceId::get).collect();
        Ok(match self.inner_mut()?.update_device_list(list.0.clone())? {
            chatcrypt::DeviceListUpdate::Updated { added, removed, reinstalled } => DeviceListUpdate {
                change: DeviceListChange::Updated,
                added: ids(added),
                removed: ids(removed),
                reinstalled: ids(reinstalled),
            },
            chatcrypt::DeviceListUpdate::AccountKeyChanged => DeviceListUpdate {
                change: DeviceListChange::AccountKeyChanged,
                added: Vec::new(),
                removed: Vec::new(),
                reinstalled: Vec::new(),
            },
            _ => DeviceListUpdate {
                change: DeviceListChange::Unchanged,
                added: Vec::new(),
                removed: Vec::new(),
                reinstalled: Vec::new(),
            },
        })
    }

    /// The caller's decision to trust the pending account key `expected`.
    ///
    /// # Errors
    /// A wrong length or invalid key; [`chatcrypt::Error::NoPendingChange`];
    /// [`chatcrypt::Error::AccountKeyChanged`] if the pending key is another.
    pub fn accept_account_key_change(&mut self, expected: &[u8]) -> Result<()> {
        let key = super::messenger::account_key(expected)?;
        Ok(self.inner_mut()?.accept_account_key_change(&key)?)
    }

    /// The caller's decision to keep the pinned key.
    ///
    /// # Errors
    /// [`chatcrypt::Error::NoPendingChange`].
    pub fn reject_account_key_change(&mut self) -> Result<()> {
        Ok(self.inner_mut()?.reject_account_key_change()?)
    }

    /// The identity key device `device` must have.
    ///
    /// # Errors
    /// [`chatcrypt::Error::AccountKeyChanged`], [`chatcrypt::Error::UnknownDevice`].
    pub fn device_identity(&self, device: u32) -> Result<[u8; 32]> {
        Ok(self.inner()?.device_identity(device_id(device))?.to_bytes())
    }

    /// Whether device `device` with identity key `identity_key` may send and receive.
    ///
    /// # Errors
    /// [`chatcrypt::PeerAccount::authorize`]'s.
    pub fn authorize(&self, device: u32, identity_key: &[u8]) -> Result<()> {
        let key = super::messenger::identity_key(identity_key)?;
        Ok(self.inner()?.authorize(device_id(device), &key)?)
    }

    /// The safety number between the local user and this peer's pinned
    /// account key.
    ///
    /// # Errors
    /// A wrong length or invalid key; [`chatcrypt::Error::TooLarge`].
    pub fn safety_number(
        &self,
        local_user_id: &[u8],
        local_account_key: &[u8],
    ) -> Result<crate::SafetyNumber> {
        let key = super::messenger::account_key(local_account_key)?;
        Ok(crate::SafetyNumber(self.inner()?.safety_number(local_user_id, &key)?))
    }
}

impl crate::SafetyNumber {
    /// The safety number between two users' account keys (the one a
    /// multi-device messenger shows; [`chatcrypt::SafetyNumber::for_accounts`]).
    ///
    /// # Errors
    /// Wrong key lengths or invalid keys; [`chatcrypt::Error::TooLarge`].
    pub fn for_accounts(
        local_user_id: &[u8],
        local_account_key: &[u8],
        remote_user_id: &[u8],
        remote_account_key: &[u8],
    ) -> Result<Self> {
        let local = account_key(local_account_key)?;
        let remote = account_key(remote_account_key)?;
        Ok(Self(chatcrypt::SafetyNumber::for_accounts(local_user_id, &local, remote_user_id, &remote)?))
    }
}

// ---------------------------------------------------------------------------
// Session records

/// How a [`SessionRecord`] starts and accepts sessions ([`chatcrypt::SessionPolicy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl Default for SessionPolicy {
    /// chatcrypt's default: plain headers, hybrid post-quantum required,
    /// either mode accepted.
    fn default() -> Self {
        SessionPolicy {
            mode: Mode::Plain,
            pq: PqPolicy::Required,
            accept_mode: ModePolicy::Any,
            accept_pq: PqPolicy::Required,
        }
    }
}

impl SessionPolicy {
    fn to_lib(self) -> chatcrypt::SessionPolicy {
        chatcrypt::SessionPolicy::new(
            self.mode.to_lib(),
            self.pq.to_lib(),
            chatcrypt::AcceptPolicy::new(self.accept_mode.to_lib(), self.accept_pq.to_lib()),
        )
    }
}

/// What [`SessionRecord::decrypt`] returns.
pub struct Decrypted {
    /// The plaintext, without its padding.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The message's id.
    pub message_id: [u8; crate::MESSAGE_ID_LEN],
    /// Whether the message started a new session.
    pub new_session: bool,
}

impl core::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decrypted")
            .field("plaintext_len", &self.plaintext.len())
            .field("new_session", &self.new_session)
            .finish_non_exhaustive()
    }
}

/// What [`SessionRecord::handle_retry`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RetryOutcome {
    /// Nothing to do.
    Ignored = 0,
    /// The current session was archived: fetch a bundle, initiate, resend.
    StartNewSession = 1,
}

/// All sessions with one remote device ([`chatcrypt::SessionRecord`]).
pub struct SessionRecord(Option<chatcrypt::SessionRecord>);

stored_forms!(SessionRecord, chatcrypt::SessionRecord, "the session record");

fn with_lib(d: chatcrypt::Decrypted) -> Decrypted {
    let chatcrypt::Decrypted { plaintext, id, new_session, .. } = d;
    Decrypted { plaintext: Zeroizing::new(plaintext), message_id: *id.as_bytes(), new_session }
}

impl SessionRecord {
    /// An empty record for the peer's device `device`.
    pub fn new(device: u32) -> Self {
        Self(Some(chatcrypt::SessionRecord::new(device_id(device))))
    }

    /// The peer's device id.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn device(&self) -> Result<u32> {
        Ok(self.inner()?.device().get())
    }

    /// Whether there is no session to send on at `now`: fetch a bundle and
    /// [`initiate`](Self::initiate).
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn needs_new_session(&self, now: u64) -> Result<bool> {
        Ok(self.inner()?.needs_new_session(now))
    }

    /// The current session's id (its handshake's base key), if any.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn current_session_id(&self) -> Result<Option<[u8; 32]>> {
        Ok(self.inner()?.current_session_id().copied())
    }

    /// How many earlier sessions are kept.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn archived_count(&self) -> Result<usize> {
        Ok(self.inner()?.archived_count())
    }

    /// Runs a record call that may draw: on a generator failure the record
    /// and `device` are restored from before the call when `snapshot` or
    /// the generator is scripted, or left as they are when chatcrypt
    /// refused the call anyway; otherwise the record is unusable (and
    /// `device` is as it was: without `snapshot` the call must not change
    /// it).
    fn mutate<T>(
        &mut self,
        mut device: Option<&mut LocalDevice>,
        snapshot: bool,
        rng: &mut Rng,
        f: impl FnOnce(
            &mut chatcrypt::SessionRecord,
            Option<&mut chatcrypt::LocalDevice>,
            &mut Draw<'_>,
        ) -> core::result::Result<T, chatcrypt::Error>,
    ) -> Result<T> {
        let snapshot = snapshot || rng.is_scripted();
        let record = self.0.as_mut().ok_or(Error::Unusable)?;
        let saved_record = snapshot.then(|| record.to_bytes());
        let mut saved_device = None;
        let mut device_inner = None;
        if let Some(d) = device.as_deref_mut() {
            let inner = d.0.as_mut().ok_or(Error::Unusable)?;
            if snapshot {
                saved_device = Some(inner.to_bytes());
            }
            device_inner = Some(inner);
        }
        let mut draw = Draw::new(rng);
        let result = f(record, device_inner, &mut draw);
        let Some(e) = draw.failed else { return result.map_err(Error::Protocol) };
        if result.is_err() {
            // chatcrypt refused (after the failed draw): it changed nothing.
            return Err(e);
        }
        drop(result);
        self.0 = saved_record.and_then(|s| chatcrypt::SessionRecord::from_bytes(&s).ok());
        if let (Some(d), Some(s)) = (device, saved_device) {
            d.0 = chatcrypt::LocalDevice::from_bytes(&s).ok();
        }
        Err(e)
    }

    /// Starts a session with the device from its `bundle`, authorized by
    /// `peer`'s device list; it becomes the current session.
    ///
    /// # Errors
    /// [`chatcrypt::SessionRecord::initiate`]'s; a generator failure.
    pub fn initiate(
        &mut self,
        local: &LocalDevice,
        peer: &PeerAccount,
        bundle: &PreKeyBundle,
        policy: SessionPolicy,
        now: u64,
        rng: &mut Rng,
    ) -> Result<()> {
        let local = local.inner()?;
        let peer = peer.inner()?;
        let policy = policy.to_lib();
        // Rare and costly anyway: always restorable.
        self.mutate(None, true, rng, |rec, _, r| rec.initiate(local, peer, &bundle.0, &policy, now, r))
    }

    /// The length of the message [`encrypt_padded`](Self::encrypt_padded)
    /// gives now for `plaintext_len` bytes padded with `padding` (so a
    /// caller can size its buffer before the record changes); add
    /// [`SEALED_ENVELOPE_OVERHEAD`] + 4 for
    /// [`encrypt_sealed`](Self::encrypt_sealed) (default padding).
    ///
    /// # Errors
    /// [`chatcrypt::Error::NoSession`] without a current session;
    /// [`chatcrypt::Error::TooLarge`] if the padded plaintext would exceed
    /// [`crate::MAX_PLAINTEXT_LEN`]; [`Error::Unusable`].
    pub fn encrypted_len(&self, plaintext_len: usize, padding: Padding) -> Result<usize> {
        let session = self.inner()?.current_session().ok_or(chatcrypt::Error::NoSession)?;
        let padded = padding.padded_len(plaintext_len)?;
        if padded > crate::MAX_PLAINTEXT_LEN {
            return Err(Error::Protocol(chatcrypt::Error::TooLarge {
                len: padded,
                max: crate::MAX_PLAINTEXT_LEN,
            }));
        }
        Ok(session.encrypted_len(padded)?)
    }

    /// Encrypts `plaintext` on the current session, padded with the
    /// default policy (draws a 16-byte reuse guard).
    ///
    /// # Errors
    /// [`chatcrypt::SessionRecord::encrypt`]'s; a generator failure.
    pub fn encrypt(
        &mut self,
        peer: &PeerAccount,
        plaintext: &[u8],
        now: u64,
        rng: &mut Rng,
    ) -> Result<Vec<u8>> {
        self.encrypt_padded(peer, plaintext, Padding::default(), now, rng)
    }

    /// As [`encrypt`](Self::encrypt), padded with `padding`.
    ///
    /// # Errors
    /// [`chatcrypt::SessionRecord::encrypt_padded`]'s; a generator failure.
    pub fn encrypt_padded(
        &mut self,
        peer: &PeerAccount,
        plaintext: &[u8],
        padding: Padding,
        now: u64,
        rng: &mut Rng,
    ) -> Result<Vec<u8>> {
        let peer = peer.inner()?;
        self.mutate(None, false, rng, |rec, _, r| rec.encrypt_padded(peer, plaintext, padding.0, now, r))
    }

    /// Decrypts a message from the device (a new PreKeyMessage is accepted
    /// with `local`'s prekeys, which it consumes on success). Draws 32
    /// bytes on a new ratchet step.
    ///
    /// # Errors
    /// [`chatcrypt::SessionRecord::decrypt`]'s; a generator failure.
    /// Nothing changes on error.
    pub fn decrypt(
        &mut self,
        local: &mut LocalDevice,
        peer: &PeerAccount,
        message: &[u8],
        policy: SessionPolicy,
        now: u64,
        rng: &mut Rng,
    ) -> Result<Decrypted> {
        let peer = peer.inner()?;
        let policy = policy.to_lib();
        let starts = chatcrypt::MessageType::of(message).ok() == Some(chatcrypt::MessageType::PreKey);
        self.mutate(Some(local), starts, rng, |rec, dev, r| match dev {
            Some(dev) => rec.decrypt(dev, peer, message, &policy, now, r).map(with_lib),
            None => Err(chatcrypt::Error::NoSession),
        })
    }

    /// Encrypts `plaintext` on the current session (default padding) and
    /// seals the message for the session's peer device with `certificate`,
    /// this device's sender certificate (draws 16 + 32 bytes).
    ///
    /// # Errors
    /// [`chatcrypt::SessionRecord::encrypt_sealed`]'s; a generator failure.
    pub fn encrypt_sealed(
        &mut self,
        local: &LocalDevice,
        peer: &PeerAccount,
        certificate: &SenderCertificate,
        plaintext: &[u8],
        now: u64,
        rng: &mut Rng,
    ) -> Result<Vec<u8>> {
        let local = local.inner()?;
        let peer = peer.inner()?;
        self.mutate(None, false, rng, |rec, _, r| {
            // Wrapped inside the call: an envelope made from failed
            // randomness is readable by anyone, so it is wiped when dropped.
            rec.encrypt_sealed(local, peer, &certificate.0, plaintext, now, r).map(Zeroizing::new)
        })
        .map(|mut z| core::mem::take(&mut *z))
    }

    /// Decrypts the content of an opened sealed envelope from the device,
    /// if the certificate names the sender the inner session authenticates.
    ///
    /// # Errors
    /// [`chatcrypt::SessionRecord::decrypt_sealed`]'s; a generator failure.
    /// Nothing changes on error.
    pub fn decrypt_sealed(
        &mut self,
        local: &mut LocalDevice,
        peer: &PeerAccount,
        opened: &OpenedEnvelope,
        policy: SessionPolicy,
        now: u64,
        rng: &mut Rng,
    ) -> Result<Decrypted> {
        let peer = peer.inner()?;
        let policy = policy.to_lib();
        let starts =
            chatcrypt::MessageType::of(opened.0.content()).ok() == Some(chatcrypt::MessageType::PreKey);
        self.mutate(Some(local), starts, rng, |rec, dev, r| match dev {
            Some(dev) => rec.decrypt_sealed(dev, peer, &opened.0, &policy, now, r).map(with_lib),
            None => Err(chatcrypt::Error::NoSession),
        })
    }

    /// Reacts to a retry message from the device.
    ///
    /// # Errors
    /// [`chatcrypt::SessionRecord::handle_retry`]'s.
    pub fn handle_retry(
        &mut self,
        local: &LocalDevice,
        peer: &PeerAccount,
        retry: &RetryMessage,
    ) -> Result<RetryOutcome> {
        let local = local.inner()?;
        let peer = peer.inner()?;
        Ok(match self.inner_mut()?.handle_retry(local, peer, &retry.0)? {
            chatcrypt::RetryOutcome::StartNewSession => RetryOutcome::StartNewSession,
            _ => RetryOutcome::Ignored,
        })
    }
}

// ---------------------------------------------------------------------------
// Retries

/// Why a message could not be decrypted ([`chatcrypt::RetryReason`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RetryReason {
    /// No session decrypts the message.
    NoSession = 1,
    /// A PreKeyMessage named a prekey the device does not hold.
    UnknownPreKey = 2,
    /// A PreKeyMessage named held prekeys but did not authenticate.
    HandshakeFailed = 3,
}

/// A signed "I could not decrypt your message" ([`chatcrypt::RetryMessage`]).
#[derive(Clone, Debug)]
pub struct RetryMessage(chatcrypt::RetryMessage);

impl RetryMessage {
    /// Decodes and verifies a retry message.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`]; [`chatcrypt::Error::BadSignature`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(chatcrypt::RetryMessage::from_bytes(bytes)?))
    }

    /// The [`RETRY_MESSAGE_LEN`]-byte encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Why the message failed.
    pub fn reason(&self) -> RetryReason {
        match self.0.reason() {
            chatcrypt::RetryReason::UnknownPreKey => RetryReason::UnknownPreKey,
            chatcrypt::RetryReason::HandshakeFailed => RetryReason::HandshakeFailed,
            _ => RetryReason::NoSession,
        }
    }

    /// The unknown prekey's id, else 0.
    pub fn prekey_id(&self) -> u32 {
        self.0.prekey_id()
    }

    /// The failed message's digest.
    pub fn message_digest(&self) -> [u8; 16] {
        *self.0.message_digest()
    }

    /// When the failure happened, on the author's clock.
    pub fn timestamp(&self) -> u64 {
        self.0.timestamp()
    }

    /// The identity key of the device that could not decrypt.
    pub fn author(&self) -> [u8; 32] {
        self.0.author().to_bytes()
    }

    /// The identity key of the device whose message failed.
    pub fn recipient(&self) -> [u8; 32] {
        self.0.recipient().to_bytes()
    }
}

// ---------------------------------------------------------------------------
// Padding

/// How a plaintext is padded ([`chatcrypt::padding::PaddingPolicy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Padding(chatcrypt::padding::PaddingPolicy);

/// The kinds of [`Padding`], as the bindings pass them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PaddingKind {
    /// No rounding (parameter 0).
    None = 0,
    /// Round up to a multiple of the parameter (1 to 65 535).
    Blocks = 1,
    /// Padmé with the parameter as the floor (0 to 65 535).
    Padme = 2,
}

impl Default for Padding {
    fn default() -> Self {
        Padding(chatcrypt::padding::PaddingPolicy::DEFAULT)
    }
}

impl Padding {
    /// The policy of a kind and its parameter.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown kind or a parameter out of
    /// range (`None` with a parameter, `Blocks` with 0, a parameter above
    /// 65 535).
    pub fn new(kind: u32, param: u32) -> Result<Self> {
        use chatcrypt::padding::PaddingPolicy as P;
        let param16 =
            u16::try_from(param).map_err(|_| Error::InvalidArgument("padding parameter above 65535"))?;
        Ok(Padding(match kind {
            0 if param == 0 => P::None,
            0 => return Err(Error::InvalidArgument("padding kind None takes parameter 0")),
            1 => P::Blocks(
                core::num::NonZeroU16::new(param16).ok_or(Error::InvalidArgument("padding block size 0"))?,
            ),
            2 => P::Padme { floor: param16 },
            _ => return Err(Error::InvalidArgument("unknown padding kind")),
        }))
    }

    /// The kind.
    pub fn kind(&self) -> PaddingKind {
        use chatcrypt::padding::PaddingPolicy as P;
        match self.0 {
            P::Blocks(_) => PaddingKind::Blocks,
            P::Padme { .. } => PaddingKind::Padme,
            _ => PaddingKind::None,
        }
    }

    /// The parameter.
    pub fn param(&self) -> u32 {
        use chatcrypt::padding::PaddingPolicy as P;
        match self.0 {
            P::Blocks(b) => u32::from(b.get()),
            P::Padme { floor } => u32::from(floor),
            _ => 0,
        }
    }

    /// The padded length of `content_len` bytes.
    ///
    /// # Errors
    /// [`chatcrypt::Error::TooLarge`] if it does not fit.
    pub fn padded_len(&self, content_len: usize) -> Result<usize> {
        self.0.padded_len(content_len).ok_or(Error::Protocol(chatcrypt::Error::TooLarge {
            len: usize::MAX,
            max: crate::MAX_PLAINTEXT_LEN,
        }))
    }

    /// Pads `content` (at most `max` bytes padded).
    ///
    /// # Errors
    /// [`chatcrypt::Error::TooLarge`].
    pub fn pad(&self, content: &[u8], max: usize) -> Result<Zeroizing<Vec<u8>>> {
        Ok(Zeroizing::new(chatcrypt::padding::pad(self.0, content, max)?))
    }
}

/// Removes the padding (strictly; [`chatcrypt::padding::unpad`]).
///
/// # Errors
/// [`chatcrypt::Error::Padding`].
pub fn unpad(padded: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    Ok(Zeroizing::new(chatcrypt::padding::unpad(padded)?.to_vec()))
}

// ---------------------------------------------------------------------------
// Sealed sender

/// The server's certificate-signing key pair ([`chatcrypt::sealed::ServerKeyPair`]).
pub struct ServerKeyPair(cs::ServerKeyPair);

impl ServerKeyPair {
    /// A new key pair (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    pub fn generate(rng: &mut Rng) -> Result<Self> {
        fresh(rng, |r| Ok(cs::ServerKeyPair::generate(r))).map(Self)
    }

    /// The key pair of a 32-byte seed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `seed` is not 32 bytes.
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let seed = Zeroizing::new(array::<32>(seed, "seed must be 32 bytes")?);
        Ok(Self(cs::ServerKeyPair::from_seed(&seed)))
    }

    /// The 32-byte seed (secret).
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        self.0.seed()
    }

    /// The public key (what clients trust as a root).
    pub fn public_key(&self) -> [u8; 32] {
        *self.0.public_key().as_bytes()
    }

    /// Issues certificate `serial`, valid while the recipient's clock is
    /// below `expires`, for device `device` of account `account_key` with
    /// identity key `identity_key`.
    ///
    /// # Errors
    /// Wrong lengths or invalid keys.
    pub fn issue(
        &self,
        serial: u64,
        expires: u64,
        account_key: &[u8],
        device: u32,
        identity_key: &[u8],
    ) -> Result<SenderCertificate> {
        let account = super::messenger::account_key(account_key)?;
        let identity = super::messenger::identity_key(identity_key)?;
        Ok(SenderCertificate(self.0.issue(serial, expires, &account, device_id(device), &identity)))
    }
}

/// A sender certificate ([`chatcrypt::sealed::SenderCertificate`]).
#[derive(Clone, Debug)]
pub struct SenderCertificate(cs::SenderCertificate);

impl SenderCertificate {
    /// Decodes a certificate (validated against a policy when opened).
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(cs::SenderCertificate::from_bytes(bytes)?))
    }

    /// The [`SENDER_CERTIFICATE_LEN`]-byte encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    /// The serial number.
    pub fn serial(&self) -> u64 {
        self.0.serial()
    }

    /// The expiry time.
    pub fn expires(&self) -> u64 {
        self.0.expires()
    }

    /// The sender's account key.
    pub fn account_key(&self) -> [u8; 32] {
        *self.0.account_key().as_bytes()
    }

    /// The sender's device id.
    pub fn device(&self) -> u32 {
        self.0.device().get()
    }

    /// The sender device's identity key.
    pub fn identity_key(&self) -> [u8; 32] {
        self.0.identity().to_bytes()
    }

    /// The issuing server key.
    pub fn issuer(&self) -> [u8; 32] {
        *self.0.issuer().as_bytes()
    }

    /// Checks the certificate against `policy`.
    ///
    /// # Errors
    /// [`chatcrypt::sealed::SenderCertificate::validate`]'s.
    pub fn validate(&self, policy: &CertificatePolicy) -> Result<()> {
        Ok(self.0.validate(&policy.as_lib())?)
    }
}

/// Which certificates a recipient accepts: the trusted server keys, the
/// revoked serials and the time ([`chatcrypt::sealed::CertificatePolicy`]).
#[derive(Clone, Debug)]
pub struct CertificatePolicy {
    roots: Vec<cs::ServerKey>,
    revoked: Vec<u64>,
    now: u64,
}

impl CertificatePolicy {
    /// A policy at time `now` with no roots yet (which accepts nothing).
    ///
    /// The time is part of the policy: a policy kept across calls must be
    /// moved on with [`set_now`](Self::set_now) before each
    /// [`open`], or expired certificates pass.
    pub fn new(now: u64) -> Self {
        CertificatePolicy { roots: Vec::new(), revoked: Vec::new(), now }
    }

    /// Sets the time certificates are checked at.
    pub fn set_now(&mut self, now: u64) {
        self.now = now;
    }

    /// The time certificates are checked at.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Trusts the server key `root`.
    ///
    /// # Errors
    /// A wrong length or invalid key.
    pub fn add_root(&mut self, root: &[u8]) -> Result<()> {
        let key = cs::ServerKey::from_bytes(&array::<32>(root, "server key must be 32 bytes")?)?;
        self.roots.push(key);
        Ok(())
    }

    /// Refuses certificates with serial `serial`.
    pub fn revoke(&mut self, serial: u64) {
        self.revoked.push(serial);
    }

    fn as_lib(&self) -> cs::CertificatePolicy<'_> {
        cs::CertificatePolicy::new(&self.roots, &self.revoked, self.now)
    }
}

/// An opened sealed envelope: the validated sender certificate and the
/// content ([`chatcrypt::sealed::OpenedEnvelope`]).
#[derive(Debug)]
pub struct OpenedEnvelope(cs::OpenedEnvelope);

impl OpenedEnvelope {
    /// The sender's certificate.
    pub fn certificate(&self) -> SenderCertificate {
        SenderCertificate(self.0.certificate().clone())
    }

    /// The content without its padding (for a session record's message,
    /// give the envelope to [`SessionRecord::decrypt_sealed`]).
    pub fn content(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.content().to_vec())
    }
}

/// Seals `content` for the device with identity key `recipient`, as the
/// sender `identity` with its `certificate` (draws 32 bytes).
///
/// # Errors
/// [`chatcrypt::sealed::seal`]'s, with a wrong length or invalid
/// `recipient` key right after [`chatcrypt::Error::WrongIdentity`]; a
/// generator failure.
pub fn seal(
    identity: &IdentityKeyPair,
    certificate: &SenderCertificate,
    recipient: &[u8],
    content: &[u8],
    padding: Padding,
    rng: &mut Rng,
) -> Result<Vec<u8>> {
    if certificate.0.identity() != identity.0.public_key() {
        return Err(Error::Protocol(chatcrypt::Error::WrongIdentity));
    }
    let recipient = identity_key(recipient)?;
    // Wrapped inside the call: an envelope made from failed randomness is
    // readable by anyone, so it is wiped when dropped.
    fresh(rng, |r| {
        cs::seal(&identity.0, &certificate.0, &recipient, content, padding.0, r).map(Zeroizing::new)
    })
    .map(|mut z| core::mem::take(&mut *z))
}

/// Seals `content` once for every device in `recipients` (32-byte identity
/// keys; draws 32 bytes): the multi-recipient envelope the server splits
/// with [`split_multi_recipient`].
///
/// # Errors
/// [`chatcrypt::sealed::seal_multi`]'s, with a wrong length or invalid
/// recipient key after the count; a generator failure.
pub fn seal_multi(
    identity: &IdentityKeyPair,
    certificate: &SenderCertificate,
    recipients: &[[u8; 32]],
    content: &[u8],
    padding: Padding,
    rng: &mut Rng,
) -> Result<Vec<u8>> {
    if certificate.0.identity() != identity.0.public_key() {
        return Err(Error::Protocol(chatcrypt::Error::WrongIdentity));
    }
    if recipients.len() > MAX_SEALED_RECIPIENTS {
        return Err(Error::Protocol(chatcrypt::Error::TooLarge {
            len: recipients.len(),
            max: MAX_SEALED_RECIPIENTS,
        }));
    }
    let keys = recipients.iter().map(|k| identity_key(k)).collect::<Result<Vec<_>>>()?;
    fresh(rng, |r| {
        cs::seal_multi(&identity.0, &certificate.0, &keys, content, padding.0, r).map(Zeroizing::new)
    })
    .map(|mut z| core::mem::take(&mut *z))
}

/// One recipient's part of a split multi-recipient envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientEnvelope {
    /// The recipient device's identity key (the server's routing address).
    pub recipient: [u8; 32],
    /// The sealed envelope to deliver to it.
    pub envelope: Vec<u8>,
}

/// The most bytes of envelopes one split returns (32 MiB): each recipient's
/// envelope repeats the payload, so a 2 MiB upload for 1 024 recipients
/// would otherwise make 2 GiB at once.
pub const MAX_SPLIT_LEN: usize = 32 * 1024 * 1024;

/// The server's split of a multi-recipient envelope into one sealed
/// envelope per recipient ([`chatcrypt::sealed::MultiRecipientEnvelope`]),
/// if they take at most [`MAX_SPLIT_LEN`] bytes together; otherwise split
/// in ranges with [`split_multi_recipient_range`].
///
/// # Errors
/// [`chatcrypt::sealed::MultiRecipientEnvelope::from_bytes`]'s;
/// [`chatcrypt::Error::TooLarge`] with the total length, before anything
/// is built.
pub fn split_multi_recipient(bytes: &[u8]) -> Result<Vec<RecipientEnvelope>> {
    split_multi_recipient_range(bytes, 0, MAX_SEALED_RECIPIENTS)
}

/// The envelopes of recipients `first`, `first + 1`, ... (at most `count`
/// of them, fewer at the end of the list; none from `first` on past the
/// end), in the envelope's order. Each call decodes the whole upload again
/// (about 20 µs per recipient): choose `count` so that `count` envelopes
/// fit in memory and in [`MAX_SPLIT_LEN`].
///
/// # Errors
/// [`chatcrypt::sealed::MultiRecipientEnvelope::from_bytes`]'s;
/// [`chatcrypt::Error::TooLarge`] if the envelopes asked for exceed
/// [`MAX_SPLIT_LEN`] bytes together, before anything is built.
pub fn split_multi_recipient_range(
    bytes: &[u8],
    first: usize,
    count: usize,
) -> Result<Vec<RecipientEnvelope>> {
    let multi = cs::MultiRecipientEnvelope::from_bytes(bytes)?;
    let n = multi.recipient_count().saturating_sub(first).min(count);
    let total = n.saturating_mul(multi.envelope_len());
    if total > MAX_SPLIT_LEN {
        return Err(Error::Protocol(chatcrypt::Error::TooLarge { len: total, max: MAX_SPLIT_LEN }));
    }
    Ok(multi
        .envelopes()
        .skip(first)
        .take(n)
        .map(|(k, envelope)| RecipientEnvelope { recipient: k.to_bytes(), envelope })
        .collect())
}

/// Opens a sealed envelope addressed to `identity`, validating its sender
/// certificate against `policy` (changes no state).
///
/// # Errors
/// [`chatcrypt::sealed::open`]'s, in its order.
pub fn open(
    identity: &IdentityKeyPair,
    envelope: &[u8],
    policy: &CertificatePolicy,
) -> Result<OpenedEnvelope> {
    Ok(OpenedEnvelope(cs::open(&identity.0, envelope, &policy.as_lib())?))
}
