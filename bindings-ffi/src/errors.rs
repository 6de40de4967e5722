//! Status codes and error objects. A fallible call returns a [`termauth_status`]; when the
//! caller passes an `err` out-parameter, a failure also hands it a [`termauth_error`] to
//! read through the accessors below and free with `termauth_error_free`.

use crate::boundary::{NulStr, boundary, check_out, free_handle, guard, handle_out, opt_view, str_in, termauth_str, usage};
use termauth_core::{Error, ErrorKind, Hint};

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
    pub(crate) fn new(error: Error) -> Self {
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

/// Reads an error object's member through a view (NULL view for a NULL error).
fn view_of(e: *const termauth_error, member: impl FnOnce(&termauth_error) -> termauth_str) -> termauth_str {
    guard(termauth_str::NONE, || unsafe { e.as_ref() }.map_or(termauth_str::NONE, member))
}

/// The error's family: `usage`, `protocol`, `oauth`, `transport`, `interrupted`, `storage`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_kind(e: *const termauth_error) -> termauth_str {
    view_of(e, |e| e.kind.view())
}

/// The stable machine code (`invalid_grant`, `unknown_request_id`, `null_argument`, …).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_code(e: *const termauth_error) -> termauth_str {
    view_of(e, |e| e.code.view())
}

/// A sentence for the user: what happened and what to do.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_message(e: *const termauth_error) -> termauth_str {
    view_of(e, |e| e.message.view())
}

/// What the CLI should do: `reauthenticate`, `retry_later`, `fix_configuration`, `fatal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_hint(e: *const termauth_error) -> termauth_str {
    view_of(e, |e| e.hint.view())
}

/// The server's OAuth `error` value (`oauth` errors), or a NULL view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_oauth_error(e: *const termauth_error) -> termauth_str {
    view_of(e, |e| opt_view(&e.oauth_error))
}

/// The server's `error_description`, or a NULL view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_description(e: *const termauth_error) -> termauth_str {
    view_of(e, |e| opt_view(&e.error_description))
}

/// The HTTP status behind the error, or 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_status(e: *const termauth_error) -> u16 {
    guard(0, || unsafe { e.as_ref() }.and_then(|e| e.error.status).unwrap_or(0))
}

/// The whole error as JSON (the vectors' `error` shape).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_json(e: *const termauth_error) -> termauth_str {
    view_of(e, |e| e.json.view())
}

/// The process exit code a CLI uses for this error, the same in every language: 3 log in
/// again, 4 try again later, 5 fix the configuration, 6 anything else, 130 cancelled.
/// 6 for a NULL error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_exit_code(e: *const termauth_error) -> u8 {
    guard(6, || unsafe { e.as_ref() }.map_or(6, |e| e.error.exit_code()))
}

/// Makes an error object from its JSON (the `error` of a `failed` action, or
/// `termauth_error_json`): a host reads a session's failure with the accessors above. On
/// success `*out` is the new object (free it with `termauth_error_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_from_json(
    json: *const u8,
    json_len: usize,
    out: *mut *mut termauth_error,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let text = unsafe { str_in(json, json_len, "json") }?;
        let error: Error = serde_json::from_str(text)
            .map_err(|e| usage("invalid_error", format!("The error JSON is not valid ({}).", describe(&e))))?;
        unsafe { handle_out(out, termauth_error::new(error)) };
        Ok(())
    })
}

/// Frees an error (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_error_free(e: *mut termauth_error) {
    unsafe { free_handle(e) }
}

/// A serde error's text when it cannot quote a value: the core's readers (deserialized
/// through `serde_json::Value`) name members only; a syntax error names a position.
pub(crate) fn describe(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Data => e.to_string(),
        _ => format!("line {} column {}, {:?}", e.line(), e.column(), e.classify()),
    }
}
