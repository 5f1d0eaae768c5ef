// NVIDIA GPUs (Turing and later): 32-lane subgroups, 48 KiB of shared
// memory a workgroup by default. Not measured on a GPU yet: the tiles are
// lavapipe's with workgroups of 128 invocations (4 subgroups, as NVIDIA's
// guides advise for latency hiding) and a smaller register tile, since
// registers, not stores, bound a GPU thread's work.
#include "Targets.h"

namespace spire {

TargetProfile nvidiaProfile() {
  return {"nvidia", 32, 1024, 49152, 1 << 27, true, 4, gpuTiles(128, 8, 8)};
}

} // namespace spire
