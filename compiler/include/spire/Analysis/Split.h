// `spire split`: proposes split points that balance the stages.
#pragma once

#include "spire/FrontEnd/ModuleBuilder.h"

#include "llvm/Support/raw_ostream.h"

namespace spire {

// Weight of one interface byte against one FLOP when balancing stages:
// moving a byte between devices costs about as much as 10 FLOPs (a
// ~10 GB/s link against ~100 GFLOP/s of compute).
inline constexpr double kFlopsPerInterfaceByte = 10.0;

// Chooses `stages - 1` cuts in the layer sequence minimizing the largest
// stage cost (its FLOPs plus kFlopsPerInterfaceByte per byte of interface it
// receives and sends, per sample), prints per-stage totals and the `stages:`
// section to paste into the spec. Fails with a diagnostic when sizes are
// symbolic or there are fewer layers than stages.
mlir::LogicalResult proposeSplit(SpecModule &spec, unsigned stages, llvm::raw_ostream &os);

} // namespace spire
