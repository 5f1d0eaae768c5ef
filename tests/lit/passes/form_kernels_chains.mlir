// form-kernels fuses a chain of elementwise layers into the kernel before
// it: activations, and adds and muls of a value that exists before the
// anchor (read as the kernel's last operands, in chain order). A value with
// another reader (b: a model output; g: read again by i), one crossing the
// split (f), or a residual made after the anchor (k, for the chain h..j)
// ends the chain.
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-form-kernels))' %s | FileCheck %s

// CHECK-LABEL: func.func @model
// CHECK:      %[[B:.*]] = spire.kernel "b"(%arg0) {
// CHECK-NEXT: ^bb0(%[[X0:.*]]: tensor<?x64xf32>):
// CHECK-NEXT:   %[[A:.*]] = spire.relu %[[X0]] {name = "a"}
// CHECK-NEXT:   %[[S:.*]] = spire.sigmoid %[[A]] {name = "b"}
// CHECK-NEXT:   spire.yield %[[S]]
// CHECK:      %[[F:.*]] = spire.kernel "f"(%[[B]], %arg0, %[[B]]) {
// CHECK-NEXT: ^bb0(%[[IN:.*]]: tensor<?x64xf32>, %[[R0:.*]]: tensor<?x64xf32>, %[[R1:.*]]: tensor<?x64xf32>):
// CHECK-NEXT:   %[[C:.*]] = spire.tanh %[[IN]] {name = "c"}
// CHECK-NEXT:   %[[D:.*]] = spire.add %[[C]], %[[R0]] {name = "d"}
// CHECK-NEXT:   %[[E:.*]] = spire.mul %[[R1]], %[[D]] {name = "e"}
// CHECK-NEXT:   %[[FF:.*]] = spire.relu %[[E]] {name = "f"}
// CHECK-NEXT:   spire.yield %[[FF]]
// CHECK:      spire.split "cut"
// CHECK-NEXT: %[[G:.*]] = spire.kernel "g"(%[[F]]) {
// CHECK:      %[[J:.*]] = spire.kernel "j"(%[[G]], %[[G]]) {
// CHECK-NEXT: ^bb0(%[[G1:.*]]: tensor<?x64xf32>, %[[G2:.*]]: tensor<?x64xf32>):
// CHECK-NEXT:   %[[H:.*]] = spire.hardswish %[[G1]] {name = "h"}
// CHECK-NEXT:   %[[I:.*]] = spire.add %[[H]], %[[G2]] {name = "i"}
// CHECK-NEXT:   %[[JJ:.*]] = spire.relu %[[I]] {name = "j"}
// CHECK-NEXT:   spire.yield %[[JJ]]
// CHECK:      %[[L:.*]] = spire.kernel "l"(%[[G]], %[[J]]) {
// CHECK-NEXT: ^bb0(%[[G3:.*]]: tensor<?x64xf32>, %[[J1:.*]]: tensor<?x64xf32>):
// CHECK-NEXT:   %[[K:.*]] = spire.gelu %[[G3]] {name = "k"}
// CHECK-NEXT:   spire.add %[[J1]], %[[K]] {name = "l"}
// CHECK:      return %[[L]], %[[B]]

module {
  func.func @model(%arg0: tensor<?x64xf32> {spire.name = "x"}) -> (tensor<?x64xf32> {spire.name = "l"}, tensor<?x64xf32> {spire.name = "b"}) attributes {spire.model = "lit_chains", spire.symbols = ["N"]} {
    %0 = spire.relu %arg0 {name = "a"} : tensor<?x64xf32> -> tensor<?x64xf32>
    %1 = spire.sigmoid %0 {name = "b"} : tensor<?x64xf32> -> tensor<?x64xf32>
    %2 = spire.tanh %1 {name = "c"} : tensor<?x64xf32> -> tensor<?x64xf32>
    %3 = spire.add %2, %arg0 {name = "d"} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
    %4 = spire.mul %1, %3 {name = "e"} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
    %5 = spire.relu %4 {name = "f"} : tensor<?x64xf32> -> tensor<?x64xf32>
    spire.split "cut"
    %6 = spire.gelu %5 {name = "g"} : tensor<?x64xf32> -> tensor<?x64xf32>
    %7 = spire.hardswish %6 {name = "h"} : tensor<?x64xf32> -> tensor<?x64xf32>
    %8 = spire.add %7, %6 {name = "i"} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
    %9 = spire.relu %8 {name = "j"} : tensor<?x64xf32> -> tensor<?x64xf32>
    %10 = spire.gelu %6 {name = "k"} : tensor<?x64xf32> -> tensor<?x64xf32>
    %11 = spire.add %9, %10 {name = "l"} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
    return %11, %1 : tensor<?x64xf32>, tensor<?x64xf32>
  }
}
