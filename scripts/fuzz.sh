#!/usr/bin/env bash
# Runs each libFuzzer harness (tests/fuzz) for SECONDS (default 60) on its
# corpus: build-san/fuzz/<name> (kept between runs, new inputs land there)
# plus the seeds (the zoo's and the tests' specs, tests/fuzz/seeds, bundles
# compiled from small specs). Builds the harnesses first with
# scripts/sanitize.sh --build-only (clang-22, ASan+UBSan).
#   scripts/fuzz.sh [SECONDS] [HARNESS...]   HARNESS: spec safetensors npy bundle
# A crash, leak or timeout stops that harness, leaves its input as
# build-san/fuzz/<name>-crash-* and makes the script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
HARNESSES=("$@")
((${#HARNESSES[@]})) || HARNESSES=(spec safetensors npy bundle)
BUILD=${SPIRE_SAN_BUILD:-build-san}

# SPIRE_FUZZ_NO_BUILD=1: the caller (scripts/sanitize.sh) has built them.
[[ ${SPIRE_FUZZ_NO_BUILD:-0} == 1 ]] || scripts/sanitize.sh --build-only

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allow_user_poisoning=0} # see sanitize.sh
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

seeds() { # the seed files of harness $1, one per line
  case $1 in
  # Not repeat_bomb.yaml: 100000 layers, the cap, is all it checks, and
  # slowly (see the timeout below).
  spec) ls specs/*.yaml tests/e2e/specs/*.yaml tests/lit/check/*.yaml \
           tests/lit/codegen/Inputs/*.yaml tests/fuzz/seeds/*.yaml | grep -v repeat_bomb ;;
  safetensors) ls tests/fuzz/seeds/safetensors/* ;;
  npy) ls tests/fuzz/seeds/npy/* ;;
  bundle) ls "$BUILD"/tests/fuzz/seeds/bundle/*.spire ;;
  esac
}

status=0
for h in "${HARNESSES[@]}"; do
  corpus=$BUILD/fuzz/$h seeddir=$BUILD/fuzz/seeds-$h
  mkdir -p "$corpus" "$seeddir"
  # Named by their path: seeds in different folders may share a name.
  seeds "$h" | while read -r f; do cp "$f" "$seeddir/${f//\//_}"; done
  # A spec at the front end's caps (2^20 YAML nodes, 100000 layers) takes
  # about 1 s in Release and tens of seconds under ASan on a busy machine:
  # slow by design, not a hang. The other readers are fast on any input.
  timeout=10
  [[ $h == spec ]] && timeout=120
  args=(-max_total_time="$SECONDS_EACH" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$BUILD/fuzz/$h-")
  [[ $h == spec ]] && args+=(-dict=tests/fuzz/spec.dict)
  echo "fuzz: $h for ${SECONDS_EACH}s"
  if ! "$BUILD/bin/spire-fuzz-$h" "${args[@]}" "$corpus" "$seeddir" 2>"$BUILD/fuzz/$h.log"; then
    status=1
    echo "fuzz: $h FAILED; see $BUILD/fuzz/$h.log:"
    grep -E '^(==|SUMMARY|artifact_prefix|Test unit written)' "$BUILD/fuzz/$h.log" | head -20
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
    "$BUILD/fuzz/$h.log" | sed "s/^/  $h /"
done
exit $status
