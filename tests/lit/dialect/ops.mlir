// RUN: spire-opt %s | spire-opt | FileCheck %s
// Every layer op parses, verifies (shape inference agrees with the declared
// result types) and round-trips.

// CHECK-LABEL: func @cnn
func.func @cnn(%x: tensor<?x3x32x32xf32>) -> tensor<?x10xf32> {
  // CHECK: spire.conv2d %{{.*}} {{{.*}}name = "conv1"{{.*}}} : tensor<?x3x32x32xf32> -> tensor<?x16x16x16xf32>
  %0 = spire.conv2d %x {name = "conv1", out = 16, kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>} : tensor<?x3x32x32xf32> -> tensor<?x16x16x16xf32>
  // CHECK: spire.batchnorm2d
  %1 = spire.batchnorm2d %0 {name = "bn1"} : tensor<?x16x16x16xf32> -> tensor<?x16x16x16xf32>
  // CHECK: spire.relu6
  %2 = spire.relu6 %1 {name = "act"} : tensor<?x16x16x16xf32> -> tensor<?x16x16x16xf32>
  // CHECK: spire.hardswish
  %hs = spire.hardswish %2 {name = "hs"} : tensor<?x16x16x16xf32> -> tensor<?x16x16x16xf32>
  // Depthwise: groups == channels.
  // CHECK: spire.conv2d {{.*}}groups = 16
  %3 = spire.conv2d %2 {name = "dw", out = 16, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 2, 2>, dilation = array<i64: 2, 2>, groups = 16, bias = false} : tensor<?x16x16x16xf32> -> tensor<?x16x16x16xf32>
  // CHECK: spire.add
  %4 = spire.add %3, %2 {name = "res"} : tensor<?x16x16x16xf32>, tensor<?x16x16x16xf32> -> tensor<?x16x16x16xf32>
  // CHECK: spire.maxpool2d
  %5 = spire.maxpool2d %4 {name = "pool", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<?x16x16x16xf32> -> tensor<?x16x8x8xf32>
  // CHECK: spire.avgpool2d
  %6 = spire.avgpool2d %5 {name = "apool", kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<?x16x8x8xf32> -> tensor<?x16x4x4xf32>
  // CHECK: spire.concat
  %7 = spire.concat %6, %6 {name = "cat"} : tensor<?x16x4x4xf32>, tensor<?x16x4x4xf32> -> tensor<?x32x4x4xf32>
  // CHECK: spire.global_avgpool
  %8 = spire.global_avgpool %7 {name = "gap"} : tensor<?x32x4x4xf32> -> tensor<?x32x1x1xf32>
  // CHECK: spire.flatten
  %9 = spire.flatten %8 {name = "flat"} : tensor<?x32x1x1xf32> -> tensor<?x32xf32>
  // CHECK: spire.linear
  %10 = spire.linear %9 {name = "fc", out = 10, in = 32} : tensor<?x32xf32> -> tensor<?x10xf32>
  // CHECK: spire.split "cut"
  spire.split "cut"
  // CHECK: spire.softmax
  %11 = spire.softmax %10 {name = "prob"} : tensor<?x10xf32> -> tensor<?x10xf32>
  return %11 : tensor<?x10xf32>
}

// CHECK-LABEL: func @sequence
func.func @sequence(%x: tensor<?x8x100xf32>, %t: tensor<?x16x64xf32>) -> tensor<?x16x16xf32> {
  // A 3-wide valid conv1d: L-2.
  // CHECK: spire.conv1d {{.*}} -> tensor<?x4x98xf32>
  %0 = spire.conv1d %x {name = "c", out = 4, kernel = array<i64: 3>, stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>} : tensor<?x8x100xf32> -> tensor<?x4x98xf32>
  // CHECK: spire.batchnorm1d
  %1 = spire.batchnorm1d %0 {name = "bn"} : tensor<?x4x98xf32> -> tensor<?x4x98xf32>
  // CHECK: spire.leaky_relu
  %2 = spire.leaky_relu %1 {name = "lr", negative_slope = 0.2 : f64} : tensor<?x4x98xf32> -> tensor<?x4x98xf32>
  // CHECK: spire.layernorm
  %3 = spire.layernorm %t {name = "ln"} : tensor<?x16x64xf32> -> tensor<?x16x64xf32>
  // CHECK: spire.permute
  %4 = spire.permute %3 {name = "tr", dims = array<i64: 0, 2, 1>} : tensor<?x16x64xf32> -> tensor<?x64x16xf32>
  // CHECK: spire.matmul
  %5 = spire.matmul %3, %4 {name = "att"} : tensor<?x16x64xf32>, tensor<?x64x16xf32> -> tensor<?x16x16xf32>
  // CHECK: spire.reshape
  %6 = spire.reshape %5 {name = "r", shape = array<i64: 4, -1>} : tensor<?x16x16xf32> -> tensor<?x4x64xf32>
  // CHECK: spire.gelu
  %7 = spire.gelu %6 {name = "g"} : tensor<?x4x64xf32> -> tensor<?x4x64xf32>
  // CHECK: spire.silu
  %8 = spire.silu %7 {name = "s"} : tensor<?x4x64xf32> -> tensor<?x4x64xf32>
  // CHECK: spire.sigmoid
  %9 = spire.sigmoid %8 {name = "sg"} : tensor<?x4x64xf32> -> tensor<?x4x64xf32>
  // CHECK: spire.tanh
  %10 = spire.tanh %9 {name = "th"} : tensor<?x4x64xf32> -> tensor<?x4x64xf32>
  // CHECK: spire.dropout
  %11 = spire.dropout %10 {name = "d", p = 0.1 : f64} : tensor<?x4x64xf32> -> tensor<?x4x64xf32>
  // CHECK: spire.mul
  %12 = spire.mul %11, %11 {name = "m"} : tensor<?x4x64xf32>, tensor<?x4x64xf32> -> tensor<?x4x64xf32>
  // CHECK: spire.relu
  %13 = spire.relu %12 {name = "rl"} : tensor<?x4x64xf32> -> tensor<?x4x64xf32>
  %14 = spire.reshape %13 {name = "r2", shape = array<i64: 16, 16>} : tensor<?x4x64xf32> -> tensor<?x16x16xf32>
  return %14 : tensor<?x16x16xf32>
}

// CHECK-LABEL: func @attention_and_friends
func.func @attention_and_friends(%t: tensor<?x16x64xf32>, %img: tensor<?x6x15x15xf32>) -> (tensor<?x64x16xf32>, tensor<?x6x3x5xf32>) {
  // CHECK: spire.attention {{.*}}heads = 4
  %0 = spire.attention %t {name = "attn", heads = 4} : tensor<?x16x64xf32> -> tensor<?x16x64xf32>
  // CHECK: spire.transpose {{.*}} -> tensor<?x64x16xf32>
  %1 = spire.transpose %0 {name = "tr", dim0 = 1, dim1 = 2} : tensor<?x16x64xf32> -> tensor<?x64x16xf32>
  // CHECK: spire.adaptive_avgpool2d {{.*}} -> tensor<?x6x3x5xf32>
  %2 = spire.adaptive_avgpool2d %img {name = "aap", size = array<i64: 3, 5>} : tensor<?x6x15x15xf32> -> tensor<?x6x3x5xf32>
  return %1, %2 : tensor<?x64x16xf32>, tensor<?x6x3x5xf32>
}

// CHECK-LABEL: func @broadcast_and_pools
func.func @broadcast_and_pools(%x: tensor<?x16x8x8xf32>, %s: tensor<?x16x1x1xf32>, %g: tensor<?x1x8x8xf32>) -> (tensor<?x16x8x8xf32>, tensor<?x16x4x4xf32>, tensor<?x16x4x3xf32>) {
  // CHECK: spire.hardsigmoid
  %0 = spire.hardsigmoid %s {name = "hs"} : tensor<?x16x1x1xf32> -> tensor<?x16x1x1xf32>
  // CHECK: spire.mul {{.*}} : tensor<?x16x1x1xf32>, tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
  %1 = spire.mul %0, %x {name = "se"} : tensor<?x16x1x1xf32>, tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
  // CHECK: spire.sub
  %2 = spire.sub %1, %g {name = "d"} : tensor<?x16x8x8xf32>, tensor<?x1x8x8xf32> -> tensor<?x16x8x8xf32>
  // CHECK: spire.div {{.*}} : tensor<?x16x1x1xf32>, tensor<?x1x8x8xf32> -> tensor<?x16x8x8xf32>
  %3 = spire.div %s, %g {name = "q"} : tensor<?x16x1x1xf32>, tensor<?x1x8x8xf32> -> tensor<?x16x8x8xf32>
  %4 = spire.add %2, %3 {name = "a"} : tensor<?x16x8x8xf32>, tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32>
  // 8 -> ceil((8 - 3) / 2) + 1 = 4 (floor mode: 3)
  // CHECK: spire.maxpool2d {{.*}}ceil_mode = true{{.*}} -> tensor<?x16x4x4xf32>
  %5 = spire.maxpool2d %4 {name = "mp", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = true} : tensor<?x16x8x8xf32> -> tensor<?x16x4x4xf32>
  // Rows: ceil((8 + 2 - 2 * 2 - 1) / 2) + 1 = 4 (dilation 2). Columns:
  // ceil((8 + 2 - 3) / 3) + 1 = 4, but the last window would start at
  // 3 * 3 = 9 >= 8 + 1, past the input and its left padding: 3.
  // CHECK: spire.maxpool2d {{.*}}dilation = array<i64: 2, 1>{{.*}} -> tensor<?x16x4x3xf32>
  %6 = spire.maxpool2d %x {name = "mpd", kernel = array<i64: 3, 3>, stride = array<i64: 2, 3>, padding = array<i64: 1, 1>, dilation = array<i64: 2, 1>, ceil_mode = true} : tensor<?x16x8x8xf32> -> tensor<?x16x4x3xf32>
  // CHECK: spire.avgpool2d {{.*}}count_include_pad = false
  %7 = spire.avgpool2d %4 {name = "ap", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, count_include_pad = false} : tensor<?x16x8x8xf32> -> tensor<?x16x4x4xf32>
  return %4, %5, %6 : tensor<?x16x8x8xf32>, tensor<?x16x4x4xf32>, tensor<?x16x4x3xf32>
}

// CHECK-LABEL: func @reductions
func.func @reductions(%x: tensor<?x5x6x7xf32>) -> (tensor<?x5xf32>, tensor<?x1x6x7xf32>, tensor<?x6xf32>) {
  // CHECK: spire.mean {{.*}} -> tensor<?x5xf32>
  %0 = spire.mean %x {name = "m", dims = array<i64: 2, 3>} : tensor<?x5x6x7xf32> -> tensor<?x5xf32>
  // CHECK: spire.sum {{.*}}keepdim = true{{.*}} -> tensor<?x1x6x7xf32>
  %1 = spire.sum %x {name = "s", dims = array<i64: 1>, keepdim = true} : tensor<?x5x6x7xf32> -> tensor<?x1x6x7xf32>
  // CHECK: spire.max {{.*}} -> tensor<?x6xf32>
  %2 = spire.max %x {name = "mx", dims = array<i64: 1, -1>} : tensor<?x5x6x7xf32> -> tensor<?x6xf32>
  return %0, %1, %2 : tensor<?x5xf32>, tensor<?x1x6x7xf32>, tensor<?x6xf32>
}

// CHECK-LABEL: func @vit_pieces
func.func @vit_pieces(%t: tensor<?x196x192xf32>) -> tensor<?x192xf32> {
  // CHECK: spire.parameter {{.*}} -> tensor<?x1x192xf32>
  %0 = spire.parameter %t {name = "class_token", shape = array<i64: 1, 192>} : tensor<?x196x192xf32> -> tensor<?x1x192xf32>
  %1 = spire.concat %0, %t {name = "tokens"} : tensor<?x1x192xf32>, tensor<?x196x192xf32> -> tensor<?x197x192xf32>
  // CHECK: spire.select {{.*}} -> tensor<?x192xf32>
  %2 = spire.select %1 {name = "cls", dim = 1, index = 0} : tensor<?x197x192xf32> -> tensor<?x192xf32>
  return %2 : tensor<?x192xf32>
}

// CHECK-LABEL: func @decoder_pieces
func.func @decoder_pieces(%x: tensor<?x8x7x5xf32>, %s: tensor<?x3x?x?xf32>) -> (tensor<?x4x14x10xf32>, tensor<?x8x13x11xf32>, tensor<?x3x?x?xf32>) {
  // CHECK: spire.conv_transpose2d {{.*}} -> tensor<?x4x14x10xf32>
  %0 = spire.conv_transpose2d %x {name = "up", out = 4, kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, output_padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>} : tensor<?x8x7x5xf32> -> tensor<?x4x14x10xf32>
  // CHECK: spire.upsample {{.*}} -> tensor<?x8x13x11xf32>
  %1 = spire.upsample %x {name = "resize", mode = "bilinear", align_corners = true, size = array<i64: 13, 11>} : tensor<?x8x7x5xf32> -> tensor<?x8x13x11xf32>
  // An integer scale keeps unknown sizes unknown.
  // CHECK: spire.upsample {{.*}} -> tensor<?x3x?x?xf32>
  %2 = spire.upsample %s {name = "near", scale = array<f64: 2.0, 3.0>} : tensor<?x3x?x?xf32> -> tensor<?x3x?x?xf32>
  return %0, %1, %2 : tensor<?x4x14x10xf32>, tensor<?x8x13x11xf32>, tensor<?x3x?x?xf32>
}

// CHECK-LABEL: func @swin_v2_pieces
func.func @swin_v2_pieces(%q: tensor<?x4x3x9x4xf32>) -> tensor<?x4x3x9x4xf32> {
  // CHECK: spire.normalize %{{.*}} {{{.*}}eps = 5.000000e-01{{.*}}} : tensor<?x4x3x9x4xf32> -> tensor<?x4x3x9x4xf32>
  %0 = spire.normalize %q {name = "q_normalized", dim = 2, eps = 0.5} : tensor<?x4x3x9x4xf32> -> tensor<?x4x3x9x4xf32>
  return %0 : tensor<?x4x3x9x4xf32>
}
