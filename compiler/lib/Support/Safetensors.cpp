#include "spire/Support/Safetensors.h"

namespace spire {

static llvm::Expected<std::vector<NamedTensor>> result(const std::string &error,
                                                       std::vector<NamedTensor> tensors) {
  if (!error.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), error);
  return tensors;
}

llvm::Expected<std::vector<NamedTensor>> readSafetensors(const std::string &path) {
  std::vector<NamedTensor> tensors;
  std::string error = safetensors::read(path, tensors);
  return result(error, std::move(tensors));
}

llvm::Expected<std::vector<NamedTensor>> parseSafetensors(llvm::StringRef bytes) {
  std::vector<NamedTensor> tensors;
  std::string error = safetensors::parse(std::string_view(bytes.data(), bytes.size()), tensors);
  return result(error, std::move(tensors));
}

llvm::Error writeSafetensors(const std::string &path, const std::vector<NamedTensor> &tensors) {
  std::string error = safetensors::write(path, tensors);
  if (!error.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), error);
  return llvm::Error::success();
}

} // namespace spire
