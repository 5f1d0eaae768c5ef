#!/usr/bin/env bash
# Builds the GPU check's carry directory: everything a bare GPU machine with
# a Vulkan loader needs to run bench/gpu_check.sh (docs/PERFORMANCE.md, "GPU
# check"):
#   DIR/gpu_check.sh               the check
#   DIR/bin/spire-run              the runtime-only runner (libc + libvulkan)
#   DIR/bundles/TARGET/MODEL.spire seeded bundles (--weights seeded), nvidia and generic
#   DIR/refs/MODEL/OUTPUT.npy      reference outputs, run here on lavapipe
#   DIR/MANIFEST                   the models, the reference batch, how it was made
# The references come from lavapipe-target bundles of the same spec and seed
# (the kernels conformance tests check against PyTorch), on seeded inputs at
# batch $REF_BATCH, as `spire run --batch` makes them on any device.
#
# usage: bench/gpu_check_pack.sh DIR [--quick] [--build BUILD_DIR]
#   --quick  the small zoo models only (the ctest on lavapipe)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
DIR=""
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --build) BUILD=$2; shift ;;
    -*) echo "gpu_check_pack.sh: unknown option $1" >&2; exit 2 ;;
    *) DIR=$1 ;;
  esac
  shift
done
if [ -z "$DIR" ]; then
  echo "usage: bench/gpu_check_pack.sh DIR [--quick] [--build BUILD_DIR]" >&2
  exit 2
fi
SPIRE=$BUILD/bin/spire
RUNNER=$BUILD/bin/spire-run
for tool in "$SPIRE" "$RUNNER"; do
  [ -x "$tool" ] || { echo "gpu_check_pack.sh: $tool is not built" >&2; exit 2; }
done

# Every zoo spec; the sizes a spec leaves open, bound as conformance.py does.
declare -A SETS=([conv1d_sequence]="--set L=50")
if [ "$QUICK" = 1 ]; then
  MODELS="small_cnn mlp multitask conv1d_sequence"
else
  MODELS=$(cd "$ROOT/specs" && ls ./*.yaml | sed 's|^\./||; s|\.yaml$||' | tr '\n' ' ')
fi
TARGETS="nvidia generic"
REF_BATCH=2 # above 1, so that the GPU also runs the batch offsets

rm -rf "$DIR"
mkdir -p "$DIR/bin" "$DIR/refs"
cp "$RUNNER" "$DIR/bin/spire-run"
cp "$ROOT/bench/gpu_check.sh" "$DIR/gpu_check.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for model in $MODELS; do
  spec=$ROOT/specs/$model.yaml
  sets=${SETS[$model]:-}
  for target in $TARGETS; do
    mkdir -p "$DIR/bundles/$target"
    # shellcheck disable=SC2086 # $sets is words
    "$SPIRE" compile "$spec" $sets --weights seeded --target "$target" \
      -o "$DIR/bundles/$target/$model.spire" > /dev/null
  done
  # shellcheck disable=SC2086
  "$SPIRE" compile "$spec" $sets --weights seeded --target lavapipe -o "$tmp/$model.spire" > /dev/null
  "$RUNNER" run "$tmp/$model.spire" --batch "$REF_BATCH" --output-dir "$DIR/refs/$model" > /dev/null
  echo "packed $model"
done

{
  echo "models: $MODELS"
  echo "targets: $TARGETS"
  echo "reference batch: $REF_BATCH"
  echo "references: lavapipe-target bundles on $("$RUNNER" devices | sed -n 's/^\* [0-9]*: //p')"
  echo "spire: $("$SPIRE" --version), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} > "$DIR/MANIFEST"
echo "carry directory $DIR: $(du -sb "$DIR" | cut -f1) bytes ($(du -sh "$DIR" | cut -f1)), limit 64 MiB"
