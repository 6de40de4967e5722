//! Fuzz harnesses for termauth-core. Each module's `run(&[u8])` is one cargo-fuzz target
//! (`fuzz_targets/<name>.rs` only calls it); `cargo test --no-default-features` replays
//! `seeds/<target>/` and `regressions/<target>/` through the same functions on stable.
//!
//! Most targets read text: sections separated by a line `%%`, and HTTP responses written
//! as `STATUS\nName: value\n…\n\nBODY`. Header lines starting with `@` are instructions
//! to the harness (`@delay: ms`, `@transport: timeout`, `@id: n`, `@scope: …`, `@now: ms`),
//! not headers. `seeds/` is written by `scripts/fuzz.sh seeds` (see `gen_seeds.py`).
//!
//! Beyond "no panic", the harnesses check the driver contract on every action
//! ([`Driver`]): terminal actions are sticky, a refused input leaves the flow unchanged,
//! `Persist` is followed by the `Done` that carries the same tokens, waiting deadlines are
//! in the future, request ids grow, nothing goes out after `Cancel`, every `Action`
//! survives a JSON round trip (what the bindings see), and errors never quote a token.

#![forbid(unsafe_code)]

use serde_json::{Map, Value};
use termauth_core::{Action, AnyFlow, Credential, Error, ErrorKind, Flow, HttpResponse, Input, Outcome, TransportErrorKind};

pub mod callback_url;
pub mod credential_record;
pub mod device_response;
pub mod discovery;
pub mod error_body;
pub mod flow_inputs;
pub mod proxy;
pub mod roundtrip;
pub mod session;
pub mod token_response;

/// The virtual "now" most harnesses start from.
pub const T0: u64 = 1_700_000_000_000;
/// The issuer of every fixed configuration.
pub const ISSUER: &str = "https://as.example.com";
/// The client ID of every fixed configuration.
pub const CLIENT_ID: &str = "termauth-cli";

/// Splits the input into `%%`-separated sections (lossy UTF-8: drivers decode bodies so).
pub fn sections(data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data).split("\n%%\n").map(str::to_string).collect()
}

/// A response written as `STATUS\nName: value\n…\n\nBODY`, plus `@` instructions.
#[derive(Debug, Default, Clone)]
pub struct RawResponse {
    /// The status (the first line as a number, modulo 1000; 200 when it is not one).
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// `@name: value` lines.
    pub pseudo: Vec<(String, String)>,
}

impl RawResponse {
    /// Parses the text form.
    pub fn parse(text: &str) -> RawResponse {
        let (head, body) = match text.split_once("\n\n") {
            Some((h, b)) => (h, b.to_string()),
            None => (text, String::new()),
        };
        let mut lines = head.split('\n');
        let status = lines.next().and_then(|l| l.trim().parse::<u64>().ok()).map_or(200, |s| (s % 1000) as u16);
        let mut r = RawResponse { status, body, ..RawResponse::default() };
        for line in lines {
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match name.strip_prefix('@') {
                Some(p) => r.pseudo.push((p.trim().to_string(), value.trim().to_string())),
                None => r.headers.push((name.to_string(), value)),
            }
        }
        r
    }

    /// An `@` instruction.
    pub fn pseudo(&self, name: &str) -> Option<&str> {
        self.pseudo.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A numeric `@` instruction.
    pub fn pseudo_u64(&self, name: &str) -> Option<u64> {
        self.pseudo(name).and_then(|v| v.parse().ok())
    }

    /// The response for request `id`.
    pub fn response(&self, id: u64) -> HttpResponse {
        HttpResponse { id, status: self.status, headers: self.headers.clone(), body: self.body.clone() }
    }

    /// The input for request `id`: the response, or a transport error for `@transport`.
    pub fn input(&self, id: u64) -> Input {
        let id = self.pseudo_u64("id").unwrap_or(id);
        match self.pseudo("transport") {
            Some(kind) => Input::TransportError { id, kind: transport_kind(kind), message: Some(self.body.clone()) },
            None => Input::HttpResponse(self.response(id)),
        }
    }
}

/// A transport error kind from its name (anything else is `Other`).
pub fn transport_kind(name: &str) -> TransportErrorKind {
    match name {
        "dns" => TransportErrorKind::Dns,
        "connect" => TransportErrorKind::Connect,
        "tls" => TransportErrorKind::Tls,
        "timeout" => TransportErrorKind::Timeout,
        _ => TransportErrorKind::Other,
    }
}

/// Starts a flow from a JSON spec (the fixed configurations are valid by construction).
pub fn start(spec: Value, seed: u8) -> AnyFlow {
    let spec: termauth_core::FlowSpec = serde_json::from_value(spec).expect("fixed spec parses");
    spec.start(termauth_core::Rng::from_seed([seed; 32])).expect("fixed spec starts")
}

/// The usage errors `handle` may answer with on a flow that is still running.
const REFUSALS: [&str; 7] = [
    "unknown_request_id",
    "duplicate_response",
    "request_not_sent",
    "unexpected_input",
    "redirect_path_mismatch",
    "redirect_url_invalid",
    "state_mismatch",
];

/// Drives a flow and checks the driver contract on every action and input.
pub struct Driver {
    /// The flow.
    pub flow: AnyFlow,
    /// The driver's clock.
    pub now: u64,
    /// The terminal action, once seen.
    pub terminal: Option<Action>,
    /// The request handed out and not answered yet.
    pub outstanding: Option<u64>,
    /// The highest request id handed out.
    pub last_id: u64,
    /// The last `WaitUntil` / `AwaitRedirect` deadline.
    pub deadline: Option<u64>,
    /// The last `OpenBrowser` (url, redirect_uri).
    pub browser: Option<(String, String)>,
    /// The device flow's prompt.
    pub prompt: Option<termauth_core::UserCodePrompt>,
    /// Every request handed out.
    pub requests: Vec<termauth_core::HttpRequest>,
    persisted: Option<Credential>,
    cancelled: bool,
    polled: bool,
}

impl Driver {
    /// A driver for `flow` starting at `now`.
    pub fn new(flow: AnyFlow, now: u64) -> Self {
        Driver {
            flow,
            now,
            terminal: None,
            outstanding: None,
            last_id: 0,
            deadline: None,
            browser: None,
            prompt: None,
            requests: Vec::new(),
            persisted: None,
            cancelled: false,
            polled: false,
        }
    }

    /// Whether the flow has finished, seen or not (`Persist`/`Done`/`Failed` next),
    /// without moving it: a clone polled at time 0 never reaches a deadline. (Before the
    /// first poll only a Cancel can finish a flow; and an API key flow's first poll
    /// finishes it at once, which must not count before it happens.)
    fn finished(&self) -> bool {
        self.terminal.is_some()
            || self.cancelled
            || self.polled
                && matches!(self.flow.clone().poll(0), Action::Persist { .. } | Action::Done { .. } | Action::Failed { .. })
    }

    /// Polls once and checks the action.
    pub fn poll(&mut self) -> Action {
        self.polled = true;
        let a = self.flow.poll(self.now);
        self.check(&a);
        a
    }

    /// Polls at `now` without moving the driver's clock (time going backwards).
    pub fn poll_at(&mut self, now: u64) -> Action {
        let saved = self.now;
        self.now = now;
        let a = self.poll();
        self.now = saved;
        a
    }

    fn check(&mut self, a: &Action) {
        let json = serde_json::to_string(a).expect("an Action serializes");
        let back: Action = serde_json::from_str(&json).unwrap_or_else(|e| panic!("Action JSON does not parse back: {e}: {json}"));
        assert_eq!(&back, a, "Action JSON round trip changed it");
        if let Some(t) = &self.terminal {
            assert_eq!(a, t, "a terminal action is sticky");
            return;
        }
        if let Some(c) = self.persisted.take() {
            match a {
                Action::Done { result: Outcome::Tokens { tokens } } => {
                    assert_eq!(c.tokens(), Some(tokens), "Persist and Done differ")
                }
                Action::Done { result: Outcome::Credential { credential } } => {
                    assert_eq!(&c, credential, "Persist and Done differ")
                }
                other => panic!("Persist not followed by Done: {other:?}"),
            }
        } else if let Action::Done { result: Outcome::Tokens { .. } | Outcome::Credential { .. } } = a {
            panic!("Done with a credential but no Persist before it");
        }
        if self.cancelled {
            match a {
                Action::Failed { error } => assert_eq!(error.code, "cancelled", "after Cancel the flow fails with cancelled"),
                other => panic!("after Cancel: {other:?}"),
            }
        }
        match a {
            Action::SendRequest(r) => {
                assert!(r.id > self.last_id, "request ids grow");
                assert!(self.outstanding.is_none(), "a second request while one is in flight");
                self.last_id = r.id;
                self.outstanding = Some(r.id);
                if let Some(p) = &self.prompt {
                    assert!(self.now < p.expires_at, "a device poll at or after the code's expiry");
                }
                self.requests.push(r.clone());
            }
            Action::AwaitResponse { id } => assert_eq!(Some(*id), self.outstanding, "AwaitResponse names the request in flight"),
            Action::WaitUntil { at_ms } => {
                assert!(*at_ms > self.now, "WaitUntil({at_ms}) not after now ({})", self.now);
                assert!(self.outstanding.is_none(), "WaitUntil with a request in flight");
                if let Some(p) = &self.prompt {
                    assert!(*at_ms <= p.expires_at, "WaitUntil past the device code's expiry");
                }
                self.deadline = Some(*at_ms);
            }
            Action::AwaitRedirect { until_ms, redirect_uri } => {
                assert!(*until_ms > self.now, "AwaitRedirect deadline not after now");
                assert_eq!(Some(redirect_uri), self.browser.as_ref().map(|(_, r)| r), "AwaitRedirect before OpenBrowser");
                self.deadline = Some(*until_ms);
            }
            Action::Persist { credential } => {
                let back = Credential::from_json(&credential.to_json())
                    .unwrap_or_else(|e| panic!("a persisted credential does not read back: {e:?}"));
                assert_eq!(&back, credential, "a persisted credential reads back different");
                self.persisted = Some(credential.clone());
            }
            Action::ShowUserCode(p) => {
                assert!(self.prompt.is_none(), "ShowUserCode twice");
                self.prompt = Some(p.clone());
            }
            Action::OpenBrowser { url, redirect_uri } => {
                assert!(self.browser.is_none(), "OpenBrowser twice");
                self.browser = Some((url.clone(), redirect_uri.clone()));
            }
            Action::Done { .. } => self.terminal = Some(a.clone()),
            Action::Failed { error } => {
                assert_ne!(error.code, "internal_error", "the flow reported an internal error: {error:?}");
                self.terminal = Some(a.clone());
            }
        }
    }

    /// Feeds an input and checks the answer.
    pub fn handle(&mut self, input: Input) -> Result<(), Error> {
        let before = self.flow.clone();
        let finished = self.finished();
        let is_cancel = matches!(input, Input::Cancel);
        let response_id = match &input {
            Input::HttpResponse(r) => Some(r.id),
            Input::TransportError { id, .. } => Some(*id),
            _ => None,
        };
        let result = self.flow.handle(input, self.now);
        match &result {
            Ok(()) if finished => assert!(is_cancel, "a finished flow accepted an input"),
            Ok(()) => {
                if is_cancel {
                    self.cancelled = true;
                }
                if response_id.is_some() {
                    assert_eq!(response_id, self.outstanding, "a response to a request not in flight was accepted");
                    self.outstanding = None;
                }
            }
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::Usage, "handle errs only with usage errors: {e:?}");
                if finished {
                    assert_eq!(e.code, "flow_finished");
                } else {
                    assert!(REFUSALS.contains(&e.code.as_str()), "unexpected refusal {e:?}");
                }
                let (mut a, mut b) = (before, self.flow.clone());
                assert_eq!(a.poll(self.now), b.poll(self.now), "a refused input changed the flow");
            }
        }
        result
    }

    /// Answers request `id` with `raw`; an answer refused because of `@id` is followed by
    /// the right one, so the conversation goes on.
    pub fn answer(&mut self, raw: &RawResponse, id: u64) -> Result<(), Error> {
        let r = self.handle(raw.input(id));
        if r.is_err() && self.outstanding == Some(id) && raw.pseudo("id").is_some() {
            let mut fixed = raw.clone();
            fixed.pseudo.retain(|(k, _)| k != "id");
            return self.handle(fixed.input(id));
        }
        r
    }

    /// Polls until a waiting or terminal action (bounded), returning it.
    pub fn drain(&mut self) -> Action {
        for _ in 0..64 {
            let a = self.poll();
            if !matches!(a, Action::Persist { .. } | Action::ShowUserCode(_) | Action::OpenBrowser { .. }) {
                return a;
            }
        }
        panic!("more than 64 non-waiting actions in a row");
    }

    /// Ends the run: answers what is in flight with a transport error and polls far in
    /// the future until the flow finishes, which it must within a few steps.
    pub fn finish(&mut self) {
        for _ in 0..16 {
            if let Some(id) = self.outstanding {
                let _ = self.handle(Input::TransportError { id, kind: TransportErrorKind::Timeout, message: None });
            }
            self.now = u64::MAX;
            match self.drain() {
                Action::Done { .. } | Action::Failed { .. } => {
                    if std::env::var_os("TERMAUTH_FUZZ_TRACE").is_some() {
                        eprintln!("{} requests, terminal: {:?}", self.requests.len(), self.terminal);
                    }
                    // Sticky, whatever comes next.
                    let t = self.terminal.clone();
                    assert_eq!(Some(self.poll_at(0)), t);
                    let _ = self.handle(Input::Cancel);
                    let _ = self.handle(Input::Redirect { url: "http://127.0.0.1/callback".into() });
                    assert_eq!(Some(self.poll()), t);
                    return;
                }
                Action::SendRequest(_) | Action::AwaitResponse { .. } => {}
                other => panic!("the flow does not finish at the end of time: {other:?}"),
            }
        }
        panic!("the flow does not finish");
    }
}

/// Token members: an error must never quote their values.
const TOKEN_MEMBERS: [&str; 4] = ["access_token", "refresh_token", "id_token", "device_code"];

/// Errors never quote a token. Differential, so that a token that happens to equal words
/// of a fixed message is no false alarm: the token members of `fields` are replaced by
/// markers, the result is parsed again as JSON with `parse`, and no marker may show in
/// the error's message, excerpt, description or URI.
pub fn assert_no_token_in_error(
    resp: &HttpResponse,
    fields: &Map<String, Value>,
    parse: impl Fn(&HttpResponse) -> Result<(), Error>,
) {
    let mut marked = fields.clone();
    let mut any = false;
    for key in TOKEN_MEMBERS {
        if let Some(Value::String(_)) = marked.get(key) {
            marked.insert(key.to_string(), Value::String(format!("\u{2603}SECRET-{key}\u{2603}")));
            any = true;
        }
    }
    if !any {
        return;
    }
    let probe = HttpResponse {
        id: resp.id,
        status: resp.status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Value::Object(marked).to_string(),
    };
    if let Err(error) = parse(&probe) {
        let shown = format!("{} {:?} {:?} {:?}", error.message, error.excerpt, error.error_description, error.error_uri);
        for key in TOKEN_MEMBERS {
            let marker = format!("SECRET-{key}\u{2603}");
            // (Unless the server itself wrote the marker text where errors quote from.)
            let planted = ["error", "error_description", "error_uri", "token_type"]
                .iter()
                .any(|k| fields.get(*k).and_then(Value::as_str).is_some_and(|v| v.contains("SECRET-")));
            assert!(planted || !shown.contains(&marker), "the error quotes the `{key}` value: {error:?}");
        }
    }
}

/// Replays every file of `seeds/<target>` and `regressions/<target>` (stable, no libFuzzer).
#[cfg(test)]
mod replay {
    use std::path::Path;

    fn replay(target: &str, run: fn(&[u8])) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
            for e in entries {
                let path = e.unwrap().path();
                if path.file_name().is_some_and(|f| f.to_string_lossy().starts_with('.')) {
                    continue;
                }
                let data = std::fs::read(&path).unwrap();
                if std::env::var_os("TERMAUTH_FUZZ_TRACE").is_some() {
                    eprintln!("== {}", path.display());
                }
                if let Err(p) = std::panic::catch_unwind(|| run(&data)) {
                    let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                    panic!("{}: {}", path.display(), msg.unwrap_or_default());
                }
                n += 1;
            }
        }
        assert!(n > 0, "no seeds for {target}");
    }

    #[test]
    fn token_response() {
        replay("token_response", super::token_response::run);
    }
    #[test]
    fn roundtrip() {
        replay("roundtrip", super::roundtrip::run);
    }
    #[test]
    fn session() {
        replay("session", super::session::run);
    }
    #[test]
    fn device_response() {
        replay("device_response", super::device_response::run);
    }
    #[test]
    fn discovery() {
        replay("discovery", super::discovery::run);
    }
    #[test]
    fn error_body() {
        replay("error_body", super::error_body::run);
    }
    #[test]
    fn callback_url() {
        replay("callback_url", super::callback_url::run);
    }
    #[test]
    fn credential_record() {
        replay("credential_record", super::credential_record::run);
    }
    #[test]
    fn flow_inputs() {
        replay("flow_inputs", super::flow_inputs::run);
    }
    #[test]
    fn proxy() {
        replay("proxy", super::proxy::run);
    }
}
