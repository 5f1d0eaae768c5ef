// Buffer allocation and the copies between host tensors and buffers.
#include "Memory.h"

#include "Commands.h"
#include "spire/Checked.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>

namespace spire {

namespace fb = spire::bundle;

static uint32_t memoryType(const Device &device, uint32_t bits, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < device.memory.memoryTypeCount; ++i)
    if ((bits & (1u << i)) && (device.memory.memoryTypes[i].propertyFlags & want) == want)
      return i;
  return UINT32_MAX;
}

Buffer createBuffer(const Device &device, VkDeviceSize size,
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
      type = memoryType(device, req.memoryTypeBits, want);
  if (type == UINT32_MAX)
    type = memoryType(device, req.memoryTypeBits, 0);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = type;
  vkCheck(vkAllocateMemory(device.device, &alloc, nullptr, &b.memory), "vkAllocateMemory");
  vkCheck(vkBindBufferMemory(device.device, b.buffer, b.memory, 0), "vkBindBufferMemory");
  if (map && (device.memory.memoryTypes[type].propertyFlags & kHostMemory) == kHostMemory)
    vkCheck(vkMapMemory(device.device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory");
  return b;
}

Buffer uploadWeights(const Device &device, Commands &commands, const Bundle::Impl &bundle,
                     bool staged) {
  VkDeviceSize size = std::max<VkDeviceSize>(bundle.weightsSize, 256);
  // Where device memory is also host memory (CPU devices, integrated GPUs),
  // the weights are copied in directly, with no staging buffer.
  Buffer weights = staged ? createBuffer(device, size, {kDeviceMemory}, false)
                          : createBuffer(device, size, {kDeviceMemory | kHostMemory, kDeviceMemory}, true);
  if (bundle.weightsSize == 0)
    return weights;
  if (weights.mapped) {
    std::memcpy(weights.mapped, bundle.weights, bundle.weightsSize);
    return weights;
  }
  Buffer upload = createBuffer(device, bundle.weightsSize, {kHostMemory}, true);
  std::memcpy(upload.mapped, bundle.weights, bundle.weightsSize);
  commands.begin();
  commands.copy(upload.buffer, weights.buffer, {0, 0, bundle.weightsSize});
  commands.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
  commands.submit();
  return weights;
}

namespace {

std::string bytesText(double bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t u = 0;
  while (bytes >= 1024 && u + 1 < std::size(units)) {
    bytes /= 1024;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

// The largest heap with all of `flags` (0 when none has them).
VkDeviceSize largestHeap(const Device &device, VkMemoryPropertyFlags flags) {
  VkDeviceSize largest = 0;
  for (uint32_t i = 0; i < device.memory.memoryTypeCount; ++i)
    if ((device.memory.memoryTypes[i].propertyFlags & flags) == flags)
      largest = std::max(largest, device.memory.memoryHeaps[device.memory.memoryTypes[i].heapIndex].size);
  return largest;
}

// A need of `perSample` bytes (or workgroups) per sample plus `fixed`
// against `limit`.
struct Need {
  std::string what; // "stage 0's activations", ...
  std::string limitName;
  double perSample, fixed, limit;
  bool inBytes = true;

  std::string amount(double v) const {
    return inBytes ? bytesText(v) : std::to_string(static_cast<uint64_t>(v)) + " workgroups";
  }

  // The most samples that fit (may be 0).
  double maxBatch() const {
    if (fixed > limit)
      return 0;
    return perSample > 0 ? std::floor((limit - fixed) / perSample) : INFINITY;
  }
};

} // namespace

void checkMemory(const Device &device, const Bundle::Impl &bundle, size_t first, size_t last,
                 int64_t batch) {
  VkPhysicalDeviceMaintenance3Properties m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &m3};
  vkGetPhysicalDeviceProperties2(device.physical, &props);
  double maxRange = device.limits.maxStorageBufferRange;
  double maxAlloc = m3.maxMemoryAllocationSize;
  double deviceHeap = largestHeap(device, kDeviceMemory);
  double hostHeap = largestHeap(device, kHostMemory);

  std::vector<Need> needs;
  double arenas = 0, staging = 0;
  for (size_t s = first; s <= last; ++s) {
    const fb::Stage &stage = *bundle.manifest->stages()->Get(s);
    std::string name = "stage " + std::to_string(s);
    arenas += stage.arena_size();
    needs.push_back({name + "'s activations", "maxMemoryAllocationSize", double(stage.arena_size()), 0,
                     maxAlloc});
    for (const fb::Dispatch *d : *stage.dispatches()) {
      // Samples go along the grid's z.
      needs.push_back({"layer '" + d->layer()->str() + "' dispatching a grid",
                       "maxComputeWorkGroupCount[2]", double(d->grid()->Get(2)), 0,
                       double(device.limits.maxComputeWorkGroupCount[2]), false});
      for (const fb::Region *r : *d->bindings()) {
        bool arena = r->space() == fb::Space::Arena;
        needs.push_back({"layer '" + d->layer()->str() + "' binding " + (arena ? "a tensor" : "a weight"),
                         "maxStorageBufferRange", arena ? double(r->size()) : 0,
                         arena ? 0 : double(r->size()), maxRange});
      }
    }
  }
  for (const fb::Tensor *t : *bundle.manifest->stages()->Get(first)->inputs())
    staging += t->region()->size();
  for (const fb::Tensor *t : *bundle.manifest->stages()->Get(last)->outputs())
    staging += t->region()->size();
  needs.push_back({"the weights and activations together", "the device's largest device-local heap",
                   arenas, double(bundle.weightsSize), deviceHeap});
  needs.push_back({"the inputs and outputs in host-visible memory", "the device's largest host-visible heap",
                   staging, 0, hostHeap});
  needs.push_back({"the inputs and outputs in host-visible memory", "maxMemoryAllocationSize", staging, 0,
                   maxAlloc});

  const Need *worst = nullptr;
  for (const Need &n : needs)
    if (!worst || n.maxBatch() < worst->maxBatch())
      worst = &n;
  if (!worst || worst->maxBatch() >= double(batch))
    return;
  std::string at = "device '" + device.info.name + "': ";
  double need = worst->fixed + worst->perSample * double(batch);
  std::string text = worst->what + " needs " + worst->amount(need) + " at batch " +
                     std::to_string(batch) + ", over " + worst->limitName + " (" +
                     worst->amount(worst->limit) + ")";
  if (worst->maxBatch() >= 1)
    throw Error(Error::Kind::Input, at + text + "; at most batch " +
                                        std::to_string(static_cast<int64_t>(worst->maxBatch())) +
                                        " fits");
  throw Error(Error::Kind::Device,
              at + worst->what + " needs " + worst->amount(worst->fixed + worst->perSample) +
                  " even at batch 1, over " + worst->limitName + " (" + worst->amount(worst->limit) +
                  "); the model cannot run on this device as compiled: split the stage (a split "
                  "point), place stages on other devices, or use a device with more memory");
}

VkDeviceSize arenaSize(const fb::Stage &stage, size_t s, int64_t batch) {
  std::optional<uint64_t> bytes = checkedMul(stage.arena_size(), static_cast<uint64_t>(batch));
  if (!bytes)
    throw Error(Error::Kind::Input, "batch " + std::to_string(batch) + " needs over 2^64 bytes "
                                    "of activations in stage " + std::to_string(s));
  return std::max<VkDeviceSize>(*bytes, 256);
}

// Every region lies inside its stage's per-sample arena, and arenaSize
// checked that arena times the batch: the products below fit, and so do
// those of the tensors' bytes, which evaluateSizes kept within their regions.
StagingLayout::StagingLayout(const fb::Stage &first, const fb::Stage &last,
                             const StageSizes &firstSizes, const StageSizes &lastSizes,
                             int64_t batch)
    : first(&first), last(&last), firstSizes(&firstSizes), lastSizes(&lastSizes), batch(batch) {
  for (const fb::Tensor *t : *first.inputs())
    size += t->region()->size() * batch;
  outputsAt = size;
  for (const fb::Tensor *t : *last.outputs())
    size += t->region()->size() * batch;
}

void writeInputs(const Buffer &staging, const StagingLayout &layout, const TensorViewMap &inputs) {
  VkDeviceSize offset = 0;
  for (const fb::Tensor *t : *layout.first->inputs()) {
    const TensorView &x = inputs.at(t->name()->str());
    std::memcpy(static_cast<char *>(staging.mapped) + offset, x.data, x.size * 4);
    offset += t->region()->size() * layout.batch;
  }
}

// A tensor fills the start of its region: only its own bytes travel.
void copyInputs(Commands &commands, const Buffer &staging, const StagingLayout &layout,
                VkBuffer arena) {
  VkDeviceSize offset = 0;
  for (size_t i = 0; i < layout.first->inputs()->size(); ++i) {
    const fb::Region &region = *layout.first->inputs()->Get(i)->region();
    commands.copy(staging.buffer, arena,
                  {offset, region.offset() * layout.batch,
                   layout.firstSizes->inputBytes[i] * layout.batch});
    offset += region.size() * layout.batch;
  }
}

void copyInterface(Commands &commands, const fb::Stage &stage, size_t s, const fb::Stage &next,
                   const StageSizes &nextSizes, int64_t batch, VkBuffer arena, VkBuffer nextArena) {
  for (size_t i = 0; i < next.inputs()->size(); ++i) {
    const fb::Tensor *in = next.inputs()->Get(i);
    const fb::Tensor *src = nullptr;
    for (const fb::Tensor *out : *stage.outputs())
      if (out->name()->str() == in->name()->str())
        src = out;
    if (!src || src->region()->size() != in->region()->size())
      throw Error(Error::Kind::Bundle, "stage " + std::to_string(s + 1) + " input '" +
                                           in->name()->str() + "' is not an output of stage " +
                                           std::to_string(s));
    commands.copy(arena, nextArena,
                  {src->region()->offset() * batch, in->region()->offset() * batch,
                   nextSizes.inputBytes[i] * batch});
  }
}

void copyOutputs(Commands &commands, const Buffer &staging, const StagingLayout &layout,
                 VkBuffer arena) {
  VkDeviceSize offset = layout.outputsAt;
  for (size_t i = 0; i < layout.last->outputs()->size(); ++i) {
    const fb::Region &region = *layout.last->outputs()->Get(i)->region();
    commands.copy(arena, staging.buffer,
                  {region.offset() * layout.batch, offset,
                   layout.lastSizes->outputBytes[i] * layout.batch});
    offset += region.size() * layout.batch;
  }
}

TensorMap readOutputs(const Buffer &staging, const StagingLayout &layout) {
  const std::vector<TensorInfo> &outputs = layout.lastSizes->outputs;
  TensorMap result;
  VkDeviceSize offset = layout.outputsAt;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const fb::Tensor *t = layout.last->outputs()->Get(i);
    Tensor out{outputs[i].shape, {}};
    out.shape[0] = layout.batch;
    out.data.resize(out.numel());
    std::memcpy(out.data.data(), static_cast<char *>(staging.mapped) + offset, out.data.size() * 4);
    offset += t->region()->size() * layout.batch;
    result[outputs[i].name] = std::move(out);
  }
  return result;
}

} // namespace spire
