//! The grants that are one token request: client credentials (RFC 6749 §4.4), resource
//! owner password (RFC 6749 §4.3, legacy, opt-in) and refresh (RFC 6749 §6).
//!
//! | state | poll | on response |
//! |---|---|---|
//! | `Start` | `SendRequest` (token endpoint) | — |
//! | `Requested` | `AwaitResponse` | 2xx token response → `Persist`, `Done{tokens}`; error → `Failed` |

use crate::config::{Client, ServerMetadata};
use crate::credential::{Credential, CredentialData, Grant};
use crate::error::Error;
use crate::flow::{Action, Exchange, Machine, Outcome};
use crate::http::{HttpResponse, Method};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::secret::Secret;
use crate::token::TokenSet;
use serde::Serialize;

/// Client credentials grant (RFC 6749 §4.4): for CI and machines, with a confidential client.
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ClientCredentialsConfig {
    /// The server (needs `token_endpoint`).
    pub server: ServerMetadata,
    /// The client; must authenticate (`client_secret_basic` or `client_secret_post`).
    pub client: Client,
    /// The scope to request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 8707 resource indicators.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(default))]
    pub resource: Vec<String>,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

/// Resource owner password credentials grant (RFC 6749 §4.3). Legacy: the user's password
/// passes through the CLI. Refused unless `enable_password_grant` is true.
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct PasswordConfig {
    /// The server (needs `token_endpoint`).
    pub server: ServerMetadata,
    /// The client.
    pub client: Client,
    /// The resource owner's username.
    pub username: String,
    /// The resource owner's password.
    pub password: Secret,
    /// The scope to request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 8707 resource indicators (§2.2: on the token request, for any grant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(default))]
    pub resource: Vec<String>,
    /// Must be true: the caller opts in to this legacy grant explicitly.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub enable_password_grant: bool,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

/// Refresh grant (RFC 6749 §6) for a stored OAuth credential.
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct RefreshConfig {
    /// The server (needs `token_endpoint`).
    pub server: ServerMetadata,
    /// The client the credential was issued to.
    pub client: Client,
    /// The stored credential; it must hold a refresh token.
    pub credential: Credential,
    /// A narrower scope to request; it must be within the granted scope (RFC 6749 §6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 8707 resource indicators.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(default))]
    pub resource: Vec<String>,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

deserialize_via_value!(
    ClientCredentialsConfig => ClientCredentialsConfig::read,
    PasswordConfig => PasswordConfig::read,
    RefreshConfig => RefreshConfig::read,
);

impl ClientCredentialsConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(ClientCredentialsConfig {
            server: ServerMetadata::read(o.object("server")?)?,
            client: Client::read(o.object("client")?)?,
            scope: o.opt_str("scope")?,
            resource: o.strings("resource")?,
            allow_insecure_http: o.flag("allow_insecure_http")?,
        })
    }
}

impl PasswordConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(PasswordConfig {
            server: ServerMetadata::read(o.object("server")?)?,
            client: Client::read(o.object("client")?)?,
            username: o.str("username")?,
            password: o.str("password")?.into(),
            scope: o.opt_str("scope")?,
            resource: o.strings("resource")?,
            enable_password_grant: o.flag("enable_password_grant")?,
            allow_insecure_http: o.flag("allow_insecure_http")?,
        })
    }
}

impl RefreshConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(RefreshConfig {
            server: ServerMetadata::read(o.object("server")?)?,
            client: Client::read(o.object("client")?)?,
            credential: Credential::read(o.object("credential")?)?,
            scope: o.opt_str("scope")?,
            resource: o.strings("resource")?,
            allow_insecure_http: o.flag("allow_insecure_http")?,
        })
    }
}

/// A one-request token grant (see the module docs).
#[derive(Debug, Clone)]
pub struct TokenGrant {
    ex: Exchange,
    token_endpoint: String,
    client: Client,
    issuer: String,
    grant: Grant,
    /// The grant's parameters; values may be secrets (password, refresh token).
    params: Vec<(&'static str, Secret)>,
    requested_scope: Option<String>,
    previous: Option<TokenSet>,
    /// For a refresh: the scope of the grant (kept in the record unchanged).
    granted_scope: Option<String>,
    sent: bool,
}

impl TokenGrant {
    fn new(
        server: &ServerMetadata,
        client: Client,
        allow_insecure_http: bool,
        grant: Grant,
        params: Vec<(&'static str, Secret)>,
        requested_scope: Option<String>,
        previous: Option<TokenSet>,
    ) -> Result<Self, Error> {
        client.validate()?;
        let endpoint = server.required_endpoint(&server.token_endpoint, "token_endpoint", allow_insecure_http)?;
        Ok(TokenGrant {
            ex: Exchange::new(),
            token_endpoint: endpoint.to_string(),
            client,
            issuer: server.issuer.clone(),
            grant,
            params,
            requested_scope,
            previous,
            granted_scope: None,
            sent: false,
        })
    }

    /// A client credentials grant.
    ///
    /// # Errors
    /// `public_client_not_allowed` for a client without a secret; the config checks.
    pub fn client_credentials(config: ClientCredentialsConfig) -> Result<Self, Error> {
        if config.client.auth == crate::config::ClientAuth::None {
            return Err(Error::usage(
                "public_client_not_allowed",
                "The client credentials grant needs a confidential client: give the client secret (TERMAUTH_CLIENT_SECRET or the app's variable).",
            ));
        }
        let mut params = vec![("grant_type", Secret::new(Grant::ClientCredentials.grant_type()))];
        crate::config::check_resources(&config.resource)?;
        params.extend(scope_and_resources(config.scope.as_deref(), &config.resource));
        TokenGrant::new(
            &config.server,
            config.client,
            config.allow_insecure_http,
            Grant::ClientCredentials,
            params,
            config.scope,
            None,
        )
    }

    /// A resource owner password grant.
    ///
    /// # Errors
    /// `password_grant_disabled` unless enabled; the config checks.
    pub fn password(config: PasswordConfig) -> Result<Self, Error> {
        if !config.enable_password_grant {
            return Err(Error::usage(
                "password_grant_disabled",
                "The password grant is disabled: it sends the user's password through the CLI. Prefer the device or browser login; enable it explicitly only for servers that offer nothing else.",
            ));
        }
        let mut params = vec![
            ("grant_type", Secret::new(Grant::Password.grant_type())),
            ("username", Secret::new(config.username.clone())),
            ("password", config.password.clone()),
        ];
        crate::config::check_resources(&config.resource)?;
        params.extend(scope_and_resources(config.scope.as_deref(), &config.resource));
        TokenGrant::new(&config.server, config.client, config.allow_insecure_http, Grant::Password, params, config.scope, None)
    }

    /// A refresh grant.
    ///
    /// # Errors
    /// `no_refresh_token`, `client_mismatch`, `scope_not_granted`; the config checks.
    pub fn refresh(config: RefreshConfig) -> Result<Self, Error> {
        let CredentialData::OAuth { issuer, client_id, grant, tokens, granted_scope } = &config.credential.data else {
            return Err(Error::usage("no_refresh_token", "An API key cannot be refreshed."));
        };
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Err(Error::usage("no_refresh_token", "The credential has no refresh token; log in again.")
                .with_hint(crate::Hint::Reauthenticate));
        };
        if *client_id != config.client.client_id {
            return Err(Error::usage(
                "client_mismatch",
                "The credential was issued to a different client ID than the one configured; refresh it with the client it was issued to.",
            ));
        }
        // Never send a refresh token to a server other than the one that issued it.
        if *issuer != config.server.issuer {
            return Err(Error::usage(
                "issuer_mismatch",
                format!(
                    "The credential was issued by `{}`, not by the configured issuer `{}`; it is not sent elsewhere.",
                    crate::http::short(issuer),
                    crate::http::short(&config.server.issuer)
                ),
            ));
        }
        // RFC 6749 §6: the requested scope MUST NOT include any scope not originally
        // granted — the grant's scope, not the (possibly narrowed) access token's.
        let granted = granted_scope.clone().or_else(|| tokens.scope.clone());
        if let (Some(narrow), Some(granted)) = (&config.scope, &granted)
            && let Some(extra) = crate::token::scopes_missing(narrow, granted).first()
        {
            return Err(Error::usage(
                "scope_not_granted",
                format!(
                    "A refresh can only ask for scopes the login granted; `{}` was not granted. Log in again with the wider scope.",
                    crate::http::short(extra)
                ),
            ));
        }
        // §6: an omitted scope "is treated as equal to the scope originally granted"; §5.1:
        // a response without `scope` has the requested one.
        let requested_scope = config.scope.clone().or_else(|| granted.clone());
        let mut params = vec![("grant_type", Secret::new("refresh_token")), ("refresh_token", refresh_token)];
        crate::config::check_resources(&config.resource)?;
        params.extend(scope_and_resources(config.scope.as_deref(), &config.resource));
        let mut flow = TokenGrant::new(
            &config.server,
            config.client,
            config.allow_insecure_http,
            *grant,
            params,
            requested_scope,
            Some(tokens.clone()),
        )?;
        flow.granted_scope = granted;
        Ok(flow)
    }
}

/// `scope` and repeated RFC 8707 `resource` parameters.
pub(crate) fn scope_and_resources(scope: Option<&str>, resource: &[String]) -> Vec<(&'static str, Secret)> {
    let mut params = Vec::new();
    if let Some(scope) = scope.filter(|s| !s.is_empty()) {
        params.push(("scope", Secret::new(scope)));
    }
    for r in resource {
        params.push(("resource", Secret::new(r.clone())));
    }
    params
}

impl Machine for TokenGrant {
    fn exchange(&mut self) -> &mut Exchange {
        &mut self.ex
    }

    fn step(&mut self, _now_ms: u64) -> Option<Action> {
        if self.sent {
            // A response always finishes the flow, so this is unreachable in practice.
            self.ex.fail(Error::usage("internal_error", "The token request was already sent."));
            return None;
        }
        self.sent = true;
        let params: Vec<(&str, &str)> = self.params.iter().map(|(k, v)| (*k, v.expose())).collect();
        let (headers, body) = self.client.form_post(&params);
        self.ex.send(Method::Post, self.token_endpoint.clone(), headers, body);
        None
    }

    fn on_response(&mut self, resp: HttpResponse, now_ms: u64) {
        match TokenSet::from_response(&resp, self.requested_scope.as_deref(), now_ms) {
            Ok(tokens) => {
                let tokens = match &self.previous {
                    Some(previous) => tokens.rotated(previous),
                    None => tokens,
                };
                let granted_scope = self.granted_scope.clone();
                persist_and_finish(&mut self.ex, &self.issuer, &self.client.client_id, self.grant, tokens, granted_scope, now_ms);
            }
            Err(error) => {
                // A refresh carries the login's grant (for the record) and the previous tokens.
                let grant_type = if self.previous.is_some() { "refresh_token" } else { self.grant.grant_type() };
                self.ex.fail(error.for_grant(grant_type))
            }
        }
    }
}

/// The end of every successful grant: persist the credential, then report the tokens.
/// `granted_scope` is the grant's scope when it differs from the token's (after a
/// narrowing refresh); `None` for a new login, whose token scope is the grant's.
pub(crate) fn persist_and_finish(
    ex: &mut Exchange,
    issuer: &str,
    client_id: &str,
    grant: Grant,
    tokens: TokenSet,
    granted_scope: Option<String>,
    now_ms: u64,
) {
    let granted_scope = granted_scope.filter(|g| Some(g) != tokens.scope.as_ref());
    let credential = Credential::new(
        CredentialData::OAuth {
            issuer: issuer.to_string(),
            client_id: client_id.to_string(),
            grant,
            tokens: tokens.clone(),
            granted_scope,
        },
        now_ms,
    );
    ex.emit(Action::Persist { credential });
    ex.finish(Outcome::Tokens { tokens });
}
