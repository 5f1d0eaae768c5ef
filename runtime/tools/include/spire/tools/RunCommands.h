// The verbs that need only the runtime: run, bench, devices, peak. One copy
// serves both `spire` (with the compiler's verbs) and `spire-run` (the
// runtime-only runner: no LLVM, MLIR or yaml-cpp).
#pragma once

#include "spire/Runtime.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace spire::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitSpec = 1;     // spec, weights or input error
inline constexpr int kExitUsage = 2;    // bad command line
inline constexpr int kExitDevice = 3;   // Vulkan device or runtime error
inline constexpr int kExitMismatch = 4; // run --compare: an output differs from its reference

struct RunOptions {
  std::string bundle;                // run, bench
  std::vector<std::string> inputs;   // run --input NAME=FILE
  std::vector<std::string> sets;     // compile/run/bench --set SYMBOL=VALUE
  std::string outputDir;             // run --output-dir
  std::string outputFile;            // run --output
  std::vector<std::string> compare;  // run --compare [NAME=]FILE.npy
  double tolerance = 1e-4;           // run --tolerance (relative L2)
  int device = -1;                   // run/bench --device
  int batch = 0;                     // run/bench --batch (0: not given)
  int iters = 20;                    // bench --iters
  int runIters = 0;                  // run --iters (0: no steady runs)
  bool profile = false;              // bench --profile
  std::string stages;                // run --stages A..B
  int microBatches = 0;              // run --micro-batches M
  std::string place;                 // run --place S:D,...
  bool validate = false;             // run/bench --validate
  bool untrusted = false;            // run/bench --untrusted
  std::optional<std::string> profileDevice; // devices --profile [N] ("": no N, the best device)
};

// A CLI's main: one verb required, help on a failure; parses argv and runs
// `run` on success. --help and --version exit 0, any other parse error
// kExitUsage.
int runCli(CLI::App &app, const std::string &version, int argc, char **argv,
           const std::function<int()> &run);

// run, bench, devices, peak.
void addRunCommands(CLI::App &app, RunOptions &options);
// Runs the one of them `app` parsed; kExitUsage when it parsed none.
int runRunCommand(CLI::App &app, const RunOptions &options);

// Shared with `spire run --mpi` (compiler/tools/spire/MpiRun.cpp), which runs
// outside this library so that the runner stays free of MPI.
int exitCodeFor(const Error &e);
// The batch of the seeded random inputs: --batch if given (a bundle compiled
// for one batch takes only that one), else the bundle's, else 1.
int64_t inputBatch(const Bundle &bundle, int requested);
// --set's values for the runtime; throws Error(Usage) for one that is not
// SYMBOL=SIZE.
SizeMap parseSizes(const std::vector<std::string> &sets);
// --input's tensors, or seeded random ones for `wanted` (inputs of
// `bundle`) at `batch` and --set's sizes.
TensorMap readInputs(const RunOptions &o, const Bundle &bundle,
                     const std::vector<TensorInfo> &wanted, int64_t batch);
// --output / --output-dir, each output's digest on stdout and --compare;
// returns kExitOk, or kExitMismatch when an output is off its reference.
int writeOutputs(const RunOptions &o, const TensorMap &outputs);
// Load, first-run and steady times apart.
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

// Why the runtime refuses the bundle at `path` (header, checksum, manifest),
// or "" when it reads it.
std::string verifyBundle(const std::string &path);

// `--target native`: sets `target` to the built-in profile that fits the
// default Vulkan device; returns -1, or the exit code when there is none.
int nativeTarget(std::string &target);

} // namespace spire::cli
