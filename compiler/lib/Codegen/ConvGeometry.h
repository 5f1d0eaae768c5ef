// Convolution geometry shared by kernel selection (select-kernel-config),
// the conv, window and separable emitters and the weight packing: a conv's
// or pool's sizes, how output rows split into tiles, the per-kernel tile
// choices that depend on them, how a tile reads its input row segments and
// where its outputs go.
#pragma once

#include "EmitterSupport.h"

#include <array>
#include <optional>

namespace spire {

// A conv1d or conv2d's sizes, a conv1d as a conv2d of height 1.
struct ConvShape {
  int64_t C, H, W, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, G;
  // H, W, OH, OW as the size symbols give them, where they depend on them
  // (SizeSymbols.h); the fields above then hold their maximum.
  std::optional<std::array<Dim, 4>> symbolic;
  // Whether OH x OW is a multiple of 4 at every size of the range.
  bool planesOf4 = false;

  // A 2-d pool as a depthwise window of the same geometry.
  template <typename PoolOpT> static ConvShape ofPool(PoolOpT op) {
    llvm::ArrayRef<int64_t> in = op.getInput().getType().getShape();
    llvm::ArrayRef<int64_t> out = op.getResult().getType().getShape();
    llvm::ArrayRef<int64_t> k = op.getKernel(), st = op.getStride(), pad = op.getPadding();
    ConvShape s{in[1], in[2], in[3], out[1], out[2], out[3], k[0], k[1], st[0], st[1],
                pad[0], pad[1], 1, 1, in[1]};
    s.bindSymbols(op.getInput(), op.getResult());
    return s;
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
    ConvShape s{in[1], is1d ? 1 : in[2], in.back(), out[1], is1d ? 1 : out[2], out.back(),
                KH, KW, SH, SW, PH, PW, DH, DW, static_cast<int64_t>(op.getGroups())};
    s.bindSymbols(op.getInput(), op.getResult());
    return s;
  }
  // Sets `symbolic` (and the fields at their maximum) where the sizes of
  // `in` or `out` depend on the size symbols.
  void bindSymbols(mlir::Value in, mlir::Value out);
  // H, W, OH, OW as Dims: `symbolic`, or the numbers.
  std::array<Dim, 4> planeDims(mlir::MLIRContext *ctx) const {
    return symbolic.value_or(std::array<Dim, 4>{Dim::constant(ctx, H), Dim::constant(ctx, W),
                                                Dim::constant(ctx, OH), Dim::constant(ctx, OW)});
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
  // hold a multiple of 4 positions (at every size of a range): tiles of 16
  // (not a row's 14 or 7) that stay 4-aligned, so it loads and stores 4
  // positions at a time.
  bool flattensPlanes() const {
    return pointwise() && (symbolic ? planesOf4 : OH * OW % 4 == 0);
  }
  ConvShape flattened() const {
    ConvShape f = *this;
    f.W = H * W, f.OW = OH * OW, f.H = f.OH = 1;
    if (symbolic) {
      auto [dH, dW, dOH, dOW] = *symbolic;
      Dim one = Dim::constant(dH.expr().getContext(), 1);
      f.symbolic = {one, dH * dW, one, dOH * dOW};
    }
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

struct ConvStores;

// A conv's output plane in row tiles of TP positions (RowTiles of at most
// `most`; over planes of the size symbols, `most` itself), with the sizes
// its kernel indexes by: numbers, or computed in the kernel. `width`:
// positions a store writes at once where they are aligned (a group past a
// ragged row's end lies wholly past it).
struct PlaneTiles {
  int64_t TP = 0;
  Dim pixelTileCount; // rows x tiles per row, for KernelBuilder::forEachTile
  Dim outPlane;       // OH x OW
  Bound H = 0, W = 0, OH = 0, OW = 0, plane = 0, sample = 0, tilesPerRow = 0, pixelTiles = 0;
  int64_t width = 1;
  PlaneTiles(KernelBuilder &kb, const ConvShape &s, int64_t most);
  // Tile `pixelTile`'s output row (row OH - 1 for a lane past the last
  // tile, which stores nothing) and first column.
  mlir::Value row(KernelBuilder &kb, mlir::Value pixelTile) const {
    return OH.clampBelow(kb, tilesPerRow.divide(kb, pixelTile));
  }
  mlir::Value column(KernelBuilder &kb, mlir::Value pixelTile) const {
    return kb.mul(tilesPerRow.remainder(kb, pixelTile), TP);
  }
  // Where storeConvTile puts an output of O channels on these tiles.
  ConvStores stores(KernelBuilder &kb, int64_t O) const;
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

// The input columns a run of TP output positions reads along one kernel
// row (KW taps, stride SW, dilation DW), each once however many taps read
// it, relative to the run's first window.
struct RowSegment {
  std::vector<int64_t> columns;
  int64_t SW, DW;

  RowSegment(int64_t TP, int64_t KW, int64_t SW, int64_t DW) : SW(SW), DW(DW) {
    for (int64_t t = 0; t < TP; ++t)
      for (int64_t kw = 0; kw < KW; ++kw)
        columns.push_back(t * SW + kw * DW);
    llvm::sort(columns);
    columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
  }
  // Where tap kw of position t finds its column.
  int64_t column(int64_t t, int64_t kw) const {
    return llvm::lower_bound(columns, t * SW + kw * DW) - columns.begin();
  }
  // Each column's offset in a row of W (clamped) and whether it lies inside,
  // for a run whose first window starts at input column iw0.
  std::pair<Values, Values> place(KernelBuilder &kb, Value iw0, const Bound &W) const {
    Values offset, valid;
    for (int64_t col : columns) {
      Value iw = kb.add(iw0, col);
      valid.push_back(kb.both(kb.ge(iw, 0), W.exceeds(kb, iw)));
      offset.push_back(W.clampBelow(kb, iw));
    }
    return {offset, valid};
  }
};

// How a thread reads a tile's row segment from `buffer`. A texel fetch of
// four floats costs about what one of a single float does on lavapipe, so
// segments come as the vec4s that cover them wherever the buffer's samples
// hold a multiple of 4 floats:
// - Aligned: rows hold a multiple of 4 and tiles advance by a multiple of 4
//   columns, so every tile's segment starts at the same offset `skew` past a
//   multiple of 4 (a 3x3 with padding 1 over 16 positions: 6 loads, not 18;
//   a stride-2 1x1 uses half of each vec4, still half the fetches). A vec4
//   lies wholly inside a row or wholly outside it, so its first column's
//   validity is the vec4's.
// - Skewed: otherwise (14-position tiles, 7-wide rows); each read finds its
//   segment's offset past a multiple of 4 at run time and picks each column
//   from the vec4s by selects on the offset's bits that can vary (one select
//   a column where tiles alternate between two offsets, three where rows or
//   planes move it too). Validity is per column, as a vec4 may straddle rows.
// - Columns: one load per column (samples that do not hold a multiple of 4
//   floats, or segments of fewer than 4 columns).
// Over sizes of the size symbols, a size counts as a multiple of 4 where it
// is one at every size of the range (ModelSizes::alwaysMultipleOf), so the
// kernel picks the mode it would at the worst size.
// Without padding, a read outside its row or plane (clamped) only feeds
// outputs past the edge, which are never stored, so it needs no check. The
// buffer is read as texels (unless TileConfig::texelInputs is off).
struct SegmentReads {
  enum class Mode { Columns, Aligned, Skewed };
  const RowSegment &segment;
  Mode mode;
  int64_t skew;      // the first tile's segment's offset past a multiple of 4 (Aligned: every tile's)
  int64_t skewBits;  // Skewed: the bits of the offset that can vary
  Bound quads;       // vec4s per sample of the buffer (Aligned, Skewed)
  int64_t PW;        // a segment starts at most PW columns before its row
  bool padded;       // whether reads outside a row or plane count as padding
  RowSegment starts; // Aligned: each read's first column, relative to the segment's start - skew

  // Which of the input's sizes are multiples of 4.
  struct Alignment {
    bool row, plane, sample;
  };

  // Reads of the input of `s` by tiles `advance` columns apart.
  SegmentReads(KernelBuilder &kb, unsigned buffer, const RowSegment &segment, const ConvShape &s,
               int64_t advance)
      : SegmentReads(kb, buffer, segment, s, advance, alignmentOf(kb, s)) {}

private:
  SegmentReads(KernelBuilder &kb, unsigned buffer, const RowSegment &segment, const ConvShape &s,
               int64_t advance, Alignment aligned)
      : segment(segment), mode(modeFor(segment, aligned, advance)), skew(((-s.PW) % 4 + 4) % 4),
        skewBits(varyingBits(mode, aligned, advance, s.PW)), quads(quadsOf(kb, s, mode)),
        PW(s.PW), padded(s.PH > 0 || s.PW > 0),
        starts(mode == Mode::Aligned
                   ? RowSegment((segment.columns.back() + skew) / 4 + 1, 1, 4, 1)
                   : segment) {
    kb.readAsTexels(buffer);
    if (mode != Mode::Columns)
      kb.useVectors(buffer, 4);
  }

  static Alignment alignmentOf(KernelBuilder &kb, const ConvShape &s) {
    auto [H, W, OH, OW] = s.planeDims(kb.b().getContext());
    return {kb.alwaysMultipleOf(W, 4), kb.alwaysMultipleOf(H * W, 4),
            kb.alwaysMultipleOf(H * W * s.C, 4)};
  }
  static Bound quadsOf(KernelBuilder &kb, const ConvShape &s, Mode mode) {
    if (!s.symbolic)
      return Bound(s.C * s.H * s.W / 4);
    if (mode == Mode::Columns)
      return Bound(0); // unused
    auto [H, W, OH, OW] = s.planeDims(kb.b().getContext());
    return Bound(kb, (H * W * s.C).floorDiv(4));
  }
  static Mode modeFor(const RowSegment &segment, Alignment aligned, int64_t advance) {
    if (!aligned.sample)
      return Mode::Columns;
    if (aligned.row && advance % 4 == 0)
      return Mode::Aligned;
    return segment.columns.size() >= 4 ? Mode::Skewed : Mode::Columns;
  }
  // With rows and planes of a multiple of 4, only the tile's column moves a
  // segment's offset: k tiles along, k x advance - PW.
  static int64_t varyingBits(Mode mode, Alignment aligned, int64_t advance, int64_t PW) {
    if (mode != Mode::Skewed)
      return 0;
    if (!aligned.row || !aligned.plane)
      return 3;
    int64_t first = ((-PW) % 4 + 4) % 4, bits = 0;
    for (int64_t k = 1; k < 4; ++k)
      bits |= first ^ (((k * advance - PW) % 4 + 4) % 4);
    return bits;
  }

public:
  // Where a tile whose segment starts at input column iw0 reads, within any
  // row of W: Aligned, each read's offset (clamped) and whether it lies
  // inside; otherwise each column's, and iw0 itself.
  struct Placed {
    Values offset, valid;
    Value iw0;
  };
  Placed place(KernelBuilder &kb, Value iw0, const Bound &W) const {
    auto [offset, valid] =
        mode == Mode::Aligned ? starts.place(kb, kb.add(iw0, -skew), W) : segment.place(kb, iw0, W);
    return {offset, valid, iw0};
  }
  // A row's reads: addresses (Skewed: the one address of the segment's first
  // column, which may lie before its row) and validity (Skewed: a column's).
  struct Row {
    Values address, valid;
  };
  // The placed reads in input row ih of the H x W plane at planeBase (a row
  // outside is read clamped).
  Row onRow(KernelBuilder &kb, const Placed &placed, Value planeBase, Value ih, const Bound &H,
            const Bound &W) const {
    Value rowValid = kb.both(kb.ge(ih, 0), H.exceeds(kb, ih));
    Value rowBase = kb.add(planeBase, W.times(kb, H.clampBelow(kb, ih)));
    Row row;
    for (size_t i = 0; i < placed.offset.size(); ++i) {
      if (mode != Mode::Skewed)
        row.address.push_back(kb.add(rowBase, placed.offset[i]));
      row.valid.push_back(kb.both(rowValid, placed.valid[i]));
    }
    if (mode == Mode::Skewed)
      row.address.push_back(kb.add(rowBase, placed.iw0));
    return row;
  }
  // The reads of `row` whose addresses are moved by `offset` (an input
  // channel's), where valid, else `padding`, as the values value(t, kw)
  // indexes.
  Values read(KernelBuilder &kb, unsigned buffer, const Row &row, Value offset,
              Value padding) const {
    Values v;
    auto inside = [&](size_t i, Value x) {
      return padded ? kb.select(row.valid[i], x, padding) : x;
    };
    if (mode == Mode::Skewed) {
      Values x = readSkewed(kb, buffer, kb.add(row.address[0], offset));
      for (size_t i = 0; i < x.size(); ++i)
        v.push_back(inside(i, x[i]));
      return v;
    }
    for (size_t i = 0; i < row.address.size(); ++i) {
      Value at = kb.add(row.address[i], offset);
      Values got = mode == Mode::Aligned ? kb.loadVector(buffer, kb.div(at, 4))
                                         : Values{kb.load(buffer, at)};
      for (Value x : got)
        v.push_back(inside(i, x));
    }
    return v;
  }
  // Where read()'s values hold tap kw of position t.
  int64_t value(int64_t t, int64_t kw) const {
    return mode == Mode::Aligned ? skew + t * segment.SW + kw * segment.DW
                                 : segment.column(t, kw);
  }

private:
  // Each column of the segment whose first column is at `start` (>= -PW
  // past its sample's start): the covering vec4s, kept within the sample
  // (a vec4 past it holds only columns outside their row), then per column
  // the float its shift points at.
  Values readSkewed(KernelBuilder &kb, unsigned buffer, Value start) const {
    int64_t bias = (PW + 3) / 4 * 4; // start + bias >= 0
    Value biased = kb.add(start, bias);
    Value first = kb.sub(kb.div(biased, 4), kb.idx(bias / 4));
    Value shift = kb.rem(biased, 4); // the segment's offset past a multiple of 4
    Value sampleFirst = quads.times(kb, kb.batch());
    int64_t most = skew | skewBits, span = segment.columns.back() + 1;
    Values x;
    for (int64_t i = 0; i < (span + most + 3) / 4; ++i) {
      Value inSample = quads.clampBelow(kb, kb.sub(kb.add(first, i), sampleFirst));
      llvm::append_range(x, kb.loadVector(buffer, kb.add(inSample, sampleFirst)));
    }
    Value high = skewBits & 2 ? kb.ge(shift, 2) : Value();
    Value odd = skewBits & 1 ? kb.ge(kb.rem(shift, 2), 1) : Value();
    Values v;
    for (int64_t col : segment.columns) {
      auto low = [&](int64_t s) { // s: the offset with bit 0 clear if it varies
        return odd ? kb.select(odd, x[col + (s | 1)], x[col + s]) : x[col + s];
      };
      int64_t fixed = skew & ~skewBits;
      v.push_back(high ? kb.select(high, low(fixed | 2), low(fixed)) : low(fixed));
    }
    return v;
  }
};

// Where a conv kernel's threads store: O output channels of OH x OW
// (`plane` floats, `sample` in all), row tiles of TP positions (pixelTiles
// in all), `width` positions a store.
struct ConvStores {
  Bound OW, plane, sample;
  int64_t TP;
  Bound pixelTiles;
  int64_t width;
};

// One thread's register tile: `tile` output channels from oc0 at the TP
// positions from ow0 of output row oh (its tile is pixelTile).
struct ConvTile {
  Value oc0;
  int64_t tile;
  Value oh, ow0, pixelTile;
};

// Adds the bias (from `biasBuffer`) to acc[j * TP + t], output channel
// oc0 + j at position ow0 + t, and stores it with the epilogue (storeRun).
void storeConvTile(KernelBuilder &kb, const KernelSpec &spec, ArrayRef<Value> acc,
                   unsigned biasBuffer, const ConvStores &o, const ConvTile &at);

} // namespace spire
