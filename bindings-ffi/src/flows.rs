//! The sans-IO flows (`termauth_flow_*`), one protocol exchange each: device,
//! authorization code, client credentials, password, refresh, revocation, introspection,
//! discovery, API key. `poll(now_ms)` gives a tagged action ([`termauth_action`]) whose
//! payload is read through accessors or as the JSON of `tests/vectors/README.md`;
//! `handle_*` feeds responses, transport errors, redirects and cancel. Most hosts want the
//! session above them (`termauth_session_*`); the flows stay for hosts that run one
//! exchange themselves, and for the flow vectors.

use crate::boundary::{
    NulStr, R, boundary, bytes_in, check_out, free_handle, guard, handle_out, json_string, obj, obj_mut, opt_str_in, opt_view,
    parse_json, put, rng_in, str_in, termauth_str, usage,
};
use crate::errors::{termauth_error, termauth_status};
use termauth_core::{Action, AnyFlow, Error, Flow, FlowSpec, HttpResponse, Input, Outcome, TransportErrorKind};

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
/// revocation, introspection, discovery, MCP discovery, registration, API key): see `termauth_flow_new`.
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
            headers = req.headers.iter().map(|(k, v)| (NulStr::new(k), NulStr::new(v))).collect();
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
        Action::AwaitRedirect { redirect_uri, until_ms } => {
            set(TERMAUTH_FIELD_REDIRECT_URI, redirect_uri);
            (TERMAUTH_ACTION_AWAIT_REDIRECT, 0, *until_ms)
        }
        Action::AwaitResponse { id } => (TERMAUTH_ACTION_AWAIT_RESPONSE, *id, 0),
        Action::Done { result } => {
            set(TERMAUTH_FIELD_RESULT_JSON, &json_string(result)?);
            match result {
                Outcome::Tokens { tokens } => set(TERMAUTH_FIELD_ACCESS_TOKEN, tokens.access_token.expose()),
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
        action: termauth_action { kind, request_id, at_ms },
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
        let flow = FlowSpec::from_json(text)?.start(unsafe { rng_in(seed) }?)?;
        unsafe { handle_out(out, termauth_flow { flow, current: None }) };
        Ok(())
    })
}

/// Frees a flow (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_free(flow: *mut termauth_flow) {
    unsafe { free_handle(flow) }
}

/// The next action at `now_ms` (Unix ms). Drain it until a waiting or terminal action.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_poll(flow: *mut termauth_flow, now_ms: u64, out: *mut termauth_action) -> termauth_status {
    boundary(std::ptr::null_mut(), || {
        check_out(out, "out")?;
        let f = unsafe { obj_mut(flow, "flow") }?;
        let action = f.flow.poll(now_ms);
        let current = describe_action(&action)?;
        unsafe { put(out, current.action) };
        f.current = Some(current);
        Ok(())
    })
}

/// The current (last polled) action as JSON, e.g. `{"type":"wait_until","at_ms":1005000}`.
/// `USAGE` (code `no_action`) before the first poll.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_action_json(flow: *const termauth_flow, out: *mut termauth_str) -> termauth_status {
    boundary(std::ptr::null_mut(), || {
        check_out(out, "out")?;
        let c = current(unsafe { obj(flow, "flow") }?)?;
        unsafe { put(out, c.json.view()) };
        Ok(())
    })
}

fn current(f: &termauth_flow) -> R<&Current> {
    f.current.as_ref().ok_or_else(|| usage("no_action", "Call termauth_flow_poll first."))
}

/// A string member (`field`: a `termauth_field`) of the current action; a NULL view when
/// the action has no such member.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_field(flow: *const termauth_flow, field: u32, out: *mut termauth_str) -> termauth_status {
    boundary(std::ptr::null_mut(), || {
        check_out(out, "out")?;
        let c = current(unsafe { obj(flow, "flow") }?)?;
        let i = field as usize;
        let v = if i < FIELD_COUNT { opt_view(&c.fields[i]) } else { termauth_str::NONE };
        unsafe { put(out, v) };
        Ok(())
    })
}

/// The number of headers of the current SEND_REQUEST action (0 for any other action).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_request_header_count(flow: *const termauth_flow) -> usize {
    guard(0, || unsafe { flow.as_ref() }.and_then(|f| f.current.as_ref()).map_or(0, |c| c.headers.len()))
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
        let (n, v) = c.headers.get(index).ok_or_else(|| usage("index_out_of_range", "There is no header at this index."))?;
        unsafe {
            put(name, n.view());
            put(value, v.view());
        }
        Ok(())
    })
}

/// The error of the current FAILED action as an error object (free it); `USAGE`
/// (`not_failed`) for any other action.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_flow_failure(flow: *const termauth_flow, out: *mut *mut termauth_error) -> termauth_status {
    boundary(std::ptr::null_mut(), || {
        check_out(out, "out")?;
        let c = current(unsafe { obj(flow, "flow") }?)?;
        let e = c.error.clone().ok_or_else(|| usage("not_failed", "The current action is not `failed`."))?;
        unsafe { handle_out(out, termauth_error::new(e)) };
        Ok(())
    })
}

fn handle(f: &mut termauth_flow, input: Input, now_ms: u64) -> R<()> {
    f.flow.handle(input, now_ms).map_err(Into::into)
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
        let input: Input =
            parse_json(unsafe { str_in(input_json, input_len, "input_json") }?, "invalid_input", "The input JSON")?;
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
        let headers = parse_headers(&String::from_utf8_lossy(unsafe { bytes_in(headers, headers_len, "headers") }?));
        let body = String::from_utf8_lossy(unsafe { bytes_in(body, body_len, "body") }?).into_owned();
        handle(f, Input::HttpResponse(HttpResponse { id, status, headers, body }), now_ms)
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
    boundary(err, || handle(unsafe { obj_mut(flow, "flow") }?, Input::Cancel, now_ms))
}
