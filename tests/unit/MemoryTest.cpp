// Buffers and staging on their own: allocation, the weights upload (direct
// and staged), checked arena sizes, and the staging layout of a run.
#include "DeviceSupport.h"

#include "Commands.h"
#include "Memory.h"

#include <catch2/catch.hpp>

#include <cstring>

using namespace spire;

namespace {

// `buffer`'s first `size` bytes, copied out through a host-visible buffer.
std::vector<uint8_t> readBack(const Device &device, Commands &commands, const Buffer &buffer,
                              VkDeviceSize size) {
  Buffer host = createBuffer(device, size, {kHostMemory}, true);
  commands.begin();
  commands.copy(buffer.buffer, host.buffer, {0, 0, size});
  commands.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                   VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  commands.submit();
  const uint8_t *bytes = static_cast<const uint8_t *>(host.mapped);
  return std::vector<uint8_t>(bytes, bytes + size);
}

} // namespace

TEST_CASE("memory_buffers_map_only_host_memory_asked_to", "[memory]") {
  test::OnDevice d;
  Buffer host = createBuffer(d.device, 100, {kHostMemory}, true);
  CHECK(host.mapped);
  CHECK(host.size == 100);
  CHECK_FALSE(createBuffer(d.device, 100, {kHostMemory}, false).mapped);
  // Moving hands the buffer over; the moved-from one frees nothing.
  Buffer moved = std::move(host);
  CHECK(moved.buffer);
  CHECK_FALSE(host.buffer);
  CHECK(d.context.validationMessages().empty());
}

TEST_CASE("memory_weights_upload_direct_and_staged_agree", "[memory]") {
  test::OnDevice d;
  Commands commands(d.device);
  const Bundle::Impl &b = d.bundle.impl();
  REQUIRE(b.weightsSize > 0);
  std::vector<uint8_t> expected(b.weights, b.weights + b.weightsSize);
  for (bool staged : {false, true}) {
    Buffer weights = uploadWeights(d.device, commands, b, staged);
    if (staged)
      CHECK_FALSE(weights.mapped);
    CHECK(readBack(d.device, commands, weights, b.weightsSize) == expected);
  }
  CHECK(d.context.validationMessages().empty());
}

TEST_CASE("memory_arena_size_scales_with_the_batch_checked", "[memory]") {
  test::OnDevice d;
  const bundle::Stage &stage = d.stage(0);
  REQUIRE(stage.arena_size() > 256);
  CHECK(arenaSize(stage, 0, 1) == stage.arena_size());
  CHECK(arenaSize(stage, 0, 3) == 3 * stage.arena_size());
  CHECK_THROWS_WITH(arenaSize(stage, 0, int64_t(1) << 62),
                    "batch 4611686018427387904 needs over 2^64 bytes of activations in stage 0");
  // Vulkan has no empty buffers: no arena is under 256 bytes.
  CHECK(arenaSize(stage, 0, 0) == 256);
}

TEST_CASE("memory_staging_holds_inputs_then_outputs", "[memory]") {
  test::OnDevice d;
  const bundle::Stage &first = d.stage(0), &last = d.stage(1);
  RunSizes sizes = evaluateSizes(d.bundle.impl(), {});
  StagingLayout io(first, last, sizes.stages[0], sizes.stages[1], 2);
  REQUIRE(first.inputs()->size() == 1);
  uint64_t image = first.inputs()->Get(0)->region()->size();
  CHECK(image == 3 * 32 * 32 * 4);
  CHECK(io.outputsAt == 2 * image);
  uint64_t outputs = 0;
  for (const bundle::Tensor *t : *last.outputs())
    outputs += t->region()->size();
  CHECK(io.size == io.outputsAt + 2 * outputs);

  Buffer staging = createBuffer(d.device, io.size, {kHostMemory}, true);
  Tensor x{{2, 3, 32, 32}, std::vector<float>(2 * 3072)};
  for (size_t i = 0; i < x.data.size(); ++i)
    x.data[i] = static_cast<float>(i);
  writeInputs(staging, io, {{"image", TensorView{x.shape, x.data.data(), x.data.size()}}});
  CHECK(std::memcmp(staging.mapped, x.data.data(), 2 * image) == 0);

  // What the device would leave behind the inputs comes back as tensors.
  std::vector<float> fc2(20);
  for (size_t i = 0; i < fc2.size(); ++i)
    fc2[i] = -static_cast<float>(i);
  REQUIRE(last.outputs()->Get(0)->name()->str() == "fc2");
  std::memcpy(static_cast<char *>(staging.mapped) + io.outputsAt, fc2.data(), 80);
  TensorMap out = readOutputs(staging, io);
  CHECK(out.at("fc2").shape == std::vector<int64_t>{2, 10});
  CHECK(out.at("fc2").data == fc2);
}
