// Runtime internals shared by the runtime's sources.
#pragma once

#include "spire/Runtime.h"
#include "spire/bundle_generated.h"

#include <vulkan/vulkan.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace spire {

// Throws Error(Device) naming the call and its result, e.g.
// "vkAllocateMemory failed: VK_ERROR_OUT_OF_DEVICE_MEMORY (-2)".
void vkCheck(VkResult result, const char *call);
const char *vkResultName(VkResult result);

// A device's subgroup properties; a Vulkan 1.0 device, which reports none,
// as subgroups of one lane with no operations.
VkPhysicalDeviceSubgroupProperties subgroupProperties(VkPhysicalDevice device);

// Whether a manifest's list of bindings (absent: empty) holds binding `b`.
inline bool listsBinding(const flatbuffers::Vector<uint32_t> *bindings, size_t b) {
  return bindings && std::find(bindings->begin(), bindings->end(), b) != bindings->end();
}

struct Bundle::Impl {
  std::string source;                 // file name or "<memory>", for messages
  std::vector<uint8_t> owned;         // empty when borrowing
  const uint8_t *data = nullptr;
  size_t size = 0;
  const bundle::Model *manifest = nullptr;
  const uint8_t *weights = nullptr; // in the file, or generatedWeights
  uint64_t weightsSize = 0;
  std::vector<uint8_t> generatedWeights; // a seeded bundle's blob, made at load
  uint64_t checksum = 0; // the header's: names the bundle in the pipeline cache

  std::string name;
  int64_t batch = -1;
  std::vector<TensorInfo> inputs, outputs;
  std::vector<StageInfo> stages;
  std::vector<uint32_t> placement;
  TargetDescription target;
  std::vector<SizeSymbol> sizes;
};

struct Context::Impl {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  bool validation = false;
  bool stagedUploads = false;
  bool untrusted = false;
  std::string pipelineCacheDir; // empty: no on-disk pipeline cache
  std::vector<VkPhysicalDevice> physical;
  std::vector<DeviceInfo> devices;

  mutable std::mutex mutex;
  std::vector<std::string> messages; // validation messages, in order

  size_t messageCount() const;
  // Throws if validation reported anything after the first `seen` messages.
  void throwIfNewMessages(size_t seen) const;
  ~Impl();
};

} // namespace spire
