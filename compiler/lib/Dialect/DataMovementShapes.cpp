// Shape inference of the data-movement layers: concat, flatten, reshape, permute, transpose, select, slice, matmul.
#include "ShapeHelpers.h"

using namespace mlir;

namespace spire {

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

// The dim select and slice take a range of: any but the batch's.
static FailureOr<int64_t> rangeDim(ShapeContext &ctx, int64_t dim, size_t rank, StringRef verb,
                                   StringRef done) {
  FailureOr<int64_t> d = normalizeDim(ctx, dim, rank, "dim");
  if (succeeded(d) && *d == 0) {
    ctx.error() << verb << " along the batch dim 0; only dims >= 1 can be " << done;
    return failure();
  }
  return d;
}

FailureOr<Shape> SelectOp::inferShape(ShapeContext &ctx) {
  const Shape &in = ctx.operand(0);
  FailureOr<int64_t> dim = rangeDim(ctx, getDim(), in.size(), "selects", "indexed");
  if (failed(dim))
    return failure();
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
  FailureOr<int64_t> dim = rangeDim(ctx, getDim(), in.size(), "slices", "sliced");
  if (failed(dim))
    return failure();
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

} // namespace spire
