#!/usr/bin/env bash
# Builds the npm package `termauth` in bindings-wasm/npm: wasm (opt-level z) → wasm-bindgen
# (experimental-nodejs-module: ESM that Node 20 loads synchronously; no multi-value returns)
# → wasm-opt -Os → tsc (type check, declarations into dist/, modules into build/) → esbuild
# (one ESM file, the wasm-bindgen glue included).
# Idempotent; installs the wasm-bindgen CLI matching Cargo.lock and the npm dev deps.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
pkg="$here/npm"
cd "$root"
export CARGO_TERM_COLOR=never

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

# The CLI must be exactly the wasm-bindgen version in Cargo.lock.
WBG=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WBG" ]; then
  echo "installing wasm-bindgen-cli $WBG (about 2 minutes)"
  # --locked fails on some crates.io mirrors (a dependency newer than the mirror); fall back.
  cargo install wasm-bindgen-cli --version "=$WBG" --locked \
    || cargo install wasm-bindgen-cli --version "=$WBG"
fi

# npm dev deps (binaryen's wasm-opt, typescript, esbuild, @types/node; openid-client and oauth4webapi for bench/).
if [ ! -d "$pkg/node_modules/binaryen" ] || [ "$pkg/package-lock.json" -nt "$pkg/node_modules/.package-lock.json" ]; then
  (cd "$pkg" && npm ci --no-audit --no-fund --silent)
fi

# Guard: no network stack and no OS randomness in the wasm graph (feature unification trap).
if cargo tree --locked -p termauth-wasm --target wasm32-unknown-unknown -e normal -i getrandom >/dev/null 2>&1; then
  echo "error: getrandom is in the wasm dependency graph; the wasm build must not enable termauth-core/os-rng" >&2
  exit 1
fi

# Build the wasm crate alone (never together with crates that enable core's os-rng).
# Panic locations name dependency sources by their path on this machine
# ($CARGO_HOME/registry/src/<index>/serde_json-…/src/de.rs): the remap drops the machine's
# part, so the published module neither shows the builder's home directory nor changes with it.
# (`--config` rustflags are added to .cargo/config.toml's, not put in their place.)
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
remap=()
for index in "$registry"/*/; do
  [ -d "$index" ] && remap+=(--config "target.wasm32-unknown-unknown.rustflags=['--remap-path-prefix=${index}=']")
done
cargo build --locked -p termauth-wasm --target wasm32-unknown-unknown --profile wasm-release "${remap[@]}"
raw="$root/target/wasm32-unknown-unknown/wasm-release/termauth_wasm.wasm"

rm -rf "$pkg/wasm" "$pkg/dist" "$pkg/build"
# Rust enables the `multivalue` target feature, and wasm-bindgen then returns every string as
# a multi-value result. V8 (Node 20) has no generic JS-to-wasm wrapper for those: it compiles
# one wrapper per such signature with TurboFan while compiling the module, in every process
# (about 2 ms of the compile, bench/node). Without the feature in the module's
# target_features section wasm-bindgen returns them through linear memory, as it does for
# engines without multi-value. The code is otherwise the same (a few hundred bytes smaller).
unpacked="$(mktemp -d)"
trap 'rm -rf "$unpacked"' EXIT
node "$here/drop-target-feature.mjs" "$raw" "$unpacked/termauth_wasm.wasm" multivalue
wasm-bindgen "$unpacked/termauth_wasm.wasm" --out-dir "$pkg/wasm" --target experimental-nodejs-module \
  --remove-name-section --remove-producers-section
if grep -q '=> \[' "$pkg/wasm/termauth_wasm_bg.wasm.d.ts"; then
  echo "error: wasm-bindgen still returns multi-value results (see $pkg/wasm/termauth_wasm_bg.wasm.d.ts); update build.sh" >&2
  exit 1
fi
# The glue is bundled into dist/index.js (below), so the .wasm it reads is ../wasm/ from there
# (which names the same file from wasm/ itself).
# It reads the file with node:fs from process.getBuiltinModule (Node 20.16+) rather than an
# ESM import, which builds node:fs's module namespace (running every lazy getter of the
# module: the streams, fs/promises), or node:module's createRequire, which loads node:module
# and the source-map support (see npm/src/builtins.ts). Fails loudly if a wasm-bindgen
# upgrade changes either line.
glue="$pkg/wasm/termauth_wasm.js"
if ! grep -qx "import { readFileSync } from 'node:fs';" "$glue" \
  || ! grep -qx "const wasmUrl = new URL('termauth_wasm_bg.wasm', import.meta.url);" "$glue"; then
  echo "error: $glue no longer reads the .wasm as build.sh expects; update build.sh" >&2
  exit 1
fi
sed -i -e "s|^import { readFileSync } from 'node:fs';\$|const { readFileSync } = process.getBuiltinModule('node:fs');|" \
  -e "s|^const wasmUrl = new URL('termauth_wasm_bg.wasm', import.meta.url);\$|const wasmUrl = new URL('../wasm/termauth_wasm_bg.wasm', import.meta.url);|" "$glue"
"$pkg/node_modules/.bin/wasm-opt" -Os "$pkg/wasm/termauth_wasm_bg.wasm" -o "$pkg/wasm/termauth_wasm_bg.wasm.opt"
mv "$pkg/wasm/termauth_wasm_bg.wasm.opt" "$pkg/wasm/termauth_wasm_bg.wasm"

(cd "$pkg" && node_modules/.bin/tsc -p tsconfig.json)
# One ESM file instead of a dozen modules: Node loads each module of a package separately
# (resolve, read, compile, link), and `import 'termauth'` took 14-15 ms unbundled against
# 9 ms bundled (bench/node). The wasm-bindgen glue is in it too: a cached getToken loads
# dist/index.js and nothing else of the package (the glue and two chunks as modules of their
# own cost about 2 ms more, bench/node). `listener` (node:http, loaded only for a browser
# login) is a second entry, imported on demand; it shares no code with index, so no chunk.
# The optional dependencies stay outside.
(cd "$pkg" && node_modules/.bin/esbuild build/index.js build/listener.js \
  --bundle --splitting --format=esm --platform=node --target=node20 --outdir=dist --log-level=warning \
  --external:qrcode-generator --external:@napi-rs/keyring --external:undici)
if [ "$(cd "$pkg/dist" && ls ./*.js | sort | tr '\n' ' ')" != "./index.js ./listener.js " ]; then
  echo "error: esbuild split shared code out of dist/index.js (listener.ts must import only node: modules): $(ls "$pkg/dist"/*.js)" >&2
  exit 1
fi
# store.js: the store's primitives for its tests (test/store.test.mjs), bundled on its own.
# It is not in the package's exports; a process that imports it next to index.js holds a
# second copy of the store's code, which keeps no state that matters (a cached keyring module).
(cd "$pkg" && node_modules/.bin/esbuild build/store.js --bundle --format=esm --platform=node --target=node20 \
  --outfile=dist/store.js --log-level=warning --external:@napi-rs/keyring)
size=$(wc -c < "$pkg/wasm/termauth_wasm_bg.wasm")
gz=$(gzip -9 -c "$pkg/wasm/termauth_wasm_bg.wasm" | wc -c)
echo "termauth_wasm_bg.wasm: $size bytes raw, $gz bytes gzip -9"
# The budget: 545 KB raw and 230 KB gzip -9 (KB = 1,000 bytes); ARCHITECTURE.md says why.
if [ "$size" -gt 545000 ] || [ "$gz" -gt 230000 ]; then
  # Reported, not fatal (a size target is a benchmark figure, not a test): bench/node prints it
  # against the budget too. ARCHITECTURE.md ("The WebAssembly module's size") says what it costs.
  echo "warning: the .wasm is over its budget of 545 KB raw and 230 KB gzip -9 (545,000 and 230,000 bytes)" >&2
fi
