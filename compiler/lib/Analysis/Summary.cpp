#include "spire/Analysis/Summary.h"

#include "spire/Analysis/Stages.h"
#include "spire/Dialect/SpireOps.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

using namespace mlir;

namespace spire {

bool isAlias(Operation *op) { return llvm::isa<FlattenOp, ReshapeOp, DropoutOp>(op); }

static std::string shapeString(SpecModule &spec, Value v) {
  return toString(spec.shapes.lookup(v), spec.symbols);
}

static SummaryTensor tensorOf(SpecModule &spec, Value v) {
  return {valueName(v), shapeString(spec, v),
          sampleElements(spec.shapes.lookup(v), v.getContext()) * 4};
}

// Every size symbol at the smallest or the largest value of its range (the
// batch at 1, as counts are per sample); none when a symbol has no range.
static std::optional<SmallVector<AffineExpr>> rangeEnd(SpecModule &spec, MLIRContext *ctx,
                                                       bool largest) {
  SmallVector<AffineExpr> values;
  for (auto [i, name] : llvm::enumerate(spec.symbols)) {
    auto range = spec.ranges.find(name);
    if (static_cast<int>(i) == spec.batchSymbol)
      values.push_back(getAffineConstantExpr(1, ctx));
    else if (range == spec.ranges.end())
      return std::nullopt;
    else
      values.push_back(getAffineConstantExpr(
          largest ? range->second.near(range->second.max) : *range->second.first(), ctx));
  }
  return values;
}

// `d`'s value with the symbols replaced by `values`.
static std::optional<int64_t> valueAt(const Dim &d, ArrayRef<AffineExpr> values) {
  return d.isKnown() ? Dim(d.expr().replaceSymbols(values)).value() : std::nullopt;
}

// Elements of one sample of a tensor of `shape` at `values`.
static std::optional<int64_t> sampleElementsAt(const Shape &shape, ArrayRef<AffineExpr> values) {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) {
    std::optional<int64_t> d = valueAt(shape[i], values);
    if (!d)
      return std::nullopt;
    n *= *d;
  }
  return n;
}

ModelSummary summarize(SpecModule &spec) {
  ModelSummary s;
  s.model = spec.modelName;
  s.symbols = spec.symbols;
  s.ranges = spec.ranges;
  func::FuncOp func = spec.modelFunc();
  MLIRContext *ctx = func.getContext();
  s.flops = Dim::constant(ctx, 0);
  auto shapes = [&](Value v) { return spec.shapes.lookup(v); };
  std::vector<SpecStage> stages = computeStages(func);
  for (auto [k, stage] : llvm::enumerate(stages)) {
    SummaryStage st{stage.name, 0, Dim::constant(ctx, 0), {}, {}, ""};
    if (stage.split)
      st.split = llvm::cast<SplitOp>(stage.split).getName().str();
    for (Value v : stage.inputs)
      st.inputs.push_back(tensorOf(spec, v));
    for (Value v : stage.outputs)
      st.outputs.push_back(tensorOf(spec, v));
    for (Operation *op : stage.ops) {
      SummaryLayer row{layerName(op).str(), op->getName().stripDialect().str(),
                       shapeString(spec, op->getResult(0)), 0,
                       llvm::cast<LayerOpInterface>(op).getFlops(shapes), k};
      // Parameters as PyTorch counts them: batch-norm statistics are buffers.
      for (const ParameterSpec &p : llvm::cast<LayerOpInterface>(op).getParameters())
        if (!llvm::StringRef(p.suffix).starts_with("running_"))
          row.params += p.numel();
      st.params += row.params;
      st.flops = st.flops + row.flops;
      s.layers.push_back(row);
    }
    s.params += st.params;
    s.flops = s.flops + st.flops;
    s.stages.push_back(st);
  }
  std::optional<SmallVector<AffineExpr>> smallest = rangeEnd(spec, ctx, false),
                                         largest = rangeEnd(spec, ctx, true);
  if (!s.flops.value() && smallest) {
    s.minFlops = valueAt(s.flops, *smallest);
    s.maxFlops = valueAt(s.flops, *largest);
  }

  // Liveness over the op sequence: a buffer lives from its producer to the
  // last use of it or of any alias of it; model outputs live to the end.
  Block &body = func.getBody().front();
  llvm::DenseMap<Value, Value> root; // alias -> storage owner
  llvm::DenseMap<Value, size_t> defAt, lastAt;
  size_t index = 0, end = 0;
  for (Value arg : func.getArguments()) {
    root[arg] = arg;
    defAt[arg] = 0;
  }
  for (Operation &op : body) {
    ++index;
    for (Value operand : op.getOperands())
      lastAt[root.lookup(operand)] = llvm::isa<func::ReturnOp>(op) ? SIZE_MAX : index;
    if (op.getNumResults() == 1) {
      Value r = op.getResult(0);
      root[r] = isAlias(&op) ? root.lookup(op.getOperand(0)) : r;
      if (!isAlias(&op))
        defAt[r] = index;
    }
  }
  end = index;
  // Sweep over the sequence: a buffer adds its bytes where it starts and
  // takes them off after its last use (one pass; summing every buffer at
  // every step took 27 s for 2x10^4 layers).
  std::vector<int64_t> delta(end + 2, 0);
  bool known = true;
  for (auto [v, d] : defAt) {
    size_t last = std::min(lastAt.lookup(v), end);
    if (d > last)
      continue; // never read: never live
    // With size ranges, at the largest sizes, as the memory plan takes
    // them: sizes grow with their symbols, so that peak bounds the others.
    std::optional<int64_t> n =
        largest ? sampleElementsAt(spec.shapes.lookup(v), *largest) : std::nullopt;
    if (!n) {
      known = false;
      break;
    }
    delta[d] += *n * 4;
    delta[last + 1] -= *n * 4;
  }
  int64_t peak = 0, live = 0;
  for (size_t t = 0; t <= end && known; ++t) {
    live += delta[t];
    peak = std::max(peak, live);
  }
  if (known)
    s.peakActivationBytes = peak;
  return s;
}

static std::string human(std::optional<int64_t> v, const char *unit = "") {
  if (!v)
    return "?";
  double x = static_cast<double>(*v);
  const char *suffix[] = {"", "K", "M", "G", "T"};
  int i = 0;
  while (x >= 1000 && i < 4) {
    x /= 1000;
    ++i;
  }
  std::string s;
  llvm::raw_string_ostream os(s);
  if (i == 0)
    os << *v << unit;
  else
    os << llvm::format("%.2f", x) << suffix[i] << unit;
  return s;
}

// A count as a number ("3.82M"), else as the expression of the size symbols
// it depends on.
static std::string human(const Dim &v, SymbolNames symbols) {
  return v.value() ? human(*v.value()) : toString(v, symbols);
}

std::string formatBytes(std::optional<int64_t> v) {
  if (!v)
    return "?";
  std::string s;
  llvm::raw_string_ostream os(s);
  if (*v < 1024)
    os << *v << " B";
  else if (*v < 1024 * 1024)
    os << llvm::format("%.1f KiB", *v / 1024.0);
  else
    os << llvm::format("%.2f MiB", *v / (1024.0 * 1024.0));
  return s;
}

void printSummary(const ModelSummary &s, llvm::raw_ostream &os) {
  size_t nameW = 5, kindW = 4, shapeW = 12, flopsW = 10;
  for (const SummaryLayer &l : s.layers) {
    nameW = std::max(nameW, l.name.size());
    kindW = std::max(kindW, l.kind.size());
    shapeW = std::max(shapeW, l.shape.size());
    flopsW = std::max(flopsW, human(l.flops, s.symbols).size());
  }
  os << "model '" << s.model << "'";
  if (!s.symbols.empty()) {
    os << " (size symbols:";
    for (const std::string &sym : s.symbols) {
      os << " " << sym;
      if (auto range = s.ranges.find(sym); range != s.ranges.end())
        os << " in " << range->second.str();
    }
    os << ")";
  }
  os << "\n";
  auto row = [&](llvm::StringRef a, llvm::StringRef b, llvm::StringRef c, llvm::StringRef d,
                 llvm::StringRef e, llvm::StringRef f) {
    os << llvm::left_justify(a, nameW) << "  " << llvm::left_justify(b, kindW) << "  "
       << llvm::left_justify(c, shapeW) << "  " << llvm::right_justify(d, 10) << "  "
       << llvm::right_justify(e, flopsW) << "  " << f << "\n";
  };
  row("layer", "kind", "output shape", "params", "FLOPs", "stage");
  std::string rule(nameW + kindW + shapeW + flopsW + 26, '-');
  os << rule << "\n";
  for (const SummaryLayer &l : s.layers)
    row(l.name, l.kind, l.shape, std::to_string(l.params), human(l.flops, s.symbols),
        std::to_string(l.stage));
  os << rule << "\n";
  for (const SummaryStage &st : s.stages) {
    os << st.name << ": " << human(st.params) << " params, " << human(st.flops, s.symbols)
       << " FLOPs per sample\n";
    if (!st.split.empty()) {
      os << "  split '" << st.split << "' carries:\n";
      for (const SummaryTensor &t : st.outputs)
        os << "    " << t.name << " " << t.shape << " ("
           << (t.bytes.value() ? formatBytes(t.bytes.value()) : toString(t.bytes, s.symbols) + " B")
           << " per sample)\n";
    }
  }
  os << "total: " << s.params << " params (" << formatBytes(s.params * 4) << " f32), "
     << human(s.flops, s.symbols) << " FLOPs per sample";
  if (s.minFlops && s.maxFlops)
    os << " (" << human(*s.minFlops) << " at the smallest sizes, " << human(*s.maxFlops)
       << " at the largest)";
  os << ", peak activations " << formatBytes(s.peakActivationBytes) << " per sample"
     << (s.minFlops ? " at the largest sizes" : "") << "\n";
}

void printSummaryJson(const ModelSummary &s, llvm::raw_ostream &os) {
  auto opt = [](std::optional<int64_t> v) { return v ? llvm::json::Value(*v) : nullptr; };
  // A count, or the expression of the size symbols as a string.
  auto count = [&](const Dim &v) {
    return v.value() ? llvm::json::Value(*v.value())
                     : v.isKnown() ? llvm::json::Value(toString(v, s.symbols)) : nullptr;
  };
  auto tensors = [&](const std::vector<SummaryTensor> &ts) {
    llvm::json::Array a;
    for (const SummaryTensor &t : ts)
      a.push_back(llvm::json::Object{{"name", t.name}, {"shape", t.shape}, {"bytes", count(t.bytes)}});
    return a;
  };
  llvm::json::Array layers, stages, symbols;
  for (const std::string &sym : s.symbols)
    symbols.push_back(sym);
  llvm::json::Object sizes;
  for (const auto &[sym, range] : s.ranges)
    sizes[sym] = llvm::json::Object{
        {"min", range.min}, {"max", range.max}, {"multiple_of", range.multipleOf}};
  for (const SummaryLayer &l : s.layers)
    layers.push_back(llvm::json::Object{{"name", l.name},
                                        {"kind", l.kind},
                                        {"shape", l.shape},
                                        {"params", l.params},
                                        {"flops", count(l.flops)},
                                        {"stage", static_cast<int64_t>(l.stage)}});
  for (const SummaryStage &st : s.stages)
    stages.push_back(llvm::json::Object{{"name", st.name},
                                        {"params", st.params},
                                        {"flops", count(st.flops)},
                                        {"split", st.split},
                                        {"inputs", tensors(st.inputs)},
                                        {"outputs", tensors(st.outputs)}});
  llvm::json::Object root{{"model", s.model},
                          {"symbols", std::move(symbols)},
                          {"sizes", std::move(sizes)},
                          {"layers", std::move(layers)},
                          {"stages", std::move(stages)},
                          {"params", s.params},
                          {"flops", count(s.flops)},
                          {"flops_range", s.minFlops && s.maxFlops
                                              ? llvm::json::Value(llvm::json::Array{*s.minFlops, *s.maxFlops})
                                              : nullptr},
                          {"peak_activation_bytes", opt(s.peakActivationBytes)}};
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
}

void noteSplitInterfaces(SpecModule &spec) {
  std::vector<SpecStage> stages = computeStages(spec.modelFunc());
  for (const SpecStage &stage : stages) {
    if (!stage.split)
      continue;
    Value main = stage.ops.empty() ? Value() : stage.ops.back()->getResult(0);
    for (Value v : stage.outputs) {
      if (v == main)
        continue;
      // Who reads it after the cut: the residual edge being cut.
      std::string reader;
      for (Operation *user : v.getUsers())
        if (stage.split->isBeforeInBlock(user) && !llvm::isa<func::ReturnOp>(user)) {
          reader = layerName(user).str();
          break;
        }
      InFlightDiagnostic note = spec.module->getContext()->getDiagEngine().emit(
          stage.split->getLoc(), DiagnosticSeverity::Note);
      note << "split '" << llvm::cast<SplitOp>(stage.split).getName() << "' also carries '"
           << valueName(v) << "' " << shapeString(spec, v) << " to the next stage";
      if (!reader.empty())
        note << ", used there by '" << reader << "'";
      else
        note << " (a model output)";
    }
  }
}

} // namespace spire
