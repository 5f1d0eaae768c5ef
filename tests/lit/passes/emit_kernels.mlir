// emit-kernels generates each dispatch as a gpu.func in its own gpu.module,
// named s<stage>_k<index>_<label>, with one buffer argument per binding:
// the output, the inputs, the parameters (a folded conv: weights, bias),
// then a fused residual. It records each dispatch's grid, workgroup size,
// subgroup lanes and texel bindings on the kernel. A kernel without a
// config is an error that names the pass to run first.
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-fold-batchnorm,spire-form-kernels,spire-plan-memory),spire-select-kernel-config,spire-emit-kernels)' %s | FileCheck %s
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-fold-batchnorm,spire-form-kernels),spire-emit-kernels)' %s -verify-diagnostics -split-input-file > /dev/null

// CHECK: module attributes {gpu.container_module
// 512 elements a sample in runs of 4: 128 work items, 2 workgroups of 64.
// CHECK: spire.kernel "stem"{{.*}}dispatches = [#spire.dispatch<kernel = "s0_k0_stem", grid = [2, 1, 1], workgroup = 64, subgroup_lanes = 0, texel_bindings = [1], vec4_texel_bindings = [1]>]
// CHECK: spire.kernel "relu1"{{.*}}dispatches = [#spire.dispatch<kernel = "s0_k1_conv1_bn1_relu1",
// CHECK: spire.kernel "relu2"{{.*}}dispatches = [#spire.dispatch<kernel = "s0_k2_conv2_add_relu2",
// The residual (binding 4) is read as texels too.
// CHECK-SAME: texel_bindings = [4, 1, 2]
// CHECK: spire.kernel "fc"{{.*}}dispatches = [#spire.dispatch<kernel = "s1_k3_fc",
// CHECK: gpu.module @s0_k0_stem
// CHECK-NEXT: gpu.func @main(%{{.*}}: memref<?xvector<4xf32>>, %{{.*}}: memref<?xvector<4xf32>>) kernel
// CHECK: gpu.module @s0_k1_conv1_bn1_relu1
// CHECK-NEXT: gpu.func @main(%{{[^:]*}}: memref{{[^,]*}}, %{{[^:]*}}: memref{{[^,]*}}, %{{[^:]*}}: memref{{[^,]*}}, %{{[^:]*}}: memref<?xf32>) kernel
// CHECK: gpu.module @s0_k2_conv2_add_relu2
// CHECK-NEXT: gpu.func @main(%{{[^:]*}}: memref{{[^,]*}}, %{{[^:]*}}: memref{{[^,]*}}, %{{[^:]*}}: memref{{[^,]*}}, %{{[^:]*}}: memref<?xf32>, %{{[^:]*}}: memref<?xvector<4xf32>>) kernel
// CHECK: gpu.module @s1_k3_fc

module {
  func.func @model(%arg0: tensor<?x8x8x8xf32> {spire.name = "image"}) -> (tensor<?x4xf32> {spire.name = "fc"}) attributes {spire.model = "lit_block", spire.symbols = ["N"]} {
    // expected-error @below {{has no kernel_config; run spire-select-kernel-config first}}
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
