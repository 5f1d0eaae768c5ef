// Conv geometry: how rows split into tiles, which input columns a tile's
// row segment reads, and the per-conv tile choices select-kernel-config
// records (lavapipe's tiles: 16 channels, 16 positions).
#include "ConvGeometry.h"

#include <catch2/catch.hpp>

using namespace spire;

namespace {

// A conv2d's sizes: C x HxW in, O x OHxOW out, a k x k kernel.
ConvShape conv(int64_t C, int64_t H, int64_t O, int64_t OH, int64_t k, int64_t stride,
               int64_t pad, int64_t groups = 1) {
  return {C, H, H, O, OH, OH, k, k, stride, stride, pad, pad, 1, 1, groups};
}

} // namespace

TEST_CASE("row tiles split a row into near-equal tiles", "[conv_geometry]") {
  RowTiles a(28, 16);
  CHECK(a.count == 2);
  CHECK(a.width == 14);
  RowTiles b(112, 32);
  CHECK(b.count == 4);
  CHECK(b.width == 28);
  RowTiles c(7, 16);
  CHECK(c.count == 1);
  CHECK(c.width == 7);
}

TEST_CASE("a row segment reads each input column once", "[conv_geometry]") {
  // 8 positions of a 3x3, stride 1: columns 0..9, not 24 reads.
  RowSegment s(8, 3, 1, 1);
  CHECK(s.columns.size() == 10);
  CHECK(s.column(2, 1) == 3);
  // A stride-2 1x1 reads every other column.
  RowSegment strided(4, 1, 2, 1);
  CHECK(strided.columns == std::vector<int64_t>{0, 2, 4, 6});
  // Dilation 2 spreads the taps: position 0 reads 0, 2, 4.
  RowSegment dilated(2, 3, 1, 2);
  CHECK(dilated.columns == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  CHECK(dilated.column(1, 2) == 5);
}

TEST_CASE("conv shapes classify pointwise, flattened and depthwise convs", "[conv_geometry]") {
  ConvShape onPlanes = conv(64, 56, 256, 56, 1, 1, 0);
  CHECK(onPlanes.pointwise());
  CHECK(onPlanes.flattensPlanes()); // 56 x 56 positions, a multiple of 4
  ConvShape flat = onPlanes.flattened();
  CHECK(flat.OW == 56 * 56);
  CHECK(flat.OH == 1);
  ConvShape small = conv(512, 7, 2048, 7, 1, 1, 0);
  CHECK(small.pointwise());
  CHECK_FALSE(small.flattensPlanes()); // 49 positions
  CHECK_FALSE(conv(64, 56, 128, 28, 1, 2, 0).pointwise()); // stride 2
  CHECK(conv(32, 14, 32, 14, 3, 1, 1, 32).depthwise());
  CHECK_FALSE(conv(32, 14, 64, 14, 3, 1, 1, 32).depthwise());
}

TEST_CASE("per-conv tiles follow the target's", "[conv_geometry]") {
  TileConfig tiles; // lavapipe's
  // 3x3 convs take the target's channel tile.
  CHECK(convChannelTile(tiles, conv(64, 56, 64, 56, 3, 1, 1)) == 16);
  // A 1x1 over 7-wide rows takes twice as many: few positions a thread.
  CHECK(convChannelTile(tiles, conv(512, 7, 2048, 7, 1, 1, 0)) == 32);
  // One over flattened 14x14 planes does not.
  CHECK(convChannelTile(tiles, conv(256, 14, 1024, 14, 1, 1, 0)) == 16);
  // The largest power of two dividing the channels per group.
  CHECK(convChannelTile(tiles, conv(24, 56, 24, 56, 3, 1, 1)) == 8);
  CHECK(convChannelTile(tiles, conv(32, 14, 32, 14, 3, 1, 1, 32)) == 1);
  // Wide overlapping windows (a 7x7 stride-2 stem) take half the positions;
  // a 16x16 patchify conv (stride = kernel) and 3x3s the whole tile.
  CHECK(convPositions(tiles, 7, 2) == 8);
  CHECK(convPositions(tiles, 16, 16) == 16);
  CHECK(convPositions(tiles, 3, 1) == 16);
  TileConfig gpu = tiles;
  gpu.channelsPerThread = 8;
  gpu.pixelsPerThread = 8;
  CHECK(convChannelTile(gpu, conv(512, 7, 2048, 7, 1, 1, 0)) == 16);
  CHECK(convPositions(gpu, 7, 2) == 4);
}
