// Writes a CompiledModel as one .spire bundle file (header, FlatBuffers
// manifest, 4096-aligned weights; see runtime/include/spire/BundleFormat.h).
#pragma once

#include "spire/Codegen/CompiledModel.h"

#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace spire {

// Writes the bundle to `os`, the weights straight from model.weights: a
// 100 MB model is not copied into a file image first.
void writeBundle(const CompiledModel &model, llvm::raw_ostream &os);
std::vector<uint8_t> serializeBundle(const CompiledModel &model);

// Keeps only stages [first, last] (their kernels, dispatches, interfaces and
// the weights they bind): a bundle that runs those stages on their own.
CompiledModel selectStages(const CompiledModel &model, size_t first, size_t last);

} // namespace spire
