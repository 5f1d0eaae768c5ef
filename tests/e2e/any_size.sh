#!/bin/bash
# One bundle for a range of sizes (issue #23): the bundle compiled without
# --set runs at each size and matches, on the same seeded weights and inputs,
# the bundle compiled for that size alone (which e2e_conformance checks
# against PyTorch), within 1e-4 relative L2, validation layer on. A staged
# bundle is also run stage by stage at each size, each stage reading the
# interface the one before saved: its outputs must equal the whole run's
# bit for bit (same kernels, same device). conformance.py --sizes checks
# range bundles against PyTorch.
#   any_size.sh SPIRE SPEC SIZES...   (SIZES: L=5 or H=160,W=160)
set -euo pipefail
spire=$1 spec=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export SPIRE_VALIDATION=1
"$spire" compile "$spec" -o "$dir/any.spire"
stages=$("$spire" summary "$spec" | grep -c '^stage[0-9]*:' || true)
for s in "$@"; do
  sets=()
  for kv in ${s//,/ }; do sets+=(--set "$kv"); done
  "$spire" compile "$spec" "${sets[@]}" -o "$dir/fixed.spire" > /dev/null
  rm -rf "$dir/fixed" "$dir/whole"
  "$spire" run "$dir/fixed.spire" --batch 2 --output-dir "$dir/fixed" > /dev/null
  compare=()
  for f in "$dir/fixed"/*.npy; do compare+=(--compare "$(basename "$f" .npy)=$f"); done
  "$spire" run "$dir/any.spire" "${sets[@]}" --batch 2 "${compare[@]}" --output-dir "$dir/whole"
  (( stages > 1 )) || continue
  # Stage 0 gets the whole run's seeded inputs; each later stage, every
  # tensor the one before wrote.
  previous=()
  for ((k = 0; k < stages; ++k)); do
    rm -rf "$dir/stage$k"
    "$spire" run "$dir/any.spire" "${sets[@]}" --batch 2 --stages $k "${previous[@]}" \
      --output-dir "$dir/stage$k" > /dev/null
    previous=()
    for f in "$dir/stage$k"/*.npy; do previous+=(--input "$(basename "$f" .npy)=$f"); done
  done
  for f in "$dir/whole"/*.npy; do
    name=$(basename "$f" .npy)
    if ! cmp -s "$f" "$dir/stage$((stages - 1))/$name.npy"; then
      echo "FAIL $s output $name: $stages stages run one by one differ from the whole run"
      exit 1
    fi
    echo "ok $s output $name: $stages stages run one by one equal the whole run bit for bit"
  done
done
