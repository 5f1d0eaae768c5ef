// emit-kernels: generates each dispatch of every `spire.kernel` as a
// gpu.func in a gpu.module of its own, from the kernel's body and its
// #spire.kernel_config alone (and one more for each of its size classes,
// from theirs), and records the dispatches on the kernel.
#include "KernelParts.h"
#include "SizeSymbols.h"
#include "spire/Codegen/Passes.h"

// The dialects of the emitted kernels (the pass's dependentDialects).
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace spire {
#define GEN_PASS_DEF_EMITKERNELS
#include "spire/Codegen/Passes.h.inc"

namespace {

// "s0_k3_conv1_bn1": stage, kernel index in the model, the kernel's label
// as an identifier.
std::string kernelName(size_t stage, size_t index, llvm::StringRef label) {
  std::string name = "s" + std::to_string(stage) + "_k" + std::to_string(index) + "_";
  for (char c : label)
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

struct EmitKernels : impl::EmitKernelsBase<EmitKernels> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      size_t stage = 0, index = 0;
      for (Operation &op : func.getBody().front()) {
        if (llvm::isa<SplitOp>(op))
          ++stage;
        auto kernel = llvm::dyn_cast<KernelOp>(op);
        if (kernel && failed(emit(module, kernel, stage, index)))
          return signalPassFailure();
      }
    }
  }

  LogicalResult emit(ModuleOp module, KernelOp kernel, size_t stage, size_t &index) {
    MLIRContext *ctx = module.getContext();
    KernelConfigAttr config = kernel.getConfigAttr();
    if (!config)
      return kernel.emitOpError("has no kernel_config; run spire-select-kernel-config first");
    FailureOr<KernelParts> parts = KernelParts::of(kernel);
    if (failed(parts))
      return failure();
    FailureOr<std::vector<int64_t>> layout = parameterLayout(*parts);
    if (failed(layout))
      return failure();
    std::string label = parts->label();
    std::optional<ModelSizes> sizes = ModelSizes::of(kernel);
    std::vector<DispatchPart> partList = dispatchParts(*parts, layout->size());
    ArrayAttr classes = kernel.getSizeClassesAttr();
    if (classes && (partList.size() != 1 || !sizes))
      return kernel.emitOpError("has size classes but is not one dispatch over ranged sizes");
    SmallVector<Attribute> dispatches, gridMaps;
    // One dispatch of `part` with `tiles`, over `sizes` (its size class's
    // where it has one), running `when` it says.
    auto emitDispatch = [&](const DispatchPart &part, const TileConfig &tiles,
                            const ModelSizes *sizes, SizeCaseAttr when) -> LogicalResult {
      std::string name = kernelName(stage, index++, label);
      KernelBuilder kb(module, name, part.spec.numBuffers(), parts->anchor->getLoc(), tiles);
      kb.setSizes(sizes);
      FailureOr<std::array<uint32_t, 3>> grid = emitKernel(kb, part.spec);
      if (failed(grid))
        return failure();
      if (kb.error())
        return emitError(parts->anchor->getLoc())
               << "layer '" << label << "' " << *kb.error()
               << "; bind the size symbols with --set to compile for one size";
      if (sizes) {
        SmallVector<AffineExpr> exprs;
        for (size_t i = 0; i < 3; ++i)
          exprs.push_back(kb.gridSizes() ? (*kb.gridSizes())[i].expr()
                                         : getAffineConstantExpr((*grid)[i], ctx));
        gridMaps.push_back(
            AffineMapAttr::get(AffineMap::get(0, sizes->names().size(), exprs, ctx)));
      }
      SmallVector<int64_t> texels(kb.texelBuffers().begin(), kb.texelBuffers().end());
      SmallVector<int64_t> vec4;
      for (int32_t b : kb.vec4TexelBuffers())
        vec4.push_back(b);
      SmallVector<int64_t> gridSizes(grid->begin(), grid->end());
      dispatches.push_back(DispatchAttr::get(
          ctx, name, DenseI64ArrayAttr::get(ctx, gridSizes), kb.workgroupSize(),
          kb.subgroupLanesNeeded(), DenseI64ArrayAttr::get(ctx, texels),
          DenseI64ArrayAttr::get(ctx, vec4),
          kb.pushConstants().empty() ? DenseI64ArrayAttr()
                                     : DenseI64ArrayAttr::get(ctx, kb.pushConstants()),
          when));
      return success();
    };
    if (classes) {
      // Each class's dispatch, then the kernel's own for the other sizes.
      SmallVector<int64_t> classValues;
      for (auto c : classes.getAsRange<SizeClassAttr>()) {
        Dim key(c.getKey().getResult(0));
        ModelSizes only = sizes->where(key, c.getValues().asArrayRef());
        if (failed(emitDispatch(partList[0], tilesOf(c.getConfig()), &only,
                                SizeCaseAttr::get(ctx, c.getKey(), c.getValues(), false))))
          return failure();
        llvm::append_range(classValues, c.getValues().asArrayRef());
      }
      llvm::sort(classValues);
      AffineMap key = llvm::cast<SizeClassAttr>(classes[0]).getKey();
      if (failed(emitDispatch(partList[0], tilesOf(config), &*sizes,
                              SizeCaseAttr::get(ctx, key, DenseI64ArrayAttr::get(ctx, classValues),
                                                true))))
        return failure();
    } else {
      for (const DispatchPart &part : partList)
        if (failed(emitDispatch(part, tilesOf(config), sizes ? &*sizes : nullptr, nullptr)))
          return failure();
    }
    kernel.setDispatchesAttr(ArrayAttr::get(ctx, dispatches));
    if (sizes)
      kernel->setAttr(kGridSizesAttr, ArrayAttr::get(ctx, gridMaps));
    return success();
  }
};

} // namespace
} // namespace spire
