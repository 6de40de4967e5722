#!/usr/bin/env bash
# Benchmarks (not tests): termauth vs msal and authlib. Builds a release wheel of termauth
# into its own venv (target/python-bench-venv, git-ignored) with msal and authlib, then
# prints figures and ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=target/python-bench-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "msal==1.39.0" "authlib==1.9.10" "requests==2.34.2"
# A release build of the native module (about 7 minutes cold on 2 cores: LTO, one codegen
# unit); set BENCH_REBUILD=1 to rebuild after changing the code.
if [ -n "${BENCH_REBUILD:-}" ] || ! "$VENV/bin/python" -c "import termauth._native" 2>/dev/null; then
  "$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps .
fi
exec "$VENV/bin/python" bench/python/bench.py "$@"
