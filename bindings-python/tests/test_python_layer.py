"""The Python layer itself: errors (and panics) as termauth.Error subclasses, malformed
server responses, the transports, the listener's rules (and a hostile client), the
renderer (only the session's words), the httpx/requests Auth retry, the store's refusals
through the session, the exit codes, typing of actions, and a light import."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Set, Tuple

import pytest

import termauth
from termauth import _native
from termauth.flow import Failed, Flow, SendRequest, WaitUntil

from conftest import Idp
from test_idp import password_client, record_path


# ---------------------------------------------------------------- errors


def test_error_hierarchy() -> None:
    for cls in (termauth.UsageError, termauth.ProtocolError, termauth.OAuthError, termauth.TransportError,
                termauth.InterruptedError, termauth.StorageError):
        assert issubclass(cls, termauth.Error)
    assert issubclass(termauth.Cancelled, termauth.InterruptedError)
    with pytest.raises(termauth.UsageError) as e:
        Flow.from_spec({"flow": "nope"})
    assert e.value.code == "invalid_flow_config" and e.value.kind == "usage"
    with pytest.raises(termauth.UsageError) as bad_json:
        Flow.from_spec("{not json")
    assert bad_json.value.code == "invalid_flow_config"
    with pytest.raises(termauth.UsageError) as seed:
        Flow.from_spec({"flow": "api_key", "key": "k", "presentation": {"scheme": "bearer"}}, b"short")
    assert seed.value.code == "invalid_seed"
    import pickle

    err = termauth.OAuthError("no", code="invalid_grant", hint="reauthenticate", status=400, error="invalid_grant")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is termauth.OAuthError and again == err and again.status == 400


def test_panic_becomes_error() -> None:
    with pytest.raises(termauth.UsageError) as e:
        _native._test_panic()
    assert e.value.code == "internal_panic" and e.value.hint == "fatal"


def test_native_accepts_dicts_and_refuses_garbage_inputs() -> None:
    f = _native.Flow.from_spec({"flow": "api_key", "key": "k1", "presentation": {"scheme": "bearer"}}, None)
    assert json.loads(f.poll_json(1))["type"] == "persist"
    with pytest.raises(termauth.UsageError) as e:
        f.handle_json("[1,2,3]", 1)
    assert e.value.code == "invalid_input"
    with pytest.raises(termauth.UsageError):
        f.handle_json({"type": "http_response", "id": 99, "status": 200}, 1)


# ---------------------------------------------------------------- malformed responses (a fake server)


class Fake:
    """A tiny HTTP server answering each path with a canned (status, headers, body)."""

    def __init__(self) -> None:
        self.routes: Dict[str, Tuple[int, List[Tuple[str, str]], bytes]] = {}
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _answer(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                status, headers, body = fake.routes.get(self.path.split("?")[0], (404, [], b"{}"))
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def metadata(self) -> Dict[str, Any]:
        return {"issuer": self.url, "token_endpoint": self.url + "/token",
                "device_authorization_endpoint": self.url + "/device"}


@pytest.fixture
def fake() -> Iterator[Fake]:
    f = Fake()
    yield f
    f.server.shutdown()


CASES: List[Tuple[str, int, str, bytes, type, str]] = [
    ("html 502", 502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>",
     termauth.ProtocolError, "response_not_json"),
    ("empty", 200, "application/json", b"", termauth.ProtocolError, "response_not_json"),
    ("array", 200, "application/json", b"[1,2]", termauth.ProtocolError, "response_not_object"),
    ("no access_token", 200, "application/json", b'{"token_type":"Bearer"}', termauth.ProtocolError, "missing_field"),
    ("expires_in", 200, "application/json", b'{"access_token":"a","token_type":"Bearer","expires_in":"soon"}',
     termauth.ProtocolError, "invalid_field"),
    ("mac", 200, "application/json", b'{"access_token":"a","token_type":"mac"}',
     termauth.ProtocolError, "token_type_unsupported"),
    ("oversized", 200, "application/json", b'{"access_token":"' + b"a" * 300_000 + b'","token_type":"Bearer"}',
     termauth.ProtocolError, "response_too_large"),
    ("oauth error", 400, "application/json", b'{"error":"invalid_scope","error_description":"nope"}',
     termauth.OAuthError, "invalid_scope"),
    ("binary", 200, "application/octet-stream", bytes(range(256)), termauth.ProtocolError, "response_not_json"),
]


@pytest.mark.parametrize("transport", ["urllib", "httpx", "requests"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed_token_responses(fake: Fake, config_dir: Path, transport: str, case: Any) -> None:
    _, status, ctype, body, exc, code = case
    fake.routes["/token"] = (status, [("Content-Type", ctype)], body)
    c = termauth.Client(app="t", issuer=fake.url, client_id="ci", client_secret="s", metadata=fake.metadata(),
                        interactive=False, transport=transport)
    with pytest.raises(exc) as e:
        c.login("client_credentials")
    assert e.value.code == code and isinstance(e.value, termauth.Error)
    assert "s" != e.value.message and "Basic" not in e.value.message
    assert c.status().source == "none"  # nothing persisted


def test_malformed_discovery(fake: Fake, config_dir: Path) -> None:
    fake.routes["/.well-known/openid-configuration"] = (200, [("Content-Type", "text/html")], b"<html>hi</html>")
    c = termauth.Client(app="t", issuer=fake.url, client_id="cli", interactive=False)
    with pytest.raises(termauth.ProtocolError) as e:
        c.login("device")
    assert e.value.code in ("metadata_not_found", "response_not_json")
    fake.routes["/.well-known/openid-configuration"] = (
        200, [("Content-Type", "application/json")], json.dumps({"issuer": "https://evil.example"}).encode())
    with pytest.raises(termauth.ProtocolError) as mix:
        termauth.Client(app="t", issuer=fake.url, client_id="cli", interactive=False).login("device")
    assert mix.value.code == "issuer_mismatch"


def test_redirects_are_not_followed(fake: Fake, config_dir: Path) -> None:
    fake.routes["/token"] = (307, [("Location", fake.url + "/elsewhere")], b"")
    fake.routes["/elsewhere"] = (200, [("Content-Type", "application/json")],
                                 b'{"access_token":"stolen","token_type":"Bearer"}')
    for transport in ("urllib", "httpx", "requests"):
        c = termauth.Client(app="t", issuer=fake.url, client_id="ci", client_secret="s", metadata=fake.metadata(),
                            interactive=False, transport=transport)
        with pytest.raises(termauth.Error) as e:
            c.login("client_credentials")
        assert e.value.code != "ok" and c.status().source == "none"


@pytest.mark.parametrize("transport", ["urllib", "httpx", "requests"])
def test_transport_errors(config_dir: Path, transport: str) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}"
    c = termauth.Client(app="t", issuer=url, client_id="ci", client_secret="s",
                        metadata={"issuer": url, "token_endpoint": url + "/token"}, interactive=False,
                        transport=transport)
    with pytest.raises(termauth.TransportError) as e:
        c.login("client_credentials")
    assert e.value.code == "transport_error" and e.value.hint == "retry_later"


def test_device_poll_backoff_through_driver(fake: Fake, config_dir: Path) -> None:
    """The driver sleeps exactly as WaitUntil says; the schedule is the core's."""
    f = Flow.from_spec({"flow": "device", "server": fake.metadata(), "client": {"client_id": "cli"}})
    a = f.poll(1000)
    assert isinstance(a, SendRequest) and a.url.endswith("/device") and "cli" in a.body
    assert "body" not in repr(a)
    f.handle(termauth.flow.HttpResponse(a.id, 200, [("Content-Type", "application/json")],
                                        '{"device_code":"d","user_code":"U","verification_uri":"' + fake.url
                                        + '/v","interval":2}'), 1000)
    show = f.poll(1000)
    assert isinstance(show, termauth.flow.ShowUserCode) and show.user_code == "U"
    w = f.poll(1000)
    assert isinstance(w, WaitUntil) and w.at_ms == 3000
    if sys.version_info >= (3, 10):  # dataclasses support structural pattern matching
        scope: Dict[str, Any] = {"w": w, "WaitUntil": WaitUntil}
        exec("match w:\n    case WaitUntil(at_ms=t):\n        got = t\n", scope)
        assert scope["got"] == 3000
    f.handle(termauth.flow.Cancel(), 1500)
    failed = f.poll(1500)
    assert isinstance(failed, Failed) and isinstance(failed.error, termauth.Cancelled)


# ---------------------------------------------------------------- the listener


NOT_FOUND = "<p>the session's not-found page</p>"


def test_listener_rules() -> None:
    from termauth._fast import now_ms
    from termauth._listener import LoopbackListener, respond

    for host in ("0.0.0.0", "example.com", "10.0.0.1"):
        with pytest.raises(OSError):
            LoopbackListener(host, 0, NOT_FOUND)
    lst = LoopbackListener("127.0.0.1", 0, NOT_FOUND)
    base = f"http://127.0.0.1:{lst.port}"
    results: Dict[str, Any] = {}

    def client() -> None:
        for path in ("/favicon.ico", "/callbackx?code=1"):
            try:
                urllib.request.urlopen(base + path, timeout=5)
            except urllib.error.HTTPError as err:
                results[path] = (err.code, err.read().decode())
        req = urllib.request.Request(base + "/callback?code=1", data=b"x", method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
        except urllib.error.HTTPError as err:
            results["POST"] = err.code
        with urllib.request.urlopen(base + "/callback?code=<b>&state=1", timeout=5) as r:
            results["ok"] = (r.status, r.read().decode(), r.headers["Cache-Control"])

    th = threading.Thread(target=client)
    th.start()
    got = lst.wait("/callback", now_ms() + 10_000, lambda: False, now_ms)
    assert got is not None
    target, conn = got
    assert target == "/callback?code=<b>&state=1"
    respond(conn, 200, "<h1>the session's page</h1>")  # the connection waited for it
    th.join(10)
    lst.close()
    assert results["/favicon.ico"] == (404, NOT_FOUND) and results["/callbackx?code=1"][0] == 404
    assert results["POST"] == 405
    assert results["ok"] == (200, "<h1>the session's page</h1>", "no-store")


def test_listener_times_out_and_cancels() -> None:
    from termauth._fast import now_ms
    from termauth._listener import LoopbackListener

    with LoopbackListener("127.0.0.1", 0, NOT_FOUND) as lst:
        t = now_ms()
        assert lst.wait("/callback", now_ms() + 200, lambda: False, now_ms) is None
        assert 150 <= now_ms() - t < 2000
        assert lst.wait("/callback", now_ms() + 10_000, lambda: True, now_ms) is None


def test_listener_survives_a_flood_and_half_sent_requests() -> None:
    """Idle connections, half-sent and trickled requests, a 1 MB request line and a
    flood beyond the connection cap hold nobody up: the real callback arrives at once."""
    from termauth._fast import now_ms
    from termauth._listener import MAX_CONNECTIONS, LoopbackListener

    with LoopbackListener("127.0.0.1", 0, NOT_FOUND) as lst:
        addr = ("127.0.0.1", lst.port)
        hostile: List[socket.socket] = []
        got: List[Any] = []
        timing: Dict[str, int] = {}

        def attacker_then_browser() -> None:
            for i in range(MAX_CONNECTIONS + 40):
                s = socket.create_connection(addr, timeout=5)
                if i % 3 == 1:
                    s.sendall(b"GET /callback?code=half")  # never finished
                elif i % 3 == 2:
                    s.sendall(b"G")  # a trickle that stops
                hostile.append(s)
            big = socket.create_connection(addr, timeout=5)
            hostile.append(big)
            try:  # far past 16 KiB: dropped unanswered, not buffered
                big.sendall(b"GET /" + b"a" * (1024 * 1024))
            except OSError:
                pass
            timing["browser"] = now_ms()
            with urllib.request.urlopen(f"http://127.0.0.1:{lst.port}/callback?code=real&state=s", timeout=10) as r:
                got.append(r.read().decode())

        th = threading.Thread(target=attacker_then_browser)
        th.start()
        arrived = lst.wait("/callback", now_ms() + 20_000, lambda: False, now_ms)
        assert arrived is not None and arrived[0] == "/callback?code=real&state=s"
        assert now_ms() - timing["browser"] < 3_000  # not after the others' 5 s request deadline
        from termauth._listener import respond

        respond(arrived[1], 200, "ok")
        th.join(10)
        assert got == ["ok"]
        assert len(lst._pending) <= MAX_CONNECTIONS
        for s in hostile:
            s.close()


def test_listener_drops_requests_that_never_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    from termauth import _listener
    from termauth._fast import now_ms

    monkeypatch.setattr(_listener, "REQUEST_SECONDS", 0.3)
    with _listener.LoopbackListener("127.0.0.1", 0, NOT_FOUND) as lst:
        s = socket.create_connection(("127.0.0.1", lst.port))
        s.sendall(b"GET /callback?code=x HTTP/1.1\r\nHost: a\r\n")  # the blank line never comes
        assert lst.wait("/callback", now_ms() + 1_000, lambda: False, now_ms) is None
        s.settimeout(2)
        assert s.recv(100) == b""  # closed without an answer: an incomplete request is no callback
        assert not lst._pending
        # Nor is a head cut by the peer's FIN, one that fills 16 KiB without ending, or a
        # request line that is not HTTP/1.x (RFC 9112 §3): each is closed unanswered at once.
        cut = (b"GET /callback?code=x&state=y", b"GET /callback?code=x HTTP/1.1\r\nHost: a\r\n")
        hostile = [(head, True) for head in cut] + [
            (b"GET /callback?code=x&state=y HTTP/1.1\r\nX: " + b"a" * _listener.MAX_REQUEST, False),
            (b"GET /callback?code=x&state=y\r\n\r\n", False),
            (b"GET /callback?code=x&state=y HTTP/2.0\r\n\r\n", False),
            (b"GET  /callback?code=x HTTP/1.1\r\n\r\n", False),
        ]
        conns = []
        for head, fin in hostile:
            c = socket.create_connection(("127.0.0.1", lst.port))
            c.sendall(head)
            if fin:
                c.shutdown(socket.SHUT_WR)
            conns.append(c)
        assert lst.wait("/callback", now_ms() + 200, lambda: False, now_ms) is None
        assert not lst._pending
        for c, (head, _) in zip(conns, hostile):
            c.settimeout(2)
            try:
                got = c.recv(100)
            except ConnectionResetError:  # closed with unread bytes
                got = b""
            assert got == b"", head[:40]
            c.close()
    assert _listener.parse_head(b"\r\nGET /cb?x=1 HTTP/1.0\nHost: a\n\n") == ("GET", "/cb?x=1")
    assert _listener.parse_head(b"GET /cb HTTP/1.1\r\n") == "incomplete"
    assert _listener.parse_head(b"GET /cb\r\n") == "not HTTP/1.x"


# ---------------------------------------------------------------- Auth objects: the 401 retry


class Resource:
    """A resource server that refuses tokens it was told are revoked (401)."""

    def __init__(self) -> None:
        self.refused: Set[str] = set()
        self.seen: List[str] = []
        res = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                auth = self.headers.get("Authorization", "")
                res.seen.append(auth)
                ok = auth.startswith("Bearer ") and auth[7:] not in res.refused
                body = json.dumps({"ok": ok}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def resource() -> Iterator[Resource]:
    r = Resource()
    yield r
    r.server.shutdown()


def test_httpx_auth_retries_once(idp: Idp, config_dir: Path, resource: Resource) -> None:
    import httpx

    from termauth.httpx import Auth

    c = password_client(idp)
    old = c.get_token()
    with httpx.Client(auth=Auth(c)) as http:
        assert http.get(resource.url).status_code == 200
        resource.refused.add(old)  # the server stops accepting it (e.g. revoked elsewhere)
        r = http.get(resource.url)
        assert r.status_code == 200
    new = c.get_token()
    assert new != old and resource.seen[-2:] == [f"Bearer {old}", f"Bearer {new}"]
    resource.refused.add(new)
    with httpx.Client(auth=Auth(c)) as http:
        before = len(resource.seen)
        # refused again after the renewal: exactly one retry, then the 401 stands
        resource.refused.add("*")
        orig = c.authorization_header

        def same_after_refresh(force_refresh: bool = False) -> Tuple[str, str]:
            h = orig(force_refresh)
            resource.refused.add(h[1][7:])
            return h

        c.authorization_header = same_after_refresh  # type: ignore[method-assign]
        assert http.get(resource.url).status_code == 401
        assert len(resource.seen) - before == 2


def test_requests_auth_retries_once(idp: Idp, config_dir: Path, resource: Resource) -> None:
    import requests

    from termauth.requests import Auth

    c = password_client(idp)
    old = c.get_token()
    s = requests.Session()
    s.auth = Auth(c)
    assert s.get(resource.url).status_code == 200
    resource.refused.add(old)
    r = s.get(resource.url)
    assert r.status_code == 200 and len(r.history) == 1 and r.history[0].status_code == 401
    new = c.get_token()
    assert new != old and resource.seen[-1] == f"Bearer {new}"
    # an API key cannot be renewed: the 401 stands, no retry
    k = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-cli", interactive=False,
                        profile="k")
    k.login("token", token="pat-1")
    resource.refused.add("pat-1")
    before = len(resource.seen)
    assert requests.get(resource.url, auth=Auth(k)).status_code == 401
    assert len(resource.seen) - before == 1


def test_login_over_httpx_and_requests(idp: Idp, config_dir: Path) -> None:
    for transport in ("httpx", "requests"):
        c = termauth.Client(app="t-" + transport, issuer=idp.issuer, client_id="termauth-ci-post",
                            client_secret="ci-post-secret", secret_method="post", scope="api:read",
                            interactive=False, transport=transport)
        assert c.login("client_credentials").scope == "api:read"
        assert c.logout().revoked


# ---------------------------------------------------------------- the store's refusals


def test_store_refuses_corrupt_and_newer(config_dir: Path) -> None:
    issuer, client = "https://as.example", "cli"
    c = termauth.Client(app="termauth", issuer=issuer, client_id=client, interactive=False)
    assert c.login("token", token="k").store == "file"
    path = record_path(issuer, client)
    cred = json.loads(path.read_text())
    assert (cred["kind"], cred["key"], cred["schema_version"]) == ("api_key", "k", 1)
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text('{"schema_version": 2, "kind": "oauth"}')
    with pytest.raises(termauth.StorageError) as newer:
        termauth.get_token("termauth", issuer, client)
    assert newer.value.code == "credential_newer_version"
    assert path.read_text() == '{"schema_version": 2, "kind": "oauth"}'  # untouched
    path.write_text("{half")
    with pytest.raises(termauth.StorageError) as corrupt:
        termauth.get_token("termauth", issuer, client)
    assert corrupt.value.code == "credential_corrupt" and corrupt.value.exit_code == 3
    assert path.read_text() == "{half"
    st = c.status()
    assert st.error is not None and st.error.code == "credential_corrupt" and st.to_dict()["error"]["code"]
    with pytest.raises(termauth.UsageError) as floppy:
        termauth.Client(app="termauth", issuer=issuer, client_id=client, store="floppy").status()
    assert floppy.value.code == "invalid_session_spec" and "store" in floppy.value.message


def test_exit_codes_are_the_cores() -> None:
    cases = [
        (termauth.StorageError("x", code="not_logged_in", hint="reauthenticate"), 3),
        (termauth.TransportError("x", code="transport_error", hint="retry_later"), 4),
        (termauth.OAuthError("x", code="invalid_client", hint="fix_configuration"), 5),
        (termauth.UsageError("x", code="invalid_profile", hint="fatal"), 6),
        (termauth.Cancelled("x", code="cancelled", kind="interrupted", hint="reauthenticate"), 130),
    ]
    for error, code in cases:
        assert error.exit_code == code == termauth.exit_code(error)
        assert _native.exit_code(error.to_json()) == code
    with pytest.raises(termauth.UsageError):
        _native.exit_code("{not json")


def _cli(program: str, body: str, tmp_path: Any) -> "subprocess.CompletedProcess[str]":
    """Runs ``body`` inside ``with termauth.cli_errors(program):`` in a child python."""
    import textwrap

    script = f"import termauth\nwith termauth.cli_errors({program!r}):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    env = dict(os.environ, TERMAUTH_NO_KEYRING="1")
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=str(tmp_path))


# The same cases as the npm package's test/runcli.test.mjs.
def test_cli_errors_not_logged_in_is_one_line_and_exit_3(tmp_path: Any) -> None:
    r = _cli("mycli", f"""
        c = termauth.Client("mycli", "https://login.example.com", "mycli", config_dir={str(tmp_path / "config")!r}, store="file")
        print(c.get_token())""", tmp_path)
    assert r.returncode == 3, r.stderr
    assert r.stderr == "mycli: Not logged in. Run `mycli login` first. [not_logged_in]\n"
    assert r.stdout == ""


def test_cli_errors_cancelled_and_ctrl_c_exit_130(tmp_path: Any) -> None:
    r = _cli("mycli", """
        raise termauth.Cancelled("The login was cancelled.", code="cancelled", kind="interrupted", hint="fatal")""", tmp_path)
    assert (r.returncode, r.stderr) == (130, "mycli: The login was cancelled. [cancelled]\n")
    r = _cli("mycli", "raise KeyboardInterrupt", tmp_path)
    assert (r.returncode, r.stderr) == (130, "")


def test_cli_errors_program_name_with_escapes_is_shown_not_obeyed(tmp_path: Any) -> None:
    r = _cli("my\x1b]0;owned\x07cli", """
        raise termauth.OAuthError("The request was denied.", code="access_denied", kind="oauth", hint="reauthenticate")""", tmp_path)
    assert r.returncode == 3
    assert not any(ord(ch) < 32 and ch != "\n" or ord(ch) == 127 for ch in r.stderr), repr(r.stderr)
    assert r.stderr.startswith("my") and r.stderr.endswith("cli: The request was denied. [access_denied]\n")


def test_cli_errors_lets_a_bug_through_with_its_traceback(tmp_path: Any) -> None:
    r = _cli("mycli", "raise TypeError('boom')", tmp_path)
    assert r.returncode == 1
    assert "Traceback" in r.stderr and "TypeError: boom" in r.stderr


def test_error_line_is_the_cores() -> None:
    e = termauth.TransportError("The server did not answer in time.", code="timeout", hint="retry_later")
    assert (e.line("mycli"), e.exit_code) == ("mycli: The server did not answer in time. [timeout]", 4)
    with pytest.raises(termauth.UsageError):
        _native.error_line("mycli", "{not json")


def test_qr_and_terminal_ui() -> None:
    import io

    from termauth.session import Notice, Progress, Prompt, QrCode, ShowUserCode

    lines = _native.qr_lines("https://example.com/device?user_code=ABCD")
    assert lines and len(lines) > 10 and all(len(l) == len(lines[0]) for l in lines)
    prompt = Prompt(["first line", "second line"], QrCode("scan me:", "https://e/d?c=ABCD"), ["after"])
    out = io.StringIO()
    ui = termauth.TerminalUI(out, rich=True)
    ui.show_user_code(ShowUserCode("ABCD", "https://e/d", 0, prompt, "https://e/d?c=ABCD"))
    ui.progress(0, Progress("Waiting… {left} left", 90_000))
    ui.notice(Notice("warning", "w", "careful"))
    text = out.getvalue()
    # the QR code last (an unknown size is taken as 80 × 24), erased at the end of the wait
    assert text.startswith("first line\nsecond line\nafter\nscan me:\n  ")
    assert "\r\x1b[2K⠋ Waiting… 1:30 left" in text
    # a notice ends the wait: the progress line and the QR code (caption and rows) are erased first
    qr_rows = text.split("\r")[0].split("\n")[3:-1]
    assert text.endswith(f"\r\x1b[2K\x1b[{len(qr_rows)}A\x1b[Jwarning: careful\n"), (len(qr_rows), text[-40:])
    plain = io.StringIO()
    p = termauth.TerminalUI(plain)  # not a TTY: no QR code, no spinner
    p.show_user_code(ShowUserCode("ABCD", "https://e/d", 0, prompt, "https://e/d?c=ABCD"))
    p.progress(0, Progress("Waiting {left}", 1000))
    assert plain.getvalue() == "first line\nsecond line\nafter\n"


def test_renderer_prints_only_the_sessions_words() -> None:
    """Whatever the session hands over is printed as is: no sentence of the renderer's own,
    no formatting of braces or percent signs, nothing substituted but {left}."""
    import io

    from termauth.session import Notice, Progress, Prompt, ShowAuthorizationUrl

    odd = ["{0} {user_code} %s %(x)s {{left}}", "", "  indented"]
    out = io.StringIO()
    ui = termauth.TerminalUI(out, rich=False)
    ui.show_authorization_url(ShowAuthorizationUrl("https://as/authorize", "http://127.0.0.1/cb", Prompt(odd)))
    ui.notice(Notice("info", "i", "%d {}"))
    assert out.getvalue() == "\n".join(odd) + "\n%d {}\n"
    rich = io.StringIO()
    termauth.TerminalUI(rich, rich=True).progress(0, Progress("{0} %s {left}", 61_000))
    assert rich.getvalue().endswith(" {0} %s 1:01")


def test_progress_fits_a_narrow_terminal_and_the_qr_code_goes_after_the_wait() -> None:
    """On a real terminal (a pty) 30 columns wide, the progress line is the longest form that
    fits, redrawn in place; 80 × 40 leaves room for the QR code, which the end of the wait
    erases (the instructions stay)."""
    import fcntl
    import pty
    import struct
    import termios

    from termauth.session import Progress, Prompt, QrCode

    progress = Progress("Waiting for code WDJB-MJHT… {left} left", 62_500, ["WDJB-MJHT {left}"])
    for columns, rows, frame in ((30, 24, "⠋ WDJB-MJHT 1:01"), (80, 40, "⠋ Waiting for code WDJB-MJHT… 1:01 left")):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        with open(slave, "w", encoding="utf-8", closefd=True) as stream:
            ui = termauth.TerminalUI(stream, rich=True)
            ui._print(Prompt(["enter the code: WDJB-MJHT"], QrCode("scan:", "https://as.example/d")))
            ui.progress(1_000, progress)
            ui.clear()
        written = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            written += chunk
        os.close(master)
        text = written.decode().replace("\r\n", "\n")
        assert f"\r\x1b[2K{frame}\r\x1b[2K" in text, (columns, text[-80:])
        if columns == 30:
            assert "scan:" not in text, "no QR code where it does not fit"
        else:
            shown = text.split("\r\x1b[2K")[0].split("\n")
            assert shown[1] == "scan:" and text.endswith(f"\x1b[{len(shown) - 2}A\x1b[J"), text[-30:]


def test_hostile_user_code_reaches_the_terminal_clean(fake: Fake, config_dir: Path) -> None:
    """A server that puts terminal escape sequences and newlines in the device code or its
    URIs: the session refuses them before anything is shown; the terminal gets nothing, and
    the error no control character."""
    import io

    for user_code, uri_tail in (("AB\x1b]0;pwned\x07CD\n\x1b[2J\x9b2J", ""), ("AB\u200bCD", ""),
                                ("AB", "\x1b[31m"), ("AB\x1b[2J", "\r\nX")):
        fake.routes["/device"] = (200, [("Content-Type", "application/json")], json.dumps({
            "device_code": "d", "user_code": user_code, "interval": 1, "expires_in": 2,
            "verification_uri": fake.url + "/v" + uri_tail, "verification_uri_complete": fake.url + "/v?c=1"}).encode())
        fake.routes["/token"] = (400, [("Content-Type", "application/json")], b'{"error":"expired_token"}')
        out = io.StringIO()
        c = termauth.Client(app="t", issuer=fake.url, client_id="cli", metadata=fake.metadata(),
                            ui=termauth.TerminalUI(out, rich=True))
        with pytest.raises(termauth.ProtocolError) as e:
            c.login("device")
        assert e.value.code == "invalid_field" and out.getvalue() == "", (user_code, out.getvalue())
        assert not any(ch in e.value.message for ch in "\x1b\r\n\x9b\u200b") and "pwned" not in e.value.message


def test_sessions_refuse_hostile_inputs() -> None:
    env = json.loads(_native.environment_json("t"))
    spec = json.dumps({"command": {"op": "get_token"}, "config": {"app": "t", "issuer": "https://as", "client_id": "c",
                                                                  "config_dir": "/nonexistent-termauth"},
                       "environment": env})
    s = _native.Session(spec, bytes(32), 1000)
    action = json.loads(s.poll_json(1000))
    assert action["type"] == "read_file"
    for bad in ("", "[]", "{", '{"type":"nope"}', '{"type":"file_contents"}', '{"type":"file_contents","id":"1"}',
                json.dumps({"type": "file_contents", "id": 99, "contents": None}), "\x00"):
        with pytest.raises(termauth.UsageError):
            s.handle_json(bad, 1000)
    assert json.loads(s.poll_json(1000)) == {"type": "await_response", "id": action["id"]}  # unchanged
    s.handle_json('{"type":"cancel"}', 1000)
    with pytest.raises(termauth.UsageError) as seed:
        _native.Session(spec, b"short", 0)
    assert seed.value.code == "invalid_seed"
    for bad_spec in ("{", "[]", json.dumps({"command": {"op": "fly"}, "config": {}, "environment": {}})):
        with pytest.raises(termauth.UsageError) as e:
            _native.Session(bad_spec, None, 0)
        assert e.value.code == "invalid_session_spec"
    loop: Dict[str, Any] = {}
    loop["self"] = loop
    secret = "s3cr3t-value"
    for config in (loop, {"app": "t", "issuer": "https://as", "client_id": "c", "metadata": object()},
                   {"app": "t", "issuer": "https://as", "client_id": "c", 1: secret},
                   {"app": "t", "issuer": "https://as", "client_id": "c", "client_secret": secret, "bogus": 1}):
        with pytest.raises(termauth.UsageError) as e:
            _native.start({"op": "status"}, config, 0)
        assert e.value.code == "invalid_session_spec" and secret not in e.value.message


def test_cached_path_is_one_native_call(config_dir: Path) -> None:
    """A cached token is the native get_token's answer: nothing loaded but the native module
    (no json, no dataclasses, no client, no HTTP stack)."""
    termauth.Client(app="termauth", issuer="https://as.example", client_id="cli",
                    interactive=False).login("token", token="pat-fast")
    code = (
        "import sys, termauth\n"
        "print(termauth.get_token('termauth', 'https://as.example', 'cli'))\n"
        "print(sorted(m for m in ('json', 'dataclasses', 'termauth._client', 'termauth.session', 'urllib.request',"
        " 'ssl', 'http.client', 'threading') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"TERMAUTH_NO_KEYRING": "1", "TERMAUTH_CONFIG_DIR": str(config_dir),
                              "PATH": "/usr/bin:/bin"})
    assert out.stdout.split("\n")[:2] == ["pat-fast", "[]"]


def test_client_cached_path_is_as_light(config_dir: Path) -> None:
    """The documented path, ``Client(...).get_token()`` on a cached token, is the same native
    call and loads little more: the client and the UI classes, not the session's dataclasses,
    json, typing, threading, the listener or an HTTP stack. A session that runs loads them."""
    termauth.Client(app="termauth", issuer="https://as.example", client_id="cli",
                    interactive=False).login("token", token="pat-client")
    heavy = ("json", "typing", "dataclasses", "threading", "signal", "queue", "socket", "selectors", "re",
             "importlib.util", "termauth.session", "termauth.flow", "termauth._listener", "termauth.transport",
             "termauth._contract", "urllib.request", "http.client", "ssl")
    code = (
        "import sys, termauth\n"
        "auth = termauth.Client(app='termauth', issuer='https://as.example', client_id='cli',"
        " scope='openid offline_access')\n"
        "print(auth.get_token())\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
        "print(auth.status().source, auth.authorization_header(), 'termauth.session' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"TERMAUTH_NO_KEYRING": "1", "TERMAUTH_CONFIG_DIR": str(config_dir),
                              "PATH": "/usr/bin:/bin"})
    assert out.stdout.split("\n")[:3] == ["pat-client", "[]", "store ('Authorization', 'Bearer pat-client') True"]


# ---------------------------------------------------------------- import weight


def test_import_is_light() -> None:
    code = (
        "import sys, termauth\n"
        "heavy = [m for m in ('termauth._native', 'termauth._client', 'urllib.request', 'ssl', 'http.client',"
        " 'httpx', 'requests', 'json', 'threading') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    fast = (
        "import sys, termauth\n"
        "try:\n    termauth.get_token('nobody-app', 'https://as.example', 'cli')\n"
        "except termauth.StorageError as e:\n    print(e.code)\n"
        "print([m for m in ('urllib.request', 'ssl', 'http.client', 'termauth._client') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", fast], capture_output=True, text=True, check=True,
                         env={"TERMAUTH_NO_KEYRING": "1", "NOBODY_APP_CONFIG_DIR": "/nonexistent-termauth",
                              "PATH": "/usr/bin:/bin"})
    assert out.stdout.split("\n")[0] == "not_logged_in"


def test_pkce_pair_matches_rfc7636() -> None:
    import base64
    import hashlib

    v, c = _native.pkce_pair()
    assert len(v) == 43
    assert c == base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    assert _native.pkce_pair(bytes(32)) == _native.pkce_pair(bytes(32)) != _native.pkce_pair()


def test_example_cli(idp: Idp, config_dir: Path) -> None:
    from conftest import ROOT

    cli = [sys.executable, str(ROOT / "examples" / "python" / "mycli.py"), "--issuer", idp.issuer,
           "--client-id", "termauth-cli"]
    env = dict(__import__("os").environ, MYCLI_CONFIG_DIR=str(config_dir))
    run = lambda *a, **kw: subprocess.run(cli + list(a), capture_output=True, text=True, env=env, **kw)  # noqa: E731
    first = run("token")
    assert first.returncode == 3 and first.stderr.startswith("mycli: Not logged in.")  # the session's words
    login = run("login", "--with-token", input="pat-xyz\n")
    warning, logged_in = login.stderr.splitlines()
    assert warning.startswith("warning: credential stored in ") and "TERMAUTH_NO_KEYRING" in warning
    assert login.returncode == 0 and logged_in.startswith("Logged in (method: token, profile: default")
    assert run("token").stdout.strip() == "pat-xyz"
    assert json.loads(run("status").stdout)["kind"] == "api_key"
    assert run("profiles").stdout.split() == ["*", "default"]
    refresh = run("refresh")
    assert refresh.returncode == 5 and "cannot be refreshed" in refresh.stderr  # an API key: fix_configuration
    logout = run("logout")
    assert logout.returncode == 0 and logout.stderr.startswith("Logged out here.")


def test_redirect_repr_hides_code_and_state() -> None:
    from termauth.flow import Redirect

    r = repr(Redirect("http://127.0.0.1:8400/callback?code=SECRETCODE&state=SECRETSTATE"))
    assert "SECRETCODE" not in r and "SECRETSTATE" not in r and "/callback?***" in r
