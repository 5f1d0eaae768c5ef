#!/usr/bin/env bash
# The sanitizer job: builds Spire with clang-22 under AddressSanitizer and
# UndefinedBehaviorSanitizer (any UB is fatal) into build-san/, with the
# libFuzzer harnesses in the same build, then runs under them: the Catch2
# unit tests (runtime, compiler), the lit suite, a few conformance models
# and each fuzz harness for 30 s on its corpus.
#   scripts/sanitize.sh [--build-only]
# Only third-party frames (the Vulkan loader, lavapipe, the validation
# layer) are suppressed, in tests/sanitize/lsan.supp; see docs/RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${SPIRE_SAN_BUILD:-build-san}
FUZZ_SECONDS=${SPIRE_SAN_FUZZ_SECONDS:-30}

scripts/setup.sh --packages-only
# allow_user_poisoning=0: LLVM's BumpPtrAllocator, inlined into Spire's
# instrumented code, poisons slab memory that uninstrumented libMLIR then
# allocates from and writes (a false use-after-poison in StringAttr::get).
# Set before the build, which runs the instrumented spire on fuzz seeds.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:allow_user_poisoning=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0
if [[ ! -f $BUILD/build.ninja ]]; then
  # -O1: ASan's usual trade of speed for build time; line tables suffice
  # for symbolized reports. NDEBUG as Debian's LLVM/MLIR are built.
  flags="-O1 -gline-tables-only -DNDEBUG"
  CC=clang-22 CXX=clang++-22 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$flags" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$flags" \
    -DSPIRE_SANITIZE=ON -DSPIRE_FUZZ=ON >/dev/null
fi
# What the job runs, not the examples (that the Release job builds).
cmake --build "$BUILD" --target spire spire-run spire-opt spire-unit-tests spire-compiler-tests spire-test-length-bundle \
  spire-fuzz-spec spire-fuzz-safetensors spire-fuzz-npy spire-fuzz-bundle
[[ ${1:-} == --build-only ]] && exit 0

export SPIRE_VALIDATION=1

step() { # name, command...: runs and times one part of the job
  local name=$1 start=$SECONDS
  shift
  echo "sanitize: $name"
  "$@"
  echo "sanitize: $name passed in $((SECONDS - start)) s"
}
step "runtime unit tests" "$BUILD/bin/spire-unit-tests"
step "compiler unit tests" "$BUILD/bin/spire-compiler-tests"
step "lit suite" /usr/lib/llvm-22/bin/lit -sv "$BUILD/tests/lit"
for model in small_cnn resblocks transformer_block ops_mix; do
  step "conformance $model" /usr/bin/python3 tests/e2e/conformance.py --spire "$BUILD/bin/spire" \
    --model "$model" --batches 2
done
step "fuzz harnesses" env SPIRE_FUZZ_NO_BUILD=1 SPIRE_SAN_BUILD="$BUILD" scripts/fuzz.sh "$FUZZ_SECONDS"
