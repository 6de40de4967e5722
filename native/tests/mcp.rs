//! MCP discovery (issue 14) against a real protected MCP server: the official TypeScript
//! SDK's streamable HTTP server behind its bearer middleware (tests/idp/mcp.js), with the
//! bundled oidc-provider as its authorization server (dynamic registration enabled). The core
//! flow is driven by the Rust transport; each scenario switches how the server publishes its
//! protected resource metadata.

mod common;

use common::*;
use serde_json::json;
use termauth::LoginMethod;
use termauth::core::flows::{McpDiscovery, McpDiscoveryConfig, McpServer};
use termauth::core::{Action, Error, Flow, FlowSpec, Outcome, Rng};
use termauth::driver::now_ms;
use termauth::transport::Transport;

/// Runs MCP discovery for `server_url` (with the `WWW-Authenticate` values a host saw).
fn discover(server_url: &str, www_authenticate: &[&str]) -> Result<McpServer, Error> {
    match run(json!({"flow": "mcp_discovery", "server_url": server_url, "www_authenticate": www_authenticate}))? {
        Outcome::McpServer { server } => Ok(*server),
        other => panic!("not an MCP server: {other:?}"),
    }
}

fn scenario(mcp: &str, name: &str) {
    let origin = mcp.strip_suffix("/mcp").unwrap();
    let (status, v) = post_json(&format!("{origin}/__test/scenario"), &json!({"name": name}));
    assert_eq!(status, 200, "{v}");
}

#[test]
fn discovery_finds_the_resource_and_its_authorization_server_in_every_publication() {
    let idp = Idp::start_with(&[("IDP_MCP", "1")]);
    let mcp = idp.mcp.clone().expect("the IdP reports its MCP server");
    let origin = mcp.strip_suffix("/mcp").unwrap().to_string();

    // The SDK's default: the challenge names the path-aware metadata.
    scenario(&mcp, "path");
    let found = discover(&mcp, &[]).unwrap();
    assert_eq!(found.resource, mcp);
    assert_eq!(found.resource_metadata_url, format!("{origin}/.well-known/oauth-protected-resource/mcp"));
    assert_eq!(found.authorization_servers, std::slice::from_ref(&idp.issuer));
    assert_eq!(found.metadata.issuer, idp.issuer);
    assert!(found.metadata.extra.contains_key("registration_endpoint"), "dynamic registration is advertised");
    // The challenge's scope, and offline_access the authorization server lists.
    assert_eq!(found.scope.as_deref(), Some("mcp:read offline_access"));
    assert_eq!(found.challenge.as_ref().and_then(|c| c.error.as_deref()), Some("invalid_token"));
    // A registered client may use every scope of the resource (a later step-up).
    assert_eq!(found.registration_scope.as_deref(), Some("mcp:read mcp:write offline_access"));

    // A bare challenge: the path-aware URL is 404, the root one has the document.
    scenario(&mcp, "root");
    let found = discover(&mcp, &[]).unwrap();
    assert_eq!(found.resource_metadata_url, format!("{origin}/.well-known/oauth-protected-resource"));
    // The bare challenge still says `scope="mcp:read"` (the SDK's required scopes): it wins
    // over the resource's list.
    assert_eq!(found.scope.as_deref(), Some("mcp:read offline_access"));
    assert_eq!(found.challenge.as_ref().and_then(|c| c.resource_metadata.as_deref()), None);

    // An HTML page with 200 where the metadata should be: passed over.
    scenario(&mcp, "html");
    let found = discover(&mcp, &[]).unwrap();
    assert_eq!(found.resource_metadata_url, format!("{origin}/.well-known/oauth-protected-resource"));

    // Metadata for another resource: refused, with what to check.
    scenario(&mcp, "foreign");
    let e = discover(&mcp, &[]).unwrap_err();
    assert_eq!(e.code, "resource_mismatch", "{e}");
    assert!(e.message.contains("https://other.example/mcp") && e.message.contains("Check the MCP server URL"), "{}", e.message);

    // A step-up: the 403 a tool call got, passed in by the host; no probe, its scope wins.
    scenario(&mcp, "path");
    let challenge = format!(
        r#"Bearer error="insufficient_scope", scope="mcp:read mcp:write", resource_metadata="{origin}/.well-known/oauth-protected-resource/mcp""#
    );
    let found = discover(&mcp, &[&challenge]).unwrap();
    assert_eq!(found.scope.as_deref(), Some("mcp:read mcp:write offline_access"));
    assert_eq!(found.challenge.unwrap().error.as_deref(), Some("insufficient_scope"));
}

#[test]
fn an_mcp_server_url_that_is_not_one_says_so() {
    // The IdP itself is no MCP server: its token endpoint path answers the probe with an
    // OAuth error and it publishes no protected resource metadata.
    let idp = Idp::shared();
    let e = discover(&format!("{}/mcp", idp.issuer), &[]).unwrap_err();
    assert_eq!(e.code, "metadata_not_found", "{e}");
    assert!(e.message.contains("/.well-known/oauth-protected-resource/mcp (HTTP 404"), "{}", e.message);
    // A plain-http URL off loopback is refused before anything is sent.
    let e = McpDiscovery::new(
        serde_json::from_value::<McpDiscoveryConfig>(json!({"server_url": "http://mcp.example.com/mcp"})).unwrap(),
    )
    .unwrap_err();
    assert_eq!(e.code, "insecure_endpoint");
}

/// Runs a flow that only sends requests to its outcome.
fn run(spec: serde_json::Value) -> Result<Outcome, Error> {
    let spec: FlowSpec = serde_json::from_value(spec).unwrap();
    let mut flow = spec.start(Rng::from_seed([0; 32]))?;
    let transport = Transport::default();
    loop {
        match flow.poll(now_ms()) {
            Action::SendRequest(req) => flow.handle(transport.send(&req), now_ms()).unwrap(),
            Action::Done { result } => return Ok(result),
            Action::Failed { error } => return Err(error),
            other => panic!("unexpected action {other:?}"),
        }
    }
}

/// A JSON-RPC call to the MCP server with a token: `(status, WWW-Authenticate, body)`.
fn call(mcp: &str, token: &str, body: serde_json::Value) -> (u16, Option<String>, serde_json::Value) {
    let mut resp = agent()
        .post(mcp)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", &format!("Bearer {token}"))
        .send(body.to_string().as_bytes())
        .unwrap();
    let challenge = resp.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
    let status = resp.status().as_u16();
    (status, challenge, serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap_or_default())
}

fn tool(name: &str, arguments: serde_json::Value) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

/// The whole chain the MCP authorization spec describes, assembled from core flows and the
/// session: discovery, dynamic registration, a device login for the resource (RFC 8707),
/// tool calls the MCP server accepts, and a step-up on its 403.
#[test]
fn discovery_registration_and_a_device_login_give_a_token_the_mcp_server_accepts() {
    if rerun_without_browser("discovery_registration_and_a_device_login_give_a_token_the_mcp_server_accepts") {
        return;
    }
    let idp = Idp::start_with(&[("IDP_MCP", "1")]);
    let mcp = idp.mcp.clone().unwrap();
    let found = discover(&mcp, &[]).unwrap();
    let Outcome::Registration { registration } = run(json!({
        "flow": "registration", "server": found.metadata, "client_name": "termauth test",
        "redirect_uris": ["http://127.0.0.1:8400/callback"], "scope": found.registration_scope, "allow_insecure_http": true,
    }))
    .unwrap() else {
        panic!("not a registration")
    };
    assert!(registration.has_device_grant(), "the device grant is registered: {:?}", registration.grant_types);
    assert_eq!(registration.token_endpoint_auth_method, "none");

    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&idp.issuer, dir.path(), &registration.client_id, found.scope.as_deref());
    c.resource = vec![found.resource.clone()];
    c.metadata = Some(found.metadata.clone());
    let (mut client, approver) = client_with_approver(c.clone(), Some("approve"), Browser::Follow("approve"));
    client.login(LoginMethod::Device).expect("device login");
    approver.join();
    let token = client.get_token().unwrap();
    let introspected = idp.introspect(token.expose());
    assert_eq!(introspected["aud"], mcp.as_str(), "the token is for the MCP server (RFC 8707): {introspected}");

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    assert_eq!(call(&mcp, token.expose(), init).0, 200);
    let (status, _, body) = call(&mcp, token.expose(), tool("whoami", json!({})));
    assert_eq!(status, 200, "{body}");
    assert!(body["result"]["content"][0]["text"].as_str().unwrap().contains(&registration.client_id), "{body}");

    // write_note needs mcp:write: a 403 whose challenge, passed to discovery, asks for it.
    let (status, challenge, _) = call(&mcp, token.expose(), tool("write_note", json!({"text": "hi"})));
    assert_eq!(status, 403);
    let stepped = discover(&mcp, &[challenge.as_deref().unwrap()]).unwrap();
    assert_eq!(stepped.scope.as_deref(), Some("mcp:read mcp:write offline_access"));
    c.scope = stepped.scope.clone();
    let (mut client, approver) = client_with_approver(c, Some("approve"), Browser::Follow("approve"));
    client.login(LoginMethod::Device).expect("step-up login");
    approver.join();
    let token = client.get_token().unwrap();
    let (status, _, body) = call(&mcp, token.expose(), tool("write_note", json!({"text": "hi"})));
    assert_eq!((status, body["result"]["content"][0]["text"].as_str()), (200, Some("noted: hi")), "{body}");
}
