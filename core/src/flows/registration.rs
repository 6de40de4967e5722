//! Dynamic client registration for a native app (RFC 7591, RFC 8252 §8.4; MCP
//! authorization, "Dynamic Client Registration").
//!
//! | state | poll | on response |
//! |---|---|---|
//! | `Start` | `SendRequest` POST the client metadata to `registration_endpoint` | 2xx with a usable `client_id` → `Done{registration}`; `invalid_client_metadata` while asking for the device grant → `Start` once more without it; otherwise `Failed` |
//!
//! termauth decides the metadata, so every language registers the same client: a public
//! (`token_endpoint_auth_method: none`) `native` application with the loopback redirect
//! URIs given, `authorization_code` and `refresh_token`, and the device grant when the
//! server has a device authorization endpoint (a registered client may use only the grants
//! it registered, so a device login on a headless host needs it).
//!
//! Every member of the answer that is kept is checked, since they go into requests, files
//! and terminals: `client_id`, a secret, grant types and the registration access token
//! visible ASCII, redirect URIs valid URLs, `registration_client_uri` on the registration
//! endpoint's origin. The server may change what was asked (RFC 7591 §3.2.1), but a
//! registration that could not finish a login (no redirect URI or `authorization_code`
//! grant asked for, an authentication method termauth cannot use, an expired secret) is
//! refused.

use crate::config::ServerMetadata;
use crate::credential::Grant;
use crate::error::{Error, Hint};
use crate::flow::{Action, Exchange, Machine, Outcome};
use crate::http::{HttpResponse, Method, opt_str, req_str, short};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::secret::Secret;
use crate::token::token_syntax_error;
use serde::Serialize;
use serde_json::Value;

/// Configuration of a registration.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct RegistrationConfig {
    /// The server (needs `registration_endpoint`).
    pub server: ServerMetadata,
    /// The name the authorization server shows the user on its consent page.
    pub client_name: String,
    /// The loopback redirect URIs (RFC 8252 §7.3); empty for a device-only client.
    #[cfg_attr(feature = "schema", schemars(default))]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// The scope the client will ask for (RFC 7591 §2 `scope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// An initial access token, for servers that do not take open registration (RFC 7591 §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_access_token: Option<Secret>,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

/// A registered client (RFC 7591 §3.2.1), as the session stores it per issuer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ClientRegistration {
    /// The authorization server it is registered with.
    pub issuer: String,
    /// The client ID.
    pub client_id: String,
    /// A secret, when the server made the client confidential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// When the secret expires (Unix milliseconds; absent or 0: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// How the client authenticates at the token endpoint.
    pub token_endpoint_auth_method: String,
    /// The redirect URIs registered.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub redirect_uris: Vec<String>,
    /// The grant types registered.
    pub grant_types: Vec<String>,
    /// For reading or updating the registration later (RFC 7592).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<Secret>,
    /// Where the registration can be read or updated (RFC 7592).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_client_uri: Option<String>,
    /// When it was registered (Unix milliseconds).
    pub registered_at: u64,
}

deserialize_via_value!(RegistrationConfig => RegistrationConfig::read, ClientRegistration => ClientRegistration::read);

impl RegistrationConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(RegistrationConfig {
            server: ServerMetadata::read(o.object("server")?)?,
            client_name: o.str("client_name")?,
            redirect_uris: o.opt_strings("redirect_uris")?.unwrap_or_default(),
            scope: o.opt_str("scope")?,
            initial_access_token: o.opt_str("initial_access_token")?.map(Secret::new),
            allow_insecure_http: o.flag("allow_insecure_http")?,
        })
    }
}

impl ClientRegistration {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(ClientRegistration {
            issuer: o.str("issuer")?,
            client_id: o.str("client_id")?,
            client_secret: o.opt_str("client_secret")?.map(Secret::new),
            client_secret_expires_at: o.opt_uint("client_secret_expires_at")?,
            token_endpoint_auth_method: o.str_or("token_endpoint_auth_method", "none")?,
            redirect_uris: o.opt_strings("redirect_uris")?.unwrap_or_default(),
            grant_types: o.strings("grant_types")?,
            registration_access_token: o.opt_str("registration_access_token")?.map(Secret::new),
            registration_client_uri: o.opt_str("registration_client_uri")?,
            registered_at: o.uint("registered_at")?,
        })
    }

    /// Whether the device grant was registered (a device login is possible).
    pub fn has_device_grant(&self) -> bool {
        self.grant_types.iter().any(|g| g == Grant::DeviceCode.grant_type())
    }
}

/// The registration flow.
#[derive(Debug, Clone)]
pub struct Registration {
    ex: Exchange,
    config: RegistrationConfig,
    endpoint: String,
    grant_types: Vec<String>,
    /// The request has been sent once with the device grant and refused for its metadata.
    retried: bool,
    sent: bool,
}

impl Registration {
    /// A registration flow.
    ///
    /// # Errors
    /// `missing_endpoint` (the server does not offer registration), an unusable endpoint,
    /// an empty client name, or a redirect URI that is not a loopback http one.
    pub fn new(config: RegistrationConfig) -> Result<Self, Error> {
        let endpoint = config.server.extra.get("registration_endpoint").and_then(Value::as_str).map(String::from);
        let url = config.server.required_endpoint(&endpoint, "registration_endpoint", config.allow_insecure_http)?;
        if config.client_name.trim().is_empty() {
            return Err(Error::usage("invalid_client_name", "The client name to register must not be empty."));
        }
        for uri in &config.redirect_uris {
            // RFC 8252 §7.3: a native app's redirect is http on a loopback address.
            let ok = crate::uri::parse(uri).is_ok_and(|u| u.scheme() == "http" && crate::uri::is_loopback(&u));
            if !ok {
                return Err(Error::usage(
                    "invalid_redirect_uri",
                    format!("A redirect URI to register must be http on a loopback address (RFC 8252 §7.3): {}", short(uri)),
                ));
            }
        }
        if config.redirect_uris.is_empty() && config.server.device_authorization_endpoint.is_none() {
            return Err(Error::usage(
                "invalid_registration",
                "A client registered without a redirect URI needs the device grant, and this server has no device authorization endpoint: give a loopback redirect URI.",
            ));
        }
        let mut grant_types = Vec::new();
        if !config.redirect_uris.is_empty() {
            grant_types.push("authorization_code".to_string());
        }
        grant_types.push("refresh_token".to_string());
        if config.server.device_authorization_endpoint.is_some() {
            grant_types.push(Grant::DeviceCode.grant_type().to_string());
        }
        Ok(Registration { ex: Exchange::new(), endpoint: url.to_string(), config, grant_types, retried: false, sent: false })
    }

    /// The client metadata sent (RFC 7591 §2), members in a fixed order (a struct, not a
    /// map: the body is the same bytes in every build and language).
    fn metadata(&self) -> String {
        #[derive(Serialize)]
        struct ClientMetadata<'a> {
            client_name: &'a str,
            application_type: &'static str,
            token_endpoint_auth_method: &'static str,
            grant_types: &'a [String],
            response_types: &'static [&'static str],
            redirect_uris: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            scope: Option<&'a str>,
        }
        let c = &self.config;
        let metadata = ClientMetadata {
            client_name: &c.client_name,
            application_type: "native",
            token_endpoint_auth_method: "none",
            grant_types: &self.grant_types,
            response_types: if c.redirect_uris.is_empty() { &[] } else { &["code"] },
            redirect_uris: &c.redirect_uris,
            scope: c.scope.as_deref(),
        };
        serde_json::to_string(&metadata).unwrap_or_default()
    }

    fn read(&self, resp: &HttpResponse, now_ms: u64) -> Result<ClientRegistration, Error> {
        let fields = resp.oauth_fields().map_err(|e| match resp.status {
            // With or without an OAuth error (`invalid_token` for a missing or bad initial
            // access token, RFC 6750 §3.1): the advice is about registering, not about a
            // client secret.
            401 | 403 => Error::protocol(
                "registration_refused",
                Some(resp.status),
                format!(
                    "The authorization server {} refused to register a client (HTTP {}{}). Use a client registered with it (--client-id), or an initial access token.",
                    short(&self.config.server.issuer),
                    resp.status,
                    e.error_description.as_deref().or(e.error.as_deref()).map(|d| format!(", server said: {}", short(d))).unwrap_or_default()
                ),
            )
            .with_hint(Hint::FixConfiguration),
            _ => e,
        })?;
        let status = resp.status;
        let visible = |name: &str, value: &str| match token_syntax_error(value) {
            None => Ok(()),
            Some(_) => Err(Error::protocol(
                "invalid_field",
                Some(status),
                format!(
                    "The registration response's `{name}` is not visible ASCII; it could not be sent or stored safely, so nothing was kept."
                ),
            )),
        };
        let client_id = req_str(&fields, "client_id", status)?;
        visible("client_id", &client_id)?;
        let client_secret = opt_str(&fields, "client_secret", status)?;
        if let Some(secret) = &client_secret {
            visible("client_secret", secret)?;
        }
        let strings = |name: &str| -> Result<Option<Vec<String>>, Error> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().map(String::from))
                    .collect::<Option<Vec<_>>>()
                    .map(Some)
                    .ok_or_else(|| bad_field(name, status)),
                Some(_) => Err(bad_field(name, status)),
            }
        };
        let redirect_uris = strings("redirect_uris")?.unwrap_or_else(|| self.config.redirect_uris.clone());
        if redirect_uris.iter().any(|u| crate::uri::parse(u).is_err()) {
            return Err(unsafe_field("redirect_uris", status));
        }
        let changed = |what: String| {
            Error::protocol(
                "registration_changed",
                Some(status),
                format!("The authorization server registered the client {what}. Use a client registered with it (--client-id)."),
            )
            .with_hint(Hint::FixConfiguration)
        };
        if let Some(missing) = self.config.redirect_uris.iter().find(|u| !redirect_uris.contains(u)) {
            return Err(changed(format!("without the redirect URI {}, so a browser login could not finish", short(missing))));
        }
        let grant_types = strings("grant_types")?.unwrap_or_else(|| self.grant_types.clone());
        if grant_types.iter().any(|g| token_syntax_error(g).is_some()) {
            return Err(unsafe_field("grant_types", status));
        }
        if !self.config.redirect_uris.is_empty() && !grant_types.iter().any(|g| g == "authorization_code") {
            return Err(changed("without the authorization_code grant, so a browser login could not finish".into()));
        }
        // RFC 7591 §2: the default is client_secret_basic; a client given a secret
        // authenticates with it.
        let default_method = if client_secret.is_some() { "client_secret_basic" } else { "none" };
        let method = opt_str(&fields, "token_endpoint_auth_method", status)?.unwrap_or_else(|| default_method.into());
        if !matches!(method.as_str(), "none" | "client_secret_basic" | "client_secret_post")
            || (method != "none") != client_secret.is_some()
        {
            return Err(changed(format!(
                "to authenticate with `{}`{}, which termauth cannot do for it",
                short(&method),
                if client_secret.is_some() { " and a secret" } else { " without a secret" }
            )));
        }
        let expires_at = crate::http::opt_seconds(&fields, "client_secret_expires_at", status)?.map(|s| s.saturating_mul(1000));
        if client_secret.is_some() && expires_at.is_some_and(|at| at != 0 && at <= now_ms) {
            return Err(changed("with a client secret that has already expired (client_secret_expires_at)".into()));
        }
        // RFC 7592: the registration access token goes to this URI only; one on another
        // server than the registration endpoint's is not kept.
        let registration_client_uri = opt_str(&fields, "registration_client_uri", status)?;
        if let Some(uri) = &registration_client_uri {
            let same_origin = crate::uri::origin(uri).is_some() && crate::uri::origin(uri) == crate::uri::origin(&self.endpoint);
            if !same_origin {
                return Err(unsafe_field("registration_client_uri", status));
            }
        }
        let registration_access_token = opt_str(&fields, "registration_access_token", status)?;
        if registration_access_token.as_deref().is_some_and(|t| token_syntax_error(t).is_some()) {
            return Err(unsafe_field("registration_access_token", status));
        }
        Ok(ClientRegistration {
            issuer: self.config.server.issuer.clone(),
            client_id,
            client_secret_expires_at: expires_at,
            client_secret: client_secret.map(Secret::new),
            token_endpoint_auth_method: method,
            redirect_uris,
            grant_types,
            registration_access_token: registration_access_token.map(Secret::new),
            registration_client_uri,
            registered_at: now_ms,
        })
    }
}

/// A member of the registration response that termauth will not store or send: control
/// characters, spaces, or a URL it will not use. The value is not quoted (it may be a secret).
fn unsafe_field(name: &str, status: u16) -> Error {
    Error::protocol(
        "invalid_field",
        Some(status),
        format!(
            "The registration response's `{name}` is not usable (control characters, spaces, or a URL on another server); nothing was kept."
        ),
    )
}

fn bad_field(name: &str, status: u16) -> Error {
    Error::protocol("invalid_field", Some(status), format!("The registration response's `{name}` is not an array of strings."))
}

impl Machine for Registration {
    fn exchange(&mut self) -> &mut Exchange {
        &mut self.ex
    }

    fn step(&mut self, _now_ms: u64) -> Option<Action> {
        if self.sent {
            self.ex.fail(Error::usage("internal_error", "The registration request was already sent."));
            return None;
        }
        self.sent = true;
        let mut headers = vec![("Content-Type".into(), "application/json".into()), ("Accept".into(), "application/json".into())];
        if let Some(token) = &self.config.initial_access_token {
            headers.push(("Authorization".into(), format!("Bearer {}", token.expose())));
        }
        self.ex.send(Method::Post, self.endpoint.clone(), headers, self.metadata());
        None
    }

    fn on_response(&mut self, resp: HttpResponse, now_ms: u64) {
        match self.read(&resp, now_ms) {
            Ok(registration) => self.ex.finish(Outcome::Registration { registration: Box::new(registration) }),
            // Some servers refuse grant types they do not know for dynamically registered
            // clients: without the device grant the browser login still works.
            Err(e)
                if e.code == "invalid_client_metadata"
                    && !self.retried
                    && self.grant_types.iter().any(|g| g == Grant::DeviceCode.grant_type()) =>
            {
                self.retried = true;
                self.sent = false;
                self.grant_types.retain(|g| g != Grant::DeviceCode.grant_type());
            }
            Err(e) => self.ex.fail(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(redirect_uris: &[&str]) -> RegistrationConfig {
        let server: ServerMetadata = serde_json::from_value(serde_json::json!({
            "issuer": "https://as.example", "registration_endpoint": "https://as.example/register",
            "device_authorization_endpoint": "https://as.example/device"
        }))
        .unwrap();
        RegistrationConfig {
            server,
            client_name: "mycli".into(),
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
            scope: None,
            initial_access_token: None,
            allow_insecure_http: false,
        }
    }

    #[test]
    fn only_loopback_http_redirect_uris_are_registered() {
        for bad in ["https://127.0.0.1/cb", "http://example.com/cb", "myapp:/cb", "http://127.0.0.1/\u{1b}[2J"] {
            assert_eq!(Registration::new(config(&[bad])).unwrap_err().code, "invalid_redirect_uri", "{bad:?}");
        }
        let r = Registration::new(config(&["http://127.0.0.1:8400/callback"])).unwrap();
        assert_eq!(r.grant_types, ["authorization_code", "refresh_token", Grant::DeviceCode.grant_type()]);
        let r = Registration::new(config(&[])).unwrap();
        assert!(r.metadata().contains(r#""response_types":[],"redirect_uris":[]"#), "{}", r.metadata());
    }

    #[test]
    fn a_registration_record_debug_hides_its_secrets() {
        let reg = ClientRegistration {
            issuer: "https://as.example".into(),
            client_id: "c".into(),
            client_secret: Some(Secret::new("s3cr3t-value")),
            client_secret_expires_at: None,
            token_endpoint_auth_method: "client_secret_basic".into(),
            redirect_uris: vec![],
            grant_types: vec![],
            registration_access_token: Some(Secret::new("rat-value")),
            registration_client_uri: None,
            registered_at: 1,
        };
        let debug = format!("{reg:?}");
        assert!(!debug.contains("s3cr3t-value") && !debug.contains("rat-value"), "{debug}");
    }
}
