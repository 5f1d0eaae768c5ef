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

std::vector<SpecStage> computeStages(func::FuncOp model) {
  std::vector<SpecStage> stages(1);
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

  // Each value joins the interfaces of the cuts it crosses, visited in
  // definition order, so the work is the interfaces' size, not stages x
  // values.
  for (size_t k = 0; k < stages.size(); ++k)
    stages[k].name = "stage" + std::to_string(k);
  for (auto [value, definedIn] : defined) {
    auto it = lastUse.find(value);
    if (llvm::isa<BlockArgument>(value))
      stages[0].inputs.push_back(value);
    if (it == lastUse.end())
      continue;
    size_t last = it->second;
    for (size_t k = std::max<size_t>(definedIn + 1, 1); k <= last && k < stages.size(); ++k)
      stages[k].inputs.push_back(value);
    for (size_t k = definedIn; k < last && k + 1 < stages.size(); ++k)
      stages[k].outputs.push_back(value);
  }
  for (Value out : returnOp.getOperands())
    stages.back().outputs.push_back(out);
  return stages;
}

} // namespace spire
