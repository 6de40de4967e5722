//! The driver contract, the same for every flow and every language.
//!
//! ```text
//!            ┌────────────── poll(now_ms) ──────────────┐
//!            ▼                                          │
//!   driver ◀─ Action: SendRequest / ShowUserCode / OpenBrowser / Persist   (do it, poll again)
//!          ◀─ Action: WaitUntil / AwaitRedirect / AwaitResponse           (wait, then handle or poll)
//!          ◀─ Action: Done / Failed                                       (stop; sticky)
//!   driver ─▶ handle(Input::HttpResponse | TransportError | Redirect | Cancel, now_ms)
//! ```
//!
//! The rule (str0m's): *mutate → drain `poll` until a waiting or terminal action → wait →
//! mutate*. Time is wall-clock Unix milliseconds passed in by the driver; `WaitUntil` is
//! absolute. Request ids are echoed back; an unknown or repeated id is a usage error and
//! changes nothing.

use crate::config::ServerMetadata;
use crate::credential::Credential;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::token::TokenSet;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::VecDeque;

/// What the device flow asks the driver to show the user (RFC 8628 §3.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserCodePrompt {
    /// The code the user types (not a secret: it is useless without the device code).
    pub user_code: String,
    /// Where the user goes to type it.
    pub verification_uri: String,
    /// A URI that includes the code (for a QR code or a browser), if the server gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// When the code expires (Unix milliseconds).
    pub expires_at: u64,
}

/// The result of an introspection request (RFC 7662 §2.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// Every other member of the response (`scope`, `client_id`, `exp`, `sub`, …).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// What a finished flow produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// A grant succeeded (device, authorization code, client credentials, password, refresh).
    Tokens {
        /// The tokens.
        tokens: TokenSet,
    },
    /// Discovery succeeded.
    Metadata {
        /// The validated server metadata.
        metadata: ServerMetadata,
    },
    /// MCP discovery found the server's resource and authorization server.
    McpServer {
        /// What it found.
        server: Box<crate::flows::McpServer>,
    },
    /// A client was registered (RFC 7591).
    Registration {
        /// The registered client.
        registration: Box<crate::flows::ClientRegistration>,
    },
    /// Introspection answered.
    Introspection {
        /// The answer.
        introspection: Introspection,
    },
    /// Every token given to the revocation flow was revoked (RFC 7009 §2.2).
    Revoked {
        /// How many tokens.
        count: u32,
    },
    /// An API key / personal access token was turned into a credential.
    Credential {
        /// The credential.
        credential: Credential,
    },
}

/// What the flow asks of the driver. `poll` returns one at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[must_use]
pub enum Action {
    /// Send this HTTP request, then `handle` the response (or transport error) with its id.
    SendRequest(HttpRequest),
    /// Show the user code and where to enter it (device flow). Poll again right away.
    ShowUserCode(UserCodePrompt),
    /// Open this URL in the user's browser, or print it when there is none. Poll again.
    OpenBrowser {
        /// The authorization request URL.
        url: String,
        /// The redirect URI the flow expects the browser to come back to.
        redirect_uri: String,
    },
    /// Store this credential (keyring or file), replacing the previous one. Poll again.
    Persist {
        /// The record to store.
        credential: Credential,
    },
    /// Nothing to do before `at_ms` (absolute, Unix milliseconds): sleep, then poll with a
    /// fresh `now_ms`. Cancel may arrive meanwhile.
    WaitUntil {
        /// When to poll again.
        at_ms: u64,
    },
    /// Waiting for the browser to come back: `handle` an [`Input::Redirect`] with the URL
    /// the loopback listener received (or the user pasted). Poll again at `until_ms` at the
    /// latest; the flow then fails with `redirect_timeout`.
    AwaitRedirect {
        /// The redirect URI registered for this login.
        redirect_uri: String,
        /// The deadline (Unix milliseconds).
        until_ms: u64,
    },
    /// The request with this id has not been answered yet: `handle` its response.
    AwaitResponse {
        /// The outstanding request id.
        id: u64,
    },
    /// The flow succeeded. Terminal: every later `poll` returns it again.
    Done {
        /// What it produced.
        result: Outcome,
    },
    /// The flow failed. Terminal and sticky: every later `poll` returns it again.
    Failed {
        /// Why.
        error: Error,
    },
}

/// How a request failed to get an HTTP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransportErrorKind {
    /// The name did not resolve.
    Dns,
    /// The connection was refused or reset.
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// No answer in time.
    Timeout,
    /// Anything else (proxy failure, I/O error mid-response).
    Other,
}

impl TransportErrorKind {
    /// A few words for what failed (`connection failed`).
    pub fn as_str(&self) -> &'static str {
        match self {
            TransportErrorKind::Dns => "DNS lookup failed",
            TransportErrorKind::Connect => "connection failed",
            TransportErrorKind::Tls => "TLS failed",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Other => "transport error",
        }
    }

    /// The error for a request to `server` (an origin, `https://host:port`) that got no
    /// response this way; the driver's `detail` (sanitised) is kept in brackets.
    fn error(&self, server: Option<&str>, detail: Option<&str>) -> Error {
        let Some(server) = server else { return Error::transport(self.as_str(), detail) };
        let what = match self {
            TransportErrorKind::Dns => {
                format!("Could not find {server}: the name does not resolve. Check the URL and the network")
            }
            TransportErrorKind::Connect => {
                format!("Could not connect to {server} (refused or reset). Check the address, the port and the network")
            }
            // A TLS client talking to a plain-HTTP port fails the handshake on the reply.
            TransportErrorKind::Tls => {
                format!("TLS with {server} failed. Check the URL (a plain-HTTP port fails this way) and the certificates")
            }
            TransportErrorKind::Timeout => format!("The request to {server} timed out. Try again later"),
            TransportErrorKind::Other => format!("The request to {server} failed. Try again later"),
        };
        Error::transport_explained(what, detail)
    }
}

/// What the driver tells the flow.
#[derive(Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    /// The response to a [`Action::SendRequest`].
    HttpResponse(HttpResponse),
    /// The request could not be completed.
    TransportError {
        /// The request id.
        id: u64,
        /// What failed.
        kind: TransportErrorKind,
        /// Detail for the user (no secrets: drivers pass the error text of their HTTP stack).
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The URL the browser was redirected to (from the loopback listener, or pasted).
    Redirect {
        /// The full URL, including the query.
        url: String,
    },
    /// Stop the flow (Ctrl-C). It fails with `cancelled`, and nothing is sent or persisted
    /// after this. A flow that has already finished ignores it: if the tokens arrived just
    /// before the cancel, their queued `Persist` still comes out (they were issued; dropping
    /// them would only force another login).
    Cancel,
}

deserialize_via_value!(Input => Input::read);

impl Input {
    fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(match o.tag("type")?.as_str() {
            "http_response" => Input::HttpResponse(HttpResponse::read(o)?),
            "transport_error" => {
                Input::TransportError { id: o.uint("id")?, kind: o.variant("kind")?, message: o.opt_str("message")? }
            }
            "redirect" => Input::Redirect { url: o.str("url")? },
            "cancel" => Input::Cancel,
            _ => return Err(o.unknown_tag("type", "http_response, transport_error, redirect, cancel")),
        })
    }
}

/// `Debug` hides a redirect's query (it holds the authorization code and `state`).
impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::HttpResponse(r) => f.debug_tuple("HttpResponse").field(r).finish(),
            Input::TransportError { id, kind, message } => {
                f.debug_struct("TransportError").field("id", id).field("kind", kind).field("message", message).finish()
            }
            Input::Redirect { url } => {
                let shown = match url.split_once('?') {
                    Some((before, _)) => format!("{before}?***"),
                    None => url.clone(),
                };
                f.debug_struct("Redirect").field("url", &shown).finish()
            }
            Input::Cancel => f.write_str("Cancel"),
        }
    }
}

/// A sans-IO flow: every login method, refresh, revocation and introspection implement it.
///
/// Drive it with one loop:
///
/// ```
/// use termauth_core::{Action, Flow, FlowSpec, Input, HttpResponse, Rng};
/// let spec: FlowSpec = serde_json::from_str(r#"{"flow":"client_credentials",
///     "server":{"issuer":"https://as.example","token_endpoint":"https://as.example/token"},
///     "client":{"client_id":"ci","auth":{"method":"client_secret_basic","client_secret":"s"}},
///     "scope":"api:read"}"#).unwrap();
/// let mut flow = spec.start(Rng::from_seed([0; 32])).unwrap();
/// let now = 1_700_000_000_000;
/// let tokens = loop {
///     match flow.poll(now) {
///         Action::SendRequest(req) => {
///             // A real driver sends `req` over HTTP here.
///             let body = r#"{"access_token":"at","token_type":"Bearer","expires_in":3600}"#;
///             flow.handle(Input::HttpResponse(HttpResponse { id: req.id, status: 200,
///                 headers: vec![("Content-Type".into(), "application/json".into())],
///                 body: body.into() }), now).unwrap();
///         }
///         Action::Persist { .. } => { /* store it */ }
///         Action::Done { result } => break result,
///         Action::Failed { error } => panic!("{error}"),
///         other => unreachable!("{other:?}"),
///     }
/// };
/// # let _ = tokens;
/// ```
pub trait Flow {
    /// The next action. Call it until it returns a waiting or terminal action.
    fn poll(&mut self, now_ms: u64) -> Action;

    /// Feeds what happened.
    ///
    /// # Errors
    /// A usage error (`unknown_request_id`, `duplicate_response`, `unexpected_input`,
    /// `flow_finished`, or a rejected redirect such as `redirect_path_mismatch`); the flow
    /// is left exactly as it was.
    fn handle(&mut self, input: Input, now_ms: u64) -> Result<(), Error>;
}

/// Request bookkeeping, queued actions and the sticky terminal action, shared by every
/// flow (one place for the id rules).
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    next_id: u64,
    in_flight: Option<u64>,
    /// The URL of the last request sent, to name its server when it gets no response.
    last_url: String,
    queue: VecDeque<Action>,
    terminal: Option<Action>,
}

impl Exchange {
    pub(crate) fn new() -> Self {
        Exchange { next_id: 1, in_flight: None, last_url: String::new(), queue: VecDeque::new(), terminal: None }
    }

    /// Queues a request and returns its id.
    pub(crate) fn send(&mut self, method: Method, url: String, headers: Vec<(String, String)>, body: String) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight = Some(id);
        self.last_url.clone_from(&url);
        self.queue.push_back(Action::SendRequest(HttpRequest { id, method, url, headers, body }));
        id
    }

    /// Queues a non-waiting action (ShowUserCode, OpenBrowser, Persist).
    pub(crate) fn emit(&mut self, action: Action) {
        self.queue.push_back(action);
    }

    pub(crate) fn finish(&mut self, result: Outcome) {
        if self.terminal.is_none() {
            self.terminal = Some(Action::Done { result });
        }
    }

    /// Fails the flow. Queued actions that have not been polled yet are dropped: after a
    /// failure nothing is sent, shown or persisted.
    pub(crate) fn fail(&mut self, error: Error) {
        if self.terminal.is_none() {
            self.queue.clear();
            self.in_flight = None;
            self.terminal = Some(Action::Failed { error });
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.terminal.is_some()
    }

    /// Marks the response to `id` as received.
    fn accept(&mut self, id: u64) -> Result<(), Error> {
        if self.in_flight == Some(id) && !self.queue.iter().any(|a| matches!(a, Action::SendRequest(r) if r.id == id)) {
            self.in_flight = None;
            return Ok(());
        }
        if self.in_flight == Some(id) {
            return Err(Error::usage(
                "request_not_sent",
                format!("Request {id} was answered before poll() handed it out; poll first, then send, then handle."),
            ));
        }
        if id > 0 && id < self.next_id {
            return Err(Error::usage(
                "duplicate_response",
                format!("Request {id} has already been answered; each request gets exactly one response."),
            ));
        }
        Err(Error::usage(
            "unknown_request_id",
            format!("No request with id {id} was sent by this flow; pass the id of the SendRequest action being answered."),
        ))
    }
}

/// The per-flow logic behind [`Flow`]; the blanket implementation below handles the
/// contract's shared rules (sticky terminal, ids, cancel) once.
pub(crate) trait Machine {
    fn exchange(&mut self) -> &mut Exchange;

    /// Advance: queue actions (returning `None`) or return the waiting action.
    fn step(&mut self, now_ms: u64) -> Option<Action>;

    /// The response to the request in flight.
    fn on_response(&mut self, resp: HttpResponse, now_ms: u64);

    /// The request in flight failed without a response. Default: the flow fails.
    fn on_transport_error(&mut self, error: Error, _now_ms: u64) {
        self.exchange().fail(error);
    }

    /// A redirect URL. Default: this flow does not take redirects.
    fn on_redirect(&mut self, _url: &str, _now_ms: u64) -> Result<(), Error> {
        Err(Error::usage("unexpected_input", "This flow does not take a redirect URL."))
    }
}

impl<M: Machine> Flow for M {
    fn poll(&mut self, now_ms: u64) -> Action {
        // A step either queues something or returns a waiting action; the bound only
        // protects against a flow bug turning into an endless loop.
        for _ in 0..16 {
            let ex = self.exchange();
            if let Some(action) = ex.queue.pop_front() {
                return action;
            }
            if let Some(t) = &ex.terminal {
                return t.clone();
            }
            if let Some(id) = ex.in_flight {
                return Action::AwaitResponse { id };
            }
            if let Some(waiting) = self.step(now_ms) {
                return waiting;
            }
        }
        let ex = self.exchange();
        ex.fail(Error::usage("internal_error", "termauth-core made no progress; please report this as a bug."));
        ex.terminal.clone().unwrap_or(Action::Failed { error: Error::cancelled() })
    }

    fn handle(&mut self, input: Input, now_ms: u64) -> Result<(), Error> {
        if self.exchange().is_finished() {
            return match input {
                Input::Cancel => Ok(()),
                _ => Err(Error::usage(
                    "flow_finished",
                    "The flow has already finished; start a new flow instead of feeding this one.",
                )),
            };
        }
        match input {
            Input::Cancel => {
                self.exchange().fail(Error::cancelled());
                Ok(())
            }
            Input::HttpResponse(resp) => {
                self.exchange().accept(resp.id)?;
                self.on_response(resp, now_ms);
                Ok(())
            }
            Input::TransportError { id, kind, message } => {
                self.exchange().accept(id)?;
                let server = crate::uri::origin(&self.exchange().last_url);
                self.on_transport_error(kind.error(server.as_deref(), message.as_deref()), now_ms);
                Ok(())
            }
            Input::Redirect { url } => self.on_redirect(&url, now_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Hint;

    #[test]
    fn a_request_without_response_names_its_server_and_what_to_check() {
        use TransportErrorKind::*;
        let server = Some("https://as.example:8443");
        for (kind, start) in [
            (Dns, "Could not find https://as.example:8443: the name does not resolve."),
            (Connect, "Could not connect to https://as.example:8443 (refused or reset)."),
            (Tls, "TLS with https://as.example:8443 failed."),
            (Timeout, "The request to https://as.example:8443 timed out."),
            (Other, "The request to https://as.example:8443 failed."),
        ] {
            let e = kind.error(server, Some("os error 111\u{1b}[2J"));
            assert!(e.message.starts_with(start), "{}", e.message);
            assert!(!e.message.contains('\u{1b}'), "the driver's detail is sanitised: {:?}", e.message);
            assert_eq!((e.code.as_str(), e.hint, e.exit_code()), ("transport_error", Hint::RetryLater, 4));
        }
        // No server to name (no request sent): the generic sentence.
        assert!(Connect.error(None, None).message.starts_with("Could not reach the authorization server"));
    }
}
