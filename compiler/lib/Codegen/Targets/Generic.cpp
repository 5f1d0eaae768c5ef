// Any Vulkan 1.1 device: only what the specification guarantees. Subgroups
// may have one lane (no shared loads), texel buffers only 2^16 elements
// (storage buffers instead), workgroups 128 invocations, 16 KiB of shared
// memory.
#include "Targets.h"

#include "spire/Codegen/Codegen.h"

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

std::variant<TargetProfile, std::string> resolveTarget(llvm::StringRef target) {
  if (target.ends_with(".json")) {
    std::variant<TargetProfile, std::string> read = readTargetFile(target);
    if (auto *why = std::get_if<std::string>(&read))
      return "target file '" + target.str() + "': " + *why;
    return read;
  }
  if (std::optional<TargetProfile> profile = findTarget(target))
    return *profile;
  std::string names;
  for (const TargetProfile &p : targetProfiles())
    names += (names.empty() ? "" : ", ") + p.name;
  return "unknown target '" + target.str() + "'; the built-in targets are " + names +
         ", or a .json file as `spire devices --profile` prints";
}

std::optional<std::string> checkTarget(llvm::StringRef target) {
  std::variant<TargetProfile, std::string> resolved = resolveTarget(target);
  if (auto *why = std::get_if<std::string>(&resolved))
    return *why;
  return std::nullopt;
}

} // namespace spire
