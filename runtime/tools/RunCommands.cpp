// spire run / bench / devices / peak: the verbs that load a bundle into the
// runtime, for `spire` and the runtime-only `spire-run`.
#include "spire/tools/RunCommands.h"

#include "spire/Npy.h"
#include "spire/PeakProbe.h"
#include "spire/SizeSettings.h"
#include "spire/Runtime.h"
#include "spire/SplitMix.h"
#include "spire/tools/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

// The peak probe's bundle, built by the compiler (PeakProbeBundle.cpp is
// generated from runtime/tools/peak_probe.spire).
extern const unsigned char kPeakProbeBundle[];
extern const size_t kPeakProbeBundleSize;

namespace spire::cli {
namespace {

const char *kindName(DeviceKind kind) {
  switch (kind) {
  case DeviceKind::DiscreteGpu:
    return "discrete GPU";
  case DeviceKind::IntegratedGpu:
    return "integrated GPU";
  case DeviceKind::VirtualGpu:
    return "virtual GPU";
  case DeviceKind::Cpu:
    return "CPU";
  case DeviceKind::Other:
    break;
  }
  return "other";
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (shape[i] < 0 ? std::string("N") : std::to_string(shape[i]));
  return s + "]";
}

} // namespace

int exitCodeFor(const Error &e) {
  switch (e.kind()) {
  case Error::Kind::Bundle:
  case Error::Kind::Input:
    return kExitSpec;
  case Error::Kind::Usage:
    return kExitUsage;
  case Error::Kind::Device:
    break;
  }
  return kExitDevice;
}

namespace {

// A whole decimal number: digits only, nothing before or after them. ("-5",
// "0x2" and "1zz" are not numbers; "010" is ten, not octal.)
std::optional<uint64_t> parseDecimal(const std::string &text) {
  uint64_t value = 0;
  const char *end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end)
    return std::nullopt;
  return value;
}

// For a numeric option: a whole decimal number in [lo, hi], handed on to
// CLI11 in plain digits (CLI11 alone reads "010" as octal, "0x2" as hex and
// takes any negative number).
CLI::Validator wholeNumber(uint64_t lo, uint64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string &text) -> std::string {
        std::optional<uint64_t> value = parseDecimal(text);
        if (!value || *value < lo || *value > hi)
          return "'" + text + "' is not a whole number from " + std::to_string(lo) + " to " +
                 std::to_string(hi);
        text = std::to_string(*value);
        return "";
      },
      "INT in [" + std::to_string(lo) + " - " + std::to_string(hi) + "]");
}

} // namespace

SizeMap parseSizes(const std::vector<std::string> &sets) {
  SizeMap sizes;
  if (std::optional<std::string> error = parseSizeSettings(sets, sizes))
    throw Error(Error::Kind::Usage, *error);
  return sizes;
}

int64_t inputBatch(const Bundle &bundle, int requested) {
  if (bundle.batch() > 0 && requested > 0 && requested != bundle.batch())
    throw Error(Error::Kind::Usage, "--batch " + std::to_string(requested) +
                                        ": this bundle was compiled for batch " +
                                        std::to_string(bundle.batch()) + " only");
  return bundle.batch() > 0 ? bundle.batch() : std::max(requested, 1);
}

namespace {

// Seeded inputs for a run without --input: uniform in [-1, 1), the same
// generator and seed (0) as the compiler's random weights.
Tensor randomTensor(std::vector<int64_t> shape, uint64_t seed) {
  Tensor t{std::move(shape), {}};
  t.data.resize(t.numel());
  SplitMix64 rng{seed};
  for (float &v : t.data)
    v = rng.uniform(-1.0f, 1.0f);
  return t;
}

struct RunSetup {
  Context context;
  Bundle bundle;
  uint32_t device;
};

RunSetup open(const RunOptions &o) {
  ContextOptions options;
  options.validation = o.validate;
  options.untrusted = o.untrusted;
  Context context(options);
  Bundle bundle = Bundle::fromFile(o.bundle);
  auto devices = context.devices();
  if (devices.empty())
    throw Error(Error::Kind::Device, "no Vulkan device found (is a driver such as "
                                     "mesa-vulkan-drivers installed?)");
  uint32_t device = o.device >= 0 ? static_cast<uint32_t>(o.device) : context.defaultDevice();
  if (device >= devices.size())
    throw Error(Error::Kind::Usage, "--device " + std::to_string(device) + ": there are " +
                                        std::to_string(devices.size()) +
                                        " device(s); see `spire devices`");
  return {std::move(context), std::move(bundle), device};
}

// --set's sizes for seeded random inputs, which need every symbol's value.
SizeMap sizesForRandomInputs(const RunOptions &o, const Bundle &bundle) {
  SizeMap sizes = parseSizes(o.sets);
  auto known = [&](const auto &set) {
    return std::any_of(bundle.sizes().begin(), bundle.sizes().end(),
                       [&](const SizeSymbol &s) { return s.name == set.first; });
  };
  // An unknown name is the runtime's to report (Bundle::shapeAt), first.
  if (!std::all_of(sizes.begin(), sizes.end(), known))
    return sizes;
  for (const SizeSymbol &s : bundle.sizes())
    if (!sizes.count(s.name))
      throw Error(Error::Kind::Usage, "this bundle serves " + rangeText(s) +
                                          ": give its value with --set " + s.name +
                                          "=SIZE for seeded random inputs, or the inputs with "
                                          "--input");
  return sizes;
}

// After a run: its size symbols' values, and the pipelines it made for them
// (a kernel specialized for sizes not met before); "" for a bundle of
// fixed sizes. `Runner`: a Model or a Pipeline.
template <typename Runner> std::string sizesNote(const Runner &runner) {
  std::string text;
  for (const auto &[name, value] : runner.lastSizes())
    text += (text.empty() ? "" : ", ") + name + " = " + std::to_string(value);
  if (text.empty())
    return text;
  char made[96];
  std::snprintf(made, sizeof made, " (%zu new pipeline(s), %.3f ms)", runner.lastNewPipelines(),
                runner.lastNewPipelineMs());
  return text + made;
}

// Once per device: a bundle runs on any device that can run it, but its
// tiles were chosen for its target's family, so say when a device fits
// another profile (bundles written before bundles recorded their target
// say nothing); and say when the driver keeps fewer compiled kernels than
// the bundle has (kernelCacheWarning).
void warnAboutDevices(const Context &context, const Bundle &bundle,
                      const std::vector<uint32_t> &devices) {
  const std::string &target = bundle.target().name;
  for (uint32_t device : std::set<uint32_t>(devices.begin(), devices.end())) {
    DeviceProfile profile = deviceProfile(context, device);
    const std::string &fits = profile.description.name;
    if (!target.empty() && fits != target)
      std::fprintf(stderr,
                   "warning: bundle compiled for target '%s' runs on '%s', whose profile is "
                   "'%s'; recompile with --target %s for its tuning\n",
                   target.c_str(), profile.deviceName.c_str(), fits.c_str(), fits.c_str());
    if (std::string cache = kernelCacheWarning(bundle, profile); !cache.empty())
      std::fprintf(stderr, "warning: %s\n", cache.c_str());
  }
}

// Parses "A..B", "A" into an inclusive stage range.
std::pair<size_t, size_t> parseStages(const std::string &text, size_t count) {
  size_t dots = text.find("..");
  std::optional<uint64_t> first = parseDecimal(text.substr(0, dots));
  std::optional<uint64_t> last = dots == std::string::npos ? first : parseDecimal(text.substr(dots + 2));
  if (first && last && *first <= *last && *last < count)
    return {*first, *last};
  throw Error(Error::Kind::Usage, "--stages '" + text + "': expected K or A..B with 0 <= A <= B < " +
                                      std::to_string(count));
}

void printDigest(const std::string &name, const Tensor &t) {
  double sum = 0, absMax = 0;
  for (float v : t.data) {
    sum += v;
    absMax = std::max(absMax, static_cast<double>(std::fabs(v)));
  }
  std::printf("output %s %s: mean %.6g, max |x| %.6g\n ", name.c_str(), shapeText(t.shape).c_str(),
              t.data.empty() ? 0.0 : sum / t.data.size(), absMax);
  size_t shown = std::min<size_t>(t.data.size(), 10);
  for (size_t i = 0; i < shown; ++i)
    std::printf(" %.6g", t.data[i]);
  std::printf("%s\n", t.data.size() > shown ? " ..." : "");
}

bool isSafetensors(const std::string &path) {
  return path.size() > 12 && path.substr(path.size() - 12) == ".safetensors";
}

// All tensors of a .safetensors file: a whole stage interface at once.
TensorMap readInterface(const std::string &path) {
  std::vector<NamedTensor> tensors;
  if (std::string error = safetensors::read(path, tensors); !error.empty())
    throw Error(Error::Kind::Input, path + ": " + error);
  TensorMap out;
  for (NamedTensor &t : tensors)
    out[t.name] = Tensor{std::move(t.shape), std::move(t.data)};
  return out;
}

void writeInterface(const std::string &path, const TensorMap &tensors) {
  std::vector<NamedTensor> named;
  for (const auto &[name, t] : tensors)
    named.push_back({name, t.shape, t.data});
  if (std::string error = safetensors::write(path, named); !error.empty())
    throw Error(Error::Kind::Input, path + ": " + error);
}

// --compare [NAME=]FILE.npy: the output's error relative to a reference,
// ||out - ref|| / ||ref|| (the L2 norms over every element); whether it is
// within the tolerance.
bool compareOutput(const TensorMap &outputs, const std::string &arg, double tolerance) {
  size_t eq = arg.find('=');
  std::string name = eq == std::string::npos ? "" : arg.substr(0, eq);
  std::string file = eq == std::string::npos ? arg : arg.substr(eq + 1);
  if (name.empty() && outputs.size() != 1)
    throw Error(Error::Kind::Usage, "--compare FILE.npy takes one output; this run has " +
                                        std::to_string(outputs.size()) +
                                        ": use --compare NAME=FILE.npy for each");
  auto out = name.empty() ? outputs.begin() : outputs.find(name);
  if (out == outputs.end())
    throw Error(Error::Kind::Usage, "--compare " + arg + ": the run has no output '" + name + "'");
  Tensor ref = readNpy(file);
  if (ref.shape != out->second.shape)
    throw Error(Error::Kind::Input, file + ": a reference of shape " + shapeText(ref.shape) +
                                        " for output '" + out->first + "' of shape " +
                                        shapeText(out->second.shape));
  double diff = 0, norm = 0;
  for (size_t i = 0; i < ref.data.size(); ++i) {
    double d = static_cast<double>(out->second.data[i]) - ref.data[i];
    diff += d * d;
    norm += static_cast<double>(ref.data[i]) * ref.data[i];
  }
  double rel = std::sqrt(diff) / (norm > 0 ? std::sqrt(norm) : 1.0);
  bool ok = rel <= tolerance; // false for NaN too
  std::printf("compare %s: rel L2 %.3g against %s (tolerance %.3g): %s\n", out->first.c_str(), rel,
              file.c_str(), tolerance, ok ? "ok" : "MISMATCH");
  return ok;
}

// "0:0,1:1" -> device per stage; stages not named go to `fallback`.
std::vector<uint32_t> parsePlacement(const std::string &text, size_t stages, uint32_t fallback,
                                     size_t devices) {
  std::vector<uint32_t> placement(stages, fallback);
  size_t at = 0;
  while (!text.empty() && at <= text.size()) {
    size_t comma = text.find(',', at);
    std::string item = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    size_t colon = item.find(':');
    std::optional<uint64_t> stage = parseDecimal(item.substr(0, colon));
    std::optional<uint64_t> device =
        colon == std::string::npos ? std::nullopt : parseDecimal(item.substr(colon + 1));
    if (!stage || !device || *stage >= stages || *device >= devices)
      throw Error(Error::Kind::Usage, "--place '" + text + "': expected STAGE:DEVICE,... with " +
                                          std::to_string(stages) + " stage(s) and " +
                                          std::to_string(devices) + " device(s)");
    placement[*stage] = static_cast<uint32_t>(*device);
    if (comma == std::string::npos)
      break;
    at = comma + 1;
  }
  return placement;
}

// After a load's time: the driver's pipeline creation in it (the most of a
// cold load), and what the on-disk pipeline cache did.
std::string loadNote(const Model &model) {
  std::string cache = model.pipelineCacheFile().empty() ? "off"
                      : model.pipelineCacheWarm()       ? "warm"
                                                        : "cold";
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", model.pipelineCreateMs());
  return std::string(" (") + ms + " ms of it creating pipelines in the driver; pipeline cache " +
         cache + ")";
}

} // namespace

// Load, first run and steady runs apart: the first run also pays for the
// driver's deferred compiles and first-use allocations, often many times a
// steady run, so one number for it would mislead.
void printRunTimes(double loadMs, const std::string &loadNote, double firstMs,
                   const std::vector<double> &wall, const std::vector<double> &device) {
  std::printf("load   %.3f ms%s\n", loadMs, loadNote.c_str());
  std::printf("first  %.3f ms (first run: also the driver's deferred compiles)\n", firstMs);
  if (wall.empty()) {
    std::printf("steady: not measured; add --iters K for K more runs\n");
    return;
  }
  std::printf("steady host   min %.3f ms  median %.3f ms (%zu runs)\n", wall.front(),
              wall[wall.size() / 2], wall.size());
  if (!device.empty())
    std::printf("steady device min %.3f ms  median %.3f ms\n", device.front(),
                device[device.size() / 2]);
}

TensorMap readInputs(const RunOptions &o, const Bundle &bundle,
                     const std::vector<TensorInfo> &wanted, int64_t batch) {
  TensorMap inputs;
  for (const std::string &arg : o.inputs) {
    if (isSafetensors(arg) && arg.find('=') == std::string::npos) {
      inputs.merge(readInterface(arg));
      continue;
    }
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(Error::Kind::Usage, "--input expects NAME=FILE.npy or FILE.safetensors, got '" +
                                          arg + "'");
    inputs[arg.substr(0, eq)] = readNpy(arg.substr(eq + 1));
  }
  if (o.inputs.empty()) {
    SizeMap sizes = sizesForRandomInputs(o, bundle);
    for (size_t i = 0; i < wanted.size(); ++i) {
      inputs[wanted[i].name] = randomTensor(bundle.shapeAt(wanted[i], sizes, batch), i);
      std::printf("input %s %s: seeded random (seed %zu)\n", wanted[i].name.c_str(),
                  shapeText(inputs[wanted[i].name].shape).c_str(), i);
    }
  }
  return inputs;
}

int writeOutputs(const RunOptions &o, const TensorMap &outputs) {
  if (isSafetensors(o.outputFile)) {
    writeInterface(o.outputFile, outputs);
  } else if (!o.outputFile.empty()) {
    if (outputs.size() != 1)
      throw Error(Error::Kind::Usage, "--output FILE.npy takes one output; this run has " +
                                          std::to_string(outputs.size()) +
                                          ": use --output-dir or --output FILE.safetensors");
    writeNpy(o.outputFile, outputs.begin()->second);
  }
  for (const auto &[name, tensor] : outputs) {
    printDigest(name, tensor);
    if (!o.outputDir.empty())
      writeNpy(o.outputDir + "/" + name + ".npy", tensor);
  }
  bool matches = true;
  for (const std::string &reference : o.compare)
    matches &= compareOutput(outputs, reference, o.tolerance);
  return matches ? kExitOk : kExitMismatch;
}

namespace {

int runRun(const RunOptions &o) {
  RunSetup s = open(o);
  const auto &stages = s.bundle.stages();
  auto [first, last] = o.stages.empty() ? std::pair<size_t, size_t>{0, stages.size() - 1}
                                        : parseStages(o.stages, stages.size());
  const std::vector<TensorInfo> &wanted = stages[first].inputs;
  int64_t batch = inputBatch(s.bundle, o.batch);
  SizeMap sizes = parseSizes(o.sets);
  // Before the run: a directory that cannot be made should not cost one.
  std::error_code made;
  if (!o.outputDir.empty() && !std::filesystem::create_directories(o.outputDir, made) && made)
    throw Error(Error::Kind::Input,
                "--output-dir " + o.outputDir + ": cannot create the directory: " + made.message());

  // The model loads before the inputs are made, so a batch the device
  // cannot hold fails with advice instead of first filling host memory.
  bool pipelined = o.microBatches > 0 || !o.place.empty();
  std::optional<Model> model;
  double loadMs = 0;
  if (!pipelined) {
    warnAboutDevices(s.context, s.bundle, {s.device});
    auto loadStart = Clock::now();
    model.emplace(s.context, s.bundle, s.device);
    loadMs = ms(Clock::now() - loadStart);
    model->checkBatch(batch, first, last);
  }

  TensorMap inputs = readInputs(o, s.bundle, wanted, batch);
  TensorMap outputs;
  if (pipelined) {
    if (!o.stages.empty())
      throw Error(Error::Kind::Usage, "--micro-batches and --place run the whole model, not --stages");
    // --place, else the spec's placement, else every stage on --device.
    std::vector<uint32_t> placement =
        parsePlacement(o.place, stages.size(), s.device, s.context.devices().size());
    if (o.place.empty() && !s.bundle.placement().empty()) {
      placement = s.bundle.placement();
      for (uint32_t d : placement)
        if (d >= s.context.devices().size())
          throw Error(Error::Kind::Device,
                      "the spec places a stage on device " + std::to_string(d) + ", but there are " +
                          std::to_string(s.context.devices().size()) +
                          " device(s) here; override it with --place");
    }
    warnAboutDevices(s.context, s.bundle, placement);
    auto loadStart = Clock::now();
    Pipeline pipeline(s.context, s.bundle, placement);
    loadMs = ms(Clock::now() - loadStart);
    size_t parts = std::max(1, o.microBatches);
    auto firstStart = Clock::now();
    outputs = pipeline.run(inputs, parts, sizes);
    double firstMs = ms(Clock::now() - firstStart);
    std::printf("pipeline: %zu stage(s) on device(s)", stages.size());
    for (uint32_t d : placement)
      std::printf(" %u", d);
    std::printf(", %zu micro-batch(es)\n", parts);
    if (std::string note = sizesNote(pipeline); !note.empty())
      std::printf("sizes: %s\n", note.c_str());
    printRunTimes(loadMs, "", firstMs,
                  steady(o.runIters, [&] { pipeline.run(inputs, parts, sizes); }), {});
  } else {
    auto runOnce = [&] {
      return o.stages.empty() ? model->run(inputs, sizes)
                              : model->runStages(first, last, inputs, sizes);
    };
    auto firstStart = Clock::now();
    outputs = runOnce();
    double firstMs = ms(Clock::now() - firstStart);
    std::printf("device %u: %s (%s)\n", s.device, model->device().name.c_str(),
                kindName(model->device().kind));
    if (std::string note = sizesNote(*model); !note.empty())
      std::printf("sizes: %s\n", note.c_str());
    std::vector<double> device;
    std::vector<double> wall = steady(o.runIters, [&] {
      runOnce();
      device.push_back(model->lastDeviceMs());
    });
    std::sort(device.begin(), device.end());
    printRunTimes(loadMs, loadNote(*model), firstMs, wall, device);
  }
  return writeOutputs(o, outputs);
}

int runBench(const RunOptions &o) {
  RunSetup s = open(o);
  warnAboutDevices(s.context, s.bundle, {s.device});
  auto loadStart = Clock::now();
  Model model(s.context, s.bundle, s.device);
  double loadMs = ms(Clock::now() - loadStart);
  int64_t batch = inputBatch(s.bundle, o.batch);
  model.checkBatch(batch, 0, s.bundle.stages().size() - 1);
  SizeMap sizes = sizesForRandomInputs(o, s.bundle);
  TensorMap inputs;
  for (size_t i = 0; i < s.bundle.inputs().size(); ++i)
    inputs[s.bundle.inputs()[i].name] =
        randomTensor(s.bundle.shapeAt(s.bundle.inputs()[i], sizes, batch), i);
  model.setProfiling(o.profile);
  auto firstStart = Clock::now();
  model.run(inputs, sizes); // warm-up: first-use allocations and driver compiles
  double firstMs = ms(Clock::now() - firstStart);
  std::string sizesMade = sizesNote(model);
  std::vector<double> wall, device;
  std::vector<std::vector<double>> perDispatch; // [dispatch][iteration]
  for (int i = 0; i < std::max(1, o.iters); ++i) {
    auto t0 = Clock::now();
    model.run(inputs, sizes);
    wall.push_back(ms(Clock::now() - t0));
    device.push_back(model.lastDeviceMs());
    std::vector<DispatchTime> profile = model.lastProfile();
    perDispatch.resize(profile.size());
    for (size_t d = 0; d < profile.size(); ++d)
      perDispatch[d].push_back(profile[d].ms);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(device.begin(), device.end());
  double median = wall[wall.size() / 2];
  std::printf("%s (target %s) on %s, batch %lld, %zu iterations\n", s.bundle.name().c_str(),
              s.bundle.target().name.empty() ? "not recorded" : s.bundle.target().name.c_str(),
              model.device().name.c_str(), static_cast<long long>(batch), wall.size());
  std::printf("load   %.3f ms%s\n", loadMs, loadNote(model).c_str());
  std::printf("first  %.3f ms (first run: also the driver's deferred compiles)\n", firstMs);
  if (!sizesMade.empty())
    std::printf("sizes  %s, in the first run\n", sizesMade.c_str());
  std::printf("host   min %.3f ms  median %.3f ms\n", wall.front(), median);
  std::printf("device min %.3f ms  median %.3f ms\n", device.front(), device[device.size() / 2]);
  std::printf("throughput %.1f samples/s\n", 1000.0 * batch / median);
  if (o.profile) { // each dispatch's median over the iterations
    std::vector<DispatchTime> profile = model.lastProfile();
    for (size_t d = 0; d < profile.size(); ++d) {
      std::sort(perDispatch[d].begin(), perDispatch[d].end());
      std::printf("  %10.3f ms  %s\n", perDispatch[d][perDispatch[d].size() / 2],
                  profile[d].layer.c_str());
    }
  }
  return kExitOk;
}

// The device's f32 arithmetic peak, measured: the ceiling that kernel
// efficiency (achieved GFLOP/s per layer) is read against.
int runPeak(const RunOptions &o) {
  ContextOptions options;
  options.validation = o.validate;
  Context context(options);
  Bundle bundle = Bundle::fromMemory(kPeakProbeBundle, kPeakProbeBundleSize, /*copy=*/false);
  uint32_t device = o.device >= 0 ? static_cast<uint32_t>(o.device) : context.defaultDevice();
  Model model(context, bundle, device);
  TensorMap inputs{{"x", randomTensor({1, 64}, 0)}};
  model.run(inputs); // warm-up: the driver compiles the shader on first use
  double best = 1e30;
  for (int i = 0; i < std::max(1, o.iters); ++i) {
    model.run(inputs);
    best = std::min(best, model.lastDeviceMs());
  }
  double flops = peakProbeFlops(kPeakProbeInvocations, kPeakProbeIterations);
  std::printf("%s: %.1f GFLOP/s f32 peak (%.3g FLOPs of independent multiply-add chains in "
              "%.3f ms, best of %d)\n",
              model.device().name.c_str(), flops / (best * 1e6), flops, best, std::max(1, o.iters));
  return kExitOk;
}

// `spire devices --profile [N]`: device N (default: the one `spire run`
// picks) in #spire.target's field names, `name` being the built-in profile
// that fits it, and what identifies the device.
void printProfile(const Context &context, const std::string &index) {
  uint32_t device = index.empty() ? context.defaultDevice() : std::stoul(index);
  DeviceProfile profile = deviceProfile(context, device);
  const TargetDescription &d = profile.description;
  nlohmann::ordered_json json = {{"device", device},
                                 {"device_name", profile.deviceName},
                                 {"vendor_id", profile.vendorId},
                                 {"driver_version", profile.driverVersion},
                                 {"name", d.name},
                                 {"subgroup_size", d.subgroupSize},
                                 {"max_workgroup_invocations", d.maxWorkgroupInvocations},
                                 {"shared_memory_bytes", d.sharedMemoryBytes},
                                 {"max_texel_buffer_elements", d.maxTexelBufferElements},
                                 {"f16", d.f16},
                                 {"vector_width", d.vectorWidth}};
  std::printf("%s\n", json.dump(2).c_str());
}

int runDevices(const RunOptions &o) {
  ContextOptions options;
  options.validation = o.validate;
  Context context(options);
  auto devices = context.devices();
  if (devices.empty()) {
    std::printf("no Vulkan devices\n");
    return kExitDevice;
  }
  if (o.profileDevice) {
    printProfile(context, *o.profileDevice);
    return kExitOk;
  }
  uint32_t chosen = context.defaultDevice();
  for (const DeviceInfo &d : devices)
    std::printf("%c %u: %s (%s, %s, Vulkan %u.%u)\n", d.index == chosen ? '*' : ' ', d.index,
                d.name.c_str(), kindName(d.kind), d.driver.c_str(), d.apiVersion >> 22,
                (d.apiVersion >> 12) & 0x3ff);
  return kExitOk;
}

constexpr uint64_t kMaxDevice = 1023; // any real index is far below

void addBundleArgs(CLI::App *cmd, RunOptions &o) {
  cmd->add_option("bundle", o.bundle, "compiled model (.spire)")->required();
  cmd->add_option("--device", o.device, "Vulkan device index (default: the best; see `spire devices`)")
      ->transform(wholeNumber(0, kMaxDevice));
  cmd->add_option("--batch", o.batch, "batch size for seeded random inputs (default: the "
                                      "bundle's, else 1)")
      ->transform(wholeNumber(1, 65535));
  cmd->add_option("--set", o.sets,
                  "the value of a size symbol, e.g. --set L=300 (repeatable; default: from the "
                  "inputs' shapes; needed for seeded random inputs)");
  cmd->add_flag("--validate", o.validate, "enable the Vulkan validation layer; its messages are errors");
  cmd->add_flag("--untrusted", o.untrusted,
                "treat the bundle as untrusted: robustBufferAccess and a strict kernel check");
}

} // namespace

void addRunCommands(CLI::App &app, RunOptions &o) {
  CLI::App *run = app.add_subcommand("run", "run a bundle on a Vulkan device");
  addBundleArgs(run, o);
  run->add_option("--input", o.inputs,
                  "NAME=FILE.npy, or FILE.safetensors with several inputs (repeatable; "
                  "default: seeded random)");
  run->add_option("--output", o.outputFile,
                  "write the output as FILE.npy, or all outputs as FILE.safetensors");
  run->add_option("--output-dir", o.outputDir, "write each output as NAME.npy here");
  run->add_option("--stages", o.stages, "run stages A..B (or one stage K) only");
  run->add_option("--micro-batches", o.microBatches,
                  "pipeline the stages over this many micro-batches")
      ->transform(wholeNumber(1, 65535));
  run->add_option("--place", o.place, "stage placement STAGE:DEVICE,... (pipelined run)");
  run->add_option("--compare", o.compare,
                  "[NAME=]FILE.npy: compare the output with a reference, printing the relative "
                  "L2 error; exit 4 when it is above --tolerance (repeatable)");
  run->add_option("--tolerance", o.tolerance, "relative L2 error --compare accepts (default 1e-4)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--iters", o.runIters,
                  "after the first run, time this many more (steady state; the outputs "
                  "written are the first run's)")
      ->transform(wholeNumber(1, 100000));

  CLI::App *bench = app.add_subcommand("bench", "time a bundle: latency and throughput");
  addBundleArgs(bench, o);
  bench->add_option("--iters", o.iters, "timed iterations")->transform(wholeNumber(1, 100000));
  bench->add_flag("--profile", o.profile, "per-dispatch device times by layer");

  CLI::App *peak = app.add_subcommand("peak", "measure a device's f32 arithmetic peak");
  peak->add_option("--device", o.device, "Vulkan device index (default: the best)")
      ->transform(wholeNumber(0, kMaxDevice));
  peak->add_option("--iters", o.iters, "timed runs (the best counts)")->transform(wholeNumber(1, 1000));
  peak->add_flag("--validate", o.validate, "enable the Vulkan validation layer");

  CLI::App *devices = app.add_subcommand("devices", "list Vulkan devices");
  devices
      ->add_option("--profile", o.profileDevice,
                   "print device N's description as JSON, as --target's profiles describe "
                   "theirs (default: the best device)")
      ->expected(0, 1)
      ->transform(wholeNumber(0, kMaxDevice));
  devices->add_flag("--validate", o.validate, "enable the Vulkan validation layer");
}

std::string verifyBundle(const std::string &path) {
  try {
    Bundle::fromFile(path);
    return "";
  } catch (const Error &e) {
    return e.what();
  }
}

int nativeTarget(std::string &target) {
  try {
    Context context;
    DeviceProfile profile = deviceProfile(context, context.defaultDevice());
    target = profile.description.name;
    std::fprintf(stderr, "note: --target native: '%s' fits target '%s'\n",
                 profile.deviceName.c_str(), target.c_str());
    return -1;
  } catch (const Error &e) {
    std::fprintf(stderr, "error: --target native needs a Vulkan device: %s\n", e.what());
    return exitCodeFor(e);
  }
}

int runCli(CLI::App &app, const std::string &version, int argc, char **argv,
           const std::function<int()> &run) {
  app.set_version_flag("--version", version);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
#ifdef __GLIBC__
  // Weight-sized buffers (up to tens of MB each) come and go many times
  // while weights are generated and packed; glibc would mmap and unmap each
  // and take every page fault again. Reusing the heap saves about 15% of a
  // ResNet-50 compile's CPU (docs/perf-log/2026-12-02-compile-memory.md).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
  return run();
}

int runRunCommand(CLI::App &app, const RunOptions &o) {
  try {
    if (app.got_subcommand("run"))
      return runRun(o);
    if (app.got_subcommand("bench"))
      return runBench(o);
    if (app.got_subcommand("devices"))
      return runDevices(o);
    if (app.got_subcommand("peak"))
      return runPeak(o);
  } catch (const Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return exitCodeFor(e);
  } catch (const std::bad_alloc &) {
    // The device checks come first (Model::checkBatch); this is the host.
    std::fprintf(stderr, "error: out of host memory (try a smaller --batch)\n");
    return kExitSpec;
  }
  return kExitUsage;
}

} // namespace spire::cli
