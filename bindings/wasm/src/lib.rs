//! The WebAssembly binding of chatcrypt: wasm-bindgen classes over
//! `chatcrypt-bindings-core` (`bindings/core`), the one facade every
//! binding wraps. This file adds only JavaScript's calling convention:
//!
//! * classes (`IdentityKeyPair`, `SignedPreKey`, `OneTimePreKey`,
//!   `KemPreKey`, `PreKeyBundle`, `PreKeyMessage`, `Session`,
//!   `SafetyNumber`, `Rng`, and the messenger layer's in `messenger.rs`:
//!   accounts, devices, peers, session records, retries, padding, sealed
//!   sender) whose methods take and return `Uint8Array`s, numbers,
//!   bigints, booleans and strings;
//! * every failure thrown as a `ChatcryptError` (a subclass of `Error`,
//!   defined in `js/chatcrypt_error.{cjs,js}` and imported here) with
//!   `code` (the facade's stable number), `codeName` (`"AUTH"`), `detail`
//!   (`"UnknownPreKey { id: 7 }"`, as the test vectors write errors) and a
//!   readable `message`;
//! * every call that draws randomness takes an optional last `rng`: the
//!   operating system's generator (`crypto.getRandomValues`, through
//!   getrandom's `wasm_js` backend) when it is left out, a `Rng.scripted`
//!   to replay test vectors byte for byte.
//!
//! Secret bytes leave as chatcrypt hands them out (seeds, stored forms,
//! plaintexts), copied straight from its wiping buffers into a fresh
//! `Uint8Array`. Secret arguments (seeds, stored forms, storage keys,
//! plaintexts to encrypt) are wiped from the WebAssembly memory when the
//! call returns (`Secret` below): the binding keeps no copy of a secret
//! beyond the call; only chatcrypt's own objects hold them. Call `free()`
//! on objects that hold secrets when done with them: that wipes them at
//! once (a `FinalizationRegistry` frees the forgotten ones later).

#![forbid(unsafe_code)]

mod messenger;

use std::{cell::RefCell, rc::Rc};

use chatcrypt_bindings_core as core_api;
use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{convert::TryFromJsValue, prelude::*, JsCast};
use zeroize::Zeroizing;

// ---------------------------------------------------------------------------
// Errors

#[wasm_bindgen(raw_module = "./chatcrypt_error.js")]
extern "C" {
    /// The JavaScript class every failure is thrown as.
    #[wasm_bindgen(js_name = ChatcryptError)]
    type JsChatcryptError;

    #[wasm_bindgen(constructor, js_class = ChatcryptError)]
    fn new(code: i32, code_name: &str, detail: &str, message: &str) -> JsChatcryptError;
}

/// The facade's error as a thrown `ChatcryptError`.
///
/// An `UNKNOWN_PREKEY` error also carries `prekeyId`, the id the message
/// named (what `LocalDevice.retryFor` needs to answer it with a retry).
fn to_js(e: core_api::Error) -> JsValue {
    let code = e.code();
    let error: JsValue =
        JsChatcryptError::new(code.as_i32(), code.name(), &e.detail(), &e.to_string()).into();
    if let Some(id) = e.prekey_id() {
        // Setting a property on a fresh Error object cannot fail.
        let _ = Reflect::set(&error, &JsValue::from_str("prekeyId"), &JsValue::from(id));
    }
    error
}

type JsResult<T> = Result<T, JsValue>;

fn js<T>(r: core_api::Result<T>) -> JsResult<T> {
    r.map_err(to_js)
}

/// A secret argument (a seed, a stored form, a storage key, a plaintext):
/// wasm-bindgen copies it into the WebAssembly memory for the call, and
/// this owns that copy so that it is wiped afterwards (a `&[u8]` argument's
/// copy would be freed as it is).
type Secret = Box<[u8]>;

/// Wipes a secret argument's copy once the call is done with it.
fn secret(b: Secret) -> Zeroizing<Box<[u8]>> {
    Zeroizing::new(b)
}

/// Copies bytes into a new `Uint8Array` (the source, if secret, wipes itself).
fn bytes(b: &[u8]) -> Uint8Array {
    Uint8Array::from(b)
}

/// The hidden method of `Rng`, `OneTimePreKey` and `KemPreKey` that gives
/// a second JavaScript handle on the same Rust object.
///
/// wasm-bindgen passes an exported class either by reference (required)
/// or by value (the JavaScript object gives its contents up), but not as
/// an optional reference. So optional arguments (`rng?`, `oneTimePreKey?`)
/// arrive as plain values; Rust asks the object for a second handle, which
/// it then owns and drops, while the caller's object stays usable. The
/// handle shares the state (`Rc<RefCell<_>>`), so draws taken from a
/// scripted `Rng` and a consumed prekey are seen through the caller's object.
const SHARE: &str = "__chatcryptShare";

fn invalid(what: &'static str) -> JsValue {
    to_js(core_api::Error::InvalidArgument(what))
}

/// The object behind an optional argument: `None` for `undefined`/`null`,
/// `INVALID_ARGUMENT` for anything that is not a live `T`.
fn optional<T: TryFromJsValue>(value: Option<JsValue>, what: &'static str) -> JsResult<Option<T>> {
    let value = match value {
        Some(v) if !v.is_undefined() && !v.is_null() => v,
        _ => return Ok(None),
    };
    let share: Function = Reflect::get(&value, &JsValue::from_str(SHARE))
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| invalid(what))?;
    let handle = share.call0(&value).map_err(|_| invalid(what))?;
    T::try_from_js_value(handle).map(Some).map_err(|_| invalid(what))
}

/// Runs `f` with the caller's generator, or the OS generator if none was given.
fn with_rng<T>(
    rng: Option<JsValue>,
    f: impl FnOnce(&mut core_api::Rng) -> core_api::Result<T>,
) -> JsResult<T> {
    let rng: Option<Rng> = optional(rng, "rng must be a Rng")?;
    js(match rng {
        Some(r) => f(&mut r.0.borrow_mut()),
        None => f(&mut core_api::Rng::os()),
    })
}

/// The name of an error code (`-15` gives `"AUTH"`), or `undefined` for a
/// number that is no code.
#[wasm_bindgen(js_name = errorCodeName)]
pub fn error_code_name(code: i32) -> Option<String> {
    core_api::ErrorCode::from_i32(code).map(|c| c.name().to_owned())
}

/// Every error code, in numeric order from -1 down (`ErrorCode` names them).
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Vec<i32> {
    core_api::ErrorCode::ALL.iter().map(|c| c.as_i32()).collect()
}

/// The stable number of every `ChatcryptError`'s `code` (the facade's
/// `ErrorCode`; `codeName` is the upper snake case name, `Auth` is `"AUTH"`).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorCode {
    /// A wrong length, an unknown enum value.
    InvalidArgument = -1,
    /// An output buffer too small (not met through this binding).
    BufferTooSmall = -2,
    /// A panic was caught (not met through this binding: a panic traps).
    Panic = -3,
    /// The operating system's random generator failed.
    RngFailure = -4,
    /// A scripted generator has fewer bytes left than were asked for.
    RngExhausted = -5,
    /// The one-time prekey was consumed by an earlier accept.
    Consumed = -6,
    /// The session is unusable after a random generator failure mid-call.
    Unusable = -7,
    /// A bundle signature does not verify.
    BadSignature = -10,
    /// A Diffie-Hellman output was all zeros (low-order key).
    NonContributory = -11,
    /// The prekeys passed are not the ones the message names.
    UnknownPreKey = -12,
    /// The message is bound to another identity.
    WrongIdentity = -13,
    /// A PreKeyMessage of another handshake than this session's.
    HandshakeMismatch = -14,
    /// Authentication failed: forged, tampered or not for this session.
    Auth = -15,
    /// A replay: the message's key was already used.
    Duplicate = -16,
    /// The message would skip more keys than allowed.
    TooFarAhead = -17,
    /// A plaintext or message is larger than the format allows.
    TooLarge = -18,
    /// The sending chain used up its message numbers.
    CounterExhausted = -19,
    /// The responder's mode policy refuses the initiator's mode.
    ModeNotAllowed = -20,
    /// The handshake would be classical where the policy requires hybrid.
    PostQuantumRequired = -21,
    /// A device not on the peer's device list.
    UnknownDevice = -22,
    /// The peer's account key changed (pending: accept or reject it), or another key was expected.
    AccountKeyChanged = -23,
    /// No account key change is pending.
    NoPendingChange = -24,
    /// A device list older than the one held.
    DeviceListRollback = -25,
    /// Another device list at the epoch already held.
    DeviceListConflict = -26,
    /// No session to encrypt on, or none that decrypts the message.
    NoSession = -27,
    /// Our session got no reply in time: fetch a bundle and start a new one.
    SessionExpired = -28,
    /// The upload was asked for a stored form that is not the device's current one.
    NotPersisted = -29,
    /// Media layer (not bound yet).
    UsedKey = -30,
    /// Media layer (not bound yet).
    UnknownKeyId = -31,
    /// Media layer (not bound yet).
    CounterTooOld = -32,
    /// Media layer (not bound yet).
    NoRatchet = -33,
    /// Media layer (not bound yet).
    ChunkLength = -34,
    /// Media layer (not bound yet).
    StreamFinished = -35,
    /// Media layer (not bound yet).
    StreamIncomplete = -36,
    /// A padded plaintext's padding is not canonical.
    Padding = -37,
    /// A sender certificate from a server key the policy does not trust.
    UntrustedCertificate = -38,
    /// A sender certificate whose serial the policy revokes.
    CertificateRevoked = -39,
    /// A sender certificate expired at the policy's time.
    CertificateExpired = -40,
    /// A sealed envelope's certificate names another device than the session's.
    SenderMismatch = -41,
    /// An error of a newer chatcrypt than this binding.
    Other = -60,
    /// Malformed bytes: too short.
    DecodeTruncated = -70,
    /// Malformed bytes: bytes after the end.
    DecodeTrailingBytes = -71,
    /// Malformed bytes: an unknown version.
    DecodeUnsupportedVersion = -72,
    /// Malformed bytes: an unexpected type byte.
    DecodeUnexpectedType = -73,
    /// Malformed bytes: invalid flags.
    DecodeInvalidFlags = -74,
    /// Malformed bytes: an invalid public key.
    DecodeInvalidPublicKey = -75,
    /// Malformed bytes: an invalid value.
    DecodeInvalidValue = -76,
    /// Malformed bytes: an unknown key type.
    DecodeUnknownKeyType = -77,
    /// A decode error of a newer chatcrypt than this binding.
    DecodeOther = -79,
}

// ---------------------------------------------------------------------------
// Enums

/// How a session's headers travel.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Headers in clear (the default).
    Plain = 0,
    /// Headers encrypted (SPEC.md §14).
    HeaderEncryption = 1,
}

/// Which modes a responder accepts.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModePolicy {
    /// Either mode (the default).
    Any = 0,
    /// Only header encryption.
    HeaderEncryptionOnly = 1,
    /// Only plain headers.
    PlainOnly = 2,
}

/// Whether the handshake must be hybrid post-quantum.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PqPolicy {
    /// Only the hybrid handshake (the default).
    Required = 0,
    /// The classical handshake too.
    AllowClassical = 1,
}

/// The two kinds of wire message.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// Carries the handshake: the first one from a new peer goes to `Session.accept`.
    PreKey = 1,
    /// An ordinary message for an existing session.
    Message = 2,
}

/// An enum argument: JavaScript passes a number, and wasm-bindgen's own
/// conversion would turn `undefined`, `null`, `1.5` or `"1"` into 0 (the
/// first variant) without a word. So enum arguments arrive as raw values and
/// only an integer that names a variant passes; anything else, a missing
/// argument included, is `INVALID_ARGUMENT`. There are no defaults: the
/// caller says which mode and which policy it means.
fn enum_arg<T>(value: &JsValue, what: &'static str, from: impl Fn(u32) -> Option<T>) -> JsResult<T> {
    value
        .as_f64()
        .filter(|v| v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(v))
        // In range and integral: the cast is exact.
        .and_then(|v| from(v as u32))
        .ok_or_else(|| invalid(what))
}

impl Mode {
    fn from_js(value: &JsValue) -> JsResult<Mode> {
        enum_arg(value, "mode must be a Mode (Mode.Plain or Mode.HeaderEncryption)", |n| match n {
            0 => Some(Mode::Plain),
            1 => Some(Mode::HeaderEncryption),
            _ => None,
        })
    }

    fn to_core(self) -> core_api::Mode {
        match self {
            Mode::Plain => core_api::Mode::Plain,
            Mode::HeaderEncryption => core_api::Mode::HeaderEncryption,
        }
    }

    fn from_core(m: core_api::Mode) -> Mode {
        match m {
            core_api::Mode::Plain => Mode::Plain,
            core_api::Mode::HeaderEncryption => Mode::HeaderEncryption,
        }
    }
}

impl ModePolicy {
    fn from_js(value: &JsValue) -> JsResult<ModePolicy> {
        enum_arg(value, "modePolicy must be a ModePolicy (Any, HeaderEncryptionOnly or PlainOnly)", |n| {
            match n {
                0 => Some(ModePolicy::Any),
                1 => Some(ModePolicy::HeaderEncryptionOnly),
                2 => Some(ModePolicy::PlainOnly),
                _ => None,
            }
        })
    }

    fn to_core(self) -> core_api::ModePolicy {
        match self {
            ModePolicy::Any => core_api::ModePolicy::Any,
            ModePolicy::HeaderEncryptionOnly => core_api::ModePolicy::HeaderEncryptionOnly,
            ModePolicy::PlainOnly => core_api::ModePolicy::PlainOnly,
        }
    }
}

impl PqPolicy {
    fn from_js(value: &JsValue) -> JsResult<PqPolicy> {
        enum_arg(value, "pqPolicy must be a PqPolicy (Required or AllowClassical)", |n| match n {
            0 => Some(PqPolicy::Required),
            1 => Some(PqPolicy::AllowClassical),
            _ => None,
        })
    }

    fn to_core(self) -> core_api::PqPolicy {
        match self {
            PqPolicy::Required => core_api::PqPolicy::Required,
            PqPolicy::AllowClassical => core_api::PqPolicy::AllowClassical,
        }
    }
}

/// Reads a message's version and type bytes only, to route it: a
/// PreKeyMessage from a peer without a session goes to `Session.accept`.
///
/// Throws `ChatcryptError` (`DECODE_*`) if they are missing or unknown.
#[wasm_bindgen(js_name = messageType)]
pub fn message_type(message: &[u8]) -> JsResult<MessageType> {
    Ok(match js(core_api::message_type(message))? {
        core_api::MessageType::PreKey => MessageType::PreKey,
        core_api::MessageType::Message => MessageType::Message,
    })
}

/// Checks that `key` is a valid identity public key (32 bytes, a valid
/// Ed25519 point); throws `ChatcryptError` otherwise.
#[wasm_bindgen(js_name = checkIdentityKey)]
pub fn check_identity_key(key: &[u8]) -> JsResult<()> {
    js(core_api::identity_key_check(key))
}

// ---------------------------------------------------------------------------
// Randomness

/// Where a call's randomness comes from. Calls that draw randomness take an
/// optional `Rng` as their last argument and use `Rng.os()` without one.
#[wasm_bindgen]
pub struct Rng(Rc<RefCell<core_api::Rng>>);

#[wasm_bindgen]
impl Rng {
    /// The operating system's generator (`crypto.getRandomValues`).
    pub fn os() -> Rng {
        Rng(Rc::new(RefCell::new(core_api::Rng::os())))
    }

    /// A generator that yields exactly `bytes`, in order, and then fails
    /// every request with `RNG_EXHAUSTED` (a request it cannot fill in full
    /// takes nothing). For replaying test vectors; never for real messages.
    pub fn scripted(bytes: Secret) -> Rng {
        Rng(Rc::new(RefCell::new(core_api::Rng::scripted(&secret(bytes)))))
    }

    /// Whether this is a scripted generator.
    #[wasm_bindgen(getter, js_name = isScripted)]
    pub fn is_scripted(&self) -> bool {
        self.0.borrow().is_scripted()
    }

    /// How many scripted bytes are left; `undefined` for the OS generator.
    #[wasm_bindgen(getter)]
    pub fn remaining(&self) -> Option<u32> {
        self.0.borrow().remaining().map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    #[doc(hidden)]
    #[wasm_bindgen(js_name = __chatcryptShare, skip_typescript)]
    pub fn share(&self) -> Rng {
        Rng(Rc::clone(&self.0))
    }
}

// ---------------------------------------------------------------------------
// Identity and prekeys

/// This device's long-term identity key pair.
#[wasm_bindgen]
pub struct IdentityKeyPair(core_api::IdentityKeyPair);

#[wasm_bindgen]
impl IdentityKeyPair {
    /// A new key pair (draws 32 bytes).
    pub fn generate(
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<IdentityKeyPair> {
        with_rng(rng, core_api::IdentityKeyPair::generate).map(Self)
    }

    /// The key pair of a 32-byte seed.
    #[wasm_bindgen(js_name = fromSeed)]
    pub fn from_seed(seed: Secret) -> JsResult<IdentityKeyPair> {
        js(core_api::IdentityKeyPair::from_seed(&secret(seed))).map(Self)
    }

    /// The 32-byte seed (secret).
    pub fn seed(&self) -> Uint8Array {
        bytes(&self.0.seed()[..])
    }

    /// The Ed25519 public key (32 bytes): the identity others see.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> Uint8Array {
        bytes(&self.0.public_key())
    }

    /// The stored form (34 bytes; secret).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(&self.0.to_bytes())
    }

    /// Restores `toBytes()`' output.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(stored: Secret) -> JsResult<IdentityKeyPair> {
        js(core_api::IdentityKeyPair::from_bytes(&secret(stored))).map(Self)
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
    pub fn open(key: Secret, sealed: &[u8]) -> JsResult<IdentityKeyPair> {
        js(core_api::IdentityKeyPair::open(&secret(key), sealed)).map(Self)
    }
}

/// A signed prekey with its secret.
#[wasm_bindgen]
pub struct SignedPreKey(core_api::SignedPreKey);

#[wasm_bindgen]
impl SignedPreKey {
    /// A new signed prekey, signed by `identity` (draws 32 bytes).
    pub fn generate(
        identity: &IdentityKeyPair,
        id: u32,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<SignedPreKey> {
        with_rng(rng, |r| core_api::SignedPreKey::generate(&identity.0, id, r)).map(Self)
    }

    /// Its id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Its X25519 public key (32 bytes).
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> Uint8Array {
        bytes(&self.0.public_key())
    }

    /// The identity key's signature over it (64 bytes).
    #[wasm_bindgen(getter)]
    pub fn signature(&self) -> Uint8Array {
        bytes(&self.0.signature())
    }

    /// The stored form (102 bytes; secret).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(&self.0.to_bytes())
    }

    /// Restores `toBytes()`' output.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(stored: Secret) -> JsResult<SignedPreKey> {
        js(core_api::SignedPreKey::from_bytes(&secret(stored))).map(Self)
    }
}

/// A one-time prekey with its secret; a successful `Session.accept` that
/// uses it consumes it (`isConsumed`, and `CONSUMED` from its other calls).
#[wasm_bindgen]
pub struct OneTimePreKey(Rc<RefCell<core_api::OneTimePreKey>>);

impl OneTimePreKey {
    fn wrap(k: core_api::OneTimePreKey) -> Self {
        Self(Rc::new(RefCell::new(k)))
    }
}

#[wasm_bindgen]
impl OneTimePreKey {
    /// A new one-time prekey (draws 32 bytes).
    pub fn generate(
        id: u32,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<OneTimePreKey> {
        with_rng(rng, |r| core_api::OneTimePreKey::generate(id, r)).map(Self::wrap)
    }

    /// Whether an accept consumed it: delete it from storage then.
    #[wasm_bindgen(getter, js_name = isConsumed)]
    pub fn is_consumed(&self) -> bool {
        self.0.borrow().is_consumed()
    }

    /// Its id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> JsResult<u32> {
        js(self.0.borrow().id())
    }

    /// Its X25519 public key (32 bytes).
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> JsResult<Uint8Array> {
        js(self.0.borrow().public_key()).map(|k| bytes(&k))
    }

    /// The stored form (38 bytes; secret).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> JsResult<Uint8Array> {
        js(self.0.borrow().to_bytes()).map(|v| bytes(&v))
    }

    /// Restores `toBytes()`' output.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(stored: Secret) -> JsResult<OneTimePreKey> {
        js(core_api::OneTimePreKey::from_bytes(&secret(stored))).map(Self::wrap)
    }

    #[doc(hidden)]
    #[wasm_bindgen(js_name = __chatcryptShare, skip_typescript)]
    pub fn share(&self) -> OneTimePreKey {
        OneTimePreKey(Rc::clone(&self.0))
    }
}

/// An ML-KEM-1024 prekey with its seed. Used as a one-time KEM prekey, a
/// successful `Session.accept` consumes it; as the last-resort one it is
/// only borrowed.
#[wasm_bindgen]
pub struct KemPreKey(Rc<RefCell<core_api::KemPreKey>>);

impl KemPreKey {
    fn wrap(k: core_api::KemPreKey) -> Self {
        Self(Rc::new(RefCell::new(k)))
    }
}

#[wasm_bindgen]
impl KemPreKey {
    /// A new KEM prekey signed by `identity` (draws 64 bytes).
    pub fn generate(
        identity: &IdentityKeyPair,
        id: u32,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<KemPreKey> {
        with_rng(rng, |r| core_api::KemPreKey::generate(&identity.0, id, r)).map(Self::wrap)
    }

    /// Whether an accept consumed it (as a one-time KEM prekey).
    #[wasm_bindgen(getter, js_name = isConsumed)]
    pub fn is_consumed(&self) -> bool {
        self.0.borrow().is_consumed()
    }

    /// Its id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> JsResult<u32> {
        js(self.0.borrow().id())
    }

    /// Its KEM type byte (1: ML-KEM-1024).
    #[wasm_bindgen(getter, js_name = kemType)]
    pub fn kem_type(&self) -> JsResult<u8> {
        js(self.0.borrow().kem_type())
    }

    /// The public encoding that goes into bundles (the type, the id, the
    /// ML-KEM-1024 key and the identity's signature).
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> JsResult<Uint8Array> {
        js(self.0.borrow().public_bytes()).map(|v| bytes(&v))
    }

    /// The stored form (secret).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> JsResult<Uint8Array> {
        js(self.0.borrow().to_bytes()).map(|v| bytes(&v))
    }

    /// Restores `toBytes()`' output.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(stored: Secret) -> JsResult<KemPreKey> {
        js(core_api::KemPreKey::from_bytes(&secret(stored))).map(Self::wrap)
    }

    #[doc(hidden)]
    #[wasm_bindgen(js_name = __chatcryptShare, skip_typescript)]
    pub fn share(&self) -> KemPreKey {
        KemPreKey(Rc::clone(&self.0))
    }
}

// ---------------------------------------------------------------------------
// Bundles and PreKeyMessages

/// A prekey bundle: what a device publishes so that others can start a
/// session with it.
#[wasm_bindgen]
pub struct PreKeyBundle(core_api::PreKeyBundle);

#[wasm_bindgen]
impl PreKeyBundle {
    /// The bundle of our own keys, to publish; the one-time prekey and the
    /// KEM prekey are optional (`undefined` or `null`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        identity: &IdentityKeyPair,
        #[wasm_bindgen(js_name = signedPreKey)] signed_pre_key: &SignedPreKey,
        #[wasm_bindgen(unchecked_optional_param_type = "OneTimePreKey", js_name = oneTimePreKey)]
        one_time_pre_key: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "KemPreKey", js_name = kemPreKey)] kem_pre_key: Option<
            JsValue,
        >,
    ) -> JsResult<PreKeyBundle> {
        let opk: Option<OneTimePreKey> = optional(one_time_pre_key, "oneTimePreKey must be a OneTimePreKey")?;
        let kem: Option<KemPreKey> = optional(kem_pre_key, "kemPreKey must be a KemPreKey")?;
        let opk = opk.as_ref().map(|k| k.0.borrow());
        let kem = kem.as_ref().map(|k| k.0.borrow());
        js(core_api::PreKeyBundle::new(&identity.0, &signed_pre_key.0, opk.as_deref(), kem.as_deref()))
            .map(Self)
    }

    /// A bundle from published public parts (a key server's view). Not
    /// verified: see `verify()`.
    #[wasm_bindgen(js_name = fromParts)]
    pub fn from_parts(
        #[wasm_bindgen(js_name = identityKey)] identity_key: &[u8],
        #[wasm_bindgen(js_name = signedPreKeyId)] signed_pre_key_id: u32,
        #[wasm_bindgen(js_name = signedPreKey)] signed_pre_key: &[u8],
        signature: &[u8],
        #[wasm_bindgen(js_name = oneTimePreKeyId)] one_time_pre_key_id: Option<u32>,
        #[wasm_bindgen(js_name = oneTimePreKey)] one_time_pre_key: Option<Vec<u8>>,
        #[wasm_bindgen(js_name = kemPreKey)] kem_pre_key: Option<Vec<u8>>,
    ) -> JsResult<PreKeyBundle> {
        let opk = match (one_time_pre_key_id, one_time_pre_key.as_deref()) {
            (Some(id), Some(key)) => Some((id, key)),
            (None, None) => None,
            _ => {
                return Err(to_js(core_api::Error::InvalidArgument(
                    "a one-time prekey needs both its id and its key",
                )))
            }
        };
        js(core_api::PreKeyBundle::from_parts(
            identity_key,
            signed_pre_key_id,
            signed_pre_key,
            signature,
            opk,
            kem_pre_key.as_deref(),
        ))
        .map(Self)
    }

    /// Decodes a bundle (not verified: see `verify()`).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(encoded: &[u8]) -> JsResult<PreKeyBundle> {
        js(core_api::PreKeyBundle::from_bytes(encoded)).map(Self)
    }

    /// The wire encoding.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(&self.0.to_bytes())
    }

    /// Checks the prekeys' encodings and signatures (`Session.initiate`
    /// does it too); throws `BAD_SIGNATURE` or `DECODE_*`.
    pub fn verify(&self) -> JsResult<()> {
        js(self.0.verify())
    }

    /// The owner's identity key (32 bytes).
    #[wasm_bindgen(getter, js_name = identityKey)]
    pub fn identity_key(&self) -> Uint8Array {
        bytes(&self.0.identity_key())
    }

    /// The signed prekey's id.
    #[wasm_bindgen(getter, js_name = signedPreKeyId)]
    pub fn signed_pre_key_id(&self) -> u32 {
        self.0.signed_prekey_id()
    }

    /// The one-time prekey's id, `undefined` without one.
    #[wasm_bindgen(getter, js_name = oneTimePreKeyId)]
    pub fn one_time_pre_key_id(&self) -> Option<u32> {
        self.0.one_time_prekey_id()
    }

    /// The KEM prekey's id, `undefined` without one.
    #[wasm_bindgen(getter, js_name = kemPreKeyId)]
    pub fn kem_pre_key_id(&self) -> Option<u32> {
        self.0.kem_prekey_id()
    }
}

/// A decoded PreKeyMessage, to look up the prekeys it names before
/// `Session.accept`.
#[wasm_bindgen]
pub struct PreKeyMessage(core_api::PreKeyMessage);

#[wasm_bindgen]
impl PreKeyMessage {
    /// Decodes a PreKeyMessage.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(message: &[u8]) -> JsResult<PreKeyMessage> {
        js(core_api::PreKeyMessage::from_bytes(message)).map(Self)
    }

    /// The sender's identity key (authenticated only once accept succeeds).
    #[wasm_bindgen(getter, js_name = senderIdentity)]
    pub fn sender_identity(&self) -> Uint8Array {
        bytes(&self.0.sender_identity())
    }

    /// The signed prekey's id.
    #[wasm_bindgen(getter, js_name = signedPreKeyId)]
    pub fn signed_pre_key_id(&self) -> u32 {
        self.0.signed_prekey_id()
    }

    /// The one-time prekey's id, `undefined` if it names none.
    #[wasm_bindgen(getter, js_name = oneTimePreKeyId)]
    pub fn one_time_pre_key_id(&self) -> Option<u32> {
        self.0.one_time_prekey_id()
    }

    /// The KEM prekey's id, `undefined` if the handshake is classical.
    #[wasm_bindgen(getter, js_name = kemPreKeyId)]
    pub fn kem_pre_key_id(&self) -> Option<u32> {
        self.0.kem_prekey_id().map(|(_, id)| id)
    }

    /// The KEM prekey's type byte, `undefined` if the handshake is classical.
    #[wasm_bindgen(getter, js_name = kemType)]
    pub fn kem_type(&self) -> Option<u8> {
        self.0.kem_prekey_id().map(|(t, _)| t)
    }

    /// The initiator's base key (for the last-resort replay check, SPEC.md §16.7).
    #[wasm_bindgen(getter, js_name = baseKey)]
    pub fn base_key(&self) -> Uint8Array {
        bytes(&self.0.base_key())
    }

    /// Whether the handshake is hybrid post-quantum.
    #[wasm_bindgen(getter, js_name = isPostQuantum)]
    pub fn is_post_quantum(&self) -> bool {
        self.0.is_post_quantum()
    }

    /// The mode the initiator chose.
    #[wasm_bindgen(getter)]
    pub fn mode(&self) -> Mode {
        Mode::from_core(self.0.mode())
    }

    /// The message bytes.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        bytes(self.0.as_bytes())
    }
}

// ---------------------------------------------------------------------------
// Session

#[wasm_bindgen(typescript_custom_section)]
const TS_RESULTS: &'static str = r#"
/** What `Session.accept` returns. */
export interface Accepted {
  /** The new session: store `session.toBytes()` before using the plaintext. */
  session: Session;
  /** The first message's plaintext. */
  plaintext: Uint8Array;
  /** The first message's id (52 bytes). */
  messageId: Uint8Array;
}

/** What `Session.decryptWithId` returns. */
export interface Decrypted {
  /** The plaintext. */
  plaintext: Uint8Array;
  /** The message's id (52 bytes), the same on both sides. */
  messageId: Uint8Array;
}
"#;

fn object(fields: &[(&str, JsValue)]) -> JsResult<JsValue> {
    let o = Object::new();
    for (k, v) in fields {
        Reflect::set(&o, &JsValue::from_str(k), v)?;
    }
    Ok(o.into())
}

/// A Double Ratchet session with one peer device. After every call that
/// changes it (encrypt, decrypt, accept) store `toBytes()`; a call that
/// throws changed nothing.
#[wasm_bindgen]
pub struct Session(core_api::Session);

#[wasm_bindgen]
impl Session {
    /// Starts a session from a peer's bundle (verified here) in `mode`
    /// (`Mode.Plain` or `Mode.HeaderEncryption`) under `pqPolicy`
    /// (`PqPolicy.Required`: a bundle without a KEM prekey throws
    /// `POST_QUANTUM_REQUIRED`; `PqPolicy.AllowClassical`). Both are
    /// required: a missing or unknown value throws `INVALID_ARGUMENT`.
    /// Draws 64 bytes (96 if hybrid).
    pub fn initiate(
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        #[wasm_bindgen(unchecked_param_type = "Mode")] mode: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PqPolicy", js_name = pqPolicy)] pq_policy: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Session> {
        let mode = Mode::from_js(&mode)?.to_core();
        let pq = PqPolicy::from_js(&pq_policy)?.to_core();
        with_rng(rng, |r| core_api::Session::initiate(&identity.0, &bundle.0, mode, pq, r)).map(Self)
    }

    /// Accepts a session from a peer's first PreKeyMessage and decrypts it.
    /// Pass the prekeys the message names (`PreKeyMessage`'s ids say which;
    /// `undefined` for those it does not name). With a `kemPreKey`,
    /// `kemLastResort` is required: `true` if it is the last-resort KEM
    /// prekey (only borrowed), `false` if it is a one-time one (consumed);
    /// a missing or non-boolean flag throws `INVALID_ARGUMENT` (without a
    /// KEM prekey it may be `undefined`). A one-time prekey (and a one-time
    /// KEM prekey) is consumed if this succeeds and left as it was if it
    /// throws. `modePolicy` and `pqPolicy` are required (a missing or
    /// unknown value throws `INVALID_ARGUMENT`). Returns
    /// `{ session, plaintext, messageId }`.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(unchecked_return_type = "Accepted")]
    pub fn accept(
        identity: &IdentityKeyPair,
        #[wasm_bindgen(js_name = signedPreKey)] signed_pre_key: &SignedPreKey,
        message: &PreKeyMessage,
        #[wasm_bindgen(unchecked_param_type = "OneTimePreKey | null | undefined", js_name = oneTimePreKey)]
        one_time_pre_key: Option<JsValue>,
        #[wasm_bindgen(unchecked_param_type = "KemPreKey | null | undefined", js_name = kemPreKey)]
        kem_pre_key: Option<JsValue>,
        #[wasm_bindgen(unchecked_param_type = "boolean | undefined", js_name = kemLastResort)]
        kem_last_resort: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ModePolicy", js_name = modePolicy)] mode_policy: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PqPolicy", js_name = pqPolicy)] pq_policy: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<JsValue> {
        let mode_policy = ModePolicy::from_js(&mode_policy)?.to_core();
        let pq_policy = PqPolicy::from_js(&pq_policy)?.to_core();
        let opk: Option<OneTimePreKey> = optional(one_time_pre_key, "oneTimePreKey must be a OneTimePreKey")?;
        let kem: Option<KemPreKey> = optional(kem_pre_key, "kemPreKey must be a KemPreKey")?;
        let last_resort = match (&kem, kem_last_resort.as_bool()) {
            (_, Some(flag)) => flag,
            (None, None) if kem_last_resort.is_undefined() || kem_last_resort.is_null() => false,
            _ => return Err(invalid(
                "kemLastResort must be true (last-resort KEM prekey) or false (one-time) with a kemPreKey",
            )),
        };
        let mut opk = opk.as_ref().map(|k| k.0.borrow_mut());
        let mut kem = kem.as_ref().map(|k| k.0.borrow_mut());
        let kem_use = match kem.as_deref_mut() {
            Some(k) if last_resort => Some(core_api::KemPreKeyUse::LastResort(k)),
            Some(k) => Some(core_api::KemPreKeyUse::OneTime(k)),
            None => None,
        };
        let accepted = with_rng(rng, |r| {
            core_api::Session::accept(
                &identity.0,
                &signed_pre_key.0,
                opk.as_deref_mut(),
                kem_use,
                &message.0,
                mode_policy,
                pq_policy,
                r,
            )
        })?;
        let core_api::Accepted { session, plaintext, message_id } = accepted;
        object(&[
            ("session", Session(session).into()),
            ("plaintext", bytes(&plaintext).into()),
            ("messageId", bytes(&message_id).into()),
        ])
    }

    /// Restores a stored session (`toBytes()`' output).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(stored: Secret) -> JsResult<Session> {
        js(core_api::Session::from_bytes(&secret(stored))).map(Self)
    }

    /// The stored form (secret): store it after every call that changed
    /// the session.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> JsResult<Uint8Array> {
        js(self.0.to_bytes()).map(|v| bytes(&v))
    }

    /// The length of `toBytes()`' output, without making it (to size
    /// storage; it changes as the session does).
    #[wasm_bindgen(js_name = encodedLen)]
    pub fn encoded_len(&self) -> JsResult<u32> {
        js(self.0.encoded_len()).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
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
    pub fn open(key: Secret, sealed: &[u8]) -> JsResult<Session> {
        js(core_api::Session::open(&secret(key), sealed)).map(Self)
    }

    /// The length of the message that encrypting `plaintextLength` bytes gives now.
    #[wasm_bindgen(js_name = encryptedLength)]
    pub fn encrypted_length(&self, plaintext_length: u32) -> JsResult<u32> {
        let n = js(self.0.encrypted_len(plaintext_length as usize))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Encrypts a message. Draws exactly 16 bytes per message, the
    /// message's reuse guard (SPEC.md §6.3), and nothing else: the
    /// ratchet's new key pairs are drawn by `decrypt`. A scripted `Rng`
    /// that runs dry throws `RNG_EXHAUSTED` and leaves the session as it
    /// was; an OS generator failure throws and leaves the session unusable
    /// (`UNUSABLE` afterwards: restore it from its stored form).
    pub fn encrypt(
        &mut self,
        plaintext: Secret,
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Uint8Array> {
        let plaintext = secret(plaintext);
        with_rng(rng, |r| self.0.encrypt(&plaintext, r)).map(|v| bytes(&v))
    }

    /// Decrypts a message. Draws 32 bytes (the next ratchet key pair) when
    /// the message starts a new ratchet step, nothing otherwise. Throws
    /// `AUTH` for a forged or tampered message, `DUPLICATE` for a replay;
    /// the session is then unchanged. An OS generator failure in the
    /// middle of the call leaves the session unusable (`UNUSABLE`
    /// afterwards: restore it from its stored form).
    pub fn decrypt(
        &mut self,
        message: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<Uint8Array> {
        with_rng(rng, |r| self.0.decrypt(message, r)).map(|p| bytes(&p))
    }

    /// As `decrypt`, with the message's id: `{ plaintext, messageId }`.
    #[wasm_bindgen(js_name = decryptWithId, unchecked_return_type = "Decrypted")]
    pub fn decrypt_with_id(
        &mut self,
        message: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "Rng")] rng: Option<JsValue>,
    ) -> JsResult<JsValue> {
        let (plaintext, id) = with_rng(rng, |r| self.0.decrypt_with_id(message, r))?;
        object(&[("plaintext", bytes(&plaintext).into()), ("messageId", bytes(&id).into())])
    }

    /// Whether `message` belongs to the handshake that made this
    /// (responder) session, so it goes to `decrypt` rather than `accept`.
    pub fn matches(&self, message: &PreKeyMessage) -> JsResult<bool> {
        js(self.0.matches(&message.0))
    }

    /// The session's mode.
    #[wasm_bindgen(getter)]
    pub fn mode(&self) -> JsResult<Mode> {
        js(self.0.mode()).map(Mode::from_core)
    }

    /// Whether this side started the session.
    #[wasm_bindgen(getter, js_name = isInitiator)]
    pub fn is_initiator(&self) -> JsResult<bool> {
        js(self.0.is_initiator())
    }

    /// Whether our messages still carry the handshake (no reply decrypted yet).
    #[wasm_bindgen(getter, js_name = awaitingReply)]
    pub fn awaiting_reply(&self) -> JsResult<bool> {
        js(self.0.awaiting_reply())
    }

    /// Whether the handshake was hybrid post-quantum.
    #[wasm_bindgen(getter, js_name = isPostQuantum)]
    pub fn is_post_quantum(&self) -> JsResult<bool> {
        js(self.0.is_post_quantum())
    }

    /// How many skipped message keys are stored.
    #[wasm_bindgen(getter, js_name = skippedKeyCount)]
    pub fn skipped_key_count(&self) -> JsResult<u32> {
        js(self.0.skipped_key_count()).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Our identity key (32 bytes).
    #[wasm_bindgen(getter, js_name = localIdentity)]
    pub fn local_identity(&self) -> JsResult<Uint8Array> {
        js(self.0.local_identity()).map(|k| bytes(&k))
    }

    /// The peer's identity key (32 bytes).
    #[wasm_bindgen(getter, js_name = remoteIdentity)]
    pub fn remote_identity(&self) -> JsResult<Uint8Array> {
        js(self.0.remote_identity()).map(|k| bytes(&k))
    }
}

// ---------------------------------------------------------------------------
// Safety numbers

/// A safety number between two identity keys, for users to compare.
#[wasm_bindgen]
pub struct SafetyNumber(core_api::SafetyNumber);

#[wasm_bindgen]
impl SafetyNumber {
    /// Computes it from each side's stable id (at most 255 bytes, such as
    /// a phone number's UTF-8) and identity key (32 bytes).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = localId)] local_id: &[u8],
        #[wasm_bindgen(js_name = localKey)] local_key: &[u8],
        #[wasm_bindgen(js_name = remoteId)] remote_id: &[u8],
        #[wasm_bindgen(js_name = remoteKey)] remote_key: &[u8],
    ) -> JsResult<SafetyNumber> {
        js(core_api::SafetyNumber::new(local_id, local_key, remote_id, remote_key)).map(Self)
    }

    /// The 60 digits to show.
    #[wasm_bindgen(getter)]
    pub fn displayable(&self) -> String {
        self.0.displayable().to_owned()
    }

    /// The QR code payload.
    #[wasm_bindgen(getter)]
    pub fn scannable(&self) -> Uint8Array {
        bytes(&self.0.scannable())
    }

    /// Checks the other device's scanned payload: `true` if it matches.
    #[wasm_bindgen(js_name = compareScanned)]
    pub fn compare_scanned(&self, scanned: &[u8]) -> JsResult<bool> {
        js(self.0.compare_scanned(scanned))
    }
}
