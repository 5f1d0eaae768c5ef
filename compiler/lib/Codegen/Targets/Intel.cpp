// Intel GPUs (Xe): subgroups of 8 to 32 lanes (the compiler picks; 8 is
// the least a kernel can count on). Not measured on a GPU yet: workgroups
// of 128 invocations, a smaller register tile than lavapipe's.
#include "Targets.h"

namespace spire {

TargetProfile intelProfile() {
  return {"intel", 8, 1024, 65536, 1 << 27, true, 4, gpuTiles(128, 8, 8)};
}

} // namespace spire
