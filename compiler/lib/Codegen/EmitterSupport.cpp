#include "EmitterSupport.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;

namespace spire {

ArrayRef<int64_t> shapeOf(Value v) { return llvm::cast<RankedTensorType>(v.getType()).getShape(); }

int64_t perSample(Value v) {
  int64_t n = 1;
  for (int64_t d : shapeOf(v).drop_front())
    n *= d;
  return n;
}

Value applyActivation(KernelBuilder &kb, Operation *act, Value x) {
  return llvm::TypeSwitch<Operation *, Value>(act)
      .Case<ReluOp>([&](auto) { return kb.fmax(x, kb.f32(0)); })
      .Case<Relu6Op>([&](auto) { return kb.fmin(kb.fmax(x, kb.f32(0)), kb.f32(6)); })
      .Case<HardswishOp>([&](auto) {
        Value relu6 = kb.fmin(kb.fmax(kb.fadd(x, kb.f32(3)), kb.f32(0)), kb.f32(6));
        return kb.fdiv(kb.fmul(x, relu6), kb.f32(6));
      })
      .Case<LeakyReluOp>([&](LeakyReluOp op) {
        return kb.select(kb.fgt(x, kb.f32(0)), x,
                         kb.fmul(x, kb.f32(op.getNegativeSlope().convertToDouble())));
      })
      .Case<GeluOp>([&](auto) {
        Value phi = kb.fadd(kb.f32(1), kb.erf(kb.fmul(x, kb.f32(M_SQRT1_2))));
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

Value epilogue(KernelBuilder &kb, const KernelSpec &spec, ArrayRef<Value> residuals, Value v) {
  for (const EpilogueStep &step : spec.epilogue) {
    if (step.residual < 0)
      v = applyActivation(kb, step.op, v);
    else if (llvm::isa<AddOp>(step.op))
      v = kb.fadd(v, residuals[step.residual]);
    else if (llvm::isa<MulOp>(step.op))
      v = kb.fmul(v, residuals[step.residual]);
    else
      llvm_unreachable("KernelParts::of reads only adds and muls as residual steps");
  }
  return v;
}

void useOutputVectors(KernelBuilder &kb, const KernelSpec &spec, int64_t width) {
  if (width == 1)
    return;
  kb.useVectors(0, width);
  for (unsigned k = 0; k < spec.numResiduals; ++k)
    kb.useVectors(spec.residual(k), width);
}

void storeRun(KernelBuilder &kb, const KernelSpec &spec, Value first, ArrayRef<Value> v) {
  int64_t width = v.size();
  // residual[k][e]: residual buffer k's element alongside output e.
  std::vector<Values> residual;
  for (unsigned k = 0; k < spec.numResiduals; ++k)
    residual.push_back(width == 1 ? Values{kb.load(spec.residual(k), first)}
                                  : kb.loadVector(spec.residual(k), kb.div(first, width)));
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

void storeIfInside(KernelBuilder &kb, bool ragged, ArrayRef<std::pair<Value, int64_t>> bounds,
                   const std::function<void()> &store) {
  if (!ragged)
    return store();
  Value inside;
  for (auto [index, count] : bounds) {
    Value below = kb.lt(index, kb.idx(count));
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

std::array<uint32_t, 3> forEachRun(KernelBuilder &kb, const KernelSpec &spec, int64_t n,
                                   int64_t run,
                                   const std::function<Values(Value, ArrayRef<Values>)> &body) {
  int64_t width = n % 4 == 0 && run % 4 == 0 ? 4 : 1;
  for (unsigned i = 0; i < spec.numInputs; ++i) {
    kb.readAsTexels(spec.input(i));
    if (width > 1)
      kb.useVectors(spec.input(i), width);
  }
  useOutputVectors(kb, spec, width);
  return kb.forEachItem(n / width, [&](Value item) {
    Value first = kb.mul(item, width), at = kb.add(kb.sampleBase(n), first);
    std::vector<Values> x;
    for (unsigned i = 0; i < spec.numInputs; ++i)
      x.push_back(width > 1 ? kb.loadVector(spec.input(i), kb.div(at, width))
                            : Values{kb.load(spec.input(i), at)});
    storeRun(kb, spec, at, body(first, x));
  });
}

} // namespace spire
