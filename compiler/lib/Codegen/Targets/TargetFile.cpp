// A target described in a JSON file, as `spire devices --profile` prints a
// device: its "name" is the built-in profile whose tiles the kernels start
// from, the other fields describe the device and are recorded as given.
#include "Targets.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

namespace spire {

std::variant<TargetProfile, std::string> readTargetFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return "cannot read it: " + buffer.getError().message();
  llvm::Expected<llvm::json::Value> json = llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return "not JSON: " + llvm::toString(json.takeError());
  const llvm::json::Object *object = json->getAsObject();
  if (!object)
    return std::string("not a JSON object");
  std::optional<llvm::StringRef> name = object->getString("name");
  if (!name)
    return std::string("has no \"name\" (the built-in profile its kernels start from)");
  std::optional<TargetProfile> base = findTarget(*name);
  if (!base)
    return "names no built-in profile: '" + name->str() + "'";
  TargetProfile profile = *base;
  for (auto [key, field] : {std::pair{"subgroup_size", &profile.subgroupSize},
                            {"max_workgroup_invocations", &profile.maxWorkgroupInvocations},
                            {"shared_memory_bytes", &profile.sharedMemoryBytes},
                            {"max_texel_buffer_elements", &profile.maxTexelBufferElements},
                            {"vector_width", &profile.vectorWidth}}) {
    if (!object->get(key))
      continue;
    std::optional<int64_t> v = object->getInteger(key);
    if (!v || *v < 1)
      return std::string("\"") + key + "\" must be a whole number >= 1";
    *field = *v;
  }
  if (object->get("f16")) {
    std::optional<bool> f16 = object->getBoolean("f16");
    if (!f16)
      return std::string("\"f16\" must be true or false");
    profile.f16 = *f16;
  }
  // What the device can run bounds the profile's tiles: subgroup lanes that
  // share loads and the workgroup size.
  while (profile.tiles.broadcastLanes > profile.subgroupSize)
    profile.tiles.broadcastLanes /= 2;
  profile.tiles.workgroupSize =
      std::min(profile.tiles.workgroupSize, profile.maxWorkgroupInvocations);
  return profile;
}

} // namespace spire
