// Builds a checked `spire` module from a spec: expands blocks and repeats,
// resolves names, infers every (symbolic) shape, and reports all errors at
// their YAML locations through the context's diagnostic handler.
#pragma once

#include "spire/Dialect/Shape.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spire {

struct BuildOptions {
  // Binds size symbols to values (`--set L=128`); the batch symbol stays free.
  std::map<std::string, int64_t> symbolValues;
};

// A size symbol's declared range, from the spec's `sizes` section
// (`L: {min: 5, max: 4096}`, `H: {min: 32, max: 1024, multiple_of: 32}`):
// the values `spire check` proves every layer for.
struct SizeRange {
  int64_t min = 1, max = 1, multipleOf = 1;

  bool contains(int64_t v) const { return v >= min && v <= max && v % multipleOf == 0; }
  // The least admissible value, or none when no multiple lies in [min, max].
  std::optional<int64_t> first() const;
  // How many values are admissible.
  int64_t count() const;
  // The admissible value nearest `preferred` from above (else the largest):
  // what an example `--set` suggests.
  int64_t near(int64_t preferred) const;
  // "[5, 4096]" or "[32, 1024], multiple of 32".
  std::string str() const;
};

struct SpecModule {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string modelName;
  // Size symbols in order of first appearance: s0, s1, ... in `shapes`.
  std::vector<std::string> symbols;
  // The batch symbol's index, or -1 when the batch is static.
  int batchSymbol = -1;
  // Declared ranges by symbol name (a symbol bound by --set keeps its range).
  std::map<std::string, SizeRange> ranges;
  // Symbolic shape of every value in the model function.
  llvm::DenseMap<mlir::Value, Shape> shapes;

  mlir::func::FuncOp modelFunc();
};

// `path` names the spec in diagnostics. Fails after reporting every error.
mlir::FailureOr<SpecModule> buildSpecModule(mlir::MLIRContext &context, llvm::StringRef path,
                                            llvm::StringRef text,
                                            const BuildOptions &options = {});

// Registers what a spec module needs (spire, func).
void loadSpecDialects(mlir::MLIRContext &context);

} // namespace spire
