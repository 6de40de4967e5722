"""Starts a test server of this repository that says where it listens in a ready file
(tests/idp/server.js, tests/hostile/server.js): for the harnesses in tests/ and
bindings-python/wheel_test.py, which all start one the same way."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Tuple


def work_dir(prefix: str) -> str:
    """A new temporary directory that is removed when the harness exits, pass or fail: the
    harnesses run on every CI machine, and their directories (built probes, hundreds of
    credential stores) would otherwise fill its disk."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def start_node_server(root: str, script: str, work: str, member: str) -> Tuple["subprocess.Popen[bytes]", str]:
    """Runs ``node <root>/<script> --ready-file <work>/<name>.ready.json`` (a free port on
    127.0.0.1; its stderr goes to ``<work>/<name>.log``), waits up to 20 s for the ready file
    and returns the process and the file's ``member`` (the issuer or URL to use). Raises
    RuntimeError when the server does not start."""
    name = os.path.splitext(os.path.basename(script))[0]
    ready = os.path.join(work, f"{name}.ready.json")
    log_path = os.path.join(work, f"{name}.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["node", os.path.join(root, script), "--ready-file", ready],
                                stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(400):
        if os.path.exists(ready) and os.path.getsize(ready) > 0:
            with open(ready) as f:
                return proc, str(json.load(f)[member])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{script} did not start (its log: {log_path}; tests/idp needs `npm ci`, as scripts/setup.sh does)")
