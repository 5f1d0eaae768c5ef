// The `spire` dialect's ops: one per layer kind of the spec language.
#pragma once

#include "spire/Dialect/Shape.h"
#include "spire/Dialect/SpireDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <string>

namespace spire {

// A parameter tensor a layer owns: `<layer name>.<suffix>`, e.g. `fc1.bias`.
struct ParameterSpec {
  std::string suffix;
  llvm::SmallVector<int64_t, 4> shape;
  // The tensor may come without the leading 1s of `shape`, which
  // broadcasting adds back (a `parameter` layer's [C, 1, 1] layer scale).
  bool leadingOnesOptional = false;

  bool accepts(llvm::ArrayRef<int64_t> stored) const {
    llvm::ArrayRef<int64_t> wanted(shape);
    while (leadingOnesOptional && stored.size() < wanted.size() && wanted.front() == 1)
      wanted = wanted.drop_front();
    return stored == wanted;
  }

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

// Everything a layer's shape inference sees: its operands' symbolic shapes,
// the names of the size symbols, and a way to report a mismatch at the op's
// (YAML) location with notes at the producers' locations.
class ShapeContext {
public:
  ShapeContext(mlir::Operation *op, llvm::SmallVector<Shape> operands, SymbolNames symbols)
      : op_(op), operands_(std::move(operands)), symbols_(symbols) {}

  const Shape &operand(unsigned i) const { return operands_[i]; }
  size_t numOperands() const { return operands_.size(); }
  mlir::MLIRContext *context() const { return op_->getContext(); }
  Dim constant(int64_t v) const { return Dim::constant(context(), v); }
  std::string str(const Shape &s) const { return toString(s, symbols_); }
  std::string str(const Dim &d) const { return toString(d, symbols_); }
  SymbolNames symbols() const { return symbols_; }

  // "conv2d 'layer1.0.conv1'": how messages name the layer.
  std::string layer() const;
  // "'pool2'" or "input 'x'": how messages name the producer of operand i.
  std::string producer(unsigned i) const;
  // Starts an error at the layer's location; the text should start with a
  // verb (it follows layer()).
  mlir::InFlightDiagnostic error() const;
  // Adds "note: 'pool2' produces [N, 32, 16, 16]" at the producer's location.
  void noteProducer(mlir::InFlightDiagnostic &diag, unsigned i) const;
  // A static value for a dim that must be static, or an error that names the
  // symbol it depends on and how to fix it. `what` says what needs it.
  mlir::FailureOr<int64_t> requireStatic(const Dim &dim, unsigned operand,
                                         llvm::StringRef what) const;

private:
  mlir::Operation *op_;
  llvm::SmallVector<Shape> operands_;
  SymbolNames symbols_;
};

// The verifier of every layer op: re-infers the result shape from the operand
// types and checks the declared result type against it.
llvm::LogicalResult verifyLayerShape(mlir::Operation *op);

// The layer name every spire op carries (its `name` attribute).
llvm::StringRef layerName(mlir::Operation *op);

// The state_dict name of a parameter: `<layer>.<suffix>`, or the layer name
// itself for a bare parameter (empty suffix).
std::string parameterName(mlir::Operation *op, llvm::StringRef suffix);

} // namespace spire

#include "spire/Dialect/SpireInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "spire/Dialect/SpireAttrs.h.inc"

#define GET_OP_CLASSES
#include "spire/Dialect/SpireOps.h.inc"
