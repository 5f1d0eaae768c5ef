// From a checked `spire` module to SPIR-V kernels, dispatch lists and a
// memory plan per stage.
//
// The path is a pass pipeline (buildSpireCodegenPipeline, docs/COMPILER.md):
// form-kernels wraps each anchor layer and what it absorbs in a
// spire.kernel; plan-memory gives every stored tensor its arena offset;
// select-kernel-config attaches a per-target #spire.kernel_config;
// emit-kernels generates each kernel as a gpu.func (KernelEmitters.cpp).
// lowerKernels converts those to SPIR-V; compileModel then reads the
// annotated module into a CompiledModel, packing the weights as each
// kernel's config says.
#pragma once

#include "spire/Codegen/CompiledModel.h"
#include "spire/Codegen/KernelBuilder.h"
#include "spire/Codegen/Passes.h"
#include "spire/Codegen/Weights.h"
#include "spire/PeakProbe.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

namespace spire {

struct CodegenOptions {
  // The target profile (Targets/: lavapipe, nvidia, amd, intel, arm-mali,
  // qualcomm-adreno, generic) and overrides of its tiles.
  SelectKernelConfigOptions config;
  // Print the module after the kernel passes (before emitting), after
  // emitting (gpu dialect) or the SPIR-V modules instead of serializing.
  enum class Dump { None, Kernels, Gpu, Spirv } dump = Dump::None;
  llvm::raw_ostream *dumpStream = nullptr;
  bool printIRAfterAll = false; // print the module after every pass (stderr)
  // Where compileModel times its phases and every pass (spire compile
  // --timings): a scope of an enabled mlir::TimingManager, or null.
  mlir::TimingScope *timing = nullptr;
  // Keep seeded weights' recipe (CompiledModel::seededWeights), so that the
  // bundle carries it instead of the weight bytes (--weights seeded).
  bool seededWeights = false;
};

// fold-batchnorm, form-kernels, plan-memory, select-kernel-config and, with
// `emit`, emit-kernels.
void buildSpireCodegenPipeline(mlir::OpPassManager &pm, const CodegenOptions &options,
                               bool emit = true);

// A kernel as lowerKernels gives it: its SPIR-V, and which size symbol each
// of its specialization constants holds (KernelCode::specConstants).
struct LoweredKernel {
  std::vector<uint32_t> spirv;
  std::vector<uint32_t> specConstants;
  uint32_t pushConstants = 0; // 32-bit push constants it reads
};

// Lowers every gpu.module of `kernels` to SPIR-V and serializes it; returns
// the kernels by gpu.module name, or prints instead when dumping.
mlir::FailureOr<llvm::StringMap<LoweredKernel>> lowerKernels(mlir::ModuleOp kernels,
                                                             const CodegenOptions &options);

// The one-kernel bundle that measures the device's arithmetic peak
// (spire/PeakProbe.h): `invocations` of `iterations` each, a multiple of
// kPeakProbeUnroll.
mlir::FailureOr<CompiledModel> buildPeakProbe(mlir::MLIRContext &context, int64_t invocations,
                                              int64_t iterations);

// Every size but the batch must be known, or be a symbol with a declared
// range, to generate kernels: reports each input whose shape has another
// symbol, once, naming the symbols to bind with --set (e.g. 'signal' has
// shape [N, 4, L] ... bind L); records the ranged ones in the module for
// the code generator (SizeSymbols.h).
mlir::LogicalResult prepareSizes(SpecModule &spec);

// Why `--target`'s value names no target (an unknown name, an unreadable
// .json file), or nullopt when it does.
std::optional<std::string> checkTarget(llvm::StringRef target);

// Runs the pipeline on a checked spire module (which it changes) and lowers
// the kernels. Fails with diagnostics.
mlir::FailureOr<CompiledModel> compileModel(mlir::ModuleOp module, const WeightStore &weights,
                                            const CodegenOptions &options);

} // namespace spire
