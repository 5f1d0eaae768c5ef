// splitmix64: a tiny, well-known generator with the same output everywhere
// (std::uniform_real_distribution differs between standard libraries). The
// compiler's seeded weights and `spire run`'s seeded inputs both use it.
#pragma once

#include <cstdint>

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

} // namespace spire
