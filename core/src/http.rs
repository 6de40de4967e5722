//! HTTP requests out, HTTP responses in, and the response parsing every flow shares.
//!
//! Response parsers always take the status, the headers and the body together
//! (a 400 and a 200 with the same body mean different things). Every request asks for
//! `Accept: application/json`; servers that answer `application/x-www-form-urlencoded`
//! anyway (GitHub without that header) are tolerated.

use crate::error::{Error, sanitize};
use crate::json::{Object, ReadError, deserialize_via_value};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Responses larger than this are refused as malformed (`response_too_large`).
/// Token, device and metadata responses are a few kilobytes at most.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// An HTTP method the flows use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Method {
    /// `GET` (metadata discovery).
    #[serde(rename = "GET")]
    Get,
    /// `POST` (every endpoint call with a form body).
    #[serde(rename = "POST")]
    Post,
}

impl Method {
    /// The method as it goes on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request the driver must send, then answer with [`crate::Input::HttpResponse`] (or
/// [`crate::Input::TransportError`]) carrying the same `id`.
///
/// `Debug` redacts the body and the `Authorization` header: both can carry secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HttpRequest {
    /// The request id, to echo back.
    pub id: u64,
    /// The HTTP method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Header name/value pairs, in order.
    pub headers: Vec<(String, String)>,
    /// The body (form-encoded for `POST`, empty for `GET`).
    pub body: String,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| if k.eq_ignore_ascii_case("authorization") { (k.as_str(), "***") } else { (k.as_str(), v.as_str()) })
            .collect();
        f.debug_struct("HttpRequest")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// An HTTP response, as the driver received it. The driver decodes the body as UTF-8
/// (lossily) and may stop reading past [`MAX_RESPONSE_BYTES`] + 1 bytes.
///
/// `Debug` redacts the body: it can carry tokens.
#[derive(Clone, PartialEq, Eq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HttpResponse {
    /// The id of the request this answers.
    pub id: u64,
    /// The HTTP status code.
    pub status: u16,
    /// Header name/value pairs (names in any case).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub headers: Vec<(String, String)>,
    /// The body.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub body: String,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

deserialize_via_value!(HttpResponse => HttpResponse::read);

impl HttpResponse {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(HttpResponse {
            id: o.uint("id")?,
            status: o.uint("status")?,
            headers: o.pairs("headers")?,
            body: o.str_or("body", "")?,
        })
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn media_type(&self) -> String {
        self.header("content-type").and_then(|v| v.split(';').next()).map(|v| v.trim().to_ascii_lowercase()).unwrap_or_default()
    }

    /// The body as a JSON object (or a form-encoded body turned into one with string
    /// values), without looking at the status.
    ///
    /// # Errors
    /// `response_too_large`, `response_not_json` (with an excerpt), `response_not_object`.
    pub fn fields(&self) -> Result<Map<String, Value>, Error> {
        if self.body.len() > MAX_RESPONSE_BYTES {
            return Err(Error::protocol(
                "response_too_large",
                Some(self.status),
                format!(
                    "The server's response is larger than {MAX_RESPONSE_BYTES} bytes, far more than any OAuth response; check the endpoint URL."
                ),
            ));
        }
        let media = self.media_type();
        if media == "application/x-www-form-urlencoded" {
            return Ok(form_fields(&self.body));
        }
        // A byte-order mark is tolerated (RFC 8259 §8.1 lets parsers ignore it).
        let body = self.body.strip_prefix('\u{feff}').unwrap_or(&self.body);
        match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(Error::protocol(
                "response_not_object",
                Some(self.status),
                format!("The server answered HTTP {} with JSON that is not an object; check the endpoint URL.", self.status),
            )),
            Err(_) if looks_like_form(body) && !media.contains("html") && !media.contains("json") => Ok(form_fields(body)),
            Err(_) => {
                let error = Error::protocol(
                    "response_not_json",
                    Some(self.status),
                    format!(
                        "The server answered HTTP {} with a body that is not JSON ({}); is the endpoint URL right, or is a proxy in the way?",
                        self.status,
                        if media.is_empty() { "no content type" } else { &media }
                    ),
                );
                Err(if excerpt_is_safe(body, &media) { error.with_excerpt(body) } else { error })
            }
        }
    }

    /// The common path for OAuth endpoint responses: the fields of a successful response.
    ///
    /// An `error` member is an OAuth error whatever the status (some servers, GitHub among
    /// them, answer device-flow polls with HTTP 200 and an `error`).
    ///
    /// # Errors
    /// The [`Self::fields`] errors; an OAuth error; `unexpected_status` for a non-2xx
    /// response without an `error` member.
    pub fn oauth_fields(&self) -> Result<Map<String, Value>, Error> {
        self.oauth_fields_of_any_status().map_err(|e| match self.header("retry-after") {
            // RFC 9110 §10.2.3: on 503 and 429 (RFC 6585 §4), how long to wait.
            Some(value) if matches!(self.status, 429 | 503) => e.with_retry_after(value),
            _ => e,
        })
    }

    fn oauth_fields_of_any_status(&self) -> Result<Map<String, Value>, Error> {
        let fields = self.fields()?;
        if let Some(error) = oauth_error(self, &fields) {
            return Err(error);
        }
        if !self.is_success() {
            return Err(Error::protocol(
                "unexpected_status",
                Some(self.status),
                format!("The server answered HTTP {} without an OAuth error code; check the endpoint URL.", self.status),
            ));
        }
        Ok(fields)
    }

    /// When the server asks to wait (`Retry-After`, RFC 9110 §10.2.3): an absolute time in
    /// milliseconds. Accepts delta-seconds and IMF-fixdate.
    pub fn retry_after(&self, now_ms: u64) -> Option<u64> {
        let value = self.header("retry-after")?.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(now_ms.saturating_add(seconds.saturating_mul(1000)));
        }
        parse_imf_fixdate(value).map(|at| at.max(now_ms))
    }
}

/// The OAuth error in a response's fields, if it has an `error` string member.
pub(crate) fn oauth_error(resp: &HttpResponse, fields: &Map<String, Value>) -> Option<Error> {
    let error = fields.get("error")?.as_str()?;
    let description = fields.get("error_description").and_then(Value::as_str);
    let uri = fields.get("error_uri").and_then(Value::as_str);
    Some(Error::oauth(error, description, uri, Some(resp.status)))
}

/// Whether a body that failed to parse may be quoted in an error: only an HTML or plain-text
/// page (a proxy's 502, a login wall) that mentions no token, secret or password. A broken
/// token response (JSON with junk around it, a form body with a space) is never quoted.
fn excerpt_is_safe(body: &str, media: &str) -> bool {
    let start = body.trim_start();
    let lower = body.to_ascii_lowercase();
    (media.contains("html") || media.starts_with("text/") || start.starts_with('<'))
        && !start.starts_with(['{', '['])
        && !["token", "secret", "password", "code="].iter().any(|w| lower.contains(w))
}

fn looks_like_form(body: &str) -> bool {
    let b = body.trim();
    !b.is_empty() && b.contains('=') && !b.contains(char::is_whitespace) && !b.starts_with('<')
}

fn form_fields(body: &str) -> Map<String, Value> {
    // A loop of inserts rather than `collect()`: collecting into a map sorts the pairs
    // first, and that sort was 11 KB of the WebAssembly module. A repeated name keeps its
    // last value either way.
    let mut fields = Map::new();
    for (k, v) in form_urlencoded::parse(body.trim().as_bytes()) {
        fields.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    fields
}

fn invalid_field(field: &str, expected: &str, status: u16) -> Error {
    Error::protocol(
        "invalid_field",
        Some(status),
        format!(
            "The server's response has `{field}` that is not {expected}; the server is not following the OAuth specification."
        ),
    )
}

fn missing_field(field: &str, status: u16) -> Error {
    Error::protocol(
        "missing_field",
        Some(status),
        format!("The server's response has no `{field}`; the server is not following the OAuth specification."),
    )
}

/// An optional string member. A present non-string is an error.
pub(crate) fn opt_str(fields: &Map<String, Value>, name: &str, status: u16) -> Result<Option<String>, Error> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid_field(name, "a string", status)),
    }
}

/// A required, non-empty string member.
pub(crate) fn req_str(fields: &Map<String, Value>, name: &str, status: u16) -> Result<String, Error> {
    match opt_str(fields, name, status)? {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(invalid_field(name, "a non-empty string", status)),
        None => Err(missing_field(name, status)),
    }
}

/// An optional count of seconds. Accepts a non-negative JSON number (a fraction is cut)
/// or a string of digits (form-encoded bodies, and servers that quote numbers).
pub(crate) fn opt_seconds(fields: &Map<String, Value>, name: &str, status: u16) -> Result<Option<u64>, Error> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(u))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f.min(u32::MAX as f64) as u64)),
                    _ => Err(invalid_field(name, "a non-negative number of seconds", status)),
                }
            }
        }
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit()) => Ok(s.parse().ok()),
        Some(_) => Err(invalid_field(name, "a non-negative number of seconds", status)),
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix milliseconds.
fn parse_imf_fixdate(value: &str) -> Option<u64> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: u64 = parts[1].parse().ok()?;
    let month = 1 + ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == parts[2])? as u64;
    let year: u64 = parts[3].parse().ok()?;
    let hms: Vec<u64> = parts[4].split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if hms.len() != 3 || hms[0] > 23 || hms[1] > 59 || hms[2] > 60 || !(1..=31).contains(&day) || !(1970..=9999).contains(&year) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), valid for years >= 1970.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    secs.checked_mul(1000)
}

/// Shortens a string for use in an error message.
pub(crate) fn short(text: &str) -> String {
    sanitize(text, 200)
}

// ---- the HTTP trace (`SessionConfig::debug`, `TERMAUTH_DEBUG`) ------------------------

/// Form parameters, query parameters and headers whose values the trace shows: nothing a
/// token, code, secret, password, assertion or verifier travels in. Every other value is
/// `[redacted]` (an allowlist, so a parameter added later is hidden until named here).
const TRACE_SHOWN: [&str; 14] = [
    "grant_type",
    "client_id",
    "scope",
    "resource",
    "redirect_uri",
    "audience",
    "token_type_hint",
    "response_type",
    "code_challenge_method",
    "accept",
    "content-type",
    "user-agent",
    "www-authenticate",
    "retry-after",
];

/// Whether a JSON member of a response holds a secret: its name speaks of a token, code,
/// secret, password, assertion, verifier or key, except the descriptive ones (`token_type`,
/// `user_code` — shown to the user anyway —, `*_endpoint`, `*_uri`, `*_supported`).
fn secret_member(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let descriptive = matches!(n.as_str(), "token_type" | "user_code" | "expires_in" | "error" | "error_description")
        || n.ends_with("_endpoint")
        || n.ends_with("_uri")
        || n.ends_with("_supported");
    !descriptive && ["token", "code", "secret", "password", "assertion", "verifier", "key"].iter().any(|w| n.contains(w))
}

fn redacted_pairs(text: &str) -> String {
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| {
            let shown = TRACE_SHOWN.contains(&k.to_ascii_lowercase().as_str());
            format!("{}={}", crate::texts::shown(&k), if shown { crate::texts::shown(&v) } else { "[redacted]".into() })
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A JSON value as the trace shows it: strings through `texts::shown`, integers, booleans,
/// `null`; an object or array only by its size (discovery documents are long, and nothing
/// nested is needed to diagnose a token request).
fn traced_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{}\"", crate::texts::shown(s)),
        Value::Number(n) => n.as_i64().map_or_else(|| "(number)".to_string(), |i| i.to_string()),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        Value::Array(items) => format!("[{} items]", items.len()),
        Value::Object(map) => format!("{{{} members}}", map.len()),
    }
}

/// One line of the trace for a request: method, URL (query values redacted but for
/// [`TRACE_SHOWN`]), headers and form body likewise.
pub fn trace_request(request: &HttpRequest) -> String {
    let url = match request.url.split_once('?') {
        Some((base, query)) => format!("{}?{}", crate::texts::shown(base), redacted_pairs(query)),
        None => crate::texts::shown(&request.url),
    };
    let mut line = format!("-> {} {url}", request.method.as_str());
    for (name, value) in &request.headers {
        let shown = TRACE_SHOWN.contains(&name.to_ascii_lowercase().as_str());
        line.push_str(&format!(
            "\n   {}: {}",
            crate::texts::shown(name),
            if shown { crate::texts::shown(value) } else { "[redacted]".into() }
        ));
    }
    if !request.body.is_empty() {
        line.push_str(&format!("\n   {}", redacted_pairs(&request.body)));
    }
    line
}

/// The trace of a response: status, the headers of [`TRACE_SHOWN`], and a JSON object's
/// members with every secret one redacted; any other body only by its size (an HTML page
/// may echo what was sent).
pub fn trace_response(response: &HttpResponse) -> String {
    let mut line = format!("<- {}", response.status);
    for (name, value) in &response.headers {
        if TRACE_SHOWN.contains(&name.to_ascii_lowercase().as_str()) {
            line.push_str(&format!("\n   {}: {}", crate::texts::shown(name), crate::texts::shown(value)));
        }
    }
    // The top-level members of a JSON object, sorted (the same text in every build), each
    // secret one redacted.
    match serde_json::from_str::<Value>(&response.body) {
        Ok(Value::Object(map)) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                let value = if secret_member(key) { "[redacted]".to_string() } else { traced_value(&map[key]) };
                line.push_str(&format!("\n   {}: {value}", crate::texts::shown(key)));
            }
        }
        _ if response.body.is_empty() => {}
        _ => line.push_str(&format!("\n   ({} bytes, not a JSON object: not shown)", response.body.len())),
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trace shows what a server was asked and answered, never a token, code, secret,
    /// password, assertion or verifier, and never a control character.
    #[test]
    fn trace_redacts_every_secret() {
        let request = HttpRequest {
            id: 1,
            method: Method::Post,
            url: "https://as.example.com/token?code=c-secret&scope=openid".into(),
            headers: vec![
                ("Authorization".into(), "Basic czNjcjN0".into()),
                ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
            ],
            body: "grant_type=authorization_code&code=c-secret&code_verifier=v-secret&client_id=cli&client_secret=s-secret&refresh_token=r-secret&device_code=d-secret&password=p-secret&client_assertion=a-secret&future_param=f-secret".into(),
        };
        let line = trace_request(&request);
        for secret in ["c-secret", "v-secret", "s-secret", "r-secret", "d-secret", "p-secret", "a-secret", "f-secret", "czNjcjN0"]
        {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
        for shown in [
            "-> POST https://as.example.com/token?code=[redacted]&scope=openid",
            "grant_type=authorization_code",
            "client_id=cli",
            "Content-Type: application/x-www-form-urlencoded",
            "Authorization: [redacted]",
        ] {
            assert!(line.contains(shown), "{shown} missing from {line}");
        }
        let response = HttpResponse {
            id: 1,
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into()), ("Set-Cookie".into(), "sid=k-secret".into())],
            body: r#"{"access_token":"at-secret","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-secret","id_token":"it-secret","scope":"openid","session_token":"st-secret","device_code":"dc-secret","user_code":"WDJB-MJHT","nested":{"api_key":"k2-secret"},"note":"\u001b[2J"}"#.into(),
        };
        let line = trace_response(&response);
        for secret in ["at-secret", "rt-secret", "it-secret", "st-secret", "dc-secret", "k-secret", "k2-secret"] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
        for shown in [
            "<- 200",
            "Content-Type: application/json",
            "token_type: \"Bearer\"",
            "expires_in: 3600",
            "user_code: \"WDJB-MJHT\"",
            "nested: {1 members}",
            "access_token: [redacted]",
        ] {
            assert!(line.contains(shown), "{shown} missing from {line}");
        }
        assert!(!line.chars().any(|c| c.is_control() && c != '\n'), "{line:?}");
        let html = HttpResponse { id: 1, status: 502, headers: vec![], body: "<html>echo: rt-secret</html>".into() };
        assert_eq!(trace_response(&html), "<- 502\n   (28 bytes, not a JSON object: not shown)");
    }

    fn resp(status: u16, ct: &str, body: &str) -> HttpResponse {
        HttpResponse { id: 1, status, headers: vec![("Content-Type".into(), ct.into())], body: body.into() }
    }

    #[test]
    fn too_many_requests_is_try_later_whatever_the_body_and_says_retry_after() {
        let with = |status: u16, body: &str, retry_after: Option<&str>| {
            let mut r = resp(status, "application/json", body);
            if let Some(v) = retry_after {
                r.headers.push(("Retry-After".into(), v.into()));
            }
            r.oauth_fields().unwrap_err()
        };
        for body in [r#"{"error":"invalid_request"}"#, r#"{"error":"rate_limited"}"#, r#"{}"#, "{"] {
            let e = with(429, body, Some("30"));
            assert_eq!(e.exit_code(), 4, "{body}: {e:?}");
            assert_eq!(e.retry_after.as_deref(), Some("30"), "{body}");
            assert!(e.message.contains("wait 30 seconds"), "{}", e.message);
        }
        let e = with(503, r#"{"error":"temporarily_unavailable"}"#, Some("Wed, 21 Oct 2026 07:28:00 GMT"));
        assert_eq!(e.exit_code(), 4);
        assert!(e.message.contains("until Wed, 21 Oct 2026 07:28:00 GMT"), "{}", e.message);
        // A hostile header value is cleaned and cut.
        let e = with(429, "{}", Some("1\u{1b}[2J"));
        assert!(!e.message.chars().any(char::is_control) && !e.retry_after.unwrap().chars().any(char::is_control));
        // No Retry-After, or not a 429/503: nothing added.
        assert_eq!(with(429, "{}", None).retry_after, None);
        assert_eq!(with(400, r#"{"error":"invalid_request"}"#, Some("5")).retry_after, None);
    }

    #[test]
    fn json_form_and_html() {
        assert_eq!(resp(200, "application/json", r#"{"a":1}"#).fields().unwrap()["a"], 1);
        let f = resp(200, "application/x-www-form-urlencoded", "access_token=x&expires_in=5").fields().unwrap();
        assert_eq!(f["expires_in"], "5");
        let f = resp(200, "text/plain", "access_token=x&scope=repo%2Cgist").fields().unwrap();
        assert_eq!(f["scope"], "repo,gist");
        let e = resp(502, "text/html", "<html><body>Bad Gateway</body></html>").oauth_fields().unwrap_err();
        assert_eq!(e.code, "response_not_json");
        assert_eq!(e.status, Some(502));
        assert!(e.excerpt.unwrap().contains("Bad Gateway"));
    }

    #[test]
    fn broken_token_responses_are_never_quoted() {
        // Found in review: each of these used to come back with the tokens in `excerpt`.
        let bodies = [
            ("application/json", "{\"access_token\":\"gho_SECRET\",\"token_type\":\"bearer\"}<br>Warning: x"),
            ("text/plain", "access_token=gho_SECRET&scope=repo gist"),
            ("text/html", "<p>refresh_token: ghr_SECRET</p>"),
        ];
        for (ct, body) in bodies {
            let e = resp(200, ct, body).oauth_fields().unwrap_err();
            assert_eq!(e.code, "response_not_json");
            assert_eq!(e.excerpt, None, "{body}");
            assert!(!format!("{e:?}").contains("SECRET"));
        }
        // A BOM before JSON is tolerated.
        let ok = resp(200, "application/json", "\u{feff}{\"a\":1}").fields().unwrap();
        assert_eq!(ok["a"], 1);
    }

    #[test]
    fn error_with_200() {
        let e = resp(200, "application/json", r#"{"error":"authorization_pending"}"#).oauth_fields().unwrap_err();
        assert!(e.is_oauth("authorization_pending"));
    }

    #[test]
    fn retry_after_forms() {
        let mut r = resp(429, "application/json", "{}");
        r.headers.push(("Retry-After".into(), "7".into()));
        assert_eq!(r.retry_after(1000), Some(8000));
        r.headers[1].1 = "Sun, 06 Nov 1994 08:49:37 GMT".into();
        assert_eq!(r.retry_after(0), Some(784_111_777_000));
        r.headers[1].1 = "soon".into();
        assert_eq!(r.retry_after(0), None);
        // RFC 9110 §5.6.7: a four-digit year (found by fuzzing: a huge year overflowed).
        r.headers[1].1 = "Sun, 06 Nov 99999999999999 08:49:37 GMT".into();
        assert_eq!(r.retry_after(0), None);
    }

    #[test]
    fn seconds() {
        let f: Map<String, Value> = serde_json::from_str(r#"{"a":3600,"b":"60","c":"soon","d":-1,"e":1.5}"#).unwrap();
        assert_eq!(opt_seconds(&f, "a", 200).unwrap(), Some(3600));
        assert_eq!(opt_seconds(&f, "b", 200).unwrap(), Some(60));
        assert!(opt_seconds(&f, "c", 200).is_err());
        assert!(opt_seconds(&f, "d", 200).is_err());
        assert_eq!(opt_seconds(&f, "e", 200).unwrap(), Some(1));
        assert_eq!(opt_seconds(&f, "z", 200).unwrap(), None);
    }

    #[test]
    fn debug_redacts() {
        let r = HttpRequest {
            id: 1,
            method: Method::Post,
            url: "https://as/token".into(),
            headers: vec![("Authorization".into(), "Basic c2VjcmV0".into())],
            body: "client_secret=hunter2".into(),
        };
        let d = format!("{r:?}");
        assert!(!d.contains("hunter2") && !d.contains("c2VjcmV0"));
    }
}
