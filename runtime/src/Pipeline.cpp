// Stages on their own devices and threads, micro-batches flowing through
// them. Hand-offs between stages go through host tensors (the interface a
// stage would save to a file), so stages may sit on different devices.
#include "Sizes.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

namespace spire {

namespace {

// A queue of (micro-batch index, tensors) between two stages.
class Channel {
public:
  void push(size_t index, TensorMap tensors) {
    std::lock_guard<std::mutex> lock(mutex_);
    items_.emplace_back(index, std::move(tensors));
    ready_.notify_one();
  }
  // Waits for the next item; nullopt once the pipeline was cancelled.
  std::optional<std::pair<size_t, TensorMap>> pop(const std::atomic<bool> &cancelled) {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return cancelled || !items_.empty(); });
    if (cancelled)
      return std::nullopt;
    auto item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  void wake() {
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.notify_all();
  }
private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<size_t, TensorMap>> items_;
};

// Rows [begin, end) of every tensor (dim 0 is the batch).
TensorMap slice(const TensorMap &tensors, int64_t begin, int64_t end) {
  TensorMap out;
  for (const auto &[name, t] : tensors) {
    int64_t row = t.shape.empty() || t.shape[0] == 0 ? 0 : t.numel() / t.shape[0];
    Tensor part{t.shape, {}};
    part.shape[0] = end - begin;
    part.data.assign(t.data.begin() + begin * row, t.data.begin() + end * row);
    out[name] = std::move(part);
  }
  return out;
}

} // namespace

std::vector<int64_t> microBatchSizes(int64_t batch, size_t microBatches) {
  size_t parts = std::max<size_t>(1, std::min<size_t>(microBatches, std::max<int64_t>(batch, 1)));
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < parts; ++i)
    sizes.push_back(batch * static_cast<int64_t>(i + 1) / static_cast<int64_t>(parts) -
                    batch * static_cast<int64_t>(i) / static_cast<int64_t>(parts));
  return sizes;
}

std::vector<TensorMap> splitMicroBatches(const TensorMap &inputs, size_t microBatches) {
  if (inputs.empty())
    throw Error(Error::Kind::Input, "a pipeline run needs its inputs");
  int64_t batch = inputs.begin()->second.shape.empty() ? 0 : inputs.begin()->second.shape[0];
  // Slicing trusts every input to hold `batch` whole rows; the stages check
  // the rest.
  for (const auto &[name, t] : inputs)
    if (t.shape.empty() || t.shape[0] != batch || static_cast<int64_t>(t.data.size()) != t.numel())
      throw Error(Error::Kind::Input, "input '" + name + "': shape " + shapeText(t.shape) +
                                          " with " + std::to_string(t.data.size()) +
                                          " values is not " + std::to_string(batch) +
                                          " whole rows (the batch of the first input)");
  std::vector<TensorMap> parts;
  int64_t begin = 0;
  for (int64_t rows : microBatchSizes(batch, microBatches)) {
    parts.push_back(slice(inputs, begin, begin + rows));
    begin += rows;
  }
  return parts;
}

TensorMap joinMicroBatches(const std::vector<TensorMap> &parts,
                           const std::vector<TensorInfo> &names) {
  TensorMap joined;
  for (const TensorInfo &info : names) {
    Tensor whole{parts.at(0).at(info.name).shape, {}};
    whole.shape[0] = 0;
    for (const TensorMap &part : parts) {
      const Tensor &t = part.at(info.name);
      whole.shape[0] += t.shape[0];
      whole.data.insert(whole.data.end(), t.data.begin(), t.data.end());
    }
    joined[info.name] = std::move(whole);
  }
  return joined;
}

struct Pipeline::Impl {
  const Bundle *bundle;
  std::vector<std::unique_ptr<Model>> stages;
  // The last run's sizes and the pipelines its stages created for them.
  std::mutex mutex;
  SizeMap sizes;
  size_t newPipelines = 0;
  double newPipelineMs = 0;
};

Pipeline::Pipeline(Context &context, const Bundle &bundle, std::vector<uint32_t> placement)
    : impl_(std::make_unique<Impl>()) {
  impl_->bundle = &bundle;
  if (placement.size() != bundle.stages().size())
    throw Error(Error::Kind::Usage, "the placement names " + std::to_string(placement.size()) +
                                        " device(s) but the model has " +
                                        std::to_string(bundle.stages().size()) + " stage(s)");
  for (uint32_t device : placement)
    impl_->stages.push_back(std::make_unique<Model>(context, bundle, device));
}

Pipeline::Pipeline(Pipeline &&) noexcept = default;
Pipeline &Pipeline::operator=(Pipeline &&) noexcept = default;
Pipeline::~Pipeline() = default;

TensorMap Pipeline::run(const TensorMap &inputs, size_t microBatches, const SizeMap &sizes) {
  std::vector<TensorMap> parts = splitMicroBatches(inputs, microBatches);
  // Every stage runs with the sizes the model's inputs fix: a later stage's
  // inputs alone may not fix them.
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto &[name, t] : inputs)
    shapes[name] = t.shape;
  const Bundle::Impl &bundle = impl_->bundle->impl();
  SizeMap fixed = sizeMap(bundle, resolveSizes(bundle, bundle.stages[0].inputs, shapes, sizes));
  size_t count = impl_->stages.size();

  // channels[k] feeds stage k; channels[count] collects the outputs.
  std::vector<Channel> channels(count + 1);
  std::atomic<bool> cancelled = false;
  std::exception_ptr failure;
  std::mutex failureMutex;
  auto cancel = [&](std::exception_ptr e) {
    {
      std::lock_guard<std::mutex> lock(failureMutex);
      if (!failure)
        failure = e;
    }
    cancelled = true;
    for (Channel &c : channels)
      c.wake(); // under each channel's lock: no waiter misses it
  };

  for (size_t i = 0; i < parts.size(); ++i)
    channels[0].push(i, std::move(parts[i]));
  // Per stage, its thread's only: the pipelines its micro-batches created.
  std::vector<size_t> newPipelines(count, 0);
  std::vector<double> newPipelineMs(count, 0);
  std::vector<std::thread> threads;
  for (size_t k = 0; k < count; ++k)
    threads.emplace_back([&, k] {
      try {
        for (size_t n = 0; n < parts.size(); ++n) {
          auto item = channels[k].pop(cancelled);
          if (!item)
            return;
          TensorMap out = impl_->stages[k]->runStages(k, k, item->second, fixed);
          newPipelines[k] += impl_->stages[k]->lastNewPipelines();
          newPipelineMs[k] += impl_->stages[k]->lastNewPipelineMs();
          channels[k + 1].push(item->first, std::move(out));
        }
      } catch (...) {
        cancel(std::current_exception());
      }
    });
  for (std::thread &t : threads)
    t.join();
  if (failure)
    std::rethrow_exception(failure);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->sizes = fixed;
    impl_->newPipelines = std::accumulate(newPipelines.begin(), newPipelines.end(), size_t{0});
    impl_->newPipelineMs = std::accumulate(newPipelineMs.begin(), newPipelineMs.end(), 0.0);
  }

  // Reassemble the micro-batches in order, keeping the model outputs.
  std::vector<TensorMap> results(parts.size());
  for (size_t n = 0; n < parts.size(); ++n) {
    auto item = channels[count].pop(cancelled);
    results[item->first] = std::move(item->second);
  }
  return joinMicroBatches(results, impl_->bundle->outputs());
}

SizeMap Pipeline::lastSizes() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->sizes;
}
size_t Pipeline::lastNewPipelines() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->newPipelines;
}
double Pipeline::lastNewPipelineMs() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->newPipelineMs;
}

} // namespace spire
