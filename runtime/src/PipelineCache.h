// A VkPipelineCache kept on disk between processes: one file per bundle,
// device and driver, so a later load of the same bundle hands the driver
// what it compiled before.
#pragma once

#include "Device.h"

namespace spire {

// The cache directory for ContextOptions::pipelineCache `option`: the option,
// else $SPIRE_PIPELINE_CACHE, else $XDG_CACHE_HOME/spire, else
// ~/.cache/spire; empty when it is "off" or there is no home.
std::string pipelineCacheDir(const std::string &option);

class PipelineCache {
public:
  // Reads `dir`'s file for this bundle and device if there is a valid one;
  // anything else there (missing, truncated, corrupt, another device's or
  // driver's) is ignored and the cache starts empty. With `dir` empty there
  // is no file and handle() is VK_NULL_HANDLE.
  PipelineCache(const Device &device, const std::string &dir, uint64_t bundleChecksum);
  PipelineCache(const PipelineCache &) = delete;
  PipelineCache &operator=(const PipelineCache &) = delete;
  ~PipelineCache();

  VkPipelineCache handle() const { return cache_; }
  const std::string &file() const { return file_; }
  bool warm() const { return warm_; }
  // Writes the driver's data back when it differs in size from what was
  // read: to a temporary file renamed over the old one, so concurrent
  // processes never see half a file. A cache that cannot be written is no
  // error (the next load is cold, that is all).
  void save() const;

private:
  VkDevice device_ = VK_NULL_HANDLE;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::string file_;
  bool warm_ = false;
  size_t readSize_ = 0; // bytes of driver data read from the file
};

} // namespace spire
