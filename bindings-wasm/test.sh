#!/usr/bin/env bash
# The npm package's tests: build (bindings-wasm/build.sh), then node:test — every
# conversation vector through the wasm flows, the types against the vectors, every login
# method / refresh with rotation / revocation / the cross-language store round trip against
# the real IdP in tests/idp, and the packed package installed as a user would.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bash "$here/build.sh"
# The IdP fixture and the Rust CLI (for the store round trip).
[ -d "$root/tests/idp/node_modules/oidc-provider" ] || (cd "$root/tests/idp" && npm ci --no-audit --no-fund --silent)
(cd "$root" && cargo build --locked -p termauth --bin termauth)
cd "$here/npm"
node --test --test-concurrency=1 test/*.test.mjs
