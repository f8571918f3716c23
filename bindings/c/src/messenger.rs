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
