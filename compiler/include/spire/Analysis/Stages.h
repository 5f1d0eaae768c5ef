// Stages of a model: the split points cut the model function's op sequence;
// each stage's interface is the live set at its cuts.
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace spire {

// A stage of the checked model function (the runtime's StageInfo describes
// a bundle's stage; one name each, or the two would break the ODR).
struct SpecStage {
  std::string name;                      // "stage0", ...
  std::vector<mlir::Operation *> ops;    // layer ops, in order
  // Interface in: model inputs (stage 0) or the live set at the cut before.
  std::vector<mlir::Value> inputs;
  // Interface out: the live set at the cut after, or the model outputs.
  std::vector<mlir::Value> outputs;
  // The split op that ends this stage (null for the last stage).
  mlir::Operation *split = nullptr;
};

// Live set at a cut: every value defined before it and used after it (model
// outputs count as used at the end), in definition order: inputs first, then
// op results in spec order.
std::vector<SpecStage> computeStages(mlir::func::FuncOp model);

// The tensor name of a value: its layer name, or the model input's name.
std::string valueName(mlir::Value value);

} // namespace spire
