// Kernels on their own: pipelines for a compiled bundle, and the device
// capabilities they are checked against (subgroup lanes, descriptors per
// stage), on hand-made bundles and lowered device limits.
#include "DeviceSupport.h"

#include "Kernels.h"

#include <catch2/catch.hpp>

using namespace spire;

TEST_CASE("kernels_make_a_pipeline_per_kernel", "[kernels]") {
  test::OnDevice d;
  Kernels kernels(d.device, d.context.impl(), d.manifest());
  for (size_t k = 0; k < d.manifest().kernels()->size(); ++k) {
    CHECK(kernels.pipeline(k));
    CHECK(kernels.layout(k));
    CHECK(kernels.setLayout(k));
  }
  CHECK(kernels.createMs() > 0);
  CHECK(d.context.validationMessages().empty());
}

TEST_CASE("kernels_read_texel_bindings_as_texel_buffers", "[kernels]") {
  std::vector<uint8_t> bytes =
      test::handMadeBundle(0, bundle::Region(bundle::Space::Arena, 0, 16), {0});
  Bundle hand = Bundle::fromMemory(bytes.data(), bytes.size());
  const bundle::Kernel &kernel = *hand.impl().manifest->kernels()->Get(0);
  CHECK(descriptorType(kernel, 0) == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER);
  CHECK(descriptorType(kernel, 1) == VK_DESCRIPTOR_TYPE_STORAGE_BUFFER);
}

TEST_CASE("kernels_refuse_narrow_subgroups", "[kernels]") {
  // No device has subgroups of 4096 lanes: the device is refused before
  // any of it is made, naming the lanes that would fit.
  std::vector<uint8_t> bytes =
      test::handMadeBundle(0, bundle::Region(bundle::Space::Arena, 0, 16), {}, {}, 4096);
  CHECK_THROWS_WITH(test::OnDevice(Bundle::fromMemory(bytes.data(), bytes.size())),
                    Catch::Matches("device '.*' has subgroups of [0-9]+ lanes; this bundle's kernels "
                                   "share loads across 4096; recompile with `spire compile "
                                   "--broadcast-lanes [0-9]+` for this device"));
}

TEST_CASE("kernels_refuse_more_bindings_than_the_device_allows", "[kernels]") {
  test::OnDevice d;
  d.device.limits.maxPerStageDescriptorSampledImages = 0;
  CHECK_THROWS_WITH(Kernels(d.device, d.context.impl(), d.manifest()),
                    Catch::Matches("kernel '.*' binds [0-9]+ storage and [1-9][0-9]* texel buffers; "
                                   "device '.*' allows [0-9]+ and 0"));
  CHECK(d.context.validationMessages().empty());
}
