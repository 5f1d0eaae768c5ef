#include "spire/Dialect/Shape.h"

#include "spire/Checked.h"

#include "mlir/IR/AffineExprVisitor.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <cstdlib>

using namespace mlir;

namespace spire {

// Constants and lone symbols are already simple; skipping the simplifier
// (which flattens the expression) for them makes shape inference on known
// sizes, which `sizes` ranges repeat per value, several times faster.
static AffineExpr simplify(AffineExpr e) {
  if (!e || llvm::isa<AffineConstantExpr, AffineSymbolExpr>(e))
    return e;
  return simplifyAffineExpr(e, 0, 64);
}

Dim::Dim(AffineExpr expr) : expr_(simplify(expr)) {}

Dim Dim::constant(MLIRContext *ctx, int64_t value) {
  return Dim(getAffineConstantExpr(value, ctx));
}

std::optional<int64_t> Dim::value() const {
  if (auto c = llvm::dyn_cast_if_present<AffineConstantExpr>(expr_))
    return c.getValue();
  return std::nullopt;
}

Dim Dim::tooLarge(double magnitude) {
  Dim d;
  d.magnitude_ = std::isnan(magnitude) || magnitude < 1 ? INFINITY : magnitude;
  return d;
}

int64_t largestConstant(const Dim &dim) {
  int64_t largest = 0;
  if (dim.isKnown())
    dim.expr().walk([&](AffineExpr e) {
      if (auto c = llvm::dyn_cast<AffineConstantExpr>(e))
        largest = std::max(largest, c.getValue() == INT64_MIN ? INT64_MAX : std::abs(c.getValue()));
    });
  return largest;
}

namespace {
// Combines two dims with `exact` (the affine operation) after proving with
// `bound` that no constant in the result can overflow: the affine simplifier
// folds constants with plain int64 arithmetic. `approx` estimates a too-large
// constant result.
template <typename Exact, typename Bound, typename Approx>
Dim combine(const Dim &a, const Dim &b, Exact exact, Bound bound, Approx approx) {
  if (a.isTooLarge() || b.isTooLarge()) {
    auto valueOf = [](const Dim &d) {
      return d.isTooLarge() ? d.magnitude() : d.value() ? double(*d.value()) : INFINITY;
    };
    return Dim::tooLarge(std::fabs(approx(valueOf(a), valueOf(b))));
  }
  if (!a.isKnown() || !b.isKnown())
    return Dim();
  if (!bound(largestConstant(a), largestConstant(b)))
    return Dim::tooLarge(a.value() && b.value() ? std::fabs(approx(double(*a.value()), double(*b.value())))
                                                : INFINITY);
  return Dim(exact(a.expr(), b.expr()));
}

bool sumFits(int64_t a, int64_t b) { return checkedAdd(a, b).has_value(); }
bool productFits(int64_t a, int64_t b) { return checkedMul(std::max<int64_t>(a, 1), std::max<int64_t>(b, 1)).has_value(); }
} // namespace

Dim Dim::operator+(const Dim &o) const {
  return combine(*this, o, [](AffineExpr a, AffineExpr b) { return a + b; }, sumFits,
                 [](double a, double b) { return a + b; });
}
Dim Dim::operator-(const Dim &o) const {
  return combine(*this, o, [](AffineExpr a, AffineExpr b) { return a - b; }, sumFits,
                 [](double a, double b) { return a - b; });
}
Dim Dim::operator*(const Dim &o) const {
  return combine(*this, o, [](AffineExpr a, AffineExpr b) { return a * b; }, productFits,
                 [](double a, double b) { return a * b; });
}
Dim Dim::operator+(int64_t v) const { return isKnown() ? *this + constant(expr_.getContext(), v) : *this; }
Dim Dim::operator-(int64_t v) const { return isKnown() ? *this - constant(expr_.getContext(), v) : *this; }
Dim Dim::operator*(int64_t v) const { return isKnown() ? *this * constant(expr_.getContext(), v) : *this; }

Dim Dim::floorDiv(int64_t v) const {
  if (isTooLarge())
    return tooLarge(magnitude_ / double(v));
  return isKnown() ? Dim(expr_.floorDiv(v)) : Dim();
}
Dim Dim::ceilDiv(int64_t v) const {
  if (isTooLarge())
    return tooLarge(magnitude_ / double(v));
  return isKnown() ? Dim(expr_.ceilDiv(v)) : Dim();
}

namespace {
// Prints an affine expression the way a spec author writes sizes: `L-2`,
// `(L-3)/2+1`, `16*L`.
struct DimPrinter {
  SymbolNames names;

  std::string print(AffineExpr e, bool parenthesize) {
    switch (e.getKind()) {
    case AffineExprKind::Constant:
      return std::to_string(llvm::cast<AffineConstantExpr>(e).getValue());
    case AffineExprKind::SymbolId: {
      unsigned pos = llvm::cast<AffineSymbolExpr>(e).getPosition();
      return pos < names.size() ? names[pos] : "s" + std::to_string(pos);
    }
    case AffineExprKind::DimId:
      return "d" + std::to_string(llvm::cast<AffineDimExpr>(e).getPosition());
    case AffineExprKind::Add: {
      auto bin = llvm::cast<AffineBinaryOpExpr>(e);
      std::string lhs = print(bin.getLHS(), false);
      std::string text;
      // a + (-c) and a + (-1 * b) read better as subtractions.
      if (auto c = llvm::dyn_cast<AffineConstantExpr>(bin.getRHS());
          c && c.getValue() < 0)
        text = lhs + "-" + std::to_string(-c.getValue());
      else if (auto mul = llvm::dyn_cast<AffineBinaryOpExpr>(bin.getRHS());
               mul && mul.getKind() == AffineExprKind::Mul &&
               llvm::isa<AffineConstantExpr>(mul.getRHS()) &&
               llvm::cast<AffineConstantExpr>(mul.getRHS()).getValue() == -1)
        text = lhs + "-" + print(mul.getLHS(), true);
      else
        text = lhs + "+" + print(bin.getRHS(), false);
      return parenthesize ? "(" + text + ")" : text;
    }
    case AffineExprKind::Mul: {
      auto bin = llvm::cast<AffineBinaryOpExpr>(e);
      // Constants go first: 16*L.
      AffineExpr lhs = bin.getLHS(), rhs = bin.getRHS();
      if (llvm::isa<AffineConstantExpr>(rhs))
        std::swap(lhs, rhs);
      return print(lhs, true) + "*" + print(rhs, true);
    }
    case AffineExprKind::FloorDiv:
    case AffineExprKind::CeilDiv:
    case AffineExprKind::Mod: {
      auto bin = llvm::cast<AffineBinaryOpExpr>(e);
      const char *op = e.getKind() == AffineExprKind::FloorDiv  ? "/"
                       : e.getKind() == AffineExprKind::CeilDiv ? " ceildiv "
                                                                : " mod ";
      std::string text = print(bin.getLHS(), true) + op + print(bin.getRHS(), true);
      return parenthesize ? "(" + text + ")" : text;
    }
    }
    return "?";
  }
};
} // namespace

std::string toString(const Dim &dim, SymbolNames names) {
  if (dim.isTooLarge()) {
    if (std::isinf(dim.magnitude()))
      return "(over 2^63)";
    // 2^k notation: the exact value would be a 20-plus digit number.
    double k = std::log2(dim.magnitude());
    char buf[48];
    if (k == std::floor(k))
      std::snprintf(buf, sizeof buf, "2^%.0f", k);
    else
      std::snprintf(buf, sizeof buf, "%.2g (~2^%.0f)", dim.magnitude(), k);
    return buf;
  }
  if (!dim.isKnown())
    return "?";
  return DimPrinter{names}.print(dim.expr(), false);
}

std::string toString(const Shape &shape, SymbolNames names) {
  std::string out = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      out += ", ";
    out += toString(d, names);
  }
  return out + "]";
}

RankedTensorType toTensorType(const Shape &shape, Type elementType) {
  SmallVector<int64_t> dims;
  for (const Dim &d : shape)
    dims.push_back(d.value().value_or(ShapedType::kDynamic));
  return RankedTensorType::get(dims, elementType);
}

Shape fromTensorType(RankedTensorType type) {
  Shape shape;
  for (int64_t d : type.getShape())
    shape.push_back(ShapedType::isDynamic(d) ? Dim()
                                             : Dim::constant(type.getContext(), d));
  return shape;
}

Dim product(const Shape &shape, size_t begin, size_t end, MLIRContext *ctx) {
  Dim result = Dim::constant(ctx, 1);
  for (size_t i = begin; i < end; ++i)
    result = result * shape[i];
  return result;
}

Dim sampleElements(const Shape &shape, MLIRContext *ctx) {
  Dim symbolic = Dim::constant(ctx, 1), constant = Dim::constant(ctx, 1);
  for (size_t i = 1; i < shape.size(); ++i) {
    Dim &factor = shape[i].value() ? constant : symbolic;
    factor = factor * shape[i];
  }
  return symbolic * constant;
}

SmallVector<unsigned> symbolsOf(const Dim &dim) {
  SmallVector<unsigned> out;
  if (!dim.isKnown())
    return out;
  dim.expr().walk([&](AffineExpr e) {
    if (auto s = llvm::dyn_cast<AffineSymbolExpr>(e))
      if (!llvm::is_contained(out, s.getPosition()))
        out.push_back(s.getPosition());
  });
  llvm::sort(out);
  return out;
}

} // namespace spire
