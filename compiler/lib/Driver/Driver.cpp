#include "spire/Driver/Driver.h"

#include "spire/Analysis/Summary.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"

#include <cstring>

namespace spire {

mlir::LogicalResult loadSpec(SpecSession &session, std::unique_ptr<llvm::MemoryBuffer> text,
                             const BuildOptions &options) {
  std::string path = text->getBufferIdentifier().str();
  std::string copy = text->getBuffer().str();
  // The source manager keeps the text so diagnostics can quote its lines.
  session.sourceMgr.AddNewSourceBuffer(std::move(text), llvm::SMLoc());
  session.spec = buildSpecModule(session.context, path, copy, options);
  if (mlir::failed(session.spec))
    return mlir::failure();
  noteSplitInterfaces(*session.spec);
  return mlir::success();
}

mlir::FailureOr<WeightStore> specWeights(SpecSession &session, std::vector<NamedTensor> *tensors,
                                         const std::string &source) {
  if (!tensors)
    return WeightStore::random(*session.spec);
  WeightStore weights = WeightStore::fromTensors(std::move(*tensors));
  if (mlir::failed(weights.checkAgainst(*session.spec, source)))
    return mlir::failure();
  return weights;
}

bool isSeededWeights(llvm::StringRef weights) {
  return weights == "seeded" || weights.starts_with("seeded:");
}

mlir::FailureOr<WeightStore> specWeights(SpecSession &session, const std::string &path) {
  if (path.empty())
    return WeightStore::random(*session.spec);
  if (isSeededWeights(path)) {
    uint64_t seed = WeightStore::kDefaultSeed;
    llvm::StringRef digits = llvm::StringRef(path).drop_front(std::strlen("seeded"));
    if (digits.consume_front(":") &&
        (digits.empty() || !llvm::all_of(digits, llvm::isDigit) || digits.getAsInteger(10, seed))) {
      emitError(mlir::FileLineColLoc::get(&session.context, "--weights", 0, 0))
          << "'" << path << "' is neither seeded nor seeded:SEED with SEED a whole number below "
          << "2^64";
      return mlir::failure();
    }
    return WeightStore::random(*session.spec, seed);
  }
  mlir::FailureOr<WeightStore> weights = WeightStore::readSafetensors(session.context, path);
  if (mlir::failed(weights) || mlir::failed(weights->checkAgainst(*session.spec, path)))
    return mlir::failure();
  return weights;
}

mlir::FailureOr<CompiledModel> compileSpec(SpecSession &session, const WeightStore &weights,
                                           const CodegenOptions &options) {
  if (mlir::failed(prepareSizes(*session.spec)))
    return mlir::failure();
  return compileModel(*session.spec->module, weights, options);
}

} // namespace spire
