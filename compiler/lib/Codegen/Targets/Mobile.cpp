// Mobile GPUs: Arm Mali (Valhall: 16-lane subgroups) and Qualcomm Adreno
// (64-lane waves, subgroups reported as 64 or 128). Not measured on a GPU
// yet. Mali has no dedicated shared memory and small register files:
// workgroups of 64 and a 4 x 4 tile. Adreno's texel buffers are limited to
// 2^16 elements on some drivers, so its kernels read storage buffers.
#include "Targets.h"

namespace spire {

std::vector<TargetProfile> mobileProfiles() {
  TileConfig adreno = gpuTiles(128, 8, 4);
  adreno.texelInputs = false;
  return {{"arm-mali", 16, 512, 32768, 1 << 16, true, 4, gpuTiles(64, 4, 4)},
          {"qualcomm-adreno", 64, 1024, 32768, 1 << 16, true, 4, adreno}};
}

} // namespace spire
