#include "PackParameters.h"

#include <cmath>

using namespace mlir;

namespace spire {
namespace {

// A [rows, cols] matrix as [cols, rows]: linear-style kernels read W^T so
// threads computing neighbouring outputs read neighbouring weights.
std::vector<float> transposed(const std::vector<float> &w, size_t rows) {
  size_t cols = w.size() / rows;
  std::vector<float> t(w.size());
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c)
      t[c * rows + r] = w[r * cols + c];
  return t;
}

// A conv's [O, rest] weights as [O / T, rest, T]: the conv kernel's block of
// T output channels reads one tap's T weights as consecutive floats.
std::vector<float> packedBlocks(const std::vector<float> &w, size_t out, size_t T) {
  size_t rest = w.size() / out;
  std::vector<float> p(w.size());
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < rest; ++i)
      p[((o / T) * rest + i) * T + o % T] = w[o * rest + i];
  return p;
}

} // namespace

// Batch norm folded: scale = gamma / sqrt(var + eps); W' = W * scale[o];
// b' = (b - mean) * scale + beta.
FailureOr<std::vector<std::vector<float>>> packParameters(const KernelParts &g,
                                                          const WeightStore &weights) {
  auto tensor = [&](const std::string &name) -> const std::vector<float> & {
    return weights.find(name)->data;
  };
  auto get = [&](Operation *op, llvm::StringRef suffix) -> const std::vector<float> & {
    return tensor(parameterName(op, suffix));
  };
  // The scale and shift of the batch norm named `norm`.
  auto normScaleShift = [&](llvm::StringRef norm, double eps, size_t channels) {
    auto stat = [&](const char *suffix) -> const std::vector<float> & {
      return tensor((norm + "." + suffix).str());
    };
    const auto &gamma = stat("weight"), &beta = stat("bias");
    const auto &mean = stat("running_mean"), &var = stat("running_var");
    std::vector<double> scale(channels), shift(channels);
    for (size_t c = 0; c < channels; ++c) {
      scale[c] = gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps);
      shift[c] = beta[c] - mean[c] * scale[c];
    }
    return std::pair{scale, shift};
  };

  // A conv or linear layer's [out, ...] weights and bias, its folded batch
  // norm (fold-batchnorm) folded in.
  auto folded = [&](Operation *op) {
    int64_t out = op->getAttrOfType<IntegerAttr>("out").getInt();
    std::vector<float> w = get(op, "weight");
    std::vector<float> b(out, 0.0f);
    if (op->getAttrOfType<BoolAttr>("bias").getValue())
      b = get(op, "bias");
    if (auto norm = op->getAttrOfType<StringAttr>("norm")) {
      double eps = op->getAttrOfType<FloatAttr>("norm_eps").getValueAsDouble();
      auto [scale, shift] = normScaleShift(norm.getValue(), eps, out);
      size_t per = w.size() / out;
      for (int64_t o = 0; o < out; ++o) {
        for (size_t i = 0; i < per; ++i)
          w[o * per + i] = static_cast<float>(w[o * per + i] * scale[o]);
        b[o] = static_cast<float>(b[o] * scale[o] + shift[o]);
      }
    }
    return std::pair{w, b};
  };

  Operation *op = g.anchor;
  KernelOp kernel = g.kernel;
  // Convs are packed by the channel tile their kernel was configured with.
  size_t T = kernel.getConfigAttr().getChannelTile();
  std::vector<std::vector<float>> params;
  if (g.pointwise) {
    auto [w, b] = folded(op);
    size_t taps = w.size() / b.size(), block = separableBlock(taps);
    std::vector<float> depthwise(b.size() * block, 0.0f);
    for (size_t c = 0; c < b.size(); ++c) {
      std::copy_n(w.begin() + c * taps, taps, depthwise.begin() + c * block);
      depthwise[c * block + taps] = b[c];
    }
    auto [pw, pb] = folded(g.pointwise);
    params = {depthwise, packedBlocks(pw, pb.size(), pb.size()), pb};
  } else if (g.shortcut) {
    auto [w, b] = folded(op);
    auto [ws, bs] = folded(g.shortcut);
    for (size_t o = 0; o < b.size(); ++o)
      b[o] += bs[o];
    params = {packedBlocks(w, b.size(), T), b, packedBlocks(ws, b.size(), T)};
  } else if (llvm::isa<Conv1dOp, Conv2dOp>(op)) {
    auto [w, b] = folded(op);
    params = {packedBlocks(w, b.size(), T), b};
  } else if (llvm::isa<LinearOp>(op)) {
    auto [w, b] = folded(op);
    size_t out = b.size();
    // W^T in row chunks, one binding each (see weightRowsPerBinding).
    w = transposed(w, out);
    size_t in = w.size() / out, rows = weightRowsPerBinding(in, out);
    for (size_t k = 0; k < in; k += rows)
      params.emplace_back(w.begin() + k * out, w.begin() + std::min(in, k + rows) * out);
    params.push_back(std::move(b));
  } else if (llvm::isa<Batchnorm1dOp, Batchnorm2dOp>(op)) {
    size_t channels = llvm::cast<RankedTensorType>(op->getOperand(0).getType()).getDimSize(1);
    double eps = op->getAttrOfType<FloatAttr>("eps").getValueAsDouble();
    auto [scale, shift] = normScaleShift(layerName(op), eps, channels);
    params = {std::vector<float>(scale.begin(), scale.end()),
              std::vector<float>(shift.begin(), shift.end())};
  } else if (llvm::isa<LayernormOp>(op)) {
    params = {get(op, "weight"), get(op, "bias")};
  } else if (llvm::isa<ParameterOp>(op)) {
    params = {get(op, "")};
  } else if (auto attention = llvm::dyn_cast<AttentionOp>(op)) {
    size_t c = attention.getInput().getType().getDimSize(2);
    params = {transposed(get(op, "in_proj_weight"), 3 * c), get(op, "in_proj_bias"),
              transposed(get(op, "out_proj.weight"), c), get(op, "out_proj.bias")};
  }
  // The kernel was emitted for parameterLayout's buffers: they must agree.
  FailureOr<std::vector<int64_t>> layout = parameterLayout(g);
  if (failed(layout))
    return failure();
  bool agrees = layout->size() == params.size();
  for (size_t i = 0; agrees && i < params.size(); ++i)
    agrees = (*layout)[i] == static_cast<int64_t>(params[i].size());
  if (!agrees)
    return kernel.emitOpError("packs parameters that differ from its kernel's layout");
  return params;
}

} // namespace spire
