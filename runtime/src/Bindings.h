// A stage's descriptor sets, one per dispatch, and the texel buffer views
// they hold. Arena offsets scale with the batch, so the sets are rewritten
// whenever the batch changes.
#pragma once

#include "Kernels.h"

namespace spire {

class Bindings {
public:
  Bindings() = default;
  Bindings(const Bindings &) = delete;
  Bindings &operator=(const Bindings &) = delete;
  ~Bindings();

  // Points dispatch i's set at its regions for `batch` samples: arena
  // regions in `arena` (offsets and sizes times the batch), weight regions
  // in `weights`. Makes the sets on first use. Throws Error(Device) for a
  // binding over the device's storage or texel buffer range.
  void write(const Device &device, const Kernels &kernels, const bundle::Model &manifest,
             const bundle::Stage &stage, int64_t batch, VkBuffer arena, VkBuffer weights);
  VkDescriptorSet set(size_t i) const { return sets_[i]; }

private:
  void allocate(const Kernels &kernels, const bundle::Model &manifest, const bundle::Stage &stage);

  VkDevice device_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  std::vector<VkDescriptorSet> sets_;
  std::vector<VkBufferView> views_; // of the texel bindings, for the current batch
};

} // namespace spire
