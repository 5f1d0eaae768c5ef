// spire: the command-line driver. Exit codes: 0 ok, 1 spec or user error,
// 2 usage error, 3 device or runtime error, 4 an output off its
// `run --compare` reference.
#include "Commands.h"

#ifdef SPIRE_JEMALLOC
// jemalloc's built-in options (the MALLOC_CONF variable still overrides
// them): its memory on transparent huge pages, which Debian's kernels give
// only to memory that asks (compiler/tools/CMakeLists.txt says why).
extern "C" const char *malloc_conf = "thp:always,metadata_thp:always";
#endif

int main(int argc, char **argv) {
  CLI::App app{"Spire: a declarative model compiler. Specs in YAML, checked at compile "
               "time, compiled to Vulkan compute shaders."};
  spire::cli::CommonOptions common;
  spire::cli::addCommands(app, common);
  return spire::cli::runCli(app, std::string("spire ") + SPIRE_VERSION, argc, argv,
                            [&] { return spire::cli::runSelected(app, common); });
}
