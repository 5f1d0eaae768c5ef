#include "ConvShape.h"

#include "KernelEmitters.h"

namespace spire {

std::optional<ConvShape> ConvShape::ofOp(mlir::Operation *op) {
  if (auto conv = llvm::dyn_cast<Conv1dOp>(op))
    return of(conv);
  if (auto conv = llvm::dyn_cast<Conv2dOp>(op))
    return of(conv);
  return std::nullopt;
}

int64_t convChannelTile(const TileConfig &tiles, const ConvShape &s) {
  bool fewPositions = s.KH * s.KW == 1 && !s.flattensPlanes() && s.OW <= 8;
  return channelTile(tiles.channelsPerThread * (fewPositions ? 2 : 1), s.O / s.G);
}

int64_t convPositions(const TileConfig &tiles, int64_t KW, int64_t SW) {
  int64_t p = tiles.pixelsPerThread;
  return KW >= 5 && SW < KW ? std::max<int64_t>(1, p / 2) : p;
}

} // namespace spire
