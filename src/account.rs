//! Accounts and their devices ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §17).
//!
//! A user has one **account key** (Ed25519, [`AccountKeyPair`]) and one or
//! more devices, each with its own [`IdentityKeyPair`](crate::IdentityKeyPair)
//! that runs the handshakes. The account key vouches for its devices in two
//! signed encodings:
//!
//! * a [`DeviceCertificate`] binds one device id to one identity key; a
//!   device presents it with its prekey upload, so that a server or a peer
//!   can check on its own that the prekeys belong to the account;
//! * a [`DeviceList`] names every device the account has, with an
//!   **epoch** that grows with each change, so that a peer refuses a device
//!   that is not on the newest list it has seen, and refuses an older list
//!   (a rollback) or a second, different list for the same epoch. Each
//!   entry carries the device's own **consent** ([`DeviceLink`]): a
//!   signature by the device's identity key over the account key and its
//!   device id, so that no account can list another account's device and
//!   have its messages attributed to itself.
//!
//! Verifying a peer therefore means verifying their account key once (with
//! a [`SafetyNumber`](crate::SafetyNumber) computed from account keys);
//! adding, removing or reinstalling a device does not change it.
//!
//! Both encodings are checked completely when decoded, signature included:
//! a [`DeviceCertificate`] or [`DeviceList`] value is always signed by the
//! account key it names. Whether that account key is the one to trust is
//! the [`PeerAccount`](crate::PeerAccount)'s decision.

use alloc::vec::Vec;
use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::{
    codec::{labelled, Hex, Reader, Writer},
    error::DecodeError,
    identity::{IdentityKey, IdentityKeyPair},
    primitives::{ct_eq, ed25519_public, ed25519_verify},
    Error,
};

/// Format tag of a [`DeviceCertificate`] (`'C'`).
pub const TAG_DEVICE_CERTIFICATE: u8 = 0x43;
/// Format tag of a [`DeviceList`] (`'L'`).
pub const TAG_DEVICE_LIST: u8 = 0x4C;
/// The version of the certificate and device-list formats.
pub const ACCOUNT_FORMAT_VERSION: u8 = 0x01;
/// The most devices one account's [`DeviceList`] may name. Messengers allow
/// one phone and four or five companions; 16 leaves room, and bounds the
/// work and memory a list can cost a peer (one fan-out encryption and one
/// [`SessionRecord`](crate::SessionRecord) per device).
pub const MAX_DEVICES: usize = 16;
/// Bytes of an encoded [`DeviceCertificate`].
pub const DEVICE_CERTIFICATE_LEN: usize = 2 + 32 + 4 + 32 + 64;

const LABEL_DEVICE_CERTIFICATE: &[u8] = b"chatcrypt v3 device certificate";
const LABEL_DEVICE_LIST: &[u8] = b"chatcrypt v3 device list";
const LABEL_DEVICE_CONSENT: &[u8] = b"chatcrypt v3 device consent";
/// Bytes of one device list entry: device id, identity key, consent.
pub const DEVICE_LIST_ENTRY_LEN: usize = 4 + 32 + 64;

/// The message a device's identity key signs to consent to belong to an
/// account as a device id: `"chatcrypt v3 device consent" || AK || u32(device)`.
fn consent_message(account: &AccountKey, device: DeviceId) -> [u8; 27 + 32 + 4] {
    let mut m = [0u8; 27 + 32 + 4];
    m[..27].copy_from_slice(LABEL_DEVICE_CONSENT);
    m[27..59].copy_from_slice(account.as_bytes());
    m[59..].copy_from_slice(&device.get().to_be_bytes());
    m
}

/// A device's consent to be listed by an account (SPEC.md §17.3): its
/// device id, its identity key, and its identity key's signature over
/// `"chatcrypt v3 device consent" || AK || u32(device)`. Made on the device
/// ([`DeviceLink::new`], or [`LocalDevice::link`](crate::LocalDevice::link))
/// and handed to whoever signs the account's device list.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceLink {
    device: DeviceId,
    identity: IdentityKey,
    consent: [u8; 64],
}

impl DeviceLink {
    /// The consent of the device with key pair `identity` to be device
    /// `device` of the account `account`.
    pub fn new(identity: &IdentityKeyPair, account: &AccountKey, device: DeviceId) -> Self {
        let consent = identity.sign(&consent_message(account, device));
        DeviceLink { device, identity: identity.public_key().clone(), consent }
    }

    /// The device id.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The device's identity key.
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// Checks the consent signature for `account`.
    ///
    /// # Errors
    /// [`Error::BadSignature`] if it does not verify.
    pub fn verify(&self, account: &AccountKey) -> Result<(), Error> {
        let key = ed25519_public(self.identity.as_bytes())?;
        ed25519_verify(&key, &consent_message(account, self.device), &self.consent)
    }

    /// The [`DEVICE_LIST_ENTRY_LEN`]-byte encoding the device hands to the
    /// account's signer, the same bytes as its device list entry (SPEC.md
    /// §17.3): `u32(device) || identity key || consent`.
    pub fn to_bytes(&self) -> [u8; DEVICE_LIST_ENTRY_LEN] {
        let mut out = [0u8; DEVICE_LIST_ENTRY_LEN];
        out[..4].copy_from_slice(&self.device.get().to_be_bytes());
        out[4..36].copy_from_slice(self.identity.as_bytes());
        out[36..].copy_from_slice(&self.consent);
        out
    }

    /// Decodes a device link. The consent is not checked here (it is for an
    /// account key the link does not name): [`verify`](Self::verify) it, as
    /// [`AccountKeyPair::sign_device_list`] does.
    ///
    /// # Errors
    /// [`Error::Decode`]: [`DecodeError::Truncated`] or
    /// [`DecodeError::TrailingBytes`] for another length than
    /// [`DEVICE_LIST_ENTRY_LEN`], [`DecodeError::InvalidPublicKey`] for an
    /// identity key that is not a strict Ed25519 key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        // The length first (SPEC.md §17.3), then the key.
        match bytes.len() {
            DEVICE_LIST_ENTRY_LEN => {}
            n if n < DEVICE_LIST_ENTRY_LEN => return Err(DecodeError::Truncated.into()),
            _ => return Err(DecodeError::TrailingBytes.into()),
        }
        let mut r = Reader::new(bytes);
        let device = DeviceId(r.u32()?);
        let identity = IdentityKey::parse(&r.array()?)?;
        let consent = r.array()?;
        r.finish()?;
        Ok(DeviceLink { device, identity, consent })
    }
}

impl fmt::Debug for DeviceLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceLink").field("device", &self.device).field("identity", &self.identity).finish()
    }
}

/// A device's number within its account, chosen by the account (the app's
/// server usually assigns it). Distinct devices of one account have
/// distinct ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(u32);

impl DeviceId {
    /// The device id `id`.
    pub const fn new(id: u32) -> Self {
        DeviceId(id)
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An account's signing key pair (Ed25519). It signs device certificates
/// and device lists, nothing else; it never takes part in a handshake.
///
/// Zeroized on drop; not `Clone`; its `Debug` shows only the public key.
/// Persist it with [`to_bytes`](Self::to_bytes) / [`seal`](Self::seal) on the
/// device that manages the account (SPEC.md §17.5).
pub struct AccountKeyPair {
    pub(crate) signing: SigningKey,
    public: AccountKey,
}

impl AccountKeyPair {
    /// Generates an account key from 32 bytes of `rng` output (the Ed25519 seed).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut seed[..]);
        Self::from_seed(&seed)
    }

    /// Rebuilds the account key from its 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let verifying = signing.verifying_key();
        AccountKeyPair { signing, public: AccountKey { bytes: verifying.to_bytes(), verifying } }
    }

    /// The 32-byte seed. Secret.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The public account key.
    pub fn public_key(&self) -> &AccountKey {
        &self.public
    }

    /// Certifies that device `device` of this account has identity key
    /// `identity`.
    pub fn certify(&self, device: DeviceId, identity: &IdentityKey) -> DeviceCertificate {
        let mut body = Vec::with_capacity(DEVICE_CERTIFICATE_LEN);
        body.put_u8(TAG_DEVICE_CERTIFICATE);
        body.put_u8(ACCOUNT_FORMAT_VERSION);
        body.put(self.public.as_bytes());
        body.put_u32(device.get());
        body.put(identity.as_bytes());
        let signature = self.signing.sign(&labelled(LABEL_DEVICE_CERTIFICATE, &body)).to_bytes();
        DeviceCertificate { account: self.public.clone(), device, identity: identity.clone(), signature }
    }

    /// Signs the device list of `epoch` naming the devices whose consents
    /// are `devices` (in any order; the encoding sorts them by id).
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidValue`] if `epoch` is 0,
    /// `devices` is empty or longer than [`MAX_DEVICES`], or two entries
    /// share a device id or an identity key; [`Error::BadSignature`] if a
    /// consent is not for this account key.
    pub fn sign_device_list(&self, epoch: u64, devices: &[DeviceLink]) -> Result<DeviceList, Error> {
        let mut entries: Vec<DeviceLink> = devices.to_vec();
        entries.sort_by_key(|l| l.device);
        check_entries(epoch, &entries)?;
        for link in &entries {
            link.verify(&self.public)?;
        }
        let body = list_body(&self.public, epoch, &entries);
        let signature = self.signing.sign(&labelled(LABEL_DEVICE_LIST, &body)).to_bytes();
        Ok(DeviceList { account: self.public.clone(), epoch, entries, signature })
    }
}

impl fmt::Debug for AccountKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKeyPair").field("public", &self.public).finish_non_exhaustive()
    }
}

/// A public account key: the key a user verifies once for all of a peer's
/// devices. Strictly parsed (canonical, not of small order).
#[derive(Clone)]
pub struct AccountKey {
    bytes: [u8; 32],
    verifying: VerifyingKey,
}

impl PartialEq for AccountKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for AccountKey {}

impl AccountKey {
    /// Parses a 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::InvalidPublicKey`] for a
    /// non-canonical or small-order point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        Ok(Self::parse(bytes)?)
    }

    pub(crate) fn parse(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        Ok(AccountKey { bytes: *bytes, verifying: ed25519_public(bytes)? })
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    fn verify(&self, label: &[u8], body: &[u8], signature: &[u8; 64]) -> Result<(), Error> {
        ed25519_verify(&self.verifying, &labelled(label, body), signature)
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountKey({:?})", Hex(&self.bytes))
    }
}

/// An account key's statement that device `device` has identity key
/// `identity` (SPEC.md §17.2). Always verified: decoding checks the
/// signature under the account key it names.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCertificate {
    account: AccountKey,
    device: DeviceId,
    identity: IdentityKey,
    signature: [u8; 64],
}

impl DeviceCertificate {
    /// The account key that signed it.
    pub fn account_key(&self) -> &AccountKey {
        &self.account
    }

    /// The device's id.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The device's identity key.
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// Checks that the certificate was signed by `account` (the signature
    /// itself was checked at decoding). Constant time in the key bytes.
    ///
    /// # Errors
    /// [`Error::WrongIdentity`] if it was signed by another account key.
    pub fn verify(&self, account: &AccountKey) -> Result<(), Error> {
        if ct_eq(self.account.as_bytes(), account.as_bytes()) {
            Ok(())
        } else {
            Err(Error::WrongIdentity)
        }
    }

    /// The [`DEVICE_CERTIFICATE_LEN`]-byte encoding:
    /// `'C' || 0x01 || account key || u32(device) || identity key || signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(DEVICE_CERTIFICATE_LEN);
        self.write(&mut out);
        out
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.put_u8(TAG_DEVICE_CERTIFICATE);
        out.put_u8(ACCOUNT_FORMAT_VERSION);
        out.put(self.account.as_bytes());
        out.put_u32(self.device.get());
        out.put(self.identity.as_bytes());
        out.put(&self.signature);
    }

    /// Decodes and verifies a certificate.
    ///
    /// # Errors
    /// [`Error::Decode`] for a wrong tag, version, length or key encoding;
    /// [`Error::BadSignature`] if the signature does not verify under the
    /// account key it names.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let cert = Self::read(&mut r)?;
        r.finish()?;
        Ok(cert)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let start = r.remaining();
        let whole = r.peek_all();
        r.expect_header(TAG_DEVICE_CERTIFICATE, ACCOUNT_FORMAT_VERSION)?;
        let account = AccountKey::parse(&r.array()?)?;
        let device = DeviceId(r.u32()?);
        let identity = IdentityKey::parse(&r.array()?)?;
        let body_len = start - r.remaining();
        let signature: [u8; 64] = r.array()?;
        account.verify(LABEL_DEVICE_CERTIFICATE, &whole[..body_len], &signature)?;
        Ok(DeviceCertificate { account, device, identity, signature })
    }
}

impl fmt::Debug for DeviceCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCertificate")
            .field("account", &self.account)
            .field("device", &self.device)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// The signed list of an account's devices at one epoch (SPEC.md §17.3).
/// Always verified: decoding checks the signature under the account key it
/// names, the order of the entries and their uniqueness.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceList {
    account: AccountKey,
    epoch: u64,
    /// Sorted by device id, ids and identity keys distinct, 1..=MAX_DEVICES;
    /// each consent verified.
    entries: Vec<DeviceLink>,
    signature: [u8; 64],
}

fn check_entries(epoch: u64, entries: &[DeviceLink]) -> Result<(), DecodeError> {
    if epoch == 0 || entries.is_empty() || entries.len() > MAX_DEVICES {
        return Err(DecodeError::InvalidValue);
    }
    for (i, l) in entries.iter().enumerate() {
        if i > 0 && entries[i - 1].device >= l.device {
            return Err(DecodeError::InvalidValue);
        }
        if entries[..i].iter().any(|other| other.identity == l.identity) {
            return Err(DecodeError::InvalidValue);
        }
    }
    Ok(())
}

fn list_body(account: &AccountKey, epoch: u64, entries: &[DeviceLink]) -> Vec<u8> {
    let mut body = Vec::with_capacity(2 + 32 + 8 + 1 + entries.len() * DEVICE_LIST_ENTRY_LEN + 64);
    body.put_u8(TAG_DEVICE_LIST);
    body.put_u8(ACCOUNT_FORMAT_VERSION);
    body.put(account.as_bytes());
    body.put_u64(epoch);
    // At most MAX_DEVICES entries, checked before any list is built.
    body.put_u8(entries.len() as u8);
    for l in entries {
        body.put_u32(l.device.get());
        body.put(l.identity.as_bytes());
        body.put(&l.consent);
    }
    body
}

impl DeviceList {
    /// The account key that signed the list.
    pub fn account_key(&self) -> &AccountKey {
        &self.account
    }

    /// The list's epoch (1 or more; larger is newer).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The devices, sorted by id.
    pub fn devices(&self) -> impl Iterator<Item = (DeviceId, &IdentityKey)> + '_ {
        self.entries.iter().map(|l| (l.device, &l.identity))
    }

    /// The devices' consents, sorted by id (to sign the next list).
    pub fn links(&self) -> &[DeviceLink] {
        &self.entries
    }

    /// The identity key the list gives device `device`, if it names it.
    pub fn identity_of(&self, device: DeviceId) -> Option<&IdentityKey> {
        self.entries.iter().find(|l| l.device == device).map(|l| &l.identity)
    }

    /// How many devices the list names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Always `false`: a list names at least one device.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The encoding: `'L' || 0x01 || account key || u64(epoch) || u8(n) ||
    /// n × (u32(device) || identity key || consent) || signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = list_body(&self.account, self.epoch, &self.entries);
        out.put(&self.signature);
        out
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        2 + 32 + 8 + 1 + self.entries.len() * DEVICE_LIST_ENTRY_LEN + 64
    }

    /// Decodes and verifies a device list.
    ///
    /// # Errors
    /// [`Error::Decode`] for a wrong tag, version or length, a bad key
    /// encoding, an epoch of 0, no or more than [`MAX_DEVICES`] entries,
    /// entries out of order or repeated ([`DecodeError::InvalidValue`]);
    /// [`Error::BadSignature`] if the signature does not verify under the
    /// account key the list names, or then an entry's consent under its
    /// identity key (checked in entry order).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let list = Self::read(&mut r)?;
        r.finish()?;
        Ok(list)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let start = r.remaining();
        let whole = r.peek_all();
        r.expect_header(TAG_DEVICE_LIST, ACCOUNT_FORMAT_VERSION)?;
        let account = AccountKey::parse(&r.array()?)?;
        let epoch = r.u64()?;
        let n = usize::from(r.u8()?);
        if epoch == 0 || n == 0 || n > MAX_DEVICES {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let device = DeviceId(r.u32()?);
            let identity = IdentityKey::parse(&r.array()?)?;
            let consent = r.array()?;
            entries.push(DeviceLink { device, identity, consent });
        }
        check_entries(epoch, &entries)?;
        let body_len = start - r.remaining();
        let signature: [u8; 64] = r.array()?;
        account.verify(LABEL_DEVICE_LIST, &whole[..body_len], &signature)?;
        for link in &entries {
            link.verify(&account)?;
        }
        Ok(DeviceList { account, epoch, entries, signature })
    }
}

impl fmt::Debug for DeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceList")
            .field("account", &self.account)
            .field("epoch", &self.epoch)
            .field("devices", &self.entries.iter().map(|l| (l.device, &l.identity)).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
