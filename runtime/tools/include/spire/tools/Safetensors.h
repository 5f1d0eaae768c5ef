// The .safetensors format (an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}}, then the raw bytes): weights
// for the compiler, and stage interfaces for `spire run`. Free of LLVM, so
// that the runtime-only runner (spire-run) reads and writes it too; the
// compiler's spire/Support/Safetensors.h wraps it in llvm::Expected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spire {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

namespace safetensors {

// Each returns "" on success, else why it failed (naming the tensor; the
// caller names the file).
//
// Reads the F32 and F64 tensors (as f32) of a file's bytes, in file order;
// I64 tensors named `*num_batches_tracked` (PyTorch's batch-norm step
// counter) are skipped. Nothing in the file is trusted: a tensor named
// twice, data offsets outside the data or overlapping another tensor's, data
// bytes no tensor owns, and a shape whose byte count overflows are errors.
std::string parse(std::string_view bytes, std::vector<NamedTensor> &tensors);
std::string read(const std::string &path, std::vector<NamedTensor> &tensors);
std::string write(const std::string &path, const std::vector<NamedTensor> &tensors);

} // namespace safetensors
} // namespace spire
