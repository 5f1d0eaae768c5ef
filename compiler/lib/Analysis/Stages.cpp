#include "spire/Analysis/Stages.h"

#include "spire/Dialect/SpireOps.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace spire {

std::string valueName(Value value) {
  if (Operation *def = value.getDefiningOp()) {
    // A layer with a folded batch norm produces that norm's tensor.
    if (auto norm = def->getAttrOfType<StringAttr>("norm"))
      return norm.str();
    return layerName(def).str();
  }
  auto arg = llvm::cast<BlockArgument>(value);
  auto func = llvm::cast<func::FuncOp>(arg.getOwner()->getParentOp());
  if (auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "spire.name"))
    return name.str();
  return "arg" + std::to_string(arg.getArgNumber());
}

std::vector<StageInfo> computeStages(func::FuncOp model) {
  std::vector<StageInfo> stages(1);
  Block &body = model.getBody().front();
  for (Operation &op : body) {
    if (auto split = llvm::dyn_cast<SplitOp>(op)) {
      stages.back().split = split;
      stages.emplace_back();
    } else if (!llvm::isa<func::ReturnOp>(op)) {
      stages.back().ops.push_back(&op);
    }
  }
  auto returnOp = llvm::cast<func::ReturnOp>(body.getTerminator());

  // Values in definition order, with the stage that defines them.
  std::vector<std::pair<Value, size_t>> defined;
  for (Value arg : model.getArguments())
    defined.push_back({arg, 0});
  for (auto [k, stage] : llvm::enumerate(stages))
    for (Operation *op : stage.ops)
      defined.push_back({op->getResult(0), k});

  // lastUse[v]: the last stage that reads v (model outputs: past the end).
  llvm::DenseMap<Value, size_t> lastUse;
  for (auto [k, stage] : llvm::enumerate(stages))
    for (Operation *op : stage.ops)
      for (Value operand : op->getOperands())
        lastUse[operand] = std::max(lastUse.lookup(operand), k);
  for (Value out : returnOp.getOperands())
    lastUse[out] = stages.size();

  for (size_t k = 0; k < stages.size(); ++k) {
    stages[k].name = "stage" + std::to_string(k);
    for (auto [value, definedIn] : defined) {
      auto it = lastUse.find(value);
      bool used = it != lastUse.end();
      size_t last = used ? it->second : 0;
      bool isArg = llvm::isa<BlockArgument>(value);
      if (k == 0 ? isArg : used && definedIn < k && last >= k)
        stages[k].inputs.push_back(value);
      if (used && k + 1 < stages.size() && definedIn <= k && last > k)
        stages[k].outputs.push_back(value);
    }
    if (k + 1 == stages.size())
      for (Value out : returnOp.getOperands())
        stages[k].outputs.push_back(out);
  }
  return stages;
}

} // namespace spire
