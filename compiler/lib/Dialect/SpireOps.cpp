// Shape inference and verification of the spire ops. The same inferShape
// runs in the front end (on symbolic shapes, with YAML locations) and in the
// verifiers (on MLIR tensor types), so both report the same messages.
#include "spire/Dialect/SpireOps.h"
#include "spire/Checked.h"
#include "spire/Limits.h"


#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;

namespace spire {

//===----------------------------------------------------------------------===//
// ShapeContext
//===----------------------------------------------------------------------===//

StringRef layerName(Operation *op) {
  if (auto name = op->getAttrOfType<StringAttr>("name"))
    return name.getValue();
  return {};
}

std::string parameterName(Operation *op, StringRef suffix) {
  return suffix.empty() ? layerName(op).str() : (layerName(op) + "." + suffix).str();
}

static std::string describe(Operation *op) {
  return op->getName().stripDialect().str() + " '" + layerName(op).str() + "'";
}

std::string ShapeContext::layer() const { return describe(op_); }

std::string ShapeContext::producer(unsigned i) const {
  Value v = op_->getOperand(i);
  if (Operation *def = v.getDefiningOp())
    return "'" + layerName(def).str() + "'";
  if (auto arg = llvm::dyn_cast<BlockArgument>(v)) {
    // The front end names model inputs through the argument's location.
    if (auto named = llvm::dyn_cast<NameLoc>(arg.getLoc()))
      return "input '" + named.getName().str() + "'";
    return "argument #" + std::to_string(arg.getArgNumber());
  }
  return "operand #" + std::to_string(i);
}

InFlightDiagnostic ShapeContext::error() const {
  InFlightDiagnostic diag = op_->emitError();
  diag << layer() << " ";
  return diag;
}

void ShapeContext::noteProducer(InFlightDiagnostic &diag, unsigned i) const {
  Value v = op_->getOperand(i);
  Location loc = v.getDefiningOp() ? v.getDefiningOp()->getLoc()
                                   : llvm::cast<BlockArgument>(v).getLoc();
  diag.attachNote(loc) << producer(i) << " produces " << str(operand(i));
}

FailureOr<int64_t> ShapeContext::requireStatic(const Dim &dim, unsigned operand,
                                               StringRef what) const {
  if (auto v = dim.value())
    return *v;
  InFlightDiagnostic diag = error();
  diag << "needs a static " << what << ", but it is " << str(dim) << " in "
       << str(this->operand(operand)) << " from " << producer(operand);
  SmallVector<unsigned> syms = symbolsOf(dim);
  if (!syms.empty()) {
    std::string names;
    for (unsigned s : syms)
      names += (names.empty() ? "'" : ", '") +
               (s < symbols_.size() ? symbols_[s] : "s" + std::to_string(s)) + "'";
    diag << ", which depends on size symbol " << names
         << "; give the input a fixed size for it, or reduce that dim first "
            "(e.g. a 'global_avgpool' before 'flatten')";
  }
  noteProducer(diag, operand);
  return failure();
}

//===----------------------------------------------------------------------===//
// Verifier
//===----------------------------------------------------------------------===//

LogicalResult verifyLayerShape(Operation *op) {
  SmallVector<Shape> operands;
  for (Value v : op->getOperands()) {
    auto type = llvm::dyn_cast<RankedTensorType>(v.getType());
    if (!type)
      return op->emitOpError("operands must be ranked tensors");
    operands.push_back(fromTensorType(type));
  }
  auto resultType = llvm::dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!resultType)
    return op->emitOpError("result shape was never inferred (unranked result)");
  ShapeContext ctx(op, std::move(operands), {});
  FailureOr<Shape> inferred = llvm::cast<LayerOpInterface>(op).inferShape(ctx);
  if (failed(inferred))
    return failure();
  Shape declared = fromTensorType(resultType);
  bool ok = declared.size() == inferred->size();
  for (size_t i = 0; ok && i < declared.size(); ++i)
    ok = declared[i].compatibleWith((*inferred)[i]);
  if (!ok)
    return op->emitOpError() << "result type " << resultType
                             << " does not match the inferred shape "
                             << ctx.str(*inferred);
  return success();
}

//===----------------------------------------------------------------------===//
// Helpers shared by several layers
//===----------------------------------------------------------------------===//

// Requires operand 0 to have one of `ranks`; `expected` describes the layout.
static LogicalResult requireRank(ShapeContext &ctx, ArrayRef<size_t> ranks,
                                 StringRef expected, StringRef hint = {}) {
  size_t rank = ctx.operand(0).size();
  if (llvm::is_contained(ranks, rank))
    return success();
  InFlightDiagnostic diag = ctx.error();
  diag << "expects " << expected << " but receives a rank-" << rank << " tensor "
       << ctx.str(ctx.operand(0)) << " from " << ctx.producer(0);
  if (!hint.empty())
    diag << "; " << hint;
  ctx.noteProducer(diag, 0);
  return failure();
}

static std::string list(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (auto [i, v] : llvm::enumerate(values))
    s += (i ? ", " : "") + std::to_string(v);
  return s + "]";
}

// Output size of a sliding window along one dim (PyTorch's formula). In
// ceil mode a last window that would start past the input and its left
// padding is dropped, which needs the input size.
static FailureOr<Dim> windowOutput(ShapeContext &ctx, const Dim &in, int64_t kernel,
                                   int64_t stride, int64_t padding, int64_t dilation,
                                   bool ceilMode) {
  Dim span = in + 2 * padding - dilation * (kernel - 1) - 1;
  if (!ceilMode)
    return span.floorDiv(stride) + 1;
  FailureOr<int64_t> size = ctx.requireStatic(in, 0, "spatial size for ceil_mode");
  if (failed(size))
    return failure();
  std::optional<int64_t> out = ((span + (stride - 1)).floorDiv(stride) + 1).value();
  if (out && (*out - 1) * stride >= *size + padding)
    --*out;
  return out ? ctx.constant(*out) : Dim();
}

static LogicalResult badAttr(ShapeContext &ctx, StringRef attr, ArrayRef<int64_t> values,
                             const Twine &why) {
  ctx.error() << "has " << attr << " " << list(values) << ": " << why;
  return failure();
}

// A window attribute: its name, values and the least value allowed.
struct WindowAttr {
  StringRef name;
  ArrayRef<int64_t> values;
  int64_t min;
};

// Each attribute has `n` values, none below its minimum.
static LogicalResult checkWindowAttrs(ShapeContext &ctx, size_t n, ArrayRef<WindowAttr> attrs) {
  for (const WindowAttr &a : attrs) {
    if (a.values.size() != n)
      return badAttr(ctx, a.name, a.values, "expected " + std::to_string(n) + " values");
    if (llvm::any_of(a.values, [&](int64_t v) { return v < a.min; }))
      return badAttr(ctx, a.name, a.values,
                     a.min ? "values must be >= 1" : "values must be >= 0");
  }
  return success();
}

// Checks window attributes and computes the spatial output dims of a
// convolution or pooling over the trailing `kernel.size()` dims of operand 0.
static FailureOr<Shape> slideWindows(ShapeContext &ctx, ArrayRef<int64_t> kernel,
                                     ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
                                     ArrayRef<int64_t> dilation, bool isPool,
                                     bool ceilMode = false) {
  size_t n = kernel.size();
  if (failed(checkWindowAttrs(ctx, n, {{"kernel", kernel, 1}, {"stride", stride, 1},
                                       {"padding", padding, 0}, {"dilation", dilation, 1}})))
    return failure();
  if (isPool)
    for (size_t i = 0; i < n; ++i)
      if (padding[i] * 2 > kernel[i])
        return badAttr(ctx, "padding", padding, "padding must be at most half the kernel");

  const Shape &in = ctx.operand(0);
  Shape spatial;
  for (size_t i = 0; i < n; ++i) {
    Dim inDim = in[in.size() - n + i];
    FailureOr<Dim> out =
        windowOutput(ctx, inDim, kernel[i], stride[i], padding[i], dilation[i], ceilMode);
    if (failed(out))
      return failure();
    if (auto v = out->value(); v && *v < 1) {
      InFlightDiagnostic diag = ctx.error();
      diag << "receives " << ctx.str(in) << " from " << ctx.producer(0)
           << ": spatial size " << ctx.str(inDim) << " is too small for a kernel of "
           << (dilation[i] * (kernel[i] - 1) + 1) << " with padding " << padding[i];
      ctx.noteProducer(diag, 0);
      return failure();
    }
    spatial.push_back(*out);
  }
  return spatial;
}

static FailureOr<Shape> inferSameShape(ShapeContext &ctx) { return Shape(ctx.operand(0)); }

// Normalizes a possibly negative dim index; fails with a message if out of range.
static FailureOr<int64_t> normalizeDim(ShapeContext &ctx, int64_t dim, size_t rank,
                                       StringRef attr) {
  int64_t r = static_cast<int64_t>(rank);
  int64_t d = dim < 0 ? dim + r : dim;
  if (d < 0 || d >= r) {
    ctx.error() << "has " << attr << " = " << dim << ", out of range for rank " << rank
                << " input " << ctx.str(ctx.operand(0));
    return failure();
  }
  return d;
}

static std::string formatNumber(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", v);
  return buffer;
}

static int64_t staticDim(Value v, int64_t i) {
  return llvm::cast<RankedTensorType>(v.getType()).getDimSize(i);
}

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

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

template <typename PoolOpT>
static FailureOr<Shape> inferPool2d(PoolOpT op, ShapeContext &ctx, ArrayRef<int64_t> dilation) {
  if (failed(requireRank(ctx, {4}, "[N, C, H, W]")))
    return failure();
  FailureOr<Shape> spatial = slideWindows(ctx, op.getKernel(), op.getStride(), op.getPadding(),
                                          dilation, true, op.getCeilMode());
  if (failed(spatial))
    return failure();
  Shape result{ctx.operand(0)[0], ctx.operand(0)[1]};
  result.append(spatial->begin(), spatial->end());
  return result;
}

FailureOr<Shape> Maxpool2dOp::inferShape(ShapeContext &ctx) {
  return inferPool2d(*this, ctx, getDilation());
}
FailureOr<Shape> Avgpool2dOp::inferShape(ShapeContext &ctx) {
  return inferPool2d(*this, ctx, {1, 1});
}

FailureOr<Shape> GlobalAvgpoolOp::inferShape(ShapeContext &ctx) {
  if (failed(requireRank(ctx, {3, 4}, "[N, C, L] or [N, C, H, W]")))
    return failure();
  Shape out(ctx.operand(0));
  for (size_t i = 2; i < out.size(); ++i)
    out[i] = ctx.constant(1);
  return out;
}

FailureOr<Shape> AdaptiveAvgpool2dOp::inferShape(ShapeContext &ctx) {
  if (failed(requireRank(ctx, {4}, "[N, C, H, W]")))
    return failure();
  ArrayRef<int64_t> size = getSize();
  if (size.size() != 2 || size[0] < 1 || size[1] < 1) {
    ctx.error() << "has size " << list(size) << "; expected two output sizes >= 1";
    return failure();
  }
  return Shape{ctx.operand(0)[0], ctx.operand(0)[1], ctx.constant(size[0]),
               ctx.constant(size[1])};
}

//===----------------------------------------------------------------------===//
// Resampling
//===----------------------------------------------------------------------===//

FailureOr<Shape> UpsampleOp::inferShape(ShapeContext &ctx) {
  if (failed(requireRank(ctx, {4}, "[N, C, H, W]")))
    return failure();
  StringRef mode = getMode();
  if (mode != "nearest" && mode != "bilinear") {
    ctx.error() << "has mode '" << mode << "'; expected 'nearest' or 'bilinear'";
    return failure();
  }
  if (getAlignCorners() && mode == "nearest") {
    ctx.error() << "sets align_corners, which only mode 'bilinear' takes (as in PyTorch); "
                   "remove it, or use mode: bilinear";
    return failure();
  }
  std::optional<ArrayRef<double>> scale = getScale();
  std::optional<ArrayRef<int64_t>> size = getSize();
  if (scale.has_value() == size.has_value()) {
    ctx.error() << (scale ? "has both scale and size; give one: size for an exact [h, w], "
                            "scale for a multiple of the input"
                          : "has neither scale nor size; give one (e.g. scale: 2 or "
                            "size: [64, 64])");
    return failure();
  }
  const Shape &in = ctx.operand(0);
  Shape out{in[0], in[1]};
  if (size) {
    if (size->size() != 2 || (*size)[0] < 1 || (*size)[1] < 1) {
      ctx.error() << "has size " << list(*size) << "; expected two output sizes >= 1";
      return failure();
    }
    out.push_back(ctx.constant((*size)[0]));
    out.push_back(ctx.constant((*size)[1]));
    return out;
  }
  if (scale->size() != 2 || !llvm::all_of(*scale, [](double s) {
        return std::isfinite(s) && s > 0 && s < kMaxDim;
      })) {
    std::string values;
    for (double s : *scale)
      values += (values.empty() ? "" : ", ") + formatNumber(s);
    ctx.error() << "has scale [" << values << "]; expected two finite factors > 0";
    return failure();
  }
  for (size_t i = 0; i < 2; ++i) {
    double s = (*scale)[i];
    const Dim &inDim = in[2 + i];
    // An integer factor scales a symbolic size too; PyTorch's floor(H x s)
    // needs H otherwise.
    if (s == std::floor(s)) {
      out.push_back(inDim * static_cast<int64_t>(s));
      continue;
    }
    FailureOr<int64_t> h = ctx.requireStatic(inDim, 0, "spatial size for a fractional scale");
    if (failed(h))
      return failure();
    auto size = static_cast<int64_t>(std::floor(static_cast<double>(*h) * s));
    if (size < 1) {
      InFlightDiagnostic diag = ctx.error();
      diag << "has scale " << formatNumber(s) << ", which turns spatial size " << *h << " of "
           << ctx.str(in) << " from " << ctx.producer(0) << " into " << size
           << "; the output needs at least 1";
      ctx.noteProducer(diag, 0);
      return failure();
    }
    out.push_back(ctx.constant(size));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

template <typename ReduceOpT>
static FailureOr<Shape> inferReduce(ReduceOpT op, ShapeContext &ctx) {
  const Shape &in = ctx.operand(0);
  if (op.getDims().empty()) {
    ctx.error() << "has no dims to reduce; list them, e.g. dims: [2, 3]";
    return failure();
  }
  SmallVector<bool> reduced(in.size(), false);
  for (int64_t d : op.getDims()) {
    FailureOr<int64_t> dim = normalizeDim(ctx, d, in.size(), "dims");
    if (failed(dim))
      return failure();
    if (*dim == 0 || reduced[*dim]) {
      ctx.error() << "has dims " << list(op.getDims())
                  << (*dim ? ", which lists dim " + std::to_string(*dim) + " twice"
                           : ", which reduce the batch dim 0; only dims >= 1 can be reduced");
      return failure();
    }
    reduced[*dim] = true;
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!reduced[i])
      out.push_back(in[i]);
    else if (op.getKeepdim())
      out.push_back(ctx.constant(1));
  return out;
}

FailureOr<Shape> MeanOp::inferShape(ShapeContext &ctx) { return inferReduce(*this, ctx); }
FailureOr<Shape> SumOp::inferShape(ShapeContext &ctx) { return inferReduce(*this, ctx); }
FailureOr<Shape> MaxOp::inferShape(ShapeContext &ctx) { return inferReduce(*this, ctx); }

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

FailureOr<Shape> ReluOp::inferShape(ShapeContext &ctx) { return inferSameShape(ctx); }
FailureOr<Shape> Relu6Op::inferShape(ShapeContext &ctx) { return inferSameShape(ctx); }
FailureOr<Shape> HardswishOp::inferShape(ShapeContext &ctx) { return inferSameShape(ctx); }
FailureOr<Shape> HardsigmoidOp::inferShape(ShapeContext &ctx) { return inferSameShape(ctx); }
FailureOr<Shape> LeakyReluOp::inferShape(ShapeContext &ctx) { return inferSameShape(ctx); }
FailureOr<Shape> AffineOp::inferShape(ShapeContext &ctx) { return inferSameShape(ctx); }
FailureOr<Shape> GeluOp::inferShape(ShapeContext &ctx) {
  if (getApproximate() != "none" && getApproximate() != "tanh") {
    ctx.error() << "has approximate = '" << getApproximate() << "'; it must be none or tanh";
    return failure();
  }
  return inferSameShape(ctx);
}
FailureOr<Shape> SiluOp::inferShape(ShapeContext &ctx) { return inferSameShape(ctx); }
FailureOr<Shape> SigmoidOp::inferShape(ShapeContext &ctx) { return inferSameShape(ctx); }
FailureOr<Shape> TanhOp::inferShape(ShapeContext &ctx) { return inferSameShape(ctx); }
FailureOr<Shape> DropoutOp::inferShape(ShapeContext &ctx) {
  double p = getP().convertToDouble();
  if (p < 0 || p >= 1) {
    ctx.error() << "has p = " << formatNumber(p) << "; it must be in [0, 1)";
    return failure();
  }
  return inferSameShape(ctx);
}
FailureOr<Shape> SoftmaxOp::inferShape(ShapeContext &ctx) {
  if (failed(normalizeDim(ctx, getDim(), ctx.operand(0).size(), "dim")))
    return failure();
  return inferSameShape(ctx);
}

// NumPy broadcasting over equal ranks: each dim after the batch equal in
// both operands, or 1 in one of them.
static FailureOr<Shape> inferBinary(ShapeContext &ctx) {
  const Shape &a = ctx.operand(0), &b = ctx.operand(1);
  auto isOne = [](const Dim &d) { return d.value() == 1; };
  Shape out(a);
  std::optional<size_t> bad;
  for (size_t i = 0; !bad && i < std::min(a.size(), b.size()); ++i) {
    if (a[i].compatibleWith(b[i])) {
      // An unknown dim against a 1 may be anything.
      const Dim &known = a[i].isKnown() ? a[i] : b[i];
      bool both = a[i].isKnown() && b[i].isKnown();
      out[i] = both || !isOne(known) ? known : Dim();
    }
    else if (i > 0 && (isOne(a[i]) || isOne(b[i])))
      out[i] = isOne(a[i]) ? b[i] : a[i];
    else
      bad = i;
  }
  if (!bad && a.size() == b.size())
    return out;
  InFlightDiagnostic diag = ctx.error();
  diag << "joins " << ctx.str(a) << " from " << ctx.producer(0) << " with " << ctx.str(b)
       << " from " << ctx.producer(1) << "; ";
  if (a.size() != b.size()) {
    diag << "the ranks differ (" << a.size() << " and " << b.size()
         << "): dims pair up by position, the batch first; reshape one to the other's rank "
            "with dims of size 1 where it repeats";
  } else if (*bad == 0) {
    diag << "the batch dims differ";
  } else {
    diag << "dim " << *bad << " is " << ctx.str(a[*bad]) << " in one and " << ctx.str(b[*bad])
         << " in the other: each dim after the batch must be equal, or 1 in one of them";
    // A tensor with some dims of 1 was probably meant to broadcast: show
    // the shape it needs. Otherwise the edge joins different shapes, as a
    // residual without its projection does.
    bool aRepeats = llvm::any_of(llvm::drop_begin(a), isOne);
    bool bRepeats = llvm::any_of(llvm::drop_begin(b), isOne);
    if (aRepeats || bRepeats) {
      const Shape &small = bRepeats ? b : a, &big = bRepeats ? a : b;
      Shape fits(big);
      for (size_t i = 1; i < fits.size(); ++i)
        if (isOne(small[i]))
          fits[i] = small[i];
      diag << "; to repeat " << ctx.producer(bRepeats ? 1 : 0) << " over "
           << ctx.producer(bRepeats ? 0 : 1) << " it would be " << ctx.str(fits);
    } else {
      diag << "; a residual edge between different shapes needs a projection (e.g. a 1x1 "
              "conv2d with the right stride and channels)";
    }
  }
  ctx.noteProducer(diag, 0);
  ctx.noteProducer(diag, 1);
  return failure();
}
FailureOr<Shape> AddOp::inferShape(ShapeContext &ctx) { return inferBinary(ctx); }
FailureOr<Shape> SubOp::inferShape(ShapeContext &ctx) { return inferBinary(ctx); }
FailureOr<Shape> MulOp::inferShape(ShapeContext &ctx) { return inferBinary(ctx); }
FailureOr<Shape> DivOp::inferShape(ShapeContext &ctx) { return inferBinary(ctx); }

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

FailureOr<Shape> ConcatOp::inferShape(ShapeContext &ctx) {
  if (ctx.numOperands() == 0) {
    ctx.error() << "has no inputs";
    return failure();
  }
  const Shape &first = ctx.operand(0);
  FailureOr<int64_t> dim = normalizeDim(ctx, getDim(), first.size(), "dim");
  if (failed(dim))
    return failure();
  if (*dim == 0) {
    ctx.error() << "concatenates along the batch dim 0; only dims >= 1 can be joined";
    return failure();
  }
  Shape out(first);
  for (unsigned i = 1; i < ctx.numOperands(); ++i) {
    const Shape &s = ctx.operand(i);
    bool ok = s.size() == first.size();
    for (size_t d = 0; ok && d < s.size(); ++d)
      ok = d == static_cast<size_t>(*dim) || s[d].compatibleWith(first[d]);
    if (!ok) {
      InFlightDiagnostic diag = ctx.error();
      diag << "joins " << ctx.str(first) << " from " << ctx.producer(0) << " with "
           << ctx.str(s) << " from " << ctx.producer(i) << " along dim " << *dim
           << "; all other dims must be equal";
      // A UNet skip from the wrong level: the feature maps differ in size.
      bool maps = *dim == 1 && s.size() == 4 && first.size() == 4;
      if (maps && (!s[2].compatibleWith(first[2]) || !s[3].compatibleWith(first[3])))
        diag << "; to join feature maps of two resolutions, resize one first (upsample, "
                "conv_transpose2d, or a pool or strided conv)";
      ctx.noteProducer(diag, 0);
      ctx.noteProducer(diag, i);
      return failure();
    }
    out[*dim] = out[*dim] + s[*dim];
  }
  return out;
}

FailureOr<Shape> FlattenOp::inferShape(ShapeContext &ctx) {
  const Shape &in = ctx.operand(0);
  FailureOr<int64_t> start = normalizeDim(ctx, getStartDim(), in.size(), "start_dim");
  FailureOr<int64_t> end = normalizeDim(ctx, getEndDim(), in.size(), "end_dim");
  if (failed(start) || failed(end))
    return failure();
  if (*start == 0 || *start > *end) {
    ctx.error() << "has start_dim = " << static_cast<int64_t>(getStartDim())
                << " and end_dim = " << static_cast<int64_t>(getEndDim())
                << "; it must keep the batch dim 0 and have start_dim <= end_dim";
    return failure();
  }
  Shape out(in.begin(), in.begin() + *start);
  out.push_back(product(in, *start, *end + 1, ctx.context()));
  out.append(in.begin() + *end + 1, in.end());
  return out;
}

static FailureOr<Shape> reshapeError(ShapeContext &ctx, const Dim &total,
                                     ArrayRef<int64_t> shape) {
  InFlightDiagnostic diag = ctx.error();
  diag << "cannot reshape " << ctx.str(ctx.operand(0)) << " from " << ctx.producer(0) << " ("
       << ctx.str(total) << " elements per sample) to [N, " << list(shape).substr(1);
  ctx.noteProducer(diag, 0);
  return failure();
}

FailureOr<Shape> ReshapeOp::inferShape(ShapeContext &ctx) {
  const Shape &in = ctx.operand(0);
  Dim total = product(in, 1, in.size(), ctx.context());
  Shape out{in[0]};
  int64_t known = 1, inferAt = -1;
  for (auto [i, d] : llvm::enumerate(getShape())) {
    if (d == -1 && inferAt < 0) {
      inferAt = i + 1;
      out.push_back(Dim());
      continue;
    }
    if (d < 1) {
      ctx.error() << "has shape " << list(getShape())
                  << ": dims must be >= 1, with at most one -1 to infer";
      return failure();
    }
    std::optional<int64_t> product = checkedMul(known, int64_t(d));
    if (!product)
      return reshapeError(ctx, total, getShape());
    known = *product;
    out.push_back(ctx.constant(d));
  }
  std::optional<int64_t> totalValue = total.value();
  if (inferAt >= 0) {
    // A symbolic total leaves the inferred dim unknown (`?`).
    if (!totalValue || *totalValue % known != 0)
      return totalValue ? reshapeError(ctx, total, getShape()) : FailureOr<Shape>(out);
    out[inferAt] = ctx.constant(*totalValue / known);
    return out;
  }
  if (!total.isKnown() || product(out, 1, out.size(), ctx.context()).provablyEquals(total))
    return out;
  return reshapeError(ctx, total, getShape());
}
FailureOr<Shape> PermuteOp::inferShape(ShapeContext &ctx) {
  const Shape &in = ctx.operand(0);
  ArrayRef<int64_t> dims = getDims();
  SmallVector<bool> seen(in.size(), false);
  bool ok = dims.size() == in.size() && !dims.empty() && dims[0] == 0;
  for (int64_t d : dims) {
    ok = ok && d >= 0 && d < static_cast<int64_t>(in.size()) && !seen[d];
    if (ok)
      seen[d] = true;
  }
  if (!ok) {
    ctx.error() << "has dims " << list(dims) << ", which is not a permutation of the "
                << in.size() << " dims of " << ctx.str(in)
                << " that keeps the batch dim 0 first";
    return failure();
  }
  Shape out;
  for (int64_t d : dims)
    out.push_back(in[d]);
  return out;
}

FailureOr<Shape> TransposeOp::inferShape(ShapeContext &ctx) {
  const Shape &in = ctx.operand(0);
  FailureOr<int64_t> d0 = normalizeDim(ctx, getDim0(), in.size(), "dim0");
  FailureOr<int64_t> d1 = normalizeDim(ctx, getDim1(), in.size(), "dim1");
  if (failed(d0) || failed(d1))
    return failure();
  if (*d0 == 0 || *d1 == 0) {
    ctx.error() << "swaps the batch dim 0; only dims >= 1 can be transposed";
    return failure();
  }
  Shape out(in);
  std::swap(out[*d0], out[*d1]);
  return out;
}

FailureOr<Shape> SelectOp::inferShape(ShapeContext &ctx) {
  const Shape &in = ctx.operand(0);
  FailureOr<int64_t> dim = normalizeDim(ctx, getDim(), in.size(), "dim");
  if (failed(dim))
    return failure();
  if (*dim == 0) {
    ctx.error() << "selects along the batch dim 0; only dims >= 1 can be indexed";
    return failure();
  }
  int64_t index = static_cast<int64_t>(getIndex());
  std::optional<int64_t> size = in[*dim].value();
  if (index < 0 || (size && index >= *size)) {
    InFlightDiagnostic diag = ctx.error();
    diag << "selects index " << index << " of dim " << *dim << ", which has size "
         << ctx.str(in[*dim]) << " in " << ctx.str(in) << " from " << ctx.producer(0);
    ctx.noteProducer(diag, 0);
    return failure();
  }
  Shape out(in);
  out.erase(out.begin() + *dim);
  return out;
}

FailureOr<Shape> SliceOp::inferShape(ShapeContext &ctx) {
  const Shape &in = ctx.operand(0);
  FailureOr<int64_t> dim = normalizeDim(ctx, getDim(), in.size(), "dim");
  if (failed(dim))
    return failure();
  if (*dim == 0) {
    ctx.error() << "slices along the batch dim 0; only dims >= 1 can be sliced";
    return failure();
  }
  int64_t start = static_cast<int64_t>(getStart()), end = static_cast<int64_t>(getEnd());
  std::optional<int64_t> size = in[*dim].value();
  if (!size) {
    ctx.error() << "slices dim " << *dim << " of " << ctx.str(in)
                << ", whose size is not known until run time";
    return failure();
  }
  if (start < 0 || end <= start || end > *size) {
    InFlightDiagnostic diag = ctx.error();
    diag << "slices [" << start << ", " << end << ") of dim " << *dim << ", which has size "
         << *size << " in " << ctx.str(in) << " from " << ctx.producer(0)
         << "; needs 0 <= start < end <= " << *size;
    ctx.noteProducer(diag, 0);
    return failure();
  }
  Shape out(in);
  out[*dim] = ctx.constant(end - start);
  return out;
}

FailureOr<Shape> MatmulOp::inferShape(ShapeContext &ctx) {
  const Shape &a = ctx.operand(0), &b = ctx.operand(1);
  bool ok = a.size() >= 2 && a.size() == b.size();
  for (size_t i = 0; ok && i + 2 < a.size(); ++i)
    ok = a[i].compatibleWith(b[i]);
  ok = ok && a[a.size() - 1].compatibleWith(b[b.size() - 2]);
  if (!ok) {
    InFlightDiagnostic diag = ctx.error();
    diag << "multiplies " << ctx.str(a) << " from " << ctx.producer(0) << " by " << ctx.str(b)
         << " from " << ctx.producer(1)
         << "; expected [..., M, K] x [..., K, P] with equal leading dims";
    ctx.noteProducer(diag, 0);
    ctx.noteProducer(diag, 1);
    return failure();
  }
  Shape out(a);
  out.back() = b.back();
  return out;
}

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

#include "spire/Dialect/SpireDialect.cpp.inc"
#include "spire/Dialect/SpireInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "spire/Dialect/SpireAttrs.cpp.inc"

#define GET_OP_CLASSES
#include "spire/Dialect/SpireOps.cpp.inc"

void spire::SpireDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "spire/Dialect/SpireOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "spire/Dialect/SpireAttrs.cpp.inc"
      >();
}

// A kernel's body sees its operands as block arguments of the same types,
// holds only layer ops and yields a tensor of the kernel's result type.
llvm::LogicalResult spire::KernelOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getNumOperands())
    return emitOpError() << "has " << getNumOperands() << " operands but its body takes "
                         << body.getNumArguments() << " arguments";
  for (auto [operand, arg] : llvm::zip(getOperands(), body.getArguments()))
    if (operand.getType() != arg.getType())
      return emitOpError() << "passes " << operand.getType() << " to a body argument of type "
                           << arg.getType();
  if (body.without_terminator().empty())
    return emitOpError("has no anchor layer");
  for (Operation &op : body.without_terminator())
    if (!llvm::isa<LayerOpInterface>(op))
      return emitOpError() << "holds " << op.getName() << ", which is not a layer";
  auto yield = llvm::dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("body must end with spire.yield");
  if (yield.getValue().getType() != getResult().getType())
    return emitOpError() << "yields " << yield.getValue().getType() << " but returns "
                         << getResult().getType();
  return llvm::success();
}
