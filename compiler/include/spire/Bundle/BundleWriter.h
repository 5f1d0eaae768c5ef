// Writes a CompiledModel as one .spire bundle file (header, FlatBuffers
// manifest, 4096-aligned weights; see runtime/include/spire/BundleFormat.h).
#pragma once

#include "spire/Codegen/CompiledModel.h"

#include <string>
#include <vector>

namespace spire {

std::vector<uint8_t> serializeBundle(const CompiledModel &model);

// Keeps only stage `stage` (its kernels, dispatches and interface): a bundle
// that runs that stage on its own.
CompiledModel selectStage(const CompiledModel &model, size_t stage);

} // namespace spire
