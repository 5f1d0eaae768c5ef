// A hand-made bundle whose length L stays symbolic (issue #23), in
// [5, 64]: stage 0 sums windows of 5 with stride 2 (x [N, 4, L] ->
// y [N, 4, (L - 5) floordiv 2 + 1]), stage 1 computes z = 2 y + L. Both
// kernels take L as a specialization constant (shaders/*.comp, compiled by
// glslc) and their grids depend on it. For SizesTest and, through
// spire-test-length-bundle, the CLI's tests.
#pragma once

#include "TestSupport.h"

#include "spire/SizeExpr.h"

#include <optional>
#include <stdexcept>

namespace spire::test {

namespace fb = spire::bundle;
using namespace spire::size_expr;

// A kernel glslc compiled for the tests (CMakeLists.txt).
inline std::vector<uint32_t> shader(const std::string &name) {
  std::string path = SPIRE_TEST_SHADER_DIR "/" + name + ".spv";
  std::vector<uint8_t> bytes = readFile(path);
  if (bytes.empty() || bytes.size() % 4 != 0)
    throw std::runtime_error(path + ": not a SPIR-V module");
  std::vector<uint32_t> words(bytes.size() / 4);
  std::memcpy(words.data(), bytes.data(), bytes.size());
  return words;
}

// (L - 5) floordiv 2 + 1: the length of y and z.
inline const std::vector<int64_t> kWindows = {Symbol, 0, Constant, -5, Add, Constant, 2,
                                       FloorDiv, Constant, 1, Add};

inline int64_t windows(int64_t length) { return (length - 5) / 2 + 1; }

// What a test changes in the bundle, most of them to corrupt it.
struct Options {
  int64_t min = 5, max = 64, multipleOf = 1;
  std::vector<int64_t> xLength = {Symbol, 0}; // x's dim 2
  std::vector<int64_t> yLength = kWindows;    // y's dim 2 in stage 0
  std::vector<uint32_t> spec = {0};           // both kernels' spec constants
  size_t xDims = 3;                           // dim expressions x has
  size_t gridSizes = 3;                       // grid expressions stage 0 has
  bool twice = false;                         // declares L twice
  // Non-empty: stage 0 runs add_length on x (y = 2 x + L over y's first
  // elements) where L is one of these, the window sums elsewhere: two
  // dispatches with size cases whose key is `caseKey`.
  std::vector<int64_t> addAt;
  std::vector<int64_t> caseKey = {Symbol, 0};
};

inline std::vector<uint8_t> lengthBundle(const Options &o = {}) {
  flatbuffers::FlatBufferBuilder b;
  // Regions hold the tensors at L's maximum.
  uint64_t xBytes = 4 * 4 * o.max, yBytes = 4 * 4 * windows(o.max);
  uint64_t yAt = (xBytes + 255) / 256 * 256, zAt = (yBytes + 255) / 256 * 256;
  auto dims = [&](const std::vector<int64_t> &length, size_t count) {
    std::vector<flatbuffers::Offset<fb::SizeExpr>> exprs;
    for (size_t i = 0; i < count; ++i)
      exprs.push_back(i == 2 ? fb::CreateSizeExpr(b, b.CreateVector(length)) : fb::CreateSizeExpr(b));
    return b.CreateVector(exprs);
  };
  auto tensor = [&](const char *name, const std::vector<int64_t> &length, fb::Region region,
                    size_t dimCount = 3) {
    return fb::CreateTensor(b, b.CreateString(name), b.CreateVector(std::vector<int64_t>{-1, 4, -1}),
                            fb::DType::f32, &region, dims(length, dimCount));
  };
  auto kernel = [&](const char *name) {
    return fb::CreateKernel(b, b.CreateString(name), b.CreateString("main"),
                            b.CreateVector(shader(name)), b.CreateVector(std::vector<uint32_t>{64, 1, 1}),
                            0, 0, 0, b.CreateVector(o.spec));
  };
  // ceildiv(4 * windows, 64) workgroups of 64 along x.
  std::vector<int64_t> gridX = {Constant, 4};
  gridX.insert(gridX.end(), kWindows.begin(), kWindows.end());
  gridX.insert(gridX.end(), {Mul, Constant, 64, CeilDiv});
  auto dispatch = [&](uint32_t k, std::vector<fb::Region> bindings, size_t gridCount,
                      std::optional<bool> otherwise = std::nullopt) {
    std::vector<flatbuffers::Offset<fb::SizeExpr>> grid;
    for (const std::vector<int64_t> &code :
         std::vector<std::vector<int64_t>>{gridX, {Constant, 1}, {Constant, 1}})
      if (grid.size() < gridCount)
        grid.push_back(fb::CreateSizeExpr(b, b.CreateVector(code)));
    uint32_t atMax = static_cast<uint32_t>((4 * windows(o.max) + 63) / 64);
    flatbuffers::Offset<fb::SizeCase> when;
    if (otherwise)
      when = fb::CreateSizeCase(b, fb::CreateSizeExpr(b, b.CreateVector(o.caseKey)),
                                b.CreateVector(o.addAt), *otherwise);
    return fb::CreateDispatch(b, k, b.CreateVectorOfStructs(bindings),
                              b.CreateVector(std::vector<uint32_t>{atMax, 1, 1}),
                              b.CreateString(k == 0 ? "window" : "add"), b.CreateVector(grid),
                              0, when);
  };
  fb::Region x0(fb::Space::Arena, 0, xBytes), y0(fb::Space::Arena, yAt, yBytes);
  fb::Region y1(fb::Space::Arena, 0, yBytes), z1(fb::Space::Arena, zAt, yBytes);
  std::vector stage0In{tensor("x", o.xLength, x0, o.xDims)}, stage0Out{tensor("y", o.yLength, y0)};
  std::vector stage0Dispatches{dispatch(0, {x0, y0}, o.gridSizes)};
  if (!o.addAt.empty())
    stage0Dispatches = {dispatch(1, {x0, y0}, 3, false), dispatch(0, {x0, y0}, 3, true)};
  auto stage0 = fb::CreateStage(b, b.CreateString("stage0"), b.CreateVector(stage0In),
                                b.CreateVector(stage0Out), b.CreateVector(stage0Dispatches),
                                yAt + (yBytes + 255) / 256 * 256);
  std::vector stage1In{tensor("y", kWindows, y1)}, stage1Out{tensor("z", kWindows, z1)};
  std::vector stage1Dispatches{dispatch(1, {y1, z1}, 3)};
  auto stage1 = fb::CreateStage(b, b.CreateString("stage1"), b.CreateVector(stage1In),
                                b.CreateVector(stage1Out), b.CreateVector(stage1Dispatches),
                                zAt + (yBytes + 255) / 256 * 256);
  std::vector stages{stage0, stage1};
  std::vector kernels{kernel("window_sum"), kernel("add_length")};
  std::vector inputs{tensor("x", o.xLength, x0, o.xDims)}, outputs{tensor("z", kWindows, z1)};
  std::vector<flatbuffers::Offset<fb::SizeSymbol>> sizes{
      fb::CreateSizeSymbol(b, b.CreateString("L"), o.min, o.max, o.multipleOf)};
  if (o.twice)
    sizes.push_back(fb::CreateSizeSymbol(b, b.CreateString("L"), o.min, o.max, o.multipleOf));
  auto model = fb::CreateModel(b, b.CreateString("lengths"), b.CreateString("test"), -1,
                               b.CreateVector(inputs), b.CreateVector(outputs),
                               b.CreateVector(stages), b.CreateVector(kernels), 0, 0, 0, 0,
                               b.CreateVector(sizes));
  fb::FinishModelBuffer(b, model);
  return sealBundle(b);
}

} // namespace spire::test
