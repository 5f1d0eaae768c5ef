// The verbs of the `spire` CLI.
#pragma once

#include "MpiRun.h"
#include "spire/Runtime.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spire {
struct SpecModule;
}

namespace spire::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitSpec = 1;   // spec, weights or input error
inline constexpr int kExitUsage = 2;  // bad command line
inline constexpr int kExitDevice = 3; // Vulkan device or runtime error

struct CommonOptions {
  std::string spec;                  // check, summary, compile
  std::vector<std::string> sets;     // --set SYMBOL=VALUE
  std::string emit;                  // check/compile --emit
  bool json = false;                 // summary --json
  std::string output;                // compile -o
  std::string weights;               // compile --weights
  std::string bundle;                // run, bench
  std::vector<std::string> inputs;   // run --input NAME=FILE
  std::string outputDir;             // run --output-dir
  std::string outputFile;            // run --output
  int device = -1;                   // run/bench --device
  int batch = 0;                     // run/bench --batch (0: not given)
  int iters = 20;                    // bench --iters
  int runIters = 0;                  // run --iters (0: no steady runs)
  bool profile = false;              // bench --profile
  std::string stages;                // run --stages A..B
  int microBatches = 0;              // run --micro-batches M
  std::string place;                 // run --place S:D,...
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
  bool validate = false;             // run/bench --validate
  bool untrusted = false;            // run/bench --untrusted
  int graphDepth = -1;               // graph --depth (-1: every block open)
  std::optional<std::string> profileDevice; // devices --profile [N] ("": no N, the best device)
  MpiOptions mpi;                    // run --mpi ...
};

void addCommands(CLI::App &app, CommonOptions &options);
int runSelected(CLI::App &app, const CommonOptions &options);

// run, bench, devices (RunCommands.cpp): the verbs that use the runtime.
void addRunCommands(CLI::App &app, CommonOptions &options);
int runRunCommand(CLI::App &app, const CommonOptions &options);
// Shared by `spire run` and `spire run --mpi` (RunCommands.cpp).
int exitCodeFor(const Error &e);
// The batch of the seeded random inputs: --batch if given, else the
// bundle's, else 1.
int64_t inputBatch(const Bundle &bundle, int requested);
// --input's tensors, or seeded random ones for `wanted` at `batch`.
TensorMap readInputs(const CommonOptions &o, const std::vector<TensorInfo> &wanted, int64_t batch);
// --output / --output-dir, and each output's digest on stdout.
void writeOutputs(const CommonOptions &o, const TensorMap &outputs);
void printRunTimes(double loadMs, const std::string &loadNote, double firstMs,
                   const std::vector<double> &wall, const std::vector<double> &device);

using Clock = std::chrono::steady_clock;
inline double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Host wall times of `iters` more runs, sorted.
template <typename Run> std::vector<double> steady(int iters, Run run) {
  std::vector<double> wall;
  for (int i = 0; i < iters; ++i) {
    auto start = Clock::now();
    run();
    wall.push_back(ms(Clock::now() - start));
  }
  std::sort(wall.begin(), wall.end());
  return wall;
}

// graph (GraphCommand.cpp): the model as a picture, from a checked spec or
// (`o.spec` ending in .spire) from a bundle.
bool isBundlePath(const std::string &path);
int runGraphOfSpec(SpecModule &spec, const CommonOptions &o);
int runGraphOfBundle(const CommonOptions &o);

// Why the runtime refuses the bundle at `path` (header, checksum, manifest),
// or "" when it reads it.
std::string verifyBundle(const std::string &path);

// `--target native`: sets `target` to the built-in profile that fits the
// default Vulkan device; returns -1, or the exit code when there is none.
int nativeTarget(std::string &target);

} // namespace spire::cli
