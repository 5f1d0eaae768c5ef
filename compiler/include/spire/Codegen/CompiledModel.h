// What the code generator produces for a model: SPIR-V kernels, per stage
// the dispatch list and memory plan, and the packed weights. The bundle
// writer serializes exactly this (runtime/schema/bundle.fbs).
#pragma once

#include "spire/TargetDescription.h"
#include "spire/WeightPacking.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spire {

struct BufferRegion {
  enum class Space { Weights, Arena };
  Space space = Space::Arena;
  uint64_t offset = 0; // bytes; per sample for the arena
  uint64_t size = 0;
};

struct KernelCode {
  std::string name;
  std::vector<uint32_t> spirv;
  std::array<uint32_t, 3> workgroupSize{};
  uint32_t subgroupLanes = 0; // lanes a subgroup needs for its broadcasts; 0: none
  std::vector<uint32_t> texelBindings; // bindings read as uniform texel buffers
  std::vector<uint32_t> vec4TexelBindings; // of those, the ones read four floats a texel
  std::vector<uint32_t> specConstants; // SpecId i holds CompiledModel::sizes[specConstants[i]]
  uint32_t pushConstants = 0; // 32-bit push constants each dispatch passes
};

// A size over CompiledModel::sizes: a SizeExpr program (spire/SizeExpr.h).
using SizeProgram = std::vector<int64_t>;

struct SizeSymbolPlan {
  std::string name;
  int64_t min = 1, max = 1, multipleOf = 1;
};

struct DispatchPlan {
  uint32_t kernel = 0;
  std::vector<BufferRegion> bindings;
  std::array<uint32_t, 3> grid{}; // z is multiplied by the batch at run time
  std::string layer;
  std::vector<SizeProgram> gridSizes; // x, y, z where the grid depends on the size symbols
  std::vector<uint32_t> pushConstants; // its kernel's push constants, KernelCode::pushConstants
  // Runs only where `key` is one of `values` (with `otherwise`: none of
  // them); bundle.fbs: SizeCase. No key: at every size.
  struct Case {
    SizeProgram key;
    std::vector<int64_t> values;
    bool otherwise = false;
  };
  std::optional<Case> when;
};

struct TensorPlan {
  std::string name;
  std::vector<int64_t> shape; // shape[0] == -1: dynamic batch; -1 where `dims` has a symbol
  BufferRegion region;
  std::vector<SizeProgram> dims; // every dim, where one but the batch depends on the size symbols
};

struct StagePlan {
  std::string name;
  std::vector<TensorPlan> inputs, outputs;
  std::vector<DispatchPlan> dispatches;
  uint64_t arenaSize = 0; // bytes per sample
};

struct CompiledModel {
  std::string name;
  int64_t batch = -1;
  std::vector<TensorPlan> inputs, outputs;
  std::vector<StagePlan> stages;
  std::vector<KernelCode> kernels;
  std::vector<uint8_t> weights;
  std::vector<uint32_t> placement; // default device per stage; empty: none
  TargetDescription target;        // what the kernels were configured for (#spire.target)
  // How `weights` is made from a seed: written instead of its bytes.
  std::optional<weights::Recipe> seededWeights;
  std::vector<SizeSymbolPlan> sizes; // the size symbols kept symbolic (bundle: Model.sizes)
};

} // namespace spire
