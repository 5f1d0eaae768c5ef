// One bundle for every size (issue #23): LengthBundle.h's bundle, L in
// [5, 64], run at several lengths and checked against the host's exact
// values, on the default device with the validation layer on.
#include "LengthBundle.h"

#include "spire/Runtime.h"

#include <catch2/catch.hpp>

using namespace spire;
using namespace spire::test;

namespace {

Bundle load(const Options &o = {}) {
  std::vector<uint8_t> bytes = lengthBundle(o);
  return Bundle::fromMemory(bytes.data(), bytes.size());
}

// Whole numbers in [-5, 5]: every sum below is exact in float.
Tensor signal(int64_t batch, int64_t length) {
  Tensor x{{batch, 4, length}, {}};
  x.data.resize(x.numel());
  for (size_t i = 0; i < x.data.size(); ++i)
    x.data[i] = static_cast<float>(static_cast<int64_t>(i * 7 % 11) - 5);
  return x;
}

// The host's y of stage 0 and z of stage 1.
Tensor windowSums(const Tensor &x) {
  int64_t batch = x.shape[0], length = x.shape[2], n = windows(length);
  Tensor y{{batch, 4, n}, std::vector<float>(batch * 4 * n)};
  for (int64_t row = 0; row < batch * 4; ++row)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < 5; ++k)
        y.data[row * n + j] += x.data[row * length + 2 * j + k];
  return y;
}

Tensor addLength(Tensor y, int64_t length) {
  for (float &v : y.data)
    v = 2 * v + static_cast<float>(length);
  return y;
}

struct Loaded {
  Context context{ContextOptions{true}};
  Bundle bundle;
  Model model{context, bundle, context.defaultDevice()};
  explicit Loaded(const Options &o = {}) : bundle(load(o)) {}
};

} // namespace

TEST_CASE("sizes_bundle_describes_its_symbols", "[sizes]") {
  Bundle bundle = load({.multipleOf = 1});
  REQUIRE(bundle.sizes().size() == 1);
  CHECK(bundle.sizes()[0].name == "L");
  CHECK(bundle.sizes()[0].min == 5);
  CHECK(bundle.sizes()[0].max == 64);
  CHECK(bundle.sizes()[0].multipleOf == 1);
  const TensorInfo &x = bundle.inputs().at(0);
  CHECK(x.shape == std::vector<int64_t>{-1, 4, -1});
  CHECK(shapeText(x) == "[N, 4, L]");
  CHECK(shapeText(bundle.outputs().at(0)) == "[N, 4, (L + -5) floordiv 2 + 1]");
  CHECK(bundle.shapeAt(bundle.outputs().at(0), {{"L", 37}}, 2) == std::vector<int64_t>{2, 4, 17});
  CHECK_THROWS_WITH(bundle.shapeAt(x, {}, 1),
                    "size L in [5, 64] is neither given nor fixed by the inputs' shapes: give "
                    "its value");
  CHECK_THROWS_WITH(bundle.shapeAt(x, {{"L", 65}}, 1),
                    "L = 65 was given; the bundle serves L in [5, 64]");
  // A bundle of fixed sizes has none, and prints as before.
  Bundle fixed = Bundle::fromFile(test::smallCnnBundle());
  CHECK(fixed.sizes().empty());
  CHECK(fixed.inputs()[0].dimText.empty());
  CHECK(shapeText(fixed.inputs()[0]) == "[N, 3, 32, 32]");
}

TEST_CASE("sizes_one_bundle_runs_every_length", "[sizes]") {
  Loaded l;
  for (int64_t length : {5, 37, 64, 6}) {
    INFO("L = " << length);
    Tensor x = signal(2, length);
    Tensor z = l.model.run({{"x", x}}).at("z");
    CHECK(z.shape == std::vector<int64_t>{2, 4, windows(length)});
    CHECK(z.data == addLength(windowSums(x), length).data);
    CHECK(l.model.lastSizes() == SizeMap{{"L", length}});
    // Each new length specializes both kernels once.
    CHECK(l.model.lastNewPipelines() == 2);
    CHECK(l.model.lastNewPipelineMs() > 0);
    l.model.run({{"x", x}});
    CHECK(l.model.lastNewPipelines() == 0);
    CHECK(l.model.lastNewPipelineMs() == 0);
  }
  // Lengths met before keep their pipelines; the batch changes nothing.
  Tensor x = signal(3, 37);
  CHECK(l.model.run({{"x", x}}).at("z").data == addLength(windowSums(x), 37).data);
  CHECK(l.model.lastNewPipelines() == 0);
  // Stage by stage: each stage's outputs at the length the inputs give.
  Tensor y = l.model.runStages(0, 0, {{"x", x}}).at("y");
  CHECK(y.data == windowSums(x).data);
  CHECK(l.context.validationMessages().empty());
}

TEST_CASE("sizes_refuses_lengths_out_of_range", "[sizes]") {
  Loaded l;
  CHECK_THROWS_WITH(l.model.run({{"x", signal(1, 3)}}),
                    "input 'x' has L = 3 (dim 2 of [1, 4, 3]); the bundle serves L in [5, 64]");
  CHECK_THROWS_WITH(l.model.run({{"x", signal(1, 65)}}),
                    "input 'x' has L = 65 (dim 2 of [1, 4, 65]); the bundle serves L in [5, 64]");
  CHECK_THROWS_WITH(l.model.run({{"x", signal(1, 8)}}, {{"L", 100}}),
                    "L = 100 was given; the bundle serves L in [5, 64]");
  CHECK_THROWS_WITH(l.model.run({{"x", signal(1, 8)}}, {{"L", 9}}),
                    "input 'x' has L = 8 (dim 2 of [1, 4, 8]) but L = 9 was given");
  CHECK_THROWS_WITH(l.model.run({{"x", signal(1, 8)}}, {{"T", 9}}),
                    "unknown size 'T': this bundle's are L in [5, 64]");
  // The fixed dims are checked as before, with the symbolic ones by name.
  CHECK_THROWS_WITH(l.model.run({{"x", Tensor{{1, 3, 8}, std::vector<float>(24)}}}),
                    "input 'x': expected [N, 4, L] (any N) but got [1, 3, 8]");
  Loaded steps({.multipleOf = 4});
  CHECK_THROWS_WITH(steps.model.run({{"x", signal(1, 10)}}),
                    "input 'x' has L = 10 (dim 2 of [1, 4, 10]); the bundle serves L in [5, 64] "
                    "(multiples of 4)");
  Tensor x = signal(1, 12);
  CHECK(steps.model.run({{"x", x}}).at("z").data == addLength(windowSums(x), 12).data);
  // A model without size symbols takes none.
  Context context{ContextOptions{true}};
  Bundle fixed = Bundle::fromFile(test::smallCnnBundle());
  Model plain{context, fixed, context.defaultDevice()};
  Tensor image{{1, 3, 32, 32}, std::vector<float>(3072)};
  CHECK_THROWS_WITH(plain.run({{"image", image}}, {{"L", 8}}),
                    "unknown size 'L': this bundle has no size symbols");
  plain.run({{"image", image}});
  CHECK(plain.lastSizes().empty());
  CHECK(plain.lastNewPipelines() == 0);
  CHECK(l.context.validationMessages().empty());
}

TEST_CASE("sizes_searches_a_symbol_no_dim_names", "[sizes]") {
  // Stage 1 alone sees y, (L - 5) floordiv 2 + 1 long: L is searched for.
  // 11 windows come from L = 25 or 26, and z = 2 y + L tells which.
  Loaded l;
  Tensor y = windowSums(signal(2, 25));
  REQUIRE(y.shape[2] == 11);
  CHECK_THROWS_WITH(l.model.runStages(1, 1, {{"y", y}}),
                    "input 'y' dim 2 of [2, 4, 11], which must be (L + -5) floordiv 2 + 1, fits "
                    "L = 25 and L = 26: give L explicitly");
  for (int64_t length : {25, 26}) {
    CHECK(l.model.runStages(1, 1, {{"y", y}}, {{"L", length}}).at("z").data ==
          addLength(y, length).data);
    CHECK(l.model.lastNewPipelines() == 1);
  }
  CHECK_THROWS_WITH(l.model.runStages(1, 1, {{"y", y}}, {{"L", 30}}),
                    "input 'y' has 11 at dim 2 of [2, 4, 11]; with L = 30 it must be "
                    "(L + -5) floordiv 2 + 1 = 13");
  // 31 windows need L = 65 or 66, out of range.
  Tensor tooLong{{1, 4, 31}, std::vector<float>(124)};
  CHECK_THROWS_WITH(l.model.runStages(1, 1, {{"y", tooLong}}),
                    "no L in [5, 64] fits input 'y' dim 2 of [1, 4, 31], which must be "
                    "(L + -5) floordiv 2 + 1");
  CHECK(l.context.validationMessages().empty());
  // With L even, one length makes 11 windows: found, not ambiguous.
  Loaded even({.multipleOf = 2});
  CHECK(even.model.runStages(1, 1, {{"y", y}}).at("z").data == addLength(y, 26).data);
  CHECK(even.model.lastSizes() == SizeMap{{"L", 26}});
  CHECK(even.context.validationMessages().empty());
}

TEST_CASE("sizes_pipeline_equals_plain_run", "[sizes]") {
  // The pipeline finds L from the model's inputs and gives it to stage 1,
  // whose inputs alone could not tell 25 from 26.
  Loaded l;
  Pipeline pipeline(l.context, l.bundle, {l.context.defaultDevice(), l.context.defaultDevice()});
  for (int64_t length : {25, 26, 64}) {
    Tensor x = signal(3, length);
    Tensor plain = l.model.run({{"x", x}}).at("z");
    Tensor piped = pipeline.run({{"x", x}}, 2).at("z");
    CHECK(piped.shape == plain.shape);
    CHECK(piped.data == plain.data);
  }
  CHECK_THROWS_WITH(pipeline.run({{"x", signal(2, 4)}}, 2),
                    "input 'x' has L = 4 (dim 2 of [2, 4, 4]); the bundle serves L in [5, 64]");
  CHECK(l.context.validationMessages().empty());
}

TEST_CASE("sizes_reader_refuses_bad_symbols_and_expressions", "[sizes][bundle]") {
  auto refused = [](const Options &o) {
    std::vector<uint8_t> bytes = lengthBundle(o);
    try {
      Bundle::fromMemory(bytes.data(), bytes.size());
    } catch (const Error &e) {
      CHECK(e.kind() == Error::Kind::Bundle);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refused({}) == "accepted");
  CHECK(refused({.min = 0}) == "<memory>: size symbol 0 ('L') has min 0, max 64, multiple_of 1; a "
                               "size needs 1 <= min <= max <= 2^31 - 1 and multiple_of >= 1");
  CHECK_THAT(refused({.min = 65}), Catch::Contains("has min 65, max 64"));
  CHECK_THAT(refused({.multipleOf = 0}), Catch::Contains("multiple_of 0"));
  CHECK(refused({.min = 5, .max = 7, .multipleOf = 8}) ==
        "<memory>: size symbol 0 ('L') has no multiple of 8 in [5, 7]");
  CHECK(refused({.twice = true}) == "<memory>: size symbol 1 ('L') is declared twice");
  CHECK(refused({.xLength = {Symbol, 0, Add}}) ==
        "<memory>: stage 0 input tensor 'x' dim 2 has a malformed size expression (or one that "
        "overflows or divides by a non-positive value with the symbols at their minimum)");
  CHECK_THAT(refused({.xLength = {Symbol, 1}}), Catch::Contains("tensor 'x' dim 2 has a malformed"));
  CHECK_THAT(refused({.xLength = {Symbol, 0, Constant, 0, FloorDiv}}),
             Catch::Contains("tensor 'x' dim 2 has a malformed"));
  CHECK(refused({.xLength = {Symbol, 0, Constant, -5, Add}}) ==
        "<memory>: stage 0 input tensor 'x' dim 2 is L + -5 = 0 with the symbols at their "
        "minimum, outside [1, 2147483647]");
  CHECK(refused({.xLength = std::vector<int64_t>(258, Constant)}) ==
        "<memory>: stage 0 input tensor 'x' dim 2 has an empty size expression or one over 256 "
        "elements");
  CHECK(refused({.xLength = {}}) ==
        "<memory>: stage 0 input tensor 'x' dim 2 has an empty size expression or one over 256 "
        "elements");
  CHECK(refused({.xDims = 2}) == "<memory>: stage 0 input tensor 'x' has 2 dim expressions for rank 3");
  // x [N, 4, 2L] needs twice its region at L = 64.
  CHECK(refused({.xLength = {Symbol, 0, Constant, 2, Mul}}) ==
        "<memory>: stage 0 input tensor 'x' has an invalid arena region");
  CHECK(refused({.spec = {1}}) == "<memory>: kernel 0 specializes on size symbol 1 of 1");
  CHECK(refused({.gridSizes = 2}) ==
        "<memory>: dispatch 0 of stage 0 has 2 grid size expressions, not 3");
  CHECK(refused({.addAt = {37, 41}}) == "accepted");
  CHECK(refused({.addAt = {41, 37}}) ==
        "<memory>: dispatch 0 of stage 0's size case has no values, over 65536, misaligned, or values not "
        "increasing");
  CHECK(refused({.addAt = {37, 37}}) ==
        "<memory>: dispatch 0 of stage 0's size case has no values, over 65536, misaligned, or values not "
        "increasing");
  CHECK_THAT(refused({.addAt = {37}, .caseKey = {Symbol, 1}}),
             Catch::Contains("dispatch 0 of stage 0's size case has a malformed size expression"));
}

TEST_CASE("sizes_runs_the_dispatch_of_its_size_class", "[sizes]") {
  // At L = 37 and 41 stage 0's add_length runs in place of the window sums;
  // exactly one of the two runs, and only it gets a pipeline.
  Loaded l({.addAt = {37, 41}});
  for (int64_t length : {37, 36, 41, 64}) {
    INFO("L = " << length);
    Tensor x = signal(1, length);
    Tensor y = l.model.runStages(0, 0, {{"x", x}}).at("y");
    Tensor expected = windowSums(x);
    if (length == 37 || length == 41)
      for (size_t i = 0; i < expected.data.size(); ++i)
        expected.data[i] = 2 * x.data[i] + static_cast<float>(length);
    CHECK(y.data == expected.data);
    CHECK(l.model.lastNewPipelines() == 1);
  }
  CHECK(l.context.validationMessages().empty());
}

TEST_CASE("sizes_reader_refuses_a_misaligned_manifest", "[sizes][bundle]") {
  // The manifest moved 4 bytes on: within it, everything is where the
  // FlatBuffers verifier wants it, but its 8-byte values (the symbols'
  // ranges, shapes, size expressions, size cases) would sit 4 bytes off in
  // memory, which is undefined behaviour to read.
  std::vector<uint8_t> bytes = lengthBundle({.addAt = {37, 41}});
  bundle::Header h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  REQUIRE(h.manifestOffset + 4 + h.manifestSize <= h.weightsOffset);
  std::memmove(bytes.data() + h.manifestOffset + 4, bytes.data() + h.manifestOffset,
               h.manifestSize);
  h.manifestOffset += 4;
  std::memcpy(bytes.data(), &h, sizeof(h));
  reseal(bytes);
  CHECK_THROWS_WITH(Bundle::fromMemory(bytes.data(), bytes.size()),
                    "<memory>: manifest at 68 is not 8-byte aligned");
}

TEST_CASE("sizes_run_refuses_a_tensor_over_its_region", "[sizes]") {
  // x [N, 4, L mod 7 + 60] fits its region (64 floats a row) at L = 64,
  // where the reader checks it, not at L = 6: the run stops before it
  // writes past the region.
  Loaded l({.xLength = {Symbol, 0, Constant, 7, Mod, Constant, 60, Add}});
  CHECK_THROWS_WITH(l.model.run({{"x", signal(1, 66)}}, {{"L", 6}}),
                    "<memory>: stage 0 input 'x' [N, 4, L mod 7 + 60] is [N, 4, 66], over its "
                    "1024-byte region at L = 6 (the bundle is corrupt)");
}
