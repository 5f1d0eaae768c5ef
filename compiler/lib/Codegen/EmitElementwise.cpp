// Elementwise layers: activations and binary ops (add, sub, mul, div).
#include "Emitters.h"

using namespace mlir;

namespace spire {

std::array<uint32_t, 3> emitElementwise(KernelBuilder &kb, const KernelSpec &spec,
                                        Operation *op) {
  Shape out = dimsOf(op->getResult(0));
  Dim n = product(out, 1, out.size(), op->getContext());
  bool binary = isElementwiseBinary(op);
  return forEachRun(kb, spec, n, n, [&](Value, ArrayRef<Values> x) {
    Values y;
    for (size_t e = 0; e < x[0].size(); ++e)
      y.push_back(binary ? combine(kb, op, x[0][e], x[1][e])
                         : applyActivation(kb, op, x[0][e]));
    return y;
  });
}

} // namespace spire
