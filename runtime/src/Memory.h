// Buffers and their memory: allocation, the per-sample arena scaled by the
// batch, and the staging buffer that host tensors travel through.
#pragma once

#include "Device.h"
#include "Sizes.h"

#include <initializer_list>

namespace spire {

constexpr VkMemoryPropertyFlags kDeviceMemory = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
constexpr VkMemoryPropertyFlags kHostMemory =
    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

// A buffer and its own memory, freed with it; `mapped` when host visible
// and asked for.
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

// Usable as storage and texel buffer and as both copy ends. Memory of the
// first type with all the flags of the earliest `preferred` entry that any
// type has (else of any type), mapped when `map` asks and the type is host
// visible.
Buffer createBuffer(const Device &device, VkDeviceSize size,
                    std::initializer_list<VkMemoryPropertyFlags> preferred, bool map);

// Throws Error, before anything is allocated, when `batch` samples through
// stages [first, last] would not fit `device`: a binding beyond
// maxStorageBufferRange, a buffer beyond maxMemoryAllocationSize, or more
// memory than its largest heap of the kind. The message names the largest
// batch that fits (Kind::Input), or says why not even one sample does
// (Kind::Device).
void checkMemory(const Device &device, const Bundle::Impl &bundle, size_t first, size_t last,
                 int64_t batch);

// Bytes of stage `s`'s arena for `batch` samples (at least 256); throws
// Error(Input) when that overflows.
VkDeviceSize arenaSize(const bundle::Stage &stage, size_t s, int64_t batch);

// Where a run's host tensors sit in the staging buffer: the inputs of its
// first stage, then the outputs of its last, each its region's size times
// the batch. `firstSizes` and `lastSizes` are what the run's size values
// make of those stages: how much of each region a tensor fills.
struct StagingLayout {
  const bundle::Stage *first = nullptr, *last = nullptr;
  const StageSizes *firstSizes = nullptr, *lastSizes = nullptr;
  int64_t batch = 0;
  VkDeviceSize outputsAt = 0; // where the outputs start
  VkDeviceSize size = 0;

  StagingLayout(const bundle::Stage &first, const bundle::Stage &last, const StageSizes &firstSizes,
                const StageSizes &lastSizes, int64_t batch);
};

class Commands;

// Upload: host `inputs` (checked against `layout.first`'s inputs) into the
// mapped `staging`, then commands copying them on into the first stage's
// `arena`.
void writeInputs(const Buffer &staging, const StagingLayout &layout, const TensorViewMap &inputs);
void copyInputs(Commands &commands, const Buffer &staging, const StagingLayout &layout,
                VkBuffer arena);
// Commands copying stage `s`'s outputs from its `arena` into the inputs of
// stage `s + 1` (`next`, of `nextSizes`) in `nextArena`, matched by name;
// throws Error(Bundle) for an input that `stage` does not produce.
void copyInterface(Commands &commands, const bundle::Stage &stage, size_t s,
                   const bundle::Stage &next, const StageSizes &nextSizes, int64_t batch,
                   VkBuffer arena, VkBuffer nextArena);
// Readback: commands copying the last stage's outputs from its `arena` into
// `staging`, then, once they ran, the host tensors, one per output of the
// last stage with dim 0 set to the batch.
void copyOutputs(Commands &commands, const Buffer &staging, const StagingLayout &layout,
                 VkBuffer arena);
TensorMap readOutputs(const Buffer &staging, const StagingLayout &layout);

// The bundle's weights in a device-local buffer (at least 256 bytes), copied
// in directly where that memory is host visible, else (or when `staged`)
// through a staging buffer on `commands`.
Buffer uploadWeights(const Device &device, Commands &commands, const Bundle::Impl &bundle,
                     bool staged);

} // namespace spire
