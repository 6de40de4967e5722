//! # libtermauth — the C ABI of termauth
//!
//! Two levels over one core:
//!
//! * **Sans-IO flows** (`termauth_flow_*`): `poll(now_ms)` gives a tagged action
//!   ([`termauth_action`]) whose payload is read through accessors or as the JSON documented
//!   in `tests/vectors/README.md`; `handle_*` feeds responses, transport errors, redirects and
//!   cancel. A host with its own HTTP stack (Go's `net/http`) drives them. The stores
//!   (`termauth_store_*`) and the lifecycle decision (`termauth_lifecycle_*`) are exposed so
//!   such a host keeps credentials exactly where and how the Rust driver does.
//! * **Batteries included** (`termauth_client_*`): login, get_token, logout and status over
//!   the native driver (ureq transport, loopback listener, keyring and file stores).
//!
//! ## Rules of the ABI (read once, they hold for every function)
//!
//! * Handles are opaque, made by `*_new`, released by `*_free` (NULL is accepted and ignored).
//! * Every fallible function returns [`termauth_status`]: `TERMAUTH_STATUS_OK` (0) or an
//!   error status from 7001 up. Out-parameters are written **only** on success. When `err`
//!   is not NULL, a failure also stores a new [`termauth_error`] in `*err`, which the caller
//!   frees with `termauth_error_free`. There is no thread-local "last error".
//! * Strings in are `(const uint8_t *ptr, size_t len)` and must be UTF-8 (checked: invalid
//!   UTF-8 gives `TERMAUTH_STATUS_INVALID_UTF8`). `ptr` may be NULL only when `len` is 0.
//!   Inputs are copied before the call returns.
//! * Owned strings out are NUL-terminated `char *` released with `termauth_string_free`
//!   (never `free()`); it wipes them first, as they may hold tokens.
//! * Borrowed strings out are [`termauth_str`] views (NUL-terminated, `len` excludes the
//!   NUL; `data` is NULL when the value is absent). A view into a flow is valid until the
//!   next `poll`, `handle_*` or `free` of that flow; a view into an error until it is freed.
//! * No Rust panic crosses the boundary: every export catches it and returns
//!   `TERMAUTH_STATUS_PANIC` (the workspace keeps `panic = "unwind"` for this).
//! * Handles are not synchronised: use one from one thread at a time (the Go package holds
//!   a mutex). `termauth_client_cancel` is the exception: it may be called from any thread
//!   while a login runs.
#![allow(non_camel_case_types)]
// The safety contract is the one above, common to every export (and in the header).
#![allow(clippy::missing_safety_doc)]

use serde::Deserialize;
use serde_json::Value;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;
use termauth::driver::CancelFlag;
use termauth::store::{CredentialKey, Store, StorePreference};
use termauth::ui::{Silent, Terminal};
use termauth::{Client, Config, LoginMethod, SecretMethod};
use termauth_core::lifecycle::{Policy, after_renewal_failure, decide, decide_forced, decide_locked, renewed_elsewhere};
use termauth_core::{
    Action, AnyFlow, Credential, Error, ErrorKind, Flow, FlowSpec, Hint, HttpResponse, Input,
    Outcome, Presentation, Rng, Secret, ServerMetadata, TransportErrorKind,
};

/// The ABI version. It changes when a function's signature or meaning changes; a host
/// checks `termauth_abi_version() == TERMAUTH_ABI_VERSION` at load.
pub const TERMAUTH_ABI_VERSION: u32 = 1;

/// What a fallible call returned. 0 is success; errors start at 7001 (a private base, so
/// they never look like errno or a boolean).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum termauth_status {
    /// Success: the out-parameters were written.
    TERMAUTH_STATUS_OK = 0,
    /// A required pointer argument was NULL.
    TERMAUTH_STATUS_NULL_ARGUMENT = 7001,
    /// A string argument was not UTF-8.
    TERMAUTH_STATUS_INVALID_UTF8 = 7002,
    /// The caller broke the contract or gave unusable configuration (error kind `usage`).
    TERMAUTH_STATUS_USAGE = 7010,
    /// The server's response was malformed (kind `protocol`).
    TERMAUTH_STATUS_PROTOCOL = 7011,
    /// The server answered with an OAuth error (kind `oauth`).
    TERMAUTH_STATUS_OAUTH = 7012,
    /// No HTTP response (kind `transport`).
    TERMAUTH_STATUS_TRANSPORT = 7013,
    /// Cancelled, or a local deadline passed (kind `interrupted`).
    TERMAUTH_STATUS_INTERRUPTED = 7014,
    /// The credential store (kind `storage`).
    TERMAUTH_STATUS_STORAGE = 7015,
    /// A bug: a Rust panic was caught at the boundary.
    TERMAUTH_STATUS_PANIC = 7099,
}
use termauth_status::*;

/// A borrowed string: `data` is NUL-terminated (`len` excludes the NUL), or NULL when the
/// value is absent. See the module rules for how long it stays valid.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct termauth_str {
    /// The bytes (UTF-8), or NULL.
    pub data: *const c_char,
    /// The length in bytes, without the NUL.
    pub len: usize,
}

impl termauth_str {
    const NONE: termauth_str = termauth_str {
        data: std::ptr::null(),
        len: 0,
    };
}

/// A NUL-terminated copy of a string, handed out as a [`termauth_str`].
#[derive(Debug, Clone)]
struct NulStr(Box<[u8]>);

impl NulStr {
    fn new(s: &str) -> Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        NulStr(v.into_boxed_slice())
    }
    fn view(&self) -> termauth_str {
        termauth_str {
            data: self.0.as_ptr().cast(),
            len: self.0.len() - 1,
        }
    }
}

fn opt_view(s: &Option<NulStr>) -> termauth_str {
    s.as_ref().map_or(termauth_str::NONE, NulStr::view)
}

// ───────────────────────────── errors and the panic boundary ─────────────────────────────

/// A rich error: kind, code, message, hint, HTTP status and the OAuth fields, read through
/// the `termauth_error_*` accessors or as JSON (the `error` shape of the vectors).
#[derive(Debug)]
pub struct termauth_error {
    error: Error,
    kind: NulStr,
    code: NulStr,
    message: NulStr,
    hint: NulStr,
    oauth_error: Option<NulStr>,
    error_description: Option<NulStr>,
    json: NulStr,
}

fn kind_str(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::Usage => "usage",
        ErrorKind::Protocol => "protocol",
        ErrorKind::OAuth => "oauth",
        ErrorKind::Transport => "transport",
        ErrorKind::Interrupted => "interrupted",
        ErrorKind::Storage => "storage",
    }
}

fn hint_str(h: Hint) -> &'static str {
    match h {
        Hint::Reauthenticate => "reauthenticate",
        Hint::RetryLater => "retry_later",
        Hint::FixConfiguration => "fix_configuration",
        Hint::Fatal => "fatal",
    }
}

impl termauth_error {
    fn new(error: Error) -> Self {
        termauth_error {
            kind: NulStr::new(kind_str(error.kind)),
            code: NulStr::new(&error.code),
            message: NulStr::new(&error.message),
            hint: NulStr::new(hint_str(error.hint)),
            oauth_error: error.error.as_deref().map(NulStr::new),
            error_description: error.error_description.as_deref().map(NulStr::new),
            json: NulStr::new(&serde_json::to_string(&error).unwrap_or_default()),
            error,
        }
    }
}

/// An internal failure: the status to return and the error behind it.
struct Fail {
    status: termauth_status,
    error: Error,
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

type R<T> = Result<T, Fail>;

fn null_arg(name: &str) -> Fail {
    Fail {
        status: TERMAUTH_STATUS_NULL_ARGUMENT,
        error: Error::usage(
            "null_argument",
            format!("The argument `{name}` must not be NULL."),
        ),
    }
}

/// Runs `body` behind the panic boundary; stores the error in `*err` (when not NULL).
fn boundary(err: *mut *mut termauth_error, body: impl FnOnce() -> R<()>) -> termauth_status {
    let fail = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return TERMAUTH_STATUS_OK,
        Ok(Err(fail)) => fail,
        Err(_) => Fail {
            status: TERMAUTH_STATUS_PANIC,
            error: Error::usage(
                "panic",
                "termauth hit an internal error (a bug); please report it.",
            )
            .with_hint(Hint::Fatal),
        },
    };
    if !err.is_null() {
        // A panic while building the error object must not escape either.
        if let Ok(boxed) = catch_unwind(|| Box::into_raw(Box::new(termauth_error::new(fail.error))))
        {
            unsafe { *err = boxed };
        }
    }
    fail.status
}

/// Runs an infallible accessor behind the panic boundary, with a default on panic.
fn guard<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

/// Reads a `(ptr, len)` string argument.
unsafe fn str_in<'a>(ptr: *const u8, len: usize, name: &str) -> R<&'a str> {
    if len == 0 {
        return Ok("");
    }
    if ptr.is_null() {
        return Err(null_arg(name));
    }
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    std::str::from_utf8(bytes).map_err(|e| Fail {
        status: TERMAUTH_STATUS_INVALID_UTF8,
        error: Error::usage(
            "invalid_utf8",
            format!(
                "The argument `{name}` is not UTF-8 (at byte {}).",
                e.valid_up_to()
            ),
        ),
    })
}

/// Reads an optional `(ptr, len)` string argument: NULL means absent.
unsafe fn opt_str_in<'a>(ptr: *const u8, len: usize, name: &str) -> R<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        unsafe { str_in(ptr, len, name) }.map(Some)
    }
}

unsafe fn bytes_in<'a>(ptr: *const u8, len: usize, name: &str) -> R<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null_arg(name));
    }
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

fn check_out<T>(out: *mut T, name: &str) -> R<()> {
    if out.is_null() {
        Err(null_arg(name))
    } else {
        Ok(())
    }
}

unsafe fn obj<'a, T>(ptr: *const T, name: &str) -> R<&'a T> {
    unsafe { ptr.as_ref() }.ok_or_else(|| null_arg(name))
}

unsafe fn obj_mut<'a, T>(ptr: *mut T, name: &str) -> R<&'a mut T> {
    unsafe { ptr.as_mut() }.ok_or_else(|| null_arg(name))
}

/// An owned C string for the caller (freed by `termauth_string_free`).
fn owned(s: &str) -> R<*mut c_char> {
    CString::new(s).map(CString::into_raw).map_err(|_| {
        Fail::from(Error::usage(
            "interior_nul",
            "The value contains a NUL byte and cannot be returned as a C string.",
        ))
    })
}

fn json_string<T: serde::Serialize>(v: &T) -> R<String> {
    serde_json::to_string(v).map_err(|e| {
        Fail::from(Error::usage(
            "internal_error",
            format!("Could not serialize: {e}."),
        ))
    })
}

fn parse_json<'a, T: Deserialize<'a>>(text: &'a str, code: &str, what: &str) -> R<T> {
    serde_json::from_str(text).map_err(|e| {
        // serde's text can quote a value (a secret); keep the position and category only.
        Fail::from(Error::usage(
            code,
            format!(
                "{what} is not valid (line {} column {}, {:?}).",
                e.line(),
                e.column(),
                e.classify()
            ),
        ))
    })
}

// ───────────────────────────── misc ─────────────────────────────

/// The ABI version of this library (compare with `TERMAUTH_ABI_VERSION`).
#[unsafe(no_mangle)]
pub extern "C" fn termauth_abi_version() -> u32 {
    TERMAUTH_ABI_VERSION
}

/// The library version (`"0.1.0"`), a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn termauth_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Frees a string returned by this library (NULL is ignored). Its bytes are wiped first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_string_free(s: *mut c_char) {
    guard((), || {
        if !s.is_null() {
            let c = unsafe { CString::from_raw(s) };
            let mut bytes = c.into_bytes_with_nul();
            for b in bytes.iter_mut() {
                unsafe { std::ptr::write_volatile(b, 0) };
            }
        }
    })
}

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
        let a: Value = parse_json(
            unsafe { str_in(a, a_len, "a") }?,
            "invalid_json",
            "The JSON text `a`",
        )?;
        let b: Value = parse_json(
            unsafe { str_in(b, b_len, "b") }?,
            "invalid_json",
            "The JSON text `b`",
        )?;
        unsafe { *out = a == b };
        Ok(())
    })
}

unsafe fn json_lookup(
    json: *const u8,
    json_len: usize,
    pointer: *const u8,
    pointer_len: usize,
) -> R<Option<Value>> {
    let v: Value = parse_json(
        unsafe { str_in(json, json_len, "json") }?,
        "invalid_json",
        "The JSON text",
    )?;
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
        unsafe { *out = s };
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
                return Err(
                    Error::usage("not_a_string", "The JSON member is not a string.").into(),
                );
            }
            None => std::ptr::null_mut(),
        };
        unsafe { *out = s };
        Ok(())
    })
}

// ───────────────────────────── error accessors ─────────────────────────────

/// The error's family: `usage`, `protocol`, `oauth`, `transport`, `interrupted`, `storage`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_kind(e: *const termauth_error) -> termauth_str {
    guard(termauth_str::NONE, || {
        unsafe { e.as_ref() }.map_or(termauth_str::NONE, |e| e.kind.view())
    })
}

/// The stable machine code (`invalid_grant`, `unknown_request_id`, `null_argument`, …).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_code(e: *const termauth_error) -> termauth_str {
    guard(termauth_str::NONE, || {
        unsafe { e.as_ref() }.map_or(termauth_str::NONE, |e| e.code.view())
    })
}

/// A sentence for the user: what happened and what to do.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_message(e: *const termauth_error) -> termauth_str {
    guard(termauth_str::NONE, || {
        unsafe { e.as_ref() }.map_or(termauth_str::NONE, |e| e.message.view())
    })
}

/// What the CLI should do: `reauthenticate`, `retry_later`, `fix_configuration`, `fatal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_hint(e: *const termauth_error) -> termauth_str {
    guard(termauth_str::NONE, || {
        unsafe { e.as_ref() }.map_or(termauth_str::NONE, |e| e.hint.view())
    })
}

/// The server's OAuth `error` value (`oauth` errors), or a NULL view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_oauth_error(e: *const termauth_error) -> termauth_str {
    guard(termauth_str::NONE, || {
        unsafe { e.as_ref() }.map_or(termauth_str::NONE, |e| opt_view(&e.oauth_error))
    })
}

/// The server's `error_description`, or a NULL view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_description(e: *const termauth_error) -> termauth_str {
    guard(termauth_str::NONE, || {
        unsafe { e.as_ref() }.map_or(termauth_str::NONE, |e| opt_view(&e.error_description))
    })
}

/// The HTTP status behind the error, or 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_status(e: *const termauth_error) -> u16 {
    guard(0, || {
        unsafe { e.as_ref() }
            .and_then(|e| e.error.status)
            .unwrap_or(0)
    })
}

/// The whole error as JSON (the vectors' `error` shape).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_json(e: *const termauth_error) -> termauth_str {
    guard(termauth_str::NONE, || {
        unsafe { e.as_ref() }.map_or(termauth_str::NONE, |e| e.json.view())
    })
}

/// Frees an error (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_free(e: *mut termauth_error) {
    guard((), || {
        if !e.is_null() {
            drop(unsafe { Box::from_raw(e) });
        }
    })
}

// ───────────────────────────── sans-IO flows ─────────────────────────────

/// What `poll` returned (the action's `type`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum termauth_action_kind {
    /// Send the request (`request_id`; fields METHOD, URL, BODY and the headers), then
    /// handle its response or transport error.
    TERMAUTH_ACTION_SEND_REQUEST = 1,
    /// Show USER_CODE, VERIFICATION_URI, VERIFICATION_URI_COMPLETE (`at_ms` = expiry); poll again.
    TERMAUTH_ACTION_SHOW_USER_CODE = 2,
    /// Open URL in a browser (REDIRECT_URI is where it comes back); poll again.
    TERMAUTH_ACTION_OPEN_BROWSER = 3,
    /// Store CREDENTIAL_JSON; poll again.
    TERMAUTH_ACTION_PERSIST = 4,
    /// Sleep until `at_ms`, then poll.
    TERMAUTH_ACTION_WAIT_UNTIL = 5,
    /// Wait for the redirect to REDIRECT_URI until `at_ms`; handle it, or poll at `at_ms`.
    TERMAUTH_ACTION_AWAIT_REDIRECT = 6,
    /// Request `request_id` is still unanswered: handle its response.
    TERMAUTH_ACTION_AWAIT_RESPONSE = 7,
    /// Finished: RESULT_JSON (ACCESS_TOKEN for tokens and credentials). Sticky.
    TERMAUTH_ACTION_DONE = 8,
    /// Failed: ERROR_JSON, or `termauth_flow_failure`. Sticky.
    TERMAUTH_ACTION_FAILED = 9,
}

/// A polled action: its tag and scalars. The rest is read with `termauth_flow_field`,
/// `termauth_flow_request_header` or as JSON with `termauth_flow_action_json`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct termauth_action {
    /// The tag.
    pub kind: termauth_action_kind,
    /// SEND_REQUEST and AWAIT_RESPONSE: the request id to echo back; else 0.
    pub request_id: u64,
    /// WAIT_UNTIL: when to poll; AWAIT_REDIRECT: the deadline; SHOW_USER_CODE: when the code
    /// expires (Unix ms); else 0.
    pub at_ms: u64,
}

/// A string member of the current action (see [`termauth_action_kind`] for which apply).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum termauth_field {
    /// SEND_REQUEST: `GET` or `POST`.
    TERMAUTH_FIELD_METHOD = 1,
    /// SEND_REQUEST: the URL; OPEN_BROWSER: the authorization URL.
    TERMAUTH_FIELD_URL = 2,
    /// SEND_REQUEST: the body (form-encoded, or empty).
    TERMAUTH_FIELD_BODY = 3,
    /// SHOW_USER_CODE: the code the user types.
    TERMAUTH_FIELD_USER_CODE = 4,
    /// SHOW_USER_CODE: where to type it.
    TERMAUTH_FIELD_VERIFICATION_URI = 5,
    /// SHOW_USER_CODE: a link with the code in it (absent when the server gave none).
    TERMAUTH_FIELD_VERIFICATION_URI_COMPLETE = 6,
    /// OPEN_BROWSER and AWAIT_REDIRECT: the redirect URI.
    TERMAUTH_FIELD_REDIRECT_URI = 7,
    /// PERSIST: the credential record (JSON); DONE with an API key: the same.
    TERMAUTH_FIELD_CREDENTIAL_JSON = 8,
    /// DONE: the outcome (JSON, the vectors' `result`).
    TERMAUTH_FIELD_RESULT_JSON = 9,
    /// FAILED: the error (JSON).
    TERMAUTH_FIELD_ERROR_JSON = 10,
    /// DONE with tokens: the access token; DONE with a credential: the key.
    TERMAUTH_FIELD_ACCESS_TOKEN = 11,
}

const FIELD_COUNT: usize = 12;

/// How a request failed to get an HTTP response.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum termauth_transport_error_kind {
    /// The name did not resolve.
    TERMAUTH_TRANSPORT_DNS = 1,
    /// The connection was refused or reset.
    TERMAUTH_TRANSPORT_CONNECT = 2,
    /// The TLS handshake failed.
    TERMAUTH_TRANSPORT_TLS = 3,
    /// No answer in time.
    TERMAUTH_TRANSPORT_TIMEOUT = 4,
    /// Anything else.
    TERMAUTH_TRANSPORT_OTHER = 5,
}

struct Current {
    action: termauth_action,
    json: NulStr,
    fields: [Option<NulStr>; FIELD_COUNT],
    headers: Vec<(NulStr, NulStr)>,
    error: Option<Error>,
}

/// A running flow (device, authorization code, client credentials, password, refresh,
/// revocation, introspection, discovery, API key): see `termauth_flow_new`.
pub struct termauth_flow {
    flow: AnyFlow,
    current: Option<Current>,
}

fn describe_action(action: &Action) -> R<Current> {
    use termauth_action_kind::*;
    use termauth_field::*;
    let mut fields: [Option<NulStr>; FIELD_COUNT] = Default::default();
    let mut set = |f: termauth_field, s: &str| fields[f as usize] = Some(NulStr::new(s));
    let mut headers = Vec::new();
    let mut error = None;
    let (kind, request_id, at_ms) = match action {
        Action::SendRequest(req) => {
            set(TERMAUTH_FIELD_METHOD, req.method.as_str());
            set(TERMAUTH_FIELD_URL, &req.url);
            set(TERMAUTH_FIELD_BODY, &req.body);
            headers = req
                .headers
                .iter()
                .map(|(k, v)| (NulStr::new(k), NulStr::new(v)))
                .collect();
            (TERMAUTH_ACTION_SEND_REQUEST, req.id, 0)
        }
        Action::ShowUserCode(p) => {
            set(TERMAUTH_FIELD_USER_CODE, &p.user_code);
            set(TERMAUTH_FIELD_VERIFICATION_URI, &p.verification_uri);
            if let Some(c) = &p.verification_uri_complete {
                set(TERMAUTH_FIELD_VERIFICATION_URI_COMPLETE, c);
            }
            (TERMAUTH_ACTION_SHOW_USER_CODE, 0, p.expires_at)
        }
        Action::OpenBrowser { url, redirect_uri } => {
            set(TERMAUTH_FIELD_URL, url);
            set(TERMAUTH_FIELD_REDIRECT_URI, redirect_uri);
            (TERMAUTH_ACTION_OPEN_BROWSER, 0, 0)
        }
        Action::Persist { credential } => {
            set(TERMAUTH_FIELD_CREDENTIAL_JSON, &credential.to_json());
            (TERMAUTH_ACTION_PERSIST, 0, 0)
        }
        Action::WaitUntil { at_ms } => (TERMAUTH_ACTION_WAIT_UNTIL, 0, *at_ms),
        Action::AwaitRedirect {
            redirect_uri,
            until_ms,
        } => {
            set(TERMAUTH_FIELD_REDIRECT_URI, redirect_uri);
            (TERMAUTH_ACTION_AWAIT_REDIRECT, 0, *until_ms)
        }
        Action::AwaitResponse { id } => (TERMAUTH_ACTION_AWAIT_RESPONSE, *id, 0),
        Action::Done { result } => {
            set(TERMAUTH_FIELD_RESULT_JSON, &json_string(result)?);
            match result {
                Outcome::Tokens { tokens } => {
                    set(TERMAUTH_FIELD_ACCESS_TOKEN, tokens.access_token.expose())
                }
                Outcome::Credential { credential } => {
                    set(TERMAUTH_FIELD_CREDENTIAL_JSON, &credential.to_json());
                    set(TERMAUTH_FIELD_ACCESS_TOKEN, credential.secret().expose());
                }
                _ => {}
            }
            (TERMAUTH_ACTION_DONE, 0, 0)
        }
        Action::Failed { error: e } => {
            set(TERMAUTH_FIELD_ERROR_JSON, &json_string(e)?);
            error = Some(e.clone());
            (TERMAUTH_ACTION_FAILED, 0, 0)
        }
    };
    Ok(Current {
        action: termauth_action {
            kind,
            request_id,
            at_ms,
        },
        json: NulStr::new(&json_string(action)?),
        fields,
        headers,
        error,
    })
}

/// Starts a flow from its spec (a `FlowSpec` JSON: `{"flow":"device","server":{…},…}`,
/// see tests/vectors/README.md). `seed` is 32 bytes for a reproducible RNG (tests), or NULL
/// for the OS RNG. On success `*out` is the new flow (free it with `termauth_flow_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_new(
    spec_json: *const u8,
    spec_len: usize,
    seed: *const u8,
    out: *mut *mut termauth_flow,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let text = unsafe { str_in(spec_json, spec_len, "spec_json") }?;
        let rng = if seed.is_null() {
            Rng::from_os()?
        } else {
            let mut s = [0u8; 32];
            s.copy_from_slice(unsafe { std::slice::from_raw_parts(seed, 32) });
            Rng::from_seed(s)
        };
        let flow = FlowSpec::from_json(text)?.start(rng)?;
        unsafe {
            *out = Box::into_raw(Box::new(termauth_flow {
                flow,
                current: None,
            }))
        };
        Ok(())
    })
}

/// Frees a flow (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_free(flow: *mut termauth_flow) {
    guard((), || {
        if !flow.is_null() {
            drop(unsafe { Box::from_raw(flow) });
        }
    })
}

/// The next action at `now_ms` (Unix ms). Drain it until a waiting or terminal action.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_poll(
    flow: *mut termauth_flow,
    now_ms: u64,
    out: *mut termauth_action,
) -> termauth_status {
    boundary(std::ptr::null_mut(), || {
        check_out(out, "out")?;
        let f = unsafe { obj_mut(flow, "flow") }?;
        let action = f.flow.poll(now_ms);
        let current = describe_action(&action)?;
        unsafe { *out = current.action };
        f.current = Some(current);
        Ok(())
    })
}

/// The current (last polled) action as JSON, e.g. `{"type":"wait_until","at_ms":1005000}`.
/// `USAGE` (code `no_action`) before the first poll.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_action_json(
    flow: *const termauth_flow,
    out: *mut termauth_str,
) -> termauth_status {
    boundary(std::ptr::null_mut(), || {
        check_out(out, "out")?;
        let c = current(unsafe { obj(flow, "flow") }?)?;
        unsafe { *out = c.json.view() };
        Ok(())
    })
}

fn current(f: &termauth_flow) -> R<&Current> {
    f.current
        .as_ref()
        .ok_or_else(|| Fail::from(Error::usage("no_action", "Call termauth_flow_poll first.")))
}

/// A string member (`field`: a `termauth_field`) of the current action; a NULL view when
/// the action has no such member.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_field(
    flow: *const termauth_flow,
    field: u32,
    out: *mut termauth_str,
) -> termauth_status {
    boundary(std::ptr::null_mut(), || {
        check_out(out, "out")?;
        let c = current(unsafe { obj(flow, "flow") }?)?;
        let i = field as usize;
        let v = if i < FIELD_COUNT {
            opt_view(&c.fields[i])
        } else {
            termauth_str::NONE
        };
        unsafe { *out = v };
        Ok(())
    })
}

/// The number of headers of the current SEND_REQUEST action (0 for any other action).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_request_header_count(flow: *const termauth_flow) -> usize {
    guard(0, || {
        unsafe { flow.as_ref() }
            .and_then(|f| f.current.as_ref())
            .map_or(0, |c| c.headers.len())
    })
}

/// Header `index` (in order) of the current SEND_REQUEST action.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_request_header(
    flow: *const termauth_flow,
    index: usize,
    name: *mut termauth_str,
    value: *mut termauth_str,
) -> termauth_status {
    boundary(std::ptr::null_mut(), || {
        check_out(name, "name")?;
        check_out(value, "value")?;
        let c = current(unsafe { obj(flow, "flow") }?)?;
        let (n, v) = c.headers.get(index).ok_or_else(|| {
            Fail::from(Error::usage(
                "index_out_of_range",
                "There is no header at this index.",
            ))
        })?;
        unsafe {
            *name = n.view();
            *value = v.view();
        }
        Ok(())
    })
}

/// The error of the current FAILED action as an error object (free it); `USAGE`
/// (`not_failed`) for any other action.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_failure(
    flow: *const termauth_flow,
    out: *mut *mut termauth_error,
) -> termauth_status {
    boundary(std::ptr::null_mut(), || {
        check_out(out, "out")?;
        let c = current(unsafe { obj(flow, "flow") }?)?;
        let e = c.error.clone().ok_or_else(|| {
            Fail::from(Error::usage(
                "not_failed",
                "The current action is not `failed`.",
            ))
        })?;
        unsafe { *out = Box::into_raw(Box::new(termauth_error::new(e))) };
        Ok(())
    })
}

fn handle(f: &mut termauth_flow, input: Input, now_ms: u64) -> R<()> {
    f.flow.handle(input, now_ms).map_err(Fail::from)
}

/// Feeds an input as JSON (`{"type":"http_response","id":1,"status":200,…}`, `redirect`,
/// `transport_error`, `cancel`: the vectors' shapes). A refused input leaves the flow as it was.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_handle_json(
    flow: *mut termauth_flow,
    input_json: *const u8,
    input_len: usize,
    now_ms: u64,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let f = unsafe { obj_mut(flow, "flow") }?;
        let input: Input = parse_json(
            unsafe { str_in(input_json, input_len, "input_json") }?,
            "invalid_input",
            "The input JSON",
        )?;
        handle(f, input, now_ms)
    })
}

/// Parses `Name: value` lines (LF or CRLF); lines without a colon are skipped.
fn parse_headers(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter_map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (n, v) = line.split_once(':')?;
            let n = n.trim();
            (!n.is_empty()).then(|| (n.to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Feeds the HTTP response to request `id`. `headers` is the header block as text, one
/// `Name: value` per line (LF or CRLF; NULL/0 for none); `body` the raw body bytes (decoded
/// as UTF-8, lossily, like every driver).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_handle_response(
    flow: *mut termauth_flow,
    id: u64,
    status: u16,
    headers: *const u8,
    headers_len: usize,
    body: *const u8,
    body_len: usize,
    now_ms: u64,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let f = unsafe { obj_mut(flow, "flow") }?;
        let headers = parse_headers(&String::from_utf8_lossy(unsafe {
            bytes_in(headers, headers_len, "headers")
        }?));
        let body =
            String::from_utf8_lossy(unsafe { bytes_in(body, body_len, "body") }?).into_owned();
        handle(
            f,
            Input::HttpResponse(HttpResponse {
                id,
                status,
                headers,
                body,
            }),
            now_ms,
        )
    })
}

/// Feeds a transport failure of request `id`. `kind` is a `termauth_transport_error_kind`
/// (taken as an integer: unknown values mean OTHER); `message` is the HTTP stack's error
/// text (NULL for none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_handle_transport_error(
    flow: *mut termauth_flow,
    id: u64,
    kind: u32,
    message: *const u8,
    message_len: usize,
    now_ms: u64,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let f = unsafe { obj_mut(flow, "flow") }?;
        let kind = match kind {
            1 => TransportErrorKind::Dns,
            2 => TransportErrorKind::Connect,
            3 => TransportErrorKind::Tls,
            4 => TransportErrorKind::Timeout,
            _ => TransportErrorKind::Other,
        };
        let message = unsafe { opt_str_in(message, message_len, "message") }?.map(str::to_string);
        handle(f, Input::TransportError { id, kind, message }, now_ms)
    })
}

/// Feeds the redirect the browser came back with (full URL or `/callback?…` request
/// target; surrounding whitespace from pasting is fine).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_handle_redirect(
    flow: *mut termauth_flow,
    url: *const u8,
    url_len: usize,
    now_ms: u64,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let f = unsafe { obj_mut(flow, "flow") }?;
        let url = unsafe { str_in(url, url_len, "url") }?.to_string();
        handle(f, Input::Redirect { url }, now_ms)
    })
}

/// Cancels the flow (always accepted): it fails with `cancelled`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_cancel(
    flow: *mut termauth_flow,
    now_ms: u64,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        handle(unsafe { obj_mut(flow, "flow") }?, Input::Cancel, now_ms)
    })
}

// ───────────────────────────── stores and lifecycle ─────────────────────────────

/// Which store to write to.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum termauth_store_preference {
    /// The OS keyring when it works, else the file store (with a reason).
    TERMAUTH_STORE_AUTO = 0,
    /// Only the keyring.
    TERMAUTH_STORE_KEYRING = 1,
    /// Only the file store (explicit opt-in).
    TERMAUTH_STORE_FILE = 2,
}

/// The credential store of one app (keyring + files in its config directory, the same on
/// disk as every other termauth language).
pub struct termauth_store {
    store: Store,
    app: String,
}

/// A held credential lock; `termauth_lock_free` releases it.
pub struct termauth_lock {
    _guard: termauth::store::LockGuard,
}

fn preference(raw: u32) -> StorePreference {
    match raw {
        1 => StorePreference::Keyring,
        2 => StorePreference::File,
        _ => StorePreference::Auto,
    }
}

/// Opens the store of `app`: in `config_dir` when given (not NULL), else the platform's
/// config directory (`<APP>_CONFIG_DIR` overrides it). `preference_kind` is a
/// `termauth_store_preference` (unknown values mean AUTO).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_store_new(
    app: *const u8,
    app_len: usize,
    config_dir: *const u8,
    config_dir_len: usize,
    preference_kind: u32,
    out: *mut *mut termauth_store,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let app = unsafe { str_in(app, app_len, "app") }?;
        if app.is_empty() {
            return Err(Error::usage("invalid_app", "The app name must not be empty.").into());
        }
        let pref = preference(preference_kind);
        let store = match unsafe { opt_str_in(config_dir, config_dir_len, "config_dir") }? {
            Some(dir) if !dir.is_empty() => Store::at(PathBuf::from(dir), pref),
            _ => Store::new(app, pref)?,
        };
        unsafe {
            *out = Box::into_raw(Box::new(termauth_store {
                store,
                app: app.to_string(),
            }))
        };
        Ok(())
    })
}

/// Frees a store (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_store_free(store: *mut termauth_store) {
    guard((), || {
        if !store.is_null() {
            drop(unsafe { Box::from_raw(store) });
        }
    })
}

/// The store's config directory (owned string).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_store_dir(
    store: *const termauth_store,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let s = unsafe { obj(store, "store") }?;
        let dir = owned(&s.store.dir().to_string_lossy())?;
        unsafe { *out = dir };
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn key_in(
    s: &termauth_store,
    issuer: *const u8,
    issuer_len: usize,
    client_id: *const u8,
    client_id_len: usize,
    profile: *const u8,
    profile_len: usize,
) -> R<CredentialKey> {
    let profile = unsafe { opt_str_in(profile, profile_len, "profile") }?
        .filter(|p| !p.is_empty())
        .unwrap_or("default");
    termauth::store::check_profile(profile)?;
    Ok(CredentialKey {
        app: s.app.clone(),
        issuer: unsafe { str_in(issuer, issuer_len, "issuer") }?.to_string(),
        client_id: unsafe { str_in(client_id, client_id_len, "client_id") }?.to_string(),
        profile: profile.to_string(),
    })
}

/// Reads the credential of (issuer, client_id, profile; NULL profile = `default`). On
/// success `*credential_json` is the record, or NULL when none is stored; when
/// `store_json` is not NULL it receives `{"store":"file"|"keyring","reason":…}` (or NULL).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn termauth_store_load(
    store: *const termauth_store,
    issuer: *const u8,
    issuer_len: usize,
    client_id: *const u8,
    client_id_len: usize,
    profile: *const u8,
    profile_len: usize,
    credential_json: *mut *mut c_char,
    store_json: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(credential_json, "credential_json")?;
        let s = unsafe { obj(store, "store") }?;
        let key = unsafe {
            key_in(
                s,
                issuer,
                issuer_len,
                client_id,
                client_id_len,
                profile,
                profile_len,
            )
        }?;
        let (c, w) = match s.store.load(&key)? {
            Some((c, choice)) => {
                let c = owned(&c.to_json())?;
                match owned(&json_string(&choice)?) {
                    Ok(w) => (c, w),
                    Err(e) => {
                        unsafe { termauth_string_free(c) };
                        return Err(e);
                    }
                }
            }
            None => (std::ptr::null_mut(), std::ptr::null_mut()),
        };
        unsafe {
            *credential_json = c;
            if store_json.is_null() {
                termauth_string_free(w);
            } else {
                *store_json = w;
            }
        }
        Ok(())
    })
}

/// Writes a credential record (checked first: a record this build cannot read is refused)
/// to the keyring or the file store, per the store's preference. When `store_json` is not
/// NULL it receives where it went and why.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn termauth_store_save(
    store: *const termauth_store,
    issuer: *const u8,
    issuer_len: usize,
    client_id: *const u8,
    client_id_len: usize,
    profile: *const u8,
    profile_len: usize,
    credential_json: *const u8,
    credential_len: usize,
    store_json: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let s = unsafe { obj(store, "store") }?;
        let key = unsafe {
            key_in(
                s,
                issuer,
                issuer_len,
                client_id,
                client_id_len,
                profile,
                profile_len,
            )
        }?;
        let credential = Credential::from_json(unsafe {
            str_in(credential_json, credential_len, "credential_json")
        }?)?;
        let choice = s.store.save(&key, &credential)?;
        if !store_json.is_null() {
            let w = owned(&json_string(&choice)?)?;
            unsafe { *store_json = w };
        }
        Ok(())
    })
}

/// Deletes a credential from both stores; `*removed` (optional) says whether one was there.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn termauth_store_delete(
    store: *const termauth_store,
    issuer: *const u8,
    issuer_len: usize,
    client_id: *const u8,
    client_id_len: usize,
    profile: *const u8,
    profile_len: usize,
    removed: *mut bool,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let s = unsafe { obj(store, "store") }?;
        let key = unsafe {
            key_in(
                s,
                issuer,
                issuer_len,
                client_id,
                client_id_len,
                profile,
                profile_len,
            )
        }?;
        let r = s.store.delete(&key)?;
        if !removed.is_null() {
            unsafe { *removed = r };
        }
        Ok(())
    })
}

/// Takes the credential's cross-process lock (the lock file every language uses), waiting
/// up to 60 s (`STORAGE`/`store_locked` after that). Release it with `termauth_lock_free`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn termauth_store_lock(
    store: *const termauth_store,
    issuer: *const u8,
    issuer_len: usize,
    client_id: *const u8,
    client_id_len: usize,
    profile: *const u8,
    profile_len: usize,
    out: *mut *mut termauth_lock,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let s = unsafe { obj(store, "store") }?;
        let key = unsafe {
            key_in(
                s,
                issuer,
                issuer_len,
                client_id,
                client_id_len,
                profile,
                profile_len,
            )
        }?;
        let guard = s.store.lock(&key)?;
        unsafe { *out = Box::into_raw(Box::new(termauth_lock { _guard: guard })) };
        Ok(())
    })
}

/// Releases a lock (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_lock_free(lock: *mut termauth_lock) {
    guard((), || {
        if !lock.is_null() {
            drop(unsafe { Box::from_raw(lock) });
        }
    })
}

/// The active profile of (issuer, client_id): `*out` is its name, or NULL when none is set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_store_active_profile(
    store: *const termauth_store,
    issuer: *const u8,
    issuer_len: usize,
    client_id: *const u8,
    client_id_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let s = unsafe { obj(store, "store") }?;
        let issuer = unsafe { str_in(issuer, issuer_len, "issuer") }?;
        let client_id = unsafe { str_in(client_id, client_id_len, "client_id") }?;
        let p = match s.store.active_profile(issuer, client_id)? {
            Some(p) => owned(&p)?,
            None => std::ptr::null_mut(),
        };
        unsafe { *out = p };
        Ok(())
    })
}

/// Makes `profile` the active one for (issuer, client_id).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn termauth_store_set_active_profile(
    store: *const termauth_store,
    issuer: *const u8,
    issuer_len: usize,
    client_id: *const u8,
    client_id_len: usize,
    profile: *const u8,
    profile_len: usize,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let s = unsafe { obj(store, "store") }?;
        let key = unsafe {
            key_in(
                s,
                issuer,
                issuer_len,
                client_id,
                client_id_len,
                profile,
                profile_len,
            )
        }?;
        s.store
            .set_active_profile(&key.issuer, &key.client_id, &key.profile)?;
        Ok(())
    })
}

/// The lifecycle decision for a stored record at `now_ms`: `*out` is
/// `{"decision":"use"}`, `{"decision":"refresh","still_valid":…}`,
/// `{"decision":"reacquire","still_valid":…}` or `{"decision":"relogin","reason":…}`.
/// `refresh_skew_ms`: renew this long before expiry (0 = the default, 60 s). An unreadable
/// record is a `STORAGE` error (`credential_corrupt`, `credential_newer_version`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_lifecycle_decide(
    credential_json: *const u8,
    credential_len: usize,
    now_ms: u64,
    refresh_skew_ms: u64,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let c = Credential::from_json(unsafe {
            str_in(credential_json, credential_len, "credential_json")
        }?)?;
        let policy = if refresh_skew_ms == 0 {
            Policy::default()
        } else {
            Policy { refresh_skew_ms }
        };
        let d = owned(&json_string(&decide(&c, now_ms, &policy))?)?;
        unsafe { *out = d };
        Ok(())
    })
}

/// The decision for a renewal the user asked for now (`refresh` command), whatever the
/// expiry: `refresh` or `reacquire`; a `USAGE` error `no_refresh_token` (hint
/// reauthenticate) or `not_refreshable` (API keys) when there is nothing to renew with.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_lifecycle_decide_forced(
    credential_json: *const u8,
    credential_len: usize,
    now_ms: u64,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let c = Credential::from_json(unsafe {
            str_in(credential_json, credential_len, "credential_json")
        }?)?;
        let d = owned(&json_string(&decide_forced(&c, now_ms)?)?)?;
        unsafe { *out = d };
        Ok(())
    })
}

/// The decision after taking the credential's lock and re-reading it: `before_json` was
/// read before locking, `current_json` after. `*out` is `{"decision":"use"}` (use
/// `current_json`: another process renewed it meanwhile) or the decision of
/// `termauth_lifecycle_decide` — of `termauth_lifecycle_decide_forced` when `force` is
/// non-zero. Errors as those two.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_lifecycle_decide_locked(
    before_json: *const u8,
    before_len: usize,
    current_json: *const u8,
    current_len: usize,
    now_ms: u64,
    refresh_skew_ms: u64,
    force: bool,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let before = Credential::from_json(unsafe { str_in(before_json, before_len, "before_json") }?)?;
        let current = Credential::from_json(unsafe { str_in(current_json, current_len, "current_json") }?)?;
        let policy = if refresh_skew_ms == 0 { Policy::default() } else { Policy { refresh_skew_ms } };
        let d = owned(&json_string(&decide_locked(&before, &current, now_ms, &policy, force)?)?)?;
        unsafe { *out = d };
        Ok(())
    })
}

/// `*out` is true when `current_json` is a renewal of `before_json` made by another process
/// that has not expired at `now_ms` (after an `invalid_grant`, use it instead of failing).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_lifecycle_renewed_elsewhere(
    before_json: *const u8,
    before_len: usize,
    current_json: *const u8,
    current_len: usize,
    now_ms: u64,
    out: *mut bool,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let before = Credential::from_json(unsafe { str_in(before_json, before_len, "before_json") }?)?;
        let current = Credential::from_json(unsafe { str_in(current_json, current_len, "current_json") }?)?;
        unsafe { *out = renewed_elsewhere(&before, &current, now_ms) };
        Ok(())
    })
}

/// After a renewal failed with `error_json` (an error as JSON): `*out` is a decision
/// (`use`: keep serving the current token; `relogin`), or the call fails with that error
/// when it is transient and the token has expired.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_lifecycle_after_renewal_failure(
    credential_json: *const u8,
    credential_len: usize,
    error_json: *const u8,
    error_len: usize,
    now_ms: u64,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let c = Credential::from_json(unsafe {
            str_in(credential_json, credential_len, "credential_json")
        }?)?;
        let e: Error = parse_json(
            unsafe { str_in(error_json, error_len, "error_json") }?,
            "invalid_error",
            "The error JSON",
        )?;
        let d = owned(&json_string(&after_renewal_failure(&c, &e, now_ms)?)?)?;
        unsafe { *out = d };
        Ok(())
    })
}

// ───────────────────────────── batteries included: the client ─────────────────────────────

/// How to log in (`termauth_client_login`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum termauth_login_method {
    /// Chosen from the environment (CI → client credentials; SSH/no display → device; desktop → browser).
    TERMAUTH_LOGIN_AUTO = 0,
    /// RFC 8628 device flow.
    TERMAUTH_LOGIN_DEVICE = 1,
    /// Browser with a loopback redirect.
    TERMAUTH_LOGIN_BROWSER = 2,
    /// Browser elsewhere; the user pastes the redirected URL on stdin.
    TERMAUTH_LOGIN_PASTE = 3,
    /// Client credentials (needs a client secret).
    TERMAUTH_LOGIN_CLIENT_CREDENTIALS = 4,
}

/// The batteries-included client (native driver: ureq, loopback listener, keyring/file
/// stores, terminal prompts on stderr).
pub struct termauth_client {
    inner: Mutex<Client>,
    cancel: Mutex<CancelFlag>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientConfigJson {
    app: String,
    issuer: String,
    client_id: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    secret_method: Option<String>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    config_dir: Option<String>,
    #[serde(default)]
    metadata: Option<ServerMetadata>,
    #[serde(default)]
    redirect_host: Option<String>,
    #[serde(default)]
    redirect_port: Option<u16>,
    #[serde(default)]
    redirect_path: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    resource: Vec<String>,
    #[serde(default)]
    allow_insecure_http: bool,
    #[serde(default)]
    enable_password_grant: bool,
    #[serde(default)]
    refresh_skew_ms: Option<u64>,
    /// `terminal` (default: rich on a TTY), `plain` (plain lines on stderr), `silent`.
    #[serde(default)]
    ui: Option<String>,
}

fn bad_config(msg: &str) -> Fail {
    Error::usage("invalid_client_config", msg.to_string()).into()
}

fn client_config(c: ClientConfigJson) -> R<(Config, String)> {
    let mut config = Config::new(c.app, c.issuer, c.client_id);
    config.scope = c.scope;
    config.client_secret = c.client_secret.map(Secret::from);
    config.secret_method = match c.secret_method.as_deref() {
        None | Some("basic") | Some("client_secret_basic") => SecretMethod::Basic,
        Some("post") | Some("client_secret_post") => SecretMethod::Post,
        Some(_) => return Err(bad_config("`secret_method` must be `basic` or `post`.")),
    };
    config.profile = c.profile;
    config.store = match c.store.as_deref() {
        None | Some("auto") => StorePreference::Auto,
        Some("keyring") => StorePreference::Keyring,
        Some("file") => StorePreference::File,
        Some(_) => return Err(bad_config("`store` must be `auto`, `keyring` or `file`.")),
    };
    config.config_dir = c.config_dir.filter(|d| !d.is_empty()).map(PathBuf::from);
    config.metadata = c.metadata;
    if let Some(h) = c.redirect_host {
        config.redirect_host = h;
    }
    if let Some(p) = c.redirect_port {
        config.redirect_port = p;
    }
    if let Some(p) = c.redirect_path {
        config.redirect_path = p;
    }
    config.redirect_uri = c.redirect_uri;
    config.resource = c.resource;
    config.allow_insecure_http = c.allow_insecure_http;
    config.enable_password_grant = c.enable_password_grant;
    if let Some(s) = c.refresh_skew_ms {
        config.policy = Policy { refresh_skew_ms: s };
    }
    let ui = c.ui.unwrap_or_else(|| "terminal".into());
    if !matches!(ui.as_str(), "terminal" | "plain" | "silent") {
        return Err(bad_config("`ui` must be `terminal`, `plain` or `silent`."));
    }
    config.interactive = ui != "silent";
    Ok((config, ui))
}

/// Creates a client from a JSON configuration: `app`, `issuer`, `client_id` (required);
/// `scope`, `client_secret` (else `<APP>_CLIENT_SECRET` / `TERMAUTH_CLIENT_SECRET`),
/// `secret_method` (`basic`|`post`), `profile`, `store` (`auto`|`keyring`|`file`),
/// `config_dir`, `metadata` (skip discovery), `redirect_host`, `redirect_port`,
/// `redirect_path`, `redirect_uri`, `resource` (array), `allow_insecure_http` (tests),
/// `enable_password_grant`, `refresh_skew_ms`, `ui` (`terminal`|`plain`|`silent`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_new(
    config_json: *const u8,
    config_len: usize,
    out: *mut *mut termauth_client,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let c: ClientConfigJson = parse_json(
            unsafe { str_in(config_json, config_len, "config_json") }?,
            "invalid_client_config",
            "The client configuration",
        )?;
        let (config, ui) = client_config(c)?;
        let mut client = Client::new(config)?;
        if ui == "plain" {
            client.set_ui(Box::new(Terminal::plain()));
        } else if ui == "silent" {
            client.set_ui(Box::new(Silent));
        }
        let cancel = CancelFlag::new();
        client.set_cancel_flag(cancel.clone());
        let handle = termauth_client {
            inner: Mutex::new(client),
            cancel: Mutex::new(cancel),
        };
        unsafe { *out = Box::into_raw(Box::new(handle)) };
        Ok(())
    })
}

/// Frees a client (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_free(client: *mut termauth_client) {
    guard((), || {
        if !client.is_null() {
            drop(unsafe { Box::from_raw(client) });
        }
    })
}

/// Cancels the login running on `client` (from another thread or a signal-safe context is
/// not required: any thread). The login fails with `INTERRUPTED`/`cancelled`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_cancel(client: *const termauth_client) {
    guard((), || {
        if let Some(c) = unsafe { client.as_ref() } {
            if let Ok(flag) = c.cancel.lock() {
                flag.cancel();
            }
        }
    })
}

fn with_client<T>(client: *const termauth_client, f: impl FnOnce(&mut Client) -> R<T>) -> R<T> {
    let c = unsafe { obj(client, "client") }?;
    let mut inner = c
        .inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut inner)
}

fn login(client: *const termauth_client, method: LoginMethod, report: *mut *mut c_char) -> R<()> {
    let c = unsafe { obj(client, "client") }?;
    let mut inner = c
        .inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // A fresh cancel flag per login (a cancelled flag stays set).
    let flag = CancelFlag::new();
    inner.set_cancel_flag(flag.clone());
    if let Ok(mut slot) = c.cancel.lock() {
        *slot = flag;
    }
    let r = inner.login(method)?;
    if !report.is_null() {
        let s = owned(&json_string(&r)?)?;
        unsafe { *report = s };
    }
    Ok(())
}

/// Logs in with `method` (a `termauth_login_method`) and stores the credential. `*report_json` (optional) receives
/// `{"method","profile","store":{"store","reason"},"scope","expires_at"}`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_login(
    client: *const termauth_client,
    method: u32,
    report_json: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let m = match method {
            0 => LoginMethod::Auto,
            1 => LoginMethod::Device,
            2 => LoginMethod::Browser,
            3 => LoginMethod::Paste,
            4 => LoginMethod::ClientCredentials,
            _ => return Err(Error::usage("invalid_method", "Unknown login method.").into()),
        };
        login(client, m, report_json)
    })
}

/// Logs in with the resource owner password grant (needs `enable_password_grant`).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn termauth_client_login_password(
    client: *const termauth_client,
    username: *const u8,
    username_len: usize,
    password: *const u8,
    password_len: usize,
    report_json: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let username = unsafe { str_in(username, username_len, "username") }?.to_string();
        let password = Secret::new(unsafe { str_in(password, password_len, "password") }?);
        login(
            client,
            LoginMethod::Password { username, password },
            report_json,
        )
    })
}

/// Stores an API key / personal access token. `presentation_json` (NULL = bearer):
/// `{"scheme":"bearer"}` or `{"scheme":"header","name":"X-API-Key","prefix":""}`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn termauth_client_login_token(
    client: *const termauth_client,
    token: *const u8,
    token_len: usize,
    presentation_json: *const u8,
    presentation_len: usize,
    report_json: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let token = Secret::new(unsafe { str_in(token, token_len, "token") }?);
        let presentation: Presentation = match unsafe {
            opt_str_in(presentation_json, presentation_len, "presentation_json")
        }? {
            Some(p) => parse_json(p, "invalid_presentation", "The presentation JSON")?,
            None => Presentation::Bearer,
        };
        login(
            client,
            LoginMethod::Token {
                token,
                presentation,
            },
            report_json,
        )
    })
}

/// A valid access token (or key): `<APP>_TOKEN` when set, else the stored one, refreshed
/// under the cross-process lock when due. `*token` is an owned string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_get_token(
    client: *const termauth_client,
    token: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(token, "token")?;
        let t = with_client(client, |c| Ok(c.get_token()?))?;
        let s = owned(t.expose())?;
        unsafe { *token = s };
        Ok(())
    })
}

/// Renews the stored credential now; `*credential_json` (optional) receives the new record.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_refresh(
    client: *const termauth_client,
    credential_json: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let c = with_client(client, |c| Ok(c.refresh()?))?;
        if !credential_json.is_null() {
            let s = owned(&c.to_json())?;
            unsafe { *credential_json = s };
        }
        Ok(())
    })
}

/// Revokes the tokens at the server (RFC 7009), then deletes the credential.
/// `*report_json` (optional): `{"removed","revoked","note"}`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_logout(
    client: *const termauth_client,
    report_json: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let r = with_client(client, |c| Ok(c.logout()?))?;
        if !report_json.is_null() {
            let s = owned(&json_string(&r)?)?;
            unsafe { *report_json = s };
        }
        Ok(())
    })
}

/// Where `get_token`'s token comes from and its state, as JSON (no secrets):
/// `{"source","env_var","profile","issuer","client_id","store","kind","grant","scope",
/// "expires_at","refreshable","decision","error"}`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_status_json(
    client: *const termauth_client,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let status = with_client(client, |c| Ok(c.status()))?;
        let s = owned(&json_string(&status)?)?;
        unsafe { *out = s };
        Ok(())
    })
}
