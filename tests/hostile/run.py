#!/usr/bin/env python3
"""The malformed-server corpus (issue 11), run in every language: each case of
tests/hostile/server.js is an issuer whose discovery, device or token endpoint misbehaves;
a login against it with the Rust CLI, the Python package, the npm package, the Go package
and the C ABI (examples/c) must end

  - with the case's exit code (0 ok, 3 log in again, 4 try later, 5 configuration, 6 other)
    and, when the case names one, its error code;
  - within a bounded time;
  - with nothing on stdout or stderr that a terminal acts on or hides: no C0 control but
    the line feed, no DEL, no C1 control, no bidirectional or zero-width character —
    whatever the server sent.

    python3 tests/hostile/run.py [--only NAME_PREFIX] [--languages rust,python,node,go]

Needs what scripts/test.sh builds: target/debug/termauth, the Python package in .venv,
bindings-wasm/npm/dist, and bindings-ffi's library (the Go probe and the C example are built
here).
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = "hostile"
sys.path.insert(0, os.path.join(ROOT, "tests"))
from probes import login_programs  # noqa: E402
from ready_server import start_node_server, work_dir  # noqa: E402
CLIENT = "cli"
SECRET = "s3cret-client"
BOUND_S = 20

# What must never reach a terminal: C0 controls but LF, DEL, C1 controls, and the invisible
# format characters (bidirectional controls, zero-width characters, BOM, tags).
UNSAFE = re.compile("[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\U000e0000-\U000e007f]")

def fail(message):
    sys.exit(f"hostile/run.py: {message}")


def start_server(work):
    try:
        return start_node_server(ROOT, "tests/hostile/server.js", work, "url")
    except RuntimeError as e:
        fail(str(e))


def probes(work):
    try:
        return login_programs(ROOT, work, APP, CLIENT)
    except RuntimeError as e:
        fail(str(e))


def run_case(case, language, argv, work):
    config_dir = os.path.join(work, "config", language, case["name"])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TERMAUTH_", "HOSTILE_", "EXAMPLE_", "CI", "SSH_", "HTTP", "HTTPS", "ALL_PROXY", "NO_PROXY",
                                "DISPLAY", "WAYLAND_DISPLAY", "GITHUB_", "GITLAB_"))}
    env.update({"HOSTILE_CONFIG_DIR": config_dir, "EXAMPLE_CONFIG_DIR": config_dir, "TERMAUTH_NO_KEYRING": "1", "BROWSER": "/bin/false",
                "NO_COLOR": "1", "TERMAUTH_CLIENT_SECRET": SECRET})
    started = time.monotonic()
    try:
        done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=BOUND_S * 2)
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as e:
        code, out, err = "timeout", e.stdout or b"", e.stderr or b""
    took = time.monotonic() - started
    if code == 0 and language == "rust":
        # What was stored is shown later too: `status` (scope, issuer) and `token`.
        for command in (["status"], ["token"]):
            more = subprocess.run(argv[:1] + command + argv[3:], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=BOUND_S)
            out, err = out + more.stdout, err + more.stderr
    problems = []
    try:  # strictly: an 8-bit C1 byte or other invalid UTF-8 is a finding, not a U+FFFD
        text = out.decode("utf-8") + err.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append(f"output that is not UTF-8 ({e.reason} at byte {e.start})")
        text = out.decode("utf-8", "replace") + err.decode("utf-8", "replace")
    if code != case["exit"]:
        problems.append(f"exit {code}, expected {case['exit']}")
    if case["code"] and f"[{case['code']}]" not in text:
        problems.append(f"no [{case['code']}] in the output")
    if case["endpoint"] == "tls" and "plain-HTTP" not in text:
        problems.append("the TLS failure does not say the port may speak plain HTTP")
    if took > BOUND_S:
        problems.append(f"took {took:.1f} s (bound {BOUND_S} s)")
    unsafe = sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(text)})
    if unsafe:
        problems.append(f"characters a terminal acts on or hides reached the output: {', '.join(unsafe)}")
    if b"hunter2" in out + err or b"X-Injected" in out:
        problems.append("a secret or an injected header reached the output")
    return problems, took, text.strip().splitlines()[-1:] if text.strip() else []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="run the cases whose name starts with this")
    ap.add_argument("--languages", default="rust,python,node,go,c")
    ap.add_argument("--verbose", action="store_true", help="print each run's last line of output")
    args = ap.parse_args()
    work = work_dir("termauth-hostile-")
    server, url = start_server(work)
    try:
        with __import__("urllib.request").request.urlopen(f"{url}/__cases") as r:
            cases = [c for c in json.load(r) if c["name"].startswith(args.only)]
        make = probes(work)
        languages = args.languages.split(",")
        jobs = [(case, lang) for case in cases for lang in languages]
        failures, slowest = [], (0.0, "")
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            issuer = lambda case: f"{url}/c/{case['name']}".replace("http://", "https://" if case["endpoint"] == "tls" else "http://")  # noqa: E731
            futures = {pool.submit(run_case, case, lang, make[lang](case["method"], issuer(case)), work):
                       (case, lang) for case, lang in jobs}
            for future in concurrent.futures.as_completed(futures):
                case, lang = futures[future]
                problems, took, last = future.result()
                slowest = max(slowest, (took, f"{case['name']} ({lang})"))
                if args.verbose:
                    print(f"{case['name']:40} {lang:6} {took:5.2f}s {last}")
                for p in problems:
                    failures.append(f"{case['name']} ({lang}): {p}; output ends: {last}")
        print(f"hostile server corpus: {len(cases)} cases × {len(languages)} languages = {len(jobs)} logins; "
              f"slowest {slowest[0]:.1f} s ({slowest[1]})")
        if failures:
            fail(f"{len(failures)} failure(s):\n  " + "\n  ".join(sorted(failures)))
        print("every login ended with its exit and error code, in bounded time, and no control, bidirectional "
              "or zero-width character reached stdout or stderr")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
