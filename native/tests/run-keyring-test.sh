#!/bin/sh
# Runs the keyring integration tests (native/tests/keyring.rs, the #[ignore]d ones too)
# against a real Secret Service: a private D-Bus session bus with gnome-keyring-daemon,
# unlocked with a throwaway password. Nothing touches the caller's own keyring.
#
# Needs: dbus-run-session (package dbus / dbus-daemon), gnome-keyring-daemon
# (package gnome-keyring), node + `npm ci` in tests/idp. On Debian/Ubuntu:
#   apt-get install -y --no-install-recommends dbus gnome-keyring
set -eu
cd "$(dirname "$0")/../.."

# Like scripts/setup.sh promises: without the tools the test is skipped, and says so
# (TERMAUTH_REQUIRE_KEYRING=1 makes that an error instead).
for tool in dbus-run-session gnome-keyring-daemon node; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run-keyring-test.sh: SKIPPED: $tool is not installed (apt-get install dbus gnome-keyring)" >&2
        [ "${TERMAUTH_REQUIRE_KEYRING:-0}" = 1 ] && exit 2
        exit 0
    fi
done

cargo build -p termauth
unset TERMAUTH_NO_KEYRING

# gnome-keyring keeps its keyrings in $XDG_DATA_HOME/keyrings: use a throwaway one, so the
# daemon creates a fresh login keyring with the password below (an existing keyring with
# another password would need an interactive prompt) and the user's keyrings are never touched.
XDG_DATA_HOME=$(mktemp -d "${TMPDIR:-/tmp}/termauth-keyring.XXXXXX")
export XDG_DATA_HOME
trap 'rm -rf "$XDG_DATA_HOME"' EXIT INT TERM

dbus-run-session -- sh -c '
    # A new login keyring, created and unlocked with this password; --components=secrets
    # starts only the Secret Service (org.freedesktop.secrets) on this private bus.
    printf %s termauth-test | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
    cargo test -p termauth --test keyring -- --include-ignored "$@"
' sh "$@"
