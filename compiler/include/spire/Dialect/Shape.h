// Symbolic tensor shapes. A dimension is an affine expression over the spec's
// size symbols (N, L, ...), so the checker can say `L-2` after a 3-wide valid
// conv, or "unknown" when it came from a `?` in hand-written IR.
//
// Arithmetic on dims never wraps: a result whose value or coefficients would
// not fit in int64 becomes "too large", keeping an estimate of its true
// magnitude, so the checker can report `[N, 2^90]` instead of a wrapped size.
#pragma once

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace spire {

class Dim {
public:
  Dim() = default; // unknown
  explicit Dim(mlir::AffineExpr expr);
  static Dim constant(mlir::MLIRContext *ctx, int64_t value);
  // A size beyond int64; `magnitude` estimates it (+inf when symbolic).
  static Dim tooLarge(double magnitude);

  bool isKnown() const { return static_cast<bool>(expr_); }
  bool isTooLarge() const { return magnitude_ > 0; }
  double magnitude() const { return magnitude_; }
  std::optional<int64_t> value() const;
  mlir::AffineExpr expr() const { return expr_; }
  // True when both are known and equal for every value of the symbols.
  bool provablyEquals(const Dim &other) const { return isKnown() && expr_ == other.expr_; }
  // False only when both are known and not provably equal.
  bool compatibleWith(const Dim &other) const {
    return !isKnown() || !other.isKnown() || expr_ == other.expr_;
  }

  Dim operator+(const Dim &o) const;
  Dim operator-(const Dim &o) const;
  Dim operator*(const Dim &o) const;
  Dim operator+(int64_t v) const;
  Dim operator-(int64_t v) const;
  Dim operator*(int64_t v) const;
  Dim floorDiv(int64_t v) const;
  Dim ceilDiv(int64_t v) const;

private:
  mlir::AffineExpr expr_;
  double magnitude_ = 0; // > 0 only when too large
};

using Shape = llvm::SmallVector<Dim, 4>;
// The symbolic shape of a value (the checker's, not its MLIR type's `?`).
using ShapeOf = llvm::function_ref<Shape(mlir::Value)>;

// Names of the size symbols (s0 -> "N", ...); printing uses them.
using SymbolNames = llvm::ArrayRef<std::string>;

std::string toString(const Dim &dim, SymbolNames names);
std::string toString(const Shape &shape, SymbolNames names);

// The MLIR type of a symbolic shape: static where constant, `?` elsewhere.
mlir::RankedTensorType toTensorType(const Shape &shape, mlir::Type elementType);
// A shape from an MLIR type: `?` dims become unknown.
Shape fromTensorType(mlir::RankedTensorType type);

// Product of the dims in [begin, end).
Dim product(const Shape &shape, size_t begin, size_t end, mlir::MLIRContext *ctx);
// Elements of one sample (every dim after the batch). Symbolic dims are
// multiplied first and the constants last, so that a count reads
// `64*((H-1)/2+1)*((W-1)/2+1)` rather than with the constant spread over the
// first factor.
Dim sampleElements(const Shape &shape, mlir::MLIRContext *ctx);

// The largest absolute constant in a dim's expression (its value when
// constant): a bound on how far a coefficient has grown.
int64_t largestConstant(const Dim &dim);

// The symbols a dim depends on (by position), e.g. {1} for `L-2`.
llvm::SmallVector<unsigned> symbolsOf(const Dim &dim);

} // namespace spire
