// The Vulkan instance, device discovery, and validation-message capture.
#include "Internal.h"
#include "PipelineCache.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace spire {

const char *vkResultName(VkResult result) {
  switch (result) {
#define SPIRE_RESULT(name)                                                                         \
  case name:                                                                                       \
    return #name;
    SPIRE_RESULT(VK_SUCCESS)
    SPIRE_RESULT(VK_NOT_READY)
    SPIRE_RESULT(VK_TIMEOUT)
    SPIRE_RESULT(VK_INCOMPLETE)
    SPIRE_RESULT(VK_ERROR_OUT_OF_HOST_MEMORY)
    SPIRE_RESULT(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    SPIRE_RESULT(VK_ERROR_INITIALIZATION_FAILED)
    SPIRE_RESULT(VK_ERROR_DEVICE_LOST)
    SPIRE_RESULT(VK_ERROR_MEMORY_MAP_FAILED)
    SPIRE_RESULT(VK_ERROR_LAYER_NOT_PRESENT)
    SPIRE_RESULT(VK_ERROR_EXTENSION_NOT_PRESENT)
    SPIRE_RESULT(VK_ERROR_FEATURE_NOT_PRESENT)
    SPIRE_RESULT(VK_ERROR_INCOMPATIBLE_DRIVER)
    SPIRE_RESULT(VK_ERROR_TOO_MANY_OBJECTS)
    SPIRE_RESULT(VK_ERROR_FORMAT_NOT_SUPPORTED)
    SPIRE_RESULT(VK_ERROR_FRAGMENTED_POOL)
    SPIRE_RESULT(VK_ERROR_OUT_OF_POOL_MEMORY)
    SPIRE_RESULT(VK_ERROR_INVALID_SHADER_NV)
    SPIRE_RESULT(VK_ERROR_UNKNOWN)
#undef SPIRE_RESULT
  default:
    return "VK_ERROR_(unnamed)";
  }
}

VkPhysicalDeviceSubgroupProperties subgroupProperties(VkPhysicalDevice device) {
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(device, &props);
  VkPhysicalDeviceSubgroupProperties subgroups{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  subgroups.subgroupSize = 1;
  if (props.apiVersion >= VK_API_VERSION_1_1) {
    VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &subgroups};
    vkGetPhysicalDeviceProperties2(device, &props2);
  }
  return subgroups;
}

void vkCheck(VkResult result, const char *call) {
  if (result != VK_SUCCESS)
    throw Error(Error::Kind::Device, std::string(call) + " failed: " + vkResultName(result) +
                                         " (" + std::to_string(static_cast<int>(result)) + ")");
}

static VKAPI_ATTR VkBool32 VKAPI_CALL onMessage(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT,
                                                const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                void *user) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    auto *impl = static_cast<Context::Impl *>(user);
    std::lock_guard<std::mutex> lock(impl->mutex);
    impl->messages.push_back(data && data->pMessage ? data->pMessage : "(no message)");
  }
  return VK_FALSE;
}

size_t Context::Impl::messageCount() const {
  std::lock_guard<std::mutex> lock(mutex);
  return messages.size();
}

void Context::Impl::throwIfNewMessages(size_t seen) const {
  std::lock_guard<std::mutex> lock(mutex);
  if (messages.size() > seen)
    throw Error(Error::Kind::Device, "Vulkan validation: " + messages[seen]);
}

Context::Impl::~Impl() {
  if (messenger) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy)
      destroy(instance, messenger, nullptr);
  }
  if (instance)
    vkDestroyInstance(instance, nullptr);
}

static DeviceKind kindOf(VkPhysicalDeviceType type) {
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
    return DeviceKind::DiscreteGpu;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
    return DeviceKind::IntegratedGpu;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
    return DeviceKind::VirtualGpu;
  case VK_PHYSICAL_DEVICE_TYPE_CPU:
    return DeviceKind::Cpu;
  default:
    return DeviceKind::Other;
  }
}

Context::Context(ContextOptions options) : impl_(std::make_unique<Impl>()) {
  const char *env = std::getenv("SPIRE_VALIDATION");
  const char *untrusted = std::getenv("SPIRE_UNTRUSTED");
  impl_->untrusted = options.untrusted || (untrusted && std::strcmp(untrusted, "1") == 0);
  // An untrusted kernel gets the full SPIR-V validator (the layer's) too:
  // drivers crash on modules that are well formed but invalid.
  impl_->validation = options.validation || (env && std::strcmp(env, "1") == 0) || impl_->untrusted;
  impl_->stagedUploads = options.stagedUploads;
  impl_->pipelineCacheDir = pipelineCacheDir(options.pipelineCache);

  std::vector<const char *> layers, extensions;
  if (impl_->validation) {
    uint32_t count = 0;
    vkEnumerateInstanceLayerProperties(&count, nullptr);
    std::vector<VkLayerProperties> available(count);
    vkEnumerateInstanceLayerProperties(&count, available.data());
    bool found = std::any_of(available.begin(), available.end(), [](const VkLayerProperties &l) {
      return std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
    });
    if (!found)
      throw Error(Error::Kind::Device, std::string(impl_->untrusted ? "an untrusted bundle's kernels need "
                                                                      "the SPIR-V validator of "
                                                                    : "validation requested but ") +
                                           "VK_LAYER_KHRONOS_validation, which is not installed "
                                           "(Debian: vulkan-validationlayers)");
    layers.push_back("VK_LAYER_KHRONOS_validation");
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "spire";
  app.pEngineName = "spire";
  app.apiVersion = VK_API_VERSION_1_1;
  VkDebugUtilsMessengerCreateInfoEXT messenger{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  messenger.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                              VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  messenger.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  messenger.pfnUserCallback = onMessage;
  messenger.pUserData = impl_.get();

  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &app;
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  // Also catch messages about instance creation itself.
  if (impl_->validation)
    info.pNext = &messenger;
  VkResult result = vkCreateInstance(&info, nullptr, &impl_->instance);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER)
    throw Error(Error::Kind::Device, "no Vulkan driver found (vkCreateInstance: "
                                     "VK_ERROR_INCOMPATIBLE_DRIVER); on Debian install "
                                     "mesa-vulkan-drivers for lavapipe");
  vkCheck(result, "vkCreateInstance");
  if (impl_->validation) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(impl_->instance, "vkCreateDebugUtilsMessengerEXT"));
    if (!create)
      throw Error(Error::Kind::Device, "VK_EXT_debug_utils is not available");
    vkCheck(create(impl_->instance, &messenger, nullptr, &impl_->messenger),
            "vkCreateDebugUtilsMessengerEXT");
  }

  uint32_t count = 0;
  vkCheck(vkEnumeratePhysicalDevices(impl_->instance, &count, nullptr),
          "vkEnumeratePhysicalDevices");
  impl_->physical.resize(count);
  vkCheck(vkEnumeratePhysicalDevices(impl_->instance, &count, impl_->physical.data()),
          "vkEnumeratePhysicalDevices");
  for (uint32_t i = 0; i < count; ++i) {
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(impl_->physical[i], &props);
    VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    std::string driverName;
    if (props.apiVersion >= VK_API_VERSION_1_2) {
      VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
      props2.pNext = &driver;
      vkGetPhysicalDeviceProperties2(impl_->physical[i], &props2);
      driverName = driver.driverName;
    }
    impl_->devices.push_back(
        {i, props.deviceName, kindOf(props.deviceType), driverName, props.apiVersion});
  }
}

Context::Context(Context &&) noexcept = default;
Context &Context::operator=(Context &&) noexcept = default;
Context::~Context() = default;

std::vector<DeviceInfo> Context::devices() const { return impl_->devices; }

uint32_t Context::defaultDevice() const {
  if (impl_->devices.empty())
    throw Error(Error::Kind::Device, "no Vulkan device found (on Debian, mesa-vulkan-drivers "
                                     "provides lavapipe, a Vulkan device on the CPU)");
  auto rank = [](DeviceKind k) {
    switch (k) {
    case DeviceKind::DiscreteGpu:
      return 0;
    case DeviceKind::IntegratedGpu:
      return 1;
    case DeviceKind::VirtualGpu:
      return 2;
    case DeviceKind::Cpu:
      return 3;
    case DeviceKind::Other:
      break;
    }
    return 4;
  };
  const DeviceInfo *best = &impl_->devices.front();
  for (const DeviceInfo &d : impl_->devices)
    if (rank(d.kind) < rank(best->kind))
      best = &d;
  return best->index;
}

std::vector<std::string> Context::validationMessages() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->messages;
}

} // namespace spire
