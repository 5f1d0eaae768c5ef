#include "spire/Codegen/Weights.h"

#include "spire/Dialect/SpireOps.h"
#include "spire/Support/Safetensors.h"
#include "spire/SplitMix.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstring>

using namespace mlir;

namespace spire {

static std::string shapeStr(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

FailureOr<WeightStore> WeightStore::readSafetensors(MLIRContext &ctx, const std::string &path) {
  llvm::Expected<std::vector<NamedTensor>> tensors = spire::readSafetensors(path);
  if (!tensors) {
    emitError(FileLineColLoc::get(&ctx, path, 0, 0)) << llvm::toString(tensors.takeError());
    return failure();
  }
  return fromTensors(std::move(*tensors));
}

WeightStore WeightStore::fromTensors(std::vector<NamedTensor> tensors) {
  WeightStore store;
  for (NamedTensor &t : tensors)
    store.tensors_[t.name] = WeightTensor{std::move(t.shape), std::move(t.data)};
  return store;
}

LogicalResult WeightStore::checkAgainst(SpecModule &spec, const std::string &source) {
  bool ok = true;
  llvm::StringSet<> wanted;
  spec.modelFunc().walk([&](LayerOpInterface layer) {
    Operation *op = layer.getOperation();
    for (const ParameterSpec &p : layer.getParameters()) {
      std::string name = parameterName(op, p.suffix);
      wanted.insert(name);
      const WeightTensor *t = find(name);
      if (!t) {
        emitError(op->getLoc()) << op->getName().stripDialect() << " '" << layerName(op)
                                << "' needs '" << name << "' " << shapeStr(p.shape)
                                << ", which " << source << " does not have";
        ok = false;
      } else if (llvm::ArrayRef<int64_t>(t->shape) != llvm::ArrayRef<int64_t>(p.shape)) {
        emitError(op->getLoc()) << op->getName().stripDialect() << " '" << layerName(op)
                                << "' needs '" << name << "' " << shapeStr(p.shape) << " but "
                                << source << " has " << shapeStr(t->shape);
        ok = false;
      }
    }
  });
  for (const auto &entry : tensors_)
    if (!wanted.contains(entry.getKey())) {
      emitError(FileLineColLoc::get(spec.module->getContext(), source, 0, 0))
          << "unexpected tensor '" << entry.getKey() << "' " << shapeStr(entry.getValue().shape)
          << ": no layer of the spec owns it (is a layer missing or named differently?)";
      ok = false;
    }
  return success(ok);
}


WeightStore WeightStore::random(SpecModule &spec, uint64_t seed) {
  WeightStore store;
  store.seed_ = seed;
  spec.modelFunc().walk([&](LayerOpInterface layer) {
    for (const ParameterSpec &p : layer.getParameters()) {
      std::string name = parameterName(layer.getOperation(), p.suffix);
      int64_t fanIn = p.shape.size() > 1 ? p.numel() / p.shape[0] : p.numel();
      float bound = 1.0f / std::sqrt(static_cast<float>(std::max<int64_t>(fanIn, 1)));
      auto [lo, hi] = p.suffix == "running_var"    ? std::pair{0.5f, 1.5f}
                      : p.suffix == "running_mean" ? std::pair{-0.2f, 0.2f}
                      : llvm::isa<Batchnorm1dOp, Batchnorm2dOp, LayernormOp>(layer.getOperation())
                          ? (p.suffix == "weight" ? std::pair{0.5f, 1.5f} : std::pair{-0.2f, 0.2f})
                          : std::pair{-bound, bound};
      store.tensors_[name] = {std::vector<int64_t>(p.shape.begin(), p.shape.end()),
                              seededTensor(seed, name, p.numel(), lo, hi), lo, hi};
    }
  });
  return store;
}

const WeightTensor *WeightStore::find(llvm::StringRef name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

uint64_t WeightStore::bytes() const {
  uint64_t total = 0;
  for (const auto &entry : tensors_)
    total += entry.getValue().data.size() * sizeof(float);
  return total;
}

} // namespace spire
