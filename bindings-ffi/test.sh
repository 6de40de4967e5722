#!/usr/bin/env bash
# libtermauth (C ABI) and the Go package: build, header check, C tests under valgrind,
# the C example, go vet + go test (the Go tests also build internal/racer and run the Rust
# CLI). Idempotent; installs its own tools. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export CARGO_TERM_COLOR=never
CBINDGEN_VERSION=0.29.4
prefix="$root/target/termauth-ffi"

echo "== bindings-ffi: cbindgen $CBINDGEN_VERSION"
if ! cbindgen --version 2>/dev/null | grep -qx "cbindgen $CBINDGEN_VERSION"; then
  cargo install cbindgen --version "=$CBINDGEN_VERSION" --locked
fi
for tool in gcc valgrind go node pkg-config; do
  command -v "$tool" >/dev/null || { echo "bindings-ffi/test.sh needs $tool" >&2; exit 1; }
done

echo "== bindings-ffi: build libtermauth (debug) and the Rust CLI"
cargo build --locked -p termauth-ffi -p termauth
bash bindings-ffi/build-lib.sh debug "$prefix"

echo "== bindings-ffi: include/termauth.h is up to date"
tmp="$(mktemp -d)"
idp_pid=""
cleanup() {
  [ -n "$idp_pid" ] && kill "$idp_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
(cd bindings-ffi && cbindgen --quiet --config cbindgen.toml --output "$tmp/termauth.h")
if ! diff -u bindings-ffi/include/termauth.h "$tmp/termauth.h"; then
  echo "bindings-ffi/include/termauth.h is out of date with bindings-ffi/src/." >&2
  echo "Regenerate it: (cd bindings-ffi && cbindgen --config cbindgen.toml --output include/termauth.h), review, commit." >&2
  exit 1
fi
echo "header matches cbindgen $CBINDGEN_VERSION output"

echo "== bindings-ffi: the Go module's prebuilt libraries were built from this tree"
bash bindings-ffi/go-libs.sh check

echo "== bindings-ffi: the test IdP"
[ -d tests/idp/node_modules ] || (cd tests/idp && npm ci --no-audit --no-fund)
node tests/idp/server.js --port 0 --ready-file "$tmp/idp.json" >"$tmp/idp.out" 2>"$tmp/idp.err" &
idp_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/idp.json" ] && break; sleep 0.1; done
issuer="$(sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$tmp/idp.json")"
[ -n "$issuer" ] || { echo "the test IdP did not start:" >&2; cat "$tmp/idp.err" >&2; exit 1; }
echo "IdP at $issuer"

echo "== bindings-ffi: C tests (flow and session vectors, malformed input, sessions, IdP logins) under valgrind"
gcc -std=c11 -Wall -Wextra -g -O1 -o "$tmp/test_abi" bindings-ffi/tests/test_abi.c "$prefix/lib/libtermauth.a" -lm -ldl -lpthread
TERMAUTH_NO_KEYRING=1 valgrind --quiet --leak-check=full --error-exitcode=1 \
  --suppressions=bindings-ffi/tests/valgrind.supp \
  "$tmp/test_abi" tests/vectors "$issuer"
echo "valgrind: no errors, no leaks (memcheck, --leak-check=full --error-exitcode=1)"

echo "== bindings-ffi: the C example, linked static, shared and through pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
make -s -C examples/c clean all PREFIX="$prefix" OUT="$tmp"
"$tmp/termauth-example-static" version
"$tmp/termauth-example-shared" version
cfg_dir="$tmp/example-config"
TERMAUTH_NO_KEYRING=1 EXAMPLE_CONFIG_DIR="$cfg_dir" TERMAUTH_CLIENT_SECRET='s3cr3t:with/special+chars' \
  "$tmp/termauth-example-static" login-ci "$issuer" termauth-ci-basic api:read >/dev/null
TERMAUTH_NO_KEYRING=1 EXAMPLE_CONFIG_DIR="$cfg_dir" TERMAUTH_CLIENT_SECRET='s3cr3t:with/special+chars' \
  "$tmp/termauth-example-shared"  token "$issuer" termauth-ci-basic api:read | grep -q . && echo "example: login (static build) then token (shared build) ok"

echo "== bindings-ffi: Go package (go vet, go test: flow and session vectors, every login against the IdP, hostile input, Ctrl-C, the store and the refresh race shared with the Rust CLI)"
export GOFLAGS=-mod=mod
(cd bindings-ffi/go && go vet ./... && TERMAUTH_IDP_ISSUER="$issuer" go test -count=1 ./...)
(cd examples/go && go vet ./... && go build -o "$tmp/termauth-go-example" .)
echo "Go example builds"

echo "== bindings-ffi: the Go module alone, outside the repository, with no Rust on PATH"
# What `go get` downloads is the module directory: a copy of it, a fresh module replacing
# the import path with that copy, a PATH with go and the C compiler only.
fresh="$tmp/fresh"
mkdir -p "$fresh/app"
cp -r bindings-ffi/go "$fresh/termauth"
cp bindings-ffi/tests/fresh-go/main.go "$fresh/app/main.go"
# A second Rust static library in the same program (its own std): built here, with Rust.
mkdir -p "$fresh/app/other"
cp bindings-ffi/tests/fresh-go/other/other.go "$fresh/app/other/"
rustc --edition 2021 --crate-type staticlib -O -o "$fresh/app/other/libother.a" bindings-ffi/tests/fresh-go/other/other.rs
printf 'module example.com/fresh\n\ngo 1.23.0\n\nrequire github.com/termauth/termauth/bindings-ffi/go v0.0.0\n\nreplace github.com/termauth/termauth/bindings-ffi/go => ../termauth\n' >"$fresh/app/go.mod"
norust="$(dirname "$(command -v go)"):/usr/bin:/bin"
PATH="$norust" sh -c '! command -v cargo >/dev/null && ! command -v rustc >/dev/null' \
  || { echo "cargo or rustc is on the reduced PATH ($norust)" >&2; exit 1; }
(cd "$fresh/app" && PATH="$norust" go mod tidy && PATH="$norust" go build -o "$fresh/app-bin" .)
TERMAUTH_NO_KEYRING=1 TERMAUTH_CLIENT_SECRET='s3cr3t:with/special+chars' "$fresh/app-bin" "$issuer" "$fresh/config" | grep -q '^ok [1-9][0-9]* 42$'
echo "fresh module: built without Rust, logged in with client credentials, beside another Rust static library"
(cd "$fresh/app" && PATH="$norust" go mod vendor && PATH="$norust" go build -mod=vendor -o "$fresh/app-vendored" .)
TERMAUTH_NO_KEYRING=1 TERMAUTH_CLIENT_SECRET='s3cr3t:with/special+chars' "$fresh/app-vendored" "$issuer" "$fresh/config" | grep -q '^ok [1-9][0-9]* 42$'
echo "fresh module: go mod vendor keeps the libraries"
if (cd "$fresh/app" && CGO_ENABLED=0 PATH="$norust" go build -o /dev/null github.com/termauth/termauth/bindings-ffi/go 2>"$tmp/nocgo.err"); then
  echo "a CGO_ENABLED=0 build succeeded" >&2; exit 1
fi
head -2 "$tmp/nocgo.err" | grep -q 'termauth_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler' \
  || { echo "CGO_ENABLED=0 did not name cgo first:" >&2; cat "$tmp/nocgo.err" >&2; exit 1; }
echo "fresh module: CGO_ENABLED=0 stops at 'termauth_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler'"

echo "== bindings-ffi: the Go package on linux/arm64 (its prebuilt library), under qemu-user"
if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null; then
  (cd bindings-ffi/go && CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc go test -c -o "$tmp/termauth-arm64.test" .)
  # Skipped there: the tests that start this test binary or a browser again (no binfmt
  # handler for arm64 here) and one that times real waits (slow under emulation).
  (cd bindings-ffi/go && TERMAUTH_IDP_ISSUER="$issuer" QEMU_LD_PREFIX=/usr/aarch64-linux-gnu qemu-aarch64 "$tmp/termauth-arm64.test" \
    -test.count=1 -test.skip 'TestBrowserFromTheBROWSERVariable|TestASecondCtrlCExitsAtOnce|TestCtrlCCancelsTheLogin|TestRequestTimeoutBoundsTheWholeRequest')
  echo "linux/arm64: go test passed under qemu-aarch64"
elif [ -n "${CI:-}" ]; then
  echo "CI needs aarch64-linux-gnu-gcc and qemu-aarch64 (apt-get install gcc-aarch64-linux-gnu qemu-user)" >&2; exit 1
else
  echo "SKIPPED: aarch64-linux-gnu-gcc or qemu-aarch64 missing (apt-get install gcc-aarch64-linux-gnu qemu-user)"
fi
