// spire run --mpi: this process's rank of a distributed pipelined run
// (Spire::runtime_mpi). Rank 0 reads the inputs, the last rank writes the
// outputs and prints the timing.
#include "Commands.h"

#if SPIRE_HAVE_MPI
#include "spire/Analysis/Summary.h"
#include "spire/Distributed.h"

#include <csignal>
#include <cstring>
#include <unistd.h>
#endif

#include <cstdio>
#include <optional>

namespace spire::cli {

void addMpiOptions(CLI::App *run, CommonOptions &o) {
  CLI::Option *mpi = run->add_flag(
      "--mpi", o.mpi.on,
      "run as one rank of `mpirun -np S spire run ... --mpi`: each rank runs a range of stages "
      "and passes the cut to the next");
  run->add_option("--ranks", o.mpi.ranks,
                  "stages per rank, e.g. 0..1,2 (default: one stage per rank, else the spec's "
                  "placement, else even ranges)")
      ->needs(mpi);
  run->add_option("--mpi-timeout", o.mpi.timeoutSeconds,
                  "seconds a rank waits for another before it ends the job (default 300)")
      ->check(CLI::Range(1, 86400))
      ->needs(mpi);
  run->add_flag("--mixed-bundles", o.mpi.mixedBundles,
                "let the ranks load different bundles (e.g. each compiled for its host's "
                "--target) as long as every cut agrees")
      ->needs(mpi);
  run->add_flag("--profile", o.profile,
                "each rank's compute, send, receive and idle time in the last run")
      ->needs(mpi);
}

#if !SPIRE_HAVE_MPI

int runMpi(const CommonOptions &) {
  std::fprintf(stderr, "error: --mpi: this spire was built without MPI (install libopenmpi-dev "
                       "and configure again)\n");
  return kExitUsage;
}

#else

namespace {

// What a rank says when mpirun ends it with SIGTERM, as it ends every rank
// once one has failed or been killed (mpirun's own message names that one)
// or when the job is interrupted.
char terminateNote[256];
size_t terminateNoteSize = 0;

extern "C" void onTerminate(int) {
  ssize_t written = write(STDERR_FILENO, terminateNote, terminateNoteSize);
  (void)written; // nothing more to do about a failed write while ending
  _exit(128 + SIGTERM);
}

void noteTermination(const std::string &rank) {
  std::string note = "error: " + rank +
                     ": ended by mpirun (SIGTERM): the job is ending (another rank failed or "
                     "was killed, see above and below, or the job was interrupted)\n";
  terminateNoteSize = std::min(note.size(), sizeof terminateNote);
  std::memcpy(terminateNote, note.data(), terminateNoteSize);
  std::signal(SIGTERM, onTerminate);
}

// The rank's index among the ranks on its host.
int localRank() {
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
  int rank = 0;
  MPI_Comm_rank(local, &rank);
  MPI_Comm_free(&local);
  return rank;
}

// A failure before the ranks agree: the others may be waiting for this one.
[[noreturn]] void abortEarly(const std::string &rank, const std::string &message, int exitCode) {
  std::fprintf(stderr, "error: %s: %s\n", rank.c_str(), message.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exitCode);
  std::_Exit(exitCode);
}

void printProfile(const std::vector<RankProfile> &profile) {
  std::printf("per rank, last run (ms of wall time; receive and idle: waiting for the previous "
              "rank, idle includes the fill and drain):\n");
  std::printf("  %-22s %9s %9s %9s %9s %9s %11s %11s\n", "rank", "compute", "send", "receive",
              "idle", "wall", "sent", "received");
  for (const RankProfile &p : profile)
    std::printf("  %-22s %9.2f %9.2f %9.2f %9.2f %9.2f %11s %11s\n",
                rankText(p.rank, p.stages).c_str(), p.computeMs, p.sendMs, p.receiveMs, p.idleMs,
                p.wallMs, formatBytes(static_cast<int64_t>(p.bytesSent)).c_str(),
                formatBytes(static_cast<int64_t>(p.bytesReceived)).c_str());
}

} // namespace

int runMpi(const CommonOptions &o) {
  MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::string who = "rank " + std::to_string(rank);
  noteTermination(who);
  if (!o.stages.empty() || !o.place.empty())
    abortEarly(who, "--mpi runs the whole model across the ranks: --stages and --place do not "
                    "apply (--ranks chooses the stages per rank)",
               kExitUsage);

  std::optional<Context> context;
  std::optional<Bundle> bundle;
  std::vector<StageRange> ranks;
  uint32_t device = 0;
  TensorMap inputs;
  int result = kExitOk;
  try {
    ContextOptions options;
    options.validation = o.validate;
    options.untrusted = o.untrusted;
    context.emplace(options);
    bundle.emplace(Bundle::fromFile(o.bundle));
    ranks = rankStages(*bundle, size, o.mpi.ranks);
    who = rankText(rank, ranks[rank]);
    noteTermination(who);
    size_t devices = context->devices().size();
    if (o.device >= 0 && static_cast<size_t>(o.device) >= devices)
      throw Error(Error::Kind::Usage, "--device " + std::to_string(o.device) + ": there are " +
                                          std::to_string(devices) + " device(s) on this host");
    device = o.device >= 0 ? static_cast<uint32_t>(o.device)
                           : deviceForLocalRank(*context, localRank());
    checkFixedSizes(*bundle);
    if (rank == 0)
      inputs = readInputs(o, *bundle, bundle->stages()[0].inputs, inputBatch(*bundle, o.batch));
  } catch (const Error &e) {
    abortEarly(who, e.what(), exitCodeFor(e));
  } catch (const std::bad_alloc &) {
    abortEarly(who, "out of host memory (try a smaller --batch)", kExitSpec);
  }

  std::optional<DistributedPipeline> pipeline;
  try {
    auto loadStart = Clock::now();
    pipeline.emplace(*context, *bundle, device, MPI_COMM_WORLD, ranks,
                     DistributedOptions{static_cast<double>(o.mpi.timeoutSeconds),
                                        o.mpi.mixedBundles});
    double loadMs = ms(Clock::now() - loadStart);
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    std::printf("%s: device %u (%s) on host %s\n", who.c_str(), device,
                pipeline->model().device().name.c_str(), host);
    std::fflush(stdout);

    size_t parts = std::max(1, o.microBatches);
    auto firstStart = Clock::now();
    TensorMap outputs = pipeline->run(inputs, parts);
    double firstMs = ms(Clock::now() - firstStart);
    std::vector<double> wall = steady(o.runIters, [&] { pipeline->run(inputs, parts); });
    if (rank == size - 1) {
      int64_t batch = outputs.begin()->second.shape[0];
      std::printf("pipeline: %d rank(s), %zu micro-batch(es) of batch %lld\n", size,
                  microBatchSizes(batch, parts).size(), static_cast<long long>(batch));
      printRunTimes(loadMs, " (this rank, and the agreement with the others)", firstMs, wall, {});
      if (!wall.empty())
        std::printf("throughput %.1f samples/s\n", 1000.0 * batch / wall[wall.size() / 2]);
      if (o.profile)
        printProfile(pipeline->lastProfile());
      result = writeOutputs(o, outputs); // --compare on the last rank
    }
  } catch (const DistributedError &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    abortJob(e, exitCodeFor(e));
  } catch (const Error &e) {
    if (pipeline) // the last rank writing its outputs
      abortEarly(who, e.what(), exitCodeFor(e));
    // The ranks disagreed before any work: every rank knows why, rank 0 says.
    if (rank == 0)
      std::fprintf(stderr, "error: %s\n", e.what());
    MPI_Finalize();
    return exitCodeFor(e);
  }
  std::fflush(stdout);
  pipeline.reset(); // its communicator goes before MPI does
  MPI_Finalize();
  return result;
}

#endif

} // namespace spire::cli
