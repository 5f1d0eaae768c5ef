// Spire's passes, declared from Passes.td.
#pragma once

#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Pass/Pass.h"

namespace spire {

// The attribute listing the bindings a kernel reads as texels: on its
// gpu.module (KernelBuilder::readAsTexels), then on the lowered spirv.module
// for SpirvTexelInputs.
inline constexpr llvm::StringLiteral kTexelBindingsAttr = "spire.texel_bindings";

#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "spire/Codegen/Passes.h.inc"

} // namespace spire
