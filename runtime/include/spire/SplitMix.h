// splitmix64: a tiny, well-known generator with the same output everywhere
// (std::uniform_real_distribution differs between standard libraries). The
// compiler's seeded weights, the runtime's regeneration of a seeded bundle's
// weights (spire/WeightPacking.h) and `spire run`'s seeded inputs all use it,
// so all three agree bit for bit. Header-only, shared by compiler and runtime.
#pragma once

#include "spire/BundleFormat.h"
#include "spire/HugePages.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace spire {

struct SplitMix64 {
  uint64_t state;

  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi), from the top 24 bits.
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>((next() >> 40) * (1.0 / (1ull << 24)));
  }
};

// A seeded parameter tensor: `numel` floats uniform in [lo, hi), from a
// generator seeded per name, so editing one layer leaves the others' weights
// alone. (The name hash is BundleFormat.h's FNV-1a: defined there, not by
// a library whose hash could change.)
inline std::vector<float> seededTensor(uint64_t seed, std::string_view name, uint64_t numel,
                                       float lo, float hi) {
  SplitMix64 rng{seed ^ bundle::fnv1a(reinterpret_cast<const unsigned char *>(name.data()),
                                         name.size())};
  std::vector<float> data = onHugePages<float>(numel);
  for (float &v : data)
    v = rng.uniform(lo, hi);
  return data;
}

} // namespace spire
