"""Shared fixtures: the real authorization server (tests/idp), a private config directory,
and helpers that play the user's browser through the IdP's headless approver."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
IDP = ROOT / "tests" / "idp"


def run_flow(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Runs a flow that only sends requests (discovery, registration, refresh, …) to its
    outcome, over urllib; raises the flow's error."""
    from termauth.flow import Done, Failed, Flow, SendRequest
    from termauth.transport import UrllibTransport

    flow, transport = Flow.from_spec(spec), UrllibTransport()
    while True:
        action = flow.poll(int(time.time() * 1000))
        if isinstance(action, SendRequest):
            flow.handle(transport.send(action), int(time.time() * 1000))
        elif isinstance(action, Done):
            return dict(action.result)
        elif isinstance(action, Failed):
            raise action.error
        else:
            raise AssertionError(f"a flow that only sends requests asked for {action!r}")


class Idp:
    def __init__(self, issuer: str, proc: "subprocess.Popen[str]", mcp: Optional[str] = None) -> None:
        self.issuer = issuer
        self.proc = proc
        #: The protected MCP server's URL (an IdP started with IDP_MCP=1).
        self.mcp = mcp

    def control(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        req = urllib.request.Request(
            self.issuer + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return dict(json.loads(r.read()))
        except urllib.error.HTTPError as e:  # the approver's failure document
            return dict(json.loads(e.read()))

    def approve_device(self, user_code: str, action: str = "approve") -> Dict[str, Any]:
        return self.control("/__test/device", {"user_code": user_code, "action": action})

    def authorize(self, url: str, action: str = "approve", follow_redirect: bool = True) -> Dict[str, Any]:
        return self.control("/__test/authorize", {"url": url, "action": action, "follow_redirect": follow_redirect})


def _start_idp(extra_env: Optional[Dict[str, str]] = None) -> Idp:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required for the IdP tests (tests/idp)")
    if not (IDP / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--prefix", str(IDP), "--silent"], check=True)
    env = dict(os.environ, **(extra_env or {}))
    proc = subprocess.Popen(
        [node, str(IDP / "server.js"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail("the IdP did not start")
    ready = json.loads(line)
    return Idp(ready["issuer"], proc, ready.get("mcp"))


def _stop(idp: Idp) -> None:
    idp.proc.terminate()
    try:
        idp.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        idp.proc.kill()


@pytest.fixture(scope="session")
def idp() -> Iterator[Idp]:
    server = _start_idp()
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def mcp_idp() -> Iterator[Idp]:
    """An IdP with its protected MCP server (tests/idp/mcp.js, the official TypeScript SDK)."""
    server = _start_idp({"IDP_MCP": "1"})
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def short_idp() -> Iterator[Idp]:
    """An IdP whose access tokens live 30 s (short-lived tokens for renewal tests)."""
    server = _start_idp({"IDP_ACCESS_TOKEN_TTL": "30"})
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private config directory, file store only, no CI/SSH/display surprises."""
    d = tmp_path / "config"
    monkeypatch.setenv("TERMAUTH_NO_KEYRING", "1")
    monkeypatch.setenv("TERMAUTH_CONFIG_DIR", str(d))
    for var in ("TERMAUTH_TOKEN", "TERMAUTH_CLIENT_SECRET", "MYCLI_TOKEN", "MYCLI_CLIENT_SECRET", "BROWSER",
                "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "CI", "GITHUB_ACTIONS"):
        monkeypatch.delenv(var, raising=False)
    return d
