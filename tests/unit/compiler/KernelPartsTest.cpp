// KernelParts reads a spire.kernel's roles back from its body, and gives
// each dispatch's bindings in the order the emitters number them.
#include "KernelParts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Parser/Parser.h"

#include <catch2/catch.hpp>

using namespace spire;

namespace {

// A conv with a folded batch norm (fold-batchnorm's `norm`), a residual add
// and an activation.
constexpr const char *kResidualKernel = R"mlir(
func.func @f(%x: tensor<1x8x8x8xf32>, %r: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %0 = spire.kernel "relu"(%x, %r) {
  ^bb0(%a: tensor<1x8x8x8xf32>, %b: tensor<1x8x8x8xf32>):
    %c = spire.conv2d %a {name = "conv", norm = "bn", norm_eps = 1.0e-5, out = 8, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>} : tensor<1x8x8x8xf32> -> tensor<1x8x8x8xf32>
    %s = spire.add %c, %b {name = "add"} : tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32> -> tensor<1x8x8x8xf32>
    %y = spire.relu %s {name = "relu"} : tensor<1x8x8x8xf32> -> tensor<1x8x8x8xf32>
    spire.yield %y : tensor<1x8x8x8xf32>
  } : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  return %0 : tensor<1x8x8x8xf32>
}
)mlir";

// A body form-kernels never makes: a relu after the add's other operand.
constexpr const char *kStrayKernel = R"mlir(
func.func @f(%x: tensor<1x8xf32>, %r: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %0 = spire.kernel "s"(%x, %r) {
  ^bb0(%a: tensor<1x8xf32>, %b: tensor<1x8xf32>):
    %l = spire.linear %a {name = "fc", out = 8} : tensor<1x8xf32> -> tensor<1x8xf32>
    %t = spire.relu %b {name = "stray"} : tensor<1x8xf32> -> tensor<1x8xf32>
    %s = spire.add %l, %t {name = "s"} : tensor<1x8xf32>, tensor<1x8xf32> -> tensor<1x8xf32>
    spire.yield %s : tensor<1x8xf32>
  } : (tensor<1x8xf32>, tensor<1x8xf32>) -> tensor<1x8xf32>
  return %0 : tensor<1x8xf32>
}
)mlir";

struct Parsed {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string diagnostics;

  explicit Parsed(const char *text) {
    context.loadDialect<SpireDialect, mlir::func::FuncDialect>();
    context.getDiagEngine().registerHandler([this](mlir::Diagnostic &d) {
      diagnostics += d.str() + "\n";
    });
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  }
  KernelOp kernel() {
    KernelOp k;
    module->walk([&](KernelOp op) { k = op; });
    return k;
  }
};

} // namespace

TEST_CASE("a kernel's roles come from its body", "[kernel_parts]") {
  Parsed p(kResidualKernel);
  REQUIRE(p.module);
  mlir::FailureOr<KernelParts> parts = KernelParts::of(p.kernel());
  REQUIRE(mlir::succeeded(parts));
  CHECK(layerName(parts->anchor) == "conv");
  // The epilogue: the add of the residual (the kernel's one), then relu.
  REQUIRE(parts->epilogue.size() == 2);
  CHECK(layerName(parts->epilogue[0].op) == "add");
  CHECK(parts->epilogue[0].residual == 0);
  CHECK(layerName(parts->epilogue[1].op) == "relu");
  CHECK(parts->epilogue[1].residual == -1);
  CHECK(parts->numResiduals == 1);
  CHECK_FALSE(parts->shortcut);
  CHECK_FALSE(parts->pointwise);
  CHECK(parts->label() == "conv+bn+add+relu");

  // Output, input, weights, bias, then the residual (the last operand).
  std::vector<DispatchPart> dispatches = dispatchParts(*parts, 2);
  REQUIRE(dispatches.size() == 1);
  using Kind = BindingSource::Kind;
  std::vector<std::pair<Kind, unsigned>> bindings;
  for (BindingSource b : dispatches[0].bindings)
    bindings.push_back({b.kind, b.index});
  CHECK(bindings == std::vector<std::pair<Kind, unsigned>>{{Kind::Result, 0},
                                                          {Kind::Operand, 0},
                                                          {Kind::Parameter, 0},
                                                          {Kind::Parameter, 1},
                                                          {Kind::Operand, 1}});
  CHECK(dispatches[0].spec.numResiduals == 1);
  CHECK(dispatches[0].spec.epilogue.size() == 2);
}

TEST_CASE("a kernel body with a stray op is an error, not a guess", "[kernel_parts]") {
  Parsed p(kStrayKernel);
  REQUIRE(p.module);
  CHECK(mlir::failed(KernelParts::of(p.kernel())));
  CHECK(p.diagnostics.find("holds spire.relu 'stray' that has no role after the kernel's anchor") !=
        std::string::npos);
}
