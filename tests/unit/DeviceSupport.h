// Shared by the tests of the runtime's parts (tests/unit sees runtime/src):
// a device opened for a bundle as a Model opens it, validation layer on.
#pragma once

#include "TestSupport.h"

#include "Device.h"

namespace spire::test {

struct OnDevice {
  Context context{ContextOptions{true}};
  Bundle bundle;
  Device device{context.impl(), context.defaultDevice(), *bundle.impl().manifest};

  explicit OnDevice(Bundle b) : bundle(std::move(b)) {}
  OnDevice() : OnDevice(Bundle::fromFile(smallCnnBundle())) {}

  const bundle::Model &manifest() const { return *bundle.impl().manifest; }
  const bundle::Stage &stage(size_t s) const { return *manifest().stages()->Get(s); }
};

} // namespace spire::test
