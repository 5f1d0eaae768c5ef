#include "KernelEmitters.h"

#include "Emitters.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace spire {

bool isActivation(Operation *op) {
  return llvm::isa<ReluOp, Relu6Op, HardswishOp, HardsigmoidOp, LeakyReluOp, AffineOp, GeluOp,
                   SiluOp, SigmoidOp, TanhOp>(op);
}

bool isElementwiseBinary(Operation *op) { return llvm::isa<AddOp, SubOp, MulOp, DivOp>(op); }

namespace {

// Whether the anchor reads or writes a size of the size symbols.
bool touchesSizeSymbols(Operation *anchor) {
  auto symbolic = [](Value v) {
    return llvm::any_of(llvm::drop_begin(dimsOf(v)), [](const Dim &d) { return !d.value(); });
  };
  return llvm::any_of(anchor->getOperands(), symbolic) || symbolic(anchor->getResult(0));
}

// Whether a and b have the same shape at every size of the symbols: read
// alongside each other element for element (BroadcastRead's identity).
bool sameDims(Value a, Value b) {
  return llvm::equal(dimsOf(a), dimsOf(b),
                     [](const Dim &x, const Dim &y) { return x.provablyEquals(y); });
}

// The kernels that take sizes of the size symbols (issue #23): convs
// (direct and depthwise, with a fused projection shortcut or, after a
// depthwise conv, the fused 1x1 conv), max pools,
// global and adaptive average pooling, batch norms and elementwise ops
// without broadcasting, with their activations and residuals of the
// output's own shape; anything else fails
// loudly rather than running a kernel sized for the maximum.
bool servesSizeSymbols(const KernelSpec &spec) {
  if (spec.gate)
    return false;
  for (const EpilogueStep &step : spec.epilogue)
    if (step.residual >= 0 && !sameDims(step.op->getResult(0), step.residualValue()))
      return false;
  Operation *anchor = spec.anchor;
  if (isActivation(anchor) || isElementwiseBinary(anchor))
    return llvm::all_of(anchor->getOperands(),
                        [&](Value x) { return sameDims(x, anchor->getResult(0)); });
  return llvm::isa<Conv1dOp, Conv2dOp, Maxpool2dOp, GlobalAvgpoolOp, AdaptiveAvgpool2dOp,
                   Batchnorm1dOp, Batchnorm2dOp>(anchor);
}

} // namespace

FailureOr<std::array<uint32_t, 3>> emitKernel(KernelBuilder &kb, const KernelSpec &spec) {
  if (kb.sizes() && touchesSizeSymbols(spec.anchor) && !servesSizeSymbols(spec))
    return emitError(spec.anchor->getLoc())
           << "layer '" << spec.anchor->getAttrOfType<StringAttr>("name").getValue() << "' ("
           << spec.anchor->getName().stripDialect()
           << ") has no kernel yet for sizes of the declared `sizes` range; bind them with "
              "--set to compile for one size";
  // A residual is only read, an element alongside each output.
  for (unsigned k = 0; k < spec.numResiduals; ++k)
    kb.readAsTexels(spec.residual(k));
  using Grid = FailureOr<std::array<uint32_t, 3>>;
  return llvm::TypeSwitch<Operation *, Grid>(spec.anchor)
      .Case<Conv1dOp, Conv2dOp>([&](auto op) {
        ConvShape shape = ConvShape::of(op);
        if (spec.pointwise)
          return emitSeparable(kb, spec, shape,
                               spec.pointwise->getAttrOfType<IntegerAttr>("out").getInt());
        return shape.depthwise() ? emitWindow(kb, spec, shape, WindowReduce::MultiplyAdd)
                                 : emitConv(kb, spec, shape);
      })
      .Case<LinearOp>([&](LinearOp op) { return emitLinear(kb, spec, op); })
      .Case<MatmulOp>([&](MatmulOp op) { return emitMatmul(kb, spec, op); })
      .Case<Maxpool2dOp>([&](Maxpool2dOp op) {
        ConvShape shape = ConvShape::ofPool(op);
        shape.DH = op.getDilation()[0];
        shape.DW = op.getDilation()[1];
        return emitWindow(kb, spec, shape, WindowReduce::Max);
      })
      .Case<Avgpool2dOp>([&](auto op) {
        return emitWindow(kb, spec, ConvShape::ofPool(op), WindowReduce::Mean);
      })
      .Case<GlobalAvgpoolOp>([&](auto op) { return emitGlobalAvgpool(kb, spec, op); })
      .Case<MeanOp, SumOp, MaxOp>([&](Operation *op) { return emitReduce(kb, spec, op); })
      .Case<Batchnorm1dOp, Batchnorm2dOp>([&](auto op) { return emitBatchnorm(kb, spec, op); })
      .Case<LayernormOp>([&](LayernormOp op) { return emitLayernorm(kb, spec, op); })
      .Case<SoftmaxOp>([&](SoftmaxOp op) { return emitSoftmax(kb, spec, op); })
      .Case<NormalizeOp>([&](NormalizeOp op) { return emitNormalize(kb, spec, op); })
      .Case<ConcatOp>([&](ConcatOp op) { return emitConcatPart(kb, spec, op); })
      .Case<PermuteOp>([&](PermuteOp op) {
        return emitPermutation(kb, spec, op.getInput(), op.getResult(), op.getDims());
      })
      .Case<TransposeOp>([&](TransposeOp op) { return emitTranspose(kb, spec, op); })
      .Case<ParameterOp>([&](ParameterOp op) { return emitParameter(kb, spec, op); })
      .Case<SelectOp>([&](SelectOp op) { return emitSelect(kb, spec, op); })
      .Case<SliceOp>([&](SliceOp op) { return emitSlice(kb, spec, op); })
      .Case<AttentionOp>([&](AttentionOp op) { return emitAttention(kb, spec, op); })
      .Case<AdaptiveAvgpool2dOp>([&](auto op) { return emitAdaptiveAvgpool(kb, spec, op); })
      .Case<UpsampleOp>([&](UpsampleOp op) { return emitUpsample(kb, spec, op); })
      .Case<ConvTranspose2dOp>([&](auto op) { return emitConvTranspose(kb, spec, op); })
      .Default([&](Operation *op) -> Grid {
        if (isActivation(op) || isElementwiseBinary(op))
          return emitElementwise(kb, spec, op);
        return op->emitOpError("has no kernel emitter");
      });
}

bool fusesShortcut(Operation *anchor, Operation *shortcut) {
  auto conv = llvm::dyn_cast<Conv2dOp>(anchor);
  auto projection = llvm::dyn_cast<Conv2dOp>(shortcut);
  if (!conv || !projection)
    return false;
  ConvShape a = ConvShape::of(conv), p = ConvShape::of(projection);
  // Both write the same plane (OH, OW: planeDims 2 and 3), also over sizes
  // of the size symbols.
  MLIRContext *ctx = anchor->getContext();
  std::array<Dim, 4> aPlane = a.planeDims(ctx), pPlane = p.planeDims(ctx);
  // A conv run over flattened planes has tiles that cross rows: only a
  // shortcut over flattened planes too (stride 1) reads them as segments.
  return a.G == 1 && !a.depthwise() && a.flattensPlanes() == p.flattensPlanes() && p.G == 1 &&
         p.KH == 1 && p.KW == 1 && p.PH == 0 && p.PW == 0 && p.O == a.O &&
         pPlane[2].provablyEquals(aPlane[2]) && pPlane[3].provablyEquals(aPlane[3]);
}

bool gatesInput(Operation *mul, Operation *conv) {
  auto conv2d = llvm::dyn_cast<Conv2dOp>(conv);
  if (!llvm::isa<MulOp>(mul) || !conv2d || conv2d.getInput() != mul->getResult(0))
    return false;
  // emitConv gates static planes only.
  if (ConvShape shape = ConvShape::of(conv2d); shape.depthwise() || shape.symbolic)
    return false;
  auto input = llvm::cast<RankedTensorType>(conv2d.getInput().getType());
  for (unsigned i : {0u, 1u}) {
    if (mul->getOperand(i).getType() != input)
      continue;
    auto gate = llvm::cast<RankedTensorType>(mul->getOperand(1 - i).getType()).getShape();
    int64_t N = input.getDimSize(0), C = input.getDimSize(1);
    return gate.size() == 4 && (gate[0] == N || gate[0] == 1) && gate[1] == C && gate[2] == 1 &&
           gate[3] == 1;
  }
  return false;
}

bool fusesPointwise(Operation *depthwise, Operation *pointwise) {
  auto dw = llvm::dyn_cast<Conv2dOp>(depthwise);
  auto pw = llvm::dyn_cast<Conv2dOp>(pointwise);
  if (!dw || !pw || !ConvShape::of(dw).depthwise())
    return false;
  ConvShape p = ConvShape::of(pw);
  return p.pointwise() && p.G == 1 && p.O <= kSeparableOutputs && p.O % 4 == 0;
}

} // namespace spire
