//! A simulated client ↔ authorization server, in virtual time (quinn's `Pair` style).
//!
//! Every flow is driven by one driver loop ([`Sim::drive`]) against [`FakeAs`], a small
//! stateful authorization server: device authorization with approval at a random virtual
//! time, `interval` and `slow_down` enforcement (RFC 8628 §3.5), the token endpoint with
//! the device_code / authorization_code / refresh_token / client_credentials grants,
//! refresh-token rotation, revocation, and discovery. A proxy in front of it injects
//! transient faults: 503 with and without `Retry-After` (delta-seconds, IMF-fixdate,
//! garbage), nginx-style HTML 502 pages, 429, JSON 500 `server_error`, 503
//! `temporarily_unavailable`, and transport errors (before and after the server processed
//! the request). No sleeping, no threads: time is a `u64` the driver moves forward, to each
//! `WaitUntil` (sometimes late, sometimes polling early), and randomness is a xorshift
//! seeded per case, so every case replays exactly from its seed.
//!
//! Properties checked on every run (see `drive` and the `*_session` functions):
//! * no panic (each case runs under `catch_unwind` to report its seed), termination
//!   within `MAX_STEPS` actions;
//! * `Done` / `Failed` are sticky (later polls, `Cancel`, and refused inputs change nothing);
//! * within one response epoch `WaitUntil` is constant (an early poll returns the same
//!   instant), always in the future, never past the device code's expiry;
//! * a request in flight is reported as `AwaitResponse` with its id; duplicate responses
//!   are refused;
//! * the device flow never polls before the first interval, never sooner than the
//!   server's current interval (so the server never has to answer `slow_down` for polling
//!   too fast — it does answer it spontaneously, and the client must follow), never
//!   shortens the interval when backing off, honours `Retry-After`, and sends nothing at or
//!   after the code's expiry;
//! * `Done{tokens}` is preceded by exactly one `Persist` with the same tokens; `Failed`
//!   by none; after `Cancel` no `SendRequest` / `Persist`;
//! * with approval well before expiry and a fault rate under 50 %, the device flow
//!   succeeds, with exactly the tokens the server issued;
//! * refresh with rotation yields the new refresh token, the old one is then refused
//!   (`invalid_grant`), and a response without `refresh_token` keeps the old one;
//!   `lifecycle::decide` / `after_renewal_failure` agree with what happened;
//! * the loopback authorization code flow: the server checks PKCE S256, `redirect_uri`
//!   and single-use codes; tampered `state`, wrong / missing `iss`, a callback `error`, a
//!   missing code, an `error` from the wrong issuer (RFC 9207 §2.4), a wrong ID-token
//!   nonce, audience or expiry and a timeout each fail with their own code; a
//!   wrong path or garbage pasted first is refused and the login goes on.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use termauth_core::lifecycle::{self, Decision, Policy};
use termauth_core::{
    Action, AnyFlow, Credential, Error, ErrorKind, Flow, FlowSpec, Hint, HttpRequest, HttpResponse, Input, Method, Outcome, Rng,
    TokenSet, TransportErrorKind, UserCodePrompt,
};

const T0: u64 = 1_700_000_000_000;
const ISSUER: &str = "https://as.example.com";
const CLIENT_ID: &str = "termauth-cli";
const CLIENT_SECRET: &str = "s3cr3t:with/special+chars";
/// Far more actions than the longest legitimate run (1800 s of polling at 1 s).
const MAX_STEPS: usize = 50_000;
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

// ---------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------

/// xorshift64* — tiny, deterministic, good enough to pick scenarios.
#[derive(Clone, Debug)]
struct Prng(u64);

impl Prng {
    fn new(seed: u64) -> Self {
        let mut p = Prng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03 | 1);
        for _ in 0..4 {
            p.next();
        }
        p
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (0 when n is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize].clone()
    }
    fn seed32(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        for c in s.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// The fake authorization server (with a fault-injecting proxy in front of it)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Reply {
    Http { status: u16, headers: Vec<(String, String)>, body: String },
    Transport(TransportErrorKind),
}

impl Reply {
    fn input(&self, id: u64) -> Input {
        match self {
            Reply::Http { status, headers, body } => {
                Input::HttpResponse(HttpResponse { id, status: *status, headers: headers.clone(), body: body.clone() })
            }
            Reply::Transport(kind) => Input::TransportError { id, kind: *kind, message: Some("simulated".into()) },
        }
    }
}

fn json_reply(status: u16, v: Value) -> Reply {
    Reply::Http { status, headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())], body: v.to_string() }
}

fn oauth_error(status: u16, code: &str) -> Reply {
    json_reply(status, json!({ "error": code, "error_description": format!("simulated {code}") }))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum RetryAfter {
    None,
    Seconds(u64),
    Date(u64),
    Garbage,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// 503, plain text or `{}` body.
    Unavailable(RetryAfter, bool),
    /// nginx's HTML 502 page.
    BadGatewayHtml,
    /// 429 with a JSON body that is not an OAuth error.
    TooMany(RetryAfter),
    /// 500 `{"error":"server_error"}`.
    ServerError,
    /// 503 `{"error":"temporarily_unavailable"}`.
    TemporarilyUnavailable,
    /// No HTTP answer. `true`: the server processed the request, the response was lost.
    Transport(TransportErrorKind, bool),
}

impl Fault {
    /// The error code a one-request flow fails with when this fault answers it.
    fn expected_code(&self) -> &'static str {
        match self {
            Fault::Unavailable(_, true) | Fault::BadGatewayHtml => "response_not_json",
            Fault::Unavailable(_, false) | Fault::TooMany(_) => "unexpected_status",
            Fault::ServerError => "server_error",
            Fault::TemporarilyUnavailable => "temporarily_unavailable",
            Fault::Transport(..) => "transport_error",
        }
    }
}

#[derive(Clone, Debug)]
struct DeviceKnobs {
    expires_in_s: Option<u64>,
    interval_s: Option<u64>,
    approve_after_ms: u64,
    deny: bool,
    spontaneous_slow_down_pct: u64,
    /// Answer `authorization_pending` with HTTP 200 (GitHub) instead of 400.
    pending_with_200: bool,
    google_aliases: bool,
}

#[derive(Clone, Debug)]
struct DeviceGrantState {
    device_code: String,
    user_code: String,
    expires_at: u64,
    interval_ms: u64,
    /// Last poll the server itself answered (the base of the interval check).
    last_poll: u64,
    /// Last poll that reached the proxy, answered or not (the base of the backoff check).
    last_attempt: u64,
    approve_at: u64,
    used: bool,
}

#[derive(Clone, Debug)]
struct CodeGrant {
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    scope: Option<String>,
    used: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum IdTokenTamper {
    Nonce,
    Audience,
    Expired,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Rotation {
    /// New refresh token each time; the old one becomes invalid.
    Rotate,
    /// No `refresh_token` in refresh responses; the old one stays valid.
    Omit,
    /// The same refresh token is sent back.
    Same,
}

#[derive(Clone, Debug)]
struct Issued {
    access_token: String,
    refresh_token: Option<String>,
    expires_in_s: u64,
    id_token: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Served {
    Openid,
    Oauth,
}

struct FakeAs {
    rng: Prng,
    counter: u64,
    fault_pct: u64,
    /// Faults may also hit the device authorization request (else only polls).
    fault_first: bool,
    device_knobs: DeviceKnobs,
    device: Option<DeviceGrantState>,
    codes: HashMap<String, CodeGrant>,
    /// Refresh token → still valid.
    refresh_tokens: HashMap<String, bool>,
    issue_refresh_token: bool,
    rotation: Rotation,
    /// Answer token responses form-encoded in this percentage of cases.
    form_pct: u64,
    /// Spoil one claim of the ID tokens.
    tamper_id_token: Option<IdTokenTamper>,
    served: Served,
    iss_supported: bool,
    // What happened
    last_issued: Option<Issued>,
    last_fault: Option<Fault>,
    /// The server answered a refresh whose response was then lost (the client never saw it).
    lost_refresh: bool,
    /// A `Retry-After` deadline the next device poll must respect.
    not_before: Option<u64>,
    /// The client's clock-drift margin: the checks (not the answers) require it on top of
    /// every wait, since the client promises to add it.
    margin_ms: u64,
    violations: Vec<String>,
    polls: u32,
    pending: u32,
    slow_downs: u32,
    spontaneous_slow_downs: u32,
    expired_polls: u32,
    faults: u32,
}

impl FakeAs {
    fn new(seed: u64) -> Self {
        FakeAs {
            rng: Prng::new(seed ^ 0xA5A5_5A5A),
            counter: 0,
            fault_pct: 0,
            fault_first: false,
            device_knobs: DeviceKnobs {
                expires_in_s: Some(900),
                interval_s: Some(5),
                approve_after_ms: 0,
                deny: false,
                spontaneous_slow_down_pct: 0,
                pending_with_200: false,
                google_aliases: false,
            },
            device: None,
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            issue_refresh_token: true,
            rotation: Rotation::Rotate,
            form_pct: 0,
            tamper_id_token: None,
            served: Served::Openid,
            iss_supported: false,
            last_issued: None,
            last_fault: None,
            lost_refresh: false,
            not_before: None,
            margin_ms: 0,
            violations: Vec::new(),
            polls: 0,
            pending: 0,
            slow_downs: 0,
            spontaneous_slow_downs: 0,
            expired_polls: 0,
            faults: 0,
        }
    }

    fn metadata(&self) -> Value {
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/authorize"),
            "token_endpoint": format!("{ISSUER}/token"),
            "device_authorization_endpoint": format!("{ISSUER}/device_authorization"),
            "revocation_endpoint": format!("{ISSUER}/revoke"),
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": self.iss_supported,
            "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_GRANT, "client_credentials"],
            "response_types_supported": ["code"],
        })
    }

    fn next_n(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    fn retry_after_header(&mut self, ra: RetryAfter, now: u64) -> Option<String> {
        match ra {
            RetryAfter::None => None,
            RetryAfter::Seconds(s) => {
                self.not_before = Some(now + s * 1000);
                Some(s.to_string())
            }
            RetryAfter::Date(s) => {
                let at_s = now.div_ceil(1000) + s;
                self.not_before = Some(at_s * 1000);
                Some(imf_fixdate(at_s))
            }
            RetryAfter::Garbage => Some("in a little while".into()),
        }
    }

    fn pick_fault(&mut self, after_processing_ok: bool) -> Fault {
        let ra = match self.rng.below(4) {
            0 => RetryAfter::None,
            1 => RetryAfter::Seconds(self.rng.range(0, 30)),
            2 => RetryAfter::Date(self.rng.range(1, 30)),
            _ => RetryAfter::Garbage,
        };
        let kind = self.rng.pick(&[
            TransportErrorKind::Dns,
            TransportErrorKind::Connect,
            TransportErrorKind::Tls,
            TransportErrorKind::Timeout,
            TransportErrorKind::Other,
        ]);
        match self.rng.below(7) {
            0 => Fault::Unavailable(ra, self.rng.percent(50)),
            1 => Fault::BadGatewayHtml,
            2 => Fault::TooMany(ra),
            3 => Fault::ServerError,
            4 => Fault::TemporarilyUnavailable,
            5 => Fault::Transport(kind, false),
            _ => Fault::Transport(kind, after_processing_ok),
        }
    }

    fn fault_reply(&mut self, fault: Fault, now: u64) -> Reply {
        match fault {
            Fault::Unavailable(ra, text) => {
                let mut headers = vec![(
                    "Content-Type".to_string(),
                    if text { "text/plain" } else { "application/json" }.to_string(),
                )];
                if let Some(v) = self.retry_after_header(ra, now) {
                    headers.push(("Retry-After".into(), v));
                }
                let body = if text { "Service Unavailable" } else { "{}" }.to_string();
                Reply::Http { status: 503, headers, body }
            }
            Fault::BadGatewayHtml => Reply::Http {
                status: 502,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".into(),
            },
            Fault::TooMany(ra) => {
                let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
                if let Some(v) = self.retry_after_header(ra, now) {
                    headers.push(("retry-after".into(), v));
                }
                Reply::Http { status: 429, headers, body: r#"{"message":"API rate limit exceeded"}"#.into() }
            }
            Fault::ServerError => oauth_error(500, "server_error"),
            Fault::TemporarilyUnavailable => oauth_error(503, "temporarily_unavailable"),
            Fault::Transport(kind, _) => Reply::Transport(kind),
        }
    }

    /// The proxy: maybe a fault, else the server.
    fn serve(&mut self, req: &HttpRequest, now: u64) -> Reply {
        let Some(path) = req.url.strip_prefix(ISSUER).map(str::to_string) else {
            self.violation(format!("request to a foreign URL {}", req.url));
            return Reply::Transport(TransportErrorKind::Dns);
        };
        let form = parse_form(&req.body);
        let grant = form.get("grant_type").cloned().unwrap_or_default();
        let device_poll = path == "/token" && grant == DEVICE_GRANT;
        if device_poll {
            let margin = self.margin_ms;
            if let Some(t) = self.not_before.take()
                && now < t + margin
            {
                self.violation(format!("device poll at {now} before the Retry-After time {t} (+ margin {margin})"));
            }
            if let Some(g) = self.device.as_mut() {
                let gap = now.saturating_sub(g.last_attempt);
                let interval = g.interval_ms;
                g.last_attempt = now;
                if gap < interval + margin {
                    self.violation(format!(
                        "device poll {gap} ms after the previous attempt; the interval is {interval} ms (+ margin {margin})"
                    ));
                }
            }
        }
        self.not_before = None;
        let faultable =
            self.fault_pct > 0 && !path.starts_with("/.well-known") && (path != "/device_authorization" || self.fault_first);
        if faultable && self.rng.percent(self.fault_pct) {
            let after_ok = (path == "/token" && grant == "refresh_token") || path == "/revoke";
            let fault = self.pick_fault(after_ok);
            self.faults += 1;
            self.last_fault = Some(fault);
            if let Fault::Transport(_, true) = fault {
                let issued_before = self.counter;
                let _ = self.route(req, &path, &form, now);
                if self.counter != issued_before {
                    self.lost_refresh = true;
                }
            }
            let reply = self.fault_reply(fault, now);
            if !device_poll {
                self.not_before = None;
            }
            return reply;
        }
        self.last_fault = None;
        self.route(req, &path, &form, now)
    }

    fn route(&mut self, req: &HttpRequest, path: &str, form: &BTreeMap<String, String>, now: u64) -> Reply {
        if path.starts_with("/.well-known/") {
            if req.method != Method::Get {
                self.violation(format!("discovery with {:?}", req.method));
            }
            let serving = match self.served {
                Served::Openid => "/.well-known/openid-configuration",
                Served::Oauth => "/.well-known/oauth-authorization-server",
            };
            return if path == serving {
                json_reply(200, self.metadata())
            } else {
                Reply::Http {
                    status: 404,
                    headers: vec![("Content-Type".into(), "text/html".into())],
                    body: "<html><body><h1>404 Not Found</h1></body></html>".into(),
                }
            };
        }
        if req.method != Method::Post {
            self.violation(format!("{:?} to {path}", req.method));
        }
        let header = |name: &str| req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        if header("content-type") != Some("application/x-www-form-urlencoded") {
            self.violation(format!("POST to {path} without a form content type"));
        }
        if header("accept") != Some("application/json") {
            self.violation(format!("POST to {path} without Accept: application/json"));
        }
        // Client authentication (RFC 6749 §2.3.1).
        let (client_id, secret) = match header("authorization") {
            Some(h) => match basic_credentials(h) {
                Some((id, s)) => (Some(id), Some(s)),
                None => return oauth_error(401, "invalid_client"),
            },
            None => (form.get("client_id").cloned(), form.get("client_secret").cloned()),
        };
        if client_id.as_deref() != Some(CLIENT_ID) {
            return oauth_error(401, "invalid_client");
        }
        if secret.as_deref().is_some_and(|s| s != CLIENT_SECRET) {
            return oauth_error(401, "invalid_client");
        }
        match path {
            "/device_authorization" => self.device_authorization(form, now),
            "/token" => match form.get("grant_type").map(String::as_str) {
                Some(DEVICE_GRANT) => self.device_poll(form, now),
                Some("authorization_code") => self.code_exchange(form, now),
                Some("refresh_token") => self.refresh(form),
                Some("client_credentials") => {
                    if secret.is_none() {
                        return oauth_error(401, "invalid_client");
                    }
                    let scope = form.get("scope").cloned();
                    self.issue(scope, false, None)
                }
                _ => oauth_error(400, "unsupported_grant_type"),
            },
            "/revoke" => {
                let token = form.get("token").cloned().unwrap_or_default();
                if let Some(valid) = self.refresh_tokens.get_mut(&token) {
                    *valid = false;
                }
                // RFC 7009 §2.2: 200 whether or not the token was valid.
                Reply::Http { status: 200, headers: vec![], body: String::new() }
            }
            _ => {
                self.violation(format!("request to unknown path {path}"));
                Reply::Http { status: 404, headers: vec![], body: String::new() }
            }
        }
    }

    fn device_authorization(&mut self, form: &BTreeMap<String, String>, now: u64) -> Reply {
        if self.device.is_some() {
            self.violation("a second device authorization request".into());
        }
        let k = self.device_knobs.clone();
        let n = self.next_n();
        let device_code = format!("GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS-{n}");
        let user_code = format!("WDJB-{n:04}");
        let interval_ms = k.interval_s.unwrap_or(5) * 1000;
        self.device = Some(DeviceGrantState {
            device_code: device_code.clone(),
            user_code: user_code.clone(),
            expires_at: now + k.expires_in_s.unwrap_or(900) * 1000,
            interval_ms,
            last_poll: now,
            last_attempt: now,
            approve_at: now + k.approve_after_ms,
            used: false,
        });
        let (uri, uri_complete) = if k.google_aliases {
            ("verification_url", "verification_url_complete")
        } else {
            ("verification_uri", "verification_uri_complete")
        };
        let mut body = Map::new();
        body.insert("device_code".into(), json!(device_code));
        body.insert("user_code".into(), json!(user_code));
        body.insert(uri.into(), json!(format!("{ISSUER}/device")));
        if self.rng.percent(70) {
            body.insert(uri_complete.into(), json!(format!("{ISSUER}/device?user_code={user_code}")));
        }
        if let Some(e) = k.expires_in_s {
            body.insert("expires_in".into(), json!(e));
        }
        if let Some(i) = k.interval_s {
            body.insert("interval".into(), if self.rng.percent(20) { json!(i.to_string()) } else { json!(i) });
        }
        if form.get("scope").is_none() {
            self.violation("device authorization without scope".into());
        }
        json_reply(200, Value::Object(body))
    }

    fn device_poll(&mut self, form: &BTreeMap<String, String>, now: u64) -> Reply {
        self.polls += 1;
        let k = self.device_knobs.clone();
        let Some(g) = self.device.as_mut() else {
            self.violation("device poll before device authorization".into());
            return oauth_error(400, "invalid_grant");
        };
        if form.get("device_code") != Some(&g.device_code) || g.used {
            return oauth_error(400, "invalid_grant");
        }
        if now >= g.expires_at {
            self.expired_polls += 1;
            return oauth_error(400, "expired_token");
        }
        let since = now - g.last_poll;
        g.last_poll = now;
        if since < g.interval_ms + self.margin_ms {
            let what = format!(
                "device poll {since} ms after the previous one; the interval is {} ms (+ margin {})",
                g.interval_ms, self.margin_ms
            );
            self.violations.push(what);
        }
        if since < g.interval_ms {
            // RFC 8628 §3.5: polled too fast.
            g.interval_ms += 5_000;
            self.slow_downs += 1;
            return oauth_error(400, "slow_down");
        }
        if self.spontaneous_slow_downs < 3 && self.rng.percent(k.spontaneous_slow_down_pct) {
            // The server is under load: slow down, sometimes announcing a larger interval.
            self.spontaneous_slow_downs += 1;
            self.slow_downs += 1;
            let extra = if self.rng.percent(30) { self.rng.range(1, 5) * 1000 } else { 0 };
            let g = self.device.as_mut().unwrap();
            g.interval_ms += 5_000 + extra;
            let mut body = json!({ "error": "slow_down" });
            if extra > 0 || self.rng.percent(20) {
                body["interval"] = json!(g.interval_ms / 1000);
            }
            return json_reply(400, body);
        }
        let g = self.device.as_mut().unwrap();
        if now < g.approve_at {
            self.pending += 1;
            return oauth_error(if k.pending_with_200 { 200 } else { 400 }, "authorization_pending");
        }
        if k.deny {
            g.used = true;
            return oauth_error(400, "access_denied");
        }
        g.used = true;
        let scope = form.get("scope").cloned();
        self.issue(scope, self.issue_refresh_token, None)
    }

    fn code_exchange(&mut self, form: &BTreeMap<String, String>, now: u64) -> Reply {
        let code = form.get("code").cloned().unwrap_or_default();
        let Some(c) = self.codes.get_mut(&code) else {
            return oauth_error(400, "invalid_grant");
        };
        if c.used {
            return oauth_error(400, "invalid_grant");
        }
        c.used = true;
        let c = c.clone();
        if form.get("redirect_uri") != Some(&c.redirect_uri) {
            self.violation("code exchange with a different redirect_uri".into());
            return oauth_error(400, "invalid_grant");
        }
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != c.challenge {
            self.violation("PKCE verifier does not match the S256 challenge".into());
            return oauth_error(400, "invalid_grant");
        }
        let tamper = self.tamper_id_token;
        let id_token = c.nonce.as_ref().map(|nonce| {
            let mut claims = json!({
                "iss": ISSUER, "aud": [CLIENT_ID, "other-audience"], "sub": "user-1", "nonce": nonce,
                "iat": now / 1000, "exp": now / 1000 + 3600,
            });
            match tamper {
                Some(IdTokenTamper::Nonce) => claims["nonce"] = json!(format!("{nonce}x")),
                Some(IdTokenTamper::Audience) => claims["aud"] = json!("someone-else"),
                // Expired an hour ago: beyond any clock-skew leeway.
                Some(IdTokenTamper::Expired) => claims["exp"] = json!(now / 1000 - 3600),
                None => {}
            }
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
            let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("{header}.{payload}.c2ln")
        });
        self.issue(c.scope, true, id_token)
    }

    fn refresh(&mut self, form: &BTreeMap<String, String>) -> Reply {
        let rt = form.get("refresh_token").cloned().unwrap_or_default();
        if self.refresh_tokens.get(&rt) != Some(&true) {
            return oauth_error(400, "invalid_grant");
        }
        let scope = form.get("scope").cloned();
        match self.rotation {
            Rotation::Rotate => {
                self.refresh_tokens.insert(rt, false);
                self.issue(scope, true, None)
            }
            Rotation::Omit => self.issue(scope, false, None),
            Rotation::Same => {
                let reply = self.issue(scope, false, None);
                // Send the same refresh token back.
                self.last_issued.as_mut().unwrap().refresh_token = Some(rt.clone());
                match reply {
                    Reply::Http { status, headers, body } => {
                        let body = if headers[0].1.starts_with("application/x-www-form-urlencoded") {
                            format!("{body}&refresh_token={}", url_encode(&rt))
                        } else {
                            let mut v: Value = serde_json::from_str(&body).unwrap();
                            v["refresh_token"] = json!(rt);
                            v.to_string()
                        };
                        Reply::Http { status, headers, body }
                    }
                    other => other,
                }
            }
        }
    }

    fn issue(&mut self, scope: Option<String>, with_refresh: bool, id_token: Option<String>) -> Reply {
        let n = self.next_n();
        let access_token = format!("at-{n}");
        let refresh_token = with_refresh.then(|| format!("rt-{n}"));
        if let Some(rt) = &refresh_token {
            self.refresh_tokens.insert(rt.clone(), true);
        }
        let expires_in_s = self.rng.range(300, 7200);
        self.last_issued = Some(Issued {
            access_token: access_token.clone(),
            refresh_token: refresh_token.clone(),
            expires_in_s,
            id_token: id_token.clone(),
        });
        let token_type = self.rng.pick(&["Bearer", "bearer", "BEARER"]);
        let mut pairs: Vec<(&str, String)> = vec![
            ("access_token", access_token),
            ("token_type", token_type.to_string()),
            ("expires_in", expires_in_s.to_string()),
        ];
        if let Some(rt) = refresh_token {
            pairs.push(("refresh_token", rt));
        }
        if let Some(s) = scope.filter(|_| self.rng.percent(50)) {
            pairs.push(("scope", s));
        }
        if let Some(t) = id_token {
            pairs.push(("id_token", t));
        }
        if self.rng.percent(self.form_pct) {
            let body = pairs.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect::<Vec<_>>().join("&");
            Reply::Http {
                status: 200,
                headers: vec![("Content-Type".into(), "application/x-www-form-urlencoded; charset=utf-8".into())],
                body,
            }
        } else {
            let mut m = Map::new();
            for (k, v) in pairs {
                let v = if k == "expires_in" { json!(v.parse::<u64>().unwrap()) } else { json!(v) };
                m.insert(k.to_string(), v);
            }
            m.insert("x_server".into(), json!("simulated"));
            json_reply(200, Value::Object(m))
        }
    }
}

fn parse_form(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn url_encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// `Basic base64(form(id):form(secret))` → (id, secret).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(header.strip_prefix("Basic ")?).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let dec = |s: &str| parse_form(&format!("x={s}")).remove("x").unwrap_or_default();
    Some((dec(id), dec(secret)))
}

/// An IMF-fixdate (RFC 9110 §5.6.7) for Unix seconds.
fn imf_fixdate(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][(m - 1) as usize];
    format!("{wd}, {d:02} {mon} {y} {:02}:{:02}:{:02} GMT", rem / 3600, rem / 60 % 60, rem % 60)
}

// ---------------------------------------------------------------------------------------
// The fake browser (loopback authorization code flow)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Callback {
    Ok,
    Pasted,
    WrongPathFirst,
    GarbageFirst,
    StateTampered,
    StateMissing,
    ErrorWithTamperedState,
    AccessDenied,
    IssWrong,
    IssMissing,
    ErrorWithWrongIss,
    NoCode,
    NonceTampered,
    IdTokenAudience,
    IdTokenExpired,
    Timeout,
    ExchangeFault,
}

const CALLBACKS: [Callback; 17] = [
    Callback::Ok,
    Callback::Pasted,
    Callback::WrongPathFirst,
    Callback::GarbageFirst,
    Callback::StateTampered,
    Callback::StateMissing,
    Callback::ErrorWithTamperedState,
    Callback::AccessDenied,
    Callback::IssWrong,
    Callback::IssMissing,
    Callback::ErrorWithWrongIss,
    Callback::NoCode,
    Callback::NonceTampered,
    Callback::IdTokenAudience,
    Callback::IdTokenExpired,
    Callback::Timeout,
    Callback::ExchangeFault,
];

impl Callback {
    /// The code the flow must fail with, or `None` for success.
    fn expected_failure(&self) -> Option<&'static str> {
        match self {
            Callback::Ok
            | Callback::Pasted
            | Callback::WrongPathFirst
            | Callback::GarbageFirst
            | Callback::StateTampered
            | Callback::StateMissing
            | Callback::ErrorWithTamperedState => None,
            Callback::AccessDenied => Some("access_denied"),
            Callback::IssWrong | Callback::ErrorWithWrongIss => Some("issuer_mismatch"),
            Callback::IssMissing => Some("issuer_missing"),
            Callback::NoCode => Some("missing_code"),
            Callback::NonceTampered => Some("nonce_mismatch"),
            Callback::IdTokenAudience => Some("id_token_audience_mismatch"),
            Callback::IdTokenExpired => Some("id_token_expired"),
            Callback::Timeout => Some("redirect_timeout"),
            Callback::ExchangeFault => Some("(fault)"),
        }
    }
}

/// One redirect the browser delivers: after `delay_ms`, this URL; `refused` is the usage
/// error `handle` must answer with (the flow then keeps waiting).
struct Delivery {
    delay_ms: u64,
    url: String,
    refused: Option<&'static str>,
}

struct Browser {
    variant: Callback,
    opened: Option<(String, String)>,
    plan: VecDeque<Delivery>,
    rng: Prng,
}

impl Browser {
    fn open(&mut self, url: &str, redirect_uri: &str, server: &mut FakeAs) {
        assert!(self.opened.is_none(), "OpenBrowser twice");
        self.opened = Some((url.to_string(), redirect_uri.to_string()));
        let u = url::Url::parse(url).expect("the authorization URL parses");
        assert_eq!(format!("{}://{}{}", u.scheme(), u.host_str().unwrap(), u.path()), format!("{ISSUER}/authorize"));
        let q: BTreeMap<String, String> = u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
        assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
        assert_eq!(q.get("redirect_uri").map(String::as_str), Some(redirect_uri));
        assert_eq!(q.get("code_challenge_method").map(String::as_str), Some("S256"));
        let state = q.get("state").cloned().expect("state");
        assert!(state.len() >= 22, "state has at least 128 bits");
        let challenge = q.get("code_challenge").cloned().expect("code_challenge");
        assert_eq!(challenge.len(), 43);
        let n = server.next_n();
        let code = format!("SplxlOBeZQQYbYS6WxSbIA-{n}");
        server.codes.insert(
            code.clone(),
            CodeGrant {
                redirect_uri: redirect_uri.to_string(),
                challenge,
                nonce: q.get("nonce").cloned(),
                scope: q.get("scope").cloned(),
                used: false,
            },
        );
        let iss =
            if server.iss_supported || self.rng.percent(50) { format!("&iss={}", url_encode(ISSUER)) } else { String::new() };
        let ok = format!("{redirect_uri}?code={code}&state={state}{iss}");
        let path = url::Url::parse(redirect_uri).unwrap().path().to_string();
        let delay = self.rng.range(1_000, 120_000);
        let d = |url: String| Delivery { delay_ms: delay, url, refused: None };
        let tampered = {
            let mut s = state.clone().into_bytes();
            s[0] = if s[0] == b'A' { b'B' } else { b'A' };
            String::from_utf8(s).unwrap()
        };
        let plan = match self.variant {
            Callback::Ok
            | Callback::ExchangeFault
            | Callback::NonceTampered
            | Callback::IdTokenAudience
            | Callback::IdTokenExpired => vec![d(ok)],
            Callback::Pasted => vec![d(format!("  {path}?state={state}&code={code}{iss}\n"))],
            Callback::WrongPathFirst => {
                let origin = url::Url::parse(redirect_uri).unwrap().origin().ascii_serialization();
                vec![
                    Delivery { delay_ms: 50, url: format!("{origin}/favicon.ico"), refused: Some("redirect_path_mismatch") },
                    d(ok),
                ]
            }
            Callback::GarbageFirst => vec![
                Delivery {
                    delay_ms: 50,
                    url: "the code is SplxlOBeZQQYbYS6WxSbIA".into(),
                    refused: Some("redirect_url_invalid"),
                },
                d(ok),
            ],
            // A forged or stale redirect (another local process, an old tab) is refused and
            // the login keeps waiting for the browser's own.
            Callback::StateTampered => vec![
                Delivery {
                    delay_ms: 50,
                    url: format!("{redirect_uri}?code={code}&state={tampered}{iss}"),
                    refused: Some("state_mismatch"),
                },
                d(ok),
            ],
            Callback::StateMissing => vec![
                Delivery { delay_ms: 50, url: format!("{redirect_uri}?code={code}{iss}"), refused: Some("state_mismatch") },
                d(ok),
            ],
            Callback::ErrorWithTamperedState => vec![
                Delivery {
                    delay_ms: 50,
                    url: format!("{redirect_uri}?error=access_denied&state={tampered}{iss}"),
                    refused: Some("state_mismatch"),
                },
                d(ok),
            ],
            Callback::AccessDenied => {
                vec![d(format!("{redirect_uri}?error=access_denied&error_description=The+user+said+no&state={state}{iss}"))]
            }
            Callback::IssWrong => {
                vec![d(format!("{redirect_uri}?code={code}&state={state}&iss={}", url_encode("https://evil.example.com")))]
            }
            Callback::IssMissing => vec![d(format!("{redirect_uri}?code={code}&state={state}"))],
            Callback::ErrorWithWrongIss => vec![d(format!(
                "{redirect_uri}?error=access_denied&state={state}&iss={}",
                url_encode("https://evil.example.com")
            ))],
            Callback::NoCode => vec![d(format!("{redirect_uri}?state={state}{iss}"))],
            Callback::Timeout => vec![],
        };
        self.plan = plan.into();
    }
}

// ---------------------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
struct DriverKnobs {
    jitter_max_ms: u64,
    early_poll_pct: u64,
    latency_max_ms: u64,
    /// Cancel at the n-th waiting action.
    cancel_at_wait: Option<u32>,
    /// Cancel while the n-th request (1-based) is in flight; its response then arrives late.
    cancel_in_flight: Option<usize>,
    /// Cancel right after the n-th response (1-based) was handled, before draining `poll`
    /// (Ctrl-C racing the response). If that response finished the flow, the cancel comes
    /// too late and the flow stays done; otherwise nothing queued may come out any more.
    cancel_after_handle: Option<usize>,
    poll_in_flight_pct: u64,
    /// A laptop lid closed: wake up minutes late.
    long_sleep_pct: u64,
    /// Deliver a response twice now and then.
    duplicate_pct: u64,
}

#[derive(Debug, Default)]
struct Run {
    terminal: Option<Action>,
    persists: Vec<Credential>,
    prompt: Option<(u64, UserCodePrompt)>,
    requests: Vec<(u64, HttpRequest)>,
    cancelled: bool,
    /// The cancel raced a response (see `cancel_after_handle`).
    cancel_raced: bool,
    refused_redirects: Vec<String>,
    early_polls: u32,
    /// When the last response was handled.
    last_handled_at: u64,
}

impl Run {
    fn error(&self) -> Option<&Error> {
        match &self.terminal {
            Some(Action::Failed { error }) => Some(error),
            _ => None,
        }
    }
    fn tokens(&self) -> Option<&TokenSet> {
        match &self.terminal {
            Some(Action::Done { result: Outcome::Tokens { tokens } }) => Some(tokens),
            _ => None,
        }
    }
}

struct Sim {
    ctx: String,
    rng: Prng,
    now: u64,
    server: FakeAs,
    knobs: DriverKnobs,
}

impl Sim {
    fn new(seed: u64, ctx: &str) -> Self {
        Sim {
            ctx: format!("{ctx} seed {seed}"),
            rng: Prng::new(seed),
            now: T0 + seed * 7_919,
            server: FakeAs::new(seed),
            knobs: DriverKnobs::default(),
        }
    }

    fn start(&mut self, spec: Value) -> AnyFlow {
        let spec: FlowSpec = serde_json::from_value(spec).unwrap_or_else(|e| panic!("{}: bad spec: {e}", self.ctx));
        spec.start(Rng::from_seed(self.rng.seed32())).unwrap_or_else(|e| panic!("{}: start: {e:?}", self.ctx))
    }

    /// The driver loop: mutate → drain poll until a waiting or terminal action → wait.
    fn drive(&mut self, flow: &mut AnyFlow, mut browser: Option<&mut Browser>) -> Run {
        let ctx = self.ctx.clone();
        let mut run = Run { last_handled_at: self.now, ..Run::default() };
        // The WaitUntil / AwaitRedirect deadline seen since the last handled input.
        let mut epoch_deadline: Option<u64> = None;
        let mut waits = 0u32;
        for _ in 0..MAX_STEPS {
            let action = flow.poll(self.now);
            match action {
                Action::SendRequest(req) => {
                    assert!(!run.cancelled, "{ctx}: SendRequest after Cancel");
                    if let Some((_, p)) = &run.prompt {
                        assert!(
                            self.now < p.expires_at,
                            "{ctx}: request at {} at or after the code's expiry {}",
                            self.now,
                            p.expires_at
                        );
                    }
                    if let Some((_, prev)) = run.requests.last() {
                        assert!(req.id > prev.id, "{ctx}: request ids must grow");
                    }
                    if self.rng.percent(self.knobs.poll_in_flight_pct) {
                        // A driver timer fires before the response is in.
                        assert_eq!(flow.poll(self.now), Action::AwaitResponse { id: req.id }, "{ctx}: in-flight poll");
                    }
                    run.requests.push((self.now, req.clone()));
                    let reply = self.server.serve(&req, self.now);
                    if self.knobs.cancel_in_flight == Some(run.requests.len()) {
                        flow.handle(Input::Cancel, self.now).unwrap();
                        run.cancelled = true;
                        let late = flow.handle(reply.input(req.id), self.now).unwrap_err();
                        assert_eq!(late.code, "flow_finished", "{ctx}: a response after Cancel");
                        epoch_deadline = None;
                        continue;
                    }
                    self.now += self.rng.below(self.knobs.latency_max_ms + 1);
                    flow.handle(reply.input(req.id), self.now)
                        .unwrap_or_else(|e| panic!("{ctx}: the response to request {} was refused: {e:?}", req.id));
                    run.last_handled_at = self.now;
                    if self.knobs.cancel_after_handle == Some(run.requests.len()) {
                        flow.handle(Input::Cancel, self.now).unwrap();
                        run.cancelled = true;
                        run.cancel_raced = true;
                    }
                    if self.rng.percent(self.knobs.duplicate_pct) {
                        let e = flow.handle(reply.input(req.id), self.now).unwrap_err();
                        assert!(
                            e.code == "duplicate_response" || e.code == "flow_finished",
                            "{ctx}: a duplicate response gave {e:?}"
                        );
                        let e = flow.handle(reply.input(req.id + 1000), self.now).unwrap_err();
                        assert!(e.code == "unknown_request_id" || e.code == "flow_finished", "{ctx}: {e:?}");
                    }
                    epoch_deadline = None;
                }
                Action::ShowUserCode(p) => {
                    assert!(!run.cancelled, "{ctx}: ShowUserCode after Cancel");
                    assert!(run.prompt.is_none(), "{ctx}: ShowUserCode twice");
                    assert!(p.expires_at > self.now, "{ctx}: the prompt is already expired");
                    run.prompt = Some((self.now, p));
                }
                Action::OpenBrowser { url, redirect_uri } => {
                    assert!(!run.cancelled, "{ctx}: OpenBrowser after Cancel");
                    let b = browser.as_deref_mut().unwrap_or_else(|| panic!("{ctx}: OpenBrowser from a flow without a browser"));
                    b.open(&url, &redirect_uri, &mut self.server);
                }
                Action::Persist { credential } => {
                    // A cancel that raced the final response is too late: the flow had
                    // finished (Done is sticky) and its Persist still comes out.
                    assert!(!run.cancelled || run.cancel_raced, "{ctx}: Persist after Cancel");
                    run.persists.push(credential);
                }
                Action::WaitUntil { at_ms } => {
                    assert!(at_ms > self.now, "{ctx}: WaitUntil({at_ms}) is not in the future (now {})", self.now);
                    if let Some(prev) = epoch_deadline {
                        assert_eq!(at_ms, prev, "{ctx}: WaitUntil moved without any input");
                    }
                    epoch_deadline = Some(at_ms);
                    if let Some((_, p)) = &run.prompt {
                        assert!(at_ms <= p.expires_at, "{ctx}: WaitUntil past the code's expiry");
                    }
                    if self.maybe_cancel(flow, &mut run, &mut waits) {
                        continue;
                    }
                    if self.rng.percent(self.knobs.early_poll_pct) {
                        // Poll early (a spurious wake-up): the flow must answer the same WaitUntil.
                        self.now += self.rng.below(at_ms - self.now);
                        run.early_polls += 1;
                        continue;
                    }
                    let late = if self.rng.percent(self.knobs.long_sleep_pct) {
                        self.rng.range(60_000, 900_000)
                    } else {
                        self.rng.below(self.knobs.jitter_max_ms + 1)
                    };
                    self.now = at_ms + late;
                }
                Action::AwaitRedirect { redirect_uri, until_ms } => {
                    let b =
                        browser.as_deref_mut().unwrap_or_else(|| panic!("{ctx}: AwaitRedirect from a flow without a browser"));
                    assert_eq!(Some(&redirect_uri), b.opened.as_ref().map(|(_, r)| r), "{ctx}: AwaitRedirect's redirect_uri");
                    assert!(until_ms > self.now, "{ctx}: AwaitRedirect deadline in the past");
                    if let Some(prev) = epoch_deadline {
                        assert_eq!(until_ms, prev, "{ctx}: the redirect deadline moved");
                    }
                    epoch_deadline = Some(until_ms);
                    if self.maybe_cancel(flow, &mut run, &mut waits) {
                        continue;
                    }
                    match b.plan.pop_front() {
                        Some(d) if self.now + d.delay_ms < until_ms => {
                            self.now += d.delay_ms;
                            let r = flow.handle(Input::Redirect { url: d.url.clone() }, self.now);
                            match (d.refused, r) {
                                (None, Ok(())) => {
                                    // A second redirect is refused: the first one was taken.
                                    let again = flow.handle(Input::Redirect { url: d.url }, self.now).unwrap_err();
                                    assert!(
                                        again.code == "unexpected_input" || again.code == "flow_finished",
                                        "{ctx}: second redirect: {again:?}"
                                    );
                                    epoch_deadline = None;
                                }
                                (Some(code), Err(e)) => {
                                    assert_eq!(e.code, code, "{ctx}: refused redirect");
                                    assert_eq!(e.kind, ErrorKind::Usage);
                                    run.refused_redirects.push(e.code);
                                    // Refused: nothing changed, so the deadline is the same.
                                }
                                (want, got) => panic!("{ctx}: redirect {want:?} → {got:?}"),
                            }
                        }
                        _ => {
                            b.plan.clear();
                            self.now = until_ms + self.rng.below(self.knobs.jitter_max_ms + 1);
                        }
                    }
                }
                Action::AwaitResponse { id } => panic!("{ctx}: AwaitResponse({id}) although every request was answered"),
                Action::Done { .. } | Action::Failed { .. } => {
                    self.check_terminal(flow, &action, &run);
                    run.terminal = Some(action);
                    return run;
                }
            }
        }
        panic!("{ctx}: no terminal action after {MAX_STEPS} steps");
    }

    fn maybe_cancel(&mut self, flow: &mut AnyFlow, run: &mut Run, waits: &mut u32) -> bool {
        let hit = self.knobs.cancel_at_wait == Some(*waits);
        *waits += 1;
        if hit {
            flow.handle(Input::Cancel, self.now).unwrap();
            run.cancelled = true;
        }
        hit
    }

    /// Terminal actions are sticky; Persist came exactly once before a token Done.
    fn check_terminal(&mut self, flow: &mut AnyFlow, terminal: &Action, run: &Run) {
        let ctx = &self.ctx;
        let now = self.now;
        assert_eq!(&flow.poll(now), terminal, "{ctx}: terminal not sticky");
        assert_eq!(&flow.poll(now + 86_400_000), terminal, "{ctx}: terminal not sticky a day later");
        assert_eq!(&flow.poll(now.saturating_sub(3_600_000)), terminal, "{ctx}: terminal not sticky with an earlier clock");
        flow.handle(Input::Cancel, now).expect("Cancel on a finished flow is accepted");
        assert_eq!(&flow.poll(now), terminal, "{ctx}: Cancel changed a finished flow");
        let last_id = run.requests.last().map_or(1, |(_, r)| r.id);
        let e = flow
            .handle(Input::HttpResponse(HttpResponse { id: last_id, status: 200, headers: vec![], body: "{}".into() }), now)
            .unwrap_err();
        assert_eq!(e.code, "flow_finished", "{ctx}");
        let e = flow.handle(Input::Redirect { url: "http://127.0.0.1/callback?code=x".into() }, now).unwrap_err();
        assert_eq!(e.code, "flow_finished", "{ctx}");
        assert_eq!(&flow.poll(now), terminal, "{ctx}: a refused input changed a finished flow");
        match terminal {
            Action::Done { result: Outcome::Tokens { tokens } } => {
                assert!(!run.cancelled || run.cancel_raced, "{ctx}: Done after Cancel");
                assert_eq!(run.persists.len(), 1, "{ctx}: Persist must come exactly once before Done");
                assert_eq!(run.persists[0].tokens(), Some(tokens), "{ctx}: Persist and Done carry different tokens");
            }
            Action::Done { result: Outcome::Credential { credential } } => {
                assert_eq!(run.persists, vec![credential.clone()], "{ctx}");
            }
            Action::Done { .. } => assert!(run.persists.is_empty(), "{ctx}: unexpected Persist"),
            Action::Failed { error } => {
                assert!(run.persists.is_empty(), "{ctx}: Persist before Failed");
                // (A cancel that raced a response which had already failed the flow is too
                // late: that failure stands.)
                if run.cancelled && !run.cancel_raced {
                    assert_eq!(error.code, "cancelled", "{ctx}");
                    assert_eq!(error.kind, ErrorKind::Interrupted, "{ctx}");
                }
            }
            _ => unreachable!(),
        }
    }

    fn assert_no_violations(&self) {
        assert!(self.server.violations.is_empty(), "{}: server saw violations: {:#?}", self.ctx, self.server.violations);
    }
}

/// The error a one-request flow fails with after a transient fault: right code, and a
/// hint that says "try again later" (see the 429 note).
fn check_fault_error(ctx: &str, fault: Fault, e: &Error) {
    assert_eq!(e.code, fault.expected_code(), "{ctx}: fault {fault:?} gave {e:?}");
    match fault {
        // A 429 has no OAuth error and a status below 500, so it is reported as a
        // protocol error with Hint::Fatal today (reported to the core's owner: a rate
        // limit is RetryLater).
        Fault::TooMany(_) => assert_eq!(e.status, Some(429), "{ctx}"),
        _ => assert_eq!(e.hint, Hint::RetryLater, "{ctx}: fault {fault:?} gave {e:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Statistics: proof that the scenarios exercised what they claim
// ---------------------------------------------------------------------------------------

#[derive(Default, Debug)]
struct Stats {
    runs: u32,
    outcomes: BTreeMap<String, u32>,
    expected_success: u32,
    slow_downs: u32,
    spontaneous_slow_downs: u32,
    faults: u32,
    polls: u32,
    pending: u32,
    early_polls: u32,
    cancels: u32,
    rotations_checked: u32,
    kept_refresh_checked: u32,
    lost_rotations: u32,
    revocations: u32,
    refused_redirects: u32,
    discoveries: u32,
}

impl Stats {
    fn outcome(&mut self, run: &Run) {
        let key = match &run.terminal {
            Some(Action::Done { .. }) => "done".to_string(),
            Some(Action::Failed { error }) => error.code.clone(),
            _ => unreachable!(),
        };
        *self.outcomes.entry(key).or_default() += 1;
        self.early_polls += run.early_polls;
        self.cancels += u32::from(run.cancelled);
        self.refused_redirects += run.refused_redirects.len() as u32;
    }
    fn server(&mut self, s: &FakeAs) {
        self.slow_downs += s.slow_downs;
        self.spontaneous_slow_downs += s.spontaneous_slow_downs;
        self.faults += s.faults;
        self.polls += s.polls;
        self.pending += s.pending;
    }
}

/// Runs `f` for each seed, naming the seed of a panic.
fn for_seeds(name: &str, seeds: std::ops::Range<u64>, stats: &mut Stats, f: fn(u64, &mut Stats)) {
    for seed in seeds {
        stats.runs += 1;
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(seed, stats))) {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            panic!("{name} seed {seed} failed: {}", msg.unwrap_or_default());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

fn discover(sim: &mut Sim, stats: &mut Stats) -> Value {
    sim.server.served = sim.rng.pick(&[Served::Openid, Served::Oauth]);
    let document = sim.rng.pick(&["auto", "auto", if sim.server.served == Served::Openid { "openid" } else { "oauth" }]);
    let mut flow = sim.start(json!({ "flow": "discovery", "issuer": ISSUER, "document": document }));
    let run = sim.drive(&mut flow, None);
    let Some(Action::Done { result: Outcome::Metadata { metadata } }) = &run.terminal else {
        panic!("{}: discovery failed: {:?}", sim.ctx, run.terminal);
    };
    assert_eq!(metadata.issuer, ISSUER);
    assert_eq!(metadata.device_authorization_endpoint.as_deref(), Some(&*format!("{ISSUER}/device_authorization")));
    stats.discoveries += 1;
    serde_json::to_value(metadata).unwrap()
}

fn device_session(seed: u64, stats: &mut Stats) {
    let mut sim = Sim::new(seed, "device");
    let r = &mut sim.rng;
    let fault_pct = r.pick(&[0, 0, 10, 25, 40, 49, 70]);
    let short = r.percent(25);
    let omit_expires = !short && r.percent(10);
    let expires_in_s = if short {
        r.range(20, 300)
    } else if omit_expires {
        900
    } else {
        r.range(900, 1800)
    };
    let approve_after_ms = if short { r.range(0, expires_in_s * 1500) } else { r.range(0, (expires_in_s - 900) * 1000) };
    let deny = r.percent(8);
    // 58 s + one slow_down and 70 s exceed the 60 s backoff cap, which must then not
    // shorten the interval.
    let interval_s = r.pick(&[None, Some(0), Some(1), Some(5), Some(5), Some(10), Some(58), Some(70)]);
    let cancel_at_wait = r.percent(12).then(|| r.below(15) as u32);
    let cancel_in_flight = (cancel_at_wait.is_none() && r.percent(5)).then(|| r.range(1, 8) as usize);
    let cancel_after_handle =
        (cancel_at_wait.is_none() && cancel_in_flight.is_none() && r.percent(6)).then(|| r.range(1, 4) as usize);
    let fault_first = fault_pct > 0 && r.percent(15);
    let latency = r.percent(40);
    let margin = r.pick(&[0, 0, 0, 250, 2_000]);
    let expected_success = fault_pct < 50
        && !short
        && !deny
        && cancel_at_wait.is_none()
        && cancel_in_flight.is_none()
        && cancel_after_handle.is_none()
        && !fault_first;
    sim.knobs = DriverKnobs {
        jitter_max_ms: r.pick(&[0, 10, 500, 3_000]),
        early_poll_pct: r.pick(&[0, 10, 30]),
        latency_max_ms: if latency { r.range(1, 1_500) } else { 0 },
        cancel_at_wait,
        cancel_in_flight,
        cancel_after_handle,
        poll_in_flight_pct: 10,
        long_sleep_pct: if expected_success { 0 } else { r.pick(&[0, 0, 5]) },
        duplicate_pct: 5,
    };
    sim.server.device_knobs = DeviceKnobs {
        expires_in_s: (!omit_expires).then_some(expires_in_s),
        interval_s,
        approve_after_ms,
        deny,
        spontaneous_slow_down_pct: r.pick(&[0, 0, 5, 20]),
        pending_with_200: r.percent(30),
        google_aliases: r.percent(15),
    };
    sim.server.issue_refresh_token = r.percent(85);
    sim.server.rotation = r.pick(&[Rotation::Rotate, Rotation::Rotate, Rotation::Omit, Rotation::Same]);
    sim.server.form_pct = r.pick(&[0, 0, 30]);
    let metadata = if r.percent(50) { discover(&mut sim, stats) } else { sim.server.metadata() };
    sim.server.fault_pct = fault_pct;
    sim.server.fault_first = fault_first;
    sim.server.margin_ms = margin;
    let scope = "openid offline_access";
    let mut flow = sim.start(json!({
        "flow": "device", "server": metadata, "client": { "client_id": CLIENT_ID },
        "scope": scope, "clock_drift_margin_ms": margin,
    }));
    let run = sim.drive(&mut flow, None);
    let ctx = sim.ctx.clone();
    stats.outcome(&run);
    stats.server(&sim.server);
    if expected_success {
        stats.expected_success += 1;
    }
    // Properties the server saw: no poll faster than the interval (so no slow_down for
    // polling too fast), none before the first interval, none sooner than a Retry-After,
    // no backoff shorter than the interval.
    sim.assert_no_violations();
    if !latency {
        // With instant responses the client's expiry is the server's: no expired polls.
        assert_eq!(sim.server.expired_polls, 0, "{ctx}: polled after the code expired");
    }
    let grant = sim.server.device.clone();
    if let (Some((shown_at, prompt)), Some(g)) = (&run.prompt, &grant) {
        assert_eq!(prompt.user_code, g.user_code, "{ctx}");
        assert_eq!(prompt.verification_uri, format!("{ISSUER}/device"), "{ctx}");
        assert_eq!(prompt.expires_at, shown_at + expires_in_s * 1000, "{ctx}: expires_at");
        // Every token poll comes after the prompt was shown, and before expiry.
        for (at, req) in &run.requests[1..] {
            assert!(at >= shown_at, "{ctx}: polled before showing the user code");
            assert!(*at < prompt.expires_at, "{ctx}: polled after expiry");
            assert!(req.body.contains("device_code="), "{ctx}");
        }
    }
    match &run.terminal {
        Some(Action::Done { result: Outcome::Tokens { tokens } }) => {
            let g = grant.expect("a grant");
            assert!(!deny, "{ctx}: Done although the user denied");
            assert!(g.approve_at < g.expires_at, "{ctx}: Done although approval came after expiry");
            let issued = sim.server.last_issued.clone().expect("issued");
            assert_eq!(tokens.access_token.expose(), issued.access_token, "{ctx}");
            assert_eq!(tokens.refresh_token.as_ref().map(|s| s.expose().to_string()), issued.refresh_token, "{ctx}");
            assert_eq!(tokens.expires_at, Some(run.last_handled_at + issued.expires_in_s * 1000), "{ctx}");
            assert_eq!(tokens.token_type, "Bearer");
            assert_eq!(tokens.scope.as_deref(), Some(scope), "{ctx}: the requested scope stands in for an omitted one");
            let cred = run.persists[0].clone();
            assert_eq!(Credential::from_json(&cred.to_json()).unwrap(), cred, "{ctx}: the record round-trips");
            // Later: refresh rounds, then logout.
            sim.server.fault_pct = sim.rng.pick(&[0, 20, 40]);
            sim.knobs.cancel_at_wait = None;
            sim.knobs.cancel_in_flight = None;
            sim.knobs.cancel_after_handle = None;
            if let Some(cred) = refresh_chain(&mut sim, cred, stats) {
                revoke_and_check(&mut sim, cred, stats);
            }
        }
        Some(Action::Failed { error }) => {
            assert!(
                !expected_success,
                "{ctx}: expected success (approval {approve_after_ms} ms after issue, expiry {expires_in_s} s, faults {fault_pct} %), got {error:?}; server polls {}, faults {}",
                sim.server.polls, sim.server.faults
            );
            match error.code.as_str() {
                "cancelled" => assert!(run.cancelled, "{ctx}"),
                "access_denied" => assert!(deny, "{ctx}"),
                "expired_token" => {}
                _ => {
                    // Only the device authorization request fails on a transient fault;
                    // polls back off instead.
                    assert_eq!(run.requests.len(), 1, "{ctx}: a poll failed with {error:?}");
                    let fault = sim.server.last_fault.expect("a fault answered the device authorization request");
                    check_fault_error(&ctx, fault, error);
                }
            }
        }
        _ => unreachable!(),
    }
    if approve_after_ms >= expires_in_s * 1000 {
        assert!(run.tokens().is_none(), "{ctx}: tokens for a code approved after expiry");
    }
}

fn refresh_spec(cred: &Credential, server: &FakeAs) -> Value {
    json!({
        "flow": "refresh", "server": server.metadata(), "client": { "client_id": CLIENT_ID },
        "credential": serde_json::to_value(cred).unwrap(),
    })
}

/// A few refresh rounds near expiry, as `lifecycle::decide` asks. Returns the credential
/// still usable at the end, if any.
fn refresh_chain(sim: &mut Sim, mut cred: Credential, stats: &mut Stats) -> Option<Credential> {
    let ctx = sim.ctx.clone();
    let policy = Policy::default();
    let rounds = sim.rng.range(1, 4);
    for _ in 0..rounds {
        let tokens = cred.tokens().unwrap().clone();
        let exp = tokens.expires_at.expect("the simulated server always sends expires_in");
        // Early → Use; within the skew or after expiry → Refresh.
        assert_eq!(lifecycle::decide(&cred, exp - policy.refresh_skew_ms - 1, &policy), Decision::Use, "{ctx}");
        sim.now = sim.now.max(if sim.rng.percent(70) {
            exp - sim.rng.range(0, policy.refresh_skew_ms)
        } else {
            exp + sim.rng.range(0, 86_400_000)
        });
        let still_valid = sim.now < exp;
        let decision = lifecycle::decide(&cred, sim.now, &policy);
        let Some(old_rt) = tokens.refresh_token.clone() else {
            let want = if still_valid { Decision::Use } else { Decision::Relogin { reason: String::new() } };
            match (&decision, &want) {
                (Decision::Relogin { .. }, Decision::Relogin { .. }) | (Decision::Use, Decision::Use) => {}
                _ => panic!("{ctx}: no refresh token: decide gave {decision:?}"),
            }
            return None;
        };
        assert_eq!(decision, Decision::Refresh { still_valid }, "{ctx}");
        let mut flow = sim.start(refresh_spec(&cred, &sim.server));
        let run = sim.drive(&mut flow, None);
        stats.outcome(&run);
        sim.assert_no_violations();
        match &run.terminal {
            Some(Action::Done { result: Outcome::Tokens { tokens: new } }) => {
                let issued = sim.server.last_issued.clone().unwrap();
                assert_eq!(new.access_token.expose(), issued.access_token, "{ctx}");
                let new_rt = new.refresh_token.as_ref().map(|s| s.expose().to_string());
                match sim.server.rotation {
                    Rotation::Rotate => {
                        let rt = issued.refresh_token.clone().unwrap();
                        assert_ne!(rt, old_rt.expose(), "{ctx}");
                        assert_eq!(new_rt.as_deref(), Some(rt.as_str()), "{ctx}: rotation must yield the new refresh token");
                        // The old refresh token is now refused.
                        let saved = sim.server.fault_pct;
                        sim.server.fault_pct = 0;
                        let mut again = sim.start(refresh_spec(&cred, &sim.server));
                        let stale = sim.drive(&mut again, None);
                        sim.server.fault_pct = saved;
                        let e = stale.error().unwrap_or_else(|| panic!("{ctx}: a rotated-out refresh token worked"));
                        assert!(e.is_oauth("invalid_grant"), "{ctx}: {e:?}");
                        assert_eq!(e.hint, Hint::Reauthenticate);
                        stats.rotations_checked += 1;
                    }
                    Rotation::Omit => {
                        assert_eq!(new_rt.as_deref(), Some(old_rt.expose()), "{ctx}: an omitted refresh_token keeps the old one");
                        stats.kept_refresh_checked += 1;
                    }
                    Rotation::Same => assert_eq!(new_rt.as_deref(), Some(old_rt.expose()), "{ctx}"),
                }
                let next = run.persists[0].clone();
                assert_eq!(next.updated_at, run.last_handled_at, "{ctx}");
                assert_eq!(lifecycle::decide(&next, sim.now, &policy), Decision::Use, "{ctx}: a fresh token is used");
                cred = next;
            }
            Some(Action::Failed { error }) => {
                let fault = sim.server.last_fault.unwrap_or_else(|| panic!("{ctx}: refresh failed without a fault: {error:?}"));
                check_fault_error(&ctx, fault, error);
                let after = lifecycle::after_renewal_failure(&cred, error, sim.now);
                if still_valid {
                    assert_eq!(after, Ok(Decision::Use), "{ctx}");
                } else {
                    assert_eq!(after, Err(error.clone()), "{ctx}: a transient failure is reported, not a relogin");
                }
                if sim.server.lost_refresh && sim.server.rotation == Rotation::Rotate {
                    // The server rotated but the response was lost: the stored refresh
                    // token is dead, and the next refresh says so.
                    sim.server.lost_refresh = false;
                    sim.server.fault_pct = 0;
                    let mut again = sim.start(refresh_spec(&cred, &sim.server));
                    let dead = sim.drive(&mut again, None);
                    let e = dead.error().unwrap_or_else(|| panic!("{ctx}: a rotated-out refresh token worked"));
                    assert!(e.is_oauth("invalid_grant"), "{ctx}: {e:?}");
                    let after = lifecycle::after_renewal_failure(&cred, e, sim.now).unwrap();
                    if still_valid {
                        assert_eq!(after, Decision::Use, "{ctx}");
                    } else {
                        assert!(matches!(after, Decision::Relogin { .. }), "{ctx}: {after:?}");
                    }
                    stats.lost_rotations += 1;
                    return None;
                }
                sim.server.lost_refresh = false;
            }
            _ => unreachable!(),
        }
    }
    Some(cred)
}

fn revoke_and_check(sim: &mut Sim, cred: Credential, stats: &mut Stats) {
    let ctx = sim.ctx.clone();
    let tokens = cred.tokens().unwrap().clone();
    let mut list = vec![];
    if let Some(rt) = &tokens.refresh_token {
        list.push(json!({ "token": rt.expose(), "token_type_hint": "refresh_token" }));
    }
    list.push(json!({ "token": tokens.access_token.expose(), "token_type_hint": "access_token" }));
    let count = list.len() as u32;
    let spec =
        json!({ "flow": "revocation", "server": sim.server.metadata(), "client": { "client_id": CLIENT_ID }, "tokens": list });
    let mut flow = sim.start(spec.clone());
    let mut run = sim.drive(&mut flow, None);
    if let Some(e) = run.error() {
        check_fault_error(&ctx, sim.server.last_fault.expect("a fault"), e);
        sim.server.fault_pct = 0;
        let mut flow = sim.start(spec);
        run = sim.drive(&mut flow, None);
    }
    assert_eq!(run.terminal, Some(Action::Done { result: Outcome::Revoked { count } }), "{ctx}");
    stats.revocations += 1;
    if tokens.refresh_token.is_some() {
        sim.server.fault_pct = 0;
        let mut flow = sim.start(refresh_spec(&cred, &sim.server));
        let run = sim.drive(&mut flow, None);
        assert!(
            run.error().is_some_and(|e| e.is_oauth("invalid_grant")),
            "{ctx}: a revoked refresh token worked: {:?}",
            run.terminal
        );
    }
}

fn auth_code_session(seed: u64, stats: &mut Stats) {
    let variant = CALLBACKS[(seed % CALLBACKS.len() as u64) as usize];
    auth_code_case(seed, variant, stats);
}

fn auth_code_case(seed: u64, variant: Callback, stats: &mut Stats) -> Run {
    let mut sim = Sim::new(seed, &format!("auth code {variant:?}"));
    let r = &mut sim.rng;
    sim.server.iss_supported = variant == Callback::IssMissing || r.percent(50);
    sim.server.tamper_id_token = match variant {
        Callback::NonceTampered => Some(IdTokenTamper::Nonce),
        Callback::IdTokenAudience => Some(IdTokenTamper::Audience),
        Callback::IdTokenExpired => Some(IdTokenTamper::Expired),
        _ => None,
    };
    sim.server.form_pct = r.pick(&[0, 30]);
    let openid = sim.server.tamper_id_token.is_some() || r.percent(50);
    let scope = if openid { "openid profile offline_access" } else { "repo read:org" };
    let path = r.pick(&["/callback", "/oauth/cb"]);
    let host = r.pick(&["127.0.0.1", "[::1]", "localhost"]);
    let port = r.range(1024, 65535);
    let cancel = variant == Callback::Ok && r.percent(20);
    sim.knobs = DriverKnobs {
        jitter_max_ms: 1_000,
        early_poll_pct: 0,
        latency_max_ms: r.range(0, 500),
        cancel_at_wait: cancel.then_some(0),
        cancel_in_flight: None,
        cancel_after_handle: None,
        poll_in_flight_pct: 20,
        long_sleep_pct: 0,
        duplicate_pct: 10,
    };
    let mut browser = Browser { variant, opened: None, plan: VecDeque::new(), rng: Prng::new(seed ^ 0xB0B) };
    let mut flow = sim.start(json!({
        "flow": "authorization_code", "server": sim.server.metadata(), "client": { "client_id": CLIENT_ID },
        "scope": scope, "redirect_host": host, "redirect_port": port, "redirect_path": path,
        "redirect_timeout_ms": 180_000,
    }));
    if variant == Callback::ExchangeFault {
        sim.server.fault_pct = 100;
    }
    let run = sim.drive(&mut flow, Some(&mut browser));
    let ctx = sim.ctx.clone();
    stats.outcome(&run);
    sim.assert_no_violations();
    let (url, redirect_uri) = browser.opened.clone().expect("the browser was opened");
    assert!(redirect_uri.starts_with(&format!("http://{host}:{port}{path}")), "{ctx}: {redirect_uri}");
    assert_eq!(url.contains("nonce="), openid, "{ctx}: nonce iff openid");
    match (run.terminal.as_ref().unwrap(), variant.expected_failure()) {
        (Action::Failed { error }, _) if cancel => assert_eq!(error.code, "cancelled", "{ctx}"),
        (Action::Done { result: Outcome::Tokens { tokens } }, None) => {
            let issued = sim.server.last_issued.clone().unwrap();
            assert_eq!(tokens.access_token.expose(), issued.access_token, "{ctx}");
            assert_eq!(tokens.id_token.as_ref().map(|t| t.expose().to_string()), issued.id_token, "{ctx}");
            let cred = &run.persists[0];
            assert!(matches!(
                cred.data,
                termauth_core::CredentialData::OAuth { grant: termauth_core::Grant::AuthorizationCode, .. }
            ));
            // The code is single-use: the server refuses it a second time.
            let code = sim.server.codes.values().filter(|c| c.used).count();
            assert_eq!(code, 1, "{ctx}");
        }
        (Action::Failed { error }, Some("(fault)")) => check_fault_error(&ctx, sim.server.last_fault.unwrap(), error),
        (Action::Failed { error }, Some(code)) => {
            assert_eq!(error.code, code, "{ctx}: {error:?}");
            // A callback that failed a check never reaches the token endpoint.
            if sim.server.tamper_id_token.is_none() {
                assert!(run.requests.is_empty(), "{ctx}: a rejected callback was exchanged");
            }
        }
        (got, want) => panic!("{ctx}: expected {want:?}, got {got:?}"),
    }
    let refused_first = matches!(
        variant,
        Callback::WrongPathFirst
            | Callback::GarbageFirst
            | Callback::StateTampered
            | Callback::StateMissing
            | Callback::ErrorWithTamperedState
    );
    if refused_first && !cancel {
        assert_eq!(run.refused_redirects.len(), 1, "{ctx}");
    }
    run
}

fn client_credentials_session(seed: u64, stats: &mut Stats) {
    let mut sim = Sim::new(seed, "client credentials");
    let r = &mut sim.rng;
    let method = r.pick(&["client_secret_basic", "client_secret_post"]);
    let wrong_secret = r.percent(10);
    sim.server.fault_pct = r.pick(&[0, 20, 50]);
    sim.server.form_pct = r.pick(&[0, 30]);
    sim.knobs = DriverKnobs { latency_max_ms: 300, poll_in_flight_pct: 20, duplicate_pct: 10, ..DriverKnobs::default() };
    let secret = if wrong_secret { "not-the-secret" } else { CLIENT_SECRET };
    let mut flow = sim.start(json!({
        "flow": "client_credentials", "server": sim.server.metadata(),
        "client": { "client_id": CLIENT_ID, "auth": { "method": method, "client_secret": secret } },
        "scope": "api:read",
    }));
    let run = sim.drive(&mut flow, None);
    let ctx = sim.ctx.clone();
    stats.outcome(&run);
    stats.server(&sim.server);
    sim.assert_no_violations();
    match (&run.terminal, sim.server.last_fault) {
        (Some(Action::Failed { error }), Some(fault)) => check_fault_error(&ctx, fault, error),
        (Some(Action::Failed { error }), None) => {
            assert!(wrong_secret, "{ctx}: {error:?}");
            assert!(error.is_oauth("invalid_client"), "{ctx}: {error:?}");
            assert_eq!(error.hint, Hint::FixConfiguration);
        }
        (Some(Action::Done { result: Outcome::Tokens { tokens } }), None) => {
            assert!(!wrong_secret, "{ctx}");
            assert_eq!(tokens.access_token.expose(), sim.server.last_issued.as_ref().unwrap().access_token);
            assert!(tokens.refresh_token.is_none());
            let cred = &run.persists[0];
            let exp = tokens.expires_at.unwrap();
            let p = Policy::default();
            assert_eq!(lifecycle::decide(cred, exp - p.refresh_skew_ms - 1, &p), Decision::Use);
            assert_eq!(lifecycle::decide(cred, exp - 1, &p), Decision::Reacquire { still_valid: true });
            assert_eq!(lifecycle::decide(cred, exp, &p), Decision::Reacquire { still_valid: false });
        }
        other => panic!("{ctx}: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn device_flow_against_simulated_server() {
    let mut stats = Stats::default();
    for_seeds("device", 0..300, &mut stats, device_session);
    eprintln!("device simulation: {stats:#?}");
    // The scenarios did what they claim.
    assert!(stats.expected_success >= 60, "{stats:?}");
    assert!(stats.outcomes.get("done").copied().unwrap_or(0) >= stats.expected_success, "{stats:?}");
    for code in ["cancelled", "expired_token", "access_denied"] {
        assert!(stats.outcomes.get(code).copied().unwrap_or(0) > 0, "no run ended in {code}: {stats:?}");
    }
    assert!(stats.spontaneous_slow_downs > 20 && stats.faults > 100 && stats.pending > 1000, "{stats:?}");
    assert_eq!(stats.slow_downs, stats.spontaneous_slow_downs, "slow_down for polling too fast: {stats:?}");
    assert!(stats.early_polls > 100 && stats.cancels > 10, "{stats:?}");
    assert!(stats.rotations_checked > 10 && stats.kept_refresh_checked > 5 && stats.lost_rotations > 0, "{stats:?}");
    assert!(stats.revocations > 20 && stats.discoveries > 50, "{stats:?}");
}

#[test]
fn loopback_authorization_code_against_simulated_server() {
    let mut stats = Stats::default();
    for_seeds("auth code", 0..(CALLBACKS.len() as u64 * 12), &mut stats, auth_code_session);
    eprintln!("authorization code simulation: {stats:#?}");
    assert!(stats.outcomes.get("done").copied().unwrap_or(0) >= 40, "{stats:?}");
    assert!(stats.refused_redirects >= 20 && stats.cancels > 0, "{stats:?}");
}

#[test]
fn loopback_callback_checks() {
    // The explicit cases: right state → tokens; a forged state first → refused, then the
    // real callback → tokens; tampered iss or ID token → the right error.
    let mut stats = Stats::default();
    let ok = auth_code_case(1, Callback::Ok, &mut stats);
    assert!(ok.tokens().is_some() || ok.cancelled, "{:?}", ok.terminal);
    for variant in [Callback::StateTampered, Callback::StateMissing, Callback::ErrorWithTamperedState] {
        let run = auth_code_case(2, variant, &mut stats);
        assert!(run.tokens().is_some() || run.cancelled, "{variant:?}: {:?}", run.terminal);
    }
    for (variant, code, kind) in [
        (Callback::IssWrong, "issuer_mismatch", ErrorKind::Protocol),
        (Callback::IssMissing, "issuer_missing", ErrorKind::Protocol),
        (Callback::ErrorWithWrongIss, "issuer_mismatch", ErrorKind::Protocol),
        (Callback::AccessDenied, "access_denied", ErrorKind::OAuth),
        (Callback::NonceTampered, "nonce_mismatch", ErrorKind::Protocol),
        (Callback::IdTokenAudience, "id_token_audience_mismatch", ErrorKind::Protocol),
        (Callback::IdTokenExpired, "id_token_expired", ErrorKind::Protocol),
        (Callback::Timeout, "redirect_timeout", ErrorKind::Interrupted),
    ] {
        let run = auth_code_case(2, variant, &mut stats);
        let e = run.error().unwrap_or_else(|| panic!("{variant:?}: {:?}", run.terminal));
        assert_eq!((e.code.as_str(), e.kind), (code, kind), "{variant:?}");
        if code != "access_denied" && code != "redirect_timeout" {
            assert_eq!(e.hint, Hint::Reauthenticate, "{variant:?}");
        }
    }
}

#[test]
fn client_credentials_against_simulated_server() {
    let mut stats = Stats::default();
    for_seeds("client credentials", 0..100, &mut stats, client_credentials_session);
    eprintln!("client credentials simulation: {stats:#?}");
    assert!(stats.outcomes.get("done").copied().unwrap_or(0) >= 40, "{stats:?}");
    assert!(stats.outcomes.get("invalid_client").copied().unwrap_or(0) > 0, "{stats:?}");
}

#[test]
fn refresh_rotation_and_kept_refresh_token() {
    for rotation in [Rotation::Rotate, Rotation::Omit, Rotation::Same] {
        let mut sim = Sim::new(7, &format!("refresh {rotation:?}"));
        sim.server.rotation = rotation;
        sim.server.refresh_tokens.insert("rt-0".into(), true);
        let now = sim.now;
        let cred: Credential = serde_json::from_value(json!({
            "schema_version": 1, "updated_at": now, "kind": "oauth", "issuer": ISSUER, "client_id": CLIENT_ID,
            "grant": "device_code",
            "tokens": { "access_token": "at-0", "token_type": "Bearer", "expires_at": now + 1, "refresh_token": "rt-0",
                        "id_token": "h.e30.s" },
        }))
        .unwrap();
        let mut flow = sim.start(refresh_spec(&cred, &sim.server));
        let run = sim.drive(&mut flow, None);
        let tokens = run.tokens().unwrap_or_else(|| panic!("{rotation:?}: {:?}", run.terminal));
        let rt = tokens.refresh_token.as_ref().unwrap().expose();
        match rotation {
            Rotation::Rotate => assert_eq!(rt, sim.server.last_issued.as_ref().unwrap().refresh_token.as_deref().unwrap()),
            Rotation::Omit | Rotation::Same => assert_eq!(rt, "rt-0"),
        }
        // The ID token missing from the refresh response is kept.
        assert_eq!(tokens.id_token.as_ref().map(|t| t.expose()), Some("h.e30.s"));
        let mut again = sim.start(refresh_spec(&cred, &sim.server));
        let second = sim.drive(&mut again, None);
        assert_eq!(
            second.error().is_some_and(|e| e.is_oauth("invalid_grant")),
            rotation == Rotation::Rotate,
            "{rotation:?}: reusing the old refresh token: {:?}",
            second.terminal
        );
    }
}

#[test]
fn imf_fixdate_formatter_matches_rfc_example() {
    // RFC 9110 §5.6.7's example, so the simulated Retry-After dates are real dates.
    assert_eq!(imf_fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
}
