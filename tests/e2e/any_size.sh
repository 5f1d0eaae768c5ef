#!/bin/bash
# One bundle for a range of sizes (issue #23): the bundle compiled without
# --set runs at each size and equals, bit for bit, on the same seeded weights
# and inputs, the bundle compiled for that size alone, validation layer on.
# That holds where the range changes only the sizes the kernels see, not
# their structure (conv1d_sequence); conformance.py --sizes checks every
# range spec against PyTorch.
#   any_size.sh SPIRE SPEC SIZES...   (SIZES: L=5 or H=160,W=160)
set -euo pipefail
spire=$1 spec=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export SPIRE_VALIDATION=1
"$spire" compile "$spec" -o "$dir/any.spire"
for s in "$@"; do
  sets=()
  for kv in ${s//,/ }; do sets+=(--set "$kv"); done
  "$spire" compile "$spec" "${sets[@]}" -o "$dir/fixed.spire" > /dev/null
  "$spire" run "$dir/fixed.spire" --batch 2 --output "$dir/fixed.npy" > /dev/null
  "$spire" run "$dir/any.spire" "${sets[@]}" --batch 2 --compare "$dir/fixed.npy" --tolerance 0
done
