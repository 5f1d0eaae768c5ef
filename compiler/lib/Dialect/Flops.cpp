// FLOPs per sample of each layer op (spire summary, the peak share in
// benchmarks): numbers, or expressions of the size symbols over a range.
#include "ShapeHelpers.h"

using namespace mlir;

namespace spire {

//===----------------------------------------------------------------------===//
// FLOPs per sample
//===----------------------------------------------------------------------===//

// Elements of one sample of v.
static Dim sampleElements(ShapeOf shapes, Value v) {
  return sampleElements(shapes(v), v.getContext());
}
static Dim constant(Operation *op, int64_t value) { return Dim::constant(op->getContext(), value); }

// `flops` FLOPs per output element.
static Dim perOutput(ShapeOf shapes, Operation *op, int64_t flops = 1) {
  return sampleElements(shapes, op->getResult(0)) * flops;
}
// `macs` multiply-accumulates per output element.
static Dim macs(ShapeOf shapes, Operation *op, const Dim &macs) {
  return sampleElements(shapes, op->getResult(0)) * macs * 2;
}
static Dim macs(ShapeOf shapes, Operation *op, int64_t n) {
  return macs(shapes, op, constant(op, n));
}

template <typename ConvOpT> static Dim convFlops(ShapeOf shapes, ConvOpT c) {
  int64_t k = c.getInput().getType().getDimSize(1) / static_cast<int64_t>(c.getGroups());
  for (int64_t d : c.getKernel())
    k *= d;
  return macs(shapes, c, k);
}
template <typename PoolOpT> static Dim poolFlops(ShapeOf shapes, PoolOpT p) {
  return perOutput(shapes, p, p.getKernel()[0] * p.getKernel()[1]);
}

Dim LinearOp::getFlops(ShapeOf shapes) {
  return macs(shapes, *this, shapes(getInput()).back());
}
Dim Conv1dOp::getFlops(ShapeOf shapes) { return convFlops(shapes, *this); }
Dim Conv2dOp::getFlops(ShapeOf shapes) { return convFlops(shapes, *this); }
// Each input position's window of taps, as a conv2d with the roles of input
// and output swapped.
Dim ConvTranspose2dOp::getFlops(ShapeOf shapes) {
  int64_t taps = getOut() / getGroups();
  for (int64_t d : getKernel())
    taps *= d;
  return sampleElements(shapes, getInput()) * (2 * taps);
}
// Bilinear as PyTorch writes it: 6 multiplies and 3 adds an output.
Dim UpsampleOp::getFlops(ShapeOf shapes) {
  return perOutput(shapes, *this, getMode() == "bilinear" ? 9 : 0);
}
Dim MatmulOp::getFlops(ShapeOf shapes) {
  return macs(shapes, *this, shapes(getLhs()).back());
}
// Q/K/V and output projections, then QK^T and PV: 4C + 2T per output.
Dim AttentionOp::getFlops(ShapeOf shapes) {
  Shape shape = shapes(getInput());
  return macs(shapes, *this, shape[2] * 4 + shape[1] * 2);
}
Dim Maxpool2dOp::getFlops(ShapeOf shapes) { return poolFlops(shapes, *this); }
Dim Avgpool2dOp::getFlops(ShapeOf shapes) { return poolFlops(shapes, *this); }
Dim GlobalAvgpoolOp::getFlops(ShapeOf shapes) { return sampleElements(shapes, getInput()); }
Dim AdaptiveAvgpool2dOp::getFlops(ShapeOf shapes) { return sampleElements(shapes, getInput()); }
Dim MeanOp::getFlops(ShapeOf shapes) { return sampleElements(shapes, getInput()); }
Dim SumOp::getFlops(ShapeOf shapes) { return sampleElements(shapes, getInput()); }
Dim MaxOp::getFlops(ShapeOf shapes) { return sampleElements(shapes, getInput()); }
Dim Batchnorm1dOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim Batchnorm2dOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim LayernormOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim SoftmaxOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim NormalizeOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim ReluOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim Relu6Op::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim HardswishOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim HardsigmoidOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim LeakyReluOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim AffineOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim GeluOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim SiluOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim SigmoidOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim TanhOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim AddOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim SubOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim MulOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim DivOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim ConcatOp::getFlops(ShapeOf shapes) { return perOutput(shapes, *this); }
Dim DropoutOp::getFlops(ShapeOf) { return constant(*this, 0); }
Dim FlattenOp::getFlops(ShapeOf) { return constant(*this, 0); }
Dim ReshapeOp::getFlops(ShapeOf) { return constant(*this, 0); }
Dim PermuteOp::getFlops(ShapeOf) { return constant(*this, 0); }
Dim TransposeOp::getFlops(ShapeOf) { return constant(*this, 0); }
Dim SelectOp::getFlops(ShapeOf) { return constant(*this, 0); }
Dim SliceOp::getFlops(ShapeOf) { return constant(*this, 0); }
Dim ParameterOp::getFlops(ShapeOf) { return constant(*this, 0); }

} // namespace spire
