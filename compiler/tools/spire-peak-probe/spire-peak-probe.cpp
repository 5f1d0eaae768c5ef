// spire-peak-probe FILE: writes the peak probe's bundle (spire/PeakProbe.h),
// which runtime/tools/peak_probe.spire keeps for the runner. To refresh it
// after a codegen change:
//   build/bin/spire-peak-probe runtime/tools/peak_probe.spire
#include "spire/Bundle/BundleWriter.h"
#include "spire/Codegen/Codegen.h"

#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char **argv) {
  // A flag is never taken for the file name (a stray `--help` once became
  // a bundle of that name).
  if (argc != 2 || argv[1][0] == '-') {
    bool help = argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h");
    std::fprintf(help ? stdout : stderr, "usage: spire-peak-probe FILE\n");
    return help ? 0 : 2;
  }
  mlir::MLIRContext context;
  mlir::FailureOr<spire::CompiledModel> probe =
      spire::buildPeakProbe(context, spire::kPeakProbeInvocations, spire::kPeakProbeIterations);
  if (mlir::failed(probe))
    return 1;
  std::vector<uint8_t> bytes = spire::serializeBundle(*probe);
  std::ofstream out(argv[1], std::ios::binary);
  out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "error: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
