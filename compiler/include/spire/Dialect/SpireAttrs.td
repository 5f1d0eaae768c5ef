#ifndef SPIRE_ATTRS_TD
#define SPIRE_ATTRS_TD

include "spire/Dialect/SpireBase.td"
include "mlir/IR/AttrTypeBase.td"

class Spire_Attr<string name, string attrMnemonic> : AttrDef<Spire_Dialect, name> {
  let mnemonic = attrMnemonic;
  let assemblyFormat = "`<` struct(params) `>`";
}

def Spire_TargetAttr : Spire_Attr<"Target", "target"> {
  let summary = "what kernel selection knows of a device";
  let description = [{
    A target is data: the same spec and target give the same bundle. The
    select-kernel-config pass reads it from the module's `spire.target`
    attribute; `spire devices --profile` prints a device's.
  }];
  let parameters = (ins StringRefParameter<"profile name">:$name,
                        "int64_t":$subgroup_size,
                        "int64_t":$max_workgroup_invocations,
                        "int64_t":$shared_memory_bytes,
                        "int64_t":$max_texel_buffer_elements,
                        "bool":$f16,
                        "int64_t":$vector_width);
}

def Spire_KernelConfigAttr : Spire_Attr<"KernelConfig", "kernel_config"> {
  let summary = "the tiling and memory-access choices of one kernel";
  let description = [{
    Chosen by select-kernel-config from the kernel's static shapes and the
    target, read by emit-kernels and by the weight packing, never computed
    again there. `channel_tile` and `positions` are the exact per-thread
    tile of a conv kernel (its weights are packed by `channel_tile`) and the
    most per thread for the other families; `reduction_step` the most
    reduction indices an iteration; `window_positions`, `depthwise_outputs`
    and `pool_outputs` size per-channel window kernels; `broadcast_lanes`
    the subgroup lanes that share weight loads (1: none); `texel_inputs`
    reads read-only inputs as uniform texel buffers.
  }];
  let parameters = (ins "int64_t":$workgroup,
                        "int64_t":$channel_tile,
                        "int64_t":$positions,
                        "int64_t":$reduction_step,
                        "int64_t":$window_positions,
                        "int64_t":$depthwise_outputs,
                        "int64_t":$pool_outputs,
                        "int64_t":$broadcast_lanes,
                        "bool":$texel_inputs);
}

def Spire_ArenaAttr : Spire_Attr<"Arena", "arena"> {
  let summary = "where a kernel's tensors live in its stage's arena";
  let description = [{
    Byte offsets per sample, set by plan-memory: the stored result, each
    operand (in operand order) and each scratch buffer (attention's packed
    Q/K/V and scores).
  }];
  let parameters = (ins "int64_t":$result,
                        "::mlir::DenseI64ArrayAttr":$operands,
                        "::mlir::DenseI64ArrayAttr":$scratch);
}

def Spire_StageMemoryAttr : Spire_Attr<"StageMemory", "stage_memory"> {
  let summary = "a stage's arena size and where its interface tensors live";
  let description = [{
    Per stage, in stage order, in the model function's `spire.stages`
    attribute (set by plan-memory): the arena's bytes per sample, and the
    offsets of the stage's inputs and outputs in interface order.
  }];
  let parameters = (ins "int64_t":$arena,
                        "::mlir::DenseI64ArrayAttr":$inputs,
                        "::mlir::DenseI64ArrayAttr":$outputs);
}

def Spire_SizeClassAttr : Spire_Attr<"SizeClass", "size_class"> {
  let summary = "a kernel's config for some sizes of a model's size range";
  let description = [{
    Where `key`, an affine map of the model's `spire.symbols` with one
    result (a conv's output width), takes one of `values`, the kernel runs
    with `config` instead of its own. select-kernel-config records one per
    row tile that serves some widths of the range better than the kernel's
    own (a 20-wide row in two tiles of 10, not two of 16); emit-kernels
    emits a dispatch for each, which runs only there (`#spire.size_case`).
  }];
  let parameters = (ins "::mlir::AffineMap":$key,
                        "::mlir::DenseI64ArrayAttr":$values,
                        "KernelConfigAttr":$config);
}

def Spire_SizeCaseAttr : Spire_Attr<"SizeCase", "size_case"> {
  let summary = "the sizes at which a dispatch runs";
  let description = [{
    A dispatch with a case runs where `key` (as in `#spire.size_class`)
    evaluates to one of `values`, or, with `otherwise`, to none of them.
    The dispatches of a kernel's size classes come first, each with its
    class's values, then the kernel's own with the union of them and
    `otherwise`: at every size exactly one of them runs.
  }];
  let parameters = (ins "::mlir::AffineMap":$key,
                        "::mlir::DenseI64ArrayAttr":$values,
                        "bool":$otherwise);
}

def Spire_DispatchAttr : Spire_Attr<"Dispatch", "dispatch"> {
  let summary = "one dispatch of a kernel, as emit-kernels generated it";
  let description = [{
    The gpu.module that holds its code, the grid per sample (z is
    multiplied by the batch at run time), the workgroup size, the subgroup
    lanes its broadcasts need (0: none), the bindings it reads as uniform
    texel buffers, of those the ones read four floats a texel, and the
    values it passes as push constants (absent: none), which kernels that
    differ only in them (a concat's parts) read instead of constants,
    and the sizes at which it runs (absent: all; `#spire.size_case`).
  }];
  let parameters = (ins StringRefParameter<"gpu.module name">:$kernel,
                        "::mlir::DenseI64ArrayAttr":$grid,
                        "int64_t":$workgroup,
                        "int64_t":$subgroup_lanes,
                        "::mlir::DenseI64ArrayAttr":$texel_bindings,
                        "::mlir::DenseI64ArrayAttr":$vec4_texel_bindings,
                        OptionalParameter<"::mlir::DenseI64ArrayAttr">:$push_constants,
                        OptionalParameter<"SizeCaseAttr">:$when);
}

#endif // SPIRE_ATTRS_TD
