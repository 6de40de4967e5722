"""MCP discovery (issue 14) against a real protected MCP server: the official TypeScript SDK
behind its bearer middleware (tests/idp/mcp.js), the bundled oidc-provider as its
authorization server. The same cases as native/tests/mcp.rs and the npm package's
test/mcp.test.mjs."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import termauth
from termauth.session import ShowUserCode

from conftest import Idp, run_flow


def discover(server_url: str, www_authenticate: Optional[List[str]] = None) -> Dict[str, Any]:
    """Runs MCP discovery to its outcome (the ``McpServer``), or raises the flow's error."""
    outcome = run_flow({"flow": "mcp_discovery", "server_url": server_url, "www_authenticate": www_authenticate or []})
    assert outcome["kind"] == "mcp_server"
    return dict(outcome["server"])


def scenario(mcp: str, name: str) -> None:
    origin = mcp.rsplit("/mcp", 1)[0]
    req = urllib.request.Request(
        f"{origin}/__test/scenario", data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def test_discovery_finds_the_resource_and_its_authorization_server(mcp_idp: Idp) -> None:
    mcp = mcp_idp.mcp
    assert mcp is not None
    origin = mcp.rsplit("/mcp", 1)[0]
    scenario(mcp, "path")
    found = discover(mcp)
    assert found["resource"] == mcp
    assert found["resource_metadata_url"] == f"{origin}/.well-known/oauth-protected-resource/mcp"
    assert found["authorization_servers"] == [mcp_idp.issuer]
    assert found["metadata"]["issuer"] == mcp_idp.issuer
    assert "registration_endpoint" in found["metadata"]
    assert found["scope"] == "mcp:read offline_access"
    assert found["challenge"]["error"] == "invalid_token"

    scenario(mcp, "root")
    found = discover(mcp)
    assert found["resource_metadata_url"] == f"{origin}/.well-known/oauth-protected-resource"
    assert "resource_metadata" not in found["challenge"]

    scenario(mcp, "html")
    assert discover(mcp)["resource_metadata_url"] == f"{origin}/.well-known/oauth-protected-resource"

    scenario(mcp, "foreign")
    with pytest.raises(termauth.Error) as e:
        discover(mcp)
    assert e.value.code == "resource_mismatch" and "https://other.example/mcp" in e.value.message

    scenario(mcp, "path")
    challenge = (
        'Bearer error="insufficient_scope", scope="mcp:read mcp:write", '
        f'resource_metadata="{origin}/.well-known/oauth-protected-resource/mcp"'
    )
    found = discover(mcp, [challenge])
    assert found["scope"] == "mcp:read mcp:write offline_access"
    assert found["challenge"]["error"] == "insufficient_scope"


def test_a_url_that_is_no_mcp_server_says_so(mcp_idp: Idp) -> None:
    with pytest.raises(termauth.Error) as e:
        discover(f"{mcp_idp.issuer}/mcp")
    assert e.value.code == "metadata_not_found"
    assert "/.well-known/oauth-protected-resource/mcp (HTTP 404" in e.value.message
    with pytest.raises(termauth.Error) as e:
        discover("http://mcp.example.com/mcp")
    assert e.value.code == "insecure_endpoint"


def call(mcp: str, token: str, body: Dict[str, Any]) -> Tuple[int, Optional[str], Dict[str, Any]]:
    """A JSON-RPC call to the MCP server with a token: (status, WWW-Authenticate, body)."""
    req = urllib.request.Request(
        mcp, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                 "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("WWW-Authenticate"), dict(json.loads(r.read()))
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("WWW-Authenticate"), dict(json.loads(e.read() or b"{}"))


def tool(name: str, arguments: Dict[str, Any]) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


class Approving(termauth.UI):
    """Approves every device code through the IdP's headless approver, like a user."""

    def __init__(self, idp: Idp) -> None:
        self.idp = idp

    def show_user_code(self, action: ShowUserCode) -> None:
        assert self.idp.approve_device(action.user_code)["ok"] is True


def test_discovery_registration_and_a_device_login_give_a_token_the_mcp_server_accepts(
    mcp_idp: Idp, config_dir: Path
) -> None:
    mcp = mcp_idp.mcp
    assert mcp is not None
    scenario(mcp, "path")
    found = discover(mcp)
    assert found["registration_scope"] == "mcp:read mcp:write offline_access"
    registration = run_flow({
        "flow": "registration", "server": found["metadata"], "client_name": "termauth test",
        "redirect_uris": ["http://127.0.0.1:8400/callback"], "scope": found["registration_scope"],
    })["registration"]
    assert "urn:ietf:params:oauth:grant-type:device_code" in registration["grant_types"]
    assert registration["token_endpoint_auth_method"] == "none"

    def login(scope: str) -> str:
        client = termauth.Client(
            app="termauth", issuer=mcp_idp.issuer, client_id=registration["client_id"], scope=scope,
            resource=[found["resource"]], metadata=found["metadata"], ui=Approving(mcp_idp),
        )
        client.login("device")
        return client.get_token()

    token = login(found["scope"])
    # The token is for the MCP server (RFC 8707): its audience, as the IdP says.
    introspection = run_flow({
        "flow": "introspection",
        "server": {"issuer": mcp_idp.issuer, "introspection_endpoint": f"{mcp_idp.issuer}/token/introspection"},
        "client": {"client_id": "termauth-ci-post", "auth": {"method": "client_secret_post", "client_secret": "ci-post-secret"}},
        "token": {"token": token},
    })["introspection"]
    assert introspection["aud"] == mcp
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    assert call(mcp, token, init)[0] == 200
    status, _, body = call(mcp, token, tool("whoami", {}))
    assert status == 200 and registration["client_id"] in body["result"]["content"][0]["text"]

    # write_note needs mcp:write: the 403's challenge, passed to discovery, asks for it.
    status, challenge, _ = call(mcp, token, tool("write_note", {"text": "hi"}))
    assert status == 403 and challenge is not None
    stepped = discover(mcp, [challenge])
    assert stepped["scope"] == "mcp:read mcp:write offline_access"
    token = login(stepped["scope"])
    status, _, body = call(mcp, token, tool("write_note", {"text": "hi"}))
    assert (status, body["result"]["content"][0]["text"]) == (200, "noted: hi")
