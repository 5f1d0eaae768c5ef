#include "spire/Codegen/Codegen.h"

#include "KernelParts.h"
#include "PackParameters.h"
#include "SizeSymbols.h"
#include "spire/Analysis/Stages.h"
#include "spire/Codegen/Passes.h"
#include "spire/Dialect/SpireOps.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Conversion/GPUToSPIRV/GPUToSPIRVPass.h"
#include "mlir/Conversion/MathToSPIRV/MathToSPIRVPass.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/MathExtras.h"

#include <tuple>
#include "spire/BundleFormat.h"
#include "spire/HugePages.h"
#include "spire/SizeExpr.h"

using namespace mlir;

namespace spire {
namespace {

// SPIR-V 1.3 (Vulkan 1.1) with storage buffers and subgroup shuffles, which
// the kernels use to share loads; the runtime checks the device's subgroups.
constexpr const char *kTargetEnv =
    "#spirv.target_env<#spirv.vce<v1.3, [Shader, GroupNonUniform, GroupNonUniformShuffle, SampledBuffer], [SPV_KHR_storage_buffer_storage_class]>, "
    "api=Vulkan, #spirv.resource_limits<>>";

// The arena region of `bytes` at `offset` (plan-memory's, per sample).
BufferRegion arenaRegion(int64_t offset, int64_t bytes) {
  return {BufferRegion::Space::Arena, static_cast<uint64_t>(offset), static_cast<uint64_t>(bytes)};
}

// A tensor of the bundle: its shape, and where a size depends on the size
// symbols, -1 there and every dim as a program.
TensorPlan tensorPlan(std::string name, Value v, int64_t batch, BufferRegion region,
                      const std::optional<ModelSizes> &sizes) {
  TensorPlan t{std::move(name), {}, region, {}};
  Shape dims = dimsOf(v);
  bool symbolic =
      llvm::any_of(llvm::drop_begin(dims), [](const Dim &d) { return !d.value(); });
  for (auto [i, d] : llvm::enumerate(dims)) {
    t.shape.push_back(i == 0 ? batch : d.value().value_or(-1));
    if (symbolic)
      t.dims.push_back(i == 0 ? SizeProgram{size_expr::Constant, batch}
                              : sizes->program(d));
  }
  return t;
}

} // namespace

LogicalResult prepareSizes(SpecModule &spec) {
  // Whether a size of `v` but the batch is unknown or has a symbol without
  // a declared range.
  auto symbolic = [&](Value v) {
    const Shape &shape = spec.shapes.lookup(v);
    return llvm::any_of(llvm::drop_begin(shape), [&](const Dim &d) {
      return !d.isKnown() || llvm::any_of(symbolsOf(d), [&](unsigned s) {
               return !spec.ranges.contains(spec.symbols[s]);
             });
    });
  };
  // Names every symbol in v's sizes but the batch.
  auto report = [&](Value v, Location loc) {
    const Shape &shape = spec.shapes.lookup(v);
    llvm::SetVector<unsigned> symbols;
    for (size_t i = 1; i < shape.size(); ++i)
      for (unsigned s : symbolsOf(shape[i]))
        symbols.insert(s);
    std::string names, example;
    size_t unranged = 0;
    for (unsigned s : symbols) {
      const std::string &name = spec.symbols[s];
      if (spec.ranges.contains(name))
        continue;
      ++unranged;
      names += (names.empty() ? "" : ", ") + name;
      example += " --set " + name + "=128";
    }
    InFlightDiagnostic d = emitError(loc) << "'" << valueName(v) << "' has shape "
                                          << toString(shape, spec.symbols)
                                          << "; compiling needs every size but the batch: ";
    if (names.empty())
      d << "a size is unknown";
    else
      d << "bind " << names << " (e.g." << example << "), or declare "
        << (unranged > 1 ? "their ranges" : "its range")
        << " in the spec's `sizes` for one bundle that serves them all";
  };
  // Sizes enter through the inputs: an unbound one is said once, at the
  // input, not again at every layer it flows through.
  bool ok = true;
  func::FuncOp func = spec.modelFunc();
  for (BlockArgument arg : func.getArguments())
    if (symbolic(arg)) {
      report(arg, arg.getLoc());
      ok = false;
    }
  if (!ok)
    return failure();
  // A layer that makes a size symbolic from static inputs: the first, in
  // spec order.
  WalkResult walk = func.walk([&](Operation *op) {
    for (Value r : op->getResults())
      if (symbolic(r)) {
        report(r, op->getLoc());
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  return recordSizeSymbols(spec);
}

namespace {

// A phase of the compile in --timings' report (nothing without it).
TimingScope timed(const CodegenOptions &options, llvm::StringRef phase) {
  return options.timing ? options.timing->nest(phase) : TimingScope();
}

// Reads the module the pipeline annotated into a CompiledModel (SPIR-V
// still empty): the interfaces and arena of each stage (plan-memory), each
// kernel's dispatches (emit-kernels) and its parameters, packed as its
// config says.
class ModelReader {
public:
  ModelReader(func::FuncOp func, const WeightStore &weights, bool seeded)
      : func_(func), weights_(weights), seeded_(seeded) {}

  FailureOr<CompiledModel> read(llvm::StringRef name, int64_t batch);

private:
  LogicalResult readKernel(KernelOp kernel, StagePlan &plan);
  BufferRegion packWeights(const std::vector<float> &data);
  int32_t tensorIndex(const std::string &name);

  func::FuncOp func_;
  const WeightStore &weights_;
  bool seeded_; // keep the recipe of the weights in model_.seededWeights
  std::optional<ModelSizes> sizes_ = ModelSizes::of(func_);
  CompiledModel model_;
  // The parameter tensors the packs use, numbered in first use.
  llvm::StringMap<int32_t> tensorIndices_;
  std::vector<std::string> tensorNames_;
};

BufferRegion ModelReader::packWeights(const std::vector<float> &data) {
  std::vector<uint8_t> &blob = model_.weights;
  uint64_t offset = llvm::alignTo(blob.size(), bundle::kRegionAlignment);
  // Appended, not zero-filled and then copied over: the blob is most of a
  // big model's compile (ResNet-50: 100 MB).
  blob.resize(offset);
  auto bytes = reinterpret_cast<const uint8_t *>(data.data());
  blob.insert(blob.end(), bytes, bytes + data.size() * 4);
  return {BufferRegion::Space::Weights, offset, data.size() * 4};
}

int32_t ModelReader::tensorIndex(const std::string &name) {
  auto [it, inserted] = tensorIndices_.try_emplace(name, tensorNames_.size());
  if (inserted)
    tensorNames_.push_back(name);
  return it->second;
}

LogicalResult ModelReader::readKernel(KernelOp kernel, StagePlan &plan) {
  FailureOr<KernelParts> parts = KernelParts::of(kernel);
  if (failed(parts))
    return failure();
  ArenaAttr arena = kernel.getArenaAttr();
  ArrayAttr dispatches = kernel.getDispatchesAttr();
  if (!arena || !dispatches)
    return kernel.emitOpError("has no arena or dispatches: the codegen pipeline did not run");
  FailureOr<PackedParameters> packed = packParameters(
      *parts, weights_, [&](const std::string &name) { return tensorIndex(name); },
      [&](int32_t i) -> const std::string & { return tensorNames_[i]; });
  if (failed(packed))
    return failure();
  std::vector<BufferRegion> paramRegions;
  for (const std::vector<float> &p : packed->buffers) {
    paramRegions.push_back(packWeights(p));
    packed->pack.offsets.push_back(paramRegions.back().offset);
  }
  if (seeded_ && !packed->buffers.empty())
    model_.seededWeights->packs.push_back(std::move(packed->pack));
  std::vector<ScratchBuffer> scratch = scratchBuffers(*parts);
  auto region = [&](BindingSource source) -> BufferRegion {
    using Kind = BindingSource::Kind;
    switch (source.kind) {
    case Kind::Result:
      return arenaRegion(arena.getResult(), perSampleBytes(kernel.getResult()));
    case Kind::Operand:
      return arenaRegion(arena.getOperands()[source.index],
                         perSampleBytes(kernel->getOperand(source.index)));
    case Kind::Scratch:
      return arenaRegion(arena.getScratch()[source.index], scratch[source.index].bytes);
    case Kind::Parameter:
      return paramRegions[source.index];
    }
    llvm_unreachable("every binding source is handled");
  };
  std::vector<DispatchPart> dispatchList = dispatchParts(*parts, packed->buffers.size());
  // A part's dispatches: one, or one per size class and then the kernel's
  // own (`otherwise`: SizeCaseAttr), which ends the part.
  auto gridSizes = kernel->getAttrOfType<ArrayAttr>(kGridSizesAttr);
  size_t p = 0;
  for (auto [k, attr] : llvm::enumerate(dispatches)) {
    auto d = llvm::cast<DispatchAttr>(attr);
    SizeCaseAttr when = d.getWhen();
    if (p == dispatchList.size() || (when && !sizes_))
      return kernel.emitOpError("has more dispatches recorded than its ")
             << dispatchList.size() << " parts, or a size case without ranged sizes";
    const DispatchPart &part = dispatchList[p];
    if (!when || when.getOtherwise())
      ++p;
    DispatchPlan dispatch;
    if (when)
      dispatch.when = {sizes_->program(Dim(when.getKey().getResult(0))),
                       {when.getValues().asArrayRef().begin(), when.getValues().asArrayRef().end()},
                       when.getOtherwise()};
    dispatch.kernel = model_.kernels.size();
    for (size_t i = 0; i < 3; ++i)
      dispatch.grid[i] = static_cast<uint32_t>(d.getGrid()[i]);
    if (gridSizes)
      for (AffineExpr e : llvm::cast<AffineMapAttr>(gridSizes[k]).getValue().getResults())
        dispatch.gridSizes.push_back(sizes_->program(Dim(e)));
    dispatch.layer = parts->label();
    if (DenseI64ArrayAttr values = d.getPushConstants())
      for (int64_t v : values.asArrayRef())
        dispatch.pushConstants.push_back(static_cast<uint32_t>(v));
    for (BindingSource source : part.bindings)
      dispatch.bindings.push_back(region(source));
    plan.dispatches.push_back(std::move(dispatch));
    auto bindings = [](DenseI64ArrayAttr list) {
      return std::vector<uint32_t>(list.asArrayRef().begin(), list.asArrayRef().end());
    };
    model_.kernels.push_back({d.getKernel().str(),
                              {},
                              {static_cast<uint32_t>(d.getWorkgroup()), 1, 1},
                              static_cast<uint32_t>(d.getSubgroupLanes()),
                              bindings(d.getTexelBindings()),
                              bindings(d.getVec4TexelBindings())});
  }
  if (p != dispatchList.size())
    return kernel.emitOpError("has dispatches recorded for ")
           << p << " of its " << dispatchList.size() << " parts";
  return success();
}

FailureOr<CompiledModel> ModelReader::read(llvm::StringRef name, int64_t batch) {
  model_.name = name.str();
  model_.batch = batch;
  if (seeded_)
    model_.seededWeights.emplace();
  // Packing folds and reorders, about keeping the size: one allocation
  // instead of a doubling vector's copies.
  reserveHugePages(model_.weights, weights_.bytes() + weights_.bytes() / 64);
  if (auto placement = func_->getAttrOfType<DenseI64ArrayAttr>("spire.placement"))
    for (int64_t d : placement.asArrayRef())
      model_.placement.push_back(static_cast<uint32_t>(d));
  if (sizes_)
    for (const ModelSizes::Symbol &s : sizes_->symbols())
      model_.sizes.push_back({s.name, s.range.min, s.range.max, s.range.multipleOf});
  for (Value arg : func_.getArguments())
    model_.inputs.push_back(tensorPlan(valueName(arg), arg, batch, {}, sizes_));
  for (auto [i, out] : llvm::enumerate(func_.getBody().front().getTerminator()->getOperands())) {
    auto outName = func_.getResultAttrOfType<StringAttr>(i, "spire.name");
    model_.outputs.push_back(
        tensorPlan(outName ? outName.str() : valueName(out), out, batch, {}, sizes_));
  }
  auto memory = func_->getAttrOfType<ArrayAttr>(kStagesAttr);
  std::vector<SpecStage> stages = computeStages(func_);
  if (!memory || memory.size() != stages.size())
    return func_.emitOpError("has no memory plan for its stages: run spire-plan-memory");
  for (auto [k, stage] : llvm::enumerate(stages)) {
    auto mem = llvm::cast<StageMemoryAttr>(memory[k]);
    StagePlan plan;
    plan.name = stage.name;
    plan.arenaSize = mem.getArena();
    for (auto [v, offset] : llvm::zip(stage.inputs, mem.getInputs().asArrayRef()))
      plan.inputs.push_back(tensorPlan(valueName(v), v, batch,
                                       arenaRegion(offset, perSampleBytes(v)), sizes_));
    for (auto [i, v] : llvm::enumerate(stage.outputs)) {
      std::string outName = k + 1 == stages.size() ? model_.outputs[i].name : valueName(v);
      plan.outputs.push_back(tensorPlan(
          outName, v, batch, arenaRegion(mem.getOutputs()[i], perSampleBytes(v)), sizes_));
    }
    for (Operation *op : stage.ops)
      if (auto kernel = llvm::dyn_cast<KernelOp>(op); kernel && failed(readKernel(kernel, plan)))
        return failure();
    model_.stages.push_back(std::move(plan));
  }
  if (seeded_) {
    model_.seededWeights->seed = *weights_.seed();
    for (const std::string &name : tensorNames_) {
      const WeightTensor *t = weights_.find(name);
      model_.seededWeights->tensors.push_back({name, t->data.size(), t->lo, t->hi});
    }
  }
  return std::move(model_);
}

// Kernels of the same code and launch shape (ResNet's repeated blocks at one
// resolution) become one entry that each of their dispatches uses with its
// own bindings, so the runtime creates one pipeline for them.
void shareKernels(CompiledModel &model) {
  auto key = [](const KernelCode &k) {
    return std::tie(k.spirv, k.workgroupSize, k.subgroupLanes, k.texelBindings,
                    k.vec4TexelBindings, k.specConstants, k.pushConstants);
  };
  std::vector<KernelCode> kept;
  std::vector<uint32_t> keptAs(model.kernels.size());
  llvm::DenseMap<llvm::hash_code, SmallVector<uint32_t, 1>> byHash;
  for (auto [k, kernel] : llvm::enumerate(model.kernels)) {
    SmallVector<uint32_t, 1> &same = byHash[llvm::hash_combine_range(kernel.spirv)];
    auto match = llvm::find_if(same, [&](uint32_t i) { return key(kept[i]) == key(kernel); });
    if (match != same.end()) {
      keptAs[k] = *match;
      continue;
    }
    keptAs[k] = kept.size();
    same.push_back(kept.size());
    kept.push_back(std::move(kernel));
  }
  for (StagePlan &stage : model.stages)
    for (DispatchPlan &d : stage.dispatches)
      d.kernel = keptAs[d.kernel];
  model.kernels = std::move(kept);
}

} // namespace

void buildSpireCodegenPipeline(OpPassManager &pm, const CodegenOptions &options, bool emit) {
  pm.addNestedPass<func::FuncOp>(createFoldBatchnorm());
  pm.addNestedPass<func::FuncOp>(createFormKernels());
  pm.addNestedPass<func::FuncOp>(createPlanMemory());
  pm.addPass(createSelectKernelConfig(options.config));
  if (emit)
    pm.addPass(createEmitKernels());
}

FailureOr<llvm::StringMap<LoweredKernel>> lowerKernels(ModuleOp kernels,
                                                       const CodegenOptions &options) {
  MLIRContext *ctx = kernels.getContext();
  Attribute env = parseAttribute(kTargetEnv, ctx);
  for (auto module : kernels.getOps<gpu::GPUModuleOp>())
    module->setAttr(spirv::getTargetEnvAttrName(), env);
  llvm::StringMap<LoweredKernel> words;
  if (options.dump == CodegenOptions::Dump::Gpu) {
    kernels->print(*options.dumpStream);
    return words;
  }
  // Kernels that differ only in their name (a stack of same-sized layers)
  // are lowered once (10^3 linears [N,16]->16: 33 s before,
  // docs/perf-log/2026-12-02-big-specs.md). Modules are hashed by their
  // ops, values numbered by first use, and compared whole on a match.
  llvm::StringMap<std::string> sameAs; // erased module -> the one kept
  if (options.dump == CodegenOptions::Dump::None) {
    auto attrsOf = [](gpu::GPUModuleOp module) {
      SmallVector<NamedAttribute> attrs;
      for (NamedAttribute attr : module->getAttrs())
        if (attr.getName() != SymbolTable::getSymbolAttrName())
          attrs.push_back(attr);
      return attrs;
    };
    auto flags = OperationEquivalence::IgnoreLocations;
    llvm::DenseMap<uint64_t, SmallVector<gpu::GPUModuleOp, 1>> kept;
    for (auto module : llvm::make_early_inc_range(kernels.getOps<gpu::GPUModuleOp>())) {
      llvm::DenseMap<Value, unsigned> number;
      auto numbered = [&](Value v) {
        return llvm::hash_value(number.try_emplace(v, number.size()).first->second);
      };
      llvm::hash_code hash = llvm::hash_combine_range(attrsOf(module));
      for (Operation &top : module.getBody()->getOperations())
        top.walk([&](Operation *op) {
          hash = llvm::hash_combine(hash, OperationEquivalence::computeHash(
                                              op, numbered, OperationEquivalence::ignoreHashValue,
                                              flags));
        });
      SmallVector<gpu::GPUModuleOp, 1> &same = kept[hash];
      auto match = llvm::find_if(same, [&](gpu::GPUModuleOp other) {
        auto &ops = module.getBody()->getOperations();
        auto &others = other.getBody()->getOperations();
        return attrsOf(module) == attrsOf(other) && ops.size() == others.size() &&
               llvm::all_of(llvm::zip(ops, others), [&](auto pair) {
                 return OperationEquivalence::isEquivalentTo(&std::get<0>(pair),
                                                             &std::get<1>(pair), flags);
               });
      });
      if (match == same.end()) {
        same.push_back(module);
        continue;
      }
      sameAs[module.getName()] = match->getName().str();
      module->erase();
    }
  }
  // The gpu.modules' texel bindings, for their spirv.modules (which
  // convert-gpu-to-spirv names `__spv__k` for gpu.module @k, without its
  // attributes).
  llvm::StringMap<Attribute> texelBindings;
  for (auto module : kernels.getOps<gpu::GPUModuleOp>())
    if (Attribute bindings = module->getAttr(kTexelBindingsAttr))
      texelBindings[("__spv__" + module.getName()).str()] = bindings;
  // Each gpu.module in a builtin.module of its own: convert-gpu-to-spirv is
  // a module pass, so nested this way the kernels are converted in
  // parallel, as the other passes process them.
  OpBuilder wrap(ctx);
  for (auto module : llvm::make_early_inc_range(kernels.getOps<gpu::GPUModuleOp>())) {
    wrap.setInsertionPoint(module);
    auto wrapper = ModuleOp::create(wrap, module.getLoc());
    module->moveBefore(wrapper.getBody(), wrapper.getBody()->end());
  }
  auto spirvModules = [&] {
    SmallVector<spirv::ModuleOp> modules;
    for (auto wrapper : kernels.getOps<ModuleOp>())
      llvm::append_range(modules, wrapper.getOps<spirv::ModuleOp>());
    return modules;
  };
  TimingScope lowering = timed(options, "lower kernels");
  PassManager pm(ctx);
  if (lowering)
    pm.enableTiming(lowering);
  // Per gpu.module: fold the emitters' index arithmetic before it becomes
  // SPIR-V; math-to-spirv sees each module's target environment.
  OpPassManager &wrapped = pm.nest<ModuleOp>();
  OpPassManager &kernel = wrapped.nest<gpu::GPUModuleOp>();
  // Without region simplification: the emitters build structured control
  // flow with nothing to merge, the SPIR-V is the same byte for byte, and
  // the pass takes about 40% less time (ResNet-50).
  kernel.addPass(createCanonicalizerPass(GreedyRewriteConfig().setRegionSimplificationLevel(
      GreedySimplifyRegionLevel::Disabled)));
  kernel.addPass(createCSEPass());
  kernel.addPass(createConvertMathToSPIRVPass());
  wrapped.addPass(createConvertGPUToSPIRVPass());
  OpPassManager &spirvModule = wrapped.nest<spirv::ModuleOp>();
  spirvModule.addPass(spirv::createSPIRVLowerABIAttributesPass());
  spirvModule.addPass(createSpirvLoopResults());
  if (failed(pm.run(kernels)))
    return emitError(UnknownLoc::get(ctx)) << "lowering the kernels to SPIR-V failed";
  for (auto module : spirvModules())
    if (Attribute bindings = texelBindings.lookup(module.getSymName().value_or("")))
      module->setAttr(kTexelBindingsAttr, bindings);
  PassManager finish(ctx);
  if (lowering)
    finish.enableTiming(lowering);
  OpPassManager &lowered = finish.nest<ModuleOp>().nest<spirv::ModuleOp>();
  lowered.addPass(createSpirvTexelInputs());
  lowered.addPass(createSpirvPushConstants());
  lowered.addPass(createSpirvSizeSymbols());
  lowered.addPass(spirv::createSPIRVUpdateVCEPass());
  if (failed(finish.run(kernels)))
    return emitError(UnknownLoc::get(ctx)) << "lowering the kernels to SPIR-V failed";
  TimingScope serializing = lowering.nest("serialize SPIR-V");
  for (auto module : spirvModules()) {
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
    LoweredKernel &kernel = words[name];
    kernel.spirv.assign(binary.begin(), binary.end());
    if (auto symbols = module->getAttrOfType<DenseI32ArrayAttr>(kSpecConstantsAttr))
      kernel.specConstants.assign(symbols.asArrayRef().begin(), symbols.asArrayRef().end());
    if (auto count = module->getAttrOfType<IntegerAttr>(kPushConstantsAttr))
      kernel.pushConstants = count.getInt();
  }
  for (const auto &[erased, keptName] : sameAs)
    words[erased] = words.lookup(keptName);
  return words;
}

FailureOr<CompiledModel> compileModel(ModuleOp module, const WeightStore &weights,
                                      const CodegenOptions &options) {
  MLIRContext *ctx = module.getContext();
  auto funcs = module.getOps<func::FuncOp>();
  if (funcs.empty() || !(*funcs.begin())->hasAttr("spire.model"))
    return module.emitError("has no model function (a func.func with spire.model)");
  func::FuncOp func = *funcs.begin();
  // Kernels are generated for static sizes or ranged symbols (spire.sizes);
  // the batch stays free. (prepareSizes explains a failure in the spec's
  // terms first.)
  for (Value v : llvm::concat<const Value>(func.getArguments(),
                                           func.getBody().front().getTerminator()->getOperands()))
    if (llvm::any_of(llvm::drop_begin(dimsOf(v)), [](const Dim &d) { return !d.isKnown(); }))
      return func.emitError("has a size other than the batch that is not known: bind it with "
                            "--set");
  bool dumpKernels = options.dump == CodegenOptions::Dump::Kernels;
  TimingScope pipeline = timed(options, "codegen pipeline");
  PassManager pm(ctx);
  if (options.printIRAfterAll) {
    ctx->disableMultithreading(); // IR printing needs it
    pm.enableIRPrinting();
  }
  if (pipeline)
    pm.enableTiming(pipeline);
  // lowerKernels' module-level passes verify the whole module, emitted
  // kernels included; verifying the large emitted IR here as well made
  // ResNet-50's compile measurably slower (docs/perf-log).
  pm.enableVerifier(false);
  buildSpireCodegenPipeline(pm, options, /*emit=*/!dumpKernels);
  if (failed(pm.run(module)))
    return failure();
  pipeline.stop();
  if (dumpKernels) {
    module->print(*options.dumpStream);
    return CompiledModel{};
  }

  // A dynamic batch dim: any batch (-1).
  int64_t batch = llvm::cast<RankedTensorType>(func.getArgument(0).getType()).getDimSize(0);
  if (ShapedType::isDynamic(batch))
    batch = -1;
  TimingScope reading = timed(options, "read model, pack weights");
  FailureOr<CompiledModel> model =
      ModelReader(func, weights, options.seededWeights && weights.seed())
          .read(func->getAttrOfType<StringAttr>("spire.model"), batch);
  if (failed(model))
    return failure();
  reading.stop();
  auto target = module->getAttrOfType<TargetAttr>(kTargetAttr);
  model->target = {target.getName().str(), target.getSubgroupSize(),
                   target.getMaxWorkgroupInvocations(), target.getSharedMemoryBytes(),
                   target.getMaxTexelBufferElements(), target.getF16(), target.getVectorWidth()};
  FailureOr<llvm::StringMap<LoweredKernel>> spirv = lowerKernels(module, options);
  if (failed(spirv))
    return failure();
  if (options.dump != CodegenOptions::Dump::None)
    return model;
  for (KernelCode &kernel : model->kernels) {
    const LoweredKernel &lowered = spirv->lookup(kernel.name);
    kernel.spirv = lowered.spirv;
    kernel.specConstants = lowered.specConstants;
    kernel.pushConstants = lowered.pushConstants;
  }
  shareKernels(*model);
  return model;
}

} // namespace spire
