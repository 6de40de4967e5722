"""MCP discovery (issue 14) against a real protected MCP server: the official TypeScript SDK
behind its bearer middleware (tests/idp/mcp.js), the bundled oidc-provider as its
authorization server. The same cases as native/tests/mcp.rs and the npm package's
test/mcp.test.mjs."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any, Dict, List, Optional

import pytest

import termauth
from termauth.flow import Done, Failed, Flow, SendRequest
from termauth.transport import UrllibTransport

from conftest import Idp


def discover(server_url: str, www_authenticate: Optional[List[str]] = None) -> Dict[str, Any]:
    """Runs MCP discovery to its outcome (the ``McpServer``), or raises the flow's error."""
    spec = {"flow": "mcp_discovery", "server_url": server_url, "www_authenticate": www_authenticate or []}
    flow, transport = Flow.from_spec(spec), UrllibTransport()
    while True:
        action = flow.poll(int(time.time() * 1000))
        if isinstance(action, SendRequest):
            flow.handle(transport.send(action), int(time.time() * 1000))
        elif isinstance(action, Done):
            assert action.kind == "mcp_server"
            return dict(action.result["server"])  # type: ignore[typeddict-item]
        elif isinstance(action, Failed):
            raise action.error
        else:
            raise AssertionError(action)


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
