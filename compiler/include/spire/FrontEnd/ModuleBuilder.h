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
#include <string>
#include <vector>

namespace spire {

struct BuildOptions {
  // Binds size symbols to values (`--set L=128`); the batch symbol stays free.
  std::map<std::string, int64_t> symbolValues;
};

struct SpecModule {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string modelName;
  // Size symbols in order of first appearance: s0, s1, ... in `shapes`.
  std::vector<std::string> symbols;
  // The batch symbol's index, or -1 when the batch is static.
  int batchSymbol = -1;
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
