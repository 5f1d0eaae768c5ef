// SpirvPushConstants (Passes.td): push-constant placeholders as loads of
// the kernel's push-constant block.
#include "spire/Codegen/Passes.h"

#include "mlir/Dialect/SPIRV/Transforms/SPIRVConversion.h"

using namespace mlir;

namespace spire {

#define GEN_PASS_DEF_SPIRVPUSHCONSTANTS
#include "spire/Codegen/Passes.h.inc"

namespace {

struct SpirvPushConstants : impl::SpirvPushConstantsBase<SpirvPushConstants> {
  void runOnOperation() override {
    spirv::ModuleOp module = getOperation();
    SmallVector<std::pair<spirv::UndefOp, int64_t>> reads;
    int64_t count = 0;
    module.walk([&](spirv::UndefOp undef) {
      if (auto k = undef->getAttrOfType<IntegerAttr>(kPushConstantAttr)) {
        reads.push_back({undef, k.getInt()});
        count = std::max(count, k.getInt() + 1);
      }
    });
    if (reads.empty())
      return;
    // The bundle passes `count` values: each must be read.
    llvm::SmallBitVector seen(count);
    for (auto [undef, k] : reads) {
      if (k < 0 || !undef.getType().isInteger(32)) {
        undef.emitOpError("reads push constant ") << k << " as " << undef.getType()
                                                   << "; push constants are i32 from 0 up";
        return signalPassFailure();
      }
      seen.set(k);
    }
    if (!seen.all()) {
      module.emitOpError("reads push constants up to ")
          << count - 1 << " but not " << seen.find_first_unset();
      return signalPassFailure();
    }
    OpBuilder b(module.getContext());
    for (auto [undef, k] : reads) {
      b.setInsertionPoint(undef);
      Value value = spirv::getPushConstantValue(undef, count, k, b.getI32Type(), b);
      undef.replaceAllUsesWith(value);
      undef.erase();
    }
    module->setAttr(kPushConstantsAttr, b.getI32IntegerAttr(count));
  }
};

} // namespace
} // namespace spire
