//! Authorization code grant with PKCE for native apps (RFC 6749 §4.1, RFC 7636 `S256`,
//! RFC 8252 loopback redirect), with OIDC `nonce`, RFC 8707 `resource` and RFC 9207 `iss`.
//!
//! | state | poll | on input |
//! |---|---|---|
//! | `Start` | `OpenBrowser{url}` → `Awaiting` | — |
//! | `Awaiting` | `now ≥ until` → `Failed(redirect_timeout)`; else `AwaitRedirect` | `Redirect{url}`: validated in the order below → `Exchanging`; a wrong path, an unparseable URL (control characters and whitespace inside it included) or a missing or wrong `state` (a forged or stale request: one must not end the login) is refused (`handle` errs, the flow keeps waiting); any other failed check → `Failed` |
//! | `Exchanging` | `SendRequest` (token endpoint) / `AwaitResponse` | tokens (nonce checked) → `Persist`, `Done`; error → `Failed` |
//!
//! Callback validation order: (1) the path is the redirect path, (2) `state` matches, in
//! constant time (RFC 6749 §10.12), (3) `iss` equals the issuer when present, and is
//! required when the server advertises `authorization_response_iss_parameter_supported`
//! (RFC 9207 §2.4 — this applies to error responses too, which is why it comes before the
//! `error` check: an error from a mixed-up server must not be believed), (4) an `error`
//! parameter becomes a typed OAuth failure (RFC 6749 §4.1.2.1), (5) a `code` is present.
//! Only then is the code exchanged. The ID token, when one comes back, is checked against
//! OIDC Core §3.1.3.7: `iss`, `aud`, `exp` and `nonce`.

use crate::config::{Client, ServerMetadata};
use crate::credential::Grant;
use crate::encoding::{base64url_decode, form_encode};
use crate::error::{Error, Hint};
use crate::flow::{Action, Exchange, Machine};
use crate::flows::token_grant::persist_and_finish;
use crate::http::{HttpResponse, Method, short};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::pkce;
use crate::rng::Rng;
use crate::secret::Secret;
use crate::token::TokenSet;
use crate::uri::{self, UriError, Url};
use serde::Serialize;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

/// Clock-skew allowance when checking an ID token's `exp`: 5 minutes.
pub const ID_TOKEN_LEEWAY_MS: u64 = 300_000;

/// How long to wait for the browser to come back by default: 5 minutes.
pub const DEFAULT_REDIRECT_TIMEOUT_MS: u64 = 300_000;

/// Parameters the flow sets itself; `extra_params` may not override them.
const RESERVED: [&str; 11] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "login_hint",
    "resource",
];

fn default_host() -> String {
    "127.0.0.1".to_string()
}

fn default_path() -> String {
    "/callback".to_string()
}

/// Authorization code + PKCE configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct AuthorizationCodeConfig {
    /// The server (needs `authorization_endpoint` and `token_endpoint`).
    pub server: ServerMetadata,
    /// The client (usually public).
    pub client: Client,
    /// The scope to request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The port the driver's loopback listener is bound to. The redirect URI is
    /// `http://{redirect_host}:{redirect_port}{redirect_path}` (RFC 8252 §7.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_port: Option<u16>,
    /// The loopback host: `127.0.0.1` (default), `[::1]` or `localhost`.
    #[cfg_attr(feature = "schema", schemars(default = "default_host"))]
    pub redirect_host: String,
    /// The callback path, default `/callback`.
    #[cfg_attr(feature = "schema", schemars(default = "default_path"))]
    pub redirect_path: String,
    /// A complete redirect URI instead of host/port/path, e.g. for paste mode with a
    /// registered page. Must be loopback `http` or `https`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Send an OIDC `nonce` and check it in the ID token. Default: when `scope` has `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<bool>,
    /// RFC 8707 resource indicators.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(default))]
    pub resource: Vec<String>,
    /// OIDC `prompt` (e.g. `login`, `consent`, `select_account`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// OIDC `login_hint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// Other authorization request parameters (e.g. `audience`), passed through.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "schema", schemars(default))]
    pub extra_params: BTreeMap<String, String>,
    /// Only `S256` is accepted; `plain` is refused (RFC 7636 §4.2, RFC 9700 §2.1.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
    /// How long to wait for the redirect.
    #[cfg_attr(feature = "schema", schemars(default = "default_timeout"))]
    pub redirect_timeout_ms: u64,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

fn default_timeout() -> u64 {
    DEFAULT_REDIRECT_TIMEOUT_MS
}

deserialize_via_value!(AuthorizationCodeConfig => AuthorizationCodeConfig::read);

impl AuthorizationCodeConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(AuthorizationCodeConfig {
            server: ServerMetadata::read(o.object("server")?)?,
            client: Client::read(o.object("client")?)?,
            scope: o.opt_str("scope")?,
            redirect_port: o.opt_uint("redirect_port")?,
            redirect_host: o.str_or("redirect_host", &default_host())?,
            redirect_path: o.str_or("redirect_path", &default_path())?,
            redirect_uri: o.opt_str("redirect_uri")?,
            nonce: o.opt_bool("nonce")?,
            resource: o.strings("resource")?,
            prompt: o.opt_str("prompt")?,
            login_hint: o.opt_str("login_hint")?,
            extra_params: o.string_map("extra_params")?,
            code_challenge_method: o.opt_str("code_challenge_method")?,
            redirect_timeout_ms: o.uint_or("redirect_timeout_ms", default_timeout())?,
            allow_insecure_http: o.flag("allow_insecure_http")?,
        })
    }
}

/// A callback that passed every check: the only input the code exchange accepts.
struct ValidatedCallback {
    code: Secret,
}

#[derive(Debug, Clone)]
enum State {
    Start,
    Awaiting { until_ms: u64 },
    Exchanging { code: Secret, sent: bool },
}

/// The authorization code + PKCE flow.
#[derive(Debug, Clone)]
pub struct AuthorizationCodeFlow {
    ex: Exchange,
    state: State,
    config: AuthorizationCodeConfig,
    authorization_endpoint: Url,
    token_endpoint: String,
    /// The redirect URI, and its normalised text (sent and compared byte for byte).
    redirect_uri: Url,
    redirect_uri_text: String,
    oauth_state: Secret,
    code_verifier: Secret,
    nonce: Option<Secret>,
}

impl AuthorizationCodeFlow {
    /// An authorization code flow. `rng` makes `state`, the PKCE verifier and the nonce.
    ///
    /// # Errors
    /// `pkce_plain_refused`, `pkce_s256_unsupported`, `invalid_redirect_uri`,
    /// `missing_redirect_port`, `reserved_parameter`, and the endpoint checks.
    pub fn new(config: AuthorizationCodeConfig, mut rng: Rng) -> Result<Self, Error> {
        config.client.validate()?;
        crate::config::check_resources(&config.resource)?;
        if let Some(m) = &config.code_challenge_method
            && m != "S256"
        {
            return Err(Error::usage(
                "pkce_plain_refused",
                format!("PKCE method `{}` is refused: termauth always uses S256 (RFC 7636 §4.2).", short(m)),
            ));
        }
        if let Some(methods) = &config.server.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(Error::usage(
                "pkce_s256_unsupported",
                "The server does not list S256 in code_challenge_methods_supported; termauth will not use PKCE `plain`. Ask the server's administrator to enable S256.",
            ));
        }
        if let Some(k) = config.extra_params.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err(Error::usage(
                "reserved_parameter",
                format!("`{}` is set by termauth itself; use the matching option instead of extra_params.", short(k)),
            ));
        }
        let s = &config.server;
        let authorization_endpoint =
            s.required_endpoint(&s.authorization_endpoint, "authorization_endpoint", config.allow_insecure_http)?;
        let token_endpoint = s.required_endpoint(&s.token_endpoint, "token_endpoint", config.allow_insecure_http)?.to_string();
        let redirect_uri = redirect_uri(&config)?;
        let redirect_uri_text = redirect_uri.as_str().to_owned();
        // RFC 6749 §10.10 / RFC 7636 §7.1: state and verifier of 256 bits (≥ 128 required).
        let oauth_state = Secret::new(rng.token(32));
        let code_verifier = Secret::new(pkce::new_verifier(&mut rng));
        let wants_nonce =
            config.nonce.unwrap_or_else(|| config.scope.as_deref().is_some_and(|s| s.split_whitespace().any(|x| x == "openid")));
        let nonce = wants_nonce.then(|| Secret::new(rng.token(32)));
        Ok(AuthorizationCodeFlow {
            ex: Exchange::new(),
            state: State::Start,
            config,
            authorization_endpoint,
            token_endpoint,
            redirect_uri,
            redirect_uri_text,
            oauth_state,
            code_verifier,
            nonce,
        })
    }

    /// The redirect URI this flow uses.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri_text
    }

    /// The authorization request URL (RFC 6749 §4.1.1). Query parameters already in the
    /// endpoint URL are kept (§3.1).
    fn authorization_url(&self) -> String {
        let c = &self.config;
        let challenge = pkce::s256_challenge(self.code_verifier.expose());
        let mut params: Vec<(&str, &str)> =
            vec![("response_type", "code"), ("client_id", &c.client.client_id), ("redirect_uri", &self.redirect_uri_text)];
        if let Some(scope) = c.scope.as_deref().filter(|s| !s.is_empty()) {
            params.push(("scope", scope));
        }
        params.push(("state", self.oauth_state.expose()));
        params.push(("code_challenge", &challenge));
        params.push(("code_challenge_method", "S256"));
        if let Some(n) = &self.nonce {
            params.push(("nonce", n.expose()));
        }
        if let Some(p) = &c.prompt {
            params.push(("prompt", p));
        }
        if let Some(h) = &c.login_hint {
            params.push(("login_hint", h));
        }
        for r in &c.resource {
            params.push(("resource", r));
        }
        for (k, v) in &c.extra_params {
            params.push((k, v));
        }
        // Appended as text: the endpoint has no fragment (check_endpoint), and the form
        // encoding leaves nothing for `url` to normalise (one form encoder, not two).
        let endpoint = &self.authorization_endpoint;
        let separator = match endpoint.query() {
            None => "?",
            Some("") => "",
            Some(_) => "&",
        };
        format!("{}{separator}{}", endpoint.as_str(), form_encode(params))
    }

    /// Checks a redirect in the order of the module docs. `Ok(Err(e))` means the flow
    /// fails with `e`; `Err(e)` means the input is refused and the flow keeps waiting.
    fn validate(&self, raw: &str) -> Result<Result<ValidatedCallback, Error>, Error> {
        // A paste may come with spaces or a line break around it; inside, control characters
        // and whitespace are refused like in any URL.
        let raw = raw.trim_ascii();
        let url =
            if raw.starts_with('/') { uri::join_target(&self.redirect_uri, raw) } else { uri::parse(raw) }.map_err(|e| {
                Error::usage(
                    "redirect_url_invalid",
                    format!(
                        "That is not a usable URL ({e}). Paste the whole address from the browser's address bar after the login."
                    ),
                )
            })?;
        // (1) path
        if url.path() != self.redirect_uri.path() {
            return Err(Error::usage(
                "redirect_path_mismatch",
                format!(
                    "The redirect went to `{}`, not to `{}`; paste the address the login page sent the browser to.",
                    short(url.path()),
                    self.redirect_uri.path()
                ),
            ));
        }
        let params: Vec<_> = url.query_pairs().collect();
        let get = |name: &str| -> Option<&str> { params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref()) };
        // (2) state, compared in constant time. A redirect without this login's `state` is
        // refused and the login keeps waiting (RFC 6749 §10.12: it is how a forged or
        // stale request is told apart): any local process can reach the loopback listener,
        // and one forged request must not end the user's login — an error response
        // without the state included.
        let state_ok = get("state").is_some_and(|s| bool::from(s.as_bytes().ct_eq(self.oauth_state.expose().as_bytes())));
        if !state_ok {
            return Err(Error::usage(
                "state_mismatch",
                "This redirect does not belong to the current login (its `state` does not match), so it was ignored: it may be a stale link or a forged request. The login is still waiting for the redirect of the login it started.",
            ));
        }
        // (3) RFC 9207 issuer identification (mix-up defence). §2.4: it applies to error
        // responses too, so it is checked before an `error` is believed.
        let issuer = &self.config.server.issuer;
        match get("iss") {
            Some(iss) if iss != issuer => {
                return Ok(Err(Error::protocol(
                    "issuer_mismatch",
                    None,
                    format!(
                        "The redirect came from issuer `{}`, not `{}` (RFC 9207); it was refused. Run the login again.",
                        short(iss),
                        short(issuer)
                    ),
                )
                .with_hint(Hint::Reauthenticate)));
            }
            None if self.config.server.authorization_response_iss_parameter_supported => {
                return Ok(Err(Error::protocol(
                    "issuer_missing",
                    None,
                    "The server promises an `iss` parameter in its redirects (RFC 9207) but this redirect has none; it was refused. Run the login again.",
                )
                .with_hint(Hint::Reauthenticate)));
            }
            _ => {}
        }
        // (4) error response (RFC 6749 §4.1.2.1)
        if let Some(error) = get("error") {
            return Ok(Err(Error::oauth(error, get("error_description"), get("error_uri"), None)));
        }
        // (5) the code
        match get("code").filter(|c| !c.is_empty()) {
            Some(code) => Ok(Ok(ValidatedCallback { code: Secret::new(code) })),
            None => Ok(Err(Error::protocol(
                "missing_code",
                None,
                "The redirect has neither a `code` nor an `error`. Run the login again.",
            ))),
        }
    }

    /// OIDC Core §3.1.3.7: the ID token's `iss` must be the issuer (step 2), its `aud`
    /// must contain the client ID (step 3), it must not have expired (step 9, with
    /// [`ID_TOKEN_LEEWAY_MS`] for clock skew) and its `nonce` must be the one sent (step 11).
    /// The token came straight from the token endpoint over TLS, which step 6 accepts in
    /// place of checking the signature.
    fn check_id_token(&self, tokens: &TokenSet, status: u16, now_ms: u64) -> Result<(), Error> {
        // Only an OpenID Connect request (scope `openid`) makes promises about the ID token.
        let oidc = self.config.scope.as_deref().is_some_and(|s| s.split_whitespace().any(|x| x == "openid"));
        let (Some(id_token), true) = (&tokens.id_token, oidc) else {
            return Ok(());
        };
        let refuse = |code: &str, what: &str| {
            Err(Error::protocol(code, Some(status), format!("The ID token was refused: {what}. Run the login again."))
                .with_hint(Hint::Reauthenticate))
        };
        let Some(claims) = id_token
            .expose()
            .split('.')
            .nth(1)
            .and_then(base64url_decode)
            // JSON text is UTF-8 (RFC 8259 §8.1); parsing it as a `str` keeps one copy of
            // serde_json's parser in the WebAssembly build instead of two.
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .filter(serde_json::Value::is_object)
        else {
            return refuse("invalid_id_token", "it is not a JWT with a JSON payload");
        };
        if claims.get("iss").and_then(|v| v.as_str()) != Some(self.config.server.issuer.as_str()) {
            return refuse("id_token_issuer_mismatch", "its `iss` is not the issuer");
        }
        let client_id = self.config.client.client_id.as_str();
        let audience_ok = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => a == client_id,
            Some(serde_json::Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(client_id)),
            _ => false,
        };
        if !audience_ok {
            return refuse("id_token_audience_mismatch", "its `aud` does not contain this client ID");
        }
        let exp_ms = claims.get("exp").and_then(|v| v.as_u64()).map(|s| s.saturating_mul(1000));
        if exp_ms.is_none_or(|exp| now_ms >= exp.saturating_add(ID_TOKEN_LEEWAY_MS)) {
            return refuse("id_token_expired", "it has no `exp` or has expired (check this computer's clock)");
        }
        if let Some(nonce) = &self.nonce {
            let ok = claims
                .get("nonce")
                .and_then(|n| n.as_str())
                .is_some_and(|n| bool::from(n.as_bytes().ct_eq(nonce.expose().as_bytes())));
            if !ok {
                return refuse("nonce_mismatch", "its nonce does not match this login");
            }
        }
        Ok(())
    }
}

fn redirect_timeout() -> Error {
    Error::interrupted(
        "redirect_timeout",
        "No redirect arrived from the browser in time. Run the login again (or use the device login where no browser can reach this machine).",
        Hint::Reauthenticate,
    )
}

/// The redirect URI from the configuration (RFC 8252 §7.3 loopback, or an explicit one).
fn redirect_uri(config: &AuthorizationCodeConfig) -> Result<Url, Error> {
    let bad = |why: &dyn std::fmt::Display| Error::usage("invalid_redirect_uri", format!("The redirect URI is unusable: {why}."));
    let use_loopback_or_https = "use http on a loopback address (127.0.0.1, [::1]) or https";
    let unusable = |e: UriError| match e {
        UriError::UnsupportedScheme => bad(&use_loopback_or_https),
        other => bad(&other),
    };
    let url = match (&config.redirect_uri, config.redirect_port) {
        (Some(uri), _) => uri::parse(uri).map_err(unusable)?,
        (None, Some(port)) => {
            if !config.redirect_path.starts_with('/') {
                return Err(bad(&"the path must start with `/`"));
            }
            uri::parse(&format!("http://{}:{port}{}", config.redirect_host, config.redirect_path)).map_err(|e| match e {
                UriError::Control { .. } => bad(&"`redirect_host` or `redirect_path` contains control characters or whitespace"),
                _ => bad(&"bad host or path"),
            })?
        }
        (None, None) => {
            return Err(Error::usage(
                "missing_redirect_port",
                "Give the port the loopback listener is bound to (redirect_port), or a complete redirect_uri.",
            ));
        }
    };
    if url.fragment().is_some() || url.query().is_some() {
        return Err(bad(&"it must not have a query or fragment"));
    }
    match url.scheme() {
        "http" if uri::is_loopback(&url) => Ok(url),
        "https" => Ok(url),
        _ => Err(bad(&use_loopback_or_https)),
    }
}

impl Machine for AuthorizationCodeFlow {
    fn exchange(&mut self) -> &mut Exchange {
        &mut self.ex
    }

    fn step(&mut self, now_ms: u64) -> Option<Action> {
        match &mut self.state {
            State::Start => {
                let url = self.authorization_url();
                self.ex.emit(Action::OpenBrowser { url, redirect_uri: self.redirect_uri_text.clone() });
                self.state = State::Awaiting { until_ms: now_ms.saturating_add(self.config.redirect_timeout_ms) };
                None
            }
            State::Awaiting { until_ms } => {
                if now_ms >= *until_ms {
                    self.ex.fail(redirect_timeout());
                    return None;
                }
                Some(Action::AwaitRedirect { redirect_uri: self.redirect_uri_text.clone(), until_ms: *until_ms })
            }
            State::Exchanging { code, sent } => {
                if *sent {
                    self.ex.fail(Error::usage("internal_error", "The code exchange was already sent."));
                    return None;
                }
                *sent = true;
                let mut params = vec![
                    ("grant_type", Grant::AuthorizationCode.grant_type()),
                    ("code", code.expose()),
                    ("redirect_uri", &self.redirect_uri_text),
                    ("code_verifier", self.code_verifier.expose()),
                ];
                for r in &self.config.resource {
                    params.push(("resource", r));
                }
                let (headers, body) = self.config.client.form_post(&params);
                self.ex.send(Method::Post, self.token_endpoint.clone(), headers, body);
                None
            }
        }
    }

    fn on_redirect(&mut self, url: &str, now_ms: u64) -> Result<(), Error> {
        let State::Awaiting { until_ms } = self.state else {
            return Err(Error::usage("unexpected_input", "This login is not waiting for a redirect (it was already received)."));
        };
        if now_ms >= until_ms {
            // Too late: the same failure a poll at the deadline reports.
            self.ex.fail(redirect_timeout());
            return Ok(());
        }
        match self.validate(url)? {
            Ok(callback) => self.state = State::Exchanging { code: callback.code, sent: false },
            Err(error) => self.ex.fail(error),
        }
        Ok(())
    }

    fn on_response(&mut self, resp: HttpResponse, now_ms: u64) {
        let result = TokenSet::from_response(&resp, self.config.scope.as_deref(), now_ms)
            .map_err(|e| e.for_grant(Grant::AuthorizationCode.grant_type()))
            .and_then(|tokens| self.check_id_token(&tokens, resp.status, now_ms).map(|()| tokens));
        match result {
            Ok(tokens) => {
                let client_id = self.config.client.client_id.clone();
                let issuer = self.config.server.issuer.clone();
                persist_and_finish(&mut self.ex, &issuer, &client_id, Grant::AuthorizationCode, tokens, None, now_ms);
            }
            Err(e) => self.ex.fail(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REDIRECT: &str = "http://127.0.0.1:53682/callback";

    fn config(extra: serde_json::Value) -> Result<AuthorizationCodeFlow, Error> {
        let mut spec = serde_json::json!({
            "server": { "issuer": "https://as.example", "authorization_endpoint": "https://as.example/authorize", "token_endpoint": "https://as.example/token" },
            "client": { "client_id": "cli" },
            "redirect_port": 53682,
        });
        spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let config: AuthorizationCodeConfig = serde_json::from_value(spec).unwrap();
        AuthorizationCodeFlow::new(config, Rng::from_seed([3; 32]))
    }

    /// A flow waiting for its redirect, and its `state`.
    fn waiting() -> (AuthorizationCodeFlow, String) {
        let mut flow = config(serde_json::json!({})).unwrap();
        assert!(flow.step(0).is_none());
        let state = flow.oauth_state.expose().to_string();
        (flow, state)
    }

    fn awaiting(flow: &AuthorizationCodeFlow) -> bool {
        matches!(flow.state, State::Awaiting { .. })
    }

    /// RFC 6749 §3.1: the endpoint's own query is kept; the same text as the url crate's
    /// `query_pairs_mut` would give.
    #[test]
    fn the_authorization_url_keeps_the_endpoints_query() {
        for endpoint in [
            "https://as.example/authorize",
            "https://as.example/authorize?",
            "https://as.example/authorize?tenant=a&x=%20",
            "https://as.example/a?b&",
        ] {
            let server = serde_json::json!({ "issuer": "https://as.example", "authorization_endpoint": endpoint, "token_endpoint": "https://as.example/token" });
            let flow = config(serde_json::json!({ "server": server, "scope": "openid email", "extra_params": { "audience": "https://api.example/ a+b" } })).unwrap();
            let got = flow.authorization_url();
            let mut expected = Url::parse(endpoint).unwrap();
            let query: Vec<(String, String)> = Url::parse(&got).unwrap().query_pairs().into_owned().collect();
            let ours = query.iter().skip_while(|(k, _)| k != "response_type");
            expected.query_pairs_mut().extend_pairs(ours);
            assert_eq!(got, expected.as_str(), "{endpoint}");
            assert!(got.contains("scope=openid+email") && got.contains("audience=https%3A%2F%2Fapi.example%2F+a%2Bb"), "{got}");
        }
    }

    #[test]
    fn callbacks_in_every_accepted_form() {
        for form in [
            format!("{REDIRECT}?code=abc&state={{state}}"),
            format!("  {REDIRECT}?code=abc&state={{state}}\r\n"),
            "/callback?code=abc&state={state}".to_string(),
            "/callback?state={state}&code=abc#".to_string(),
            // WHATWG: a backslash before the query is a slash in an http URL.
            "http:\\\\127.0.0.1:53682\\callback?code=abc&state={state}".to_string(),
            "http://127.0.0.1:53682/x/..\\callback?code=abc&state={state}".to_string(),
        ] {
            let (mut flow, state) = waiting();
            let url = form.replace("{state}", &state);
            flow.on_redirect(&url, 1).unwrap_or_else(|e| panic!("{url:?}: {e:?}"));
            assert!(matches!(flow.state, State::Exchanging { .. }), "{url:?}");
        }
    }

    #[test]
    fn callbacks_with_control_characters_or_whitespace_are_refused() {
        let (mut flow, state) = waiting();
        for c in ["\u{1b}", "\u{1b}[2J", "\u{9b}", "\r", "\n", "\r\nSet-Cookie: a=b", "\t", "\0", "\u{7f}", " ", "\u{85}"] {
            for template in [
                "http://127.0.0.1:53682/callback?code=ab{c}c&state={state}",
                "http://127.0.0.1:53682/call{c}back?code=abc&state={state}",
                "http://127.0.{c}0.1:53682/callback?code=abc&state={state}",
                "http://127.0.0.1:53682/callback?code=abc&state={state}#{c}x",
                "/callback?code=ab{c}c&state={state}",
                "/callback{c}?code=abc&state={state}",
            ] {
                let url = template.replace("{c}", c).replace("{state}", &state);
                let e = flow.on_redirect(&url, 1).unwrap_err();
                assert_eq!((e.kind, e.code.as_str()), (crate::ErrorKind::Usage, "redirect_url_invalid"), "{url:?}");
                assert!(e.message.contains("at character"), "{url:?}: {}", e.message);
                assert!(!e.message.contains(&state) && !e.message.contains("abc"), "the redirect is quoted: {}", e.message);
                assert!(awaiting(&flow), "a refused redirect changed the flow: {url:?}");
            }
        }
        // Still waiting, and the real redirect goes through.
        flow.on_redirect(&format!("{REDIRECT}?code=abc&state={state}"), 1).unwrap();
        assert!(matches!(flow.state, State::Exchanging { .. }));
    }

    #[test]
    fn callbacks_that_are_not_urls_or_go_elsewhere_are_refused() {
        let (mut flow, state) = waiting();
        for (url, code) in [
            ("callback?code=abc&state={state}", "redirect_url_invalid"),
            ("\\callback?code=abc&state={state}", "redirect_url_invalid"),
            ("http://127.1:53682/callback?code=abc&state={state}", "redirect_url_invalid"),
            ("http://u:p@127.0.0.1:53682/callback?code=abc&state={state}", "redirect_url_invalid"),
            ("/\\callback?code=abc&state={state}", "redirect_path_mismatch"),
            ("/callback/?code=abc&state={state}", "redirect_path_mismatch"),
        ] {
            let url = url.replace("{state}", &state);
            assert_eq!(flow.on_redirect(&url, 1).unwrap_err().code, code, "{url:?}");
            assert!(awaiting(&flow));
        }
    }

    #[test]
    fn redirect_uri_configuration_with_control_characters_is_refused() {
        for c in ["\u{1b}", "\u{9b}", "\r\n", "\t", "\0", "\u{7f}", " "] {
            for (extra, member) in [
                (serde_json::json!({ "redirect_uri": format!("https://app.example/cb{c}") }), "redirect URI"),
                (serde_json::json!({ "redirect_path": format!("/cb{c}") }), "`redirect_path`"),
                (serde_json::json!({ "redirect_host": format!("127.0.0.1{c}") }), "`redirect_host`"),
                (serde_json::json!({ "redirect_host": format!("{c}127.0.0.1") }), "`redirect_host`"),
                (
                    serde_json::json!({ "server": { "issuer": "https://as.example", "authorization_endpoint": format!("https://as.example/auth{c}"), "token_endpoint": "https://as.example/token" } }),
                    "`authorization_endpoint`",
                ),
                (
                    serde_json::json!({ "server": { "issuer": format!("https://as.example{c}"), "authorization_endpoint": "https://as.example/auth", "token_endpoint": "https://as.example/token" } }),
                    "`issuer`",
                ),
            ] {
                let e = config(extra).unwrap_err();
                assert_eq!(e.kind, crate::ErrorKind::Usage, "{member} {c:?}");
                assert!(matches!(e.code.as_str(), "invalid_redirect_uri" | "invalid_endpoint"), "{member} {c:?}: {e:?}");
                let why = ["at character", "control characters or whitespace"];
                assert!(e.message.contains(member) && why.iter().any(|w| e.message.contains(w)), "{member} {c:?}: {}", e.message);
                assert!(!e.message.chars().any(char::is_control), "{:?}", e.message);
            }
        }
    }
}
