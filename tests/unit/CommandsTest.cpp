// Command recording on its own: copies, barriers and timestamps on a bare
// device, validation layer on.
#include "DeviceSupport.h"

#include "Commands.h"
#include "Memory.h"

#include <catch2/catch.hpp>

#include <cstring>

using namespace spire;

TEST_CASE("commands_copy_between_buffers", "[commands]") {
  test::OnDevice d;
  Commands commands(d.device);
  Buffer src = createBuffer(d.device, 64, {kHostMemory}, true);
  Buffer dst = createBuffer(d.device, 64, {kHostMemory}, true);
  REQUIRE(src.mapped);
  REQUIRE(dst.mapped);
  std::vector<float> values(16);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = 0.5f * static_cast<float>(i) - 3.0f;
  std::memcpy(src.mapped, values.data(), 64);
  // The one command buffer records and runs again and again.
  for (VkDeviceSize half : {0, 32}) {
    commands.begin();
    commands.copy(src.buffer, dst.buffer, {half, half, 32});
    commands.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                     VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    commands.submit();
  }
  std::vector<float> got(16);
  std::memcpy(got.data(), dst.mapped, 64);
  CHECK(got == values);
  CHECK(d.context.validationMessages().empty());
}

TEST_CASE("commands_time_what_they_record", "[commands]") {
  test::OnDevice d;
  Commands commands(d.device);
  Buffer src = createBuffer(d.device, 1 << 20, {kHostMemory}, true);
  Buffer dst = createBuffer(d.device, 1 << 20, {kDeviceMemory}, false);
  commands.reserveTimestamps(3);
  for (int run = 0; run < 2; ++run) {
    commands.begin();
    commands.resetTimestamps();
    commands.timestamp(VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT);
    commands.copy(src.buffer, dst.buffer, {0, 0, 1 << 20});
    commands.timestamp(VK_PIPELINE_STAGE_TRANSFER_BIT);
    commands.timestamp(VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
    commands.submit();
    std::vector<uint64_t> ticks = commands.readTimestamps();
    if (!commands.timed()) {
      CHECK(ticks.empty()); // a queue without timestamps records none
      continue;
    }
    REQUIRE(ticks.size() == 3);
    CHECK(ticks[0] <= ticks[1]);
    CHECK(ticks[1] <= ticks[2]);
  }
  CHECK(d.context.validationMessages().empty());
}
