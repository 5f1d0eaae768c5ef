// The verbs of the `spire` CLI.
#pragma once

#include "MpiRun.h"
#include "spire/tools/RunCommands.h"

#include <CLI/CLI.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spire {
struct SpecModule;
}

namespace spire::cli {

// The run verbs' options (spire/tools/RunCommands.h) and the compiler's.
struct CommonOptions : RunOptions {
  std::string spec;                  // check, summary, compile
  std::string emit;                  // check/compile --emit
  bool json = false;                 // summary --json
  std::string output;                // compile -o
  std::string weights;               // compile --weights
  std::string stage;                 // compile --stage K or A..B
  unsigned splitStages = 2;          // split --stages S
  int tileChannels = 0;              // compile --tile-channels (0: the target's)
  int tilePixels = 0;                // compile --tile-pixels (0: the target's)
  int tileStep = 0;                  // compile --tile-step (0: the target's)
  int broadcastLanes = 0;            // compile --broadcast-lanes (0: the target's)
  bool noTexelInputs = false;        // compile --no-texel-inputs
  std::string target = "lavapipe";   // compile --target
  bool printIRAfterAll = false;      // compile --print-ir-after-all
  bool timings = false;              // compile --timings
  std::string spirvDir;              // compile --spirv-dir
  std::string header;                // compile --header
  std::string embed;                 // compile --embed
  std::string depfile;               // compile --depfile
  std::string cppNamespace;          // compile --namespace
  int graphDepth = -1;               // graph --depth (-1: every block open)
  MpiOptions mpi;                    // run --mpi ...
};

void addCommands(CLI::App &app, CommonOptions &options);
int runSelected(CLI::App &app, const CommonOptions &options);

// graph (GraphCommand.cpp): the model as a picture, from a checked spec or
// (`o.spec` ending in .spire) from a bundle.
bool isBundlePath(const std::string &path);
int runGraphOfSpec(SpecModule &spec, const CommonOptions &o);
int runGraphOfBundle(const CommonOptions &o);

} // namespace spire::cli
