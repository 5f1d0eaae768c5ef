// Stages across MPI ranks. Every wait on another rank is a polling loop on a
// non-blocking request that also watches for a failure notice from any rank
// and gives up after DistributedOptions::timeoutSeconds: a failed or stuck
// rank ends the job, it never hangs it.
#include "spire/Distributed.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <cstdio>
#include <thread>

namespace spire {

namespace {

using Clock = std::chrono::steady_clock;
double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Data messages use the index of the tensor in the cut (sorted by name) as
// their tag: MPI keeps messages of one tag from one sender in order, so the
// k-th message of tag t is micro-batch k's tensor t.
constexpr int kFailTag = 30000; // a failure notice: its kind, then the message
constexpr int kAckTag = 30001;  // "I have reported the failure"
constexpr int kPlanTag = 30002; // rank 0 to each rank: a run's batch and micro-batches
constexpr int kTimeTag = 30003; // each rank to the last: its RankProfile of a run

std::string rangeText(StageRange r) {
  return r.first == r.second ? std::to_string(r.first)
                             : std::to_string(r.first) + ".." + std::to_string(r.second);
}

std::string mapText(const std::vector<StageRange> &ranks) {
  std::string s;
  for (const StageRange &r : ranks)
    s += (s.empty() ? "" : ",") + rangeText(r);
  return s;
}

// A cut's tensors in the order both sides send and receive them.
std::vector<TensorInfo> sortedByName(std::vector<TensorInfo> tensors) {
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorInfo &a, const TensorInfo &b) { return a.name < b.name; });
  return tensors;
}

std::string interfaceText(const std::vector<TensorInfo> &tensors) {
  std::string s;
  for (const TensorInfo &t : tensors)
    s += (s.empty() ? "" : ", ") + t.name + " " + shapeText(t.shape);
  return s;
}

// Floats per batch row (dim 0 is the batch).
int64_t rowSize(const TensorInfo &t) {
  int64_t n = 1;
  for (size_t i = 1; i < t.shape.size(); ++i)
    n *= t.shape[i];
  return n;
}

std::string mpiErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, length);
}

// What each rank tells the others before any work, '\x1f'-separated.
struct Record {
  std::string problem; // why this rank could not load its stages; empty if it could
  int problemKind = 0;
  std::string checksum, name, map, takes, sends;

  std::string encode() const {
    return problem + '\x1f' + std::to_string(problemKind) + '\x1f' + checksum + '\x1f' + name +
           '\x1f' + map + '\x1f' + takes + '\x1f' + sends;
  }
  static Record decode(const std::string &text) {
    std::vector<std::string> f(1);
    for (char c : text)
      if (c == '\x1f')
        f.emplace_back();
      else
        f.back().push_back(c);
    f.resize(7);
    return {f[0], std::atoi(f[1].c_str()), f[2], f[3], f[4], f[5], f[6]};
  }
};

void sleepBriefly() { std::this_thread::sleep_for(std::chrono::microseconds(50)); }

} // namespace

std::string rankText(int rank, StageRange stages) {
  return "rank " + std::to_string(rank) + " (stage" + (stages.first == stages.second ? " " : "s ") +
         rangeText(stages) + ")";
}

void checkFixedSizes(const Bundle &bundle) {
  std::string symbols, sets;
  for (const SizeSymbol &s : bundle.sizes()) {
    symbols += (symbols.empty() ? "" : ", ") + rangeText(s);
    sets += " --set " + s.name + "=SIZE";
  }
  if (!symbols.empty())
    throw Error(Error::Kind::Usage, "bundle '" + bundle.name() + "' has size symbols (" + symbols +
                                        "); a distributed run takes a bundle of fixed sizes: "
                                        "compile one with" + sets);
}

std::vector<StageRange> rankStages(const Bundle &bundle, int ranks, const std::string &map) {
  size_t count = bundle.stages().size();
  std::vector<StageRange> result;
  if (!map.empty()) {
    size_t at = 0;
    while (at <= map.size()) {
      size_t comma = map.find(',', at);
      std::string item = map.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      size_t dots = item.find("..");
      std::string a = item.substr(0, dots), b = dots == std::string::npos ? a : item.substr(dots + 2);
      bool digits = !a.empty() && !b.empty() && a.size() < 10 && b.size() < 10 &&
                    (a + b).find_first_not_of("0123456789") == std::string::npos;
      if (!digits)
        throw Error(Error::Kind::Usage, "--ranks '" + map + "': '" + item +
                                            "' is not a stage K or a range A..B");
      result.emplace_back(std::stoul(a), std::stoul(b));
      if (comma == std::string::npos)
        break;
      at = comma + 1;
    }
  } else if (static_cast<size_t>(ranks) == count) {
    for (size_t k = 0; k < count; ++k)
      result.emplace_back(k, k);
  } else {
    const std::vector<uint32_t> &placement = bundle.placement();
    for (size_t k = 0; k < placement.size(); ++k)
      if (k == 0 || placement[k] != placement[k - 1])
        result.emplace_back(k, k);
      else
        result.back().second = k;
    if (result.size() != static_cast<size_t>(ranks)) {
      result.clear();
      for (int r = 0; r < ranks && static_cast<size_t>(r) < count; ++r)
        result.emplace_back(count * r / ranks, count * (r + 1) / ranks - 1);
    }
  }
  std::string problem;
  if (result.size() != static_cast<size_t>(ranks))
    problem = std::to_string(result.size()) + " range(s) for " + std::to_string(ranks) +
              " rank(s)";
  for (size_t r = 0; problem.empty() && r < result.size(); ++r)
    if (result[r].first > result[r].second)
      problem = "rank " + std::to_string(r) + "'s range " + rangeText(result[r]) + " is empty";
    else if (result[r].first != (r == 0 ? 0 : result[r - 1].second + 1))
      problem = "rank " + std::to_string(r) + " starts at stage " +
                std::to_string(result[r].first) +
                (r == 0 ? " instead of 0"
                        : " but rank " + std::to_string(r - 1) + "'s end at stage " +
                              std::to_string(result[r - 1].second));
  if (problem.empty() && (result.empty() || result.back().second != count - 1))
    problem = "the last rank must end at the last stage, " + std::to_string(count - 1);
  if (!problem.empty())
    throw Error(Error::Kind::Usage,
                "stages per rank '" + mapText(result) + "': " + problem + "; the model has " +
                    std::to_string(count) + " stage(s), each rank runs a contiguous range (" +
                    "e.g. --ranks 0..1,2)");
  return result;
}

uint32_t deviceForLocalRank(const Context &context, int localRank) {
  std::vector<DeviceInfo> devices = context.devices();
  if (devices.empty())
    throw Error(Error::Kind::Device, "no Vulkan device found (is a driver such as "
                                     "mesa-vulkan-drivers installed?)");
  DeviceKind best = devices[context.defaultDevice()].kind;
  std::vector<uint32_t> candidates;
  for (const DeviceInfo &d : devices)
    if (d.kind == best)
      candidates.push_back(d.index);
  return candidates[static_cast<size_t>(localRank) % candidates.size()];
}

void abortJob(const DistributedError &error, int exitCode, double graceSeconds) {
  MPI_Comm comm = error.comm();
  int size = 1;
  MPI_Comm_size(comm, &size);
  auto deadline = Clock::now() + std::chrono::duration<double>(graceSeconds);
  if (!error.local()) {
    static int ack = 1; // lives until the job ends
    MPI_Request request;
    MPI_Isend(&ack, 1, MPI_INT, error.failedRank(), kAckTag, comm, &request);
    // The failed rank aborts the job once all have reported; this rank ends
    // it itself only if that does not come.
    while (Clock::now() < deadline) {
      int done = 0;
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      sleepBriefly();
    }
  } else {
    for (int acks = 0; acks < size - 1 && Clock::now() < deadline;) {
      int flag = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, kAckTag, comm, &flag, &status);
      if (!flag) {
        sleepBriefly();
        continue;
      }
      int value;
      MPI_Recv(&value, 1, MPI_INT, status.MPI_SOURCE, kAckTag, comm, MPI_STATUS_IGNORE);
      ++acks;
    }
  }
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(comm, exitCode);
  std::_Exit(exitCode); // MPI_Abort does not return; if it did, still end
}

struct DistributedPipeline::Impl {
  const Bundle *bundle = nullptr;
  std::unique_ptr<Model> model;
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
  std::vector<StageRange> ranks;
  StageRange mine{0, 0};
  DistributedOptions options;
  std::vector<TensorInfo> takes, sends; // the cuts before and after this rank's stages
  // Two receive slots, kept from run to run: micro-batch i lands in slot
  // i % 2 while the stages work on the other.
  struct Slot {
    std::vector<std::vector<float>> data; // per tensor of `takes`
    std::vector<MPI_Request> requests;
  };
  Slot receive[2];
  bool failed = false;
  std::vector<RankProfile> profile;

  bool first() const { return rank == 0; }
  bool last() const { return rank == size - 1; }
  std::string name() const { return rankText(rank, mine); }

  // Tells every other rank, then throws here.
  [[noreturn]] void fail(Error::Kind kind, const std::string &cause) {
    std::string message = name() + ": " + cause;
    if (!failed) {
      failed = true;
      // Never freed: its sends may outlive this pipeline, up to the abort.
      auto *notice = new std::string(std::to_string(static_cast<int>(kind)) + ":" + message);
      for (int r = 0; r < size; ++r) {
        if (r == rank)
          continue;
        MPI_Request request;
        MPI_Isend(notice->data(), static_cast<int>(notice->size()), MPI_CHAR, r, kFailTag, comm,
                  &request);
        MPI_Request_free(&request); // the job ends by MPI_Abort, not by waiting for it
      }
    }
    throw DistributedError(kind, message, comm, rank, true);
  }

  void check(int code, const char *call) {
    if (code != MPI_SUCCESS)
      fail(Error::Kind::Device, std::string(call) + " failed: " + mpiErrorText(code));
  }

  // Throws the failure another rank reported, if one has.
  void checkNotices() {
    int flag = 0;
    MPI_Status status;
    check(MPI_Iprobe(MPI_ANY_SOURCE, kFailTag, comm, &flag, &status), "MPI_Iprobe");
    if (!flag)
      return;
    int length = 0;
    MPI_Get_count(&status, MPI_CHAR, &length);
    std::string notice(length, '\0');
    MPI_Recv(notice.data(), length, MPI_CHAR, status.MPI_SOURCE, kFailTag, comm,
             MPI_STATUS_IGNORE);
    failed = true;
    size_t colon = notice.find(':');
    auto kind = static_cast<Error::Kind>(std::atoi(notice.substr(0, colon).c_str()));
    throw DistributedError(kind, name() + " stopped: " + notice.substr(colon + 1), comm,
                           status.MPI_SOURCE, false);
  }

  // Polls until `requests` complete; returns the ms waited.
  double wait(std::vector<MPI_Request> &requests, std::vector<MPI_Status> *statuses,
              const std::string &what) {
    auto start = Clock::now();
    auto deadline = start + std::chrono::duration<double>(options.timeoutSeconds);
    if (statuses)
      statuses->resize(requests.size());
    for (;;) {
      int done = 0;
      check(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done,
                        statuses ? statuses->data() : MPI_STATUSES_IGNORE),
            "MPI_Testall");
      if (done)
        return ms(Clock::now() - start);
      checkNotices();
      if (Clock::now() > deadline)
        fail(Error::Kind::Device,
             "waited " + std::to_string(static_cast<int>(options.timeoutSeconds)) + " s for " +
                 what + " (is that rank stuck? the limit is DistributedOptions::timeoutSeconds, "
                        "--mpi-timeout)");
      sleepBriefly();
    }
  }

  void agree(const Record &local);
  TensorMap run(const TensorMap &inputs, size_t microBatches);
};

// Every rank gathers every rank's Record and judges them alike, so that all
// throw the same Error, or none does.
void DistributedPipeline::Impl::agree(const Record &local) {
  std::string text = local.encode();
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(size), offsets(size);
  std::vector<MPI_Request> requests(1);
  check(MPI_Iallgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm, requests.data()),
        "MPI_Iallgather");
  wait(requests, nullptr, "every rank to load its stages");
  for (int r = 1; r < size; ++r)
    offsets[r] = offsets[r - 1] + lengths[r - 1];
  std::string all(offsets.back() + lengths.back(), '\0');
  check(MPI_Iallgatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(),
                        MPI_CHAR, comm, requests.data()),
        "MPI_Iallgatherv");
  wait(requests, nullptr, "every rank's bundle description");
  std::vector<Record> records;
  for (int r = 0; r < size; ++r)
    records.push_back(Record::decode(all.substr(offsets[r], lengths[r])));

  std::string problems;
  Error::Kind kind = Error::Kind::Usage;
  for (const Record &r : records)
    if (!r.problem.empty()) {
      problems += (problems.empty() ? "" : "; ") + r.problem;
      kind = static_cast<Error::Kind>(r.problemKind);
    }
  if (!problems.empty())
    throw Error(kind, problems);
  auto list = [&](auto field) {
    std::string s;
    for (int r = 0; r < size; ++r)
      s += (r ? "; " : "") + std::string("rank ") + std::to_string(r) + ": " + field(records[r]);
    return s;
  };
  for (const Record &r : records)
    if (r.checksum != records[0].checksum && !options.mixedBundles)
      throw Error(Error::Kind::Bundle,
                  "the ranks loaded different bundles: " +
                      list([](const Record &x) { return x.name + " checksum " + x.checksum; }) +
                      "; every rank needs the same .spire file");
  for (const Record &r : records)
    if (r.map != records[0].map)
      throw Error(Error::Kind::Usage, "the ranks were given different stages per rank: " +
                                          list([](const Record &x) { return x.map; }));
  for (int r = 0; r + 1 < size; ++r)
    if (records[r].sends != records[r + 1].takes)
      throw Error(Error::Kind::Bundle, "the cut between " + rankText(r, ranks[r]) + " and " +
                                           rankText(r + 1, ranks[r + 1]) + " disagrees: it sends " +
                                           records[r].sends + " but the next stage takes " +
                                           records[r + 1].takes);
}

DistributedPipeline::DistributedPipeline(Context &context, const Bundle &bundle, uint32_t device,
                                         MPI_Comm comm, std::vector<StageRange> ranks,
                                         DistributedOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl &s = *impl_;
  s.bundle = &bundle;
  s.options = options;
  s.ranks = std::move(ranks);
  // A communicator of its own: its messages never meet the application's.
  int code = MPI_Comm_dup(comm, &s.comm);
  if (code != MPI_SUCCESS)
    throw Error(Error::Kind::Device, "MPI_Comm_dup failed: " + mpiErrorText(code));
  MPI_Comm_set_errhandler(s.comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(s.comm, &s.rank);
  MPI_Comm_size(s.comm, &s.size);

  // A rank that cannot load its stages still takes part in the agreement,
  // so that every rank learns why.
  Record local;
  char checksum[20];
  std::snprintf(checksum, sizeof checksum, "%016llx",
                static_cast<unsigned long long>(bundle.checksum()));
  local.checksum = checksum;
  local.name = bundle.name();
  local.map = mapText(s.ranks);
  try {
    if (s.ranks.size() != static_cast<size_t>(s.size))
      throw Error(Error::Kind::Usage, "stages per rank '" + local.map + "' name " +
                                          std::to_string(s.ranks.size()) + " rank(s) but " +
                                          std::to_string(s.size) + " are running");
    s.mine = s.ranks[s.rank];
    checkFixedSizes(bundle);
    const std::vector<StageInfo> &stages = bundle.stages();
    if (s.mine.second >= stages.size())
      throw Error(Error::Kind::Usage, "stage " + std::to_string(s.mine.second) +
                                          " does not exist: the model has " +
                                          std::to_string(stages.size()));
    s.takes = sortedByName(stages[s.mine.first].inputs);
    s.sends = sortedByName(stages[s.mine.second].outputs);
    local.takes = interfaceText(s.takes);
    local.sends = interfaceText(s.sends);
    s.model = std::make_unique<Model>(context, bundle, device);
  } catch (const Error &e) {
    local.problem = rankText(s.rank, s.mine) + ": " + e.what();
    local.problemKind = static_cast<int>(e.kind());
  } catch (const std::bad_alloc &) {
    local.problem = rankText(s.rank, s.mine) + ": out of host memory";
    local.problemKind = static_cast<int>(Error::Kind::Input);
  }
  s.agree(local);
}

DistributedPipeline::DistributedPipeline(DistributedPipeline &&) noexcept = default;
DistributedPipeline &DistributedPipeline::operator=(DistributedPipeline &&) noexcept = default;

DistributedPipeline::~DistributedPipeline() {
  // After a failure, transfers may still name the communicator; the job ends
  // by abortJob.
  if (impl_ && impl_->comm != MPI_COMM_NULL && !impl_->failed)
    MPI_Comm_free(&impl_->comm);
}

TensorMap DistributedPipeline::Impl::run(const TensorMap &inputs, size_t microBatches) {
  auto start = Clock::now();
  RankProfile p;
  p.rank = rank;
  p.stages = mine;

  // Rank 0 splits the batch and tells the others how.
  std::vector<TensorMap> parts;
  int64_t plan[2] = {0, 0}; // batch, micro-batches
  if (first()) {
    parts = splitMicroBatches(inputs, microBatches);
    plan[0] = inputs.begin()->second.shape[0];
    plan[1] = static_cast<int64_t>(parts.size());
  }
  // Point to point rather than a broadcast, so that a wait can name the
  // rank it waits for.
  std::vector<MPI_Request> requests;
  if (first()) {
    for (int r = 1; r < size; ++r) {
      requests.assign(1, MPI_REQUEST_NULL);
      check(MPI_Isend(plan, 2, MPI_INT64_T, r, kPlanTag, comm, requests.data()), "MPI_Isend");
      wait(requests, nullptr, rankText(r, ranks[r]) + " to take the run's plan");
    }
  } else {
    requests.resize(1);
    check(MPI_Irecv(plan, 2, MPI_INT64_T, 0, kPlanTag, comm, requests.data()), "MPI_Irecv");
    wait(requests, nullptr, rankText(0, ranks[0]) + " to start the run");
  }
  std::vector<int64_t> rows = microBatchSizes(plan[0], static_cast<size_t>(plan[1]));
  int64_t maxRows = *std::max_element(rows.begin(), rows.end());

  // MPI counts are ints: a bigger cut tensor needs smaller micro-batches.
  for (const std::vector<TensorInfo> *cut : {&takes, &sends})
    for (const TensorInfo &t : *cut)
      if (maxRows * rowSize(t) > std::numeric_limits<int>::max())
        throw Error(Error::Kind::Input,
                    "tensor '" + t.name + "' " + shapeText(t.shape) + " has over 2^31 values in "
                    "a micro-batch of " + std::to_string(maxRows) + " rows, more than MPI "
                    "sends at once; use more micro-batches");

  int previous = rank - 1;
  auto post = [&](size_t i) {
    Slot &slot = receive[i % 2];
    slot.data.resize(takes.size());
    slot.requests.assign(takes.size(), MPI_REQUEST_NULL);
    for (size_t t = 0; t < takes.size(); ++t) {
      slot.data[t].resize(static_cast<size_t>(maxRows * rowSize(takes[t])));
      check(MPI_Irecv(slot.data[t].data(), static_cast<int>(rows[i] * rowSize(takes[t])),
                      MPI_FLOAT, previous, static_cast<int>(t), comm, &slot.requests[t]),
            "MPI_Irecv");
    }
  };
  if (!first())
    for (size_t i = 0; i < std::min<size_t>(2, rows.size()); ++i)
      post(i);

  // Two send slots: micro-batch i's outputs stay alive until their sends end.
  TensorMap sending[2];
  std::vector<MPI_Request> sendRequests[2];
  std::vector<TensorMap> results(rows.size());
  std::string from = rankText(previous, first() ? mine : ranks[previous]);
  std::string to = last() ? "" : rankText(rank + 1, ranks[rank + 1]);
  for (size_t i = 0; i < rows.size(); ++i) {
    TensorViewMap views;
    if (first()) {
      for (const auto &[name, t] : parts[i])
        views[name] = TensorView{t.shape, t.data.data(), t.data.size()};
    } else {
      Slot &slot = receive[i % 2];
      std::vector<MPI_Status> statuses;
      double waited = wait(slot.requests, &statuses,
                           "micro-batch " + std::to_string(i) + " from " + from);
      (i == 0 ? p.idleMs : p.receiveMs) += waited;
      for (size_t t = 0; t < takes.size(); ++t) {
        int count = 0;
        MPI_Get_count(&statuses[t], MPI_FLOAT, &count);
        size_t expected = static_cast<size_t>(rows[i] * rowSize(takes[t]));
        if (static_cast<size_t>(count) != expected)
          fail(Error::Kind::Bundle, "micro-batch " + std::to_string(i) + " tensor '" +
                                        takes[t].name + "' from " + from + ": " +
                                        std::to_string(count) + " values, expected " +
                                        std::to_string(expected));
        std::vector<int64_t> shape = takes[t].shape;
        shape[0] = rows[i];
        views[takes[t].name] = TensorView{shape, slot.data[t].data(), expected};
        p.bytesReceived += expected * sizeof(float);
      }
    }
    auto computeStart = Clock::now();
    TensorMap out;
    try {
      out = model->runStagesOnViews(mine.first, mine.second, views);
    } catch (const Error &e) { // the shapes it names are the micro-batch's
      throw Error(e.kind(), "micro-batch " + std::to_string(i) + " of " +
                                std::to_string(rows.size()) + " (" + std::to_string(rows[i]) +
                                " of the batch's " + std::to_string(plan[0]) + " rows): " +
                                e.what());
    }
    p.computeMs += ms(Clock::now() - computeStart);
    if (!first() && i + 2 < rows.size())
      post(i + 2); // the slot's data is no longer read
    if (last()) {
      results[i] = std::move(out);
      continue;
    }
    std::vector<MPI_Request> &pending = sendRequests[i % 2];
    if (!pending.empty())
      p.sendMs += wait(pending, nullptr, "micro-batch " + std::to_string(i - 2) + " to reach " + to);
    sending[i % 2] = std::move(out);
    pending.assign(sends.size(), MPI_REQUEST_NULL);
    for (size_t t = 0; t < sends.size(); ++t) {
      const Tensor &tensor = sending[i % 2].at(sends[t].name);
      check(MPI_Isend(tensor.data.data(), static_cast<int>(tensor.data.size()), MPI_FLOAT,
                      rank + 1, static_cast<int>(t), comm, &pending[t]),
            "MPI_Isend");
      p.bytesSent += tensor.data.size() * sizeof(float);
    }
  }
  for (std::vector<MPI_Request> &pending : sendRequests)
    if (!pending.empty())
      p.sendMs += wait(pending, nullptr, "the last micro-batches to reach " + to);
  p.wallMs = ms(Clock::now() - start);
  p.idleMs += p.wallMs - p.computeMs - p.sendMs - p.receiveMs - p.idleMs;

  // Every rank's timing to the last one, which thereby knows the run is over
  // everywhere.
  double times[7] = {p.computeMs, p.sendMs, p.receiveMs, p.idleMs, p.wallMs,
                     static_cast<double>(p.bytesSent), static_cast<double>(p.bytesReceived)};
  profile = {p};
  if (!last()) {
    requests.assign(1, MPI_REQUEST_NULL);
    check(MPI_Isend(times, 7, MPI_DOUBLE, size - 1, kTimeTag, comm, requests.data()), "MPI_Isend");
    wait(requests, nullptr, rankText(size - 1, ranks[size - 1]) + " to take this rank's timing");
    return {};
  }
  profile.clear();
  for (int r = 0; r < size - 1; ++r) {
    requests.assign(1, MPI_REQUEST_NULL);
    check(MPI_Irecv(times, 7, MPI_DOUBLE, r, kTimeTag, comm, requests.data()), "MPI_Irecv");
    wait(requests, nullptr, rankText(r, ranks[r]) + " to finish the run");
    profile.push_back({r, ranks[r], times[0], times[1], times[2], times[3], times[4],
                       static_cast<uint64_t>(times[5]), static_cast<uint64_t>(times[6])});
  }
  profile.push_back(p);
  return joinMicroBatches(results, bundle->outputs());
}

TensorMap DistributedPipeline::run(const TensorMap &inputs, size_t microBatches) {
  Impl &s = *impl_;
  if (s.failed)
    throw Error(Error::Kind::Usage, s.name() + ": an earlier run failed; the job must end");
  try {
    return s.run(inputs, microBatches);
  } catch (const DistributedError &) {
    throw;
  } catch (const Error &e) {
    s.fail(e.kind(), e.what());
  } catch (const std::bad_alloc &) {
    s.fail(Error::Kind::Input, "out of host memory");
  } catch (const std::exception &e) {
    s.fail(Error::Kind::Device, e.what());
  }
}

int DistributedPipeline::rank() const { return impl_->rank; }
StageRange DistributedPipeline::stages() const { return impl_->mine; }
const Model &DistributedPipeline::model() const { return *impl_->model; }
std::vector<RankProfile> DistributedPipeline::lastProfile() const { return impl_->profile; }

} // namespace spire
