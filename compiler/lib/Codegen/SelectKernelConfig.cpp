// select-kernel-config: records the target on the module and a
// #spire.kernel_config on every kernel, from the target's tiles and the
// kernel's static shapes. The emitters and the weight packing read only the
// attribute.
#include "ConvGeometry.h"
#include "KernelParts.h"
#include "Targets/Targets.h"
#include "spire/Codegen/Passes.h"

using namespace mlir;

namespace spire {
#define GEN_PASS_DEF_SELECTKERNELCONFIG
#include "spire/Codegen/Passes.h.inc"

TileConfig tilesOf(KernelConfigAttr config) {
  TileConfig t;
  t.workgroupSize = config.getWorkgroup();
  t.channelsPerThread = config.getChannelTile();
  t.pixelsPerThread = config.getPositions();
  t.reductionStep = config.getReductionStep();
  t.windowPositions = config.getWindowPositions();
  t.depthwiseOutputs = config.getDepthwiseOutputs();
  t.poolOutputs = config.getPoolOutputs();
  t.broadcastLanes = config.getBroadcastLanes();
  t.texelInputs = config.getTexelInputs();
  return t;
}

namespace {

KernelConfigAttr configOf(MLIRContext *ctx, const TileConfig &t) {
  return KernelConfigAttr::get(ctx, t.workgroupSize, t.channelsPerThread, t.pixelsPerThread,
                               t.reductionStep, t.windowPositions, t.depthwiseOutputs,
                               t.poolOutputs, t.broadcastLanes, t.texelInputs);
}

// A conv's weights are packed by its exact channel tile (1 for a depthwise
// conv, whose window kernel takes one channel a thread), and a conv that
// emitConv computes gets its exact positions too. A separable pair and
// every other family keep the target's limits.
TileConfig selectTiles(const TileConfig &base, const KernelParts &parts) {
  TileConfig t = base;
  std::optional<ConvShape> shape = ConvShape::ofOp(parts.anchor);
  if (!shape || parts.pointwise)
    return t;
  t.channelsPerThread = convChannelTile(base, *shape);
  if (!shape->depthwise())
    t.pixelsPerThread = convPositions(base, shape->KW, shape->SW);
  return t;
}

struct SelectKernelConfig : impl::SelectKernelConfigBase<SelectKernelConfig> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::variant<TargetProfile, std::string> resolved = resolveTarget(target);
    if (auto *why = std::get_if<std::string>(&resolved)) {
      module.emitError() << *why;
      return signalPassFailure();
    }
    std::optional<TargetProfile> profile = std::get<TargetProfile>(resolved);
    TileConfig base = profile->tiles;
    if (tileChannels > 0)
      base.channelsPerThread = tileChannels;
    if (tilePixels > 0)
      base.pixelsPerThread = tilePixels;
    if (tileStep > 0)
      base.reductionStep = tileStep;
    if (broadcastLanes > 0)
      base.broadcastLanes = broadcastLanes;
    if (noTexelInputs)
      base.texelInputs = false;
    MLIRContext *ctx = module.getContext();
    module->setAttr(kTargetAttr,
                    TargetAttr::get(ctx, profile->name, profile->subgroupSize,
                                    profile->maxWorkgroupInvocations, profile->sharedMemoryBytes,
                                    profile->maxTexelBufferElements, profile->f16,
                                    profile->vectorWidth));
    WalkResult walk = module.walk([&](KernelOp kernel) {
      FailureOr<KernelParts> parts = KernelParts::of(kernel);
      if (failed(parts))
        return WalkResult::interrupt();
      kernel.setConfigAttr(configOf(ctx, selectTiles(base, *parts)));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
} // namespace spire
