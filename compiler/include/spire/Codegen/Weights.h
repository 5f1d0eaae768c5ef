// The parameter tensors a model is compiled with: read from a .safetensors
// file by name, or generated from a seed. Checked against what each layer of
// the spec owns, with errors at the layer's YAML line.
#pragma once

#include "spire/FrontEnd/ModuleBuilder.h"
#include "spire/Support/Safetensors.h"

#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>
#include <vector>

namespace spire {

struct WeightTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  float lo = 0, hi = 0; // seeded: the range it was drawn from
};

class WeightStore {
public:
  // The seed of generated weights when no file is given (documented in the
  // README: uniform in +-1/sqrt(fan_in), as PyTorch initializes linear and
  // conv layers; batch-norm statistics randomized so folding is exercised).
  static constexpr uint64_t kDefaultSeed = 0;

  // Reads every tensor of a .safetensors file; reports errors (with the
  // file name) through the context's diagnostics.
  static mlir::FailureOr<WeightStore> readSafetensors(mlir::MLIRContext &ctx,
                                                      const std::string &path);
  // Takes tensors a caller already holds (the Python bindings' arrays).
  static WeightStore fromTensors(std::vector<NamedTensor> tensors);
  // Checks the store against every layer's parameters: missing, unexpected,
  // mis-shaped tensors are errors at the layer's location.
  mlir::LogicalResult checkAgainst(SpecModule &spec, const std::string &source);
  // Fills in seeded random values for every parameter of the spec.
  static WeightStore random(SpecModule &spec, uint64_t seed = kDefaultSeed);

  const WeightTensor *find(llvm::StringRef name) const;
  // Bytes of all the tensors' values (what a packed blob about needs).
  uint64_t bytes() const;
  // The seed of random() weights; none for weights from a file.
  std::optional<uint64_t> seed() const { return seed_; }

private:
  llvm::StringMap<WeightTensor> tensors_;
  std::optional<uint64_t> seed_;
};

} // namespace spire
