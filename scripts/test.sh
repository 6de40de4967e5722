#!/usr/bin/env bash
# Every test in every language. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
bash scripts/setup.sh

echo "== formatting (rustfmt.toml): every crate, and the fuzz harness"
cargo fmt --all --check
(cd core/fuzz && cargo fmt --check)

echo "== core: clippy (disallowed clock/sleep methods enforced), wasm32 build"
cargo clippy --locked -p termauth-core --all-targets -- -D warnings
cargo build --locked -p termauth-core --target wasm32-unknown-unknown

echo "== contract: JSON Schema from the Rust types, TypeScript and Python types from it (regenerated, compared with the committed files)"
cargo clippy --locked -p termauth-core --features schema --all-targets -- -D warnings
cargo test --locked -p termauth-core --features schema --test schema
python3 scripts/gen_contract.py --check
if cargo tree --locked -p termauth-wasm --target wasm32-unknown-unknown -e normal -i schemars >/dev/null 2>&1; then
  echo "error: schemars is in the wasm dependency graph; only core/tests/schema.rs may enable termauth-core/schema" >&2
  exit 1
fi

echo "== workspace: build, then test (units, conversation vectors, simulator, integration against the real IdP)"
cargo build --locked --workspace
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo test --locked --workspace

echo "== core/fuzz: replay the fuzz seeds and every regression input (stable, no fuzzing)"
bash scripts/fuzz.sh replay

if [ -x native/tests/run-keyring-test.sh ]; then
  echo "== keyring: a real Secret Service (gnome-keyring) under dbus-run-session"
  bash native/tests/run-keyring-test.sh
fi

# Each binding owns a test script that installs its own tools (idempotently), builds, and
# runs its tests: the vectors and the end-to-end tests against the real IdP.
for binding in bindings-wasm bindings-python bindings-ffi; do
  if [ -f "$binding/test.sh" ]; then
    echo "== $binding"
    bash "$binding/test.sh"
  fi
done

echo "== bindings-python: the wheels PyPI gets (manylinux2014 x86_64 and aarch64, checked by auditwheel) and the sdist, installed from fresh venvs"
bash bindings-python/wheel-test.sh

echo "== cross-language refresh race: Rust, Python, Node and Go processes on one expired credential"
python3 tests/race/all_languages.py --rounds 3 --per-language 2
echo "== the malformed-server corpus: every case in Rust, Python, Node, Go and C"
python3 tests/hostile/run.py
echo "== what a terminal shows during a device login, in Rust, Python, Node, Go and C, at 30, 40, 80 and 120 columns (pyte)"
.venv/bin/python tests/terminal/frames.py
echo "== kills during store writes: the Rust CLI (the shared storage primitives) and the npm package"
python3 tests/race/kill_during_write.py --kills 500 --node-kills 150

if [ -f bindings-wasm/keyring-test.sh ]; then
  echo "== keyring shared by Rust and Node (@napi-rs/keyring) on a real Secret Service"
  bash bindings-wasm/keyring-test.sh
fi
echo "== keyring shared by Rust (zbus) and Go (its prebuilt library: libdbus) on a real Secret Service"
bash bindings-ffi/keyring-test.sh

echo "== tests/idp: the authorization server fixture's own self-test"
node --test tests/idp/selftest.mjs
