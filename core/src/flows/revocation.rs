//! Token revocation (RFC 7009) and introspection (RFC 7662).
//!
//! Revocation sends one request per token, in the order given (logout passes the refresh
//! token first: revoking it usually revokes the access tokens of the same grant, RFC 7009
//! §2.1). A 200 means revoked, whatever the body (§2.2: an invalid token is not an error).
//!
//! | flow | state | poll | on response |
//! |---|---|---|---|
//! | revocation | `Token(i)` | `SendRequest` | 200 → `Token(i+1)` or `Done{revoked}`; error → `Failed` |
//! | introspection | `Start` | `SendRequest` | JSON with boolean `active` → `Done{introspection}`; else `Failed` |

use crate::config::{Client, ServerMetadata};
use crate::error::Error;
use crate::flow::{Action, Exchange, Introspection, Machine, Outcome};
use crate::http::{HttpResponse, Method};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::secret::Secret;
use serde::Serialize;
use serde_json::Value;

/// A token to revoke or introspect, with its optional `token_type_hint`
/// (`refresh_token` or `access_token`, RFC 7009 §2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct TokenToSend {
    /// The token.
    pub token: Secret,
    /// The hint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
}

/// Revocation configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct RevocationConfig {
    /// The server (needs `revocation_endpoint`).
    pub server: ServerMetadata,
    /// The client the tokens were issued to.
    pub client: Client,
    /// The tokens, revoked in this order.
    pub tokens: Vec<TokenToSend>,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

/// Introspection configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct IntrospectionConfig {
    /// The server (needs `introspection_endpoint`).
    pub server: ServerMetadata,
    /// The client (servers usually require a confidential one, RFC 7662 §2.1).
    pub client: Client,
    /// The token to ask about.
    pub token: TokenToSend,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

deserialize_via_value!(
    TokenToSend => TokenToSend::read,
    RevocationConfig => RevocationConfig::read,
    IntrospectionConfig => IntrospectionConfig::read,
);

impl TokenToSend {
    fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(TokenToSend { token: o.str("token")?.into(), token_type_hint: o.opt_str("token_type_hint")? })
    }
}

impl RevocationConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(RevocationConfig {
            server: ServerMetadata::read(o.object("server")?)?,
            client: Client::read(o.object("client")?)?,
            tokens: o.objects("tokens")?.into_iter().map(TokenToSend::read).collect::<Result<_, _>>()?,
            allow_insecure_http: o.flag("allow_insecure_http")?,
        })
    }
}

impl IntrospectionConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(IntrospectionConfig {
            server: ServerMetadata::read(o.object("server")?)?,
            client: Client::read(o.object("client")?)?,
            token: TokenToSend::read(o.object("token")?)?,
            allow_insecure_http: o.flag("allow_insecure_http")?,
        })
    }
}

/// One form POST per token to an endpoint (revocation), or a single one (introspection).
#[derive(Debug, Clone)]
pub struct TokenEndpointCall {
    ex: Exchange,
    endpoint: String,
    client: Client,
    tokens: Vec<TokenToSend>,
    next: usize,
    introspect: bool,
}

impl TokenEndpointCall {
    /// A revocation flow.
    ///
    /// # Errors
    /// No `revocation_endpoint`, no tokens, or a bad client.
    pub fn revocation(config: RevocationConfig) -> Result<Self, Error> {
        config.client.validate()?;
        let server = &config.server;
        let endpoint =
            server.required_endpoint(&server.revocation_endpoint, "revocation_endpoint", config.allow_insecure_http)?;
        if config.tokens.is_empty() {
            return Err(Error::usage("no_token", "Give at least one token to revoke."));
        }
        Ok(TokenEndpointCall {
            ex: Exchange::new(),
            endpoint: endpoint.to_string(),
            client: config.client,
            tokens: config.tokens,
            next: 0,
            introspect: false,
        })
    }

    /// An introspection flow.
    ///
    /// # Errors
    /// No `introspection_endpoint`, or a bad client.
    pub fn introspection(config: IntrospectionConfig) -> Result<Self, Error> {
        config.client.validate()?;
        let server = &config.server;
        let endpoint =
            server.required_endpoint(&server.introspection_endpoint, "introspection_endpoint", config.allow_insecure_http)?;
        Ok(TokenEndpointCall {
            ex: Exchange::new(),
            endpoint: endpoint.to_string(),
            client: config.client,
            tokens: vec![config.token],
            next: 0,
            introspect: true,
        })
    }

    fn on_revocation_response(&mut self, resp: &HttpResponse) {
        if resp.status == 200 {
            if self.next == self.tokens.len() {
                self.ex.finish(Outcome::Revoked { count: self.tokens.len() as u32 });
            }
            return;
        }
        let error = match resp.oauth_fields() {
            Err(e) => e,
            Ok(_) => Error::protocol(
                "unexpected_status",
                Some(resp.status),
                format!("The revocation endpoint answered HTTP {}, not 200.", resp.status),
            ),
        };
        self.ex.fail(error);
    }

    fn on_introspection_response(&mut self, resp: &HttpResponse) {
        let result = resp.oauth_fields().and_then(|mut fields| match fields.remove("active") {
            Some(Value::Bool(active)) => Ok(Introspection { active, fields }),
            _ => Err(Error::protocol(
                "invalid_field",
                Some(resp.status),
                "The introspection response has no boolean `active` (RFC 7662 §2.2).",
            )),
        });
        match result {
            Ok(introspection) => self.ex.finish(Outcome::Introspection { introspection }),
            Err(e) => self.ex.fail(e),
        }
    }
}

impl Machine for TokenEndpointCall {
    fn exchange(&mut self) -> &mut Exchange {
        &mut self.ex
    }

    fn step(&mut self, _now_ms: u64) -> Option<Action> {
        let Some(t) = self.tokens.get(self.next) else {
            self.ex.fail(Error::usage("internal_error", "No token left to send."));
            return None;
        };
        self.next += 1;
        let mut params = vec![("token", t.token.expose())];
        if let Some(hint) = &t.token_type_hint {
            params.push(("token_type_hint", hint));
        }
        let (headers, body) = self.client.form_post(&params);
        self.ex.send(Method::Post, self.endpoint.clone(), headers, body);
        None
    }

    fn on_response(&mut self, resp: HttpResponse, _now_ms: u64) {
        if self.introspect {
            self.on_introspection_response(&resp);
        } else {
            self.on_revocation_response(&resp);
        }
    }
}
