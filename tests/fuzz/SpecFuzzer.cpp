// libFuzzer harness for the spec front end: YAML text -> checked `spire`
// module plus the split-interface notes, what `spire check` does. Every
// input must end in a module or in diagnostics, never in a crash.
#include "spire/Analysis/Summary.h"
#include "spire/FrontEnd/ModuleBuilder.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A fresh context per input, as each `spire check` has: interned names
  // and types must not pile up across a million inputs.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(false);
  // Diagnostics are the expected outcome; formatting them is all we skip.
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) { return mlir::success(); });
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  mlir::FailureOr<spire::SpecModule> spec = spire::buildSpecModule(context, "fuzz.yaml", text);
  if (mlir::succeeded(spec))
    spire::noteSplitInterfaces(*spec);
  return 0;
}
