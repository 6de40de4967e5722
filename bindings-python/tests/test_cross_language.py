"""The store is shared with the Rust CLI: a credential the Rust `termauth` saves is used by
Python, and back (same directory, records, profiles.json and lock protocol); Rust and
Python processes racing one expired credential make one refresh between them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

import termauth
from termauth.flow import SendRequest
from termauth.transport import UrllibTransport

from conftest import ROOT, Idp
from test_idp import Recorder, introspect, password_client, record, record_path, store

CLI_BIN = ROOT / "target" / "debug" / "termauth"


@pytest.fixture(scope="module")
def rust_cli() -> Path:
    if not CLI_BIN.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "termauth"], cwd=ROOT, check=True)
    return CLI_BIN


def env(config_dir: Path) -> Dict[str, str]:
    e = dict(os.environ)
    e.update({"TERMAUTH_CONFIG_DIR": str(config_dir), "TERMAUTH_NO_KEYRING": "1"})
    for v in ("TERMAUTH_APP", "TERMAUTH_TOKEN", "TERMAUTH_ISSUER", "TERMAUTH_CLIENT_ID", "TERMAUTH_PROFILE",
              "DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        e.pop(v, None)
    return e


def test_rust_login_python_get_token(idp: Idp, config_dir: Path, rust_cli: Path) -> None:
    proc = subprocess.Popen(
        [str(rust_cli), "login", "--device", "--issuer", idp.issuer, "--client-id", "termauth-cli",
         "--scope", "openid offline_access"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(config_dir),
    )
    assert proc.stderr is not None
    lines: List[str] = []
    code = None
    deadline = time.time() + 30
    while code is None and time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"enter the code: (\S+)", line)
        if m:
            code = m.group(1)
    assert code, "".join(lines)
    assert idp.approve_device(code)["ok"] is True
    # drain stderr so the CLI never blocks on a full pipe
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    assert proc.wait(timeout=60) == 0
    token = termauth.get_token("termauth", idp.issuer, "termauth-cli")
    assert introspect(idp, token)["active"] is True
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-cli", interactive=False)
    st = c.status()
    assert (st.source, st.store, st.grant) == ("store", "file", "device_code")
    # Python refreshes (rotation) the Rust-written record under the shared lock; Rust reads it back
    renewed = c.refresh()
    out = subprocess.run([str(rust_cli), "token", "--issuer", idp.issuer, "--client-id", "termauth-cli"],
                         capture_output=True, text=True, env=env(config_dir), check=True)
    assert out.stdout.strip() == renewed.token


def test_python_login_rust_token(idp: Idp, config_dir: Path, rust_cli: Path) -> None:
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-cli",
                        scope="openid offline_access", ui=Recorder(idp), profile="work")
    c.login("device")
    token = c.get_token()
    e = env(config_dir)
    out = subprocess.run([str(rust_cli), "token", "--issuer", idp.issuer, "--client-id", "termauth-cli"],
                         capture_output=True, text=True, env=e, check=True)
    assert out.stdout.strip() == token  # "work" is the active profile for Rust too
    profiles = subprocess.run([str(rust_cli), "profiles", "--issuer", idp.issuer, "--client-id", "termauth-cli"],
                              capture_output=True, text=True, env=e, check=True)
    assert profiles.stdout.split() == ["*", "work"]
    # Rust logs out (revokes, deletes); Python sees it
    subprocess.run([str(rust_cli), "logout", "--issuer", idp.issuer, "--client-id", "termauth-cli"],
                   capture_output=True, text=True, env=e, check=True)
    assert introspect(idp, token) == {"active": False}
    with pytest.raises(termauth.StorageError) as err:
        c.get_token()
    assert err.value.code == "not_logged_in"


def test_lock_is_shared(idp: Idp, config_dir: Path, rust_cli: Path) -> None:
    """Client.lock() is the lock file every language takes: the Rust CLI's logout waits for it."""
    c = termauth.Client(app="termauth", issuer=idp.issuer, client_id="termauth-cli", interactive=False)
    c.login("token", token="pat-locked")
    lock = c.lock()
    path = record_path(idp.issuer, "termauth-cli").with_suffix(".lock")
    held = json.loads(path.read_text())
    assert held["pid"] == os.getpid() and held["nonce"] and lock.path == str(path)
    rust = subprocess.Popen([str(rust_cli), "logout", "--issuer", idp.issuer, "--client-id", "termauth-cli"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(config_dir))
    time.sleep(1.0)
    assert rust.poll() is None and c.get_token() == "pat-locked"  # Rust waits; reading needs no lock
    assert lock.release() is True and lock.release() is False
    assert rust.wait(timeout=30) == 0
    with pytest.raises(termauth.StorageError):
        c.get_token()
    with c.lock() as again:
        assert Path(again.path).exists()
    assert not path.exists()


def test_rust_waits_for_the_lock_python_holds(short_idp: Idp, config_dir: Path, rust_cli: Path) -> None:
    """Python renews under the credential's lock, slowly; the Rust CLI, asked for the same
    expired token meanwhile, waits on the lock file, re-reads, and uses Python's renewal
    (one refresh: a second one with the rotated-away refresh token would revoke the grant)."""
    c = password_client(short_idp)
    rec = record(c)
    store(c, dict(rec, tokens=dict(rec["tokens"], expires_at=1)))
    in_refresh, go_on = threading.Event(), threading.Event()

    class Slow(UrllibTransport):
        def send(self, request: SendRequest) -> Any:
            if request.url.endswith("/token"):
                in_refresh.set()
                go_on.wait(30)
            return super().send(request)

    py = termauth.Client(app="termauth", issuer=short_idp.issuer, client_id="termauth-password",
                         interactive=False, transport=Slow())
    got: List[str] = []
    th = threading.Thread(target=lambda: got.append(py.get_token()))
    th.start()
    assert in_refresh.wait(30)
    lock = record_path(short_idp.issuer, "termauth-password").with_suffix(".lock")
    assert lock.exists() and json.loads(lock.read_text())["pid"] == os.getpid()  # the Rust lock format
    rust = subprocess.Popen([str(rust_cli), "token", "--issuer", short_idp.issuer, "--client-id", "termauth-password"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(config_dir))
    time.sleep(1.0)
    assert rust.poll() is None  # waiting for Python's lock
    go_on.set()
    out, err = rust.communicate(timeout=60)
    th.join(30)
    assert rust.returncode == 0, err
    assert got and out.strip() == got[0] != rec["tokens"]["access_token"]
    assert introspect(short_idp, got[0])["active"] is True
    assert not lock.exists()


def test_rust_and_python_race_one_expired_credential(short_idp: Idp, config_dir: Path, rust_cli: Path) -> None:
    """Three Rust and three Python processes want a token at once; the stored one has
    expired. One refreshes under the lock; the others wait and use its result."""
    c = password_client(short_idp)
    rec = record(c)
    store(c, dict(rec, tokens=dict(rec["tokens"], expires_at=1)))
    e = env(config_dir)
    rust = [str(rust_cli), "token", "--issuer", short_idp.issuer, "--client-id", "termauth-password"]
    python = [sys.executable, "-c",
              f"import termauth; print(termauth.get_token('termauth', {short_idp.issuer!r}, 'termauth-password'))"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
             for cmd in (rust, python, rust, python, rust, python)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
    tokens = {out.strip() for out, _ in results}
    assert len(tokens) == 1 and rec["tokens"]["access_token"] not in tokens
    token = tokens.pop()
    assert record(c)["tokens"]["access_token"] == token
    assert introspect(short_idp, token)["active"] is True  # no refresh token was used twice
    assert not list((config_dir / "credentials").glob("*.lock"))
