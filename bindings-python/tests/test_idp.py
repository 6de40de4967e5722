"""Every login method, refresh with rotation, revocation and the store, against the real
authorization server in tests/idp (oidc-provider), unattended: the IdP's approver plays
the user's browser."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import socket
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import termauth
from termauth.flow import SendRequest
from termauth.session import Notice, ShowAuthorizationUrl, ShowUserCode
from termauth.transport import UrllibTransport

from conftest import Idp, run_flow

CLI = "termauth-cli"
BASIC = ("termauth-ci-basic", "s3cr3t:with/special+chars")
POST = ("termauth-ci-post", "ci-post-secret")


class Recorder(termauth.UI):
    """A UI that records what the session told it and, like a user, approves device codes."""

    def __init__(self, idp: Optional[Idp] = None, action: str = "approve") -> None:
        self.idp = idp
        self.action = action
        self.codes: List[ShowUserCode] = []
        self.urls: List[ShowAuthorizationUrl] = []
        self.notices: List[Notice] = []
        self.approvals: List[Dict[str, Any]] = []

    @property
    def warnings(self) -> List[str]:
        return [n.text for n in self.notices if n.level == "warning"]

    def show_user_code(self, action: ShowUserCode) -> None:
        self.codes.append(action)
        if self.idp is not None:
            self.approvals.append(self.idp.approve_device(action.user_code, self.action))

    def show_authorization_url(self, action: ShowAuthorizationUrl) -> None:
        self.urls.append(action)

    def notice(self, notice: Notice) -> None:
        self.notices.append(notice)


def introspect(idp: Idp, token: str) -> Dict[str, Any]:
    req = urllib.request.Request(
        idp.issuer + "/token/introspection",
        data=urllib.parse.urlencode({"token": token}).encode(),
        headers={
            "Authorization": "Basic "
            + base64.b64encode(
                f"{BASIC[0]}:{urllib.parse.quote(BASIC[1], safe='')}".encode()
            ).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return dict(json.loads(r.read()))


def record_path(issuer: str, client_id: str, profile: str = "default") -> Path:
    """Where the file store keeps a record (the layout every language shares; the config
    directory is TERMAUTH_CONFIG_DIR, set by the config_dir fixture)."""
    key = hashlib.sha256(f"{issuer}\n{client_id}".encode()).hexdigest()[:16]
    return Path(os.environ["TERMAUTH_CONFIG_DIR"]) / "credentials" / f"{profile}@{key}.json"


def record(client: termauth.Client) -> Dict[str, Any]:
    return dict(json.loads(record_path(client.issuer, client.client_id, client.profile).read_text()))


def store(client: termauth.Client, rec: Dict[str, Any], profile: str = "default") -> None:
    """Writes a record as another termauth process would, 0600 in a 0700 directory (tests
    tamper with the store this way; a record others could read would be made private, with
    a warning)."""
    path = record_path(client.issuer, client.client_id, profile)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(rec))
    os.chmod(path, 0o600)


def discover(issuer: str) -> Dict[str, Any]:
    return dict(run_flow({"flow": "discovery", "issuer": issuer, "allow_insecure_http": True})["metadata"])


def device_client(idp: Idp, config_dir: Path, action: str = "approve", **kw: Any) -> termauth.Client:
    return termauth.Client(
        app="termauth", issuer=idp.issuer, client_id=CLI, scope="openid offline_access",
        ui=Recorder(idp, action), **kw,
    )


# ---------------------------------------------------------------- device


def test_device_approve(idp: Idp, config_dir: Path) -> None:
    c = device_client(idp, config_dir)
    report = c.login("device")
    assert report.method == "device" and report.profile == "default" and report.store == "file"
    assert "TERMAUTH_NO_KEYRING" in report.store_reason
    assert report.scope is not None and "offline_access" in report.scope.split()
    ui = c.ui
    assert isinstance(ui, Recorder) and ui.codes and ui.approvals[0]["ok"] is True
    assert ui.codes[0].text.lines[0].endswith(ui.codes[0].user_code)  # the session's words
    assert [n.code for n in ui.notices] == ["stored_in_file"]  # file store, auto: says why
    assert ui.warnings[0].startswith("credential stored in") and "TERMAUTH_NO_KEYRING" in ui.warnings[0]
    # who logged in: the ID token's claims (scope openid), in the report and in status
    assert report.account and report.text.startswith(f"Logged in as {report.account} (method: device, profile: default")
    rec = record(c)
    assert rec["grant"] == "device_code" and rec["tokens"]["refresh_token"]
    token = c.get_token()
    assert token == rec["tokens"]["access_token"]
    assert introspect(idp, token)["active"] is True
    st = c.status()
    assert (st.source, st.kind, st.grant, st.decision, st.refreshable) == ("store", "oauth", "device_code", "use", True)
    assert st.problem is None  # a CLI's status exits 0
    assert st.account == report.account
    # the credential file is the Rust layout: 0600 under credentials/, profiles.json active
    files = sorted(p.name for p in (config_dir / "credentials").iterdir())
    assert any(f.startswith("default@") and f.endswith(".json") for f in files)
    assert (config_dir / "credentials" / files[0]).stat().st_mode & 0o777 == 0o600
    assert json.loads((config_dir / "profiles.json").read_text())["active"]


def test_device_deny(idp: Idp, config_dir: Path) -> None:
    c = device_client(idp, config_dir, action="deny")
    with pytest.raises(termauth.OAuthError) as e:
        c.login("device")
    assert e.value.code == "access_denied" and e.value.hint == "reauthenticate"
    assert isinstance(e.value, termauth.Error)
    st = c.status()
    assert st.source == "none"
    # status for scripts: the problem, with the CLI's exit code (3: log in)
    assert st.problem is not None and st.problem.code == "not_logged_in" and st.problem.exit_code == 3
    assert "login" in st.problem.message and st.to_dict()["problem"]["code"] == "not_logged_in"
    with pytest.raises(termauth.StorageError) as nl:
        c.get_token()
    assert nl.value.code == "not_logged_in" and nl.value.hint == "reauthenticate"


# ---------------------------------------------------------------- browser and paste


def browser_client(idp: Idp, action: str = "approve", **kw: Any) -> termauth.Client:
    """A client whose user approves in a browser: the one the session launched, or (no
    display) one they open at the printed URL. The approver GETs the redirect into our
    listener, beside the executor."""
    results: List[Dict[str, Any]] = []
    launched: List[str] = []

    def approve(url: str) -> None:
        t = threading.Thread(target=lambda: results.append(idp.authorize(url, action, follow_redirect=True)))
        t.daemon = True
        t.start()

    def open_browser(url: str) -> bool:
        launched.append(url)
        approve(url)
        return True

    class User(Recorder):
        def show_authorization_url(self, a: ShowAuthorizationUrl) -> None:
            super().show_authorization_url(a)
            if not launched:
                approve(a.url)

    c = termauth.Client(
        app="termauth", issuer=idp.issuer, client_id=CLI, scope="openid offline_access",
        ui=User(), open_browser=open_browser, redirect_timeout_ms=60_000, **kw,
    )
    c._approver_results = results  # type: ignore[attr-defined]
    c._launched = launched  # type: ignore[attr-defined]
    return c


@pytest.mark.parametrize("display", [False, True], ids=["headless", "display"])
def test_browser_approve(idp: Idp, config_dir: Path, monkeypatch: pytest.MonkeyPatch, display: bool) -> None:
    if display:
        monkeypatch.setenv("BROWSER", "a-browser")  # a browser can be opened: the session asks for one
    c = browser_client(idp)
    report = c.login("browser")
    assert report.method == "browser"
    assert bool(c._launched) == display  # type: ignore[attr-defined]
    ui = c.ui
    assert isinstance(ui, Recorder)
    assert ui.urls[0].text.lines[0] == ("Opening your browser to log in. If it did not open, visit:" if display
                                        else "Open this URL in a browser to log in:")
    rec = record(c)
    assert rec["grant"] == "authorization_code" and rec["tokens"]["id_token"] and rec["tokens"]["refresh_token"]
    q = urllib.parse.parse_qs(urllib.parse.urlparse(ui.urls[0].url).query)
    assert q["code_challenge_method"] == ["S256"] and q["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert introspect(idp, c.get_token())["active"] is True
    # the listener answered with the session's page
    for _ in range(50):
        if c._approver_results:  # type: ignore[attr-defined]
            break
        time.sleep(0.1)
    res = c._approver_results[0]  # type: ignore[attr-defined]
    assert res["callback_status"] == 200 and "Login approved" in res["callback_body"]


def test_browser_deny(idp: Idp, config_dir: Path) -> None:
    c = browser_client(idp, action="deny")
    with pytest.raises(termauth.OAuthError) as e:
        c.login("browser")
    assert e.value.code == "access_denied"
    assert e.value.error_description
    for _ in range(50):
        if c._approver_results:  # type: ignore[attr-defined]
            break
        time.sleep(0.1)
    res = c._approver_results[0]  # type: ignore[attr-defined]
    # the browser is told the login failed (the session's failure page), not that it worked
    assert "Login failed" in res["callback_body"] and "approved" not in res["callback_body"]


# RFC 8252 §8.3: any local program can connect to the loopback listener. Idle connections
# must not delay the browser's redirect (the listener serves connections concurrently), and
# a request whose head never completes, or whose request line is not HTTP/1.x (RFC 9112
# §3), is dropped unparsed: it cannot touch the login.

Neighbour = Callable[[Tuple[str, int]], List[socket.socket]]


def browser_login_beside(idp: Idp, neighbour: Neighbour) -> float:
    """A browser login whose listener first meets ``neighbour`` (a local program, given the
    listener's address; the sockets it returns stay open until the redirect is answered).
    Then the user approves and the browser sends the redirect, timed: the login must
    complete, the redirect answered within 1 s of sending it (0.3-16 ms measured). Returns that time."""
    cancel = threading.Event()
    seen: Dict[str, Any] = {}

    def browser(url: str) -> None:
        held: List[socket.socket] = []
        try:
            redirect_uri = urllib.parse.urlparse(urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["redirect_uri"][0])
            held = neighbour((str(redirect_uri.hostname), int(redirect_uri.port or 80)))
            redirect = idp.authorize(url, "approve", follow_redirect=False)["redirect"]
            sent = time.monotonic()
            with urllib.request.urlopen(redirect, timeout=10) as r:
                seen["page"] = (r.status, r.read().decode())
            seen["took"] = time.monotonic() - sent
        except BaseException as e:  # the login would otherwise wait for its redirect deadline
            seen["failed"] = repr(e)
            cancel.set()
        finally:
            for s in held:
                s.close()

    class User(Recorder):
        def show_authorization_url(self, action: ShowAuthorizationUrl) -> None:
            super().show_authorization_url(action)
            seen["thread"] = threading.Thread(target=browser, args=(action.url,), daemon=True)
            seen["thread"].start()

    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI, scope="openid offline_access",
                        ui=User(), open_browser=lambda u: False, redirect_timeout_ms=60_000, cancel=cancel)
    try:
        report = c.login("browser")
    except termauth.Error as e:
        raise AssertionError(f"the login did not survive the neighbour: {e!r}; browser: {seen.get('failed')}") from e
    finally:
        if "thread" in seen:
            seen["thread"].join(15)
    assert "failed" not in seen, seen.get("failed")
    assert report.method == "browser" and record(c)["grant"] == "authorization_code"
    status, body = seen["page"]
    assert status == 200 and "Login approved" in body
    took = float(seen["took"])
    assert took < 1.0, f"the redirect was answered after {took:.2f} s: connections were served one at a time"
    return took


def until_closed(s: socket.socket) -> bytes:
    """What the listener sends back on ``s`` until it closes it (at most 3 s)."""
    s.settimeout(3)
    got = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return got
        got += chunk


def test_browser_login_is_not_delayed_by_idle_connections(idp: Idp, config_dir: Path) -> None:
    def idle(addr: Tuple[str, int]) -> List[socket.socket]:
        # Fifty connections that never send a byte, each allowed 5 s: served one after the
        # other they would hold the redirect for minutes.
        return [socket.create_connection(addr, timeout=5) for _ in range(50)]

    took = browser_login_beside(idp, idle)
    print(f"with 50 idle connections open, the redirect was answered in {took * 1000:.1f} ms")


def test_browser_login_drops_a_half_sent_request_line(idp: Idp, config_dir: Path) -> None:
    def half_sent(addr: Tuple[str, int]) -> List[socket.socket]:
        # No HTTP version and no line end, then FIN: the head never completed, so nothing
        # is parsed (parsed, it would be taken for a redirect with a forged state).
        s = socket.create_connection(addr, timeout=5)
        s.sendall(b"GET /callback?code=x&state=y")
        s.shutdown(socket.SHUT_WR)
        got = until_closed(s)
        assert got == b"", f"a half-sent request was answered: {got!r}"
        return [s]

    took = browser_login_beside(idp, half_sent)
    print(f"after a half-sent request line, the redirect was answered in {took * 1000:.1f} ms")


def test_browser_login_drops_a_request_line_without_http_version(idp: Idp, config_dir: Path) -> None:
    def no_version(addr: Tuple[str, int]) -> List[socket.socket]:
        # A complete head whose request line has no HTTP-version (RFC 9112 §3).
        s = socket.create_connection(addr, timeout=5)
        s.sendall(b"GET /callback?code=x&state=y\r\n\r\n")
        got = until_closed(s)
        assert got == b"", f"a request without a version was answered: {got!r}"
        return [s]

    took = browser_login_beside(idp, no_version)
    print(f"after a request line without a version, the redirect was answered in {took * 1000:.1f} ms")


def test_paste(idp: Idp, config_dir: Path) -> None:
    lines: "queue.Queue[str]" = queue.Queue()

    class PasteUser(Recorder):
        def show_authorization_url(self, action: ShowAuthorizationUrl) -> None:
            assert "paste it here" in action.text.lines[-1]
            super().show_authorization_url(action)
            redirect = idp.authorize(action.url, follow_redirect=False)["redirect"]
            lines.put("  not a url at all\n")  # refused (wrong path), asked again
            lines.put("  " + redirect + "  \n")  # pasted with whitespace

    def read_line(timeout: float) -> Optional[str]:
        try:
            return lines.get(timeout=timeout)
        except queue.Empty:
            return None

    opened: List[str] = []
    ui = PasteUser()
    c = termauth.Client(
        app="termauth", issuer=idp.issuer, client_id=CLI, scope="openid",
        ui=ui, read_line=read_line, open_browser=lambda u: bool(opened.append(u)),
    )
    report = c.login("paste")
    assert report.method == "paste" and not opened
    assert ui.warnings and "Paste it again" in ui.warnings[0]
    assert record(c)["grant"] == "authorization_code"
    q = urllib.parse.parse_qs(urllib.parse.urlparse(ui.urls[0].url).query)
    assert q["redirect_uri"] == ["http://127.0.0.1:8400/callback"]


def test_paste_stdin_closed(idp: Idp, config_dir: Path) -> None:
    def read_line(timeout: float) -> Optional[str]:
        raise EOFError

    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI, ui=Recorder(), read_line=read_line)
    with pytest.raises(termauth.InterruptedError) as e:
        c.login("paste")
    assert e.value.code == "stdin_closed"


def test_cancel_event(idp: Idp, config_dir: Path) -> None:
    cancel = threading.Event()

    class CancelUser(Recorder):
        def show_user_code(self, action: ShowUserCode) -> None:
            cancel.set()

    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI, ui=CancelUser(), cancel=cancel)
    with pytest.raises(termauth.Cancelled) as e:
        c.login("device")
    assert e.value.kind == "interrupted" and e.value.exit_code == 130
    assert c.status().source == "none"


def test_ctrl_c_during_a_device_login_exits_130(idp: Idp, config_dir: Path) -> None:
    """SIGINT while the example CLI waits for approval: the session is cancelled, the CLI
    prints the core's message and exits 130; nothing is stored."""
    import signal
    import subprocess
    import sys

    from conftest import ROOT

    env = dict(os.environ, MYCLI_CONFIG_DIR=str(config_dir))
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "python" / "mycli.py"), "--issuer", idp.issuer,
                             "--client-id", CLI, "login", "--device"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "enter the code:" in line, line
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip().startswith("mycli: ") and "Traceback" not in err
    assert not (config_dir / "credentials").exists() or not list((config_dir / "credentials").glob("*.json"))


class CtrlC(UrllibTransport):
    """Ctrl-C while a request is on its way."""

    def send(self, request: SendRequest) -> Any:
        raise KeyboardInterrupt


def expired_renewal_client(idp: Idp) -> Dict[str, Any]:
    c = password_client(idp)
    rec = record(c)
    store(c, dict(rec, tokens=dict(rec["tokens"], expires_at=1)))  # get_token must renew: under the lock
    return dict(rec, tokens=dict(rec["tokens"], expires_at=1))


def test_ctrl_c_during_a_request_ends_cleanly(idp: Idp, config_dir: Path) -> None:
    """The interrupted request is answered as such and the session cancelled: its lock is
    released, nothing is written, a termauth.Error is raised (KeyboardInterrupt does not leak)."""
    before = expired_renewal_client(idp)
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-password", interactive=False,
                        transport=CtrlC())
    with pytest.raises(termauth.Error):
        c.get_token()
    assert not list((config_dir / "credentials").glob("*.lock"))
    assert record(c) == before


def test_ctrl_c_during_a_request_is_cancelled(idp: Idp, config_dir: Path) -> None:
    expired_renewal_client(idp)
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-password", interactive=False,
                        transport=CtrlC())
    with pytest.raises(termauth.Cancelled) as e:
        c.get_token()
    assert e.value.exit_code == 130 == termauth.exit_code(e.value)


def test_cancel_while_waiting_for_a_lock(idp: Idp, config_dir: Path) -> None:
    c = password_client(idp)
    rec = record(c)
    store(c, dict(rec, tokens=dict(rec["tokens"], expires_at=1)))
    cancel = threading.Event()
    waiter = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-password", interactive=False,
                             cancel=cancel)
    with c.lock():
        threading.Timer(0.5, cancel.set).start()
        t = time.monotonic()
        with pytest.raises(termauth.Cancelled):
            waiter.get_token()
        assert time.monotonic() - t < 5


def test_lock_wait_gives_up(idp: Idp, config_dir: Path) -> None:
    c = password_client(idp)
    rec = record(c)
    store(c, dict(rec, tokens=dict(rec["tokens"], expires_at=1)))
    impatient = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-password",
                                interactive=False, lock_wait_ms=300)
    with c.lock():
        t = time.monotonic()
        with pytest.raises(termauth.StorageError) as e:
            impatient.get_token()
        assert e.value.code == "store_locked" and e.value.exit_code == 4 and time.monotonic() - t < 5


# ---------------------------------------------------------------- machines


@pytest.mark.parametrize("client,method", [(BASIC, "basic"), (POST, "post")])
def test_client_credentials(idp: Idp, config_dir: Path, client: Any, method: str) -> None:
    c = termauth.Client(
        app="termauth", issuer=idp.issuer, client_id=client[0], client_secret=client[1],
        secret_method=method, scope="api:read", interactive=False,
    )
    report = c.login("client_credentials")
    assert report.scope == "api:read"
    t1 = c.get_token()
    assert introspect(idp, t1)["active"] is True
    # forced renewal re-runs the grant (no refresh token in that grant)
    renewed = c.refresh()
    assert renewed.token != t1 and renewed.text and renewed.text.startswith("Token renewed")
    assert c.status().refreshable is True


def test_client_credentials_wrong_secret(idp: Idp, config_dir: Path) -> None:
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id=BASIC[0], client_secret="wrong", interactive=False)
    with pytest.raises(termauth.OAuthError) as e:
        c.login("client_credentials")
    assert (e.value.code, e.value.status, e.value.hint) == ("invalid_client", 401, "fix_configuration")


def test_auto_in_ci_uses_client_credentials(idp: Idp, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("MYCLI_CLIENT_SECRET", POST[1])
    c = termauth.Client(app="mycli", issuer=idp.issuer, client_id=POST[0], secret_method="post", interactive=False)
    assert c.login().method == "client_credentials"
    monkeypatch.delenv("MYCLI_CLIENT_SECRET")
    with pytest.raises(termauth.UsageError) as e:
        termauth.Client(app="mycli", issuer=idp.issuer, client_id=CLI, interactive=False).login()
    assert e.value.code == "ci_needs_credentials"


def test_auto_headless_uses_device(idp: Idp, config_dir: Path) -> None:
    c = device_client(idp, config_dir)
    assert c.login().method == "device"


def test_password(idp: Idp, config_dir: Path) -> None:
    c = termauth.Client(
        app="termauth", issuer=idp.issuer, client_id="termauth-password", scope="openid offline_access",
        enable_password_grant=True, interactive=False,
    )
    with pytest.raises(termauth.OAuthError) as e:
        c.login("password", username="alice", password="wrong")
    assert e.value.code == "invalid_grant"
    assert c.login("password", username="alice", password="wonderland").method == "password"
    assert record(c)["grant"] == "password"
    off = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-password", interactive=False)
    with pytest.raises(termauth.UsageError) as d:
        off.login("password", username="alice", password="wonderland")
    assert d.value.code == "password_grant_disabled"


def test_token_login(idp: Idp, config_dir: Path) -> None:
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI, interactive=False)
    c.login("token", token=" pat-123 ", header="X-API-Key", prefix="token ")
    assert c.get_token() == "pat-123"
    assert c.authorization_header() == ("X-API-Key", "token pat-123")
    with pytest.raises(termauth.UsageError) as e:
        c.refresh()
    assert e.value.code == "not_refreshable"
    report = c.logout()
    assert report.removed and not report.revoked and report.note and "API key" in report.note
    with pytest.raises(termauth.UsageError) as bad:
        c.login("token", token="has space")
    assert bad.value.code == "invalid_api_key"


# ---------------------------------------------------------------- lifecycle


def test_token_for_a_narrower_scope(idp: Idp, config_dir: Path) -> None:
    """A token limited to a scope within the grant: got by a refresh, not stored; a scope the
    login was not granted is refused (scope_not_granted), never answered with a token."""
    c = password_client(idp)
    stored = c.get_token()
    narrow = c.get_token_for(scope="openid")
    assert narrow.token != stored
    assert c.get_token() == stored
    with pytest.raises(termauth.UsageError) as e:
        c.get_token_for(scope="api:admin")
    assert e.value.code == "scope_not_granted" and "`api:admin` was not granted" in e.value.message
    # a resource (RFC 8707) goes to the server, which names what it refuses; blank asks are get_token
    with pytest.raises(termauth.Error) as target:
        c.get_token_for(resource=["https://unknown.example/"])
    assert target.value.code == "invalid_target"
    assert c.get_token_for(scope=" ", resource=[]).token == stored


def test_token_for_a_scope_refused_while_the_env_token_is_set(idp: Idp, config_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    c = password_client(idp)
    monkeypatch.setenv("TERMAUTH_TOKEN", "from-env")
    with pytest.raises(termauth.UsageError) as e:
        c.get_token_for(scope="openid")
    assert e.value.code == "scoped_token_from_env"


def password_client(idp: Idp, **kw: Any) -> termauth.Client:
    c = termauth.Client(
        app="termauth", issuer=idp.issuer, client_id="termauth-password", scope="openid offline_access",
        enable_password_grant=True, interactive=False, **kw,
    )
    c.login("password", username="alice", password="wonderland")
    return c


def test_refresh_rotation(idp: Idp, config_dir: Path) -> None:
    c = password_client(idp)
    before = record(c)
    after = c.refresh().credential
    assert after is not None
    assert after["tokens"]["refresh_token"] != before["tokens"]["refresh_token"]  # rotated
    assert after["tokens"]["access_token"] != before["tokens"]["access_token"]
    assert record(c) == after  # persisted
    assert c.get_token() == after["tokens"]["access_token"]
    # the old refresh token is dead: the core reports the server's invalid_grant
    with pytest.raises(termauth.OAuthError) as e:
        run_flow({"flow": "refresh", "server": discover(idp.issuer), "client": {"client_id": "termauth-password"},
                  "credential": before, "allow_insecure_http": True})
    assert e.value.code == "invalid_grant" and e.value.status == 400


def test_explicit_refresh_refused_is_an_error(idp: Idp, config_dir: Path) -> None:
    """`refresh` whose renewal the server refuses fails (exit 3) and forgets the dead refresh
    token, even while the access token is still valid (issue 10); `get_token` keeps serving it."""
    c = password_client(idp)
    rec = record(c)
    rec["tokens"]["refresh_token"] = "not-a-refresh-token-the-server-knows"
    store(c, rec)
    with pytest.raises(termauth.StorageError) as e:
        c.refresh()
    assert e.value.code == "login_required" and e.value.exit_code == 3
    assert "refresh_token" not in record(c)["tokens"]
    assert c.get_token() == rec["tokens"]["access_token"]


def test_get_token_renews_when_due(short_idp: Idp, config_dir: Path) -> None:
    c = password_client(short_idp)
    first = record(c)
    # issued an hour ago, 30 s left: inside the 60 s skew, so get_token renews under the lock
    aged = dict(first, updated_at=first["updated_at"] - 3_600_000)
    aged["tokens"] = dict(first["tokens"], expires_at=int(time.time() * 1000) + 30_000)
    store(c, aged)
    t = c.get_token()
    assert t != first["tokens"]["access_token"]
    assert record(c)["tokens"]["refresh_token"] != first["tokens"]["refresh_token"]
    assert not list((config_dir / "credentials").glob("*.lock"))  # lock released


def test_rotation_race_rereads(short_idp: Idp, config_dir: Path) -> None:
    """A process that ignored the lock rotated the refresh token first: our refresh gets
    invalid_grant, re-reads the record, and uses the other process's fresh token."""
    c = password_client(short_idp, refresh_skew_ms=0)
    stale = record(c)
    winner = c.refresh().credential  # "the other process"
    assert winner is not None
    stale["tokens"]["expires_at"] = 1  # our view: expired, to be refreshed with the consumed token
    store(c, stale)
    sent: List[str] = []

    class OtherProcessWritesFirst(UrllibTransport):
        def send(self, request: SendRequest) -> Any:
            sent.append(request.url)
            if len(sent) == 1:  # while our refresh is on its way, the other process writes
                store(c, winner)
            return super().send(request)

    c2 = termauth.Client(app="termauth", issuer=short_idp.issuer, client_id="termauth-password",
                         interactive=False, refresh_skew_ms=0, transport=OtherProcessWritesFirst())
    token = c2.get_token()
    # consuming a used refresh token revokes the grant at this IdP, so the winner's token
    # may now be inactive; what matters is that we returned the re-read record's token
    assert token == winner["tokens"]["access_token"] and len(sent) == 1 and sent[0].endswith("/token")
    assert record(c) == winner


def test_expired_without_renewal_is_login_required(idp: Idp, config_dir: Path) -> None:
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI, interactive=False)
    cred = {"schema_version": 1, "updated_at": 0, "kind": "oauth", "issuer": idp.issuer, "client_id": CLI,
            "grant": "device_code", "tokens": {"access_token": "old", "token_type": "Bearer", "expires_at": 1}}
    store(c, cred)
    with pytest.raises(termauth.StorageError) as e:
        c.get_token()
    assert e.value.code == "login_required" and e.value.exit_code == 3


def test_refresh_failure_serves_valid_token(idp: Idp, config_dir: Path) -> None:
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI, interactive=False, ui=Recorder())
    import time

    soon = time.time_ns() // 1_000_000 + 30_000  # within the skew, still valid
    cred = {"schema_version": 1, "updated_at": 0, "kind": "oauth", "issuer": idp.issuer, "client_id": CLI,
            "grant": "device_code",
            "tokens": {"access_token": "still-good", "token_type": "Bearer", "expires_at": soon,
                       "refresh_token": "unknown-refresh-token"}}
    store(c, cred)
    assert c.get_token() == "still-good"
    ui = c.ui
    assert isinstance(ui, Recorder) and [n.code for n in ui.notices] == ["renewal_failed"]
    assert "could not renew the token" in ui.warnings[0]


# ---------------------------------------------------------------- logout / revocation


def test_logout_revokes(idp: Idp, config_dir: Path) -> None:
    c = device_client(idp, config_dir)
    c.login("device")
    rec = record(c)
    assert introspect(idp, rec["tokens"]["access_token"])["active"] is True
    report = c.logout()
    assert report.removed and report.revoked and report.note is None
    assert introspect(idp, rec["tokens"]["access_token"]) == {"active": False}
    assert introspect(idp, rec["tokens"]["refresh_token"]) == {"active": False}
    assert c.status().source == "none"
    assert c.logout().removed is False


def test_logout_offline_still_deletes(idp: Idp, config_dir: Path) -> None:
    c = password_client(idp)
    dead = c.metadata()
    dead["revocation_endpoint"] = "http://127.0.0.1:9/revoke"  # nothing listens on port 9
    offline = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-password",
                              metadata=dead, interactive=False)
    report = offline.logout()
    assert report.removed and not report.revoked
    assert report.note and "not revoked" in report.note and report.note in report.text


# ---------------------------------------------------------------- profiles, env, module-level get_token


def test_profiles(idp: Idp, config_dir: Path) -> None:
    for name in ("work", "home"):
        termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI, profile=name,
                        interactive=False).login("token", token=f"pat-{name}")
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI, interactive=False)
    assert c.profile == "home"  # the last login made it active
    assert [(p.name, p.active) for p in c.profiles()] == [("home", True), ("work", False)]
    # every stored credential: the two profiles, and another client's
    termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-other", interactive=False).login(
        "token", token="pat-other")
    every = c.status_all()
    assert [(s.client_id, s.profile, s.source) for s in every] == [
        (CLI, "home", "store"), (CLI, "work", "store"), ("termauth-other", "default", "store")]
    c.use_profile("work")
    assert c.get_token() == "pat-work"
    assert termauth.get_token("termauth", idp.issuer, CLI) == "pat-work"
    assert termauth.get_token("termauth", idp.issuer, CLI, profile="home") == "pat-home"
    with pytest.raises(termauth.UsageError) as e:
        termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI, profile="../etc").get_token()
    assert e.value.code == "invalid_profile"
    with pytest.raises(termauth.UsageError) as unknown:
        c.use_profile("nobody")
    assert unknown.value.code == "unknown_profile"


def test_env_token_wins(idp: Idp, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYCLI_TOKEN", " from-env ")
    assert termauth.get_token("mycli", idp.issuer, CLI) == "from-env"
    st = termauth.Client(app="mycli", issuer=idp.issuer, client_id=CLI).status()
    assert (st.source, st.env_var) == ("env", "MYCLI_TOKEN")


def test_module_get_token_renews(short_idp: Idp, config_dir: Path) -> None:
    c = password_client(short_idp)
    first = record(c)
    old = first["tokens"]["access_token"]
    # expired in the store: the module-level fast path hands the session on to renew it
    store(c, dict(first, tokens=dict(first["tokens"], expires_at=1)))
    t = termauth.get_token("termauth", short_idp.issuer, "termauth-password")
    assert t != old and t == record(c)["tokens"]["access_token"]


def test_discovery_cache_shared_with_rust_layout(idp: Idp, config_dir: Path) -> None:
    m = termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI).metadata()
    key = hashlib.sha256(f"{idp.issuer}\n".encode()).hexdigest()[:16]
    path = config_dir / "metadata" / f"{key}.json"
    cached = json.loads(path.read_text())
    assert cached["metadata"]["issuer"] == idp.issuer == m["issuer"] and m["token_endpoint"]
    assert isinstance(cached["fetched_at"], int)
    # a day old: discovered again (and rewritten); younger: used as is
    path.write_text(json.dumps({"fetched_at": cached["fetched_at"] - 86_400_001,
                                "metadata": dict(cached["metadata"], token_endpoint=idp.issuer + "/old")}))
    assert termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI).metadata() == m
    path.write_text(json.dumps({"fetched_at": cached["fetched_at"],
                                "metadata": dict(cached["metadata"], token_endpoint=idp.issuer + "/cached")}))
    assert termauth.Client(app="termauth", issuer=idp.issuer, client_id=CLI).metadata()["token_endpoint"].endswith(
        "/cached")


def test_debug_trace_redacts_secrets(idp: Idp, config_dir: Path) -> None:
    """``debug=True`` (as ``TERMAUTH_DEBUG=1``): each HTTP exchange as an ``http_trace``
    notice, with no token and no client secret in it (issue 13)."""
    ui = Recorder()
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id=BASIC[0], client_secret=BASIC[1],
                        scope="api:read", ui=ui, debug=True)
    c.login("client_credentials")
    token = c.get_token()
    traces = [n.text for n in ui.notices if n.code == "http_trace"]
    assert any(t.startswith("-> POST ") and "grant_type=client_credentials" in t for t in traces), traces
    assert any(t.startswith("<- 200") and "access_token: [redacted]" in t for t in traces), traces
    everything = "\n".join(traces)
    for secret in (token, BASIC[1], base64.b64encode(BASIC[1].encode()).decode()):
        assert secret not in everything
