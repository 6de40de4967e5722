#!/usr/bin/env bash
# Benchmarks (not tests): termauth vs msal and authlib. Installs a release build of termauth
# into its own venv (target/python-bench-venv, git-ignored) with msal and authlib, then
# prints figures and ratios.
#
# termauth: the release wheel in target/wheels (bindings-python/build-wheels.sh) when there
# is one for this machine, else a release build from source (about 7 minutes cold on 2 cores:
# LTO, one codegen unit); BENCH_REBUILD=1 builds from source in any case. Either way the
# Python sources measured are the working tree's (copied over the installed ones when they
# differ, and said so), and a wheel older than the Rust sources is reported.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=target/python-bench-venv
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"${PIP[@]}" "msal==1.39.0" "authlib==1.9.10" "requests==2.34.2"

WHEEL=$(ls -t target/wheels/termauth-*-manylinux*_"$(uname -m)".whl 2>/dev/null | head -n1 || true)
if [ -z "${BENCH_REBUILD:-}" ] && [ -n "$WHEEL" ]; then
  "${PIP[@]}" --force-reinstall --no-deps "$WHEEL"
  NEWER=$(find core/src native/src bindings-python/src Cargo.lock -type f -newer "$WHEEL" -print -quit 2>/dev/null || true)
  echo "termauth: $WHEEL${NEWER:+ (warning: older than $NEWER; BENCH_REBUILD=1 builds from source)}"
elif [ -n "${BENCH_REBUILD:-}" ] || ! "$VENV/bin/python" -c "import termauth._native" 2>/dev/null; then
  "${PIP[@]}" --force-reinstall --no-deps .
  echo "termauth: built from source"
else
  echo "termauth: the build already in $VENV (BENCH_REBUILD=1 builds from source)"
fi
SITE=$("$VENV/bin/python" -c "import os, termauth; print(os.path.dirname(termauth.__file__))")
for f in bindings-python/python/termauth/*.py; do
  if ! cmp -s "$f" "$SITE/$(basename "$f")"; then
    echo "termauth: the installed $(basename "$f") differs from the working tree's: using the working tree's"
    cp "$f" "$SITE/"
  fi
done
# Their bytecode, as pip writes it at install (the runs may not write any: PYTHONDONTWRITEBYTECODE).
"$VENV/bin/python" -m compileall -q -f "$SITE" >/dev/null
exec "$VENV/bin/python" bench/python/bench.py "$@"
