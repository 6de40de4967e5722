#!/usr/bin/env python3
"""The cross-language refresh race: processes of every language — the Rust CLI, the Python
package, the npm package and the Go package — start at once on one stored credential that
has expired. They share the store and its lock, so exactly one of them may refresh (the
refresh token rotates: a second refresh with the old one fails, and oidc-provider then
revokes the whole grant), and every process must print the same new token.

    python3 tests/race/all_languages.py [--rounds 3] [--per-language 2]

Needs what scripts/test.sh builds first: target/debug/termauth, the Python package in .venv,
bindings-wasm/npm/dist, and Go with bindings-ffi's static library (the Go racer is built
here). A language whose build is missing is an error, not a skip: the race is only worth
running with all of them.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = "racer"
CLIENT = "termauth-password"
sys.path.insert(0, os.path.join(ROOT, "tests"))
from ready_server import start_node_server, work_dir  # noqa: E402


def fail(message):
    sys.exit(f"all_languages.py: {message}")


def start_idp(work):
    try:
        return start_node_server(ROOT, "tests/idp/server.js", work, "issuer")
    except RuntimeError as e:
        fail(str(e))


def counts(issuer):
    with urllib.request.urlopen(f"{issuer}/__test/counts") as r:
        return json.load(r)["token"]


def racers(issuer, work, per_language):
    """(language, argv) of every racer: each prints the app's token and exits 0."""
    go_racer = os.path.join(work, "go-racer")
    env = dict(os.environ, GOFLAGS="-mod=mod")
    built = subprocess.run(["go", "build", "-o", go_racer, "./internal/racer"], cwd=os.path.join(ROOT, "bindings-ffi/go"),
                           env=env, capture_output=True, text=True)
    if built.returncode != 0:
        fail(f"could not build the Go racer (run bindings-ffi/build-lib.sh first):\n{built.stderr}")
    python = os.path.join(ROOT, ".venv/bin/python")
    node_pkg = os.path.join(ROOT, "bindings-wasm/npm/dist/index.js")
    rust = os.path.join(ROOT, "target/debug/termauth")
    for path, what in [(python, "the Python venv"), (node_pkg, "the npm package build"), (rust, "the Rust CLI")]:
        if not os.path.exists(path):
            fail(f"{what} is missing ({path}); run scripts/test.sh, which builds it")
    py = ("import termauth; print(termauth.Client(app=%r, issuer=%r, client_id=%r, interactive=False).get_token())"
          % (APP, issuer, CLIENT))
    js = ("import { Client } from %s; console.log(await new Client({ app: %s, issuer: %s, clientId: %s, interactive: false }).getToken());"
          % (json.dumps(node_pkg), json.dumps(APP), json.dumps(issuer), json.dumps(CLIENT)))
    kinds = [
        ("rust", [rust, "token", "--app", APP, "--issuer", issuer, "--client-id", CLIENT]),
        ("python", [python, "-c", py]),
        ("node", ["node", "--input-type=module", "-e", js]),
        ("go", [go_racer, "token", "--app", APP, "--issuer", issuer, "--client-id", CLIENT]),
    ]
    return [k for k in kinds for _ in range(per_language)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--per-language", type=int, default=2)
    args = ap.parse_args()
    work = work_dir("termauth-race-")
    idp, issuer = start_idp(work)
    try:
        config_dir = os.path.join(work, "config")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TERMAUTH_", "RACER_", "CI", "SSH_", "HTTP", "HTTPS", "ALL_PROXY", "NO_PROXY"))}
        env.update({"RACER_CONFIG_DIR": config_dir, "TERMAUTH_NO_KEYRING": "1", "BROWSER": "/bin/false", "NO_COLOR": "1"})
        rust = os.path.join(ROOT, "target/debug/termauth")
        login = subprocess.run([rust, "login", "--password", "--username", "alice", "--app", APP, "--issuer", issuer,
                                "--client-id", CLIENT, "--scope", "openid offline_access"],
                               env=dict(env, TERMAUTH_PASSWORD="wonderland"), capture_output=True, text=True)
        if login.returncode != 0:
            fail(f"login failed: {login.stderr}")
        procs = racers(issuer, work, args.per_language)
        record = next(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(config_dir, "credentials"))
                      for f in fs if f.endswith(".json"))
        for round_ in range(1, args.rounds + 1):
            rec = json.load(open(record))
            old = rec["tokens"]["access_token"]
            rec["tokens"]["expires_at"] = int(time.time() * 1000) - 1000
            with open(record, "w") as f:
                json.dump(rec, f)
            before = counts(issuer).get("refresh_token", {"requests": 0, "issued": 0})
            random.shuffle(procs)
            running = [(lang, subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                       for lang, argv in procs]
            results = [(lang, p.wait(timeout=120), p.stdout.read().strip(), p.stderr.read().strip()) for lang, p in running]
            after = counts(issuer).get("refresh_token", {"requests": 0, "issued": 0})
            refreshes = after["requests"] - before["requests"]
            tokens = {out for _, code, out, _ in results if code == 0}
            failed = [(lang, code, err) for lang, code, _, err in results if code != 0]
            langs = sorted({lang for lang, _ in procs})
            print(f"round {round_}: {len(results)} processes ({', '.join(langs)}), "
                  f"{refreshes} refresh request(s), {len(tokens)} distinct token(s)")
            if failed:
                fail(f"round {round_}: processes failed: {failed}")
            if refreshes != 1:
                fail(f"round {round_}: {refreshes} refresh requests reached the IdP (exactly one expected)")
            if len(tokens) != 1 or old in tokens:
                fail(f"round {round_}: the processes printed {len(tokens)} tokens (one new token expected)")
            if json.load(open(record))["tokens"]["access_token"] not in tokens:
                fail(f"round {round_}: the stored token is not the one printed")
        print("cross-language race: every round made exactly one refresh, every process printed the new token")
    finally:
        idp.terminate()
        idp.wait(timeout=10)


if __name__ == "__main__":
    main()
