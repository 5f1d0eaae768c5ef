// select-kernel-config: records the target on the module and a
// #spire.kernel_config on every kernel, from the target's tiles and the
// kernel's static shapes, and over ranged sizes the configs of its size
// classes (#spire.size_class). The emitters and the weight packing read
// only the attributes.
#include "ConvGeometry.h"
#include "KernelParts.h"
#include "SizeSymbols.h"
#include "Targets/Targets.h"
#include "spire/Codegen/Passes.h"
#include "spire/Limits.h"

#include <map>

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

// A row of v positions in tiles of t costs ceil(v / t) x (t + 3) steps: a
// tile's own reads and stores cost about 3 positions' work (measured:
// docs/perf-log/2026-12-03-range-speed.md). A row of one tile costs v + 3,
// as positions past its end are never stored and, the width being a
// constant by then, the driver drops their work.
int64_t rowCost(int64_t v, int64_t t) { return v <= t ? v + 3 : (v + t - 1) / t * (t + 3); }

// A ranged direct conv's size classes (not one over flattened planes, whose
// long rows waste little): for each row width of the range that
// a narrower tile (5/8 to 7/8 of the kernel's) computes at least 10% more
// cheaply, the cheapest such tile, widths grouped by it. Where the kernel
// reads its input rows as aligned vec4s (rows a multiple of 4 at every
// size, tiles 4 columns apart: SegmentReads::Mode::Aligned), only tiles
// that keep them aligned: a 1x1 conv's 14-position tiles cost more in
// selects than they save (MobileNetV2's expansions at 224: 1.2x).
ArrayAttr sizeClasses(MLIRContext *ctx, const TileConfig &tiles, const KernelParts &parts,
                      const ModelSizes &sizes) {
  std::optional<ConvShape> shape = ConvShape::ofOp(parts.anchor);
  if (!shape || !shape->symbolic || shape->depthwise() || shape->flattensPlanes() ||
      parts.pointwise)
    return nullptr;
  auto [H, W, OH, OW] = *shape->symbolic;
  std::optional<std::vector<int64_t>> widths = sizes.values(OW);
  if (OW.value() || !widths)
    return nullptr;
  llvm::sort(*widths);
  widths->erase(std::unique(widths->begin(), widths->end()), widths->end());
  if (widths->size() > kMaxSizeCaseValues)
    return nullptr;
  int64_t own = tiles.pixelsPerThread, SW = shape->SW;
  bool aligned = own * SW % 4 == 0 && sizes.alwaysMultipleOf(W, 4);
  std::map<int64_t, SmallVector<int64_t>> byTile;
  for (int64_t v : *widths) {
    int64_t best = own;
    for (int64_t eighths : {7, 6, 5})
      if (int64_t t = own * eighths / 8;
          t >= 1 && (!aligned || t * SW % 4 == 0) && rowCost(v, t) < rowCost(v, best))
        best = t;
    if (rowCost(v, best) * 10 <= rowCost(v, own) * 9)
      byTile[best].push_back(v);
  }
  if (byTile.empty())
    return nullptr;
  AffineMap key = AffineMap::get(0, sizes.names().size(), OW.expr());
  SmallVector<Attribute> classes;
  for (auto &[t, values] : llvm::reverse(byTile)) {
    TileConfig narrower = tiles;
    narrower.pixelsPerThread = t;
    classes.push_back(SizeClassAttr::get(ctx, key, DenseI64ArrayAttr::get(ctx, values),
                                         configOf(ctx, narrower)));
  }
  return ArrayAttr::get(ctx, classes);
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
      TileConfig tiles = selectTiles(base, *parts);
      kernel.setConfigAttr(configOf(ctx, tiles));
      if (std::optional<ModelSizes> sizes = ModelSizes::of(kernel))
        if (ArrayAttr classes = sizeClasses(ctx, tiles, *parts, *sizes))
          kernel.setSizeClassesAttr(classes);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
} // namespace spire
