// The front end's builder of a spec's `spire` module, shared by the files
// that implement it: ModuleBuilder.cpp (inputs, layers, blocks) and
// SizeRanges.cpp (the `sizes` section and its proof over each range).
#pragma once

#include "Layers.h"
#include "Params.h"
#include "spire/Dialect/SpireOps.h"
#include "spire/FrontEnd/ModuleBuilder.h"
#include "spire/FrontEnd/Spec.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringSet.h"

#include <optional>

namespace spire::frontend {

using namespace mlir;


inline std::string closest(llvm::StringRef word, llvm::ArrayRef<std::string> candidates) {
  std::string best;
  unsigned bestDistance = 3; // suggest only near misses
  for (const std::string &c : candidates) {
    unsigned d = word.edit_distance(c, true, bestDistance);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

inline std::string didYouMean(llvm::StringRef word, llvm::ArrayRef<std::string> candidates) {
  std::string c = closest(word, candidates);
  return c.empty() ? "" : " (did you mean '" + c + "'?)";
}

// A tensor visible by name: its value (null after an upstream error, so
// later layers are skipped instead of reporting follow-on errors).
struct Tensor {
  Value value;
  Location loc;
};

struct BlockDef {
  const SpecNode *node;
  const SpecNode *params = nullptr; // map name -> default (null: required)
  const SpecNode *layers = nullptr;
};

// Names visible while expanding a layer list: the top level, or one block
// instance whose local names are prefixed with the instance name.
struct Scope {
  std::string prefix;          // "layer1.0." inside an instance, "" at top level
  Scope *parent = nullptr;
  llvm::StringMap<Tensor> names;
  std::optional<Tensor> input; // the block instance's input, as `input`
  const ParamEnv *env = nullptr;
  std::optional<Location> callSite; // the invocation, for CallSiteLoc chains
  // Names defined later in this list, to tell "later" from "unknown".
  llvm::StringMap<SourceLoc> later;
};

class ModuleBuilder {
public:
  ModuleBuilder(MLIRContext &ctx, StringRef path, const BuildOptions &options)
      : ctx_(ctx), builder_(&ctx), path_(path.str()), options_(options) {}

  FailureOr<SpecModule> build(const SpecNode &root);

private:
  Location loc(const SourceLoc &at, const Scope *scope = nullptr) {
    Location l = FileLineColLoc::get(&ctx_, path_, at.line, at.column);
    if (scope && scope->callSite)
      l = CallSiteLoc::get(l, *scope->callSite);
    return l;
  }
  InFlightDiagnostic error(const SourceLoc &at, const Scope *scope = nullptr) {
    failed_ = true;
    return emitError(loc(at, scope));
  }
  Params::LocFn locFn(const Scope *scope) {
    return [this, scope](const SourceLoc &at) { return loc(at, scope); };
  }

  void checkKeys(const SpecNode &map, llvm::ArrayRef<std::string> allowed,
                 llvm::StringRef what);
  void readSizes(const SpecNode &sizes);
  void checkSizes();
  void checkRanges(const SpecNode &sizes);
  Operation *firstFailure(ArrayRef<AffineExpr> values);
  bool readInputs(const SpecNode &inputs);
  FailureOr<Shape> readShape(const SpecNode &shape, llvm::StringRef input);
  void readBlocks(const SpecNode &blocks);
  void buildLayers(const SpecNode &list, Scope &scope, Tensor &current);
  void buildLayer(const SpecNode &item, size_t index, Scope &scope, Tensor &current);
  void buildOp(const LayerKind &kind, const SpecNode *params, const SourceLoc &at,
               const std::string &name, Scope &scope, Tensor &current);
  void buildBlock(const std::string &blockName, const BlockDef &def, const SpecNode *args,
                  const SourceLoc &at, const std::string &name, Scope &scope,
                  Tensor &current);
  std::optional<Tensor> resolve(const std::string &name, const SourceLoc &at, Scope &scope);
  void define(Scope &scope, const std::string &localName, Tensor t, const SourceLoc &at);
  bool inferAndSet(Operation *op);
  LogicalResult checkLimits(Operation *op, const Shape &shape, ShapeContext &sctx);
  void placeStages(const SpecNode &stages);
  void readPlacement(const SpecNode &placement);
  void addSplit(const std::string &name, const SourceLoc &at, Operation *after);

  MLIRContext &ctx_;
  OpBuilder builder_;
  std::string path_;
  const BuildOptions &options_;
  bool failed_ = false;

  SpecModule result_;
  func::FuncOp func_;
  std::vector<std::string> inputNames_;
  // `sizes` as declared, in file order, with where each is declared.
  std::vector<std::tuple<std::string, SizeRange, SourceLoc>> declaredRanges_;
  llvm::StringSet<> boundSymbolsUsed_; // --set bindings some input used
  llvm::StringMap<BlockDef> blocks_;
  llvm::StringMap<Operation *> opsByName_; // full layer name -> its op
  std::vector<std::pair<Operation *, std::string>> splits_;
  int blockDepth_ = 0;
  size_t layerCount_ = 0;
  static constexpr size_t kMaxLayers = 100000;
  // Layer evaluations checkRanges makes (layers times combinations of the
  // ranged symbols' values): at about 3 us each, a check of a few seconds.
  static constexpr int64_t kMaxRangeEvaluations = 1000000;
};

} // namespace spire::frontend
