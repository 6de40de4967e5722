#!/usr/bin/env bash
# The Python package as PyPI gets it, in target/wheels/: abi3 wheels (one per architecture,
# every CPython >= 3.9) for manylinux2014 (glibc 2.17) x86_64 and aarch64, and the sdist.
# Each wheel is checked with `auditwheel show`: the platform tag it reports must be
# manylinux_2_17 or older, or the script fails.
#
# The wheels are cross-linked by zig (`maturin build --zig`) against glibc 2.17's symbols, so
# no old sysroot or manylinux container is needed, and aarch64 builds on an x86_64 machine.
# The tools are pinned and live in their own venv (target/wheel-venv); the development
# .venv is not touched. Needs rustup (for the targets), PyPI and crates.io. Idempotent.
#
#   bash bindings-python/build-wheels.sh              # x86_64 and aarch64 wheels, and the sdist
#   WHEEL_ARCHS=x86_64 bash bindings-python/build-wheels.sh
#
# The builds run under `nice -n 19` with cargo's default jobs; cargo's release profile (LTO,
# one codegen unit) is the workspace's.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/target/wheel-venv
OUT=$ROOT/target/wheels
PYTHON=${PYTHON:-python3}
ARCHS=${WHEEL_ARCHS:-x86_64 aarch64}

# Pinned tools: maturin as in bindings-python/test.sh; zig for the cross-link (the ziglang
# wheel ships the zig binary); auditwheel for the check.
PIP_PKGS=("maturin==1.16.0" "ziglang==0.17.0" "auditwheel==6.8.2")

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PIP_PKGS[@]}"
# maturin finds zig as `python3 -m ziglang` on PATH: the venv's python first.
export PATH="$VENV/bin:$PATH"
# pyproject.toml's build-backend is maturin behind a thin wrapper
# (bindings-python/build-backend/termauth_build.py): no warning that it is not "maturin".
export MATURIN_NO_MISSING_BUILD_BACKEND_WARNING=1

for arch in $ARCHS; do
  target=$arch-unknown-linux-gnu
  rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"
done

mkdir -p "$OUT"
# Only this run's artefacts: an older wheel or sdist of termauth would be tested otherwise.
rm -f "$OUT"/termauth-*.whl "$OUT"/termauth-*.tar.gz

for arch in $ARCHS; do
  target=$arch-unknown-linux-gnu
  echo "== python wheels: $target, abi3, manylinux2014 (maturin --zig, release)"
  start=$(date +%s)
  nice -n 19 maturin build --quiet --locked --release --zig --compatibility manylinux2014 \
    --target "$target" --out "$OUT"
  wheel=$(ls "$OUT"/termauth-*-manylinux*_"$arch".whl)
  echo "built $(basename "$wheel"): $(stat -c %s "$wheel") bytes in $(($(date +%s) - start)) s"
done

echo "== python sdist"
maturin sdist --out "$OUT" 2>&1 | grep -v -E '^ *(\||= note|$)|manifest has no documentation|^From `cargo package' || true
sdist=$(ls "$OUT"/termauth-*.tar.gz)
echo "built $(basename "$sdist"): $(stat -c %s "$sdist") bytes"

echo "== auditwheel show (must be manylinux2014 = manylinux_2_17, or older)"
for arch in $ARCHS; do
  wheel=$(ls "$OUT"/termauth-*-manylinux*_"$arch".whl)
  report=$(auditwheel show "$wheel")
  echo "$report"
  # The tag is the quoted name after "consistent with the following platform tag:".
  tag=$(printf '%s\n' "$report" | tr '\n' ' ' | sed -n 's/.*following platform tag: *"\([^"]*\)".*/\1/p')
  glibc_minor=$(printf '%s\n' "$tag" | sed -n "s/^manylinux_2_\([0-9]*\)_$arch\$/\1/p")
  if [ -z "$glibc_minor" ] || [ "$glibc_minor" -gt 17 ]; then
    echo "error: auditwheel reports '$tag' for $(basename "$wheel"); manylinux_2_17_$arch or older expected" >&2
    exit 1
  fi
  echo "ok: $arch wheel is $tag"
done
