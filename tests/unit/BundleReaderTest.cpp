// The bundle reader never trusts its input: every corruption is an Error of
// kind Bundle naming the problem, never a crash.
#include "TestSupport.h"

#include "spire/BundleFormat.h"
#include "spire/Runtime.h"
#include "spire/bundle_generated.h"

#include <catch2/catch.hpp>

#include <cstring>

using spire::Bundle;
using spire::Error;
namespace fb = spire::bundle;

namespace {

fb::Header header(const std::vector<uint8_t> &bytes) {
  fb::Header h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  return h;
}

// The SPIR-V words of kernel `k`, to edit in place (then reseal). words[-1]
// is the FlatBuffers vector's length.
uint32_t *spirvWords(std::vector<uint8_t> &bytes, size_t k) {
  const fb::Model *m = fb::GetModel(bytes.data() + header(bytes).manifestOffset);
  return const_cast<uint32_t *>(m->kernels()->Get(k)->spirv()->data());
}

} // namespace

TEST_CASE("bundle_reader_loads_a_compiled_bundle", "[bundle]") {
  Bundle bundle = Bundle::fromFile(spire::test::smallCnnBundle());
  CHECK(bundle.name() == "small_cnn");
  CHECK(bundle.batch() == -1);
  REQUIRE(bundle.inputs().size() == 1);
  CHECK(bundle.inputs()[0].name == "image");
  CHECK(bundle.inputs()[0].shape == std::vector<int64_t>{-1, 3, 32, 32});
  REQUIRE(bundle.outputs().size() == 1);
  CHECK(bundle.outputs()[0].shape == std::vector<int64_t>{-1, 10});
  // small_cnn.yaml splits after fc1's relu: stage 0 hands [N, 128] to stage 1.
  REQUIRE(bundle.stages().size() == 2);
  CHECK(bundle.stages()[0].outputs.at(0).shape == std::vector<int64_t>{-1, 128});
  CHECK(bundle.stages()[1].inputs.at(0).name == bundle.stages()[0].outputs.at(0).name);
  CHECK(bundle.kernelCount() > 0);
  CHECK(bundle.weightsBytes() > 268650 * 4 - 1);
  // Compiled for the default target: lavapipe's profile (Targets/Lavapipe.cpp).
  const spire::TargetDescription &target = bundle.target();
  CHECK(target.name == "lavapipe");
  CHECK(target.subgroupSize == 8);
  CHECK(target.maxWorkgroupInvocations == 1024);
  CHECK(target.sharedMemoryBytes == 32768);
  CHECK(target.maxTexelBufferElements == (int64_t(1) << 27));
  CHECK_FALSE(target.f16);
  CHECK(target.vectorWidth == 4);
}

TEST_CASE("bundle_reader_refuses_truncated_files", "[bundle]") {
  std::vector<uint8_t> bytes = spire::test::readFile(spire::test::smallCnnBundle());
  for (size_t cut = 0; cut < bytes.size(); cut += 997) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + cut);
    CHECK_THROWS_AS(Bundle::fromMemory(part.data(), part.size()), Error);
  }
  std::vector<uint8_t> part(bytes.begin(), bytes.begin() + 10);
  CHECK_THROWS_WITH(Bundle::fromMemory(part.data(), part.size()),
                    Catch::Contains("file too small (10 bytes)"));
  part.assign(bytes.begin(), bytes.end() - 1);
  CHECK_THROWS_WITH(Bundle::fromMemory(part.data(), part.size()),
                    Catch::Contains("truncated or padded"));
}

TEST_CASE("bundle_reader_refuses_corrupt_bytes", "[bundle]") {
  std::vector<uint8_t> bytes = spire::test::readFile(spire::test::smallCnnBundle());
  // Any flipped byte after the header breaks the checksum.
  for (size_t at = sizeof(fb::Header); at < bytes.size(); at += 1009) {
    std::vector<uint8_t> bad = bytes;
    bad[at] ^= 0x5a;
    CHECK_THROWS_WITH(Bundle::fromMemory(bad.data(), bad.size()),
                      Catch::Contains("checksum mismatch"));
  }
  std::vector<uint8_t> bad = bytes;
  bad[0] = 'X';
  CHECK_THROWS_WITH(Bundle::fromMemory(bad.data(), bad.size()),
                    Catch::Contains("not a Spire bundle (bad magic)"));
  bad = bytes;
  uint32_t next = fb::kFormatVersion + 1;
  std::memcpy(bad.data() + 8, &next, 4); // the version
  CHECK_THROWS_WITH(Bundle::fromMemory(bad.data(), bad.size()),
                    Catch::Contains("bundle format version " + std::to_string(next) +
                                    ", this runtime reads versions 1 to " +
                                    std::to_string(fb::kFormatVersion)));
}

TEST_CASE("bundle_reader_reads_older_checksums", "[bundle]") {
  // Bundles from version 4 carry the block checksum; versions 1 to 3
  // (seeded ones from 3) byte-wise FNV-1a, which the reader still checks.
  std::vector<uint8_t> bytes = spire::test::readFile(spire::test::smallCnnBundle());
  fb::Header h = header(bytes);
  CHECK(h.version == fb::kFormatVersion);
  CHECK(h.checksum == fb::bundleChecksum(fb::kFirstBlockChecksumVersion,
                                         bytes.data() + h.headerSize,
                                         bytes.size() - h.headerSize));
  h.version = 3;
  std::memcpy(bytes.data(), &h, sizeof(h));
  CHECK_THROWS_WITH(Bundle::fromMemory(bytes.data(), bytes.size()),
                    Catch::Contains("checksum mismatch"));
  h.checksum = fb::fnv1a(bytes.data() + h.headerSize, bytes.size() - h.headerSize);
  std::memcpy(bytes.data(), &h, sizeof(h));
  CHECK(Bundle::fromMemory(bytes.data(), bytes.size()).name() == "small_cnn");
}

TEST_CASE("bundle_checksum_is_the_same_fed_in_parts", "[bundle]") {
  std::vector<unsigned char> data(1000);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<unsigned char>(i * 7 + 3);
  uint64_t whole = fb::bundleChecksum(4, data.data(), data.size());
  for (size_t a : {size_t(0), size_t(1), size_t(31), size_t(32), size_t(33), size_t(500)})
    for (size_t b : {a, a + 5, a + 64, size_t(999)}) {
      if (b > data.size())
        continue;
      fb::Checksum sum;
      sum.update(data.data(), a);
      sum.update(data.data() + a, b - a);
      sum.update(data.data() + b, data.size() - b);
      CHECK(sum.value() == whole);
    }
  // One byte changed anywhere changes it; so does a zero byte appended.
  for (size_t i : {size_t(0), size_t(31), size_t(32), size_t(999)}) {
    std::vector<unsigned char> flipped = data;
    flipped[i] ^= 0x80;
    CHECK(fb::bundleChecksum(4, flipped.data(), flipped.size()) != whole);
  }
  std::vector<unsigned char> longer = data;
  longer.push_back(0);
  CHECK(fb::bundleChecksum(4, longer.data(), longer.size()) != whole);
}

TEST_CASE("bundle_reader_checks_offsets_behind_the_checksum", "[bundle]") {
  std::vector<uint8_t> bytes = spire::test::readFile(spire::test::smallCnnBundle());
  fb::Header h = header(bytes);

  SECTION("manifest outside the file") {
    h.manifestSize = bytes.size();
    std::memcpy(bytes.data(), &h, sizeof(h));
    spire::test::reseal(bytes);
    CHECK_THROWS_WITH(Bundle::fromMemory(bytes.data(), bytes.size()),
                      Catch::Contains("lies outside the file"));
  }
  SECTION("weights misaligned") {
    h.weightsOffset -= 8;
    std::memcpy(bytes.data(), &h, sizeof(h));
    spire::test::reseal(bytes);
    CHECK_THROWS_WITH(Bundle::fromMemory(bytes.data(), bytes.size()),
                      Catch::Contains("misaligned"));
  }
  SECTION("manifest garbage") {
    for (size_t i = 0; i < 64; ++i)
      bytes[h.manifestOffset + i] ^= 0xff;
    spire::test::reseal(bytes);
    CHECK_THROWS_WITH(Bundle::fromMemory(bytes.data(), bytes.size()),
                      Catch::Contains("the manifest is malformed"));
  }
}

TEST_CASE("bundle_reader_checks_manifest_references", "[bundle]") {
  std::vector<uint8_t> ok = spire::test::handMadeBundle(0, fb::Region(fb::Space::Arena, 0, 16));
  // Without a target, as bundles were before they recorded one.
  CHECK(Bundle::fromMemory(ok.data(), ok.size()).target().name.empty());

  std::vector<uint8_t> badKernel = spire::test::handMadeBundle(3, fb::Region(fb::Space::Arena, 0, 16));
  CHECK_THROWS_WITH(Bundle::fromMemory(badKernel.data(), badKernel.size()),
                    Catch::Contains("dispatch 0 of stage 0 uses kernel 3 of 1"));

  std::vector<uint8_t> badArena = spire::test::handMadeBundle(0, fb::Region(fb::Space::Arena, 200, 100));
  CHECK_THROWS_WITH(Bundle::fromMemory(badArena.data(), badArena.size()),
                    Catch::Contains("binds arena bytes [200, 300) outside its arena (256 bytes"));

  std::vector<uint8_t> badTexels =
      spire::test::handMadeBundle(0, fb::Region(fb::Space::Arena, 0, 16), {1});
  CHECK_THROWS_WITH(Bundle::fromMemory(badTexels.data(), badTexels.size()),
                    Catch::Contains("kernel 0 reads binding 1 as texels but is dispatched with 1 bindings"));

  std::vector<uint8_t> vec4 =
      spire::test::handMadeBundle(0, fb::Region(fb::Space::Arena, 0, 16), {0}, {0});
  CHECK_NOTHROW(Bundle::fromMemory(vec4.data(), vec4.size()));

  std::vector<uint8_t> vec4NotTexels =
      spire::test::handMadeBundle(0, fb::Region(fb::Space::Arena, 0, 16), {}, {0});
  CHECK_THROWS_WITH(Bundle::fromMemory(vec4NotTexels.data(), vec4NotTexels.size()),
                    Catch::Contains("kernel 0 lists binding 0 as vec4 texels but not as texels"));

  std::vector<uint8_t> vec4Partial =
      spire::test::handMadeBundle(0, fb::Region(fb::Space::Arena, 0, 12), {0}, {0});
  CHECK_THROWS_WITH(Bundle::fromMemory(vec4Partial.data(), vec4Partial.size()),
                    Catch::Contains("dispatch 0 of stage 0 reads arena bytes [0, 12) four floats a "
                                    "texel, but it is not whole 16-byte texels"));

  std::vector<uint8_t> badWeights = spire::test::handMadeBundle(0, fb::Region(fb::Space::Weights, 0, 4));
  CHECK_THROWS_WITH(Bundle::fromMemory(badWeights.data(), badWeights.size()),
                    Catch::Contains("binds weight bytes [0, 4) outside its weights (0 bytes)"));

  // Push constants: as many as the kernel reads, at most 128 bytes.
  auto pushing = [](uint32_t reads, std::vector<uint32_t> passed) {
    return spire::test::handMadeBundle(0, fb::Region(fb::Space::Arena, 0, 16), {}, {}, 0, {}, 0,
                                       reads, std::move(passed));
  };
  std::vector<uint8_t> pushed = pushing(2, {16, 64});
  CHECK_NOTHROW(Bundle::fromMemory(pushed.data(), pushed.size()));
  std::vector<uint8_t> tooFew = pushing(2, {16});
  CHECK_THROWS_WITH(Bundle::fromMemory(tooFew.data(), tooFew.size()),
                    Catch::Contains("dispatch 0 of stage 0 passes 1 push constants to a kernel "
                                    "that reads 2"));
  std::vector<uint8_t> none = pushing(1, {});
  CHECK_THROWS_WITH(Bundle::fromMemory(none.data(), none.size()),
                    Catch::Contains("passes 0 push constants to a kernel that reads 1"));
  std::vector<uint8_t> tooMany = pushing(33, std::vector<uint32_t>(33, 0));
  CHECK_THROWS_WITH(Bundle::fromMemory(tooMany.data(), tooMany.size()),
                    Catch::Contains("kernel 0 reads 33 push constants; at most 32 fit every device"));
}

TEST_CASE("bundle_reader_reports_missing_files", "[bundle]") {
  CHECK_THROWS_WITH(Bundle::fromFile("/nonexistent/model.spire"),
                    Catch::Contains("/nonexistent/model.spire: cannot open the bundle"));
  // A directory opens like a file whose size is 2^63 - 1.
  CHECK_THROWS_WITH(Bundle::fromFile(SPIRE_TEST_TMP_DIR),
                    std::string(SPIRE_TEST_TMP_DIR) + ": is a directory, not a bundle");
}

TEST_CASE("bundle_reader_checks_tensor_sizes", "[bundle]") {
  std::vector<uint8_t> bytes = spire::test::readFile(spire::test::smallCnnBundle());
  const fb::Model *m = fb::GetModel(bytes.data() + header(bytes).manifestOffset);
  // [N, 3, 32, 32] -> [N, 2^31-1, 2^31-1, 2^31-1]: each dim is valid, but a
  // sample's bytes (about 2^95) wrap around in 64 bits.
  auto *dims = const_cast<int64_t *>(m->stages()->Get(0)->inputs()->Get(0)->shape()->data());
  dims[1] = dims[2] = dims[3] = (int64_t(1) << 31) - 1;
  spire::test::reseal(bytes);
  CHECK_THROWS_WITH(Bundle::fromMemory(bytes.data(), bytes.size()),
                    "<memory>: stage 0 input tensor 'image' has more than 2^64 bytes per sample");
}

TEST_CASE("bundle_reader_checks_spirv_modules", "[bundle]") {
  const std::vector<uint8_t> good = spire::test::readFile(spire::test::smallCnnBundle());
  std::vector<uint8_t> bytes = good;
  const fb::Model *m = fb::GetModel(good.data() + header(good).manifestOffset);
  const fb::Kernel *kernel = m->kernels()->Get(1);
  std::string entry = kernel->entry_point()->str();
  std::string prefix = "<memory>: kernel 1 ('" + kernel->name()->str() + "')";
  uint32_t *words = spirvWords(bytes, 1);
  auto refused = [&]() -> std::string {
    spire::test::reseal(bytes);
    try {
      Bundle::fromMemory(bytes.data(), bytes.size());
    } catch (const Error &e) {
      CHECK(e.kind() == Error::Kind::Bundle);
      return e.what();
    }
    return "no error";
  };

  SECTION("magic number") {
    words[0] = 0x03022307; // the other byte order
    CHECK(refused() == prefix + ": SPIR-V magic number 0x03022307, expected 0x07230203");
  }
  SECTION("version") {
    words[1] = 0x00010700; // 1.7
    CHECK(refused() == prefix + ": SPIR-V version word 0x00010700 is not a version from 1.0 to 1.6");
    words[1] = 0x00020000; // 2.0
    CHECK(refused() == prefix + ": SPIR-V version word 0x00020000 is not a version from 1.0 to 1.6");
  }
  SECTION("shorter than the header") {
    words[-1] = 4;
    CHECK(refused() == prefix + ": its SPIR-V module has 4 words, fewer than the 5-word header");
  }
  SECTION("truncated before the entry point") {
    words[-1] = 5;
    CHECK(refused() == prefix + ": its SPIR-V module has no GLCompute OpEntryPoint named '" +
                           entry + "'");
  }
  SECTION("an instruction running past the end") {
    size_t count = words[-1];
    words[5] = (0xffffu << 16) | (words[5] & 0xffff);
    CHECK(refused() == prefix + ": the SPIR-V instruction at word 5 has 65535 words; the module "
                                "ends at word " + std::to_string(count));
  }
  SECTION("entry point renamed") {
    size_t at = 5, renamed = 0;
    for (; at < words[-1]; at += words[at] >> 16)
      if ((words[at] & 0xffff) == 15) {
        reinterpret_cast<char *>(words + at + 3)[0] ^= 0x20; // e.g. "main" -> "Main"
        ++renamed;
      }
    REQUIRE(renamed == 1);
    CHECK(refused() == prefix + ": its SPIR-V module has no GLCompute OpEntryPoint named '" +
                           entry + "'");
  }
}

// A seeded bundle's recipe is checked like the rest of the manifest: a bad
// index, size or offset is an Error naming the pack, never a crash.
TEST_CASE("bundle_reader_checks_seeded_weights", "[bundle]") {
  using Writer = spire::test::SeededWeightsWriter;
  // One tensor of `numel` floats, copied by one pack to `offset`.
  auto copyOf = [](uint64_t numel, int32_t index, uint64_t offset, int8_t kind = 5) -> Writer {
    return [=](flatbuffers::FlatBufferBuilder &b) {
      auto tensor = fb::CreateSeededTensor(b, b.CreateString("w"), numel, -1.0f, 1.0f);
      auto pack = fb::CreateWeightPack(b, static_cast<fb::WeightPackKind>(kind), 0,
                                       b.CreateVector(std::vector<int32_t>{index}), 0, 0,
                                       b.CreateVector(std::vector<uint64_t>{offset}));
      return fb::CreateSeededWeights(b, 7, b.CreateVector(std::vector{tensor}),
                                     b.CreateVector(std::vector{pack}));
    };
  };
  auto bundle = [](const Writer &seeded) {
    return spire::test::handMadeBundle(0, fb::Region(fb::Space::Weights, 0, 16), {}, {}, 0,
                                       seeded, 16);
  };
  auto load = [](const std::vector<uint8_t> &bytes) {
    return Bundle::fromMemory(bytes.data(), bytes.size());
  };
  std::vector<uint8_t> ok = bundle(copyOf(4, 0, 0));
  CHECK(load(ok).weightsBytes() == 16);

  CHECK_THROWS_WITH(load(bundle(copyOf(4, 3, 0))),
                    Catch::Contains("seeded weight pack 0: a parameter names tensor 3, which does "
                                    "not exist"));
  CHECK_THROWS_WITH(load(bundle(copyOf(4, 0, 8))),
                    Catch::Contains("seeded weight pack 0 places 16 bytes at 8, outside the "
                                    "16-byte blob"));
  CHECK_THROWS_WITH(load(bundle(copyOf(5, 0, 0))),
                    Catch::Contains("seeded tensor 0 ('w') has 5 values, more than the 16-byte "
                                    "blob holds"));
  CHECK_THROWS_WITH(load(bundle(copyOf(4, 0, 0, 9))),
                    Catch::Contains("seeded weight pack 0: unknown pack kind 9"));
  // A conv pack without its layer.
  CHECK_THROWS_WITH(load(bundle(copyOf(4, 0, 0, 0))),
                    Catch::Contains("seeded weight pack 0: a pack of kind 0 has 0 layers and 1 "
                                    "tensors"));

  // A seeded bundle must be version 3 or later with no weight bytes of its own.
  std::vector<uint8_t> old = ok;
  fb::Header h = header(old);
  h.version = 2;
  std::memcpy(old.data(), &h, sizeof(h));
  spire::test::reseal(old);
  CHECK_THROWS_WITH(load(old), Catch::Contains("a seeded bundle must be format version 3"));
}
