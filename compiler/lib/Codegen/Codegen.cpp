#include "spire/Codegen/Codegen.h"

#include "KernelEmitters.h"
#include "spire/Analysis/Stages.h"
#include "spire/Analysis/Summary.h"
#include "spire/Codegen/Passes.h"
#include "spire/Dialect/SpireOps.h"

#include "mlir/Conversion/GPUToSPIRV/GPUToSPIRVPass.h"
#include "mlir/Conversion/MathToSPIRV/MathToSPIRVPass.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "spire/BundleFormat.h"

#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

using namespace mlir;

namespace spire {
namespace {

// SPIR-V 1.3 (Vulkan 1.1) with storage buffers and subgroup shuffles, which
// the kernels use to share loads; the runtime checks the device's subgroups.
constexpr const char *kTargetEnv =
    "#spirv.target_env<#spirv.vce<v1.3, [Shader, GroupNonUniform, GroupNonUniformShuffle, SampledBuffer], [SPV_KHR_storage_buffer_storage_class]>, "
    "api=Vulkan, #spirv.resource_limits<>>";

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

int64_t perSampleBytes(Value v) {
  int64_t n = 4;
  for (int64_t d : llvm::cast<RankedTensorType>(v.getType()).getShape().drop_front())
    n *= d;
  return n;
}

std::vector<int64_t> tensorShape(Value v, int64_t batch) {
  auto shape = llvm::cast<RankedTensorType>(v.getType()).getShape();
  std::vector<int64_t> out(shape.begin(), shape.end());
  out[0] = batch;
  return out;
}

// A kernel: an anchor op and what it absorbs.
struct Group {
  Operation *anchor = nullptr;
  Operation *batchnorm = nullptr; // folded into a conv/linear's weights
  // A depthwise anchor's output fed in registers to the pointwise conv
  // after it (fusesPointwise), through an optional activation; the
  // pointwise conv's batch norm folds into its weights.
  Operation *anchorActivation = nullptr, *pointwise = nullptr, *pointwiseNorm = nullptr;
  // The 1x1 conv (and its batch norm) on another input whose output the
  // residual add would read: its products go into the anchor's accumulators
  // (fusesShortcut), so neither conv's output before the add is stored.
  Operation *shortcut = nullptr, *shortcutNorm = nullptr;
  Operation *add = nullptr;       // residual add applied in the epilogue
  Value residual;                 // the add's other operand
  Operation *activation = nullptr;
  Value result;                   // the value the kernel stores
  // The group's dispatches, in order: part 0 reads the anchor's operands,
  // the last stores the result (and reads the residual). planMemory gives
  // each part its own time step, so what a part no longer needs is free for
  // the next one.
  int64_t parts = 1;
  // A temporary live only from one part to another (attention's packed
  // Q/K/V and its scores): per-sample bytes.
  struct Scratch {
    int64_t bytes, firstPart, lastPart;
  };
  std::vector<Scratch> scratch;
  std::vector<BufferRegion> scratchRegions; // filled by planMemory
};

class ModelCompiler {
public:
  ModelCompiler(SpecModule &spec, const WeightStore &weights, const CodegenOptions &options)
      : spec_(spec), weights_(weights), options_(options),
        kernels_(ModuleOp::create(UnknownLoc::get(spec.module->getContext()))) {
    (*kernels_)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                         UnitAttr::get(spec.module->getContext()));
  }

  FailureOr<CompiledModel> run();

private:
  Value root(Value v) const {
    while (Operation *def = v.getDefiningOp()) {
      if (!isAlias(def))
        break;
      v = def->getOperand(0);
    }
    return v;
  }
  std::vector<Group> formGroups(const StageInfo &stage);
  void planMemory(const StageInfo &stage, std::vector<Group> &groups, StagePlan &plan);
  BufferRegion packWeights(const std::vector<float> &data);
  void emitGroup(const Group &group, size_t stageIndex, StagePlan &plan);
  std::vector<std::vector<float>> parameters(const Group &group);
  LogicalResult lowerAndSerialize();

  SpecModule &spec_;
  const WeightStore &weights_;
  const CodegenOptions &options_;
  OwningOpRef<ModuleOp> kernels_;
  CompiledModel model_;
  llvm::DenseMap<Value, BufferRegion> regions_; // per stage, by root value
  std::vector<std::string> kernelModuleNames_;
};

std::vector<Group> ModelCompiler::formGroups(const StageInfo &stage) {
  llvm::DenseSet<Operation *> inStage(stage.ops.begin(), stage.ops.end());
  llvm::DenseSet<Value> interface(stage.outputs.begin(), stage.outputs.end());
  llvm::DenseSet<Operation *> absorbed;
  // The single consumer of v, when v is needed by nobody else: then the
  // consumer can be fused into v's kernel and v never stored.
  auto soleUser = [&](Value v) -> Operation * {
    if (interface.contains(v) || !v.hasOneUse())
      return nullptr;
    Operation *user = *v.getUsers().begin();
    return inStage.contains(user) ? user : nullptr;
  };
  std::vector<Group> groups;
  for (Operation *op : stage.ops) {
    if (absorbed.contains(op) || isAlias(op))
      continue;
    Group g{op};
    g.result = op->getResult(0);
    bool foldsNorm = llvm::isa<Conv1dOp, Conv2dOp, LinearOp>(op);
    Operation *next = soleUser(g.result);
    // `absorbed` joins the kernel, which then stores its result instead.
    auto take = [&](Operation *absorbedOp) {
      absorbed.insert(absorbedOp);
      g.result = absorbedOp->getResult(0);
      next = soleUser(g.result);
    };
    // Kernels run in anchor order: what one reads must exist before it starts.
    auto existsBefore = [&](Value v) {
      Operation *def = v.getDefiningOp();
      return !def || def->isBeforeInBlock(op);
    };
    // Batch norm folds into the weights when its channel dim is the
    // producer's output-channel dim: always for convs, for linear on [N, C].
    if (next && foldsNorm && llvm::isa<Batchnorm1dOp, Batchnorm2dOp>(next) &&
        (!llvm::isa<LinearOp>(op) || llvm::cast<RankedTensorType>(g.result.getType()).getRank() == 2)) {
      g.batchnorm = next;
      take(next);
    }
    if (next) {
      Operation *act = isActivation(next) ? next : nullptr;
      Operation *pw = act ? soleUser(act->getResult(0)) : next;
      if (pw && fusesPointwise(op, pw)) {
        g.anchorActivation = act;
        g.pointwise = pw;
        if (act)
          absorbed.insert(act);
        take(pw);
        if (next && llvm::isa<Batchnorm2dOp>(next)) {
          g.pointwiseNorm = next;
          take(next);
        }
      }
    }
    bool takesResidual = foldsNorm || llvm::isa<Batchnorm1dOp, Batchnorm2dOp, AttentionOp>(op);
    if (auto attention = llvm::dyn_cast<AttentionOp>(op)) {
      auto shape = attention.getInput().getType().getShape();
      int64_t T = shape[1], C = shape[2], heads = static_cast<int64_t>(attention.getHeads());
      // See emitGroup for what each of the five parts reads and writes.
      g.parts = 5;
      g.scratch = {{T * 3 * C * 4, 0, 4}, {heads * T * T * 4, 1, 3}};
    }
    if (next && takesResidual && llvm::isa<AddOp>(next)) {
      Value other = next->getOperand(0) == g.result ? next->getOperand(1) : next->getOperand(0);
      // The residual must exist before this kernel starts. If it comes later
      // (a projection path built after the main path), either the projection
      // joins this kernel (a 1x1 conv, maybe with a batch norm, used only by
      // the add, on a value that exists already), or the add fuses into the
      // projection's kernel instead.
      Operation *def = other.getDefiningOp();
      Operation *norm = def && llvm::isa<Batchnorm2dOp>(def) ? def : nullptr;
      Operation *conv = norm ? norm->getOperand(0).getDefiningOp() : def;
      bool projection = conv && !g.pointwise && fusesShortcut(op, conv) &&
                        inStage.contains(conv) && op->isBeforeInBlock(conv) &&
                        soleUser(other) == next &&
                        (!norm || soleUser(conv->getResult(0)) == norm) &&
                        existsBefore(conv->getOperand(0));
      if (existsBefore(other) || projection) {
        g.add = next;
        if (projection) {
          g.shortcut = conv;
          g.shortcutNorm = norm;
          absorbed.insert(conv);
          if (norm)
            absorbed.insert(norm);
        } else {
          g.residual = other;
        }
        take(next);
      }
    }
    if (next && isActivation(next) && !isActivation(op)) {
      g.activation = next;
      take(next);
    }
    groups.push_back(g);
  }
  return groups;
}

// Greedy liveness packing: each stored value gets [offset, offset+size) per
// sample, sharing space with values whose lifetimes do not overlap: the
// lowest free offset, in the best of three orders (below). Time advances
// by dispatch (a group's part), not by group: every dispatch is followed by
// a barrier, so a buffer read by one part can be overwritten by the next.
void ModelCompiler::planMemory(const StageInfo &stage, std::vector<Group> &groups,
                               StagePlan &plan) {
  struct Interval {
    Value value;
    int64_t size, begin, end;
    uint64_t offset = 0;
  };
  std::vector<Interval> intervals;
  llvm::DenseMap<Value, size_t> index;
  auto touch = [&](Value v, int64_t time, bool define) {
    v = root(v);
    auto [it, inserted] = index.try_emplace(v, intervals.size());
    if (inserted)
      intervals.push_back({v, static_cast<int64_t>(alignUp(perSampleBytes(v),
                                                           bundle::kRegionAlignment)),
                           time, time});
    Interval &iv = intervals[it->second];
    if (define)
      iv.begin = std::min(iv.begin, time);
    iv.end = std::max(iv.end, time);
  };
  for (Value v : stage.inputs)
    touch(v, 0, true);
  std::vector<std::pair<size_t, size_t>> scratchOf; // (group, index) per scratch interval
  int64_t t = 1; // the group's first part
  for (auto [k, g] : llvm::enumerate(groups)) {
    int64_t last = t + g.parts - 1;
    for (Value operand : g.anchor->getOperands())
      touch(operand, t, false);
    if (g.shortcut)
      touch(g.shortcut->getOperand(0), t, false);
    if (g.residual)
      touch(g.residual, last, false);
    touch(g.result, last, true);
    for (auto [i, s] : llvm::enumerate(g.scratch)) {
      scratchOf.push_back({k, i});
      intervals.push_back({Value(), static_cast<int64_t>(alignUp(s.bytes, bundle::kRegionAlignment)),
                           t + s.firstPart, t + s.lastPart});
    }
    t = last + 1;
  }
  for (Value v : stage.outputs)
    touch(v, t, false);

  // Each order places its intervals at their lowest free offsets; no one
  // order wins everywhere (largest first strands a long-lived tensor above
  // short-lived large ones: ViT's block input over attention's scores), so
  // every order is tried and the smallest arena kept.
  auto lifetime = [&](size_t i) { return intervals[i].end - intervals[i].begin; };
  auto area = [&](size_t i) { return intervals[i].size * (lifetime(i) + 1); };
  std::vector<std::function<bool(size_t, size_t)>> orders = {
      [&](size_t a, size_t b) { return intervals[a].size > intervals[b].size; },
      [&](size_t a, size_t b) {
        return std::pair(lifetime(a), intervals[a].size) > std::pair(lifetime(b), intervals[b].size);
      },
      [&](size_t a, size_t b) { return area(a) > area(b); }};
  uint64_t arena = std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> offsets;
  for (const auto &before : orders) {
    std::vector<size_t> order(intervals.size());
    std::iota(order.begin(), order.end(), 0);
    llvm::stable_sort(order, before);
    std::vector<uint64_t> at(intervals.size());
    uint64_t size = 0;
    for (auto [n, i] : llvm::enumerate(order)) {
      const Interval &iv = intervals[i];
      // Candidate offsets: 0 and the end of every overlapping placed value.
      std::vector<std::pair<uint64_t, uint64_t>> busy;
      for (size_t j : ArrayRef(order).take_front(n)) {
        const Interval &other = intervals[j];
        if (other.begin <= iv.end && iv.begin <= other.end)
          busy.push_back({at[j], at[j] + other.size});
      }
      llvm::sort(busy);
      uint64_t offset = 0;
      for (auto [b, e] : busy)
        if (offset + iv.size > b && offset < e)
          offset = std::max(offset, e);
      at[i] = offset;
      size = std::max(size, offset + iv.size);
    }
    if (size < arena) {
      arena = size;
      offsets = std::move(at);
    }
  }
  for (auto [iv, offset] : llvm::zip(intervals, offsets))
    iv.offset = offset;
  plan.arenaSize = std::max<uint64_t>(arena, bundle::kRegionAlignment);
  regions_.clear();
  size_t nextScratch = 0;
  for (const Interval &iv : intervals) {
    if (iv.value) {
      regions_[iv.value] = {BufferRegion::Space::Arena, iv.offset,
                            static_cast<uint64_t>(perSampleBytes(iv.value))};
      continue;
    }
    auto [group, i] = scratchOf[nextScratch++];
    groups[group].scratchRegions.resize(groups[group].scratch.size());
    groups[group].scratchRegions[i] = {BufferRegion::Space::Arena, iv.offset,
                                       static_cast<uint64_t>(groups[group].scratch[i].bytes)};
  }
}

BufferRegion ModelCompiler::packWeights(const std::vector<float> &data) {
  std::vector<uint8_t> &blob = model_.weights;
  uint64_t offset = alignUp(blob.size(), bundle::kRegionAlignment);
  blob.resize(offset + data.size() * 4);
  std::memcpy(blob.data() + offset, data.data(), data.size() * 4);
  return {BufferRegion::Space::Weights, offset, data.size() * 4};
}

// A [rows, cols] matrix as [cols, rows]: linear-style kernels read W^T so
// threads computing neighbouring outputs read neighbouring weights.
static std::vector<float> transposed(const std::vector<float> &w, size_t rows) {
  size_t cols = w.size() / rows;
  std::vector<float> t(w.size());
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c)
      t[c * rows + r] = w[r * cols + c];
  return t;
}

// A conv's [O, rest] weights as [O / T, rest, T]: the conv kernel's block of
// T output channels reads one tap's T weights as consecutive floats.
static std::vector<float> packedBlocks(const std::vector<float> &w, size_t out, size_t T) {
  size_t rest = w.size() / out;
  std::vector<float> p(w.size());
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < rest; ++i)
      p[((o / T) * rest + i) * T + o % T] = w[o * rest + i];
  return p;
}

// The parameter buffers of a kernel, with batch norm folded in:
// scale = gamma / sqrt(var + eps); W' = W * scale[o]; b' = (b - mean) * scale + beta.
std::vector<std::vector<float>> ModelCompiler::parameters(const Group &g) {
  auto get = [&](Operation *op, llvm::StringRef suffix) -> const std::vector<float> & {
    return weights_.find(parameterName(op, suffix))->data;
  };
  auto normScaleShift = [&](Operation *bn, size_t channels) {
    double eps = bn->getAttrOfType<FloatAttr>("eps").getValueAsDouble();
    const auto &gamma = get(bn, "weight"), &beta = get(bn, "bias");
    const auto &mean = get(bn, "running_mean"), &var = get(bn, "running_var");
    std::vector<double> scale(channels), shift(channels);
    for (size_t c = 0; c < channels; ++c) {
      scale[c] = gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps);
      shift[c] = beta[c] - mean[c] * scale[c];
    }
    return std::pair{scale, shift};
  };

  // A conv or linear layer's [out, ...] weights and bias, `bn` folded in.
  auto folded = [&](Operation *op, Operation *bn) {
    int64_t out = op->getAttrOfType<IntegerAttr>("out").getInt();
    std::vector<float> w = get(op, "weight");
    std::vector<float> b(out, 0.0f);
    if (op->getAttrOfType<BoolAttr>("bias").getValue())
      b = get(op, "bias");
    if (bn) {
      auto [scale, shift] = normScaleShift(bn, out);
      size_t per = w.size() / out;
      for (int64_t o = 0; o < out; ++o) {
        for (size_t i = 0; i < per; ++i)
          w[o * per + i] = static_cast<float>(w[o * per + i] * scale[o]);
        b[o] = static_cast<float>(b[o] * scale[o] + shift[o]);
      }
    }
    return std::pair{w, b};
  };

  Operation *op = g.anchor;
  if (g.pointwise) {
    auto [w, b] = folded(op, g.batchnorm);
    size_t taps = w.size() / b.size(), block = separableBlock(taps);
    std::vector<float> depthwise(b.size() * block, 0.0f);
    for (size_t c = 0; c < b.size(); ++c) {
      std::copy_n(w.begin() + c * taps, taps, depthwise.begin() + c * block);
      depthwise[c * block + taps] = b[c];
    }
    auto [pw, pb] = folded(g.pointwise, g.pointwiseNorm);
    return {depthwise, packedBlocks(pw, pb.size(), pb.size()), pb};
  }
  if (g.shortcut) {
    auto [w, b] = folded(op, g.batchnorm);
    auto [ws, bs] = folded(g.shortcut, g.shortcutNorm);
    size_t T = convChannelTile(options_.tiles, op);
    for (size_t o = 0; o < b.size(); ++o)
      b[o] += bs[o];
    return {packedBlocks(w, b.size(), T), b, packedBlocks(ws, b.size(), T)};
  }
  if (llvm::isa<Conv1dOp, Conv2dOp, LinearOp>(op)) {
    auto [w, b] = folded(op, g.batchnorm);
    size_t out = b.size();
    if (!llvm::isa<LinearOp>(op))
      return {packedBlocks(w, out, convChannelTile(options_.tiles, op)), b};
    // W^T in row chunks, one binding each (see weightRowsPerBinding).
    w = transposed(w, out);
    size_t in = w.size() / out, rows = weightRowsPerBinding(in, out);
    std::vector<std::vector<float>> params;
    for (size_t k = 0; k < in; k += rows)
      params.emplace_back(w.begin() + k * out, w.begin() + std::min(in, k + rows) * out);
    params.push_back(std::move(b));
    return params;
  }
  if (llvm::isa<Batchnorm1dOp, Batchnorm2dOp>(op)) {
    size_t channels = llvm::cast<RankedTensorType>(op->getOperand(0).getType()).getDimSize(1);
    auto [scale, shift] = normScaleShift(op, channels);
    return {std::vector<float>(scale.begin(), scale.end()),
            std::vector<float>(shift.begin(), shift.end())};
  }
  if (llvm::isa<LayernormOp>(op))
    return {get(op, "weight"), get(op, "bias")};
  if (llvm::isa<ParameterOp>(op))
    return {get(op, "")};
  if (auto attention = llvm::dyn_cast<AttentionOp>(op)) {
    size_t c = attention.getInput().getType().getDimSize(2);
    return {transposed(get(op, "in_proj_weight"), 3 * c), get(op, "in_proj_bias"),
            transposed(get(op, "out_proj.weight"), c), get(op, "out_proj.bias")};
  }
  return {};
}

std::string kernelName(size_t stage, size_t index, llvm::StringRef layer) {
  std::string name = "s" + std::to_string(stage) + "_k" + std::to_string(index) + "_";
  for (char c : layer)
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

void ModelCompiler::emitGroup(const Group &g, size_t stageIndex, StagePlan &plan) {
  std::vector<BufferRegion> params;
  for (const std::vector<float> &p : parameters(g))
    params.push_back(packWeights(p));
  BufferRegion out = regions_.lookup(root(g.result));
  std::optional<BufferRegion> residual;
  if (g.residual)
    residual = regions_.lookup(root(g.residual));

  // The kernels of the group: usually one; concat copies each input with
  // its own; attention is projection, core, projection.
  struct Part {
    KernelSpec spec;
    std::vector<BufferRegion> bindings;
  };
  std::vector<Part> parts;
  auto addPart = [&](unsigned part, BufferRegion output, std::vector<BufferRegion> inputs,
                     std::vector<BufferRegion> weights, bool epilogue) {
    Part p;
    p.spec.anchor = g.anchor;
    p.spec.part = part;
    p.spec.numInputs = inputs.size();
    p.spec.numParams = weights.size();
    p.spec.fusedAdd = epilogue && residual;
    p.spec.activation = epilogue ? g.activation : nullptr;
    p.spec.anchorActivation = g.anchorActivation;
    p.spec.pointwise = g.pointwise;
    p.spec.shortcut = g.shortcut;
    p.bindings.push_back(output);
    p.bindings.insert(p.bindings.end(), inputs.begin(), inputs.end());
    p.bindings.insert(p.bindings.end(), weights.begin(), weights.end());
    if (p.spec.fusedAdd)
      p.bindings.push_back(*residual);
    parts.push_back(std::move(p));
  };
  if (llvm::isa<ConcatOp>(g.anchor)) {
    for (auto [i, operand] : llvm::enumerate(g.anchor->getOperands()))
      addPart(i, out, {regions_.lookup(root(operand))}, {}, true);
  } else if (llvm::isa<AttentionOp>(g.anchor)) {
    // See emitAttention for the five parts; formGroups gives planMemory the
    // parts that use each scratch buffer. The projections are small: one
    // weight binding each (see weightRowsPerBinding).
    BufferRegion qkv = g.scratchRegions[0], scores = g.scratchRegions[1];
    addPart(0, qkv, {regions_.lookup(root(g.anchor->getOperand(0)))}, {params[0], params[1]}, false);
    addPart(1, scores, {qkv}, {}, false);
    addPart(2, scores, {}, {}, false);
    addPart(3, qkv, {scores, qkv}, {}, false);
    addPart(4, out, {qkv}, {params[2], params[3]}, true);
  } else if (llvm::isa<ParameterOp>(g.anchor)) {
    addPart(0, out, {}, params, true); // the input gives only the batch
  } else {
    std::vector<BufferRegion> inputs;
    for (Value operand : g.anchor->getOperands())
      inputs.push_back(regions_.lookup(root(operand)));
    if (g.shortcut)
      inputs.push_back(regions_.lookup(root(g.shortcut->getOperand(0))));
    addPart(0, out, inputs, params, true);
  }

  std::string layer = layerName(g.anchor).str();
  for (Operation *op :
       {g.batchnorm, g.anchorActivation, g.pointwise, g.pointwiseNorm, g.shortcut, g.shortcutNorm,
        g.add, g.activation})
    if (op)
      layer += "+" + layerName(op).str();
  for (Part &p : parts) {
    std::string name = kernelName(stageIndex, model_.kernels.size(), layer);
    KernelBuilder kb(*kernels_, name, p.spec.numBuffers(), g.anchor->getLoc(), options_.tiles);
    DispatchPlan dispatch;
    dispatch.kernel = model_.kernels.size();
    dispatch.grid = emitKernel(kb, p.spec);
    dispatch.layer = layer;
    dispatch.bindings = std::move(p.bindings);
    plan.dispatches.push_back(std::move(dispatch));
    SmallVector<int32_t> vec4 = kb.vec4TexelBuffers();
    model_.kernels.push_back({name,
                              {},
                              {static_cast<uint32_t>(kb.workgroupSize()), 1, 1},
                              static_cast<uint32_t>(kb.subgroupLanesNeeded()),
                              {kb.texelBuffers().begin(), kb.texelBuffers().end()},
                              {vec4.begin(), vec4.end()}});
    kernelModuleNames_.push_back(name);
  }
}

LogicalResult ModelCompiler::lowerAndSerialize() {
  FailureOr<llvm::StringMap<std::vector<uint32_t>>> spirv = lowerKernels(*kernels_, options_);
  if (failed(spirv))
    return failure();
  if (options_.dump != CodegenOptions::Dump::None)
    return success();
  for (auto [i, name] : llvm::enumerate(kernelModuleNames_))
    model_.kernels[i].spirv = spirv->lookup(name);
  return success();
}

FailureOr<CompiledModel> ModelCompiler::run() {
  MLIRContext *ctx = spec_.module->getContext();
  ctx->loadDialect<gpu::GPUDialect, arith::ArithDialect, math::MathDialect,
                   memref::MemRefDialect, scf::SCFDialect, spirv::SPIRVDialect,
                   vector::VectorDialect>();
  func::FuncOp func = spec_.modelFunc();

  // Every size but the batch must be known to generate kernels.
  bool ok = true;
  for (auto [value, shape] : spec_.shapes)
    for (size_t i = 1; i < shape.size(); ++i)
      if (!shape[i].value()) {
        Location loc = value.getDefiningOp() ? value.getDefiningOp()->getLoc()
                                             : llvm::cast<BlockArgument>(value).getLoc();
        emitError(loc) << "'" << valueName(value) << "' has size "
                       << toString(shape[i], spec_.symbols)
                       << " in dim " << i << "; compiling needs every size but the batch: "
                       << "bind the symbols with --set (e.g. --set L=128)";
        ok = false;
        break;
      }
  if (!ok)
    return failure();

  int64_t batch = spec_.batchSymbol >= 0
                      ? -1
                      : llvm::cast<RankedTensorType>(func.getArgument(0).getType()).getDimSize(0);
  model_.name = spec_.modelName;
  model_.batch = batch;
  if (auto placement = func->getAttrOfType<DenseI64ArrayAttr>("spire.placement"))
    for (int64_t d : placement.asArrayRef())
      model_.placement.push_back(static_cast<uint32_t>(d));
  for (Value arg : func.getArguments())
    model_.inputs.push_back({valueName(arg), tensorShape(arg, batch), {}});
  for (auto [i, out] : llvm::enumerate(func.getBody().front().getTerminator()->getOperands())) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "spire.name");
    model_.outputs.push_back({name ? name.str() : valueName(out), tensorShape(out, batch), {}});
  }

  std::vector<StageInfo> stages = computeStages(func);
  for (auto [k, stage] : llvm::enumerate(stages)) {
    StagePlan plan;
    plan.name = stage.name;
    std::vector<Group> groups = formGroups(stage);
    planMemory(stage, groups, plan);
    for (Value v : stage.inputs)
      plan.inputs.push_back({valueName(v), tensorShape(v, batch), regions_.lookup(root(v))});
    for (auto [i, v] : llvm::enumerate(stage.outputs)) {
      std::string name = k + 1 == stages.size() ? model_.outputs[i].name : valueName(v);
      plan.outputs.push_back({name, tensorShape(v, batch), regions_.lookup(root(v))});
    }
    for (const Group &g : groups)
      emitGroup(g, k, plan);
    model_.stages.push_back(std::move(plan));
  }
  if (failed(lowerAndSerialize()))
    return failure();
  return std::move(model_);
}

} // namespace

FailureOr<llvm::StringMap<std::vector<uint32_t>>> lowerKernels(ModuleOp kernels,
                                                               const CodegenOptions &options) {
  MLIRContext *ctx = kernels.getContext();
  Attribute env = parseAttribute(kTargetEnv, ctx);
  for (auto module : kernels.getOps<gpu::GPUModuleOp>())
    module->setAttr(spirv::getTargetEnvAttrName(), env);
  llvm::StringMap<std::vector<uint32_t>> words;
  if (options.dump == CodegenOptions::Dump::Gpu) {
    kernels->print(*options.dumpStream);
    return words;
  }
  // The gpu.modules' texel bindings, for their spirv.modules (which
  // convert-gpu-to-spirv names `__spv__k` for gpu.module @k, without its
  // attributes).
  llvm::StringMap<Attribute> texelBindings;
  for (auto module : kernels.getOps<gpu::GPUModuleOp>())
    if (Attribute bindings = module->getAttr(kTexelBindingsAttr))
      texelBindings[("__spv__" + module.getName()).str()] = bindings;
  PassManager pm(ctx);
  // Per gpu.module, so the kernels are processed in parallel: fold the
  // emitters' index arithmetic before it becomes SPIR-V; math-to-spirv sees
  // each module's target environment.
  OpPassManager &kernel = pm.nest<gpu::GPUModuleOp>();
  kernel.addPass(createCanonicalizerPass());
  kernel.addPass(createCSEPass());
  kernel.addPass(createConvertMathToSPIRVPass());
  pm.addPass(createConvertGPUToSPIRVPass());
  OpPassManager &spirvModule = pm.nest<spirv::ModuleOp>();
  spirvModule.addPass(spirv::createSPIRVLowerABIAttributesPass());
  spirvModule.addPass(createSpirvLoopResults());
  if (failed(pm.run(kernels)))
    return emitError(UnknownLoc::get(ctx)) << "lowering the kernels to SPIR-V failed";
  for (auto module : kernels.getOps<spirv::ModuleOp>())
    if (Attribute bindings = texelBindings.lookup(module.getSymName().value_or("")))
      module->setAttr(kTexelBindingsAttr, bindings);
  PassManager finish(ctx);
  OpPassManager &lowered = finish.nest<spirv::ModuleOp>();
  lowered.addPass(createSpirvTexelInputs());
  lowered.addPass(spirv::createSPIRVUpdateVCEPass());
  if (failed(finish.run(kernels)))
    return emitError(UnknownLoc::get(ctx)) << "lowering the kernels to SPIR-V failed";
  for (auto module : kernels.getOps<spirv::ModuleOp>()) {
    if (options.dump == CodegenOptions::Dump::Spirv) {
      module->print(*options.dumpStream);
      *options.dumpStream << "\n";
      continue;
    }
    StringRef name = module.getSymName().value_or("");
    name.consume_front("__spv__");
    SmallVector<uint32_t> binary;
    if (failed(spirv::serialize(module, binary)))
      return failure();
    words[name].assign(binary.begin(), binary.end());
  }
  return words;
}

FailureOr<CompiledModel> compileModel(SpecModule &spec, const WeightStore &weights,
                                      const CodegenOptions &options) {
  return ModelCompiler(spec, weights, options).run();
}

} // namespace spire
