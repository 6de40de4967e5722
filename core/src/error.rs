//! Errors: what went wrong, in which family, and what the CLI should do about it.
//!
//! Every error carries a stable machine `code`, a sentence a user can act on (`message`),
//! and a [`Hint`]. The families ([`ErrorKind`]):
//!
//! | kind | who is at fault | examples |
//! |---|---|---|
//! | `usage` | the caller broke the driver contract or gave bad configuration | unknown request id, handle after `done`, `http://` endpoint |
//! | `protocol` | the server sent something malformed | HTML 502 page, missing `access_token`, `expires_in: "soon"` |
//! | `oauth` | the server answered with an OAuth error (RFC 6749 §5.2, RFC 8628 §3.5) | `invalid_grant`, `access_denied`, `expired_token` |
//! | `transport` | the request never got an HTTP answer (reported by the driver) | connection refused, timeout, TLS |
//! | `interrupted` | the login was stopped on this side | cancel (Ctrl-C), no redirect before the timeout |
//! | `storage` | the credential store (reported by drivers and the record parser) | corrupt record, newer record version, keyring locked, lock timeout |
//!
//! Errors never contain a secret: response excerpts are only taken from bodies that are
//! not JSON (an HTML error page), and JSON problems are reported by field name.

use crate::json::{Object, ReadError, deserialize_via_value};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The family of an [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The caller broke the driver contract or gave an unusable configuration.
    Usage,
    /// The server's response was malformed.
    Protocol,
    /// The server answered with an OAuth error code.
    #[serde(rename = "oauth")]
    OAuth,
    /// The driver could not get an HTTP response.
    Transport,
    /// Cancelled by the user, or a local deadline passed.
    Interrupted,
    /// The credential store failed or holds an unreadable record.
    Storage,
}

/// What a CLI should do about an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    /// The credential is no good: run the login again.
    Reauthenticate,
    /// Something transient: try again later.
    RetryLater,
    /// The client or server configuration is wrong: fix it, retrying will not help.
    FixConfiguration,
    /// Nothing sensible to do automatically.
    Fatal,
}

/// The error type of every termauth-core operation (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Error {
    /// The family.
    pub kind: ErrorKind,
    /// A stable machine-readable code, e.g. `unknown_request_id`, `response_not_json`,
    /// or the server's OAuth `error` value such as `invalid_grant`.
    pub code: String,
    /// A sentence for the user that says what happened and what to do.
    pub message: String,
    /// What the CLI should do.
    pub hint: Hint,
    /// The HTTP status of the response, when one caused the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The OAuth `error` value, for `oauth` errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The server's `error_description`, if any (sanitised, at most 300 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// The server's `error_uri`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
    /// The start of a response body that is not JSON (an HTML error page, say), sanitised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// The server's `Retry-After` (RFC 9110 §10.2.3) on a 429 or 503 answer, as it sent it
    /// (delta-seconds or an HTTP date; sanitised): do not try again before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Whether `c` must not reach a terminal as it is:
/// - a control character (C0, DEL, C1 — ESC and the 8-bit CSI U+009B among them), which can
///   move the cursor, clear or retitle the terminal, or plant a hyperlink (OSC 8);
/// - a line or paragraph separator (U+2028, U+2029), which breaks a line where none shows;
/// - an invisible format character (Unicode general category Cf): the bidirectional
///   controls (U+061C, U+200E/F, U+202A–202E, U+2066–2069), which make text display other
///   than it reads, and the zero-width and tag characters (U+00AD, U+200B–200D,
///   U+2060–2064, U+FEFF, U+E0001–E007F, …), which hide text between what is shown.
pub fn is_unsafe_for_terminal(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_format_character(c)
}

/// The characters of general category Cf (format) in Unicode 16.
fn is_format_character(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Keeps characters a terminal shows as they are (see [`is_unsafe_for_terminal`]) and cuts
/// to `max` characters (with an ellipsis).
pub(crate) fn sanitize(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        out.push(if is_unsafe_for_terminal(c) { ' ' } else { c });
    }
    out.trim().to_string()
}

deserialize_via_value!(Error => Error::read);

impl Error {
    fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(Error {
            kind: o.variant("kind")?,
            code: o.str("code")?,
            message: o.str("message")?,
            hint: o.variant("hint")?,
            status: o.opt_uint("status")?,
            error: o.opt_str("error")?,
            error_description: o.opt_str("error_description")?,
            error_uri: o.opt_str("error_uri")?,
            excerpt: o.opt_str("excerpt")?,
            retry_after: o.opt_str("retry_after")?,
        })
    }

    fn new(kind: ErrorKind, code: &str, message: String, hint: Hint) -> Self {
        Error {
            kind,
            code: code.to_string(),
            message,
            hint,
            status: None,
            error: None,
            error_description: None,
            error_uri: None,
            excerpt: None,
            retry_after: None,
        }
    }

    /// A usage error: the caller broke the contract or gave unusable configuration.
    pub fn usage(code: &str, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, code, message.into(), Hint::FixConfiguration)
    }

    /// A protocol error: the server's response (with this HTTP status) was malformed.
    pub fn protocol(code: &str, status: Option<u16>, message: impl Into<String>) -> Self {
        let hint = match status {
            // 429 Too Many Requests (RFC 6585 §4) and 5xx are transient.
            Some(s) if s >= 500 || s == 429 => Hint::RetryLater,
            _ => Hint::Fatal,
        };
        let mut e = Error::new(ErrorKind::Protocol, code, message.into(), hint);
        e.status = status;
        e
    }

    /// A transport error reported by the driver.
    pub fn transport(kind: &str, detail: Option<&str>) -> Self {
        let message = match detail {
            Some(d) => format!(
                "Could not reach the authorization server ({kind}: {}). Check the network connection and try again.",
                sanitize(d, 200)
            ),
            None => format!("Could not reach the authorization server ({kind}). Check the network connection and try again."),
        };
        Error::new(ErrorKind::Transport, "transport_error", message, Hint::RetryLater)
    }

    /// A request that got no response, with the sentence saying which server and what to
    /// check (`TransportErrorKind`'s); the driver's `detail` (sanitised) follows in brackets.
    pub(crate) fn transport_explained(what: String, detail: Option<&str>) -> Self {
        let message = match detail.map(|d| sanitize(d, 200)).filter(|d| !d.is_empty()) {
            Some(d) => format!("{what} ({d})."),
            None => format!("{what}."),
        };
        Error::new(ErrorKind::Transport, "transport_error", message, Hint::RetryLater)
    }

    /// A credential store error (drivers use it for keyring and file problems too).
    pub fn storage(code: &str, message: impl Into<String>, hint: Hint) -> Self {
        Error::new(ErrorKind::Storage, code, message.into(), hint)
    }

    /// The user (or the driver on their behalf) cancelled the flow.
    pub fn cancelled() -> Self {
        Error::new(ErrorKind::Interrupted, "cancelled", "The login was cancelled.".to_string(), Hint::Fatal)
    }

    /// An interruption other than cancel, e.g. no redirect arrived in time.
    pub fn interrupted(code: &str, message: impl Into<String>, hint: Hint) -> Self {
        Error::new(ErrorKind::Interrupted, code, message.into(), hint)
    }

    /// An OAuth error response (RFC 6749 §5.2 and the codes of RFC 8628 §3.5, RFC 7009 §2.2.1).
    ///
    /// The message and hint come from the code; the server's `error_description` is kept
    /// (sanitised) and quoted in the message.
    pub fn oauth(error: &str, error_description: Option<&str>, error_uri: Option<&str>, status: Option<u16>) -> Self {
        let error = sanitize(error, 100);
        let (what, hint) = oauth_explanation(&error, status);
        let description = error_description.map(|d| sanitize(d, 300)).filter(|d| !d.is_empty());
        let message = oauth_message(what, &error, description.as_deref());
        let mut e = Error::new(ErrorKind::OAuth, &error, message, hint);
        e.status = status;
        e.error = Some(error.clone());
        e.error_description = description;
        e.error_uri = error_uri.map(|u| sanitize(u, 300));
        e
    }

    /// An `invalid_grant` worded for the grant the server refused: RFC 6749 §5.2 has one
    /// code for an expired authorization code, a revoked refresh token and a wrong password,
    /// which a user fixes in different ways. `grant_type` is the request's (`password`,
    /// `refresh_token`, …); other errors, and a 429 (about the rate), are returned as they are.
    pub(crate) fn for_grant(mut self, grant_type: &str) -> Self {
        if !self.is_oauth("invalid_grant") || self.status == Some(429) {
            return self;
        }
        let what = match grant_type {
            "password" => {
                "The server refused the username and password, or the account is disabled or locked. Check them and log in again"
            }
            // The session adds the app's login command ("run `mycli login` to log in again").
            "refresh_token" => "The login session has ended at the server: the refresh token expired or was revoked",
            "authorization_code" => "The authorization code expired or was already used. Run the login again",
            "urn:ietf:params:oauth:grant-type:device_code" => "The device code expired or was already used. Run the login again",
            _ => return self,
        };
        self.message = oauth_message(what, "invalid_grant", self.error_description.as_deref());
        self
    }

    /// For an error that asks for a new login (hint `reauthenticate`), the message names the
    /// command that does it, `` `<app> login` `` ([`crate::texts::naming_login_command`]).
    pub fn naming_login(mut self, app: &str) -> Self {
        if self.hint == Hint::Reauthenticate {
            self.message = crate::texts::naming_login_command(&self.message, app);
        }
        self
    }

    /// Replaces the hint (builder style).
    pub fn with_hint(mut self, hint: Hint) -> Self {
        self.hint = hint;
        self
    }

    /// Attaches the server's `Retry-After` (sanitised) and says it in the message.
    pub(crate) fn with_retry_after(mut self, value: &str) -> Self {
        let value = sanitize(value, 64);
        if value.is_empty() {
            return self;
        }
        let when = if value.bytes().all(|b| b.is_ascii_digit()) { format!("{value} seconds") } else { format!("until {value}") };
        let message = self.message.trim_end();
        let stop = if message.ends_with(['.', '?', '!']) { "" } else { "." };
        self.message = format!("{message}{stop} The server asks to wait {when} before trying again.");
        self.retry_after = Some(value);
        self
    }

    /// Attaches a sanitised excerpt of a response body that is not JSON.
    pub(crate) fn with_excerpt(mut self, body: &str) -> Self {
        let e = sanitize(body, 120);
        if !e.is_empty() {
            self.excerpt = Some(e);
        }
        self
    }

    /// The exit code a CLI ends with for this error: 130 when the user cancelled, else by
    /// hint — 3 log in again, 4 try again later, 5 fix the configuration, 6 anything else.
    /// (2, a usage error on the command line, is the CLI's own.)
    ///
    /// ```
    /// use termauth_core::Error;
    /// assert_eq!(Error::cancelled().exit_code(), 130);
    /// assert_eq!(Error::oauth("invalid_grant", None, None, Some(400)).exit_code(), 3);
    /// ```
    pub fn exit_code(&self) -> u8 {
        if self.kind == ErrorKind::Interrupted && self.code == "cancelled" {
            return 130;
        }
        match self.hint {
            Hint::Reauthenticate => 3,
            Hint::RetryLater => 4,
            Hint::FixConfiguration => 5,
            Hint::Fatal => 6,
        }
    }

    /// The one line a CLI prints for this error, on standard error, before it exits with
    /// [`Error::exit_code`]: `program: message [code]` (the message says what to do; the
    /// code is for a bug report or a search). `program` is shown as
    /// [`crate::texts::shown`] shows text (controls made visible).
    ///
    /// ```
    /// use termauth_core::Error;
    /// assert_eq!(Error::cancelled().line("mycli"), "mycli: The login was cancelled. [cancelled]");
    /// ```
    pub fn line(&self, program: &str) -> String {
        format!("{}: {} [{}]", crate::texts::shown(program), self.message, self.code)
    }

    /// True for an OAuth error with this `error` code.
    pub fn is_oauth(&self, code: &str) -> bool {
        self.kind == ErrorKind::OAuth && self.code == code
    }
}

/// An OAuth error's message: the sentence, then what the server said.
fn oauth_message(what: &str, error: &str, description: Option<&str>) -> String {
    match description {
        Some(d) => format!("{what} (server said: {error}: {d})"),
        None => format!("{what} (server said: {error})"),
    }
}

/// The user-facing sentence and the hint for an OAuth error code.
fn oauth_explanation(error: &str, status: Option<u16>) -> (&'static str, Hint) {
    use Hint::*;
    // 429 Too Many Requests (RFC 6585 §4) is about the rate, whatever code its body
    // carries; the device flow's own codes keep their meaning.
    if status == Some(429) && !matches!(error, "slow_down" | "authorization_pending") {
        return ("The server is limiting requests (HTTP 429 Too Many Requests). Try again later", RetryLater);
    }
    // 401 from an OAuth endpoint is client authentication failing (RFC 6749 §5.2, under
    // `invalid_client`), whatever code a server puts in the body: some answer a wrong
    // client secret with `unauthorized_client`, which would read as a grant not allowed.
    if status == Some(401) {
        return (
            "The server did not accept the client's credentials (HTTP 401). Check the client ID and the client secret",
            FixConfiguration,
        );
    }
    match error {
        "invalid_grant" => (
            "The server rejected the grant: the code or refresh token is expired, revoked or already used. Log in again",
            Reauthenticate,
        ),
        "access_denied" => ("The authorization request was denied. Run the login again and approve it", Reauthenticate),
        "expired_token" => ("The device code expired before the login was approved. Run the login again", Reauthenticate),
        "invalid_client" => ("The server did not accept the client. Check the client ID and client secret", FixConfiguration),
        "unauthorized_client" => {
            ("This client is not allowed to use this grant. Check the client's registration at the server", FixConfiguration)
        }
        "unsupported_grant_type" => (
            "The server does not support this login method. Choose another method or check the server configuration",
            FixConfiguration,
        ),
        "invalid_scope" => ("The server rejected the requested scope. Check the scopes the client may request", FixConfiguration),
        "invalid_request" => ("The server rejected the request as malformed. Check the client configuration", FixConfiguration),
        "unsupported_token_type" => ("The server cannot revoke this type of token", FixConfiguration),
        "invalid_target" => {
            ("The server rejected the requested resource (RFC 8707). Check the resource indicator", FixConfiguration)
        }
        "unsupported_response_type" => {
            ("The server does not support the authorization code response type for this client", FixConfiguration)
        }
        "login_required" | "consent_required" | "interaction_required" | "account_selection_required" => {
            ("The server needs you to log in interactively. Run the login again", Reauthenticate)
        }
        "temporarily_unavailable" | "server_error" => ("The authorization server had a problem. Try again later", RetryLater),
        "slow_down" | "authorization_pending" => ("The server asked to keep waiting, outside a device-flow poll", Fatal),
        _ => match status {
            Some(s) if s >= 500 => ("The authorization server failed. Try again later", RetryLater),
            _ => ("The authorization server refused the request", Fatal),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_401_is_the_clients_credentials_whatever_the_code() {
        for code in ["unauthorized_client", "invalid_client", "access_denied"] {
            let e = Error::oauth(code, None, None, Some(401));
            assert_eq!((e.code.as_str(), e.hint, e.exit_code()), (code, Hint::FixConfiguration, 5));
            assert!(e.message.starts_with("The server did not accept the client's credentials (HTTP 401)"), "{}", e.message);
        }
        // Without a 401, unauthorized_client keeps its meaning.
        assert!(Error::oauth("unauthorized_client", None, None, Some(400)).message.starts_with("This client is not allowed"));
    }

    #[test]
    fn invalid_grant_is_worded_for_the_grant() {
        let grant = |g: &str| Error::oauth("invalid_grant", Some("Invalid user credentials"), None, Some(400)).for_grant(g);
        let password = grant("password");
        assert_eq!(
            password.message,
            "The server refused the username and password, or the account is disabled or locked. Check them and log in again (server said: invalid_grant: Invalid user credentials)"
        );
        assert_eq!((password.code.as_str(), password.exit_code()), ("invalid_grant", 3));
        assert!(grant("refresh_token").message.starts_with("The login session has ended at the server"));
        assert!(grant("authorization_code").message.starts_with("The authorization code expired or was already used"));
        assert!(
            grant("urn:ietf:params:oauth:grant-type:device_code")
                .message
                .starts_with("The device code expired or was already used")
        );
        // Other grants, other codes and a 429 keep their message.
        let generic = Error::oauth("invalid_grant", Some("Invalid user credentials"), None, Some(400));
        assert_eq!(grant("client_credentials").message, generic.message);
        let denied = Error::oauth("access_denied", None, None, Some(400));
        assert_eq!(denied.clone().for_grant("password").message, denied.message);
        let limited = Error::oauth("invalid_grant", None, None, Some(429));
        assert_eq!(limited.clone().for_grant("password").message, limited.message);
    }

    #[test]
    fn oauth_error_message_and_hint() {
        let e = Error::oauth("invalid_grant", Some("grant request is invalid\n"), None, Some(400));
        assert_eq!(e.kind, ErrorKind::OAuth);
        assert_eq!(e.code, "invalid_grant");
        assert_eq!(e.hint, Hint::Reauthenticate);
        assert!(e.message.contains("grant request is invalid"));
        assert!(!e.message.contains('\n'));
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["kind"], "oauth");
        assert_eq!(j["hint"], "reauthenticate");
    }

    #[test]
    fn invisible_format_and_separator_characters_are_unsafe() {
        for c in [
            '\u{1b}',
            '\u{9b}',
            '\u{7f}',
            '\r',
            '\u{2028}',
            '\u{2029}',
            '\u{200B}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{AD}',
            '\u{202E}',
            '\u{2067}',
            '\u{E0041}',
            '\u{E0001}',
        ] {
            assert!(is_unsafe_for_terminal(c), "{c:?}");
        }
        for c in ['a', 'é', '字', '…', '\u{FFFD}', ' ', '-', '\u{1F600}'] {
            assert!(!is_unsafe_for_terminal(c), "{c:?}");
        }
    }

    #[test]
    fn sanitize_cuts_and_strips() {
        assert_eq!(sanitize("a\u{7}b", 10), "a b");
        assert_eq!(sanitize("pay \u{202E}gnp.exe\u{2069} x\u{200F}", 40), "pay  gnp.exe  x");
        assert_eq!(sanitize("abcdef", 3), "abc…");
    }
}
