#!/bin/sh
# The keyring shared by the Rust CLI (Secret Service over zbus) and the Go package (the
# prebuilt libtermauth it links: Secret Service over libdbus), on a real Secret Service: a
# private D-Bus session bus with gnome-keyring-daemon and a throwaway keyring (the caller's
# keyrings are never touched). Runs the Keyring tests of bindings-ffi/go/keyring_test.go;
# extra arguments go to `go test` (-v, say). Builds the Rust CLI; the Go tests start the
# test IdP (tests/idp) themselves, or use TERMAUTH_IDP_ISSUER.
# Without dbus-run-session, gnome-keyring, go or node it is skipped and says so
# (TERMAUTH_REQUIRE_KEYRING=1 makes that an error).
set -eu
cd "$(dirname "$0")/.."
for tool in dbus-run-session gnome-keyring-daemon go node; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case "$tool" in
            go | node) hint="" ;;
            *) hint=" (apt-get install dbus gnome-keyring)" ;;
        esac
        echo "keyring-test.sh: SKIPPED: $tool is not installed$hint" >&2
        [ "${TERMAUTH_REQUIRE_KEYRING:-0}" = 1 ] && exit 2
        exit 0
    fi
done

cargo build -p termauth
[ -d tests/idp/node_modules ] || (cd tests/idp && npm ci --no-audit --no-fund)
unset TERMAUTH_NO_KEYRING
export GOFLAGS=-mod=mod

# gnome-keyring keeps its keyrings in $XDG_DATA_HOME/keyrings: a throwaway one, so the
# daemon creates a fresh login keyring with the password below.
XDG_DATA_HOME=$(mktemp -d "${TMPDIR:-/tmp}/termauth-keyring.XXXXXX")
export XDG_DATA_HOME
trap 'rm -rf "$XDG_DATA_HOME"' EXIT INT TERM
cd bindings-ffi/go
TERMAUTH_KEYRING_TEST=1 dbus-run-session -- sh -c '
    printf %s termauth-test | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
    go test -count=1 -run Keyring "$@" .
' sh "$@"
