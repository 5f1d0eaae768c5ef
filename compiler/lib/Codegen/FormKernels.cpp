// form-kernels: wraps each anchor layer and what it absorbs in a
// `spire.kernel` (see SpireOps.td and KernelParts.h for the roles).
#include "KernelEmitters.h"
#include "spire/Analysis/Stages.h"
#include "spire/Analysis/Summary.h"
#include "spire/Codegen/Passes.h"
#include "spire/Dialect/SpireOps.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace spire {
#define GEN_PASS_DEF_FORMKERNELS
#include "spire/Codegen/Passes.h.inc"

namespace {

// A kernel to form: its anchor, the ops it absorbs, and what it reads
// besides the anchor's operands.
struct Group {
  Operation *anchor;
  Operation *gate = nullptr; // an input gate (KernelOp's input_gate)
  llvm::SmallVector<Operation *> absorbed;
  Operation *shortcut = nullptr; // its input becomes an operand
  // Binary ops whose other operand (the index) is a residual the kernel
  // reads; they become its last operands, in this order.
  llvm::SmallVector<std::pair<Operation *, unsigned>> residuals;
  Value result; // the value the kernel stores
};

// Kernels run in anchor order, so each group may only read what exists
// before its anchor; every absorbed value has its one user in the group
// and is not a stage interface tensor, so it is never stored.
std::vector<Group> formGroups(const SpecStage &stage) {
  llvm::DenseSet<Operation *> inStage(stage.ops.begin(), stage.ops.end());
  llvm::DenseSet<Value> interface(stage.outputs.begin(), stage.outputs.end());
  llvm::DenseSet<Operation *> absorbed;
  // The single consumer of v, when v is needed by nobody else: then the
  // consumer can be fused into v's kernel and v never stored.
  auto soleUser = [&](Value v) -> Operation * {
    if (interface.contains(v) || !v.hasOneUse())
      return nullptr;
    Operation *user = *v.getUsers().begin();
    return inStage.contains(user) ? user : nullptr;
  };
  // Input gates, found first: the mul comes before its conv in the stage.
  llvm::DenseMap<Operation *, Operation *> gates;
  for (Operation *op : stage.ops)
    if (Operation *conv = soleUser(op->getResult(0)); conv && gatesInput(op, conv)) {
      gates[conv] = op;
      absorbed.insert(op);
    }
  std::vector<Group> groups;
  for (Operation *op : stage.ops) {
    if (absorbed.contains(op) || isAlias(op))
      continue;
    Group g{op, gates.lookup(op)};
    g.result = op->getResult(0);
    Operation *next = soleUser(g.result);
    // `absorbedOp` joins the kernel, which then stores its result instead.
    auto take = [&](Operation *absorbedOp) {
      absorbed.insert(absorbedOp);
      g.absorbed.push_back(absorbedOp);
      g.result = absorbedOp->getResult(0);
      next = soleUser(g.result);
    };
    auto existsBefore = [&](Value v) {
      Operation *def = v.getDefiningOp();
      return !def || def->isBeforeInBlock(op);
    };
    // A binary op joins the kernel only if its result has the shape of the
    // kernel's value (the kernel's outputs are the op's): the residual it
    // reads may broadcast, the kernel's value may not.
    auto keepsShape = [&](Operation *binary) {
      return binary->getResult(0).getType() == g.result.getType();
    };
    Operation *pointwise = nullptr;
    if (next) {
      Operation *act = isActivation(next) ? next : nullptr;
      Operation *pw = act ? soleUser(act->getResult(0)) : next;
      if (pw && fusesPointwise(op, pw)) {
        pointwise = pw;
        if (act)
          take(act);
        take(pw);
      }
    }
    bool takesResidual = llvm::isa<Conv1dOp, Conv2dOp, LinearOp, Batchnorm1dOp, Batchnorm2dOp,
                                   AttentionOp>(op);
    if (next && takesResidual && llvm::isa<AddOp>(next) && keepsShape(next)) {
      Value other = next->getOperand(0) == g.result ? next->getOperand(1) : next->getOperand(0);
      // The residual must exist before this kernel starts. If it comes later
      // (a projection path built after the main path), either the projection
      // joins this kernel (a 1x1 conv used only by the add, on a value that
      // exists already), or the add fuses into the projection's kernel
      // instead.
      Operation *conv = other.getDefiningOp();
      bool projection = conv && !pointwise && !gates.contains(conv) && fusesShortcut(op, conv) &&
                        inStage.contains(conv) && op->isBeforeInBlock(conv) &&
                        soleUser(other) == next && existsBefore(conv->getOperand(0));
      if (existsBefore(other) || projection) {
        if (projection) {
          g.shortcut = conv;
          absorbed.insert(conv);
          g.absorbed.push_back(conv);
        } else {
          g.residuals.push_back({next, next->getOperand(0) == other ? 0u : 1u});
        }
        take(next);
      }
    }
    // Then a chain of elementwise layers (activations, binary ops with a
    // value that exists before the anchor): applied to each output before
    // it is stored, so the chain costs one store instead of one a layer.
    while (next) {
      if (isActivation(next)) {
        take(next);
        continue;
      }
      if (!isElementwiseBinary(next) || !keepsShape(next) || g.residuals.size() >= kMaxResiduals)
        break;
      unsigned otherIndex = next->getOperand(0) == g.result ? 1 : 0;
      if (!existsBefore(next->getOperand(otherIndex)))
        break;
      g.residuals.push_back({next, otherIndex});
      take(next);
    }
    groups.push_back(g);
  }
  return groups;
}

// Moves the group's ops into a new spire.kernel at the anchor's place (the
// order kernels run in) and makes the group's reads its operands.
void formKernel(Group &g) {
  Operation *anchor = g.anchor;
  SmallVector<Value> operands(anchor->getOperands());
  // A gated conv reads the mul's full-size operand; the gate comes after a
  // shortcut's input.
  unsigned full = 0;
  if (g.gate) {
    full = g.gate->getOperand(0).getType() == anchor->getOperand(0).getType() ? 0 : 1;
    operands[0] = g.gate->getOperand(full);
  }
  if (g.shortcut)
    operands.push_back(g.shortcut->getOperand(0));
  unsigned gateIndex = operands.size();
  if (g.gate)
    operands.push_back(g.gate->getOperand(1 - full));
  // Read now: an earlier kernel may have replaced the residual's producer.
  for (auto [op, index] : g.residuals)
    operands.push_back(op->getOperand(index));
  OpBuilder b(anchor);
  Operation *last = g.result.getDefiningOp();
  auto kernel = KernelOp::create(b, anchor->getLoc(), g.result.getType(), operands,
                                 valueName(g.result), nullptr, nullptr, nullptr, g.gate != nullptr,
                                 nullptr);
  SmallVector<Type> types;
  SmallVector<Location> locs;
  for (Value v : operands) {
    types.push_back(v.getType());
    locs.push_back(v.getLoc());
  }
  Block *body = b.createBlock(&kernel.getBody(), {}, types, locs);
  llvm::sort(g.absorbed, [](Operation *a, Operation *c) { return a->isBeforeInBlock(c); });
  if (g.gate) {
    g.gate->moveBefore(body, body->end());
    g.gate->setOperand(full, body->getArgument(0));
    g.gate->setOperand(1 - full, body->getArgument(gateIndex));
  }
  anchor->moveBefore(body, body->end());
  for (Operation *op : g.absorbed)
    op->moveBefore(body, body->end());
  for (unsigned i = g.gate ? 1 : 0; i < anchor->getNumOperands(); ++i)
    anchor->setOperand(i, body->getArgument(i));
  if (g.shortcut)
    g.shortcut->setOperand(0, body->getArgument(anchor->getNumOperands()));
  unsigned firstResidual = body->getNumArguments() - g.residuals.size();
  for (auto [k, residual] : llvm::enumerate(g.residuals))
    residual.first->setOperand(residual.second, body->getArgument(firstResidual + k));
  b.setInsertionPointToEnd(body);
  YieldOp::create(b, last->getLoc(), g.result);
  g.result.replaceUsesWithIf(kernel.getResult(), [&](OpOperand &use) {
    return !kernel->isProperAncestor(use.getOwner());
  });
}

struct FormKernels : impl::FormKernelsBase<FormKernels> {
  void runOnOperation() override {
    std::vector<Group> groups;
    for (const SpecStage &stage : computeStages(getOperation())) {
      std::vector<Group> formed = formGroups(stage);
      groups.insert(groups.end(), formed.begin(), formed.end());
    }
    for (Group &g : groups)
      formKernel(g);
  }
};

} // namespace
} // namespace spire
