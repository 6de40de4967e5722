#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on a fresh Debian machine with
# Rust (rustup), Node 20 and npm. Idempotent: cheap when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# Rust pieces: the wasm target (the core must build for it) and clippy.
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy

# The real authorization server used by the tests and the demo (oidc-provider, pinned).
if [ ! -d tests/idp/node_modules/oidc-provider ]; then
  npm ci --prefix tests/idp --no-audit --no-fund --silent
fi

# A Secret Service for the keyring test (gnome-keyring under dbus-run-session). Optional:
# without root or apt the keyring test is skipped and says so.
if ! command -v gnome-keyring-daemon >/dev/null || ! command -v dbus-run-session >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends gnome-keyring dbus dbus-x11 >/dev/null) \
      || echo "setup: could not install gnome-keyring; the keyring test will be skipped" >&2
  fi
fi
