#include "SizeSymbols.h"

#include "spire/Dialect/SpireOps.h"
#include "spire/SizeExpr.h"

#include "mlir/IR/AffineExprVisitor.h"
#include "mlir/IR/AffineMap.h"

using namespace mlir;

namespace spire {

namespace {

// Whether e never decreases as a symbol grows: what lets the memory plan
// take each size at the symbols' maximum. Layer shapes are such sums,
// products and quotients; a mod or a negative multiple of a symbol is not.
bool nondecreasing(AffineExpr e) {
  auto bin = llvm::dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return true;
  AffineExpr l = bin.getLHS(), r = bin.getRHS();
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return nondecreasing(l) && nondecreasing(r);
  case AffineExprKind::Mul:
    if (auto c = llvm::dyn_cast<AffineConstantExpr>(r))
      return c.getValue() >= 0 && nondecreasing(l);
    if (auto c = llvm::dyn_cast<AffineConstantExpr>(l))
      return c.getValue() >= 0 && nondecreasing(r);
    return nondecreasing(l) && nondecreasing(r); // sizes are positive
  case AffineExprKind::FloorDiv:
  case AffineExprKind::CeilDiv:
    return llvm::isa<AffineConstantExpr>(r) && nondecreasing(l);
  default: // Mod
    return llvm::isa<AffineConstantExpr>(l);
  }
}

// e's value with symbol s at values[s].
int64_t evaluate(AffineExpr e, ArrayRef<int64_t> values) {
  if (auto c = llvm::dyn_cast<AffineConstantExpr>(e))
    return c.getValue();
  if (auto s = llvm::dyn_cast<AffineSymbolExpr>(e))
    return values[s.getPosition()];
  auto bin = llvm::cast<AffineBinaryOpExpr>(e);
  int64_t l = evaluate(bin.getLHS(), values), r = evaluate(bin.getRHS(), values);
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return l + r;
  case AffineExprKind::Mul:
    return l * r;
  case AffineExprKind::FloorDiv:
    return llvm::divideFloorSigned(l, r);
  case AffineExprKind::CeilDiv:
    return llvm::divideCeilSigned(l, r);
  case AffineExprKind::Mod:
    return llvm::mod(l, r);
  default:
    llvm_unreachable("symbols only: no dims in a size");
  }
}

} // namespace

LogicalResult recordSizeSymbols(SpecModule &spec) {
  func::FuncOp func = spec.modelFunc();
  MLIRContext *ctx = func.getContext();
  Builder b(ctx);
  SmallVector<Attribute> sizes;
  for (auto [position, name] : llvm::enumerate(spec.symbols)) {
    auto range = spec.ranges.find(name);
    if (static_cast<int>(position) == spec.batchSymbol || range == spec.ranges.end())
      continue;
    const SizeRange &r = range->second;
    sizes.push_back(b.getDictionaryAttr({
        b.getNamedAttr("name", b.getStringAttr(name)),
        b.getNamedAttr("position", b.getI64IntegerAttr(position)),
        b.getNamedAttr("min", b.getI64IntegerAttr(r.min)),
        b.getNamedAttr("max", b.getI64IntegerAttr(r.max)),
        b.getNamedAttr("multiple_of", b.getI64IntegerAttr(r.multipleOf)),
    }));
  }
  if (sizes.empty())
    return success();
  func->setAttr(kSizesAttr, b.getArrayAttr(sizes));
  unsigned numSymbols = spec.symbols.size();
  bool ok = true;
  auto dims = [&](const Shape &shape, Location loc, StringRef what) -> Attribute {
    if (llvm::all_of(llvm::drop_begin(shape), [](const Dim &d) { return d.value(); }))
      return {};
    SmallVector<AffineExpr> exprs;
    for (const Dim &d : shape) {
      if (!nondecreasing(d.expr()) && ok) {
        emitError(loc) << what << " has a size, " << toString(d, spec.symbols)
                       << ", that does not grow with its symbols; a bundle for a range "
                          "plans memory at their maximum: bind them with --set";
        ok = false;
      }
      exprs.push_back(d.expr());
    }
    return AffineMapAttr::get(AffineMap::get(0, numSymbols, exprs, ctx));
  };
  for (BlockArgument arg : func.getArguments())
    if (Attribute a = dims(spec.shapes.lookup(arg), arg.getLoc(), "an input"))
      func.setArgAttr(arg.getArgNumber(), kDimsAttr, a);
  func.walk([&](Operation *op) {
    if (op->getNumResults() == 1)
      if (Attribute a = dims(spec.shapes.lookup(op->getResult(0)), op->getLoc(), "this layer"))
        op->setAttr(kDimsAttr, a);
  });
  return success(ok);
}

std::optional<ModelSizes> ModelSizes::of(Operation *inModel) {
  auto func = llvm::isa<func::FuncOp>(inModel) ? llvm::cast<func::FuncOp>(inModel)
                                               : inModel->getParentOfType<func::FuncOp>();
  auto sizes = func ? func->getAttrOfType<ArrayAttr>(kSizesAttr) : ArrayAttr();
  if (!sizes)
    return std::nullopt;
  ModelSizes m;
  for (Attribute a : func->getAttrOfType<ArrayAttr>("spire.symbols"))
    m.names_.push_back(llvm::cast<StringAttr>(a).str());
  for (Attribute a : sizes) {
    auto d = llvm::cast<DictionaryAttr>(a);
    auto get = [&](StringRef key) { return d.getAs<IntegerAttr>(key).getInt(); };
    m.symbols_.push_back({d.getAs<StringAttr>("name").str(),
                          static_cast<unsigned>(get("position")),
                          {get("min"), get("max"), get("multiple_of")}});
  }
  return m;
}

std::optional<unsigned> ModelSizes::indexOf(unsigned position) const {
  for (auto [i, s] : llvm::enumerate(symbols_))
    if (s.position == position)
      return i;
  return std::nullopt;
}

int64_t ModelSizes::at(const Dim &d, bool largest) const {
  if (std::optional<int64_t> v = d.value())
    return *v;
  SmallVector<int64_t> values(names_.size(), 0);
  for (const Symbol &s : symbols_)
    values[s.position] = largest ? s.range.max / s.range.multipleOf * s.range.multipleOf
                                 : *s.range.first();
  return evaluate(d.expr(), values);
}

int64_t ModelSizes::max(const Dim &d) const { return at(d, true); }
int64_t ModelSizes::min(const Dim &d) const { return at(d, false); }

bool ModelSizes::alwaysMultipleOf(const Dim &d, int64_t m) const {
  if (std::optional<int64_t> v = d.value())
    return *v % m == 0;
  // Every admissible combination, as `spire check` proves the layers; past
  // a bound, no.
  constexpr int64_t kMostValues = 1 << 20;
  SmallVector<unsigned> used = symbolsOf(d);
  int64_t combinations = 1;
  for (unsigned p : used) {
    std::optional<unsigned> i = indexOf(p);
    if (!i)
      return false; // the batch: not a size the kernels see
    combinations *= symbols_[*i].range.count();
    if (combinations > kMostValues)
      return false;
  }
  SmallVector<int64_t> values(names_.size(), 0);
  std::function<bool(size_t)> all = [&](size_t k) {
    if (k == used.size())
      return evaluate(d.expr(), values) % m == 0;
    const SizeRange &r = symbols_[*indexOf(used[k])].range;
    for (int64_t v = *r.first(); v <= r.max; v += r.multipleOf) {
      values[used[k]] = v;
      if (!all(k + 1))
        return false;
    }
    return true;
  };
  return all(0);
}

std::vector<int64_t> ModelSizes::program(const Dim &d) const {
  namespace op = size_expr;
  std::vector<int64_t> code;
  std::function<void(AffineExpr)> emit = [&](AffineExpr e) {
    if (auto c = llvm::dyn_cast<AffineConstantExpr>(e)) {
      code.insert(code.end(), {op::Constant, c.getValue()});
      return;
    }
    if (auto s = llvm::dyn_cast<AffineSymbolExpr>(e)) {
      code.insert(code.end(), {op::Symbol, static_cast<int64_t>(*indexOf(s.getPosition()))});
      return;
    }
    auto bin = llvm::cast<AffineBinaryOpExpr>(e);
    emit(bin.getLHS());
    emit(bin.getRHS());
    switch (e.getKind()) {
    case AffineExprKind::Add:
      code.push_back(op::Add);
      return;
    case AffineExprKind::Mul:
      code.push_back(op::Mul);
      return;
    case AffineExprKind::FloorDiv:
      code.push_back(op::FloorDiv);
      return;
    case AffineExprKind::CeilDiv:
      code.push_back(op::CeilDiv);
      return;
    case AffineExprKind::Mod:
      code.push_back(op::Mod);
      return;
    default:
      llvm_unreachable("symbols only: no dims in a size");
    }
  };
  emit(d.expr());
  return code;
}

Shape dimsOf(Value v) {
  auto fromMap = [](AffineMapAttr map) {
    Shape shape;
    for (AffineExpr e : map.getValue().getResults())
      shape.push_back(Dim(e));
    return shape;
  };
  if (auto arg = llvm::dyn_cast<BlockArgument>(v)) {
    Operation *owner = arg.getOwner()->getParentOp();
    if (auto func = llvm::dyn_cast<func::FuncOp>(owner)) {
      if (auto map = func.getArgAttrOfType<AffineMapAttr>(arg.getArgNumber(), kDimsAttr))
        return fromMap(map);
    } else if (auto kernel = llvm::dyn_cast<KernelOp>(owner)) {
      return dimsOf(kernel->getOperand(arg.getArgNumber()));
    }
  } else if (Operation *def = v.getDefiningOp()) {
    if (auto kernel = llvm::dyn_cast<KernelOp>(def))
      return dimsOf(kernel.getBody().front().getTerminator()->getOperand(0));
    if (auto map = def->getAttrOfType<AffineMapAttr>(kDimsAttr))
      return fromMap(map);
  }
  return fromTensorType(llvm::cast<RankedTensorType>(v.getType()));
}

} // namespace spire
