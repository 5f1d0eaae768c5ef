// Size symbols at run time (bundle.fbs: Model.sizes): their values for a
// run, from the caller or the inputs' shapes, and what those values make of
// the bundle's symbolic shapes and grids. Regions do not change with them:
// the arena is planned for every symbol at its maximum, and at a smaller
// size a tensor fills the start of its region.
#pragma once

#include "Internal.h"

#include <array>
#include <span>

namespace spire {

// The symbols' values, in Model.sizes order, for a run whose first stage
// takes `wanted`, given inputs of these `shapes` (by name; checkInputs has
// checked names, ranks and fixed dims) and the caller's `given` values.
// Throws Error(Input) naming the input and dim for a value out of range, a
// dim no value fits, several values fitting, or a symbol left unknown.
std::vector<int64_t> resolveSizes(const Bundle::Impl &bundle, const std::vector<TensorInfo> &wanted,
                                  const std::map<std::string, std::vector<int64_t>> &shapes,
                                  const SizeMap &given);

SizeMap sizeMap(const Bundle::Impl &bundle, std::span<const int64_t> values);

// What a run's values make of one stage.
struct StageSizes {
  std::vector<TensorInfo> inputs, outputs;      // shapes evaluated, dim 0 as stored
  std::vector<uint64_t> inputBytes, outputBytes; // a sample's, within its region
  std::vector<std::array<uint32_t, 3>> grids;    // per dispatch, for one sample
  std::vector<bool> runs; // per dispatch: whether it runs at these sizes (Dispatch.when)
};

struct RunSizes {
  std::vector<int64_t> values;
  std::vector<StageSizes> stages; // every stage of the bundle
};

// Throws Error(Bundle) when a value makes a dim or grid invalid or a tensor
// larger than its region (the reader checked only the ranges' ends).
RunSizes evaluateSizes(const Bundle::Impl &bundle, std::vector<int64_t> values);

} // namespace spire
