// Descriptor sets on their own: written for a batch, rewritten for the
// next, and refused past the device's buffer ranges.
#include "DeviceSupport.h"

#include "Bindings.h"
#include "Commands.h"
#include "Memory.h"

#include <catch2/catch.hpp>

using namespace spire;

namespace {

struct Stage0 {
  test::OnDevice d;
  Commands commands{d.device};
  Kernels kernels{d.device, d.context.impl(), d.manifest()};
  Buffer weights = uploadWeights(d.device, commands, d.bundle.impl(), false);
  Buffer arena = createBuffer(d.device, arenaSize(d.stage(0), 0, 4), {kDeviceMemory}, false);
};

} // namespace

TEST_CASE("bindings_follow_the_batch", "[bindings]") {
  Stage0 s;
  Bindings bindings;
  const bundle::Stage &stage = s.d.stage(0);
  bindings.write(s.d.device, s.kernels, s.d.manifest(), stage, 4, s.arena.buffer, s.weights.buffer);
  std::vector<VkDescriptorSet> sets;
  for (size_t i = 0; i < stage.dispatches()->size(); ++i) {
    CHECK(bindings.set(i));
    sets.push_back(bindings.set(i));
  }
  // A new batch rewrites the same sets.
  bindings.write(s.d.device, s.kernels, s.d.manifest(), stage, 1, s.arena.buffer, s.weights.buffer);
  for (size_t i = 0; i < sets.size(); ++i)
    CHECK(bindings.set(i) == sets[i]);
  CHECK(s.d.context.validationMessages().empty());
}

TEST_CASE("bindings_refuse_ranges_over_the_device_limits", "[bindings]") {
  Stage0 s;
  const bundle::Stage &stage = s.d.stage(0);
  Bindings texels;
  s.d.device.limits.maxTexelBufferElements = 4;
  CHECK_THROWS_WITH(texels.write(s.d.device, s.kernels, s.d.manifest(), stage, 1, s.arena.buffer,
                                 s.weights.buffer),
                    Catch::Matches("a binding of layer '.*' needs [0-9]+ bytes, over this device's "
                                   "maxTexelBufferElements x (4|16) \\((16|64)\\)(; use a smaller "
                                   "batch or|;) recompile with `spire compile --no-texel-inputs`"));
  s.d.device.limits.maxTexelBufferElements = UINT32_MAX;
  s.d.device.limits.maxStorageBufferRange = 16;
  Bindings storage;
  CHECK_THROWS_WITH(storage.write(s.d.device, s.kernels, s.d.manifest(), stage, 1, s.arena.buffer,
                                  s.weights.buffer),
                    Catch::Matches("a binding of layer '.*' needs [0-9]+ bytes, over this device's "
                                   "maxStorageBufferRange \\(16\\)(; use a smaller batch)?"));
  CHECK(s.d.context.validationMessages().empty());
}
