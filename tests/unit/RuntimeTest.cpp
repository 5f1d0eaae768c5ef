// The runtime on the default device (lavapipe in CI), validation layer on:
// input checking, batching, and stage-by-stage execution.
#include "TestSupport.h"

#include "spire/Runtime.h"

#include <catch2/catch.hpp>

#include <exception>
#include <thread>

using namespace spire;

namespace {

Tensor ramp(std::vector<int64_t> shape, float scale) {
  Tensor t{std::move(shape), {}};
  t.data.resize(t.numel());
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = scale * static_cast<float>(static_cast<int>(i % 23) - 11) / 11.0f;
  return t;
}

struct Loaded {
  Context context{ContextOptions{true}};
  Bundle bundle = Bundle::fromFile(test::smallCnnBundle());
  Model model{context, bundle, context.defaultDevice()};
};

} // namespace

TEST_CASE("runtime_rejects_wrong_inputs", "[runtime]") {
  Loaded l;
  Tensor good = ramp({1, 3, 32, 32}, 1.0f);
  CHECK_THROWS_WITH(l.model.run({}), Catch::Contains("missing input 'image': expected [N, 3, 32, 32] f32"));
  CHECK_THROWS_WITH(l.model.run({{"image", good}, {"mask", good}}),
                    Catch::Contains("unknown input 'mask'; expected: image [N, 3, 32, 32]"));
  CHECK_THROWS_WITH(l.model.run({{"image", ramp({1, 3, 28, 28}, 1.0f)}}),
                    Catch::Contains("input 'image': expected [N, 3, 32, 32] (any N) but got [1, 3, 28, 28]"));
  CHECK_THROWS_WITH(l.model.run({{"image", ramp({3, 32, 32}, 1.0f)}}),
                    Catch::Contains("expected [N, 3, 32, 32] (any N) but got [3, 32, 32]"));
  Tensor shortData = good;
  shortData.data.pop_back();
  CHECK_THROWS_WITH(l.model.run({{"image", shortData}}),
                    Catch::Contains("needs 3072 values but the tensor holds 3071"));
  // 2^62 * 3072 elements wrap around; an empty tensor must not match that.
  CHECK_THROWS_WITH(l.model.run({{"image", Tensor{{int64_t(1) << 62, 3, 32, 32}, {}}}}),
                    "input 'image': shape [4611686018427387904, 3, 32, 32] needs over 2^63 "
                    "values but the tensor holds 0");
  CHECK_THROWS_WITH(l.model.runStages(1, 5, {}), Catch::Contains("do not exist; the model has 2 stage(s)"));
  // The model stays usable after refusing bad input.
  CHECK(l.model.run({{"image", good}}).at("fc2").shape == std::vector<int64_t>{1, 10});
  CHECK(l.context.validationMessages().empty());
}

TEST_CASE("runtime_views_equal_owned_inputs", "[runtime]") {
  Loaded l;
  Tensor image = ramp({2, 3, 32, 32}, 0.5f);
  TensorViewMap views{{"image", TensorView{image.shape, image.data.data(), image.data.size()}}};
  TensorMap owned = l.model.runStages(0, 1, {{"image", image}});
  TensorMap borrowed = l.model.runStagesOnViews(0, 1, views);
  CHECK(borrowed.at("fc2").data == owned.at("fc2").data);
  // Views are checked as tensors are.
  views["image"].size -= 1;
  CHECK_THROWS_WITH(l.model.runStagesOnViews(0, 1, views),
                    Catch::Contains("needs 6144 values but the tensor holds 6143"));
  CHECK(l.context.validationMessages().empty());
}

TEST_CASE("runtime_batch_rows_equal_single_runs", "[runtime]") {
  Loaded l;
  Tensor batch = ramp({3, 3, 32, 32}, 0.5f);
  for (size_t i = 0; i < batch.data.size(); i += 7)
    batch.data[i] *= -2.0f; // make the three samples differ
  TensorMap all = l.model.run({{"image", batch}});
  const Tensor &out = all.at("fc2");
  REQUIRE(out.shape == std::vector<int64_t>{3, 10});
  float spread = 0;
  for (int64_t n = 0; n < 3; ++n) {
    Tensor one{{1, 3, 32, 32}, {}};
    one.data.assign(batch.data.begin() + n * 3072, batch.data.begin() + (n + 1) * 3072);
    Tensor single = l.model.run({{"image", one}}).at("fc2");
    for (int c = 0; c < 10; ++c) {
      // The same kernel code computes each sample: bit-identical.
      CHECK(single.data[c] == out.data[n * 10 + c]);
      spread = std::max(spread, std::abs(out.data[n * 10 + c] - out.data[c]));
    }
  }
  CHECK(spread > 1e-4f); // the samples really produced different outputs
  CHECK(l.context.validationMessages().empty());
}

TEST_CASE("runtime_stages_compose_to_the_whole_model", "[runtime]") {
  Loaded l;
  TensorMap in{{"image", ramp({2, 3, 32, 32}, 1.0f)}};
  Tensor whole = l.model.run(in).at("fc2");
  TensorMap cut = l.model.runStages(0, 0, in);
  REQUIRE(cut.size() == 1);
  CHECK(cut.begin()->second.shape == std::vector<int64_t>{2, 128});
  Tensor resumed = l.model.runStages(1, 1, cut).at("fc2");
  CHECK(resumed.data == whole.data);
  CHECK(l.model.runStages(0, 1, in).at("fc2").data == whole.data);
  CHECK(l.context.validationMessages().empty());
}

TEST_CASE("tensor_numel_is_checked", "[runtime]") {
  CHECK(Tensor{{2, 3, 4}, {}}.numel() == 24);
  CHECK_THROWS_WITH(Tensor({{int64_t(1) << 40, int64_t(1) << 40}, {}}).numel(),
                    "a tensor of shape [1099511627776, 1099511627776] has more elements than fit "
                    "in 64 bits");
  CHECK_THROWS_WITH(Tensor({{2, -3}, {}}).numel(), "a tensor of shape [2, N] has a negative dimension");
}

// What every pipelined run (in process or across MPI ranks) cuts a batch into.
TEST_CASE("micro_batches_split_and_join", "[runtime]") {
  CHECK(microBatchSizes(9, 7) == std::vector<int64_t>{1, 1, 1, 2, 1, 1, 2});
  CHECK(microBatchSizes(3, 7) == std::vector<int64_t>{1, 1, 1}); // no empty parts
  CHECK(microBatchSizes(5, 1) == std::vector<int64_t>{5});
  CHECK(microBatchSizes(0, 4) == std::vector<int64_t>{0});
  TensorMap inputs{{"a", ramp({5, 2, 3}, 1)}, {"b", ramp({5, 4}, 2)}};
  std::vector<TensorMap> parts = splitMicroBatches(inputs, 2);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].at("a").shape == std::vector<int64_t>{2, 2, 3});
  CHECK(parts[1].at("b").shape == std::vector<int64_t>{3, 4});
  TensorMap joined = joinMicroBatches(parts, {{"a", {-1, 2, 3}}, {"b", {-1, 4}}});
  CHECK(joined.at("a").shape == inputs.at("a").shape);
  CHECK(joined.at("a").data == inputs.at("a").data);
  CHECK(joined.at("b").data == inputs.at("b").data);
  inputs["b"] = ramp({4, 4}, 1);
  CHECK_THROWS_WITH(splitMicroBatches(inputs, 2),
                    "input 'b': shape [4, 4] with 16 values is not 5 whole rows (the batch of the "
                    "first input)");
}

TEST_CASE("runtime_lists_devices", "[runtime]") {
  Context context;
  std::vector<DeviceInfo> devices = context.devices();
  REQUIRE_FALSE(devices.empty());
  CHECK(context.defaultDevice() < devices.size());
  CHECK_FALSE(devices[context.defaultDevice()].name.empty());
  DeviceProfile profile = deviceProfile(context, context.defaultDevice());
  CHECK(profile.deviceName == devices[context.defaultDevice()].name);
  CHECK(profile.description.subgroupSize >= 1);
  CHECK(profile.description.maxWorkgroupInvocations >= 128); // Vulkan's minimum
  CHECK(profile.description.maxTexelBufferElements >= 65536);
  if (profile.deviceName.rfind("llvmpipe", 0) == 0)
    CHECK(profile.description.name == "lavapipe");
  CHECK_THROWS_WITH(deviceProfile(context, 99), Catch::Contains("device 99: there are"));
  // llvmpipe keeps 1,024 compiled kernels: a bundle with more gets a warning
  // there, and only there.
  bundle::Region region(bundle::Space::Arena, 0, 16);
  auto kernels = [&](size_t n) {
    std::vector<uint8_t> bytes = test::handMadeBundle(0, region, {}, {}, 0, {}, 0, 0, {}, n);
    return Bundle::fromMemory(bytes.data(), bytes.size());
  };
  DeviceProfile llvmpipe{0x10005, "llvmpipe (LLVM 15.0.6, 256 bits)", 0, {}};
  llvmpipe.description.name = "lavapipe";
  DeviceProfile gpu = llvmpipe;
  gpu.description.name = "nvidia";
  CHECK(kernelCacheWarning(kernels(1024), llvmpipe).empty());
  CHECK(kernelCacheWarning(kernels(1025), llvmpipe) ==
        "bundle has 1025 kernels, and 'llvmpipe (LLVM 15.0.6, 256 bits)' keeps 1024 compiled: "
        "every run compiles some of them again, which can make it several times slower");
  CHECK(kernelCacheWarning(kernels(1025), gpu).empty());
  CHECK_THROWS_WITH(Model(context, Bundle::fromFile(test::smallCnnBundle()), 99),
                    Catch::Contains("device 99 does not exist"));
}

TEST_CASE("runtime_reports_validation_messages", "[runtime]") {
  // A bundle whose kernel is a SPIR-V header and nothing else: the reader
  // accepts its structure, the validation layer rejects the module, and the
  // runtime turns that message into an Error. This is what makes every
  // other Vulkan test fail on any validation message.
  std::vector<uint8_t> bytes = test::handMadeBundle(0, bundle::Region(bundle::Space::Arena, 0, 16));
  Bundle broken = Bundle::fromMemory(bytes.data(), bytes.size());
  Context context{ContextOptions{true}};
  CHECK_THROWS_WITH(Model(context, broken, context.defaultDevice()),
                    Catch::Contains("Vulkan validation:"));
  CHECK_FALSE(context.validationMessages().empty());
}

TEST_CASE("runtime_pipeline_equals_plain_run", "[runtime]") {
  Loaded l;
  Tensor batch = ramp({5, 3, 32, 32}, 0.75f);
  Tensor plain = l.model.run({{"image", batch}}).at("fc2");
  // Each stage on its own device instance and thread, 1..5 micro-batches.
  Pipeline pipeline(l.context, l.bundle, {l.context.defaultDevice(), l.context.defaultDevice()});
  for (size_t parts : {1, 2, 3, 5, 8}) {
    Tensor piped = pipeline.run({{"image", batch}}, parts).at("fc2");
    CHECK(piped.shape == plain.shape);
    CHECK(piped.data == plain.data);
  }
  CHECK_THROWS_WITH(Pipeline(l.context, l.bundle, {0}),
                    Catch::Contains("the placement names 1 device(s) but the model has 2 stage(s)"));
  CHECK_THROWS_WITH(pipeline.run({{"image", ramp({2, 3, 8, 8}, 1.0f)}}, 2),
                    Catch::Contains("input 'image': expected [N, 3, 32, 32]"));
  // Slicing an input whose data is not its shape's once read past its end.
  CHECK_THROWS_WITH(pipeline.run({{"image", Tensor{{4, 3, 32, 32}, {}}}}, 2),
                    "input 'image': shape [4, 3, 32, 32] with 0 values is not 4 whole rows (the "
                    "batch of the first input)");
  CHECK(l.context.validationMessages().empty());
}

TEST_CASE("runtime_staged_upload_equals_direct", "[runtime]") {
  // lavapipe's device memory is host visible, so weights are normally
  // written in place; the staging copy discrete GPUs need must agree.
  Loaded direct;
  Context context{ContextOptions{true, /*stagedUploads=*/true}};
  Model staged{context, direct.bundle, context.defaultDevice()};
  TensorMap in{{"image", ramp({2, 3, 32, 32}, 0.7f)}};
  Tensor a = direct.model.run(in).at("fc2"), b = staged.run(in).at("fc2");
  REQUIRE(a.data.size() == 20);
  CHECK(a.data == b.data);
  CHECK(std::any_of(a.data.begin(), a.data.end(), [](float v) { return std::abs(v) > 1e-3f; }));
  CHECK(context.validationMessages().empty());
}

TEST_CASE("runtime_models_are_shared_across_threads", "[runtime]") {
  // 4 threads share 2 models of one bundle; each thread runs both, whole and
  // by stages, with batches that make the models rebuild their arenas. Every
  // result must equal the single-threaded one bit for bit.
  Context context{ContextOptions{true}};
  Bundle bundle = Bundle::fromFile(test::smallCnnBundle());
  Model first{context, bundle, context.defaultDevice()}, second{context, bundle, context.defaultDevice()};
  Model *models[2] = {&first, &second};
  std::vector<Tensor> images = {ramp({1, 3, 32, 32}, 0.5f), ramp({3, 3, 32, 32}, -0.8f),
                                ramp({2, 3, 32, 32}, 1.3f)};
  std::vector<std::vector<float>> expected;
  for (const Tensor &image : images)
    expected.push_back(first.run({{"image", image}}).at("fc2").data);

  constexpr int kThreads = 4, kRuns = 6;
  // Catch's assertions are not thread safe: threads record, the test checks.
  std::vector<std::vector<std::vector<float>>> got(kThreads);
  std::vector<std::exception_ptr> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < kRuns; ++i) {
          Model &model = *models[(t + i) % 2];
          TensorMap in{{"image", images[(t + i) % images.size()]}};
          got[t].push_back(i % 3 == 2 ? model.runStages(1, 1, model.runStages(0, 0, in)).at("fc2").data
                                      : model.run(in).at("fc2").data);
        }
      } catch (...) {
        failures[t] = std::current_exception();
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  for (int t = 0; t < kThreads; ++t) {
    if (failures[t])
      std::rethrow_exception(failures[t]);
    REQUIRE(got[t].size() == kRuns);
    for (int i = 0; i < kRuns; ++i)
      CHECK(got[t][i] == expected[(t + i) % images.size()]);
  }
  CHECK(context.validationMessages().empty());
}
