#!/usr/bin/env bash
# Installs everything Spire needs from Debian 12's packages (only what is
# missing: quiet and quick on a machine that has them), then configures and
# builds Spire in Release into build/. Safe to run again. With
# --packages-only it stops after the packages (scripts/sanitize.sh). With
# --bench it also installs OpenBLAS, which bench/bench.py's PyTorch baseline
# needs to be honest (without it Debian's torch runs on the reference BLAS);
# CI does not use it.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  cmake ninja-build g++ ccache lld-22
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libflatbuffers-dev flatbuffers-compiler libjemalloc-dev
  libvulkan-dev vulkan-validationlayers mesa-vulkan-drivers spirv-tools glslc
  clang-22 libclang-rt-22-dev libfuzzer-22-dev
  graphviz catch2 python3-torch python3-torchvision python3-numpy python3-yaml python3-jsonschema python3-matplotlib
  pybind11-dev python3-dev python3-pytest
  openmpi-bin libopenmpi-dev
)
for arg in "$@"; do
  case "$arg" in
    --bench) PACKAGES+=(libopenblas0-pthread) ;;
    --packages-only) ;;
    *) echo "usage: scripts/setup.sh [--packages-only] [--bench]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ " $* " == *" --packages-only "* ]] && exit 0
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
