//! [`FlowSpec`]: every flow's configuration in one tagged JSON shape, and [`AnyFlow`],
//! the flow it starts. This is what the bindings and the conversation vectors speak:
//! `{"flow": "device", "server": {…}, "client": {…}, "scope": "…"}`.

use crate::error::Error;
use crate::flow::{Action, Flow, Input};
use crate::flows::*;
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::rng::Rng;
use serde::Serialize;

/// The configuration of any flow, tagged by `flow`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "flow", rename_all = "snake_case")]
pub enum FlowSpec {
    /// Metadata discovery (RFC 8414 / OIDC Discovery).
    Discovery(DiscoveryConfig),
    /// From an MCP server's URL to its resource and authorization server (RFC 9728).
    McpDiscovery(McpDiscoveryConfig),
    /// Dynamic client registration of a native app (RFC 7591).
    Registration(RegistrationConfig),
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

deserialize_via_value!(FlowSpec => FlowSpec::read);

impl FlowSpec {
    fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(match o.tag("flow")?.as_str() {
            "discovery" => FlowSpec::Discovery(DiscoveryConfig::read(o)?),
            "mcp_discovery" => FlowSpec::McpDiscovery(McpDiscoveryConfig::read(o)?),
            "registration" => FlowSpec::Registration(RegistrationConfig::read(o)?),
            "device" => FlowSpec::Device(DeviceConfig::read(o)?),
            "authorization_code" => FlowSpec::AuthorizationCode(AuthorizationCodeConfig::read(o)?),
            "client_credentials" => FlowSpec::ClientCredentials(ClientCredentialsConfig::read(o)?),
            "password" => FlowSpec::Password(PasswordConfig::read(o)?),
            "refresh" => FlowSpec::Refresh(RefreshConfig::read(o)?),
            "revocation" => FlowSpec::Revocation(RevocationConfig::read(o)?),
            "introspection" => FlowSpec::Introspection(IntrospectionConfig::read(o)?),
            "api_key" => FlowSpec::ApiKey(ApiKeyConfig::read(o)?),
            _ => return Err(o.unknown_tag(
                "flow",
                "discovery, mcp_discovery, registration, device, authorization_code, client_credentials, password, refresh, revocation, introspection, api_key",
            )),
        })
    }

    /// Parses a spec from JSON.
    ///
    /// # Errors
    /// `invalid_flow_config`: the position of a JSON syntax error, or the member at fault
    /// (never a value: it can be a secret).
    pub fn from_json(text: &str) -> Result<FlowSpec, Error> {
        let invalid = |why: String| Error::usage("invalid_flow_config", format!("The flow configuration is not valid: {why}."));
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("not JSON at line {} column {}", e.line(), e.column())))?;
        Object::new(value, "it").and_then(FlowSpec::read).map_err(invalid)
    }

    /// Starts the flow. `rng` supplies `state`, the PKCE verifier and the nonce (only the
    /// authorization code flow uses it).
    ///
    /// # Errors
    /// The flow's configuration checks (usage errors).
    pub fn start(self, rng: Rng) -> Result<AnyFlow, Error> {
        Ok(match self {
            FlowSpec::Discovery(c) => AnyFlow::Discovery(Discovery::new(c)?),
            FlowSpec::McpDiscovery(c) => AnyFlow::McpDiscovery(Box::new(McpDiscovery::new(c)?)),
            FlowSpec::Registration(c) => AnyFlow::Registration(Box::new(Registration::new(c)?)),
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

/// Any flow, behind one type (what bindings hold).
#[derive(Debug, Clone)]
pub enum AnyFlow {
    /// Discovery.
    Discovery(Discovery),
    /// MCP discovery.
    McpDiscovery(Box<McpDiscovery>),
    /// Dynamic client registration.
    Registration(Box<Registration>),
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
            AnyFlow::McpDiscovery(f) => f.poll(now_ms),
            AnyFlow::Registration(f) => f.poll(now_ms),
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
            AnyFlow::McpDiscovery(f) => f.handle(input, now_ms),
            AnyFlow::Registration(f) => f.handle(input, now_ms),
            AnyFlow::Device(f) => f.handle(input, now_ms),
            AnyFlow::AuthorizationCode(f) => f.handle(input, now_ms),
            AnyFlow::TokenGrant(f) => f.handle(input, now_ms),
            AnyFlow::TokenEndpointCall(f) => f.handle(input, now_ms),
            AnyFlow::ApiKey(f) => f.handle(input, now_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_member_not_the_value() {
        let e = FlowSpec::from_json(
            r#"{"flow":"client_credentials","server":{"issuer":"https://as"},
            "client":{"client_id":"c","auth":{"method":"client_secret_post","client_secret":12345}}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid_flow_config");
        assert!(e.message.contains("`client.auth.client_secret` must be a string"), "{}", e.message);
        assert!(!e.message.contains("12345"));
        let e = FlowSpec::from_json(r#"{"flow":"device","client":{"client_id":"c"}}"#).unwrap_err();
        assert!(e.message.contains("`server` is missing"), "{}", e.message);
        let e = FlowSpec::from_json(r#"{"flow":"sekrit"}"#).unwrap_err();
        assert!(!e.message.contains("sekrit"));
        assert!(FlowSpec::from_json("{").unwrap_err().message.contains("line 1"));
        let spec: FlowSpec = serde_json::from_str(r#"{"flow":"api_key","key":"k"}"#).unwrap();
        assert_eq!(FlowSpec::from_json(&serde_json::to_string(&spec).unwrap()).unwrap(), spec);
    }
}
