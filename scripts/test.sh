#!/usr/bin/env bash
# Builds Spire (scripts/setup.sh) and runs every test through ctest: Catch2
# unit tests, lit/FileCheck compiler tests, and end-to-end conformance
# against PyTorch on the default Vulkan device with the validation layer on.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure -j2
