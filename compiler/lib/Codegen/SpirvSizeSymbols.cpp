// SpirvSizeSymbols (Passes.td): size symbols as specialization constants.
#include "SizeSymbols.h"
#include "spire/Codegen/Passes.h"

using namespace mlir;

namespace spire {

#define GEN_PASS_DEF_SPIRVSIZESYMBOLS
#include "spire/Codegen/Passes.h.inc"

namespace {

struct SpirvSizeSymbols : impl::SpirvSizeSymbolsBase<SpirvSizeSymbols> {
  void runOnOperation() override {
    spirv::ModuleOp module = getOperation();
    OpBuilder b(module.getContext());
    SmallVector<int32_t> symbols; // by SpecId
    llvm::DenseMap<int64_t, spirv::SpecConstantOp> constants;
    module.walk([&](spirv::UndefOp undef) {
      auto symbol = undef->getAttrOfType<IntegerAttr>(kSizeSymbolAttr);
      if (!symbol)
        return;
      spirv::SpecConstantOp &constant = constants[symbol.getInt()];
      if (!constant) {
        b.setInsertionPointToStart(module.getBody());
        constant = spirv::SpecConstantOp::create(
            b, undef.getLoc(), b.getStringAttr("spire_size_" + std::to_string(symbol.getInt())),
            b.getI32IntegerAttr(1));
        // The decoration the serializer writes as OpDecorate SpecId.
        constant->setAttr("spec_id", b.getI32IntegerAttr(symbols.size()));
        symbols.push_back(static_cast<int32_t>(symbol.getInt()));
      }
      b.setInsertionPoint(undef);
      auto ref = spirv::ReferenceOfOp::create(b, undef.getLoc(), undef.getType(),
                                              constant.getSymName());
      undef.replaceAllUsesWith(ref.getResult());
      undef.erase();
    });
    if (!symbols.empty())
      module->setAttr(kSpecConstantsAttr, b.getDenseI32ArrayAttr(symbols));
  }
};

} // namespace
} // namespace spire
