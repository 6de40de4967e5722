//! Batteries included (`termauth_client_*`): login, get_token, refresh, logout, status and
//! profiles over the Rust executor (`termauth::Client`: ureq transport, loopback listener,
//! keyring and file stores, prompts on stderr), for C programs with no HTTP client of their
//! own. Each call runs one session to its end.

use crate::boundary::{
    R, boundary, check_out, free_handle, guard, handle_out, json_string, obj, opt_str_in, owned, parse_json, put, str_in, usage,
};
use crate::errors::{termauth_error, termauth_status};
use serde_json::Value;
use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use termauth::driver::CancelFlag;
use termauth::ui::{Silent, Terminal};
use termauth::{Client, Config, LoginMethod};
use termauth_core::session::SessionSpec;
use termauth_core::{Presentation, Secret};

/// How to log in (`termauth_client_login`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum termauth_login_method {
    /// Chosen from the environment (CI → client credentials; SSH/no display → device;
    /// desktop → browser; paste without a device endpoint).
    TERMAUTH_LOGIN_AUTO = 0,
    /// RFC 8628 device flow (a server without a device endpoint: `no_device_endpoint`).
    TERMAUTH_LOGIN_DEVICE = 1,
    /// Browser with a loopback redirect.
    TERMAUTH_LOGIN_BROWSER = 2,
    /// Browser elsewhere; the user pastes the redirected URL on stdin.
    TERMAUTH_LOGIN_PASTE = 3,
    /// Client credentials (needs a client secret).
    TERMAUTH_LOGIN_CLIENT_CREDENTIALS = 4,
}

/// The batteries-included client.
pub struct termauth_client {
    inner: Mutex<Client>,
    cancel: Mutex<CancelFlag>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What `termauth_client_new` reads: the session's `config`, and the executor's own `ui`
/// and `request_timeout_ms`.
struct ClientConfig {
    config: Config,
    ui: String,
    request_timeout: Option<Duration>,
}

/// Reads the configuration with the core's reader of a session's `config` (the same JSON
/// the Go package sends), plus `ui` and `request_timeout_ms`.
fn client_config(text: &str) -> R<ClientConfig> {
    let mut value: Value = parse_json(text, "invalid_client_config", "The client configuration")?;
    let Some(object) = value.as_object_mut() else {
        return Err(usage("invalid_client_config", "The client configuration must be a JSON object."));
    };
    let ui = match object.remove("ui") {
        None => "terminal".to_string(),
        Some(Value::String(ui)) if matches!(ui.as_str(), "terminal" | "plain" | "silent") => ui,
        Some(_) => return Err(usage("invalid_client_config", "`ui` must be `terminal`, `plain` or `silent`.")),
    };
    let request_timeout = match object.remove("request_timeout_ms") {
        None => None,
        Some(ms) => match ms.as_u64() {
            Some(ms) if ms > 0 => Some(Duration::from_millis(ms)),
            _ => {
                return Err(usage("invalid_timeout", "`request_timeout_ms` must be a positive whole number of milliseconds."));
            }
        },
    };
    let spec = serde_json::json!({"command": {"op": "status"}, "config": value, "environment": {}});
    let spec = SessionSpec::from_json(&spec.to_string()).map_err(|mut e| {
        e.code = "invalid_client_config".into();
        e
    })?;
    Ok(ClientConfig { config: spec.config, ui, request_timeout })
}

/// Creates a client from a JSON configuration: `app`, `issuer`, `client_id` (required);
/// `scope`, `client_secret` (else `<APP>_CLIENT_SECRET` / `TERMAUTH_CLIENT_SECRET`),
/// `secret_method` (`basic`|`post`), `profile`, `store` (`auto`|`keyring`|`file`),
/// `config_dir`, `metadata` (skip discovery), `redirect_host`, `redirect_port`,
/// `redirect_path`, `redirect_uri`, `resource` (array), `allow_insecure_http` (tests),
/// `enable_password_grant`, `refresh_skew_ms`, `redirect_timeout_ms`, `launch_browser`,
/// `ui` (`terminal`: rich on a TTY, the default; `plain`: lines on stderr; `silent`), and
/// `request_timeout_ms`: the overall deadline of each HTTP request (connecting, sending, the
/// response's headers and body together; default 30000), past which the command fails
/// with a `transport` error (timed out, exit code 4).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_new(
    config_json: *const u8,
    config_len: usize,
    out: *mut *mut termauth_client,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let ClientConfig { config, ui, request_timeout } =
            client_config(unsafe { str_in(config_json, config_len, "config_json") }?)?;
        let mut client = Client::new(config)?;
        if let Some(timeout) = request_timeout {
            client.set_request_timeout(timeout)?;
        }
        match ui.as_str() {
            "plain" => client.set_ui(Box::new(Terminal::plain())),
            "silent" => client.set_ui(Box::new(Silent)),
            _ => {}
        }
        let cancel = CancelFlag::new();
        client.set_cancel_flag(cancel.clone());
        unsafe { handle_out(out, termauth_client { inner: Mutex::new(client), cancel: Mutex::new(cancel) }) };
        Ok(())
    })
}

/// Frees a client (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_free(client: *mut termauth_client) {
    unsafe { free_handle(client) }
}

/// Cancels the command running on `client` (from any thread). It fails with
/// `INTERRUPTED`/`cancelled`; a held lock is released first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_cancel(client: *const termauth_client) {
    guard((), || {
        if let Some(c) = unsafe { client.as_ref() } {
            lock(&c.cancel).cancel();
        }
    })
}

/// Runs `f` on the client with a fresh cancel flag (a cancelled flag stays set).
fn with_client<T>(client: *const termauth_client, f: impl FnOnce(&mut Client) -> Result<T, termauth_core::Error>) -> R<T> {
    let c = unsafe { obj(client, "client") }?;
    let mut inner = lock(&c.inner);
    let flag = CancelFlag::new();
    inner.set_cancel_flag(flag.clone());
    *lock(&c.cancel) = flag;
    Ok(f(&mut inner)?)
}

/// Writes `value`'s JSON to the optional out-parameter `out`.
fn json_out<T: serde::Serialize>(out: *mut *mut c_char, value: &T) -> R<()> {
    if !out.is_null() {
        let s = owned(&json_string(value)?)?;
        unsafe { put(out, s) };
    }
    Ok(())
}

fn login(client: *const termauth_client, method: LoginMethod, report: *mut *mut c_char) -> R<()> {
    let r = with_client(client, |c| c.login(method))?;
    json_out(report, &r)
}

/// Logs in with `method` (a `termauth_login_method`) and stores the credential.
/// `*report_json` (optional) receives `{"method","profile","store":{"store","reason"},
/// "scope","expires_at","text"}` (`text`: the sentence to show).
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
            _ => return Err(usage("invalid_method", "Unknown login method.")),
        };
        login(client, m, report_json)
    })
}

/// Logs in with the resource owner password grant (needs `enable_password_grant`).
#[unsafe(no_mangle)]
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
        login(client, LoginMethod::Password { username, password }, report_json)
    })
}

/// Stores an API key / personal access token. `presentation_json` (NULL = bearer):
/// `{"scheme":"bearer"}` or `{"scheme":"header","name":"X-API-Key","prefix":""}`.
#[unsafe(no_mangle)]
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
        let presentation: Presentation = match unsafe { opt_str_in(presentation_json, presentation_len, "presentation_json") }? {
            Some(p) => parse_json(p, "invalid_presentation", "The presentation JSON")?,
            None => Presentation::Bearer,
        };
        login(client, LoginMethod::Token { token, presentation }, report_json)
    })
}

/// A valid access token (or key): `<APP>_TOKEN` when set, else the stored one, renewed
/// under the cross-process lock when due. `*token` is an owned string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_get_token(
    client: *const termauth_client,
    token: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(token, "token")?;
        let t = with_client(client, Client::get_token)?;
        unsafe { put(token, owned(t.expose())?) };
        Ok(())
    })
}

/// Renews the stored credential now (a refused renewal is an error even while the
/// current token is valid). `*report_json` (optional, owned, holds the token):
/// `{"source","token","header","expires_at","credential","text"}`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_refresh(
    client: *const termauth_client,
    report_json: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let r = with_client(client, Client::refresh)?;
        json_out(report_json, &r)
    })
}

/// Revokes the tokens at the server (RFC 7009, refresh token first), then deletes the
/// credential. `*report_json` (optional): `{"removed","revoked","note","text"}`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_logout(
    client: *const termauth_client,
    report_json: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let r = with_client(client, Client::logout)?;
        json_out(report_json, &r)
    })
}

/// Where `get_token`'s token comes from and its state, as JSON (no secrets):
/// `{"source","env_var","profile","issuer","client_id","store","credential_kind","grant","scope",
/// "expires_at","refreshable","decision","error"}`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_status_json(
    client: *const termauth_client,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let status = with_client(client, Client::status)?;
        json_out(out, &status)
    })
}

/// The profiles stored for this issuer and client, as JSON: `[{"name","active"}, …]`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_profiles_json(
    client: *const termauth_client,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let profiles = with_client(client, Client::profiles)?;
        json_out(out, &profiles)
    })
}

/// Makes `profile` the active one (it must have a stored credential).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_client_use_profile(
    client: *const termauth_client,
    profile: *const u8,
    profile_len: usize,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let profile = unsafe { str_in(profile, profile_len, "profile") }?;
        with_client(client, |c| c.use_profile(profile))
    })
}
