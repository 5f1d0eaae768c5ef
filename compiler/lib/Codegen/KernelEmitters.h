// One emitter per anchor layer kind: writes the body of a kernel that
// computes the anchor op, then its fused epilogue (residual add, activation).
#pragma once

#include "spire/Codegen/KernelBuilder.h"

#include "mlir/IR/Operation.h"
#include "mlir/Support/LLVM.h"

#include <algorithm>

namespace spire {

// One step of a kernel's fused epilogue, applied to each output in order:
// an activation, or a binary op (add, sub, mul, div) with a residual
// buffer's element at that output, broadcast if the residual has dims of 1
// (`residual`: which of the kernel's residual buffers; -1 for none;
// `residualFirst`: the residual is the op's lhs).
struct EpilogueStep {
  mlir::Operation *op;
  int residual = -1;
  bool residualFirst = false;

  // The residual's value in the kernel's body.
  mlir::Value residualValue() const { return op->getOperand(residualFirst ? 0 : 1); }
};

// The buffers of a kernel, in binding order: 0 the output, then the
// activation inputs, then the parameters, then the residual operands.
struct KernelSpec {
  mlir::Operation *anchor = nullptr;
  unsigned numInputs = 1;
  unsigned numParams = 0;
  unsigned numResiduals = 0;
  // After the anchor (and a pointwise conv or shortcut): elementwise steps,
  // so a chain of them costs one store.
  mlir::SmallVector<EpilogueStep> epilogue;
  // A depthwise anchor's pointwise conv, fed in registers (fusesPointwise),
  // and the activation between the two.
  mlir::Operation *pointwise = nullptr;
  mlir::Operation *anchorActivation = nullptr;
  // A conv anchor's projection shortcut (fusesShortcut): a 1x1 conv of
  // input 1 whose products join the anchor's accumulators.
  mlir::Operation *shortcut = nullptr;
  // A conv anchor's input gate (KernelOp's input_gate): the mul whose
  // per-channel [N or 1, C, 1, 1] operand, the last input, scales each input
  // channel as the conv reads it.
  mlir::Operation *gate = nullptr;
  unsigned part = 0;                      // concat: which input this kernel copies

  unsigned input(unsigned i) const { return 1 + i; }
  unsigned gateInput() const { return input(numInputs - 1); }
  unsigned param(unsigned i) const { return 1 + numInputs + i; }
  unsigned residual(unsigned k) const { return 1 + numInputs + numParams + k; }
  unsigned numBuffers() const { return 1 + numInputs + numParams + numResiduals; }
};

// Rows of a [K, O] weight matrix per binding: every binding stays within
// 2^26 bytes, half of the maxStorageBufferRange Vulkan guarantees (2^27),
// so VGG's 400 MB classifier weight runs on any device as several bindings.
inline int64_t weightRowsPerBinding(int64_t K, int64_t O) {
  return std::max<int64_t>(1, std::min<int64_t>(K, (int64_t(1) << 26) / (O * 4)));
}

// Outputs per thread along the channel dim of a conv or linear layer: the
// largest power of two up to `most` (TileConfig::channelsPerThread, or a
// multiple of it) that divides the channels (24 channels, tile 16: 8).
inline int64_t channelTile(int64_t most, int64_t channels) {
  int64_t t = 1;
  while (t * 2 <= most && channels % (t * 2) == 0)
    t *= 2;
  return t;
}

// Per-layer parameter buffers the emitter expects (prepared by Codegen.cpp):
//   conv1d/conv2d: weight [O / T, C/g x k..., T] for T the kernel config's
//                  channel_tile,
//                  a thread's block of T output channels (batch norm
//                  folded), so a block's weights of one tap are consecutive;
//                  bias [O]
//   a depthwise conv and its pointwise conv (KernelSpec::pointwise): per
//                  channel the depthwise's taps then its bias, zero-padded
//                  to separableBlock(taps) floats; the pointwise's weight
//                  transposed to [C, O]; its bias [O] (each conv with its
//                  batch norm folded)
//   a conv with a shortcut (KernelSpec::shortcut): the conv's weight and
//                  the sum of both biases, as above, then the shortcut's
//                  weight packed by the conv's T
//   linear:        weight transposed to [in, out] (folded) in row chunks of
//                  weightRowsPerBinding, then bias [out]
//   batchnorm*:    scale [C], shift [C]
//   layernorm:     weight [C], bias [C]
// Returns the grid for one sample; fails on an op with no emitter.
mlir::FailureOr<std::array<uint32_t, 3>> emitKernel(KernelBuilder &kb, const KernelSpec &spec);

// Whether `op` is an activation that can be applied as an epilogue.
bool isActivation(mlir::Operation *op);

// Whether `op` combines its two operands elementwise (add, sub, mul, div),
// so that with one operand a kernel's output of the result's shape it is
// an epilogue step reading the other.
bool isElementwiseBinary(mlir::Operation *op);

// Residual buffers one kernel's epilogue reads at most: each is a binding,
// and Vulkan guarantees few per stage (maxPerStageDescriptorSampledImages
// >= 16 covers texel inputs, weights and these).
constexpr unsigned kMaxResiduals = 4;

// Whether the 1x1 conv `shortcut`, whose output is added to the conv
// `anchor`'s, can run in the anchor's kernel (emitConv): the same output
// positions per thread, the shortcut's input row segments read as the
// anchor's are.
bool fusesShortcut(mlir::Operation *anchor, mlir::Operation *shortcut);

// Whether `mul`, whose one user is `conv`, can be `conv`'s input gate
// (KernelSpec::gate): a conv2d that emitConv runs, reading the product of
// a tensor of its input's shape and a per-channel [N or 1, C, 1, 1] one.
bool gatesInput(mlir::Operation *mul, mlir::Operation *conv);

// Floats per channel of a separable pair's depthwise weights and bias: a
// whole number of vec4s.
inline int64_t separableBlock(int64_t taps) { return (taps + 1 + 3) / 4 * 4; }

// Whether a depthwise conv2d's output can feed the 1x1 conv `pointwise`
// within one kernel, never stored (emitSeparable).
bool fusesPointwise(mlir::Operation *depthwise, mlir::Operation *pointwise);

} // namespace spire
