// spire-test-length-bundle FILE: writes LengthBundle.h's bundle, for the
// CLI's tests of symbolic sizes (tests/lit/cli/sizes.test) until the
// compiler writes such bundles itself.
#include "LengthBundle.h"

#include <cstdio>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: spire-test-length-bundle FILE.spire\n");
    return 2;
  }
  std::vector<uint8_t> bytes = spire::test::lengthBundle();
  std::FILE *file = std::fopen(argv[1], "wb");
  bool written = file && std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  if (!file || std::fclose(file) != 0 || !written) {
    std::fprintf(stderr, "error: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
