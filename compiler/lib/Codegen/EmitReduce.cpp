// Reductions over any dims: mean, sum, max.
#include "Emitters.h"

#include <limits>

using namespace mlir;

namespace spire {

namespace {

// Adjacent dims of the input that are all reduced or all kept: `size`
// elements `stride` apart.
struct Run {
  int64_t size, stride;
  bool reduced;
};

} // namespace

std::array<uint32_t, 3> emitReduce(KernelBuilder &kb, const KernelSpec &spec, Operation *op) {
  Value input = op->getOperand(0);
  ArrayRef<int64_t> in = shapeOf(input);
  SmallVector<bool> reduced(in.size(), false);
  for (int64_t d : op->getAttrOfType<DenseI64ArrayAttr>("dims").asArrayRef())
    reduced[d < 0 ? d + static_cast<int64_t>(in.size()) : d] = true;
  // Runs from the innermost dim out (the batch is the grid's); a dim of 1
  // has one coordinate and joins none.
  SmallVector<Run> runs;
  int64_t stride = 1;
  for (size_t d = in.size(); d-- > 1;) {
    if (in[d] == 1)
      continue;
    if (runs.empty() || runs.back().reduced != reduced[d])
      runs.push_back({1, stride, reduced[d]});
    runs.back().size *= in[d];
    stride *= in[d];
  }
  SmallVector<Run> kept, loops; // kept: innermost first; loops: outermost first
  for (const Run &r : runs)
    if (!r.reduced)
      kept.push_back(r);
  for (const Run &r : llvm::reverse(runs))
    if (r.reduced)
      loops.push_back(r);
  int64_t inN = perSample(input), outN = perSample(op->getResult(0));
  bool max = llvm::isa<MaxOp>(op);
  kb.readAsTexels(spec.input(0));
  return kb.forEachItem(outN, [&](Value item) {
    // The input element of the output's first reduced element.
    Value at = kb.sampleBase(inN);
    int64_t outer = 1;
    for (const Run &r : kept) {
      at = kb.add(at, kb.mul(kb.rem(kb.div(item, outer), r.size), r.stride));
      outer *= r.size;
    }
    // Loops k.. from input element `from`, accumulating into acc.
    std::function<Value(size_t, Value, Value)> reduce = [&](size_t k, Value from, Value acc) {
      if (k == loops.size()) {
        Value x = kb.load(spec.input(0), from);
        return max ? kb.fmax(acc, x) : kb.fadd(acc, x);
      }
      return kb.loop(0, loops[k].size, {acc}, [&](Value i, ValueRange carried) {
        return Values{reduce(k + 1, kb.add(from, kb.mul(i, loops[k].stride)), carried[0])};
      })[0];
    };
    Value init = kb.f32(max ? -std::numeric_limits<float>::infinity() : 0.0);
    Value v = reduce(0, at, init);
    if (llvm::isa<MeanOp>(op))
      v = kb.fdiv(v, kb.f32(inN / outN));
    finish(kb, spec, kb.sampleBase(outN), item, v);
  });
}

} // namespace spire
