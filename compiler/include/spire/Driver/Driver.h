// The steps from spec text to a compiled model that every front end shares
// (the `spire` CLI, the Python bindings): read the `--set` bindings, build
// and check the spec, pick its weights, compile. Errors are MLIR diagnostics
// at their YAML locations: the caller installs its diagnostic handler on
// `SpecSession::context` (over `sourceMgr`, which holds the spec text) before
// loadSpec, and prints or collects what is reported.
#pragma once

#include "spire/Codegen/Codegen.h"
#include "spire/FrontEnd/ModuleBuilder.h"
#include "spire/SizeSettings.h" // --set SYMBOL=SIZE: parseSizeSettings
#include "spire/Support/Safetensors.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spire {

// A spec and the context its diagnostics point from.
struct SpecSession {
  SpecSession() { context.printOpOnDiagnostic(false); }

  mlir::MLIRContext context;
  llvm::SourceMgr sourceMgr;
  mlir::FailureOr<SpecModule> spec = mlir::failure();
};

// Builds and checks the spec in `text` (whose buffer identifier names it in
// diagnostics), then notes the interfaces of its split points. Fails after
// reporting every error.
mlir::LogicalResult loadSpec(SpecSession &session, std::unique_ptr<llvm::MemoryBuffer> text,
                             const BuildOptions &options = {});

// The weights a loaded spec compiles with: `tensors` (a file's or a caller's,
// named `source` in errors) checked against every layer, or seeded random
// ones when `tensors` is null.
mlir::FailureOr<WeightStore> specWeights(SpecSession &session,
                                         std::vector<NamedTensor> *tensors,
                                         const std::string &source);
// The same from a .safetensors file ("" for seeded random weights, seed 0;
// "seeded" or "seeded:SEED" for seeded random weights a bundle stores as
// their seed: see isSeededWeights).
mlir::FailureOr<WeightStore> specWeights(SpecSession &session, const std::string &path);
// Whether `--weights` asks for weights stored as their seed.
bool isSeededWeights(llvm::StringRef weights);

// Checks that every size but the batch is known, then compiles the loaded
// spec (changing its module).
mlir::FailureOr<CompiledModel> compileSpec(SpecSession &session, const WeightStore &weights,
                                           const CodegenOptions &options);

} // namespace spire
