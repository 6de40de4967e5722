//! The boundary itself: strings and slices in, strings out, the panic catch around every
//! export, and the error out-parameter. Every `extern "C"` function of the crate goes
//! through [`boundary`] (fallible calls) or [`guard`] (infallible accessors), so no Rust
//! panic unwinds into C and no error is kept in thread-local state (cgo moves goroutines
//! between OS threads, so a "last error" would be read on the wrong thread).

use crate::errors::{termauth_error, termauth_status};
use serde::Deserialize;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use termauth_core::{Error, ErrorKind, Hint};
use termauth_status::*;

/// A borrowed string: `data` is NUL-terminated (`len` excludes the NUL), or NULL when the
/// value is absent. See the crate rules for how long it stays valid.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct termauth_str {
    /// The bytes (UTF-8), or NULL.
    pub data: *const c_char,
    /// The length in bytes, without the NUL.
    pub len: usize,
}

impl termauth_str {
    pub(crate) const NONE: termauth_str = termauth_str { data: std::ptr::null(), len: 0 };
}

/// A NUL-terminated copy of a string, handed out as a [`termauth_str`]. Its bytes are
/// wiped when it is dropped: a view may have shown a token or a file's contents.
#[derive(Debug)]
pub(crate) struct NulStr(Box<[u8]>);

impl NulStr {
    pub(crate) fn new(s: &str) -> Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        NulStr(v.into_boxed_slice())
    }

    pub(crate) fn view(&self) -> termauth_str {
        termauth_str { data: self.0.as_ptr().cast(), len: self.0.len() - 1 }
    }
}

impl Drop for NulStr {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites `bytes` with zeros in a way the optimiser keeps.
pub(crate) fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

pub(crate) fn opt_view(s: &Option<NulStr>) -> termauth_str {
    s.as_ref().map_or(termauth_str::NONE, NulStr::view)
}

/// An internal failure: the status to return and the error behind it.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) status: termauth_status,
    pub(crate) error: Error,
}

impl From<Error> for Fail {
    fn from(error: Error) -> Self {
        let status = match error.kind {
            ErrorKind::Usage => TERMAUTH_STATUS_USAGE,
            ErrorKind::Protocol => TERMAUTH_STATUS_PROTOCOL,
            ErrorKind::OAuth => TERMAUTH_STATUS_OAUTH,
            ErrorKind::Transport => TERMAUTH_STATUS_TRANSPORT,
            ErrorKind::Interrupted => TERMAUTH_STATUS_INTERRUPTED,
            ErrorKind::Storage => TERMAUTH_STATUS_STORAGE,
        };
        Fail { status, error }
    }
}

pub(crate) type R<T> = Result<T, Fail>;

pub(crate) fn null_arg(name: &str) -> Fail {
    Fail {
        status: TERMAUTH_STATUS_NULL_ARGUMENT,
        error: Error::usage("null_argument", format!("The argument `{name}` must not be NULL.")),
    }
}

pub(crate) fn usage(code: &str, message: impl Into<String>) -> Fail {
    Fail::from(Error::usage(code, message.into()))
}

/// Runs `body` behind the panic boundary; stores the error in `*err` (when not NULL).
pub(crate) fn boundary(err: *mut *mut termauth_error, body: impl FnOnce() -> R<()>) -> termauth_status {
    let fail = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return TERMAUTH_STATUS_OK,
        Ok(Err(fail)) => fail,
        Err(_) => Fail {
            status: TERMAUTH_STATUS_PANIC,
            error: Error::usage("panic", "termauth hit an internal error (a bug); please report it.").with_hint(Hint::Fatal),
        },
    };
    if !err.is_null() {
        // A panic while building the error object must not escape either.
        if let Ok(boxed) = catch_unwind(|| Box::into_raw(Box::new(termauth_error::new(fail.error)))) {
            // SAFETY: `err` is not NULL and points to writable storage (the ABI contract).
            unsafe { *err = boxed };
        }
    }
    fail.status
}

/// Runs an infallible accessor behind the panic boundary, with a default on panic.
pub(crate) fn guard<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

/// Reads a `(ptr, len)` string argument.
///
/// # Safety
/// `ptr` points to `len` readable bytes (or `len` is 0).
pub(crate) unsafe fn str_in<'a>(ptr: *const u8, len: usize, name: &str) -> R<&'a str> {
    let bytes = unsafe { bytes_in(ptr, len, name) }?;
    std::str::from_utf8(bytes).map_err(|e| Fail {
        status: TERMAUTH_STATUS_INVALID_UTF8,
        error: Error::usage("invalid_utf8", format!("The argument `{name}` is not UTF-8 (at byte {}).", e.valid_up_to())),
    })
}

/// Reads an optional `(ptr, len)` string argument: NULL means absent.
///
/// # Safety
/// As [`str_in`].
pub(crate) unsafe fn opt_str_in<'a>(ptr: *const u8, len: usize, name: &str) -> R<Option<&'a str>> {
    if ptr.is_null() { Ok(None) } else { unsafe { str_in(ptr, len, name) }.map(Some) }
}

/// Reads a `(ptr, len)` byte slice argument.
///
/// # Safety
/// `ptr` points to `len` readable bytes (or `len` is 0).
pub(crate) unsafe fn bytes_in<'a>(ptr: *const u8, len: usize, name: &str) -> R<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null_arg(name));
    }
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Reads an optional 32-byte RNG seed: NULL means "from the OS".
///
/// # Safety
/// `seed` is NULL or points to 32 readable bytes.
pub(crate) unsafe fn rng_in(seed: *const u8) -> R<termauth_core::Rng> {
    if seed.is_null() {
        return Ok(termauth_core::Rng::from_os()?);
    }
    let mut s = [0u8; 32];
    s.copy_from_slice(unsafe { std::slice::from_raw_parts(seed, 32) });
    Ok(termauth_core::Rng::from_seed(s))
}

pub(crate) fn check_out<T>(out: *mut T, name: &str) -> R<()> {
    if out.is_null() { Err(null_arg(name)) } else { Ok(()) }
}

/// Writes `value` to the out-parameter `out`.
///
/// # Safety
/// `out` was checked with [`check_out`] and is writable (the ABI contract).
pub(crate) unsafe fn put<T>(out: *mut T, value: T) {
    unsafe { out.write(value) };
}

/// # Safety
/// `ptr` is NULL or a live handle of this type.
pub(crate) unsafe fn obj<'a, T>(ptr: *const T, name: &str) -> R<&'a T> {
    unsafe { ptr.as_ref() }.ok_or_else(|| null_arg(name))
}

/// # Safety
/// `ptr` is NULL or a live handle of this type, used by one thread at a time.
pub(crate) unsafe fn obj_mut<'a, T>(ptr: *mut T, name: &str) -> R<&'a mut T> {
    unsafe { ptr.as_mut() }.ok_or_else(|| null_arg(name))
}

/// Moves a handle to C.
///
/// # Safety
/// As [`put`].
pub(crate) unsafe fn handle_out<T>(out: *mut *mut T, value: T) {
    unsafe { put(out, Box::into_raw(Box::new(value))) };
}

/// Frees a handle made by [`handle_out`] (NULL is ignored).
///
/// # Safety
/// `ptr` is NULL or a handle of this type not freed before.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    guard((), || {
        if !ptr.is_null() {
            drop(unsafe { Box::from_raw(ptr) });
        }
    })
}

/// An owned C string for the caller (freed, and wiped, by `termauth_string_free`).
pub(crate) fn owned(s: &str) -> R<*mut c_char> {
    CString::new(s)
        .map(CString::into_raw)
        .map_err(|_| usage("interior_nul", "The value contains a NUL byte and cannot be returned as a C string."))
}

pub(crate) fn json_string<T: serde::Serialize>(v: &T) -> R<String> {
    serde_json::to_string(v).map_err(|e| usage("internal_error", format!("Could not serialize: {e}.")))
}

/// Parses JSON into `T`. serde's own text can quote a value (a secret), so the message
/// keeps the position and category only.
pub(crate) fn parse_json<'a, T: Deserialize<'a>>(text: &'a str, code: &str, what: &str) -> R<T> {
    serde_json::from_str(text)
        .map_err(|e| usage(code, format!("{what} is not valid (line {} column {}, {:?}).", e.line(), e.column(), e.classify())))
}

/// Frees a string returned by this library (NULL is ignored). Its bytes are wiped first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_string_free(s: *mut c_char) {
    guard((), || {
        if !s.is_null() {
            let c = unsafe { CString::from_raw(s) };
            wipe(&mut c.into_bytes_with_nul());
        }
    })
}
