// spire-run: the runtime-only runner. The `run`, `bench`, `devices` and
// `peak` verbs of `spire`, linked with neither LLVM, MLIR nor yaml-cpp (and
// libstdc++ statically), so that it and its bundles are all a bare GPU
// machine with a Vulkan loader needs (bench/gpu_check.sh). Exit codes as
// `spire`'s: 0 ok, 1 bundle or input error, 2 usage error, 3 device or
// runtime error, 4 an output off its --compare reference.
#include "spire/tools/RunCommands.h"

int main(int argc, char **argv) {
  CLI::App app{"spire-run: run compiled Spire bundles on a Vulkan device (the runtime verbs "
               "of `spire`, without the compiler)."};
  spire::cli::RunOptions options;
  spire::cli::addRunCommands(app, options);
  return spire::cli::runCli(app, std::string("spire-run ") + SPIRE_VERSION, argc, argv,
                            [&] { return spire::cli::runRunCommand(app, options); });
}
