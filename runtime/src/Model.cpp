// A bundle on a device: pipelines and weights are created once; per stage an
// activation arena and descriptor sets are (re)built only when the batch
// grows or changes. Host tensors travel through one staging buffer. A run
// checks its inputs, finds the size symbols' values (Sizes.h), uploads the
// inputs, records and submits the dispatches, and reads the outputs back.
#include "Bindings.h"
#include "Commands.h"
#include "Memory.h"
#include "PipelineCache.h"

#include "spire/Checked.h"

namespace spire {

namespace fb = spire::bundle;

// A dim for messages: a negative (dynamic) one as N.
static std::string dimText(int64_t d) { return d < 0 ? "N" : std::to_string(d); }

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + dimText(shape[i]);
  return s + "]";
}

std::string shapeText(const TensorInfo &tensor) {
  std::string s = "[";
  for (size_t i = 0; i < tensor.shape.size(); ++i)
    s += (i ? ", " : "") + (i < tensor.dimText.size() && !tensor.dimText[i].empty()
                                ? tensor.dimText[i]
                                : dimText(tensor.shape[i]));
  return s + "]";
}

// Checks `inputs` against a stage's interface `wanted`, all but its symbolic
// dims (resolveSizes checks those); returns their batch (the compiled one,
// else 1, when there are none).
static int64_t checkInputs(const std::vector<TensorInfo> &wanted, const TensorViewMap &inputs,
                           int64_t compiledBatch) {
  std::string names;
  for (const TensorInfo &t : wanted)
    names += (names.empty() ? "" : ", ") + t.name + " " + shapeText(t);
  for (const auto &[name, tensor] : inputs)
    if (std::none_of(wanted.begin(), wanted.end(), [&](const TensorInfo &t) { return t.name == name; }))
      throw Error(Error::Kind::Input, "unknown input '" + name + "'; expected: " + names);
  int64_t batch = -1;
  for (const TensorInfo &t : wanted) {
    auto it = inputs.find(t.name);
    if (it == inputs.end())
      throw Error(Error::Kind::Input, "missing input '" + t.name + "': expected " +
                                          shapeText(t) + " f32; all inputs: " + names);
    const TensorView &x = it->second;
    bool ok = x.shape.size() == t.shape.size() && !x.shape.empty() && x.shape[0] >= 1;
    for (size_t i = 0; ok && i < t.shape.size(); ++i)
      ok = t.shape[i] < 0 || x.shape[i] == t.shape[i];
    if (!ok)
      throw Error(Error::Kind::Input, "input '" + t.name + "': expected " + shapeText(t) +
                                          (t.shape[0] < 0 ? " (any N)" : "") + " but got " +
                                          shapeText(x.shape));
    std::optional<int64_t> numel = checkedProduct(x.shape, int64_t(1));
    if (!numel || static_cast<int64_t>(x.size) != *numel)
      throw Error(Error::Kind::Input, "input '" + t.name + "': shape " + shapeText(x.shape) +
                                          " needs " +
                                          (numel ? std::to_string(*numel) : "over 2^63") +
                                          " values but the tensor holds " +
                                          std::to_string(x.size));
    if (batch >= 0 && x.shape[0] != batch)
      throw Error(Error::Kind::Input, "input '" + t.name + "' has batch " +
                                          std::to_string(x.shape[0]) + " but another input has " +
                                          std::to_string(batch));
    batch = x.shape[0];
  }
  if (batch < 0)
    batch = compiledBatch > 0 ? compiledBatch : 1;
  if (compiledBatch > 0 && batch != compiledBatch)
    throw Error(Error::Kind::Input, "this bundle was compiled for batch " +
                                        std::to_string(compiledBatch) + ", got " +
                                        std::to_string(batch));
  return batch;
}

struct Model::Impl {
  Context::Impl &context;
  const Bundle::Impl &bundle;
  const Bundle *bundleRef;
  // Made in this order, destroyed in reverse: the device last.
  Device device;
  Commands commands;
  PipelineCache pipelineCache;
  Kernels kernels;
  Buffer weights;
  Buffer staging;

  struct StageState {
    Buffer arena;
    int64_t batch = 0; // the batch the bindings are written for
    Bindings bindings;
  };
  std::vector<StageState> stages;

  bool profiling = false;
  double lastMs = 0;
  std::vector<DispatchTime> profile;
  // What the latest size values make of the stages (the values of most
  // runs repeat), and the pipelines the latest run created for them.
  std::optional<RunSizes> sizes;
  Kernels::Created created;
  // One command buffer, fence, staging buffer and set of arenas serve every
  // run: runs, and what they record, take turns.
  mutable std::mutex mutex;

  Impl(Context::Impl &c, const Bundle &b, uint32_t deviceIndex)
      : context(c), bundle(b.impl()), bundleRef(&b), device(c, deviceIndex, *bundle.manifest),
        commands(device), pipelineCache(device, c.pipelineCacheDir, bundle.checksum),
        kernels(device, c, *bundle.manifest, pipelineCache.handle()),
        weights(uploadWeights(device, commands, bundle, c.stagedUploads)),
        stages(bundle.stages.size()) {
    pipelineCache.save();
  }
  // The members free what the device may still be using: wait for it.
  ~Impl() { vkDeviceWaitIdle(device.device); }

  const fb::Stage &stage(size_t s) const { return *bundle.manifest->stages()->Get(s); }
  void checkStages(size_t first, size_t last) const {
    if (first > last || last >= bundle.stages.size())
      throw Error(Error::Kind::Usage, "stages " + std::to_string(first) + ".." +
                                          std::to_string(last) + " do not exist; the model has " +
                                          std::to_string(bundle.stages.size()) + " stage(s)");
  }
  void prepareStage(size_t s, int64_t batch);
  std::vector<std::string> record(size_t first, size_t last, const StagingLayout &io);
  void readTimes(const std::vector<std::string> &layers);
  TensorMap run(size_t first, size_t last, const TensorViewMap &inputs, const SizeMap &given);
};

// Owned tensors seen as views: the one input path.
static TensorViewMap viewsOf(const TensorMap &inputs) {
  TensorViewMap views;
  for (const auto &[name, t] : inputs)
    views.emplace(name, TensorView{t.shape, t.data.data(), t.data.size()});
  return views;
}

// Arena and bindings for `batch`: the arena only grows, the bindings follow
// every change of batch.
void Model::Impl::prepareStage(size_t s, int64_t batch) {
  StageState &state = stages[s];
  if (state.batch == batch)
    return;
  VkDeviceSize size = arenaSize(stage(s), s, batch);
  if (state.arena.size < size) {
    vkDeviceWaitIdle(device.device);
    state.arena = createBuffer(device, size, {kDeviceMemory}, false);
  }
  state.bindings.write(device, kernels, *bundle.manifest, stage(s), batch, state.arena.buffer,
                       weights.buffer);
  state.batch = batch;
}

// Inputs in, every dispatch followed by a barrier, each stage's outputs on
// into the next one's inputs, outputs out; timestamps around it all, and
// after each dispatch when profiling. Returns each dispatch's layer.
std::vector<std::string> Model::Impl::record(size_t first, size_t last, const StagingLayout &io) {
  const VkPhysicalDeviceLimits &limits = device.limits;
  commands.begin();
  commands.resetTimestamps();
  commands.timestamp(VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT);
  copyInputs(commands, staging, io, stages[first].arena.buffer);
  commands.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  std::vector<std::string> layers;
  for (size_t s = first; s <= last; ++s) {
    const fb::Stage &st = stage(s);
    for (uint32_t i = 0; i < st.dispatches()->size(); ++i) {
      if (!sizes->stages[s].runs[i])
        continue; // another size class's dispatch of the layer runs instead
      const fb::Dispatch *d = st.dispatches()->Get(i);
      const std::array<uint32_t, 3> &grid = sizes->stages[s].grids[i];
      // checkMemory bounded z for the grid the bundle stores, which the size
      // symbols may change.
      uint64_t z = static_cast<uint64_t>(grid[2]) * io.batch;
      if (grid[0] > limits.maxComputeWorkGroupCount[0] ||
          grid[1] > limits.maxComputeWorkGroupCount[1] || z > limits.maxComputeWorkGroupCount[2])
        throw Error(Error::Kind::Device, "layer '" + d->layer()->str() + "' needs a grid over " +
                                             "this device's maxComputeWorkGroupCount");
      std::span<const uint32_t> pushed;
      if (const auto *values = d->push_constants())
        pushed = {values->data(), values->size()};
      commands.dispatch(kernels.pipeline(d->kernel()), kernels.layout(d->kernel()),
                        stages[s].bindings.set(i), pushed, grid[0], grid[1],
                        static_cast<uint32_t>(z));
      if (profiling)
        commands.timestamp(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
      layers.push_back(d->layer()->str());
      commands.barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                           VK_ACCESS_TRANSFER_READ_BIT);
    }
    if (s == last)
      break;
    copyInterface(commands, st, s, stage(s + 1), sizes->stages[s + 1], io.batch,
                  stages[s].arena.buffer, stages[s + 1].arena.buffer);
    commands.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                     VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                     VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  }
  copyOutputs(commands, staging, io, stages[last].arena.buffer);
  commands.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                   VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  commands.timestamp(VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
  return layers;
}

// The run's device time, and each dispatch's when profiling.
void Model::Impl::readTimes(const std::vector<std::string> &layers) {
  std::vector<uint64_t> ticks = commands.readTimestamps();
  double period = device.limits.timestampPeriod * 1e-6; // ns -> ms
  lastMs = (ticks.back() - ticks.front()) * period;
  profile.clear();
  if (profiling)
    for (size_t i = 0; i < layers.size(); ++i)
      profile.push_back({layers[i], (ticks[i + 1] - ticks[i]) * period});
}

TensorMap Model::Impl::run(size_t first, size_t last, const TensorViewMap &inputs,
                           const SizeMap &given) {
  const std::vector<StageInfo> &infos = bundle.stages;
  checkStages(first, last);
  size_t seen = context.messageCount();
  created = {};
  int64_t batch = checkInputs(infos[first].inputs, inputs, bundle.batch);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto &[name, x] : inputs)
    shapes[name] = x.shape;
  std::vector<int64_t> values = resolveSizes(bundle, infos[first].inputs, shapes, given);
  if (!sizes || sizes->values != values)
    sizes = evaluateSizes(bundle, std::move(values));
  checkMemory(device, bundle, first, last, batch);
  // Arenas first: their sizes bound every region times the batch below.
  for (size_t s = first; s <= last; ++s)
    prepareStage(s, batch);
  StagingLayout io(stage(first), stage(last), sizes->stages[first], sizes->stages[last], batch);
  if (staging.size < io.size)
    staging = createBuffer(device, io.size, {kHostMemory}, true);
  uint32_t dispatches = 0;
  for (size_t s = first; s <= last; ++s)
    dispatches += stage(s).dispatches()->size();
  commands.reserveTimestamps(dispatches + 2);

  created = kernels.specialize(*bundle.manifest, first, last, *sizes, pipelineCache.handle());
  if (created.pipelines > 0)
    pipelineCache.save();

  writeInputs(staging, io, inputs);
  std::vector<std::string> layers = record(first, last, io);
  commands.submit();
  if (commands.timed())
    readTimes(layers);
  context.throwIfNewMessages(seen);
  return readOutputs(staging, io);
}

Model::Model(Context &context, const Bundle &bundle, uint32_t deviceIndex) {
  size_t seen = context.impl().messageCount();
  impl_ = std::make_unique<Impl>(context.impl(), bundle, deviceIndex);
  context.impl().throwIfNewMessages(seen);
}

Model::Model(Model &&) noexcept = default;
Model &Model::operator=(Model &&) noexcept = default;
Model::~Model() = default;

const Bundle &Model::bundle() const { return *impl_->bundleRef; }
const DeviceInfo &Model::device() const { return impl_->device.info; }

TensorMap Model::run(const TensorMap &inputs, const SizeMap &sizes) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  TensorMap outputs = impl_->run(0, impl_->bundle.stages.size() - 1, viewsOf(inputs), sizes);
  // The last stage may carry tensors beyond the model outputs; return those.
  TensorMap result;
  for (const TensorInfo &t : impl_->bundle.outputs)
    result[t.name] = std::move(outputs.at(t.name));
  return result;
}

TensorMap Model::runStages(size_t first, size_t last, const TensorMap &inputs,
                           const SizeMap &sizes) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->run(first, last, viewsOf(inputs), sizes);
}

TensorMap Model::runStagesOnViews(size_t first, size_t last, const TensorViewMap &inputs,
                                  const SizeMap &sizes) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->run(first, last, inputs, sizes);
}

void Model::setProfiling(bool on) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->profiling = on;
}
double Model::lastDeviceMs() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->lastMs;
}
std::vector<DispatchTime> Model::lastProfile() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->profile;
}
void Model::checkBatch(int64_t batch, size_t first, size_t last) const {
  impl_->checkStages(first, last);
  checkMemory(impl_->device, impl_->bundle, first, last, batch);
}

double Model::pipelineCreateMs() const { return impl_->kernels.createMs(); }
const std::string &Model::pipelineCacheFile() const { return impl_->pipelineCache.file(); }
bool Model::pipelineCacheWarm() const { return impl_->pipelineCache.warm(); }

SizeMap Model::lastSizes() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->sizes ? sizeMap(impl_->bundle, impl_->sizes->values) : SizeMap{};
}
size_t Model::lastNewPipelines() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->created.pipelines;
}
double Model::lastNewPipelineMs() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->created.ms;
}

} // namespace spire
