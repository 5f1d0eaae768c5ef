// select-kernel-config records the target and gives every kernel a
// #spire.kernel_config from the target's tiles and the kernel's shapes.
// Convs get their exact channel tile (their weights are packed by it):
// depthwise 1, a 1x1 over 7-wide rows twice the target's tile (32 on lavapipe).
// A 7x7 stride-2 stem takes half the target's positions (8 of 16 on lavapipe).
// Other kernels keep the target's limits. nvidia's profile starts from
// workgroups of 128 and an 8 x 8 tile; generic shares no loads across
// lanes and reads storage buffers.
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-fold-batchnorm,spire-form-kernels),spire-select-kernel-config)' %s | FileCheck %s --check-prefix=LAVA
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-fold-batchnorm,spire-form-kernels),spire-select-kernel-config{target=nvidia})' %s | FileCheck %s --check-prefix=NV
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-fold-batchnorm,spire-form-kernels),spire-select-kernel-config{target=generic})' %s | FileCheck %s --check-prefix=GEN
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-fold-batchnorm,spire-form-kernels),spire-select-kernel-config{target=lavapipe tile-channels=4 broadcast-lanes=1 no-texel-inputs=true})' %s | FileCheck %s --check-prefix=OVER
// RUN: not spire-opt --pass-pipeline='builtin.module(spire-select-kernel-config{target=cray})' %s 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// LAVA: spire.target = #spire.target<name = "lavapipe", subgroup_size = 8,
// LAVA: spire.kernel "stem"{{.*}}config = #spire.kernel_config<workgroup = 64, channel_tile = 16, positions = 8, reduction_step = 4, window_positions = 32, depthwise_outputs = 56, pool_outputs = 224, broadcast_lanes = 8, texel_inputs = true>
// LAVA: spire.kernel "dw_relu"{{.*}}channel_tile = 1,
// LAVA: spire.kernel "pool"{{.*}}channel_tile = 16, positions = 16,
// LAVA: spire.kernel "pw"{{.*}}channel_tile = 32, positions = 16,
// LAVA: spire.kernel "fc"{{.*}}channel_tile = 16, positions = 16,

// NV: spire.target = #spire.target<name = "nvidia", subgroup_size = 32,
// NV: spire.kernel "stem"{{.*}}config = #spire.kernel_config<workgroup = 128, channel_tile = 8, positions = 4,
// NV: spire.kernel "dw_relu"{{.*}}channel_tile = 1,
// NV: spire.kernel "pw"{{.*}}channel_tile = 16, positions = 8,
// NV: spire.kernel "fc"{{.*}}workgroup = 128, channel_tile = 8, positions = 8,

// GEN: spire.kernel "stem"{{.*}}broadcast_lanes = 1, texel_inputs = false>

// OVER: spire.kernel "stem"{{.*}}channel_tile = 4, positions = 8,{{.*}}broadcast_lanes = 1, texel_inputs = false>
// OVER: spire.kernel "pw"{{.*}}channel_tile = 8,

// UNKNOWN: error: unknown target 'cray'; the built-in targets are lavapipe, nvidia, amd, intel, arm-mali, qualcomm-adreno, generic

module {
  func.func @model(%arg0: tensor<1x3x28x28xf32> {spire.name = "image"}) -> (tensor<1x10xf32> {spire.name = "fc"}) attributes {spire.model = "lit_configs", spire.symbols = []} {
    %0 = spire.conv2d %arg0 {dilation = array<i64: 1, 1>, kernel = array<i64: 7, 7>, name = "stem", out = 32 : i64, padding = array<i64: 3, 3>, stride = array<i64: 2, 2>} : tensor<1x3x28x28xf32> -> tensor<1x32x14x14xf32>
    %1 = spire.conv2d %0 {dilation = array<i64: 1, 1>, groups = 32 : i64, kernel = array<i64: 3, 3>, name = "dw", out = 32 : i64, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<1x32x14x14xf32> -> tensor<1x32x14x14xf32>
    %2 = spire.relu %1 {name = "dw_relu"} : tensor<1x32x14x14xf32> -> tensor<1x32x14x14xf32>
    %3 = spire.maxpool2d %2 {kernel = array<i64: 2, 2>, name = "pool", padding = array<i64: 0, 0>, stride = array<i64: 2, 2>} : tensor<1x32x14x14xf32> -> tensor<1x32x7x7xf32>
    %4 = spire.conv2d %3 {dilation = array<i64: 1, 1>, kernel = array<i64: 1, 1>, name = "pw", out = 64 : i64, padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<1x32x7x7xf32> -> tensor<1x64x7x7xf32>
    %5 = spire.flatten %4 {name = "flat"} : tensor<1x64x7x7xf32> -> tensor<1x3136xf32>
    %6 = spire.linear %5 {name = "fc", out = 10 : i64} : tensor<1x3136xf32> -> tensor<1x10xf32>
    return %6 : tensor<1x10xf32>
  }
}
