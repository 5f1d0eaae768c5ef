// A bundle's kernels on a device: a shader module, descriptor set layout,
// pipeline layout and compute pipeline each, made once when a Model loads.
#pragma once

#include "Device.h"

namespace spire {

// Binding `b` of `kernel`: a uniform texel buffer (an R32_SFLOAT view, or
// R32G32B32A32_SFLOAT for a vec4 one) or a storage buffer.
VkDescriptorType descriptorType(const bundle::Kernel &kernel, size_t b);

// Kernels share loads by subgroup broadcast from their first lanes; throws
// Error(Device) when `device` (of Vulkan `apiVersion`) cannot do that for
// `manifest`'s kernels, naming the `--broadcast-lanes` that would fit.
void checkSubgroups(const Device &device, uint32_t apiVersion, const bundle::Model &manifest);

class Kernels {
public:
  // Stops at the first Vulkan validation message `context` reports for a
  // shader module, before a driver compiles it; throws Error(Device) for a
  // kernel binding more buffers than the device allows. Pipelines are
  // created through `cache` when it is not VK_NULL_HANDLE.
  Kernels(const Device &device, Context::Impl &context, const bundle::Model &manifest,
          VkPipelineCache cache = VK_NULL_HANDLE);
  Kernels(const Kernels &) = delete;
  Kernels &operator=(const Kernels &) = delete;
  ~Kernels();

  VkPipeline pipeline(size_t k) const { return pipelines_[k]; }
  VkPipelineLayout layout(size_t k) const { return layouts_[k]; }
  VkDescriptorSetLayout setLayout(size_t k) const { return setLayouts_[k]; }
  // Wall time spent creating shader modules and pipelines.
  double createMs() const { return createMs_; }

private:
  // Delegated to first, so that a throw in the public constructor runs the
  // destructor and frees what was already made.
  explicit Kernels(VkDevice device) : device_(device) {}
  void createPipelines(const bundle::Model &manifest, VkPipelineCache cache);

  VkDevice device_ = VK_NULL_HANDLE;
  std::vector<VkShaderModule> shaders_;
  std::vector<VkDescriptorSetLayout> setLayouts_;
  std::vector<VkPipelineLayout> layouts_;
  std::vector<VkPipeline> pipelines_;
  double createMs_ = 0;
};

} // namespace spire
