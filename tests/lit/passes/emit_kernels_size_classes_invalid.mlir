// Size classes must share one key of the size symbols (the kernel verifier),
// and only a kernel of one dispatch over ranged sizes can have them
// (emit-kernels).
// RUN: spire-opt %s -split-input-file --pass-pipeline='builtin.module(spire-emit-kernels)' -verify-diagnostics

func.func @model(%arg0: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> attributes {spire.symbols = ["L"]} {
  // expected-error @+1 {{has size classes that are not values of one key of the size symbols}}
  %0 = spire.kernel "r"(%arg0) attributes {config = #spire.kernel_config<workgroup = 64, channel_tile = 16, positions = 16, reduction_step = 4, window_positions = 32, depthwise_outputs = 56, pool_outputs = 224, broadcast_lanes = 8, texel_inputs = true>, size_classes = [#spire.size_class<key = ()[s0] -> (s0), values = [8], config = <workgroup = 64, channel_tile = 16, positions = 8, reduction_step = 4, window_positions = 32, depthwise_outputs = 56, pool_outputs = 224, broadcast_lanes = 8, texel_inputs = true>>, #spire.size_class<key = ()[s0] -> (s0 + 1), values = [9], config = <workgroup = 64, channel_tile = 16, positions = 8, reduction_step = 4, window_positions = 32, depthwise_outputs = 56, pool_outputs = 224, broadcast_lanes = 8, texel_inputs = true>>]} {
  ^bb0(%x: tensor<1x4x8xf32>):
    %1 = spire.relu %x {name = "r"} : tensor<1x4x8xf32> -> tensor<1x4x8xf32>
    spire.yield %1 : tensor<1x4x8xf32>
  } : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}

// -----

module {
func.func @model(%arg0: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> attributes {spire.symbols = ["L"]} {
  // expected-error @+1 {{has size classes but is not one dispatch over ranged sizes}}
  %0 = spire.kernel "r"(%arg0) attributes {config = #spire.kernel_config<workgroup = 64, channel_tile = 16, positions = 16, reduction_step = 4, window_positions = 32, depthwise_outputs = 56, pool_outputs = 224, broadcast_lanes = 8, texel_inputs = true>, size_classes = [#spire.size_class<key = ()[s0] -> (s0), values = [8], config = <workgroup = 64, channel_tile = 16, positions = 8, reduction_step = 4, window_positions = 32, depthwise_outputs = 56, pool_outputs = 224, broadcast_lanes = 8, texel_inputs = true>>]} {
  ^bb0(%x: tensor<1x4x8xf32>):
    %1 = spire.relu %x {name = "r"} : tensor<1x4x8xf32> -> tensor<1x4x8xf32>
    spire.yield %1 : tensor<1x4x8xf32>
  } : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}
}
