#!/usr/bin/env bash
# The static libraries the Go module ships (bindings-ffi/go/lib/), so that what `go get`
# downloads builds with cgo and no Rust toolchain (as wasmtime-go and go-duckdb do):
#
#   bash bindings-ffi/go-libs.sh build    # rebuild every platform's library and the manifest
#   bash bindings-ffi/go-libs.sh check    # the committed libraries were built from this tree
#
# lib/termauth.h                 the header (a copy of bindings-ffi/include/termauth.h)
# lib/<goos>_<goarch>/libtermauth.a   one per platform, picked by the link_<platform>.go files
# lib/MANIFEST                   the hash of the inputs, each library's sha256, the rustc used
#
# Each library is the `session` build of termauth-ffi: the session, the flows, the storage
# primitives and the OS keyring, not the batteries-included client (no HTTP/TLS code: the Go
# package does HTTP itself). Built with the ffi-release profile (fat LTO, opt-level s) one
# crate type at a time (a crate whose crate types include rlib gets no LTO), then stripped of
# debug info and of LLVM bitcode (std and compiler_builtins ship both prebuilt; no profile
# setting reaches them). The Linux libraries are also reduced to the code the Go package's
# calls reach: `ld -r --gc-sections` rooted at the termauth_* functions abi.go calls (cgo
# refuses -Wl,--gc-sections in #cgo LDFLAGS, so it is done here, once; the header in lib/
# still declares the whole C ABI, of which the Linux libraries define what Go uses); in the
# one object that makes, every other global symbol (Rust's std, libdbus) is made local, so a
# program may link termauth beside another Rust static library (two std copies would clash)
# and libdbus's names never stand in for the system's.
#
# The Secret Service on Linux is reached through libdbus (the `keyring-libdbus` feature,
# built from source and linked in statically), not zbus: 0.86 MB less in a Go binary
# (bench/go/run.sh). Its C is compiled by zig against glibc 2.17's headers and symbols (as the
# Python wheels are), so the Linux libraries link on any glibc >= 2.17. macOS uses the
# Keychain (Security.framework), Windows the Credential Manager.
#
# `build` needs rustup (it adds the targets), zig (target/wheel-venv from
# bindings-python/build-wheels.sh, or ziglang from PyPI), llvm-tools (`rustup component add
# llvm-tools`), binutils for aarch64 (`apt-get install binutils-aarch64-linux-gnu`) and
# x86_64-w64-mingw32-dlltool (`apt-get install binutils-mingw-w64-x86-64`, which windows-sys
# needs for raw-dylib). About 5 minutes on 2 cores. `check` needs only git and sha256sum.
#
# Binaries in git weigh on every clone: rebuild once at the end of a change to the Rust
# sources, in one commit.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
lib="$root/bindings-ffi/go/lib"
platforms=(linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64)

# What the libraries are built from: every tracked file under these paths (the sources of
# the crates linked in, the workspace's manifest and lock file, the header, this script),
# not the CLI's own source. Cargo.lock is hashed whole: a bump of any crate asks for a
# rebuild, which then gives the same bytes when the crate is not in the libraries.
inputs=(Cargo.toml Cargo.lock core/Cargo.toml core/src native/Cargo.toml native/src ':!native/src/bin'
  bindings-ffi/Cargo.toml bindings-ffi/build.rs bindings-ffi/src bindings-ffi/include bindings-ffi/go-libs.sh
  bindings-ffi/go/abi.go)

# git, also in a checkout another user owns (a CI container's mounted workspace).
git_() { git -c safe.directory='*' -C "$root" "$@"; }

inputs_hash() {
  # (In C order whatever the locale; names and contents, so a rename counts too.)
  (cd "$root" && git_ ls-files -z -- "${inputs[@]}" | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

# Go's name for a platform -> Rust's target triple.
triple() {
  case "$1" in
    linux_amd64) echo x86_64-unknown-linux-gnu ;;
    linux_arm64) echo aarch64-unknown-linux-gnu ;;
    darwin_amd64) echo x86_64-apple-darwin ;;
    darwin_arm64) echo aarch64-apple-darwin ;;
    windows_amd64) echo x86_64-pc-windows-gnu ;;
  esac
}

check() {
  local manifest="$lib/MANIFEST" want got fail=0
  [ -f "$manifest" ] || { echo "bindings-ffi/go/lib/MANIFEST is missing: run bash bindings-ffi/go-libs.sh build" >&2; return 1; }
  want="$(sed -n 's/^inputs //p' "$manifest")"
  if ! git_ rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # A source archive: which files the libraries came from is git's to say.
    echo "bindings-ffi/go/lib: SKIPPED the source check: $root is not a git checkout (the libraries are checked against MANIFEST only)"
    want=""
  fi
  got="$(if [ -n "$want" ]; then inputs_hash; fi)"
  if [ "$want" != "$got" ]; then
    echo "bindings-ffi/go/lib/ was built from other sources than this tree's (inputs $want, tree $got)." >&2
    echo "Rebuild the Go module's libraries once the change is done: bash bindings-ffi/go-libs.sh build, then commit bindings-ffi/go/lib." >&2
    fail=1
  fi
  if ! cmp -s "$root/bindings-ffi/include/termauth.h" "$lib/termauth.h"; then
    echo "bindings-ffi/go/lib/termauth.h differs from bindings-ffi/include/termauth.h: bash bindings-ffi/go-libs.sh build" >&2
    fail=1
  fi
  for p in "${platforms[@]}"; do
    want="$(sed -n "s/^$p //p" "$manifest")"
    got="$(sha256sum "$lib/$p/libtermauth.a" 2>/dev/null | cut -d' ' -f1 || true)"
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
      echo "bindings-ffi/go/lib/$p/libtermauth.a is not the library MANIFEST names: bash bindings-ffi/go-libs.sh build" >&2
      fail=1
    fi
  done
  [ "$fail" = 0 ] && echo "bindings-ffi/go/lib: ${#platforms[@]} libraries built from this tree ($(sed -n 's/^rustc //p' "$manifest"))"
  return "$fail"
}

build() {
  local sysroot llvm zig tmp
  sysroot="$(rustc --print sysroot)"
  llvm="$sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
  [ -x "$llvm/llvm-strip" ] || rustup component add llvm-tools
  zig="${ZIG:-}"
  if [ -z "$zig" ]; then
    if [ -x "$root/target/wheel-venv/bin/python" ] && "$root/target/wheel-venv/bin/python" -m ziglang version >/dev/null 2>&1; then
      zig="$root/target/wheel-venv/bin/python -m ziglang"
    else
      echo "go-libs.sh build needs zig: run bash bindings-python/build-wheels.sh once (it installs ziglang in target/wheel-venv), or set ZIG" >&2
      return 1
    fi
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  # The Rust objects must not name this machine's paths (panic locations embed them).
  export RUSTFLAGS="--remap-path-prefix=$root=termauth --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}/registry/src=crates"
  export CARGO_TARGET_DIR="$root/target/go-libs"
  mkdir -p "$lib"
  for p in "${platforms[@]}"; do
    local t feature zt
    t="$(triple "$p")"
    rustup target add "$t" >/dev/null
    case "$p" in
      linux_*) feature=keyring-libdbus ;;
      *) feature=keyring ;;
    esac
    if [ "${p%%_*}" = linux ]; then
      # libdbus's C, through zig against glibc 2.17 (cc-rs reads CC_<triple>).
      zt="${t%%-*}-linux-gnu.2.17"
      # (cc-rs adds --target=<rust triple>, which zig does not read: the wrapper drops it.)
      # No unwind tables in libdbus's C (32 KB): nothing unwinds through its frames (a Rust
      # panic never crosses a C frame: the callbacks libdbus calls are `extern "C"`).
      cat >"$tmp/cc-$p" <<EOF
#!/bin/sh
for a; do shift; case "\$a" in --target=*) ;; *) set -- "\$@" "\$a" ;; esac; done
exec $zig cc -target $zt -fno-asynchronous-unwind-tables -fno-unwind-tables "\$@"
EOF
      printf '#!/bin/sh\nexec %s ar "$@"\n' "$zig" >"$tmp/ar-$p"
      chmod +x "$tmp/cc-$p" "$tmp/ar-$p"
      export "CC_${t//-/_}=$tmp/cc-$p" "AR_${t//-/_}=$tmp/ar-$p"
    fi
    echo "== $p ($t, $feature)"
    nice -n 10 cargo rustc --locked --quiet --profile ffi-release -p termauth-ffi --lib --target "$t" \
      --no-default-features --features "$feature" --crate-type staticlib
    cp "$CARGO_TARGET_DIR/$t/ffi-release/libtermauth_ffi.a" "$tmp/$p.a"
    "$llvm/llvm-strip" --strip-debug -R .llvmbc -R .llvmcmd "$tmp/$p.a"
    case "$p" in
      linux_amd64) ld=ld ;;
      linux_arm64) ld=aarch64-linux-gnu-ld ;;
      *) ld="" ;;
    esac
    if [ -n "$ld" ]; then
      # The roots: the termauth_* functions the Go package calls (abi.go holds every cgo
      # call; the others, the C ABI's sans-IO flows and getters, are 90 KB the package never
      # reaches), among those the library defines. abi.go is one of the inputs, so a new
      # call asks for a rebuild; a root missing here fails the Go build at link time.
      defined="$("$llvm/llvm-nm" -g --defined-only "$tmp/$p.a" 2>/dev/null | awk '$2 == "T" && $3 ~ /^termauth_/ {print $3}' | sort -u)"
      called="$(grep -o 'C\.termauth_[a-z0-9_]*' "$root/bindings-ffi/go/abi.go" | sed 's/^C\.//' | sort -u)"
      fns="$(comm -12 <(printf '%s\n' "$defined") <(printf '%s\n' "$called"))"
      [ -n "$fns" ] || { echo "go-libs.sh: no termauth_* function of abi.go is defined in $p's library" >&2; exit 1; }
      # shellcheck disable=SC2046
      "$ld" -r --gc-sections $(printf -- '-u %s ' $fns) --whole-archive "$tmp/$p.a" -o "$tmp/$p.o"
      "$llvm/llvm-objcopy" --wildcard --keep-global-symbol='termauth_*' "$tmp/$p.o"
      rm "$tmp/$p.a"
      "$llvm/llvm-ar" rcs "$tmp/$p.a" "$tmp/$p.o"
    fi
    mkdir -p "$lib/$p"
    mv -f "$tmp/$p.a" "$lib/$p/libtermauth.a"
    echo "   $(stat -c %s "$lib/$p/libtermauth.a") bytes"
  done
  cp "$root/bindings-ffi/include/termauth.h" "$lib/termauth.h"
  {
    echo "# Written by bindings-ffi/go-libs.sh build; checked by bindings-ffi/go-libs.sh check."
    echo "inputs $(inputs_hash)"
    echo "rustc $(rustc -V)"
    for p in "${platforms[@]}"; do
      echo "$p $(sha256sum "$lib/$p/libtermauth.a" | cut -d' ' -f1)"
    done
  } >"$lib/MANIFEST"
  check
}

case "${1:-}" in
  build) build ;;
  check) check ;;
  *) echo "usage: $0 build|check" >&2; exit 2 ;;
esac
