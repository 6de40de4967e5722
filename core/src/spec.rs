//! [`FlowSpec`]: every flow's configuration in one tagged JSON shape, and [`AnyFlow`],
//! the flow it starts. This is what the bindings and the conversation vectors speak:
//! `{"flow": "device", "server": {…}, "client": {…}, "scope": "…"}`.

use crate::error::Error;
use crate::flow::{Action, Flow, Input};
use crate::flows::*;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// The configuration of any flow, tagged by `flow`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case")]
pub enum FlowSpec {
    /// Metadata discovery (RFC 8414 / OIDC Discovery).
    Discovery(DiscoveryConfig),
    /// Device authorization grant (RFC 8628).
    Device(DeviceConfig),
    /// Authorization code + PKCE with a loopback or pasted redirect (RFC 8252, RFC 7636).
    AuthorizationCode(AuthorizationCodeConfig),
    /// Client credentials (RFC 6749 §4.4).
    ClientCredentials(ClientCredentialsConfig),
    /// Resource owner password (RFC 6749 §4.3), opt-in.
    Password(PasswordConfig),
    /// Refresh (RFC 6749 §6).
    Refresh(RefreshConfig),
    /// Revocation (RFC 7009).
    Revocation(RevocationConfig),
    /// Introspection (RFC 7662).
    Introspection(IntrospectionConfig),
    /// API key / personal access token.
    ApiKey(ApiKeyConfig),
}

impl FlowSpec {
    /// Parses a spec from JSON.
    ///
    /// # Errors
    /// `invalid_flow_config`, naming the position of the problem (never a value).
    pub fn from_json(text: &str) -> Result<FlowSpec, Error> {
        serde_json::from_str(text).map_err(|e| {
            Error::usage(
                "invalid_flow_config",
                format!("The flow configuration is not valid (line {} column {}): {}", e.line(), e.column(), describe(&e)),
            )
        })
    }

    /// Starts the flow. `rng` supplies `state`, the PKCE verifier and the nonce (only the
    /// authorization code flow uses it).
    ///
    /// # Errors
    /// The flow's configuration checks (usage errors).
    pub fn start(self, rng: Rng) -> Result<AnyFlow, Error> {
        Ok(match self {
            FlowSpec::Discovery(c) => AnyFlow::Discovery(Discovery::new(c)?),
            FlowSpec::Device(c) => AnyFlow::Device(DeviceFlow::new(c)?),
            FlowSpec::AuthorizationCode(c) => AnyFlow::AuthorizationCode(Box::new(AuthorizationCodeFlow::new(c, rng)?)),
            FlowSpec::ClientCredentials(c) => AnyFlow::TokenGrant(TokenGrant::client_credentials(c)?),
            FlowSpec::Password(c) => AnyFlow::TokenGrant(TokenGrant::password(c)?),
            FlowSpec::Refresh(c) => AnyFlow::TokenGrant(TokenGrant::refresh(c)?),
            FlowSpec::Revocation(c) => AnyFlow::TokenEndpointCall(TokenEndpointCall::revocation(c)?),
            FlowSpec::Introspection(c) => AnyFlow::TokenEndpointCall(TokenEndpointCall::introspection(c)?),
            FlowSpec::ApiKey(c) => AnyFlow::ApiKey(ApiKey::new(c)?),
        })
    }
}

/// serde's description of a config error, without quoting values (they can be secrets).
fn describe(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or_default();
    if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        // "invalid type: string \"…\", expected u16": keep only what was expected.
        match msg.split("expected ").nth(1) {
            Some(expected) => format!("a member has the wrong type (expected {expected})"),
            None => "a member has the wrong type".to_string(),
        }
    } else {
        msg.to_string()
    }
}

/// Any flow, behind one type (what bindings hold).
#[derive(Debug, Clone)]
pub enum AnyFlow {
    /// Discovery.
    Discovery(Discovery),
    /// Device.
    Device(DeviceFlow),
    /// Authorization code.
    AuthorizationCode(Box<AuthorizationCodeFlow>),
    /// Client credentials, password or refresh.
    TokenGrant(TokenGrant),
    /// Revocation or introspection.
    TokenEndpointCall(TokenEndpointCall),
    /// API key.
    ApiKey(ApiKey),
}

impl Flow for AnyFlow {
    fn poll(&mut self, now_ms: u64) -> Action {
        match self {
            AnyFlow::Discovery(f) => f.poll(now_ms),
            AnyFlow::Device(f) => f.poll(now_ms),
            AnyFlow::AuthorizationCode(f) => f.poll(now_ms),
            AnyFlow::TokenGrant(f) => f.poll(now_ms),
            AnyFlow::TokenEndpointCall(f) => f.poll(now_ms),
            AnyFlow::ApiKey(f) => f.poll(now_ms),
        }
    }

    fn handle(&mut self, input: Input, now_ms: u64) -> Result<(), Error> {
        match self {
            AnyFlow::Discovery(f) => f.handle(input, now_ms),
            AnyFlow::Device(f) => f.handle(input, now_ms),
            AnyFlow::AuthorizationCode(f) => f.handle(input, now_ms),
            AnyFlow::TokenGrant(f) => f.handle(input, now_ms),
            AnyFlow::TokenEndpointCall(f) => f.handle(input, now_ms),
            AnyFlow::ApiKey(f) => f.handle(input, now_ms),
        }
    }
}
