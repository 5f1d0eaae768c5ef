// plan-memory: gives every tensor a stage stores a place in the stage's
// arena, packed by lifetime, and records it as attributes (`arena` on each
// kernel, `spire.stages` on the model function).
#include "KernelParts.h"
#include "spire/Analysis/Stages.h"
#include "spire/Analysis/Summary.h"
#include "spire/BundleFormat.h"
#include "spire/Codegen/Passes.h"

#include "llvm/Support/MathExtras.h"

#include <functional>
#include <limits>
#include <numeric>

using namespace mlir;

namespace spire {
#define GEN_PASS_DEF_PLANMEMORY
#include "spire/Codegen/Passes.h.inc"

namespace {

// The value whose buffer v is: aliases (flatten, reshape, dropout) share
// their input's.
Value root(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isAlias(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

// A stored value's (or a scratch buffer's) bytes per sample and the
// dispatches from its first write to its last read.
struct Interval {
  Value value;
  int64_t size, begin, end;
};

// Lowest-free-offset packing in one order: each interval goes at the
// lowest offset where it overlaps no placed interval that lives at the
// same time. Returns the offsets and the arena size.
std::pair<std::vector<int64_t>, int64_t> pack(const std::vector<Interval> &intervals,
                                              ArrayRef<size_t> order) {
  // Placed intervals by the time buckets they cover, so an interval meets
  // only those near its lifetime: scanning every placed one made a stage
  // of 10^4 kernels quadratic.
  constexpr int64_t kBucket = 16;
  int64_t horizon = 0;
  for (const Interval &iv : intervals)
    horizon = std::max(horizon, iv.end);
  std::vector<std::vector<size_t>> buckets(horizon / kBucket + 1);
  std::vector<size_t> seen(intervals.size(), SIZE_MAX); // last query that met it
  std::vector<int64_t> at(intervals.size());
  int64_t size = 0;
  for (auto [n, i] : llvm::enumerate(order)) {
    const Interval &iv = intervals[i];
    // Candidate offsets: 0 and the end of every overlapping placed value.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int64_t b = iv.begin / kBucket; b <= iv.end / kBucket; ++b)
      for (size_t j : buckets[b]) {
        const Interval &other = intervals[j];
        if (seen[j] == n || other.begin > iv.end || iv.begin > other.end)
          continue;
        seen[j] = n;
        busy.push_back({at[j], at[j] + other.size});
      }
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [b, e] : busy)
      if (offset + iv.size > b && offset < e)
        offset = std::max(offset, e);
    at[i] = offset;
    size = std::max(size, offset + iv.size);
    for (int64_t b = iv.begin / kBucket; b <= iv.end / kBucket; ++b)
      buckets[b].push_back(i);
  }
  return {at, size};
}

// Time advances by dispatch, not by kernel: every dispatch is followed by a
// barrier, so a buffer read by one dispatch can be overwritten by the next.
FailureOr<StageMemoryAttr> planStage(MLIRContext *ctx, const SpecStage &stage) {
  std::vector<Interval> intervals;
  llvm::DenseMap<Value, size_t> index;
  auto touch = [&](Value v, int64_t time, bool define) {
    v = root(v);
    auto [it, inserted] = index.try_emplace(v, intervals.size());
    if (inserted)
      intervals.push_back({v, static_cast<int64_t>(llvm::alignTo(perSampleBytes(v), bundle::kRegionAlignment)), time, time});
    Interval &iv = intervals[it->second];
    if (define)
      iv.begin = std::min(iv.begin, time);
    iv.end = std::max(iv.end, time);
  };
  for (Value v : stage.inputs)
    touch(v, 0, true);
  struct Placed {
    KernelOp kernel;
    size_t firstScratch;
    int64_t numScratch;
  };
  std::vector<Placed> kernels;
  int64_t t = 1; // the kernel's first dispatch
  for (Operation *op : stage.ops) {
    auto kernel = llvm::dyn_cast<KernelOp>(op);
    if (!kernel)
      continue;
    FailureOr<KernelParts> found = KernelParts::of(kernel);
    if (failed(found))
      return failure();
    const KernelParts &parts = *found;
    FailureOr<std::vector<int64_t>> layout = parameterLayout(parts);
    if (failed(layout))
      return failure();
    std::vector<DispatchPart> dispatches = dispatchParts(parts, layout->size());
    int64_t last = t + dispatches.size() - 1;
    // The result lives from the first dispatch that writes it (a concat's
    // first, attention's last), the residual is read with the last
    // dispatch's stores, all else from the first.
    int64_t written = t + llvm::find_if(dispatches, [](const DispatchPart &d) {
                            return d.bindings[0].kind == BindingSource::Kind::Result;
                          }) - dispatches.begin();
    unsigned numRead = kernel->getNumOperands() - parts.numResiduals;
    for (Value operand : kernel->getOperands().take_front(numRead))
      touch(operand, t, false);
    for (Value residual : kernel->getOperands().drop_front(numRead))
      touch(residual, last, false);
    touch(kernel.getResult(), written, true);
    std::vector<ScratchBuffer> scratch = scratchBuffers(parts);
    kernels.push_back({kernel, intervals.size(), static_cast<int64_t>(scratch.size())});
    for (const ScratchBuffer &s : scratch)
      intervals.push_back({Value(), static_cast<int64_t>(llvm::alignTo(s.bytes, bundle::kRegionAlignment)),
                           t + s.firstPart, t + s.lastPart});
    t = last + 1;
  }
  for (Value v : stage.outputs)
    touch(v, t, false);

  // No one order wins everywhere (largest first strands a long-lived tensor
  // above short-lived large ones: ViT's block input over attention's
  // scores), so every order is tried and the smallest arena kept.
  auto lifetime = [&](size_t i) { return intervals[i].end - intervals[i].begin; };
  auto area = [&](size_t i) { return intervals[i].size * (lifetime(i) + 1); };
  std::vector<std::function<bool(size_t, size_t)>> orders = {
      [&](size_t a, size_t b) { return intervals[a].size > intervals[b].size; },
      [&](size_t a, size_t b) {
        return std::pair(lifetime(a), intervals[a].size) > std::pair(lifetime(b), intervals[b].size);
      },
      [&](size_t a, size_t b) { return area(a) > area(b); }};
  int64_t arena = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> offsets;
  for (const auto &before : orders) {
    std::vector<size_t> order(intervals.size());
    std::iota(order.begin(), order.end(), 0);
    llvm::stable_sort(order, before);
    auto [at, size] = pack(intervals, order);
    if (size < arena) {
      arena = size;
      offsets = std::move(at);
    }
  }

  auto offsetOf = [&](Value v) { return offsets[index.lookup(root(v))]; };
  for (Placed &p : kernels) {
    SmallVector<int64_t> operands, scratch;
    for (Value operand : p.kernel->getOperands())
      operands.push_back(offsetOf(operand));
    for (int64_t i = 0; i < p.numScratch; ++i)
      scratch.push_back(offsets[p.firstScratch + i]);
    p.kernel.setArenaAttr(
        ArenaAttr::get(ctx, offsetOf(p.kernel.getResult()), DenseI64ArrayAttr::get(ctx, operands),
                       DenseI64ArrayAttr::get(ctx, scratch)));
  }
  SmallVector<int64_t> inputs, outputs;
  for (Value v : stage.inputs)
    inputs.push_back(offsetOf(v));
  for (Value v : stage.outputs)
    outputs.push_back(offsetOf(v));
  return StageMemoryAttr::get(ctx, std::max<int64_t>(arena, bundle::kRegionAlignment),
                              DenseI64ArrayAttr::get(ctx, inputs),
                              DenseI64ArrayAttr::get(ctx, outputs));
}

struct PlanMemory : impl::PlanMemoryBase<PlanMemory> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<Attribute> stages;
    for (const SpecStage &stage : computeStages(func)) {
      if (llvm::any_of(stage.ops, [](Operation *op) {
            return !llvm::isa<KernelOp>(op) && !isAlias(op);
          })) {
        func.emitOpError("has layers outside kernels; run spire-form-kernels first");
        return signalPassFailure();
      }
      FailureOr<StageMemoryAttr> planned = planStage(func.getContext(), stage);
      if (failed(planned))
        return signalPassFailure();
      stages.push_back(*planned);
    }
    func->setAttr(kStagesAttr, ArrayAttr::get(func.getContext(), stages));
  }
};

} // namespace
} // namespace spire
