// `spire run --mpi` (MpiRun.cpp): a bundle's stages across the ranks of an
// MPI job, started by mpirun.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace spire::cli {

struct CommonOptions;

struct MpiOptions {
  bool on = false;           // run --mpi
  std::string ranks;         // run --ranks 0..1,2 (stages per rank)
  int timeoutSeconds = 300;  // run --mpi-timeout
  bool mixedBundles = false; // run --mixed-bundles
};

// Adds --mpi and its options (and --profile) to `spire run`.
void addMpiOptions(CLI::App *run, CommonOptions &o);
// `spire run --mpi` on this rank; reports its own errors.
int runMpi(const CommonOptions &o);

} // namespace spire::cli
