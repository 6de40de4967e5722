"""The store is shared with the Rust CLI: a credential the Rust `termauth` saves is used by
Python, and back (same directory, records, profiles.json and lock protocol)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List

import pytest

import termauth

from conftest import ROOT, Idp
from test_idp import Recorder, introspect

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
    assert out.stdout.strip() == renewed["tokens"]["access_token"]


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


def test_lock_is_shared(idp: Idp, config_dir: Path) -> None:
    """A lock taken through Python is the Rust lock file; a second taker waits for it."""
    from termauth import _native

    s = _native.Store("termauth", "file")
    lock = s.lock(idp.issuer, "termauth-cli", "default")
    key = _native.server_key(idp.issuer, "termauth-cli")
    path = config_dir / "credentials" / f"default@{key}.lock"
    assert path.exists() and '"pid"' in path.read_text()
    got: List[float] = []

    def second() -> None:
        t = time.time()
        with s.lock(idp.issuer, "termauth-cli", "default"):
            got.append(time.time() - t)

    th = threading.Thread(target=second)
    th.start()
    time.sleep(0.4)
    assert not got  # waiting (and the GIL is free: this thread runs)
    lock.release()
    th.join(10)
    assert got and got[0] >= 0.3
    assert not path.exists()
