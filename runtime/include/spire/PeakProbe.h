// The peak probe of `spire peak`: a one-kernel bundle whose invocations each
// run kPeakProbeChains independent chains of kPeakProbeIterations
// multiply-adds (unfused, as the kernels compute) from registers,
// kPeakProbeUnroll of them per loop iteration. The compiler builds it
// (buildPeakProbe); the runner carries the bundle built
// (runtime/tools/peak_probe.spire), so that it needs no MLIR.
#pragma once

#include <cstdint>

namespace spire {

inline constexpr int64_t kPeakProbeChains = 16, kPeakProbeUnroll = 8;
inline constexpr int64_t kPeakProbeInvocations = 1 << 17, kPeakProbeIterations = 2048;
static_assert(kPeakProbeIterations % kPeakProbeUnroll == 0, "peakProbeFlops counts every iteration");

inline double peakProbeFlops(int64_t invocations, int64_t iterations) {
  return 2.0 * kPeakProbeChains * static_cast<double>(invocations) *
         static_cast<double>(iterations);
}

} // namespace spire
