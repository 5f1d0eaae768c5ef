// spire-opt: mlir-opt with the spire dialect and passes, for lit tests.
#include "spire/Codegen/Passes.h"
#include "spire/Dialect/SpireOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<spire::SpireDialect, mlir::func::FuncDialect, mlir::spirv::SPIRVDialect>();
  spire::registerSpirePasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Spire optimizer driver\n", registry));
}
