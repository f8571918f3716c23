//! chatcrypt for Python, Kotlin and Swift: a proc-macro UniFFI layer over
//! [`chatcrypt_bindings_core`], the facade that every binding wraps.
//!
//! This crate adds only UniFFI's calling convention: objects held in `Arc`s
//! (with a `Mutex` inside where the facade needs `&mut`), byte strings in
//! and out as `Vec<u8>` (Python `bytes`, Kotlin `ByteArray`, Swift `Data`),
//! records for multi-part results, and one error enum, [`ChatcryptError`],
//! that becomes an exception (Python, Kotlin) or a thrown `Error` (Swift)
//! with the facade's stable numeric code. No behaviour of its own.
//!
//! The foreign module is named `chatcrypt` (`uniffi::setup_scaffolding!`'s
//! namespace); the shared library is `libchatcrypt_uniffi`. Generate the
//! bindings with this crate's own `uniffi-bindgen` binary (see README.md).
//!
//! # Copies of secrets
//! Byte strings cross UniFFI as copies in `RustBuffer`s (arguments in,
//! results out), and UniFFI frees those buffers without wiping them: a
//! plaintext, a seed or a stored form passed or returned may remain in
//! freed memory on the Rust side of the boundary, and in the foreign
//! runtime's own byte objects (Python's immutable `bytes`, Kotlin's
//! `ByteArray`, Swift's `Data`), which its collector frees unwiped. This
//! crate wipes its own copies (`Zeroizing`) and the facade wipes the
//! objects' keys; README.md ("Copies that are not wiped") says what a
//! caller can do about the rest.
//!
//! # Locks
//! Objects are safe to share between threads: each call on a [`Session`],
//! [`Rng`], [`OneTimePreKey`], [`KemPreKey`] or on a changing messenger
//! object ([`SessionRecord`], [`LocalDevice`], [`PeerAccount`],
//! [`CertificatePolicy`]) holds that object's lock for the whole call, so
//! calls on one object run one at a time. A call that takes several
//! lockable objects always locks them in one order (session or session
//! record, then the local device, then prekeys, then the peer account,
//! then the certificate policy, then the generator), so two calls cannot
//! deadlock.
//!
//! # The messenger layer
//! Accounts, device lists, the local device with its prekeys, peers'
//! accounts and their trust, session records (all sessions with one peer
//! device), retries, account safety numbers, sealed sender and padding:
//! the facade's `messenger` module, bound in `src/messenger.rs`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chatcrypt_bindings_core as facade;
use zeroize::Zeroizing;

uniffi::setup_scaffolding!("chatcrypt");

mod messenger;

pub use messenger::*;

// ---------------------------------------------------------------------------
// Errors

macro_rules! errors {
    ($($(#[doc = $doc:literal])* $name:ident $({
        $(#[doc = $fdoc:literal])* $field:ident: $fty:ty = $get:expr
    })?,)*) => {
        /// Every way a chatcrypt call fails: one variant per stable error
        /// code of chatcrypt-bindings-core, each carrying the code's number
        /// (`code`, negative, never reused) and the error with its fields
        /// (`detail`, e.g. `"UnknownPreKey { id: 7 }"`, the form the test
        /// vectors use); `UnknownPreKey` also carries the prekey's id
        /// (`prekey_id`), to answer the message with a retry
        /// (`LocalDevice.retry_for`).
        ///
        /// Python: `except ChatcryptError.Auth as e` (or `ChatcryptError`
        /// for all; every variant has `e.code` and `e.detail`). Kotlin:
        /// `catch (e: ChatcryptException.Auth)`. Swift:
        /// `catch ChatcryptError.Auth(let code, let detail)`.
        #[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
        #[non_exhaustive]
        pub enum ChatcryptError {
            $(
                $(#[doc = $doc])*
                $name {
                    /// The stable number (`ErrorCode` of chatcrypt-bindings-core).
                    code: i32,
                    /// The error with its fields, for logs and tests.
                    detail: String,
                    $($(#[doc = $fdoc])* $field: $fty,)?
                },
            )*
        }

        impl ChatcryptError {
            fn from_error(e: &facade::Error) -> Self {
                let code = e.code().as_i32();
                let detail = e.detail();
                match e.code() {
                    $(facade::ErrorCode::$name => ChatcryptError::$name {
                        code,
                        detail,
                        $($field: ($get)(e),)?
                    },)*
                }
            }

            fn parts(&self) -> (i32, &str) {
                match self {
                    $(ChatcryptError::$name { code, detail, .. } => (*code, detail),)*
                }
            }
        }
    };
}

errors! {
    /// A wrong length, an unknown enum value (the detail says which).
    InvalidArgument,
    /// An output buffer is too small (only the C ABI has those).
    BufferTooSmall,
    /// A panic was caught (a bug; please report it).
    Panic,
    /// The operating system's random generator failed.
    RngFailure,
    /// A scripted generator has fewer bytes left than were asked for.
    RngExhausted,
    /// The one-time prekey was consumed by an earlier accept.
    Consumed,
    /// The session was lost to a failure of the OS generator mid-call:
    /// restore it from its last stored form.
    Unusable,
    /// A signature does not verify.
    BadSignature,
    /// A Diffie-Hellman output is all zeros (a low-order key).
    NonContributory,
    /// The message names a prekey we do not have (answer it with a retry:
    /// `LocalDevice.retry_for`).
    UnknownPreKey {
        /// The id of the prekey the message names.
        prekey_id: u32 = |e: &facade::Error| e.prekey_id().unwrap_or(0)
    },
    /// The message is not from the identity this session is with.
    WrongIdentity,
    /// A PreKeyMessage does not match the handshake of this session.
    HandshakeMismatch,
    /// Authentication failed: forged, corrupted or not for this session.
    Auth,
    /// The message was already decrypted (drop it silently).
    Duplicate,
    /// The message is further ahead than the session skips.
    TooFarAhead,
    /// A plaintext or message is larger than allowed.
    TooLarge,
    /// The session's message counter is used up.
    CounterExhausted,
    /// The responder's policy refuses the initiator's mode.
    ModeNotAllowed,
    /// The policy requires the hybrid post-quantum handshake.
    PostQuantumRequired,
    /// The device is not on the peer account's device list (or has another
    /// identity key there).
    UnknownDevice,
    /// The peer's device list is signed by another account key: held as
    /// pending until `PeerAccount.accept_account_key_change` or
    /// `reject_account_key_change`.
    AccountKeyChanged,
    /// No account key change is pending.
    NoPendingChange,
    /// A device list older than the one held.
    DeviceListRollback,
    /// Another device list with the epoch of the one held.
    DeviceListConflict,
    /// The session record has no session to send on (or none that
    /// decrypts the message): fetch a bundle and `initiate`.
    NoSession,
    /// The session is too old to send on: start a new one.
    SessionExpired,
    /// `LocalDevice.upload` was given something other than the device's
    /// current stored form: persist `to_bytes`, then upload.
    NotPersisted,
    /// chatcrypt's `UsedKey` (media layer, not bound yet).
    UsedKey,
    /// chatcrypt's `UnknownKeyId` (media layer, not bound yet).
    UnknownKeyId,
    /// chatcrypt's `CounterTooOld` (media layer, not bound yet).
    CounterTooOld,
    /// chatcrypt's `NoRatchet` (media layer, not bound yet).
    NoRatchet,
    /// chatcrypt's `ChunkLength` (media layer, not bound yet).
    ChunkLength,
    /// chatcrypt's `StreamFinished` (media layer, not bound yet).
    StreamFinished,
    /// chatcrypt's `StreamIncomplete` (media layer, not bound yet).
    StreamIncomplete,
    /// chatcrypt's `Padding` (invalid padding).
    Padding,
    /// A sender certificate from a server key that is not a root of the
    /// `CertificatePolicy` (sealed sender).
    UntrustedCertificate,
    /// A sender certificate whose serial is revoked (sealed sender).
    CertificateRevoked,
    /// A sender certificate past its expiry (sealed sender).
    CertificateExpired,
    /// A sealed envelope's certificate names another sender than the
    /// session authenticates.
    SenderMismatch,
    /// An error of a newer chatcrypt than this binding.
    Other,
    /// Malformed bytes: too short.
    DecodeTruncated,
    /// Malformed bytes: data after the end.
    DecodeTrailingBytes,
    /// Malformed bytes: a version this chatcrypt does not read.
    DecodeUnsupportedVersion,
    /// Malformed bytes: another kind of message or object.
    DecodeUnexpectedType,
    /// Malformed bytes: unknown flags.
    DecodeInvalidFlags,
    /// Malformed bytes: an invalid public key.
    DecodeInvalidPublicKey,
    /// Malformed bytes: a field out of range.
    DecodeInvalidValue,
    /// Malformed bytes: an unknown key type.
    DecodeUnknownKeyType,
    /// A decode error of a newer chatcrypt than this binding.
    DecodeOther,
}

impl From<facade::Error> for ChatcryptError {
    fn from(e: facade::Error) -> Self {
        ChatcryptError::from_error(&e)
    }
}

impl std::fmt::Display for ChatcryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (code, detail) = self.parts();
        let name = facade::ErrorCode::from_i32(code).map_or("?", facade::ErrorCode::name);
        write!(f, "{name} ({code}): {detail}")
    }
}

impl std::error::Error for ChatcryptError {}

#[uniffi::export]
impl ChatcryptError {
    /// The stable number (also the `code` field of every variant).
    pub fn error_code(&self) -> i32 {
        self.parts().0
    }

    /// The error with its fields (also the `detail` field of every variant).
    pub fn error_detail(&self) -> String {
        self.parts().1.to_owned()
    }

    /// The id of the prekey an `UnknownPreKey` names (also its `prekey_id`
    /// field), `None` for every other error.
    pub fn error_prekey_id(&self) -> Option<u32> {
        match self {
            ChatcryptError::UnknownPreKey { prekey_id, .. } => Some(*prekey_id),
            _ => None,
        }
    }

    /// The code's stable name in upper snake case (`"AUTH"`), as the C
    /// binding's `CHATCRYPT_ERR_` constants spell it.
    pub fn error_name(&self) -> String {
        facade::ErrorCode::from_i32(self.parts().0).map_or("?", facade::ErrorCode::name).to_owned()
    }
}

/// The stable name (`"AUTH"`) of an error code, `None` for a number that
/// is no code.
#[uniffi::export]
pub fn error_code_name(code: i32) -> Option<String> {
    facade::ErrorCode::from_i32(code).map(|c| c.name().to_owned())
}

type Result<T> = std::result::Result<T, ChatcryptError>;

/// Locks an object's state. A poisoned lock (a panic in an earlier call,
/// which the facade never does) still gives the state: every facade call
/// is transactional, so the state is consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn len(n: usize) -> u64 {
    n as u64
}

// ---------------------------------------------------------------------------
// Constants

/// The sizes a caller may want to check against (the messenger layer's
/// too).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Constants {
    /// An identity public key, a seed, a sealing key, an X25519 prekey.
    pub key_len: u64,
    /// An Ed25519 signature.
    pub signature_len: u64,
    /// A message id.
    pub message_id_len: u64,
    /// A KEM prekey's public encoding (ML-KEM-1024).
    pub kem_prekey_public_len: u64,
    /// What `seal` adds to a stored form.
    pub sealed_overhead: u64,
    /// The largest plaintext of one message.
    pub max_plaintext_len: u64,
    /// The largest message.
    pub max_message_len: u64,
    /// Digits of a safety number.
    pub safety_number_digits: u64,
    /// An encoded `DeviceCertificate`.
    pub device_certificate_len: u64,
    /// An encoded `DeviceLink`.
    pub device_link_len: u64,
    /// The most devices a `DeviceList` names.
    pub max_devices: u64,
    /// The longest stable user id, in bytes.
    pub max_user_id_len: u64,
    /// An encoded `RetryMessage`.
    pub retry_message_len: u64,
    /// An encoded `SenderCertificate`.
    pub sender_certificate_len: u64,
    /// What a sealed envelope adds to the padded content.
    pub sealed_envelope_overhead: u64,
    /// The most recipients of one `seal_multi` envelope.
    pub max_sealed_recipients: u64,
    /// The most bytes of envelopes one `split_multi_recipient` returns.
    pub max_split_len: u64,
}

/// The sizes of keys, ids and messages.
#[uniffi::export]
pub fn constants() -> Constants {
    Constants {
        key_len: len(facade::KEY_LEN),
        signature_len: len(facade::SIGNATURE_LEN),
        message_id_len: len(facade::MESSAGE_ID_LEN),
        kem_prekey_public_len: len(facade::KEM_PREKEY_PUBLIC_LEN),
        sealed_overhead: len(facade::SEALED_OVERHEAD),
        max_plaintext_len: len(facade::MAX_PLAINTEXT_LEN),
        max_message_len: len(facade::MAX_MESSAGE_LEN),
        safety_number_digits: len(facade::SAFETY_NUMBER_DIGITS),
        device_certificate_len: len(facade::DEVICE_CERTIFICATE_LEN),
        device_link_len: len(facade::DEVICE_LINK_LEN),
        max_devices: len(facade::MAX_DEVICES),
        max_user_id_len: len(facade::MAX_USER_ID_LEN),
        retry_message_len: len(facade::RETRY_MESSAGE_LEN),
        sender_certificate_len: len(facade::SENDER_CERTIFICATE_LEN),
        sealed_envelope_overhead: len(facade::SEALED_ENVELOPE_OVERHEAD),
        max_sealed_recipients: len(facade::MAX_SEALED_RECIPIENTS),
        max_split_len: len(facade::MAX_SPLIT_LEN),
    }
}

// ---------------------------------------------------------------------------
// Randomness

/// Where a call's randomness comes from: `Rng::os` in applications,
/// `Rng::scripted` to replay test vectors. Every call that draws takes an
/// optional `rng` as its last argument; without one it uses the operating
/// system's generator.
#[derive(Debug, uniffi::Object)]
pub struct Rng(Mutex<facade::Rng>);

#[uniffi::export]
impl Rng {
    /// The operating system's generator.
    #[uniffi::constructor]
    pub fn os() -> Arc<Self> {
        Arc::new(Self(Mutex::new(facade::Rng::os())))
    }

    /// A generator that yields exactly `bytes`, in order, then fails every
    /// request with `RngExhausted` (a request it cannot fill in full takes
    /// nothing). For replaying test vectors; never for real messages.
    #[uniffi::constructor]
    pub fn scripted(bytes: Vec<u8>) -> Arc<Self> {
        let bytes = Zeroizing::new(bytes);
        Arc::new(Self(Mutex::new(facade::Rng::scripted(&bytes))))
    }

    /// Whether this is a scripted generator.
    pub fn is_scripted(&self) -> bool {
        lock(&self.0).is_scripted()
    }

    /// How many scripted bytes are left; `None` for the OS generator.
    pub fn remaining(&self) -> Option<u64> {
        lock(&self.0).remaining().map(len)
    }
}

/// The generator a call draws from: the caller's, locked for the call, or
/// the operating system's when the caller gave none.
enum RngGuard<'a> {
    Given(MutexGuard<'a, facade::Rng>),
    Os(facade::Rng),
}

impl std::ops::Deref for RngGuard<'_> {
    type Target = facade::Rng;

    fn deref(&self) -> &facade::Rng {
        match self {
            RngGuard::Given(g) => g,
            RngGuard::Os(r) => r,
        }
    }
}

impl std::ops::DerefMut for RngGuard<'_> {
    fn deref_mut(&mut self) -> &mut facade::Rng {
        match self {
            RngGuard::Given(g) => g,
            RngGuard::Os(r) => r,
        }
    }
}

fn rng_of(rng: &Option<Arc<Rng>>) -> RngGuard<'_> {
    match rng {
        Some(r) => RngGuard::Given(lock(&r.0)),
        None => RngGuard::Os(facade::Rng::os()),
    }
}

// ---------------------------------------------------------------------------
// Enums

/// How a session's headers travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Mode {
    /// Headers in clear.
    Plain,
    /// Headers encrypted (SPEC.md §14).
    HeaderEncryption,
}

impl From<Mode> for facade::Mode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Plain => facade::Mode::Plain,
            Mode::HeaderEncryption => facade::Mode::HeaderEncryption,
        }
    }
}

impl From<facade::Mode> for Mode {
    fn from(m: facade::Mode) -> Self {
        match m {
            facade::Mode::Plain => Mode::Plain,
            facade::Mode::HeaderEncryption => Mode::HeaderEncryption,
        }
    }
}

/// Which modes a responder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ModePolicy {
    /// Either mode.
    Any,
    /// Only header encryption.
    HeaderEncryptionOnly,
    /// Only plain headers.
    PlainOnly,
}

impl From<ModePolicy> for facade::ModePolicy {
    fn from(m: ModePolicy) -> Self {
        match m {
            ModePolicy::Any => facade::ModePolicy::Any,
            ModePolicy::HeaderEncryptionOnly => facade::ModePolicy::HeaderEncryptionOnly,
            ModePolicy::PlainOnly => facade::ModePolicy::PlainOnly,
        }
    }
}

/// Whether the handshake must be hybrid post-quantum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PqPolicy {
    /// Only the hybrid handshake (chatcrypt's default).
    Required,
    /// The classical handshake too.
    AllowClassical,
}

impl From<PqPolicy> for facade::PqPolicy {
    fn from(p: PqPolicy) -> Self {
        match p {
            PqPolicy::Required => facade::PqPolicy::Required,
            PqPolicy::AllowClassical => facade::PqPolicy::AllowClassical,
        }
    }
}

/// The two kinds of wire message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MessageType {
    /// Carries the handshake: the first one from a new peer goes to
    /// `accept_session`.
    PreKey,
    /// An ordinary message for an existing session.
    Message,
}

/// Reads a message's version and type bytes only.
///
/// # Errors
/// A `Decode*` error if they are missing or unknown.
#[uniffi::export]
pub fn message_type(message: Vec<u8>) -> Result<MessageType> {
    Ok(match facade::message_type(&message)? {
        facade::MessageType::PreKey => MessageType::PreKey,
        facade::MessageType::Message => MessageType::Message,
    })
}

// ---------------------------------------------------------------------------
// Identity

/// This device's long-term identity key pair.
#[derive(uniffi::Object)]
pub struct IdentityKeyPair(facade::IdentityKeyPair);

#[uniffi::export]
impl IdentityKeyPair {
    /// A new key pair (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    #[uniffi::constructor(default(rng = None))]
    pub fn generate(rng: Option<Arc<Rng>>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::IdentityKeyPair::generate(&mut rng_of(&rng))?)))
    }

    /// The key pair of a 32-byte seed.
    ///
    /// # Errors
    /// `InvalidArgument` if `seed` is not 32 bytes.
    #[uniffi::constructor]
    pub fn from_seed(seed: Vec<u8>) -> Result<Arc<Self>> {
        let seed = Zeroizing::new(seed);
        Ok(Arc::new(Self(facade::IdentityKeyPair::from_seed(&seed)?)))
    }

    /// Restores `to_bytes`' output.
    ///
    /// # Errors
    /// A `Decode*` error.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        let bytes = Zeroizing::new(bytes);
        Ok(Arc::new(Self(facade::IdentityKeyPair::from_bytes(&bytes)?)))
    }

    /// Opens `seal`'s output with the same 32-byte key.
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong key length, `Auth`, a `Decode*` error.
    #[uniffi::constructor]
    pub fn open(key: Vec<u8>, sealed: Vec<u8>) -> Result<Arc<Self>> {
        let key = Zeroizing::new(key);
        Ok(Arc::new(Self(facade::IdentityKeyPair::open(&key, &sealed)?)))
    }

    /// The 32-byte seed (secret).
    pub fn seed(&self) -> Vec<u8> {
        self.0.seed().to_vec()
    }

    /// The Ed25519 public key (32 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.0.public_key().to_vec()
    }

    /// The stored form (secret).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong key length; a generator failure.
    #[uniffi::method(default(rng = None))]
    pub fn seal(&self, key: Vec<u8>, rng: Option<Arc<Rng>>) -> Result<Vec<u8>> {
        let key = Zeroizing::new(key);
        Ok(self.0.seal(&key, &mut rng_of(&rng))?)
    }
}

/// Checks that `key` is a valid identity public key.
///
/// # Errors
/// `InvalidArgument` for a wrong length; a `Decode*` error.
#[uniffi::export]
pub fn identity_key_check(key: Vec<u8>) -> Result<()> {
    Ok(facade::identity_key_check(&key)?)
}

// ---------------------------------------------------------------------------
// Prekeys

/// A signed prekey with its secret.
#[derive(uniffi::Object)]
pub struct SignedPreKey(facade::SignedPreKey);

#[uniffi::export]
impl SignedPreKey {
    /// A new signed prekey, signed by `identity` (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    #[uniffi::constructor(default(rng = None))]
    pub fn generate(identity: &IdentityKeyPair, id: u32, rng: Option<Arc<Rng>>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::SignedPreKey::generate(&identity.0, id, &mut rng_of(&rng))?)))
    }

    /// Restores `to_bytes`' output.
    ///
    /// # Errors
    /// A `Decode*` error.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        let bytes = Zeroizing::new(bytes);
        Ok(Arc::new(Self(facade::SignedPreKey::from_bytes(&bytes)?)))
    }

    /// Its id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Its X25519 public key (32 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.0.public_key().to_vec()
    }

    /// The identity key's signature over it (64 bytes).
    pub fn signature(&self) -> Vec<u8> {
        self.0.signature().to_vec()
    }

    /// The stored form (secret).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }
}

/// A one-time prekey with its secret; a successful `accept_session`
/// consumes it (every call then fails with `Consumed`).
#[derive(uniffi::Object)]
pub struct OneTimePreKey(Mutex<facade::OneTimePreKey>);

#[uniffi::export]
impl OneTimePreKey {
    /// A new one-time prekey (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    #[uniffi::constructor(default(rng = None))]
    pub fn generate(id: u32, rng: Option<Arc<Rng>>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(Mutex::new(facade::OneTimePreKey::generate(id, &mut rng_of(&rng))?))))
    }

    /// Restores `to_bytes`' output.
    ///
    /// # Errors
    /// A `Decode*` error.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        let bytes = Zeroizing::new(bytes);
        Ok(Arc::new(Self(Mutex::new(facade::OneTimePreKey::from_bytes(&bytes)?))))
    }

    /// Whether an accept consumed it.
    pub fn is_consumed(&self) -> bool {
        lock(&self.0).is_consumed()
    }

    /// Its id.
    ///
    /// # Errors
    /// `Consumed`.
    pub fn id(&self) -> Result<u32> {
        Ok(lock(&self.0).id()?)
    }

    /// Its X25519 public key (32 bytes).
    ///
    /// # Errors
    /// `Consumed`.
    pub fn public_key(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).public_key()?.to_vec())
    }

    /// The stored form (secret).
    ///
    /// # Errors
    /// `Consumed`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).to_bytes()?.to_vec())
    }
}

/// An ML-KEM-1024 prekey with its seed. Used as a one-time KEM prekey
/// (`KemPreKeyUse::OneTime`), a successful `accept_session` consumes it.
#[derive(uniffi::Object)]
pub struct KemPreKey(Mutex<facade::KemPreKey>);

#[uniffi::export]
impl KemPreKey {
    /// A new KEM prekey signed by `identity` (draws 64 bytes).
    ///
    /// # Errors
    /// A generator failure.
    #[uniffi::constructor(default(rng = None))]
    pub fn generate(identity: &IdentityKeyPair, id: u32, rng: Option<Arc<Rng>>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(Mutex::new(facade::KemPreKey::generate(&identity.0, id, &mut rng_of(&rng))?))))
    }

    /// Restores `to_bytes`' output.
    ///
    /// # Errors
    /// A `Decode*` error.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        let bytes = Zeroizing::new(bytes);
        Ok(Arc::new(Self(Mutex::new(facade::KemPreKey::from_bytes(&bytes)?))))
    }

    /// Whether an accept consumed it (as a one-time KEM prekey).
    pub fn is_consumed(&self) -> bool {
        lock(&self.0).is_consumed()
    }

    /// Its id.
    ///
    /// # Errors
    /// `Consumed`.
    pub fn id(&self) -> Result<u32> {
        Ok(lock(&self.0).id()?)
    }

    /// Its KEM type byte (1: ML-KEM-1024).
    ///
    /// # Errors
    /// `Consumed`.
    pub fn kem_type(&self) -> Result<u8> {
        Ok(lock(&self.0).kem_type()?)
    }

    /// The public encoding that goes into bundles and uploads.
    ///
    /// # Errors
    /// `Consumed`.
    pub fn public_bytes(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).public_bytes()?)
    }

    /// The stored form (secret).
    ///
    /// # Errors
    /// `Consumed`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).to_bytes()?.to_vec())
    }
}

/// How `accept_session` uses a KEM prekey.
#[derive(uniffi::Enum)]
pub enum KemPreKeyUse {
    /// A one-time KEM prekey: consumed by a successful accept.
    OneTime {
        /// The key.
        key: Arc<KemPreKey>,
    },
    /// The last-resort KEM prekey: only read.
    LastResort {
        /// The key.
        key: Arc<KemPreKey>,
    },
}

/// A one-time prekey's public part, as a key server publishes it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OneTimePreKeyPublic {
    /// Its id.
    pub id: u32,
    /// Its X25519 public key (32 bytes).
    pub key: Vec<u8>,
}

/// A KEM prekey's type byte and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct KemPreKeyId {
    /// The KEM type byte (1: ML-KEM-1024).
    pub kem_type: u8,
    /// The prekey's id.
    pub id: u32,
}

/// A prekey bundle: what an initiator needs to start a session.
#[derive(uniffi::Object)]
pub struct PreKeyBundle(facade::PreKeyBundle);

#[uniffi::export]
impl PreKeyBundle {
    /// The bundle of our own keys, to publish.
    ///
    /// # Errors
    /// `Consumed` if a prekey was consumed.
    #[uniffi::constructor]
    pub fn new(
        identity: &IdentityKeyPair,
        signed_prekey: &SignedPreKey,
        one_time_prekey: Option<Arc<OneTimePreKey>>,
        kem_prekey: Option<Arc<KemPreKey>>,
    ) -> Result<Arc<Self>> {
        let opk = one_time_prekey.as_ref().map(|k| lock(&k.0));
        let kem = kem_prekey.as_ref().map(|k| lock(&k.0));
        Ok(Arc::new(Self(facade::PreKeyBundle::new(
            &identity.0,
            &signed_prekey.0,
            opk.as_deref(),
            kem.as_deref(),
        )?)))
    }

    /// A bundle from published public parts (a key server's view): the
    /// identity key (32 bytes), the signed prekey's id, key (32 bytes) and
    /// signature (64 bytes), optionally a one-time prekey and a KEM
    /// prekey's public encoding. Not verified: see `verify`.
    ///
    /// # Errors
    /// `InvalidArgument` for wrong lengths; a `Decode*` error for an invalid
    /// identity key or KEM prekey encoding.
    #[uniffi::constructor]
    pub fn from_parts(
        identity_key: Vec<u8>,
        signed_prekey_id: u32,
        signed_prekey: Vec<u8>,
        signature: Vec<u8>,
        one_time_prekey: Option<OneTimePreKeyPublic>,
        kem_prekey: Option<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::PreKeyBundle::from_parts(
            &identity_key,
            signed_prekey_id,
            &signed_prekey,
            &signature,
            one_time_prekey.as_ref().map(|k| (k.id, k.key.as_slice())),
            kem_prekey.as_deref(),
        )?)))
    }

    /// Decodes a bundle (not verified: see `verify`).
    ///
    /// # Errors
    /// A `Decode*` error.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::PreKeyBundle::from_bytes(&bytes)?)))
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Checks the prekeys' encodings and signatures.
    ///
    /// # Errors
    /// A `Decode*` error, `BadSignature`.
    pub fn verify(&self) -> Result<()> {
        Ok(self.0.verify()?)
    }

    /// The owner's identity key (32 bytes).
    pub fn identity_key(&self) -> Vec<u8> {
        self.0.identity_key().to_vec()
    }

    /// The signed prekey's id.
    pub fn signed_prekey_id(&self) -> u32 {
        self.0.signed_prekey_id()
    }

    /// The one-time prekey's id, if the bundle has one.
    pub fn one_time_prekey_id(&self) -> Option<u32> {
        self.0.one_time_prekey_id()
    }

    /// The KEM prekey's id, if the bundle has one.
    pub fn kem_prekey_id(&self) -> Option<u32> {
        self.0.kem_prekey_id()
    }
}

/// A decoded PreKeyMessage, to look up the prekeys it names before
/// `accept_session`.
#[derive(uniffi::Object)]
pub struct PreKeyMessage(facade::PreKeyMessage);

#[uniffi::export]
impl PreKeyMessage {
    /// Decodes a PreKeyMessage.
    ///
    /// # Errors
    /// A `Decode*` error.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::PreKeyMessage::from_bytes(&bytes)?)))
    }

    /// The sender's identity key (32 bytes; authenticated only once accept
    /// succeeds).
    pub fn sender_identity(&self) -> Vec<u8> {
        self.0.sender_identity().to_vec()
    }

    /// The signed prekey's id.
    pub fn signed_prekey_id(&self) -> u32 {
        self.0.signed_prekey_id()
    }

    /// The one-time prekey's id, if it names one.
    pub fn one_time_prekey_id(&self) -> Option<u32> {
        self.0.one_time_prekey_id()
    }

    /// The KEM prekey's type and id, if the handshake is hybrid.
    pub fn kem_prekey_id(&self) -> Option<KemPreKeyId> {
        self.0.kem_prekey_id().map(|(kem_type, id)| KemPreKeyId { kem_type, id })
    }

    /// The initiator's base key (32 bytes; for the last-resort replay
    /// check, SPEC.md §16.7).
    pub fn base_key(&self) -> Vec<u8> {
        self.0.base_key().to_vec()
    }

    /// Whether the handshake is hybrid.
    pub fn is_post_quantum(&self) -> bool {
        self.0.is_post_quantum()
    }

    /// The mode the initiator chose.
    pub fn mode(&self) -> Mode {
        self.0.mode().into()
    }

    /// The message bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }
}

// ---------------------------------------------------------------------------
// Session

/// What `accept_session` returns.
#[derive(uniffi::Record)]
pub struct Accepted {
    /// The new session: store its `to_bytes` now.
    pub session: Arc<Session>,
    /// The first message's plaintext.
    pub plaintext: Vec<u8>,
    /// The first message's id.
    pub message_id: Vec<u8>,
}

/// A decrypted message.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Decrypted {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The message's id.
    pub message_id: Vec<u8>,
}

/// Accepts a session from a peer's first PreKeyMessage and decrypts it.
/// A one-time prekey passed here (and a `KemPreKeyUse::OneTime`) is
/// consumed if this succeeds, and left as it was if it fails.
///
/// # Errors
/// As chatcrypt's (`UnknownPreKey`, `Auth`, `ModeNotAllowed`, ...);
/// `Consumed`; a generator failure.
#[allow(clippy::too_many_arguments)]
#[uniffi::export(default(rng = None))]
pub fn accept_session(
    identity: &IdentityKeyPair,
    signed_prekey: &SignedPreKey,
    one_time_prekey: Option<Arc<OneTimePreKey>>,
    kem_prekey: Option<KemPreKeyUse>,
    message: &PreKeyMessage,
    mode_policy: ModePolicy,
    pq_policy: PqPolicy,
    rng: Option<Arc<Rng>>,
) -> Result<Accepted> {
    let mut opk = one_time_prekey.as_ref().map(|k| lock(&k.0));
    let mut kem = kem_prekey.as_ref().map(|u| match u {
        KemPreKeyUse::OneTime { key } | KemPreKeyUse::LastResort { key } => lock(&key.0),
    });
    let kem_use = match (&kem_prekey, kem.as_deref_mut()) {
        (Some(KemPreKeyUse::OneTime { .. }), Some(k)) => Some(facade::KemPreKeyUse::OneTime(k)),
        (Some(KemPreKeyUse::LastResort { .. }), Some(k)) => Some(facade::KemPreKeyUse::LastResort(k)),
        _ => None,
    };
    let accepted = facade::Session::accept(
        &identity.0,
        &signed_prekey.0,
        opk.as_deref_mut(),
        kem_use,
        &message.0,
        mode_policy.into(),
        pq_policy.into(),
        &mut rng_of(&rng),
    )?;
    Ok(Accepted {
        session: Arc::new(Session(Mutex::new(accepted.session))),
        plaintext: accepted.plaintext.to_vec(),
        message_id: accepted.message_id.to_vec(),
    })
}

/// A Double Ratchet session with one peer device. After every successful
/// call that changes it (encrypt, decrypt), store `to_bytes`;
/// a call that fails changes nothing, except an OS generator failure in the
/// middle of a call, which leaves the session unusable (`Unusable`
/// afterwards: restore it from its stored form).
///
/// Plaintexts and stored forms cross the language boundary as copies that
/// are not wiped (UniFFI's `RustBuffer`s on the Rust side, the runtime's
/// own byte objects on this side): see the binding's README, "Copies that
/// are not wiped".
#[derive(uniffi::Object)]
pub struct Session(Mutex<facade::Session>);

#[uniffi::export]
impl Session {
    /// Starts a session from a peer's bundle (verified here).
    ///
    /// # Errors
    /// As chatcrypt's (`BadSignature`, `PostQuantumRequired`, ...); a
    /// generator failure.
    #[uniffi::constructor(default(rng = None))]
    pub fn initiate(
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        mode: Mode,
        pq_policy: PqPolicy,
        rng: Option<Arc<Rng>>,
    ) -> Result<Arc<Self>> {
        let s = facade::Session::initiate(
            &identity.0,
            &bundle.0,
            mode.into(),
            pq_policy.into(),
            &mut rng_of(&rng),
        )?;
        Ok(Arc::new(Self(Mutex::new(s))))
    }

    /// Restores a stored session.
    ///
    /// # Errors
    /// A `Decode*` error.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        let bytes = Zeroizing::new(bytes);
        Ok(Arc::new(Self(Mutex::new(facade::Session::from_bytes(&bytes)?))))
    }

    /// Opens `seal`'s output with the same 32-byte key.
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong key length; `Auth`; a `Decode*` error.
    #[uniffi::constructor]
    pub fn open(key: Vec<u8>, sealed: Vec<u8>) -> Result<Arc<Self>> {
        let key = Zeroizing::new(key);
        Ok(Arc::new(Self(Mutex::new(facade::Session::open(&key, &sealed)?))))
    }

    /// Encrypts a message (draws a 16-byte reuse guard per message, and
    /// nothing else).
    ///
    /// # Errors
    /// `TooLarge`, `CounterExhausted`; a generator failure (the OS generator
    /// failing leaves the session unusable, as for `decrypt`).
    #[uniffi::method(default(rng = None))]
    pub fn encrypt(&self, plaintext: Vec<u8>, rng: Option<Arc<Rng>>) -> Result<Vec<u8>> {
        let plaintext = Zeroizing::new(plaintext);
        let mut s = lock(&self.0);
        Ok(s.encrypt(&plaintext, &mut rng_of(&rng))?)
    }

    /// The length of the message that encrypting `plaintext_len` bytes
    /// gives now.
    ///
    /// # Errors
    /// `TooLarge`; `Unusable`.
    pub fn encrypted_len(&self, plaintext_len: u64) -> Result<u64> {
        let n = usize::try_from(plaintext_len)
            .map_err(|_| ChatcryptError::from(facade::Error::InvalidArgument("plaintext length")))?;
        Ok(len(lock(&self.0).encrypted_len(n)?))
    }

    /// Decrypts a message (draws 32 bytes on a new ratchet step).
    ///
    /// # Errors
    /// `Auth`, `Duplicate`, `TooFarAhead`, a `Decode*` error, ...: the
    /// session is unchanged. A generator failure: a scripted one that runs
    /// dry leaves the session unchanged; the OS generator failing leaves it
    /// unusable (`Unusable` afterwards: restore it from its stored form).
    #[uniffi::method(default(rng = None))]
    pub fn decrypt(&self, message: Vec<u8>, rng: Option<Arc<Rng>>) -> Result<Vec<u8>> {
        let mut s = lock(&self.0);
        Ok(s.decrypt(&message, &mut rng_of(&rng))?.to_vec())
    }

    /// As `decrypt`, with the message's id.
    ///
    /// # Errors
    /// As `decrypt`.
    #[uniffi::method(default(rng = None))]
    pub fn decrypt_with_id(&self, message: Vec<u8>, rng: Option<Arc<Rng>>) -> Result<Decrypted> {
        let mut s = lock(&self.0);
        let (plaintext, id) = s.decrypt_with_id(&message, &mut rng_of(&rng))?;
        Ok(Decrypted { plaintext: plaintext.to_vec(), message_id: id.to_vec() })
    }

    /// The stored form (secret): store it after every successful call.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).to_bytes()?.to_vec())
    }

    /// The length of `to_bytes`' output.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn encoded_len(&self) -> Result<u64> {
        Ok(len(lock(&self.0).encoded_len()?))
    }

    /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong key length; a generator failure;
    /// `Unusable`.
    #[uniffi::method(default(rng = None))]
    pub fn seal(&self, key: Vec<u8>, rng: Option<Arc<Rng>>) -> Result<Vec<u8>> {
        let key = Zeroizing::new(key);
        let s = lock(&self.0);
        Ok(s.seal(&key, &mut rng_of(&rng))?)
    }

    /// The session's mode.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn mode(&self) -> Result<Mode> {
        Ok(lock(&self.0).mode()?.into())
    }

    /// Whether this side started the session.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn is_initiator(&self) -> Result<bool> {
        Ok(lock(&self.0).is_initiator()?)
    }

    /// Whether our messages still carry the handshake (no reply yet).
    ///
    /// # Errors
    /// `Unusable`.
    pub fn awaiting_reply(&self) -> Result<bool> {
        Ok(lock(&self.0).awaiting_reply()?)
    }

    /// Whether the handshake was hybrid post-quantum.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn is_post_quantum(&self) -> Result<bool> {
        Ok(lock(&self.0).is_post_quantum()?)
    }

    /// How many skipped message keys are stored.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn skipped_key_count(&self) -> Result<u64> {
        Ok(len(lock(&self.0).skipped_key_count()?))
    }

    /// Our identity key (32 bytes).
    ///
    /// # Errors
    /// `Unusable`.
    pub fn local_identity(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).local_identity()?.to_vec())
    }

    /// The peer's identity key (32 bytes).
    ///
    /// # Errors
    /// `Unusable`.
    pub fn remote_identity(&self) -> Result<Vec<u8>> {
        Ok(lock(&self.0).remote_identity()?.to_vec())
    }

    /// Whether `message` belongs to the handshake that made this
    /// (responder) session, so it goes to `decrypt`
    /// rather than to a new `accept_session`.
    ///
    /// # Errors
    /// `Unusable`.
    pub fn matches(&self, message: &PreKeyMessage) -> Result<bool> {
        Ok(lock(&self.0).matches(&message.0)?)
    }
}

// ---------------------------------------------------------------------------
// Safety numbers

/// A safety number between two identity keys, for users to compare.
#[derive(uniffi::Object)]
pub struct SafetyNumber(facade::SafetyNumber);

#[uniffi::export]
impl SafetyNumber {
    /// Computes it from each side's stable id (at most 255 bytes) and
    /// identity key (32 bytes).
    ///
    /// # Errors
    /// `InvalidArgument` for wrong key lengths; a `Decode*` error for an
    /// invalid key; `TooLarge` for a longer id.
    #[uniffi::constructor]
    pub fn new(
        local_id: Vec<u8>,
        local_key: Vec<u8>,
        remote_id: Vec<u8>,
        remote_key: Vec<u8>,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(facade::SafetyNumber::new(&local_id, &local_key, &remote_id, &remote_key)?)))
    }

    /// The 60 digits to display.
    pub fn displayable(&self) -> String {
        self.0.displayable().to_owned()
    }

    /// The QR code payload.
    pub fn scannable(&self) -> Vec<u8> {
        self.0.scannable().to_vec()
    }

    /// Checks the other device's scanned payload.
    ///
    /// # Errors
    /// A `Decode*` error for a malformed payload.
    pub fn compare_scanned(&self, scanned: Vec<u8>) -> Result<bool> {
        Ok(self.0.compare_scanned(&scanned)?)
    }
}
