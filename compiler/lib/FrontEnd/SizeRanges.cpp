// The spec's `sizes` section: ranges of size symbols, and their proof —
// every layer's shape inference rerun at each admissible value.
#include "ModuleBuilderImpl.h"
#include "spire/Limits.h"

namespace spire {

std::optional<int64_t> SizeRange::first() const {
  int64_t v = (min + multipleOf - 1) / multipleOf * multipleOf;
  return v <= max ? std::optional<int64_t>(v) : std::nullopt;
}

int64_t SizeRange::count() const { return max / multipleOf - (min - 1) / multipleOf; }

int64_t SizeRange::near(int64_t preferred) const {
  int64_t v = (std::max(preferred, min) + multipleOf - 1) / multipleOf * multipleOf;
  return v <= max ? v : max / multipleOf * multipleOf;
}

std::string SizeRange::str() const {
  std::string s = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return multipleOf > 1 ? s + ", multiple of " + std::to_string(multipleOf) : s;
}

namespace frontend {

// `sizes: {L: {min: 5, max: 4096}}`. Read before the inputs, checked
// against them after (checkSizes).
void ModuleBuilder::readSizes(const SpecNode &sizes) {
  if (!sizes.isMap() || sizes.entries.empty()) {
    error(sizes.loc) << "'sizes' must map size symbols to their ranges, e.g. "
                        "`sizes: {L: {min: 5, max: 4096}}`";
    return;
  }
  for (const auto &[key, value] : sizes.entries) {
    std::string what = "the range of '" + key.scalar + "'";
    if (!value.isMap()) {
      error(value.isNull() ? key.loc : value.loc)
          << what << " must be a map such as {min: 5, max: 4096}, got " << value.kindName();
      continue;
    }
    checkKeys(value, {"min", "max", "multiple_of"}, what);
    SizeRange range;
    bool ok = true;
    auto read = [&](const char *name, int64_t &out, bool required) {
      const SpecNode *v = value.get(name);
      if (!v) {
        if (required)
          error(value.loc) << what << " needs '" << name << "'";
        ok &= !required;
        return;
      }
      std::optional<int64_t> n = scalarToInt(*v);
      if (!n || *n < 1 || *n > kMaxDim) {
        error(v->loc) << what << ": '" << name << "' must be an integer in [1, 2^31), got "
                      << (v->isScalar() ? "'" + v->scalar + "'" : v->kindName());
        ok = false;
        return;
      }
      out = *n;
    };
    read("min", range.min, true);
    read("max", range.max, true);
    read("multiple_of", range.multipleOf, false);
    if (!ok)
      continue;
    if (range.min > range.max)
      error(value.get("min")->loc) << what << " has min " << range.min << " above max "
                                   << range.max;
    else if (!range.first())
      error(value.get("multiple_of")->loc) << what << " holds no multiple of "
                                           << range.multipleOf << " in [" << range.min << ", "
                                           << range.max << "]";
    else
      declaredRanges_.emplace_back(key.scalar, range, key.loc);
  }
}

// Each declared range must be of a symbol an input uses outside the batch
// dim, and hold the value --set gives it.
void ModuleBuilder::checkSizes() {
  for (const auto &[name, range, at] : declaredRanges_) {
    auto it = llvm::find(result_.symbols, name);
    if (it != result_.symbols.end() && it - result_.symbols.begin() == result_.batchSymbol) {
      error(at) << "'" << name << "' is the batch symbol (dim 0 of the inputs): any batch "
                << "runs, so it takes no range";
      continue;
    }
    if (it == result_.symbols.end() && !boundSymbolsUsed_.contains(name)) {
      std::vector<std::string> candidates;
      for (auto [i, s] : llvm::enumerate(result_.symbols))
        if (static_cast<int>(i) != result_.batchSymbol)
          candidates.push_back(s);
      error(at) << "'sizes' gives a range for '" << name << "', but no input has a size symbol '"
                << name << "' outside the batch dim" << didYouMean(name, candidates);
      continue;
    }
    if (auto bound = options_.symbolValues.find(name);
        bound != options_.symbolValues.end() && !range.contains(bound->second)) {
      error(at) << "--set " << name << "=" << bound->second << " is outside the declared range of "
                << name << ": " << range.str();
      continue;
    }
    result_.ranges[name] = range;
  }
}

// The first layer whose shape inference or size limits fail with the
// symbols replaced by `values` (a symbol by itself where unbound), or null.
Operation *ModuleBuilder::firstFailure(ArrayRef<AffineExpr> values) {
  llvm::DenseMap<Value, Shape> shapes;
  auto substitute = [&](const Shape &shape) {
    Shape out;
    for (const Dim &d : shape)
      out.push_back(d.isKnown() ? Dim(d.expr().replaceSymbols(values)) : d);
    return out;
  };
  for (BlockArgument arg : func_.getArguments())
    shapes[arg] = substitute(result_.shapes.lookup(arg));
  for (Operation &op : func_.getBody().front()) {
    auto layer = llvm::dyn_cast<LayerOpInterface>(&op);
    if (!layer)
      continue;
    SmallVector<Shape> operands;
    for (Value v : op.getOperands())
      operands.push_back(shapes.lookup(v));
    ShapeContext sctx(&op, std::move(operands), result_.symbols);
    FailureOr<Shape> shape = layer.inferShape(sctx);
    if (failed(shape) || failed(checkLimits(&op, *shape, sctx)))
      return &op;
    shapes[op.getResult(0)] = std::move(*shape);
  }
  return nullptr;
}

// Proves every layer for every admissible value of the ranged symbols by
// running shape inference again at each value (every combination when
// several are ranged), smallest first, and reports the first failure at its
// layer. Exact where reasoning over intervals would not be (a stride that
// rounds, a size that must divide), and simple; a layer's inference on
// known sizes takes about 3 us, so the work is capped rather than sampled.
void ModuleBuilder::checkRanges(const SpecNode &sizes) {
  SmallVector<unsigned> ranged;
  SmallVector<SizeRange> ranges;
  int64_t layers = llvm::count_if(func_.getBody().front(), [](Operation &op) {
    return llvm::isa<LayerOpInterface>(op);
  });
  // Saturates above the cap (each count is below 2^31).
  int64_t combinations = 1;
  for (auto [i, name] : llvm::enumerate(result_.symbols))
    if (auto it = result_.ranges.find(name); it != result_.ranges.end()) {
      ranged.push_back(i);
      ranges.push_back(it->second);
      combinations = std::min(combinations * it->second.count(), kMaxRangeEvaluations + 1);
    }
  if (ranged.empty() || layers == 0) // nothing to prove (all layers `if: false`)
    return;
  auto names = [&] {
    std::string s;
    for (unsigned i : ranged)
      s += (s.empty() ? "" : ", ") + result_.symbols[i];
    return s;
  };
  if (combinations * layers > kMaxRangeEvaluations) {
    bool several = ranged.size() > 1;
    auto diag = error(sizes.loc);
    diag << (several ? "the ranges of " : "the range of ") << names()
         << (several ? " admit " : " admits ");
    if (combinations > kMaxRangeEvaluations)
      diag << "over " << kMaxRangeEvaluations;
    else
      diag << combinations;
    diag << (several ? " combinations" : " values") << "; `spire check` proves a range "
         << "by checking each through the " << layers << (layers == 1 ? " layer" : " layers")
         << ", up to " << kMaxRangeEvaluations << " layer checks: narrow "
         << (several ? "the ranges or give them" : "the range or give it") << " a multiple_of";
    return;
  }

  struct Captured {
    Location loc;
    std::string message;
    std::vector<std::pair<Location, std::string>> notes;
  };
  std::optional<Captured> captured;
  Operation *failing = nullptr;
  SmallVector<int64_t> values;
  for (const SizeRange &r : ranges)
    values.push_back(*r.first());
  SmallVector<AffineExpr> replacement;
  for (size_t i = 0; i < result_.symbols.size(); ++i)
    replacement.push_back(getAffineSymbolExpr(i, &ctx_));
  {
    // Inference reports through diagnostics; keep the first to report it
    // again with the values it failed for.
    ScopedDiagnosticHandler capture(&ctx_, [&](Diagnostic &d) {
      if (!captured && d.getSeverity() == DiagnosticSeverity::Error) {
        captured = Captured{d.getLocation(), d.str(), {}};
        for (Diagnostic &note : d.getNotes())
          captured->notes.emplace_back(note.getLocation(), note.str());
      }
      return success();
    });
    while (true) {
      for (auto [k, i] : llvm::enumerate(ranged))
        replacement[i] = getAffineConstantExpr(values[k], &ctx_);
      if ((failing = firstFailure(replacement)))
        break;
      // The next combination, the last symbol counting fastest.
      int k = static_cast<int>(ranged.size()) - 1;
      for (; k >= 0; --k) {
        values[k] += ranges[k].multipleOf;
        if (values[k] <= ranges[k].max)
          break;
        values[k] = *ranges[k].first();
      }
      if (k < 0)
        return;
    }
  }
  std::string at;
  for (auto [k, i] : llvm::enumerate(ranged))
    at += (at.empty() ? "" : ", ") + result_.symbols[i] + " = " + std::to_string(values[k]);
  failed_ = true;
  InFlightDiagnostic diag = emitError(captured ? captured->loc : failing->getLoc())
                            << "fails for " << at << ", in "
                            << (ranged.size() == 1 ? "the declared range " + ranges[0].str()
                                                   : "the declared ranges")
                            << ": "
                            << (captured ? captured->message : "'" + layerName(failing).str() + "' fails");
  if (captured)
    for (auto &[loc, message] : captured->notes)
      diag.attachNote(loc) << message;
}

} // namespace frontend
} // namespace spire
