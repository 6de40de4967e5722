//! From an MCP server's URL to the authorization server that protects it (MCP
//! authorization, revisions 2025-06-18 to 2026-07-28; RFC 9728; RFC 8414).
//!
//! | state | poll | on response |
//! |---|---|---|
//! | `Probe` (skipped when the host passes the `WWW-Authenticate` it saw) | `SendRequest` POST `initialize` to the server URL, no token | 401/403 → the `Bearer` challenge's `resource_metadata` and `scope`; any other answer → no hint. → `ResourceMetadata` |
//! | `ResourceMetadata(i)` | `SendRequest` GET the challenge's URL, else the path-aware then the root `/.well-known/oauth-protected-resource` | a document whose `resource` is this server → `ServerMetadata`; a miss (`Candidates`) → `ResourceMetadata(i+1)`; otherwise `Failed` |
//! | `ServerMetadata(j)` | `SendRequest` GET the issuer's well-known URLs in MCP's order | metadata with the issuer asked for and S256 PKCE → `Done{mcp_server}`; a miss → `ServerMetadata(j+1)`; otherwise `Failed` |
//!
//! What the flow checks, so that a hostile or broken server cannot steer a login:
//! * the protected resource metadata's `resource` is this server (RFC 9728 §3.3: identical;
//!   like both official SDKs, termauth also takes the same origin and query with a path that
//!   is a segment prefix of the server's, e.g. `https://mcp.example.com` for
//!   `https://mcp.example.com/mcp`), and it becomes the RFC 8707 `resource` of every request;
//! * a URL the server names (the metadata's, an authorization server) is https (or loopback
//!   http) and, unless the MCP server is itself local, not on a loopback, private or
//!   link-local address; authorization servers that fail this are dropped, and the one used
//!   is the first left, or the configured `issuer` when it is listed;
//! * scopes (the challenge's, `scopes_supported`) are RFC 6749 §3.3 scope-tokens;
//! * the authorization server metadata's `issuer` is identical to that URL (RFC 8414 §3.3),
//!   and it lists `S256` in `code_challenge_methods_supported` (MCP: a client MUST refuse
//!   to proceed when the member is absent; `assume_pkce` overrides that for servers known to
//!   support PKCE without saying so).

use super::discovery::{Candidates, MetadataDocument, read_metadata, well_known_urls};
use crate::challenge::{BearerChallenge, bearer_challenge};
use crate::config::{ServerMetadata, check_endpoint};
use crate::error::{Error, Hint};
use crate::flow::{Action, Exchange, Machine, Outcome};
use crate::http::{HttpResponse, Method, short};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::uri::Url;
use serde::Serialize;

/// The MCP protocol revision named in the probe's `initialize` request.
pub const MCP_PROTOCOL_VERSION: &str = "2025-11-25";

/// Configuration of the MCP discovery flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct McpDiscoveryConfig {
    /// The MCP server's URL (its streamable HTTP endpoint), e.g. `https://mcp.example.com/mcp`.
    pub server_url: String,
    /// The `WWW-Authenticate` values of a 401 or 403 the host already got from this server:
    /// no probe is sent, and the challenge's `scope` (a step-up) is what the login asks for.
    #[cfg_attr(feature = "schema", schemars(default))]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub www_authenticate: Vec<String>,
    /// The scope the current token was granted (or asked for), on a step-up: the login then
    /// asks for it together with the challenge's scope, so a challenge that names only the
    /// missing scope does not lose the others (MCP authorization, "Step-Up Authorization").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The authorization server to use when the server lists several (it must be listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Take an authorization server whose metadata has no `code_challenge_methods_supported`
    /// as supporting S256 (MCP says to refuse it; some servers support PKCE without saying so).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub assume_pkce: bool,
    /// Allow plain-http URLs on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

deserialize_via_value!(McpDiscoveryConfig => McpDiscoveryConfig::read, McpServer => McpServer::read);

impl McpDiscoveryConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(McpDiscoveryConfig {
            server_url: o.str("server_url")?,
            www_authenticate: o.opt_strings("www_authenticate")?.unwrap_or_default(),
            scope: o.opt_str("scope")?,
            issuer: o.opt_str("issuer")?,
            assume_pkce: o.flag("assume_pkce")?,
            allow_insecure_http: o.flag("allow_insecure_http")?,
        })
    }
}

/// What the flow found: the resource to ask tokens for, and its authorization server.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct McpServer {
    /// The server URL as configured.
    pub server_url: String,
    /// The protected resource's identifier (RFC 9728 `resource`): the RFC 8707 `resource`
    /// of the authorization, token and refresh requests.
    pub resource: String,
    /// Where the protected resource metadata was found.
    pub resource_metadata_url: String,
    /// Every authorization server the resource lists (RFC 9728 §2).
    pub authorization_servers: Vec<String>,
    /// The chosen authorization server's validated metadata.
    pub metadata: ServerMetadata,
    /// The scope to ask for: the challenge's, else every scope the resource lists, plus
    /// `offline_access` when the authorization server lists it (a refresh token); `None`
    /// when neither says (the authorization server's default applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The scope a client registered for this server should be allowed (RFC 7591 §2
    /// `scope`): every scope the resource lists, the challenge's, and `offline_access`
    /// when the authorization server lists it — broader than `scope`, so that a later
    /// step-up to another of the resource's scopes is not refused for the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_scope: Option<String>,
    /// The `Bearer` challenge the server answered with, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<BearerChallenge>,
}

impl McpServer {
    fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(McpServer {
            server_url: o.str("server_url")?,
            resource: o.str("resource")?,
            resource_metadata_url: o.str("resource_metadata_url")?,
            authorization_servers: o.strings("authorization_servers")?,
            metadata: ServerMetadata::read(o.object("metadata")?)?,
            scope: o.opt_str("scope")?,
            registration_scope: o.opt_str("registration_scope")?,
            challenge: match o.opt_object("challenge")? {
                None => None,
                Some(mut c) => Some(BearerChallenge {
                    resource_metadata: c.opt_str("resource_metadata")?,
                    scope: c.opt_str("scope")?,
                    error: c.opt_str("error")?,
                    error_description: c.opt_str("error_description")?,
                }),
            },
        })
    }
}

/// The protected resource metadata members the flow uses (RFC 9728 §2).
#[derive(Clone, Debug)]
struct ResourceMetadata {
    resource: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    url: String,
}

#[derive(Clone, Debug)]
enum Stage {
    Probe,
    ResourceMetadata(Candidates),
    ServerMetadata { found: ResourceMetadata, issuer: String, urls: Candidates },
}

/// The MCP discovery flow.
#[derive(Debug, Clone)]
pub struct McpDiscovery {
    ex: Exchange,
    config: McpDiscoveryConfig,
    server: Url,
    stage: Stage,
    challenge: Option<BearerChallenge>,
    /// The probe's status (0: no probe sent): a 2xx means the server answered without
    /// asking for a login, a 5xx that it is failing.
    probe_status: u16,
}

/// The well-known protected resource metadata URLs of a server URL (RFC 9728 §3.1: the
/// suffix inserted between the host and the path, the query kept), path-aware first, then
/// the root (MCP authorization, "Protected Resource Metadata Discovery").
pub fn resource_metadata_urls(server: &Url) -> Vec<String> {
    let origin = server.origin().ascii_serialization();
    let path = server.path().trim_end_matches('/');
    let query = server.query().map(|q| format!("?{q}")).unwrap_or_default();
    let root = format!("{origin}/.well-known/oauth-protected-resource");
    if path.is_empty() && query.is_empty() { vec![root] } else { vec![format!("{root}{path}{query}"), root] }
}

/// Whether a protected resource metadata `resource` names this server: identical (RFC 9728
/// §3.3), or the same origin and query with a path that is a whole-segment prefix of the
/// server's (a query names a resource too: `?tenant=a` is not `?tenant=b`, nor the
/// broader resource without it).
pub fn resource_matches(resource: &Url, server: &Url) -> bool {
    let resource_path = resource.path().trim_end_matches('/');
    let server_path = server.path().trim_end_matches('/');
    resource.origin() == server.origin()
        && resource.fragment().is_none()
        && resource.query() == server.query()
        && (server_path == resource_path || server_path.strip_prefix(resource_path).is_some_and(|rest| rest.starts_with('/')))
}

/// Whether a scope token has only the characters RFC 6749 §3.3 allows (`%x21 / %x23-5B /
/// %x5D-7E`): no space, quote, backslash or control character, so it can be sent, stored
/// and printed as given.
fn scope_token_ok(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

impl McpDiscovery {
    /// A URL a server named (the metadata's, an authorization server): one termauth fetches
    /// (https, or loopback http) and, unless the MCP server itself is local, not on this
    /// machine or its network — a remote server must not steer the client at the user's
    /// own services (server-side request forgery).
    fn check_named(&self, url: &str, name: &str) -> Result<Url, Error> {
        let checked = check_endpoint(url, name, self.config.allow_insecure_http)?;
        if !crate::uri::is_internal(&self.server) && crate::uri::is_internal(&checked) {
            return Err(Error::usage(
                "internal_address",
                format!("`{name}` is on this machine or its network, and the MCP server is not: {}", short(url)),
            ));
        }
        Ok(checked)
    }

    /// An MCP discovery flow.
    ///
    /// # Errors
    /// The server URL is not an https URL (or loopback http), or has a fragment.
    pub fn new(config: McpDiscoveryConfig) -> Result<Self, Error> {
        let server = check_endpoint(&config.server_url, "server_url", config.allow_insecure_http)?;
        let given = !config.www_authenticate.is_empty();
        let challenge = bearer_challenge(config.www_authenticate.iter().map(String::as_str));
        let mut flow =
            McpDiscovery { ex: Exchange::new(), config, server, stage: Stage::Probe, challenge: None, probe_status: 0 };
        if given {
            flow.after_challenge(challenge)?; // no probe: the host saw the challenge
        }
        Ok(flow)
    }

    /// Where to look for the protected resource metadata once the challenge (or its
    /// absence) is known.
    fn after_challenge(&mut self, challenge: Option<BearerChallenge>) -> Result<(), Error> {
        let urls = match challenge.as_ref().and_then(|c| c.resource_metadata.as_deref()) {
            Some(url) => {
                // A URL the server chose: it must be one termauth would fetch anyway.
                self.check_named(url, "resource_metadata").map_err(|e| {
                    Error::protocol(
                        "invalid_challenge",
                        None,
                        format!(
                            "The MCP server's WWW-Authenticate names a resource_metadata URL termauth will not fetch: {}",
                            e.message
                        ),
                    )
                })?;
                vec![url.to_string()]
            }
            None => resource_metadata_urls(&self.server),
        };
        if let Some(bad) =
            challenge.as_ref().and_then(|c| c.scope.as_deref()).filter(|s| !s.split_whitespace().all(scope_token_ok))
        {
            return Err(Error::protocol(
                "invalid_challenge",
                None,
                format!(
                    "The MCP server's WWW-Authenticate names a scope with characters RFC 6749 §3.3 does not allow: {}",
                    short(bad)
                ),
            ));
        }
        self.challenge = challenge;
        self.stage = Stage::ResourceMetadata(Candidates::new(urls));
        Ok(())
    }

    fn read_resource_metadata(&self, resp: &HttpResponse, url: &str) -> Result<ResourceMetadata, Error> {
        // A document is a 2xx; an `error` member in one makes it no document (the server
        // is not an authorization server: its OAuth error texts would blame the wrong party).
        let fields = if resp.is_success() { resp.fields()? } else { resp.oauth_fields()? };
        let invalid = |why: String| {
            Error::protocol(
                "invalid_metadata",
                Some(resp.status),
                format!("The protected resource metadata at {} {why}.", short(url)),
            )
        };
        let mut o =
            Object::new(serde_json::Value::Object(fields), "metadata").map_err(|e| invalid(format!("is unusable: {e}")))?;
        let resource = o.str("resource").map_err(|e| invalid(format!("is unusable: {e}")))?;
        let authorization_servers = o.strings("authorization_servers").map_err(|e| invalid(format!("is unusable: {e}")))?;
        let scopes_supported = o.opt_strings("scopes_supported").map_err(|e| invalid(format!("is unusable: {e}")))?;
        if let Some(bad) = scopes_supported.iter().flatten().find(|s| !scope_token_ok(s)) {
            return Err(invalid(format!("lists a scope with characters RFC 6749 §3.3 does not allow ({})", short(bad))));
        }
        let named = crate::uri::parse(&resource).ok().filter(|r| resource_matches(r, &self.server));
        if named.is_none() {
            return Err(Error::protocol(
                "resource_mismatch",
                Some(resp.status),
                format!(
                    "The protected resource metadata at {} is for `{}`, not for this server `{}` (RFC 9728 §3.3). Check the MCP server URL.",
                    short(url),
                    short(&resource),
                    short(&self.config.server_url)
                ),
            )
            .with_hint(Hint::FixConfiguration));
        }
        // Only the authorization servers termauth would use are kept (one it will not use
        // does not spoil the others); none left refuses the document.
        let mut refusal = None;
        let authorization_servers: Vec<String> = authorization_servers
            .into_iter()
            .filter(|issuer| match self.check_named(issuer, "authorization_servers") {
                Ok(u) if u.query().is_none() => true,
                Ok(_) => {
                    refusal.get_or_insert_with(|| "an issuer has no query (RFC 8414 §2)".to_string());
                    false
                }
                Err(e) => {
                    refusal.get_or_insert(e.message);
                    false
                }
            })
            .collect();
        if authorization_servers.is_empty() {
            return Err(invalid(match refusal {
                Some(why) => format!("names no authorization server termauth will use ({why})"),
                None => "lists no authorization server".into(),
            }));
        }
        Ok(ResourceMetadata {
            resource,
            authorization_servers,
            scopes_supported: scopes_supported.unwrap_or_default(),
            url: url.into(),
        })
    }

    /// The resource metadata is known: pick the authorization server.
    fn choose_issuer(&mut self, found: ResourceMetadata) -> Result<(), Error> {
        let issuer = match &self.config.issuer {
            Some(wanted) if found.authorization_servers.contains(wanted) => wanted.clone(),
            Some(wanted) => {
                return Err(Error::usage(
                    "issuer_not_listed",
                    format!(
                        "The MCP server's authorization servers are {}; the configured issuer `{}` is not one of them. Leave the issuer out, or pick one of those.",
                        found.authorization_servers.iter().map(|s| format!("`{}`", short(s))).collect::<Vec<_>>().join(", "),
                        short(wanted)
                    ),
                )
                .with_hint(Hint::FixConfiguration));
            }
            None => found.authorization_servers[0].clone(),
        };
        let url = check_endpoint(&issuer, "issuer", self.config.allow_insecure_http)?;
        let urls = Candidates::new(well_known_urls(&url, MetadataDocument::Mcp));
        self.stage = Stage::ServerMetadata { found, issuer, urls };
        Ok(())
    }

    fn finish(&self, found: &ResourceMetadata, metadata: ServerMetadata) -> Result<McpServer, Error> {
        match &metadata.code_challenge_methods_supported {
            Some(methods) if !methods.iter().any(|m| m == "S256") => {
                return Err(Error::protocol(
                    "pkce_s256_unsupported",
                    None,
                    format!(
                        "The authorization server {} does not list S256 in code_challenge_methods_supported; MCP requires PKCE with S256. Ask its administrator to enable S256.",
                        short(&metadata.issuer)
                    ),
                ));
            }
            None if !self.config.assume_pkce => {
                return Err(Error::protocol(
                    "pkce_not_advertised",
                    None,
                    format!(
                        "The authorization server {} does not say it supports PKCE (its metadata has no code_challenge_methods_supported), and MCP clients must refuse it. If you know it supports S256, pass --assume-pkce.",
                        short(&metadata.issuer)
                    ),
                )
                .with_hint(Hint::FixConfiguration));
            }
            _ => {}
        }
        // MCP authorization, "Scope Selection Strategy": the challenge's scope, else every
        // scope the resource lists; and `offline_access` for a refresh token ("Refresh
        // Tokens": clients MAY add it when the authorization server lists it).
        let challenged: Vec<String> = match self.challenge.as_ref().and_then(|c| c.scope.as_deref()) {
            Some(scope) => scope.split_whitespace().map(String::from).collect(),
            None => Vec::new(),
        };
        let mut scopes = if challenged.is_empty() { found.scopes_supported.clone() } else { Vec::new() };
        if !challenged.is_empty() {
            // A step-up: what the token had, then what the challenge asks (first-seen order).
            let had = self.config.scope.iter().flat_map(|s| s.split_whitespace()).filter(|s| scope_token_ok(s));
            for scope in had.map(String::from).chain(challenged.iter().cloned()) {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
        }
        let offline = metadata
            .extra
            .get("scopes_supported")
            .and_then(|v| v.as_array())
            .is_some_and(|supported| supported.iter().any(|s| s.as_str() == Some("offline_access")));
        if offline && !scopes.iter().any(|s| s == "offline_access") {
            scopes.push("offline_access".into());
        }
        let mut registration = found.scopes_supported.clone();
        for scope in &scopes {
            if !registration.contains(scope) {
                registration.push(scope.clone());
            }
        }
        Ok(McpServer {
            server_url: self.config.server_url.clone(),
            resource: found.resource.clone(),
            resource_metadata_url: found.url.clone(),
            authorization_servers: found.authorization_servers.clone(),
            metadata,
            scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
            registration_scope: (!registration.is_empty()).then(|| registration.join(" ")),
            challenge: self.challenge.clone(),
        })
    }

    fn no_resource_metadata_advice(&self) -> String {
        let mut advice = String::from(
            "Check the MCP server URL: an MCP server that takes OAuth tokens publishes protected resource metadata (RFC 9728).",
        );
        match self.probe_status {
            200..=299 => advice.push_str(" It answered without asking for a login, so it may need none."),
            500..=599 => advice.push_str(&format!(
                " It answered HTTP {} to an initialize request: it may be failing, so try again later.",
                self.probe_status
            )),
            _ => {}
        }
        advice
    }
}

impl Machine for McpDiscovery {
    fn exchange(&mut self) -> &mut Exchange {
        &mut self.ex
    }

    fn step(&mut self, _now_ms: u64) -> Option<Action> {
        let accept_json = || vec![("Accept".to_string(), "application/json".to_string())];
        let url = match &mut self.stage {
            Stage::Probe => {
                // What any MCP client sends first; a protected server answers it with 401
                // and its challenge (MCP authorization, "Authorization Flow Steps").
                // The probe opens no session (a protected server refuses it), so it names no
                // release: the same bytes in every version keep the conversation vectors stable.
                let body = format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{MCP_PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"termauth","version":"1"}}}}}}"#
                );
                let headers = vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Accept".into(), "application/json, text/event-stream".into()),
                ];
                self.ex.send(Method::Post, self.config.server_url.clone(), headers, body);
                return None;
            }
            Stage::ResourceMetadata(urls) => urls.take(),
            Stage::ServerMetadata { urls, .. } => urls.take(),
        };
        match url {
            Some(url) => {
                self.ex.send(Method::Get, url, accept_json(), String::new());
            }
            None => self.ex.fail(Error::usage("internal_error", "No MCP discovery URL left.")),
        }
        None
    }

    fn on_response(&mut self, resp: HttpResponse, _now_ms: u64) {
        let result = match std::mem::replace(&mut self.stage, Stage::Probe) {
            Stage::Probe => {
                let challenge = if matches!(resp.status, 401 | 403) {
                    bearer_challenge(
                        resp.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate")).map(|(_, v)| v.as_str()),
                    )
                } else {
                    None
                };
                self.probe_status = resp.status;
                self.after_challenge(challenge)
            }
            Stage::ResourceMetadata(mut urls) => {
                let url = urls.current().to_string();
                match self.read_resource_metadata(&resp, &url) {
                    Ok(found) => self.choose_issuer(found),
                    Err(error) => {
                        let advice = self.no_resource_metadata_advice();
                        let result = urls.miss(&resp, error, "protected resource metadata", &advice).map_err(|mut e| {
                            // The error texts of OAuth responses speak of the authorization
                            // server; this answer came from the MCP server.
                            if resp.status >= 500 {
                                let said = e.error_description.as_deref().or(e.error.as_deref()).map(|d| format!(", server said: {}", short(d)));
                                e.message = format!(
                                    "The MCP server's protected resource metadata at {} is unavailable (HTTP {}{}). Try again later.",
                                    short(&url),
                                    resp.status,
                                    said.unwrap_or_default()
                                );
                            }
                            e
                        });
                        self.stage = Stage::ResourceMetadata(urls);
                        result
                    }
                }
            }
            Stage::ServerMetadata { found, issuer, mut urls } => {
                match read_metadata(&resp, &issuer).and_then(|m| self.finish(&found, m)) {
                    Ok(server) => {
                        self.ex.finish(Outcome::McpServer { server: Box::new(server) });
                        Ok(())
                    }
                    // A document refused for its PKCE support is passed over like one with
                    // another issuer: a later well-known URL may hold the right one.
                    Err(error) => {
                        let advice = format!(
                            "The MCP server names `{}` as its authorization server, and it publishes no metadata termauth can use; ask the MCP server's operator.",
                            short(&issuer)
                        );
                        let result = urls.miss(&resp, error, "authorization server metadata", &advice);
                        self.stage = Stage::ServerMetadata { found, issuer, urls };
                        result
                    }
                }
            }
        };
        if let Err(error) = result {
            self.ex.fail(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        crate::uri::parse(s).unwrap()
    }

    #[test]
    fn resource_metadata_urls_are_path_aware_then_root() {
        assert_eq!(
            resource_metadata_urls(&url("https://mcp.example.com/public/mcp?x=1")),
            [
                "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp?x=1",
                "https://mcp.example.com/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            resource_metadata_urls(&url("https://MCP.example.com:443/")),
            ["https://mcp.example.com/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn a_resource_matches_itself_or_a_segment_prefix_on_the_same_origin() {
        let server = url("https://mcp.example.com/tenant/mcp");
        for ok in [
            "https://mcp.example.com/tenant/mcp",
            "https://mcp.example.com/tenant/mcp/",
            "https://mcp.example.com",
            "https://mcp.example.com/tenant",
        ] {
            assert!(resource_matches(&url(ok), &server), "{ok}");
        }
        for bad in [
            "https://mcp.example.com/ten",
            "https://mcp.example.com/tenant/mcp/more",
            "https://mcp.example.com:8443/tenant/mcp",
            "http://mcp.example.com/tenant/mcp",
            "https://evil.example.com/tenant/mcp",
            "https://mcp.example.com.evil.example/tenant/mcp",
            "https://mcp.example.com/tenant/mcp#f",
            "https://mcp.example.com/tenant/mcp?other=1",
        ] {
            assert!(!resource_matches(&url(bad), &server), "{bad}");
        }
        // A query names a resource too: only the same one matches.
        let tenant = url("https://mcp.example.com/mcp?tenant=a");
        assert!(resource_matches(&url("https://mcp.example.com/mcp?tenant=a"), &tenant));
        for bad in ["https://mcp.example.com/mcp", "https://mcp.example.com/mcp?tenant=b", "https://mcp.example.com"] {
            assert!(!resource_matches(&url(bad), &tenant), "{bad}");
        }
    }

    #[test]
    fn a_remote_server_cannot_point_at_internal_addresses() {
        let config = |server: &str| McpDiscoveryConfig {
            server_url: server.into(),
            www_authenticate: vec![],
            scope: None,
            issuer: None,
            assume_pkce: false,
            allow_insecure_http: false,
        };
        let remote = McpDiscovery::new(config("https://mcp.example.com/mcp")).unwrap();
        for internal in [
            "http://127.0.0.1:2375/containers/json",
            "http://localhost:9999",
            "https://10.0.0.1/as",
            "https://192.168.1.1",
            "https://172.16.5.4",
            "https://172.31.255.255",
            "https://255.255.255.255",
            "https://169.254.169.254/latest",
            "https://100.64.0.1",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://0.0.0.0/",
        ] {
            assert_eq!(
                remote.check_named(internal, "x").unwrap_err().code,
                if internal.starts_with("http:") && !internal.contains("127.0.0.1") && !internal.contains("localhost") {
                    "insecure_endpoint"
                } else {
                    "internal_address"
                },
                "{internal}"
            );
        }
        // The ranges' neighbours are public.
        for public in
            ["https://auth.example.com", "https://172.32.0.1", "https://100.128.0.1", "https://11.0.0.1", "https://[2001:db8::1]"]
        {
            assert!(remote.check_named(public, "x").is_ok(), "{public}");
        }
        // A local MCP server (a development setup) may name local ones.
        let local = McpDiscovery::new(config("http://127.0.0.1:8080/mcp")).unwrap();
        assert!(local.check_named("http://127.0.0.1:9000", "x").is_ok());
    }

    #[test]
    fn mcp_metadata_order_inserts_before_it_appends() {
        assert_eq!(
            well_known_urls(&url("https://auth.example.com/tenant1/"), MetadataDocument::Mcp),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            well_known_urls(&url("https://auth.example.com"), MetadataDocument::Mcp),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration"
            ]
        );
    }
}
