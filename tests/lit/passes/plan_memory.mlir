// plan-memory places every stored tensor at the lowest free offset (bytes
// per sample, 256-aligned) among those alive at the same time, per stage.
// Stage 0: the input (2048 bytes) is read by stem, so stem goes at 2048;
// relu1 reuses the input's space; relu2 reads both, so it goes above.
// Stage 1 has its own arena: relu2 comes in at 0 and fc's 16 bytes go at
// the next 256-byte boundary, past the flatten that aliases relu2.
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-fold-batchnorm,spire-form-kernels,spire-plan-memory))' %s | FileCheck %s

// CHECK-LABEL: func.func @model
// CHECK-SAME: spire.stages = [#spire.stage_memory<arena = 6144, inputs = [0], outputs = [4096]>, #spire.stage_memory<arena = 2304, inputs = [0], outputs = [2048]>]
// CHECK: spire.kernel "stem"(%arg0) attributes {arena = #spire.arena<result = 2048, operands = [0], scratch = []>}
// CHECK: spire.kernel "relu1"({{.*}}) attributes {arena = #spire.arena<result = 0, operands = [2048], scratch = []>}
// CHECK: spire.kernel "relu2"({{.*}}) attributes {arena = #spire.arena<result = 4096, operands = [0, 2048], scratch = []>}
// CHECK: spire.kernel "fc"({{.*}}) attributes {arena = #spire.arena<result = 2048, operands = [0], scratch = []>}

module {
  func.func @model(%arg0: tensor<?x8x8x8xf32> {spire.name = "image"}) -> (tensor<?x4xf32> {spire.name = "fc"}) attributes {spire.model = "lit_block", spire.symbols = ["N"]} {
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
