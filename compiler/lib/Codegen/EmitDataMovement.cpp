// Data movement: learned tensors, select, slice, concat, permute, transpose.
#include "Emitters.h"


using namespace mlir;

namespace spire {

std::array<uint32_t, 3> emitParameter(KernelBuilder &kb, const KernelSpec &spec, ParameterOp op) {
  int64_t n = perSample(op.getResult());
  return kb.forEachItem(n, [&](Value item) {
    finish(kb, spec, kb.sampleBase(n), item, kb.load(spec.param(0), item));
  });
}

namespace {
// Copies indices [start, start + length) of `dim` (select: length 1, the
// dim dropped from the result's shape, which leaves the element order).
std::array<uint32_t, 3> emitRange(KernelBuilder &kb, const KernelSpec &spec, Value input,
                                  Value result, int64_t dim, int64_t start, int64_t length) {
  ArrayRef<int64_t> in = shapeOf(input);
  dim = dimIndex(dim, input);
  int64_t inner = 1;
  for (size_t i = dim + 1; i < in.size(); ++i)
    inner *= in[i];
  int64_t D = in[dim], n = perSample(result);
  return kb.forEachItem(n, [&](Value item) {
    Value src = kb.add(kb.mul(kb.div(item, length * inner), D * inner),
                       kb.add(kb.rem(item, length * inner), start * inner));
    Value x = kb.load(spec.input(0), kb.add(kb.sampleBase(perSample(input)), src));
    finish(kb, spec, kb.sampleBase(n), item, x);
  });
}
} // namespace

std::array<uint32_t, 3> emitSelect(KernelBuilder &kb, const KernelSpec &spec, SelectOp op) {
  return emitRange(kb, spec, op.getInput(), op.getResult(), op.getDim(), op.getIndex(), 1);
}

std::array<uint32_t, 3> emitSlice(KernelBuilder &kb, const KernelSpec &spec, SliceOp op) {
  return emitRange(kb, spec, op.getInput(), op.getResult(), op.getDim(), op.getStart(),
                   static_cast<int64_t>(op.getEnd()) - static_cast<int64_t>(op.getStart()));
}

std::array<uint32_t, 3> emitConcatPart(KernelBuilder &kb, const KernelSpec &spec, ConcatOp op) {
  ArrayRef<int64_t> out = shapeOf(op.getResult());
  int64_t dim = dimIndex(op.getDim(), op.getResult());
  int64_t inner = 1, offset = 0;
  for (size_t i = dim + 1; i < out.size(); ++i)
    inner *= out[i];
  for (unsigned i = 0; i < spec.part; ++i)
    offset += shapeOf(op.getInputs()[i])[dim];
  Value input = op.getInputs()[spec.part];
  int64_t Di = shapeOf(input)[dim], n = perSample(input), Dout = out[dim];
  // Where the part goes and the output's row length come from the dispatch,
  // so the parts of one size share a kernel (a DenseNet's concats have
  // dozens of parts each, the same size but for the first).
  Value offsetAt = kb.pushConstant(offset * inner), row = kb.pushConstant(Dout * inner);
  int64_t outer = n / (Di * inner);
  Value outBase = kb.mul(kb.batch(), kb.mul(row, outer));
  return kb.forEachItem(n, [&](Value item) {
    Value x = kb.load(spec.input(0), kb.add(kb.sampleBase(n), item));
    // Concatenated along the first dim but the batch, a part is one run.
    Value at = outer == 1 ? kb.add(item, offsetAt)
                          : kb.add(kb.mul(kb.div(item, Di * inner), row),
                                   kb.add(kb.rem(item, Di * inner), offsetAt));
    finish(kb, spec, outBase, at, x);
  });
}

std::array<uint32_t, 3> emitPermutation(KernelBuilder &kb, const KernelSpec &spec, Value input,
                                        Value result, ArrayRef<int64_t> perm) {
  ArrayRef<int64_t> in = shapeOf(input), out = shapeOf(result);
  SmallVector<int64_t> inStride(in.size(), 1);
  for (int64_t i = in.size() - 2; i >= 1; --i)
    inStride[i] = inStride[i + 1] * in[i + 1];
  int64_t n = perSample(input);
  return kb.forEachItem(n, [&](Value item) {
    // Output coordinates, innermost first, mapped to the input's strides.
    Value rest = item, src = kb.idx(0);
    for (int64_t k = out.size() - 1; k >= 1; --k) {
      Value coord = kb.rem(rest, out[k]);
      rest = kb.div(rest, out[k]);
      src = kb.add(src, kb.mul(coord, inStride[perm[k]]));
    }
    Value x = kb.load(spec.input(0), kb.add(kb.sampleBase(n), src));
    finish(kb, spec, kb.sampleBase(n), item, x);
  });
}

std::array<uint32_t, 3> emitTranspose(KernelBuilder &kb, const KernelSpec &spec, TransposeOp op) {
  int64_t rank = shapeOf(op.getInput()).size();
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank; ++i)
    perm.push_back(i);
  std::swap(perm[dimIndex(op.getDim0(), op.getInput())], perm[dimIndex(op.getDim1(), op.getInput())]);
  return emitPermutation(kb, spec, op.getInput(), op.getResult(), perm);
}

} // namespace spire
