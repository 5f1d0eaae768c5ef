#include "KernelEmitters.h"

#include "ConvShape.h"

#include "spire/Dialect/SpireOps.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <optional>

using namespace mlir;

namespace spire {
namespace {

using Values = SmallVector<Value>;

ArrayRef<int64_t> shapeOf(Value v) { return llvm::cast<RankedTensorType>(v.getType()).getShape(); }

// Elements per sample (every dim but the batch).
int64_t perSample(Value v) {
  int64_t n = 1;
  for (int64_t d : shapeOf(v).drop_front())
    n *= d;
  return n;
}

Value applyActivation(KernelBuilder &kb, Operation *act, Value x) {
  return llvm::TypeSwitch<Operation *, Value>(act)
      .Case<ReluOp>([&](auto) { return kb.fmax(x, kb.f32(0)); })
      .Case<Relu6Op>([&](auto) { return kb.fmin(kb.fmax(x, kb.f32(0)), kb.f32(6)); })
      .Case<HardswishOp>([&](auto) {
        Value relu6 = kb.fmin(kb.fmax(kb.fadd(x, kb.f32(3)), kb.f32(0)), kb.f32(6));
        return kb.fdiv(kb.fmul(x, relu6), kb.f32(6));
      })
      .Case<LeakyReluOp>([&](LeakyReluOp op) {
        return kb.select(kb.fgt(x, kb.f32(0)), x,
                         kb.fmul(x, kb.f32(op.getNegativeSlope().convertToDouble())));
      })
      .Case<GeluOp>([&](auto) {
        Value phi = kb.fadd(kb.f32(1), kb.erf(kb.fmul(x, kb.f32(M_SQRT1_2))));
        return kb.fmul(kb.fmul(kb.f32(0.5), x), phi);
      })
      .Case<SigmoidOp>([&](auto) {
        return kb.fdiv(kb.f32(1), kb.fadd(kb.f32(1), kb.exp(kb.fsub(kb.f32(0), x))));
      })
      .Case<SiluOp>([&](auto) {
        return kb.fdiv(x, kb.fadd(kb.f32(1), kb.exp(kb.fsub(kb.f32(0), x))));
      })
      .Case<TanhOp>([&](auto) { return kb.tanh(x); })
      .Default([](Operation *) -> Value { llvm_unreachable("isActivation lists every activation"); });
}

// Residual add (of `residual`, the residual operand's matching element) and
// activation.
Value epilogue(KernelBuilder &kb, const KernelSpec &spec, Value residual, Value v) {
  if (spec.fusedAdd)
    v = kb.fadd(v, residual);
  if (spec.activation)
    v = applyActivation(kb, spec.activation, v);
  return v;
}

// Makes the output, and a fused residual read alongside it, buffers of
// `width`-element vectors for storeRun.
void useOutputVectors(KernelBuilder &kb, const KernelSpec &spec, int64_t width) {
  if (width == 1)
    return;
  kb.useVectors(0, width);
  if (spec.fusedAdd)
    kb.useVectors(spec.residual(), width);
}

// Residual add, activation and store of v.size() consecutive outputs from
// element `first`: one vector load and store where there are several (see
// useOutputVectors; `first` is then aligned).
void storeRun(KernelBuilder &kb, const KernelSpec &spec, Value first, ArrayRef<Value> v) {
  int64_t width = v.size();
  Values residual(width);
  if (spec.fusedAdd)
    residual = width == 1 ? Values{kb.load(spec.residual(), first)}
                          : kb.loadVector(spec.residual(), kb.div(first, width));
  Values out;
  for (int64_t e = 0; e < width; ++e)
    out.push_back(epilogue(kb, spec, residual[e], v[e]));
  if (width == 1)
    kb.store(0, first, out[0]);
  else
    kb.storeVector(0, kb.div(first, width), out);
}

// Residual add, activation, store of one output: the common tail of every
// kernel that stores a value at a time.
void finish(KernelBuilder &kb, const KernelSpec &spec, Value outBase, Value index, Value v) {
  storeRun(kb, spec, kb.add(outBase, index), {v});
}

// The register tile's update: acc[i * cols + k] += a(u, i) * b(u, k) for
// each term u, accumulator by accumulator with its terms in a row, so an
// accumulator the driver keeps in memory is loaded and stored once per
// update, not once per term (measured: docs/PERFORMANCE.md).
Values accumulateTile(KernelBuilder &kb, ValueRange acc, int64_t rows, int64_t cols,
                      int64_t terms, llvm::function_ref<Value(int64_t, int64_t)> a,
                      llvm::function_ref<Value(int64_t, int64_t)> b) {
  Values next;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = 0; k < cols; ++k) {
      Value sum = acc[i * cols + k];
      for (int64_t u = 0; u < terms; ++u)
        sum = kb.fadd(sum, kb.fmul(a(u, i), b(u, k)));
      next.push_back(sum);
    }
  return next;
}

// Runs `store` only where every index is below its count (a tile's row or
// column may lie past the end); the check is emitted only when the tiles do
// not divide the counts evenly (`ragged`).
void storeIfInside(KernelBuilder &kb, bool ragged, ArrayRef<std::pair<Value, int64_t>> bounds,
                   const std::function<void()> &store) {
  if (!ragged)
    return store();
  Value inside;
  for (auto [index, count] : bounds) {
    Value below = kb.lt(index, kb.idx(count));
    inside = inside ? kb.both(inside, below) : below;
  }
  kb.ifThen(inside, store);
}

// Loads element at(j) for each j in [0, count).
Values loadEach(KernelBuilder &kb, unsigned buffer, int64_t count,
                const std::function<Value(Value)> &at) {
  Values v;
  for (int64_t j = 0; j < count; ++j)
    v.push_back(kb.load(buffer, at(kb.idx(j))));
  return v;
}

// loadEach where at() is the same in every invocation of a subgroup (inside
// forEachTile, indexed by its group): lane j loads one value and every lane
// reads it by subgroup broadcast, so a lane issues count / broadcastLanes
// loads instead of count.
Values loadShared(KernelBuilder &kb, unsigned buffer, int64_t count,
                  const std::function<Value(Value)> &at) {
  int64_t lanes = std::min(kb.tiles().broadcastLanes, count);
  if (lanes <= 1 || count % lanes != 0)
    return loadEach(kb, buffer, count, at);
  Values v;
  Value mine = kb.rem(kb.laneId(), lanes);
  for (int64_t r = 0; r < count; r += lanes) {
    Value loaded = kb.load(buffer, at(kb.add(mine, r)));
    for (int64_t j = 0; j < lanes; ++j)
      v.push_back(kb.broadcast(loaded, j));
  }
  return v;
}

// The `count` consecutive floats from element `base` (a multiple of 4) of a
// buffer of vec4s (useVectors): count / 4 loads.
Values loadConsecutive(KernelBuilder &kb, unsigned buffer, int64_t count, Value base) {
  Values v;
  for (int64_t t = 0; t < count; t += 4)
    llvm::append_range(v, kb.loadVector(buffer, kb.div(kb.add(base, t), 4)));
  return v;
}

// The `count` weights from element `base` of a packed conv block (the same
// across the subgroup, inside forEachTile): as vec4 texels where count is a
// multiple of 4 (lane l fetches vec4 l % (count / 4) and every lane reads
// each float by broadcast: one fetch where loadShared takes count / 8),
// else by loadShared.
Values loadSharedBlock(KernelBuilder &kb, unsigned buffer, int64_t count, Value base) {
  if (count % 4 != 0)
    return loadShared(kb, buffer, count, [&](Value j) { return kb.add(base, j); });
  if (kb.tiles().broadcastLanes < count / 4) // too few lanes to share: fetch them all
    return loadConsecutive(kb, buffer, count, base);
  Values v;
  Value mine = kb.rem(kb.laneId(), count / 4);
  Values fetched = kb.loadVector(buffer, kb.div(kb.add(base, kb.mul(mine, 4)), 4));
  for (int64_t j = 0; j < count; ++j)
    v.push_back(kb.broadcast(fetched[j % 4], j / 4));
  return v;
}

// Reduction indices per loop iteration: the largest power of two up to
// TileConfig::reductionStep that divides `k`.
int64_t reductionStep(KernelBuilder &kb, int64_t k) {
  int64_t s = 1;
  while (s * 2 <= kb.tiles().reductionStep && k % (s * 2) == 0)
    s *= 2;
  return s;
}


// Elements per store for runs of `run` consecutive outputs starting at
// multiples of `run` in rows of `row` (a row starts at a multiple of `row`):
// 4 where 4 divides both, so every store is aligned, else 1 (2-wide stores
// measured slower than scalar ones on lavapipe, docs/PERFORMANCE.md).
int64_t storeWidth(int64_t run, int64_t row) {
  return run % 4 == 0 && row % 4 == 0 ? 4 : 1;
}

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
  std::pair<Values, Values> place(KernelBuilder &kb, Value iw0, int64_t W) const {
    Values offset, valid;
    for (int64_t col : columns) {
      Value iw = kb.add(iw0, col);
      valid.push_back(kb.both(kb.ge(iw, 0), kb.lt(iw, kb.idx(W))));
      offset.push_back(kb.clamp(iw, 0, W - 1));
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
// Without padding, a read outside its row or plane (clamped) only feeds
// outputs past the edge, which are never stored, so it needs no check. The
// buffer is read as texels (unless TileConfig::texelInputs is off).
struct SegmentReads {
  enum class Mode { Columns, Aligned, Skewed };
  const RowSegment &segment;
  Mode mode;
  int64_t skew;      // the first tile's segment's offset past a multiple of 4 (Aligned: every tile's)
  int64_t skewBits;  // Skewed: the bits of the offset that can vary
  int64_t perSample; // floats per sample of the buffer
  int64_t PW;        // a segment starts at most PW columns before its row
  bool padded;       // whether reads outside a row or plane count as padding
  RowSegment starts; // Aligned: each read's first column, relative to the segment's start - skew

  // Reads of the input of `s` by tiles `advance` columns apart.
  SegmentReads(KernelBuilder &kb, unsigned buffer, const RowSegment &segment, const ConvShape &s,
               int64_t advance)
      : segment(segment), mode(modeFor(segment, s.W, advance, s.C * s.H * s.W)),
        skew(((-s.PW) % 4 + 4) % 4), skewBits(varyingBits(mode, s.H, s.W, advance, s.PW)),
        perSample(s.C * s.H * s.W), PW(s.PW), padded(s.PH > 0 || s.PW > 0),
        starts(mode == Mode::Aligned
                   ? RowSegment((segment.columns.back() + skew) / 4 + 1, 1, 4, 1)
                   : segment) {
    kb.readAsTexels(buffer);
    if (mode != Mode::Columns)
      kb.useVectors(buffer, 4);
  }

  static Mode modeFor(const RowSegment &segment, int64_t W, int64_t advance, int64_t perSample) {
    if (perSample % 4 != 0)
      return Mode::Columns;
    if (W % 4 == 0 && advance % 4 == 0)
      return Mode::Aligned;
    return segment.columns.size() >= 4 ? Mode::Skewed : Mode::Columns;
  }
  // With rows and planes of a multiple of 4, only the tile's column moves a
  // segment's offset: k tiles along, k x advance - PW.
  static int64_t varyingBits(Mode mode, int64_t H, int64_t W, int64_t advance, int64_t PW) {
    if (mode != Mode::Skewed)
      return 0;
    if (W % 4 != 0 || H * W % 4 != 0)
      return 3;
    int64_t first = ((-PW) % 4 + 4) % 4, bits = 0;
    for (int64_t k = 1; k < 4; ++k)
      bits |= first ^ (((k * advance - PW) % 4 + 4) % 4);
    return bits;
  }

  // Where a tile whose segment starts at input column iw0 reads, within any
  // row of W: Aligned, each read's offset (clamped) and whether it lies
  // inside; otherwise each column's, and iw0 itself.
  struct Placed {
    Values offset, valid;
    Value iw0;
  };
  Placed place(KernelBuilder &kb, Value iw0, int64_t W) const {
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
  Row onRow(KernelBuilder &kb, const Placed &placed, Value planeBase, Value ih, int64_t H,
            int64_t W) const {
    Value rowValid = kb.both(kb.ge(ih, 0), kb.lt(ih, kb.idx(H)));
    Value rowBase = kb.add(planeBase, kb.mul(kb.clamp(ih, 0, H - 1), W));
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
    Value sampleFirst = kb.mul(kb.batch(), perSample / 4);
    int64_t most = skew | skewBits, span = segment.columns.back() + 1;
    Values x;
    for (int64_t i = 0; i < (span + most + 3) / 4; ++i) {
      Value inSample = kb.clamp(kb.sub(kb.add(first, i), sampleFirst), 0, perSample / 4 - 1);
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

// Where a conv kernel's threads store: O output channels of OH x OW, row
// tiles of TP positions (pixelTiles in all), `width` positions a store.
struct ConvStores {
  int64_t O, OH, OW, TP, pixelTiles, width;
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
                   unsigned biasBuffer, const ConvStores &o, const ConvTile &at) {
  int64_t P = o.OH * o.OW;
  Value outBase = kb.sampleBase(o.O * P);
  Values bias;
  for (int64_t j = 0; j < at.tile; ++j)
    bias.push_back(kb.load(biasBuffer, kb.add(at.oc0, j)));
  bool ragged = o.OW % o.TP != 0 || o.pixelTiles % kb.workgroupSize() != 0;
  for (int64_t t = 0; t < o.TP; t += o.width) {
    auto store = [&] {
      for (int64_t j = 0; j < at.tile; ++j) {
        Value rowStart =
            kb.add(kb.add(outBase, kb.mul(kb.add(at.oc0, j), P)), kb.mul(at.oh, o.OW));
        Values v;
        for (int64_t e = 0; e < o.width; ++e)
          v.push_back(kb.fadd(acc[j * o.TP + t + e], bias[j]));
        storeRun(kb, spec, kb.add(kb.add(rowStart, at.ow0), t), v);
      }
    };
    storeIfInside(kb, ragged, {{at.pixelTile, o.pixelTiles}, {kb.add(at.ow0, t), o.OW}}, store);
  }
}

// Where a conv's row products read: `reads` of `buffer`, the row `row` (of
// KW taps), a channel's plane `plane` floats after the one before.
struct RowInput {
  const SegmentReads &reads;
  unsigned buffer;
  const SegmentReads::Row &row;
  int64_t plane, KW;
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
      segments.push_back(in.reads.read(kb, in.buffer, in.row, kb.mul(c, in.plane), kb.f32(0)));
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
// 1x1's shape, and how a tile of TP positions reads its input row segment.
struct Shortcut {
  ConvShape shape;
  RowSegment segment;
  SegmentReads reads;
  Shortcut(KernelBuilder &kb, const KernelSpec &spec, const ConvShape &shape, int64_t TP)
      : shape(shape), segment(TP, 1, shape.SW, 1),
        reads(kb, spec.input(1), segment, shape, TP * shape.SW) {}
};

// Direct convolution, register-tiled: each thread computes `tile` output
// channels at up to `positions` (both from the kernel config) consecutive positions of one output
// row. Per kernel row and input channel it loads the input row segment those
// positions read once (each column once, however many taps read it: 10 loads
// instead of 24 for a 3x3 at 8 positions), then runs every tap of the row
// from registers (SegmentReads: as vec4s where rows allow). Weights are
// loaded cooperatively (loadSharedBlock): a thread's channel block is the
// same across its workgroup.
std::array<uint32_t, 3> emitConv(KernelBuilder &kb, const KernelSpec &spec, const ConvShape &shape) {
  const ConvShape &s = shape.flattensPlanes() ? shape.flattened() : shape;
  auto [C, H, W, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, G] = s;
  int64_t Cg = C / G, Og = O / G;
  // select-kernel-config resolved the tiles for this conv.
  int64_t tile = kb.tiles().channelsPerThread, taps = KH * KW;
  RowTiles rowTiles(OW, kb.tiles().pixelsPerThread);
  int64_t tilesPerRow = rowTiles.count, TP = rowTiles.width, pixelTiles = OH * tilesPerRow;
  RowSegment segment(TP, KW, SW, DW);
  // `width` consecutive positions per store where they are aligned (a
  // group past a ragged row's end lies wholly past it).
  int64_t width = storeWidth(TP, OW);
  useOutputVectors(kb, spec, width);
  SegmentReads reads(kb, spec.input(0), segment, s, TP * SW);
  kb.readAsTexels(spec.param(0));
  if (tile % 4 == 0)
    kb.useVectors(spec.param(0), 4);
  std::optional<Shortcut> shortcut;
  if (spec.shortcut) {
    ConvShape p = ConvShape::of(llvm::cast<Conv2dOp>(spec.shortcut));
    shortcut.emplace(kb, spec, p.flattensPlanes() ? p.flattened() : p, TP);
    kb.readAsTexels(spec.param(2));
    if (tile % 4 == 0)
      kb.useVectors(spec.param(2), 4);
  }

  return kb.forEachTile(O / tile, pixelTiles, [&](Value channelBlock, Value pixelTile) {
    Value oc0 = kb.mul(channelBlock, tile);
    Value group = kb.div(oc0, Og);
    Value inBase = kb.add(kb.sampleBase(C * H * W), kb.mul(kb.mul(group, Cg), H * W));
    // A lane past the last tile reads row OH - 1 and stores nothing.
    Value oh = kb.clamp(kb.div(pixelTile, tilesPerRow), 0, OH - 1);
    Value ow0 = kb.mul(kb.rem(pixelTile, tilesPerRow), TP);
    auto placed = reads.place(kb, kb.add(kb.mul(ow0, SW), -PW), W);
    // The block's weights, packed [C/g x taps][tile] (Codegen.cpp).
    Value wBase = kb.mul(channelBlock, Cg * taps * tile);
    Values acc = kb.loop(0, KH, Values(tile * TP, kb.f32(0)), [&](Value kh, ValueRange acc) {
      Value ih = kb.add(kb.add(kb.mul(oh, SH), -PH), kb.mul(kh, DH));
      SegmentReads::Row row = reads.onRow(kb, placed, inBase, ih, H, W);
      Value wRow = kb.add(wBase, kb.mul(kh, KW * tile));
      // A 1x1 takes `step` input channels per iteration (a multi-tap row
      // already does several multiply-adds per accumulator and load).
      int64_t step = taps == 1 ? reductionStep(kb, Cg) : 1;
      return convRowProducts(kb, acc, {reads, spec.input(0), row, H * W, KW}, Cg, step,
                             {spec.param(0), wRow, taps * tile, tile}, TP);
    });
    if (shortcut) {
      // The projection's products join the same accumulators: its input's
      // row oh x stride, columns (ow0 + t) x stride.
      const ConvShape &p = shortcut->shape;
      auto placed = shortcut->reads.place(kb, kb.mul(ow0, p.SW), p.W);
      SegmentReads::Row row = shortcut->reads.onRow(
          kb, placed, kb.sampleBase(p.C * p.H * p.W), kb.mul(oh, p.SH), p.H, p.W);
      acc = convRowProducts(kb, acc, {shortcut->reads, spec.input(1), row, p.H * p.W, 1}, p.C,
                            reductionStep(kb, p.C),
                            {spec.param(2), kb.mul(channelBlock, p.C * tile), tile, tile}, TP);
    }
    storeConvTile(kb, spec, acc, spec.param(1), {O, OH, OW, TP, pixelTiles, width},
                  {oc0, tile, oh, ow0, pixelTile});
  });
}

// How a per-channel window combines its inputs.
enum class WindowReduce {
  MultiplyAdd, // a depthwise conv: sum of input x weight, plus the bias
  Max,         // max pooling; padding counts as -inf
  Mean,        // average pooling; padding counts as 0 (count_include_pad)
};

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

// Per-channel windows (depthwise convs, pools): a thread takes one channel
// and a tile of R output rows x TP positions, unrolled (no loop-carried
// values). Each input row the tile reads is loaded once, as a RowSegment,
// and feeds every output row whose window covers it: a 3x3 at 4 rows loads
// 6 segments where 4 single-row tiles load 12. Work items run over
// (channel, tile) pairs, not forEachTile's channel groups: with no weights
// to share, a 7x7 channel's few tiles would leave most lanes of a subgroup
// idle.
std::array<uint32_t, 3> emitWindow(KernelBuilder &kb, const KernelSpec &spec, const ConvShape &s,
                                   WindowReduce reduce) {
  auto [C, H, W, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, G] = s;
  bool conv = reduce == WindowReduce::MultiplyAdd, max = reduce == WindowReduce::Max;
  RowTiles rowTiles(OW, kb.tiles().windowPositions);
  int64_t tilesPerRow = rowTiles.count, TP = rowTiles.width;
  int64_t R = windowRows(kb, reduce, OH, TP, SW), taps = KH * KW;
  int64_t tiles = (OH + R - 1) / R * tilesPerRow;
  RowSegment segment(TP, KW, SW, DW);
  SegmentReads reads(kb, spec.input(0), segment, s, TP * SW);
  if (conv)
    kb.readAsTexels(spec.param(0));
  int64_t width = storeWidth(TP, OW);
  useOutputVectors(kb, spec, width);

  return kb.forEachItem(C * tiles, [&](Value item) {
    Value c = kb.div(item, tiles), tile = kb.rem(item, tiles);
    Value oh0 = kb.mul(kb.div(tile, tilesPerRow), R);
    Value ow0 = kb.mul(kb.rem(tile, tilesPerRow), TP);
    Value inBase = kb.add(kb.sampleBase(C * H * W), kb.mul(c, H * W));
    auto placed = reads.place(kb, kb.add(kb.mul(ow0, SW), -PW), W);
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
      Values x = reads.read(kb, spec.input(0), reads.onRow(kb, placed, inBase, ih, H, W),
                            kb.idx(0), padding);
      for (auto [r, kh] : uses)
        for (int64_t t = 0; t < TP; ++t)
          for (int64_t kw = 0; kw < KW; ++kw) {
            Value &a = acc[r * TP + t];
            Value v = x[reads.value(t, kw)];
            a = conv ? kb.fadd(a, kb.fmul(v, w[kh * KW + kw])) : max ? kb.fmax(a, v) : kb.fadd(a, v);
          }
    }
    Value outBase = kb.add(kb.sampleBase(C * OH * OW), kb.mul(c, OH * OW));
    // What turns an accumulator into the output: + bias, / window, or nothing.
    auto result = [&, bias = conv ? kb.load(spec.param(1), c) : Value()](Value a) {
      return conv ? kb.fadd(a, bias) : max ? a : kb.fdiv(a, kb.f32(taps));
    };
    bool ragged = OW % TP != 0 || OH % R != 0;
    for (int64_t r = 0; r < R; ++r) {
      Value oh = kb.add(oh0, r);
      for (int64_t t = 0; t < TP; t += width) {
        Value ow = kb.add(ow0, t);
        storeIfInside(kb, ragged, {{oh, OH}, {ow, OW}}, [&] {
          Values v;
          for (int64_t e = 0; e < width; ++e)
            v.push_back(result(acc[r * TP + t + e]));
          storeRun(kb, spec, kb.add(kb.add(outBase, kb.mul(oh, OW)), ow), v);
        });
      }
    }
  });
}

// Outputs of a pointwise conv that emitSeparable keeps per thread: all of
// them, so each depthwise value is computed once.
constexpr int64_t kSeparableOutputs = 32;

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

// A depthwise conv and the 1x1 conv after it (a depthwise-separable pair) as
// one kernel: the depthwise output, a channel at a time in registers, is the
// pointwise conv's reduction input, and is never stored nor loaded again.
// A stored float costs about 32 multiply-adds on lavapipe, and MobileNetV2's
// early depthwise kernels spend about half their time storing
// (docs/PERFORMANCE.md). A thread takes TP positions of one output row and
// all O <= kSeparableOutputs output channels, so no depthwise value is
// computed twice; a channel's weights (and depthwise bias) are the same for
// every thread, fetched as vec4s shared by the subgroup (loadSharedBlock).
std::array<uint32_t, 3> emitSeparable(KernelBuilder &kb, const KernelSpec &spec,
                                      const ConvShape &s, int64_t O) {
  auto [C, H, W, Cout, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, G] = s;
  int64_t taps = KH * KW, block = separableBlock(taps);
  RowTiles rowTiles(OW, separablePositions(kb, O, OW));
  int64_t tilesPerRow = rowTiles.count, TP = rowTiles.width, pixelTiles = OH * tilesPerRow;
  RowSegment segment(TP, KW, SW, DW);
  SegmentReads reads(kb, spec.input(0), segment, s, TP * SW);
  int64_t width = storeWidth(TP, OW);
  useOutputVectors(kb, spec, width);
  for (unsigned p = 0; p < spec.numParams; ++p)
    kb.readAsTexels(spec.param(p));
  kb.useVectors(spec.param(0), 4);
  kb.useVectors(spec.param(1), 4);

  return kb.forEachTile(1, pixelTiles, [&](Value, Value pixelTile) {
    // A lane past the last tile reads row OH - 1 and stores nothing.
    Value oh = kb.clamp(kb.div(pixelTile, tilesPerRow), 0, OH - 1);
    Value ow0 = kb.mul(kb.rem(pixelTile, tilesPerRow), TP);
    auto placed = reads.place(kb, kb.add(kb.mul(ow0, SW), -PW), W);
    std::vector<SegmentReads::Row> rows; // of channel 0; a channel moves them by c x H x W
    for (int64_t kh = 0; kh < KH; ++kh) {
      Value ih = kb.add(kb.add(kb.mul(oh, SH), -PH), kh * DH);
      rows.push_back(reads.onRow(kb, placed, kb.sampleBase(C * H * W), ih, H, W));
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
          Values x = reads.read(kb, spec.input(0), rows[kh], kb.mul(c, H * W), kb.f32(0));
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
    storeConvTile(kb, spec, acc, spec.param(2), {O, OH, OW, TP, pixelTiles, width},
                  {kb.idx(0), O, oh, ow0, pixelTile});
  });
}

// How a thread reads its `cols` weights of one reduction index.
enum class WeightLoads {
  Each,   // one load each (loadEach)
  Shared, // the same across the subgroup: loadShared
  Vec4,   // consecutive from a 4-aligned start, in a buffer of vec4s: loadConsecutive
};

// One thread's register tile of a product, over k in [0, K):
// acc[r * cols + t] += x(r, k) * w(k, t) for r < rows, t < cols, reading
// w as `how` says. Each iteration loads reductionStep indices, then runs
// their multiply-adds. With xRun 4 (the step a multiple of 4), x(r, k) for
// each 4 k of a step from a multiple of 4 are consecutive floats from a
// 4-aligned start, in a buffer of vec4s: one load for the 4.
Values tileProduct(KernelBuilder &kb, ValueRange init, int64_t K, int64_t rows, int64_t cols,
                   WeightLoads how, unsigned xBuffer,
                   const std::function<Value(int64_t, Value)> &xAt, unsigned wBuffer,
                   const std::function<Value(Value, Value)> &wAt, int64_t xRun = 1) {
  int64_t step = reductionStep(kb, K);
  return kb.loop(0, K / step, init, [&](Value ks, ValueRange acc) {
    std::vector<Values> x(step), w(step);
    for (int64_t s = 0; s < step; ++s) {
      Value k = kb.add(kb.mul(ks, step), s);
      if (s % xRun == 0)
        for (int64_t r = 0; r < rows; ++r) {
          Value at = xAt(r, k);
          Values v = xRun == 1 ? Values{kb.load(xBuffer, at)}
                               : kb.loadVector(xBuffer, kb.div(at, xRun));
          for (int64_t i = 0; i < xRun; ++i)
            x[s + i].push_back(v[i]);
        }
      auto at = [&](Value t) { return wAt(k, t); };
      w[s] = how == WeightLoads::Vec4     ? loadConsecutive(kb, wBuffer, cols, at(kb.idx(0)))
             : how == WeightLoads::Shared ? loadShared(kb, wBuffer, cols, at)
                                          : loadEach(kb, wBuffer, cols, at);
    }
    return accumulateTile(
        kb, acc, rows, cols, step, [&](int64_t s, int64_t r) { return x[s][r]; },
        [&](int64_t s, int64_t t) { return w[s][t]; });
  });
}

// y[r, o] = sum_k x[r, k] W^T[k, o] + b[o] for R rows of one sample. Each
// thread computes `tile` consecutive outputs for several rows, so every
// weight it loads serves all its rows. With rows enough to fill the
// subgroups, a workgroup shares one output block (8 rows a thread, weights by
// loadShared); otherwise each thread takes its own block (up to 4 rows).
// A single row (a batch-1 classifier) splits the reduction over the lanes of
// a subgroup instead (lane l takes k = l, l + L, ..., or runs of 4 from
// 4l, 4(l + L), ... where they fit; the partial sums are added by
// broadcast), so its few output blocks still fill the device.
// Row r of x starts at r * rowStride (K, or more for rows that are part of
// wider ones). Used by linear and attention.
std::array<uint32_t, 3> emitRowsTimesMatrix(KernelBuilder &kb, const KernelSpec &spec, int64_t R,
                                            int64_t K, int64_t O, int64_t rowStride) {
  int64_t tile = channelTile(kb.tiles().channelsPerThread, O), blocks = O / tile;
  int64_t sharedRows = kb.tiles().pixelsPerThread;
  bool shared = kb.tiles().broadcastLanes > 1 && R >= sharedRows * kb.tiles().broadcastLanes;
  int64_t RT = std::min<int64_t>(R, shared ? sharedRows : 4), rowTiles = (R + RT - 1) / RT;
  int64_t rows = weightRowsPerBinding(K, O), chunks = (K + rows - 1) / rows;
  int64_t L = kb.tiles().broadcastLanes;
  bool splitK = R == 1 && L > 1 && rows % L == 0 && K % L == 0;
  // A thread's own block of consecutive weights comes 4 at a time where
  // blocks start at multiples of 4 (a texel fetch costs the same for 1 or 4
  // floats on lavapipe; measured: docs/PERFORMANCE.md).
  WeightLoads how = shared ? WeightLoads::Shared
                    : O % 4 == 0 && tile % 4 == 0 ? WeightLoads::Vec4
                                                  : WeightLoads::Each;
  // A split reduction gives each lane runs of 4 consecutive k, interleaved
  // (lane l takes 4l to 4l + 3, then 4(l + L) on), where every chunk's share
  // is whole runs, so its x values come as vec4s: a fetch for 4 of them.
  // Runs interleave so the lanes read neighbouring weight rows: a lane's own
  // contiguous share was at most ~15% faster on cache-sized weights but
  // 15-20% slower on VGG's 411 MB fc6 (docs/PERFORMANCE.md).
  int64_t xRun = splitK && K % (4 * L) == 0 && rows % (4 * L) == 0 &&
                         kb.tiles().reductionStep >= 4
                     ? 4
                     : 1;
  kb.readAsTexels(spec.input(0));
  if (xRun == 4)
    kb.useVectors(spec.input(0), 4);
  for (int64_t c = 0; c < chunks; ++c) {
    kb.readAsTexels(spec.param(c));
    if (how == WeightLoads::Vec4)
      kb.useVectors(spec.param(c), 4);
  }
  // `lane`: this invocation's share of a split reduction; null when not split.
  auto body = [&](Value rowTile, Value block, Value lane) {
    Value r0 = kb.mul(rowTile, RT), o0 = kb.mul(block, tile);
    Values xBase;
    for (int64_t r = 0; r < RT; ++r) // a tail row past R is clamped, not stored
      xBase.push_back(kb.add(kb.sampleBase(R * rowStride),
                             kb.mul(kb.clamp(kb.add(r0, r), 0, R - 1), rowStride)));
    Values acc(RT * tile, kb.f32(0));
    // One reduction loop per weight binding (one for all but huge weights).
    // Lane l's k-th index: l + kL, or in runs, 4(l + (k / 4) L) + k % 4.
    auto kOf = [&](Value k) {
      if (!lane)
        return k;
      if (xRun == 1)
        return kb.add(kb.mul(k, L), lane);
      return kb.add(kb.mul(kb.add(kb.mul(kb.div(k, xRun), L), lane), xRun), kb.rem(k, xRun));
    };
    for (int64_t c = 0; c < chunks; ++c)
      acc = tileProduct(
          kb, acc, std::min(rows, K - c * rows) / (lane ? L : 1), RT, tile, how, spec.input(0),
          [&](int64_t r, Value k) { return kb.add(xBase[r], kb.add(kOf(k), c * rows)); },
          spec.param(c),
          [&](Value k, Value t) { return kb.add(kb.add(kb.mul(kOf(k), O), o0), t); }, xRun);
    if (lane)
      for (Value &a : acc) {
        Value sum = kb.broadcast(a, 0);
        for (int64_t j = 1; j < L; ++j)
          sum = kb.fadd(sum, kb.broadcast(a, j));
        a = sum;
      }
    Value outBase = kb.sampleBase(R * O);
    Values bias;
    for (int64_t t = 0; t < tile; ++t)
      bias.push_back(kb.load(spec.param(chunks), kb.add(o0, t)));
    bool ragged = R % RT != 0 || (shared && rowTiles % kb.workgroupSize() != 0);
    for (int64_t r = 0; r < RT; ++r) {
      Value row = kb.add(r0, r);
      auto store = [&] {
        for (int64_t t = 0; t < tile; ++t)
          finish(kb, spec, outBase, kb.add(kb.mul(row, O), kb.add(o0, t)),
                 kb.fadd(acc[r * tile + t], bias[t]));
      };
      if (lane) // every lane holds the sum; the first stores it
        kb.ifThen(kb.lt(lane, kb.idx(1)), store);
      else
        storeIfInside(kb, ragged, {{row, R}}, store);
    }
  };
  if (splitK)
    return kb.forEachTile(blocks, L, [&](Value block, Value) {
      body(kb.idx(0), block, kb.rem(kb.laneId(), L));
    });
  if (shared)
    return kb.forEachTile(blocks, rowTiles,
                          [&](Value block, Value rowTile) { body(rowTile, block, Value()); });
  return kb.forEachItem(rowTiles * blocks, [&](Value item) {
    body(kb.div(item, blocks), kb.rem(item, blocks), Value());
  });
}

std::array<uint32_t, 3> emitLinear(KernelBuilder &kb, const KernelSpec &spec, LinearOp op) {
  int64_t K = shapeOf(op.getInput()).back(), O = op.getOut();
  return emitRowsTimesMatrix(kb, spec, perSample(op.getInput()) / K, K, O, K);
}

// Self-attention runs as five kernels (spec.part), each a simple loop nest
// over the packed [T, 3C] projections (q | k | v, heads side by side):
//   0  qkv = x W_in^T + b_in                       [T, 3C]
//   1  scores[h, i, j] = q_i . k_j / sqrt(D)        [H, T, T], 8 x 8 a thread
//   2  softmax over j, in place                     one row a thread
//   3  heads[i, h*D + d] = sum_j p[h, i, j] v_j      8 x 8 a thread, stored
//      over q (read only by part 1), so no separate [T, C] buffer is live
//   4  out = heads W_out^T + b_out, then the epilogue
std::array<uint32_t, 3> emitAttention(KernelBuilder &kb, const KernelSpec &spec, AttentionOp op) {
  ArrayRef<int64_t> shape = shapeOf(op.getInput());
  int64_t T = shape[1], C = shape[2], H = op.getHeads(), D = C / H;
  if (spec.part == 0)
    return emitRowsTimesMatrix(kb, spec, T, C, 3 * C, C);
  if (spec.part == 4)
    return emitRowsTimesMatrix(kb, spec, T, C, C, 3 * C);
  Value qkv = kb.sampleBase(T * 3 * C);
  // Parts 1 and 3 are per-head products [T, K] x [K, N]: a workgroup takes
  // one head and 8 columns (keys, or value dims), shared by loadShared, and
  // each thread 8 query rows; tail rows and keys are clamped, not stored.
  constexpr int64_t RT = 8, NT = 8;
  int64_t rowTiles = (T + RT - 1) / RT;
  for (unsigned i = 0; i < spec.numInputs; ++i)
    kb.readAsTexels(spec.input(i));
  auto perHead = [&](int64_t N, int64_t K, unsigned xBuffer,
                     const std::function<Value(Value h, Value i, Value k)> &xAt, unsigned wBuffer,
                     const std::function<Value(Value h, Value k, Value n)> &wAt,
                     const std::function<void(Value h, Value i, Value n, Value v)> &store) {
    int64_t blocks = (N + NT - 1) / NT;
    return kb.forEachTile(H * blocks, rowTiles, [&](Value group, Value rowTile) {
      Value h = kb.div(group, blocks), n0 = kb.mul(kb.rem(group, blocks), NT);
      Value i0 = kb.mul(rowTile, RT);
      Values acc = tileProduct(
          kb, Values(RT * NT, kb.f32(0)), K, RT, NT, WeightLoads::Shared, xBuffer,
          [&](int64_t r, Value k) { return xAt(h, kb.clamp(kb.add(i0, r), 0, T - 1), k); },
          wBuffer, [&](Value k, Value t) { return wAt(h, k, kb.clamp(kb.add(n0, t), 0, N - 1)); });
      bool ragged = T % RT != 0 || N % NT != 0 || rowTiles % kb.workgroupSize() != 0;
      for (int64_t r = 0; r < RT; ++r)
        for (int64_t t = 0; t < NT; ++t) {
          Value i = kb.add(i0, r), n = kb.add(n0, t);
          storeIfInside(kb, ragged, {{i, T}, {n, N}}, [&] { store(h, i, n, acc[r * NT + t]); });
        }
    });
  };
  // q, k and v of token i, head h, in the packed projections; score (i, j).
  auto qkvAt = [&](int64_t which, Value i, Value h, Value d) {
    return kb.add(qkv, kb.add(kb.add(kb.mul(i, 3 * C), which * C), kb.add(kb.mul(h, D), d)));
  };
  auto scoreAt = [&](Value h, Value i, Value j) {
    return kb.add(kb.sampleBase(H * T * T), kb.add(kb.mul(kb.add(kb.mul(h, T), i), T), j));
  };
  if (spec.part == 1) {
    double scale = 1.0 / std::sqrt(static_cast<double>(D));
    return perHead(
        T, D, spec.input(0), [&](Value h, Value i, Value d) { return qkvAt(0, i, h, d); },
        spec.input(0), [&](Value h, Value d, Value j) { return qkvAt(1, j, h, d); },
        [&](Value h, Value i, Value j, Value v) { kb.store(0, scoreAt(h, i, j), kb.fmul(v, kb.f32(scale))); });
  }
  if (spec.part == 2) {
    return kb.forEachItem(H * T, [&](Value row) {
      Value base = kb.add(kb.sampleBase(H * T * T), kb.mul(row, T));
      Value max = kb.loop(0, T, {kb.f32(-3.4028234663852886e38)}, [&](Value j, ValueRange acc) {
        return Values{kb.fmax(acc[0], kb.load(0, kb.add(base, j)))};
      })[0];
      Value sum = kb.loop(0, T, {kb.f32(0)}, [&](Value j, ValueRange acc) {
        Value e = kb.exp(kb.fsub(kb.load(0, kb.add(base, j)), max));
        kb.store(0, kb.add(base, j), e);
        return Values{kb.fadd(acc[0], e)};
      })[0];
      Value inv = kb.fdiv(kb.f32(1), sum);
      kb.loop(0, T, {}, [&](Value j, ValueRange) {
        Value at = kb.add(base, j);
        kb.store(0, at, kb.fmul(kb.load(0, at), inv));
        return Values{};
      });
    });
  }
  // part 3: probabilities (input 0) times values (input 1, the packed qkv,
  // which is also the output).
  return perHead(
      D, T, spec.input(0), scoreAt, spec.input(1),
      [&](Value h, Value j, Value d) { return qkvAt(2, j, h, d); },
      [&](Value h, Value i, Value d, Value v) { kb.store(0, qkvAt(0, i, h, d), v); });
}

std::array<uint32_t, 3> emitMatmul(KernelBuilder &kb, const KernelSpec &spec, MatmulOp op) {
  ArrayRef<int64_t> a = shapeOf(op.getLhs()), b = shapeOf(op.getRhs());
  int64_t M = a[a.size() - 2], K = a.back(), P = b.back();
  int64_t B = perSample(op.getLhs()) / (M * K);
  return kb.forEachItem(B * M * P, [&](Value item) {
    Value bi = kb.div(item, M * P), rest = kb.rem(item, M * P);
    Value m = kb.div(rest, P), p = kb.rem(rest, P);
    Value aBase = kb.add(kb.sampleBase(B * M * K), kb.add(kb.mul(bi, M * K), kb.mul(m, K)));
    Value bBase = kb.add(kb.sampleBase(B * K * P), kb.add(kb.mul(bi, K * P), p));
    Values acc = kb.loop(0, K, {kb.f32(0)}, [&](Value k, ValueRange acc) {
      Value x = kb.load(spec.input(0), kb.add(aBase, k));
      Value y = kb.load(spec.input(1), kb.add(bBase, kb.mul(k, P)));
      return Values{kb.fadd(acc[0], kb.fmul(x, y))};
    });
    finish(kb, spec, kb.sampleBase(B * M * P), item, acc[0]);
  });
}

std::array<uint32_t, 3> emitGlobalAvgpool(KernelBuilder &kb, const KernelSpec &spec,
                                          GlobalAvgpoolOp op) {
  int64_t C = shapeOf(op.getInput())[1];
  int64_t S = perSample(op.getInput()) / C;
  return kb.forEachItem(C, [&](Value c) {
    Value base = kb.add(kb.sampleBase(C * S), kb.mul(c, S));
    Values acc = kb.loop(0, S, {kb.f32(0)}, [&](Value s, ValueRange acc) {
      return Values{kb.fadd(acc[0], kb.load(spec.input(0), kb.add(base, s)))};
    });
    finish(kb, spec, kb.sampleBase(C), c, kb.fdiv(acc[0], kb.f32(S)));
  });
}

// PyTorch's adaptive bins: [floor(i*H/OH), ceil((i+1)*H/OH)). Bins differ in
// size, so the loops run over the largest bin with a mask.
std::array<uint32_t, 3> emitAdaptiveAvgpool(KernelBuilder &kb, const KernelSpec &spec,
                                            AdaptiveAvgpool2dOp op) {
  ArrayRef<int64_t> in = shapeOf(op.getInput());
  int64_t C = in[1], H = in[2], W = in[3], OH = op.getSize()[0], OW = op.getSize()[1];
  int64_t maxH = std::min(H, (H + OH - 1) / OH + 1), maxW = std::min(W, (W + OW - 1) / OW + 1);
  return kb.forEachItem(C * OH * OW, [&](Value item) {
    Value c = kb.div(item, OH * OW), pix = kb.rem(item, OH * OW);
    Value oh = kb.div(pix, OW), ow = kb.rem(pix, OW);
    Value h0 = kb.div(kb.mul(oh, H), OH), h1 = kb.div(kb.add(kb.mul(kb.add(oh, 1), H), OH - 1), OH);
    Value w0 = kb.div(kb.mul(ow, W), OW), w1 = kb.div(kb.add(kb.mul(kb.add(ow, 1), W), OW - 1), OW);
    Value base = kb.add(kb.sampleBase(C * H * W), kb.mul(c, H * W));
    Value sum = kb.loop(0, maxH, {kb.f32(0)}, [&](Value kh, ValueRange acc) {
      Value ih = kb.add(h0, kh);
      Value rowOk = kb.lt(ih, h1);
      Value rowBase = kb.add(base, kb.mul(kb.clamp(ih, 0, H - 1), W));
      return kb.loop(0, maxW, acc, [&](Value kw, ValueRange acc) {
        Value iw = kb.add(w0, kw);
        Value ok = kb.both(rowOk, kb.lt(iw, w1));
        Value x = kb.load(spec.input(0), kb.add(rowBase, kb.clamp(iw, 0, W - 1)));
        return Values{kb.select(ok, kb.fadd(acc[0], x), acc[0])};
      });
    })[0];
    Value count = kb.toF32(kb.mul(kb.sub(h1, h0), kb.sub(w1, w0)));
    finish(kb, spec, kb.sampleBase(C * OH * OW), item, kb.fdiv(sum, count));
  });
}

// Runs an elementwise body over the n elements of a sample: a run of 4
// consecutive ones a thread where n and `run` (a length a run must not
// cross, such as a channel's plane) are multiples of 4, else one. The
// inputs are read as texels (vec4s for runs of 4; lavapipe loads and stores
// a vec4 for about what it does a float) and the outputs go through
// storeRun. body(first, x) gets the run's first element within the sample
// and each input's values, and returns the run's outputs.
std::array<uint32_t, 3> forEachRun(KernelBuilder &kb, const KernelSpec &spec, int64_t n,
                                   int64_t run,
                                   const std::function<Values(Value, ArrayRef<Values>)> &body) {
  int64_t width = n % 4 == 0 && run % 4 == 0 ? 4 : 1;
  for (unsigned i = 0; i < spec.numInputs; ++i) {
    kb.readAsTexels(spec.input(i));
    if (width > 1)
      kb.useVectors(spec.input(i), width);
  }
  useOutputVectors(kb, spec, width);
  return kb.forEachItem(n / width, [&](Value item) {
    Value first = kb.mul(item, width), at = kb.add(kb.sampleBase(n), first);
    std::vector<Values> x;
    for (unsigned i = 0; i < spec.numInputs; ++i)
      x.push_back(width > 1 ? kb.loadVector(spec.input(i), kb.div(at, width))
                            : Values{kb.load(spec.input(i), at)});
    storeRun(kb, spec, at, body(first, x));
  });
}

// y = x * scale[c] + shift[c], the inference form of batch norm.
std::array<uint32_t, 3> emitBatchnorm(KernelBuilder &kb, const KernelSpec &spec, Operation *op) {
  Value input = op->getOperand(0);
  int64_t C = shapeOf(input)[1], n = perSample(input), S = n / C;
  return forEachRun(kb, spec, n, S, [&](Value first, ArrayRef<Values> x) {
    Value c = kb.div(first, S);
    Value scale = kb.load(spec.param(0), c), shift = kb.load(spec.param(1), c);
    Values y;
    for (Value v : x[0])
      y.push_back(kb.fadd(kb.fmul(v, scale), shift));
    return y;
  });
}

// Normalizes each row of the last dim: two passes for mean and variance
// (numerically safer than one pass of sums of squares), then the output.
std::array<uint32_t, 3> emitLayernorm(KernelBuilder &kb, const KernelSpec &spec, LayernormOp op) {
  int64_t C = shapeOf(op.getInput()).back(), n = perSample(op.getInput()), R = n / C;
  double eps = op.getEps().convertToDouble();
  return kb.forEachItem(R, [&](Value row) {
    Value base = kb.add(kb.sampleBase(n), kb.mul(row, C));
    Value sum = kb.loop(0, C, {kb.f32(0)}, [&](Value i, ValueRange acc) {
      return Values{kb.fadd(acc[0], kb.load(spec.input(0), kb.add(base, i)))};
    })[0];
    Value mean = kb.fdiv(sum, kb.f32(C));
    Value sq = kb.loop(0, C, {kb.f32(0)}, [&](Value i, ValueRange acc) {
      Value d = kb.fsub(kb.load(spec.input(0), kb.add(base, i)), mean);
      return Values{kb.fadd(acc[0], kb.fmul(d, d))};
    })[0];
    Value inv = kb.fdiv(kb.f32(1), kb.sqrt(kb.fadd(kb.fdiv(sq, kb.f32(C)), kb.f32(eps))));
    kb.loop(0, C, {}, [&](Value i, ValueRange) {
      Value x = kb.load(spec.input(0), kb.add(base, i));
      Value y = kb.fmul(kb.fsub(x, mean), inv);
      y = kb.fadd(kb.fmul(y, kb.load(spec.param(0), i)), kb.load(spec.param(1), i));
      finish(kb, spec, kb.sampleBase(n), kb.add(kb.mul(row, C), i), y);
      return Values{};
    });
  });
}

std::array<uint32_t, 3> emitSoftmax(KernelBuilder &kb, const KernelSpec &spec, SoftmaxOp op) {
  ArrayRef<int64_t> shape = shapeOf(op.getInput());
  int64_t dim = op.getDim() < 0 ? op.getDim() + shape.size() : op.getDim();
  int64_t D = shape[dim], inner = 1, n = perSample(op.getInput());
  for (size_t i = dim + 1; i < shape.size(); ++i)
    inner *= shape[i];
  int64_t outer = n / (D * inner);
  return kb.forEachItem(outer * inner, [&](Value item) {
    Value base = kb.add(kb.sampleBase(n),
                        kb.add(kb.mul(kb.div(item, inner), D * inner), kb.rem(item, inner)));
    auto at = [&](Value d) { return kb.add(base, kb.mul(d, inner)); };
    Value max = kb.loop(0, D, {kb.f32(-3.4028234663852886e38)}, [&](Value d, ValueRange acc) {
      return Values{kb.fmax(acc[0], kb.load(spec.input(0), at(d)))};
    })[0];
    Value sum = kb.loop(0, D, {kb.f32(0)}, [&](Value d, ValueRange acc) {
      return Values{kb.fadd(acc[0], kb.exp(kb.fsub(kb.load(spec.input(0), at(d)), max)))};
    })[0];
    kb.loop(0, D, {}, [&](Value d, ValueRange) {
      Value e = kb.exp(kb.fsub(kb.load(spec.input(0), at(d)), max));
      finish(kb, spec, kb.idx(0), at(d), kb.fdiv(e, sum));
      return Values{};
    });
  });
}

std::array<uint32_t, 3> emitElementwise(KernelBuilder &kb, const KernelSpec &spec,
                                        Operation *op) {
  int64_t n = perSample(op->getResult(0));
  return forEachRun(kb, spec, n, n, [&](Value, ArrayRef<Values> x) {
    Values y;
    for (size_t e = 0; e < x[0].size(); ++e)
      y.push_back(llvm::TypeSwitch<Operation *, Value>(op)
                      .Case<AddOp>([&](auto) { return kb.fadd(x[0][e], x[1][e]); })
                      .Case<MulOp>([&](auto) { return kb.fmul(x[0][e], x[1][e]); })
                      .Default([&](Operation *unary) {
                        return applyActivation(kb, unary, x[0][e]);
                      }));
    return y;
  });
}

// Repeats a learned tensor for every sample.
std::array<uint32_t, 3> emitParameter(KernelBuilder &kb, const KernelSpec &spec, ParameterOp op) {
  int64_t n = perSample(op.getResult());
  return kb.forEachItem(n, [&](Value item) {
    finish(kb, spec, kb.sampleBase(n), item, kb.load(spec.param(0), item));
  });
}

std::array<uint32_t, 3> emitSelect(KernelBuilder &kb, const KernelSpec &spec, SelectOp op) {
  ArrayRef<int64_t> in = shapeOf(op.getInput());
  int64_t dim = static_cast<int64_t>(op.getDim());
  dim = dim < 0 ? dim + in.size() : dim;
  int64_t inner = 1;
  for (size_t i = dim + 1; i < in.size(); ++i)
    inner *= in[i];
  int64_t D = in[dim], n = perSample(op.getResult());
  int64_t index = static_cast<int64_t>(op.getIndex());
  return kb.forEachItem(n, [&](Value item) {
    Value src = kb.add(kb.mul(kb.div(item, inner), D * inner),
                       kb.add(kb.rem(item, inner), index * inner));
    Value x = kb.load(spec.input(0), kb.add(kb.sampleBase(perSample(op.getInput())), src));
    finish(kb, spec, kb.sampleBase(n), item, x);
  });
}

// Copies input `part` of a concat into its slice of the output.
std::array<uint32_t, 3> emitConcatPart(KernelBuilder &kb, const KernelSpec &spec, ConcatOp op) {
  ArrayRef<int64_t> out = shapeOf(op.getResult());
  int64_t dim = op.getDim() < 0 ? op.getDim() + out.size() : op.getDim();
  int64_t inner = 1, offset = 0;
  for (size_t i = dim + 1; i < out.size(); ++i)
    inner *= out[i];
  for (unsigned i = 0; i < spec.part; ++i)
    offset += shapeOf(op.getInputs()[i])[dim];
  Value input = op.getInputs()[spec.part];
  int64_t Di = shapeOf(input)[dim], n = perSample(input), Dout = out[dim];
  return kb.forEachItem(n, [&](Value item) {
    Value o = kb.div(item, Di * inner), rest = kb.rem(item, Di * inner);
    Value x = kb.load(spec.input(0), kb.add(kb.sampleBase(n), item));
    Value at = kb.add(kb.mul(o, Dout * inner), kb.add(rest, offset * inner));
    finish(kb, spec, kb.sampleBase(perSample(op.getResult())), at, x);
  });
}

// out[coords] = in[coords permuted]: permute and transpose.
std::array<uint32_t, 3> emitPermutation(KernelBuilder &kb, const KernelSpec &spec, Value input,
                                        Value result, ArrayRef<int64_t> perm) {
  ArrayRef<int64_t> in = shapeOf(input), out = shapeOf(result);
  SmallVector<int64_t> inStride(in.size(), 1);
  for (int64_t i = in.size() - 2; i >= 1; --i)
    inStride[i] = inStride[i + 1] * in[i + 1];
  int64_t n = perSample(input);
  return kb.forEachItem(n, [&](Value item) {
    // Output coordinates, innermost first, mapped to the input's strides.
    Value rest = item, src = kb.idx(0);
    for (int64_t k = out.size() - 1; k >= 1; --k) {
      Value coord = kb.rem(rest, out[k]);
      rest = kb.div(rest, out[k]);
      src = kb.add(src, kb.mul(coord, inStride[perm[k]]));
    }
    Value x = kb.load(spec.input(0), kb.add(kb.sampleBase(n), src));
    finish(kb, spec, kb.sampleBase(n), item, x);
  });
}

std::array<uint32_t, 3> emitTranspose(KernelBuilder &kb, const KernelSpec &spec, TransposeOp op) {
  int64_t rank = shapeOf(op.getInput()).size();
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank; ++i)
    perm.push_back(i);
  int64_t d0 = static_cast<int64_t>(op.getDim0()), d1 = static_cast<int64_t>(op.getDim1());
  std::swap(perm[d0 < 0 ? d0 + rank : d0], perm[d1 < 0 ? d1 + rank : d1]);
  return emitPermutation(kb, spec, op.getInput(), op.getResult(), perm);
}

} // namespace

bool isActivation(Operation *op) {
  return llvm::isa<ReluOp, Relu6Op, HardswishOp, LeakyReluOp, GeluOp, SiluOp, SigmoidOp, TanhOp>(
      op);
}

FailureOr<std::array<uint32_t, 3>> emitKernel(KernelBuilder &kb, const KernelSpec &spec) {
  // A residual is only read, an element alongside each output.
  if (spec.fusedAdd)
    kb.readAsTexels(spec.residual());
  using Grid = FailureOr<std::array<uint32_t, 3>>;
  return llvm::TypeSwitch<Operation *, Grid>(spec.anchor)
      .Case<Conv1dOp, Conv2dOp>([&](auto op) {
        ConvShape shape = ConvShape::of(op);
        if (spec.pointwise)
          return emitSeparable(kb, spec, shape,
                               spec.pointwise->getAttrOfType<IntegerAttr>("out").getInt());
        return shape.depthwise() ? emitWindow(kb, spec, shape, WindowReduce::MultiplyAdd)
                                 : emitConv(kb, spec, shape);
      })
      .Case<LinearOp>([&](LinearOp op) { return emitLinear(kb, spec, op); })
      .Case<MatmulOp>([&](MatmulOp op) { return emitMatmul(kb, spec, op); })
      .Case<Maxpool2dOp>([&](auto op) {
        return emitWindow(kb, spec, ConvShape::ofPool(op), WindowReduce::Max);
      })
      .Case<Avgpool2dOp>([&](auto op) {
        return emitWindow(kb, spec, ConvShape::ofPool(op), WindowReduce::Mean);
      })
      .Case<GlobalAvgpoolOp>([&](auto op) { return emitGlobalAvgpool(kb, spec, op); })
      .Case<Batchnorm1dOp, Batchnorm2dOp>([&](auto op) { return emitBatchnorm(kb, spec, op); })
      .Case<LayernormOp>([&](LayernormOp op) { return emitLayernorm(kb, spec, op); })
      .Case<SoftmaxOp>([&](SoftmaxOp op) { return emitSoftmax(kb, spec, op); })
      .Case<ConcatOp>([&](ConcatOp op) { return emitConcatPart(kb, spec, op); })
      .Case<PermuteOp>([&](PermuteOp op) {
        return emitPermutation(kb, spec, op.getInput(), op.getResult(), op.getDims());
      })
      .Case<TransposeOp>([&](TransposeOp op) { return emitTranspose(kb, spec, op); })
      .Case<ParameterOp>([&](ParameterOp op) { return emitParameter(kb, spec, op); })
      .Case<SelectOp>([&](SelectOp op) { return emitSelect(kb, spec, op); })
      .Case<AttentionOp>([&](AttentionOp op) { return emitAttention(kb, spec, op); })
      .Case<AdaptiveAvgpool2dOp>([&](auto op) { return emitAdaptiveAvgpool(kb, spec, op); })
      .Case<AddOp, MulOp, ReluOp, Relu6Op, HardswishOp, LeakyReluOp, GeluOp, SiluOp, SigmoidOp,
            TanhOp>(
          [&](Operation *op) { return emitElementwise(kb, spec, op); })
      .Default([](Operation *op) -> Grid { return op->emitOpError("has no kernel emitter"); });
}

bool fusesShortcut(Operation *anchor, Operation *shortcut) {
  auto conv = llvm::dyn_cast<Conv2dOp>(anchor);
  auto projection = llvm::dyn_cast<Conv2dOp>(shortcut);
  if (!conv || !projection)
    return false;
  ConvShape a = ConvShape::of(conv), p = ConvShape::of(projection);
  // A conv run over flattened planes has tiles that cross rows: only a
  // shortcut over flattened planes too (stride 1) reads them as segments.
  return a.G == 1 && !a.depthwise() && a.flattensPlanes() == p.flattensPlanes() && p.G == 1 &&
         p.KH == 1 && p.KW == 1 && p.PH == 0 && p.PW == 0 && p.O == a.O && p.OH == a.OH &&
         p.OW == a.OW;
}

bool fusesPointwise(Operation *depthwise, Operation *pointwise) {
  auto dw = llvm::dyn_cast<Conv2dOp>(depthwise);
  auto pw = llvm::dyn_cast<Conv2dOp>(pointwise);
  if (!dw || !pw || !ConvShape::of(dw).depthwise())
    return false;
  ConvShape p = ConvShape::of(pw);
  return p.pointwise() && p.G == 1 && p.O <= kSeparableOutputs && p.O % 4 == 0;
}

} // namespace spire
