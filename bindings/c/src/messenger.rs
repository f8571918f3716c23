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

use crate::{bool_int, raw, CHATCRYPT_ERR_PANIC, CHATCRYPT_OK};

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
    assert!(CHATCRYPT_PADDING_NONE == core_api::PaddingKind::None as u32);
    assert!(CHATCRYPT_PADDING_BLOCKS == core_api::PaddingKind::Blocks as u32);
    assert!(CHATCRYPT_PADDING_PADME == core_api::PaddingKind::Padme as u32);
    assert!(CHATCRYPT_TRUST_ON_FIRST_USE == core_api::TrustLevel::TrustedOnFirstUse as u32);
    assert!(CHATCRYPT_TRUST_VERIFIED == core_api::TrustLevel::Verified as u32);
    assert!(CHATCRYPT_DEVICE_LIST_UNCHANGED == core_api::DeviceListChange::Unchanged as u32);
    assert!(CHATCRYPT_DEVICE_LIST_UPDATED == core_api::DeviceListChange::Updated as u32);
    assert!(CHATCRYPT_DEVICE_LIST_ACCOUNT_KEY_CHANGED == core_api::DeviceListChange::AccountKeyChanged as u32);
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

/// Splits a concatenation of `n` × `size`-byte items.
fn chunks<'a>(bytes: &'a [u8], size: usize, what: &'static str) -> Result<std::slice::ChunksExact<'a, u8>, Error> {
    if bytes.len() % size != 0 {
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
