// Spire's passes, declared from Passes.td.
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Pass/Pass.h"

namespace spire {

// The attribute listing the bindings a kernel reads as texels: on its
// gpu.module (KernelBuilder::readAsTexels), then on the lowered spirv.module
// for SpirvTexelInputs.
inline constexpr llvm::StringLiteral kTexelBindingsAttr = "spire.texel_bindings";
// In emitted kernels, until spire-spirv-push-constants reads the push
// constant block: a `spirv.Undef : i32` standing for push constant k
// (KernelBuilder::pushConstant). On a lowered spirv.module: how many 32-bit
// push constants its kernel reads.
inline constexpr llvm::StringLiteral kPushConstantAttr = "spire.push_constant";
inline constexpr llvm::StringLiteral kPushConstantsAttr = "spire.push_constants";
// The module's #spire.target (select-kernel-config).
inline constexpr llvm::StringLiteral kTargetAttr = "spire.target";
// The model function's #spire.stage_memory per stage (plan-memory).
inline constexpr llvm::StringLiteral kStagesAttr = "spire.stages";

#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "spire/Codegen/Passes.h.inc"

} // namespace spire
