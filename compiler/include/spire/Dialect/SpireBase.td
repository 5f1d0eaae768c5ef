#ifndef SPIRE_BASE_TD
#define SPIRE_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "spire/Dialect/SpireInterfaces.td"

def Spire_Dialect : Dialect {
  let name = "spire";
  let cppNamespace = "::spire";
  let summary = "Layers of a Spire model spec, one op per layer kind";
  let description = [{
    A `spire` module is a checked model spec: one `func.func` for the model
    whose body is one op per layer, in spec order. Layer parameters (weights,
    biases, running statistics) are not operands: each op names them through
    its `name` attribute (`layer1.0.conv1` owns `layer1.0.conv1.weight`), the
    way PyTorch's `state_dict` does, and `LayerOpInterface::getParameters`
    gives their shapes.
  }];
  let useDefaultAttributePrinterParser = 1;
}

// Every layer: a hierarchical name, operands and one ranked f32 result.
class Spire_LayerOp<string mnemonic, list<Trait> traits = []>
    : Op<Spire_Dialect, mnemonic,
         !listconcat(traits, [Pure, DeclareOpInterfaceMethods<Spire_LayerOpInterface>])> {
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::verify() {
      return ::spire::verifyLayerShape(getOperation());
    }
  }];
}

#endif // SPIRE_BASE_TD
