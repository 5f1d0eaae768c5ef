#!/bin/bash
# One bundle for a range of sizes (issue #23): the bundle compiled without
# --set runs at each size and matches, on the same seeded weights and inputs,
# the bundle compiled for that size alone (which e2e_conformance checks
# against PyTorch), within 1e-4 relative L2, validation layer on.
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
  "$spire" run "$dir/any.spire" "${sets[@]}" --batch 2 --compare "$dir/fixed.npy"
done
