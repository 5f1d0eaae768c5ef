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
  default: // Mod: periodic, not growing
    return false;
  }
}

// The SizeExpr op of an affine binary op.
size_expr::SizeOp sizeOp(AffineExprKind kind) {
  switch (kind) {
  case AffineExprKind::Add:
    return size_expr::Add;
  case AffineExprKind::Mul:
    return size_expr::Mul;
  case AffineExprKind::FloorDiv:
    return size_expr::FloorDiv;
  case AffineExprKind::CeilDiv:
    return size_expr::CeilDiv;
  case AffineExprKind::Mod:
    return size_expr::Mod;
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
  std::vector<int64_t> values;
  for (const Symbol &s : symbols_)
    values.push_back(largest ? s.range.max / s.range.multipleOf * s.range.multipleOf
                             : *s.range.first());
  return *size_expr::evaluate(program(d), values);
}

int64_t ModelSizes::max(const Dim &d) const { return at(d, true); }
int64_t ModelSizes::min(const Dim &d) const { return at(d, false); }

std::optional<std::vector<int64_t>> ModelSizes::values(const Dim &d) const {
  if (std::optional<int64_t> v = d.value())
    return std::vector<int64_t>{*v};
  // Every admissible combination, as `spire check` proves the layers; past
  // a bound, none.
  constexpr int64_t kMostValues = 1 << 20;
  SmallVector<unsigned> used = symbolsOf(d);
  if (only_)
    for (unsigned p : symbolsOf(only_->first))
      if (!llvm::is_contained(used, p))
        used.push_back(p);
  int64_t combinations = 1;
  for (unsigned p : used) {
    std::optional<unsigned> i = indexOf(p);
    if (!i)
      return std::nullopt; // the batch: not a size the kernels see
    combinations *= symbols_[*i].range.count();
    if (combinations > kMostValues)
      return std::nullopt;
  }
  std::vector<int64_t> code = program(d), at(symbols_.size(), 0), values;
  std::vector<int64_t> key = only_ ? program(only_->first) : std::vector<int64_t>();
  std::function<void(size_t)> each = [&](size_t k) {
    if (k == used.size()) {
      if (!only_ || std::binary_search(only_->second.begin(), only_->second.end(),
                                       *size_expr::evaluate(key, at)))
        values.push_back(*size_expr::evaluate(code, at));
      return;
    }
    unsigned i = *indexOf(used[k]);
    const SizeRange &r = symbols_[i].range;
    for (int64_t v = *r.first(); v <= r.max; v += r.multipleOf) {
      at[i] = v;
      each(k + 1);
    }
  };
  each(0);
  return values;
}

ModelSizes ModelSizes::where(const Dim &key, llvm::ArrayRef<int64_t> keyValues) const {
  ModelSizes m = *this;
  std::vector<int64_t> sorted(keyValues.begin(), keyValues.end());
  llvm::sort(sorted);
  m.only_.emplace(key, std::move(sorted));
  return m;
}

bool ModelSizes::alwaysMultipleOf(const Dim &d, int64_t m) const {
  std::optional<std::vector<int64_t>> all = values(d);
  return all && llvm::all_of(*all, [&](int64_t v) { return v % m == 0; });
}

std::vector<int64_t> ModelSizes::program(const Dim &d) const {
  std::vector<int64_t> code;
  std::function<void(AffineExpr)> emit = [&](AffineExpr e) {
    if (auto c = llvm::dyn_cast<AffineConstantExpr>(e)) {
      code.insert(code.end(), {size_expr::Constant, c.getValue()});
    } else if (auto s = llvm::dyn_cast<AffineSymbolExpr>(e)) {
      code.insert(code.end(),
                  {size_expr::Symbol, static_cast<int64_t>(*indexOf(s.getPosition()))});
    } else {
      auto bin = llvm::cast<AffineBinaryOpExpr>(e);
      emit(bin.getLHS());
      emit(bin.getRHS());
      code.push_back(sizeOp(e.getKind()));
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
