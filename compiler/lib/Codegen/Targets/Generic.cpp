// Any Vulkan 1.1 device: only what the specification guarantees. Subgroups
// may have one lane (no shared loads), texel buffers only 2^16 elements
// (storage buffers instead), workgroups 128 invocations, 16 KiB of shared
// memory.
#include "Targets.h"

namespace spire {

TileConfig gpuTiles(int64_t workgroup, int64_t channels, int64_t positions) {
  TileConfig tiles;
  tiles.workgroupSize = workgroup;
  tiles.channelsPerThread = channels;
  tiles.pixelsPerThread = positions;
  return tiles;
}

TargetProfile genericProfile() {
  TileConfig tiles = gpuTiles(64, 8, 8);
  tiles.broadcastLanes = 1;
  tiles.texelInputs = false;
  return {"generic", 1, 128, 16384, 1 << 16, false, 4, tiles};
}

std::vector<TargetProfile> targetProfiles() {
  std::vector<TargetProfile> all = {lavapipeProfile(), nvidiaProfile(), amdProfile(),
                                    intelProfile()};
  for (TargetProfile &p : mobileProfiles())
    all.push_back(p);
  all.push_back(genericProfile());
  return all;
}

std::optional<TargetProfile> findTarget(llvm::StringRef name) {
  for (TargetProfile &p : targetProfiles())
    if (p.name == name)
      return p;
  return std::nullopt;
}

} // namespace spire
