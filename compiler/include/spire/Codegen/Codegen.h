// From a checked `spire` module to SPIR-V kernels, dispatch lists and a
// memory plan per stage.
//
// The path: per stage, layer ops are grouped into kernels (conv/linear absorb
// a following batch norm by folding it into their weights, then a residual
// add and an activation as an epilogue); activations get buffers by liveness;
// each kernel is emitted as a gpu.func (KernelEmitters.cpp), converted by
// MLIR's GPU/Arith/Math/SCF/MemRef-to-SPIR-V conversions and serialized.
#pragma once

#include "spire/Codegen/CompiledModel.h"
#include "spire/Codegen/KernelBuilder.h"
#include "spire/Codegen/Weights.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

namespace spire {

struct CodegenOptions {
  TileConfig tiles;
  // Print the kernels as gpu dialect IR (before SPIR-V conversion) or as the
  // spirv dialect (after) instead of serializing them.
  enum class Dump { None, Gpu, Spirv } dump = Dump::None;
  llvm::raw_ostream *dumpStream = nullptr;
};

// Lowers every gpu.module of `kernels` to SPIR-V and serializes it; returns
// the words by kernel (gpu.module) name, or prints instead when dumping.
mlir::FailureOr<llvm::StringMap<std::vector<uint32_t>>>
lowerKernels(mlir::ModuleOp kernels, const CodegenOptions &options);

// A one-kernel bundle that measures the device's arithmetic peak: each
// invocation runs kPeakProbeChains independent chains of `iterations`
// multiply-adds (unfused, as the kernels compute) from registers,
// kPeakProbeUnroll of them per loop iteration (`iterations` is a multiple).
inline constexpr int64_t kPeakProbeChains = 16, kPeakProbeUnroll = 8;
mlir::FailureOr<CompiledModel> buildPeakProbe(mlir::MLIRContext &context, int64_t invocations,
                                              int64_t iterations);
inline double peakProbeFlops(int64_t invocations, int64_t iterations) {
  return 2.0 * kPeakProbeChains * static_cast<double>(invocations) *
         static_cast<double>(iterations);
}

// Fails with diagnostics (e.g. a size symbol other than the batch that was
// not bound with --set).
mlir::FailureOr<CompiledModel> compileModel(SpecModule &spec, const WeightStore &weights,
                                            const CodegenOptions &options);

} // namespace spire
