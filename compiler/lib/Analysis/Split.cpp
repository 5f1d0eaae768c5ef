#include "spire/Analysis/Split.h"

#include "spire/Analysis/Stages.h"
#include "spire/Analysis/Summary.h"
#include "spire/Dialect/SpireOps.h"

#include "llvm/Support/Format.h"

#include <limits>

using namespace mlir;

namespace spire {

namespace {
std::optional<int64_t> bytesOf(Value v) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  int64_t n = 4;
  for (int64_t d : type.getShape().drop_front()) {
    if (ShapedType::isDynamic(d))
      return std::nullopt;
    n *= d;
  }
  return n;
}
} // namespace

LogicalResult proposeSplit(SpecModule &spec, unsigned stages, llvm::raw_ostream &os) {
  func::FuncOp func = spec.modelFunc();
  std::vector<Operation *> ops;
  for (Operation &op : func.getBody().front())
    if (!llvm::isa<SplitOp, func::ReturnOp>(op))
      ops.push_back(&op);
  size_t n = ops.size();
  if (stages < 1 || stages > n)
    return emitError(func.getLoc()) << "cannot split " << n << " layers into " << stages
                                    << " stages";

  // Per-layer FLOPs from the summary, and the interface size of a cut after
  // each layer (every value defined up to it and used after it).
  ModelSummary summary = summarize(spec);
  std::vector<double> flops(n + 1, 0); // prefix sums
  for (size_t i = 0; i < n; ++i) {
    std::optional<int64_t> layer = summary.layers[i].flops.value();
    if (!layer)
      return emitError(ops[i]->getLoc()) << "layer '" << layerName(ops[i])
                                         << "' has symbolic sizes; bind them with --set";
    flops[i + 1] = flops[i] + static_cast<double>(*layer);
  }
  llvm::DenseMap<Operation *, size_t> position;
  for (size_t i = 0; i < n; ++i)
    position[ops[i]] = i;
  auto returnOp = llvm::cast<func::ReturnOp>(func.getBody().front().getTerminator());
  std::vector<double> cutBytes(n, 0); // cut after layer i
  std::vector<Value> values(func.getArguments().begin(), func.getArguments().end());
  for (Operation *op : ops)
    values.push_back(op->getResult(0));
  for (Value v : values) {
    size_t def = v.getDefiningOp() ? position[v.getDefiningOp()] : 0;
    size_t last = def;
    bool output = llvm::is_contained(returnOp.getOperands(), v);
    for (Operation *user : v.getUsers())
      if (position.count(user))
        last = std::max(last, position[user]);
    std::optional<int64_t> bytes = bytesOf(v);
    if (!bytes)
      return emitError(func.getLoc()) << "'" << valueName(v)
                                      << "' has symbolic sizes; bind them with --set";
    // Cuts after layers def..last-1 carry it (to the end for outputs); an
    // input is carried from the start.
    size_t from = v.getDefiningOp() ? def : 0;
    size_t to = output ? n - 1 : last;
    for (size_t c = from; c < to && c + 1 < n; ++c)
      cutBytes[c] += static_cast<double>(*bytes);
  }

  // cost[a][b): FLOPs of layers a..b-1 plus the interfaces at its ends.
  auto cost = [&](size_t a, size_t b) {
    double c = flops[b] - flops[a];
    if (a > 0)
      c += kFlopsPerInterfaceByte * cutBytes[a - 1];
    if (b < n)
      c += kFlopsPerInterfaceByte * cutBytes[b - 1];
    return c;
  };
  // best[k][b]: the smallest largest-stage cost of layers 0..b-1 in k stages.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(n + 1, inf));
  std::vector<std::vector<size_t>> from(stages + 1, std::vector<size_t>(n + 1, 0));
  best[0][0] = 0;
  for (unsigned k = 1; k <= stages; ++k)
    for (size_t b = k; b <= n; ++b)
      for (size_t a = k - 1; a < b; ++a) {
        double c = std::max(best[k - 1][a], cost(a, b));
        if (c < best[k][b]) {
          best[k][b] = c;
          from[k][b] = a;
        }
      }
  std::vector<size_t> bounds{n};
  for (unsigned k = stages; k > 0; --k)
    bounds.push_back(from[k][bounds.back()]);
  std::reverse(bounds.begin(), bounds.end()); // 0 = b0 < b1 < ... < bS = n

  os << "stage  layers                                       GFLOPs  interface out\n";
  for (unsigned k = 0; k < stages; ++k) {
    size_t a = bounds[k], b = bounds[k + 1];
    std::string range = (layerName(ops[a]) + " .. " + layerName(ops[b - 1])).str();
    os << llvm::format("%-5u  %-43s  %6.3f  ", k, range.c_str(), (flops[b] - flops[a]) / 1e9);
    if (b < n)
      os << llvm::format("%.1f KiB", cutBytes[b - 1] / 1024.0) << "\n";
    else
      os << "-\n";
  }
  // The prediction a user picks S by: compute bound, transfers overlapped
  // (as `spire run --mpi` and the in-process pipeline overlap them), so the
  // slowest stage sets the pace, and GPipe's fill and drain cost S-1 of
  // every M+S-1 micro-batch steps of a run.
  double slowest = 0;
  for (unsigned k = 0; k < stages; ++k)
    slowest = std::max(slowest, flops[bounds[k + 1]] - flops[bounds[k]]);
  double ideal = slowest > 0 ? flops[n] / slowest : 1;
  os << llvm::format("\npredicted throughput on %u like devices: %.2fx one device's (the slowest "
                     "stage has %.0f%% of the FLOPs)",
                     stages, ideal, 100 * slowest / std::max(flops[n], 1.0));
  if (stages > 1) {
    os << ";\n  with M micro-batches a run keeps M/(M+" << stages - 1 << ") of that:";
    for (unsigned m : {8u, 32u})
      os << llvm::format(" M=%u %.2fx", m, ideal * m / (m + stages - 1));
    os << "\nbytes per sample sent across each cut (per micro-batch: times its rows):";
    for (unsigned k = 1; k < stages; ++k)
      os << llvm::format(" cut%u %.0f", k, cutBytes[bounds[k] - 1]);
  }
  os << "\n";
  os << "\n# paste into the spec (replacing any split markers):\nstages:\n";
  for (unsigned k = 1; k < stages; ++k)
    os << "  - {name: cut" << k << ", after: " << layerName(ops[bounds[k] - 1]) << "}\n";
  return success();
}

} // namespace spire
