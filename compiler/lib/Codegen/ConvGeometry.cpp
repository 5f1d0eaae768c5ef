#include "ConvGeometry.h"

using namespace mlir;

namespace spire {

PlaneTiles::PlaneTiles(KernelBuilder &kb, const ConvShape &s, int64_t most) {
  MLIRContext *ctx = kb.b().getContext();
  auto [dH, dW, dOH, dOW] = s.planeDims(ctx);
  // Over ranged sizes a tile of `most` (the config's exact tile) serves
  // every row width; balancing it for the widest row would not serve the
  // others (size classes do: SizeClassAttr).
  RowTiles tiles(s.OW, most);
  TP = s.symbolic ? std::min(most, s.OW) : tiles.width;
  Dim perRow = s.symbolic ? dOW.ceilDiv(TP) : Dim::constant(ctx, tiles.count);
  pixelTileCount = dOH * perRow;
  outPlane = dOH * dOW;
  H = Bound(kb, dH), W = Bound(kb, dW), OH = Bound(kb, dOH), OW = Bound(kb, dOW);
  plane = Bound(kb, dH * dW), sample = Bound(kb, dH * dW * s.C);
  tilesPerRow = Bound(kb, perRow), pixelTiles = Bound(kb, pixelTileCount);
  width = storeWidth(TP, s.symbolic && !kb.alwaysMultipleOf(dOW, 4) ? 1 : s.OW);
}

ConvStores PlaneTiles::stores(KernelBuilder &kb, int64_t O) const {
  return {OW, Bound(kb, outPlane), Bound(kb, outPlane * O), TP, pixelTiles, width};
}

std::optional<ConvShape> ConvShape::ofOp(mlir::Operation *op) {
  if (auto conv = llvm::dyn_cast<Conv1dOp>(op))
    return of(conv);
  if (auto conv = llvm::dyn_cast<Conv2dOp>(op))
    return of(conv);
  return std::nullopt;
}

void ConvShape::bindSymbols(Value in, Value out) {
  std::optional<ModelSizes> sizes = ModelSizes::of(in.getParentBlock()->getParentOp());
  if (!sizes)
    return;
  Shape i = dimsOf(in), o = dimsOf(out);
  MLIRContext *ctx = in.getContext();
  Dim one = Dim::constant(ctx, 1);
  bool is1d = i.size() == 3;
  std::array<Dim, 4> dims{is1d ? one : i[2], i.back(), is1d ? one : o[2], o.back()};
  if (llvm::all_of(dims, [](const Dim &d) { return d.value(); }))
    return;
  symbolic = dims;
  H = sizes->max(dims[0]), W = sizes->max(dims[1]), OH = sizes->max(dims[2]),
  OW = sizes->max(dims[3]);
  // Only a pointwise conv asks (flattensPlanes), and this lists every size.
  planesOf4 = pointwise() && sizes->alwaysMultipleOf(dims[2] * dims[3], 4);
}

int64_t convChannelTile(const TileConfig &tiles, const ConvShape &s) {
  bool fewPositions = s.KH * s.KW == 1 && !s.flattensPlanes() && s.OW <= 8;
  return channelTile(tiles.channelsPerThread * (fewPositions ? 2 : 1), s.O / s.G);
}

int64_t convPositions(const TileConfig &tiles, int64_t KW, int64_t SW) {
  int64_t p = tiles.pixelsPerThread;
  return KW >= 5 && SW < KW ? std::max<int64_t>(1, p / 2) : p;
}

void storeConvTile(KernelBuilder &kb, const KernelSpec &spec, ArrayRef<Value> acc,
                   unsigned biasBuffer, const ConvStores &o, const ConvTile &at) {
  Value outBase = o.sample.times(kb, kb.batch());
  Values bias;
  for (int64_t j = 0; j < at.tile; ++j)
    bias.push_back(kb.load(biasBuffer, kb.add(at.oc0, j)));
  bool ragged = o.OW.symbolic() || o.pixelTiles.symbolic() || o.OW.n % o.TP != 0 ||
                o.pixelTiles.n % kb.workgroupSize() != 0;
  for (int64_t t = 0; t < o.TP; t += o.width) {
    auto store = [&] {
      for (int64_t j = 0; j < at.tile; ++j) {
        Value rowStart =
            kb.add(kb.add(outBase, o.plane.times(kb, kb.add(at.oc0, j))), o.OW.times(kb, at.oh));
        Values v;
        for (int64_t e = 0; e < o.width; ++e)
          v.push_back(kb.fadd(acc[j * o.TP + t + e], bias[j]));
        storeRun(kb, spec, kb.add(kb.add(rowStart, at.ow0), t), v);
      }
    };
    storeIfInside(kb, ragged, {{at.pixelTile, o.pixelTiles}, {kb.add(at.ow0, t), o.OW}}, store);
  }
}

} // namespace spire
