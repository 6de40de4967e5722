"""The Python layer itself: errors (and panics) as termauth.Error subclasses, malformed
server responses, the transports, the listener's rules, the httpx/requests Auth retry,
the store's refusals, typing of actions, and a light import."""

from __future__ import annotations

import json
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
from test_idp import password_client, record


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
        termauth.Client(app="t", issuer=fake.url, client_id="cli", interactive=False).metadata()
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


def test_listener_rules() -> None:
    from termauth._listener import LoopbackListener, respond
    from termauth._driver import now_ms

    with pytest.raises(termauth.UsageError) as e:
        LoopbackListener("0.0.0.0", 0)
    assert e.value.code == "listener_bind"
    with pytest.raises(termauth.UsageError):
        LoopbackListener("example.com", 0)
    lst = LoopbackListener("127.0.0.1", 0)
    base = f"http://127.0.0.1:{lst.port}"
    results: Dict[str, Any] = {}

    def client() -> None:
        for path in ("/favicon.ico", "/callbackx?code=1"):
            try:
                urllib.request.urlopen(base + path, timeout=5)
            except urllib.error.HTTPError as err:
                results[path] = err.code
        req = urllib.request.Request(base + "/callback?code=1", data=b"x", method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
        except urllib.error.HTTPError as err:
            results["POST"] = err.code
        with urllib.request.urlopen(base + "/callback?code=<b>&state=1", timeout=5) as r:
            results["ok"] = (r.status, r.read().decode())

    th = threading.Thread(target=client)
    th.start()
    got = lst.wait("/callback", now_ms() + 10_000, lambda: False, now_ms)
    assert got is not None
    target, conn = got
    assert target == "/callback?code=<b>&state=1"
    respond(conn, "200 OK", "Login <complete>", "echo: " + target)
    th.join(10)
    lst.close()
    assert results["/favicon.ico"] == 404 and results["/callbackx?code=1"] == 404 and results["POST"] == 405
    status, page = results["ok"]
    assert status == 200 and "&lt;b&gt;" in page and "<b>" not in page and "Login &lt;complete&gt;" in page


def test_listener_times_out() -> None:
    from termauth._listener import LoopbackListener
    from termauth._driver import now_ms

    with LoopbackListener("127.0.0.1", 0) as lst:
        assert lst.wait("/callback", now_ms() + 200, lambda: False, now_ms) is None


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
    k = termauth.Client(app="k", issuer=idp.issuer, client_id="termauth-cli", interactive=False)
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
    s = _native.Store("termauth", "file")
    issuer, client = "https://as.example", "cli"
    cred = {"schema_version": 1, "updated_at": 0, "kind": "api_key", "key": "k",
            "presentation": {"scheme": "bearer"}}
    assert s.save(issuer, client, "default", json.dumps(cred))[0] == "file"
    path = config_dir / "credentials" / f"default@{_native.server_key(issuer, client)}.json"
    assert json.loads(path.read_text()) == cred
    with pytest.raises(termauth.StorageError):
        s.save(issuer, client, "default", '{"schema_version":1}')
    path.write_text('{"schema_version": 2, "kind": "oauth"}')
    with pytest.raises(termauth.StorageError) as newer:
        s.load(issuer, client, "default")
    assert newer.value.code == "credential_newer_version"
    assert path.read_text() == '{"schema_version": 2, "kind": "oauth"}'  # untouched
    path.write_text("{half")
    with pytest.raises(termauth.StorageError) as corrupt:
        termauth.get_token("termauth", issuer, client)
    assert corrupt.value.code == "credential_corrupt" and corrupt.value.exit_code == 3
    st = termauth.Client(app="termauth", issuer=issuer, client_id=client).status()
    assert st.error is not None and st.error.code == "credential_corrupt"
    with pytest.raises(termauth.UsageError):
        _native.Store("termauth", "floppy")


def test_decide_mirrors_rust() -> None:
    c = json.dumps({"schema_version": 1, "updated_at": 0, "kind": "oauth", "issuer": "https://as",
                    "client_id": "c", "grant": "device_code",
                    "tokens": {"access_token": "a", "token_type": "Bearer", "expires_at": 100_000,
                               "refresh_token": "r"}})
    assert _native.decide(c, 0) == ("use", True, None)
    assert _native.decide(c, 50_000) == ("refresh", True, None)
    assert _native.decide(c, 100_000) == ("refresh", False, None)
    assert _native.decide(c, 0, force=True) == ("refresh", True, None)
    err = termauth.OAuthError("x", code="invalid_grant", hint="reauthenticate").to_json()
    assert _native.after_renewal_failure(c, err, 50)[0] == "use"
    assert _native.after_renewal_failure(c, err, 100_000)[0] == "relogin"
    down = termauth.TransportError("down", code="transport_error", hint="retry_later").to_json()
    with pytest.raises(termauth.TransportError):
        _native.after_renewal_failure(c, down, 100_000)
    assert _native.authorization_header(c) == ("Authorization", "Bearer a")


def test_qr_and_terminal_ui() -> None:
    import io

    lines = _native.qr_lines("https://example.com/device?user_code=ABCD")
    assert lines and len(lines) > 10 and all(len(l) == len(lines[0]) for l in lines)
    out = io.StringIO()
    ui = termauth.TerminalUI(out, rich=True)
    ui.show_user_code(termauth.flow.ShowUserCode("ABCD", "https://e/d", 0, "https://e/d?c=ABCD"), False)
    ui.tick(0, 90_000)
    ui.clear()
    text = out.getvalue()
    assert "enter the code: ABCD" in text and "QR code" in text and "1:30 left" in text
    plain = io.StringIO()
    termauth.TerminalUI(plain).tick(0, 1000)  # not a TTY: no spinner
    assert plain.getvalue() == ""


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
    assert run("token").returncode == 3  # not logged in: hint reauthenticate
    assert run("login", "--with-token", input="pat-xyz\n").returncode == 0
    assert run("token").stdout.strip() == "pat-xyz"
    assert json.loads(run("status").stdout)["kind"] == "api_key"
    assert run("profiles").stdout.split() == ["*", "default"]
    assert run("logout").returncode == 0


def test_redirect_repr_hides_code_and_state() -> None:
    from termauth.flow import Redirect

    r = repr(Redirect("http://127.0.0.1:8400/callback?code=SECRETCODE&state=SECRETSTATE"))
    assert "SECRETCODE" not in r and "SECRETSTATE" not in r and "/callback?***" in r
