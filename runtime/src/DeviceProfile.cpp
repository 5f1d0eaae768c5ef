// A device in #spire.target's terms, and the built-in profile that fits it
// (the compiler's lib/Codegen/Targets/ names the same families).
#include "Internal.h"

#include <cstring>

namespace spire {
namespace {

// By PCI vendor id; Mesa's CPU device under its own vendor id or, from
// older Mesa, under its CPU's.
std::string fittingProfile(uint32_t vendor, const std::string &deviceName) {
  if (vendor == 0x10005 || deviceName.rfind("llvmpipe", 0) == 0)
    return "lavapipe";
  switch (vendor) {
  case 0x10DE:
    return "nvidia";
  case 0x1002:
    return "amd";
  case 0x8086:
    return "intel";
  case 0x13B5:
    return "arm-mali";
  case 0x5143:
    return "qualcomm-adreno";
  default:
    return "generic";
  }
}

bool hasExtension(VkPhysicalDevice device, const char *name) {
  uint32_t count = 0;
  vkCheck(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr),
          "vkEnumerateDeviceExtensionProperties");
  std::vector<VkExtensionProperties> extensions(count);
  vkCheck(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, extensions.data()),
          "vkEnumerateDeviceExtensionProperties");
  return std::any_of(extensions.begin(), extensions.end(), [&](const VkExtensionProperties &e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

} // namespace

DeviceProfile deviceProfile(const Context &context, uint32_t deviceIndex) {
  const std::vector<VkPhysicalDevice> &physical = context.impl().physical;
  if (deviceIndex >= physical.size())
    throw Error(Error::Kind::Usage, "device " + std::to_string(deviceIndex) + ": there are " +
                                        std::to_string(physical.size()) +
                                        " device(s); see `spire devices`");
  VkPhysicalDevice device = physical[deviceIndex];
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(device, &props);
  // shaderFloat16: core in Vulkan 1.2, an extension before.
  VkPhysicalDeviceShaderFloat16Int8Features f16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  if (props.apiVersion >= VK_API_VERSION_1_2 ||
      hasExtension(device, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME)) {
    VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f16};
    vkGetPhysicalDeviceFeatures2(device, &features);
  }
  const VkPhysicalDeviceLimits &limits = props.limits;
  DeviceProfile profile{props.vendorID, props.deviceName, props.driverVersion, {}};
  // vector_width: a vec4 load or store, the widest a kernel issues on any device.
  profile.description = {fittingProfile(props.vendorID, profile.deviceName),
                         subgroupProperties(device).subgroupSize,
                         limits.maxComputeWorkGroupInvocations,
                         limits.maxComputeSharedMemorySize,
                         limits.maxTexelBufferElements,
                         f16.shaderFloat16 == VK_TRUE,
                         4};
  return profile;
}

std::string kernelCacheWarning(const Bundle &bundle, const DeviceProfile &device) {
  constexpr size_t kLlvmpipeKernels = 1024;
  if (device.description.name != "lavapipe" || bundle.kernelCount() <= kLlvmpipeKernels)
    return {};
  return "bundle has " + std::to_string(bundle.kernelCount()) + " kernels, and '" +
         device.deviceName + "' keeps " + std::to_string(kLlvmpipeKernels) +
         " compiled: every run compiles some of them again, which can make it several times "
         "slower";
}

} // namespace spire
