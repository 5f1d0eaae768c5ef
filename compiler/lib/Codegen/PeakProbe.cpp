#include "spire/BundleFormat.h"
#include "spire/Codegen/Codegen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"

#include <cassert>

using namespace mlir;

namespace spire {

FailureOr<CompiledModel> buildPeakProbe(MLIRContext &ctx, int64_t invocations,
                                        int64_t iterations) {
  ctx.loadDialect<gpu::GPUDialect, arith::ArithDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, spirv::SPIRVDialect>();
  OwningOpRef<ModuleOp> kernels = ModuleOp::create(UnknownLoc::get(&ctx));
  (*kernels)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(&ctx));
  TileConfig tiles;
  KernelBuilder kb(*kernels, "peak_probe", 2, UnknownLoc::get(&ctx), tiles);
  constexpr int64_t kInputs = 64, kChains = kPeakProbeChains;
  std::array<uint32_t, 3> grid = kb.forEachItem(invocations, [&](Value item) {
    // Chains seeded from the input, so nothing folds at compile time.
    Value x = kb.load(1, kb.add(kb.sampleBase(kInputs), kb.rem(item, kInputs)));
    SmallVector<Value> chains;
    for (int64_t c = 0; c < kChains; ++c)
      chains.push_back(kb.fadd(x, kb.f32(0.001 * c)));
    // Several multiply-adds per chain and loop iteration: lavapipe pays a
    // masked select (and often a spill) per loop-carried value and
    // iteration, which with one multiply-add each halves the measured rate
    // (docs/perf-log/2026-11-23-loop-results-peak-probe.md).
    assert(iterations % kPeakProbeUnroll == 0 && "peakProbeFlops counts every iteration");
    chains = kb.loop(0, iterations / kPeakProbeUnroll, chains, [&](Value, ValueRange acc) {
      SmallVector<Value> next;
      for (Value a : acc) {
        for (int64_t u = 0; u < kPeakProbeUnroll; ++u)
          a = kb.fadd(kb.fmul(a, kb.f32(0.999)), kb.f32(0.001));
        next.push_back(a);
      }
      return next;
    });
    Value sum = chains[0];
    for (int64_t c = 1; c < kChains; ++c)
      sum = kb.fadd(sum, chains[c]);
    kb.store(0, kb.add(kb.sampleBase(invocations), item), sum);
  });
  FailureOr<llvm::StringMap<LoweredKernel>> spirv = lowerKernels(*kernels, {});
  if (failed(spirv))
    return failure();

  uint64_t inBytes = kInputs * 4, outBytes = static_cast<uint64_t>(invocations) * 4;
  uint64_t a = bundle::kRegionAlignment, outOffset = (inBytes + a - 1) / a * a;
  BufferRegion in{BufferRegion::Space::Arena, 0, inBytes};
  BufferRegion out{BufferRegion::Space::Arena, outOffset, outBytes};
  CompiledModel model;
  model.name = "peak_probe";
  model.batch = -1;
  model.kernels.push_back({"peak_probe", spirv->lookup("peak_probe").spirv,
                           {static_cast<uint32_t>(tiles.workgroupSize), 1, 1}});
  model.inputs = {{"x", {-1, kInputs}, in}};
  model.outputs = {{"y", {-1, invocations}, out}};
  StagePlan stage;
  stage.name = "stage0";
  stage.inputs = model.inputs;
  stage.outputs = model.outputs;
  stage.dispatches.push_back({0, {out, in}, grid, "peak_probe"});
  stage.arenaSize = (outOffset + outBytes + a - 1) / a * a;
  model.stages.push_back(std::move(stage));
  return model;
}

} // namespace spire
