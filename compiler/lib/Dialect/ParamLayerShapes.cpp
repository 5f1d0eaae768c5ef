// Shape inference, verification and parameters of the layers with weights: linear, convs, norms, attention, parameter.
#include "ShapeHelpers.h"

using namespace mlir;

namespace spire {

//===----------------------------------------------------------------------===//
// Parameterized layers
//===----------------------------------------------------------------------===//

FailureOr<Shape> LinearOp::inferShape(ShapeContext &ctx) {
  // Any rank from 2 (ConvNeXt's linears run over [N, H, W, C]), except a
  // pooled map [N, C, 1, 1], which wants a flatten first.
  const Shape &in = ctx.operand(0);
  bool pooled = in.size() > 2 && llvm::all_of(llvm::drop_begin(in, 2), [](const Dim &d) {
                  return d.value() == std::optional<int64_t>(1);
                });
  if (pooled || in.size() < 2) {
    (void)requireRank(ctx, {}, "[N, ..., features] (not a pooled map)",
                      "insert a 'flatten' before it");
    return failure();
  }
  FailureOr<int64_t> features = ctx.requireStatic(in.back(), 0, "number of input features");
  if (failed(features))
    return failure();
  if (getIn() && *getIn() != *features) {
    InFlightDiagnostic diag = ctx.error();
    diag << "expects " << *getIn() << " input features but receives " << ctx.str(in) << " ("
         << *features << " features) from " << ctx.producer(0)
         << "; remove 'in' to infer it, or fix the layers before";
    ctx.noteProducer(diag, 0);
    return failure();
  }
  if (getOut() < 1) {
    ctx.error() << "has out = " << getOut() << "; it must be >= 1";
    return failure();
  }
  Shape out(in);
  out.back() = ctx.constant(getOut());
  return out;
}

SmallVector<ParameterSpec> LinearOp::getParameters() {
  int64_t in = staticDim(getInput(), -1 + getInput().getType().getRank());
  auto out = static_cast<int64_t>(getOut());
  SmallVector<ParameterSpec> params{{"weight", {out, in}}};
  if (getBias())
    params.push_back({"bias", {out}});
  return params;
}

// out and groups of a conv over `channels` input channels: groups divides both.
static LogicalResult checkGroups(ShapeContext &ctx, int64_t channels, int64_t out,
                                 int64_t groups) {
  if (groups < 1 || out < 1) {
    ctx.error() << "has out = " << out << " and groups = " << groups
                << "; both must be >= 1";
    return failure();
  }
  if (channels % groups || out % groups) {
    InFlightDiagnostic diag = ctx.error();
    diag << "has groups = " << groups << ", which must divide both its " << channels
         << " input channels (from " << ctx.producer(0) << ") and its " << out
         << " output channels";
    ctx.noteProducer(diag, 0);
    return failure();
  }
  return success();
}

template <typename ConvOpT>
static FailureOr<Shape> inferConv(ConvOpT op, ShapeContext &ctx) {
  constexpr int64_t n = ConvOpT::kSpatialRank;
  if (failed(requireRank(ctx, {n + 2},
                         n == 1 ? "[N, C, L]" : "[N, C, H, W]")))
    return failure();
  const Shape &in = ctx.operand(0);
  FailureOr<int64_t> channels = ctx.requireStatic(in[1], 0, "channel count");
  if (failed(channels))
    return failure();
  if (failed(checkGroups(ctx, *channels, op.getOut(), op.getGroups())))
    return failure();
  FailureOr<Shape> spatial = slideWindows(ctx, op.getKernel(), op.getStride(),
                                          op.getPadding(), op.getDilation(), false);
  if (failed(spatial))
    return failure();
  Shape result{in[0], ctx.constant(op.getOut())};
  result.append(spatial->begin(), spatial->end());
  return result;
}

template <typename ConvOpT>
static SmallVector<ParameterSpec> convParameters(ConvOpT op) {
  // The checker keeps out and groups below 2^31 (Params::parseInt).
  auto out = static_cast<int64_t>(op.getOut());
  auto groups = static_cast<int64_t>(op.getGroups());
  ParameterSpec weight{"weight", {out, staticDim(op.getInput(), 1) / groups}};
  weight.shape.append(op.getKernel().begin(), op.getKernel().end());
  SmallVector<ParameterSpec> params{weight};
  if (op.getBias())
    params.push_back({"bias", {out}});
  return params;
}

FailureOr<Shape> Conv1dOp::inferShape(ShapeContext &ctx) { return inferConv(*this, ctx); }
FailureOr<Shape> Conv2dOp::inferShape(ShapeContext &ctx) { return inferConv(*this, ctx); }
SmallVector<ParameterSpec> Conv1dOp::getParameters() { return convParameters(*this); }
SmallVector<ParameterSpec> Conv2dOp::getParameters() { return convParameters(*this); }

FailureOr<Shape> ConvTranspose2dOp::inferShape(ShapeContext &ctx) {
  if (failed(requireRank(ctx, {4}, "[N, C, H, W]")))
    return failure();
  const Shape &in = ctx.operand(0);
  FailureOr<int64_t> channels = ctx.requireStatic(in[1], 0, "channel count");
  if (failed(channels) || failed(checkGroups(ctx, *channels, getOut(), getGroups())))
    return failure();
  ArrayRef<int64_t> kernel = getKernel(), stride = getStride(), padding = getPadding(),
                    outputPadding = getOutputPadding(), dilation = getDilation();
  if (failed(checkWindowAttrs(ctx, 2, {{"kernel", kernel, 1}, {"stride", stride, 1},
                                       {"padding", padding, 0},
                                       {"output_padding", outputPadding, 0},
                                       {"dilation", dilation, 1}})))
    return failure();
  Shape result{in[0], ctx.constant(getOut())};
  for (size_t i = 0; i < 2; ++i) {
    // PyTorch's rule: output_padding only picks among the sizes a stride
    // (or dilation) leaves ambiguous.
    if (outputPadding[i] >= std::max(stride[i], dilation[i]))
      return badAttr(ctx, "output_padding", outputPadding,
                     "each value must be smaller than the stride " + list(stride) +
                         " or the dilation " + list(dilation));
    Dim inDim = in[2 + i];
    Dim out = inDim * stride[i] +
              (dilation[i] * (kernel[i] - 1) + outputPadding[i] + 1 - stride[i] - 2 * padding[i]);
    if (auto v = out.value(); v && *v < 1) {
      InFlightDiagnostic diag = ctx.error();
      diag << "receives " << ctx.str(in) << " from " << ctx.producer(0) << ": spatial size "
           << ctx.str(inDim) << " gives an output size of " << *v << " with padding "
           << padding[i] << "; reduce the padding";
      ctx.noteProducer(diag, 0);
      return failure();
    }
    result.push_back(out);
  }
  return result;
}

SmallVector<ParameterSpec> ConvTranspose2dOp::getParameters() {
  // PyTorch's layout: input channels first.
  auto out = static_cast<int64_t>(getOut());
  ParameterSpec weight{"weight", {staticDim(getInput(), 1), out / static_cast<int64_t>(getGroups())}};
  weight.shape.append(getKernel().begin(), getKernel().end());
  SmallVector<ParameterSpec> params{weight};
  if (getBias())
    params.push_back({"bias", {out}});
  return params;
}

static FailureOr<Shape> inferBatchnorm(ShapeContext &ctx, ArrayRef<size_t> ranks,
                                       StringRef layout, StringRef hint) {
  if (failed(requireRank(ctx, ranks, layout, hint)))
    return failure();
  if (failed(ctx.requireStatic(ctx.operand(0)[1], 0, "channel count")))
    return failure();
  return inferSameShape(ctx);
}

static SmallVector<ParameterSpec> batchnormParameters(Value input) {
  int64_t c = staticDim(input, 1);
  return {{"weight", {c}}, {"bias", {c}}, {"running_mean", {c}}, {"running_var", {c}}};
}

FailureOr<Shape> Batchnorm1dOp::inferShape(ShapeContext &ctx) {
  return inferBatchnorm(ctx, {2, 3}, "[N, C] or [N, C, L]", "use 'batchnorm2d' for images");
}
FailureOr<Shape> Batchnorm2dOp::inferShape(ShapeContext &ctx) {
  return inferBatchnorm(ctx, {4}, "[N, C, H, W]", "use 'batchnorm1d' for [N, C] or [N, C, L]");
}
SmallVector<ParameterSpec> Batchnorm1dOp::getParameters() { return batchnormParameters(getInput()); }
SmallVector<ParameterSpec> Batchnorm2dOp::getParameters() { return batchnormParameters(getInput()); }

FailureOr<Shape> LayernormOp::inferShape(ShapeContext &ctx) {
  if (failed(ctx.requireStatic(ctx.operand(0).back(), 0, "last dim (the normalized size)")))
    return failure();
  return inferSameShape(ctx);
}
SmallVector<ParameterSpec> LayernormOp::getParameters() {
  int64_t c = staticDim(getInput(), getInput().getType().getRank() - 1);
  return {{"weight", {c}}, {"bias", {c}}};
}

FailureOr<Shape> AttentionOp::inferShape(ShapeContext &ctx) {
  if (failed(requireRank(ctx, {3}, "[N, T, C]")))
    return failure();
  FailureOr<int64_t> channels = ctx.requireStatic(ctx.operand(0)[2], 0, "embedding size C");
  if (failed(channels))
    return failure();
  int64_t heads = getHeads();
  if (heads < 1 || *channels % heads != 0) {
    InFlightDiagnostic diag = ctx.error();
    diag << "has heads = " << heads << ", which must divide the embedding size " << *channels
         << " of " << ctx.str(ctx.operand(0)) << " from " << ctx.producer(0);
    ctx.noteProducer(diag, 0);
    return failure();
  }
  return inferSameShape(ctx);
}

SmallVector<ParameterSpec> AttentionOp::getParameters() {
  int64_t c = staticDim(getInput(), 2);
  return {{"in_proj_weight", {3 * c, c}},
          {"in_proj_bias", {3 * c}},
          {"out_proj.weight", {c, c}},
          {"out_proj.bias", {c}}};
}

FailureOr<Shape> ParameterOp::inferShape(ShapeContext &ctx) {
  ArrayRef<int64_t> shape = getShape();
  if (shape.empty() || llvm::any_of(shape, [](int64_t d) { return d < 1; })) {
    ctx.error() << "has shape " << list(shape)
                << "; expected the dims after the batch, each >= 1";
    return failure();
  }
  Shape out{ctx.operand(0)[0]};
  for (int64_t d : shape)
    out.push_back(ctx.constant(d));
  return out;
}

SmallVector<ParameterSpec> ParameterOp::getParameters() {
  ParameterSpec p{"", {1}, /*leadingOnesOptional=*/true};
  p.shape.append(getShape().begin(), getShape().end());
  return {p};
}

} // namespace spire
