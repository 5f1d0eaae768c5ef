// Writes a CompiledModel as one .spire bundle file (header, FlatBuffers
// manifest, 4096-aligned weights; see runtime/include/spire/BundleFormat.h).
#pragma once

#include "spire/Codegen/CompiledModel.h"

#include <string>
#include <vector>

namespace spire {

std::vector<uint8_t> serializeBundle(const CompiledModel &model);

// Keeps only stages [first, last] (their kernels, dispatches, interfaces and
// the weights they bind): a bundle that runs those stages on their own.
CompiledModel selectStages(const CompiledModel &model, size_t first, size_t last);

} // namespace spire
