// spire: the command-line driver. Exit codes: 0 ok, 1 spec or user error,
// 2 usage error, 3 device or runtime error, 4 an output off its
// `run --compare` reference.
#include "Commands.h"

int main(int argc, char **argv) {
  CLI::App app{"Spire: a declarative model compiler. Specs in YAML, checked at compile "
               "time, compiled to Vulkan compute shaders."};
  spire::cli::CommonOptions common;
  spire::cli::addCommands(app, common);
  return spire::cli::runCli(app, std::string("spire ") + SPIRE_VERSION, argc, argv,
                            [&] { return spire::cli::runSelected(app, common); });
}
