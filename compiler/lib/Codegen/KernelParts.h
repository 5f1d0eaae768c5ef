// What a `spire.kernel` computes, read from its body: the role of each op
// (anchor, separable pair, projection shortcut, epilogue of activations and
// binary ops with residuals), the dispatches it takes, the parameter buffers
// it reads and where each dispatch's bindings come from. form-kernels builds kernels
// that this reads; plan-memory, emit-kernels and the bundle assembly read
// kernels only through it.
#pragma once

#include "KernelEmitters.h"
#include "spire/Dialect/SpireOps.h"

#include <string>
#include <vector>

namespace spire {

struct KernelParts {
  KernelOp kernel;
  mlir::Operation *anchor = nullptr;
  // The mul before a conv anchor that scales its input per channel
  // (KernelOp's input_gate).
  mlir::Operation *gate = nullptr;
  // A depthwise anchor's output fed in registers to the 1x1 conv after it
  // (fusesPointwise), through an optional activation.
  mlir::Operation *anchorActivation = nullptr, *pointwise = nullptr;
  // A 1x1 conv of another input whose products join the anchor's
  // accumulators (fusesShortcut), and the add of its output, which those
  // accumulators compute.
  mlir::Operation *shortcut = nullptr, *shortcutAdd = nullptr;
  // Then elementwise steps in order: activations, binary ops with a
  // residual (the kernel's last numResiduals operands, in step order).
  mlir::SmallVector<EpilogueStep> epilogue;
  unsigned numResiduals = 0;

  // Fails with an error on the kernel when its body is not one form-kernels
  // makes.
  static mlir::FailureOr<KernelParts> of(KernelOp kernel);

  // "conv1+bn1+relu1": the anchor's name and those of what it absorbs,
  // folded batch norms included.
  std::string label() const;
};

// A temporary live from one dispatch of a kernel to a later one (attention's
// packed Q/K/V and its scores): bytes per sample.
struct ScratchBuffer {
  int64_t bytes, firstPart, lastPart;
};

// A kernel's scratch buffers; their parts count its dispatches
// (dispatchParts).
std::vector<ScratchBuffer> scratchBuffers(const KernelParts &parts);

// The floats of each parameter buffer the kernel reads, in binding order
// (KernelEmitters.h lists what each holds). A kernel whose anchor owns
// parameters that no case here lays out is an error.
mlir::FailureOr<std::vector<int64_t>> parameterLayout(const KernelParts &parts);

// Where a binding of a dispatch comes from.
struct BindingSource {
  enum class Kind { Result, Operand, Scratch, Parameter } kind;
  unsigned index = 0;
};
struct DispatchPart {
  KernelSpec spec;
  std::vector<BindingSource> bindings;
};
// The dispatches of a kernel: usually one; a concat copies each input with
// its own, attention takes five.
std::vector<DispatchPart> dispatchParts(const KernelParts &parts, unsigned numParameters);

// Bytes of one sample of a tensor (every dim but the batch).
int64_t perSampleBytes(mlir::Value v);

// The tiles a #spire.kernel_config gives its emitter.
TileConfig tilesOf(KernelConfigAttr config);

} // namespace spire
