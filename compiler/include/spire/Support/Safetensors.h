// The .safetensors reader and writer (spire/tools/Safetensors.h) with
// llvm::Error results, for the compiler.
#pragma once

#include "spire/tools/Safetensors.h"

#include "llvm/Support/Error.h"

namespace spire {

llvm::Expected<std::vector<NamedTensor>> readSafetensors(const std::string &path);
// The same from a file's bytes (what the fuzz harness feeds).
llvm::Expected<std::vector<NamedTensor>> parseSafetensors(llvm::StringRef bytes);
llvm::Error writeSafetensors(const std::string &path, const std::vector<NamedTensor> &tensors);

} // namespace spire
