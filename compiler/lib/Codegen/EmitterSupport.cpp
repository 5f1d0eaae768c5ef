#include "EmitterSupport.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;

namespace spire {

ArrayRef<int64_t> shapeOf(Value v) { return llvm::cast<RankedTensorType>(v.getType()).getShape(); }

int64_t dimIndex(uint64_t dim, Value v) {
  auto d = static_cast<int64_t>(dim);
  return d < 0 ? d + static_cast<int64_t>(shapeOf(v).size()) : d;
}

int64_t perSample(Value v) {
  int64_t n = 1;
  for (int64_t d : shapeOf(v).drop_front())
    n *= d;
  return n;
}

Value applyActivation(KernelBuilder &kb, Operation *act, Value x) {
  auto relu6 = [&](Value v) { return kb.fmin(kb.fmax(v, kb.f32(0)), kb.f32(6)); };
  return llvm::TypeSwitch<Operation *, Value>(act)
      .Case<ReluOp>([&](auto) { return kb.fmax(x, kb.f32(0)); })
      .Case<Relu6Op>([&](auto) { return relu6(x); })
      // As PyTorch computes them: the product before the division.
      .Case<HardswishOp>([&](auto) {
        return kb.fdiv(kb.fmul(x, relu6(kb.fadd(x, kb.f32(3)))), kb.f32(6));
      })
      .Case<HardsigmoidOp>([&](auto) { return kb.fdiv(relu6(kb.fadd(x, kb.f32(3))), kb.f32(6)); })
      .Case<LeakyReluOp>([&](LeakyReluOp op) {
        return kb.select(kb.fgt(x, kb.f32(0)), x,
                         kb.fmul(x, kb.f32(op.getNegativeSlope().convertToDouble())));
      })
      .Case<AffineOp>([&](AffineOp op) {
        return kb.fadd(kb.fmul(x, kb.f32(op.getScale().convertToDouble())),
                       kb.f32(op.getShift().convertToDouble()));
      })
      .Case<GeluOp>([&](GeluOp op) {
        // 1 + erf(x / sqrt 2), or PyTorch's 1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)).
        Value phi;
        if (op.getApproximate() == "tanh") {
          Value cube = kb.fmul(kb.fmul(x, x), x);
          Value inner = kb.fmul(kb.f32(M_2_SQRTPI * M_SQRT1_2), kb.fadd(x, kb.fmul(kb.f32(0.044715), cube)));
          phi = kb.fadd(kb.f32(1), kb.tanh(inner));
        } else {
          phi = kb.fadd(kb.f32(1), kb.erf(kb.fmul(x, kb.f32(M_SQRT1_2))));
        }
        return kb.fmul(kb.fmul(kb.f32(0.5), x), phi);
      })
      .Case<SigmoidOp>([&](auto) {
        return kb.fdiv(kb.f32(1), kb.fadd(kb.f32(1), kb.exp(kb.fsub(kb.f32(0), x))));
      })
      .Case<SiluOp>([&](auto) {
        return kb.fdiv(x, kb.fadd(kb.f32(1), kb.exp(kb.fsub(kb.f32(0), x))));
      })
      .Case<TanhOp>([&](auto) { return kb.tanh(x); })
      .Default([](Operation *) -> Value { llvm_unreachable("isActivation lists every activation"); });
}

Value combine(KernelBuilder &kb, Operation *binary, Value lhs, Value rhs) {
  return llvm::TypeSwitch<Operation *, Value>(binary)
      .Case<AddOp>([&](auto) { return kb.fadd(lhs, rhs); })
      .Case<SubOp>([&](auto) { return kb.fsub(lhs, rhs); })
      .Case<MulOp>([&](auto) { return kb.fmul(lhs, rhs); })
      .Case<DivOp>([&](auto) { return kb.fdiv(lhs, rhs); })
      .Default([](Operation *) -> Value {
        llvm_unreachable("isElementwiseBinary lists every binary op");
      });
}

Value epilogue(KernelBuilder &kb, const KernelSpec &spec, ArrayRef<Value> residuals, Value v) {
  for (const EpilogueStep &step : spec.epilogue) {
    if (step.residual < 0) {
      v = applyActivation(kb, step.op, v);
      continue;
    }
    Value r = residuals[step.residual];
    v = step.residualFirst ? combine(kb, step.op, r, v) : combine(kb, step.op, v, r);
  }
  return v;
}

BroadcastRead::BroadcastRead(ArrayRef<int64_t> out, ArrayRef<int64_t> operand) {
  // Shapes with sizes of the size symbols (dynamic in the type) are read
  // element for element: servesSizeSymbols admits no other.
  auto dynamic = [](int64_t d) { return mlir::ShapedType::isDynamic(d); };
  if (llvm::any_of(out.drop_front(), dynamic) || llvm::any_of(operand.drop_front(), dynamic)) {
    groups_.push_back({1, 1, 1, false});
    return;
  }
  // Dims of 1 in the output have one coordinate: they are left out. The
  // batch (dim 0, never broadcast) opens the first group.
  int64_t outStride = 1, operandStride = 1;
  for (size_t d = out.size(); d-- > 1;) {
    if (out[d] == 1)
      continue;
    bool repeated = operand[d] == 1;
    if (groups_.empty() || groups_.back().repeated != repeated)
      groups_.push_back({1, outStride, repeated ? 0 : operandStride, repeated});
    groups_.back().size *= out[d];
    outStride *= out[d];
    operandStride *= operand[d];
  }
  if (groups_.empty() || groups_.back().repeated)
    groups_.push_back({1, outStride, operandStride, false});
  std::reverse(groups_.begin(), groups_.end());
}

bool BroadcastRead::identity() const { return groups_.size() == 1; }

bool BroadcastRead::vectorized(int64_t width) const {
  return identity() || (!groups_.back().repeated && groups_.back().size % width == 0);
}

void BroadcastRead::prepare(KernelBuilder &kb, unsigned buffer, int64_t width) const {
  if (width > 1 && vectorized(width))
    kb.useVectors(buffer, width);
}

Value BroadcastRead::index(KernelBuilder &kb, Value outIndex) const {
  Value index;
  for (auto [i, g] : llvm::enumerate(groups_)) {
    if (g.repeated)
      continue;
    Value coord = g.outStride == 1 ? outIndex : kb.div(outIndex, g.outStride);
    if (i > 0) // the first group holds the batch: no bound to wrap at
      coord = kb.rem(coord, g.size);
    coord = kb.mul(coord, g.operandStride);
    index = index ? kb.add(index, coord) : coord;
  }
  return index;
}

Values BroadcastRead::read(KernelBuilder &kb, unsigned buffer, Value first, int64_t width) const {
  if (width == 1)
    return {kb.load(buffer, index(kb, first))};
  if (vectorized(width))
    return kb.loadVector(buffer, kb.div(index(kb, first), width));
  // A run within one repeated stretch reads one element for all.
  if (groups_.back().repeated && groups_.back().size % width == 0)
    return Values(width, kb.load(buffer, index(kb, first)));
  Values v;
  for (int64_t e = 0; e < width; ++e)
    v.push_back(kb.load(buffer, index(kb, kb.add(first, e))));
  return v;
}

// How the epilogue reads residual k: broadcast to the output of its step.
static BroadcastRead residualRead(const KernelSpec &spec, unsigned k) {
  for (const EpilogueStep &step : spec.epilogue)
    if (step.residual == static_cast<int>(k))
      return BroadcastRead(shapeOf(step.op->getResult(0)), shapeOf(step.residualValue()));
  llvm_unreachable("every residual is read by an epilogue step");
}

void useOutputVectors(KernelBuilder &kb, const KernelSpec &spec, int64_t width) {
  if (width == 1)
    return;
  kb.useVectors(0, width);
  for (unsigned k = 0; k < spec.numResiduals; ++k)
    residualRead(spec, k).prepare(kb, spec.residual(k), width);
}

void storeRun(KernelBuilder &kb, const KernelSpec &spec, Value first, ArrayRef<Value> v) {
  int64_t width = v.size();
  // residual[k][e]: residual buffer k's element alongside output e.
  std::vector<Values> residual;
  for (unsigned k = 0; k < spec.numResiduals; ++k)
    residual.push_back(residualRead(spec, k).read(kb, spec.residual(k), first, width));
  Values out;
  for (int64_t e = 0; e < width; ++e) {
    Values r;
    for (const Values &res : residual)
      r.push_back(res[e]);
    out.push_back(epilogue(kb, spec, r, v[e]));
  }
  if (width == 1)
    kb.store(0, first, out[0]);
  else
    kb.storeVector(0, kb.div(first, width), out);
}

void finish(KernelBuilder &kb, const KernelSpec &spec, Value outBase, Value index, Value v) {
  storeRun(kb, spec, kb.add(outBase, index), {v});
}

Values accumulateTile(KernelBuilder &kb, ValueRange acc, int64_t rows, int64_t cols,
                      int64_t terms, llvm::function_ref<Value(int64_t, int64_t)> a,
                      llvm::function_ref<Value(int64_t, int64_t)> b) {
  Values next;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = 0; k < cols; ++k) {
      Value sum = acc[i * cols + k];
      for (int64_t u = 0; u < terms; ++u)
        sum = kb.fadd(sum, kb.fmul(a(u, i), b(u, k)));
      next.push_back(sum);
    }
  return next;
}

Bound::Bound(KernelBuilder &kb, const Dim &d) {
  if (std::optional<int64_t> c = d.value()) {
    n = *c;
    return;
  }
  n = kb.sizes()->max(d);
  v = kb.size(d);
}

void storeIfInside(KernelBuilder &kb, bool ragged, ArrayRef<std::pair<Value, Bound>> bounds,
                   const std::function<void()> &store) {
  if (!ragged)
    return store();
  Value inside;
  for (auto [index, count] : bounds) {
    Value below = count.exceeds(kb, index);
    inside = inside ? kb.both(inside, below) : below;
  }
  kb.ifThen(inside, store);
}

Values loadEach(KernelBuilder &kb, unsigned buffer, int64_t count,
                const std::function<Value(Value)> &at) {
  Values v;
  for (int64_t j = 0; j < count; ++j)
    v.push_back(kb.load(buffer, at(kb.idx(j))));
  return v;
}

Values loadShared(KernelBuilder &kb, unsigned buffer, int64_t count,
                  const std::function<Value(Value)> &at) {
  int64_t lanes = std::min(kb.tiles().broadcastLanes, count);
  if (lanes <= 1 || count % lanes != 0)
    return loadEach(kb, buffer, count, at);
  Values v;
  Value mine = kb.rem(kb.laneId(), lanes);
  for (int64_t r = 0; r < count; r += lanes) {
    Value loaded = kb.load(buffer, at(kb.add(mine, r)));
    for (int64_t j = 0; j < lanes; ++j)
      v.push_back(kb.broadcast(loaded, j));
  }
  return v;
}

Values loadConsecutive(KernelBuilder &kb, unsigned buffer, int64_t count, Value base) {
  Values v;
  for (int64_t t = 0; t < count; t += 4)
    llvm::append_range(v, kb.loadVector(buffer, kb.div(kb.add(base, t), 4)));
  return v;
}

Values loadSharedBlock(KernelBuilder &kb, unsigned buffer, int64_t count, Value base) {
  if (count % 4 != 0)
    return loadShared(kb, buffer, count, [&](Value j) { return kb.add(base, j); });
  if (kb.tiles().broadcastLanes < count / 4) // too few lanes to share: fetch them all
    return loadConsecutive(kb, buffer, count, base);
  Values v;
  Value mine = kb.rem(kb.laneId(), count / 4);
  Values fetched = kb.loadVector(buffer, kb.div(kb.add(base, kb.mul(mine, 4)), 4));
  for (int64_t j = 0; j < count; ++j)
    v.push_back(kb.broadcast(fetched[j % 4], j / 4));
  return v;
}

int64_t reductionStep(KernelBuilder &kb, int64_t k) {
  int64_t s = 1;
  while (s * 2 <= kb.tiles().reductionStep && k % (s * 2) == 0)
    s *= 2;
  return s;
}

int64_t storeWidth(int64_t run, int64_t row) {
  return run % 4 == 0 && row % 4 == 0 ? 4 : 1;
}

std::array<uint32_t, 3> forEachRun(KernelBuilder &kb, const KernelSpec &spec, const Dim &n,
                                   const Dim &run,
                                   const std::function<Values(Value, ArrayRef<Values>)> &body) {
  // Over sizes of the symbols, runs of 4 only where every admissible size
  // keeps them within `run` and the sample.
  int64_t width = kb.alwaysMultipleOf(n, 4) && kb.alwaysMultipleOf(run, 4) ? 4 : 1;
  // Inputs broadcast to the output as an elementwise anchor's operands may.
  std::vector<BroadcastRead> reads;
  for (unsigned i = 0; i < spec.numInputs; ++i) {
    reads.emplace_back(shapeOf(spec.anchor->getResult(0)), shapeOf(spec.anchor->getOperand(i)));
    kb.readAsTexels(spec.input(i));
    reads.back().prepare(kb, spec.input(i), width);
  }
  useOutputVectors(kb, spec, width);
  return kb.forEachItem(n.floorDiv(width), [&](Value item) {
    Value first = kb.mul(item, width), at = kb.add(Bound(kb, n).times(kb, kb.batch()), first);
    std::vector<Values> x;
    for (unsigned i = 0; i < spec.numInputs; ++i)
      x.push_back(reads[i].read(kb, spec.input(i), at, width));
    storeRun(kb, spec, at, body(first, x));
  });
}

} // namespace spire
