#!/usr/bin/env bash
# Builds libtermauth and installs it, with its header and pkg-config file, into a prefix:
#
#   bindings-ffi/build-lib.sh [debug|release] [PREFIX]     (default: debug, target/termauth-ffi)
#
#   PREFIX/include/termauth.h
#   PREFIX/lib/libtermauth.a          static (carries Rust std; link with -lm -ldl -lpthread)
#   PREFIX/lib/libtermauth.so.0       shared (SONAME libtermauth.so.0), libtermauth.so -> it
#   PREFIX/lib/pkgconfig/termauth.pc
#
# Every function of the header, the batteries-included client (termauth_client_*: ureq,
# rustls) included. The Go module ships its own libraries, without the client
# (bindings-ffi/go-libs.sh).
#
# release uses the `ffi-release` profile (Cargo.toml) and builds one crate type at a time
# (`cargo rustc --crate-type`): a crate whose crate types include rlib gets no LTO, and its
# static library then holds every dependency as a separate object with LLVM bitcode and
# debug info. The archive is then stripped of debug info (Rust std's, which comes prebuilt)
# and of the bitcode that compiler_builtins' objects carry: no profile setting reaches either.
#
# Why a copy step: the crate's Rust lib name is `termauth_ffi` because the native crate's lib
# is already `termauth` and two libs of one name collide in target/. The C library is
# installed under its public name here instead of renaming a crate.
set -euo pipefail
profile="${1:-debug}"
prefix="${2:-$(dirname "$0")/../target/termauth-ffi}"
# termauth.pc needs an absolute path; a relative PREFIX is the caller's.
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Each library is copied as soon as its own build ends: another build of the crate (another
# crate type or feature set) may overwrite target/'s copy meanwhile.
case "$profile" in
  debug)
    cargo build --locked -p termauth-ffi
    cp target/debug/libtermauth_ffi.a "$tmp/libtermauth.a"
    cp target/debug/libtermauth_ffi.so "$tmp/libtermauth.so.0" ;;
  release)
    cargo rustc --locked --profile ffi-release -p termauth-ffi --lib --crate-type staticlib
    cp target/ffi-release/libtermauth_ffi.a "$tmp/libtermauth.a"
    strip --strip-debug -R .llvmbc -R .llvmcmd "$tmp/libtermauth.a"
    cargo rustc --locked --profile ffi-release -p termauth-ffi --lib --crate-type cdylib
    cp target/ffi-release/libtermauth_ffi.so "$tmp/libtermauth.so.0" ;;
  *) echo "usage: $0 [debug|release] [PREFIX]" >&2; exit 2 ;;
esac
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
cp bindings-ffi/include/termauth.h "$prefix/include/termauth.h"
# Replace, not overwrite in place: a running process may have the old .so mapped.
cp "$tmp/libtermauth.a" "$prefix/lib/libtermauth.a.tmp" && mv -f "$prefix/lib/libtermauth.a.tmp" "$prefix/lib/libtermauth.a"
cp "$tmp/libtermauth.so.0" "$prefix/lib/libtermauth.so.0.tmp" && mv -f "$prefix/lib/libtermauth.so.0.tmp" "$prefix/lib/libtermauth.so.0"
ln -sf libtermauth.so.0 "$prefix/lib/libtermauth.so"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" bindings-ffi/termauth.pc.in > "$prefix/lib/pkgconfig/termauth.pc"
echo "libtermauth ($profile) installed in $prefix"
