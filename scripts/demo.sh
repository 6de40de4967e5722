#!/usr/bin/env bash
# The main job: start the bundled authorization server (oidc-provider on 127.0.0.1), run
# `termauth login --device` against it, approve the code unattended with the headless
# approver (it plays the user's browser), then `status`, `token`, `logout`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --locked -q -p termauth
TERMAUTH=$PWD/target/debug/termauth

WORK=$(mktemp -d)
IDP_PID=""
cleanup() { [ -n "$IDP_PID" ] && kill "$IDP_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export TERMAUTH_CONFIG_DIR=$WORK/config   # keep the demo's credentials out of your own

node tests/idp/server.js --ready-file "$WORK/idp.json" >/dev/null 2>"$WORK/idp.log" &
IDP_PID=$!
for _ in $(seq 100); do [ -s "$WORK/idp.json" ] && break; sleep 0.1; done
ISSUER=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).issuer)' "$WORK/idp.json")
echo "## authorization server: $ISSUER"

echo "## termauth login --device"
"$TERMAUTH" login --device --issuer "$ISSUER" --client-id termauth-cli --scope "openid offline_access api:read" \
  2> >(tee "$WORK/login.err" >&2) &
LOGIN_PID=$!
CODE=""
for _ in $(seq 100); do
  CODE=$(grep -o 'enter the code: [A-Z0-9-]*' "$WORK/login.err" 2>/dev/null | awk '{print $4}' || true)
  [ -n "$CODE" ] && break; sleep 0.1
done
[ -n "$CODE" ] || { echo "demo: termauth did not show a user code" >&2; exit 1; }
echo "## approver: the user opens the page, logs in as alice and approves $CODE"
node -e '
  const [issuer, code] = process.argv.slice(1);
  fetch(issuer + "/__test/device", { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ user_code: code, action: "approve", login: "alice" }) })
    .then(async r => { const b = await r.json(); if (!b.ok) { console.error(b); process.exit(1); } });
' "$ISSUER" "$CODE"
wait "$LOGIN_PID"

echo "## termauth status"
"$TERMAUTH" status
echo "## termauth token (first 12 characters)"
TOKEN=$("$TERMAUTH" token)
echo "${TOKEN:0:12}…"
echo "## termauth logout"
"$TERMAUTH" logout
echo "## termauth status after logout (exit code 3 = login required)"
set +e; "$TERMAUTH" status; code=$?; set -e
[ "$code" = 3 ] || { echo "demo: expected exit 3 after logout, got $code" >&2; exit 1; }
echo "## demo complete"
