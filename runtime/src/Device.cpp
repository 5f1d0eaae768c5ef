// Opening a Model's device: capability checks, then one compute queue.
#include "Device.h"

#include "Kernels.h"

namespace spire {

Device::Device(Context::Impl &context, uint32_t index, const bundle::Model &manifest) {
  if (index >= context.physical.size())
    throw Error(Error::Kind::Usage, "device " + std::to_string(index) + " does not exist; " +
                                        std::to_string(context.physical.size()) + " device(s) found");
  info = context.devices[index];
  physical = context.physical[index];
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(physical, &props);
  limits = props.limits;
  vkGetPhysicalDeviceMemoryProperties(physical, &memory);
  VkDeviceSize alignment = std::max(limits.minStorageBufferOffsetAlignment,
                                    limits.minTexelBufferOffsetAlignment);
  if (alignment > 256)
    throw Error(Error::Kind::Device, "device '" + info.name + "' needs buffer offsets aligned to " +
                                         std::to_string(alignment) + " bytes; bundles align them to 256");
  checkSubgroups(*this, props.apiVersion, manifest);

  uint32_t familyCount = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &familyCount, nullptr);
  std::vector<VkQueueFamilyProperties> families(familyCount);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &familyCount, families.data());
  queueFamily = UINT32_MAX;
  for (uint32_t i = 0; i < familyCount && queueFamily == UINT32_MAX; ++i)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
      queueFamily = i;
  if (queueFamily == UINT32_MAX)
    throw Error(Error::Kind::Device, "device '" + info.name + "' has no compute queue");
  timestamps = families[queueFamily].timestampValidBits > 0 && limits.timestampPeriod > 0;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo queueInfo{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queueInfo.queueFamilyIndex = queueFamily;
  queueInfo.queueCount = 1;
  queueInfo.pQueuePriorities = &priority;
  VkDeviceCreateInfo deviceInfo{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  deviceInfo.queueCreateInfoCount = 1;
  deviceInfo.pQueueCreateInfos = &queueInfo;
  // An untrusted bundle's kernels get out-of-range accesses bounded to
  // their bindings (discarded stores, zero or in-range loads).
  VkPhysicalDeviceFeatures features{};
  if (context.untrusted) {
    VkPhysicalDeviceFeatures available;
    vkGetPhysicalDeviceFeatures(physical, &available);
    if (!available.robustBufferAccess)
      throw Error(Error::Kind::Device, "device '" + info.name + "' lacks robustBufferAccess, which "
                                       "running an untrusted bundle needs");
    features.robustBufferAccess = VK_TRUE;
    deviceInfo.pEnabledFeatures = &features;
  }
  vkCheck(vkCreateDevice(physical, &deviceInfo, nullptr, &device), "vkCreateDevice");
  vkGetDeviceQueue(device, queueFamily, 0, &queue);
}

Device::~Device() {
  if (device)
    vkDestroyDevice(device, nullptr);
}

} // namespace spire
