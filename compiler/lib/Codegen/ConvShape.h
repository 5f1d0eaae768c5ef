// Convolution geometry shared by kernel selection (select-kernel-config),
// the conv emitters and the weight packing: a conv's or pool's sizes, how
// output rows split into tiles, and the per-kernel tile choices that depend
// on them.
#pragma once

#include "spire/Codegen/KernelBuilder.h"
#include "spire/Dialect/SpireOps.h"

#include <array>
#include <optional>

namespace spire {

// A conv1d or conv2d's sizes, a conv1d as a conv2d of height 1.
struct ConvShape {
  int64_t C, H, W, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, G;

  // A 2-d pool as a depthwise window of the same geometry.
  template <typename PoolOpT> static ConvShape ofPool(PoolOpT op) {
    llvm::ArrayRef<int64_t> in = op.getInput().getType().getShape();
    llvm::ArrayRef<int64_t> out = op.getResult().getType().getShape();
    llvm::ArrayRef<int64_t> k = op.getKernel(), st = op.getStride(), pad = op.getPadding();
    return {in[1], in[2], in[3], out[1], out[2], out[3], k[0], k[1], st[0], st[1],
            pad[0], pad[1], 1, 1, in[1]};
  }
  template <typename ConvOpT> static ConvShape of(ConvOpT op) {
    llvm::ArrayRef<int64_t> in = op.getInput().getType().getShape();
    llvm::ArrayRef<int64_t> out = op.getResult().getType().getShape();
    bool is1d = in.size() == 3;
    auto pick = [&](llvm::ArrayRef<int64_t> v, int64_t fill) {
      return is1d ? std::array<int64_t, 2>{fill, v[0]} : std::array<int64_t, 2>{v[0], v[1]};
    };
    auto [KH, KW] = pick(op.getKernel(), 1);
    auto [SH, SW] = pick(op.getStride(), 1);
    auto [PH, PW] = pick(op.getPadding(), 0);
    auto [DH, DW] = pick(op.getDilation(), 1);
    return {in[1], is1d ? 1 : in[2], in.back(), out[1], is1d ? 1 : out[2], out.back(),
            KH, KW, SH, SW, PH, PW, DH, DW, static_cast<int64_t>(op.getGroups())};
  }
  // The shape of a conv1d or conv2d op; none for other ops.
  static std::optional<ConvShape> ofOp(mlir::Operation *op);

  // One input channel per output channel: nothing to share across channels.
  bool depthwise() const { return G == C && G == O; }
  // A 1x1 conv with stride 1 and no padding maps each position to itself,
  // so its planes can be read as single rows of H x W positions.
  bool pointwise() const {
    return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0;
  }
  // emitConv runs such a conv over each plane as one row where the planes
  // hold a multiple of 4 positions: tiles of 16 (not a row's 14 or 7) that
  // stay 4-aligned, so it loads and stores 4 positions at a time.
  bool flattensPlanes() const { return pointwise() && OH * OW % 4 == 0; }
  ConvShape flattened() const {
    ConvShape f = *this;
    f.W = H * W, f.OW = OH * OW, f.H = f.OH = 1;
    return f;
  }
};

// A row of `width` split into tiles of near-equal width, at most `most`
// each: a 28-wide row of tiles up to 16 is 2 x 14, not 16 + 12.
struct RowTiles {
  int64_t count, width;
  RowTiles(int64_t row, int64_t most)
      : count((row + most - 1) / most), width((row + count - 1) / count) {}
};

// Output channels per thread of a conv, the T its weights are packed by:
// channelTile of O / g, with twice the target's tile for a 1x1 conv over
// row tiles of at most 8 positions (7x7 planes), whose few positions give
// each shared weight block too little work (docs/PERFORMANCE.md).
int64_t convChannelTile(const TileConfig &tiles, const ConvShape &s);

// Output positions per thread of a conv: half the target's tile for wide
// overlapping windows (a 7x7 stem), the whole tile otherwise
// (docs/PERFORMANCE.md).
int64_t convPositions(const TileConfig &tiles, int64_t KW, int64_t SW);

} // namespace spire
