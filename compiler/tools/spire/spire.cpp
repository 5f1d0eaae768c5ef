// spire: the command-line driver. Exit codes: 0 ok, 1 spec or user error,
// 2 usage error, 3 device or runtime error.
#include "Commands.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char **argv) {
  CLI::App app{"Spire: a declarative model compiler. Specs in YAML, checked at compile "
               "time, compiled to Vulkan compute shaders."};
  app.set_version_flag("--version", std::string("spire ") + SPIRE_VERSION);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);

  spire::cli::CommonOptions common;
  spire::cli::addCommands(app, common);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int rc = app.exit(e);
    // --help and --version are successes; anything else is a usage error.
    return rc == 0 ? 0 : spire::cli::kExitUsage;
  }
  return spire::cli::runSelected(app, common);
}
