// The parameter buffers of a kernel, as its emitter reads them
// (KernelEmitters.h lists the layouts): batch norm folded into a conv or
// linear layer's weights, conv weights packed by the kernel config's
// channel tile, linear weights transposed in row chunks.
#pragma once

#include "KernelParts.h"
#include "spire/Codegen/Weights.h"

namespace spire {

mlir::FailureOr<std::vector<std::vector<float>>> packParameters(const KernelParts &parts,
                                                                const WeightStore &weights);

} // namespace spire
