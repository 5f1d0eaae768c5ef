// SpirvTexelInputs (Passes.td): storage buffers read as uniform texel buffers.
#include "spire/Codegen/Passes.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace spire {

#define GEN_PASS_DEF_SPIRVTEXELINPUTS
#include "spire/Codegen/Passes.h.inc"

namespace {

LogicalResult readAsTexels(spirv::ModuleOp module, ArrayRef<int32_t> bindings) {
  MLIRContext *ctx = module.getContext();
  auto image = spirv::ImageType::get(Float32Type::get(ctx), spirv::Dim::Buffer,
                                     spirv::ImageDepthInfo::NoDepth,
                                     spirv::ImageArrayedInfo::NonArrayed,
                                     spirv::ImageSamplingInfo::SingleSampled,
                                     spirv::ImageSamplerUseInfo::NeedSampler);
  auto imagePtr = spirv::PointerType::get(image, spirv::StorageClass::UniformConstant);
  auto texel = VectorType::get({4}, Float32Type::get(ctx));
  OpBuilder b(ctx);
  for (auto var : llvm::make_early_inc_range(module.getOps<spirv::GlobalVariableOp>())) {
    std::optional<uint32_t> binding = var.getBinding();
    if (!binding || !llvm::is_contained(bindings, static_cast<int32_t>(*binding)))
      continue;
    b.setInsertionPoint(var);
    std::string name = (var.getSymName() + "_texels").str();
    spirv::GlobalVariableOp::create(b, var.getLoc(), imagePtr, name,
                                    var.getDescriptorSet().value_or(0), *binding);
    // Every use: addressof -> access chain [0, i] -> load.
    SmallVector<spirv::AddressOfOp> addresses;
    module.walk([&](spirv::AddressOfOp a) {
      if (a.getVariable() == var.getSymName())
        addresses.push_back(a);
    });
    for (spirv::AddressOfOp address : addresses) {
      for (Operation *user : llvm::make_early_inc_range(address->getUsers())) {
        auto chain = llvm::dyn_cast<spirv::AccessChainOp>(user);
        if (!chain || chain.getIndices().size() != 2)
          return user->emitError("a texel input is used other than by element loads");
        for (Operation *use : llvm::make_early_inc_range(chain->getUsers())) {
          auto load = llvm::dyn_cast<spirv::LoadOp>(use);
          if (!load)
            return use->emitError("a texel input is written or used other than by loads");
          if (load.getType() != texel && !load.getType().isF32())
            return load.emitError("a texel input is loaded as ") << load.getType()
                   << ", not as f32 or vector<4xf32>";
          b.setInsertionPoint(load);
          Location loc = load.getLoc();
          Value handle = spirv::LoadOp::create(
              b, loc, spirv::AddressOfOp::create(b, loc, imagePtr, name).getResult());
          Value fetched = spirv::ImageFetchOp::create(b, loc, texel, handle, chain.getIndices()[1],
                                                      spirv::ImageOperandsAttr(), ValueRange{});
          // A vec4 load reads a whole texel (the runtime's view is then
          // R32G32B32A32_SFLOAT); a float load the first component.
          if (load.getType() != texel)
            fetched = spirv::CompositeExtractOp::create(b, loc, fetched, ArrayRef<int32_t>{0});
          load.replaceAllUsesWith(fetched);
          load.erase();
        }
        chain.erase();
      }
      address.erase();
    }
    var.erase();
  }
  return success();
}

struct SpirvTexelInputs : impl::SpirvTexelInputsBase<SpirvTexelInputs> {
  void runOnOperation() override {
    spirv::ModuleOp module = getOperation();
    auto bindings = module->getAttrOfType<DenseI32ArrayAttr>(kTexelBindingsAttr);
    if (!bindings)
      return;
    module->removeAttr(kTexelBindingsAttr);
    if (failed(readAsTexels(module, bindings.asArrayRef())))
      signalPassFailure();
  }
};

} // namespace
} // namespace spire
