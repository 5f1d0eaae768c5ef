// Rows times a matrix: linear layers, matmul, attention.
#include "Emitters.h"


using namespace mlir;

namespace spire {

namespace {

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
  // contiguous share lost on weights larger than the caches (VGG's fc6;
  // docs/perf-log/2026-12-01-fusion-memory-by-dispatch.md).
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

} // namespace

std::array<uint32_t, 3> emitLinear(KernelBuilder &kb, const KernelSpec &spec, LinearOp op) {
  int64_t K = shapeOf(op.getInput()).back(), O = op.getOut();
  return emitRowsTimesMatrix(kb, spec, perSample(op.getInput()) / K, K, O, K);
}

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

} // namespace spire
