// One emitter per anchor layer kind: writes the body of a kernel that
// computes the anchor op, then its fused epilogue (residual add, activation).
#pragma once

#include "spire/Codegen/KernelBuilder.h"

#include "mlir/IR/Operation.h"

namespace spire {

// The buffers of a kernel, in binding order: 0 the output, then the
// activation inputs, then the parameters, then the residual operand.
struct KernelSpec {
  mlir::Operation *anchor = nullptr;
  unsigned numInputs = 1;
  unsigned numParams = 0;
  bool fusedAdd = false;                  // out += residual (same index)
  mlir::Operation *activation = nullptr;  // applied last
  unsigned part = 0;                      // concat: which input this kernel copies

  unsigned input(unsigned i) const { return 1 + i; }
  unsigned param(unsigned i) const { return 1 + numInputs + i; }
  unsigned residual() const { return 1 + numInputs + numParams; }
  unsigned numBuffers() const { return 1 + numInputs + numParams + (fusedAdd ? 1 : 0); }
};

// Per-layer parameter buffers the emitter expects (prepared by Codegen.cpp):
//   conv1d/conv2d: weight [O, C/g, k...] (batch norm folded), bias [O]
//   linear:        weight transposed to [in, out] (folded), bias [out]
//   batchnorm*:    scale [C], shift [C]
//   layernorm:     weight [C], bias [C]
// Returns the grid for one sample.
std::array<uint32_t, 3> emitKernel(KernelBuilder &kb, const KernelSpec &spec);

// Whether `op` is an activation that can be applied as an epilogue.
bool isActivation(mlir::Operation *op);

} // namespace spire
