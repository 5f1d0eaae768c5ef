// libFuzzer harness for the .safetensors reader (weights for the compiler,
// stage interfaces for `spire run`): any bytes give tensors or an error.
#include "spire/Support/Safetensors.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto tensors = spire::parseSafetensors(
      llvm::StringRef(reinterpret_cast<const char *>(data), size));
  if (!tensors)
    llvm::consumeError(tensors.takeError());
  return 0;
}
