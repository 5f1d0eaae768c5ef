// form-kernels makes a squeeze-and-excitation's excite (a mul of the
// feature map by a per-channel [N, C, 1, 1] gate) the input gate of the conv
// that reads it, when that conv is its only reader: the conv scales each
// input channel as it loads it, and the product is never stored. A gated
// kernel reads the full-size operand first and the gate after it,
// whichever side of the mul each was. A depthwise conv (run by emitWindow,
// which has no gate) leaves the mul a kernel of its own.
// emit-kernels binds the gate after the conv's input (binding 2, read as
// texels) and multiplies each loaded input value by its channel's gate.
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-form-kernels))' %s | FileCheck %s
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-form-kernels,spire-plan-memory),spire-select-kernel-config,spire-emit-kernels)' %s | FileCheck %s --check-prefix=EMIT

// EMIT: kernel = "s0_k2_excite_p_p2"{{.*}}texel_bindings = [1, 3, 2]
// EMIT: gpu.module @s0_k2_excite_p_p2
// EMIT-NEXT: gpu.func @main(%{{[^:]*}}: memref{{[^,]*}}, %{{[^:]*}}: memref{{[^,]*}}, %[[GATE:[^:]*]]: memref<?xf32>, %{{[^:]*}}: memref{{[^,]*}}, %{{[^:]*}}: memref<?xf32>) kernel
// EMIT: %[[FACTOR:.*]] = memref.load %[[GATE]]
// EMIT-NEXT: arith.mulf %{{.*}}, %[[FACTOR]] : f32

// CHECK-LABEL: func.func @model
// CHECK:      %[[H:.*]] = spire.kernel "h"(%arg0)
// CHECK:      %[[S:.*]] = spire.kernel "s"(%[[H]])
// CHECK:      spire.kernel "p2"(%[[H]], %[[S]]) attributes {input_gate} {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<?x16x8x8xf32>, %[[G:.*]]: tensor<?x16x1x1xf32>):
// CHECK-NEXT:   %[[M:.*]] = spire.mul %[[G]], %[[X]] {name = "excite"}
// CHECK-NEXT:   %[[P:.*]] = spire.conv2d %[[M]] {{.*}}name = "p"
// CHECK-NEXT:   %[[R:.*]] = spire.relu %[[P]] {name = "p2"}
// CHECK-NEXT:   spire.yield %[[R]]
// CHECK:      %[[E2:.*]] = spire.kernel "excite2"(%[[H]], %[[S]]) {
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   spire.mul
// CHECK-NEXT:   spire.yield
// CHECK:      spire.kernel "dw"(%[[E2]]) {
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   spire.conv2d {{.*}}groups = 16
module {
  func.func @model(%arg0: tensor<?x16x8x8xf32> {spire.name = "x"}) -> (tensor<?x8x8x8xf32> {spire.name = "p2"}, tensor<?x16x8x8xf32> {spire.name = "dw"}) attributes {spire.model = "lit_gate", spire.symbols = ["N"]} {
    %0 = spire.relu %arg0 {name = "h"} : tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
    %1 = spire.global_avgpool %0 {name = "squeeze"} : tensor<?x16x8x8xf32> -> tensor<?x16x1x1xf32>
    %2 = spire.sigmoid %1 {name = "s"} : tensor<?x16x1x1xf32> -> tensor<?x16x1x1xf32>
    %3 = spire.mul %2, %0 {name = "excite"} : tensor<?x16x1x1xf32>, tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
    %4 = spire.conv2d %3 {dilation = array<i64: 1, 1>, kernel = array<i64: 1, 1>, name = "p", out = 8 : i64, padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<?x16x8x8xf32> -> tensor<?x8x8x8xf32>
    %5 = spire.relu %4 {name = "p2"} : tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
    %6 = spire.mul %0, %2 {name = "excite2"} : tensor<?x16x8x8xf32>, tensor<?x16x1x1xf32> -> tensor<?x16x8x8xf32>
    %7 = spire.conv2d %6 {dilation = array<i64: 1, 1>, groups = 16 : i64, kernel = array<i64: 3, 3>, name = "dw", out = 16 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
    return %5, %7 : tensor<?x8x8x8xf32>, tensor<?x16x8x8xf32>
  }
}
