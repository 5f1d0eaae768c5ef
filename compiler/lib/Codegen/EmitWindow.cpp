// Per-channel windows: depthwise convs, max and average pools, global and
// adaptive average pools.
#include "Emitters.h"


using namespace mlir;

namespace spire {

namespace {

// Output rows per thread of a per-channel window with TP positions a row:
// the largest power of two that keeps R x TP x SW within the budget of
// TileConfig (a stride-2 row's segment is twice as wide), or all OH rows
// when they fit. Pools, with no weights and one operation per tap, pay
// less for more rows than depthwise convs do.
int64_t windowRows(KernelBuilder &kb, WindowReduce reduce, int64_t OH, int64_t TP, int64_t SW) {
  int64_t budget = reduce == WindowReduce::MultiplyAdd ? kb.tiles().depthwiseOutputs
                                                       : kb.tiles().poolOutputs;
  int64_t r = 1;
  while (r * 2 * TP * SW <= budget)
    r *= 2;
  return std::min(OH, r);
}

// The taps of an average pool's windows along one dim that PyTorch divides
// by: those in [lo, hi), the input and, with count_include_pad, its padding
// (never what ceil_mode's last window reaches past the padding).
struct WindowCount {
  int64_t K, S, P, lo, hi;

  WindowCount(int64_t size, int64_t K, int64_t S, int64_t P, bool countPadding)
      : K(K), S(S), P(P), lo(countPadding ? -P : 0), hi(countPadding ? size + P : size) {}
  int64_t at(int64_t o) const {
    int64_t start = o * S - P;
    return std::clamp(start + K, lo, hi) - std::clamp(start, lo, hi);
  }
  Value at(KernelBuilder &kb, Value o) const {
    Value start = kb.add(kb.mul(o, S), -P);
    return kb.sub(kb.clamp(kb.add(start, K), lo, hi), kb.clamp(start, lo, hi));
  }
  // Whether every one of `outputs` windows counts K taps.
  bool uniform(int64_t outputs) const {
    for (int64_t o = 0; o < outputs; ++o)
      if (at(o) != K)
        return false;
    return true;
  }
};

} // namespace

std::array<uint32_t, 3> emitWindow(KernelBuilder &kb, const KernelSpec &spec, const ConvShape &s,
                                   WindowReduce reduce) {
  auto [C, H, W, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, G, symbolic, planesOf4] = s;
  bool conv = reduce == WindowReduce::MultiplyAdd, max = reduce == WindowReduce::Max;
  // An average pool's counts are worked out per size below.
  if (symbolic && reduce == WindowReduce::Mean)
    kb.fail("has no kernel yet for sizes of the size symbols");
  RowTiles rowTiles(OW, kb.tiles().windowPositions);
  int64_t TP = rowTiles.width;
  int64_t R = windowRows(kb, reduce, OH, TP, SW), taps = KH * KW;
  // Over planes of the size symbols: tiles as for the largest plane, the
  // plane's sizes and tile counts computed in the kernel.
  auto [dH, dW, dOH, dOW] = s.planeDims(kb.b().getContext());
  Dim dTilesPerRow = symbolic ? dOW.ceilDiv(TP) : Dim::constant(kb.b().getContext(), rowTiles.count);
  Dim dTiles = dOH.ceilDiv(R) * dTilesPerRow;
  Bound bH(kb, dH), bW(kb, dW), bOH(kb, dOH), bOW(kb, dOW), plane(kb, dH * dW),
      sample(kb, dH * dW * C), outPlane(kb, dOH * dOW), outSample(kb, dOH * dOW * C),
      tilesPerRow(kb, dTilesPerRow), tiles(kb, dTiles);
  RowSegment segment(TP, KW, SW, DW);
  SegmentReads reads(kb, spec.input(0), segment, s, TP * SW);
  // ceil_mode's last window may reach past the input and its padding: what
  // it reads there counts as padding too (over symbolic planes, it may).
  if (symbolic || (OH - 1) * SH - PH + (KH - 1) * DH >= H ||
      (OW - 1) * SW - PW + (KW - 1) * DW >= W)
    reads.padded = true;
  auto avgpool = llvm::dyn_cast<Avgpool2dOp>(spec.anchor);
  bool countPadding = !avgpool || avgpool.getCountIncludePad();
  WindowCount rowCount(H, KH, SH, PH, countPadding), colCount(W, KW, SW, PW, countPadding);
  bool sameCounts = rowCount.uniform(OH) && colCount.uniform(OW);
  if (conv)
    kb.readAsTexels(spec.param(0));
  int64_t width = storeWidth(TP, symbolic && !kb.alwaysMultipleOf(dOW, 4) ? 1 : OW);
  useOutputVectors(kb, spec, width);

  return kb.forEachItem(dTiles * C, [&](Value item) {
    Value c = tiles.divide(kb, item), tile = tiles.remainder(kb, item);
    Value oh0 = kb.mul(tilesPerRow.divide(kb, tile), R);
    Value ow0 = kb.mul(tilesPerRow.remainder(kb, tile), TP);
    Value inBase = kb.add(sample.times(kb, kb.batch()), plane.times(kb, c));
    auto placed = reads.place(kb, kb.add(kb.mul(ow0, SW), -PW), bW);
    Values w;
    if (conv)
      w = loadEach(kb, spec.param(0), taps, [&](Value j) { return kb.add(kb.mul(c, taps), j); });
    Value padding = kb.f32(max ? -3.4028234663852886e38 : 0.0);
    Values acc(R * TP, padding);
    for (int64_t i = 0; i <= (R - 1) * SH + (KH - 1) * DH; ++i) {
      SmallVector<std::pair<int64_t, int64_t>> uses; // (output row, kernel row) reading row i
      for (int64_t r = 0; r < R; ++r)
        for (int64_t kh = 0; kh < KH; ++kh)
          if (r * SH + kh * DH == i)
            uses.push_back({r, kh});
      if (uses.empty())
        continue;
      Value ih = kb.add(kb.add(kb.mul(oh0, SH), -PH), i);
      Values x = reads.read(kb, spec.input(0), reads.onRow(kb, placed, inBase, ih, bH, bW),
                            kb.idx(0), padding);
      for (auto [r, kh] : uses)
        for (int64_t t = 0; t < TP; ++t)
          for (int64_t kw = 0; kw < KW; ++kw) {
            Value &a = acc[r * TP + t];
            Value v = x[reads.value(t, kw)];
            a = conv ? kb.fadd(a, kb.fmul(v, w[kh * KW + kw])) : max ? kb.fmax(a, v) : kb.fadd(a, v);
          }
    }
    Value outBase = kb.add(outSample.times(kb, kb.batch()), outPlane.times(kb, c));
    // What turns the accumulator of output (oh, ow) into the output: + bias,
    // / its window's count, or nothing.
    auto result = [&, bias = conv ? kb.load(spec.param(1), c) : Value()](Value a, Value oh,
                                                                         Value ow) {
      if (conv)
        return kb.fadd(a, bias);
      if (max)
        return a;
      if (sameCounts)
        return kb.fdiv(a, kb.f32(taps));
      return kb.fdiv(a, kb.toF32(kb.mul(rowCount.at(kb, oh), colCount.at(kb, ow))));
    };
    bool ragged = symbolic || OW % TP != 0 || OH % R != 0;
    for (int64_t r = 0; r < R; ++r) {
      Value oh = kb.add(oh0, r);
      for (int64_t t = 0; t < TP; t += width) {
        Value ow = kb.add(ow0, t);
        storeIfInside(kb, ragged, {{oh, bOH}, {ow, bOW}}, [&] {
          Values v;
          for (int64_t e = 0; e < width; ++e)
            v.push_back(result(acc[r * TP + t + e], oh, kb.add(ow, e)));
          storeRun(kb, spec, kb.add(kb.add(outBase, bOW.times(kb, oh)), ow), v);
        });
      }
    }
  });
}

std::array<uint32_t, 3> emitGlobalAvgpool(KernelBuilder &kb, const KernelSpec &spec,
                                          GlobalAvgpoolOp op) {
  int64_t C = shapeOf(op.getInput())[1];
  // Positions per channel: a number, or an expression of the size symbols.
  Shape in = dimsOf(op.getInput());
  Dim S = product(in, 2, in.size(), op.getContext());
  return kb.forEachItem(C, [&](Value c) {
    Bound positions(kb, S), sample(kb, S * C);
    Value base = kb.add(sample.times(kb, kb.batch()), positions.times(kb, c));
    Values acc = kb.loop(0, positions.value(kb), {kb.f32(0)}, [&](Value s, ValueRange acc) {
      return Values{kb.fadd(acc[0], kb.load(spec.input(0), kb.add(base, s)))};
    });
    Value count = positions.symbolic() ? kb.toF32(positions.v) : kb.f32(positions.n);
    finish(kb, spec, kb.sampleBase(C), c, kb.fdiv(acc[0], count));
  });
}

std::array<uint32_t, 3> emitAdaptiveAvgpool(KernelBuilder &kb, const KernelSpec &spec,
                                            AdaptiveAvgpool2dOp op) {
  int64_t C = shapeOf(op.getInput())[1], OH = op.getSize()[0], OW = op.getSize()[1];
  // The input plane: numbers, or expressions of the size symbols.
  Shape in = dimsOf(op.getInput());
  const Dim &dH = in[2], &dW = in[3];
  // Taps a window spans at most along a dim of `size`: ceil(size / out) + 1,
  // and no more than the size where it is a number.
  auto span = [](const Dim &size, int64_t out) {
    std::optional<int64_t> n = size.value();
    return n ? Dim::constant(size.expr().getContext(), std::min(*n, (*n + out - 1) / out + 1))
             : size.ceilDiv(out) + 1;
  };
  Dim dMaxH = span(dH, OH), dMaxW = span(dW, OW);
  return kb.forEachItem(C * OH * OW, [&](Value item) {
    Bound H(kb, dH), W(kb, dW), plane(kb, dH * dW), sample(kb, dH * dW * C);
    Value c = kb.div(item, OH * OW), pix = kb.rem(item, OH * OW);
    Value oh = kb.div(pix, OW), ow = kb.rem(pix, OW);
    Value h0 = kb.div(H.times(kb, oh), OH),
          h1 = kb.div(kb.add(H.times(kb, kb.add(oh, 1)), OH - 1), OH);
    Value w0 = kb.div(W.times(kb, ow), OW),
          w1 = kb.div(kb.add(W.times(kb, kb.add(ow, 1)), OW - 1), OW);
    Value base = kb.add(sample.times(kb, kb.batch()), plane.times(kb, c));
    Bound maxH(kb, dMaxH), maxW(kb, dMaxW);
    Value sum = maxH.loop(kb, 0, {kb.f32(0)}, [&](Value kh, ValueRange acc) {
      Value ih = kb.add(h0, kh);
      Value rowOk = kb.lt(ih, h1);
      Value rowBase = kb.add(base, W.times(kb, H.clampBelow(kb, ih)));
      return maxW.loop(kb, 0, acc, [&](Value kw, ValueRange acc) {
        Value iw = kb.add(w0, kw);
        Value ok = kb.both(rowOk, kb.lt(iw, w1));
        Value x = kb.load(spec.input(0), kb.add(rowBase, W.clampBelow(kb, iw)));
        return Values{kb.select(ok, kb.fadd(acc[0], x), acc[0])};
      });
    })[0];
    Value count = kb.toF32(kb.mul(kb.sub(h1, h0), kb.sub(w1, w0)));
    finish(kb, spec, kb.sampleBase(C * OH * OW), item, kb.fdiv(sum, count));
  });
}

} // namespace spire
