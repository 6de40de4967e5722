#!/usr/bin/env python3
"""`termauth token` with a cached token vs `cat` of the same record file (the budget:
≤ 1.2× cat), and optionally another `termauth` build side by side (e.g. the previous
release), in interleaved rounds: each round runs every command once, in random order, and
the ratio is taken per round.

    cargo build --release -p termauth
    python3 bench/cli/bench.py --runs 200 target/release/termauth [OTHER_TERMAUTH ...]

Every binary reads the same credential: a file-store record written here (no keyring, no
network), valid for an hour, so `token` prints it without renewing.
"""
import argparse
import atexit
import hashlib
import json
import os
import random
import statistics
import subprocess
import shutil
import sys
import tempfile
import time

ISSUER = "https://login.example.com"
CLIENT = "bench-cli"


def record_path(config_dir):
    key = hashlib.sha256(f"{ISSUER}\n{CLIENT}".encode()).hexdigest()[:16]
    return os.path.join(config_dir, "credentials", f"default@{key}.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("termauth", nargs="+", help="termauth binaries to compare (the first is the one under test)")
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="termauth-bench-")
    atexit.register(shutil.rmtree, work, True)
    config_dir = os.path.join(work, "config")
    path = record_path(config_dir)
    os.makedirs(os.path.dirname(path), mode=0o700)
    now = int(time.time() * 1000)
    rec = {"schema_version": 1, "updated_at": now, "kind": "oauth", "issuer": ISSUER, "client_id": CLIENT,
           "grant": "device_code", "tokens": {"access_token": "at-" + "x" * 40, "token_type": "Bearer",
           "expires_at": now + 3_600_000, "refresh_token": "rt-" + "y" * 40, "scope": "openid offline_access"}}
    with open(path, "w") as f:
        json.dump(rec, f)
    os.chmod(path, 0o600)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "TERMAUTH_CONFIG_DIR": config_dir,
           "TERMAUTH_NO_KEYRING": "1", "TERMAUTH_ISSUER": ISSUER, "TERMAUTH_CLIENT_ID": CLIENT}

    commands = {"cat": ["cat", path]}
    for i, binary in enumerate(args.termauth):
        name = "termauth" if i == 0 else f"termauth[{i}] {binary}"
        commands[name] = [os.path.abspath(binary), "token"]
    for name, cmd in commands.items():  # warm up, and check they print the token
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode != 0 or "at-" not in out.stdout:
            sys.exit(f"{name} failed: {out.returncode} {out.stderr.strip()}")

    times = {name: [] for name in commands}
    for _ in range(args.runs):
        order = list(commands)
        random.shuffle(order)
        for name in order:
            t = time.perf_counter()
            subprocess.run(commands[name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - t)
    print(f"{args.runs} interleaved rounds (each runs every command once, in random order)")
    for name, ts in times.items():
        print(f"  {name:<12} median {statistics.median(ts) * 1000:7.3f} ms   mean {statistics.mean(ts) * 1000:7.3f} ms")
    for name in commands:
        if name == "cat":
            continue
        ratios = [a / b for a, b in zip(times[name], times["cat"])]
        print(f"  {name} / cat: median per-round ratio {statistics.median(ratios):.2f}x (budget ≤ 1.2x)")
    if len(args.termauth) > 1:
        for name in list(commands)[2:]:
            ratios = [a / b for a, b in zip(times["termauth"], times[name])]
            print(f"  termauth / {name}: median per-round ratio {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
