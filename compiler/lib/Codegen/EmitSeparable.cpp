// A depthwise conv and the 1x1 conv after it in one kernel.
#include "Emitters.h"


using namespace mlir;

namespace spire {

namespace {

// Positions per thread of emitSeparable: O x TP accumulators within the
// conv kernel's 16 x 16, and where one divides the row, a multiple of 4
// (vec4 reads and stores, no ragged tile).
int64_t separablePositions(KernelBuilder &kb, int64_t O, int64_t OW) {
  int64_t most = kb.tiles().channelsPerThread * kb.tiles().pixelsPerThread / O;
  for (int64_t tp = most / 4 * 4; tp >= 4; tp -= 4)
    if (OW % tp == 0)
      return tp;
  return std::max<int64_t>(1, most);
}

} // namespace

std::array<uint32_t, 3> emitSeparable(KernelBuilder &kb, const KernelSpec &spec,
                                      const ConvShape &s, int64_t O) {
  auto [C, H, W, Cout, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, G, symbolic, planesOf4] = s;
  int64_t taps = KH * KW, block = separableBlock(taps);
  PlaneTiles tiles(kb, s, separablePositions(kb, O, OW));
  int64_t TP = tiles.TP;
  RowSegment segment(TP, KW, SW, DW);
  SegmentReads reads(kb, spec.input(0), segment, s, TP * SW);
  useOutputVectors(kb, spec, tiles.width);
  for (unsigned p = 0; p < spec.numParams; ++p)
    kb.readAsTexels(spec.param(p));
  kb.useVectors(spec.param(0), 4);
  kb.useVectors(spec.param(1), 4);

  return kb.forEachTile(1, tiles.pixelTileCount, [&](Value, Value pixelTile) {
    Value oh = tiles.row(kb, pixelTile), ow0 = tiles.column(kb, pixelTile);
    auto placed = reads.place(kb, kb.add(kb.mul(ow0, SW), -PW), tiles.W);
    std::vector<SegmentReads::Row> rows; // of channel 0; a channel moves them by c x H x W
    for (int64_t kh = 0; kh < KH; ++kh) {
      Value ih = kb.add(kb.add(kb.mul(oh, SH), -PH), kh * DH);
      rows.push_back(reads.onRow(kb, placed, tiles.sample.times(kb, kb.batch()), ih, tiles.H,
                                 tiles.W));
    }
    // `step` channels an iteration, as emitConv's 1x1s: each accumulator
    // update takes `step` products.
    int64_t step = reductionStep(kb, C);
    Values acc = kb.loop(0, C / step, Values(O * TP, kb.f32(0)), [&](Value cs, ValueRange acc) {
      std::vector<Values> d, pw;
      for (int64_t u = 0; u < step; ++u) {
        Value c = kb.add(kb.mul(cs, step), u);
        Values w = loadSharedBlock(kb, spec.param(0), block, kb.mul(c, block));
        Values sum(TP, w[taps]); // from the depthwise bias
        for (int64_t kh = 0; kh < KH; ++kh) {
          Values x = reads.read(kb, spec.input(0), rows[kh], tiles.plane.times(kb, c), kb.f32(0));
          for (int64_t t = 0; t < TP; ++t)
            for (int64_t kw = 0; kw < KW; ++kw)
              sum[t] = kb.fadd(sum[t], kb.fmul(x[reads.value(t, kw)], w[kh * KW + kw]));
        }
        if (spec.anchorActivation)
          for (Value &v : sum)
            v = applyActivation(kb, spec.anchorActivation, v);
        d.push_back(sum);
        pw.push_back(loadSharedBlock(kb, spec.param(1), O, kb.mul(c, O)));
      }
      return accumulateTile(
          kb, acc, O, TP, step, [&](int64_t u, int64_t j) { return pw[u][j]; },
          [&](int64_t u, int64_t t) { return d[u][t]; });
    });
    storeConvTile(kb, spec, acc, spec.param(2), tiles.stores(kb, O),
                  {kb.idx(0), O, oh, ow0, pixelTile});
  });
}

} // namespace spire
