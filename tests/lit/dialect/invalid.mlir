// RUN: spire-opt %s -split-input-file -verify-diagnostics
// Each op's verifier: shape inference rejects what PyTorch would reject at
// run time, with the layer's name and the shapes in the message.

// expected-note @+1 {{argument #0 produces [?, 512, 1, 1]}}
func.func @linear_rank(%x: tensor<?x512x1x1xf32>) {
  // expected-error @+1 {{linear 'fc' expects [N, ..., features] (not a pooled map) but receives a rank-4 tensor [?, 512, 1, 1] from argument #0; insert a 'flatten' before it}}
  %0 = spire.linear %x {name = "fc", out = 10} : tensor<?x512x1x1xf32> -> tensor<?x512x1x10xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 8192]}}
func.func @linear_in(%x: tensor<?x8192xf32>) {
  // expected-error @+1 {{linear 'fc1' expects 2048 input features but receives [?, 8192] (8192 features)}}
  %0 = spire.linear %x {name = "fc1", out = 10, in = 2048} : tensor<?x8192xf32> -> tensor<?x10xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, ?]}}
func.func @linear_dynamic_features(%x: tensor<?x?xf32>) {
  // expected-error @+1 {{linear 'fc' needs a static number of input features, but it is ?}}
  %0 = spire.linear %x {name = "fc", out = 10} : tensor<?x?xf32> -> tensor<?x10xf32>
  return
}

// -----

func.func @result_mismatch(%x: tensor<?x3x32x32xf32>) {
  // expected-error @+1 {{result type 'tensor<?x16x32x32xf32>' does not match the inferred shape [?, 16, 30, 30]}}
  %0 = spire.conv2d %x {name = "c", out = 16, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : tensor<?x3x32x32xf32> -> tensor<?x16x32x32xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 6, 8, 8]}}
func.func @conv_groups(%x: tensor<?x6x8x8xf32>) {
  // expected-error @+1 {{conv2d 'c' has groups = 4, which must divide both its 6 input channels}}
  %0 = spire.conv2d %x {name = "c", out = 8, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 4} : tensor<?x6x8x8xf32> -> tensor<?x8x8x8xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 3, 2, 2]}}
func.func @conv_too_small(%x: tensor<?x3x2x2xf32>) {
  // expected-error @+1 {{conv2d 'c' receives [?, 3, 2, 2] from argument #0: spatial size 2 is too small for a kernel of 5 with padding 0}}
  %0 = spire.conv2d %x {name = "c", out = 8, kernel = array<i64: 5, 5>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : tensor<?x3x2x2xf32> -> tensor<?x8x1x1xf32>
  return
}

// -----

func.func @conv_attr_arity(%x: tensor<?x3x8x8xf32>) {
  // expected-error @+1 {{conv2d 'c' has stride [1]: expected 2 values}}
  %0 = spire.conv2d %x {name = "c", out = 8, kernel = array<i64: 3, 3>, stride = array<i64: 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>} : tensor<?x3x8x8xf32> -> tensor<?x8x8x8xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 3, 8, 8]}}
func.func @conv1d_rank(%x: tensor<?x3x8x8xf32>) {
  // expected-error @+1 {{conv1d 'c' expects [N, C, L] but receives a rank-4 tensor}}
  %0 = spire.conv1d %x {name = "c", out = 8, kernel = array<i64: 3>, stride = array<i64: 1>, padding = array<i64: 1>, dilation = array<i64: 1>} : tensor<?x3x8x8xf32> -> tensor<?x8x8xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 16]}}
func.func @batchnorm2d_rank(%x: tensor<?x16xf32>) {
  // expected-error @+1 {{batchnorm2d 'bn' expects [N, C, H, W] but receives a rank-2 tensor [?, 16] from argument #0; use 'batchnorm1d' for [N, C] or [N, C, L]}}
  %0 = spire.batchnorm2d %x {name = "bn"} : tensor<?x16xf32> -> tensor<?x16xf32>
  return
}

// -----

func.func @pool_padding(%x: tensor<?x3x8x8xf32>) {
  // expected-error @+1 {{maxpool2d 'p' has padding [2, 2]: padding must be at most half the kernel}}
  %0 = spire.maxpool2d %x {name = "p", kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 2, 2>} : tensor<?x3x8x8xf32> -> tensor<?x3x6x6xf32>
  return
}

// -----

// expected-note @+2 {{argument #0 produces [?, 128, 28, 28]}}
// expected-note @+1 {{argument #1 produces [?, 64, 56, 56]}}
func.func @add_shapes(%a: tensor<?x128x28x28xf32>, %b: tensor<?x64x56x56xf32>) {
  // expected-error @+1 {{add 'layer2.0.add' joins [?, 128, 28, 28] from argument #0 with [?, 64, 56, 56] from argument #1; dim 1 is 128 in one and 64 in the other: each dim after the batch must be equal, or 1 in one of them; a residual edge between different shapes needs a projection (e.g. a 1x1 conv2d with the right stride and channels)}}
  %0 = spire.add %a, %b {name = "layer2.0.add"} : tensor<?x128x28x28xf32>, tensor<?x64x56x56xf32> -> tensor<?x128x28x28xf32>
  return
}

// -----

// A tensor with dims of 1 was meant to broadcast: the message shows the
// shape it needs.
// expected-note @+2 {{argument #0 produces [?, 16, 1, 1]}}
// expected-note @+1 {{argument #1 produces [?, 32, 8, 8]}}
func.func @broadcast_shapes(%s: tensor<?x16x1x1xf32>, %x: tensor<?x32x8x8xf32>) {
  // expected-error @+1 {{mul 'se' joins [?, 16, 1, 1] from argument #0 with [?, 32, 8, 8] from argument #1; dim 1 is 16 in one and 32 in the other: each dim after the batch must be equal, or 1 in one of them; to repeat argument #0 over argument #1 it would be [?, 32, 1, 1]}}
  %0 = spire.mul %s, %x {name = "se"} : tensor<?x16x1x1xf32>, tensor<?x32x8x8xf32> -> tensor<?x32x8x8xf32>
  return
}

// -----

// expected-note @+2 {{argument #0 produces [?, 16, 8, 8]}}
// expected-note @+1 {{argument #1 produces [?, 16]}}
func.func @broadcast_ranks(%x: tensor<?x16x8x8xf32>, %s: tensor<?x16xf32>) {
  // expected-error @+1 {{div 'q' joins [?, 16, 8, 8] from argument #0 with [?, 16] from argument #1; the ranks differ (4 and 2): dims pair up by position, the batch first; reshape one to the other's rank with dims of size 1 where it repeats}}
  %0 = spire.div %x, %s {name = "q"} : tensor<?x16x8x8xf32>, tensor<?x16xf32> -> tensor<?x16x8x8xf32>
  return
}

// -----

// The result of a broadcast is the larger dim of each pair.
func.func @broadcast_result(%x: tensor<?x16x8x8xf32>, %s: tensor<?x16x1x1xf32>) {
  // expected-error @+1 {{'spire.sub' op result type 'tensor<?x16x1x1xf32>' does not match the inferred shape [?, 16, 8, 8]}}
  %0 = spire.sub %s, %x {name = "d"} : tensor<?x16x1x1xf32>, tensor<?x16x8x8xf32> -> tensor<?x16x1x1xf32>
  return
}

// -----

// ceil_mode's last window depends on the input size.
// expected-note @+1 {{argument #0 produces [?, 3, ?, 8]}}
func.func @ceil_mode_size(%x: tensor<?x3x?x8xf32>) {
  // expected-error @+1 {{maxpool2d 'p' needs a static spatial size for ceil_mode, but it is ? in [?, 3, ?, 8] from argument #0}}
  %0 = spire.maxpool2d %x {name = "p", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = true} : tensor<?x3x?x8xf32> -> tensor<?x3x?x4xf32>
  return
}

// -----

func.func @pool_dilation(%x: tensor<?x3x8x8xf32>) {
  // expected-error @+1 {{maxpool2d 'p' has dilation [0, 1]: values must be >= 1}}
  %0 = spire.maxpool2d %x {name = "p", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 0, 1>} : tensor<?x3x8x8xf32> -> tensor<?x3x6x6xf32>
  return
}

// -----

// expected-note @+2 {{argument #0 produces [?, 8, 4, 4]}}
// expected-note @+1 {{argument #1 produces [?, 8, 5, 5]}}
func.func @concat_dims(%a: tensor<?x8x4x4xf32>, %b: tensor<?x8x5x5xf32>) {
  // expected-error @+1 {{concat 'cat' joins [?, 8, 4, 4] from argument #0 with [?, 8, 5, 5] from argument #1 along dim 1; all other dims must be equal; to join feature maps of two resolutions, resize one first (upsample, conv_transpose2d, or a pool or strided conv)}}
  %0 = spire.concat %a, %b {name = "cat"} : tensor<?x8x4x4xf32>, tensor<?x8x5x5xf32> -> tensor<?x16x4x4xf32>
  return
}

// -----

func.func @concat_batch(%a: tensor<?x8xf32>) {
  // expected-error @+1 {{concat 'cat' concatenates along the batch dim 0}}
  %0 = spire.concat %a, %a {name = "cat", dim = 0} : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @flatten_batch(%a: tensor<?x8x2xf32>) {
  // expected-error @+1 {{flatten 'f' has start_dim = 0 and end_dim = -1; it must keep the batch dim 0}}
  %0 = spire.flatten %a {name = "f", start_dim = 0} : tensor<?x8x2xf32> -> tensor<?xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 8, 2]}}
func.func @reshape_count(%a: tensor<?x8x2xf32>) {
  // expected-error @+1 {{reshape 'r' cannot reshape [?, 8, 2] from argument #0 (16 elements per sample) to [N, 3, 5]}}
  %0 = spire.reshape %a {name = "r", shape = array<i64: 3, 5>} : tensor<?x8x2xf32> -> tensor<?x3x5xf32>
  return
}

// -----

func.func @permute_batch(%a: tensor<?x8x2xf32>) {
  // expected-error @+1 {{permute 'p' has dims [1, 0, 2], which is not a permutation of the 3 dims of [?, 8, 2] that keeps the batch dim 0 first}}
  %0 = spire.permute %a {name = "p", dims = array<i64: 1, 0, 2>} : tensor<?x8x2xf32> -> tensor<?x8x2xf32>
  return
}

// -----

// expected-note @+2 {{argument #0 produces [?, 4, 8]}}
// expected-note @+1 {{argument #1 produces [?, 9, 4]}}
func.func @matmul_inner(%a: tensor<?x4x8xf32>, %b: tensor<?x9x4xf32>) {
  // expected-error @+1 {{matmul 'mm' multiplies [?, 4, 8] from argument #0 by [?, 9, 4] from argument #1; expected [..., M, K] x [..., K, P]}}
  %0 = spire.matmul %a, %b {name = "mm"} : tensor<?x4x8xf32>, tensor<?x9x4xf32> -> tensor<?x4x4xf32>
  return
}

// -----

func.func @softmax_dim(%a: tensor<?x8xf32>) {
  // expected-error @+1 {{softmax 's' has dim = 2, out of range for rank 2 input [?, 8]}}
  %0 = spire.softmax %a {name = "s", dim = 2} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @normalize_dim(%a: tensor<?x8xf32>) {
  // expected-error @+1 {{normalize 'n' has dim = -3, out of range for rank 2 input [?, 8]}}
  %0 = spire.normalize %a {name = "n", dim = -3} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @dropout_p(%a: tensor<?x8xf32>) {
  // expected-error @+1 {{dropout 'd' has p = 1.5; it must be in [0, 1)}}
  %0 = spire.dropout %a {name = "d", p = 1.5 : f64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, ?]}}
func.func @layernorm_dynamic(%a: tensor<?x?xf32>) {
  // expected-error @+1 {{layernorm 'ln' needs a static last dim (the normalized size)}}
  %0 = spire.layernorm %a {name = "ln"} : tensor<?x?xf32> -> tensor<?x?xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 8]}}
func.func @global_avgpool_rank(%a: tensor<?x8xf32>) {
  // expected-error @+1 {{global_avgpool 'g' expects [N, C, L] or [N, C, H, W] but receives a rank-2 tensor}}
  %0 = spire.global_avgpool %a {name = "g"} : tensor<?x8xf32> -> tensor<?x8xf32>
  return
}


// -----

// expected-note @+1 {{argument #0 produces [?, 16, 64]}}
func.func @attention_heads(%a: tensor<?x16x64xf32>) {
  // expected-error @+1 {{attention 'attn' has heads = 3, which must divide the embedding size 64 of [?, 16, 64] from argument #0}}
  %0 = spire.attention %a {name = "attn", heads = 3} : tensor<?x16x64xf32> -> tensor<?x16x64xf32>
  return
}

// -----

func.func @transpose_batch(%a: tensor<?x16x64xf32>) {
  // expected-error @+1 {{transpose 't' swaps the batch dim 0; only dims >= 1 can be transposed}}
  %0 = spire.transpose %a {name = "t", dim0 = 0, dim1 = 2} : tensor<?x16x64xf32> -> tensor<?x16x64xf32>
  return
}

// -----

func.func @adaptive_size(%a: tensor<?x4x8x8xf32>) {
  // expected-error @+1 {{adaptive_avgpool2d 'p' has size [0, 2]; expected two output sizes >= 1}}
  %0 = spire.adaptive_avgpool2d %a {name = "p", size = array<i64: 0, 2>} : tensor<?x4x8x8xf32> -> tensor<?x4x1x2xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 197, 192]}}
func.func @select_range(%a: tensor<?x197x192xf32>) {
  // expected-error @+1 {{select 's' selects index 197 of dim 1, which has size 197 in [?, 197, 192] from argument #0}}
  %0 = spire.select %a {name = "s", dim = 1, index = 197} : tensor<?x197x192xf32> -> tensor<?x192xf32>
  return
}

// -----

func.func @parameter_shape(%a: tensor<?x4xf32>) {
  // expected-error @+1 {{parameter 'p' has shape [0, 2]; expected the dims after the batch, each >= 1}}
  %0 = spire.parameter %a {name = "p", shape = array<i64: 0, 2>} : tensor<?x4xf32> -> tensor<?x1x2xf32>
  return
}

// -----

// A kernel's body sees its operands as block arguments of the same types.
func.func @kernel_arguments(%a: tensor<?x4xf32>) {
  // expected-error @+1 {{'spire.kernel' op passes 'tensor<?x4xf32>' to a body argument of type 'tensor<?x8xf32>'}}
  %0 = spire.kernel "r"(%a) {
  ^bb0(%x: tensor<?x8xf32>):
    %1 = spire.relu %x {name = "r"} : tensor<?x8xf32> -> tensor<?x8xf32>
    spire.yield %1 : tensor<?x8xf32>
  } : (tensor<?x4xf32>) -> tensor<?x8xf32>
  return
}

// -----

// It yields a tensor of its result type.
func.func @kernel_yield(%a: tensor<?x4xf32>) {
  // expected-error @+1 {{'spire.kernel' op yields 'tensor<?x4xf32>' but returns 'tensor<?x8xf32>'}}
  %0 = spire.kernel "r"(%a) {
  ^bb0(%x: tensor<?x4xf32>):
    %1 = spire.relu %x {name = "r"} : tensor<?x4xf32> -> tensor<?x4xf32>
    spire.yield %1 : tensor<?x4xf32>
  } : (tensor<?x4xf32>) -> tensor<?x8xf32>
  return
}

// -----

// An input gate is a mul read only by the conv after it.
func.func @kernel_gate(%a: tensor<?x4x2x2xf32>, %s: tensor<?x4x1x1xf32>) {
  // expected-error @+1 {{'spire.kernel' op has an input gate that is not a mul of two operands read only by the conv after it}}
  %0 = spire.kernel "r"(%a, %s) attributes {input_gate} {
  ^bb0(%x: tensor<?x4x2x2xf32>, %g: tensor<?x4x1x1xf32>):
    %1 = spire.mul %x, %g {name = "m"} : tensor<?x4x2x2xf32>, tensor<?x4x1x1xf32> -> tensor<?x4x2x2xf32>
    %2 = spire.relu %1 {name = "r"} : tensor<?x4x2x2xf32> -> tensor<?x4x2x2xf32>
    spire.yield %2 : tensor<?x4x2x2xf32>
  } : (tensor<?x4x2x2xf32>, tensor<?x4x1x1xf32>) -> tensor<?x4x2x2xf32>
  return
}

// -----

// It computes at least its anchor layer.
func.func @kernel_empty(%a: tensor<?x4xf32>) {
  // expected-error @+1 {{'spire.kernel' op has no anchor layer}}
  %0 = spire.kernel "r"(%a) {
  ^bb0(%x: tensor<?x4xf32>):
    spire.yield %x : tensor<?x4xf32>
  } : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @reduce_batch(%x: tensor<?x5x6xf32>) {
  // expected-error @+1 {{mean 'm' has dims [0, 2], which reduce the batch dim 0; only dims >= 1 can be reduced}}
  %0 = spire.mean %x {name = "m", dims = array<i64: 0, 2>} : tensor<?x5x6xf32> -> tensor<5xf32>
  return
}

// -----

func.func @reduce_twice(%x: tensor<?x5x6xf32>) {
  // expected-error @+1 {{sum 's' has dims [2, -1], which lists dim 2 twice}}
  %0 = spire.sum %x {name = "s", dims = array<i64: 2, -1>} : tensor<?x5x6xf32> -> tensor<?x5xf32>
  return
}

// -----

func.func @reduce_range(%x: tensor<?x5x6xf32>) {
  // expected-error @+1 {{max 'mx' has dims = 3, out of range for rank 3 input [?, 5, 6]}}
  %0 = spire.max %x {name = "mx", dims = array<i64: 3>} : tensor<?x5x6xf32> -> tensor<?x5xf32>
  return
}

// -----

func.func @reduce_nothing(%x: tensor<?x5x6xf32>) {
  // expected-error @+1 {{mean 'm' has no dims to reduce; list them, e.g. dims: [2, 3]}}
  %0 = spire.mean %x {name = "m", dims = array<i64>} : tensor<?x5x6xf32> -> tensor<?x5x6xf32>
  return
}

// -----

func.func @upsample_both(%x: tensor<?x3x8x8xf32>) {
  // expected-error @+1 {{upsample 'up' has both scale and size; give one: size for an exact [h, w], scale for a multiple of the input}}
  %0 = spire.upsample %x {name = "up", scale = array<f64: 2.0, 2.0>, size = array<i64: 16, 16>} : tensor<?x3x8x8xf32> -> tensor<?x3x16x16xf32>
  return
}

// -----

func.func @upsample_neither(%x: tensor<?x3x8x8xf32>) {
  // expected-error @+1 {{upsample 'up' has neither scale nor size; give one (e.g. scale: 2 or size: [64, 64])}}
  %0 = spire.upsample %x {name = "up"} : tensor<?x3x8x8xf32> -> tensor<?x3x8x8xf32>
  return
}

// -----

func.func @upsample_mode(%x: tensor<?x3x8x8xf32>) {
  // expected-error @+1 {{upsample 'up' has mode 'bicubic'; expected 'nearest' or 'bilinear'}}
  %0 = spire.upsample %x {name = "up", mode = "bicubic", scale = array<f64: 2.0, 2.0>} : tensor<?x3x8x8xf32> -> tensor<?x3x16x16xf32>
  return
}

// -----

func.func @upsample_corners(%x: tensor<?x3x8x8xf32>) {
  // expected-error @+1 {{upsample 'up' sets align_corners, which only mode 'bilinear' takes (as in PyTorch); remove it, or use mode: bilinear}}
  %0 = spire.upsample %x {name = "up", align_corners = false, scale = array<f64: 2.0, 2.0>} : tensor<?x3x8x8xf32> -> tensor<?x3x16x16xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 3, 8, ?]}}
func.func @upsample_fraction(%x: tensor<?x3x8x?xf32>) {
  // expected-error @+1 {{upsample 'up' needs a static spatial size for a fractional scale, but it is ? in [?, 3, 8, ?] from argument #0}}
  %0 = spire.upsample %x {name = "up", scale = array<f64: 2.0, 1.5>} : tensor<?x3x8x?xf32> -> tensor<?x3x16x?xf32>
  return
}

// -----

func.func @upsample_rank(%x: tensor<?x3x8x8xf32>) {
  // expected-note @+1 {{'f' produces [?, 3, 64]}}
  %0 = spire.flatten %x {name = "f", start_dim = 2} : tensor<?x3x8x8xf32> -> tensor<?x3x64xf32>
  // expected-error @+1 {{upsample 'up' expects [N, C, H, W] but receives a rank-3 tensor [?, 3, 64] from 'f'}}
  %1 = spire.upsample %0 {name = "up", scale = array<f64: 2.0, 2.0>} : tensor<?x3x64xf32> -> tensor<?x3x128xf32>
  return
}

// -----

func.func @upsample_result(%x: tensor<?x3x7x5xf32>) {
  // expected-error @+1 {{'spire.upsample' op result type 'tensor<?x3x14x10xf32>' does not match the inferred shape [?, 3, 10, 7]}}
  %0 = spire.upsample %x {name = "up", mode = "bilinear", scale = array<f64: 1.5, 1.5>} : tensor<?x3x7x5xf32> -> tensor<?x3x14x10xf32>
  return
}

// -----

func.func @conv_transpose_output_padding(%x: tensor<?x4x8x8xf32>) {
  // expected-error @+1 {{conv_transpose2d 'up' has output_padding [2, 0]: each value must be smaller than the stride [2, 2] or the dilation [1, 1]}}
  %0 = spire.conv_transpose2d %x {name = "up", out = 4, kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, output_padding = array<i64: 2, 0>, dilation = array<i64: 1, 1>} : tensor<?x4x8x8xf32> -> tensor<?x4x18x16xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 6, 8, 8]}}
func.func @conv_transpose_groups(%x: tensor<?x6x8x8xf32>) {
  // expected-error @+1 {{conv_transpose2d 'up' has groups = 4, which must divide both its 6 input channels (from argument #0) and its 8 output channels}}
  %0 = spire.conv_transpose2d %x {name = "up", out = 8, groups = 4, kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, output_padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : tensor<?x6x8x8xf32> -> tensor<?x8x16x16xf32>
  return
}

// -----

// expected-note @+1 {{argument #0 produces [?, 4, 1, 1]}}
func.func @conv_transpose_padding(%x: tensor<?x4x1x1xf32>) {
  // expected-error @+1 {{conv_transpose2d 'up' receives [?, 4, 1, 1] from argument #0: spatial size 1 gives an output size of 0 with padding 1; reduce the padding}}
  %0 = spire.conv_transpose2d %x {name = "up", out = 4, kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : tensor<?x4x1x1xf32> -> tensor<?x4x1x1xf32>
  return
}

// -----

func.func @conv_transpose_kernel(%x: tensor<?x4x8x8xf32>) {
  // expected-error @+1 {{conv_transpose2d 'up' has kernel [3]: expected 2 values}}
  %0 = spire.conv_transpose2d %x {name = "up", out = 4, kernel = array<i64: 3>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, output_padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : tensor<?x4x8x8xf32> -> tensor<?x4x17x17xf32>
  return
}
