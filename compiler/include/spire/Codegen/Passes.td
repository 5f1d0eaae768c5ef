// Spire's passes. Registered in one place (Passes.h), run by spire-opt for
// lit tests and by the code generator's pipeline (Codegen.cpp).
#ifndef SPIRE_CODEGEN_PASSES
#define SPIRE_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

def SpirvTexelInputs : Pass<"spire-spirv-texel-inputs", "mlir::spirv::ModuleOp"> {
  let summary = "Read a kernel's read-only storage buffers as uniform texel buffers";
  let description = [{
    The bindings listed in the module's `spire.texel_bindings` attribute (an
    i32 array, set by the code generator from the kernel's gpu.module) become
    R32 buffer images in UniformConstant storage, and each element load from
    them, `spirv.Load (spirv.AccessChain %buffer[0, %i])`, becomes
    `spirv.ImageFetch` of texel %i and its first component. The runtime binds
    an R32_SFLOAT buffer view there. On lavapipe a fetch costs about half a
    storage-buffer load (bench/load_probe). A listed buffer that is stored to,
    or used other than by element loads, is an error. The attribute is
    removed.
  }];
  let dependentDialects = ["mlir::spirv::SPIRVDialect"];
}

def SpirvLoopResults : Pass<"spire-spirv-loop-results", "mlir::spirv::ModuleOp"> {
  let summary = "Carry a loop's values out as its results, not through variables";
  let description = [{
    Upstream scf-to-spirv gives each result of an `scf.for` a Function
    variable, stores the yielded value into it in every iteration and loads
    it after the loop. Drivers that run a loop under an execution mask
    (lavapipe) pay a masked write per variable and iteration for that, as
    much as for the loop-carried value itself. Where the only store to such
    a variable is in the loop's continue block, of the value the back edge
    carries to a header argument, and its only other uses are loads after
    the loop, the loop is rebuilt to yield that header argument
    (`spirv.mlir.merge`), the loads become the loop's result and the
    variable and store go. On exit the header argument holds the last
    iteration's value, or the initial one if the loop ran zero times (where
    the variable was never written).
  }];
  let dependentDialects = ["mlir::spirv::SPIRVDialect"];
}

#endif // SPIRE_CODEGEN_PASSES
