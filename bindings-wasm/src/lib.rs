//! WebAssembly bindings of termauth-core for the npm package `termauth`.
//!
//! Two machines cross the boundary: the session (`startSession` → `WasmSession`, the whole
//! client: login, get_token, refresh, logout, status, profiles — what the package's
//! `Client` executes) and the single flows (`startFlow` → `WasmFlow`, the low-level API);
//! plus a few pure helpers. Everything crosses the boundary as JSON text in the shapes documented in
//! `tests/vectors/README.md` (one format for every language). Nothing here makes a protocol
//! decision: it parses, calls the core, and serializes. No function panics on any input:
//! bad JSON from the host becomes a usage error, and the core itself returns errors for
//! malformed server responses.
//!
//! Results that can fail come back as an envelope `{"ok": …}` or `{"error": <Error>}`; the
//! TypeScript façade turns the latter into a `TermauthError` subclass.

use serde::Serialize;
use serde_json::{Map, Value};
use termauth_core::environment::Environment;
use termauth_core::lifecycle::{Policy, decide};
use termauth_core::proxy::{ProxyEnv, proxy_for};
use termauth_core::session::{Input as SessionInput, Session, SessionSpec};
use termauth_core::texts;
use termauth_core::{AnyFlow, Credential, Error, Flow, FlowSpec, HttpResponse, Input, Rng, TokenSet};
use wasm_bindgen::prelude::*;

fn ms(now_ms: f64) -> u64 {
    // `as` saturates (negative and NaN become 0): a bad clock value cannot trap.
    now_ms as u64
}

/// The error reported if a value cannot be written as JSON (it cannot happen with the
/// core's types: every map key is a string). Written out so this path allocates nothing
/// that could fail again.
const INTERNAL_ERROR: &str = r#"{"kind":"usage","code":"internal_error","message":"termauth could not serialize a value; please report this as a bug.","hint":"fatal"}"#;

/// An error's JSON (the `ErrorData` shape of the TypeScript façade).
fn error_json(error: &Error) -> String {
    serde_json::to_string(error).unwrap_or_else(|_| INTERNAL_ERROR.to_string())
}

// The envelopes are written around the value's own JSON text rather than built with
// `json!`: `json!` serializes each type a second time, into a `Value`, and that second
// serializer per type cost 11 KB of the module (`json!` also unwraps, which links the
// panic formatting of serde_json's error). No `json!` in this crate.
fn ok<T: Serialize>(value: T) -> String {
    match serde_json::to_string(&value) {
        Ok(json) => format!(r#"{{"ok":{json}}}"#),
        Err(_) => format!(r#"{{"error":{INTERNAL_ERROR}}}"#),
    }
}

fn err(error: &Error) -> String {
    format!(r#"{{"error":{}}}"#, error_json(error))
}

/// A JSON object of string members.
fn string_object<const N: usize>(members: [(&str, String); N]) -> Value {
    let mut object = Map::new();
    for (name, value) in members {
        object.insert(name.to_string(), Value::String(value));
    }
    Value::Object(object)
}

fn envelope<T: Serialize>(result: Result<T, Error>) -> String {
    match result {
        Ok(v) => ok(v),
        Err(e) => err(&e),
    }
}

fn seed_of(seed: &[u8]) -> Result<[u8; 32], Error> {
    <[u8; 32]>::try_from(seed)
        .map_err(|_| Error::usage("invalid_seed", "An RNG seed must be exactly 32 bytes (use crypto.getRandomValues)."))
}

fn parse_input(text: &str) -> Result<Input, Error> {
    let invalid = |why: String| Error::usage("invalid_input", format!("The input is not a valid termauth input ({why})."));
    let value: Value = serde_json::from_str(text).map_err(|e| invalid(format!("line {} column {}", e.line(), e.column())))?;
    // The message names the member at fault, never its value.
    Input::try_from(value).map_err(invalid)
}

fn parse_credential(text: &str) -> Result<Credential, Error> {
    Credential::from_json(text)
}

/// A running flow (any kind). `poll` / `handle` are the driver contract.
#[wasm_bindgen]
pub struct WasmFlow {
    flow: AnyFlow,
}

#[wasm_bindgen]
impl WasmFlow {
    /// `poll(now_ms)`: the next action as JSON.
    pub fn poll(&mut self, now_ms: f64) -> String {
        serde_json::to_string(&self.flow.poll(ms(now_ms)))
            .unwrap_or_else(|_| format!(r#"{{"type":"failed","error":{INTERNAL_ERROR}}}"#))
    }

    /// `handle(input_json, now_ms)`: `""` when accepted, else the error as JSON (the flow
    /// is then unchanged).
    pub fn handle(&mut self, input: &str, now_ms: f64) -> String {
        let result = parse_input(input).and_then(|i| self.flow.handle(i, ms(now_ms)));
        match result {
            Ok(()) => String::new(),
            Err(e) => error_json(&e),
        }
    }
}

/// Starts a flow from a `FlowSpec` JSON and a 32-byte seed. On failure it throws the
/// error's JSON text (a string), which the façade turns into a `TermauthError`.
#[wasm_bindgen(js_name = startFlow)]
pub fn start_flow(spec: &str, seed: &[u8]) -> Result<WasmFlow, String> {
    let started = seed_of(seed).and_then(|s| FlowSpec::from_json(spec)?.start(Rng::from_seed(s)));
    started.map(|flow| WasmFlow { flow }).map_err(|e| error_json(&e))
}

fn parse_session_input(text: &str) -> Result<SessionInput, Error> {
    let invalid =
        |why: String| Error::usage("invalid_input", format!("The input is not a valid termauth session input ({why})."));
    let value: Value = serde_json::from_str(text).map_err(|e| invalid(format!("line {} column {}", e.line(), e.column())))?;
    // The message names the member at fault, never its value.
    SessionInput::try_from(value).map_err(invalid)
}

/// A running session: one command (login, get_token, refresh, logout, status, profiles,
/// use_profile) as a sans-IO machine. `poll` / `handle` are the driver contract, as for
/// flows; the actions and inputs are `termauth_core::session::{Action, Input}` as JSON.
#[wasm_bindgen]
pub struct WasmSession {
    session: Session,
}

#[wasm_bindgen]
impl WasmSession {
    /// `poll(now_ms)`: the next action as JSON.
    pub fn poll(&mut self, now_ms: f64) -> String {
        serde_json::to_string(&self.session.poll(ms(now_ms)))
            .unwrap_or_else(|_| format!(r#"{{"type":"failed","error":{INTERNAL_ERROR}}}"#))
    }

    /// `handle(input_json, now_ms)`: `""` when accepted, else the error as JSON (the
    /// session is then unchanged).
    pub fn handle(&mut self, input: &str, now_ms: f64) -> String {
        match parse_session_input(input).and_then(|i| self.session.handle(i, ms(now_ms))) {
            Ok(()) => String::new(),
            Err(e) => error_json(&e),
        }
    }

    /// Whether the session has finished (`done` or `failed`).
    #[wasm_bindgen(js_name = isFinished)]
    pub fn is_finished(&self) -> bool {
        self.session.is_finished()
    }
}

/// Starts a session from a `SessionSpec` JSON (`{"command","config","environment"}`), a
/// 32-byte seed and the wall clock. On failure it throws the error's JSON text (a string),
/// which the façade turns into a `TermauthError`.
#[wasm_bindgen(js_name = startSession)]
pub fn start_session(spec: &str, seed: &[u8], now_ms: f64) -> Result<WasmSession, String> {
    let started = seed_of(seed).and_then(|s| Session::start(SessionSpec::from_json(spec)?, Rng::from_seed(s), ms(now_ms)));
    started.map(|session| WasmSession { session }).map_err(|e| error_json(&e))
}

/// The names of the environment variables a session for `app` reads, as a JSON array of
/// strings (`Environment::variable_names`): the driver looks each one up and passes those
/// that are set in the spec's `environment.vars`.
#[wasm_bindgen(js_name = sessionVariables)]
pub fn session_variables(app: &str) -> String {
    serde_json::to_string(&Environment::variable_names(app)).unwrap_or_else(|_| "[]".to_string())
}

/// The process exit code for an error JSON (`Error::exit_code`: 130 cancelled, 3
/// re-authenticate, 4 retry later, 5 fix the configuration, 6 fatal). A value that is not
/// a termauth error gives 1.
#[wasm_bindgen(js_name = exitCode)]
pub fn exit_code(error: &str) -> u8 {
    serde_json::from_str::<Value>(error).ok().and_then(|v| Error::try_from(v).ok()).map_or(1, |e| e.exit_code())
}

/// The line a CLI prints for an error JSON before exiting with [`exit_code`]
/// (`Error::line`: `program: message [code]`). A value that is not a termauth error gives
/// `None`.
#[wasm_bindgen(js_name = errorLine)]
pub fn error_line(program: &str, error: &str) -> Option<String> {
    serde_json::from_str::<Value>(error).ok().and_then(|v| Error::try_from(v).ok()).map(|e| e.line(program))
}

/// `texts::layout`: a prompt (its members) laid out for a screen, with its QR code's rows
/// as drawn by the caller: `{"lines":[…],"erase_rows":n}`. (Plain arguments, not JSON: a
/// JSON reader for these types would add 50 KB to the module.)
#[wasm_bindgen(js_name = layoutPrompt)]
#[allow(clippy::too_many_arguments)]
pub fn layout_prompt(
    lines: Vec<String>,
    after: Vec<String>,
    qr_caption: Option<String>,
    qr_rows: Option<Vec<String>>,
    columns: u32,
    rows: u32,
    rich: bool,
) -> String {
    let qr = qr_caption.map(|caption| texts::QrCode { caption, data: String::new() });
    let prompt = texts::Prompt { lines, qr, after };
    let layout = texts::layout(&prompt, qr_rows.as_deref(), texts::Screen { columns, rows, rich });
    serde_json::to_string(&layout).unwrap_or_default()
}

/// `texts::progress_frame`: what to write to redraw a progress line (its members) at
/// `now_ms` on a screen `columns` wide; empty when there is nothing to draw.
#[wasm_bindgen(js_name = progressFrame)]
pub fn progress_frame(text: String, shorter: Vec<String>, until_ms: f64, now_ms: f64, columns: u32, rich: bool) -> String {
    let progress = termauth_core::session::Progress { text, shorter, until_ms: until_ms as u64 };
    texts::progress_frame(&progress, now_ms as u64, texts::Screen { columns, rows: 0, rich })
}

/// `texts::end_of_wait`: what to write when a wait is over.
#[wasm_bindgen(js_name = endOfWait)]
pub fn end_of_wait(spinning: bool, erase_rows: u32) -> String {
    texts::end_of_wait(spinning, erase_rows)
}

/// Validates and normalises a stored credential record: `{"ok":<record>}` or
/// `{"error":…}` (`credential_corrupt`, `credential_newer_version`).
#[wasm_bindgen(js_name = parseCredential)]
pub fn parse_credential_js(text: &str) -> String {
    envelope(parse_credential(text))
}

/// `lifecycle::decide`: `{"ok":{"decision":"use"|"refresh"|"reacquire"|"relogin",…}}`.
#[wasm_bindgen(js_name = decide)]
pub fn decide_js(credential: &str, now_ms: f64, refresh_skew_ms: f64) -> String {
    let policy = policy(refresh_skew_ms);
    envelope(parse_credential(credential).map(|c| decide(&c, ms(now_ms), &policy)))
}

/// The lifecycle policy from JS (a missing or bad skew is the default).
fn policy(refresh_skew_ms: f64) -> Policy {
    if refresh_skew_ms.is_finite() && refresh_skew_ms >= 0.0 {
        Policy { refresh_skew_ms: refresh_skew_ms as u64 }
    } else {
        Policy::default()
    }
}

/// `proxy::proxy_for` for a request to `url`, with the environment as a JSON object of
/// strings (the proxy variables; others are ignored): `{"ok":{"url":…,"variable":…}}`,
/// `{"ok":null}` to connect directly, or `{"error":…}` (`unsupported_proxy`).
#[wasm_bindgen(js_name = proxyFor)]
pub fn proxy_for_js(url: &str, env_json: &str) -> String {
    let env: Map<String, Value> = match serde_json::from_str::<Value>(env_json) {
        Ok(Value::Object(map)) => map,
        _ => return err(&Error::usage("invalid_input", "The environment given to proxyFor is not a JSON object.")),
    };
    let env = ProxyEnv::from_lookup(|name| env.get(name).and_then(Value::as_str).map(str::to_string));
    envelope(proxy_for(url, &env))
}

/// The header presenting a credential: `{"ok":{"name":…,"value":…}}`.
#[wasm_bindgen(js_name = authorizationHeader)]
pub fn authorization_header_js(credential: &str) -> String {
    envelope(parse_credential(credential).map(|c| {
        let (name, value) = c.authorization_header();
        string_object([("name", name), ("value", value.expose().to_string())])
    }))
}

/// A PKCE pair from a 32-byte seed: `{"ok":{"code_verifier":…,"code_challenge":…}}` (S256).
#[wasm_bindgen(js_name = pkcePair)]
pub fn pkce_pair(seed: &[u8]) -> String {
    envelope(seed_of(seed).map(|s| {
        let verifier = termauth_core::pkce_verifier(&mut Rng::from_seed(s));
        let challenge = termauth_core::pkce_challenge(&verifier);
        string_object([("code_verifier", verifier), ("code_challenge", challenge), ("code_challenge_method", "S256".to_string())])
    }))
}

/// The S256 challenge of a verifier (RFC 7636 §4.2).
#[wasm_bindgen(js_name = pkceChallenge)]
pub fn pkce_challenge(verifier: &str) -> String {
    termauth_core::pkce_challenge(verifier)
}

/// Parses a token endpoint response (an `http_response` input JSON): `{"ok":<token set>}`
/// or `{"error":…}` (OAuth or protocol error).
#[wasm_bindgen(js_name = parseTokenResponse)]
pub fn parse_token_response(response: &str, requested_scope: Option<String>, now_ms: f64) -> String {
    let resp: Result<HttpResponse, Error> = serde_json::from_str::<Value>(response)
        .ok()
        .and_then(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("type");
                o.entry("id").or_insert(Value::from(0));
            }
            HttpResponse::try_from(v).ok()
        })
        .ok_or_else(|| Error::usage("invalid_input", "The response is not a valid http_response input."));
    envelope(resp.and_then(|r| TokenSet::from_response(&r, requested_scope.as_deref(), ms(now_ms))))
}

/// The version of termauth-core inside this module.
#[wasm_bindgen(js_name = coreVersion)]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
