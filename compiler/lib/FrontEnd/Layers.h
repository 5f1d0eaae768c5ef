// The spec's layer kinds: for each, the keys it takes and how it becomes a
// `spire` op. Adding a layer to the language starts here (see README).
#pragma once

#include "Params.h"

#include "mlir/IR/Builders.h"

namespace spire {

struct LayerArgs {
  mlir::OpBuilder &builder;
  mlir::Location loc;
  mlir::StringAttr name;
  llvm::SmallVector<mlir::Value> inputs;
  Params &params;
};

struct LayerKind {
  enum class Inputs {
    One,  // the current tensor, or `from`
    Join, // the current tensor (or `from`) and the tensors named by `with`
  };
  llvm::StringRef name;
  Inputs inputs;
  // Keys the layer takes besides name/from/if (and with/project for joins).
  llvm::SmallVector<llvm::StringRef> keys;
  // Creates the op with an unranked result; the builder infers its shape.
  mlir::Operation *(*build)(LayerArgs &args);
  // For joins: how many `with` tensors it takes (-1: one or more).
  int withCount = 1;
};

const LayerKind *lookupLayerKind(llvm::StringRef name);
llvm::ArrayRef<LayerKind> layerKinds();

} // namespace spire
