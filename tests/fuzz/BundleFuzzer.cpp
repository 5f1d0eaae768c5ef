// libFuzzer harness for the runtime's bundle reader (Bundle::fromMemory:
// header, offsets, the manifest's FlatBuffer, the SPIR-V checks). Each input
// is read twice: as it is, and with the header's file size and checksum made
// to match, so that mutations reach the checks behind the checksum instead
// of all stopping at it.
#include "spire/BundleFormat.h"
#include "spire/Runtime.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {
void read(const uint8_t *data, size_t size) {
  try {
    spire::Bundle bundle = spire::Bundle::fromMemory(data, size, /*copy=*/false);
    // What a loader asks of a bundle it accepted.
    (void)bundle.kernelCount();
    for (const spire::StageInfo &stage : bundle.stages())
      (void)stage.inputs.size();
  } catch (const spire::Error &) {
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  read(data, size);
  spire::bundle::Header h;
  if (size < sizeof(h))
    return 0;
  std::vector<uint8_t> fixed(data, data + size);
  std::memcpy(&h, fixed.data(), sizeof(h));
  h.fileSize = size;
  if (h.headerSize >= sizeof(h) && h.headerSize <= size)
    h.checksum = spire::bundle::bundleChecksum(h.version, fixed.data() + h.headerSize,
                                                size - h.headerSize);
  std::memcpy(fixed.data(), &h, sizeof(h));
  read(fixed.data(), fixed.size());
  return 0;
}
