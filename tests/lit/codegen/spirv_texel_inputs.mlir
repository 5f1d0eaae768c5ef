// RUN: spire-opt %s --split-input-file --spire-spirv-texel-inputs --verify-diagnostics | FileCheck %s

// Binding 1 is listed: its global becomes an R32 buffer image and the
// element load a fetch of texel %i. Binding 0, written, stays a storage
// buffer; the attribute is consumed.
// CHECK-LABEL: spirv.module Logical GLSL450 {
// CHECK: spirv.GlobalVariable @out bind(0, 0) : !spirv.ptr<!spirv.struct<(!spirv.rtarray<f32, stride=4> [0])>, StorageBuffer>
// CHECK-NEXT: spirv.GlobalVariable @in_texels bind(0, 1) : !spirv.ptr<!spirv.image<f32, Buffer, NoDepth, NonArrayed, SingleSampled, NeedSampler, Unknown>, UniformConstant>
// CHECK-NOT: @in bind
// CHECK: spirv.func @main(%[[I:.*]]: i32)
// CHECK: %[[ADDR:.*]] = spirv.mlir.addressof @in_texels
// CHECK-NEXT: %[[IMAGE:.*]] = spirv.Load "UniformConstant" %[[ADDR]]
// CHECK-NEXT: %[[TEXEL:.*]] = spirv.ImageFetch %[[IMAGE]], %[[I]] : !spirv.image<f32, Buffer, {{.*}}>, i32 -> vector<4xf32>
// CHECK-NEXT: %[[V:.*]] = spirv.CompositeExtract %[[TEXEL]][0 : i32] : vector<4xf32>
// CHECK: spirv.Store "StorageBuffer" %{{.*}}, %[[V]] : f32
!buffer = !spirv.ptr<!spirv.struct<(!spirv.rtarray<f32, stride=4> [0])>, StorageBuffer>
spirv.module Logical GLSL450 attributes {spire.texel_bindings = array<i32: 1>} {
  spirv.GlobalVariable @out bind(0, 0) : !buffer
  spirv.GlobalVariable @in bind(0, 1) : !buffer
  spirv.func @main(%i: i32) "None" {
    %c0 = spirv.Constant 0 : i32
    %in = spirv.mlir.addressof @in : !buffer
    %p = spirv.AccessChain %in[%c0, %i] : !buffer, i32, i32 -> !spirv.ptr<f32, StorageBuffer>
    %v = spirv.Load "StorageBuffer" %p : f32
    %out = spirv.mlir.addressof @out : !buffer
    %q = spirv.AccessChain %out[%c0, %i] : !buffer, i32, i32 -> !spirv.ptr<f32, StorageBuffer>
    spirv.Store "StorageBuffer" %q, %v : f32
    spirv.Return
  }
}

// -----

// A listed binding that is written is refused.
!buffer = !spirv.ptr<!spirv.struct<(!spirv.rtarray<f32, stride=4> [0])>, StorageBuffer>
spirv.module Logical GLSL450 attributes {spire.texel_bindings = array<i32: 0>} {
  spirv.GlobalVariable @out bind(0, 0) : !buffer
  spirv.func @main(%i: i32, %v: f32) "None" {
    %c0 = spirv.Constant 0 : i32
    %out = spirv.mlir.addressof @out : !buffer
    %q = spirv.AccessChain %out[%c0, %i] : !buffer, i32, i32 -> !spirv.ptr<f32, StorageBuffer>
    // expected-error @+1 {{a texel input is written or used other than by loads}}
    spirv.Store "StorageBuffer" %q, %v : f32
    spirv.Return
  }
}

// -----

// A binding of vec4s is read a whole texel per load (the runtime views it
// as R32G32B32A32_SFLOAT): the fetch replaces the load, nothing extracted.
// CHECK-LABEL: spirv.module Logical GLSL450 {
// CHECK: spirv.GlobalVariable @in_texels bind(0, 1) : !spirv.ptr<!spirv.image<f32, Buffer, NoDepth, NonArrayed, SingleSampled, NeedSampler, Unknown>, UniformConstant>
// CHECK: spirv.func @main(%[[I:.*]]: i32)
// CHECK: %[[TEXEL:.*]] = spirv.ImageFetch %{{.*}}, %[[I]] : !spirv.image<f32, Buffer, {{.*}}>, i32 -> vector<4xf32>
// CHECK-NOT: spirv.CompositeExtract
// CHECK: spirv.Store "StorageBuffer" %{{.*}}, %[[TEXEL]] : vector<4xf32>
!vec4s = !spirv.ptr<!spirv.struct<(!spirv.rtarray<vector<4xf32>, stride=16> [0])>, StorageBuffer>
spirv.module Logical GLSL450 attributes {spire.texel_bindings = array<i32: 1>} {
  spirv.GlobalVariable @out bind(0, 0) : !vec4s
  spirv.GlobalVariable @in bind(0, 1) : !vec4s
  spirv.func @main(%i: i32) "None" {
    %c0 = spirv.Constant 0 : i32
    %in = spirv.mlir.addressof @in : !vec4s
    %p = spirv.AccessChain %in[%c0, %i] : !vec4s, i32, i32 -> !spirv.ptr<vector<4xf32>, StorageBuffer>
    %v = spirv.Load "StorageBuffer" %p : vector<4xf32>
    %out = spirv.mlir.addressof @out : !vec4s
    %q = spirv.AccessChain %out[%c0, %i] : !vec4s, i32, i32 -> !spirv.ptr<vector<4xf32>, StorageBuffer>
    spirv.Store "StorageBuffer" %q, %v : vector<4xf32>
    spirv.Return
  }
}

// -----

// Texels hold one float or four; a load of another type is refused.
!vec2s = !spirv.ptr<!spirv.struct<(!spirv.rtarray<vector<2xf32>, stride=8> [0])>, StorageBuffer>
spirv.module Logical GLSL450 attributes {spire.texel_bindings = array<i32: 0>} {
  spirv.GlobalVariable @in bind(0, 0) : !vec2s
  spirv.func @main(%i: i32) "None" {
    %c0 = spirv.Constant 0 : i32
    %in = spirv.mlir.addressof @in : !vec2s
    %p = spirv.AccessChain %in[%c0, %i] : !vec2s, i32, i32 -> !spirv.ptr<vector<2xf32>, StorageBuffer>
    // expected-error @+1 {{a texel input is loaded as 'vector<2xf32>', not as f32 or vector<4xf32>}}
    %v = spirv.Load "StorageBuffer" %p : vector<2xf32>
    spirv.Return
  }
}
