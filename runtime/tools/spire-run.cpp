// spire-run: the runtime-only runner. The `run`, `bench`, `devices` and
// `peak` verbs of `spire`, linked with neither LLVM, MLIR nor yaml-cpp (and
// libstdc++ statically), so that it and its bundles are all a bare GPU
// machine with a Vulkan loader needs (bench/gpu_check.sh). Exit codes as
// `spire`'s: 0 ok, 1 bundle or input error, 2 usage error, 3 device or
// runtime error, 4 an output off its --compare reference.
#include "spire/tools/RunCommands.h"

#include <CLI/CLI.hpp>

int main(int argc, char **argv) {
  CLI::App app{"spire-run: run compiled Spire bundles on a Vulkan device (the runtime verbs "
               "of `spire`, without the compiler)."};
  app.set_version_flag("--version", std::string("spire-run ") + SPIRE_VERSION);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);

  spire::cli::RunOptions options;
  spire::cli::addRunCommands(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : spire::cli::kExitUsage;
  }
  return spire::cli::runRunCommand(app, options);
}
