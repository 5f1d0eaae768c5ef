// A bundle's kernels on a device: a shader module, descriptor set layout,
// pipeline layout and compute pipeline each, made once when a Model loads;
// a kernel that takes size symbols as specialization constants gets its
// pipelines later, one per distinct value the runs meet.
#pragma once

#include "Device.h"
#include "Sizes.h"

#include <map>
#include <span>

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

  // Kernel k's pipeline; for a specialized kernel, the one for the values
  // of the latest specialize().
  VkPipeline pipeline(size_t k) const { return current_[k]; }
  VkPipelineLayout layout(size_t k) const { return layouts_[k]; }
  VkDescriptorSetLayout setLayout(size_t k) const { return setLayouts_[k]; }
  // Wall time spent creating shader modules and pipelines at load.
  double createMs() const { return createMs_; }

  struct Created {
    size_t pipelines = 0;
    double ms = 0;
  };
  // Makes pipeline(k) of every specialized kernel that stages [first, last]
  // dispatch at the sizes `run` holds the one for its values, creating
  // those not made before; returns what it created and how long that took.
  Created specialize(const bundle::Model &manifest, size_t first, size_t last,
                     const RunSizes &run, VkPipelineCache cache);

private:
  // A pipeline to create: kernel `kernel` with SpecId i = spec[i], into `out`.
  struct Job {
    size_t kernel;
    std::vector<int32_t> spec;
    VkPipeline *out;
  };

  // Delegated to first, so that a throw in the public constructor runs the
  // destructor and frees what was already made.
  explicit Kernels(VkDevice device) : device_(device) {}
  // The first failure, or VK_SUCCESS; a failed job's *out stays null.
  VkResult createPipelines(const bundle::Model &manifest, const std::vector<Job> &jobs,
                           VkPipelineCache cache);

  VkDevice device_ = VK_NULL_HANDLE;
  std::vector<VkShaderModule> shaders_;
  std::vector<VkDescriptorSetLayout> setLayouts_;
  std::vector<VkPipelineLayout> layouts_;
  std::vector<VkPipeline> pipelines_; // null for a specialized kernel
  // Per specialized kernel, its pipeline for each tuple of SpecId values.
  std::vector<std::map<std::vector<int32_t>, VkPipeline>> specialized_;
  std::vector<VkPipeline> current_; // what pipeline(k) returns
  double createMs_ = 0;
};

} // namespace spire
