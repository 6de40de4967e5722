#!/bin/sh
# The keyring shared by the Rust CLI and the npm package, on a real Secret Service: a private
# D-Bus session bus with gnome-keyring-daemon and a throwaway keyring (the caller's keyrings
# are never touched). Needs the package built (bindings-wasm/test.sh) and the Rust CLI.
# Without dbus-run-session or gnome-keyring it is skipped and says so
# (TERMAUTH_REQUIRE_KEYRING=1 makes that an error).
set -eu
cd "$(dirname "$0")/npm"
for tool in dbus-run-session gnome-keyring-daemon node; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "keyring-test.sh: SKIPPED: $tool is not installed (apt-get install dbus gnome-keyring)" >&2
        [ "${TERMAUTH_REQUIRE_KEYRING:-0}" = 1 ] && exit 2
        exit 0
    fi
done
if [ ! -d node_modules/@napi-rs/keyring ]; then
    echo "keyring-test.sh: SKIPPED: the optional dependency @napi-rs/keyring is not installed" >&2
    [ "${TERMAUTH_REQUIRE_KEYRING:-0}" = 1 ] && exit 2
    exit 0
fi
XDG_DATA_HOME=$(mktemp -d "${TMPDIR:-/tmp}/termauth-keyring.XXXXXX")
export XDG_DATA_HOME
trap 'rm -rf "$XDG_DATA_HOME"' EXIT INT TERM
TERMAUTH_KEYRING_TEST=1 dbus-run-session -- sh -c '
    printf %s termauth-test | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
    node --test --test-concurrency=1 test/keyring-interop.test.mjs
'
