// form-kernels fuses a binary layer into the kernel before it when the
// kernel's value has the layer's result shape: the other operand may then
// broadcast, read as a residual (b: a per-channel [N, 16, 1, 1] operand,
// here the lhs of a sub). Where the kernel's value is the operand that
// broadcasts (e multiplies d's [N, 16, 1, 1] into the feature map, as a
// squeeze-and-excitation block does), the layer starts a kernel of its own.
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-form-kernels))' %s | FileCheck %s

// CHECK-LABEL: func.func @model
// CHECK:      %[[B:.*]] = spire.kernel "b"(%arg0, %arg1) {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<?x16x8x8xf32>, %[[S:.*]]: tensor<?x16x1x1xf32>):
// CHECK-NEXT:   %[[A:.*]] = spire.relu %[[X]] {name = "a"}
// CHECK-NEXT:   %[[BB:.*]] = spire.sub %[[S]], %[[A]] {name = "b"}
// CHECK-NEXT:   spire.yield %[[BB]]
// CHECK:      %[[D:.*]] = spire.kernel "d"(%arg1) {
// CHECK-NEXT: ^bb0(%[[S2:.*]]: tensor<?x16x1x1xf32>):
// CHECK-NEXT:   %[[C:.*]] = spire.hardsigmoid %[[S2]] {name = "c"}
// CHECK-NEXT:   %[[DD:.*]] = spire.tanh %[[C]] {name = "d"}
// CHECK-NEXT:   spire.yield %[[DD]] : tensor<?x16x1x1xf32>
// CHECK:      %[[F:.*]] = spire.kernel "f"(%[[D]], %[[B]]) {
// CHECK-NEXT: ^bb0(%[[G:.*]]: tensor<?x16x1x1xf32>, %[[M:.*]]: tensor<?x16x8x8xf32>):
// CHECK-NEXT:   %[[E:.*]] = spire.mul %[[G]], %[[M]] {name = "e"}
// CHECK-NEXT:   %[[FF:.*]] = spire.relu %[[E]] {name = "f"}
// CHECK-NEXT:   spire.yield %[[FF]] : tensor<?x16x8x8xf32>
// CHECK:      return %[[F]]

module {
  func.func @model(%arg0: tensor<?x16x8x8xf32> {spire.name = "x"}, %arg1: tensor<?x16x1x1xf32> {spire.name = "s"}) -> (tensor<?x16x8x8xf32> {spire.name = "f"}) attributes {spire.model = "lit_broadcast", spire.symbols = ["N"]} {
    %0 = spire.relu %arg0 {name = "a"} : tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
    %1 = spire.sub %arg1, %0 {name = "b"} : tensor<?x16x1x1xf32>, tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
    %2 = spire.hardsigmoid %arg1 {name = "c"} : tensor<?x16x1x1xf32> -> tensor<?x16x1x1xf32>
    %3 = spire.tanh %2 {name = "d"} : tensor<?x16x1x1xf32> -> tensor<?x16x1x1xf32>
    %4 = spire.mul %3, %1 {name = "e"} : tensor<?x16x1x1xf32>, tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
    %5 = spire.relu %4 {name = "f"} : tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
    return %5 : tensor<?x16x8x8xf32>
  }
}
