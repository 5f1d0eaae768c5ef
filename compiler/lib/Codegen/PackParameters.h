// The parameter buffers of a kernel, as its emitter reads them
// (KernelEmitters.h lists the layouts), made by spire/WeightPacking.h's
// recipe, which a seeded bundle carries instead of the buffers.
#pragma once

#include "KernelParts.h"
#include "spire/Codegen/Weights.h"
#include "spire/WeightPacking.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace spire {

struct PackedParameters {
  weights::Pack pack; // its tensors numbered by `index`; offsets not yet set
  std::vector<weights::Buffer> buffers;
};

// `index` numbers a parameter tensor by name, the same name the same number.
mlir::FailureOr<PackedParameters>
packParameters(const KernelParts &parts, const WeightStore &weights,
               llvm::function_ref<int32_t(const std::string &)> index,
               llvm::function_ref<const std::string &(int32_t)> nameOf);

} // namespace spire
