//! OAuth 2.0 Device Authorization Grant (RFC 8628): the default login for people at a
//! terminal, over SSH, anywhere without a browser.
//!
//! | state | poll | on response / input |
//! |---|---|---|
//! | `Start` | `SendRequest` (device authorization, §3.1) | — |
//! | `Authorizing` | `AwaitResponse` | valid §3.2 response → `ShowUserCode`, `Polling` (first poll one interval later); else `Failed` |
//! | `Polling` | `now ≥ expires_at` → `Failed(expired_token)`; `now ≥ next_poll` → `SendRequest` (token, §3.4); else `WaitUntil(min(next_poll, expires_at))` | tokens → `Persist`, `Done`; `authorization_pending` → wait `interval`; `slow_down` → `interval += 5 s` (or the server's larger `interval`); `access_denied` / `expired_token` / other errors → `Failed`; 429/503 → wait for `Retry-After` (at least `interval`); 5xx, non-JSON 5xx, transport error → exponential backoff |
//!
//! Backoff after transient failures is `min(interval × 2^failures, max(60 s, interval))`:
//! it grows from the current interval and never drops below it, so it never shortens an
//! interval that `slow_down` raised (oauth2-rs's `min(2 × interval, cap)` does).

use crate::config::{Client, ServerMetadata, check_endpoint};
use crate::credential::Grant;
use crate::error::{Error, ErrorKind};
use crate::flow::{Action, Exchange, Machine, UserCodePrompt};
use crate::flows::token_grant::{persist_and_finish, scope_and_resources};
use crate::http::{HttpResponse, Method, opt_seconds, opt_str, req_str};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::secret::Secret;
use crate::token::TokenSet;
use serde::Serialize;

/// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
pub const DEFAULT_INTERVAL_MS: u64 = 5_000;
/// RFC 8628 §3.5: `slow_down` increases the interval by 5 seconds.
pub const SLOW_DOWN_STEP_MS: u64 = 5_000;
/// Used when the server omits the (required) `expires_in`: 15 minutes, a common lifetime.
pub const DEFAULT_EXPIRES_IN_MS: u64 = 900_000;
/// The longest backoff after transient failures, unless the interval itself is longer.
pub const BACKOFF_CAP_MS: u64 = 60_000;
/// The shortest interval honoured: a server saying `0` would otherwise be hammered.
pub const MIN_INTERVAL_MS: u64 = 1_000;

/// Device flow configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct DeviceConfig {
    /// The server (needs `device_authorization_endpoint` and `token_endpoint`).
    pub server: ServerMetadata,
    /// The client (usually public).
    pub client: Client,
    /// The scope to request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 8707 resource indicators.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(default))]
    pub resource: Vec<String>,
    /// Extra wait added to every poll, for clocks that run fast relative to the server's.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub clock_drift_margin_ms: u64,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

deserialize_via_value!(DeviceConfig => DeviceConfig::read);

impl DeviceConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(DeviceConfig {
            server: ServerMetadata::read(o.object("server")?)?,
            client: Client::read(o.object("client")?)?,
            scope: o.opt_str("scope")?,
            resource: o.strings("resource")?,
            clock_drift_margin_ms: o.uint_or("clock_drift_margin_ms", 0)?,
            allow_insecure_http: o.flag("allow_insecure_http")?,
        })
    }
}

#[derive(Debug, Clone)]
enum State {
    Start,
    Authorizing,
    Polling { device_code: Secret, interval_ms: u64, next_poll_at: u64, expires_at: u64, failures: u32 },
}

/// The device authorization grant flow.
#[derive(Debug, Clone)]
pub struct DeviceFlow {
    ex: Exchange,
    state: State,
    device_endpoint: String,
    token_endpoint: String,
    client: Client,
    issuer: String,
    scope: Option<String>,
    resource: Vec<String>,
    margin_ms: u64,
    allow_insecure_http: bool,
}

impl DeviceFlow {
    /// A device flow.
    ///
    /// # Errors
    /// Missing endpoints, insecure endpoints, a bad client.
    pub fn new(config: DeviceConfig) -> Result<Self, Error> {
        config.client.validate()?;
        crate::config::check_resources(&config.resource)?;
        let s = &config.server;
        let device =
            s.required_endpoint(&s.device_authorization_endpoint, "device_authorization_endpoint", config.allow_insecure_http)?;
        let token = s.required_endpoint(&s.token_endpoint, "token_endpoint", config.allow_insecure_http)?;
        Ok(DeviceFlow {
            ex: Exchange::new(),
            state: State::Start,
            device_endpoint: device.to_string(),
            token_endpoint: token.to_string(),
            client: config.client,
            issuer: config.server.issuer.clone(),
            scope: config.scope,
            resource: config.resource,
            margin_ms: config.clock_drift_margin_ms,
            allow_insecure_http: config.allow_insecure_http,
        })
    }

    /// Parses the device authorization response (RFC 8628 §3.2).
    fn on_authorization(&mut self, resp: &HttpResponse, now_ms: u64) -> Result<(), Error> {
        let fields = resp.oauth_fields()?;
        let status = resp.status;
        let device_code = req_str(&fields, "device_code", status)?;
        let user_code = req_str(&fields, "user_code", status)?;
        check_user_code(&user_code, status)?;
        // Google answers `verification_url`; accept it as an alias.
        let verification_uri = match opt_str(&fields, "verification_uri", status)? {
            Some(u) => u,
            None => req_str(&fields, "verification_url", status)?,
        };
        let verification_uri_complete = match opt_str(&fields, "verification_uri_complete", status)? {
            Some(u) => Some(u),
            None => opt_str(&fields, "verification_url_complete", status)?,
        }
        .filter(|u| !u.is_empty());
        // The user types their credentials at this URI: it gets the same HTTPS rule as
        // every endpoint, and no control characters (it is shown in a terminal).
        let uris =
            [("verification_uri", Some(&verification_uri)), ("verification_uri_complete", verification_uri_complete.as_ref())];
        for (name, uri) in uris {
            if let Some(uri) = uri {
                check_endpoint(uri, name, self.allow_insecure_http).map_err(|e| {
                    Error::protocol(
                        "invalid_field",
                        Some(status),
                        format!("The device authorization response is unusable: {}", e.message),
                    )
                })?;
            }
        }
        let interval_ms = opt_seconds(&fields, "interval", status)?
            .map_or(DEFAULT_INTERVAL_MS, |s| s.saturating_mul(1000))
            .max(MIN_INTERVAL_MS);
        let expires_in_ms = match opt_seconds(&fields, "expires_in", status)? {
            None => DEFAULT_EXPIRES_IN_MS,
            // §3.2: "the lifetime in seconds of the device_code and user_code". A code that
            // expires before the first poll (0, or no more than one interval) can never be
            // approved: say so now rather than show it and wait.
            Some(s) if s.saturating_mul(1000) <= interval_ms => {
                let mut e = Error::oauth("expired_token", None, None, Some(status));
                e.message = format!(
                    "The server's device code expires in {s} seconds, before the first poll could be made; the server is misconfigured. Try again, or log in with another method."
                );
                return Err(e.with_hint(crate::error::Hint::RetryLater));
            }
            Some(s) => s.saturating_mul(1000),
        };
        let expires_at = now_ms.saturating_add(expires_in_ms);
        self.ex.emit(Action::ShowUserCode(UserCodePrompt { user_code, verification_uri, verification_uri_complete, expires_at }));
        // §3.4: the client polls "at a reasonable interval", the first time one interval
        // after the device authorization response, not immediately.
        self.state = State::Polling {
            device_code: Secret::new(device_code),
            interval_ms,
            next_poll_at: now_ms.saturating_add(interval_ms).saturating_add(self.margin_ms),
            expires_at,
            failures: 0,
        };
        Ok(())
    }

    /// Schedules the next poll after a transient failure (transport error, 5xx, 429).
    fn back_off(&mut self, now_ms: u64, retry_after: Option<u64>) {
        if let State::Polling { interval_ms, next_poll_at, failures, .. } = &mut self.state {
            *failures = failures.saturating_add(1);
            let at = match retry_after {
                // Retry-After (RFC 9110 §10.2.3) is honoured, but never sooner than the interval.
                Some(at) => at.max(now_ms.saturating_add(*interval_ms)),
                None => {
                    let factor = 1u64 << (*failures).min(16);
                    let delay = interval_ms.saturating_mul(factor).min(BACKOFF_CAP_MS.max(*interval_ms));
                    now_ms.saturating_add(delay)
                }
            };
            *next_poll_at = at.saturating_add(self.margin_ms);
        }
    }

    fn on_poll_response(&mut self, resp: HttpResponse, now_ms: u64) {
        let error = match TokenSet::from_response(&resp, self.scope.as_deref(), now_ms) {
            Ok(tokens) => {
                persist_and_finish(&mut self.ex, &self.issuer, &self.client.client_id, Grant::DeviceCode, tokens, None, now_ms);
                return;
            }
            Err(e) => e.for_grant(Grant::DeviceCode.grant_type()),
        };
        let State::Polling { interval_ms, next_poll_at, failures, .. } = &mut self.state else {
            return;
        };
        if error.is_oauth("authorization_pending") {
            *failures = 0;
            *next_poll_at = now_ms.saturating_add(*interval_ms).saturating_add(self.margin_ms);
        } else if error.is_oauth("slow_down") {
            // §3.5: add 5 seconds "for this and all subsequent requests"; a server that
            // also sends a new (larger) interval is followed.
            let server_interval = resp
                .fields()
                .ok()
                .and_then(|f| opt_seconds(&f, "interval", resp.status).ok().flatten())
                .map(|s| s.saturating_mul(1000));
            *failures = 0;
            *interval_ms = interval_ms.saturating_add(SLOW_DOWN_STEP_MS).max(server_interval.unwrap_or(0));
            // A slow_down on a 429 or 503 may also say how long to wait (Retry-After): the
            // later of the two.
            let retry_after = if matches!(resp.status, 429 | 503) { resp.retry_after(now_ms) } else { None };
            *next_poll_at = now_ms.saturating_add(*interval_ms).saturating_add(self.margin_ms).max(retry_after.unwrap_or(0));
        } else if resp.status == 429 || resp.status == 503 {
            let retry_after = resp.retry_after(now_ms);
            self.back_off(now_ms, retry_after);
        } else if resp.status >= 500 && matches!(error.kind, ErrorKind::Protocol | ErrorKind::OAuth)
            || error.is_oauth("temporarily_unavailable")
        {
            self.back_off(now_ms, None);
        } else {
            self.ex.fail(error);
        }
    }
}

/// The longest user code accepted: §6.1 asks for codes short enough to type (8 to 9
/// characters in practice); a long one is a server sending something else.
const MAX_USER_CODE_CHARS: usize = 64;

/// The user types the `user_code` (§3.3) from the terminal it is shown on: it must be
/// printable text of a typable length. A code with a control character (ESC, CSI, CR) could
/// rewrite the terminal around it and show another code or link than the server's.
fn check_user_code(user_code: &str, status: u16) -> Result<(), Error> {
    let unusable = |why: String| {
        Error::protocol(
            "invalid_field",
            Some(status),
            format!("The device authorization response is unusable: its `user_code` {why}."),
        )
    };
    if user_code.trim().is_empty() {
        return Err(unusable("is empty".into()));
    }
    if let Some((i, _)) = user_code.chars().enumerate().find(|(_, c)| crate::error::is_unsafe_for_terminal(*c)) {
        return Err(unusable(format!("contains a control or invisible formatting character at character {}", i + 1)));
    }
    if user_code.chars().count() > MAX_USER_CODE_CHARS {
        return Err(unusable(format!("is longer than {MAX_USER_CODE_CHARS} characters")));
    }
    Ok(())
}

impl Machine for DeviceFlow {
    fn exchange(&mut self) -> &mut Exchange {
        &mut self.ex
    }

    fn step(&mut self, now_ms: u64) -> Option<Action> {
        match &self.state {
            State::Start => {
                let params = scope_and_resources(self.scope.as_deref(), &self.resource);
                let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.expose())).collect();
                let (headers, body) = self.client.form_post(&params);
                self.ex.send(Method::Post, self.device_endpoint.clone(), headers, body);
                self.state = State::Authorizing;
                None
            }
            State::Authorizing => {
                self.ex.fail(Error::usage("internal_error", "The device authorization request was lost."));
                None
            }
            State::Polling { device_code, next_poll_at, expires_at, .. } => {
                if now_ms >= *expires_at {
                    // The code's lifetime (§3.2 `expires_in`) is over: stop polling.
                    let mut e = Error::oauth("expired_token", None, None, None);
                    e.message = "The device code expired before the login was approved. Run the login again.".to_string();
                    self.ex.fail(e);
                    return None;
                }
                if now_ms < *next_poll_at {
                    return Some(Action::WaitUntil { at_ms: (*next_poll_at).min(*expires_at) });
                }
                let (headers, body) = self
                    .client
                    .form_post(&[("grant_type", Grant::DeviceCode.grant_type()), ("device_code", device_code.expose())]);
                self.ex.send(Method::Post, self.token_endpoint.clone(), headers, body);
                None
            }
        }
    }

    fn on_response(&mut self, resp: HttpResponse, now_ms: u64) {
        match self.state {
            State::Authorizing => {
                if let Err(e) = self.on_authorization(&resp, now_ms) {
                    self.ex.fail(e);
                }
            }
            State::Polling { .. } => self.on_poll_response(resp, now_ms),
            State::Start => {}
        }
    }

    fn on_transport_error(&mut self, error: Error, now_ms: u64) {
        match self.state {
            State::Polling { .. } => self.back_off(now_ms, None),
            _ => self.ex.fail(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorizing() -> DeviceFlow {
        let config: DeviceConfig = serde_json::from_value(serde_json::json!({
            "server": { "issuer": "https://as.example", "device_authorization_endpoint": "https://as.example/device", "token_endpoint": "https://as.example/token" },
            "client": { "client_id": "cli" },
        }))
        .unwrap();
        let mut flow = DeviceFlow::new(config).unwrap();
        assert!(flow.step(0).is_none());
        flow
    }

    fn respond(flow: &mut DeviceFlow, body: serde_json::Value) -> Result<(), Error> {
        let resp = HttpResponse {
            id: 1,
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
        };
        flow.on_authorization(&resp, 0)
    }

    /// The verification URIs are shown to the user: terminal escapes and line breaks in
    /// them make the response unusable, naming the member, never quoting it.
    #[test]
    fn verification_uris_with_control_characters_are_refused() {
        let good = "https://as.example/device";
        for c in ["\u{1b}]8;;https://evil.example\u{1b}\\", "\u{9b}2J", "\r\n", "\t", "\0", "\u{7f}", " ", "\n"] {
            let bad = format!("https://as.example/activate{c}?x");
            for (body, member) in [
                (serde_json::json!({ "device_code": "d", "user_code": "U", "verification_uri": bad }), "`verification_uri`"),
                (serde_json::json!({ "device_code": "d", "user_code": "U", "verification_url": bad }), "`verification_uri`"),
                (
                    serde_json::json!({ "device_code": "d", "user_code": "U", "verification_uri": good, "verification_uri_complete": bad }),
                    "`verification_uri_complete`",
                ),
            ] {
                let e = respond(&mut authorizing(), body).unwrap_err();
                assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Protocol, "invalid_field"), "{c:?}");
                assert!(e.message.contains(member) && e.message.contains("at character"), "{}", e.message);
                assert!(!e.message.contains("activate") && !e.message.chars().any(char::is_control), "{:?}", e.message);
            }
        }
        let ok = serde_json::json!({ "device_code": "d", "user_code": "U", "verification_uri": good, "verification_uri_complete": format!("{good}?user_code=U") });
        respond(&mut authorizing(), ok).unwrap();
    }

    /// `slow_down` on a 429 with Retry-After: the next poll waits for the later of the raised
    /// interval and the server's Retry-After.
    #[test]
    fn slow_down_on_a_429_waits_for_retry_after() {
        let mut flow = authorizing();
        let ok = serde_json::json!({ "device_code": "d", "user_code": "WDJB-MJHT", "verification_uri": "https://as.example/d", "expires_in": 600, "interval": 5 });
        respond(&mut flow, ok).unwrap();
        let slow = HttpResponse {
            id: 2,
            status: 429,
            headers: vec![("Content-Type".into(), "application/json".into()), ("Retry-After".into(), "60".into())],
            body: r#"{"error":"slow_down"}"#.into(),
        };
        flow.on_poll_response(slow, 10_000);
        let State::Polling { interval_ms, next_poll_at, .. } = flow.state else { panic!("not polling") };
        assert_eq!(interval_ms, 10_000, "raised by 5 s (RFC 8628 §3.5)");
        assert_eq!(next_poll_at, 70_000, "Retry-After (60 s) is later than the interval");
    }
}
