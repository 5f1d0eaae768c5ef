// libFuzzer harness for the runtime's .npy reader: any bytes give a tensor
// or a spire::Error, never a crash or a huge allocation.
#include "spire/Npy.h"

#include <cstddef>
#include <cstdint>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char *>(data), size));
  try {
    spire::readNpy(in, "fuzz.npy");
  } catch (const spire::Error &) {
  }
  return 0;
}
