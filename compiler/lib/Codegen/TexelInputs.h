// Reading a kernel's read-only buffers as uniform texel buffers.
#pragma once

#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"

namespace spire {

// The gpu.module attribute listing the bindings a kernel reads as texels.
inline constexpr llvm::StringLiteral kTexelBindingsAttr = "spire.texel_bindings";

// Rewrites the storage buffers at `bindings` of a lowered kernel into
// uniform texel buffers (R32_SFLOAT views, bound by the runtime): each
// element load becomes an OpImageFetch. On lavapipe a texel fetch costs about
// half a storage-buffer load (bench/load_probe). Fails, with an error, if such
// a buffer is written or accessed other than by element loads.
mlir::LogicalResult readAsTexels(mlir::spirv::ModuleOp module, llvm::ArrayRef<int32_t> bindings);

} // namespace spire
