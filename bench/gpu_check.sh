#!/usr/bin/env bash
# The GPU check: run from the carry directory bench/gpu_check_pack.sh builds,
# on a machine with a Vulkan loader and driver and nothing else. In one
# command of a few minutes it prints and writes under $OUT:
#   devices.txt, profile.json   the devices, and the default one as a target profile
#   peak.txt                    the measured f32 arithmetic peak
#   conformance.txt             every packed model and target against the lavapipe
#                               references (relative L2 <= 1e-4)
#   bench.txt                   ResNet-18/50 and MobileNetV2, nvidia and generic
#                               targets, batch 1, 8 and 64
#   profile_resnet50_*.txt      ResNet-50's device time per layer (nvidia target)
# It goes on after a failure, so that one short visit yields all it can, and
# exits 1 when any step failed (conformance included).
#
# usage: gpu_check.sh [--quick] [--iters N] [--validate] [--out DIR]
#   --quick     batch 1 only, few iterations, the models packed (the ctest)
#   --iters N   timed iterations per bench (default 20; a CPU device wants few)
#   --validate  every run with the Vulkan validation layer (needs it installed)
#   --out DIR   where results go (default: $OUT, else ./gpu-check-results)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RUN=$HERE/bin/spire-run
OUT=${OUT:-$PWD/gpu-check-results}
QUICK=0
ITERS=20
VALIDATE=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --validate) VALIDATE=(--validate) ;;
    --iters) ITERS=$2; shift ;;
    --out) OUT=$2; shift ;;
    *) echo "usage: gpu_check.sh [--quick] [--iters N] [--validate] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT"
FAILED=0
START=$(date +%s)

# Runs a command, its output to the terminal and appended to $OUT/$1; a
# failure is noted and the check goes on.
step() {
  local file=$1
  shift
  echo "\$ ${*#"$HERE/"}" | tee -a "$OUT/$file"
  "$@" 2>&1 | tee -a "$OUT/$file"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" != 0 ]; then
    echo "FAILED (exit $rc): $*" | tee -a "$OUT/$file" "$OUT/failures.txt"
    FAILED=1
  fi
}

section() { printf '\n== %s (%ss in)\n' "$1" $(( $(date +%s) - START )); }

section "machine"
{ uname -a; cat "$HERE/MANIFEST"; } 2>&1 | tee "$OUT/machine.txt"
command -v nvidia-smi > /dev/null && step machine.txt nvidia-smi

section "devices"
step devices.txt "$RUN" devices "${VALIDATE[@]}"
"$RUN" devices --profile "${VALIDATE[@]}" > "$OUT/profile.json" 2>&1 || FAILED=1
cat "$OUT/profile.json"

section "peak"
step peak.txt "$RUN" peak --iters 5 "${VALIDATE[@]}"

section "conformance (relative L2 against the lavapipe references)"
REF_BATCH=$(sed -n 's/^reference batch: //p' "$HERE/MANIFEST")
for refs in "$HERE"/refs/*/; do
  model=$(basename "$refs")
  compare=()
  for npy in "$refs"*.npy; do
    compare+=(--compare "$(basename "$npy" .npy)=$npy")
  done
  for bundle in "$HERE"/bundles/*/"$model.spire"; do
    step conformance.txt "$RUN" run "$bundle" --batch "$REF_BATCH" "${compare[@]}" "${VALIDATE[@]}"
  done
done

section "bench"
if [ "$QUICK" = 1 ]; then
  BATCHES="1"; ITERS=2; BENCH_MODELS=$(ls "$HERE/refs")
else
  BATCHES="1 8 64"; BENCH_MODELS="resnet18 resnet50 mobilenet_v2"
fi
for model in $BENCH_MODELS; do
  for bundle in "$HERE"/bundles/*/"$model.spire"; do
    [ -f "$bundle" ] || continue
    for batch in $BATCHES; do
      step bench.txt "$RUN" bench "$bundle" --batch "$batch" --iters "$ITERS" "${VALIDATE[@]}"
    done
  done
done

section "per-layer profile"
PROFILE_MODEL=resnet50
[ "$QUICK" = 1 ] && PROFILE_MODEL=$(ls "$HERE/refs" | head -1)
for batch in $BATCHES; do
  bundle=$HERE/bundles/nvidia/$PROFILE_MODEL.spire
  [ -f "$bundle" ] && step "profile_${PROFILE_MODEL}_b$batch.txt" "$RUN" bench "$bundle" \
    --batch "$batch" --iters "$ITERS" --profile "${VALIDATE[@]}"
done

section "summary"
grep -c ": ok$" "$OUT/conformance.txt" | sed 's/^/conformance ok: /' | tee "$OUT/summary.txt"
grep "MISMATCH" "$OUT/conformance.txt" | tee -a "$OUT/summary.txt"
grep -h "^host\|(target\|^device" "$OUT/bench.txt" | tee -a "$OUT/summary.txt" > /dev/null
echo "took $(( $(date +%s) - START )) s; results in $OUT" | tee -a "$OUT/summary.txt"
if [ "$FAILED" != 0 ]; then
  echo "some steps FAILED:" && cat "$OUT/failures.txt"
  exit 1
fi
echo "all steps passed"
