// Command recording and submission on a Model's queue: one command buffer
// and fence serve every run (runs take turns), and a timestamp query pool
// times them where the queue can.
#pragma once

#include "Device.h"

#include <span>

namespace spire {

class Commands {
public:
  explicit Commands(const Device &device);
  Commands(const Commands &) = delete;
  Commands &operator=(const Commands &) = delete;
  ~Commands();

  // Whether the queue writes timestamps; without, timestamp() does nothing.
  bool timed() const { return timed_; }
  // Room for `count` timestamps a recording, made before begin().
  void reserveTimestamps(uint32_t count);

  void begin();
  void copy(VkBuffer src, VkBuffer dst, const VkBufferCopy &region);
  void barrier(VkPipelineStageFlags src, VkAccessFlags srcAccess, VkPipelineStageFlags dst,
               VkAccessFlags dstAccess);
  // `pushed`: the kernel's push constants (none where it reads none).
  void dispatch(VkPipeline pipeline, VkPipelineLayout layout, VkDescriptorSet set,
                std::span<const uint32_t> pushed, uint32_t x, uint32_t y, uint32_t z);
  // Resets the query pool and starts counting timestamps from 0.
  void resetTimestamps();
  // Writes the next timestamp once `stage` of earlier commands is done.
  void timestamp(VkPipelineStageFlagBits stage);
  // Ends the recording, submits it and waits for it to finish.
  void submit();
  // The ticks of the timestamps written since resetTimestamps().
  std::vector<uint64_t> readTimestamps() const;

private:
  // Delegated to first, so that a throw in the public constructor runs the
  // destructor and frees what was already made.
  Commands(VkDevice device, VkQueue queue, bool timed);

  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  bool timed_ = false;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  uint32_t queryCount_ = 0;
  uint32_t written_ = 0; // timestamps recorded since the last reset
};

} // namespace spire
