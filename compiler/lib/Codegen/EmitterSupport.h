// What every op family's kernel emitter uses: tensor sizes, the epilogue
// (residual add, activation, store), shared and vector loads, register-tile
// updates. Internal to the code generator.
#pragma once

#include "KernelEmitters.h"
#include "SizeSymbols.h"
#include "spire/Dialect/SpireOps.h"

#include <functional>

namespace spire {

using mlir::ArrayRef;
using mlir::Operation;
using mlir::SmallVector;
using mlir::Value;
using mlir::ValueRange;
using Values = SmallVector<Value>;

ArrayRef<int64_t> shapeOf(Value v);

// Elements per sample (every dim but the batch).
int64_t perSample(Value v);

// A dim attribute of `v` as an index into its shape, counted from the end
// when negative. ODS's I64Attr getters return uint64_t: comparing one with
// 0 never sees a negative dim.
int64_t dimIndex(uint64_t dim, Value v);

Value applyActivation(KernelBuilder &kb, Operation *act, Value x);

// lhs op rhs for an elementwise binary op (isElementwiseBinary).
Value combine(KernelBuilder &kb, Operation *binary, Value lhs, Value rhs);

// How an elementwise operand is read alongside the outputs of a binary op:
// the same element where shapes are equal; where the operand has a dim of
// 1 that the output has not, the element repeats along it. Output dims
// group into runs that the operand either follows or repeats over; an
// operand element index then costs a div and rem per run (none when equal).
class BroadcastRead {
public:
  // Shapes of the same rank with the same batch (dim 0, ignored).
  BroadcastRead(ArrayRef<int64_t> out, ArrayRef<int64_t> operand);
  bool identity() const;
  // Whether `width` outputs from an aligned one read `width` consecutive
  // operand elements, as one vector.
  bool vectorized(int64_t width) const;
  // Declares the buffer's layout for reads of `width` (useVectors where
  // vectorized); call before any read.
  void prepare(KernelBuilder &kb, unsigned buffer, int64_t width) const;
  // The operand's elements for the `width` outputs from output element
  // `first` (a multiple of `width`, counted from the buffer's start).
  Values read(KernelBuilder &kb, unsigned buffer, Value first, int64_t width) const;

private:
  Value index(KernelBuilder &kb, Value outIndex) const;
  struct Group {
    int64_t size, outStride, operandStride;
    bool repeated;
  };
  SmallVector<Group, 4> groups_; // outermost first
};

// The kernel's epilogue steps applied to v; residuals[k]: residual buffer
// k's element alongside it.
Value epilogue(KernelBuilder &kb, const KernelSpec &spec, ArrayRef<Value> residuals, Value v);

// Makes the output, and a fused residual read alongside it, buffers of
// `width`-element vectors for storeRun.
void useOutputVectors(KernelBuilder &kb, const KernelSpec &spec, int64_t width);

// Residual steps (read through BroadcastRead), activations and the store of
// v.size() consecutive outputs from element `first`: one vector load and
// store where there are several (see useOutputVectors; `first` is then
// aligned).
void storeRun(KernelBuilder &kb, const KernelSpec &spec, Value first, ArrayRef<Value> v);

// Residual add, activation, store of one output: the common tail of every
// kernel that stores a value at a time.
void finish(KernelBuilder &kb, const KernelSpec &spec, Value outBase, Value index, Value v);

// The register tile's update: acc[i * cols + k] += a(u, i) * b(u, k) for
// each term u, accumulator by accumulator with its terms in a row, so an
// accumulator the driver keeps in memory is loaded and stored once per
// update, not once per term (measured: docs/PERFORMANCE.md).
Values accumulateTile(KernelBuilder &kb, ValueRange acc, int64_t rows, int64_t cols,
                      int64_t terms, llvm::function_ref<Value(int64_t, int64_t)> a,
                      llvm::function_ref<Value(int64_t, int64_t)> b);

// A size a kernel indexes, compares and clamps by: a number, or where it
// depends on the size symbols, a value the kernel computes (KernelBuilder::
// size) with `n` its maximum. With a number, the IR is what the int64_t
// arithmetic of KernelBuilder gives.
struct Bound {
  int64_t n = 0;
  Value v;
  Bound(int64_t n) : n(n) {}
  Bound(KernelBuilder &kb, const Dim &d);
  bool symbolic() const { return static_cast<bool>(v); }
  Value value(KernelBuilder &kb) const { return v ? v : kb.idx(n); }
  Value times(KernelBuilder &kb, Value a) const { return v ? kb.mul(a, v) : kb.mul(a, n); }
  Value divide(KernelBuilder &kb, Value a) const { return v ? kb.div(a, v) : kb.div(a, n); }
  Value remainder(KernelBuilder &kb, Value a) const { return v ? kb.rem(a, v) : kb.rem(a, n); }
  // Whether this > a (signed).
  Value exceeds(KernelBuilder &kb, Value a) const { return kb.lt(a, value(kb)); }
  // kb.loop from lb up to this.
  Values loop(KernelBuilder &kb, int64_t lb, ValueRange init,
              const std::function<Values(Value, ValueRange)> &body) const {
    return v ? kb.loop(lb, v, init, body) : kb.loop(lb, n, init, body);
  }
  // a clamped to [0, this).
  Value clampBelow(KernelBuilder &kb, Value a) const {
    return v ? kb.clamp(a, 0, kb.sub(v, kb.idx(1))) : kb.clamp(a, 0, n - 1);
  }
};

// Runs `store` only where every index is below its count (a tile's row or
// column may lie past the end); the check is emitted only when the tiles do
// not divide the counts evenly (`ragged`).
void storeIfInside(KernelBuilder &kb, bool ragged, ArrayRef<std::pair<Value, Bound>> bounds,
                   const std::function<void()> &store);

// Loads element at(j) for each j in [0, count).
Values loadEach(KernelBuilder &kb, unsigned buffer, int64_t count,
                const std::function<Value(Value)> &at);

// loadEach where at() is the same in every invocation of a subgroup (inside
// forEachTile, indexed by its group): lane j loads one value and every lane
// reads it by subgroup broadcast, so a lane issues count / broadcastLanes
// loads instead of count.
Values loadShared(KernelBuilder &kb, unsigned buffer, int64_t count,
                  const std::function<Value(Value)> &at);

// The `count` consecutive floats from element `base` (a multiple of 4) of a
// buffer of vec4s (useVectors): count / 4 loads.
Values loadConsecutive(KernelBuilder &kb, unsigned buffer, int64_t count, Value base);

// The `count` weights from element `base` of a packed conv block (the same
// across the subgroup, inside forEachTile): as vec4 texels where count is a
// multiple of 4 (lane l fetches vec4 l % (count / 4) and every lane reads
// each float by broadcast: one fetch where loadShared takes count / 8),
// else by loadShared.
Values loadSharedBlock(KernelBuilder &kb, unsigned buffer, int64_t count, Value base);

// Reduction indices per loop iteration: the largest power of two up to
// TileConfig::reductionStep that divides `k`.
int64_t reductionStep(KernelBuilder &kb, int64_t k);

// Elements per store for runs of `run` consecutive outputs starting at
// multiples of `run` in rows of `row` (a row starts at a multiple of `row`):
// 4 where 4 divides both, so every store is aligned, else 1 (2-wide stores
// measured slower than scalar ones on lavapipe, docs/PERFORMANCE.md).
int64_t storeWidth(int64_t run, int64_t row);

// Runs an elementwise body over the n elements of a sample: a run of 4
// consecutive ones a thread where n and `run` (a length a run must not
// cross, such as a channel's plane) are multiples of 4 at every size of the
// symbols, else one. The inputs are read as texels (vec4s for runs of 4;
// lavapipe loads and stores a vec4 for about what it does a float) and the
// outputs go through storeRun; an input of a symbolic shape must have the
// output's (BroadcastRead's identity). body(first, x) gets the run's first
// element within the sample and each input's values, and returns the run's
// outputs.
std::array<uint32_t, 3> forEachRun(KernelBuilder &kb, const KernelSpec &spec, const Dim &n,
                                   const Dim &run,
                                   const std::function<Values(Value, ArrayRef<Values>)> &body);

} // namespace spire
