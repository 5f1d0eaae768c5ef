// Normalizations: batch norm (when not folded into a conv or linear layer),
// layer norm, softmax, L2 normalization.
#include "Emitters.h"


using namespace mlir;

namespace spire {

std::array<uint32_t, 3> emitBatchnorm(KernelBuilder &kb, const KernelSpec &spec, Operation *op) {
  // Positions per channel: a number, or an expression of the size symbols.
  Shape in = dimsOf(op->getOperand(0));
  Dim S = product(in, 2, in.size(), op->getContext());
  return forEachRun(kb, spec, S * in[1], S, [&](Value first, ArrayRef<Values> x) {
    Value c = Bound(kb, S).divide(kb, first);
    Value scale = kb.load(spec.param(0), c), shift = kb.load(spec.param(1), c);
    Values y;
    for (Value v : x[0])
      y.push_back(kb.fadd(kb.fmul(v, scale), shift));
    return y;
  });
}

std::array<uint32_t, 3> emitLayernorm(KernelBuilder &kb, const KernelSpec &spec, LayernormOp op) {
  int64_t C = shapeOf(op.getInput()).back(), n = perSample(op.getInput()), R = n / C;
  double eps = op.getEps().convertToDouble();
  return kb.forEachItem(R, [&](Value row) {
    Value base = kb.add(kb.sampleBase(n), kb.mul(row, C));
    Value sum = kb.loop(0, C, {kb.f32(0)}, [&](Value i, ValueRange acc) {
      return Values{kb.fadd(acc[0], kb.load(spec.input(0), kb.add(base, i)))};
    })[0];
    Value mean = kb.fdiv(sum, kb.f32(C));
    Value sq = kb.loop(0, C, {kb.f32(0)}, [&](Value i, ValueRange acc) {
      Value d = kb.fsub(kb.load(spec.input(0), kb.add(base, i)), mean);
      return Values{kb.fadd(acc[0], kb.fmul(d, d))};
    })[0];
    Value inv = kb.fdiv(kb.f32(1), kb.sqrt(kb.fadd(kb.fdiv(sq, kb.f32(C)), kb.f32(eps))));
    kb.loop(0, C, {}, [&](Value i, ValueRange) {
      Value x = kb.load(spec.input(0), kb.add(base, i));
      Value y = kb.fmul(kb.fsub(x, mean), inv);
      y = kb.fadd(kb.fmul(y, kb.load(spec.param(0), i)), kb.load(spec.param(1), i));
      finish(kb, spec, kb.sampleBase(n), kb.add(kb.mul(row, C), i), y);
      return Values{};
    });
  });
}

// Calls body(D, at) once per line of `input` along `dim` (a thread a
// line), at(d) being the flat index of the line's d-th of D elements.
template <typename Body>
static std::array<uint32_t, 3> forEachLine(KernelBuilder &kb, Value input, int64_t dimAttr,
                                           Body body) {
  ArrayRef<int64_t> shape = shapeOf(input);
  int64_t dim = dimIndex(dimAttr, input);
  int64_t D = shape[dim], inner = 1, n = perSample(input);
  for (size_t i = dim + 1; i < shape.size(); ++i)
    inner *= shape[i];
  int64_t outer = n / (D * inner);
  return kb.forEachItem(outer * inner, [&](Value item) {
    Value base = kb.add(kb.sampleBase(n),
                        kb.add(kb.mul(kb.div(item, inner), D * inner), kb.rem(item, inner)));
    body(D, [&](Value d) { return kb.add(base, kb.mul(d, inner)); });
  });
}

std::array<uint32_t, 3> emitSoftmax(KernelBuilder &kb, const KernelSpec &spec, SoftmaxOp op) {
  return forEachLine(kb, op.getInput(), op.getDim(), [&](int64_t D, auto at) {
    Value max = kb.loop(0, D, {kb.f32(-3.4028234663852886e38)}, [&](Value d, ValueRange acc) {
      return Values{kb.fmax(acc[0], kb.load(spec.input(0), at(d)))};
    })[0];
    Value sum = kb.loop(0, D, {kb.f32(0)}, [&](Value d, ValueRange acc) {
      return Values{kb.fadd(acc[0], kb.exp(kb.fsub(kb.load(spec.input(0), at(d)), max)))};
    })[0];
    kb.loop(0, D, {}, [&](Value d, ValueRange) {
      Value e = kb.exp(kb.fsub(kb.load(spec.input(0), at(d)), max));
      finish(kb, spec, kb.idx(0), at(d), kb.fdiv(e, sum));
      return Values{};
    });
  });
}

std::array<uint32_t, 3> emitNormalize(KernelBuilder &kb, const KernelSpec &spec, NormalizeOp op) {
  double eps = op.getEps().convertToDouble();
  return forEachLine(kb, op.getInput(), op.getDim(), [&](int64_t D, auto at) {
    Value squares = kb.loop(0, D, {kb.f32(0)}, [&](Value d, ValueRange acc) {
      Value x = kb.load(spec.input(0), at(d));
      return Values{kb.fadd(acc[0], kb.fmul(x, x))};
    })[0];
    Value norm = kb.fmax(kb.sqrt(squares), kb.f32(eps));
    kb.loop(0, D, {}, [&](Value d, ValueRange) {
      finish(kb, spec, kb.idx(0), at(d), kb.fdiv(kb.load(spec.input(0), at(d)), norm));
      return Values{};
    });
  });
}

} // namespace spire
