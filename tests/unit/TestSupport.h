// Shared by the unit tests: the bundles the build compiles for them.
#pragma once

#include "spire/BundleFormat.h"
#include "spire/bundle_generated.h"

#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace spire::test {

// small_cnn.yaml compiled with seeded random weights (see CMakeLists.txt).
inline std::string smallCnnBundle() { return SPIRE_TEST_SMALL_CNN_BUNDLE; }

// Re-seals a modified bundle so that the checks behind the checksum fire.
inline void reseal(std::vector<uint8_t> &bytes) {
  bundle::Header h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  h.fileSize = bytes.size();
  h.checksum =
      bundle::bundleChecksum(h.version, bytes.data() + h.headerSize, bytes.size() - h.headerSize);
  std::memcpy(bytes.data(), &h, sizeof(h));
}

// A finished manifest as a bundle file's bytes: header, manifest, and an
// empty weight blob.
inline std::vector<uint8_t> sealBundle(const flatbuffers::FlatBufferBuilder &b) {
  bundle::Header h{};
  std::memcpy(h.magic, bundle::kMagic, 8);
  h.version = bundle::kFormatVersion;
  h.headerSize = sizeof(bundle::Header);
  h.manifestOffset = sizeof(bundle::Header);
  h.manifestSize = b.GetSize();
  // The (empty) weights start at the first aligned offset past the manifest.
  h.weightsOffset = (h.manifestOffset + h.manifestSize + bundle::kWeightsAlignment - 1) /
                    bundle::kWeightsAlignment * bundle::kWeightsAlignment;
  h.weightsSize = 0;
  std::vector<uint8_t> bytes(h.weightsOffset, 0);
  std::memcpy(bytes.data(), &h, sizeof(h));
  std::memcpy(bytes.data() + h.manifestOffset, b.GetBufferPointer(), b.GetSize());
  reseal(bytes);
  return bytes;
}

// What a hand-made bundle's seeded weights are (none: a null offset).
using SeededWeightsWriter =
    std::function<flatbuffers::Offset<bundle::SeededWeights>(flatbuffers::FlatBufferBuilder &)>;

// A bundle assembled by hand: one stage, one dispatch, whose kernel index
// and binding region (and the kernel's subgroup lanes, a seeded weight blob
// of `weightsSize` bytes, the push constants the kernel reads and those the
// dispatch passes, and how many copies of the kernel it lists) the test
// chooses.
inline std::vector<uint8_t> handMadeBundle(uint32_t kernelIndex, bundle::Region binding,
                                           std::vector<uint32_t> texelBindings = {},
                                           std::vector<uint32_t> vec4TexelBindings = {},
                                           uint32_t subgroupLanes = 0,
                                           const SeededWeightsWriter &seeded = {},
                                           uint64_t weightsSize = 0,
                                           uint32_t kernelPushConstants = 0,
                                           std::vector<uint32_t> pushConstants = {},
                                           size_t kernelCount = 1) {
  flatbuffers::FlatBufferBuilder b;
  // A SPIR-V header and `OpEntryPoint GLCompute %1 "main"`, nothing else:
  // enough for the reader, not for the validation layer.
  std::vector<uint32_t> spirv = {0x07230203u, 0x00010000u, 0, 2, 0, (5u << 16) | 15, 5, 1,
                                 0x6e69616du /* "main" */, 0};
  auto kernel = bundle::CreateKernel(b, b.CreateString("k"), b.CreateString("main"),
                                 b.CreateVector(spirv), b.CreateVector(std::vector<uint32_t>{64, 1, 1}),
                                 subgroupLanes, b.CreateVector(texelBindings),
                                 b.CreateVector(vec4TexelBindings), 0, kernelPushConstants);
  bundle::Region region(bundle::Space::Arena, 0, 16);
  auto tensor = [&] {
    return bundle::CreateTensor(b, b.CreateString("x"), b.CreateVector(std::vector<int64_t>{-1, 4}),
                            bundle::DType::f32, &region);
  };
  std::vector<bundle::Region> bindings{binding};
  auto dispatch = bundle::CreateDispatch(b, kernelIndex, b.CreateVectorOfStructs(bindings),
                                     b.CreateVector(std::vector<uint32_t>{1, 1, 1}),
                                     b.CreateString("layer"), 0,
                                     pushConstants.empty() ? 0 : b.CreateVector(pushConstants));
  std::vector<flatbuffers::Offset<bundle::Tensor>> ins{tensor()}, outs{tensor()};
  auto stage = bundle::CreateStage(b, b.CreateString("stage0"), b.CreateVector(ins),
                               b.CreateVector(outs), b.CreateVector(std::vector{dispatch}), 256);
  std::vector<flatbuffers::Offset<bundle::Tensor>> mins{tensor()}, mouts{tensor()};
  auto model = bundle::CreateModel(b, b.CreateString("hand"), b.CreateString("test"), -1,
                               b.CreateVector(mins), b.CreateVector(mouts),
                               b.CreateVector(std::vector{stage}),
                               b.CreateVector(std::vector(kernelCount, kernel)), weightsSize, 0, 0,
                               seeded ? seeded(b) : 0);
  bundle::FinishModelBuffer(b, model);
  return sealBundle(b);
}

inline std::vector<uint8_t> readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(file), {});
}

} // namespace spire::test
