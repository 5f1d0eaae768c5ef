// The fixed header of a Spire bundle. Shared by the compiler's writer and the
// runtime's reader; the manifest schema is runtime/schema/bundle.fbs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace spire::bundle {

inline constexpr char kMagic[8] = {'S', 'P', 'I', 'R', 'E', 'B', 'D', 'L'};
// Version 2 added Kernel.vec4_texel_bindings, which a version-1 reader would
// silently read one float a texel; version-1 bundles still read correctly.
// Version 3 added Model.seeded_weights (no weight bytes in the file).
// Version 4 changed the checksum from FNV-1a, a byte at a time (about 1.8 ns
// a byte here: 0.18 s of every ResNet-50 load and compile), to Checksum.
// Version 5 added size symbols (Model.sizes, Tensor.dims, Dispatch.grid_sizes,
// Kernel.spec_constants); a version-4 reader would run such a bundle at the
// symbols' maximum whatever its inputs.
// Version 6 added push constants (Kernel.push_constants, Dispatch.
// push_constants), which a version-5 reader would leave unset.
// Version 7 added Dispatch.when (kernels per size class), whose dispatches
// a version-6 reader would all run.
inline constexpr uint32_t kFormatVersion = 7, kOldestReadableVersion = 1;
inline constexpr uint32_t kFirstSeededVersion = 3, kFirstBlockChecksumVersion = 4;
inline constexpr uint64_t kWeightsAlignment = 4096;  // page: the blob can be mapped
inline constexpr uint64_t kRegionAlignment = 256;    // >= any minStorageBufferOffsetAlignment

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t headerSize;  // sizeof(Header); lets a reader skip fields it does not know
  uint64_t manifestOffset;
  uint64_t manifestSize;
  uint64_t weightsOffset;
  uint64_t weightsSize;
  uint64_t fileSize;
  uint64_t checksum;  // bundleChecksum() of bytes [headerSize, fileSize)
};
static_assert(sizeof(Header) == 64, "the header is 64 bytes on disk");

// FNV-1a, 64 bit: simple and dependency-free; `h` continues a hash over
// bytes that came before. Bundles before version 4 and the pipeline cache's
// file use it as their checksum, seeded weights to derive each tensor's
// stream from its name.
inline constexpr uint64_t kFnvStart = 0xcbf29ce484222325ull, kFnvPrime = 0x100000001b3ull;
inline uint64_t fnv1a(const unsigned char *data, size_t size, uint64_t h = kFnvStart) {
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= kFnvPrime;
  }
  return h;
}

// The checksum of version-4 bundles: FNV-1a's step on 8-byte words in four
// independent lanes (32 bytes a step, so the multiplies overlap), folded
// with the length and the tail. Like FNV it catches corruption, not a
// crafted file (the reader validates every offset and the manifest's
// FlatBuffer anyway). Fed in parts, it equals one call on the whole.
class Checksum {
public:
  void update(const unsigned char *data, size_t size) {
    while (size && fill_) {
      block_[fill_++] = *data++;
      --size;
      if (fill_ == kBlock) {
        mix(block_);
        fill_ = 0;
      }
    }
    for (; size >= kBlock; data += kBlock, size -= kBlock)
      mix(data);
    // Here the block is empty or nothing is left (and `data` may be null).
    if (size)
      std::memcpy(block_ + fill_, data, size);
    fill_ += size;
  }
  uint64_t value() const {
    uint64_t h = (kFnvStart ^ (blocks_ * kBlock + fill_)) * kFnvPrime;
    for (uint64_t lane : lanes_)
      h = (h ^ lane) * kFnvPrime;
    return fnv1a(block_, fill_, h);
  }

private:
  static constexpr size_t kBlock = 32;
  void mix(const unsigned char *p) {
    for (int i = 0; i < 4; ++i) {
      uint64_t word;
      std::memcpy(&word, p + 8 * i, 8);
      lanes_[i] = (lanes_[i] ^ word) * kFnvPrime;
    }
    ++blocks_;
  }
  uint64_t lanes_[4] = {kFnvStart, kFnvStart + 1, kFnvStart + 2, kFnvStart + 3};
  unsigned char block_[kBlock];
  size_t fill_ = 0;
  uint64_t blocks_ = 0;
};

// The checksum a bundle of `version` carries for bytes [headerSize, fileSize).
inline uint64_t bundleChecksum(uint32_t version, const unsigned char *data, size_t size) {
  if (version < kFirstBlockChecksumVersion)
    return fnv1a(data, size);
  Checksum sum;
  sum.update(data, size);
  return sum.value();
}

} // namespace spire::bundle
