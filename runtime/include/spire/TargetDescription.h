// A device in #spire.target's terms: what a bundle's kernels were configured
// for, and what `spire devices --profile` reports of a device. Shared by the
// compiler (its built-in profiles, the bundle writer) and the runtime (the
// bundle reader, device profiles).
#pragma once

#include <cstdint>
#include <string>

namespace spire {

struct TargetDescription {
  std::string name;                     // a built-in profile: lavapipe, nvidia, ...; empty: none
  int64_t subgroupSize = 0;             // a profile's: the smallest subgroup the family runs
  int64_t maxWorkgroupInvocations = 0;
  int64_t sharedMemoryBytes = 0;
  int64_t maxTexelBufferElements = 0;
  bool f16 = false;
  int64_t vectorWidth = 0;              // floats a load or store moves at best
};

} // namespace spire
