#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on a fresh Debian machine with
# Rust (rustup), Node 20 and npm. Idempotent: cheap when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# Rust pieces: the wasm target (the core must build for it) and clippy.
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
# The Python wheels' targets (bindings-python/build-wheels.sh cross-links them with zig).
for target in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
  rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"
done

# The real authorization server used by the tests and the demo (oidc-provider, pinned), and
# the MCP server beside it (the official TypeScript SDK, pinned). Reinstalled when the lock
# file is newer than the installed tree.
if [ ! -d tests/idp/node_modules/oidc-provider ] || [ tests/idp/package-lock.json -nt tests/idp/node_modules/.package-lock.json ]; then
  npm ci --prefix tests/idp --no-audit --no-fund --silent
fi

# Debian packages: a Secret Service for the keyring tests (gnome-keyring under
# dbus-run-session), valgrind and pkg-config for the C ABI tests, and an arm64 C compiler
# with qemu-user to build and run the Go package on linux/arm64 (its prebuilt library), and
# git and openssl for the credential helpers' tests with the real clients (kubectl, where
# installed, is used too; Debian has no package of it).
# Usually present; when one is missing and we are root, install them. Without them the
# keyring and arm64 tests are skipped and say so (in CI the arm64 one fails instead); the C
# tests need valgrind and pkg-config.
missing=""
for tool in gnome-keyring-daemon dbus-run-session valgrind pkg-config aarch64-linux-gnu-gcc qemu-aarch64 git openssl; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends gnome-keyring dbus dbus-x11 valgrind pkg-config \
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user git openssl >/dev/null) \
      || echo "setup: could not install:$missing" >&2
  else
    echo "setup: missing:$missing (install them with apt-get as root)" >&2
  fi
fi
