// The fixed header of a Spire bundle. Shared by the compiler's writer and the
// runtime's reader; the manifest schema is runtime/schema/bundle.fbs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spire::bundle {

inline constexpr char kMagic[8] = {'S', 'P', 'I', 'R', 'E', 'B', 'D', 'L'};
// Version 2 added Kernel.vec4_texel_bindings, which a version-1 reader would
// silently read one float a texel; version-1 bundles still read correctly.
// Version 3 added Model.seeded_weights (no weight bytes in the file); the
// writer marks only seeded bundles 3, so older runtimes still read the rest.
inline constexpr uint32_t kFormatVersion = 3, kOldestReadableVersion = 1;
inline constexpr uint32_t kUnseededFormatVersion = 2;
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
  uint64_t checksum;  // checksum() of bytes [headerSize, fileSize)
};
static_assert(sizeof(Header) == 64, "the header is 64 bytes on disk");

// FNV-1a, 64 bit: simple, dependency-free, and enough to catch corruption
// (it is not a defence against a crafted file: the reader validates every
// offset and the manifest's FlatBuffer anyway).
// `h` continues a checksum over bytes that came before (the writer streams).
inline constexpr uint64_t kChecksumStart = 0xcbf29ce484222325ull;
inline uint64_t checksum(const unsigned char *data, size_t size, uint64_t h = kChecksumStart) {
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

} // namespace spire::bundle
