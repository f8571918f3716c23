//! The messenger layer (SPEC.md §17-§21, §26-§27) for JavaScript: the
//! facade's `messenger` module (`bindings/core/src/messenger.rs`) in the
//! conventions of `lib.rs`.
//!
//! * Accounts and devices: `AccountKeyPair`, `DeviceCertificate`,
//!   `DeviceLink`, `DeviceList`, `LocalDevice` (`openEnvelope` with its
//!   own key), `PreKeyUpload`.
//! * Peers: `PeerAccount` (`TrustLevel`, `DeviceListChange`),
//!   `SafetyNumber.forAccounts`.
//! * Conversations: `SessionPolicy`, `SessionRecord` (`RetryOutcome`),
//!   `RetryMessage` (`RetryReason`), `Padding` (`PaddingKind`), `unpad`.
//! * Sealed sender: `ServerKeyPair`, `SenderCertificate`,
//!   `CertificatePolicy` (`setNow`, `now`), `OpenedEnvelope`, `seal`,
//!   `sealMulti`, `splitMultiRecipient`, `splitMultiRecipientRange`, `open`.
//! * The limits: `Limits` (static getters, `MAX_SPLIT_LEN` included).
//!
//! Numbers: device ids, indexes and counts are integers from 0 to
//! 2^32 - 1; times (seconds), epochs and serials are `number` (a
//! non-negative safe integer) or `bigint` (below 2^64) on the way in, and
//! `bigint` on the way out (they are 64-bit in the formats). Anything else,
//! a fraction or a missing value included, throws `INVALID_ARGUMENT`; so
//! does an unknown enum value.
//!
//! Lists: device links go to `AccountKeyPair.signDeviceList` as an `Array`
//! whose items are `DeviceLink`s or their 100-byte encodings
//! (`Uint8Array`); `sealMulti`'s recipients as an `Array` of 32-byte
//! identity keys (`Uint8Array`). Device ids come back as `number[]`.
//!
//! Secrets as in `lib.rs`: seeds, stored forms, storage keys and plaintexts
//! given in are wiped from the WebAssembly memory when the call returns;
//! seeds, stored forms and plaintexts handed out are fresh `Uint8Array`s.

use chatcrypt_bindings_core as core_api;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::{prelude::*, JsCast};

use crate::{
    bytes, enum_arg, invalid, js, object, optional, secret, with_rng, IdentityKeyPair, JsResult, Mode,
    ModePolicy, PqPolicy, PreKeyBundle, SafetyNumber, Secret,
};

// ---------------------------------------------------------------------------
// Arguments

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A 64-bit time, epoch or serial: a non-negative safe-integer `number` or
/// a `bigint` below 2^64; anything else is `INVALID_ARGUMENT`.
fn uint64(value: &JsValue, what: &'static str) -> JsResult<u64> {
    if let Some(v) = value.as_f64() {
        if v.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&v) {
            // Integral and within 2^53: the cast is exact.
            return Ok(v as u64);
        }
        return Err(invalid(what));
    }
    if value.is_bigint() {
        return u64::try_from(value.clone()).map_err(|_| invalid(what));
    }
    Err(invalid(what))
}

/// A device id: an integer from 0 to 2^32 - 1.
fn device_id(value: &JsValue) -> JsResult<u32> {
    enum_arg(value, "device must be an integer from 0 to 4294967295", Some)
}

/// An optional index or count: `undefined`/`null`, or an integer.
fn optional_u32(value: &JsValue, what: &'static str) -> JsResult<Option<u32>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    enum_arg(value, what, Some).map(Some)
}

/// Device ids as a `number[]`.
fn ids(v: &[u32]) -> JsValue {
    v.iter().map(|&d| JsValue::from(d)).collect::<Array>().into()
}

/// A 32-byte key, or `undefined`.
fn maybe_key(k: Option<[u8; 32]>) -> JsValue {
    k.map_or(JsValue::UNDEFINED, |k| bytes(&k).into())
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_MESSENGER: &'static str = r#"
/** A 64-bit time (seconds), epoch or serial: a non-negative safe integer or a bigint below 2^64. */
export type Uint64 = number | bigint;

/** What `LocalDevice.replenish` made, or `LocalDevice.oneTimePreKeyCounts`' count. */
export interface PreKeyCounts {
  /** One-time X25519 prekeys. */
  oneTime: number;
  /** One-time KEM prekeys. */
  kem: number;
}

/** What `PeerAccount.updateDeviceList` did. */
export interface DeviceListUpdate {
  /** Unchanged, Updated, or AccountKeyChanged (held as pending: decide with accept/rejectAccountKeyChange). */
  change: DeviceListChange;
  /** Devices new on the list. */
  added: number[];
  /** Devices no longer on the list: delete their records. */
  removed: number[];
  /** Devices listed with a new identity key (reinstalled). */
  reinstalled: number[];
}

/** What `SessionRecord.decrypt` and `SessionRecord.decryptSealed` return. */
export interface RecordDecrypted {
  /** The plaintext, without its padding. */
  plaintext: Uint8Array;
  /** The message's id (52 bytes), the same on both sides. */
  messageId: Uint8Array;
  /** Whether the message started a new session (the device's prekeys were used: store it too). */
  newSession: boolean;
}

/** One recipient's part of a split multi-recipient envelope. */
export interface RecipientEnvelope {
  /** The recipient device's identity key (32 bytes): where the server delivers it. */
  recipient: Uint8Array;
  /** The sealed envelope for it (give it to `open`, or to the device's `LocalDevice.openEnvelope`). */
  envelope: Uint8Array;
}
"#;

// ---------------------------------------------------------------------------
// Limits

/// The messenger layer's sizes and limits, as static getters
/// (`Limits.DEVICE_LINK_LEN`).
#[wasm_bindgen]
pub struct Limits {
    _private: (),
}

#[wasm_bindgen]
impl Limits {
    /// Bytes of an encoded `DeviceCertificate`.
    #[wasm_bindgen(getter = DEVICE_CERTIFICATE_LEN)]
    pub fn device_certificate_len() -> u32 {
        count(core_api::DEVICE_CERTIFICATE_LEN)
    }

    /// Bytes of an encoded `DeviceLink`.
    #[wasm_bindgen(getter = DEVICE_LINK_LEN)]
    pub fn device_link_len() -> u32 {
        count(core_api::DEVICE_LINK_LEN)
    }

    /// The most devices a `DeviceList` names.
    #[wasm_bindgen(getter = MAX_DEVICES)]
    pub fn max_devices() -> u32 {
        count(core_api::MAX_DEVICES)
    }

    /// The longest stable user id, in bytes.
    #[wasm_bindgen(getter = MAX_USER_ID_LEN)]
    pub fn max_user_id_len() -> u32 {
        count(core_api::MAX_USER_ID_LEN)
    }

    /// Bytes of an encoded `RetryMessage`.
    #[wasm_bindgen(getter = RETRY_MESSAGE_LEN)]
    pub fn retry_message_len() -> u32 {
        count(core_api::RETRY_MESSAGE_LEN)
    }

    /// Bytes of an encoded `SenderCertificate`.
    #[wasm_bindgen(getter = SENDER_CERTIFICATE_LEN)]
    pub fn sender_certificate_len() -> u32 {
        count(core_api::SENDER_CERTIFICATE_LEN)
    }

    /// Bytes a sealed envelope adds to the padded content.
    #[wasm_bindgen(getter = SEALED_ENVELOPE_OVERHEAD)]
    pub fn sealed_envelope_overhead() -> u32 {
        count(core_api::SEALED_ENVELOPE_OVERHEAD)
    }

    /// The most recipients of one multi-recipient envelope.
    #[wasm_bindgen(getter = MAX_SEALED_RECIPIENTS)]
    pub fn max_sealed_recipients() -> u32 {
        count(core_api::MAX_SEALED_RECIPIENTS)
    }

    /// The most bytes of envelopes one `splitMultiRecipient` or
    /// `splitMultiRecipientRange` returns (32 MiB): each recipient's
    /// envelope repeats the payload.
    #[wasm_bindgen(getter = MAX_SPLIT_LEN)]
    pub fn max_split_len() -> u32 {
        count(core_api::MAX_SPLIT_LEN)
    }

    /// The longest plaintext, in bytes.
    #[wasm_bindgen(getter = MAX_PLAINTEXT_LEN)]
    pub fn max_plaintext_len() -> u32 {
        count(core_api::MAX_PLAINTEXT_LEN)
    }

    /// Bytes of a message id.
    #[wasm_bindgen(getter = MESSAGE_ID_LEN)]
    pub fn message_id_len() -> u32 {
        count(core_api::MESSAGE_ID_LEN)
    }

    /// Digits of a safety number.
    #[wasm_bindgen(getter = SAFETY_NUMBER_DIGITS)]
    pub fn safety_number_digits() -> u32 {
        count(core_api::SAFETY_NUMBER_DIGITS)
    }
}

// ---------------------------------------------------------------------------
// Accounts

/// A user's account key pair: certifies the user's devices and signs their
/// device list. Secret: `free()` it when done.
#[wasm_bindgen]
pub struct AccountKeyPair(core_api::AccountKeyPair);

#[wasm_bindgen]
impl AccountKeyPair {
    /// A new account key pair (draws 32 bytes).
    pub fn generate(
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<AccountKeyPair> {
        with_rng(rng, core_api::AccountKeyPair::generate).map(Self)
    }

    /// The key pair of a 32-byte seed.
    #[wasm_bindgen(js_name = fromSeed)]
    pub fn from_seed(seed: Secret) -> JsResult<AccountKeyPair> {
        js(core_api::AccountKeyPair::from_seed(&secret(seed))).map(Self)
    }

    /// The 32-byte seed (secret).
    pub fn seed(&self) -> JsResult<Uint8Array> {
        js(self.0.seed()).map(|s| bytes(&s[..]))
    }

    /// The account key (Ed25519 public key, 32 bytes).
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> JsResult<Uint8Array> {
        js(self.0.public_key()).map(|k| bytes(&k))
    }

    /// Certifies that device `device` of this account has identity key
    /// `identityKey` (a new device's first step: `new LocalDevice`).
    pub fn certify(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] device: JsValue,
        #[wasm_bindgen(js_name = identityKey)] identity_key: &[u8],
    ) -> JsResult<DeviceCertificate> {
        let device = device_id(&device)?;
        js(self.0.certify(device, identity_key)).map(DeviceCertificate)
    }

    /// Signs the account's device list at `epoch` (larger than every epoch
    /// signed before: persist it first) from the devices' links: an
    /// `Array` of `DeviceLink`s or of their 100-byte encodings. Throws
    /// `DECODE_INVALID_VALUE` for epoch 0, no or too many devices, a device
    /// id or identity key twice; `BAD_SIGNATURE` for a link not made for
    /// this account.
    #[wasm_bindgen(js_name = signDeviceList)]
    pub fn sign_device_list(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] epoch: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Array<DeviceLink | Uint8Array>")] links: JsValue,
    ) -> JsResult<DeviceList> {
        let epoch = uint64(&epoch, "epoch must be a non-negative integer (number or bigint)")?;
        let links = links
            .dyn_into::<Array>()
            .map_err(|_| invalid("links must be an Array of DeviceLink or Uint8Array"))?;
        let mut list = Vec::with_capacity(links.length() as usize);
        for item in links.iter() {
            if let Some(encoded) = item.dyn_ref::<Uint8Array>() {
                list.push(js(core_api::DeviceLink::from_bytes(&encoded.to_vec()))?);
            } else {
                let link: Option<DeviceLink> =
                    optional(Some(item), "links must be an Array of DeviceLink or Uint8Array")?;
                list.push(link.ok_or_else(|| invalid("links must not hold undefined or null"))?.0);
            }
        }
        js(self.0.sign_device_list(epoch, &list)).map(DeviceList)
    }

    /// The stored form (secret).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> JsResult<Uint8Array> {
        js(self.0.to_bytes()).map(|v| bytes(&v))
    }

    /// Restores `toBytes()`' output.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(stored: Secret) -> JsResult<AccountKeyPair> {
        js(core_api::AccountKeyPair::from_bytes(&secret(stored))).map(Self)
    }

    /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
    pub fn seal(
        &self,
        key: Secret,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Uint8Array> {
        let key = secret(key);
        with_rng(rng, |r| self.0.seal(&key, r)).map(|v| bytes(&v))
    }

    /// Opens `seal()`'s output.
    pub fn open(key: Secret, sealed: &[u8]) -> JsResult<AccountKeyPair> {
        js(core_api::AccountKeyPair::open(&secret(key), sealed)).map(Self)
    }
}

/// A device's certificate from its account.
#[wasm_bindgen]
pub struct DeviceCertificate(core_api::DeviceCertificate);

#[wasm_bindgen]
impl DeviceCertificate {
    /// Decodes and verifies a certificate (signed by the account key it
    /// names); throws `DECODE_*` or `BAD_SIGNATURE`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoded: &[u8]) -> JsResult<DeviceCertificate> {
        js(core_api::DeviceCertificate::from_bytes(encoded)).map(Self)
    }

    /// The encoding (`Limits.DEVICE_CERTIFICATE_LEN` bytes).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(&self.0.to_bytes())
    }

    /// The account key that signed it (32 bytes).
    #[wasm_bindgen(getter, js_name = accountKey)]
    pub fn account_key(&self) -> Uint8Array {
        bytes(&self.0.account_key())
    }

    /// The device id.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> u32 {
        self.0.device()
    }

    /// The device's identity key (32 bytes).
    #[wasm_bindgen(getter, js_name = identityKey)]
    pub fn identity_key(&self) -> Uint8Array {
        bytes(&self.0.identity_key())
    }

    /// Checks that it was signed by `accountKey`; throws `BAD_SIGNATURE`.
    pub fn verify(&self, #[wasm_bindgen(js_name = accountKey)] account_key: &[u8]) -> JsResult<()> {
        js(self.0.verify(account_key))
    }
}

/// A device's consent to be listed by an account: made on the device,
/// handed to the account's signer as `toBytes()`.
#[wasm_bindgen]
pub struct DeviceLink(core_api::DeviceLink);

#[wasm_bindgen]
impl DeviceLink {
    /// The consent of the device with key pair `identity` to be device
    /// `device` of the account with key `accountKey`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        identity: &IdentityKeyPair,
        #[wasm_bindgen(js_name = accountKey)] account_key: &[u8],
        #[wasm_bindgen(unchecked_param_type = "number")] device: JsValue,
    ) -> JsResult<DeviceLink> {
        let device = device_id(&device)?;
        js(core_api::DeviceLink::new(&identity.0, account_key, device)).map(Self)
    }

    /// Decodes a link (its consent is checked when a list is signed).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoded: &[u8]) -> JsResult<DeviceLink> {
        js(core_api::DeviceLink::from_bytes(encoded)).map(Self)
    }

    /// The encoding (`Limits.DEVICE_LINK_LEN` bytes), for the account's signer.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(&self.0.to_bytes())
    }

    /// The device id.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> u32 {
        self.0.device()
    }

    /// The device's identity key (32 bytes).
    #[wasm_bindgen(getter, js_name = identityKey)]
    pub fn identity_key(&self) -> Uint8Array {
        bytes(&self.0.identity_key())
    }

    #[doc(hidden)]
    #[wasm_bindgen(js_name = __chatcryptShare, skip_typescript)]
    pub fn share(&self) -> DeviceLink {
        DeviceLink(self.0.clone())
    }
}

/// An account's signed device list.
#[wasm_bindgen]
pub struct DeviceList(core_api::DeviceList);

#[wasm_bindgen]
impl DeviceList {
    /// Decodes and verifies a device list (signed by the account key it
    /// names; whether to trust that key is a `PeerAccount`'s decision).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoded: &[u8]) -> JsResult<DeviceList> {
        js(core_api::DeviceList::from_bytes(encoded)).map(Self)
    }

    /// The encoding.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(&self.0.to_bytes())
    }

    /// The account key that signed it (32 bytes).
    #[wasm_bindgen(getter, js_name = accountKey)]
    pub fn account_key(&self) -> Uint8Array {
        bytes(&self.0.account_key())
    }

    /// Its epoch.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> u64 {
        self.0.epoch()
    }

    /// The device ids, ascending.
    #[wasm_bindgen(getter, unchecked_return_type = "number[]")]
    pub fn devices(&self) -> JsValue {
        ids(&self.0.devices())
    }

    /// The identity key of device `device`, `undefined` if not listed.
    #[wasm_bindgen(js_name = identityOf, unchecked_return_type = "Uint8Array | undefined")]
    pub fn identity_of(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] device: JsValue,
    ) -> JsResult<JsValue> {
        Ok(maybe_key(self.0.identity_of(device_id(&device)?)))
    }

    /// The links (to sign the next list from).
    #[wasm_bindgen(unchecked_return_type = "DeviceLink[]")]
    pub fn links(&self) -> JsValue {
        self.0.links().into_iter().map(|l| JsValue::from(DeviceLink(l))).collect::<Array>().into()
    }
}

// ---------------------------------------------------------------------------
// The local device

fn counts(one_time: u32, kem: u32) -> JsResult<JsValue> {
    object(&[("oneTime", one_time.into()), ("kem", kem.into())])
}

/// This device: identity, certificate and prekeys. Store `toBytes()` (or
/// `seal()`) after every call that changes it; a call that throws changed
/// nothing. Secret: `free()` it when done.
#[wasm_bindgen]
pub struct LocalDevice(core_api::LocalDevice);

#[wasm_bindgen]
impl LocalDevice {
    /// A new device for `identity`, certified by its account as
    /// `certificate`, with a first signed and last-resort prekey made at
    /// `now` (draws 32 + 64 bytes) and no one-time prekeys yet (call
    /// `replenish`). Throws `WRONG_IDENTITY` if the certificate is for
    /// another identity key.
    #[wasm_bindgen(constructor)]
    pub fn new(
        identity: &IdentityKeyPair,
        certificate: &DeviceCertificate,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<LocalDevice> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        with_rng(rng, |r| core_api::LocalDevice::new(&identity.0, &certificate.0, now, r)).map(Self)
    }

    /// A copy of the identity key pair (to seal envelopes); prefer the
    /// methods that use the device's own (`openEnvelope`, `link`).
    pub fn identity(&self) -> JsResult<IdentityKeyPair> {
        js(self.0.identity()).map(IdentityKeyPair)
    }

    /// Opens a sealed envelope addressed to this device, validating its
    /// sender certificate against `policy` (`open` with the device's own
    /// identity, without a copy of the key pair; changes no state). Throws
    /// as `open` does.
    #[wasm_bindgen(js_name = openEnvelope)]
    pub fn open_envelope(&self, envelope: &[u8], policy: &CertificatePolicy) -> JsResult<OpenedEnvelope> {
        js(self.0.open_envelope(envelope, &policy.0)).map(OpenedEnvelope)
    }

    /// The identity key (32 bytes).
    #[wasm_bindgen(getter, js_name = identityKey)]
    pub fn identity_key(&self) -> JsResult<Uint8Array> {
        js(self.0.identity_key()).map(|k| bytes(&k))
    }

    /// The device id.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> JsResult<u32> {
        js(self.0.device_id())
    }

    /// The device certificate.
    #[wasm_bindgen(getter)]
    pub fn certificate(&self) -> JsResult<DeviceCertificate> {
        js(self.0.certificate()).map(DeviceCertificate)
    }

    /// This device's link for its account's device list.
    pub fn link(&self) -> JsResult<DeviceLink> {
        js(self.0.link()).map(DeviceLink)
    }

    /// How many one-time X25519 and KEM prekeys the device holds:
    /// `{ oneTime, kem }`.
    #[wasm_bindgen(js_name = oneTimePreKeyCounts, unchecked_return_type = "PreKeyCounts")]
    pub fn one_time_pre_key_counts(&self) -> JsResult<JsValue> {
        let (x, k) = js(self.0.one_time_prekey_counts())?;
        counts(count(x), count(k))
    }

    /// Whether the signed prekey is due for rotation at `now`.
    #[wasm_bindgen(js_name = needsRotation)]
    pub fn needs_rotation(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
    ) -> JsResult<bool> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        js(self.0.needs_rotation(now))
    }

    /// Whether some keys are not yet in a confirmed upload.
    #[wasm_bindgen(js_name = needsUpload)]
    pub fn needs_upload(&self) -> JsResult<bool> {
        js(self.0.needs_upload())
    }

    /// Replaces the signed and last-resort prekeys (draws 32 + 64 bytes).
    /// Persist, then `upload`.
    #[wasm_bindgen(js_name = rotateSignedPreKey)]
    pub fn rotate_signed_pre_key(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<()> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        with_rng(rng, |r| self.0.rotate_signed_prekey(now, r))
    }

    /// Deletes retired prekeys whose grace period is over at `now`.
    pub fn prune(&mut self, #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue) -> JsResult<()> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        js(self.0.prune(now))
    }

    /// Makes one-time prekeys when the server reports fewer than the low
    /// water mark (draws 32 bytes per X25519 and 64 per KEM prekey):
    /// `{ oneTime, kem }` made. Persist, then `upload`.
    #[wasm_bindgen(unchecked_return_type = "PreKeyCounts")]
    pub fn replenish(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number", js_name = serverOneTime)] server_one_time: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number", js_name = serverKem)] server_kem: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<JsValue> {
        let x = enum_arg(&server_one_time, "serverOneTime must be a non-negative integer", Some)?;
        let k = enum_arg(&server_kem, "serverKem must be a non-negative integer", Some)?;
        let made = with_rng(rng, |r| self.0.replenish(x, k, r))?;
        counts(made.one_time, made.kem)
    }

    /// The prekey upload, for `persisted`: the stored form of this device
    /// the caller stored (`toBytes()`, also when what is stored is its
    /// sealed form). Throws `NOT_PERSISTED` if it is not the current one.
    pub fn upload(&self, persisted: Secret) -> JsResult<PreKeyUpload> {
        js(self.0.upload(&secret(persisted))).map(PreKeyUpload)
    }

    /// Records that the server stored `upload`. Persist afterwards.
    #[wasm_bindgen(js_name = markUploaded)]
    pub fn mark_uploaded(&mut self, upload: &PreKeyUpload) -> JsResult<()> {
        js(self.0.mark_uploaded(&upload.0))
    }

    /// The signed retry for `failed`, a message from the device with
    /// identity key `senderIdentity` that failed to decrypt at `now` with
    /// `error`, the `ChatcryptError` it threw (its `code` and, for
    /// `UNKNOWN_PREKEY`, its `prekeyId`); `undefined` if that failure calls
    /// for no retry (only `AUTH`, `NO_SESSION` and `UNKNOWN_PREKEY` do).
    /// Throws `INVALID_ARGUMENT` if `error` has no valid `code`.
    #[wasm_bindgen(js_name = retryFor)]
    pub fn retry_for(
        &self,
        #[wasm_bindgen(js_name = senderIdentity)] sender_identity: &[u8],
        failed: &[u8],
        #[wasm_bindgen(unchecked_param_type = "ChatcryptError")] error: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
    ) -> JsResult<Option<RetryMessage>> {
        const WHAT: &str = "error must be a ChatcryptError (with a code)";
        let field =
            |name: &str| js_sys::Reflect::get(&error, &JsValue::from_str(name)).map_err(|_| invalid(WHAT));
        if !error.is_object() {
            return Err(invalid(WHAT));
        }
        let code = field("code")?;
        let prekey_id = field("prekeyId")?;
        self.retry_for_code(sender_identity, failed, code, now, prekey_id)
    }

    /// As `retryFor`, from the failure's code (an `ErrorCode`) and, for
    /// `UNKNOWN_PREKEY` (where it is required), the `prekeyId` its error
    /// carried.
    #[wasm_bindgen(js_name = retryForCode)]
    pub fn retry_for_code(
        &self,
        #[wasm_bindgen(js_name = senderIdentity)] sender_identity: &[u8],
        failed: &[u8],
        #[wasm_bindgen(unchecked_param_type = "ErrorCode")] code: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number", js_name = prekeyId)] prekey_id: JsValue,
    ) -> JsResult<Option<RetryMessage>> {
        let code = code
            .as_f64()
            .filter(|v| v.fract() == 0.0 && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(v))
            // In range and integral: the cast is exact.
            .and_then(|v| core_api::ErrorCode::from_i32(v as i32))
            .ok_or_else(|| invalid("code must be an ErrorCode"))?;
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        let prekey_id = optional_u32(&prekey_id, "prekeyId must be an integer from 0 to 4294967295")?;
        let prekey_id = match (code, prekey_id) {
            (core_api::ErrorCode::UnknownPreKey, None) => {
                return Err(invalid("an UNKNOWN_PREKEY retry needs the error's prekeyId"))
            }
            (_, id) => id.unwrap_or(0),
        };
        js(self.0.retry_for_code(sender_identity, failed, code, prekey_id, now)).map(|r| r.map(RetryMessage))
    }

    /// The stored form (secret).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> JsResult<Uint8Array> {
        js(self.0.to_bytes()).map(|v| bytes(&v))
    }

    /// Restores `toBytes()`' output.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(stored: Secret) -> JsResult<LocalDevice> {
        js(core_api::LocalDevice::from_bytes(&secret(stored))).map(Self)
    }

    /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
    pub fn seal(
        &self,
        key: Secret,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Uint8Array> {
        let key = secret(key);
        with_rng(rng, |r| self.0.seal(&key, r)).map(|v| bytes(&v))
    }

    /// Opens `seal()`'s output.
    pub fn open(key: Secret, sealed: &[u8]) -> JsResult<LocalDevice> {
        js(core_api::LocalDevice::open(&secret(key), sealed)).map(Self)
    }
}

/// A device's signed prekey upload: what the server stores and hands out
/// bundles from.
#[wasm_bindgen]
pub struct PreKeyUpload(core_api::PreKeyUpload);

#[wasm_bindgen]
impl PreKeyUpload {
    /// Decodes and verifies an upload (the server's first step).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoded: &[u8]) -> JsResult<PreKeyUpload> {
        js(core_api::PreKeyUpload::from_bytes(encoded)).map(Self)
    }

    /// The encoding.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(&self.0.to_bytes())
    }

    /// The device's certificate.
    #[wasm_bindgen(getter)]
    pub fn certificate(&self) -> DeviceCertificate {
        DeviceCertificate(self.0.certificate())
    }

    /// The device's identity key (32 bytes).
    #[wasm_bindgen(getter, js_name = identityKey)]
    pub fn identity_key(&self) -> Uint8Array {
        bytes(&self.0.identity_key())
    }

    /// How many one-time X25519 prekeys it carries.
    #[wasm_bindgen(getter, js_name = oneTimePreKeyCount)]
    pub fn one_time_pre_key_count(&self) -> u32 {
        count(self.0.one_time_prekey_count())
    }

    /// How many one-time KEM prekeys it carries.
    #[wasm_bindgen(getter, js_name = kemPreKeyCount)]
    pub fn kem_pre_key_count(&self) -> u32 {
        count(self.0.kem_prekey_count())
    }

    /// The bundle a server hands out: with the one-time X25519 prekey at
    /// index `oneTime` and the one-time KEM prekey at index `kem` of this
    /// upload, or without (`undefined`: no one-time prekey; the last-resort
    /// KEM prekey). An index out of range throws.
    pub fn bundle(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number", js_name = oneTime)] one_time: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] kem: JsValue,
    ) -> JsResult<PreKeyBundle> {
        let one_time =
            optional_u32(&one_time, "oneTime must be an index (a non-negative integer) or undefined")?;
        let kem = optional_u32(&kem, "kem must be an index (a non-negative integer) or undefined")?;
        js(self.0.bundle(one_time.map(|i| i as usize), kem.map(|i| i as usize))).map(PreKeyBundle)
    }
}

// ---------------------------------------------------------------------------
// Peers

/// How a peer's account key was pinned.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustLevel {
    /// Trusted on first use, not compared out of band.
    TrustedOnFirstUse = 0,
    /// The users compared safety numbers.
    Verified = 1,
}

/// What `PeerAccount.updateDeviceList` did.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceListChange {
    /// The list is the one already held.
    Unchanged = 0,
    /// A newer list under the pinned account key replaced the old one.
    Updated = 1,
    /// The list is signed by another account key: held as pending, every
    /// device refused (`ACCOUNT_KEY_CHANGED`) until the caller decides.
    AccountKeyChanged = 2,
}

/// What this device trusts about a peer account: its pinned account key
/// and newest device list. Store `toBytes()` after every change.
#[wasm_bindgen]
pub struct PeerAccount(core_api::PeerAccount);

#[wasm_bindgen]
impl PeerAccount {
    /// First contact, trusting on first use the account key that signed
    /// `list`. Throws `TOO_LARGE` for a user id over
    /// `Limits.MAX_USER_ID_LEN` bytes.
    #[wasm_bindgen(js_name = trustOnFirstUse)]
    pub fn trust_on_first_use(
        #[wasm_bindgen(js_name = userId)] user_id: &[u8],
        list: &DeviceList,
    ) -> JsResult<PeerAccount> {
        js(core_api::PeerAccount::trust_on_first_use(user_id, &list.0)).map(Self)
    }

    /// First contact with an account key verified out of band; throws
    /// `ACCOUNT_KEY_CHANGED` if `list` is signed by another key.
    pub fn verified(
        #[wasm_bindgen(js_name = userId)] user_id: &[u8],
        #[wasm_bindgen(js_name = accountKey)] account_key: &[u8],
        list: &DeviceList,
    ) -> JsResult<PeerAccount> {
        js(core_api::PeerAccount::verified(user_id, account_key, &list.0)).map(Self)
    }

    /// A copy (the stored form restored).
    #[wasm_bindgen(js_name = clone)]
    pub fn duplicate(&self) -> PeerAccount {
        PeerAccount(self.0.clone())
    }

    /// The peer's stable user id.
    #[wasm_bindgen(getter, js_name = userId)]
    pub fn user_id(&self) -> JsResult<Uint8Array> {
        js(self.0.user_id()).map(|v| bytes(&v))
    }

    /// The pinned account key (32 bytes).
    #[wasm_bindgen(getter, js_name = accountKey)]
    pub fn account_key(&self) -> JsResult<Uint8Array> {
        js(self.0.account_key()).map(|k| bytes(&k))
    }

    /// How the account key was pinned.
    #[wasm_bindgen(getter, js_name = trustLevel)]
    pub fn trust_level(&self) -> JsResult<TrustLevel> {
        Ok(match js(self.0.trust_level())? {
            core_api::TrustLevel::Verified => TrustLevel::Verified,
            core_api::TrustLevel::TrustedOnFirstUse => TrustLevel::TrustedOnFirstUse,
        })
    }

    /// The newest device list under the pinned key.
    #[wasm_bindgen(getter, js_name = deviceList)]
    pub fn device_list(&self) -> JsResult<DeviceList> {
        js(self.0.device_list()).map(DeviceList)
    }

    /// The account key of a change waiting for the caller's decision
    /// (32 bytes), `undefined` if none.
    #[wasm_bindgen(getter, js_name = pendingAccountKey, unchecked_return_type = "Uint8Array | undefined")]
    pub fn pending_account_key(&self) -> JsResult<JsValue> {
        js(self.0.pending_account_key()).map(maybe_key)
    }

    /// Records that the users compared safety numbers and they matched;
    /// throws `ACCOUNT_KEY_CHANGED` while a change is pending.
    #[wasm_bindgen(js_name = markVerified)]
    pub fn mark_verified(&mut self) -> JsResult<()> {
        js(self.0.mark_verified())
    }

    /// Applies a device list fetched for this account:
    /// `{ change, added, removed, reinstalled }`. Throws
    /// `DEVICE_LIST_ROLLBACK` for an older epoch, `DEVICE_LIST_CONFLICT`
    /// for another list at the same epoch; nothing changes then.
    #[wasm_bindgen(js_name = updateDeviceList, unchecked_return_type = "DeviceListUpdate")]
    pub fn update_device_list(&mut self, list: &DeviceList) -> JsResult<JsValue> {
        let u = js(self.0.update_device_list(&list.0))?;
        let change = match u.change {
            core_api::DeviceListChange::Unchanged => DeviceListChange::Unchanged,
            core_api::DeviceListChange::Updated => DeviceListChange::Updated,
            core_api::DeviceListChange::AccountKeyChanged => DeviceListChange::AccountKeyChanged,
        };
        object(&[
            ("change", change.into()),
            ("added", ids(&u.added)),
            ("removed", ids(&u.removed)),
            ("reinstalled", ids(&u.reinstalled)),
        ])
    }

    /// The caller's decision to trust the pending account key `expected`;
    /// throws `NO_PENDING_CHANGE`, or `ACCOUNT_KEY_CHANGED` if the pending
    /// key is another.
    #[wasm_bindgen(js_name = acceptAccountKeyChange)]
    pub fn accept_account_key_change(&mut self, expected: &[u8]) -> JsResult<()> {
        js(self.0.accept_account_key_change(expected))
    }

    /// The caller's decision to keep the pinned key; throws `NO_PENDING_CHANGE`.
    #[wasm_bindgen(js_name = rejectAccountKeyChange)]
    pub fn reject_account_key_change(&mut self) -> JsResult<()> {
        js(self.0.reject_account_key_change())
    }

    /// The identity key device `device` must have (32 bytes); throws
    /// `ACCOUNT_KEY_CHANGED` or `UNKNOWN_DEVICE`.
    #[wasm_bindgen(js_name = deviceIdentity)]
    pub fn device_identity(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] device: JsValue,
    ) -> JsResult<Uint8Array> {
        js(self.0.device_identity(device_id(&device)?)).map(|k| bytes(&k))
    }

    /// Whether device `device` with identity key `identityKey` may send
    /// and receive: returns, or throws (`UNKNOWN_DEVICE`, `WRONG_IDENTITY`,
    /// `ACCOUNT_KEY_CHANGED`).
    pub fn authorize(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] device: JsValue,
        #[wasm_bindgen(js_name = identityKey)] identity_key: &[u8],
    ) -> JsResult<()> {
        js(self.0.authorize(device_id(&device)?, identity_key))
    }

    /// The safety number between the local user and this peer's pinned
    /// account key.
    #[wasm_bindgen(js_name = safetyNumber)]
    pub fn safety_number(
        &self,
        #[wasm_bindgen(js_name = localUserId)] local_user_id: &[u8],
        #[wasm_bindgen(js_name = localAccountKey)] local_account_key: &[u8],
    ) -> JsResult<SafetyNumber> {
        js(self.0.safety_number(local_user_id, local_account_key)).map(SafetyNumber)
    }

    /// The stored form.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> JsResult<Uint8Array> {
        js(self.0.to_bytes()).map(|v| bytes(&v))
    }

    /// Restores `toBytes()`' output.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(stored: Secret) -> JsResult<PeerAccount> {
        js(core_api::PeerAccount::from_bytes(&secret(stored))).map(Self)
    }

    /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
    pub fn seal(
        &self,
        key: Secret,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Uint8Array> {
        let key = secret(key);
        with_rng(rng, |r| self.0.seal(&key, r)).map(|v| bytes(&v))
    }

    /// Opens `seal()`'s output.
    pub fn open(key: Secret, sealed: &[u8]) -> JsResult<PeerAccount> {
        js(core_api::PeerAccount::open(&secret(key), sealed)).map(Self)
    }
}

#[wasm_bindgen]
impl SafetyNumber {
    /// The safety number between two users' account keys (the one a
    /// multi-device messenger shows): each side's stable user id and
    /// account key (32 bytes).
    #[wasm_bindgen(js_name = forAccounts)]
    pub fn for_accounts(
        #[wasm_bindgen(js_name = localUserId)] local_user_id: &[u8],
        #[wasm_bindgen(js_name = localAccountKey)] local_account_key: &[u8],
        #[wasm_bindgen(js_name = remoteUserId)] remote_user_id: &[u8],
        #[wasm_bindgen(js_name = remoteAccountKey)] remote_account_key: &[u8],
    ) -> JsResult<SafetyNumber> {
        js(core_api::SafetyNumber::for_accounts(
            local_user_id,
            local_account_key,
            remote_user_id,
            remote_account_key,
        ))
        .map(SafetyNumber)
    }
}

// ---------------------------------------------------------------------------
// Session records

/// How a `SessionRecord` starts and accepts sessions. Every field is
/// required: a missing or unknown value throws `INVALID_ARGUMENT`;
/// `SessionPolicy.recommended()` is chatcrypt's default.
#[wasm_bindgen]
#[derive(Clone, Copy)]
pub struct SessionPolicy(core_api::SessionPolicy);

#[wasm_bindgen]
impl SessionPolicy {
    /// The header `mode` of sessions this device starts, whether it may
    /// start a classical one (`pqPolicy`), the modes it accepts from
    /// initiators (`acceptModePolicy`) and whether it accepts a classical
    /// session (`acceptPqPolicy`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Mode")] mode: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PqPolicy", js_name = pqPolicy)] pq_policy: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ModePolicy", js_name = acceptModePolicy)]
        accept_mode_policy: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PqPolicy", js_name = acceptPqPolicy)]
        accept_pq_policy: JsValue,
    ) -> JsResult<SessionPolicy> {
        Ok(SessionPolicy(core_api::SessionPolicy {
            mode: Mode::from_js(&mode)?.to_core(),
            pq: PqPolicy::from_js(&pq_policy)?.to_core(),
            accept_mode: ModePolicy::from_js(&accept_mode_policy)?.to_core(),
            accept_pq: PqPolicy::from_js(&accept_pq_policy)?.to_core(),
        }))
    }

    /// chatcrypt's default: plain headers, hybrid post-quantum required,
    /// either mode accepted, classical sessions refused.
    pub fn recommended() -> SessionPolicy {
        SessionPolicy(core_api::SessionPolicy::default())
    }

    /// The header mode of sessions this device starts.
    #[wasm_bindgen(getter)]
    pub fn mode(&self) -> Mode {
        Mode::from_core(self.0.mode)
    }

    /// Whether this device may start a classical session.
    #[wasm_bindgen(getter, js_name = pqPolicy)]
    pub fn pq_policy(&self) -> PqPolicy {
        match self.0.pq {
            core_api::PqPolicy::Required => PqPolicy::Required,
            core_api::PqPolicy::AllowClassical => PqPolicy::AllowClassical,
        }
    }

    /// The modes accepted from initiators.
    #[wasm_bindgen(getter, js_name = acceptModePolicy)]
    pub fn accept_mode_policy(&self) -> ModePolicy {
        match self.0.accept_mode {
            core_api::ModePolicy::Any => ModePolicy::Any,
            core_api::ModePolicy::HeaderEncryptionOnly => ModePolicy::HeaderEncryptionOnly,
            core_api::ModePolicy::PlainOnly => ModePolicy::PlainOnly,
        }
    }

    /// Whether a classical session is accepted.
    #[wasm_bindgen(getter, js_name = acceptPqPolicy)]
    pub fn accept_pq_policy(&self) -> PqPolicy {
        match self.0.accept_pq {
            core_api::PqPolicy::Required => PqPolicy::Required,
            core_api::PqPolicy::AllowClassical => PqPolicy::AllowClassical,
        }
    }
}

/// What `SessionRecord.handleRetry` decided.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Nothing to do.
    Ignored = 0,
    /// The current session was archived: fetch a bundle, `initiate`, resend.
    StartNewSession = 1,
}

fn decrypted(d: core_api::Decrypted) -> JsResult<JsValue> {
    object(&[
        ("plaintext", bytes(&d.plaintext).into()),
        ("messageId", bytes(&d.message_id).into()),
        ("newSession", d.new_session.into()),
    ])
}

/// All sessions with one remote device. Store `toBytes()` (or `seal()`)
/// after every call that changes it, and the `LocalDevice` too when
/// `decrypt` reports `newSession`. A call that throws changes neither
/// (a scripted `Rng` that runs dry included); only an OS generator failure
/// in an ordinary message leaves the record `UNUSABLE`: restore it then.
/// Secret: `free()` it when done.
#[wasm_bindgen]
pub struct SessionRecord(core_api::SessionRecord);

#[wasm_bindgen]
impl SessionRecord {
    /// An empty record for the peer's device `device`.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "number")] device: JsValue) -> JsResult<SessionRecord> {
        Ok(SessionRecord(core_api::SessionRecord::new(device_id(&device)?)))
    }

    /// The peer's device id.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> JsResult<u32> {
        js(self.0.device())
    }

    /// Whether there is no session to send on at `now`: fetch a bundle and
    /// `initiate`.
    #[wasm_bindgen(js_name = needsNewSession)]
    pub fn needs_new_session(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
    ) -> JsResult<bool> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        js(self.0.needs_new_session(now))
    }

    /// The current session's id (32 bytes), `undefined` if none.
    #[wasm_bindgen(getter, js_name = currentSessionId, unchecked_return_type = "Uint8Array | undefined")]
    pub fn current_session_id(&self) -> JsResult<JsValue> {
        js(self.0.current_session_id()).map(maybe_key)
    }

    /// How many earlier sessions are kept.
    #[wasm_bindgen(getter, js_name = archivedCount)]
    pub fn archived_count(&self) -> JsResult<u32> {
        js(self.0.archived_count()).map(count)
    }

    /// Starts a session with the device from its `bundle`, authorized by
    /// `peer`'s device list; it becomes the current session.
    pub fn initiate(
        &mut self,
        local: &LocalDevice,
        peer: &PeerAccount,
        bundle: &PreKeyBundle,
        policy: &SessionPolicy,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<()> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        with_rng(rng, |r| self.0.initiate(&local.0, &peer.0, &bundle.0, policy.0, now, r))
    }

    /// Encrypts `plaintext` on the current session, padded with the
    /// default policy (draws a 16-byte reuse guard). Throws `NO_SESSION`
    /// without one, `ACCOUNT_KEY_CHANGED` while a change is pending,
    /// `WRONG_IDENTITY` if the device is now listed with another key.
    pub fn encrypt(
        &mut self,
        peer: &PeerAccount,
        plaintext: Secret,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Uint8Array> {
        let plaintext = secret(plaintext);
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        with_rng(rng, |r| self.0.encrypt(&peer.0, &plaintext, now, r)).map(|v| bytes(&v))
    }

    /// As `encrypt`, padded with `padding`.
    #[wasm_bindgen(js_name = encryptPadded)]
    pub fn encrypt_padded(
        &mut self,
        peer: &PeerAccount,
        plaintext: Secret,
        padding: &Padding,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Uint8Array> {
        let plaintext = secret(plaintext);
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        with_rng(rng, |r| self.0.encrypt_padded(&peer.0, &plaintext, padding.0, now, r)).map(|v| bytes(&v))
    }

    /// Decrypts a message from the device (a new PreKeyMessage is accepted
    /// with `local`'s prekeys, which it consumes on success):
    /// `{ plaintext, messageId, newSession }`. Draws 32 bytes on a new
    /// ratchet step. Throws `AUTH`, `DUPLICATE` (a replay: drop it),
    /// `UNKNOWN_PREKEY` (with `prekeyId`), `NO_SESSION`...; nothing changes
    /// then (answer with `local.retryFor(...)`).
    #[wasm_bindgen(unchecked_return_type = "RecordDecrypted")]
    pub fn decrypt(
        &mut self,
        local: &mut LocalDevice,
        peer: &PeerAccount,
        message: &[u8],
        policy: &SessionPolicy,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<JsValue> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        let d = with_rng(rng, |r| self.0.decrypt(&mut local.0, &peer.0, message, policy.0, now, r))?;
        decrypted(d)
    }

    /// Encrypts `plaintext` on the current session (default padding) and
    /// seals the message for the session's peer device with `certificate`,
    /// this device's sender certificate (draws 16 + 32 bytes).
    #[wasm_bindgen(js_name = encryptSealed)]
    pub fn encrypt_sealed(
        &mut self,
        local: &LocalDevice,
        peer: &PeerAccount,
        certificate: &SenderCertificate,
        plaintext: Secret,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Uint8Array> {
        let plaintext = secret(plaintext);
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        with_rng(rng, |r| self.0.encrypt_sealed(&local.0, &peer.0, &certificate.0, &plaintext, now, r))
            .map(|v| bytes(&v))
    }

    /// Decrypts the content of an opened sealed envelope from the device,
    /// if its certificate names the sender the inner session authenticates
    /// (`SENDER_MISMATCH` otherwise): `{ plaintext, messageId, newSession }`.
    #[wasm_bindgen(js_name = decryptSealed, unchecked_return_type = "RecordDecrypted")]
    pub fn decrypt_sealed(
        &mut self,
        local: &mut LocalDevice,
        peer: &PeerAccount,
        opened: &OpenedEnvelope,
        policy: &SessionPolicy,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<JsValue> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        let d = with_rng(rng, |r| self.0.decrypt_sealed(&mut local.0, &peer.0, &opened.0, policy.0, now, r))?;
        decrypted(d)
    }

    /// Reacts to a retry message from the device.
    #[wasm_bindgen(js_name = handleRetry)]
    pub fn handle_retry(
        &mut self,
        local: &LocalDevice,
        peer: &PeerAccount,
        retry: &RetryMessage,
    ) -> JsResult<RetryOutcome> {
        Ok(match js(self.0.handle_retry(&local.0, &peer.0, &retry.0))? {
            core_api::RetryOutcome::StartNewSession => RetryOutcome::StartNewSession,
            core_api::RetryOutcome::Ignored => RetryOutcome::Ignored,
        })
    }

    /// The stored form (secret).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> JsResult<Uint8Array> {
        js(self.0.to_bytes()).map(|v| bytes(&v))
    }

    /// Restores `toBytes()`' output.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(stored: Secret) -> JsResult<SessionRecord> {
        js(core_api::SessionRecord::from_bytes(&secret(stored))).map(Self)
    }

    /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
    pub fn seal(
        &self,
        key: Secret,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Uint8Array> {
        let key = secret(key);
        with_rng(rng, |r| self.0.seal(&key, r)).map(|v| bytes(&v))
    }

    /// Opens `seal()`'s output.
    pub fn open(key: Secret, sealed: &[u8]) -> JsResult<SessionRecord> {
        js(core_api::SessionRecord::open(&secret(key), sealed)).map(Self)
    }
}

// ---------------------------------------------------------------------------
// Retries

/// Why a message could not be decrypted.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryReason {
    /// No session decrypts the message.
    NoSession = 1,
    /// A PreKeyMessage named a prekey the device does not hold.
    UnknownPreKey = 2,
    /// A PreKeyMessage named held prekeys but did not authenticate.
    HandshakeFailed = 3,
}

/// A signed "I could not decrypt your message", sent back to the sender's
/// device (`SessionRecord.handleRetry`).
#[wasm_bindgen]
pub struct RetryMessage(core_api::RetryMessage);

#[wasm_bindgen]
impl RetryMessage {
    /// Decodes and verifies a retry message.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoded: &[u8]) -> JsResult<RetryMessage> {
        js(core_api::RetryMessage::from_bytes(encoded)).map(Self)
    }

    /// The encoding (`Limits.RETRY_MESSAGE_LEN` bytes).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(&self.0.to_bytes())
    }

    /// Why the message failed.
    #[wasm_bindgen(getter)]
    pub fn reason(&self) -> RetryReason {
        match self.0.reason() {
            core_api::RetryReason::NoSession => RetryReason::NoSession,
            core_api::RetryReason::UnknownPreKey => RetryReason::UnknownPreKey,
            core_api::RetryReason::HandshakeFailed => RetryReason::HandshakeFailed,
        }
    }

    /// The unknown prekey's id, else 0.
    #[wasm_bindgen(getter, js_name = prekeyId)]
    pub fn prekey_id(&self) -> u32 {
        self.0.prekey_id()
    }

    /// The failed message's digest (16 bytes).
    #[wasm_bindgen(getter, js_name = messageDigest)]
    pub fn message_digest(&self) -> Uint8Array {
        bytes(&self.0.message_digest())
    }

    /// When the failure happened, on the author's clock.
    #[wasm_bindgen(getter)]
    pub fn timestamp(&self) -> u64 {
        self.0.timestamp()
    }

    /// The identity key of the device that could not decrypt (32 bytes).
    #[wasm_bindgen(getter)]
    pub fn author(&self) -> Uint8Array {
        bytes(&self.0.author())
    }

    /// The identity key of the device whose message failed (32 bytes).
    #[wasm_bindgen(getter)]
    pub fn recipient(&self) -> Uint8Array {
        bytes(&self.0.recipient())
    }
}

// ---------------------------------------------------------------------------
// Padding

/// The kinds of `Padding`.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaddingKind {
    /// No rounding (parameter 0).
    None = 0,
    /// Round up to a multiple of the parameter (1 to 65 535).
    Blocks = 1,
    /// Padmé with the parameter as the floor (0 to 65 535).
    Padme = 2,
}

/// How a plaintext is padded before it is encrypted or sealed (SPEC.md §26).
#[wasm_bindgen]
#[derive(Clone, Copy)]
pub struct Padding(core_api::Padding);

#[wasm_bindgen]
impl Padding {
    /// The policy of `kind` (a `PaddingKind`) and its parameter; throws
    /// `INVALID_ARGUMENT` for an unknown kind or a parameter out of range
    /// (`None` with a parameter, `Blocks` with 0, above 65 535).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "PaddingKind")] kind: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] param: JsValue,
    ) -> JsResult<Padding> {
        let kind =
            enum_arg(&kind, "kind must be a PaddingKind (None, Blocks or Padme)", |n| (n <= 2).then_some(n))?;
        let param = enum_arg(&param, "param must be an integer from 0 to 65535", Some)?;
        js(core_api::Padding::new(kind, param)).map(Self)
    }

    /// The default policy (what `SessionRecord.encrypt` uses): Padmé with
    /// a floor of 160 bytes.
    pub fn recommended() -> Padding {
        Padding(core_api::Padding::default())
    }

    /// The kind.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> PaddingKind {
        match self.0.kind() {
            core_api::PaddingKind::None => PaddingKind::None,
            core_api::PaddingKind::Blocks => PaddingKind::Blocks,
            core_api::PaddingKind::Padme => PaddingKind::Padme,
        }
    }

    /// The parameter.
    #[wasm_bindgen(getter)]
    pub fn param(&self) -> u32 {
        self.0.param()
    }

    /// The padded length of `contentLength` bytes; throws `TOO_LARGE` if it
    /// does not fit.
    #[wasm_bindgen(js_name = paddedLength)]
    pub fn padded_length(
        &self,
        #[wasm_bindgen(js_name = contentLength)] content_length: u32,
    ) -> JsResult<u32> {
        js(self.0.padded_len(content_length as usize)).map(count)
    }

    /// Pads `content` (at most `max` bytes padded: `TOO_LARGE` otherwise).
    pub fn pad(&self, content: Secret, max: u32) -> JsResult<Uint8Array> {
        let content = secret(content);
        js(self.0.pad(&content, max as usize)).map(|v| bytes(&v))
    }
}

/// Removes the padding, strictly (`PADDING` if it is not canonical).
#[wasm_bindgen]
pub fn unpad(padded: Secret) -> JsResult<Uint8Array> {
    js(core_api::unpad(&secret(padded))).map(|v| bytes(&v))
}

// ---------------------------------------------------------------------------
// Sealed sender

/// The server's certificate-signing key pair. Secret: `free()` it when done.
#[wasm_bindgen]
pub struct ServerKeyPair(core_api::ServerKeyPair);

#[wasm_bindgen]
impl ServerKeyPair {
    /// A new key pair (draws 32 bytes).
    pub fn generate(
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<ServerKeyPair> {
        with_rng(rng, core_api::ServerKeyPair::generate).map(Self)
    }

    /// The key pair of a 32-byte seed.
    #[wasm_bindgen(js_name = fromSeed)]
    pub fn from_seed(seed: Secret) -> JsResult<ServerKeyPair> {
        js(core_api::ServerKeyPair::from_seed(&secret(seed))).map(Self)
    }

    /// The 32-byte seed (secret).
    pub fn seed(&self) -> Uint8Array {
        bytes(&self.0.seed()[..])
    }

    /// The public key (32 bytes): what clients trust as a root.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> Uint8Array {
        bytes(&self.0.public_key())
    }

    /// Issues certificate `serial`, valid while the recipient's clock is
    /// below `expires`, for device `device` of account `accountKey` with
    /// identity key `identityKey`.
    pub fn issue(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] serial: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] expires: JsValue,
        #[wasm_bindgen(js_name = accountKey)] account_key: &[u8],
        #[wasm_bindgen(unchecked_param_type = "number")] device: JsValue,
        #[wasm_bindgen(js_name = identityKey)] identity_key: &[u8],
    ) -> JsResult<SenderCertificate> {
        let serial = uint64(&serial, "serial must be a non-negative integer (number or bigint)")?;
        let expires = uint64(&expires, "expires must be a non-negative integer (number or bigint)")?;
        let device = device_id(&device)?;
        js(self.0.issue(serial, expires, account_key, device, identity_key)).map(SenderCertificate)
    }
}

/// A sender certificate: the server's word that a device belongs to an
/// account, carried inside sealed envelopes.
#[wasm_bindgen]
pub struct SenderCertificate(core_api::SenderCertificate);

#[wasm_bindgen]
impl SenderCertificate {
    /// Decodes a certificate (validated against a policy when opened).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoded: &[u8]) -> JsResult<SenderCertificate> {
        js(core_api::SenderCertificate::from_bytes(encoded)).map(Self)
    }

    /// The encoding (`Limits.SENDER_CERTIFICATE_LEN` bytes).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(&self.0.to_bytes())
    }

    /// The serial number.
    #[wasm_bindgen(getter)]
    pub fn serial(&self) -> u64 {
        self.0.serial()
    }

    /// The expiry time.
    #[wasm_bindgen(getter)]
    pub fn expires(&self) -> u64 {
        self.0.expires()
    }

    /// The sender's account key (32 bytes).
    #[wasm_bindgen(getter, js_name = accountKey)]
    pub fn account_key(&self) -> Uint8Array {
        bytes(&self.0.account_key())
    }

    /// The sender's device id.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> u32 {
        self.0.device()
    }

    /// The sender device's identity key (32 bytes).
    #[wasm_bindgen(getter, js_name = identityKey)]
    pub fn identity_key(&self) -> Uint8Array {
        bytes(&self.0.identity_key())
    }

    /// The issuing server key (32 bytes).
    #[wasm_bindgen(getter)]
    pub fn issuer(&self) -> Uint8Array {
        bytes(&self.0.issuer())
    }

    /// Checks the certificate against `policy`: returns, or throws
    /// `UNTRUSTED_CERTIFICATE`, `CERTIFICATE_REVOKED`, `CERTIFICATE_EXPIRED`.
    pub fn validate(&self, policy: &CertificatePolicy) -> JsResult<()> {
        js(self.0.validate(&policy.0))
    }
}

/// Which sender certificates a recipient accepts: the trusted server keys,
/// the revoked serials and the time.
#[wasm_bindgen]
pub struct CertificatePolicy(core_api::CertificatePolicy);

#[wasm_bindgen]
impl CertificatePolicy {
    /// A policy at time `now` with no roots yet (which accepts nothing).
    /// The time is part of the policy: a policy kept across calls must be
    /// moved on with `setNow` before each `open` (or
    /// `LocalDevice.openEnvelope`, `SenderCertificate.validate`), or
    /// expired certificates pass.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue) -> JsResult<CertificatePolicy> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        Ok(CertificatePolicy(core_api::CertificatePolicy::new(now)))
    }

    /// Sets the time certificates are checked at: call it before each
    /// open with a policy kept across calls, or certificates that expired
    /// since it was made still pass.
    #[wasm_bindgen(js_name = setNow)]
    pub fn set_now(&mut self, #[wasm_bindgen(unchecked_param_type = "Uint64")] now: JsValue) -> JsResult<()> {
        let now = uint64(&now, "now must be a non-negative integer (number or bigint)")?;
        self.0.set_now(now);
        Ok(())
    }

    /// The time certificates are checked at.
    pub fn now(&self) -> u64 {
        self.0.now()
    }

    /// Trusts the server key `root` (32 bytes).
    #[wasm_bindgen(js_name = addRoot)]
    pub fn add_root(&mut self, root: &[u8]) -> JsResult<()> {
        js(self.0.add_root(root))
    }

    /// Refuses certificates with serial `serial`.
    pub fn revoke(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint64")] serial: JsValue,
    ) -> JsResult<()> {
        let serial = uint64(&serial, "serial must be a non-negative integer (number or bigint)")?;
        self.0.revoke(serial);
        Ok(())
    }

    /// A copy.
    #[wasm_bindgen(js_name = clone)]
    pub fn duplicate(&self) -> CertificatePolicy {
        CertificatePolicy(self.0.clone())
    }
}

/// An opened sealed envelope: the validated sender certificate and the
/// content.
#[wasm_bindgen]
pub struct OpenedEnvelope(core_api::OpenedEnvelope);

#[wasm_bindgen]
impl OpenedEnvelope {
    /// The sender's certificate.
    #[wasm_bindgen(getter)]
    pub fn certificate(&self) -> SenderCertificate {
        SenderCertificate(self.0.certificate())
    }

    /// The content without its padding (secret; for a session record's
    /// message, give the envelope to `SessionRecord.decryptSealed`).
    pub fn content(&self) -> Uint8Array {
        bytes(&self.0.content())
    }
}

/// Seals `content` for the device with identity key `recipient`, as the
/// sender `identity` with its `certificate` (draws 32 bytes). Throws
/// `WRONG_IDENTITY` if the certificate is not `identity`'s.
#[wasm_bindgen]
pub fn seal(
    identity: &IdentityKeyPair,
    certificate: &SenderCertificate,
    recipient: &[u8],
    content: Secret,
    padding: &Padding,
    #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
) -> JsResult<Uint8Array> {
    let content = secret(content);
    with_rng(rng, |r| core_api::seal(&identity.0, &certificate.0, recipient, &content, padding.0, r))
        .map(|v| bytes(&v))
}

/// Seals `content` once for every device in `recipients` (an `Array` of
/// 32-byte identity keys; draws 32 bytes): the multi-recipient envelope
/// the server splits with `splitMultiRecipient`.
#[wasm_bindgen(js_name = sealMulti)]
pub fn seal_multi(
    identity: &IdentityKeyPair,
    certificate: &SenderCertificate,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] recipients: JsValue,
    content: Secret,
    padding: &Padding,
    #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
) -> JsResult<Uint8Array> {
    const WHAT: &str = "recipients must be an Array of 32-byte Uint8Arrays";
    let content = secret(content);
    let recipients = recipients.dyn_into::<Array>().map_err(|_| invalid(WHAT))?;
    let mut keys = Vec::with_capacity(recipients.length() as usize);
    for item in recipients.iter() {
        let key = item.dyn_into::<Uint8Array>().map_err(|_| invalid(WHAT))?;
        keys.push(<[u8; 32]>::try_from(key.to_vec().as_slice()).map_err(|_| invalid(WHAT))?);
    }
    with_rng(rng, |r| core_api::seal_multi(&identity.0, &certificate.0, &keys, &content, padding.0, r))
        .map(|v| bytes(&v))
}

/// The parts as `[{ recipient, envelope }, ...]`.
fn recipient_envelopes(parts: Vec<core_api::RecipientEnvelope>) -> JsResult<JsValue> {
    let out = Array::new();
    for p in parts {
        out.push(&object(&[
            ("recipient", bytes(&p.recipient).into()),
            ("envelope", bytes(&p.envelope).into()),
        ])?);
    }
    Ok(out.into())
}

/// The server's split of a multi-recipient envelope into one sealed
/// envelope per recipient: `[{ recipient, envelope }, ...]`, in the
/// envelope's order, if they take at most `Limits.MAX_SPLIT_LEN` bytes
/// (32 MiB) together (each repeats the payload); otherwise split in ranges
/// with `splitMultiRecipientRange`. Throws `DECODE_*` for a malformed
/// envelope, `TOO_LARGE` (with the total length) for more than 32 MiB of
/// envelopes, before anything is built.
#[wasm_bindgen(js_name = splitMultiRecipient, unchecked_return_type = "RecipientEnvelope[]")]
pub fn split_multi_recipient(multi: &[u8]) -> JsResult<JsValue> {
    recipient_envelopes(js(core_api::split_multi_recipient(multi))?)
}

/// The envelopes of recipients `first`, `first + 1`, ... (at most `count`
/// of them, fewer at the end of the list, none from `first` on past the
/// end), in the envelope's order, as `splitMultiRecipient` returns them.
/// Each call decodes the whole upload again: choose `count` so that
/// `count` envelopes fit in memory and in `Limits.MAX_SPLIT_LEN`. Throws
/// `INVALID_ARGUMENT` for a `first` or `count` that is not an integer from
/// 0 to 2^32 - 1, `DECODE_*` for a malformed envelope, `TOO_LARGE` if the
/// envelopes asked for exceed `Limits.MAX_SPLIT_LEN` bytes together,
/// before anything is built.
#[wasm_bindgen(js_name = splitMultiRecipientRange, unchecked_return_type = "RecipientEnvelope[]")]
pub fn split_multi_recipient_range(
    multi: &[u8],
    #[wasm_bindgen(unchecked_param_type = "number")] first: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] count: JsValue,
) -> JsResult<JsValue> {
    let first = enum_arg(&first, "first must be an integer from 0 to 4294967295", Some)?;
    let count = enum_arg(&count, "count must be an integer from 0 to 4294967295", Some)?;
    recipient_envelopes(js(core_api::split_multi_recipient_range(multi, first as usize, count as usize))?)
}

/// Opens a sealed envelope addressed to `identity`, validating its sender
/// certificate against `policy` (changes no state). Throws `AUTH` for an
/// envelope not for this identity or tampered, `UNTRUSTED_CERTIFICATE`,
/// `CERTIFICATE_REVOKED`, `CERTIFICATE_EXPIRED`.
#[wasm_bindgen]
pub fn open(
    identity: &IdentityKeyPair,
    envelope: &[u8],
    policy: &CertificatePolicy,
) -> JsResult<OpenedEnvelope> {
    js(core_api::open(&identity.0, envelope, &policy.0)).map(OpenedEnvelope)
}
