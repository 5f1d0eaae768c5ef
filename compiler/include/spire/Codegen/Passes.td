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

#endif // SPIRE_CODEGEN_PASSES
