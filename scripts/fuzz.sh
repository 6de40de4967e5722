#!/usr/bin/env bash
# Fuzzes termauth-core's parsers and flows (core/fuzz) and prints one line per target.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   run every target (default 30 s each), 1 job
#   scripts/fuzz.sh seeds                  rewrite core/fuzz/seeds from core/fuzz/gen_seeds.py
#   scripts/fuzz.sh replay                 run seeds + regressions once (stable, no libFuzzer)
#
# Environment: FUZZ_TARGETS="a b" (a subset), FUZZ_TOOLCHAIN=nightly|stable (default: nightly
# when rustup has it, else stable with RUSTC_BOOTSTRAP=1, which lets stable take the -Z
# flags cargo-fuzz passes), FUZZ_SANITIZER (default none: the core forbids unsafe code,
# so AddressSanitizer only slows it down), FUZZ_ARGS (extra libFuzzer arguments).
#
# Inputs: the git-ignored working corpus core/fuzz/corpus/<target> (libFuzzer writes new
# units there), the committed seeds core/fuzz/seeds/<target>, and the dictionary
# core/fuzz/dicts/oauth.dict. Committed crash reproducers in core/fuzz/regressions/<target>
# are replayed first and reported separately. Crashes go to core/fuzz/artifacts/<target>/.
# Exits non-zero when a target crashed or a regression still fails.
# Fuzzing is not part of the normal test command (run it by hand; its figures go into the
# release note); `replay` is (scripts/test.sh).
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORE="$ROOT/core"
FUZZ="$CORE/fuzz"
ALL_TARGETS="token_response device_response discovery error_body callback_url credential_record flow_inputs proxy roundtrip session"
TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"
SANITIZER="${FUZZ_SANITIZER:-none}"

case "${1:-}" in
  seeds)
    python3 "$FUZZ/gen_seeds.py"
    exit 0
    ;;
  replay)
    cd "$FUZZ" && exec cargo test --no-default-features --lib
    ;;
esac
SECONDS_PER_TARGET="${1:-30}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] | seeds | replay" >&2
  exit 2
fi

# cargo-fuzz, pinned.
if ! cargo fuzz --version 2>/dev/null | grep -q "cargo-fuzz $CARGO_FUZZ_VERSION"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked >&2
fi

# The toolchain: nightly if present (never downloaded here), else stable + RUSTC_BOOTSTRAP.
TOOLCHAIN="${FUZZ_TOOLCHAIN:-}"
if [ -z "$TOOLCHAIN" ]; then
  if rustup run nightly rustc --version >/dev/null 2>&1; then TOOLCHAIN=nightly; else TOOLCHAIN=stable; fi
fi
FUZZ_CMD=(cargo "+$TOOLCHAIN" fuzz)
if [ "$TOOLCHAIN" != nightly ]; then
  export RUSTC_BOOTSTRAP=1
fi
RUSTC_VERSION="$(rustup run "$TOOLCHAIN" rustc --version)"

cd "$CORE"
echo "building fuzz targets ($RUSTC_VERSION${RUSTC_BOOTSTRAP:+, RUSTC_BOOTSTRAP=1}, sanitizer $SANITIZER)" >&2
"${FUZZ_CMD[@]}" build -O -s "$SANITIZER" >&2

LOGS="$FUZZ/artifacts/logs"
mkdir -p "$LOGS"
BIN="$FUZZ/target/x86_64-unknown-linux-gnu/release"

# Committed reproducers: each must pass now (they fail until their bug is fixed).
failing_regressions=0
for t in $TARGETS; do
  dir="$FUZZ/regressions/$t"
  [ -d "$dir" ] || continue
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    if ! "$BIN/$t" -runs=1 "$f" >"$LOGS/regression-$t-$(basename "$f").log" 2>&1; then
      echo "regression still failing: $t/$(basename "$f") (log: ${LOGS#"$ROOT"/}/regression-$t-$(basename "$f").log)" >&2
      failing_regressions=$((failing_regressions + 1))
    fi
  done
done

final_stat() { # final_stat NAME LOG -> value of libFuzzer's final `stat::NAME:`, or empty
  sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -1
}

printf '%-18s %8s %14s %10s %12s %8s\n' target seconds executions exec/s corpus crashes
total_execs=0
total_secs=0
total_crashes=0
for t in $TARGETS; do
  mkdir -p "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
  before="$(find "$FUZZ/artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)"
  log="$LOGS/$t.log"
  start=$(date +%s)
  set +e
  # One process (no -jobs / -workers): a 2-core machine, and the figures stay comparable.
  # shellcheck disable=SC2086
  "${FUZZ_CMD[@]}" run -O -s "$SANITIZER" "$t" "$FUZZ/corpus/$t" "$FUZZ/seeds/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -dict="$FUZZ/dicts/oauth.dict" -artifact_prefix="$FUZZ/artifacts/$t/" ${FUZZ_ARGS:-} >"$log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  after="$(find "$FUZZ/artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)"
  crashes=$((after - before))
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi # died without an artifact
  execs="$(final_stat number_of_executed_units "$log")"
  if [ -z "$execs" ]; then # no final stats: take the last status line
    execs="$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -1)"
  fi
  execs="${execs:-0}"
  rate="$(final_stat average_exec_per_sec "$log")"
  rate="${rate:-$(( execs / (secs > 0 ? secs : 1) ))}"
  corpus="$(find "$FUZZ/corpus/$t" -maxdepth 1 -type f | wc -l)"
  printf '%-18s %8s %14s %10s %12s %8s\n' "$t" "$secs" "$execs" "$rate" "$corpus" "$crashes"
  if [ "$crashes" -gt 0 ]; then
    grep -m1 -E "panicked at|ERROR: libFuzzer" "$log" | sed 's/^/    /' || true
    grep -m1 -E "Test unit written to" "$log" | sed "s|^.*Test unit written to |    reproducer: |; s|$ROOT/||" || true
  fi
  total_execs=$((total_execs + execs))
  total_secs=$((total_secs + secs))
  total_crashes=$((total_crashes + crashes))
done
printf '%-18s %8s %14s %10s %12s %8s\n' total "$total_secs" "$total_execs" "$(( total_execs / (total_secs > 0 ? total_secs : 1) ))" - "$total_crashes"
if [ "$failing_regressions" -gt 0 ]; then
  echo "$failing_regressions committed regression input(s) still fail (see above)"
fi
echo "toolchain: $RUSTC_VERSION${RUSTC_BOOTSTRAP:+ (RUSTC_BOOTSTRAP=1)}; cargo-fuzz $CARGO_FUZZ_VERSION; sanitizer $SANITIZER; logs in ${LOGS#"$ROOT"/}"
[ "$total_crashes" -eq 0 ] && [ "$failing_regressions" -eq 0 ]
