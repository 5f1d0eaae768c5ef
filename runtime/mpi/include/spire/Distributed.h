// A model's stages across the ranks of an MPI job (Spire::runtime_mpi): rank
// r runs a contiguous range of stages on its own device, receives the stage
// interface from rank r-1 and sends its own to rank r+1, micro-batch by
// micro-batch (GPipe-style fill and drain), with non-blocking transfers into
// double-buffered host staging. The result equals Model::run bit for bit.
//
// Kept out of Spire::runtime so that the core runtime links only the Vulkan
// loader; this library adds MPI.
#pragma once

#include "spire/Runtime.h"

#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace spire {

// Stages [first, last] (inclusive) of one rank.
using StageRange = std::pair<size_t, size_t>;

// "rank 1 (stage 1)", "rank 0 (stages 0..1)": how every message names a rank.
std::string rankText(int rank, StageRange stages);

// Which stages each of `ranks` ranks runs:
// - `map` non-empty: one range per rank in rank order, "0..1,2" (rank 0
//   runs stages 0 and 1, rank 1 stage 2);
// - else one stage per rank when there are as many ranks as stages;
// - else the bundle's placement, stages sharing a device index sharing a rank,
//   when it groups the stages into `ranks` contiguous runs;
// - else the stages in `ranks` contiguous, nearly equal runs.
// Throws Error(Usage) when the ranges do not cover every stage once, in order.
std::vector<StageRange> rankStages(const Bundle &bundle, int ranks, const std::string &map);

// Throws Error(Usage) for a bundle with size symbols: a distributed run
// takes bundles of fixed sizes (a rank past the first could not tell the
// sizes from the cut it receives, and no rank tells it).
void checkFixedSizes(const Bundle &bundle);

// The device a rank uses when none is named: among the devices of the kind
// Context::defaultDevice() picks, the (local rank mod their number)-th, so
// that the ranks on one host spread over its GPUs.
uint32_t deviceForLocalRank(const Context &context, int localRank);

struct DistributedOptions {
  // How long a rank waits for another (a micro-batch, the start or the end of
  // a run) before it gives up and ends the job, naming whom it waited for.
  double timeoutSeconds = 300;
  // Lets ranks load different bundles (e.g. each compiled for its host's
  // --target) as long as the tensors crossing every cut agree; by default
  // bundles whose checksums differ are refused.
  bool mixedBundles = false;
};

// One rank's share of the last run, in ms of host wall time.
struct RankProfile {
  int rank = 0;
  StageRange stages;
  double computeMs = 0; // running its stages
  double sendMs = 0;    // waiting for sends to complete (the next rank is behind)
  double receiveMs = 0; // waiting for micro-batches 1.. (the previous rank is behind)
  double idleMs = 0;    // the rest: the fill (waiting for micro-batch 0), the drain
  double wallMs = 0;
  uint64_t bytesSent = 0, bytesReceived = 0;
};

// A failure that ends a distributed run on every rank: raised where it
// happened (local()) and, through a notice, on every other rank, each naming
// the failed rank, its stages and the cause. Transfers are left pending, so
// the job cannot end with MPI_Finalize: print what() and call abortJob.
class DistributedError : public Error {
public:
  DistributedError(Kind kind, const std::string &message, MPI_Comm comm, int failedRank,
                   bool local)
      : Error(kind, message), comm_(comm), failedRank_(failedRank), local_(local) {}
  MPI_Comm comm() const { return comm_; }
  int failedRank() const { return failedRank_; }
  bool local() const { return local_; }

private:
  MPI_Comm comm_;
  int failedRank_;
  bool local_;
};

// Ends the job after a DistributedError, once this rank has reported it: the
// failed rank waits (at most `graceSeconds`) until every other rank has said
// it reported its own, then every rank is ended by MPI_Abort(exitCode).
[[noreturn]] void abortJob(const DistributedError &error, int exitCode,
                           double graceSeconds = 5);

class DistributedPipeline {
public:
  // Collective over `comm`. Loads this rank's stages of `bundle` on `device`,
  // then checks with every rank, before any work, that all loaded the same
  // bundle (checksum) and the same `ranks` map, and that the tensors each cut
  // sends are the ones the next rank's stage takes (names and shapes). On a
  // disagreement, or when a rank cannot load its stages, every rank throws
  // the same Error naming the rank and the cause, and the job may still end
  // with MPI_Finalize; a rank waiting past the timeout raises
  // DistributedError.
  DistributedPipeline(Context &context, const Bundle &bundle, uint32_t device, MPI_Comm comm,
                      std::vector<StageRange> ranks, DistributedOptions options = {});
  DistributedPipeline(DistributedPipeline &&) noexcept;
  DistributedPipeline &operator=(DistributedPipeline &&) noexcept;
  ~DistributedPipeline();

  // Collective. Rank 0 passes the model inputs and the micro-batch count
  // (other ranks' are ignored) and splits the batch as Pipeline::run does;
  // the last rank returns the model outputs, every other rank an empty map.
  // Any failure raises DistributedError on every rank.
  TensorMap run(const TensorMap &inputs, size_t microBatches);

  int rank() const;
  StageRange stages() const;
  const Model &model() const;
  // The last run's timing: this rank's, and on the last rank every rank's
  // (in rank order).
  std::vector<RankProfile> lastProfile() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace spire
