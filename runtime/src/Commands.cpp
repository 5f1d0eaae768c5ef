// Command buffer, fence and timestamp queries of a Model's queue.
#include "Commands.h"

namespace spire {

Commands::Commands(VkDevice device, VkQueue queue, bool timed)
    : device_(device), queue_(queue), timed_(timed) {}

Commands::Commands(const Device &device)
    : Commands(device.device, device.queue, device.timestamps) {
  VkCommandPoolCreateInfo poolInfo{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  poolInfo.queueFamilyIndex = device.queueFamily;
  vkCheck(vkCreateCommandPool(device_, &poolInfo, nullptr, &pool_), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo cmdInfo{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cmdInfo.commandPool = pool_;
  cmdInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cmdInfo.commandBufferCount = 1;
  vkCheck(vkAllocateCommandBuffers(device_, &cmdInfo, &cmd_), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fenceInfo{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  vkCheck(vkCreateFence(device_, &fenceInfo, nullptr, &fence_), "vkCreateFence");
}

Commands::~Commands() {
  if (queries_)
    vkDestroyQueryPool(device_, queries_, nullptr);
  if (fence_)
    vkDestroyFence(device_, fence_, nullptr);
  if (pool_)
    vkDestroyCommandPool(device_, pool_, nullptr);
}

void Commands::reserveTimestamps(uint32_t count) {
  if (!timed_ || queryCount_ >= count)
    return;
  if (queries_)
    vkDestroyQueryPool(device_, queries_, nullptr);
  queries_ = VK_NULL_HANDLE;
  VkQueryPoolCreateInfo q{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  q.queryType = VK_QUERY_TYPE_TIMESTAMP;
  q.queryCount = count;
  vkCheck(vkCreateQueryPool(device_, &q, nullptr, &queries_), "vkCreateQueryPool");
  queryCount_ = count;
}

void Commands::begin() {
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vkCheck(vkBeginCommandBuffer(cmd_, &begin), "vkBeginCommandBuffer");
}

void Commands::copy(VkBuffer src, VkBuffer dst, const VkBufferCopy &region) {
  vkCmdCopyBuffer(cmd_, src, dst, 1, &region);
}

void Commands::barrier(VkPipelineStageFlags src, VkAccessFlags srcAccess, VkPipelineStageFlags dst,
                       VkAccessFlags dstAccess) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = srcAccess;
  b.dstAccessMask = dstAccess;
  vkCmdPipelineBarrier(cmd_, src, dst, 0, 1, &b, 0, nullptr, 0, nullptr);
}

void Commands::dispatch(VkPipeline pipeline, VkPipelineLayout layout, VkDescriptorSet set,
                        std::span<const uint32_t> pushed, uint32_t x, uint32_t y, uint32_t z) {
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, nullptr);
  if (!pushed.empty())
    vkCmdPushConstants(cmd_, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       static_cast<uint32_t>(pushed.size_bytes()), pushed.data());
  vkCmdDispatch(cmd_, x, y, z);
}

void Commands::resetTimestamps() {
  written_ = 0;
  if (timed_)
    vkCmdResetQueryPool(cmd_, queries_, 0, queryCount_);
}

void Commands::timestamp(VkPipelineStageFlagBits stage) {
  if (timed_)
    vkCmdWriteTimestamp(cmd_, stage, queries_, written_++);
}

void Commands::submit() {
  vkCheck(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  VkSubmitInfo submitInfo{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submitInfo.commandBufferCount = 1;
  submitInfo.pCommandBuffers = &cmd_;
  vkCheck(vkResetFences(device_, 1, &fence_), "vkResetFences");
  vkCheck(vkQueueSubmit(queue_, 1, &submitInfo, fence_), "vkQueueSubmit");
  vkCheck(vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX), "vkWaitForFences");
}

std::vector<uint64_t> Commands::readTimestamps() const {
  std::vector<uint64_t> ticks(written_);
  if (written_ > 0)
    vkCheck(vkGetQueryPoolResults(device_, queries_, 0, written_, ticks.size() * 8, ticks.data(), 8,
                                  VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
            "vkGetQueryPoolResults");
  return ticks;
}

} // namespace spire
