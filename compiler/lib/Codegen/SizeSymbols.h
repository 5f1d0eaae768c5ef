// Size symbols that stay symbolic through code generation (issue #23): a
// spec that declares `sizes: {L: {min: 5, max: 4096}}` and is compiled
// without `--set L=...` gives one bundle for every L in the range.
//
// In the IR: the model function's `spire.sizes` lists the ranged symbols (a
// bundle's Model.sizes, in order) and every value with a symbolic size but
// the batch carries its shape as `spire.dims`, an affine map of the
// function's `spire.symbols` (on the op that defines it, or on the function
// argument). Kernels read a symbol's value as a Vulkan specialization
// constant (KernelBuilder::size, spire-spirv-size-symbols); the memory plan
// is made for every symbol at its maximum.
#pragma once

#include "spire/Dialect/Shape.h"
#include "spire/FrontEnd/ModuleBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <optional>
#include <vector>

namespace spire {

inline constexpr llvm::StringLiteral kSizesAttr = "spire.sizes";
inline constexpr llvm::StringLiteral kDimsAttr = "spire.dims";
// On a kernel op: each dispatch's grid as an affine map of the symbols,
// where it depends on them (the dispatch's grid then holds its maximum).
inline constexpr llvm::StringLiteral kGridSizesAttr = "spire.grid_sizes";
// In emitted kernels, until spire-spirv-size-symbols makes it a spec
// constant: a `spirv.Undef : i32` standing for symbol k of spire.sizes (no
// pass folds an undef, so the symbol survives to the SPIR-V lowering).
inline constexpr llvm::StringLiteral kSizeSymbolAttr = "spire.size_symbol";
// On a lowered spirv.module: SpecId i is spire.sizes[spec_constants[i]].
inline constexpr llvm::StringLiteral kSpecConstantsAttr = "spire.spec_constants";

// Writes spire.sizes and spire.dims from the checked spec's symbolic shapes;
// fails, located, on a size that shrinks as a symbol grows. A module whose
// sizes are all bound is left as it was.
mlir::LogicalResult recordSizeSymbols(SpecModule &spec);

// The ranged size symbols of a model function, as its spire.sizes says.
class ModelSizes {
public:
  struct Symbol {
    std::string name;
    unsigned position; // in spire.symbols (the affine symbol's index)
    SizeRange range;
  };
  // None when every size but the batch is fixed.
  static std::optional<ModelSizes> of(mlir::Operation *inModel);

  const std::vector<Symbol> &symbols() const { return symbols_; }
  // The index in symbols() of affine symbol `position`; none for the batch.
  std::optional<unsigned> indexOf(unsigned position) const;
  // The dim with every symbol at its largest admissible value (sizes only
  // grow with their symbols: checked by recordSizeSymbols).
  int64_t max(const Dim &d) const;
  int64_t min(const Dim &d) const;
  // d at every admissible combination of its symbols' values (repeats
  // kept); none where there are too many to list.
  std::optional<std::vector<int64_t>> values(const Dim &d) const;
  // Whether `m` divides d for every admissible value of its symbols.
  bool alwaysMultipleOf(const Dim &d, int64_t m) const;
  // These symbols with values() and alwaysMultipleOf() taken only where
  // `key` is one of `keyValues`: a size class's kernel runs only there.
  // max() and min() keep the whole range (what buffers and grids hold).
  ModelSizes where(const Dim &key, llvm::ArrayRef<int64_t> keyValues) const;
  // d as a bundle SizeExpr program (spire/SizeExpr.h) over symbols().
  std::vector<int64_t> program(const Dim &d) const;
  // Names by affine symbol position, for messages.
  const std::vector<std::string> &names() const { return names_; }

private:
  int64_t at(const Dim &d, bool largest) const;
  std::vector<Symbol> symbols_;
  std::vector<std::string> names_;
  // where()'s key and its values, sorted.
  std::optional<std::pair<Dim, std::vector<int64_t>>> only_;
};

// v's shape with its symbolic dims (spire.dims), else its static type's.
// The batch dim is whatever the type says.
Shape dimsOf(mlir::Value v);

} // namespace spire
