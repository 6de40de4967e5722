"""The built distributions, installed as a user outside this repository would install them.

1. The x86_64 manylinux wheel (target/wheels/) goes into a fresh venv with no Rust on PATH
   (checked: `command -v cargo` and `command -v rustc` fail there), from the file alone
   (`--no-index`), and logs in against the real IdP (tests/idp): client credentials with
   `termauth-ci-basic`, then `get_token()` in the same process and `termauth.get_token()` in a
   second one (the native fast path reading the stored credential); the token is active at the
   IdP's introspection endpoint. The native module must load from the venv, not the repository.
2. The sdist with no Rust on PATH: `pip install` stops within seconds with the package's
   message (no toolchain download: puccinialin is never installed).
3. The sdist with Rust (skipped when TERMAUTH_WHEEL_TEST_SDIST_BUILD=0): `pip wheel` builds a
   wheel, and that wheel, installed in another fresh venv, logs in the same way.

Standard library only; run by bindings-python/wheel-test.sh after build-wheels.sh.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from typing import Dict, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEELS = os.path.join(ROOT, "target", "wheels")
CLIENT = ("termauth-ci-basic", "s3cr3t:with/special+chars")  # tests/idp/server.js
sys.path.insert(0, os.path.join(ROOT, "tests"))
from ready_server import start_node_server  # noqa: E402
APP = "wheeltest"

LOGIN = r"""
import json, os, sys
import termauth, termauth._native
issuer, expect_prefix = sys.argv[1], sys.argv[2]
native = os.path.realpath(termauth._native.__file__)
assert native.startswith(expect_prefix), f"termauth._native loaded from {native}, not from {expect_prefix}"
c = termauth.Client(app="wheeltest", issuer=issuer, client_id="termauth-ci-basic",
                    client_secret="s3cr3t:with/special+chars", scope="api:read", interactive=False)
report = c.login("client_credentials")
assert report.method == "client_credentials" and report.scope == "api:read", report
token = c.get_token()
assert token, "empty token"
print(json.dumps({"native": native, "method": report.method, "store": report.store, "scope": report.scope,
                  "token": token, "text": report.text}))
"""

FAST = r"""
import sys, termauth
print(termauth.get_token("wheeltest", sys.argv[1], "termauth-ci-basic"))
"""

passed: List[str] = []


def ok(what: str) -> None:
    passed.append(what)
    print(f"ok: {what}", flush=True)


def fail(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr, flush=True)
    print(f"{len(passed)} passed, 1 failed")
    sys.exit(1)


def no_rust_env(extra_path: str) -> Dict[str, str]:
    """The environment less Rust: PATH without any folder holding cargo or rustc (~/.cargo/bin
    among them), no CARGO_*/RUSTUP_*/RUSTC* variables, the venv's bin first."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CARGO", "RUSTUP", "RUSTC", "RUST_", "VIRTUAL_ENV", "PYTHONPATH", "MATURIN"))}
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not any(os.path.exists(os.path.join(d, tool)) for tool in ("cargo", "rustc", "rustup"))]
    env["PATH"] = os.pathsep.join([extra_path] + dirs)
    for tool in ("cargo", "rustc", "rustup"):
        found = subprocess.run(["sh", "-c", f"command -v {tool}"], env=env, capture_output=True, text=True)
        if found.returncode == 0:
            fail(f"{tool} is still on PATH in the no-Rust environment: {found.stdout.strip()}")
    return env


def login_env(base: Dict[str, str], config: str) -> Dict[str, str]:
    env = {k: v for k, v in base.items()
           if k not in ("TERMAUTH_TOKEN", "TERMAUTH_CLIENT_SECRET", "WHEELTEST_TOKEN", "WHEELTEST_CLIENT_SECRET",
                        "BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")}
    env["TERMAUTH_NO_KEYRING"] = "1"
    env["WHEELTEST_CONFIG_DIR"] = config  # <APP>_CONFIG_DIR
    return env


def venv(path: str) -> Tuple[str, str]:
    """A fresh venv: (its python, its site-packages)."""
    subprocess.run([sys.executable, "-m", "venv", path], check=True)
    python = os.path.join(path, "bin", "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    return python, os.path.realpath(site)


def start_idp(work: str) -> Tuple["subprocess.Popen[bytes]", str]:
    """tests/idp/server.js on a free port (tests/ready_server.py)."""
    try:
        return start_node_server(ROOT, "tests/idp/server.js", work, "issuer")
    except RuntimeError as e:
        fail(str(e))
        raise


def introspect(issuer: str, token: str) -> Dict[str, object]:
    basic = base64.b64encode(f"{CLIENT[0]}:{urllib.parse.quote(CLIENT[1], safe='')}".encode()).decode()
    req = urllib.request.Request(issuer + "/token/introspection",
                                 data=urllib.parse.urlencode({"token": token}).encode(),
                                 headers={"Authorization": "Basic " + basic,
                                          "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return dict(json.loads(r.read()))


def check_login(python: str, site: str, env: Dict[str, str], issuer: str, cwd: str, what: str) -> None:
    config = env["WHEELTEST_CONFIG_DIR"]
    run = subprocess.run([python, "-c", LOGIN, issuer, site], env=env, cwd=cwd, capture_output=True, text=True,
                         timeout=120)
    if run.returncode != 0:
        fail(f"{what}: the login failed (exit {run.returncode}):\n{run.stdout}{run.stderr}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    token = result["token"]
    if introspect(issuer, token).get("active") is not True:
        fail(f"{what}: the IdP does not know the token as active")
    fast = subprocess.run([python, "-c", FAST, issuer], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    if fast.returncode != 0 or fast.stdout.strip() != token:
        fail(f"{what}: termauth.get_token() in a second process did not return the stored token:\n"
             f"{fast.stdout}{fast.stderr}")
    stored = glob.glob(os.path.join(config, "credentials", "*.json"))
    if len(stored) != 1:
        fail(f"{what}: expected the credential in {config}/credentials, found {stored}")
    print(f"   {result['text']}".rstrip())
    print(f"   native module: {result['native']}; store: {result['store']}; scope: {result['scope']}; "
          f"token: {len(token)} characters, active at the IdP, read back by termauth.get_token()")
    ok(f"{what}: client-credentials login, get_token() and the fast path")


def one(pattern: str) -> str:
    found = sorted(glob.glob(os.path.join(WHEELS, pattern)))
    if len(found) != 1:
        fail(f"expected one {pattern} in {WHEELS}, found {found or 'none'}; run bindings-python/build-wheels.sh")
    return found[0]


def main() -> None:
    wheel = one("termauth-*-cp39-abi3-manylinux*_x86_64.whl")
    sdist = one("termauth-*.tar.gz")
    work = tempfile.mkdtemp(prefix="termauth-wheel-test-")
    idp, issuer = start_idp(work)
    try:
        # 1. the wheel, no Rust
        python, site = venv(os.path.join(work, "venv-wheel"))
        env = no_rust_env(os.path.dirname(python))
        ok("no cargo, rustc or rustup on PATH in the fresh venv's environment")
        subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", wheel], env=env, check=True)
        ok(f"pip install {os.path.basename(wheel)} into a fresh venv (--no-index, no Rust)")
        check_login(python, site, login_env(env, os.path.join(work, "config-wheel")), issuer, work, "wheel")

        # 2. the sdist, no Rust: a message, quickly, and no toolchain download
        python2, _ = venv(os.path.join(work, "venv-sdist-no-rust"))
        env2 = no_rust_env(os.path.dirname(python2))
        start = time.monotonic()
        run = subprocess.run([python2, "-m", "pip", "install", "--no-cache-dir", sdist], env=env2, cwd=work,
                             capture_output=True, text=True, timeout=300)
        took = time.monotonic() - start
        out = run.stdout + run.stderr
        if run.returncode == 0:
            fail("pip install of the sdist with no Rust succeeded: a toolchain was downloaded?\n" + out)
        if "termauth: building from source needs Rust" not in out:
            fail("pip install of the sdist with no Rust failed without the package's message:\n" + out)
        if "puccinialin" in out or "Rust not found, installing" in out:
            fail("pip install of the sdist with no Rust tried to install a toolchain:\n" + out)
        print("   " + next(line.strip() for line in out.splitlines() if "termauth: building from source" in line))
        ok(f"pip install of the sdist with no Rust stops with the package's message in {took:.1f} s, no download")

        # 3. the sdist, with Rust
        if os.environ.get("TERMAUTH_WHEEL_TEST_SDIST_BUILD", "1") == "0":
            print("skipped: pip wheel of the sdist (TERMAUTH_WHEEL_TEST_SDIST_BUILD=0)")
        else:
            built = os.path.join(work, "from-sdist")
            env3 = dict(os.environ)
            env3.pop("VIRTUAL_ENV", None)
            # Its own target directory: maturin's PEP 517 build also copies the wheel into
            # <target>/wheels, which must not mix with target/wheels.
            target = os.path.join(ROOT, "target", "sdist-build")
            env3["CARGO_TARGET_DIR"] = target
            # The sdist's files all carry one fixed old mtime, so cargo would take a kept build
            # of the project's own crates for fresh: forget those (the dependencies stay).
            for stale in glob.glob(os.path.join(target, "release", ".fingerprint", "termauth-*")):
                shutil.rmtree(stale)
            start = time.monotonic()
            run = subprocess.run(["nice", "-n", "19", python2, "-m", "pip", "wheel", "-q", "--no-deps", "-w", built,
                                  sdist], env=env3, cwd=work, capture_output=True, text=True, timeout=1800)
            if run.returncode != 0:
                fail(f"pip wheel of the sdist failed:\n{run.stdout}{run.stderr}")
            took = time.monotonic() - start
            sdist_wheel = glob.glob(os.path.join(built, "termauth-*.whl"))
            if len(sdist_wheel) != 1:
                fail(f"pip wheel of the sdist made {sdist_wheel}")
            size = os.path.getsize(sdist_wheel[0])
            ok(f"pip wheel of the sdist (with Rust) built {os.path.basename(sdist_wheel[0])}: "
               f"{size} bytes in {took:.0f} s")
            python3, site3 = venv(os.path.join(work, "venv-from-sdist"))
            env4 = no_rust_env(os.path.dirname(python3))
            subprocess.run([python3, "-m", "pip", "install", "-q", "--no-index", "--no-deps", sdist_wheel[0]],
                           env=env4, check=True)
            check_login(python3, site3, login_env(env4, os.path.join(work, "config-sdist")), issuer, work,
                        "wheel built from the sdist")
    finally:
        idp.terminate()
        try:
            idp.wait(timeout=10)
        except subprocess.TimeoutExpired:
            idp.kill()
    shutil.rmtree(work, ignore_errors=True)
    print(f"{len(passed)} passed, 0 failed")


if __name__ == "__main__":
    main()
