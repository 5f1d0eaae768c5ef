#include "KernelParts.h"

#include "SizeSymbols.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace spire {

FailureOr<KernelParts> KernelParts::of(KernelOp kernel) {
  KernelParts p;
  p.kernel = kernel;
  p.anchor = kernel.getAnchor();
  p.gate = kernel.getGate();
  Block &body = kernel.getBody().front();
  // The value the anchor's chain has reached; a shortcut's ops are off it.
  Value chain = p.anchor->getResult(0);
  auto fail = [&](Operation *op, StringRef why) {
    return kernel.emitOpError() << "holds " << op->getName() << " '" << layerName(op)
                                << "' that " << why;
  };
  SmallVector<Value> residuals;
  for (Operation &op : llvm::drop_begin(kernel.getLayers(), p.gate ? 2 : 1)) {
    Value in = op.getNumOperands() ? op.getOperand(0) : Value();
    bool onChain = in == chain;
    if (isActivation(&op) && onChain) {
      Value result = op.getResult(0);
      bool feedsPointwise = result.hasOneUse() && llvm::isa<Conv2dOp>(*result.getUsers().begin());
      if (feedsPointwise)
        p.anchorActivation = &op;
      else
        p.epilogue.push_back({&op});
    } else if (llvm::isa<Conv2dOp>(op) && llvm::isa<BlockArgument>(in)) {
      p.shortcut = &op;
      continue;
    } else if (llvm::isa<Conv2dOp>(op) && onChain) {
      p.pointwise = &op;
    } else if (isElementwiseBinary(&op) &&
               (op.getOperand(0) == chain || op.getOperand(1) == chain)) {
      Value other = op.getOperand(0) == chain ? op.getOperand(1) : op.getOperand(0);
      if (chain.getType() != op.getResult(0).getType()) {
        return fail(&op, "broadcasts the kernel's own values (only a residual may repeat)");
      } else if (llvm::isa<AddOp>(op) && p.shortcut && other.getDefiningOp() == p.shortcut) {
        p.shortcutAdd = &op;
      } else if (llvm::isa<BlockArgument>(other)) {
        p.epilogue.push_back(
            {&op, static_cast<int>(residuals.size()), op.getOperand(0) == other});
        residuals.push_back(other);
      } else {
        return fail(&op, "combines a value that is neither an operand nor the shortcut's");
      }
    } else {
      return fail(&op, "has no role after the kernel's anchor");
    }
    if (op.getNumResults())
      chain = op.getResult(0);
  }
  if (chain != body.getTerminator()->getOperand(0))
    return kernel.emitOpError() << "yields a value other than the end of its anchor's chain";
  // The residuals are the last operands, in step order (dispatchParts binds
  // them so).
  p.numResiduals = residuals.size();
  ValueRange args = body.getArguments().take_back(residuals.size());
  if (args.size() != residuals.size() || !llvm::equal(args, residuals) ||
      p.numResiduals > kMaxResiduals)
    return kernel.emitOpError() << "reads residuals that are not its last operands in "
                                   "epilogue order, or more than "
                                << kMaxResiduals;
  return p;
}

int64_t perSampleBytes(Value v) {
  int64_t n = 4;
  // With size symbols, the most it holds: memory is planned for their maximum.
  if (std::optional<ModelSizes> sizes = ModelSizes::of(v.getParentBlock()->getParentOp())) {
    Shape dims = dimsOf(v); // kept alive: drop_begin only views it
    for (const Dim &d : llvm::drop_begin(dims))
      n *= sizes->max(d);
    return n;
  }
  for (int64_t d : llvm::cast<RankedTensorType>(v.getType()).getShape().drop_front())
    n *= d;
  return n;
}

std::string KernelParts::label() const {
  SmallVector<Operation *> ops{gate, anchor, anchorActivation, pointwise, shortcut, shortcutAdd};
  for (const EpilogueStep &step : epilogue)
    ops.push_back(step.op);
  llvm::erase(ops, nullptr);
  // A long fused chain is named by its ends: kernel names stay short.
  constexpr size_t kNamed = 6;
  std::string label;
  for (auto [i, op] : llvm::enumerate(ops)) {
    if (ops.size() > kNamed && i >= kNamed - 1 && i + 1 < ops.size()) {
      if (i == kNamed - 1)
        label += "+" + std::to_string(ops.size() - kNamed) + "_more";
      continue;
    }
    label += (label.empty() ? "" : "+") + layerName(op).str();
    if (auto norm = op->getAttrOfType<StringAttr>("norm"))
      label += "+" + norm.str();
  }
  return label;
}

std::vector<ScratchBuffer> scratchBuffers(const KernelParts &parts) {
  auto attention = llvm::dyn_cast<AttentionOp>(parts.anchor);
  if (!attention)
    return {};
  auto shape = attention.getInput().getType().getShape();
  int64_t T = shape[1], C = shape[2], heads = static_cast<int64_t>(attention.getHeads());
  // Packed Q/K/V from the input projection to the output projection; the
  // scores from the products to the weighted sums.
  return {{T * 3 * C * 4, 0, 4}, {heads * T * T * 4, 1, 3}};
}

// Floats of the parameter `<layer>.suffix` of op.
static int64_t numel(Operation *op, StringRef suffix) {
  for (const ParameterSpec &p : llvm::cast<LayerOpInterface>(op).getParameters())
    if (p.suffix == suffix)
      return p.numel();
  llvm_unreachable("the op has no such parameter");
}

FailureOr<std::vector<int64_t>> parameterLayout(const KernelParts &parts) {
  Operation *op = parts.anchor;
  auto out = [](Operation *op) { return op->getAttrOfType<IntegerAttr>("out").getInt(); };
  if (parts.pointwise) {
    int64_t channels = out(op), taps = numel(op, "weight") / channels;
    return std::vector<int64_t>{channels * separableBlock(taps), numel(parts.pointwise, "weight"),
                                out(parts.pointwise)};
  }
  if (parts.shortcut)
    return std::vector<int64_t>{numel(op, "weight"), out(op), numel(parts.shortcut, "weight")};
  if (llvm::cast<LayerOpInterface>(op).getParameters().empty())
    return std::vector<int64_t>{};
  return llvm::TypeSwitch<Operation *, FailureOr<std::vector<int64_t>>>(op)
      .Case<Conv1dOp, Conv2dOp>([&](Operation *conv) {
        return std::vector<int64_t>{numel(conv, "weight"), out(conv)};
      })
      .Case<LinearOp>([&](LinearOp linear) {
        // W^T in row chunks, one binding each (see weightRowsPerBinding).
        int64_t O = out(linear), K = numel(linear, "weight") / O;
        int64_t rows = weightRowsPerBinding(K, O);
        std::vector<int64_t> layout;
        for (int64_t k = 0; k < K; k += rows)
          layout.push_back((std::min(K, k + rows) - k) * O);
        layout.push_back(O);
        return layout;
      })
      .Case<Batchnorm1dOp, Batchnorm2dOp>([&](Operation *bn) {
        int64_t C = numel(bn, "weight");
        return std::vector<int64_t>{C, C};
      })
      .Case<LayernormOp, ParameterOp, ConvTranspose2dOp>([&](Operation *op) {
        // Each parameter as it is (PackParameters' Copy).
        std::vector<int64_t> layout;
        for (const ParameterSpec &p : llvm::cast<LayerOpInterface>(op).getParameters())
          layout.push_back(p.numel());
        return layout;
      })
      .Case<AttentionOp>([&](Operation *a) {
        return std::vector<int64_t>{numel(a, "in_proj_weight"), numel(a, "in_proj_bias"),
                                    numel(a, "out_proj.weight"), numel(a, "out_proj.bias")};
      })
      .Default([&](Operation *op) -> FailureOr<std::vector<int64_t>> {
        return op->emitOpError("owns parameters but no kernel lays them out");
      });
}

std::vector<DispatchPart> dispatchParts(const KernelParts &g, unsigned numParameters) {
  using Kind = BindingSource::Kind;
  auto operand = [](unsigned i) { return BindingSource{Kind::Operand, i}; };
  auto scratch = [](unsigned i) { return BindingSource{Kind::Scratch, i}; };
  auto param = [](unsigned i) { return BindingSource{Kind::Parameter, i}; };
  BindingSource result{Kind::Result};
  std::vector<BindingSource> allParams;
  for (unsigned i = 0; i < numParameters; ++i)
    allParams.push_back(param(i));
  unsigned firstResidual = g.kernel->getNumOperands() - g.numResiduals;

  std::vector<DispatchPart> parts;
  auto addPart = [&](unsigned part, BindingSource output, std::vector<BindingSource> inputs,
                     std::vector<BindingSource> weights, bool epilogue) {
    DispatchPart p;
    p.spec.anchor = g.anchor;
    p.spec.part = part;
    p.spec.numInputs = inputs.size();
    p.spec.numParams = weights.size();
    if (epilogue) {
      p.spec.epilogue = g.epilogue;
      p.spec.numResiduals = g.numResiduals;
    }
    p.spec.anchorActivation = g.anchorActivation;
    p.spec.pointwise = g.pointwise;
    p.spec.shortcut = g.shortcut;
    p.spec.gate = g.gate;
    p.bindings.push_back(output);
    p.bindings.insert(p.bindings.end(), inputs.begin(), inputs.end());
    p.bindings.insert(p.bindings.end(), weights.begin(), weights.end());
    for (unsigned k = 0; k < p.spec.numResiduals; ++k)
      p.bindings.push_back(operand(firstResidual + k));
    parts.push_back(std::move(p));
  };
  if (llvm::isa<ConcatOp>(g.anchor)) {
    for (unsigned i = 0; i < g.anchor->getNumOperands(); ++i)
      addPart(i, result, {operand(i)}, {}, true);
  } else if (llvm::isa<AttentionOp>(g.anchor)) {
    // See emitAttention for the five parts, scratchBuffers for their
    // temporaries: 0 packed Q/K/V, 1 the scores.
    addPart(0, scratch(0), {operand(0)}, {param(0), param(1)}, false);
    addPart(1, scratch(1), {scratch(0)}, {}, false);
    addPart(2, scratch(1), {}, {}, false);
    addPart(3, scratch(0), {scratch(1), scratch(0)}, {}, false);
    addPart(4, result, {scratch(0)}, {param(2), param(3)}, true);
  } else if (llvm::isa<ParameterOp>(g.anchor)) {
    addPart(0, result, {}, allParams, true); // the input gives only the batch
  } else {
    std::vector<BindingSource> inputs;
    for (unsigned i = 0; i < g.anchor->getNumOperands(); ++i)
      inputs.push_back(operand(i));
    if (g.shortcut)
      inputs.push_back(operand(g.anchor->getNumOperands()));
    if (g.gate)
      inputs.push_back(operand(inputs.size()));
    addPart(0, result, inputs, allParams, true);
  }
  return parts;
}

} // namespace spire
