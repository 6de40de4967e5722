#!/usr/bin/env bash
# Benchmarks of the C ABI and the Go package (not part of the test run):
#   1. cached Token() through cgo vs oauth2.ReuseTokenSource over a static token
#   2. cold start of a Go CLI with termauth linked vs without
#   3. sizes of libtermauth.a / libtermauth.so (release)
# Uses a release build of libtermauth (installed in target/termauth-ffi-release).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
prefix="$root/target/termauth-ffi-release"
bash bindings-ffi/build-lib.sh release "$prefix" >/dev/null
# The Go package links target/termauth-ffi; point it at the release build for the run.
export CGO_LDFLAGS="" GOFLAGS=-mod=mod
mkdir -p "$root/target/termauth-ffi/lib" "$root/target/termauth-ffi/include"
saved="$(mktemp -d)"
cp -a "$root/target/termauth-ffi/." "$saved/" 2>/dev/null || true
cp "$prefix/lib/libtermauth.a" "$root/target/termauth-ffi/lib/libtermauth.a"
cp "$prefix/include/termauth.h" "$root/target/termauth-ffi/include/termauth.h"
restore() { cp -a "$saved/." "$root/target/termauth-ffi/"; rm -rf "$saved"; }
trap restore EXIT

echo "== 1. Token(): cgo vs oauth2.ReuseTokenSource (go test -bench, 3 runs)"
(cd bench/go && go test -run '^$' -bench . -benchmem -count 3 .)

echo "== 2. cold start (30 runs each, after 3 warm-ups)"
out="$(mktemp -d)"
(cd bench/go && go build -o "$out/with" ./coldstart/with && go build -o "$out/without" ./coldstart/without)
export BENCH_DIR="$out/store" TERMAUTH_NO_KEYRING=1
"$out/with" setup
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 3 --runs 30 "$out/without" "$out/with"
else
  python3 - "$out/without" "$out/with" <<'PY'
import subprocess, sys, time, statistics
for exe in sys.argv[1:]:
    for _ in range(3): subprocess.run([exe], check=True)
    t = []
    for _ in range(30):
        s = time.perf_counter(); subprocess.run([exe], check=True); t.append((time.perf_counter() - s) * 1000)
    print(f"{exe.rsplit('/',1)[1]:>8}: mean {statistics.mean(t):.2f} ms ± {statistics.stdev(t):.2f} (min {min(t):.2f}, median {statistics.median(t):.2f})")
PY
fi
echo "phases of one cold start, in µs (the median of 21 runs): New, first Token, second Token"
(cd bench/go && go build -o "$out/timed" ./coldstart/timed)
for _ in $(seq 21); do "$out/timed"; done | sort -n -k2 | sed -n 11p
echo "binary sizes: without $(stat -c %s "$out/without") B, with $(stat -c %s "$out/with") B"

echo "== 3. library sizes (release: lto, codegen-units=1)"
so="$prefix/lib/libtermauth.so.0"; a="$prefix/lib/libtermauth.a"
strip -o "$out/libtermauth.stripped.so" "$so"
echo "libtermauth.a            $(stat -c %s "$a") B"
echo "libtermauth.so           $(stat -c %s "$so") B"
echo "libtermauth.so, stripped $(stat -c %s "$out/libtermauth.stripped.so") B"
rm -rf "$out"
