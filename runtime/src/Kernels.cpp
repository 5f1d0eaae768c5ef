// Shader modules, layouts and pipelines, and the device capabilities the
// kernels need (subgroup lanes, descriptors per stage).
#include "Kernels.h"

#include "ShaderCheck.h"

#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>

namespace spire {

namespace fb = spire::bundle;

// Whether the kernel takes size symbols as specialization constants.
static bool specializes(const fb::Kernel &kernel) {
  return kernel.spec_constants() && kernel.spec_constants()->size() > 0;
}

VkDescriptorType descriptorType(const fb::Kernel &kernel, size_t b) {
  return listsBinding(kernel.texel_bindings(), b) ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                                  : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

// Refused before any pipeline exists.
void checkSubgroups(const Device &device, uint32_t apiVersion, const fb::Model &manifest) {
  uint32_t needed = 0;
  for (const fb::Kernel *k : *manifest.kernels())
    needed = std::max(needed, k->subgroup_lanes());
  if (needed == 0)
    return;
  const std::string &name = device.info.name;
  const std::string fix = "; recompile with `spire compile --broadcast-lanes 1` for this device";
  if (apiVersion < VK_API_VERSION_1_1)
    throw Error(Error::Kind::Device, "device '" + name +
                                         "' is Vulkan 1.0; this bundle's kernels use subgroup "
                                         "operations (Vulkan 1.1)" + fix);
  VkPhysicalDeviceSubgroupProperties subgroups = subgroupProperties(device.physical);
  constexpr VkSubgroupFeatureFlags ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
  if (!(subgroups.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ||
      (subgroups.supportedOperations & ops) != ops)
    throw Error(Error::Kind::Device, "device '" + name +
                                         "' has no subgroup shuffle in compute shaders" + fix);
  if (subgroups.subgroupSize < needed) {
    uint32_t fits = 1;
    while (fits * 2 <= subgroups.subgroupSize)
      fits *= 2;
    throw Error(Error::Kind::Device,
                "device '" + name + "' has subgroups of " +
                    std::to_string(subgroups.subgroupSize) + " lanes; this bundle's kernels share "
                    "loads across " + std::to_string(needed) +
                    "; recompile with `spire compile --broadcast-lanes " + std::to_string(fits) +
                    "` for this device");
  }
}

Kernels::Kernels(const Device &device, Context::Impl &context, const fb::Model &manifest,
                 VkPipelineCache cache)
    : Kernels(device.device) {
  size_t seenMessages = context.messageCount();
  const VkPhysicalDeviceLimits &limits = device.limits;
  size_t count = manifest.kernels()->size();
  // Bindings per kernel, from its dispatches (the reader checked they agree).
  std::vector<uint32_t> bindings(count, 0);
  for (const fb::Stage *stage : *manifest.stages())
    for (const fb::Dispatch *d : *stage->dispatches())
      bindings[d->kernel()] = d->bindings()->size();
  for (size_t k = 0; k < count; ++k) {
    const fb::Kernel *kernel = manifest.kernels()->Get(k);
    if (context.untrusted)
      checkKernelStrictly(*kernel, k, bindings[k]);
    VkShaderModuleCreateInfo shader{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    shader.codeSize = kernel->spirv()->size() * 4;
    shader.pCode = kernel->spirv()->data();
    shaders_.push_back(VK_NULL_HANDLE);
    auto start = std::chrono::steady_clock::now();
    vkCheck(vkCreateShaderModule(device_, &shader, nullptr, &shaders_.back()),
            "vkCreateShaderModule");
    createMs_ +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    // Stop at a module the validation layer rejects, before a driver
    // compiles it into a pipeline.
    context.throwIfNewMessages(seenMessages);

    std::vector<VkDescriptorSetLayoutBinding> slots(bindings[k]);
    uint32_t texels = 0;
    for (uint32_t i = 0; i < bindings[k]; ++i) {
      slots[i] = {i, descriptorType(*kernel, i), 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
      texels += slots[i].descriptorType == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    }
    // Uniform texel buffers count against the sampled-image limits.
    if (bindings[k] - texels > limits.maxPerStageDescriptorStorageBuffers ||
        texels > limits.maxPerStageDescriptorSampledImages)
      throw Error(Error::Kind::Device,
                  "kernel '" + kernel->name()->str() + "' binds " +
                      std::to_string(bindings[k] - texels) + " storage and " +
                      std::to_string(texels) + " texel buffers; device '" + device.info.name +
                      "' allows " + std::to_string(limits.maxPerStageDescriptorStorageBuffers) +
                      " and " + std::to_string(limits.maxPerStageDescriptorSampledImages));
    VkDescriptorSetLayoutCreateInfo setInfo{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    setInfo.bindingCount = bindings[k];
    setInfo.pBindings = slots.data();
    setLayouts_.push_back(VK_NULL_HANDLE);
    vkCheck(vkCreateDescriptorSetLayout(device_, &setInfo, nullptr, &setLayouts_.back()),
            "vkCreateDescriptorSetLayout");

    VkPipelineLayoutCreateInfo layoutInfo{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    layoutInfo.setLayoutCount = 1;
    layoutInfo.pSetLayouts = &setLayouts_.back();
    // The reader checked the count against the 128 bytes every device has.
    VkPushConstantRange pushed{VK_SHADER_STAGE_COMPUTE_BIT, 0, 4 * kernel->push_constants()};
    layoutInfo.pushConstantRangeCount = kernel->push_constants() > 0 ? 1 : 0;
    layoutInfo.pPushConstantRanges = &pushed;
    layouts_.push_back(VK_NULL_HANDLE);
    vkCheck(vkCreatePipelineLayout(device_, &layoutInfo, nullptr, &layouts_.back()),
            "vkCreatePipelineLayout");
  }
  pipelines_.assign(count, VK_NULL_HANDLE);
  specialized_.resize(count);
  // A specialized kernel's pipelines wait for the values of a run.
  std::vector<Job> jobs;
  for (size_t k = 0; k < count; ++k)
    if (!specializes(*manifest.kernels()->Get(k)))
      jobs.push_back({k, {}, &pipelines_[k]});
  auto start = std::chrono::steady_clock::now();
  VkResult result = createPipelines(manifest, jobs, cache);
  createMs_ +=
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  vkCheck(result, "vkCreateComputePipelines");
  current_ = pipelines_;
}

Kernels::Created Kernels::specialize(const fb::Model &manifest, size_t first, size_t last,
                                     const RunSizes &run, VkPipelineCache cache) {
  std::vector<Job> jobs;
  for (size_t s = first; s <= last; ++s)
    for (size_t i = 0; i < manifest.stages()->Get(s)->dispatches()->size(); ++i) {
      if (!run.stages[s].runs[i])
        continue; // another size class's kernel serves these sizes
      size_t k = manifest.stages()->Get(s)->dispatches()->Get(i)->kernel();
      const fb::Kernel &kernel = *manifest.kernels()->Get(k);
      if (!specializes(kernel))
        continue;
      // The reader checked the indices, and that every value fits an int32.
      std::vector<int32_t> spec;
      for (uint32_t symbol : *kernel.spec_constants())
        spec.push_back(static_cast<int32_t>(run.values[symbol]));
      auto [it, made] = specialized_[k].try_emplace(std::move(spec), VK_NULL_HANDLE);
      if (made)
        jobs.push_back({k, it->first, &it->second});
      current_[k] = it->second;
    }
  if (jobs.empty())
    return {};
  auto start = std::chrono::steady_clock::now();
  VkResult result = createPipelines(manifest, jobs, cache);
  std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  Created created{jobs.size(), took.count()};
  // A failed pipeline leaves no entry behind, so a later run tries again.
  for (const Job &job : jobs) {
    if (*job.out == VK_NULL_HANDLE)
      specialized_[job.kernel].erase(job.spec);
    else
      current_[job.kernel] = *job.out;
  }
  vkCheck(result, "vkCreateComputePipelines");
  return created;
}

// The driver compiles each pipeline; do that on every core (pipelines may
// be created from several threads at once, and a pipeline cache is
// internally synchronized).
VkResult Kernels::createPipelines(const fb::Model &manifest, const std::vector<Job> &jobs,
                                  VkPipelineCache cache) {
  size_t count = jobs.size();
  std::vector<VkResult> results(count, VK_SUCCESS);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t j = next++; j < count; j = next++) {
      const Job &job = jobs[j];
      // SpecId i is the 32-bit int at byte 4 i.
      std::vector<VkSpecializationMapEntry> entries;
      for (uint32_t i = 0; i < job.spec.size(); ++i)
        entries.push_back({i, 4 * i, 4});
      VkSpecializationInfo specialization{static_cast<uint32_t>(entries.size()), entries.data(),
                                          job.spec.size() * 4, job.spec.data()};
      VkComputePipelineCreateInfo pipe{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
      pipe.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
      pipe.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
      pipe.stage.module = shaders_[job.kernel];
      pipe.stage.pName = manifest.kernels()->Get(job.kernel)->entry_point()->c_str();
      pipe.stage.pSpecializationInfo = job.spec.empty() ? nullptr : &specialization;
      pipe.layout = layouts_[job.kernel];
      results[j] = vkCreateComputePipelines(device_, cache, 1, &pipe, nullptr, job.out);
    }
  };
  std::vector<std::thread> threads;
  size_t cores = std::max(1u, std::thread::hardware_concurrency());
  size_t helpers = std::min(count, cores) > 1 ? std::min(count, cores) - 1 : 0;
  try {
    while (threads.size() < helpers)
      threads.emplace_back(work);
  } catch (const std::system_error &) {
    // Fewer threads than cores: this one does the rest.
  }
  work();
  for (std::thread &t : threads)
    t.join();
  for (VkResult r : results)
    if (r != VK_SUCCESS)
      return r;
  return VK_SUCCESS;
}

Kernels::~Kernels() {
  for (VkPipeline p : pipelines_)
    vkDestroyPipeline(device_, p, nullptr);
  for (const auto &pipelines : specialized_)
    for (const auto &[spec, p] : pipelines)
      vkDestroyPipeline(device_, p, nullptr);
  for (VkPipelineLayout l : layouts_)
    vkDestroyPipelineLayout(device_, l, nullptr);
  for (VkDescriptorSetLayout l : setLayouts_)
    vkDestroyDescriptorSetLayout(device_, l, nullptr);
  for (VkShaderModule m : shaders_)
    vkDestroyShaderModule(device_, m, nullptr);
}

} // namespace spire
