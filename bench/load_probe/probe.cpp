// What one scattered f32 load costs on the default Vulkan device: from a
// storage buffer (what Spire's kernels use), from a uniform texel buffer, and
// no load at all (the same index math), in one run. Backs a measurement in
// docs/PERFORMANCE.md; not part of the build. From this folder:
//
//   for v in SSBO TEXEL NONE; do
//     glslc -fshader-stage=compute -O -D$v probe.comp -o $v.spv; done
//   g++ -O2 -std=c++17 probe.cpp -o probe -lvulkan && ./probe
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>
#include <vulkan/vulkan.h>
#define CK(x)                                                                  \
  do {                                                                         \
    VkResult r = (x);                                                          \
    if (r) {                                                                   \
      std::printf("%s failed %d\n", #x, r);                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)
static std::vector<uint32_t> readSpv(const char *p) {
  std::ifstream f(p, std::ios::binary | std::ios::ate);
  size_t n = f.tellg();
  f.seekg(0);
  std::vector<uint32_t> v(n / 4);
  f.read((char *)v.data(), n);
  return v;
}
int main() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ii{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ii.pApplicationInfo = &app;
  VkInstance inst;
  CK(vkCreateInstance(&ii, nullptr, &inst));
  uint32_t n = 1;
  VkPhysicalDevice pd;
  vkEnumeratePhysicalDevices(inst, &n, &pd);
  float prio = 1;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueCount = 1;
  qi.pQueuePriorities = &prio;
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  VkDevice dev;
  CK(vkCreateDevice(pd, &di, nullptr, &dev));
  VkQueue q;
  vkGetDeviceQueue(dev, 0, 0, &q);
  const uint32_t N = 1u << 20, G = 65536;
  auto buffer = [&](VkDeviceSize size, VkBufferUsageFlags use, VkBuffer &b,
                    VkDeviceMemory &m, void **map) {
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = size;
    bi.usage = use;
    CK(vkCreateBuffer(dev, &bi, nullptr, &b));
    VkMemoryRequirements rq;
    vkGetBufferMemoryRequirements(dev, b, &rq);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    uint32_t t = 0;
    while (!((rq.memoryTypeBits >> t) & 1) ||
           !(mp.memoryTypes[t].propertyFlags &
             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
      ++t;
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = rq.size;
    ai.memoryTypeIndex = t;
    CK(vkAllocateMemory(dev, &ai, nullptr, &m));
    CK(vkBindBufferMemory(dev, b, m, 0));
    CK(vkMapMemory(dev, m, 0, VK_WHOLE_SIZE, 0, map));
  };
  VkBuffer ob, ib;
  VkDeviceMemory om, im;
  void *op, *ip;
  buffer(G * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, ob, om, &op);
  buffer(N * 4,
         VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
             VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT,
         ib, im, &ip);
  for (uint32_t i = 0; i < N; ++i)
    ((float *)ip)[i] = float(i % 7);
  VkBufferViewCreateInfo vi{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  vi.buffer = ib;
  vi.format = VK_FORMAT_R32_SFLOAT;
  vi.range = VK_WHOLE_SIZE;
  VkBufferView view;
  CK(vkCreateBufferView(dev, &vi, nullptr, &view));
  for (int variant = 0; variant < 3; ++variant) {
    int texel = variant == 1;
    VkDescriptorType t1 = texel ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    VkDescriptorSetLayoutBinding bs[2] = {
        {0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT,
         nullptr},
        {1, t1, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr}};
    VkDescriptorSetLayoutCreateInfo li{
        VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    li.bindingCount = 2;
    li.pBindings = bs;
    VkDescriptorSetLayout sl;
    CK(vkCreateDescriptorSetLayout(dev, &li, nullptr, &sl));
    VkPipelineLayoutCreateInfo pli{
        VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pli.setLayoutCount = 1;
    pli.pSetLayouts = &sl;
    VkPipelineLayout pl;
    CK(vkCreatePipelineLayout(dev, &pli, nullptr, &pl));
    auto code = readSpv(variant == 2 ? "NONE.spv"
                        : texel      ? "TEXEL.spv"
                                     : "SSBO.spv");
    VkShaderModuleCreateInfo si{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    si.codeSize = code.size() * 4;
    si.pCode = code.data();
    VkShaderModule sm;
    CK(vkCreateShaderModule(dev, &si, nullptr, &sm));
    VkComputePipelineCreateInfo pci{
        VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    pci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pci.stage.module = sm;
    pci.stage.pName = "main";
    pci.layout = pl;
    VkPipeline pipe;
    CK(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &pci, nullptr, &pipe));
    VkDescriptorPoolSize ps[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2},
                                  {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 1}};
    VkDescriptorPoolCreateInfo dpi{
        VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    dpi.maxSets = 1;
    dpi.poolSizeCount = 2;
    dpi.pPoolSizes = ps;
    VkDescriptorPool dp;
    CK(vkCreateDescriptorPool(dev, &dpi, nullptr, &dp));
    VkDescriptorSetAllocateInfo dai{
        VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    dai.descriptorPool = dp;
    dai.descriptorSetCount = 1;
    dai.pSetLayouts = &sl;
    VkDescriptorSet ds;
    CK(vkAllocateDescriptorSets(dev, &dai, &ds));
    VkDescriptorBufferInfo obi{ob, 0, VK_WHOLE_SIZE}, ibi{ib, 0, VK_WHOLE_SIZE};
    VkWriteDescriptorSet w[2] = {{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET},
                                 {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET}};
    w[0].dstSet = ds;
    w[0].dstBinding = 0;
    w[0].descriptorCount = 1;
    w[0].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w[0].pBufferInfo = &obi;
    w[1].dstSet = ds;
    w[1].dstBinding = 1;
    w[1].descriptorCount = 1;
    w[1].descriptorType = t1;
    if (texel)
      w[1].pTexelBufferView = &view;
    else
      w[1].pBufferInfo = &ibi;
    vkUpdateDescriptorSets(dev, 2, w, 0, nullptr);
    VkCommandPoolCreateInfo cpi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    VkCommandPool cp;
    CK(vkCreateCommandPool(dev, &cpi, nullptr, &cp));
    VkCommandBufferAllocateInfo cai{
        VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    cai.commandPool = cp;
    cai.commandBufferCount = 1;
    VkCommandBuffer cb;
    CK(vkAllocateCommandBuffers(dev, &cai, &cb));
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    CK(vkBeginCommandBuffer(cb, &bi));
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pl, 0, 1, &ds,
                            0, nullptr);
    vkCmdDispatch(cb, G / 64, 1, 1);
    CK(vkEndCommandBuffer(cb));
    double best = 1e9;
    float check = 0;
    for (int it = 0; it < 6; ++it) {
      VkSubmitInfo sub{VK_STRUCTURE_TYPE_SUBMIT_INFO};
      sub.commandBufferCount = 1;
      sub.pCommandBuffers = &cb;
      auto t0 = std::chrono::steady_clock::now();
      CK(vkQueueSubmit(q, 1, &sub, VK_NULL_HANDLE));
      CK(vkQueueWaitIdle(q));
      double ms = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
      if (it)
        best = std::min(best, ms);
      check = ((float *)op)[12345];
    }
    double loads = double(G) * 256;
    std::printf("%-22s best %.2f ms for %.1fM loads: %.2f ns per load "
                "(o[12345] = %g)\n",
                variant == 2 ? "no load (index math)"
                : texel      ? "uniform texel buffer"
                             : "storage buffer",
                best, loads / 1e6, best * 1e6 / loads, check);
  }
}
