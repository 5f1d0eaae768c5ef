// Shape inference of the pooling and resampling layers.
#include "ShapeHelpers.h"

using namespace mlir;

namespace spire {

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

} // namespace spire
