//! The C ABI of chatcrypt, a thin layer over `chatcrypt-bindings-core`.
//!
//! The conventions (libsodium's): opaque handles made by `*_generate`,
//! `*_from_bytes` and friends and released with `*_free` (NULL is a no-op;
//! freeing wipes the secrets a handle holds); caller-provided output
//! buffers with a capacity and a `size_t *out_len` that always receives the
//! length needed (a capacity below it returns
//! `CHATCRYPT_ERR_BUFFER_TOO_SMALL` and writes nothing else); `int` status
//! codes, `CHATCRYPT_OK` (0) or a negative `CHATCRYPT_ERR_*` named by
//! `chatcrypt_error_name`. No panic crosses the boundary: every function
//! catches unwinding and returns `CHATCRYPT_ERR_PANIC`. NULL pointers are
//! checked and give `CHATCRYPT_ERR_INVALID_ARGUMENT`.

#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(panic = "abort")]
compile_error!("chatcrypt-c turns panics into CHATCRYPT_ERR_PANIC and needs panic = \"unwind\"");

mod messenger;
mod raw;

pub use messenger::*;

use std::{
    cell::RefCell,
    ffi::{c_char, c_int},
    panic::{catch_unwind, AssertUnwindSafe},
};

use chatcrypt_bindings_core as core_api;
use core_api::{Error, ErrorCode};

// ---------------------------------------------------------------------------
// Status codes

/// Success.
pub const CHATCRYPT_OK: c_int = 0;
/// A NULL or misaligned pointer, a wrong length or an unknown enum value.
pub const CHATCRYPT_ERR_INVALID_ARGUMENT: c_int = -1;
/// The output buffer is too small; `*out_len` holds the size needed.
pub const CHATCRYPT_ERR_BUFFER_TOO_SMALL: c_int = -2;
/// A panic was caught (a bug; free the handles the call used).
pub const CHATCRYPT_ERR_PANIC: c_int = -3;
/// The operating system's random generator failed.
pub const CHATCRYPT_ERR_RNG_FAILURE: c_int = -4;
/// A scripted random generator has fewer bytes left than were asked for.
pub const CHATCRYPT_ERR_RNG_EXHAUSTED: c_int = -5;
/// The one-time prekey was consumed by an earlier successful accept.
pub const CHATCRYPT_ERR_CONSUMED: c_int = -6;
/// The session is unusable after an OS random generator failure mid-call.
pub const CHATCRYPT_ERR_UNUSABLE: c_int = -7;
/// A bundle signature does not verify.
pub const CHATCRYPT_ERR_BAD_SIGNATURE: c_int = -10;
/// A Diffie-Hellman output was all zeros (low-order key).
pub const CHATCRYPT_ERR_NON_CONTRIBUTORY: c_int = -11;
/// The prekeys passed are not the ones the message names.
pub const CHATCRYPT_ERR_UNKNOWN_PREKEY: c_int = -12;
/// The message is bound to another identity.
pub const CHATCRYPT_ERR_WRONG_IDENTITY: c_int = -13;
/// A PreKeyMessage of another handshake than this session's.
pub const CHATCRYPT_ERR_HANDSHAKE_MISMATCH: c_int = -14;
/// Authentication failed: forged, tampered or not for this session.
pub const CHATCRYPT_ERR_AUTH: c_int = -15;
/// A replay: the message's key was already used.
pub const CHATCRYPT_ERR_DUPLICATE: c_int = -16;
/// The message would skip more than `MAX_SKIP` keys.
pub const CHATCRYPT_ERR_TOO_FAR_AHEAD: c_int = -17;
/// A plaintext or message is larger than the format allows.
pub const CHATCRYPT_ERR_TOO_LARGE: c_int = -18;
/// The sending chain used up its message numbers.
pub const CHATCRYPT_ERR_COUNTER_EXHAUSTED: c_int = -19;
/// The responder's mode policy refuses the initiator's mode.
pub const CHATCRYPT_ERR_MODE_NOT_ALLOWED: c_int = -20;
/// The handshake would be classical where the policy requires hybrid.
pub const CHATCRYPT_ERR_POST_QUANTUM_REQUIRED: c_int = -21;
/// The device is not on the peer account's device list.
pub const CHATCRYPT_ERR_UNKNOWN_DEVICE: c_int = -22;
/// The peer's device list is signed by another account key, pending the caller's decision (or the key passed is not the pending one).
pub const CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED: c_int = -23;
/// No account key change is pending.
pub const CHATCRYPT_ERR_NO_PENDING_CHANGE: c_int = -24;
/// A device list with an older epoch than the one held.
pub const CHATCRYPT_ERR_DEVICE_LIST_ROLLBACK: c_int = -25;
/// Another device list with the same epoch as the one held.
pub const CHATCRYPT_ERR_DEVICE_LIST_CONFLICT: c_int = -26;
/// No session of the record can take the message (or none to send on).
pub const CHATCRYPT_ERR_NO_SESSION: c_int = -27;
/// Our session is unanswered and too old to send on: start a new one.
pub const CHATCRYPT_ERR_SESSION_EXPIRED: c_int = -28;
/// The bytes passed are not the device's current stored form: persist, then upload.
pub const CHATCRYPT_ERR_NOT_PERSISTED: c_int = -29;
/// The message names an already used key but is no exact replay.
pub const CHATCRYPT_ERR_USED_KEY: c_int = -30;
/// Media layer (not bound yet): unknown SFrame key id.
pub const CHATCRYPT_ERR_UNKNOWN_KEY_ID: c_int = -31;
/// Media layer (not bound yet): SFrame counter too old.
pub const CHATCRYPT_ERR_COUNTER_TOO_OLD: c_int = -32;
/// Media layer (not bound yet): SFrame sender cannot ratchet.
pub const CHATCRYPT_ERR_NO_RATCHET: c_int = -33;
/// Media layer (not bound yet): attachment chunk length.
pub const CHATCRYPT_ERR_CHUNK_LENGTH: c_int = -34;
/// Media layer (not bound yet): attachment stream finished.
pub const CHATCRYPT_ERR_STREAM_FINISHED: c_int = -35;
/// Media layer (not bound yet): attachment stream incomplete.
pub const CHATCRYPT_ERR_STREAM_INCOMPLETE: c_int = -36;
/// Sealed sender and padding: the plaintext's padding is malformed.
pub const CHATCRYPT_ERR_PADDING: c_int = -37;
/// Sealed sender and padding: the sender certificate is not issued by a trusted server key.
pub const CHATCRYPT_ERR_UNTRUSTED_CERTIFICATE: c_int = -38;
/// Sealed sender and padding: the sender certificate is revoked.
pub const CHATCRYPT_ERR_CERTIFICATE_REVOKED: c_int = -39;
/// Sealed sender and padding: the sender certificate has expired.
pub const CHATCRYPT_ERR_CERTIFICATE_EXPIRED: c_int = -40;
/// Sealed sender and padding: the sealed sender's certificate names another sender.
pub const CHATCRYPT_ERR_SENDER_MISMATCH: c_int = -41;
/// An error of a newer chatcrypt than this binding knows.
pub const CHATCRYPT_ERR_OTHER: c_int = -60;
/// Malformed input: it ends too early.
pub const CHATCRYPT_ERR_DECODE_TRUNCATED: c_int = -70;
/// Malformed input: bytes after the end.
pub const CHATCRYPT_ERR_DECODE_TRAILING_BYTES: c_int = -71;
/// Malformed input: unsupported version byte.
pub const CHATCRYPT_ERR_DECODE_UNSUPPORTED_VERSION: c_int = -72;
/// Malformed input: unexpected type or tag byte.
pub const CHATCRYPT_ERR_DECODE_UNEXPECTED_TYPE: c_int = -73;
/// Malformed input: reserved flag bits set.
pub const CHATCRYPT_ERR_DECODE_INVALID_FLAGS: c_int = -74;
/// Malformed input: an invalid or non-canonical public key.
pub const CHATCRYPT_ERR_DECODE_INVALID_PUBLIC_KEY: c_int = -75;
/// Malformed input: a field violates the format.
pub const CHATCRYPT_ERR_DECODE_INVALID_VALUE: c_int = -76;
/// Malformed input: unknown key type.
pub const CHATCRYPT_ERR_DECODE_UNKNOWN_KEY_TYPE: c_int = -77;
/// Malformed input, of a kind newer than this binding knows.
pub const CHATCRYPT_ERR_DECODE_OTHER: c_int = -79;

// ---------------------------------------------------------------------------
// Sizes and enum values

/// Identity public keys, seeds, sealing keys, X25519 prekeys.
pub const CHATCRYPT_KEY_LEN: usize = 32;
/// Ed25519 signatures.
pub const CHATCRYPT_SIGNATURE_LEN: usize = 64;
/// Message ids.
pub const CHATCRYPT_MESSAGE_ID_LEN: usize = 52;
/// The public encoding of an ML-KEM-1024 prekey.
pub const CHATCRYPT_KEM_PREKEY_PUBLIC_LEN: usize = 1637;
/// The stored form of an identity key pair.
pub const CHATCRYPT_IDENTITY_STORED_LEN: usize = 34;
/// The stored form of a signed prekey.
pub const CHATCRYPT_SIGNED_PREKEY_STORED_LEN: usize = 102;
/// The stored form of a one-time prekey.
pub const CHATCRYPT_ONE_TIME_PREKEY_STORED_LEN: usize = 38;
/// The stored form of a KEM prekey.
pub const CHATCRYPT_KEM_PREKEY_STORED_LEN: usize = 135;
/// What sealing adds to a stored form.
pub const CHATCRYPT_SEALED_OVERHEAD: usize = 31;
/// The largest plaintext of one message (1 MiB).
pub const CHATCRYPT_MAX_PLAINTEXT_LEN: usize = 1048576;
/// Digits of a safety number (the C string needs one more byte).
pub const CHATCRYPT_SAFETY_NUMBER_DIGITS: usize = 60;
/// A safety number's QR code payload.
pub const CHATCRYPT_SAFETY_NUMBER_SCANNABLE_LEN: usize = 65;

/// Session mode: headers in clear.
pub const CHATCRYPT_MODE_PLAIN: u32 = 0;
/// Session mode: headers encrypted.
pub const CHATCRYPT_MODE_HEADER_ENCRYPTION: u32 = 1;
/// Responder's mode policy: either mode.
pub const CHATCRYPT_MODE_POLICY_ANY: u32 = 0;
/// Responder's mode policy: header encryption only.
pub const CHATCRYPT_MODE_POLICY_HEADER_ENCRYPTION_ONLY: u32 = 1;
/// Responder's mode policy: plain only.
pub const CHATCRYPT_MODE_POLICY_PLAIN_ONLY: u32 = 2;
/// Post-quantum policy: the hybrid handshake only (the default).
pub const CHATCRYPT_PQ_REQUIRED: u32 = 0;
/// Post-quantum policy: the classical handshake allowed too.
pub const CHATCRYPT_PQ_ALLOW_CLASSICAL: u32 = 1;
/// Message type: carries the handshake (goes to accept for a new peer).
pub const CHATCRYPT_MESSAGE_TYPE_PREKEY: u32 = 1;
/// Message type: an ordinary message.
pub const CHATCRYPT_MESSAGE_TYPE_MESSAGE: u32 = 2;

// The literals above are what the header shows; they must equal the facade's.
const _: () = {
    assert!(CHATCRYPT_KEY_LEN == core_api::KEY_LEN);
    assert!(CHATCRYPT_SIGNATURE_LEN == core_api::SIGNATURE_LEN);
    assert!(CHATCRYPT_MESSAGE_ID_LEN == core_api::MESSAGE_ID_LEN);
    assert!(CHATCRYPT_KEM_PREKEY_PUBLIC_LEN == core_api::KEM_PREKEY_PUBLIC_LEN);
    assert!(CHATCRYPT_IDENTITY_STORED_LEN == core_api::IDENTITY_STORED_LEN);
    assert!(CHATCRYPT_SIGNED_PREKEY_STORED_LEN == core_api::SIGNED_PREKEY_STORED_LEN);
    assert!(CHATCRYPT_ONE_TIME_PREKEY_STORED_LEN == core_api::ONE_TIME_PREKEY_STORED_LEN);
    assert!(CHATCRYPT_KEM_PREKEY_STORED_LEN == core_api::KEM_PREKEY_STORED_LEN);
    assert!(CHATCRYPT_SEALED_OVERHEAD == core_api::SEALED_OVERHEAD);
    assert!(CHATCRYPT_MAX_PLAINTEXT_LEN == core_api::MAX_PLAINTEXT_LEN);
    assert!(CHATCRYPT_SAFETY_NUMBER_DIGITS == core_api::SAFETY_NUMBER_DIGITS);
    assert!(CHATCRYPT_SAFETY_NUMBER_SCANNABLE_LEN == core_api::SAFETY_NUMBER_SCANNABLE_LEN);
};

// ---------------------------------------------------------------------------
// Handles (opaque in C)

/// A random generator: the OS's, or a scripted one for test vectors.
pub struct ChatcryptRng(core_api::Rng);
/// An identity key pair (secret).
pub struct ChatcryptIdentity(core_api::IdentityKeyPair);
/// A signed prekey with its secret.
pub struct ChatcryptSignedPreKey(core_api::SignedPreKey);
/// A one-time prekey with its secret; emptied when an accept consumes it.
pub struct ChatcryptOneTimePreKey(core_api::OneTimePreKey);
/// An ML-KEM-1024 prekey with its seed; a one-time one is emptied when an
/// accept consumes it.
pub struct ChatcryptKemPreKey(core_api::KemPreKey);
/// A prekey bundle (public).
pub struct ChatcryptBundle(core_api::PreKeyBundle);
/// A decoded PreKeyMessage (public).
pub struct ChatcryptPreKeyMessage(core_api::PreKeyMessage);
/// A Double Ratchet session (secret).
pub struct ChatcryptSession(core_api::Session);
/// A safety number between two identity keys.
pub struct ChatcryptSafetyNumber(core_api::SafetyNumber);

// ---------------------------------------------------------------------------
// The boundary

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(detail: String) {
    // `try_with`: during thread teardown the detail is dropped, never a panic.
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = detail;
        }
    });
}

/// Runs one exported function's body: its error becomes its code, and a
/// panic `CHATCRYPT_ERR_PANIC`; either is recorded for
/// `chatcrypt_last_error_detail`.
fn ffi(body: impl FnOnce() -> Result<(), Error>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => CHATCRYPT_OK,
        Ok(Err(e)) => {
            let code = e.code().as_i32();
            let detail = catch_unwind(AssertUnwindSafe(|| e.detail())).unwrap_or_default();
            set_last_error(detail);
            messenger::note_prekey_id(e.prekey_id());
            code
        }
        Err(_) => {
            set_last_error(String::from("Panic"));
            messenger::note_prekey_id(None);
            CHATCRYPT_ERR_PANIC
        }
    }
}

fn bool_int(b: bool) -> c_int {
    c_int::from(b)
}

/// The name of a status code (`"OK"`, `"AUTH"`, `"DECODE_TRUNCATED"`:
/// the constant without `CHATCRYPT_ERR_`), or `"UNKNOWN"`. A static
/// NUL-terminated string; never NULL, never freed.
#[no_mangle]
pub extern "C" fn chatcrypt_error_name(code: c_int) -> *const c_char {
    let name = catch_unwind(|| {
        if code == CHATCRYPT_OK {
            return c"OK";
        }
        match ErrorCode::from_i32(code) {
            Some(c) => c_name(c),
            None => c"UNKNOWN",
        }
    });
    name.unwrap_or(c"UNKNOWN").as_ptr()
}

fn c_name(c: ErrorCode) -> &'static std::ffi::CStr {
    use ErrorCode::*;
    match c {
        InvalidArgument => c"INVALID_ARGUMENT",
        BufferTooSmall => c"BUFFER_TOO_SMALL",
        Panic => c"PANIC",
        RngFailure => c"RNG_FAILURE",
        RngExhausted => c"RNG_EXHAUSTED",
        Consumed => c"CONSUMED",
        Unusable => c"UNUSABLE",
        BadSignature => c"BAD_SIGNATURE",
        NonContributory => c"NON_CONTRIBUTORY",
        UnknownPreKey => c"UNKNOWN_PREKEY",
        WrongIdentity => c"WRONG_IDENTITY",
        HandshakeMismatch => c"HANDSHAKE_MISMATCH",
        Auth => c"AUTH",
        Duplicate => c"DUPLICATE",
        TooFarAhead => c"TOO_FAR_AHEAD",
        TooLarge => c"TOO_LARGE",
        CounterExhausted => c"COUNTER_EXHAUSTED",
        ModeNotAllowed => c"MODE_NOT_ALLOWED",
        PostQuantumRequired => c"POST_QUANTUM_REQUIRED",
        UnknownDevice => c"UNKNOWN_DEVICE",
        AccountKeyChanged => c"ACCOUNT_KEY_CHANGED",
        NoPendingChange => c"NO_PENDING_CHANGE",
        DeviceListRollback => c"DEVICE_LIST_ROLLBACK",
        DeviceListConflict => c"DEVICE_LIST_CONFLICT",
        NoSession => c"NO_SESSION",
        SessionExpired => c"SESSION_EXPIRED",
        NotPersisted => c"NOT_PERSISTED",
        UsedKey => c"USED_KEY",
        UnknownKeyId => c"UNKNOWN_KEY_ID",
        CounterTooOld => c"COUNTER_TOO_OLD",
        NoRatchet => c"NO_RATCHET",
        ChunkLength => c"CHUNK_LENGTH",
        StreamFinished => c"STREAM_FINISHED",
        StreamIncomplete => c"STREAM_INCOMPLETE",
        Padding => c"PADDING",
        UntrustedCertificate => c"UNTRUSTED_CERTIFICATE",
        CertificateRevoked => c"CERTIFICATE_REVOKED",
        CertificateExpired => c"CERTIFICATE_EXPIRED",
        SenderMismatch => c"SENDER_MISMATCH",
        Other => c"OTHER",
        DecodeTruncated => c"DECODE_TRUNCATED",
        DecodeTrailingBytes => c"DECODE_TRAILING_BYTES",
        DecodeUnsupportedVersion => c"DECODE_UNSUPPORTED_VERSION",
        DecodeUnexpectedType => c"DECODE_UNEXPECTED_TYPE",
        DecodeInvalidFlags => c"DECODE_INVALID_FLAGS",
        DecodeInvalidPublicKey => c"DECODE_INVALID_PUBLIC_KEY",
        DecodeInvalidValue => c"DECODE_INVALID_VALUE",
        DecodeUnknownKeyType => c"DECODE_UNKNOWN_KEY_TYPE",
        DecodeOther => c"DECODE_OTHER",
    }
}

/// Writes the last error of this thread with its fields, as a
/// NUL-terminated string, into `buf` (e.g. `"UnknownPreKey { id: 7 }"`,
/// `"Decode(UnsupportedVersion(3))"`: the `Debug` form of
/// `chatcrypt::Error` that the test vectors' `error` fields use). Empty if
/// no call on this thread has failed yet. `*out_len` receives the length
/// with the NUL.
///
/// # Safety
/// `buf` is NULL or valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_last_error_detail(
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    let mut text =
        LAST_ERROR.try_with(|l| l.try_borrow().map(|s| s.clone()).unwrap_or_default()).unwrap_or_default();
    text.push('\0');
    // Not through `ffi`, which would overwrite the detail being read.
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::put(text.as_bytes(), buf.cast(), cap, out_len) }
    }));
    match r {
        Ok(Ok(())) => CHATCRYPT_OK,
        Ok(Err(e)) => e.code().as_i32(),
        Err(_) => CHATCRYPT_ERR_PANIC,
    }
}

// ---------------------------------------------------------------------------
// Randomness

/// A generator over the operating system's randomness; the one to use.
///
/// # Safety
/// `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_rng_os(out: *mut *mut ChatcryptRng) -> c_int {
    // SAFETY: forwarded from the caller.
    ffi(|| unsafe { raw::give(out, ChatcryptRng(core_api::Rng::os())) })
}

/// A generator that yields exactly `bytes` (copied), in order, then fails
/// with `CHATCRYPT_ERR_RNG_EXHAUSTED`. For replaying test vectors only.
///
/// # Safety
/// `bytes` is valid for `len` bytes (or `len` is 0); `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_rng_scripted(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptRng,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let b = raw::bytes(bytes, len)?;
            raw::give(out, ChatcryptRng(core_api::Rng::scripted(b)))
        }
    })
}

/// How many bytes a scripted generator has left
/// (`CHATCRYPT_ERR_INVALID_ARGUMENT` for the OS generator).
///
/// # Safety
/// `rng` is a live handle; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_rng_remaining(rng: *const ChatcryptRng, out: *mut usize) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        let rng = unsafe { raw::obj(rng) }?;
        let n = rng.0.remaining().ok_or(Error::InvalidArgument("not a scripted generator"))?;
        // SAFETY: forwarded from the caller.
        unsafe { raw::write(out, n) }
    })
}

/// Frees a generator (NULL: nothing).
///
/// # Safety
/// `rng` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_rng_free(rng: *mut ChatcryptRng) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(rng) }));
}

// ---------------------------------------------------------------------------
// Handle helpers shared by many functions

/// Runs `f` on a live handle and copies the bytes it returns out.
///
/// # Safety
/// As [`raw::obj`] and [`raw::put`].
unsafe fn bytes_of<T, B: AsRef<[u8]>>(
    handle: *const T,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
    f: impl FnOnce(&T) -> Result<B, Error>,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        let h = unsafe { raw::obj(handle) }?;
        let b = f(h)?;
        // SAFETY: forwarded from the caller.
        unsafe { raw::put(b.as_ref(), out, cap, out_len) }
    })
}

/// Runs `f` on a live handle and writes the value it returns to `*out`.
///
/// # Safety
/// As [`raw::obj`] and [`raw::write`].
unsafe fn value_of<T, V: Copy>(
    handle: *const T,
    out: *mut V,
    f: impl FnOnce(&T) -> Result<V, Error>,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        let h = unsafe { raw::obj(handle) }?;
        let v = f(h)?;
        // SAFETY: forwarded from the caller.
        unsafe { raw::write(out, v) }
    })
}

/// Decodes bytes into a new handle.
///
/// # Safety
/// As [`raw::bytes`] and [`raw::give`].
unsafe fn decode_into<T>(
    bytes: *const u8,
    len: usize,
    out: *mut *mut T,
    f: impl FnOnce(&[u8]) -> Result<T, Error>,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let b = raw::bytes(bytes, len)?;
            raw::give(out, f(b)?)
        }
    })
}

/// Writes an optional id as `*has` (0 or 1) and `*id` (0 when absent).
///
/// # Safety
/// As [`raw::write`] for both.
unsafe fn write_opt_id(v: Option<u32>, has: *mut c_int, id: *mut u32) -> Result<(), Error> {
    // SAFETY: forwarded from the caller.
    unsafe {
        raw::write(has, bool_int(v.is_some()))?;
        raw::write(id, v.unwrap_or(0))
    }
}

// ---------------------------------------------------------------------------
// Identity

/// A new identity key pair (draws 32 bytes).
///
/// # Safety
/// `rng` is a live handle; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_identity_generate(
    rng: *mut ChatcryptRng,
    out: *mut *mut ChatcryptIdentity,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let rng = raw::obj_mut(rng)?;
            raw::give(out, ChatcryptIdentity(core_api::IdentityKeyPair::generate(&mut rng.0)?))
        }
    })
}

/// The identity key pair of a `CHATCRYPT_KEY_LEN`-byte seed.
///
/// # Safety
/// `seed` is valid for `seed_len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_identity_from_seed(
    seed: *const u8,
    seed_len: usize,
    out: *mut *mut ChatcryptIdentity,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(seed, seed_len, out, |s| core_api::IdentityKeyPair::from_seed(s).map(ChatcryptIdentity))
    }
}

/// The 32-byte seed (secret: store it as carefully as the key pair).
///
/// # Safety
/// `identity` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_identity_seed(
    identity: *const ChatcryptIdentity,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(identity, out, cap, out_len, |i| Ok(i.0.seed())) }
}

/// The 32-byte Ed25519 public key.
///
/// # Safety
/// `identity` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_identity_public_key(
    identity: *const ChatcryptIdentity,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(identity, out, cap, out_len, |i| Ok(i.0.public_key())) }
}

/// The stored form (`CHATCRYPT_IDENTITY_STORED_LEN` bytes; secret).
///
/// # Safety
/// `identity` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_identity_to_bytes(
    identity: *const ChatcryptIdentity,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(identity, out, cap, out_len, |i| Ok(i.0.to_bytes())) }
}

/// Restores a stored identity key pair.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_identity_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptIdentity,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::IdentityKeyPair::from_bytes(b).map(ChatcryptIdentity))
    }
}

/// The stored form encrypted under a 32-byte key
/// (`CHATCRYPT_IDENTITY_STORED_LEN + CHATCRYPT_SEALED_OVERHEAD` bytes; draws 12).
///
/// # Safety
/// `identity` and `rng` are live; `key` is valid for `key_len` bytes, `out`
/// for `cap`; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_identity_seal(
    identity: *const ChatcryptIdentity,
    key: *const u8,
    key_len: usize,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let i = raw::obj(identity)?;
            let k = raw::bytes(key, key_len)?;
            let rng = raw::obj_mut(rng)?;
            let needed = CHATCRYPT_IDENTITY_STORED_LEN + CHATCRYPT_SEALED_OVERHEAD;
            raw::write(out_len, needed)?;
            if cap < needed {
                return Err(Error::BufferTooSmall { needed });
            }
            let sealed = i.0.seal(k, &mut rng.0)?;
            raw::put(&sealed, out, cap, out_len)
        }
    })
}

/// Opens a sealed identity key pair.
///
/// # Safety
/// `key` and `bytes` are valid for their lengths; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_identity_open(
    key: *const u8,
    key_len: usize,
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptIdentity,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let k = raw::bytes(key, key_len)?;
            let b = raw::bytes(bytes, len)?;
            raw::give(out, ChatcryptIdentity(core_api::IdentityKeyPair::open(k, b)?))
        }
    })
}

/// Checks that `key` is a valid identity public key (32 bytes, the canonical
/// encoding of an Ed25519 point): `CHATCRYPT_OK`, or the decoding error
/// chatcrypt gives for it (`CHATCRYPT_ERR_INVALID_ARGUMENT` for a wrong length).
///
/// # Safety
/// `key` is valid for `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_identity_key_check(key: *const u8, key_len: usize) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        let k = unsafe { raw::bytes(key, key_len) }?;
        core_api::identity_key_check(k)
    })
}

/// Frees an identity key pair and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_identity_free(handle: *mut ChatcryptIdentity) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(handle) }));
}

// ---------------------------------------------------------------------------
// Signed prekeys

/// A new signed prekey with id `id`, signed by `identity` (draws 32 bytes).
///
/// # Safety
/// `identity` and `rng` are live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_signed_prekey_generate(
    identity: *const ChatcryptIdentity,
    id: u32,
    rng: *mut ChatcryptRng,
    out: *mut *mut ChatcryptSignedPreKey,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let identity = raw::obj(identity)?;
            let rng = raw::obj_mut(rng)?;
            let k = core_api::SignedPreKey::generate(&identity.0, id, &mut rng.0)?;
            raw::give(out, ChatcryptSignedPreKey(k))
        }
    })
}

/// Restores a stored signed prekey.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_signed_prekey_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptSignedPreKey,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::SignedPreKey::from_bytes(b).map(ChatcryptSignedPreKey))
    }
}

/// The stored form (`CHATCRYPT_SIGNED_PREKEY_STORED_LEN` bytes; secret).
///
/// # Safety
/// `key` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_signed_prekey_to_bytes(
    key: *const ChatcryptSignedPreKey,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(key, out, cap, out_len, |k| Ok(k.0.to_bytes())) }
}

/// The prekey's id.
///
/// # Safety
/// `key` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_signed_prekey_id(
    key: *const ChatcryptSignedPreKey,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(key, out, |k| Ok(k.0.id())) }
}

/// The 32-byte X25519 public key.
///
/// # Safety
/// `key` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_signed_prekey_public_key(
    key: *const ChatcryptSignedPreKey,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(key, out, cap, out_len, |k| Ok(k.0.public_key())) }
}

/// The 64-byte signature over the public key.
///
/// # Safety
/// `key` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_signed_prekey_signature(
    key: *const ChatcryptSignedPreKey,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(key, out, cap, out_len, |k| Ok(k.0.signature())) }
}

/// Frees a signed prekey and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_signed_prekey_free(handle: *mut ChatcryptSignedPreKey) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(handle) }));
}

// ---------------------------------------------------------------------------
// One-time prekeys

/// A new one-time prekey with id `id` (draws 32 bytes).
///
/// # Safety
/// `rng` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_one_time_prekey_generate(
    id: u32,
    rng: *mut ChatcryptRng,
    out: *mut *mut ChatcryptOneTimePreKey,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let rng = raw::obj_mut(rng)?;
            raw::give(out, ChatcryptOneTimePreKey(core_api::OneTimePreKey::generate(id, &mut rng.0)?))
        }
    })
}

/// Restores a stored one-time prekey.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_one_time_prekey_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptOneTimePreKey,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::OneTimePreKey::from_bytes(b).map(ChatcryptOneTimePreKey))
    }
}

/// The stored form (`CHATCRYPT_ONE_TIME_PREKEY_STORED_LEN` bytes; secret);
/// `CHATCRYPT_ERR_CONSUMED` once an accept used it.
///
/// # Safety
/// `key` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_one_time_prekey_to_bytes(
    key: *const ChatcryptOneTimePreKey,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(key, out, cap, out_len, |k| k.0.to_bytes()) }
}

/// The prekey's id (`CHATCRYPT_ERR_CONSUMED` once used).
///
/// # Safety
/// `key` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_one_time_prekey_id(
    key: *const ChatcryptOneTimePreKey,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(key, out, |k| k.0.id()) }
}

/// The 32-byte X25519 public key (`CHATCRYPT_ERR_CONSUMED` once used).
///
/// # Safety
/// `key` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_one_time_prekey_public_key(
    key: *const ChatcryptOneTimePreKey,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(key, out, cap, out_len, |k| k.0.public_key()) }
}

/// `*out` = 1 if a successful accept consumed the prekey, else 0.
///
/// # Safety
/// `key` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_one_time_prekey_is_consumed(
    key: *const ChatcryptOneTimePreKey,
    out: *mut c_int,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(key, out, |k| Ok(bool_int(k.0.is_consumed()))) }
}

/// Frees a one-time prekey and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_one_time_prekey_free(handle: *mut ChatcryptOneTimePreKey) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(handle) }));
}

// ---------------------------------------------------------------------------
// KEM prekeys

/// A new ML-KEM-1024 prekey with id `id`, signed by `identity` (draws 64 bytes).
///
/// # Safety
/// `identity` and `rng` are live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_kem_prekey_generate(
    identity: *const ChatcryptIdentity,
    id: u32,
    rng: *mut ChatcryptRng,
    out: *mut *mut ChatcryptKemPreKey,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let identity = raw::obj(identity)?;
            let rng = raw::obj_mut(rng)?;
            raw::give(out, ChatcryptKemPreKey(core_api::KemPreKey::generate(&identity.0, id, &mut rng.0)?))
        }
    })
}

/// Restores a stored KEM prekey.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_kem_prekey_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptKemPreKey,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { decode_into(bytes, len, out, |b| core_api::KemPreKey::from_bytes(b).map(ChatcryptKemPreKey)) }
}

/// The stored form (`CHATCRYPT_KEM_PREKEY_STORED_LEN` bytes; secret);
/// `CHATCRYPT_ERR_CONSUMED` once a one-time accept used it.
///
/// # Safety
/// `key` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_kem_prekey_to_bytes(
    key: *const ChatcryptKemPreKey,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(key, out, cap, out_len, |k| k.0.to_bytes()) }
}

/// The prekey's id.
///
/// # Safety
/// `key` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_kem_prekey_id(key: *const ChatcryptKemPreKey, out: *mut u32) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(key, out, |k| k.0.id()) }
}

/// The prekey's KEM type byte (1: ML-KEM-1024).
///
/// # Safety
/// `key` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_kem_prekey_kem_type(
    key: *const ChatcryptKemPreKey,
    out: *mut u8,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(key, out, |k| k.0.kem_type()) }
}

/// The public encoding for bundles and uploads (`CHATCRYPT_KEM_PREKEY_PUBLIC_LEN` bytes).
///
/// # Safety
/// `key` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_kem_prekey_public(
    key: *const ChatcryptKemPreKey,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(key, out, cap, out_len, |k| k.0.public_bytes()) }
}

/// `*out` = 1 if a successful one-time accept consumed the prekey, else 0.
///
/// # Safety
/// `key` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_kem_prekey_is_consumed(
    key: *const ChatcryptKemPreKey,
    out: *mut c_int,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(key, out, |k| Ok(bool_int(k.0.is_consumed()))) }
}

/// Frees a KEM prekey and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_kem_prekey_free(handle: *mut ChatcryptKemPreKey) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(handle) }));
}

// ---------------------------------------------------------------------------
// Bundles

/// The bundle of our own keys, to publish: `one_time_prekey` and
/// `kem_prekey` may be NULL (a bundle without a KEM prekey gives a
/// classical handshake, which initiators refuse by default).
///
/// # Safety
/// Non-NULL handles are live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_bundle_new(
    identity: *const ChatcryptIdentity,
    signed_prekey: *const ChatcryptSignedPreKey,
    one_time_prekey: *const ChatcryptOneTimePreKey,
    kem_prekey: *const ChatcryptKemPreKey,
    out: *mut *mut ChatcryptBundle,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let identity = raw::obj(identity)?;
            let spk = raw::obj(signed_prekey)?;
            let opk = raw::opt_obj(one_time_prekey)?;
            let kem = raw::opt_obj(kem_prekey)?;
            let b = core_api::PreKeyBundle::new(&identity.0, &spk.0, opk.map(|k| &k.0), kem.map(|k| &k.0))?;
            raw::give(out, ChatcryptBundle(b))
        }
    })
}

/// A bundle from published public parts (a key server's view): identity
/// key (32 bytes), signed prekey id, key (32) and signature (64); a
/// one-time prekey if `one_time_prekey` is not NULL (its id and 32-byte
/// key); a KEM prekey's public encoding if `kem_prekey_len` is not 0. Not
/// verified (`chatcrypt_bundle_verify`).
///
/// # Safety
/// Each non-NULL pointer is valid for its length; `out` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_bundle_from_parts(
    identity_key: *const u8,
    identity_key_len: usize,
    signed_prekey_id: u32,
    signed_prekey: *const u8,
    signed_prekey_len: usize,
    signature: *const u8,
    signature_len: usize,
    one_time_prekey_id: u32,
    one_time_prekey: *const u8,
    one_time_prekey_len: usize,
    kem_prekey: *const u8,
    kem_prekey_len: usize,
    out: *mut *mut ChatcryptBundle,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let ik = raw::bytes(identity_key, identity_key_len)?;
            let spk = raw::bytes(signed_prekey, signed_prekey_len)?;
            let sig = raw::bytes(signature, signature_len)?;
            let opk = if one_time_prekey.is_null() {
                None
            } else {
                Some((one_time_prekey_id, raw::bytes(one_time_prekey, one_time_prekey_len)?))
            };
            let kem = if kem_prekey_len == 0 { None } else { Some(raw::bytes(kem_prekey, kem_prekey_len)?) };
            let b = core_api::PreKeyBundle::from_parts(ik, signed_prekey_id, spk, sig, opk, kem)?;
            raw::give(out, ChatcryptBundle(b))
        }
    })
}

/// Decodes a bundle (not verified; `chatcrypt_session_initiate` verifies).
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_bundle_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptBundle,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { decode_into(bytes, len, out, |b| core_api::PreKeyBundle::from_bytes(b).map(ChatcryptBundle)) }
}

/// The wire encoding.
///
/// # Safety
/// `bundle` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_bundle_to_bytes(
    bundle: *const ChatcryptBundle,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(bundle, out, cap, out_len, |b| Ok(b.0.to_bytes())) }
}

/// Checks the prekeys' encodings and signatures.
///
/// # Safety
/// `bundle` is live.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_bundle_verify(bundle: *const ChatcryptBundle) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::obj(bundle) }?.0.verify()
    })
}

/// The owner's 32-byte identity key.
///
/// # Safety
/// `bundle` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_bundle_identity_key(
    bundle: *const ChatcryptBundle,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(bundle, out, cap, out_len, |b| Ok(b.0.identity_key())) }
}

/// The ids of the bundle's prekeys: signed; one-time and KEM with `*has_*`
/// set to 1 if present (0 and id 0 if not).
///
/// # Safety
/// `bundle` is live; every out-pointer is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_bundle_prekey_ids(
    bundle: *const ChatcryptBundle,
    signed_prekey_id: *mut u32,
    has_one_time_prekey: *mut c_int,
    one_time_prekey_id: *mut u32,
    has_kem_prekey: *mut c_int,
    kem_prekey_id: *mut u32,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let b = &raw::obj(bundle)?.0;
            raw::write(signed_prekey_id, b.signed_prekey_id())?;
            write_opt_id(b.one_time_prekey_id(), has_one_time_prekey, one_time_prekey_id)?;
            write_opt_id(b.kem_prekey_id(), has_kem_prekey, kem_prekey_id)
        }
    })
}

/// Frees a bundle and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_bundle_free(handle: *mut ChatcryptBundle) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(handle) }));
}

// ---------------------------------------------------------------------------
// Messages

/// `*out` = `CHATCRYPT_MESSAGE_TYPE_PREKEY` or `CHATCRYPT_MESSAGE_TYPE_MESSAGE`,
/// from the version and type bytes only.
///
/// # Safety
/// `message` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_message_type(message: *const u8, len: usize, out: *mut u32) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let m = raw::bytes(message, len)?;
            raw::write(out, core_api::message_type(m)? as u32)
        }
    })
}

/// Decodes a PreKeyMessage, to read the prekey ids it names before accepting it.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_message_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptPreKeyMessage,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::PreKeyMessage::from_bytes(b).map(ChatcryptPreKeyMessage))
    }
}

/// The prekey ids the message names: signed; one-time and KEM with
/// `*has_*` set to 1 if named (0 and id 0 if not).
///
/// # Safety
/// `message` is live; every out-pointer is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_message_prekey_ids(
    message: *const ChatcryptPreKeyMessage,
    signed_prekey_id: *mut u32,
    has_one_time_prekey: *mut c_int,
    one_time_prekey_id: *mut u32,
    has_kem_prekey: *mut c_int,
    kem_prekey_id: *mut u32,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let m = &raw::obj(message)?.0;
            raw::write(signed_prekey_id, m.signed_prekey_id())?;
            write_opt_id(m.one_time_prekey_id(), has_one_time_prekey, one_time_prekey_id)?;
            write_opt_id(m.kem_prekey_id().map(|(_, id)| id), has_kem_prekey, kem_prekey_id)
        }
    })
}

/// The sender's 32-byte identity key (authenticated only once accept succeeds).
///
/// # Safety
/// `message` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_message_sender_identity(
    message: *const ChatcryptPreKeyMessage,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(message, out, cap, out_len, |m| Ok(m.0.sender_identity())) }
}

/// The initiator's 32-byte base key (for the last-resort replay check, SPEC.md §16.7).
///
/// # Safety
/// `message` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_message_base_key(
    message: *const ChatcryptPreKeyMessage,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(message, out, cap, out_len, |m| Ok(m.0.base_key())) }
}

/// The mode the initiator chose (`CHATCRYPT_MODE_*`) and whether the
/// handshake is hybrid (1) or classical (0).
///
/// # Safety
/// `message` is live; both out-pointers are valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_message_kind(
    message: *const ChatcryptPreKeyMessage,
    mode: *mut u32,
    is_post_quantum: *mut c_int,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let m = &raw::obj(message)?.0;
            raw::write(mode, m.mode() as u32)?;
            raw::write(is_post_quantum, bool_int(m.is_post_quantum()))
        }
    })
}

/// Frees a decoded PreKeyMessage and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_message_free(handle: *mut ChatcryptPreKeyMessage) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(handle) }));
}

// ---------------------------------------------------------------------------
// Sessions

/// Starts a session from a peer's bundle in `mode` (`CHATCRYPT_MODE_*`)
/// under `pq` (`CHATCRYPT_PQ_*`). Draws 32 + 32 bytes, 32 more if hybrid.
///
/// # Safety
/// `identity`, `bundle` and `rng` are live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_initiate(
    identity: *const ChatcryptIdentity,
    bundle: *const ChatcryptBundle,
    mode: u32,
    pq: u32,
    rng: *mut ChatcryptRng,
    out: *mut *mut ChatcryptSession,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let identity = raw::obj(identity)?;
            let bundle = raw::obj(bundle)?;
            let rng = raw::obj_mut(rng)?;
            let mode = core_api::Mode::from_u32(mode)?;
            let pq = core_api::PqPolicy::from_u32(pq)?;
            let s = core_api::Session::initiate(&identity.0, &bundle.0, mode, pq, &mut rng.0)?;
            raw::give(out, ChatcryptSession(s))
        }
    })
}

/// Accepts a session from a peer's first PreKeyMessage and decrypts it.
///
/// `one_time_prekey` and `kem_prekey` may be NULL (pass the ones the
/// message names, see `chatcrypt_prekey_message_prekey_ids`);
/// `kem_one_time` is 1 for a one-time KEM prekey, 0 for the last-resort
/// one. On success the one-time prekeys are consumed (emptied: delete them
/// from storage as you store the session); on failure they are unchanged.
/// `plaintext` needs at least the message's length in capacity (checked
/// before any work; `*plaintext_len` gets the plaintext's length);
/// `message_id` is NULL or has `message_id_cap` >= `CHATCRYPT_MESSAGE_ID_LEN`;
/// no two output buffers may overlap (`CHATCRYPT_ERR_INVALID_ARGUMENT`).
/// Draws 32 bytes.
///
/// # Safety
/// Non-NULL handles are live; buffers are valid for their capacities;
/// `out` and `plaintext_len` are valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_session_accept(
    identity: *const ChatcryptIdentity,
    signed_prekey: *const ChatcryptSignedPreKey,
    one_time_prekey: *mut ChatcryptOneTimePreKey,
    kem_prekey: *mut ChatcryptKemPreKey,
    kem_one_time: c_int,
    message: *const ChatcryptPreKeyMessage,
    mode_policy: u32,
    pq: u32,
    rng: *mut ChatcryptRng,
    out: *mut *mut ChatcryptSession,
    plaintext: *mut u8,
    plaintext_cap: usize,
    plaintext_len: *mut usize,
    message_id: *mut u8,
    message_id_cap: usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let identity = raw::obj(identity)?;
            let spk = raw::obj(signed_prekey)?;
            let opk = raw::opt_obj_mut(one_time_prekey)?;
            let kem = raw::opt_obj_mut(kem_prekey)?;
            raw::disjoint(&[
                (plaintext.cast_const(), plaintext_cap),
                (message_id.cast_const(), message_id_cap),
                (plaintext_len.cast_const().cast(), core::mem::size_of::<usize>()),
                (out.cast_const().cast(), core::mem::size_of::<*mut ChatcryptSession>()),
            ])?;
            let message = raw::obj(message)?;
            let rng = raw::obj_mut(rng)?;
            let mode_policy = core_api::ModePolicy::from_u32(mode_policy)?;
            let pq = core_api::PqPolicy::from_u32(pq)?;
            let needed = message.0.as_bytes().len();
            raw::write(plaintext_len, needed)?;
            if plaintext_cap < needed {
                return Err(Error::BufferTooSmall { needed });
            }
            let pt_out = raw::bytes_mut(plaintext, needed)?;
            let id_out = id_buffer(message_id, message_id_cap)?;
            if out.is_null() || !out.is_aligned() {
                return Err(Error::InvalidArgument("NULL or misaligned handle out-parameter"));
            }
            let kem_use = kem.map(|k| {
                if kem_one_time != 0 {
                    core_api::KemPreKeyUse::OneTime(&mut k.0)
                } else {
                    core_api::KemPreKeyUse::LastResort(&k.0)
                }
            });
            let acc = core_api::Session::accept(
                &identity.0,
                &spk.0,
                opk.map(|k| &mut k.0),
                kem_use,
                &message.0,
                mode_policy,
                pq,
                &mut rng.0,
            )?;
            let n = acc.plaintext.len();
            pt_out.get_mut(..n).ok_or(Error::BufferTooSmall { needed: n })?.copy_from_slice(&acc.plaintext);
            raw::write(plaintext_len, n)?;
            if let Some(id) = id_out {
                id.copy_from_slice(&acc.message_id);
            }
            raw::give(out, ChatcryptSession(acc.session))
        }
    })
}

/// The message id output: NULL, or at least `CHATCRYPT_MESSAGE_ID_LEN` bytes.
///
/// # Safety
/// As [`raw::bytes_mut`].
unsafe fn id_buffer<'a>(ptr: *mut u8, cap: usize) -> Result<Option<&'a mut [u8]>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    if cap < CHATCRYPT_MESSAGE_ID_LEN {
        return Err(Error::BufferTooSmall { needed: CHATCRYPT_MESSAGE_ID_LEN });
    }
    // SAFETY: forwarded from the caller.
    unsafe { raw::bytes_mut(ptr, CHATCRYPT_MESSAGE_ID_LEN) }.map(Some)
}

/// `*out` = the length of the message that encrypting `plaintext_len`
/// bytes gives now.
///
/// # Safety
/// `session` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_encrypted_len(
    session: *const ChatcryptSession,
    plaintext_len: usize,
    out: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(session, out, |s| s.0.encrypted_len(plaintext_len)) }
}

/// Encrypts `plaintext` into `out` (capacity from
/// `chatcrypt_session_encrypted_len`; a smaller one fails before anything
/// is drawn or changed). `out` must not overlap `plaintext` or `out_len`:
/// in-place encryption is refused with `CHATCRYPT_ERR_INVALID_ARGUMENT`.
/// Draws 16 bytes (the message's reuse guard). Store the session
/// afterwards. If the OS generator fails in the middle of the call, the
/// session is left unusable (`CHATCRYPT_ERR_UNUSABLE` afterwards: restore
/// it from its stored form); on any other error it is unchanged.
///
/// # Safety
/// `session` and `rng` are live; buffers are valid for their lengths;
/// `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_encrypt(
    session: *mut ChatcryptSession,
    rng: *mut ChatcryptRng,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[
                (plaintext, plaintext_len),
                (out.cast_const(), out_cap),
                (out_len.cast_const().cast(), core::mem::size_of::<usize>()),
            ])?;
            let s = raw::obj_mut(session)?;
            let rng = raw::obj_mut(rng)?;
            let pt = raw::bytes(plaintext, plaintext_len)?;
            let needed = s.0.encrypted_len(pt.len())?;
            raw::write(out_len, needed)?;
            if out_cap < needed {
                return Err(Error::BufferTooSmall { needed });
            }
            let buf = raw::bytes_mut(out, needed)?;
            let n = s.0.encrypt_into(pt, buf, &mut rng.0)?;
            raw::write(out_len, n)
        }
    })
}

/// Decrypts `message` into `out` (no two buffers may overlap: refused with
/// `CHATCRYPT_ERR_INVALID_ARGUMENT`; a capacity of the message's length
/// always suffices; too small fails before any work with the exact need in
/// `*out_len`). `message_id` is NULL or has `message_id_cap` >=
/// `CHATCRYPT_MESSAGE_ID_LEN`. Draws 32 bytes (the next ratchet key pair)
/// when the message starts a new ratchet step, nothing otherwise. On any
/// error the session is unchanged, with one exception: if the OS generator
/// (`chatcrypt_rng_os`) fails in the middle of the call, the session is
/// left unusable: this and every later call on it returns
/// `CHATCRYPT_ERR_UNUSABLE`; free it and restore it from its stored form
/// (`chatcrypt_session_from_bytes` / `chatcrypt_session_open`). A scripted
/// generator that runs dry leaves the session as it was.
///
/// # Safety
/// `session` and `rng` are live; buffers are valid for their lengths;
/// `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_session_decrypt(
    session: *mut ChatcryptSession,
    rng: *mut ChatcryptRng,
    message: *const u8,
    message_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    message_id: *mut u8,
    message_id_cap: usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[
                (message, message_len),
                (out.cast_const(), out_cap),
                (message_id.cast_const(), message_id_cap),
                (out_len.cast_const().cast(), core::mem::size_of::<usize>()),
            ])?;
            let s = raw::obj_mut(session)?;
            let rng = raw::obj_mut(rng)?;
            let m = raw::bytes(message, message_len)?;
            raw::write(out_len, 0)?;
            let buf = raw::bytes_mut(out, out_cap)?;
            let id_out = id_buffer(message_id, message_id_cap)?;
            match s.0.decrypt_into(m, buf, &mut rng.0) {
                Ok((n, id)) => {
                    if let Some(dst) = id_out {
                        dst.copy_from_slice(&id);
                    }
                    raw::write(out_len, n)
                }
                Err(e) => {
                    if let Some(needed) = e.needed() {
                        raw::write(out_len, needed)?;
                    }
                    Err(e)
                }
            }
        }
    })
}

/// The stored form (secret; `chatcrypt_session_encoded_len` bytes). Store
/// it after every successful call that changed the session.
///
/// # Safety
/// `session` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_to_bytes(
    session: *const ChatcryptSession,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(session, out, cap, out_len, |s| s.0.to_bytes()) }
}

/// `*out` = the length of the stored form.
///
/// # Safety
/// `session` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_encoded_len(
    session: *const ChatcryptSession,
    out: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(session, out, |s| s.0.encoded_len()) }
}

/// Restores a stored session.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptSession,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { decode_into(bytes, len, out, |b| core_api::Session::from_bytes(b).map(ChatcryptSession)) }
}

/// The stored form encrypted under a 32-byte key (`encoded_len +
/// CHATCRYPT_SEALED_OVERHEAD` bytes; draws 12).
///
/// # Safety
/// `session` and `rng` are live; `key` is valid for `key_len` bytes; `out`
/// for `cap`; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_session_seal(
    session: *const ChatcryptSession,
    key: *const u8,
    key_len: usize,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let s = raw::obj(session)?;
            let k = raw::bytes(key, key_len)?;
            let rng = raw::obj_mut(rng)?;
            let needed = s.0.encoded_len()? + CHATCRYPT_SEALED_OVERHEAD;
            raw::write(out_len, needed)?;
            if cap < needed {
                return Err(Error::BufferTooSmall { needed });
            }
            let sealed = s.0.seal(k, &mut rng.0)?;
            raw::put(&sealed, out, cap, out_len)
        }
    })
}

/// Opens a sealed session.
///
/// # Safety
/// `key` and `bytes` are valid for their lengths; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_open(
    key: *const u8,
    key_len: usize,
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptSession,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let k = raw::bytes(key, key_len)?;
            let b = raw::bytes(bytes, len)?;
            raw::give(out, ChatcryptSession(core_api::Session::open(k, b)?))
        }
    })
}

/// The session's state: `*mode` (`CHATCRYPT_MODE_*`), and 0/1 flags for
/// initiator, awaiting a reply (our messages still carry the handshake)
/// and hybrid post-quantum handshake; `*skipped_keys` stored skipped keys.
/// Any out-pointer may be NULL to skip it.
///
/// # Safety
/// `session` is live; non-NULL out-pointers are valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_info(
    session: *const ChatcryptSession,
    mode: *mut u32,
    is_initiator: *mut c_int,
    awaiting_reply: *mut c_int,
    is_post_quantum: *mut c_int,
    skipped_keys: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let s = &raw::obj(session)?.0;
            if !mode.is_null() {
                raw::write(mode, s.mode()? as u32)?;
            }
            if !is_initiator.is_null() {
                raw::write(is_initiator, bool_int(s.is_initiator()?))?;
            }
            if !awaiting_reply.is_null() {
                raw::write(awaiting_reply, bool_int(s.awaiting_reply()?))?;
            }
            if !is_post_quantum.is_null() {
                raw::write(is_post_quantum, bool_int(s.is_post_quantum()?))?;
            }
            if !skipped_keys.is_null() {
                raw::write(skipped_keys, s.skipped_key_count()?)?;
            }
            Ok(())
        }
    })
}

/// The peer's 32-byte identity key.
///
/// # Safety
/// `session` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_remote_identity(
    session: *const ChatcryptSession,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(session, out, cap, out_len, |s| s.0.remote_identity()) }
}

/// Our own 32-byte identity key.
///
/// # Safety
/// `session` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_local_identity(
    session: *const ChatcryptSession,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(session, out, cap, out_len, |s| s.0.local_identity()) }
}

/// `*out` = 1 if `message` is a PreKeyMessage of the handshake that made
/// this (responder) session (pass it to `chatcrypt_session_decrypt`), else 0.
///
/// # Safety
/// `session` and `message` are live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_matches(
    session: *const ChatcryptSession,
    message: *const ChatcryptPreKeyMessage,
    out: *mut c_int,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let s = raw::obj(session)?;
            let m = raw::obj(message)?;
            raw::write(out, bool_int(s.0.matches(&m.0)?))
        }
    })
}

/// Frees a session and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_free(handle: *mut ChatcryptSession) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(handle) }));
}

// ---------------------------------------------------------------------------
// Safety numbers

/// The safety number between our identity key and the peer's, each with a
/// stable id (at most 255 bytes, e.g. a phone number or user id).
///
/// # Safety
/// Each pointer is valid for its length; `out` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_safety_number_new(
    local_id: *const u8,
    local_id_len: usize,
    local_key: *const u8,
    local_key_len: usize,
    remote_id: *const u8,
    remote_id_len: usize,
    remote_key: *const u8,
    remote_key_len: usize,
    out: *mut *mut ChatcryptSafetyNumber,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let n = core_api::SafetyNumber::new(
                raw::bytes(local_id, local_id_len)?,
                raw::bytes(local_key, local_key_len)?,
                raw::bytes(remote_id, remote_id_len)?,
                raw::bytes(remote_key, remote_key_len)?,
            )?;
            raw::give(out, ChatcryptSafetyNumber(n))
        }
    })
}

/// The 60 digits as a NUL-terminated string (`cap` >= 61).
///
/// # Safety
/// `number` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_safety_number_displayable(
    number: *const ChatcryptSafetyNumber,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        bytes_of(number, out.cast(), cap, out_len, |n| {
            let mut s = n.0.displayable().as_bytes().to_vec();
            s.push(0);
            Ok(s)
        })
    }
}

/// The QR code payload (`CHATCRYPT_SAFETY_NUMBER_SCANNABLE_LEN` bytes).
///
/// # Safety
/// `number` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_safety_number_scannable(
    number: *const ChatcryptSafetyNumber,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(number, out, cap, out_len, |n| Ok(n.0.scannable())) }
}

/// `*matches` = 1 if the other device's scanned payload matches, else 0.
///
/// # Safety
/// `number` is live; `scanned` is valid for `len` bytes; `matches` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_safety_number_compare(
    number: *const ChatcryptSafetyNumber,
    scanned: *const u8,
    len: usize,
    matches: *mut c_int,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let n = raw::obj(number)?;
            let s = raw::bytes(scanned, len)?;
            raw::write(matches, bool_int(n.0.compare_scanned(s)?))
        }
    })
}

/// Frees a safety number and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_safety_number_free(handle: *mut ChatcryptSafetyNumber) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(handle) }));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    #[test]
    fn a_panic_becomes_a_code_and_a_detail() {
        assert_eq!(ffi(|| panic!("a bug")), CHATCRYPT_ERR_PANIC);
        let mut buf = [0 as c_char; 16];
        let mut len = 0usize;
        // SAFETY: a 16-byte buffer and a valid length pointer.
        let rc = unsafe { chatcrypt_last_error_detail(buf.as_mut_ptr(), buf.len(), &mut len) };
        assert_eq!(rc, CHATCRYPT_OK);
        assert_eq!(len, 6);
        // SAFETY: the function wrote a NUL-terminated string into `buf`.
        let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(text.to_str().unwrap(), "Panic");
        assert_eq!(ffi(|| Err(Error::Consumed)), CHATCRYPT_ERR_CONSUMED);
        assert_eq!(ffi(|| Ok(())), CHATCRYPT_OK);
    }

    #[test]
    fn status_constants_match_the_facade_codes_and_names() {
        let all = [
            (CHATCRYPT_ERR_INVALID_ARGUMENT, ErrorCode::InvalidArgument),
            (CHATCRYPT_ERR_BUFFER_TOO_SMALL, ErrorCode::BufferTooSmall),
            (CHATCRYPT_ERR_PANIC, ErrorCode::Panic),
            (CHATCRYPT_ERR_RNG_FAILURE, ErrorCode::RngFailure),
            (CHATCRYPT_ERR_RNG_EXHAUSTED, ErrorCode::RngExhausted),
            (CHATCRYPT_ERR_CONSUMED, ErrorCode::Consumed),
            (CHATCRYPT_ERR_UNUSABLE, ErrorCode::Unusable),
            (CHATCRYPT_ERR_BAD_SIGNATURE, ErrorCode::BadSignature),
            (CHATCRYPT_ERR_NON_CONTRIBUTORY, ErrorCode::NonContributory),
            (CHATCRYPT_ERR_UNKNOWN_PREKEY, ErrorCode::UnknownPreKey),
            (CHATCRYPT_ERR_WRONG_IDENTITY, ErrorCode::WrongIdentity),
            (CHATCRYPT_ERR_HANDSHAKE_MISMATCH, ErrorCode::HandshakeMismatch),
            (CHATCRYPT_ERR_AUTH, ErrorCode::Auth),
            (CHATCRYPT_ERR_DUPLICATE, ErrorCode::Duplicate),
            (CHATCRYPT_ERR_TOO_FAR_AHEAD, ErrorCode::TooFarAhead),
            (CHATCRYPT_ERR_TOO_LARGE, ErrorCode::TooLarge),
            (CHATCRYPT_ERR_COUNTER_EXHAUSTED, ErrorCode::CounterExhausted),
            (CHATCRYPT_ERR_MODE_NOT_ALLOWED, ErrorCode::ModeNotAllowed),
            (CHATCRYPT_ERR_POST_QUANTUM_REQUIRED, ErrorCode::PostQuantumRequired),
            (CHATCRYPT_ERR_UNKNOWN_DEVICE, ErrorCode::UnknownDevice),
            (CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED, ErrorCode::AccountKeyChanged),
            (CHATCRYPT_ERR_NO_PENDING_CHANGE, ErrorCode::NoPendingChange),
            (CHATCRYPT_ERR_DEVICE_LIST_ROLLBACK, ErrorCode::DeviceListRollback),
            (CHATCRYPT_ERR_DEVICE_LIST_CONFLICT, ErrorCode::DeviceListConflict),
            (CHATCRYPT_ERR_NO_SESSION, ErrorCode::NoSession),
            (CHATCRYPT_ERR_SESSION_EXPIRED, ErrorCode::SessionExpired),
            (CHATCRYPT_ERR_NOT_PERSISTED, ErrorCode::NotPersisted),
            (CHATCRYPT_ERR_USED_KEY, ErrorCode::UsedKey),
            (CHATCRYPT_ERR_UNKNOWN_KEY_ID, ErrorCode::UnknownKeyId),
            (CHATCRYPT_ERR_COUNTER_TOO_OLD, ErrorCode::CounterTooOld),
            (CHATCRYPT_ERR_NO_RATCHET, ErrorCode::NoRatchet),
            (CHATCRYPT_ERR_CHUNK_LENGTH, ErrorCode::ChunkLength),
            (CHATCRYPT_ERR_STREAM_FINISHED, ErrorCode::StreamFinished),
            (CHATCRYPT_ERR_STREAM_INCOMPLETE, ErrorCode::StreamIncomplete),
            (CHATCRYPT_ERR_PADDING, ErrorCode::Padding),
            (CHATCRYPT_ERR_UNTRUSTED_CERTIFICATE, ErrorCode::UntrustedCertificate),
            (CHATCRYPT_ERR_CERTIFICATE_REVOKED, ErrorCode::CertificateRevoked),
            (CHATCRYPT_ERR_CERTIFICATE_EXPIRED, ErrorCode::CertificateExpired),
            (CHATCRYPT_ERR_SENDER_MISMATCH, ErrorCode::SenderMismatch),
            (CHATCRYPT_ERR_OTHER, ErrorCode::Other),
            (CHATCRYPT_ERR_DECODE_TRUNCATED, ErrorCode::DecodeTruncated),
            (CHATCRYPT_ERR_DECODE_TRAILING_BYTES, ErrorCode::DecodeTrailingBytes),
            (CHATCRYPT_ERR_DECODE_UNSUPPORTED_VERSION, ErrorCode::DecodeUnsupportedVersion),
            (CHATCRYPT_ERR_DECODE_UNEXPECTED_TYPE, ErrorCode::DecodeUnexpectedType),
            (CHATCRYPT_ERR_DECODE_INVALID_FLAGS, ErrorCode::DecodeInvalidFlags),
            (CHATCRYPT_ERR_DECODE_INVALID_PUBLIC_KEY, ErrorCode::DecodeInvalidPublicKey),
            (CHATCRYPT_ERR_DECODE_INVALID_VALUE, ErrorCode::DecodeInvalidValue),
            (CHATCRYPT_ERR_DECODE_UNKNOWN_KEY_TYPE, ErrorCode::DecodeUnknownKeyType),
            (CHATCRYPT_ERR_DECODE_OTHER, ErrorCode::DecodeOther),
        ];
        assert_eq!(all.len(), ErrorCode::ALL.len());
        for (c, code) in all {
            assert_eq!(c, code.as_i32());
            assert_eq!(c_name(code).to_str().unwrap(), code.name());
        }
    }
}
