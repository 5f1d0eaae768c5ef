// Direct convolution (conv1d, conv2d, grouped), with a fused projection
// shortcut.
#include "Emitters.h"


using namespace mlir;

namespace spire {

namespace {

// An input gate's reads (KernelSpec::gate): channel c's factor at base + c
// of `buffer`.
struct GateReads {
  unsigned buffer;
  Value base;
};

// Where a conv's row products read: `reads` of `buffer`, the row `row` (of
// KW taps), a channel's plane `plane` floats after the one before, each
// channel's segment scaled by `gate`'s factor if there is one.
struct RowInput {
  const SegmentReads &reads;
  unsigned buffer;
  const SegmentReads::Row &row;
  const Bound &plane;
  int64_t KW;
  const GateReads *gate = nullptr;
};

// Where the block's weights for a kernel row are: tap kw of channel c at
// base + c x channel + kw x tile, `tile` of them, in `buffer`.
struct RowWeights {
  unsigned buffer;
  Value base;
  int64_t channel, tile;
};

// acc plus the products of one kernel row: for each of `channels` input
// channels (`step` an iteration), its row segment times its KW taps'
// weights (loadSharedBlock: the same across the workgroup).
Values convRowProducts(KernelBuilder &kb, ValueRange acc, const RowInput &in, int64_t channels,
                       int64_t step, const RowWeights &w, int64_t TP) {
  int64_t KW = in.KW;
  return kb.loop(0, channels / step, acc, [&](Value cs, ValueRange acc) {
    // Every load of the iteration first, then its multiply-adds.
    std::vector<Values> segments, weights;
    for (int64_t s = 0; s < step; ++s) {
      Value c = kb.add(kb.mul(cs, step), s);
      segments.push_back(in.reads.read(kb, in.buffer, in.row, in.plane.times(kb, c), kb.f32(0)));
      if (in.gate) {
        Value factor = kb.load(in.gate->buffer, kb.add(in.gate->base, c));
        for (Value &v : segments.back())
          v = kb.fmul(v, factor);
      }
      Value wc = kb.add(w.base, kb.mul(c, w.channel));
      for (int64_t kw = 0; kw < KW; ++kw)
        weights.push_back(loadSharedBlock(kb, w.buffer, w.tile, kb.add(wc, kw * w.tile)));
    }
    return accumulateTile(
        kb, acc, w.tile, TP, step * KW, [&](int64_t u, int64_t j) { return weights[u][j]; },
        [&](int64_t u, int64_t t) { return segments[u / KW][in.reads.value(t, u % KW)]; });
  });
}

// A conv's projection shortcut in its kernel (KernelSpec::shortcut): the
// 1x1's shape, its input's sizes, and how a tile of TP positions reads its
// input row segment.
struct Shortcut {
  ConvShape shape;
  Bound H, W, plane, sample;
  RowSegment segment;
  SegmentReads reads;
  Shortcut(KernelBuilder &kb, const KernelSpec &spec, const ConvShape &shape,
           const std::array<Dim, 4> &dims, int64_t TP)
      : shape(shape), H(kb, dims[0]), W(kb, dims[1]), plane(kb, dims[0] * dims[1]),
        sample(kb, dims[0] * dims[1] * shape.C), segment(TP, 1, shape.SW, 1),
        reads(kb, spec.input(1), segment, shape, TP * shape.SW) {}
};

} // namespace

std::array<uint32_t, 3> emitConv(KernelBuilder &kb, const KernelSpec &spec, const ConvShape &shape) {
  const ConvShape &s = shape.flattensPlanes() ? shape.flattened() : shape;
  auto [C, H, W, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, G, symbolic, planesOf4] = s;
  int64_t Cg = C / G, Og = O / G;
  // select-kernel-config resolved the tiles for this conv.
  int64_t tile = kb.tiles().channelsPerThread, taps = KH * KW;
  MLIRContext *ctx = kb.b().getContext();
  PlaneTiles tiles(kb, s, kb.tiles().pixelsPerThread);
  int64_t TP = tiles.TP;
  RowSegment segment(TP, KW, SW, DW);
  useOutputVectors(kb, spec, tiles.width);
  SegmentReads reads(kb, spec.input(0), segment, s, TP * SW);
  kb.readAsTexels(spec.param(0));
  if (tile % 4 == 0)
    kb.useVectors(spec.param(0), 4);
  // A gate of [1, C, 1, 1] serves every sample.
  int64_t gatePerSample = 0;
  if (spec.gate) {
    Value x = spec.gate->getBlock()->getArgument(0);
    Value gate = spec.gate->getOperand(spec.gate->getOperand(0) == x ? 1 : 0);
    gatePerSample = shapeOf(gate)[0] == 1 ? 0 : perSample(gate);
    kb.readAsTexels(spec.gateInput());
  }
  std::optional<Shortcut> shortcut;
  if (spec.shortcut) {
    ConvShape p = ConvShape::of(llvm::cast<Conv2dOp>(spec.shortcut));
    if (p.flattensPlanes())
      p = p.flattened();
    shortcut.emplace(kb, spec, p, p.planeDims(ctx), TP);
    kb.readAsTexels(spec.param(2));
    if (tile % 4 == 0)
      kb.useVectors(spec.param(2), 4);
  }

  return kb.forEachTile(O / tile, tiles.pixelTileCount, [&](Value channelBlock, Value pixelTile) {
    Value oc0 = kb.mul(channelBlock, tile);
    Value group = kb.div(oc0, Og);
    Value inBase =
        kb.add(tiles.sample.times(kb, kb.batch()), tiles.plane.times(kb, kb.mul(group, Cg)));
    std::optional<GateReads> gate;
    if (spec.gate)
      gate.emplace(spec.gateInput(), kb.add(kb.sampleBase(gatePerSample), kb.mul(group, Cg)));
    Value oh = tiles.row(kb, pixelTile), ow0 = tiles.column(kb, pixelTile);
    auto placed = reads.place(kb, kb.add(kb.mul(ow0, SW), -PW), tiles.W);
    // The block's weights, packed [C/g x taps][tile] (Codegen.cpp).
    Value wBase = kb.mul(channelBlock, Cg * taps * tile);
    Values acc = kb.loop(0, KH, Values(tile * TP, kb.f32(0)), [&](Value kh, ValueRange acc) {
      Value ih = kb.add(kb.add(kb.mul(oh, SH), -PH), kb.mul(kh, DH));
      SegmentReads::Row row = reads.onRow(kb, placed, inBase, ih, tiles.H, tiles.W);
      Value wRow = kb.add(wBase, kb.mul(kh, KW * tile));
      // A 1x1 takes `step` input channels per iteration (a multi-tap row
      // already does several multiply-adds per accumulator and load).
      int64_t step = taps == 1 ? reductionStep(kb, Cg) : 1;
      return convRowProducts(kb, acc, {reads, spec.input(0), row, tiles.plane, KW, gate ? &*gate : nullptr}, Cg, step,
                             {spec.param(0), wRow, taps * tile, tile}, TP);
    });
    if (shortcut) {
      // The projection's products join the same accumulators: its input's
      // row oh x stride, columns (ow0 + t) x stride.
      const ConvShape &p = shortcut->shape;
      auto placed = shortcut->reads.place(kb, kb.mul(ow0, p.SW), shortcut->W);
      SegmentReads::Row row =
          shortcut->reads.onRow(kb, placed, shortcut->sample.times(kb, kb.batch()),
                                kb.mul(oh, p.SH), shortcut->H, shortcut->W);
      acc = convRowProducts(kb, acc, {shortcut->reads, spec.input(1), row, shortcut->plane, 1}, p.C,
                            reductionStep(kb, p.C),
                            {spec.param(2), kb.mul(channelBlock, p.C * tile), tile, tile}, TP);
    }
    storeConvTile(kb, spec, acc, spec.param(1), tiles.stores(kb, O),
                  {oc0, tile, oh, ow0, pixelTile});
  });
}

} // namespace spire
