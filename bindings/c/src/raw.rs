//! The only `unsafe` of the C ABI: turning the caller's pointers into Rust
//! references and slices, each after a NULL (and alignment) check, and
//! handing boxed objects across as opaque pointers.
//!
//! Every function here states what the caller of the C function promises;
//! the header repeats it for each argument (a non-NULL pointer points to
//! as many valid bytes as its length says; a handle came from this library
//! and was not freed).

use std::slice;

use chatcrypt_bindings_core::Error;

/// A byte slice from a pointer and a length: `len == 0` gives an empty
/// slice whatever `ptr` is (NULL allowed); otherwise `ptr` must not be NULL.
///
/// # Safety
/// A non-NULL `ptr` is valid for reads of `len` bytes for `'a`, and nothing
/// writes them meanwhile.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::InvalidArgument("NULL input buffer with a non-zero length"));
    }
    if len > isize::MAX as usize {
        return Err(Error::InvalidArgument("input length too large"));
    }
    // SAFETY: `ptr` is non-NULL, `len` is in range, and the caller promises
    // `len` readable bytes that stay unchanged for `'a` (u8 has alignment 1).
    Ok(unsafe { slice::from_raw_parts(ptr, len) })
}

/// A mutable byte slice, as [`bytes`].
///
/// # Safety
/// A non-NULL `ptr` is valid for writes of `len` bytes for `'a`, and no
/// other reference to them exists meanwhile.
pub(crate) unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], Error> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Error::InvalidArgument("NULL output buffer with a non-zero capacity"));
    }
    if len > isize::MAX as usize {
        return Err(Error::InvalidArgument("output capacity too large"));
    }
    // SAFETY: as in `bytes`, for writes, and the caller promises exclusivity.
    Ok(unsafe { slice::from_raw_parts_mut(ptr, len) })
}

/// A shared reference to a handle; NULL or misaligned is an error.
///
/// # Safety
/// A non-NULL `ptr` came from this library's `Box::into_raw` for a `T` and
/// was not freed; no mutable use of it runs meanwhile.
pub(crate) unsafe fn obj<'a, T>(ptr: *const T) -> Result<&'a T, Error> {
    if ptr.is_null() || !ptr.is_aligned() {
        return Err(Error::InvalidArgument("NULL or misaligned handle"));
    }
    // SAFETY: non-NULL, aligned, and (caller) a live `T` made by this library.
    Ok(unsafe { &*ptr })
}

/// A mutable reference to a handle; NULL or misaligned is an error.
///
/// # Safety
/// As [`obj`], and no other use of the handle runs meanwhile.
pub(crate) unsafe fn obj_mut<'a, T>(ptr: *mut T) -> Result<&'a mut T, Error> {
    if ptr.is_null() || !ptr.is_aligned() {
        return Err(Error::InvalidArgument("NULL or misaligned handle"));
    }
    // SAFETY: non-NULL, aligned, and (caller) a live `T`, used only here.
    Ok(unsafe { &mut *ptr })
}

/// An optional handle: NULL is `None`.
///
/// # Safety
/// As [`obj`].
pub(crate) unsafe fn opt_obj<'a, T>(ptr: *const T) -> Result<Option<&'a T>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { obj(ptr) }.map(Some)
}

/// An optional mutable handle: NULL is `None`.
///
/// # Safety
/// As [`obj_mut`].
pub(crate) unsafe fn opt_obj_mut<'a, T>(ptr: *mut T) -> Result<Option<&'a mut T>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { obj_mut(ptr) }.map(Some)
}

/// Writes `value` to an out-parameter; NULL or misaligned is an error.
///
/// # Safety
/// A non-NULL, aligned `ptr` is valid for a write of a `T`.
pub(crate) unsafe fn write<T: Copy>(ptr: *mut T, value: T) -> Result<(), Error> {
    if ptr.is_null() || !ptr.is_aligned() {
        return Err(Error::InvalidArgument("NULL or misaligned out-parameter"));
    }
    // SAFETY: non-NULL, aligned, writable (caller); `T: Copy` has no drop.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Moves `value` into a new handle and stores it in `*out`.
///
/// # Safety
/// As [`write`] for `out`.
pub(crate) unsafe fn give<T>(out: *mut *mut T, value: T) -> Result<(), Error> {
    if out.is_null() || !out.is_aligned() {
        return Err(Error::InvalidArgument("NULL or misaligned handle out-parameter"));
    }
    let raw = Box::into_raw(Box::new(value));
    // SAFETY: non-NULL, aligned, writable (caller).
    unsafe { out.write(raw) };
    Ok(())
}

/// Clears a handle out-parameter before any work, so that it is NULL on
/// every error; a NULL `out` is left for [`give`] to report.
///
/// # Safety
/// As [`write`] for `out`.
pub(crate) unsafe fn clear<T>(out: *mut *mut T) {
    if !out.is_null() && out.is_aligned() {
        // SAFETY: non-NULL, aligned, writable (caller).
        unsafe { out.write(std::ptr::null_mut()) };
    }
}

/// Frees a handle; NULL is a no-op. Dropping wipes the secrets it holds.
///
/// # Safety
/// A non-NULL `ptr` came from [`give`] for a `T` and was not freed.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    if !ptr.is_null() && ptr.is_aligned() {
        // SAFETY: made by `Box::into_raw` in `give`, freed only here (caller).
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// Copies `src` into the caller's buffer: `*out_len` is set to `src.len()`
/// in every case, and a capacity below it is [`Error::BufferTooSmall`]
/// (nothing written).
///
/// # Safety
/// As [`bytes_mut`] for `out`/`cap`, and [`write`] for `out_len`.
pub(crate) unsafe fn put(src: &[u8], out: *mut u8, cap: usize, out_len: *mut usize) -> Result<(), Error> {
    // SAFETY: forwarded from the caller.
    unsafe { write(out_len, src.len()) }?;
    if cap < src.len() {
        return Err(Error::BufferTooSmall { needed: src.len() });
    }
    // SAFETY: forwarded from the caller.
    let dst = unsafe { bytes_mut(out, src.len()) }?;
    dst.copy_from_slice(src);
    Ok(())
}

/// Refuses caller memory regions that overlap: `(address, length)` pairs,
/// empty ones and NULL ones ignored. Inputs and outputs of one call must be
/// disjoint (a `&[u8]` and a `&mut [u8]` over the same bytes would be
/// undefined behaviour, and the library writes an output before it has read
/// all of an input), so in-place use is [`Error::InvalidArgument`]. Only
/// addresses are compared; nothing is dereferenced.
pub(crate) fn disjoint(regions: &[(*const u8, usize)]) -> Result<(), Error> {
    let spans: Vec<(usize, usize)> = regions
        .iter()
        .filter(|(p, len)| !p.is_null() && *len > 0)
        .map(|&(p, len)| (p as usize, (p as usize).saturating_add(len)))
        .collect();
    for (i, a) in spans.iter().enumerate() {
        for b in spans.iter().skip(i + 1) {
            if a.0 < b.1 && b.0 < a.1 {
                return Err(Error::InvalidArgument("input and output buffers overlap"));
            }
        }
    }
    Ok(())
}

/// Copies `src` into the caller's `uint32_t` array: `*out_count` is set to
/// `src.len()` in every case, and a capacity (in elements) below it is
/// [`Error::BufferTooSmall`] (nothing written).
///
/// # Safety
/// A non-NULL `out` is valid for writes of `cap` `u32`s; `out_count` as
/// [`write`].
pub(crate) unsafe fn put_u32s(
    src: &[u32],
    out: *mut u32,
    cap: usize,
    out_count: *mut usize,
) -> Result<(), Error> {
    // SAFETY: forwarded from the caller.
    unsafe { write(out_count, src.len()) }?;
    if cap < src.len() {
        return Err(Error::BufferTooSmall { needed: src.len() });
    }
    if src.is_empty() {
        return Ok(());
    }
    if out.is_null() || !out.is_aligned() {
        return Err(Error::InvalidArgument("NULL or misaligned output array"));
    }
    // SAFETY: non-NULL, aligned, and (caller) valid for `cap >= src.len()`
    // exclusive `u32` writes; `src.len()` elements fit in isize (a Vec's).
    let dst = unsafe { slice::from_raw_parts_mut(out, src.len()) };
    dst.copy_from_slice(src);
    Ok(())
}
