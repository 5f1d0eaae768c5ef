// SpirvLoopResults (Passes.td): a loop's carried values leave it as the
// loop's results instead of through Function variables stored every
// iteration.
#include "spire/Codegen/Passes.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace spire {

#define GEN_PASS_DEF_SPIRVLOOPRESULTS
#include "spire/Codegen/Passes.h.inc"

namespace {

// A variable that carries loop-carried value `headerArg` out of a loop: the
// only store to it is in the continue block, of the value the back edge
// passes to that header argument, and every other use is a load after the
// loop in the loop's block.
struct CarriedVariable {
  spirv::VariableOp variable;
  spirv::StoreOp store;
  BlockArgument headerArg;
};

std::optional<CarriedVariable> carriedBy(spirv::LoopOp loop, spirv::BranchOp backEdge,
                                         spirv::StoreOp store) {
  auto variable = store.getPtr().getDefiningOp<spirv::VariableOp>();
  if (!variable || variable.getInitializer() || loop->isProperAncestor(variable))
    return std::nullopt;
  auto carried = llvm::find(backEdge.getTargetOperands(), store.getValue());
  if (carried == backEdge.getTargetOperands().end())
    return std::nullopt;
  for (Operation *user : variable->getUsers())
    if (user != store && !(llvm::isa<spirv::LoadOp>(user) && user->getBlock() == loop->getBlock() &&
                           loop->isBeforeInBlock(user)))
      return std::nullopt;
  unsigned index = carried - backEdge.getTargetOperands().begin();
  return CarriedVariable{variable, store, loop.getHeaderBlock()->getArgument(index)};
}

// Rebuilds `loop` with one more result per carried variable: the header's
// argument, which on exit holds the value of the last iteration (or the
// initial one if there was none, where the variable held nothing). A break
// from the body leaves before the continue block's store, so the header's
// argument is still what the variable holds.
void liftCarriedVariables(spirv::LoopOp loop) {
  auto backEdge = llvm::dyn_cast<spirv::BranchOp>(loop.getContinueBlock()->getTerminator());
  if (!backEdge || backEdge.getTarget() != loop.getHeaderBlock())
    return;
  SmallVector<CarriedVariable> lifted;
  for (auto store : loop.getContinueBlock()->getOps<spirv::StoreOp>())
    if (std::optional<CarriedVariable> c = carriedBy(loop, backEdge, store))
      lifted.push_back(*c);
  if (lifted.empty())
    return;

  auto merge = llvm::cast<spirv::MergeOp>(loop.getMergeBlock()->getTerminator());
  SmallVector<Value> yielded(merge.getOperands());
  SmallVector<Type> types(loop.getResultTypes());
  for (const CarriedVariable &c : lifted) {
    yielded.push_back(c.headerArg);
    types.push_back(c.headerArg.getType());
  }
  OpBuilder b(loop);
  auto rebuilt = spirv::LoopOp::create(b, loop.getLoc(), types, loop.getLoopControl());
  rebuilt.getBody().takeBody(loop.getBody());
  b.setInsertionPoint(merge);
  spirv::MergeOp::create(b, merge.getLoc(), yielded);
  merge.erase();
  unsigned kept = loop.getNumResults();
  loop.replaceAllUsesWith(rebuilt.getResults().take_front(kept));
  loop.erase();
  for (auto [i, c] : llvm::enumerate(lifted)) {
    c.store.erase();
    for (Operation *load : llvm::make_early_inc_range(c.variable->getUsers())) {
      load->getResult(0).replaceAllUsesWith(rebuilt.getResult(kept + i));
      load->erase();
    }
    c.variable.erase();
  }
}

// The serializer numbers a loop's results only when it reaches the loop, but
// takes the operands of an enclosing loop header's phis (the back edge's) by
// value before that, and then finds no id. A select of the result with
// itself, which drivers fold away, is numbered in time.
void copyResultsIntoBranches(spirv::LoopOp loop) {
  OpBuilder b(loop->getContext());
  b.setInsertionPointAfter(loop);
  Value yes;
  for (OpResult result : loop.getResults())
    for (OpOperand &use : llvm::make_early_inc_range(result.getUses())) {
      if (!llvm::isa<spirv::BranchOp, spirv::BranchConditionalOp>(use.getOwner()))
        continue;
      if (!yes)
        yes = spirv::ConstantOp::getOne(b.getI1Type(), loop.getLoc(), b);
      use.set(spirv::SelectOp::create(b, loop.getLoc(), yes, result, result));
    }
}

struct SpirvLoopResults : impl::SpirvLoopResultsBase<SpirvLoopResults> {
  void runOnOperation() override {
    SmallVector<spirv::LoopOp> loops; // innermost first
    getOperation().walk([&](spirv::LoopOp loop) { loops.push_back(loop); });
    for (spirv::LoopOp loop : loops)
      liftCarriedVariables(loop);
    getOperation().walk(copyResultsIntoBranches);
  }
};

} // namespace
} // namespace spire
