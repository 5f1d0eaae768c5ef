// The on-disk pipeline cache. A file is Spire's own small header (magic,
// size and checksum of what follows, to catch truncation and corruption that
// a driver might not) followed by the driver's vkGetPipelineCacheData bytes,
// whose VkPipelineCacheHeaderVersionOne is checked against the device before
// the driver sees them.
#include "PipelineCache.h"

#include "spire/BundleFormat.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace spire {

namespace {

constexpr char kFileMagic[8] = {'S', 'P', 'I', 'R', 'E', 'P', 'C', '1'};
// Far beyond any real cache; a larger file is not read into memory.
constexpr uint64_t kMaxFileBytes = uint64_t(1) << 30;

struct FileHeader {
  char magic[8];
  uint64_t dataSize; // the driver's bytes that follow
  uint64_t checksum; // bundle::fnv1a of them
};
static_assert(sizeof(FileHeader) == 24);

std::string hex(const uint8_t *bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i)
    s += {digits[bytes[i] >> 4], digits[bytes[i] & 15]};
  return s;
}

std::string hex64(uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(v));
  return text;
}

// The driver's data from `file` if it is whole and made by this device and
// driver; empty otherwise.
std::vector<uint8_t> readValid(const std::string &file, const VkPhysicalDeviceProperties &props) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in)
    return {};
  std::streamoff size = in.tellg();
  if (size < static_cast<std::streamoff>(sizeof(FileHeader)) ||
      static_cast<uint64_t>(size) > kMaxFileBytes)
    return {};
  in.seekg(0);
  FileHeader h;
  std::vector<uint8_t> data(static_cast<size_t>(size) - sizeof(FileHeader));
  if (!in.read(reinterpret_cast<char *>(&h), sizeof(h)) ||
      !in.read(reinterpret_cast<char *>(data.data()), data.size()))
    return {};
  VkPipelineCacheHeaderVersionOne vk;
  if (std::memcmp(h.magic, kFileMagic, sizeof(kFileMagic)) != 0 || h.dataSize != data.size() ||
      bundle::fnv1a(data.data(), data.size()) != h.checksum || data.size() < sizeof(vk))
    return {};
  std::memcpy(&vk, data.data(), sizeof(vk));
  if (vk.headerSize < sizeof(vk) || vk.headerSize > data.size() ||
      vk.headerVersion != VK_PIPELINE_CACHE_HEADER_VERSION_ONE || vk.vendorID != props.vendorID ||
      vk.deviceID != props.deviceID ||
      std::memcmp(vk.pipelineCacheUUID, props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
    return {};
  return data;
}

} // namespace

std::string pipelineCacheDir(const std::string &option) {
  std::string dir = option;
  if (dir.empty())
    if (const char *env = std::getenv("SPIRE_PIPELINE_CACHE"))
      dir = env;
  if (dir == "off")
    return "";
  if (!dir.empty())
    return dir;
  // XDG: a relative $XDG_CACHE_HOME is invalid and ignored.
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/')
    return std::string(xdg) + "/spire";
  if (const char *home = std::getenv("HOME"); home && home[0])
    return std::string(home) + "/.cache/spire";
  return "";
}

PipelineCache::PipelineCache(const Device &device, const std::string &dir,
                             uint64_t bundleChecksum)
    : device_(device.device) {
  if (dir.empty())
    return;
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(device.physical, &props);
  // The name carries all that the driver's header checks too, so a second
  // device or driver keeps its own file instead of overwriting this one.
  file_ = dir + "/" + hex64(bundleChecksum) + "-" +
          hex(props.pipelineCacheUUID, VK_UUID_SIZE) + "-" + hex64(props.driverVersion) + ".vkpc";
  std::vector<uint8_t> data = readValid(file_, props);
  VkPipelineCacheCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  info.initialDataSize = data.size();
  info.pInitialData = data.empty() ? nullptr : data.data();
  vkCheck(vkCreatePipelineCache(device_, &info, nullptr, &cache_), "vkCreatePipelineCache");
  warm_ = !data.empty();
  readSize_ = data.size();
}

PipelineCache::~PipelineCache() {
  if (cache_)
    vkDestroyPipelineCache(device_, cache_, nullptr);
}

void PipelineCache::save() const {
  if (!cache_)
    return;
  size_t size = 0;
  if (vkGetPipelineCacheData(device_, cache_, &size, nullptr) != VK_SUCCESS ||
      (warm_ && size == readSize_))
    return;
  std::vector<uint8_t> data(size);
  VkResult got = vkGetPipelineCacheData(device_, cache_, &size, data.data());
  if ((got != VK_SUCCESS && got != VK_INCOMPLETE) || size == 0)
    return;
  data.resize(size);
  FileHeader h;
  std::memcpy(h.magic, kFileMagic, sizeof(kFileMagic));
  h.dataSize = data.size();
  h.checksum = bundle::fnv1a(data.data(), data.size());

  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(file_).parent_path(), ec);
  // Unique per process and call: two writers never share a temporary.
  std::random_device random;
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::string tmp = file_ + ".tmp" + hex64(random() ^ static_cast<uint64_t>(now));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(&h), sizeof(h));
    out.write(reinterpret_cast<const char *>(data.data()), data.size());
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      return;
    }
  }
  fs::rename(tmp, file_, ec);
  if (ec)
    fs::remove(tmp, ec);
}

} // namespace spire
