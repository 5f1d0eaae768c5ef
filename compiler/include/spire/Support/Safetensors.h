// The .safetensors format (an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}}, then the raw bytes): weights
// for the compiler, and stage interfaces for `spire run`.
#pragma once

#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace spire {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Reads the F32 and F64 tensors (as f32) of a file, in file order; I64
// tensors named `*num_batches_tracked` (PyTorch's batch-norm step counter)
// are skipped. Nothing in the file is trusted: a tensor named twice, data
// offsets outside the data or overlapping another tensor's, data bytes no
// tensor owns, and a shape whose byte count overflows are errors; any
// problem is an error naming the tensor (the caller names the file).
llvm::Expected<std::vector<NamedTensor>> readSafetensors(const std::string &path);
// The same from a file's bytes (what the fuzz harness feeds).
llvm::Expected<std::vector<NamedTensor>> parseSafetensors(llvm::StringRef bytes);
llvm::Error writeSafetensors(const std::string &path, const std::vector<NamedTensor> &tensors);

} // namespace spire
