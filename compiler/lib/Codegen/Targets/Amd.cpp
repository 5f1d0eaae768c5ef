// AMD GPUs (RDNA and GCN): 32- or 64-lane subgroups, 64 KiB of LDS. Not
// measured on a GPU yet: workgroups of 256 invocations (4 wave64s or 8
// wave32s) and the register tile of the NVIDIA profile.
#include "Targets.h"

namespace spire {

TargetProfile amdProfile() {
  return {"amd", 32, 1024, 65536, 1 << 27, true, 4, gpuTiles(256, 8, 8)};
}

} // namespace spire
