// form-kernels wraps each anchor and what it absorbs in a spire.kernel: the
// activation after a conv (whose batch norm fold-batchnorm folded in); a
// residual add of a value that exists before the anchor, which becomes the
// kernel's last operand. An interface tensor (relu2 crosses the split) ends a kernel, and
// aliases (flatten) stay outside kernels.
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-fold-batchnorm,spire-form-kernels))' %s | FileCheck %s

// CHECK-LABEL: func.func @model
// CHECK:      %[[STEM:.*]] = spire.kernel "stem"(%arg0) {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<?x8x8x8xf32>):
// CHECK-NEXT:   %[[R:.*]] = spire.relu %[[X]]
// CHECK-NEXT:   spire.yield %[[R]]
// CHECK:      %[[B1:.*]] = spire.kernel "relu1"(%[[STEM]]) {
// CHECK-NEXT: ^bb0(%[[IN1:.*]]: tensor<?x8x8x8xf32>):
// CHECK-NEXT:   %[[C1:.*]] = spire.conv2d %[[IN1]] {{.*}}name = "conv1", norm = "bn1"
// CHECK-NEXT:   %[[A1:.*]] = spire.relu %[[C1]]
// CHECK-NEXT:   spire.yield %[[A1]]
// CHECK:      %[[B2:.*]] = spire.kernel "relu2"(%[[B1]], %[[STEM]]) {
// CHECK-NEXT: ^bb0(%[[IN2:.*]]: tensor<?x8x8x8xf32>, %[[RES:.*]]: tensor<?x8x8x8xf32>):
// CHECK-NEXT:   %[[C2:.*]] = spire.conv2d %[[IN2]] {{.*}}name = "conv2"
// CHECK-NEXT:   %[[SUM:.*]] = spire.add %[[C2]], %[[RES]]
// CHECK-NEXT:   %[[A2:.*]] = spire.relu %[[SUM]]
// CHECK-NEXT:   spire.yield %[[A2]]
// CHECK:      spire.split "cut"
// CHECK-NEXT: %[[F:.*]] = spire.flatten %[[B2]]
// CHECK-NEXT: %[[FC:.*]] = spire.kernel "fc"(%[[F]]) {
// CHECK:      return %[[FC]]

module {
  func.func @model(%arg0: tensor<?x8x8x8xf32> {spire.name = "image"}) -> (tensor<?x4xf32> {spire.name = "fc"}) attributes {spire.model = "lit_block", spire.symbols = ["N"]} {
    %0 = spire.relu %arg0 {name = "stem"} : tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
    %1 = spire.conv2d %0 {dilation = array<i64: 1, 1>, kernel = array<i64: 3, 3>, name = "conv1", out = 8 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
    %2 = spire.batchnorm2d %1 {name = "bn1"} : tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
    %3 = spire.relu %2 {name = "relu1"} : tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
    %4 = spire.conv2d %3 {dilation = array<i64: 1, 1>, kernel = array<i64: 3, 3>, name = "conv2", out = 8 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
    %5 = spire.add %4, %0 {name = "add"} : tensor<?x8x8x8xf32>, tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
    %6 = spire.relu %5 {name = "relu2"} : tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
    spire.split "cut"
    %7 = spire.flatten %6 {name = "flat"} : tensor<?x8x8x8xf32> -> tensor<?x512xf32>
    %8 = spire.linear %7 {name = "fc", out = 4 : i64} : tensor<?x512xf32> -> tensor<?x4xf32>
    return %8 : tensor<?x4xf32>
  }
}
