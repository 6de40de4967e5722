//! Configuration shared by the flows: the authorization server's metadata (RFC 8414,
//! discovered or written by hand), the client and how it authenticates, and the rule
//! that every endpoint uses HTTPS unless it is on a loopback address.

use crate::encoding::{basic_authorization, form_encode};
use crate::error::Error;
use crate::http::short;
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::secret::Secret;
pub use crate::uri::is_loopback_host;
use crate::uri::{self, UriError, Url};
use serde::Serialize;
use serde_json::{Map, Value};

/// Authorization server metadata (RFC 8414 §2; OpenID Connect Discovery 1.0 §3).
///
/// Comes from [`crate::flows::Discovery`] or is written by hand for servers without a
/// discovery document ("manual endpoint configuration"). Members this crate does not use
/// are kept in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ServerMetadata {
    /// The issuer identifier.
    pub issuer: String,
    /// The authorization endpoint (authorization code flow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The device authorization endpoint (RFC 8628 §4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// The revocation endpoint (RFC 7009, RFC 8414 §2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The introspection endpoint (RFC 7662, RFC 8414 §2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// RFC 9207 §3: the server sends `iss` in authorization responses, so the client must
    /// require it.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub authorization_response_iss_parameter_supported: bool,
    /// PKCE methods (RFC 7636 §4.3 / RFC 8414); when present it must contain `S256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Grant types the server supports, when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Every other metadata member, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_via_value!(ServerMetadata => ServerMetadata::read, ClientAuth => ClientAuth::read, Client => Client::read);

impl ServerMetadata {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(ServerMetadata {
            issuer: o.str("issuer")?,
            authorization_endpoint: o.opt_str("authorization_endpoint")?,
            token_endpoint: o.opt_str("token_endpoint")?,
            device_authorization_endpoint: o.opt_str("device_authorization_endpoint")?,
            revocation_endpoint: o.opt_str("revocation_endpoint")?,
            introspection_endpoint: o.opt_str("introspection_endpoint")?,
            authorization_response_iss_parameter_supported: o.flag("authorization_response_iss_parameter_supported")?,
            code_challenge_methods_supported: o.opt_strings("code_challenge_methods_supported")?,
            grant_types_supported: o.opt_strings("grant_types_supported")?,
            extra: o.rest(),
        })
    }

    /// The scope a person's login asks for when none is configured: `openid` from an OpenID
    /// Connect server (its `scopes_supported` lists it, OIDC Discovery §3), with
    /// `offline_access` when listed too (OIDC Core §11: a refresh token that outlives the
    /// browser session). Such servers commonly refuse, or deny after approval, a request
    /// without `openid`. `None` for a plain OAuth server: RFC 6749 §3.3 leaves the default
    /// to it.
    pub fn default_scope(&self) -> Option<String> {
        let supported = self.extra.get("scopes_supported")?.as_array()?;
        let has = |scope: &str| supported.iter().any(|s| s.as_str() == Some(scope));
        if !has("openid") {
            return None;
        }
        Some(if has("offline_access") { "openid offline_access" } else { "openid" }.to_string())
    }

    /// Metadata with only an issuer, for manual configuration.
    pub fn new(issuer: impl Into<String>) -> Self {
        ServerMetadata {
            issuer: issuer.into(),
            authorization_endpoint: None,
            token_endpoint: None,
            device_authorization_endpoint: None,
            revocation_endpoint: None,
            introspection_endpoint: None,
            authorization_response_iss_parameter_supported: false,
            code_challenge_methods_supported: None,
            grant_types_supported: None,
            extra: Map::new(),
        }
    }

    /// An endpoint the flow cannot do without, checked with [`check_endpoint`]. The issuer
    /// is checked too: it need not be a URL here, but it must not hold control characters
    /// or whitespace (it is shown to the user and stored with the credential).
    pub(crate) fn required_endpoint(&self, value: &Option<String>, name: &str, allow_insecure_http: bool) -> Result<Url, Error> {
        if let Some((position, found)) = uri::find_control(&self.issuer) {
            return Err(unusable("issuer", UriError::Control { found, position }));
        }
        match value {
            Some(url) => check_endpoint(url, name, allow_insecure_http),
            None => Err(Error::usage(
                "missing_endpoint",
                format!(
                    "The server metadata for {} has no `{name}`; this server does not support this login method, or the manual configuration is missing it.",
                    short(&self.issuer)
                ),
            )),
        }
    }
}

/// How the client authenticates at the token, revocation and introspection endpoints
/// (RFC 6749 §2.3, RFC 8414 `token_endpoint_auth_methods_supported` names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ClientAuth {
    /// A public client (a CLI): `client_id` in the body, no secret.
    #[default]
    None,
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic {
        /// The client secret.
        client_secret: Secret,
    },
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost {
        /// The client secret.
        client_secret: Secret,
    },
}

/// The OAuth client: its identifier and its authentication method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Client {
    /// The client identifier (RFC 6749 §2.2).
    pub client_id: String,
    /// How it authenticates; a public client when absent.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub auth: ClientAuth,
}

impl ClientAuth {
    fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(match o.tag("method")?.as_str() {
            "none" => ClientAuth::None,
            "client_secret_basic" => ClientAuth::ClientSecretBasic { client_secret: o.str("client_secret")?.into() },
            "client_secret_post" => ClientAuth::ClientSecretPost { client_secret: o.str("client_secret")?.into() },
            _ => return Err(o.unknown_tag("method", "none, client_secret_basic, client_secret_post")),
        })
    }
}

impl Client {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        let client_id = o.str("client_id")?;
        let auth = o.opt_object("auth")?.map(ClientAuth::read).transpose()?.unwrap_or_default();
        Ok(Client { client_id, auth })
    }

    /// A public client.
    pub fn public(client_id: impl Into<String>) -> Self {
        Client { client_id: client_id.into(), auth: ClientAuth::None }
    }

    /// The headers and form body for a POST to a token-like endpoint, with this client's
    /// authentication applied. `params` are the grant's own parameters.
    pub(crate) fn form_post(&self, params: &[(&str, &str)]) -> (Vec<(String, String)>, String) {
        let mut headers = vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string()),
        ];
        let mut pairs: Vec<(&str, &str)> = params.to_vec();
        match &self.auth {
            ClientAuth::None => pairs.push(("client_id", &self.client_id)),
            ClientAuth::ClientSecretPost { client_secret } => {
                pairs.push(("client_id", &self.client_id));
                pairs.push(("client_secret", client_secret.expose()));
            }
            ClientAuth::ClientSecretBasic { client_secret } => {
                headers.push(("Authorization".to_string(), basic_authorization(&self.client_id, client_secret.expose())))
            }
        }
        (headers, form_encode(pairs))
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.client_id.chars().any(crate::error::is_unsafe_for_terminal) {
            return Err(Error::usage("invalid_client_id", crate::texts::invalid_identifier("client ID")));
        }
        if self.client_id.is_empty() {
            return Err(Error::usage(
                "missing_client_id",
                "The client ID is empty; set the client ID your authorization server registered for this CLI.",
            ));
        }
        match &self.auth {
            ClientAuth::ClientSecretBasic { client_secret } | ClientAuth::ClientSecretPost { client_secret }
                if client_secret.is_empty() =>
            {
                Err(Error::usage(
                    "missing_client_secret",
                    "The client secret is empty; provide it through the environment or standard input.",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// An endpoint value as an error may quote it: cut short, and not at all when it has an
/// `@` anywhere (`ftp://user:password@host`, `https:user:pw@host`: what looks like user
/// information may be a password, whatever else is wrong with the URL).
fn quoted(value: &str) -> String {
    if value.contains('@') { "(not shown: it may contain a password)".to_string() } else { short(value) }
}

/// Checks resource indicators (RFC 8707 §2): each "MUST be an absolute URI" and "MUST NOT
/// include a fragment component"; any scheme (`urn:`, `https:`) is allowed.
///
/// # Errors
/// `invalid_resource`, naming the indicator by its position (from 1), not quoting it.
pub(crate) fn check_resources(resources: &[String]) -> Result<(), Error> {
    for (i, resource) in resources.iter().enumerate() {
        let scheme = resource.split_once(':').map(|(scheme, _)| scheme);
        let absolute = scheme.is_some_and(|s| {
            s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }) && resource.len() > scheme.map_or(0, str::len) + 1;
        if !absolute || resource.contains('#') || crate::uri::find_control(resource).is_some() {
            return Err(Error::usage("invalid_resource", crate::texts::invalid_resource(i + 1)));
        }
    }
    Ok(())
}

/// `invalid_endpoint` for the URL `name`, naming the member and never quoting the value:
/// for control characters (a terminal would act on them) and user information (a password).
fn unusable(name: &str, e: UriError) -> Error {
    Error::usage("invalid_endpoint", format!("`{name}` is unusable: {e}."))
}

/// Parses an endpoint URL and requires HTTPS, except on loopback addresses or with the
/// explicit `allow_insecure_http` opt-out (meant for tests).
///
/// # Errors
/// `invalid_endpoint` for a URL that does not parse (control characters
/// and whitespace are refused, a non-ASCII host must be written in punycode, user
/// information is refused) or has a fragment; `insecure_endpoint` for plain HTTP to a
/// non-loopback host, or another scheme. The message names the member; it quotes the value
/// only when the value has neither control characters nor user information (a password).
pub fn check_endpoint(value: &str, name: &str, allow_insecure_http: bool) -> Result<Url, Error> {
    let insecure = || {
        Error::usage(
            "insecure_endpoint",
            format!("`{name}` must use https (plain http is allowed only for loopback addresses): {}", quoted(value)),
        )
    };
    let url = uri::parse(value).map_err(|e| match e {
        UriError::UnsupportedScheme => insecure(),
        UriError::NotAbsolute => {
            Error::usage("invalid_endpoint", format!("`{name}` is not a valid absolute URL: {}", quoted(value)))
        }
        UriError::Control { .. } | UriError::UserInfo => unusable(name, e),
        other => Error::usage("invalid_endpoint", format!("`{name}` is unusable ({other}): {}", quoted(value))),
    })?;
    if url.fragment().is_some() {
        return Err(Error::usage("invalid_endpoint", format!("`{name}` must not contain a fragment: {}", quoted(value))));
    }
    if url.scheme() == "http" && !uri::is_loopback(&url) && !allow_insecure_http {
        return Err(insecure());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_with_user_information_is_never_quoted() {
        for value in [
            "ftp://user:hunter2@as.example/",
            "https:user:hunter2@as.example",
            "as.example/user:hunter2@x",
            "http://u:hunter2@as.example.com/",
        ] {
            let e = check_endpoint(value, "issuer", false).unwrap_err();
            assert!(!e.message.contains("hunter2"), "{value}: {}", e.message);
        }
    }

    #[test]
    fn resource_indicators_are_absolute_uris_without_fragments() {
        assert!(check_resources(&["https://api.example.com/".into(), "urn:example:api".into()]).is_ok());
        for bad in ["not a uri", "/relative", "https://api.example.com/#x", "", ":x", "https:", "https://api.example.com/\u{1b}"]
        {
            let e = check_resources(&["https://ok.example/".into(), bad.into()]).unwrap_err();
            assert_eq!(e.code, "invalid_resource", "{bad:?}");
            assert!(e.message.contains("indicator 2"), "{}", e.message);
        }
    }

    #[test]
    fn endpoints() {
        assert!(check_endpoint("https://as.example/token", "t", false).is_ok());
        assert!(check_endpoint("http://127.0.0.1:8080/token", "t", false).is_ok());
        assert!(check_endpoint("http://[::1]:8080/token", "t", false).is_ok());
        assert!(check_endpoint("http://localhost/token", "t", false).is_ok());
        assert_eq!(check_endpoint("http://as.example/token", "t", false).unwrap_err().code, "insecure_endpoint");
        assert!(check_endpoint("http://as.example/token", "t", true).is_ok());
        assert_eq!(check_endpoint("ftp://as.example/", "t", false).unwrap_err().code, "insecure_endpoint");
        assert_eq!(check_endpoint("not a url", "t", false).unwrap_err().code, "invalid_endpoint");
        assert_eq!(check_endpoint("https://as.example/#f", "t", false).unwrap_err().code, "invalid_endpoint");
        let e = check_endpoint("https://bücher.example/token", "t", false).unwrap_err();
        assert_eq!(e.code, "invalid_endpoint");
        assert!(e.message.contains("punycode"));
        let e = check_endpoint("https://u:secret@as.example/", "t", false).unwrap_err();
        assert_eq!(e.code, "invalid_endpoint");
        assert!(!e.message.contains("secret"), "{}", e.message);
        // Shorthand IPv4, which the url crate would read as 127.0.0.1.
        assert_eq!(check_endpoint("http://127.1/token", "t", false).unwrap_err().code, "invalid_endpoint");
    }

    /// Hostile text in every configured URL: the member is named, the value never quoted.
    #[test]
    fn control_characters_in_endpoints_and_the_issuer_are_refused() {
        let hostile = ["\u{1b}[2J", "\u{9b}31m", "\r\nX-Injected: 1", "\t", "\0", "\u{7f}", " ", "\n"];
        for bad in hostile {
            for url in [
                format!("https://as.example/realms/x{bad}y"),
                format!("https://as.example/token?secret=hunter2{bad}"),
                format!("https://as.example/{bad}"),
            ] {
                let e = check_endpoint(&url, "token_endpoint", false).unwrap_err();
                assert_eq!((e.kind, e.code.as_str()), (crate::ErrorKind::Usage, "invalid_endpoint"), "{url:?}");
                assert!(e.message.contains("`token_endpoint`") && e.message.contains("at character"), "{}", e.message);
                assert!(
                    !e.message.contains("hunter2") && !e.message.contains("as.example"),
                    "the value is quoted: {}",
                    e.message
                );
                assert!(!e.message.chars().any(char::is_control), "{:?}", e.message);
            }
            // The issuer of a manual configuration is checked with the first endpoint.
            let mut server = ServerMetadata::new(format!("https://as.example/realms/x{bad}y"));
            server.token_endpoint = Some("https://as.example/token".into());
            let e = server.required_endpoint(&server.token_endpoint, "token_endpoint", false).unwrap_err();
            assert_eq!(e.code, "invalid_endpoint");
            assert!(e.message.contains("`issuer`"), "{}", e.message);
        }
        // Leading and trailing whitespace is refused too, not trimmed.
        assert_eq!(check_endpoint(" https://as.example/token", "t", false).unwrap_err().code, "invalid_endpoint");
        assert_eq!(check_endpoint("https://as.example/token\n", "t", false).unwrap_err().code, "invalid_endpoint");
    }

    #[test]
    fn client_auth_methods() {
        let c = Client { client_id: "cli".into(), auth: ClientAuth::ClientSecretPost { client_secret: "s".into() } };
        let (_, body) = c.form_post(&[("grant_type", "client_credentials")]);
        assert_eq!(body, "grant_type=client_credentials&client_id=cli&client_secret=s");
        let c = Client { client_id: "cli".into(), auth: ClientAuth::ClientSecretBasic { client_secret: "s".into() } };
        let (h, body) = c.form_post(&[("grant_type", "client_credentials")]);
        assert_eq!(body, "grant_type=client_credentials");
        assert!(h.iter().any(|(k, v)| k == "Authorization" && v == "Basic Y2xpOnM="));
    }
}
