// The Spire runtime: load a compiled bundle and run it, whole or stage by
// stage, on a Vulkan device. Depends only on the Vulkan loader.
//
// Errors are reported by throwing spire::Error, whose message names the cause
// (the bundle offset, the tensor, or the Vulkan call and its VkResult).
#pragma once

#include "spire/TargetDescription.h"

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace spire {

class Error : public std::runtime_error {
public:
  enum class Kind {
    Bundle,  // the bundle is unreadable, corrupt or of another version
    Input,   // a caller-supplied tensor does not match what the model expects
    Device,  // no Vulkan device, or a Vulkan call failed
    Usage,   // the API was called wrongly (unknown stage, ...)
  };
  Error(Kind kind, const std::string &message)
      : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

private:
  Kind kind_;
};

enum class DType { F32 };

// A tensor's description. shape[0] == -1 means the batch is chosen at run time.
struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
  // Where a dim other than the batch depends on the bundle's size symbols
  // (shape holds -1 there): per dim, its expression as text ("L",
  // "(L + -5) floordiv 2 + 1") and as the bundle's SizeExpr program, both
  // empty for a fixed dim. Empty vectors when every such dim is fixed.
  std::vector<std::string> dimText;
  std::vector<std::vector<int64_t>> dimCode;
};

// A size symbol of a bundle compiled without binding it (the spec's `sizes`
// section): one bundle serves every value in [min, max] that is a multiple
// of multipleOf.
struct SizeSymbol {
  std::string name;
  int64_t min = 1, max = 1, multipleOf = 1;
};

// "L in [5, 4096]", with " (multiples of 8)" when it steps: for messages.
std::string rangeText(const SizeSymbol &symbol);

// Size symbols' values by name, e.g. {"L", 300}.
using SizeMap = std::map<std::string, int64_t>;

// A dense, row-major host tensor.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  int64_t numel() const;
};

using TensorMap = std::map<std::string, Tensor>;

// "[N, 3, 32, 32]": a shape for messages, a negative (dynamic) dim as N.
std::string shapeText(const std::vector<int64_t> &shape);
// The same with symbolic dims as their expressions: "[N, 32, (L + -5) floordiv 2 + 1]".
std::string shapeText(const TensorInfo &tensor);

// A borrowed dense, row-major host tensor: `size` floats at `data`, read
// only during the call it is passed to (how the Python bindings pass NumPy
// arrays without copying them into Tensors).
struct TensorView {
  std::vector<int64_t> shape;
  const float *data = nullptr;
  size_t size = 0;
};

using TensorViewMap = std::map<std::string, TensorView>;

struct StageInfo {
  std::string name;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  size_t dispatchCount = 0; // in a run (a layer's size classes count once)
  uint64_t arenaBytesPerSample = 0;
};

// A parsed, verified bundle. Owns (or borrows) the bytes; cheap to move.
class Bundle {
public:
  // Reads and verifies a bundle file: magic, version, sizes, checksum, and
  // the manifest's FlatBuffer; throws Error(Kind::Bundle) naming the problem.
  static Bundle fromFile(const std::string &path);
  // Verifies a bundle in memory. With copy == false the caller keeps `data`
  // alive for the Bundle's lifetime (e.g. a bundle embedded in the binary).
  static Bundle fromMemory(const void *data, size_t size, bool copy = true);

  Bundle(Bundle &&) noexcept;
  Bundle &operator=(Bundle &&) noexcept;
  ~Bundle();

  const std::string &name() const;
  // -1: any batch; otherwise the only batch size the bundle accepts.
  int64_t batch() const;
  const std::vector<TensorInfo> &inputs() const;
  const std::vector<TensorInfo> &outputs() const;
  const std::vector<StageInfo> &stages() const;
  // The spec's default device per stage for pipelined runs; empty if none.
  const std::vector<uint32_t> &placement() const;
  size_t kernelCount() const;
  uint64_t weightsBytes() const;
  // The size symbols its shapes, grids and kernels depend on; empty when
  // every size is fixed.
  const std::vector<SizeSymbol> &sizes() const;
  // `tensor`'s shape (one of this bundle's) for the symbols' values `sizes`
  // and `batch` in a dynamic batch dim; throws Error(Input) when a symbol is
  // missing, unknown or out of its range.
  std::vector<int64_t> shapeAt(const TensorInfo &tensor, const SizeMap &sizes, int64_t batch) const;
  // The profile its kernels were configured for (`spire compile --target`);
  // name empty in bundles written before bundles recorded it.
  const TargetDescription &target() const;
  // The header's checksum of everything after the header: equal checksums,
  // the same bundle (how the ranks of a distributed run agree on theirs).
  uint64_t checksum() const;

  struct Impl;
  const Impl &impl() const { return *impl_; }

private:
  explicit Bundle(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class DeviceKind { DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu, Other };

struct DeviceInfo {
  uint32_t index = 0;  // position in vkEnumeratePhysicalDevices
  std::string name;
  DeviceKind kind = DeviceKind::Other;
  std::string driver;
  uint32_t apiVersion = 0;
};

struct ContextOptions {
  // Enables VK_LAYER_KHRONOS_validation and turns every message it reports
  // into an Error at the next call. Also on when SPIRE_VALIDATION=1.
  bool validation = false;
  // Uploads weights through a staging buffer even where device memory is
  // host visible (lavapipe, integrated GPUs), as discrete GPUs need; lets
  // tests cover that path on any device.
  bool stagedUploads = false;
  // Treats every bundle as untrusted (docs/RELIABILITY.md, "Trust model"):
  // devices open with robustBufferAccess, and a device without it is
  // refused; each kernel's SPIR-V must pass a strict check (logical
  // addressing, buffers only through the bindings its dispatches give it)
  // and, as `validation` is then on too, the validation layer's SPIR-V
  // validator, before a driver sees it. Also on when SPIRE_UNTRUSTED=1.
  bool untrusted = false;
  // Where compiled pipelines are kept between processes, so that loading the
  // same bundle again on the same device and driver can skip the driver's
  // compiles: a directory, or "off". Empty: $SPIRE_PIPELINE_CACHE (a
  // directory or "off") if set, else $XDG_CACHE_HOME/spire, else
  // ~/.cache/spire. A missing, stale or corrupt file is ignored.
  std::string pipelineCache;
};

// A Vulkan instance. Devices are created from it.
class Context {
public:
  explicit Context(ContextOptions options = {});
  Context(Context &&) noexcept;
  Context &operator=(Context &&) noexcept;
  ~Context();

  std::vector<DeviceInfo> devices() const;
  // Default choice: discrete GPU, then integrated, then virtual, then CPU
  // (e.g. lavapipe); ties go to the lower index.
  uint32_t defaultDevice() const;
  // Validation messages seen so far (empty when validation is off).
  std::vector<std::string> validationMessages() const;

  struct Impl;
  Impl &impl() const { return *impl_; }

private:
  std::unique_ptr<Impl> impl_;
};

// A device in #spire.target's terms, for `spire devices --profile` and for
// telling a bundle compiled for another family. description.name is the
// built-in profile that fits the device: by vendor, lavapipe for Mesa's
// llvmpipe, generic for the rest.
struct DeviceProfile {
  uint32_t vendorId = 0;
  std::string deviceName;
  uint32_t driverVersion = 0; // vendor-specific encoding
  TargetDescription description;
};

DeviceProfile deviceProfile(const Context &context, uint32_t deviceIndex);

// What to warn of before running `bundle` on `device` when the driver keeps
// fewer compiled kernels than the bundle has; empty where they fit.
// llvmpipe (lavapipe) keeps 1,024 compiled compute shaders per context
// (Mesa's LP_MAX_SHADER_VARIANTS) and evicts the least recently used, so
// past that every run compiles some again: DenseNet-201 with 2,115 kernels
// ran 2.9x slower than with 221 (docs/PERFORMANCE.md).
std::string kernelCacheWarning(const Bundle &bundle, const DeviceProfile &device);

// Profiling record of one dispatch (from Vulkan timestamp queries).
struct DispatchTime {
  std::string layer;
  double ms = 0;
};

// A bundle loaded onto one device: pipelines, weights and descriptor sets are
// created once and reused by every run.
//
// Thread safety: a Model may be used from several threads at once. Its runs
// share one command buffer and staging buffer, so a mutex per Model makes
// them take turns (run, runStages and the profiling calls lock it); for runs
// that overlap, load one Model per thread. lastDeviceMs() and lastProfile()
// describe the latest run from any thread.
class Model {
public:
  Model(Context &context, const Bundle &bundle, uint32_t deviceIndex);
  Model(Model &&) noexcept;
  Model &operator=(Model &&) noexcept;
  ~Model();

  const Bundle &bundle() const;
  const DeviceInfo &device() const;

  // Runs the whole model. `inputs` must hold exactly the model's inputs, with
  // shapes matching (batch free when dynamic); returns the model's outputs.
  //
  // A bundle with size symbols (Bundle::sizes) takes their values from
  // `sizes`, else from the inputs' shapes: a dim that is a lone symbol binds
  // it, other symbols are searched for among their range's values. Every
  // symbolic dim must then equal its expression's value. Throws
  // Error(Input) for a value out of range, a dim that no value fits, or one
  // that several fit (then give the symbol in `sizes`).
  TensorMap run(const TensorMap &inputs, const SizeMap &sizes = {});
  // Runs stages [first, last] (0-based, inclusive): inputs are stage first's
  // interface, outputs are stage last's interface.
  TensorMap runStages(size_t first, size_t last, const TensorMap &inputs,
                      const SizeMap &sizes = {});
  // runStages on borrowed inputs, read where they are.
  TensorMap runStagesOnViews(size_t first, size_t last, const TensorViewMap &inputs,
                             const SizeMap &sizes = {});

  // Throws Error before anything is allocated when `batch` samples through
  // stages [first, last] would not fit this device (a binding beyond
  // maxStorageBufferRange, a buffer beyond maxMemoryAllocationSize, more than
  // its memory heaps hold); the message names the largest batch that fits.
  // run and runStages check this themselves; call it to fail before making
  // a large input.
  void checkBatch(int64_t batch, size_t first, size_t last) const;

  // Device time of the last run, in ms, and per dispatch when profiling is on.
  void setProfiling(bool on);
  double lastDeviceMs() const;
  std::vector<DispatchTime> lastProfile() const;
  // Wall time the driver spent creating this model's shader modules and
  // pipelines while it loaded (pipelines are created on every core; a driver
  // may also compile lazily, at first use).
  double pipelineCreateMs() const;
  // The on-disk pipeline cache file of this bundle, device and driver
  // (empty when the cache is off), and whether this load found a valid one
  // there and handed it to the driver (a warm load).
  const std::string &pipelineCacheFile() const;
  bool pipelineCacheWarm() const;
  // The size symbols' values of the last run (empty for a bundle without
  // symbols), and the pipelines it created for them: a kernel that takes the
  // sizes as specialization constants gets one pipeline per distinct value
  // it meets, made at the first run with that value, and kept.
  SizeMap lastSizes() const;
  size_t lastNewPipelines() const;
  double lastNewPipelineMs() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// Micro-batching, as every pipelined run does it: a batch of `batch` rows
// goes in min(microBatches, batch) nearly equal parts (at least one), part i
// being rows [batch*i/parts, batch*(i+1)/parts). Returns each part's rows.
std::vector<int64_t> microBatchSizes(int64_t batch, size_t microBatches);
// `inputs` (whole rows of one batch, dim 0) cut into microBatchSizes' parts;
// throws Error(Input) naming a tensor whose rows disagree with the first's.
std::vector<TensorMap> splitMicroBatches(const TensorMap &inputs, size_t microBatches);
// The tensors `names` of every part, joined along dim 0 in order.
TensorMap joinMicroBatches(const std::vector<TensorMap> &parts,
                           const std::vector<TensorInfo> &names);

// A model's stages placed on devices and run as a pipeline over
// micro-batches (GPipe-style fill and drain): while stage k works on
// micro-batch i, stage k+1 works on micro-batch i-1. Each stage has its own
// Vulkan device and queue (several stages may share a physical device), and
// one host thread feeding it. The result equals Model::run bit for bit.
// run may be called from several threads: its stages' Models take turns.
class Pipeline {
public:
  // placement[k]: the device index of stage k (one entry per stage).
  Pipeline(Context &context, const Bundle &bundle, std::vector<uint32_t> placement);
  Pipeline(Pipeline &&) noexcept;
  Pipeline &operator=(Pipeline &&) noexcept;
  ~Pipeline();

  // Splits the batch into `microBatches` nearly equal parts (at most the
  // batch), runs them through the stages, and returns the model outputs.
  // Size symbols are found as Model::run finds them, once for every stage.
  TensorMap run(const TensorMap &inputs, size_t microBatches, const SizeMap &sizes = {});
  // As Model's: the size symbols' values of the last run (empty for a bundle
  // without symbols), and the pipelines its stages created for them.
  SizeMap lastSizes() const;
  size_t lastNewPipelines() const;
  double lastNewPipelineMs() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace spire
