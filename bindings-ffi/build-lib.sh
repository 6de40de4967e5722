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
# Why a copy step: the crate's Rust lib name is `termauth_ffi` because the native crate's lib
# is already `termauth` and two libs of one name collide in target/. The C library is
# installed under its public name here instead of renaming a crate.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-debug}"
prefix="${2:-$PWD/target/termauth-ffi}"
case "$profile" in
  debug) cargo build --locked -p termauth-ffi; dir=target/debug ;;
  release) cargo build --locked --release -p termauth-ffi; dir=target/release ;;
  *) echo "usage: $0 [debug|release] [PREFIX]" >&2; exit 2 ;;
esac
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
cp bindings-ffi/include/termauth.h "$prefix/include/termauth.h"
# Replace, not overwrite in place: a running process may have the old .so mapped.
cp "$dir/libtermauth_ffi.a" "$prefix/lib/libtermauth.a.tmp" && mv -f "$prefix/lib/libtermauth.a.tmp" "$prefix/lib/libtermauth.a"
cp "$dir/libtermauth_ffi.so" "$prefix/lib/libtermauth.so.0.tmp" && mv -f "$prefix/lib/libtermauth.so.0.tmp" "$prefix/lib/libtermauth.so.0"
ln -sf libtermauth.so.0 "$prefix/lib/libtermauth.so"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" bindings-ffi/termauth.pc.in > "$prefix/lib/pkgconfig/termauth.pc"
echo "libtermauth ($profile) installed in $prefix"
