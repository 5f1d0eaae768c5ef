#include "PackParameters.h"

using namespace mlir;

namespace spire {

FailureOr<PackedParameters>
packParameters(const KernelParts &g, const WeightStore &weights,
               llvm::function_ref<int32_t(const std::string &)> index,
               llvm::function_ref<const std::string &(int32_t)> nameOf) {
  auto tensor = [&](Operation *op, llvm::StringRef suffix) {
    return index(parameterName(op, suffix));
  };
  auto normTensors = [&](llvm::StringRef norm) {
    auto stat = [&](const char *suffix) { return index((norm + "." + suffix).str()); };
    return std::array<int32_t, 4>{stat("weight"), stat("bias"), stat("running_mean"),
                                  stat("running_var")};
  };
  // A conv or linear layer, its folded batch norm (fold-batchnorm) folded in.
  auto folded = [&](Operation *op) {
    weights::Folded l;
    l.out = op->getAttrOfType<IntegerAttr>("out").getInt();
    l.weight = tensor(op, "weight");
    if (op->getAttrOfType<BoolAttr>("bias").getValue())
      l.bias = tensor(op, "bias");
    if (auto norm = op->getAttrOfType<StringAttr>("norm")) {
      l.norm = normTensors(norm.getValue());
      l.eps = op->getAttrOfType<FloatAttr>("norm_eps").getValueAsDouble();
    }
    return l;
  };

  Operation *op = g.anchor;
  KernelOp kernel = g.kernel;
  using weights::PackKind;
  weights::Pack pack;
  if (g.pointwise) {
    int64_t out = op->getAttrOfType<IntegerAttr>("out").getInt();
    pack = {PackKind::Separable, {folded(op), folded(g.pointwise)}, {}, 0, 0, {}};
    const WeightTensor *w = weights.find(parameterName(op, "weight"));
    pack.size = separableBlock(w->data.size() / out);
  } else if (g.shortcut) {
    // Convs are packed by the channel tile their kernel was configured with.
    pack = {PackKind::Shortcut, {folded(op), folded(g.shortcut)}, {}, 0,
            static_cast<uint64_t>(kernel.getConfigAttr().getChannelTile()), {}};
  } else if (llvm::isa<Conv1dOp, Conv2dOp>(op)) {
    pack = {PackKind::Conv, {folded(op)}, {}, 0, static_cast<uint64_t>(kernel.getConfigAttr().getChannelTile()), {}};
  } else if (llvm::isa<LinearOp>(op)) {
    // W^T in row chunks, one binding each (see weightRowsPerBinding).
    weights::Folded l = folded(op);
    int64_t in = weights.find(nameOf(l.weight))->data.size() / l.out;
    pack = {PackKind::Linear, {l}, {}, 0,
            static_cast<uint64_t>(weightRowsPerBinding(in, l.out)), {}};
  } else if (llvm::isa<Batchnorm1dOp, Batchnorm2dOp>(op)) {
    std::array<int32_t, 4> n = normTensors(layerName(op));
    pack = {PackKind::Batchnorm, {}, {n.begin(), n.end()},
            op->getAttrOfType<FloatAttr>("eps").getValueAsDouble(), 0, {}};
  } else if (llvm::isa<LayernormOp, ParameterOp, ConvTranspose2dOp>(op)) {
    std::vector<int32_t> sources;
    for (const ParameterSpec &p : llvm::cast<LayerOpInterface>(op).getParameters())
      sources.push_back(tensor(op, p.suffix));
    pack = {PackKind::Copy, {}, sources, 0, 0, {}};
  } else if (auto attention = llvm::dyn_cast<AttentionOp>(op)) {
    pack = {PackKind::Attention, {},
            {tensor(op, "in_proj_weight"), tensor(op, "in_proj_bias"),
             tensor(op, "out_proj.weight"), tensor(op, "out_proj.bias")},
            0, static_cast<uint64_t>(attention.getInput().getType().getDimSize(2)), {}};
  }
  std::string error;
  std::vector<weights::Buffer> buffers;
  if (!pack.layers.empty() || !pack.sources.empty())
    buffers = weights::evaluate(
        pack,
        [&](int32_t i) -> const weights::Buffer * {
          const WeightTensor *t = weights.find(nameOf(i));
          return t ? &t->data : nullptr;
        },
        error);
  if (!error.empty())
    return kernel.emitOpError("cannot pack its parameters: ") << error;
  // The kernel was emitted for parameterLayout's buffers: they must agree.
  FailureOr<std::vector<int64_t>> layout = parameterLayout(g);
  if (failed(layout))
    return failure();
  bool agrees = layout->size() == buffers.size();
  for (size_t i = 0; agrees && i < buffers.size(); ++i)
    agrees = (*layout)[i] == static_cast<int64_t>(buffers[i].size());
  if (!agrees)
    return kernel.emitOpError("packs parameters that differ from its kernel's layout");
  return PackedParameters{std::move(pack), std::move(buffers)};
}

} // namespace spire
