// Shape inference of reductions and of unary and binary elementwise layers.
#include "ShapeHelpers.h"

using namespace mlir;

namespace spire {

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
FailureOr<Shape> NormalizeOp::inferShape(ShapeContext &ctx) {
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

} // namespace spire
