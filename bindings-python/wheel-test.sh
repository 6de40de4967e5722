#!/usr/bin/env bash
# The Python distributions as a user gets them: build the manylinux2014 wheels and the sdist
# (build-wheels.sh: auditwheel must report manylinux_2_17 or older), then wheel_test.py: the
# x86_64 wheel in a fresh venv with no Rust on PATH logs in against the real IdP; the sdist
# with no Rust stops with a clear message (no toolchain download); the sdist with Rust builds
# a wheel that logs in too (TERMAUTH_WHEEL_TEST_SDIST_BUILD=0 skips that build).
# WHEEL_ARCHS (default "x86_64 aarch64") picks the wheels built; x86_64 is the one installed.
set -euo pipefail
cd "$(dirname "$0")/.."
export WHEEL_ARCHS=${WHEEL_ARCHS:-x86_64 aarch64}
case " $WHEEL_ARCHS " in *" x86_64 "*) ;; *) WHEEL_ARCHS="x86_64 $WHEEL_ARCHS" ;; esac
bash bindings-python/build-wheels.sh
if [ ! -d tests/idp/node_modules ]; then
  npm ci --prefix tests/idp --silent
fi
echo "== python wheels: install and log in from a fresh venv without Rust; the sdist with and without Rust"
python3 bindings-python/wheel_test.py
