// Mesa's lavapipe: Vulkan on the CPU, 8-lane subgroups (AVX2). The default
// target; its tiles are the ones measured in docs/PERFORMANCE.md.
#include "Targets.h"

namespace spire {

TargetProfile lavapipeProfile() {
  // A store is a per-lane loop and a texel fetch about half a storage-buffer
  // load, so the tiles favour many outputs a thread and texel reads.
  return {"lavapipe", 8, 1024, 32768, 1 << 27, false, 4, TileConfig{}};
}

} // namespace spire
