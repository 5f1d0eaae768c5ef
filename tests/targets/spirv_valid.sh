#!/usr/bin/env bash
# Every zoo spec compiles for one built-in target, and every kernel is valid
# Vulkan 1.1 SPIR-V (spirv-val): the profiles no GPU has run yet at least
# produce what a driver must accept. tests/lit/codegen/spirv_valid.test is
# the quick check of the default target.
#   spirv_valid.sh SPIRE SPIRV_VAL TARGET
set -euo pipefail
spire=$1 spirv_val=$2 target=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kernels=0
for spec in "$root"/specs/*.yaml; do
  name=$(basename "$spec" .yaml)
  sets=()
  [[ $name == conv1d_sequence ]] && sets=(--set L=128)
  # The bundle itself is not needed (vgg11_bn's weights alone are 0.5 GB).
  "$spire" compile "$spec" "${sets[@]}" --target "$target" -o /dev/null \
    --spirv-dir "$tmp/$name" > /dev/null 2> "$tmp/log" ||
    { cat "$tmp/log"; echo "FAIL $target $name: spire compile"; exit 1; }
  for spv in "$tmp/$name"/*.spv; do
    "$spirv_val" --target-env vulkan1.1 "$spv" || { echo "FAIL $target $name: $spv"; exit 1; }
    kernels=$((kernels + 1))
  done
done
echo "ok $target: $kernels kernels of $(ls "$root"/specs/*.yaml | wc -l) specs are valid vulkan1.1 SPIR-V"
