// Descriptor pools, sets and texel buffer views of a stage's dispatches.
#include "Bindings.h"

namespace spire {

namespace fb = spire::bundle;

Bindings::~Bindings() {
  if (pool_)
    vkDestroyDescriptorPool(device_, pool_, nullptr);
  for (VkBufferView v : views_)
    vkDestroyBufferView(device_, v, nullptr);
}

void Bindings::allocate(const Kernels &kernels, const fb::Model &manifest, const fb::Stage &stage) {
  uint32_t sets = stage.dispatches()->size(), slots = 0, texels = 0;
  for (const fb::Dispatch *d : *stage.dispatches()) {
    const fb::Kernel *kernel = manifest.kernels()->Get(d->kernel());
    uint32_t t = kernel->texel_bindings() ? kernel->texel_bindings()->size() : 0;
    texels += t;
    slots += d->bindings()->size() - t;
  }
  VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max(slots, 1u)},
                                   {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, std::max(texels, 1u)}};
  VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  info.maxSets = std::max(sets, 1u);
  info.poolSizeCount = 2;
  info.pPoolSizes = sizes;
  vkCheck(vkCreateDescriptorPool(device_, &info, nullptr, &pool_), "vkCreateDescriptorPool");
  sets_.resize(sets);
  for (uint32_t i = 0; i < sets; ++i) {
    VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    alloc.descriptorPool = pool_;
    alloc.descriptorSetCount = 1;
    VkDescriptorSetLayout layout = kernels.setLayout(stage.dispatches()->Get(i)->kernel());
    alloc.pSetLayouts = &layout;
    vkCheck(vkAllocateDescriptorSets(device_, &alloc, &sets_[i]), "vkAllocateDescriptorSets");
  }
}

void Bindings::write(const Device &device, const Kernels &kernels, const fb::Model &manifest,
                     const fb::Stage &stage, int64_t batch, VkBuffer arena, VkBuffer weights) {
  device_ = device.device;
  const VkPhysicalDeviceLimits &limits = device.limits;
  if (!pool_)
    allocate(kernels, manifest, stage);
  else
    vkDeviceWaitIdle(device_);
  for (VkBufferView v : views_)
    vkDestroyBufferView(device_, v, nullptr);
  views_.clear();
  for (uint32_t i = 0; i < stage.dispatches()->size(); ++i) {
    const fb::Dispatch *d = stage.dispatches()->Get(i);
    const fb::Kernel *kernel = manifest.kernels()->Get(d->kernel());
    size_t count = d->bindings()->size();
    std::vector<VkDescriptorBufferInfo> infos(count);
    std::vector<VkBufferView> views(count, VK_NULL_HANDLE);
    std::vector<VkWriteDescriptorSet> writes(count);
    for (size_t b = 0; b < count; ++b) {
      const fb::Region *r = d->bindings()->Get(b);
      bool inArena = r->space() == fb::Space::Arena;
      VkDescriptorType type = descriptorType(*kernel, b);
      bool texel = type == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      bool vec4 = listsBinding(kernel->vec4_texel_bindings(), b);
      uint64_t texelBytes = vec4 ? 16 : 4;
      VkDeviceSize range = inArena ? r->size() * batch : r->size();
      uint64_t limit = texel ? uint64_t(limits.maxTexelBufferElements) * texelBytes
                             : limits.maxStorageBufferRange;
      if (range > limit)
        throw Error(Error::Kind::Device,
                    "a binding of layer '" + d->layer()->str() + "' needs " +
                        std::to_string(range) + " bytes, over this device's " +
                        (texel ? "maxTexelBufferElements x " + std::to_string(texelBytes) + " ("
                               : std::string("maxStorageBufferRange (")) +
                        std::to_string(limit) + ")" +
                        (inArena && r->size() <= limit
                             ? "; at most batch " + std::to_string(limit / r->size()) + " fits"
                             : std::string()) +
                        (texel ? (inArena && r->size() <= limit ? " or" : ";") +
                                     std::string(" recompile with `spire compile --no-texel-inputs`")
                               : ""));
      infos[b] = {inArena ? arena : weights, inArena ? r->offset() * batch : r->offset(), range};
      writes[b] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      writes[b].dstSet = sets_[i];
      writes[b].dstBinding = static_cast<uint32_t>(b);
      writes[b].descriptorCount = 1;
      writes[b].descriptorType = type;
      if (texel) {
        VkBufferViewCreateInfo view{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
        view.buffer = infos[b].buffer;
        view.format = vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
        view.offset = infos[b].offset;
        view.range = range;
        vkCheck(vkCreateBufferView(device_, &view, nullptr, &views[b]), "vkCreateBufferView");
        views_.push_back(views[b]);
        writes[b].pTexelBufferView = &views[b];
      } else {
        writes[b].pBufferInfo = &infos[b];
      }
    }
    vkUpdateDescriptorSets(device_, writes.size(), writes.data(), 0, nullptr);
  }
}

} // namespace spire
