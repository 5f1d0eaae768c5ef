// A Vulkan device opened for one Model: its compute queue, and the limits
// and memory types of its physical device that the other parts consult.
#pragma once

#include "Internal.h"

namespace spire {

struct Device {
  DeviceInfo info;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queueFamily = 0;
  VkPhysicalDeviceLimits limits{};
  VkPhysicalDeviceMemoryProperties memory{};
  bool timestamps = false; // the queue family writes timestamps

  // Opens device `index`, refusing one that `manifest`'s kernels cannot run
  // on, before any object exists on it.
  Device(Context::Impl &context, uint32_t index, const bundle::Model &manifest);
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;
  ~Device();
};

} // namespace spire
