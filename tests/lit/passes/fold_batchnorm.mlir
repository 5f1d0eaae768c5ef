// fold-batchnorm erases a batch norm whose input is a conv's (or a linear
// layer's on [N, C]) only use in the same stage, and records it on the
// producer as `norm` and `norm_eps`; the producer's result replaces the
// norm's. Norms it cannot fold stay: after a conv whose output is also used
// elsewhere, after a linear layer on [N, T, C] (its channels are not dim
// 1), and across a split (the conv's output is a stage interface tensor).
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-fold-batchnorm))' %s | FileCheck %s

// CHECK-LABEL: func.func @folds
// CHECK-NEXT: %[[C:.*]] = spire.conv2d %arg0 {dilation = {{.*}}name = "conv", norm = "bn", norm_eps = 1.000000e-03
// CHECK-NEXT: %[[L:.*]] = spire.linear %{{.*}} {name = "fc", norm = "bn1d", norm_eps = 1.000000e-05
// CHECK-NEXT: return %[[C]], %[[L]]
func.func @folds(%x: tensor<?x3x8x8xf32>, %v: tensor<?x16xf32>) -> (tensor<?x4x8x8xf32>, tensor<?x8xf32>) {
  %0 = spire.conv2d %x {name = "conv", out = 4, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>} : tensor<?x3x8x8xf32> -> tensor<?x4x8x8xf32>
  %1 = spire.batchnorm2d %0 {name = "bn", eps = 1.0e-3} : tensor<?x4x8x8xf32> -> tensor<?x4x8x8xf32>
  %2 = spire.linear %v {name = "fc", out = 8} : tensor<?x16xf32> -> tensor<?x8xf32>
  %3 = spire.batchnorm1d %2 {name = "bn1d"} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %1, %3 : tensor<?x4x8x8xf32>, tensor<?x8xf32>
}

// CHECK-LABEL: func.func @stays
// CHECK: spire.conv2d {{.*}}name = "shared"
// CHECK-NOT: norm
// CHECK: spire.batchnorm2d {{.*}}name = "bn_shared"
// CHECK: spire.linear {{.*}}name = "tokens"
// CHECK-NOT: norm
// CHECK: spire.batchnorm1d {{.*}}name = "bn_tokens"
// CHECK: spire.conv2d {{.*}}name = "cut"
// CHECK-NOT: norm
// CHECK: spire.split "s"
// CHECK-NEXT: spire.batchnorm2d {{.*}}name = "bn_cut"
func.func @stays(%x: tensor<?x3x8x8xf32>, %t: tensor<?x5x16xf32>) -> (tensor<?x4x8x8xf32>, tensor<?x4x8x8xf32>, tensor<?x5x16xf32>, tensor<?x4x8x8xf32>) {
  %0 = spire.conv2d %x {name = "shared", out = 4, kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : tensor<?x3x8x8xf32> -> tensor<?x4x8x8xf32>
  %1 = spire.batchnorm2d %0 {name = "bn_shared"} : tensor<?x4x8x8xf32> -> tensor<?x4x8x8xf32>
  %2 = spire.linear %t {name = "tokens", out = 16} : tensor<?x5x16xf32> -> tensor<?x5x16xf32>
  %3 = spire.batchnorm1d %2 {name = "bn_tokens"} : tensor<?x5x16xf32> -> tensor<?x5x16xf32>
  %4 = spire.conv2d %x {name = "cut", out = 4, kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : tensor<?x3x8x8xf32> -> tensor<?x4x8x8xf32>
  spire.split "s"
  %5 = spire.batchnorm2d %4 {name = "bn_cut"} : tensor<?x4x8x8xf32> -> tensor<?x4x8x8xf32>
  return %0, %1, %3, %5 : tensor<?x4x8x8xf32>, tensor<?x4x8x8xf32>, tensor<?x5x16xf32>, tensor<?x4x8x8xf32>
}
