// Over ranged sizes select-kernel-config also records size classes: a
// conv1d over L in [5, 40] has output rows of L - 2 in [3, 38], in tiles of
// 16 by its own config. Widths that a narrower tile computes at least 10%
// more cheaply (the cost ceil(v/t) x (t + 3)) get it: 25-28 and 37-38
// tiles of 14, 21-24 and 33-36 of 12, 17-20 of 10; 3-16 and 29-32 keep 16.
// Each class is keyed on the output width. emit-kernels then emits one
// dispatch per class and the kernel's own for the other widths.
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-form-kernels),spire-select-kernel-config)' %s | FileCheck %s
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-form-kernels),spire-select-kernel-config,spire-emit-kernels)' %s | FileCheck %s --check-prefix=EMIT

// CHECK: spire.kernel "conv"{{.*}}config = #spire.kernel_config<workgroup = 64, channel_tile = 16, positions = 16,
// CHECK-SAME: size_classes = [#spire.size_class<key = ()[s0, s1] -> (s1 - 2), values = [25, 26, 27, 28, 37, 38], config = <{{.*}}positions = 14,
// CHECK-SAME: #spire.size_class<key = ()[s0, s1] -> (s1 - 2), values = [21, 22, 23, 24, 33, 34, 35, 36], config = <{{.*}}positions = 12,
// CHECK-SAME: #spire.size_class<key = ()[s0, s1] -> (s1 - 2), values = [17, 18, 19, 20], config = <{{.*}}positions = 10,

// EMIT: dispatches = [#spire.dispatch<kernel = "s0_k0_conv", {{.*}}when = <key = ()[s0, s1] -> (s1 - 2), values = [25, 26, 27, 28, 37, 38], otherwise = false>>,
// EMIT-SAME: #spire.dispatch<kernel = "s0_k1_conv", {{.*}}values = [21, 22, 23, 24, 33, 34, 35, 36], otherwise = false>>,
// EMIT-SAME: #spire.dispatch<kernel = "s0_k2_conv", {{.*}}values = [17, 18, 19, 20], otherwise = false>>,
// EMIT-SAME: #spire.dispatch<kernel = "s0_k3_conv", {{.*}}values = [17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 33, 34, 35, 36, 37, 38], otherwise = true>>]
// EMIT: gpu.module @s0_k0_conv
// EMIT: gpu.module @s0_k3_conv

module {
  func.func @model(%arg0: tensor<?x4x?xf32> {spire.name = "x", spire.dims = affine_map<()[s0, s1] -> (s0, 4, s1)>}) -> (tensor<?x16x?xf32> {spire.name = "conv"}) attributes {spire.model = "seq", spire.symbols = ["N", "L"], spire.sizes = [{max = 40 : i64, min = 5 : i64, multiple_of = 1 : i64, name = "L", position = 1 : i64}]} {
    %0 = spire.conv1d %arg0 {dilation = array<i64: 1>, kernel = array<i64: 3>, name = "conv", out = 16 : i64, padding = array<i64: 0>, stride = array<i64: 1>, spire.dims = affine_map<()[s0, s1] -> (s0, 16, s1 - 2)>} : tensor<?x4x?xf32> -> tensor<?x16x?xf32>
    return %0 : tensor<?x16x?xf32>
  }
}
