#!/usr/bin/env bash
# Benchmarks of the Go package over the library it ships (bindings-ffi/go/lib, built by
# bindings-ffi/go-libs.sh) and of the C library (not part of the test run):
#   1. cached Token() through cgo vs x/oauth2 reading and decoding the same files
#      (BenchmarkOAuth2FileRead), and vs oauth2.ReuseTokenSource over a static token
#   2. cold start and size (-s -w) of a Go CLI with termauth linked vs x/oauth2 with the
#      same job (./coldstart/oauth2file: a stored token read from a file, net/http linked
#      for its refresh), vs the same with an OS keyring client (./coldstart/oauth2keyring:
#      go-keyring, as gh does) and vs a static token (./coldstart/without: no file, no HTTP)
#   3. sizes of the Go module's libraries and of the C library (release)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
export GOFLAGS=-mod=mod
bash bindings-ffi/go-libs.sh check || echo "(measuring the committed libraries all the same)"

echo "== 1. Token(): cgo vs x/oauth2 (go test -bench, 3 runs)"
(cd bench/go && go test -run '^$' -bench . -benchmem -count 3 .)

echo "== 2. cold start (30 runs each, after 3 warm-ups)"
out="$(mktemp -d)"
(cd bench/go && for b in with without oauth2file oauth2keyring; do go build -ldflags='-s -w' -o "$out/$b" ./coldstart/$b; done)
export BENCH_DIR="$out/store" TERMAUTH_NO_KEYRING=1
"$out/with" setup
"$out/oauth2file" setup
"$out/oauth2keyring" setup
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 3 --runs 30 "$out/without" "$out/oauth2file" "$out/oauth2keyring" "$out/with"
else
  python3 - "$out/without" "$out/oauth2file" "$out/oauth2keyring" "$out/with" <<'PY'
import subprocess, sys, time, statistics
exes = sys.argv[1:]
t = {exe: [] for exe in exes}
for exe in exes:
    for _ in range(3): subprocess.run([exe], check=True)
for _ in range(30):  # interleaved
    for exe in exes:
        s = time.perf_counter(); subprocess.run([exe], check=True); t[exe].append((time.perf_counter() - s) * 1000)
for exe in exes:
    v = t[exe]
    print(f"{exe.rsplit('/',1)[1]:>10}: mean {statistics.mean(v):.2f} ms ± {statistics.stdev(v):.2f} (min {min(v):.2f}, median {statistics.median(v):.2f})")
PY
fi
echo "phases of one cold start, in µs (the median of 21 runs): New, first Token, second Token"
(cd bench/go && go build -o "$out/timed" ./coldstart/timed)
for _ in $(seq 21); do "$out/timed"; done | sort -n -k2 | sed -n 11p
size() { stat -c %s "$1"; }
for b in without oauth2file oauth2keyring with; do echo "binary size (-s -w) $b: $(size "$out/$b") B"; done
echo "with - oauth2file:    $(( $(size "$out/with") - $(size "$out/oauth2file") )) B (goal <= 2 MB)"
echo "with - oauth2keyring: $(( $(size "$out/with") - $(size "$out/oauth2keyring") )) B"

echo "== 3. library sizes"
for a in bindings-ffi/go/lib/*/libtermauth.a; do echo "$a $(stat -c %s "$a") B (goal <= 10 MB)"; done
prefix="$root/target/termauth-ffi-release"
bash bindings-ffi/build-lib.sh release "$prefix" >/dev/null
echo "C library, release: libtermauth.a $(stat -c %s "$prefix/lib/libtermauth.a") B, libtermauth.so.0 $(stat -c %s "$prefix/lib/libtermauth.so.0") B"
rm -rf "$out"
