// Builds one compute kernel as a `gpu.func` in its own `gpu.module`: flat
// f32 storage buffers as arguments (binding i = argument i), a 1-d workgroup,
// a 2-d grid of workgroups for the work items of one sample, and the batch on
// the grid's z. The helpers keep the per-layer emitters short and readable.
#pragma once

#include "spire/Dialect/Shape.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <array>
#include <functional>
#include <optional>

namespace spire {

class ModelSizes;

// Tile sizes of the code generator, kept in one place so a tuning pass can
// change them without touching the emitters.
struct TileConfig {
  int64_t workgroupSize = 64;   // invocations per workgroup
  int64_t channelsPerThread = 16; // conv/linear outputs per invocation (measured: docs/PERFORMANCE.md)
  int64_t pixelsPerThread = 16;   // conv output positions (linear: rows) per invocation
  // Reduction indices (input channels) per loop iteration of 1x1 convs and
  // linear layers, loaded before their multiply-adds: fewer loop-carried
  // accumulator updates per multiply-add (measured: docs/PERFORMANCE.md).
  int64_t reductionStep = 4;
  // Per-channel windows (depthwise convs, pools): output positions per row
  // tile (rows split evenly, so 112 -> 4 x 28), and outputs per invocation
  // times the stride, which sets the rows per invocation (measured:
  // docs/PERFORMANCE.md).
  int64_t windowPositions = 32;
  int64_t depthwiseOutputs = 56;
  int64_t poolOutputs = 224;
  // Lanes that load a tile's weights together, one value each, and share
  // them by subgroup broadcast: loads per lane are the costly part on
  // SIMD-on-CPU devices. A device's subgroups must have at least this many
  // lanes (the runtime checks); 1 turns the sharing off.
  int64_t broadcastLanes = 8;
  // Read-only kernel inputs as uniform texel buffers instead of storage
  // buffers (half the load cost on lavapipe); a device's
  // maxTexelBufferElements then bounds those bindings (the runtime checks).
  bool texelInputs = true;
};

// The workgroup size, whole `step`-lane units from `largest` down to
// `smallest`, whose workgroups cover `laneCounts` (one count, or each
// admissible one over a range of sizes) with the fewest idle units summed
// over them; ties take the larger size, so fewer workgroups.
int64_t evenWorkgroupSize(llvm::ArrayRef<int64_t> laneCounts, int64_t step, int64_t largest,
                          int64_t smallest);

class KernelBuilder {
public:
  KernelBuilder(mlir::ModuleOp container, llvm::StringRef name, unsigned numBuffers,
                mlir::Location loc, const TileConfig &tiles);

  mlir::OpBuilder &b() { return builder_; }
  mlir::Location loc() const { return loc_; }
  llvm::StringRef name() const { return name_; }
  mlir::gpu::GPUModuleOp module() const { return module_; }

  // Index arithmetic (32-bit in SPIR-V; signed where values can be negative).
  mlir::Value idx(int64_t v);
  mlir::Value add(mlir::Value a, mlir::Value b);
  mlir::Value add(mlir::Value a, int64_t b) { return add(a, idx(b)); }
  mlir::Value sub(mlir::Value a, mlir::Value b);
  mlir::Value mul(mlir::Value a, mlir::Value b);
  mlir::Value mul(mlir::Value a, int64_t b) { return b == 1 ? a : mul(a, idx(b)); }
  mlir::Value div(mlir::Value a, int64_t b); // a >= 0
  mlir::Value rem(mlir::Value a, int64_t b); // a >= 0
  mlir::Value div(mlir::Value a, mlir::Value b); // a >= 0, b > 0
  mlir::Value rem(mlir::Value a, mlir::Value b); // a >= 0, b > 0
  mlir::Value lt(mlir::Value a, mlir::Value b); // signed
  mlir::Value ge(mlir::Value a, int64_t b);     // signed
  mlir::Value both(mlir::Value a, mlir::Value b);
  mlir::Value clamp(mlir::Value a, int64_t lo, int64_t hi);
  mlir::Value clamp(mlir::Value a, int64_t lo, mlir::Value hi);

  // f32 arithmetic.
  mlir::Value f32(double v);
  mlir::Value fadd(mlir::Value a, mlir::Value b);
  mlir::Value fsub(mlir::Value a, mlir::Value b);
  mlir::Value fmul(mlir::Value a, mlir::Value b);
  mlir::Value fdiv(mlir::Value a, mlir::Value b);
  mlir::Value fmax(mlir::Value a, mlir::Value b);
  mlir::Value fmin(mlir::Value a, mlir::Value b);
  mlir::Value fgt(mlir::Value a, mlir::Value b);
  mlir::Value select(mlir::Value cond, mlir::Value a, mlir::Value b);
  mlir::Value exp(mlir::Value a);
  mlir::Value tanh(mlir::Value a);
  mlir::Value sqrt(mlir::Value a);
  mlir::Value erf(mlir::Value a);
  mlir::Value toF32(mlir::Value index); // a non-negative index as f32
  mlir::Value toIndex(mlir::Value f);    // a non-negative f32 as an index, rounded down

  mlir::Value load(unsigned buffer, mlir::Value index);
  // Reads `buffer` (only loaded, never stored) as a uniform texel buffer,
  // unless TileConfig::texelInputs is off.
  void readAsTexels(unsigned buffer);
  const llvm::SmallVector<int32_t> &texelBuffers() const { return texelBuffers_; }
  // Those of texelBuffers() made vec4 arrays by useVectors: their views
  // hold four floats a texel (R32G32B32A32_SFLOAT), fetched by one read.
  llvm::SmallVector<int32_t> vec4TexelBuffers() const;

  // This invocation's lane in its subgroup (computed once, at the kernel's entry).
  mlir::Value laneId();
  // `v` as held by subgroup lane `lane` (a constant), for every lane (a
  // subgroup shuffle; needs VK_SUBGROUP_FEATURE_SHUFFLE_BIT).
  mlir::Value broadcast(mlir::Value v, int64_t lane);
  // Lanes a subgroup must have for this kernel's broadcasts; 0: none used.
  int64_t subgroupLanesNeeded() const { return subgroupLanesNeeded_; }
  void store(unsigned buffer, mlir::Value index, mlir::Value value);
  // Makes `buffer` an array of `width`-element vectors; call before anything
  // uses it, and then use only loadVector and storeVector on it.
  void useVectors(unsigned buffer, int64_t width);
  // The elements of vector `vectorIndex` of such a buffer: one load instead
  // of `width` (a texel fetch or a per-lane loop on lavapipe either way).
  llvm::SmallVector<mlir::Value> loadVector(unsigned buffer, mlir::Value vectorIndex);
  // Stores `elements` at element index vectorIndex * width of such a buffer:
  // one store instead of `width` (lavapipe runs a loop over the lanes per
  // store).
  void storeVector(unsigned buffer, mlir::Value vectorIndex, llvm::ArrayRef<mlir::Value> elements);

  // The sample this workgroup works on (grid z).
  mlir::Value batch();
  // Element offset of the current sample in a buffer of `perSample` elements.
  mlir::Value sampleBase(int64_t perSample) { return mul(batch(), perSample); }

  // Runs `body(item)` for each work item in [0, items) of the current sample;
  // returns the grid (x, y, 1) to dispatch per sample.
  std::array<uint32_t, 3> forEachItem(int64_t items, const std::function<void(mlir::Value)> &body);
  // The same over a count that may depend on the size symbols: the grid
  // returned is for their maximum, gridSizes() the grid for any value.
  std::array<uint32_t, 3> forEachItem(const Dim &items,
                                      const std::function<void(mlir::Value)> &body);

  // Runs `body(group, lane)` for each pair in [0, groups) x [0, lanes) of
  // the current sample. `group` is the same for every invocation of a
  // workgroup, so values indexed by it alone can be loaded once per subgroup
  // and shared with `broadcast`. Every invocation runs `body`, also those
  // with `lane >= lanes` (subgroup operations need all lanes active): the
  // body clamps what such a lane reads and must not let it store.
  std::array<uint32_t, 3> forEachTile(int64_t groups, int64_t lanes,
                                      const std::function<void(mlir::Value, mlir::Value)> &body);
  // The same over lanes that may depend on the size symbols (as forEachItem).
  std::array<uint32_t, 3> forEachTile(int64_t groups, const Dim &lanes,
                                      const std::function<void(mlir::Value, mlir::Value)> &body);

  // Size symbols (SizeSymbols.h), where the model keeps some: emitters then
  // see sizes as Dims and read them with size().
  void setSizes(const ModelSizes *sizes) { sizes_ = sizes; }
  const ModelSizes *sizes() const { return sizes_; }
  // Whether `m` divides d at every size (of the range, where d depends on
  // the size symbols).
  bool alwaysMultipleOf(const Dim &d, int64_t m) const;
  // d in the kernel: a constant, or computed from the symbols, which the
  // kernel reads as specialization constants. d's subexpressions that are
  // divided must be non-negative over the range.
  mlir::Value size(const Dim &d);
  // `value` as the dispatch passes it, a 32-bit push constant: kernels that
  // differ only in such values (a concat's parts at their offsets) share
  // their code, SPIR-V and pipeline. pushConstants() lists them in order.
  mlir::Value pushConstant(int64_t value);
  llvm::ArrayRef<int64_t> pushConstants() const { return pushConstants_; }
  // The grid for any value of the symbols (x, y, z per sample), where a
  // forEach* was given a count that depends on them.
  const std::optional<std::array<Dim, 3>> &gridSizes() const { return gridSizes_; }
  // Why this kernel cannot serve every size of the range, if it cannot: the
  // emitter goes on, the pass that runs it reports this at its layer.
  void fail(const std::string &why) { error_ = error_.value_or(why); }
  const std::optional<std::string> &error() const { return error_; }

  // Runs `body` only where `cond` holds (scf.if).
  void ifThen(mlir::Value cond, const std::function<void()> &body);

  // scf.for over [lb, ub) carrying `init`; `body` returns the next values.
  llvm::SmallVector<mlir::Value>
  loop(int64_t lb, int64_t ub, mlir::ValueRange init,
       const std::function<llvm::SmallVector<mlir::Value>(mlir::Value, mlir::ValueRange)> &body);
  // The same up to a bound computed in the kernel (a size of the symbols).
  llvm::SmallVector<mlir::Value>
  loop(int64_t lb, mlir::Value ub, mlir::ValueRange init,
       const std::function<llvm::SmallVector<mlir::Value>(mlir::Value, mlir::ValueRange)> &body);

  const TileConfig &tiles() const { return tiles_; }
  // Invocations per workgroup of this kernel.
  int64_t workgroupSize() const { return workgroupSize_; }

private:
  mlir::OpBuilder builder_;
  mlir::Location loc_;
  std::string name_;
  const TileConfig &tiles_;
  int64_t workgroupSize_;
  int64_t subgroupLanesNeeded_ = 0;
  mlir::Value laneId_, batch_;
  const ModelSizes *sizes_ = nullptr;
  llvm::DenseMap<unsigned, mlir::Value> sizeSymbols_; // by Model.sizes index
  llvm::SmallVector<int64_t> pushConstants_;
  std::optional<std::array<Dim, 3>> gridSizes_;
  std::optional<std::string> error_;
  // Constants, created once at the kernel's entry: the emitters ask for the
  // same few sizes thousands of times, and every op emitted costs the
  // lowering time (docs/perf-log/2026-12-02-compact-kernels.md).
  llvm::DenseMap<mlir::Attribute, mlir::Value> constants_;
  llvm::SmallVector<int32_t> texelBuffers_;
  mlir::gpu::GPUModuleOp module_;
  mlir::gpu::GPUFuncOp func_;

  void setWorkgroupSize(int64_t size);
  llvm::SmallVector<mlir::Value>
  loopOver(mlir::Value lower, mlir::Value upper, mlir::ValueRange init,
           const std::function<llvm::SmallVector<mlir::Value>(mlir::Value, mlir::ValueRange)> &body);
  // `cached`, made by `make` at the kernel's entry the first time.
  mlir::Value atEntry(mlir::Value &cached, llvm::function_ref<mlir::Value()> make);
  mlir::Value constant(mlir::TypedAttr value);
  // An OpT of `args`, or what it folds to (an operand, a constant): index
  // arithmetic on constants and identities never reaches the IR.
  template <typename OpT, typename... Args> mlir::Value folded(Args &&...args);
};

} // namespace spire
