//! JSON helpers for C programs with no JSON parser of their own: the comparison the
//! vector runners use, and RFC 6901 pointer lookups (reading a `done` result, say).

use crate::boundary::{R, boundary, check_out, json_string, owned, parse_json, put, str_in, usage};
use crate::errors::{termauth_error, termauth_status};
use serde_json::Value;
use std::ffi::c_char;

/// JSON value equality (object member order ignored, array order kept, `true` ≠ `1`):
/// the comparison the vector runners use. Writes the answer to `*out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_json_equal(
    a: *const u8,
    a_len: usize,
    b: *const u8,
    b_len: usize,
    out: *mut bool,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let a: Value = parse_json(unsafe { str_in(a, a_len, "a") }?, "invalid_json", "The JSON text `a`")?;
        let b: Value = parse_json(unsafe { str_in(b, b_len, "b") }?, "invalid_json", "The JSON text `b`")?;
        unsafe { put(out, a == b) };
        Ok(())
    })
}

unsafe fn json_lookup(json: *const u8, json_len: usize, pointer: *const u8, pointer_len: usize) -> R<Option<Value>> {
    let v: Value = parse_json(unsafe { str_in(json, json_len, "json") }?, "invalid_json", "The JSON text")?;
    let p = unsafe { str_in(pointer, pointer_len, "pointer") }?;
    Ok(v.pointer(p).cloned())
}

/// Looks up an RFC 6901 JSON pointer (`"/steps/0/poll"`, `""` for the whole document) and
/// writes the value's JSON text to `*out`, or NULL when there is no such member. For C
/// programs with no JSON parser of their own (reading a `done` result, say).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_json_get(
    json: *const u8,
    json_len: usize,
    pointer: *const u8,
    pointer_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let found = unsafe { json_lookup(json, json_len, pointer, pointer_len) }?;
        let s = match found {
            Some(v) => owned(&json_string(&v)?)?,
            None => std::ptr::null_mut(),
        };
        unsafe { put(out, s) };
        Ok(())
    })
}

/// Like `termauth_json_get`, but for a string member: writes its text (unquoted), or NULL
/// when the member is absent. A member that is not a string is a `usage` error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_json_get_string(
    json: *const u8,
    json_len: usize,
    pointer: *const u8,
    pointer_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let found = unsafe { json_lookup(json, json_len, pointer, pointer_len) }?;
        let s = match found {
            Some(Value::String(s)) => owned(&s)?,
            Some(_) => {
                return Err(usage("not_a_string", "The JSON member is not a string."));
            }
            None => std::ptr::null_mut(),
        };
        unsafe { put(out, s) };
        Ok(())
    })
}
