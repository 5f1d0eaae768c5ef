#ifndef SPIRE_INTERFACES_TD
#define SPIRE_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Spire_LayerOpInterface : OpInterface<"LayerOpInterface"> {
  let cppNamespace = "::spire";
  let description = [{
    What every layer op tells the checker and the code generator: its result
    shape as a function of its operands' (symbolic) shapes, and its parameters.
  }];
  let methods = [
    InterfaceMethod<[{
        Infers the result shape from `ctx.operands`. On a mismatch reports an
        error through `ctx` (naming the layer, the shapes and a fix) and fails.
      }],
      "::mlir::FailureOr<::spire::Shape>", "inferShape",
      (ins "::spire::ShapeContext &":$ctx)>,
    InterfaceMethod<[{
        FLOPs per sample: 2 per multiply-accumulate, 1 per elementwise
        result, 0 for a layer that only moves data. An expression of the
        size symbols where a size other than the batch is symbolic (`shapes`
        gives each value's symbolic shape). No default: every layer counts
        its own.
      }],
      "::spire::Dim", "getFlops", (ins "::spire::ShapeOf":$shapes)>,
    InterfaceMethod<[{
        The parameter tensors this layer owns, in PyTorch `state_dict` order,
        with their static shapes. Valid once the operand types are inferred.
      }],
      "::llvm::SmallVector<::spire::ParameterSpec>", "getParameters", (ins),
      /*methodBody=*/"", /*defaultImplementation=*/"return {};">,
  ];
}

#endif // SPIRE_INTERFACES_TD
