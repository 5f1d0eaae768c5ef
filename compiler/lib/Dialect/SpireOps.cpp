// The spire dialect: the shape context and the verifier that run every op's
// inferShape, the dialect's registration and spire.kernel's verifier. The
// same inferShape runs in the front end (on symbolic shapes, with YAML
// locations) and in the verifiers (on MLIR tensor types), so both report the
// same messages. Each op family's inferShape is in its own file
// (ParamLayerShapes.cpp, WindowLayerShapes.cpp, ElementwiseShapes.cpp,
// DataMovementShapes.cpp), FLOPs in Flops.cpp.
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
// holds only layer ops and yields a tensor of the kernel's result type; an
// input gate is a mul of two operands whose one user is the conv after it.
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
  if (Operation *gate = getGate()) {
    Operation *anchor = gate->getNextNode();
    bool readsOperands = llvm::all_of(gate->getOperands(), llvm::IsaPred<BlockArgument>);
    if (!llvm::isa<MulOp>(gate) || !readsOperands || !llvm::isa<Conv2dOp>(anchor) ||
        !gate->getResult(0).hasOneUse() || anchor->getOperand(0) != gate->getResult(0))
      return emitOpError("has an input gate that is not a mul of two operands read only by "
                         "the conv after it");
  }
  if (ArrayAttr classes = getSizeClassesAttr()) {
    if (!getConfigAttr())
      return emitOpError("has size classes but no config of its own for the other sizes");
    AffineMap key = llvm::cast<SizeClassAttr>(classes[0]).getKey();
    for (auto c : classes.getAsRange<SizeClassAttr>())
      if (c.getKey() != key || key.getNumDims() != 0 || key.getNumResults() != 1 ||
          c.getValues().empty())
        return emitOpError("has size classes that are not values of one key of the size symbols");
  }
  auto yield = llvm::dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("body must end with spire.yield");
  if (yield.getValue().getType() != getResult().getType())
    return emitOpError() << "yields " << yield.getValue().getType() << " but returns "
                         << getResult().getType();
  return llvm::success();
}
