// Built-in target profiles: what kernel selection knows of a device family,
// and the tile sizes the family starts from. One file per vendor family;
// select-kernel-config turns a profile into per-kernel configs.
#pragma once

#include "spire/Codegen/KernelBuilder.h"
#include "spire/TargetDescription.h"

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace spire {

// The device description (#spire.target), and the tiles its kernels start
// from (TileConfig's fields are the limits per family; select-kernel-config
// resolves them per kernel).
struct TargetProfile : TargetDescription {
  TileConfig tiles;
};

// Tiles for a GPU: lavapipe's, with workgroups of `workgroup` invocations
// and a `channels` x `positions` register tile per thread, since
// registers, not stores, bound a GPU thread's work.
TileConfig gpuTiles(int64_t workgroup, int64_t channels, int64_t positions);

TargetProfile lavapipeProfile();
TargetProfile nvidiaProfile();
TargetProfile amdProfile();
TargetProfile intelProfile();
std::vector<TargetProfile> mobileProfiles(); // arm-mali, qualcomm-adreno
TargetProfile genericProfile();

// Every built-in profile, in a fixed order; the first is the default.
std::vector<TargetProfile> targetProfiles();
std::optional<TargetProfile> findTarget(llvm::StringRef name);

// A target from a JSON file in `spire devices --profile`'s form, or why it
// cannot be read.
std::variant<TargetProfile, std::string> readTargetFile(llvm::StringRef path);

// `--target`'s value: a built-in name or a .json file; or why it names no
// target.
std::variant<TargetProfile, std::string> resolveTarget(llvm::StringRef target);

} // namespace spire
