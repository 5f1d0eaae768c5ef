#include "spire/Codegen/Weights.h"

#include "spire/Dialect/SpireOps.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/xxhash.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

using namespace mlir;

namespace spire {

static std::string shapeStr(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

FailureOr<WeightStore> WeightStore::readSafetensors(MLIRContext &ctx, const std::string &path) {
  Location loc = FileLineColLoc::get(&ctx, path, 0, 0);
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!file) {
    emitError(loc) << "cannot read weights: " << file.getError().message();
    return failure();
  }
  llvm::StringRef bytes = (*file)->getBuffer();
  uint64_t headerSize = 0;
  if (bytes.size() < 8) {
    emitError(loc) << "not a .safetensors file: " << bytes.size() << " bytes";
    return failure();
  }
  std::memcpy(&headerSize, bytes.data(), 8); // little endian, as the format says
  if (headerSize > bytes.size() - 8) {
    emitError(loc) << "truncated .safetensors file: the header says " << headerSize
                   << " bytes of JSON but the file has " << bytes.size() - 8;
    return failure();
  }
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, headerSize).str(), nullptr,
                                                /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    emitError(loc) << "the .safetensors header is not a JSON object";
    return failure();
  }
  uint64_t dataSize = bytes.size() - 8 - headerSize;
  const char *data = bytes.data() + 8 + headerSize;

  WeightStore store;
  bool ok = true;
  for (auto &[name, info] : header.items()) {
    if (name == "__metadata__")
      continue;
    auto bad = [&](const std::string &why) {
      emitError(loc) << "tensor '" << name << "': " << why;
      ok = false;
    };
    if (!info.is_object() || !info["dtype"].is_string() || !info["shape"].is_array() ||
        !info["data_offsets"].is_array() || info["data_offsets"].size() != 2) {
      bad("malformed entry (needs dtype, shape, data_offsets)");
      continue;
    }
    std::string dtype = info["dtype"];
    std::vector<int64_t> shape;
    int64_t numel = 1;
    bool shapeOk = true;
    for (auto &d : info["shape"]) {
      shapeOk &= d.is_number_integer() && d.get<int64_t>() >= 0 &&
                 d.get<int64_t>() < (int64_t(1) << 40);
      shape.push_back(shapeOk ? d.get<int64_t>() : 0);
      numel *= shape.back();
    }
    auto &offsets = info["data_offsets"];
    if (!shapeOk || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
      bad("malformed shape or data_offsets");
      continue;
    }
    uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end || end > dataSize) {
      bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
          ") outside the data (" + std::to_string(dataSize) + " bytes)");
      continue;
    }
    size_t elemSize = dtype == "F32" ? 4 : dtype == "F64" || dtype == "I64" ? 8 : 0;
    // PyTorch's batch-norm step counter is not a weight; skip it by dtype.
    if (dtype == "I64" && llvm::StringRef(name).ends_with("num_batches_tracked"))
      continue;
    if (dtype != "F32" && dtype != "F64") {
      bad("dtype " + dtype + " is not supported (F32 or F64)");
      continue;
    }
    if (end - begin != static_cast<uint64_t>(numel) * elemSize) {
      bad("holds " + std::to_string(end - begin) + " bytes but " + dtype + " " +
          shapeStr(shape) + " needs " + std::to_string(numel * elemSize));
      continue;
    }
    WeightTensor t{shape, std::vector<float>(numel)};
    if (dtype == "F32") {
      std::memcpy(t.data.data(), data + begin, numel * 4);
    } else {
      for (int64_t i = 0; i < numel; ++i) {
        double d;
        std::memcpy(&d, data + begin + i * 8, 8);
        t.data[i] = static_cast<float>(d);
      }
    }
    store.tensors_[name] = std::move(t);
  }
  if (!ok)
    return failure();
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

namespace {
// splitmix64: a tiny, well-known generator with the same output everywhere
// (std::uniform_real_distribution differs between standard libraries).
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>((next() >> 40) * (1.0 / (1ull << 24)));
  }
};
} // namespace

WeightStore WeightStore::random(SpecModule &spec, uint64_t seed) {
  WeightStore store;
  spec.modelFunc().walk([&](LayerOpInterface layer) {
    for (const ParameterSpec &p : layer.getParameters()) {
      std::string name = parameterName(layer.getOperation(), p.suffix);
      // Seeded per name, so editing one layer leaves the others' weights alone.
      Rng rng{seed ^ llvm::xxh3_64bits(name)};
      WeightTensor t{std::vector<int64_t>(p.shape.begin(), p.shape.end()),
                     std::vector<float>(p.numel())};
      int64_t fanIn = p.shape.size() > 1 ? p.numel() / p.shape[0] : p.numel();
      float bound = 1.0f / std::sqrt(static_cast<float>(std::max<int64_t>(fanIn, 1)));
      for (float &v : t.data) {
        if (p.suffix == "running_var")
          v = rng.uniform(0.5f, 1.5f);
        else if (p.suffix == "running_mean")
          v = rng.uniform(-0.2f, 0.2f);
        else if (llvm::isa<Batchnorm1dOp, Batchnorm2dOp, LayernormOp>(layer.getOperation()))
          v = p.suffix == "weight" ? rng.uniform(0.5f, 1.5f) : rng.uniform(-0.2f, 0.2f);
        else
          v = rng.uniform(-bound, bound);
      }
      store.tensors_[name] = std::move(t);
    }
  });
  return store;
}

const WeightTensor *WeightStore::find(llvm::StringRef name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

} // namespace spire
