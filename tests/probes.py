"""The login programs the cross-language harnesses run (tests/hostile/run.py,
tests/terminal/frames.py): one per language, each logging in with a method and an issuer
given on its command line — the Rust CLI, the Python and npm packages, the Go package (its
racer command) and the C ABI's client (examples/c)."""

from __future__ import annotations

import os
import subprocess
from typing import Callable, Dict, List

PY = r"""
import sys, termauth
app, client, method, issuer = sys.argv[1:5]
c = termauth.Client(app, issuer, client, launch_browser=False)
try:
    c.login(method)
except termauth.Error as e:
    print(f"error: {e.message} [{e.code}]", file=sys.stderr)
    sys.exit(e.exit_code)
"""

JS = r"""
const { Client, exitCode } = await import(process.argv[1]);
const [app, clientId, method, issuer] = process.argv.slice(2);
try {
  await new Client({ app, issuer, clientId, launchBrowser: false }).login({ method });
} catch (e) {
  console.error(`error: ${e.message} [${e.code}]`);
  process.exit(e.code === undefined ? 1 : exitCode(e));
}
"""


def login_programs(root: str, work: str, app: str, client: str) -> Dict[str, Callable[[str, str], List[str]]]:
    """Builds the Go probe and the C example into ``work`` and returns, per language, the
    argv of a login with ``method`` (``device`` or ``client_credentials``) against an issuer.
    The C example's app is ``termauth-example`` and its configuration directory
    ``EXAMPLE_CONFIG_DIR``. Raises RuntimeError when something is not built."""
    go_probe = os.path.join(work, "go-probe")
    # TERMAUTH_GO_TAGS=termauth_source links target/termauth-ffi's library instead of the
    # committed ones (while a change is in progress, before bindings-ffi/go-libs.sh build).
    built = subprocess.run(["go", "build", "-tags", os.environ.get("TERMAUTH_GO_TAGS", ""), "-o", go_probe, "./internal/racer"],
                           cwd=os.path.join(root, "bindings-ffi/go"), env=dict(os.environ, GOFLAGS="-mod=mod"),
                           capture_output=True, text=True)
    if built.returncode != 0:
        raise RuntimeError(f"could not build the Go probe (run bindings-ffi/build-lib.sh first):\n{built.stderr}")
    c_probe = os.path.join(work, "termauth-example-shared")
    built = subprocess.run(["make", "-s", "-C", os.path.join(root, "examples/c"), f"OUT={work}",
                            f"PREFIX={os.path.join(root, 'target/termauth-ffi')}", c_probe],
                           capture_output=True, text=True)
    if built.returncode != 0:
        raise RuntimeError(f"could not build the C example (run bindings-ffi/build-lib.sh first):\n{built.stderr}")
    python = os.path.join(root, ".venv/bin/python")
    node_pkg = os.path.join(root, "bindings-wasm/npm/dist/index.js")
    rust = os.path.join(root, "target/debug/termauth")
    for path, what in [(python, "the Python venv"), (node_pkg, "the npm package build"), (rust, "the Rust CLI")]:
        if not os.path.exists(path):
            raise RuntimeError(f"{what} is missing ({path}); run scripts/test.sh, which builds it")
    flag = {"device": "--device", "client_credentials": "--client-credentials"}
    return {
        "rust": lambda m, issuer: [rust, "login", flag[m], "--app", app, "--issuer", issuer, "--client-id", client],
        "python": lambda m, issuer: [python, "-c", PY, app, client, m, issuer],
        "node": lambda m, issuer: ["node", "--input-type=module", "-e", JS, node_pkg, app, client, m, issuer],
        "go": lambda m, issuer: [go_probe, "login", flag[m], "--app", app, "--issuer", issuer, "--client-id", client],
        "c": lambda m, issuer: [c_probe, {"device": "login-device", "client_credentials": "login-ci"}[m], issuer, client],
    }


__all__ = ["login_programs"]
