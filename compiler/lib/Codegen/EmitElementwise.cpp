// Elementwise layers: activations, add, mul.
#include "Emitters.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace spire {

std::array<uint32_t, 3> emitElementwise(KernelBuilder &kb, const KernelSpec &spec,
                                        Operation *op) {
  int64_t n = perSample(op->getResult(0));
  return forEachRun(kb, spec, n, n, [&](Value, ArrayRef<Values> x) {
    Values y;
    for (size_t e = 0; e < x[0].size(); ++e)
      y.push_back(llvm::TypeSwitch<Operation *, Value>(op)
                      .Case<AddOp>([&](auto) { return kb.fadd(x[0][e], x[1][e]); })
                      .Case<MulOp>([&](auto) { return kb.fmul(x[0][e], x[1][e]); })
                      .Default([&](Operation *unary) {
                        return applyActivation(kb, unary, x[0][e]);
                      }));
    return y;
  });
}

} // namespace spire
