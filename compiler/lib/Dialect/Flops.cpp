// FLOPs per sample of each layer op (spire summary, the peak share in benchmarks).
#include "ShapeHelpers.h"

using namespace mlir;

namespace spire {

//===----------------------------------------------------------------------===//
// FLOPs per sample
//===----------------------------------------------------------------------===//

// Elements of one sample of v; none while a size is symbolic.
static std::optional<int64_t> sampleElements(Value v) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  int64_t n = 1;
  for (int64_t i = 1; i < type.getRank(); ++i) {
    if (type.isDynamicDim(i))
      return std::nullopt;
    n *= type.getDimSize(i);
  }
  return n;
}

// One FLOP per output element.
static std::optional<int64_t> perOutput(Operation *op, int64_t flops = 1) {
  std::optional<int64_t> out = sampleElements(op->getResult(0));
  return out ? std::optional<int64_t>(*out * flops) : std::nullopt;
}
// `macs` multiply-accumulates per output element.
static std::optional<int64_t> macs(Operation *op, int64_t macs) { return perOutput(op, 2 * macs); }

template <typename ConvOpT> static std::optional<int64_t> convFlops(ConvOpT c) {
  int64_t k = c.getInput().getType().getDimSize(1) / static_cast<int64_t>(c.getGroups());
  for (int64_t d : c.getKernel())
    k *= d;
  return macs(c, k);
}
template <typename PoolOpT> static std::optional<int64_t> poolFlops(PoolOpT p) {
  return perOutput(p, p.getKernel()[0] * p.getKernel()[1]);
}

std::optional<int64_t> LinearOp::getFlops() {
  return macs(*this, getInput().getType().getShape().back());
}
std::optional<int64_t> Conv1dOp::getFlops() { return convFlops(*this); }
std::optional<int64_t> Conv2dOp::getFlops() { return convFlops(*this); }
// Each input position's window of taps, as a conv2d with the roles of input
// and output swapped.
std::optional<int64_t> ConvTranspose2dOp::getFlops() {
  std::optional<int64_t> in = sampleElements(getInput());
  if (!in)
    return std::nullopt;
  int64_t taps = getOut() / getGroups();
  for (int64_t d : getKernel())
    taps *= d;
  return 2 * *in * taps;
}
// Bilinear as PyTorch writes it: 6 multiplies and 3 adds an output.
std::optional<int64_t> UpsampleOp::getFlops() {
  return getMode() == "bilinear" ? perOutput(*this, 9) : 0;
}
std::optional<int64_t> MatmulOp::getFlops() {
  return macs(*this, getLhs().getType().getShape().back());
}
// Q/K/V and output projections, then QK^T and PV: 4C + 2T per output.
std::optional<int64_t> AttentionOp::getFlops() {
  auto shape = getInput().getType().getShape();
  return macs(*this, 4 * shape[2] + 2 * shape[1]);
}
std::optional<int64_t> Maxpool2dOp::getFlops() { return poolFlops(*this); }
std::optional<int64_t> Avgpool2dOp::getFlops() { return poolFlops(*this); }
std::optional<int64_t> GlobalAvgpoolOp::getFlops() { return sampleElements(getInput()); }
std::optional<int64_t> AdaptiveAvgpool2dOp::getFlops() { return sampleElements(getInput()); }
std::optional<int64_t> MeanOp::getFlops() { return sampleElements(getInput()); }
std::optional<int64_t> SumOp::getFlops() { return sampleElements(getInput()); }
std::optional<int64_t> MaxOp::getFlops() { return sampleElements(getInput()); }
std::optional<int64_t> Batchnorm1dOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> Batchnorm2dOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> LayernormOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> SoftmaxOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> NormalizeOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> ReluOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> Relu6Op::getFlops() { return perOutput(*this); }
std::optional<int64_t> HardswishOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> HardsigmoidOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> LeakyReluOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> AffineOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> GeluOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> SiluOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> SigmoidOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> TanhOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> AddOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> SubOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> MulOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> DivOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> ConcatOp::getFlops() { return perOutput(*this); }
std::optional<int64_t> DropoutOp::getFlops() { return 0; }
std::optional<int64_t> FlattenOp::getFlops() { return 0; }
std::optional<int64_t> ReshapeOp::getFlops() { return 0; }
std::optional<int64_t> PermuteOp::getFlops() { return 0; }
std::optional<int64_t> TransposeOp::getFlops() { return 0; }
std::optional<int64_t> SelectOp::getFlops() { return 0; }
std::optional<int64_t> SliceOp::getFlops() { return 0; }
std::optional<int64_t> ParameterOp::getFlops() { return 0; }

} // namespace spire
