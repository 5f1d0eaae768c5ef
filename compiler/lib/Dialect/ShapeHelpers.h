// Checks and shape arithmetic that several op families' inferShape share
// (ranks, windows, attributes, dims counted from the end). Private to the
// dialect's sources.
#pragma once

#include "spire/Dialect/SpireOps.h"
#include "spire/Checked.h"
#include "spire/Limits.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <string>

namespace spire {
using namespace mlir;

//===----------------------------------------------------------------------===//
// Helpers shared by several layers
//===----------------------------------------------------------------------===//

// Requires operand 0 to have one of `ranks`; `expected` describes the layout.
inline LogicalResult requireRank(ShapeContext &ctx, ArrayRef<size_t> ranks,
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

inline std::string list(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (auto [i, v] : llvm::enumerate(values))
    s += (i ? ", " : "") + std::to_string(v);
  return s + "]";
}

// Output size of a sliding window along one dim (PyTorch's formula). In
// ceil mode a last window that would start past the input and its left
// padding is dropped, which needs the input size.
inline FailureOr<Dim> windowOutput(ShapeContext &ctx, const Dim &in, int64_t kernel,
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

inline LogicalResult badAttr(ShapeContext &ctx, StringRef attr, ArrayRef<int64_t> values,
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
inline LogicalResult checkWindowAttrs(ShapeContext &ctx, size_t n, ArrayRef<WindowAttr> attrs) {
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
inline FailureOr<Shape> slideWindows(ShapeContext &ctx, ArrayRef<int64_t> kernel,
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

inline FailureOr<Shape> inferSameShape(ShapeContext &ctx) { return Shape(ctx.operand(0)); }

// Normalizes a possibly negative dim index; fails with a message if out of range.
inline FailureOr<int64_t> normalizeDim(ShapeContext &ctx, int64_t dim, size_t rank,
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

inline std::string formatNumber(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", v);
  return buffer;
}

inline int64_t staticDim(Value v, int64_t i) {
  return llvm::cast<RankedTensorType>(v.getType()).getDimSize(i);
}

} // namespace spire
