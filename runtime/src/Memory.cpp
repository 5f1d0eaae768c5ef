// Buffer allocation and the copies between host tensors and buffers.
#include "Memory.h"

#include "Commands.h"
#include "spire/Checked.h"

#include <cstring>

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

VkDeviceSize arenaSize(const fb::Stage &stage, size_t s, int64_t batch) {
  std::optional<uint64_t> bytes = checkedMul(stage.arena_size(), static_cast<uint64_t>(batch));
  if (!bytes)
    throw Error(Error::Kind::Input, "batch " + std::to_string(batch) + " needs over 2^64 bytes "
                                    "of activations in stage " + std::to_string(s));
  return std::max<VkDeviceSize>(*bytes, 256);
}

// Every region lies inside its stage's per-sample arena, and arenaSize
// checked that arena times the batch: the products below fit.
StagingLayout::StagingLayout(const fb::Stage &first, const fb::Stage &last, int64_t batch)
    : first(&first), last(&last), batch(batch) {
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

void copyInputs(Commands &commands, const Buffer &staging, const StagingLayout &layout,
                VkBuffer arena) {
  VkDeviceSize offset = 0;
  for (const fb::Tensor *t : *layout.first->inputs()) {
    VkBufferCopy copy{offset, t->region()->offset() * layout.batch,
                      t->region()->size() * layout.batch};
    commands.copy(staging.buffer, arena, copy);
    offset += copy.size;
  }
}

void copyInterface(Commands &commands, const fb::Stage &stage, size_t s, const fb::Stage &next,
                   int64_t batch, VkBuffer arena, VkBuffer nextArena) {
  for (const fb::Tensor *in : *next.inputs()) {
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
                   in->region()->size() * batch});
  }
}

void copyOutputs(Commands &commands, const Buffer &staging, const StagingLayout &layout,
                 VkBuffer arena) {
  VkDeviceSize offset = layout.outputsAt;
  for (const fb::Tensor *t : *layout.last->outputs()) {
    VkBufferCopy copy{t->region()->offset() * layout.batch, offset,
                      t->region()->size() * layout.batch};
    commands.copy(arena, staging.buffer, copy);
    offset += copy.size;
  }
}

TensorMap readOutputs(const Buffer &staging, const StagingLayout &layout,
                      const std::vector<TensorInfo> &outputs) {
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
