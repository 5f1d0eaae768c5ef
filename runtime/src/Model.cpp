// A bundle on a device: pipelines and weights are created once; per stage an
// activation arena and descriptor sets are (re)built only when the batch
// grows or changes. Host tensors travel through one staging buffer.
#include "Kernels.h"

#include "spire/Checked.h"

#include <algorithm>
#include <cstring>

namespace spire {

namespace fb = spire::bundle;

namespace {

constexpr VkMemoryPropertyFlags kDeviceMemory = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
constexpr VkMemoryPropertyFlags kHostMemory =
    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

struct Buffer {
  VkDevice device = VK_NULL_HANDLE;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void *mapped = nullptr;
  VkDeviceSize size = 0;

  Buffer() = default;
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  Buffer(Buffer &&o) noexcept { *this = std::move(o); }
  Buffer &operator=(Buffer &&o) noexcept {
    std::swap(device, o.device);
    std::swap(buffer, o.buffer);
    std::swap(memory, o.memory);
    std::swap(mapped, o.mapped);
    std::swap(size, o.size);
    return *this;
  }
  ~Buffer() {
    if (buffer)
      vkDestroyBuffer(device, buffer, nullptr);
    if (memory)
      vkFreeMemory(device, memory, nullptr);
  }
};

} // namespace

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (shape[i] < 0 ? std::string("N") : std::to_string(shape[i]));
  return s + "]";
}

struct Model::Impl {
  Context::Impl &context;
  const Bundle::Impl &bundle;
  const Bundle *bundleRef;
  Device device; // first made, last destroyed
  Kernels kernels;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  VkQueryPool queries = VK_NULL_HANDLE;
  uint32_t queryCount = 0;
  bool profiling = false;

  Buffer weights;
  Buffer staging;

  struct StageState {
    Buffer arena;
    int64_t batch = 0; // the batch the descriptor sets are written for
    VkDescriptorPool descriptors = VK_NULL_HANDLE;
    std::vector<VkDescriptorSet> sets;
    std::vector<VkBufferView> views; // of the texel bindings, for this batch
  };
  std::vector<StageState> stages;

  double lastMs = 0;
  std::vector<DispatchTime> profile;
  // One command buffer, fence, staging buffer and set of arenas serve every
  // run: runs, and what they record, take turns.
  mutable std::mutex mutex;

  Impl(Context::Impl &c, const Bundle &b, uint32_t deviceIndex)
      : context(c), bundle(b.impl()), bundleRef(&b), device(c, deviceIndex, *bundle.manifest),
        kernels(device, c, *bundle.manifest) {}
  ~Impl();

  uint32_t memoryType(uint32_t bits, VkMemoryPropertyFlags want) const;
  Buffer createBuffer(VkDeviceSize size, std::initializer_list<VkMemoryPropertyFlags> preferred,
                      bool map);
  void uploadWeights();
  void prepareStage(size_t s, int64_t batch);
  void submit();
  TensorMap run(size_t first, size_t last, const TensorMap &inputs);
};

Model::Impl::~Impl() {
  vkDeviceWaitIdle(device.device);
  for (StageState &s : stages) {
    if (s.descriptors)
      vkDestroyDescriptorPool(device.device, s.descriptors, nullptr);
    for (VkBufferView v : s.views)
      vkDestroyBufferView(device.device, v, nullptr);
  }
  stages.clear();
  weights = Buffer();
  staging = Buffer();
  if (queries)
    vkDestroyQueryPool(device.device, queries, nullptr);
  if (fence)
    vkDestroyFence(device.device, fence, nullptr);
  if (pool)
    vkDestroyCommandPool(device.device, pool, nullptr);
}

uint32_t Model::Impl::memoryType(uint32_t bits, VkMemoryPropertyFlags want) const {
  for (uint32_t i = 0; i < device.memory.memoryTypeCount; ++i)
    if ((bits & (1u << i)) && (device.memory.memoryTypes[i].propertyFlags & want) == want)
      return i;
  return UINT32_MAX;
}

// Device-local buffers hold arenas and weights; the staging buffer is
// host-visible. Both are usable as storage buffers and copy ends.
// Memory of the first type with all the flags of the earliest `preferred`
// entry that any type has (else of any type), mapped when `map` asks and the
// type is host visible.
Buffer Model::Impl::createBuffer(VkDeviceSize size,
                                 std::initializer_list<VkMemoryPropertyFlags> preferred, bool map) {
  Buffer b;
  b.device = device.device;
  b.size = size;
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = size;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
               VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  vkCheck(vkCreateBuffer(device.device, &info, nullptr, &b.buffer), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device.device, b.buffer, &req);
  uint32_t type = UINT32_MAX;
  for (VkMemoryPropertyFlags want : preferred)
    if (type == UINT32_MAX)
      type = memoryType(req.memoryTypeBits, want);
  if (type == UINT32_MAX)
    type = memoryType(req.memoryTypeBits, 0);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = type;
  vkCheck(vkAllocateMemory(device.device, &alloc, nullptr, &b.memory), "vkAllocateMemory");
  vkCheck(vkBindBufferMemory(device.device, b.buffer, b.memory, 0), "vkBindBufferMemory");
  if (map && (device.memory.memoryTypes[type].propertyFlags & kHostMemory) == kHostMemory)
    vkCheck(vkMapMemory(device.device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory");
  return b;
}

void Model::Impl::submit() {
  vkCheck(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
  VkSubmitInfo submitInfo{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submitInfo.commandBufferCount = 1;
  submitInfo.pCommandBuffers = &cmd;
  vkCheck(vkResetFences(device.device, 1, &fence), "vkResetFences");
  vkCheck(vkQueueSubmit(device.queue, 1, &submitInfo, fence), "vkQueueSubmit");
  vkCheck(vkWaitForFences(device.device, 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
}

static void beginCommands(VkCommandBuffer cmd) {
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vkCheck(vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
}

static void barrier(VkCommandBuffer cmd, VkPipelineStageFlags src, VkAccessFlags srcAccess,
                    VkPipelineStageFlags dst, VkAccessFlags dstAccess) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = srcAccess;
  b.dstAccessMask = dstAccess;
  vkCmdPipelineBarrier(cmd, src, dst, 0, 1, &b, 0, nullptr, 0, nullptr);
}

void Model::Impl::uploadWeights() {
  VkDeviceSize size = std::max<VkDeviceSize>(bundle.weightsSize, 256);
  // Where device memory is also host memory (CPU devices, integrated GPUs),
  // the weights are copied in directly, with no staging buffer.
  weights = context.stagedUploads
                ? createBuffer(size, {kDeviceMemory}, false)
                : createBuffer(size, {kDeviceMemory | kHostMemory, kDeviceMemory}, true);
  if (bundle.weightsSize == 0)
    return;
  if (weights.mapped) {
    std::memcpy(weights.mapped, bundle.weights, bundle.weightsSize);
    return;
  }
  Buffer upload = createBuffer(bundle.weightsSize, {kHostMemory}, true);
  std::memcpy(upload.mapped, bundle.weights, bundle.weightsSize);
  beginCommands(cmd);
  VkBufferCopy copy{0, 0, bundle.weightsSize};
  vkCmdCopyBuffer(cmd, upload.buffer, weights.buffer, 1, &copy);
  barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
          VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
  submit();
}

// Arena and descriptor sets for `batch`: arena offsets scale with the batch,
// so the sets are rewritten when the batch changes.
void Model::Impl::prepareStage(size_t s, int64_t batch) {
  StageState &state = stages[s];
  if (state.batch == batch)
    return;
  const fb::Stage *stage = bundle.manifest->stages()->Get(s);
  std::optional<uint64_t> bytes = checkedMul(stage->arena_size(), static_cast<uint64_t>(batch));
  if (!bytes)
    throw Error(Error::Kind::Input, "batch " + std::to_string(batch) + " needs over 2^64 bytes "
                                    "of activations in stage " + std::to_string(s));
  VkDeviceSize arenaSize = std::max<VkDeviceSize>(*bytes, 256);
  if (state.arena.size < arenaSize) {
    vkDeviceWaitIdle(device.device);
    state.arena = createBuffer(arenaSize, {kDeviceMemory}, false);
  }
  if (!state.descriptors) {
    uint32_t sets = stage->dispatches()->size(), slots = 0, texels = 0;
    for (const fb::Dispatch *d : *stage->dispatches()) {
      const fb::Kernel *kernel = bundle.manifest->kernels()->Get(d->kernel());
      uint32_t t = kernel->texel_bindings() ? kernel->texel_bindings()->size() : 0;
      texels += t;
      slots += d->bindings()->size() - t;
    }
    VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max(slots, 1u)},
                                     {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, std::max(texels, 1u)}};
    VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    info.maxSets = std::max(sets, 1u);
    info.poolSizeCount = 2;
    info.pPoolSizes = sizes;
    vkCheck(vkCreateDescriptorPool(device.device, &info, nullptr, &state.descriptors),
            "vkCreateDescriptorPool");
    state.sets.resize(sets);
    for (uint32_t i = 0; i < sets; ++i) {
      VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
      alloc.descriptorPool = state.descriptors;
      alloc.descriptorSetCount = 1;
      VkDescriptorSetLayout layout = kernels.setLayout(stage->dispatches()->Get(i)->kernel());
      alloc.pSetLayouts = &layout;
      vkCheck(vkAllocateDescriptorSets(device.device, &alloc, &state.sets[i]), "vkAllocateDescriptorSets");
    }
  } else {
    vkDeviceWaitIdle(device.device);
  }
  for (VkBufferView v : state.views)
    vkDestroyBufferView(device.device, v, nullptr);
  state.views.clear();
  for (uint32_t i = 0; i < stage->dispatches()->size(); ++i) {
    const fb::Dispatch *d = stage->dispatches()->Get(i);
    const fb::Kernel *kernel = bundle.manifest->kernels()->Get(d->kernel());
    size_t count = d->bindings()->size();
    std::vector<VkDescriptorBufferInfo> infos(count);
    std::vector<VkBufferView> views(count, VK_NULL_HANDLE);
    std::vector<VkWriteDescriptorSet> writes(count);
    for (size_t b = 0; b < count; ++b) {
      const fb::Region *r = d->bindings()->Get(b);
      bool arena = r->space() == fb::Space::Arena;
      VkDescriptorType type = descriptorType(*kernel, b);
      bool texel = type == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      bool vec4 = listsBinding(kernel->vec4_texel_bindings(), b);
      uint64_t texelBytes = vec4 ? 16 : 4;
      VkDeviceSize range = arena ? r->size() * batch : r->size();
      uint64_t limit = texel ? uint64_t(device.limits.maxTexelBufferElements) * texelBytes
                             : device.limits.maxStorageBufferRange;
      if (range > limit)
        throw Error(Error::Kind::Device,
                    "a binding of layer '" + d->layer()->str() + "' needs " +
                        std::to_string(range) + " bytes, over this device's " +
                        (texel ? "maxTexelBufferElements x " + std::to_string(texelBytes) + " ("
                               : std::string("maxStorageBufferRange (")) +
                        std::to_string(limit) + ")" +
                        (arena ? "; use a smaller batch" : "") +
                        (texel ? (arena ? " or" : ";") +
                                     std::string(" recompile with `spire compile --no-texel-inputs`")
                               : ""));
      infos[b] = {arena ? state.arena.buffer : weights.buffer,
                  arena ? r->offset() * batch : r->offset(), range};
      writes[b] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      writes[b].dstSet = state.sets[i];
      writes[b].dstBinding = static_cast<uint32_t>(b);
      writes[b].descriptorCount = 1;
      writes[b].descriptorType = type;
      if (texel) {
        VkBufferViewCreateInfo view{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
        view.buffer = infos[b].buffer;
        view.format = vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
        view.offset = infos[b].offset;
        view.range = range;
        vkCheck(vkCreateBufferView(device.device, &view, nullptr, &views[b]), "vkCreateBufferView");
        state.views.push_back(views[b]);
        writes[b].pTexelBufferView = &views[b];
      } else {
        writes[b].pBufferInfo = &infos[b];
      }
    }
    vkUpdateDescriptorSets(device.device, writes.size(), writes.data(), 0, nullptr);
  }
  state.batch = batch;
}

TensorMap Model::Impl::run(size_t first, size_t last, const TensorMap &inputs) {
  const std::vector<StageInfo> &infos = bundle.stages;
  if (first > last || last >= infos.size())
    throw Error(Error::Kind::Usage, "stages " + std::to_string(first) + ".." +
                                        std::to_string(last) + " do not exist; the model has " +
                                        std::to_string(infos.size()) + " stage(s)");
  size_t seen = context.messageCount();
  const std::vector<TensorInfo> &wanted = infos[first].inputs;

  // Check the inputs against the interface of stage `first`.
  std::string names;
  for (const TensorInfo &t : wanted)
    names += (names.empty() ? "" : ", ") + t.name + " " + shapeText(t.shape);
  for (const auto &[name, tensor] : inputs)
    if (std::none_of(wanted.begin(), wanted.end(), [&](const TensorInfo &t) { return t.name == name; }))
      throw Error(Error::Kind::Input, "unknown input '" + name + "'; expected: " + names);
  int64_t batch = -1;
  for (const TensorInfo &t : wanted) {
    auto it = inputs.find(t.name);
    if (it == inputs.end())
      throw Error(Error::Kind::Input, "missing input '" + t.name + "': expected " +
                                          shapeText(t.shape) + " f32; all inputs: " + names);
    const Tensor &x = it->second;
    bool ok = x.shape.size() == t.shape.size() && !x.shape.empty() && x.shape[0] >= 1;
    for (size_t i = 0; ok && i < t.shape.size(); ++i)
      ok = t.shape[i] < 0 || x.shape[i] == t.shape[i];
    if (!ok)
      throw Error(Error::Kind::Input, "input '" + t.name + "': expected " + shapeText(t.shape) +
                                          (t.shape[0] < 0 ? " (any N)" : "") + " but got " +
                                          shapeText(x.shape));
    std::optional<int64_t> numel = checkedProduct(x.shape, int64_t(1));
    if (!numel || static_cast<int64_t>(x.data.size()) != *numel)
      throw Error(Error::Kind::Input, "input '" + t.name + "': shape " + shapeText(x.shape) +
                                          " needs " +
                                          (numel ? std::to_string(*numel) : "over 2^63") +
                                          " values but the tensor holds " +
                                          std::to_string(x.data.size()));
    if (batch >= 0 && x.shape[0] != batch)
      throw Error(Error::Kind::Input, "input '" + t.name + "' has batch " +
                                          std::to_string(x.shape[0]) + " but another input has " +
                                          std::to_string(batch));
    batch = x.shape[0];
  }
  if (batch < 0)
    batch = bundle.batch > 0 ? bundle.batch : 1;
  if (bundle.batch > 0 && batch != bundle.batch)
    throw Error(Error::Kind::Input, "this bundle was compiled for batch " +
                                        std::to_string(bundle.batch) + ", got " +
                                        std::to_string(batch));

  // Arenas first: their sizes bound every region times the batch below.
  for (size_t s = first; s <= last; ++s)
    prepareStage(s, batch);

  // Staging: the inputs, then the outputs of stage `last`.
  const std::vector<TensorInfo> &produced = infos[last].outputs;
  const fb::Stage *firstStage = bundle.manifest->stages()->Get(first);
  const fb::Stage *lastStage = bundle.manifest->stages()->Get(last);
  VkDeviceSize stagingSize = 0;
  for (const fb::Tensor *t : *firstStage->inputs())
    stagingSize += t->region()->size() * batch;
  VkDeviceSize outputsAt = stagingSize;
  for (const fb::Tensor *t : *lastStage->outputs())
    stagingSize += t->region()->size() * batch;
  if (staging.size < stagingSize)
    staging = createBuffer(stagingSize, {kHostMemory}, true);

  uint32_t dispatches = 0;
  for (size_t s = first; s <= last; ++s)
    dispatches += bundle.manifest->stages()->Get(s)->dispatches()->size();
  if (device.timestamps && queryCount < dispatches + 2) {
    if (queries)
      vkDestroyQueryPool(device.device, queries, nullptr);
    queries = VK_NULL_HANDLE;
    VkQueryPoolCreateInfo q{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    q.queryType = VK_QUERY_TYPE_TIMESTAMP;
    q.queryCount = dispatches + 2;
    vkCheck(vkCreateQueryPool(device.device, &q, nullptr, &queries), "vkCreateQueryPool");
    queryCount = q.queryCount;
  }

  VkDeviceSize offset = 0;
  for (const fb::Tensor *t : *firstStage->inputs()) {
    const Tensor &x = inputs.at(t->name()->str());
    std::memcpy(static_cast<char *>(staging.mapped) + offset, x.data.data(), x.data.size() * 4);
    offset += t->region()->size() * batch;
  }

  beginCommands(cmd);
  if (device.timestamps) {
    vkCmdResetQueryPool(cmd, queries, 0, queryCount);
    vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries, 0);
  }
  offset = 0;
  for (const fb::Tensor *t : *firstStage->inputs()) {
    VkBufferCopy copy{offset, t->region()->offset() * batch, t->region()->size() * batch};
    vkCmdCopyBuffer(cmd, staging.buffer, stages[first].arena.buffer, 1, &copy);
    offset += copy.size;
  }
  barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
          VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  uint32_t query = 1;
  std::vector<std::string> layers;
  for (size_t s = first; s <= last; ++s) {
    const fb::Stage *stage = bundle.manifest->stages()->Get(s);
    for (uint32_t i = 0; i < stage->dispatches()->size(); ++i) {
      const fb::Dispatch *d = stage->dispatches()->Get(i);
      uint64_t z = static_cast<uint64_t>(d->grid()->Get(2)) * batch;
      const VkPhysicalDeviceLimits &limits = device.limits;
      if (d->grid()->Get(0) > limits.maxComputeWorkGroupCount[0] ||
          d->grid()->Get(1) > limits.maxComputeWorkGroupCount[1] ||
          z > limits.maxComputeWorkGroupCount[2])
        throw Error(Error::Kind::Device, "layer '" + d->layer()->str() + "' needs a grid over " +
                                             "this device's maxComputeWorkGroupCount; use a smaller batch");
      vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, kernels.pipeline(d->kernel()));
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, kernels.layout(d->kernel()), 0, 1,
                              &stages[s].sets[i], 0, nullptr);
      vkCmdDispatch(cmd, d->grid()->Get(0), d->grid()->Get(1), static_cast<uint32_t>(z));
      if (device.timestamps && profiling)
        vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, queries, query++);
      layers.push_back(d->layer()->str());
      barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
              VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
              VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT);
    }
    if (s == last)
      break;
    // Stage s's outputs are stage s+1's inputs, by name.
    const fb::Stage *next = bundle.manifest->stages()->Get(s + 1);
    for (const fb::Tensor *in : *next->inputs()) {
      const fb::Tensor *src = nullptr;
      for (const fb::Tensor *out : *stage->outputs())
        if (out->name()->str() == in->name()->str())
          src = out;
      if (!src || src->region()->size() != in->region()->size())
        throw Error(Error::Kind::Bundle, "stage " + std::to_string(s + 1) + " input '" +
                                             in->name()->str() + "' is not an output of stage " +
                                             std::to_string(s));
      VkBufferCopy copy{src->region()->offset() * batch, in->region()->offset() * batch,
                        in->region()->size() * batch};
      vkCmdCopyBuffer(cmd, stages[s].arena.buffer, stages[s + 1].arena.buffer, 1, &copy);
    }
    barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  }
  offset = outputsAt;
  for (const fb::Tensor *t : *lastStage->outputs()) {
    VkBufferCopy copy{t->region()->offset() * batch, offset, t->region()->size() * batch};
    vkCmdCopyBuffer(cmd, stages[last].arena.buffer, staging.buffer, 1, &copy);
    offset += copy.size;
  }
  barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
          VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  if (device.timestamps)
    vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries, query++);
  submit();

  if (device.timestamps) {
    std::vector<uint64_t> ticks(query);
    vkCheck(vkGetQueryPoolResults(device.device, queries, 0, query, ticks.size() * 8, ticks.data(), 8,
                                  VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
            "vkGetQueryPoolResults");
    double period = device.limits.timestampPeriod * 1e-6; // ns -> ms
    lastMs = (ticks.back() - ticks.front()) * period;
    profile.clear();
    if (profiling)
      for (size_t i = 0; i < layers.size(); ++i)
        profile.push_back({layers[i], (ticks[i + 1] - ticks[i]) * period});
  }
  context.throwIfNewMessages(seen);

  TensorMap outputs;
  offset = outputsAt;
  for (size_t i = 0; i < produced.size(); ++i) {
    const fb::Tensor *t = lastStage->outputs()->Get(i);
    Tensor out{produced[i].shape, {}};
    out.shape[0] = batch;
    out.data.resize(out.numel());
    std::memcpy(out.data.data(), static_cast<char *>(staging.mapped) + offset, out.data.size() * 4);
    offset += t->region()->size() * batch;
    outputs[produced[i].name] = std::move(out);
  }
  return outputs;
}

Model::Model(Context &context, const Bundle &bundle, uint32_t deviceIndex) {
  Context::Impl &ctx = context.impl();
  size_t seen = ctx.messageCount();
  impl_ = std::make_unique<Impl>(ctx, bundle, deviceIndex);
  Impl &m = *impl_;
  VkCommandPoolCreateInfo poolInfo{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  poolInfo.queueFamilyIndex = m.device.queueFamily;
  vkCheck(vkCreateCommandPool(m.device.device, &poolInfo, nullptr, &m.pool), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo cmdInfo{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cmdInfo.commandPool = m.pool;
  cmdInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cmdInfo.commandBufferCount = 1;
  vkCheck(vkAllocateCommandBuffers(m.device.device, &cmdInfo, &m.cmd), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fenceInfo{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  vkCheck(vkCreateFence(m.device.device, &fenceInfo, nullptr, &m.fence), "vkCreateFence");

  m.uploadWeights();
  m.stages.resize(bundle.stages().size());
  ctx.throwIfNewMessages(seen);
}

Model::Model(Model &&) noexcept = default;
Model &Model::operator=(Model &&) noexcept = default;
Model::~Model() = default;

const Bundle &Model::bundle() const { return *impl_->bundleRef; }
const DeviceInfo &Model::device() const { return impl_->device.info; }

TensorMap Model::run(const TensorMap &inputs) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  TensorMap outputs = impl_->run(0, impl_->bundle.stages.size() - 1, inputs);
  // The last stage may carry tensors beyond the model outputs; return those.
  TensorMap result;
  for (const TensorInfo &t : impl_->bundle.outputs)
    result[t.name] = std::move(outputs.at(t.name));
  return result;
}

TensorMap Model::runStages(size_t first, size_t last, const TensorMap &inputs) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->run(first, last, inputs);
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
double Model::pipelineCreateMs() const { return impl_->kernels.createMs(); }

} // namespace spire
