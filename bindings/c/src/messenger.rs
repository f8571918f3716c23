//! The messenger layer of the C ABI (SPEC.md §17-§21, §26-§27): accounts
//! and device lists, the local device and its prekeys, peer accounts and
//! their trust, session records, retries, account safety numbers, padding
//! and sealed sender, over `chatcrypt-bindings-core`'s messenger facade.
//!
//! The conventions of the rest of the ABI hold: opaque handles freed (and
//! wiped) by their `*_free`, caller buffers with `*out_len` always set to
//! the length needed, `int` status codes, no panic across the boundary.
//! Lists cross as concatenations (device links as n ×
//! `CHATCRYPT_DEVICE_LINK_LEN` bytes, recipient keys as n × 32 bytes) or as
//! `uint32_t` arrays with a count (device ids).

use std::{
    cell::Cell,
    ffi::c_int,
    panic::{catch_unwind, AssertUnwindSafe},
};

use chatcrypt_bindings_core as core_api;
use core_api::{Error, ErrorCode};

use crate::{
    bool_int, bytes_of, decode_into, ffi, id_buffer, raw, value_of, ChatcryptBundle, ChatcryptIdentity,
    ChatcryptRng, ChatcryptSafetyNumber, CHATCRYPT_ERR_PANIC, CHATCRYPT_OK,
};

thread_local! {
    static LAST_PREKEY_ID: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Records the prekey id of this thread's last error (`None` for an error
/// that names none), for `chatcrypt_last_error_prekey_id`.
pub(crate) fn note_prekey_id(id: Option<u32>) {
    let _ = LAST_PREKEY_ID.try_with(|c| c.set(id));
}

/// The prekey id that this thread's last failed call named: after
/// `CHATCRYPT_ERR_UNKNOWN_PREKEY`, `*has_prekey_id` = 1 and `*prekey_id` =
/// the id the message named (pass both to
/// `chatcrypt_local_device_retry_for_code`); after any other error, or
/// before any, 0 and 0.
///
/// # Safety
/// Both out-pointers are valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_last_error_prekey_id(
    has_prekey_id: *mut c_int,
    prekey_id: *mut u32,
) -> c_int {
    let id = LAST_PREKEY_ID.try_with(Cell::get).unwrap_or(None);
    // Not through `ffi`, which would overwrite the id being read.
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::write(has_prekey_id, bool_int(id.is_some()))?;
            raw::write(prekey_id, id.unwrap_or(0))
        }
    }));
    match r {
        Ok(Ok(())) => CHATCRYPT_OK,
        Ok(Err(e)) => e.code().as_i32(),
        Err(_) => CHATCRYPT_ERR_PANIC,
    }
}

// ---------------------------------------------------------------------------
// Sizes and enum values

/// Bytes of an encoded device certificate.
pub const CHATCRYPT_DEVICE_CERTIFICATE_LEN: usize = 134;
/// Bytes of an encoded device link (a device list entry).
pub const CHATCRYPT_DEVICE_LINK_LEN: usize = 100;
/// The most devices a device list names.
pub const CHATCRYPT_MAX_DEVICES: usize = 16;
/// The longest stable user id, in bytes.
pub const CHATCRYPT_MAX_USER_ID_LEN: usize = 255;
/// Bytes of an encoded retry message.
pub const CHATCRYPT_RETRY_MESSAGE_LEN: usize = 159;
/// Bytes of a retry message's digest of the failed message.
pub const CHATCRYPT_MESSAGE_DIGEST_LEN: usize = 16;
/// Bytes of an encoded sender certificate.
pub const CHATCRYPT_SENDER_CERTIFICATE_LEN: usize = 182;
/// Bytes a sealed envelope adds to its padded content.
pub const CHATCRYPT_SEALED_ENVELOPE_OVERHEAD: usize = 280;
/// The most recipients of one multi-recipient envelope.
pub const CHATCRYPT_MAX_SEALED_RECIPIENTS: usize = 1024;
/// The most bytes of envelopes one split returns (32 MiB; split larger
/// ones in ranges with `chatcrypt_split_multi_recipient_range`).
pub const CHATCRYPT_MAX_SPLIT_LEN: usize = 33554432;

/// Padding kind: no rounding (parameter 0).
pub const CHATCRYPT_PADDING_NONE: u32 = 0;
/// Padding kind: round up to a multiple of the parameter (1 to 65 535).
pub const CHATCRYPT_PADDING_BLOCKS: u32 = 1;
/// Padding kind: Padmé with the parameter as the floor (0 to 65 535).
pub const CHATCRYPT_PADDING_PADME: u32 = 2;
/// The default padding's kind (what `chatcrypt_session_record_encrypt` uses).
pub const CHATCRYPT_PADDING_DEFAULT_KIND: u32 = 2;
/// The default padding's parameter.
pub const CHATCRYPT_PADDING_DEFAULT_PARAM: u32 = 160;

/// Trust level: the account key was trusted on first use.
pub const CHATCRYPT_TRUST_ON_FIRST_USE: u32 = 0;
/// Trust level: the users compared safety numbers.
pub const CHATCRYPT_TRUST_VERIFIED: u32 = 1;

/// Device list update: the list is the one already held.
pub const CHATCRYPT_DEVICE_LIST_UNCHANGED: u32 = 0;
/// Device list update: a newer list under the pinned key replaced the old one.
pub const CHATCRYPT_DEVICE_LIST_UPDATED: u32 = 1;
/// Device list update: signed by another account key, pending the
/// caller's decision (every device refused until then).
pub const CHATCRYPT_DEVICE_LIST_ACCOUNT_KEY_CHANGED: u32 = 2;

/// Retry reason: no session decrypts the message.
pub const CHATCRYPT_RETRY_NO_SESSION: u32 = 1;
/// Retry reason: a PreKeyMessage named a prekey the device does not hold.
pub const CHATCRYPT_RETRY_UNKNOWN_PREKEY: u32 = 2;
/// Retry reason: a PreKeyMessage named held prekeys but did not authenticate.
pub const CHATCRYPT_RETRY_HANDSHAKE_FAILED: u32 = 3;

/// Retry outcome: nothing to do.
pub const CHATCRYPT_RETRY_IGNORED: u32 = 0;
/// Retry outcome: the current session was archived: fetch a bundle,
/// initiate, resend.
pub const CHATCRYPT_RETRY_START_NEW_SESSION: u32 = 1;

// The literals above are what the header shows; they must equal the facade's.
const _: () = {
    assert!(CHATCRYPT_DEVICE_CERTIFICATE_LEN == core_api::DEVICE_CERTIFICATE_LEN);
    assert!(CHATCRYPT_DEVICE_LINK_LEN == core_api::DEVICE_LINK_LEN);
    assert!(CHATCRYPT_MAX_DEVICES == core_api::MAX_DEVICES);
    assert!(CHATCRYPT_MAX_USER_ID_LEN == core_api::MAX_USER_ID_LEN);
    assert!(CHATCRYPT_RETRY_MESSAGE_LEN == core_api::RETRY_MESSAGE_LEN);
    assert!(CHATCRYPT_SENDER_CERTIFICATE_LEN == core_api::SENDER_CERTIFICATE_LEN);
    assert!(CHATCRYPT_SEALED_ENVELOPE_OVERHEAD == core_api::SEALED_ENVELOPE_OVERHEAD);
    assert!(CHATCRYPT_MAX_SEALED_RECIPIENTS == core_api::MAX_SEALED_RECIPIENTS);
    assert!(CHATCRYPT_MAX_SPLIT_LEN == core_api::MAX_SPLIT_LEN);
    assert!(CHATCRYPT_PADDING_NONE == core_api::PaddingKind::None as u32);
    assert!(CHATCRYPT_PADDING_BLOCKS == core_api::PaddingKind::Blocks as u32);
    assert!(CHATCRYPT_PADDING_PADME == core_api::PaddingKind::Padme as u32);
    assert!(CHATCRYPT_TRUST_ON_FIRST_USE == core_api::TrustLevel::TrustedOnFirstUse as u32);
    assert!(CHATCRYPT_TRUST_VERIFIED == core_api::TrustLevel::Verified as u32);
    assert!(CHATCRYPT_DEVICE_LIST_UNCHANGED == core_api::DeviceListChange::Unchanged as u32);
    assert!(CHATCRYPT_DEVICE_LIST_UPDATED == core_api::DeviceListChange::Updated as u32);
    assert!(
        CHATCRYPT_DEVICE_LIST_ACCOUNT_KEY_CHANGED == core_api::DeviceListChange::AccountKeyChanged as u32
    );
    assert!(CHATCRYPT_RETRY_NO_SESSION == core_api::RetryReason::NoSession as u32);
    assert!(CHATCRYPT_RETRY_UNKNOWN_PREKEY == core_api::RetryReason::UnknownPreKey as u32);
    assert!(CHATCRYPT_RETRY_HANDSHAKE_FAILED == core_api::RetryReason::HandshakeFailed as u32);
    assert!(CHATCRYPT_RETRY_IGNORED == core_api::RetryOutcome::Ignored as u32);
    assert!(CHATCRYPT_RETRY_START_NEW_SESSION == core_api::RetryOutcome::StartNewSession as u32);
};

// ---------------------------------------------------------------------------
// Handles (opaque in C)

/// A user's account key pair (secret): certifies devices, signs the device list.
pub struct ChatcryptAccount(core_api::AccountKeyPair);
/// A device's certificate from its account (public).
pub struct ChatcryptDeviceCertificate(core_api::DeviceCertificate);
/// A device's consent to be listed by an account (public).
pub struct ChatcryptDeviceLink(core_api::DeviceLink);
/// An account's signed device list (public).
pub struct ChatcryptDeviceList(core_api::DeviceList);
/// This device: identity, certificate and prekeys (secret).
pub struct ChatcryptLocalDevice(core_api::LocalDevice);
/// A device's signed prekey upload, as the server stores it (public).
pub struct ChatcryptPreKeyUpload(core_api::PreKeyUpload);
/// What this device trusts about a peer account.
pub struct ChatcryptPeerAccount(core_api::PeerAccount);
/// What `chatcrypt_peer_account_update_device_list` did.
pub struct ChatcryptDeviceListUpdate(core_api::DeviceListUpdate);
/// All sessions with one remote device (secret).
pub struct ChatcryptSessionRecord(core_api::SessionRecord);
/// A signed "I could not decrypt your message" (public).
pub struct ChatcryptRetryMessage(core_api::RetryMessage);
/// The server's certificate-signing key pair (secret).
pub struct ChatcryptServerKey(core_api::ServerKeyPair);
/// A sender certificate (public).
pub struct ChatcryptSenderCertificate(core_api::SenderCertificate);
/// Which sender certificates a recipient accepts: trusted server keys,
/// revoked serials, the time.
pub struct ChatcryptCertificatePolicy(core_api::CertificatePolicy);
/// An opened sealed envelope: the validated sender certificate and the
/// content (secret).
pub struct ChatcryptOpenedEnvelope(core_api::OpenedEnvelope);
/// The server's split of a multi-recipient envelope: one sealed envelope
/// per recipient.
pub struct ChatcryptRecipientEnvelopes(Vec<core_api::RecipientEnvelope>);

/// How a session record starts and accepts sessions.
/// `chatcrypt_session_policy_default` fills in chatcrypt's default; the
/// record functions take a NULL policy as that default.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ChatcryptSessionPolicy {
    /// The header mode of sessions this device starts (`CHATCRYPT_MODE_*`).
    pub mode: u32,
    /// Whether this device may start a classical session (`CHATCRYPT_PQ_*`).
    pub pq: u32,
    /// The modes accepted from initiators (`CHATCRYPT_MODE_POLICY_*`).
    pub accept_mode: u32,
    /// Whether a classical session is accepted (`CHATCRYPT_PQ_*`).
    pub accept_pq: u32,
}

// ---------------------------------------------------------------------------
// Helpers

/// Frees a handle without letting a panic out.
///
/// # Safety
/// As [`raw::free`].
unsafe fn release<T>(handle: *mut T) {
    // SAFETY: forwarded from the caller.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { raw::free(handle) }));
}

/// Runs `f` and moves the value it returns into a new handle in `*out`
/// (NULL on every error).
///
/// # Safety
/// As [`raw::give`] for `out`; `f` states its own.
unsafe fn make<T>(out: *mut *mut T, f: impl FnOnce() -> Result<T, Error>) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let v = f()?;
            raw::give(out, v)
        }
    })
}

/// The facade's session policy; NULL is the default.
///
/// # Safety
/// As [`raw::opt_obj`].
unsafe fn policy(p: *const ChatcryptSessionPolicy) -> Result<core_api::SessionPolicy, Error> {
    // SAFETY: forwarded from the caller.
    let Some(p) = (unsafe { raw::opt_obj(p) })? else {
        return Ok(core_api::SessionPolicy::default());
    };
    Ok(core_api::SessionPolicy {
        mode: core_api::Mode::from_u32(p.mode)?,
        pq: core_api::PqPolicy::from_u32(p.pq)?,
        accept_mode: core_api::ModePolicy::from_u32(p.accept_mode)?,
        accept_pq: core_api::PqPolicy::from_u32(p.accept_pq)?,
    })
}

/// Writes an optional 32-byte key: `*has` 0 or 1, the key (or nothing,
/// with `*out_len` 0) into the buffer.
///
/// # Safety
/// As [`raw::write`] and [`raw::put`].
unsafe fn put_opt_key(
    v: Option<[u8; 32]>,
    has: *mut c_int,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Result<(), Error> {
    // SAFETY: forwarded from the caller.
    unsafe {
        raw::write(has, bool_int(v.is_some()))?;
        raw::put(v.as_ref().map_or(&[][..], |k| &k[..]), out, cap, out_len)
    }
}

/// The caller memory of a `size_t *out_len`, for [`raw::disjoint`].
fn len_region(out_len: *mut usize) -> (*const u8, usize) {
    (out_len.cast_const().cast(), core::mem::size_of::<usize>())
}

/// Splits a concatenation of `n` × `size`-byte items.
fn chunks<'a>(
    bytes: &'a [u8],
    size: usize,
    what: &'static str,
) -> Result<std::slice::ChunksExact<'a, u8>, Error> {
    if !bytes.len().is_multiple_of(size) {
        return Err(Error::InvalidArgument(what));
    }
    Ok(bytes.chunks_exact(size))
}

/// The bytes a decryption's plaintext needs at most: the caller's capacity
/// is checked against it before the record changes.
///
/// # Safety
/// As [`raw::write`] for `out_len`.
unsafe fn plaintext_room(bound: usize, cap: usize, out_len: *mut usize) -> Result<(), Error> {
    // SAFETY: forwarded from the caller.
    unsafe { raw::write(out_len, bound) }?;
    if cap < bound {
        return Err(Error::BufferTooSmall { needed: bound });
    }
    Ok(())
}

/// Hands a decrypted message to the caller's buffers.
///
/// # Safety
/// As [`raw::put`]; `id_out` from [`id_buffer`]; `new_session` NULL or valid.
unsafe fn put_decrypted(
    d: &core_api::Decrypted,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
    id_out: Option<&mut [u8]>,
    new_session: *mut c_int,
) -> Result<(), Error> {
    // SAFETY: forwarded from the caller.
    unsafe {
        raw::put(&d.plaintext, out, cap, out_len)?;
        if let Some(dst) = id_out {
            dst.copy_from_slice(&d.message_id);
        }
        if !new_session.is_null() {
            raw::write(new_session, bool_int(d.new_session))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Accounts

/// A new account key pair (draws 32 bytes).
///
/// # Safety
/// `rng` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_generate(
    rng: *mut ChatcryptRng,
    out: *mut *mut ChatcryptAccount,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let rng = raw::obj_mut(rng)?;
            Ok(ChatcryptAccount(core_api::AccountKeyPair::generate(&mut rng.0)?))
        })
    }
}

/// The account key pair of a `CHATCRYPT_KEY_LEN`-byte seed.
///
/// # Safety
/// `seed` is valid for `seed_len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_from_seed(
    seed: *const u8,
    seed_len: usize,
    out: *mut *mut ChatcryptAccount,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(seed, seed_len, out, |s| core_api::AccountKeyPair::from_seed(s).map(ChatcryptAccount))
    }
}

/// The 32-byte seed (secret: store it as carefully as the key pair).
///
/// # Safety
/// `account` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_seed(
    account: *const ChatcryptAccount,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(account, out, cap, out_len, |a| a.0.seed()) }
}

/// The 32-byte account key (Ed25519 public key).
///
/// # Safety
/// `account` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_public_key(
    account: *const ChatcryptAccount,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(account, out, cap, out_len, |a| a.0.public_key()) }
}

/// Certifies that device `device` of this account has the identity key
/// `identity_key` (32 bytes): a new device's first step.
///
/// # Safety
/// `account` is live; `identity_key` is valid for its length; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_certify(
    account: *const ChatcryptAccount,
    device: u32,
    identity_key: *const u8,
    identity_key_len: usize,
    out: *mut *mut ChatcryptDeviceCertificate,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let a = raw::obj(account)?;
            let ik = raw::bytes(identity_key, identity_key_len)?;
            Ok(ChatcryptDeviceCertificate(a.0.certify(device, ik)?))
        })
    }
}

/// Signs the account's device list at `epoch` (larger than every epoch
/// signed before: persist it first) from the devices' links, passed as
/// their concatenated encodings (n × `CHATCRYPT_DEVICE_LINK_LEN` bytes; a
/// length that is no multiple is `CHATCRYPT_ERR_INVALID_ARGUMENT`).
///
/// Errors: `DECODE_*` for a malformed link; `DECODE_INVALID_VALUE` for
/// epoch 0, no or too many devices, a device id or identity key twice;
/// `BAD_SIGNATURE` for a link not made for this account.
///
/// # Safety
/// `account` is live; `links` is valid for `links_len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_sign_device_list(
    account: *const ChatcryptAccount,
    epoch: u64,
    links: *const u8,
    links_len: usize,
    out: *mut *mut ChatcryptDeviceList,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let a = raw::obj(account)?;
            let bytes = raw::bytes(links, links_len)?;
            let links = chunks(
                bytes,
                CHATCRYPT_DEVICE_LINK_LEN,
                "links must be n x CHATCRYPT_DEVICE_LINK_LEN bytes",
            )?
            .map(core_api::DeviceLink::from_bytes)
            .collect::<Result<Vec<_>, Error>>()?;
            Ok(ChatcryptDeviceList(a.0.sign_device_list(epoch, &links)?))
        })
    }
}

/// The stored form (secret).
///
/// # Safety
/// `account` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_to_bytes(
    account: *const ChatcryptAccount,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(account, out, cap, out_len, |a| a.0.to_bytes()) }
}

/// Restores a stored account key pair.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptAccount,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { decode_into(bytes, len, out, |b| core_api::AccountKeyPair::from_bytes(b).map(ChatcryptAccount)) }
}

/// The stored form encrypted under a 32-byte key (the stored form's
/// length + `CHATCRYPT_SEALED_OVERHEAD` bytes, checked before anything is
/// drawn; draws 12).
///
/// # Safety
/// `account` and `rng` are live; `key` is valid for `key_len` bytes, `out`
/// for `cap`; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_account_seal(
    account: *const ChatcryptAccount,
    key: *const u8,
    key_len: usize,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        seal_stored(
            account,
            key,
            key_len,
            rng,
            out,
            cap,
            out_len,
            |a| a.0.to_bytes().map(|b| b.len()),
            |a, k, r| a.0.seal(k, r),
        )
    }
}

/// Opens a sealed account key pair.
///
/// # Safety
/// `key` and `bytes` are valid for their lengths; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_open(
    key: *const u8,
    key_len: usize,
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptAccount,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let k = raw::bytes(key, key_len)?;
            let b = raw::bytes(bytes, len)?;
            Ok(ChatcryptAccount(core_api::AccountKeyPair::open(k, b)?))
        })
    }
}

/// Frees an account key pair and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_account_free(handle: *mut ChatcryptAccount) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

/// Seals a stored form: the length is known (and checked against `cap`)
/// before anything is drawn.
///
/// # Safety
/// As [`raw::obj`], [`raw::bytes`], [`raw::obj_mut`] and [`raw::put`].
#[allow(clippy::too_many_arguments)]
unsafe fn seal_stored<T>(
    handle: *const T,
    key: *const u8,
    key_len: usize,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
    stored_len: impl FnOnce(&T) -> Result<usize, Error>,
    seal: impl FnOnce(&T, &[u8], &mut core_api::Rng) -> Result<Vec<u8>, Error>,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[(key, key_len), (out.cast_const(), cap), len_region(out_len)])?;
            let h = raw::obj(handle)?;
            let k = raw::bytes(key, key_len)?;
            let rng = raw::obj_mut(rng)?;
            let needed = stored_len(h)? + crate::CHATCRYPT_SEALED_OVERHEAD;
            raw::write(out_len, needed)?;
            if cap < needed {
                return Err(Error::BufferTooSmall { needed });
            }
            let sealed = seal(h, k, &mut rng.0)?;
            raw::put(&sealed, out, cap, out_len)
        }
    })
}

// ---------------------------------------------------------------------------
// Device certificates, links and lists

/// Decodes and verifies a device certificate (signed by the account key it names).
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_certificate_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptDeviceCertificate,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| {
            core_api::DeviceCertificate::from_bytes(b).map(ChatcryptDeviceCertificate)
        })
    }
}

/// The encoding (`CHATCRYPT_DEVICE_CERTIFICATE_LEN` bytes).
///
/// # Safety
/// `cert` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_certificate_to_bytes(
    cert: *const ChatcryptDeviceCertificate,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(cert, out, cap, out_len, |c| Ok(c.0.to_bytes())) }
}

/// The 32-byte account key that signed it.
///
/// # Safety
/// `cert` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_certificate_account_key(
    cert: *const ChatcryptDeviceCertificate,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(cert, out, cap, out_len, |c| Ok(c.0.account_key())) }
}

/// `*out` = the device id.
///
/// # Safety
/// `cert` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_certificate_device(
    cert: *const ChatcryptDeviceCertificate,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(cert, out, |c| Ok(c.0.device())) }
}

/// The device's 32-byte identity key.
///
/// # Safety
/// `cert` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_certificate_identity_key(
    cert: *const ChatcryptDeviceCertificate,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(cert, out, cap, out_len, |c| Ok(c.0.identity_key())) }
}

/// Checks that it was signed by `account_key` (32 bytes): `CHATCRYPT_OK` or
/// `CHATCRYPT_ERR_BAD_SIGNATURE`.
///
/// # Safety
/// `cert` is live; `account_key` is valid for its length.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_certificate_verify(
    cert: *const ChatcryptDeviceCertificate,
    account_key: *const u8,
    account_key_len: usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::obj(cert)?.0.verify(raw::bytes(account_key, account_key_len)?) }
    })
}

/// Frees a device certificate (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_certificate_free(handle: *mut ChatcryptDeviceCertificate) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

/// The consent of the device with key pair `identity` to be device
/// `device` of the account with key `account_key` (32 bytes). A device
/// makes its link with `chatcrypt_local_device_link`; this is for a
/// device that has no local device yet.
///
/// # Safety
/// `identity` is live; `account_key` is valid for its length; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_link_new(
    identity: *const ChatcryptIdentity,
    account_key: *const u8,
    account_key_len: usize,
    device: u32,
    out: *mut *mut ChatcryptDeviceLink,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let i = raw::obj(identity)?;
            let k = raw::bytes(account_key, account_key_len)?;
            Ok(ChatcryptDeviceLink(core_api::DeviceLink::new(&i.0, k, device)?))
        })
    }
}

/// Decodes a link (`CHATCRYPT_DEVICE_LINK_LEN` bytes; its consent is
/// checked when a list is signed).
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_link_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptDeviceLink,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { decode_into(bytes, len, out, |b| core_api::DeviceLink::from_bytes(b).map(ChatcryptDeviceLink)) }
}

/// The encoding (`CHATCRYPT_DEVICE_LINK_LEN` bytes), to hand to the
/// account's signer.
///
/// # Safety
/// `link` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_link_to_bytes(
    link: *const ChatcryptDeviceLink,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(link, out, cap, out_len, |l| Ok(l.0.to_bytes())) }
}

/// `*out` = the device id.
///
/// # Safety
/// `link` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_link_device(
    link: *const ChatcryptDeviceLink,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(link, out, |l| Ok(l.0.device())) }
}

/// The device's 32-byte identity key.
///
/// # Safety
/// `link` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_link_identity_key(
    link: *const ChatcryptDeviceLink,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(link, out, cap, out_len, |l| Ok(l.0.identity_key())) }
}

/// Frees a device link (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_link_free(handle: *mut ChatcryptDeviceLink) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

/// Decodes and verifies a device list (signed by the account key it
/// names; whether to trust that key is a peer account's decision).
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptDeviceList,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { decode_into(bytes, len, out, |b| core_api::DeviceList::from_bytes(b).map(ChatcryptDeviceList)) }
}

/// The encoding.
///
/// # Safety
/// `list` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_to_bytes(
    list: *const ChatcryptDeviceList,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(list, out, cap, out_len, |l| Ok(l.0.to_bytes())) }
}

/// The 32-byte account key that signed it.
///
/// # Safety
/// `list` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_account_key(
    list: *const ChatcryptDeviceList,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(list, out, cap, out_len, |l| Ok(l.0.account_key())) }
}

/// `*out` = the epoch.
///
/// # Safety
/// `list` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_epoch(
    list: *const ChatcryptDeviceList,
    out: *mut u64,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(list, out, |l| Ok(l.0.epoch())) }
}

/// The device ids, ascending, into `out` (`cap` elements;
/// `CHATCRYPT_MAX_DEVICES` always suffice); `*out_count` = how many.
///
/// # Safety
/// `list` is live; `out` is valid for `cap` `uint32_t`s; `out_count` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_devices(
    list: *const ChatcryptDeviceList,
    out: *mut u32,
    cap: usize,
    out_count: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::put_u32s(&raw::obj(list)?.0.devices(), out, cap, out_count) }
    })
}

/// The 32-byte identity key of device `device`: `*listed` = 1 and the key,
/// or 0 and nothing (`*out_len` 0) if the list does not name it.
///
/// # Safety
/// `list` is live; `out` is valid for `cap` bytes; `listed` and `out_len` are valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_identity_of(
    list: *const ChatcryptDeviceList,
    device: u32,
    listed: *mut c_int,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { put_opt_key(raw::obj(list)?.0.identity_of(device), listed, out, cap, out_len) }
    })
}

/// The links, concatenated (n × `CHATCRYPT_DEVICE_LINK_LEN` bytes, in the
/// list's order): what the next list is signed from.
///
/// # Safety
/// `list` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_links(
    list: *const ChatcryptDeviceList,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        bytes_of(list, out, cap, out_len, |l| {
            Ok(l.0.links().iter().flat_map(|k| k.to_bytes()).collect::<Vec<u8>>())
        })
    }
}

/// Frees a device list (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_free(handle: *mut ChatcryptDeviceList) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

// ---------------------------------------------------------------------------
// The local device

/// A new device for `identity`, certified by its account as `certificate`,
/// with a first signed and last-resort prekey made at `now` (draws 32 + 64
/// bytes) and no one-time prekeys yet (`chatcrypt_local_device_replenish`).
/// `CHATCRYPT_ERR_WRONG_IDENTITY` if the certificate is for another
/// identity key.
///
/// # Safety
/// `identity`, `certificate` and `rng` are live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_new(
    identity: *const ChatcryptIdentity,
    certificate: *const ChatcryptDeviceCertificate,
    now: u64,
    rng: *mut ChatcryptRng,
    out: *mut *mut ChatcryptLocalDevice,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let i = raw::obj(identity)?;
            let c = raw::obj(certificate)?;
            let rng = raw::obj_mut(rng)?;
            Ok(ChatcryptLocalDevice(core_api::LocalDevice::new(&i.0, &c.0, now, &mut rng.0)?))
        })
    }
}

/// Opens a sealed envelope addressed to this device, validating its
/// sender certificate against `policy` (as `chatcrypt_open` with the
/// device's identity, without a copy of the key pair; changes no state).
///
/// # Safety
/// `device` and `policy` are live; `envelope` is valid for its length;
/// `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_open_envelope(
    device: *const ChatcryptLocalDevice,
    envelope: *const u8,
    envelope_len: usize,
    policy: *const ChatcryptCertificatePolicy,
    out: *mut *mut ChatcryptOpenedEnvelope,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let d = raw::obj(device)?;
            let e = raw::bytes(envelope, envelope_len)?;
            let p = raw::obj(policy)?;
            Ok(ChatcryptOpenedEnvelope(d.0.open_envelope(e, &p.0)?))
        })
    }
}

/// A copy of the device's identity key pair (secret; to seal envelopes and
/// make links; prefer `chatcrypt_local_device_open_envelope` to open).
///
/// # Safety
/// `device` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_identity(
    device: *const ChatcryptLocalDevice,
    out: *mut *mut ChatcryptIdentity,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { make(out, || Ok(ChatcryptIdentity(raw::obj(device)?.0.identity()?))) }
}

/// The device's 32-byte identity key.
///
/// # Safety
/// `device` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_identity_key(
    device: *const ChatcryptLocalDevice,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(device, out, cap, out_len, |d| d.0.identity_key()) }
}

/// `*out` = the device id.
///
/// # Safety
/// `device` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_id(
    device: *const ChatcryptLocalDevice,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(device, out, |d| d.0.device_id()) }
}

/// The device's certificate.
///
/// # Safety
/// `device` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_certificate(
    device: *const ChatcryptLocalDevice,
    out: *mut *mut ChatcryptDeviceCertificate,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { make(out, || Ok(ChatcryptDeviceCertificate(raw::obj(device)?.0.certificate()?))) }
}

/// This device's link for its account's device list.
///
/// # Safety
/// `device` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_link(
    device: *const ChatcryptLocalDevice,
    out: *mut *mut ChatcryptDeviceLink,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { make(out, || Ok(ChatcryptDeviceLink(raw::obj(device)?.0.link()?))) }
}

/// How many one-time X25519 (`*one_time`) and KEM (`*kem`) prekeys the
/// device holds.
///
/// # Safety
/// `device` is live; both out-pointers are valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_one_time_prekey_counts(
    device: *const ChatcryptLocalDevice,
    one_time: *mut usize,
    kem: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let (x, k) = raw::obj(device)?.0.one_time_prekey_counts()?;
            raw::write(one_time, x)?;
            raw::write(kem, k)
        }
    })
}

/// `*out` = 1 if the signed prekey is due for rotation at `now`, else 0.
///
/// # Safety
/// `device` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_needs_rotation(
    device: *const ChatcryptLocalDevice,
    now: u64,
    out: *mut c_int,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(device, out, |d| d.0.needs_rotation(now).map(bool_int)) }
}

/// `*out` = 1 if some keys are not yet in a confirmed upload, else 0.
///
/// # Safety
/// `device` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_needs_upload(
    device: *const ChatcryptLocalDevice,
    out: *mut c_int,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(device, out, |d| d.0.needs_upload().map(bool_int)) }
}

/// Replaces the signed and last-resort prekeys (draws 32 + 64 bytes).
/// Persist, then upload. On a generator failure the device is as it was.
///
/// # Safety
/// `device` and `rng` are live.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_rotate_signed_prekey(
    device: *mut ChatcryptLocalDevice,
    now: u64,
    rng: *mut ChatcryptRng,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let d = raw::obj_mut(device)?;
            let rng = raw::obj_mut(rng)?;
            d.0.rotate_signed_prekey(now, &mut rng.0)
        }
    })
}

/// Deletes retired prekeys whose grace period is over at `now`.
///
/// # Safety
/// `device` is live.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_prune(device: *mut ChatcryptLocalDevice, now: u64) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::obj_mut(device)?.0.prune(now) }
    })
}

/// Makes one-time prekeys when the server reports fewer than the low water
/// mark (`server_one_time` X25519 and `server_kem` KEM prekeys left; draws
/// 32 bytes per X25519 and 64 per KEM prekey); `*made_one_time` and
/// `*made_kem` = how many it made (at most 100 and 20). Persist, then
/// upload. On a generator failure the device is as it was.
///
/// # Safety
/// `device` and `rng` are live; both out-pointers are valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_replenish(
    device: *mut ChatcryptLocalDevice,
    server_one_time: u32,
    server_kem: u32,
    rng: *mut ChatcryptRng,
    made_one_time: *mut u32,
    made_kem: *mut u32,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::write(made_one_time, 0)?;
            raw::write(made_kem, 0)?;
            let d = raw::obj_mut(device)?;
            let rng = raw::obj_mut(rng)?;
            let r = d.0.replenish(server_one_time, server_kem, &mut rng.0)?;
            raw::write(made_one_time, r.one_time)?;
            raw::write(made_kem, r.kem)
        }
    })
}

/// The prekey upload, for `persisted`: the bytes the caller stored for this
/// device (`chatcrypt_local_device_to_bytes`' output, also when what is
/// stored is its sealed form). `CHATCRYPT_ERR_NOT_PERSISTED` if they are
/// not the current stored form.
///
/// # Safety
/// `device` is live; `persisted` is valid for its length; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_upload(
    device: *const ChatcryptLocalDevice,
    persisted: *const u8,
    persisted_len: usize,
    out: *mut *mut ChatcryptPreKeyUpload,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let d = raw::obj(device)?;
            let p = raw::bytes(persisted, persisted_len)?;
            Ok(ChatcryptPreKeyUpload(d.0.upload(p)?))
        })
    }
}

/// Records that the server stored `upload`. Persist afterwards.
///
/// # Safety
/// `device` and `upload` are live.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_mark_uploaded(
    device: *mut ChatcryptLocalDevice,
    upload: *const ChatcryptPreKeyUpload,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let d = raw::obj_mut(device)?;
            d.0.mark_uploaded(&raw::obj(upload)?.0)
        }
    })
}

/// The signed retry for `failed`, a message from the device with identity
/// key `sender_identity` (32 bytes) that failed to decrypt at `now` with
/// status `code` (a `CHATCRYPT_ERR_*` value, else
/// `CHATCRYPT_ERR_INVALID_ARGUMENT`) and, for
/// `CHATCRYPT_ERR_UNKNOWN_PREKEY`, the id `chatcrypt_last_error_prekey_id`
/// gave right after the failure (ignored for other codes). `AUTH`,
/// `NO_SESSION` and `UNKNOWN_PREKEY` may call for a retry; when the failure
/// calls for none, `*out` is NULL and the call returns `CHATCRYPT_OK`.
///
/// # Safety
/// `device` is live; `sender_identity` and `failed` are valid for their
/// lengths; `out` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_local_device_retry_for_code(
    device: *const ChatcryptLocalDevice,
    sender_identity: *const u8,
    sender_identity_len: usize,
    failed: *const u8,
    failed_len: usize,
    code: c_int,
    prekey_id: u32,
    now: u64,
    out: *mut *mut ChatcryptRetryMessage,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::clear(out);
            let d = raw::obj(device)?;
            let sender = raw::bytes(sender_identity, sender_identity_len)?;
            let failed = raw::bytes(failed, failed_len)?;
            let code =
                ErrorCode::from_i32(code).ok_or(Error::InvalidArgument("not a CHATCRYPT_ERR_* code"))?;
            // Checked before a NULL result can mean "no retry".
            if out.is_null() || !out.is_aligned() {
                return Err(Error::InvalidArgument("NULL or misaligned handle out-parameter"));
            }
            match d.0.retry_for_code(sender, failed, code, prekey_id, now)? {
                Some(r) => raw::give(out, ChatcryptRetryMessage(r)),
                None => Ok(()),
            }
        }
    })
}

/// The stored form (secret): store it after every change.
///
/// # Safety
/// `device` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_to_bytes(
    device: *const ChatcryptLocalDevice,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(device, out, cap, out_len, |d| d.0.to_bytes()) }
}

/// Restores a stored local device.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptLocalDevice,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::LocalDevice::from_bytes(b).map(ChatcryptLocalDevice))
    }
}

/// The stored form encrypted under a 32-byte key (the stored form's
/// length + `CHATCRYPT_SEALED_OVERHEAD` bytes, checked before anything is
/// drawn; draws 12).
///
/// # Safety
/// `device` and `rng` are live; `key` is valid for `key_len` bytes, `out`
/// for `cap`; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_local_device_seal(
    device: *const ChatcryptLocalDevice,
    key: *const u8,
    key_len: usize,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        seal_stored(
            device,
            key,
            key_len,
            rng,
            out,
            cap,
            out_len,
            |d| d.0.to_bytes().map(|b| b.len()),
            |d, k, r| d.0.seal(k, r),
        )
    }
}

/// Opens a sealed local device.
///
/// # Safety
/// `key` and `bytes` are valid for their lengths; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_open(
    key: *const u8,
    key_len: usize,
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptLocalDevice,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let k = raw::bytes(key, key_len)?;
            let b = raw::bytes(bytes, len)?;
            Ok(ChatcryptLocalDevice(core_api::LocalDevice::open(k, b)?))
        })
    }
}

/// Frees a local device and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_local_device_free(handle: *mut ChatcryptLocalDevice) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

// ---------------------------------------------------------------------------
// Prekey uploads (the server's view)

/// Decodes and verifies an upload.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_upload_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptPreKeyUpload,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::PreKeyUpload::from_bytes(b).map(ChatcryptPreKeyUpload))
    }
}

/// The encoding, to send to the server.
///
/// # Safety
/// `upload` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_upload_to_bytes(
    upload: *const ChatcryptPreKeyUpload,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(upload, out, cap, out_len, |u| Ok(u.0.to_bytes())) }
}

/// The device's certificate.
///
/// # Safety
/// `upload` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_upload_certificate(
    upload: *const ChatcryptPreKeyUpload,
    out: *mut *mut ChatcryptDeviceCertificate,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { make(out, || Ok(ChatcryptDeviceCertificate(raw::obj(upload)?.0.certificate()))) }
}

/// The device's 32-byte identity key.
///
/// # Safety
/// `upload` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_upload_identity_key(
    upload: *const ChatcryptPreKeyUpload,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(upload, out, cap, out_len, |u| Ok(u.0.identity_key())) }
}

/// How many one-time X25519 (`*one_time`) and KEM (`*kem`) prekeys it carries.
///
/// # Safety
/// `upload` is live; both out-pointers are valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_upload_counts(
    upload: *const ChatcryptPreKeyUpload,
    one_time: *mut usize,
    kem: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let u = raw::obj(upload)?;
            raw::write(one_time, u.0.one_time_prekey_count())?;
            raw::write(kem, u.0.kem_prekey_count())
        }
    })
}

/// The bundle a server hands out: with the one-time X25519 prekey at index
/// `one_time_index` of this upload if `has_one_time` is non-zero (else
/// none), and the one-time KEM prekey at `kem_index` if `has_kem` is
/// non-zero (else the last-resort KEM prekey). An index out of range is an
/// error (`DECODE_INVALID_VALUE`).
///
/// # Safety
/// `upload` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_upload_bundle(
    upload: *const ChatcryptPreKeyUpload,
    has_one_time: c_int,
    one_time_index: usize,
    has_kem: c_int,
    kem_index: usize,
    out: *mut *mut ChatcryptBundle,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let u = raw::obj(upload)?;
            let x = (has_one_time != 0).then_some(one_time_index);
            let k = (has_kem != 0).then_some(kem_index);
            Ok(ChatcryptBundle(u.0.bundle(x, k)?))
        })
    }
}

/// Frees an upload (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_prekey_upload_free(handle: *mut ChatcryptPreKeyUpload) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

// ---------------------------------------------------------------------------
// Peer accounts

/// First contact, trusting on first use the account key that signed
/// `list`. `user_id` is the peer's stable user id (at most
/// `CHATCRYPT_MAX_USER_ID_LEN` bytes, else `CHATCRYPT_ERR_TOO_LARGE`).
///
/// # Safety
/// `user_id` is valid for its length; `list` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_trust_on_first_use(
    user_id: *const u8,
    user_id_len: usize,
    list: *const ChatcryptDeviceList,
    out: *mut *mut ChatcryptPeerAccount,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let id = raw::bytes(user_id, user_id_len)?;
            let l = raw::obj(list)?;
            Ok(ChatcryptPeerAccount(core_api::PeerAccount::trust_on_first_use(id, &l.0)?))
        })
    }
}

/// First contact with an account key (32 bytes) verified out of band;
/// `CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED` if `list` is signed by another key.
///
/// # Safety
/// `user_id` and `account_key` are valid for their lengths; `list` is
/// live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_verified(
    user_id: *const u8,
    user_id_len: usize,
    account_key: *const u8,
    account_key_len: usize,
    list: *const ChatcryptDeviceList,
    out: *mut *mut ChatcryptPeerAccount,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let id = raw::bytes(user_id, user_id_len)?;
            let k = raw::bytes(account_key, account_key_len)?;
            let l = raw::obj(list)?;
            Ok(ChatcryptPeerAccount(core_api::PeerAccount::verified(id, k, &l.0)?))
        })
    }
}

/// The peer's stable user id.
///
/// # Safety
/// `peer` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_user_id(
    peer: *const ChatcryptPeerAccount,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(peer, out, cap, out_len, |p| p.0.user_id()) }
}

/// The pinned 32-byte account key.
///
/// # Safety
/// `peer` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_account_key(
    peer: *const ChatcryptPeerAccount,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(peer, out, cap, out_len, |p| p.0.account_key()) }
}

/// `*out` = how the account key was pinned (`CHATCRYPT_TRUST_*`).
///
/// # Safety
/// `peer` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_trust_level(
    peer: *const ChatcryptPeerAccount,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(peer, out, |p| p.0.trust_level().map(|t| t as u32)) }
}

/// The newest device list under the pinned key.
///
/// # Safety
/// `peer` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_device_list(
    peer: *const ChatcryptPeerAccount,
    out: *mut *mut ChatcryptDeviceList,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { make(out, || Ok(ChatcryptDeviceList(raw::obj(peer)?.0.device_list()?))) }
}

/// The account key of a change waiting for the caller's decision:
/// `*pending` = 1 and the 32-byte key, or 0 and nothing (`*out_len` 0).
///
/// # Safety
/// `peer` is live; `out` is valid for `cap` bytes; `pending` and `out_len` are valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_pending_account_key(
    peer: *const ChatcryptPeerAccount,
    pending: *mut c_int,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { put_opt_key(raw::obj(peer)?.0.pending_account_key()?, pending, out, cap, out_len) }
    })
}

/// Records that the users compared safety numbers and they matched
/// (`CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED` while a change is pending).
///
/// # Safety
/// `peer` is live.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_mark_verified(peer: *mut ChatcryptPeerAccount) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::obj_mut(peer)?.0.mark_verified() }
    })
}

/// Applies a device list fetched for this account; `*out` says what
/// changed. `CHATCRYPT_ERR_DEVICE_LIST_ROLLBACK` for an older epoch,
/// `CHATCRYPT_ERR_DEVICE_LIST_CONFLICT` for another list of the same
/// epoch; nothing changes on error.
///
/// # Safety
/// `peer` and `list` are live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_update_device_list(
    peer: *mut ChatcryptPeerAccount,
    list: *const ChatcryptDeviceList,
    out: *mut *mut ChatcryptDeviceListUpdate,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let p = raw::obj_mut(peer)?;
            let l = raw::obj(list)?;
            Ok(ChatcryptDeviceListUpdate(p.0.update_device_list(&l.0)?))
        })
    }
}

/// The caller's decision to trust the pending account key `expected` (32
/// bytes): `CHATCRYPT_ERR_NO_PENDING_CHANGE`, or
/// `CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED` if the pending key is another.
///
/// # Safety
/// `peer` is live; `expected` is valid for its length.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_accept_account_key_change(
    peer: *mut ChatcryptPeerAccount,
    expected: *const u8,
    expected_len: usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let p = raw::obj_mut(peer)?;
            p.0.accept_account_key_change(raw::bytes(expected, expected_len)?)
        }
    })
}

/// The caller's decision to keep the pinned key
/// (`CHATCRYPT_ERR_NO_PENDING_CHANGE` if none is pending).
///
/// # Safety
/// `peer` is live.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_reject_account_key_change(
    peer: *mut ChatcryptPeerAccount,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::obj_mut(peer)?.0.reject_account_key_change() }
    })
}

/// The 32-byte identity key device `device` must have
/// (`CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED`, `CHATCRYPT_ERR_UNKNOWN_DEVICE`).
///
/// # Safety
/// `peer` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_device_identity(
    peer: *const ChatcryptPeerAccount,
    device: u32,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(peer, out, cap, out_len, |p| p.0.device_identity(device)) }
}

/// Whether device `device` with identity key `identity_key` (32 bytes) may
/// send and receive: `CHATCRYPT_OK`, or why not
/// (`CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED`, `CHATCRYPT_ERR_UNKNOWN_DEVICE`,
/// `CHATCRYPT_ERR_WRONG_IDENTITY`).
///
/// # Safety
/// `peer` is live; `identity_key` is valid for its length.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_authorize(
    peer: *const ChatcryptPeerAccount,
    device: u32,
    identity_key: *const u8,
    identity_key_len: usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::obj(peer)?.0.authorize(device, raw::bytes(identity_key, identity_key_len)?) }
    })
}

/// The safety number between the local user (stable id and 32-byte
/// account key) and this peer's pinned account key.
///
/// # Safety
/// `peer` is live; the buffers are valid for their lengths; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_safety_number(
    peer: *const ChatcryptPeerAccount,
    local_user_id: *const u8,
    local_user_id_len: usize,
    local_account_key: *const u8,
    local_account_key_len: usize,
    out: *mut *mut ChatcryptSafetyNumber,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let p = raw::obj(peer)?;
            let id = raw::bytes(local_user_id, local_user_id_len)?;
            let k = raw::bytes(local_account_key, local_account_key_len)?;
            Ok(ChatcryptSafetyNumber(p.0.safety_number(id, k)?))
        })
    }
}

/// The stored form (secret): store it after every change.
///
/// # Safety
/// `peer` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_to_bytes(
    peer: *const ChatcryptPeerAccount,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(peer, out, cap, out_len, |p| p.0.to_bytes()) }
}

/// Restores a stored peer account.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptPeerAccount,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::PeerAccount::from_bytes(b).map(ChatcryptPeerAccount))
    }
}

/// The stored form encrypted under a 32-byte key (the stored form's
/// length + `CHATCRYPT_SEALED_OVERHEAD` bytes, checked before anything is
/// drawn; draws 12).
///
/// # Safety
/// `peer` and `rng` are live; `key` is valid for `key_len` bytes, `out`
/// for `cap`; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_peer_account_seal(
    peer: *const ChatcryptPeerAccount,
    key: *const u8,
    key_len: usize,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        seal_stored(
            peer,
            key,
            key_len,
            rng,
            out,
            cap,
            out_len,
            |p| p.0.to_bytes().map(|b| b.len()),
            |p, k, r| p.0.seal(k, r),
        )
    }
}

/// Opens a sealed peer account.
///
/// # Safety
/// `key` and `bytes` are valid for their lengths; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_open(
    key: *const u8,
    key_len: usize,
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptPeerAccount,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let k = raw::bytes(key, key_len)?;
            let b = raw::bytes(bytes, len)?;
            Ok(ChatcryptPeerAccount(core_api::PeerAccount::open(k, b)?))
        })
    }
}

/// Frees a peer account and wipes it (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_peer_account_free(handle: *mut ChatcryptPeerAccount) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

/// `*out` = what the update did (`CHATCRYPT_DEVICE_LIST_*`).
///
/// # Safety
/// `update` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_update_change(
    update: *const ChatcryptDeviceListUpdate,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(update, out, |u| Ok(u.0.change as u32)) }
}

/// The devices new on the list (`cap` elements; `*out_count` = how many).
///
/// # Safety
/// `update` is live; `out` is valid for `cap` `uint32_t`s; `out_count` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_update_added(
    update: *const ChatcryptDeviceListUpdate,
    out: *mut u32,
    cap: usize,
    out_count: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::put_u32s(&raw::obj(update)?.0.added, out, cap, out_count) }
    })
}

/// The devices no longer on the list: delete their records (`cap`
/// elements; `*out_count` = how many).
///
/// # Safety
/// `update` is live; `out` is valid for `cap` `uint32_t`s; `out_count` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_update_removed(
    update: *const ChatcryptDeviceListUpdate,
    out: *mut u32,
    cap: usize,
    out_count: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::put_u32s(&raw::obj(update)?.0.removed, out, cap, out_count) }
    })
}

/// The devices listed with a new identity key (reinstalled) (`cap`
/// elements; `*out_count` = how many).
///
/// # Safety
/// `update` is live; `out` is valid for `cap` `uint32_t`s; `out_count` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_update_reinstalled(
    update: *const ChatcryptDeviceListUpdate,
    out: *mut u32,
    cap: usize,
    out_count: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::put_u32s(&raw::obj(update)?.0.reinstalled, out, cap, out_count) }
    })
}

/// Frees a device list update (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_device_list_update_free(handle: *mut ChatcryptDeviceListUpdate) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

/// The safety number between two users' account keys (the one a
/// multi-device messenger shows): stable ids (at most
/// `CHATCRYPT_MAX_USER_ID_LEN` bytes) and 32-byte account keys.
///
/// # Safety
/// Each pointer is valid for its length; `out` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_safety_number_for_accounts(
    local_user_id: *const u8,
    local_user_id_len: usize,
    local_account_key: *const u8,
    local_account_key_len: usize,
    remote_user_id: *const u8,
    remote_user_id_len: usize,
    remote_account_key: *const u8,
    remote_account_key_len: usize,
    out: *mut *mut ChatcryptSafetyNumber,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            Ok(ChatcryptSafetyNumber(core_api::SafetyNumber::for_accounts(
                raw::bytes(local_user_id, local_user_id_len)?,
                raw::bytes(local_account_key, local_account_key_len)?,
                raw::bytes(remote_user_id, remote_user_id_len)?,
                raw::bytes(remote_account_key, remote_account_key_len)?,
            )?))
        })
    }
}

// ---------------------------------------------------------------------------
// Session records

/// Fills `*out` with chatcrypt's default policy: plain headers, hybrid
/// post-quantum required, either mode accepted, hybrid required from
/// initiators.
///
/// # Safety
/// `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_policy_default(out: *mut ChatcryptSessionPolicy) -> c_int {
    ffi(|| {
        let d = core_api::SessionPolicy::default();
        let p = ChatcryptSessionPolicy {
            mode: d.mode as u32,
            pq: d.pq as u32,
            accept_mode: d.accept_mode as u32,
            accept_pq: d.accept_pq as u32,
        };
        // SAFETY: forwarded from the caller.
        unsafe { raw::write(out, p) }
    })
}

/// An empty record for the peer's device `device`.
///
/// # Safety
/// `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_new(
    device: u32,
    out: *mut *mut ChatcryptSessionRecord,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { make(out, || Ok(ChatcryptSessionRecord(core_api::SessionRecord::new(device)))) }
}

/// `*out` = the peer's device id.
///
/// # Safety
/// `record` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_device(
    record: *const ChatcryptSessionRecord,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(record, out, |r| r.0.device()) }
}

/// `*out` = 1 if there is no session to send on at `now` (fetch a bundle
/// and initiate), else 0.
///
/// # Safety
/// `record` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_needs_new_session(
    record: *const ChatcryptSessionRecord,
    now: u64,
    out: *mut c_int,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(record, out, |r| r.0.needs_new_session(now).map(bool_int)) }
}

/// The current session's 32-byte id (its handshake's base key): `*has` = 1
/// and the id, or 0 and nothing (`*out_len` 0) without a current session.
///
/// # Safety
/// `record` is live; `out` is valid for `cap` bytes; `has` and `out_len` are valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_current_session_id(
    record: *const ChatcryptSessionRecord,
    has: *mut c_int,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { put_opt_key(raw::obj(record)?.0.current_session_id()?, has, out, cap, out_len) }
    })
}

/// `*out` = how many earlier sessions are kept.
///
/// # Safety
/// `record` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_archived_count(
    record: *const ChatcryptSessionRecord,
    out: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(record, out, |r| r.0.archived_count()) }
}

/// `*out` = the length of the message that encrypting `plaintext_len`
/// bytes padded with (`padding_kind`, `padding_param`) gives now
/// (`CHATCRYPT_ERR_NO_SESSION` without a current session). A sealed
/// message (`chatcrypt_session_record_encrypt_sealed`) is that with the
/// default padding + `CHATCRYPT_SEALED_ENVELOPE_OVERHEAD` + 4.
///
/// # Safety
/// `record` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_encrypted_len(
    record: *const ChatcryptSessionRecord,
    plaintext_len: usize,
    padding_kind: u32,
    padding_param: u32,
    out: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        value_of(record, out, |r| {
            r.0.encrypted_len(plaintext_len, core_api::Padding::new(padding_kind, padding_param)?)
        })
    }
}

/// Starts a session with the device from its `bundle`, authorized by
/// `peer`'s device list; it becomes the current session. `policy` NULL is
/// the default. Draws 32 + 32 bytes, 32 more if hybrid. Nothing changes on
/// error.
///
/// # Safety
/// `record`, `local`, `peer`, `bundle` and `rng` are live; `policy` is NULL
/// or valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_initiate(
    record: *mut ChatcryptSessionRecord,
    local: *const ChatcryptLocalDevice,
    peer: *const ChatcryptPeerAccount,
    bundle: *const ChatcryptBundle,
    policy: *const ChatcryptSessionPolicy,
    now: u64,
    rng: *mut ChatcryptRng,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let r = raw::obj_mut(record)?;
            let l = raw::obj(local)?;
            let p = raw::obj(peer)?;
            let b = raw::obj(bundle)?;
            let pol = self::policy(policy)?;
            let rng = raw::obj_mut(rng)?;
            r.0.initiate(&l.0, &p.0, &b.0, pol, now, &mut rng.0)
        }
    })
}

/// Encrypts `plaintext` on the current session, padded with the default
/// policy, into `out` (capacity from `chatcrypt_session_record_encrypted_len`
/// with `CHATCRYPT_PADDING_DEFAULT_*`; a smaller one fails with
/// `CHATCRYPT_ERR_BUFFER_TOO_SMALL` and the length in `*out_len` before
/// anything is drawn or changed, and before the errors below are looked
/// for). Draws 16 bytes. Store the record afterwards.
/// Errors: `NO_SESSION`, `SESSION_EXPIRED`, the peer's authorization
/// (`ACCOUNT_KEY_CHANGED`, `UNKNOWN_DEVICE`, `WRONG_IDENTITY`), then the
/// session's; nothing changes on error (a scripted generator that runs
/// dry included).
///
/// # Safety
/// `record`, `peer` and `rng` are live; buffers are valid for their
/// lengths and do not overlap; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_session_record_encrypt(
    record: *mut ChatcryptSessionRecord,
    peer: *const ChatcryptPeerAccount,
    plaintext: *const u8,
    plaintext_len: usize,
    now: u64,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        chatcrypt_session_record_encrypt_padded(
            record,
            peer,
            plaintext,
            plaintext_len,
            CHATCRYPT_PADDING_DEFAULT_KIND,
            CHATCRYPT_PADDING_DEFAULT_PARAM,
            now,
            rng,
            out,
            cap,
            out_len,
        )
    }
}

/// As `chatcrypt_session_record_encrypt`, padded with (`padding_kind`,
/// `padding_param`) (`CHATCRYPT_PADDING_*`).
///
/// # Safety
/// As `chatcrypt_session_record_encrypt`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_session_record_encrypt_padded(
    record: *mut ChatcryptSessionRecord,
    peer: *const ChatcryptPeerAccount,
    plaintext: *const u8,
    plaintext_len: usize,
    padding_kind: u32,
    padding_param: u32,
    now: u64,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[
                (plaintext, plaintext_len),
                (out.cast_const(), cap),
                (out_len.cast_const().cast(), core::mem::size_of::<usize>()),
            ])?;
            let r = raw::obj_mut(record)?;
            let p = raw::obj(peer)?;
            let pt = raw::bytes(plaintext, plaintext_len)?;
            let rng = raw::obj_mut(rng)?;
            let padding = core_api::Padding::new(padding_kind, padding_param)?;
            raw::write(out_len, 0)?;
            // Without a current session (or with a plaintext too large)
            // the record's own call reports the error.
            if let Ok(needed) = r.0.encrypted_len(pt.len(), padding) {
                raw::write(out_len, needed)?;
                if cap < needed {
                    return Err(Error::BufferTooSmall { needed });
                }
            }
            let m = r.0.encrypt_padded(&p.0, pt, padding, now, &mut rng.0)?;
            raw::put(&m, out, cap, out_len)
        }
    })
}

/// Decrypts `message` from the record's device: a PreKeyMessage of a
/// session in the record, a new one (accepted with `local`'s prekeys, which
/// it consumes on success: store the device too), or a Message. `out`
/// needs a capacity of at least `message_len` (checked before any work;
/// `*out_len` = the plaintext's length); `message_id` is NULL or has
/// `message_id_cap` >= `CHATCRYPT_MESSAGE_ID_LEN`; `*new_session` (NULL to
/// skip) = 1 if the message started a new session. `policy` NULL is the
/// default. Draws 32 bytes on a new ratchet step. No two buffers may
/// overlap. Errors: `DUPLICATE` for an exact replay (drop it), `AUTH`,
/// `NO_SESSION`, `UNKNOWN_PREKEY` (the id: `chatcrypt_last_error_prekey_id`)
/// and the others of the session and the peer's authorization; nothing
/// changes on error (record and device; a scripted generator that runs
/// dry included).
///
/// # Safety
/// `record`, `local`, `peer` and `rng` are live; `policy` is NULL or valid;
/// buffers are valid for their lengths; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_session_record_decrypt(
    record: *mut ChatcryptSessionRecord,
    local: *mut ChatcryptLocalDevice,
    peer: *const ChatcryptPeerAccount,
    message: *const u8,
    message_len: usize,
    policy: *const ChatcryptSessionPolicy,
    now: u64,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
    message_id: *mut u8,
    message_id_cap: usize,
    new_session: *mut c_int,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[
                (message, message_len),
                (out.cast_const(), cap),
                (message_id.cast_const(), message_id_cap),
                (out_len.cast_const().cast(), core::mem::size_of::<usize>()),
                (
                    new_session.cast_const().cast(),
                    if new_session.is_null() { 0 } else { core::mem::size_of::<c_int>() },
                ),
            ])?;
            let r = raw::obj_mut(record)?;
            let l = raw::obj_mut(local)?;
            let p = raw::obj(peer)?;
            let m = raw::bytes(message, message_len)?;
            let pol = self::policy(policy)?;
            let rng = raw::obj_mut(rng)?;
            plaintext_room(m.len(), cap, out_len)?;
            raw::write(out_len, 0)?;
            let id_out = id_buffer(message_id, message_id_cap)?;
            let d = r.0.decrypt(&mut l.0, &p.0, m, pol, now, &mut rng.0)?;
            put_decrypted(&d, out, cap, out_len, id_out, new_session)
        }
    })
}

/// Encrypts `plaintext` on the current session (default padding) and seals
/// the message for the session's peer device with `certificate`, this
/// device's sender certificate, into `out` (capacity:
/// `chatcrypt_session_record_encrypted_len` with the default padding +
/// `CHATCRYPT_SEALED_ENVELOPE_OVERHEAD` + 4, checked first, before
/// anything is drawn or changed). Draws 16 + 32 bytes. `CHATCRYPT_ERR_WRONG_IDENTITY`
/// if the certificate names another identity key than `local`'s,
/// `CHATCRYPT_ERR_CERTIFICATE_EXPIRED` if it has expired at `now`, then the
/// errors of `chatcrypt_session_record_encrypt`; nothing changes on error.
///
/// # Safety
/// `record`, `local`, `peer`, `certificate` and `rng` are live; buffers are
/// valid for their lengths and do not overlap; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_session_record_encrypt_sealed(
    record: *mut ChatcryptSessionRecord,
    local: *const ChatcryptLocalDevice,
    peer: *const ChatcryptPeerAccount,
    certificate: *const ChatcryptSenderCertificate,
    plaintext: *const u8,
    plaintext_len: usize,
    now: u64,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[
                (plaintext, plaintext_len),
                (out.cast_const(), cap),
                (out_len.cast_const().cast(), core::mem::size_of::<usize>()),
            ])?;
            let r = raw::obj_mut(record)?;
            let l = raw::obj(local)?;
            let p = raw::obj(peer)?;
            let c = raw::obj(certificate)?;
            let pt = raw::bytes(plaintext, plaintext_len)?;
            let rng = raw::obj_mut(rng)?;
            raw::write(out_len, 0)?;
            if let Ok(inner) = r.0.encrypted_len(pt.len(), core_api::Padding::default()) {
                let needed = inner + CHATCRYPT_SEALED_ENVELOPE_OVERHEAD + SEALED_PADDING_OVERHEAD;
                raw::write(out_len, needed)?;
                if cap < needed {
                    return Err(Error::BufferTooSmall { needed });
                }
            }
            let e = r.0.encrypt_sealed(&l.0, &p.0, &c.0, pt, now, &mut rng.0)?;
            raw::put(&e, out, cap, out_len)
        }
    })
}

/// The padding a record's sealed message carries around the inner message
/// (padding kind none: 4 bytes).
const SEALED_PADDING_OVERHEAD: usize = 4;

/// Decrypts the content of an opened sealed envelope from the record's
/// device, as `chatcrypt_session_record_decrypt`, if the certificate names
/// the sender the inner session authenticates
/// (`CHATCRYPT_ERR_SENDER_MISMATCH` otherwise). `out` needs a capacity of
/// at least the opened content's length (`chatcrypt_opened_envelope_content`;
/// checked before any work). Nothing changes on error.
///
/// # Safety
/// `record`, `local`, `peer`, `opened` and `rng` are live; `policy` is NULL
/// or valid; buffers are valid for their lengths; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_session_record_decrypt_sealed(
    record: *mut ChatcryptSessionRecord,
    local: *mut ChatcryptLocalDevice,
    peer: *const ChatcryptPeerAccount,
    opened: *const ChatcryptOpenedEnvelope,
    policy: *const ChatcryptSessionPolicy,
    now: u64,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
    message_id: *mut u8,
    message_id_cap: usize,
    new_session: *mut c_int,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[
                (out.cast_const(), cap),
                (message_id.cast_const(), message_id_cap),
                (out_len.cast_const().cast(), core::mem::size_of::<usize>()),
                (
                    new_session.cast_const().cast(),
                    if new_session.is_null() { 0 } else { core::mem::size_of::<c_int>() },
                ),
            ])?;
            let r = raw::obj_mut(record)?;
            let l = raw::obj_mut(local)?;
            let p = raw::obj(peer)?;
            let o = raw::obj(opened)?;
            let pol = self::policy(policy)?;
            let rng = raw::obj_mut(rng)?;
            plaintext_room(o.0.content().len(), cap, out_len)?;
            raw::write(out_len, 0)?;
            let id_out = id_buffer(message_id, message_id_cap)?;
            let d = r.0.decrypt_sealed(&mut l.0, &p.0, &o.0, pol, now, &mut rng.0)?;
            put_decrypted(&d, out, cap, out_len, id_out, new_session)
        }
    })
}

/// Reacts to a retry message from the record's device: `*outcome` =
/// `CHATCRYPT_RETRY_START_NEW_SESSION` (the current session was archived:
/// fetch a bundle, initiate, resend; store the record) or
/// `CHATCRYPT_RETRY_IGNORED`.
///
/// # Safety
/// `record`, `local`, `peer` and `retry` are live; `outcome` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_handle_retry(
    record: *mut ChatcryptSessionRecord,
    local: *const ChatcryptLocalDevice,
    peer: *const ChatcryptPeerAccount,
    retry: *const ChatcryptRetryMessage,
    outcome: *mut u32,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let r = raw::obj_mut(record)?;
            let l = raw::obj(local)?;
            let p = raw::obj(peer)?;
            let m = raw::obj(retry)?;
            raw::write(outcome, CHATCRYPT_RETRY_IGNORED)?;
            let o = r.0.handle_retry(&l.0, &p.0, &m.0)?;
            raw::write(outcome, o as u32)
        }
    })
}

/// The stored form (secret): store it after every change.
///
/// # Safety
/// `record` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_to_bytes(
    record: *const ChatcryptSessionRecord,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(record, out, cap, out_len, |r| r.0.to_bytes()) }
}

/// Restores a stored session record.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptSessionRecord,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::SessionRecord::from_bytes(b).map(ChatcryptSessionRecord))
    }
}

/// The stored form encrypted under a 32-byte key (the stored form's
/// length + `CHATCRYPT_SEALED_OVERHEAD` bytes, checked before anything is
/// drawn; draws 12).
///
/// # Safety
/// `record` and `rng` are live; `key` is valid for `key_len` bytes, `out`
/// for `cap`; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_session_record_seal(
    record: *const ChatcryptSessionRecord,
    key: *const u8,
    key_len: usize,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        seal_stored(
            record,
            key,
            key_len,
            rng,
            out,
            cap,
            out_len,
            |r| r.0.to_bytes().map(|b| b.len()),
            |r, k, g| r.0.seal(k, g),
        )
    }
}

/// Opens a sealed session record.
///
/// # Safety
/// `key` and `bytes` are valid for their lengths; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_open(
    key: *const u8,
    key_len: usize,
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptSessionRecord,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let k = raw::bytes(key, key_len)?;
            let b = raw::bytes(bytes, len)?;
            Ok(ChatcryptSessionRecord(core_api::SessionRecord::open(k, b)?))
        })
    }
}

/// Frees a session record and wipes its secrets (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_session_record_free(handle: *mut ChatcryptSessionRecord) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

// ---------------------------------------------------------------------------
// Retries

/// Decodes and verifies a retry message (`CHATCRYPT_RETRY_MESSAGE_LEN` bytes).
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_retry_message_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptRetryMessage,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::RetryMessage::from_bytes(b).map(ChatcryptRetryMessage))
    }
}

/// The encoding (`CHATCRYPT_RETRY_MESSAGE_LEN` bytes), to send to the
/// failed message's sender.
///
/// # Safety
/// `retry` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_retry_message_to_bytes(
    retry: *const ChatcryptRetryMessage,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(retry, out, cap, out_len, |r| Ok(r.0.to_bytes())) }
}

/// `*out` = why the message failed (`CHATCRYPT_RETRY_NO_SESSION`,
/// `_UNKNOWN_PREKEY`, `_HANDSHAKE_FAILED`).
///
/// # Safety
/// `retry` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_retry_message_reason(
    retry: *const ChatcryptRetryMessage,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(retry, out, |r| Ok(r.0.reason() as u32)) }
}

/// `*out` = the unknown prekey's id, else 0.
///
/// # Safety
/// `retry` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_retry_message_prekey_id(
    retry: *const ChatcryptRetryMessage,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(retry, out, |r| Ok(r.0.prekey_id())) }
}

/// The failed message's digest (`CHATCRYPT_MESSAGE_DIGEST_LEN` bytes).
///
/// # Safety
/// `retry` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_retry_message_message_digest(
    retry: *const ChatcryptRetryMessage,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(retry, out, cap, out_len, |r| Ok(r.0.message_digest())) }
}

/// `*out` = when the failure happened, on the author's clock.
///
/// # Safety
/// `retry` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_retry_message_timestamp(
    retry: *const ChatcryptRetryMessage,
    out: *mut u64,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(retry, out, |r| Ok(r.0.timestamp())) }
}

/// The 32-byte identity key of the device that could not decrypt.
///
/// # Safety
/// `retry` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_retry_message_author(
    retry: *const ChatcryptRetryMessage,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(retry, out, cap, out_len, |r| Ok(r.0.author())) }
}

/// The 32-byte identity key of the device whose message failed.
///
/// # Safety
/// `retry` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_retry_message_recipient(
    retry: *const ChatcryptRetryMessage,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(retry, out, cap, out_len, |r| Ok(r.0.recipient())) }
}

/// Frees a retry message (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_retry_message_free(handle: *mut ChatcryptRetryMessage) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

// ---------------------------------------------------------------------------
// Padding

/// Checks a padding policy (`padding_kind` one of `CHATCRYPT_PADDING_*`
/// and its parameter): `CHATCRYPT_ERR_INVALID_ARGUMENT` for an unknown
/// kind, `NONE` with a parameter, `BLOCKS` with 0, a parameter above 65 535.
#[no_mangle]
pub extern "C" fn chatcrypt_padding_check(padding_kind: u32, padding_param: u32) -> c_int {
    ffi(|| core_api::Padding::new(padding_kind, padding_param).map(|_| ()))
}

/// `*out` = the padded length of `content_len` bytes (content, 4 bytes of
/// padding header and end mark, rounded as the policy says).
///
/// # Safety
/// `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_padding_padded_len(
    padding_kind: u32,
    padding_param: u32,
    content_len: usize,
    out: *mut usize,
) -> c_int {
    ffi(|| {
        let n = core_api::Padding::new(padding_kind, padding_param)?.padded_len(content_len)?;
        // SAFETY: forwarded from the caller.
        unsafe { raw::write(out, n) }
    })
}

/// Pads `content` (at most `max` bytes padded, else
/// `CHATCRYPT_ERR_TOO_LARGE`) into `out` (capacity from
/// `chatcrypt_padding_padded_len`). The buffers may not overlap.
///
/// # Safety
/// Buffers are valid for their lengths; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_pad(
    padding_kind: u32,
    padding_param: u32,
    content: *const u8,
    content_len: usize,
    max: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[(content, content_len), (out.cast_const(), cap), len_region(out_len)])?;
            let c = raw::bytes(content, content_len)?;
            let padding = core_api::Padding::new(padding_kind, padding_param)?;
            raw::write(out_len, 0)?;
            if let Ok(needed) = padding.padded_len(c.len()) {
                if needed <= max {
                    raw::write(out_len, needed)?;
                    if cap < needed {
                        return Err(Error::BufferTooSmall { needed });
                    }
                }
            }
            let padded = padding.pad(c, max)?;
            raw::put(&padded, out, cap, out_len)
        }
    })
}

/// Removes the padding, strictly (`CHATCRYPT_ERR_PADDING` for anything but
/// the exact padding its policy gives). `out` needs a capacity of at least
/// `padded_len` (checked first). The buffers may not overlap.
///
/// # Safety
/// Buffers are valid for their lengths; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_unpad(
    padded: *const u8,
    padded_len: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[(padded, padded_len), (out.cast_const(), cap), len_region(out_len)])?;
            let p = raw::bytes(padded, padded_len)?;
            plaintext_room(p.len(), cap, out_len)?;
            raw::write(out_len, 0)?;
            let content = core_api::unpad(p)?;
            raw::put(&content, out, cap, out_len)
        }
    })
}

// ---------------------------------------------------------------------------
// Sealed sender

/// A new server key pair (draws 32 bytes).
///
/// # Safety
/// `rng` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_server_key_generate(
    rng: *mut ChatcryptRng,
    out: *mut *mut ChatcryptServerKey,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let rng = raw::obj_mut(rng)?;
            Ok(ChatcryptServerKey(core_api::ServerKeyPair::generate(&mut rng.0)?))
        })
    }
}

/// The server key pair of a `CHATCRYPT_KEY_LEN`-byte seed.
///
/// # Safety
/// `seed` is valid for `seed_len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_server_key_from_seed(
    seed: *const u8,
    seed_len: usize,
    out: *mut *mut ChatcryptServerKey,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(seed, seed_len, out, |s| core_api::ServerKeyPair::from_seed(s).map(ChatcryptServerKey))
    }
}

/// The 32-byte seed (secret: the server's stored form).
///
/// # Safety
/// `server` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_server_key_seed(
    server: *const ChatcryptServerKey,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(server, out, cap, out_len, |s| Ok(s.0.seed())) }
}

/// The 32-byte public key (what clients trust as a root).
///
/// # Safety
/// `server` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_server_key_public_key(
    server: *const ChatcryptServerKey,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(server, out, cap, out_len, |s| Ok(s.0.public_key())) }
}

/// Issues certificate `serial`, valid while the recipient's clock is below
/// `expires`, for device `device` of the account with key `account_key`
/// and identity key `identity_key` (32 bytes each).
///
/// # Safety
/// `server` is live; the keys are valid for their lengths; `out` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_server_key_issue(
    server: *const ChatcryptServerKey,
    serial: u64,
    expires: u64,
    account_key: *const u8,
    account_key_len: usize,
    device: u32,
    identity_key: *const u8,
    identity_key_len: usize,
    out: *mut *mut ChatcryptSenderCertificate,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let s = raw::obj(server)?;
            let a = raw::bytes(account_key, account_key_len)?;
            let i = raw::bytes(identity_key, identity_key_len)?;
            Ok(ChatcryptSenderCertificate(s.0.issue(serial, expires, a, device, i)?))
        })
    }
}

/// Frees a server key pair and wipes it (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_server_key_free(handle: *mut ChatcryptServerKey) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

/// Decodes a sender certificate (`CHATCRYPT_SENDER_CERTIFICATE_LEN` bytes;
/// validated against a policy when an envelope is opened).
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptSenderCertificate,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| {
            core_api::SenderCertificate::from_bytes(b).map(ChatcryptSenderCertificate)
        })
    }
}

/// The encoding (`CHATCRYPT_SENDER_CERTIFICATE_LEN` bytes).
///
/// # Safety
/// `cert` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_to_bytes(
    cert: *const ChatcryptSenderCertificate,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(cert, out, cap, out_len, |c| Ok(c.0.to_bytes())) }
}

/// `*out` = the serial number.
///
/// # Safety
/// `cert` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_serial(
    cert: *const ChatcryptSenderCertificate,
    out: *mut u64,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(cert, out, |c| Ok(c.0.serial())) }
}

/// `*out` = the expiry time.
///
/// # Safety
/// `cert` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_expires(
    cert: *const ChatcryptSenderCertificate,
    out: *mut u64,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(cert, out, |c| Ok(c.0.expires())) }
}

/// The sender's 32-byte account key.
///
/// # Safety
/// `cert` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_account_key(
    cert: *const ChatcryptSenderCertificate,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(cert, out, cap, out_len, |c| Ok(c.0.account_key())) }
}

/// `*out` = the sender's device id.
///
/// # Safety
/// `cert` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_device(
    cert: *const ChatcryptSenderCertificate,
    out: *mut u32,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(cert, out, |c| Ok(c.0.device())) }
}

/// The sender device's 32-byte identity key.
///
/// # Safety
/// `cert` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_identity_key(
    cert: *const ChatcryptSenderCertificate,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(cert, out, cap, out_len, |c| Ok(c.0.identity_key())) }
}

/// The issuing 32-byte server key.
///
/// # Safety
/// `cert` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_issuer(
    cert: *const ChatcryptSenderCertificate,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(cert, out, cap, out_len, |c| Ok(c.0.issuer())) }
}

/// Checks the certificate against `policy`: `CHATCRYPT_OK`,
/// `CHATCRYPT_ERR_UNTRUSTED_CERTIFICATE`, `_CERTIFICATE_REVOKED` or
/// `_CERTIFICATE_EXPIRED`.
///
/// # Safety
/// `cert` and `policy` are live.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_validate(
    cert: *const ChatcryptSenderCertificate,
    policy: *const ChatcryptCertificatePolicy,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::obj(cert)?.0.validate(&raw::obj(policy)?.0) }
    })
}

/// Frees a sender certificate (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_sender_certificate_free(handle: *mut ChatcryptSenderCertificate) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

/// A certificate policy at time `now` with no roots yet (it accepts nothing
/// until `chatcrypt_certificate_policy_add_root`). The time is part of the
/// policy: move a policy kept across calls on with
/// `chatcrypt_certificate_policy_set_now` before each open, or expired
/// certificates pass.
///
/// # Safety
/// `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_certificate_policy_new(
    now: u64,
    out: *mut *mut ChatcryptCertificatePolicy,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { make(out, || Ok(ChatcryptCertificatePolicy(core_api::CertificatePolicy::new(now)))) }
}

/// Sets the time certificates are checked at.
///
/// # Safety
/// `policy` is live.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_certificate_policy_set_now(
    policy: *mut ChatcryptCertificatePolicy,
    now: u64,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::obj_mut(policy)?.0.set_now(now) };
        Ok(())
    })
}

/// `*out` = the time certificates are checked at.
///
/// # Safety
/// `policy` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_certificate_policy_now(
    policy: *const ChatcryptCertificatePolicy,
    out: *mut u64,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(policy, out, |p| Ok(p.0.now())) }
}

/// Trusts the 32-byte server key `root`.
///
/// # Safety
/// `policy` is live; `root` is valid for its length.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_certificate_policy_add_root(
    policy: *mut ChatcryptCertificatePolicy,
    root: *const u8,
    root_len: usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let p = raw::obj_mut(policy)?;
            p.0.add_root(raw::bytes(root, root_len)?)
        }
    })
}

/// Refuses certificates with serial `serial`.
///
/// # Safety
/// `policy` is live.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_certificate_policy_revoke(
    policy: *mut ChatcryptCertificatePolicy,
    serial: u64,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe { raw::obj_mut(policy)?.0.revoke(serial) };
        Ok(())
    })
}

/// Frees a certificate policy (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_certificate_policy_free(handle: *mut ChatcryptCertificatePolicy) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

/// Seals `content` for the device with identity key `recipient` (32 bytes),
/// as the sender `identity` with its `certificate`, padded with
/// (`padding_kind`, `padding_param`), into `out` (capacity:
/// `CHATCRYPT_SEALED_ENVELOPE_OVERHEAD` + `chatcrypt_padding_padded_len`,
/// checked before anything is drawn). Draws 32 bytes.
/// `CHATCRYPT_ERR_WRONG_IDENTITY` if the certificate is not `identity`'s.
/// The buffers may not overlap.
///
/// # Safety
/// `identity`, `certificate` and `rng` are live; buffers are valid for
/// their lengths; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_seal(
    identity: *const ChatcryptIdentity,
    certificate: *const ChatcryptSenderCertificate,
    recipient: *const u8,
    recipient_len: usize,
    content: *const u8,
    content_len: usize,
    padding_kind: u32,
    padding_param: u32,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[
                (recipient, recipient_len),
                (content, content_len),
                (out.cast_const(), cap),
                len_region(out_len),
            ])?;
            let i = raw::obj(identity)?;
            let c = raw::obj(certificate)?;
            let r = raw::bytes(recipient, recipient_len)?;
            let pt = raw::bytes(content, content_len)?;
            let padding = core_api::Padding::new(padding_kind, padding_param)?;
            let rng = raw::obj_mut(rng)?;
            raw::write(out_len, 0)?;
            if let Ok(padded) = padding.padded_len(pt.len()) {
                let needed = padded.saturating_add(CHATCRYPT_SEALED_ENVELOPE_OVERHEAD);
                raw::write(out_len, needed)?;
                if cap < needed {
                    return Err(Error::BufferTooSmall { needed });
                }
            }
            let e = core_api::seal(&i.0, &c.0, r, pt, padding, &mut rng.0)?;
            raw::put(&e, out, cap, out_len)
        }
    })
}

/// Seals `content` once for every device in `recipients` (n × 32-byte
/// identity keys, concatenated; at most `CHATCRYPT_MAX_SEALED_RECIPIENTS`,
/// else `CHATCRYPT_ERR_TOO_LARGE`): the multi-recipient envelope the server
/// splits with `chatcrypt_split_multi_recipient`. Draws 32 bytes (also when
/// `out` turns out too small: then `*out_len` = the length needed and
/// nothing else is written). The buffers may not overlap.
///
/// # Safety
/// `identity`, `certificate` and `rng` are live; buffers are valid for
/// their lengths; `out_len` is valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn chatcrypt_seal_multi(
    identity: *const ChatcryptIdentity,
    certificate: *const ChatcryptSenderCertificate,
    recipients: *const u8,
    recipients_len: usize,
    content: *const u8,
    content_len: usize,
    padding_kind: u32,
    padding_param: u32,
    rng: *mut ChatcryptRng,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            raw::disjoint(&[
                (recipients, recipients_len),
                (content, content_len),
                (out.cast_const(), cap),
                len_region(out_len),
            ])?;
            let i = raw::obj(identity)?;
            let c = raw::obj(certificate)?;
            let r = raw::bytes(recipients, recipients_len)?;
            let keys = chunks(r, crate::CHATCRYPT_KEY_LEN, "recipients must be n x 32 bytes")?
                .map(|k| {
                    <[u8; 32]>::try_from(k)
                        .map_err(|_| Error::InvalidArgument("recipients must be n x 32 bytes"))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            let pt = raw::bytes(content, content_len)?;
            let padding = core_api::Padding::new(padding_kind, padding_param)?;
            let rng = raw::obj_mut(rng)?;
            raw::write(out_len, 0)?;
            let e = core_api::seal_multi(&i.0, &c.0, &keys, pt, padding, &mut rng.0)?;
            raw::put(&e, out, cap, out_len)
        }
    })
}

/// The server's split of a multi-recipient envelope into one sealed
/// envelope per recipient (`chatcrypt_recipient_envelopes_*`), if they
/// take at most `CHATCRYPT_MAX_SPLIT_LEN` bytes together
/// (`CHATCRYPT_ERR_TOO_LARGE` otherwise, before anything is built: split in
/// ranges with `chatcrypt_split_multi_recipient_range`).
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_split_multi_recipient(
    bytes: *const u8,
    len: usize,
    out: *mut *mut ChatcryptRecipientEnvelopes,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| core_api::split_multi_recipient(b).map(ChatcryptRecipientEnvelopes))
    }
}

/// The envelopes of recipients `first`, `first + 1`, ... (at most `count`,
/// fewer at the end of the list, none from `first` on past the end), in
/// the envelope's order; `CHATCRYPT_ERR_TOO_LARGE` if they exceed
/// `CHATCRYPT_MAX_SPLIT_LEN` bytes together. Each call decodes the whole
/// envelope again.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_split_multi_recipient_range(
    bytes: *const u8,
    len: usize,
    first: usize,
    count: usize,
    out: *mut *mut ChatcryptRecipientEnvelopes,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        decode_into(bytes, len, out, |b| {
            core_api::split_multi_recipient_range(b, first, count).map(ChatcryptRecipientEnvelopes)
        })
    }
}

/// `*out` = how many envelopes the split holds.
///
/// # Safety
/// `envelopes` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_recipient_envelopes_count(
    envelopes: *const ChatcryptRecipientEnvelopes,
    out: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { value_of(envelopes, out, |e| Ok(e.0.len())) }
}

/// The 32-byte identity key of envelope `index`'s recipient (the server's
/// routing address); `CHATCRYPT_ERR_INVALID_ARGUMENT` for an index out of range.
///
/// # Safety
/// `envelopes` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_recipient_envelopes_recipient(
    envelopes: *const ChatcryptRecipientEnvelopes,
    index: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        bytes_of(envelopes, out, cap, out_len, |e| {
            e.0.get(index).map(|x| x.recipient).ok_or(Error::InvalidArgument("envelope index out of range"))
        })
    }
}

/// Envelope `index`: the sealed envelope to deliver to its recipient;
/// `CHATCRYPT_ERR_INVALID_ARGUMENT` for an index out of range.
///
/// # Safety
/// `envelopes` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_recipient_envelopes_envelope(
    envelopes: *const ChatcryptRecipientEnvelopes,
    index: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    ffi(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            let e = raw::obj(envelopes)?;
            let x = e.0.get(index).ok_or(Error::InvalidArgument("envelope index out of range"))?;
            raw::put(&x.envelope, out, cap, out_len)
        }
    })
}

/// Frees a split (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_recipient_envelopes_free(handle: *mut ChatcryptRecipientEnvelopes) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

/// Opens a sealed envelope addressed to `identity`, validating its sender
/// certificate against `policy` (changes no state). Errors, in this order:
/// `DECODE_*`, `AUTH` (not for this identity, or tampered),
/// `UNTRUSTED_CERTIFICATE`, `CERTIFICATE_REVOKED`, `CERTIFICATE_EXPIRED`,
/// `PADDING`.
///
/// # Safety
/// `identity` and `policy` are live; `envelope` is valid for its length;
/// `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_open(
    identity: *const ChatcryptIdentity,
    envelope: *const u8,
    envelope_len: usize,
    policy: *const ChatcryptCertificatePolicy,
    out: *mut *mut ChatcryptOpenedEnvelope,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(out, || {
            let i = raw::obj(identity)?;
            let e = raw::bytes(envelope, envelope_len)?;
            let p = raw::obj(policy)?;
            Ok(ChatcryptOpenedEnvelope(core_api::open(&i.0, e, &p.0)?))
        })
    }
}

/// The sender's validated certificate.
///
/// # Safety
/// `opened` is live; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_opened_envelope_certificate(
    opened: *const ChatcryptOpenedEnvelope,
    out: *mut *mut ChatcryptSenderCertificate,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { make(out, || Ok(ChatcryptSenderCertificate(raw::obj(opened)?.0.certificate()))) }
}

/// The content without its padding (secret; for a session record's
/// message, pass the envelope to `chatcrypt_session_record_decrypt_sealed`).
///
/// # Safety
/// `opened` is live; `out` is valid for `cap` bytes; `out_len` is valid.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_opened_envelope_content(
    opened: *const ChatcryptOpenedEnvelope,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { bytes_of(opened, out, cap, out_len, |o| Ok(o.0.content())) }
}

/// Frees an opened envelope and wipes its content (NULL: nothing).
///
/// # Safety
/// `handle` is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn chatcrypt_opened_envelope_free(handle: *mut ChatcryptOpenedEnvelope) {
    // SAFETY: forwarded from the caller.
    unsafe { release(handle) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    #[test]
    fn the_default_padding_constants_are_the_facades() {
        let d = core_api::Padding::default();
        assert_eq!(d.kind() as u32, CHATCRYPT_PADDING_DEFAULT_KIND);
        assert_eq!(d.param(), CHATCRYPT_PADDING_DEFAULT_PARAM);
    }

    #[test]
    fn the_unknown_prekey_id_is_kept_until_the_next_error() {
        let (mut has, mut id) = (-1, 99u32);
        let unknown = || Err(Error::Protocol(chatcrypt::Error::UnknownPreKey { id: 7 }));
        assert_eq!(ffi(unknown), crate::CHATCRYPT_ERR_UNKNOWN_PREKEY);
        // SAFETY: two valid out-pointers.
        assert_eq!(unsafe { chatcrypt_last_error_prekey_id(&mut has, &mut id) }, CHATCRYPT_OK);
        assert_eq!((has, id), (1, 7));
        // A success leaves it; another error clears it.
        assert_eq!(ffi(|| Ok(())), CHATCRYPT_OK);
        // SAFETY: as above.
        assert_eq!(unsafe { chatcrypt_last_error_prekey_id(&mut has, &mut id) }, CHATCRYPT_OK);
        assert_eq!((has, id), (1, 7));
        assert_eq!(ffi(|| Err(Error::Protocol(chatcrypt::Error::Auth))), crate::CHATCRYPT_ERR_AUTH);
        // SAFETY: as above.
        assert_eq!(unsafe { chatcrypt_last_error_prekey_id(&mut has, &mut id) }, CHATCRYPT_OK);
        assert_eq!((has, id), (0, 0));
        // SAFETY: a NULL out-pointer is refused, not written.
        let rc = unsafe { chatcrypt_last_error_prekey_id(std::ptr::null_mut(), &mut id) };
        assert_eq!(rc, crate::CHATCRYPT_ERR_INVALID_ARGUMENT);
    }
}
