// RUN: spire-opt %s --split-input-file --spire-spirv-push-constants --verify-diagnostics | FileCheck %s

// Each placeholder becomes a load of its element of the module's one
// push-constant block, whose length the module records for the bundle.
// CHECK-LABEL: spirv.module Logical GLSL450 attributes {spire.push_constants = 2 : i32}
// CHECK: spirv.GlobalVariable @__push_constant_var__ : !spirv.ptr<!spirv.struct<(!spirv.array<2 x i32, stride=4> [0])>, PushConstant>
// CHECK: spirv.func @main
// CHECK-NOT: spirv.Undef
// CHECK: %[[B:.*]] = spirv.mlir.addressof @__push_constant_var__
// CHECK: %[[P1:.*]] = spirv.AccessChain %[[B]][%{{.*}}, %{{.*}}]
// CHECK: %[[ROW:.*]] = spirv.Load "PushConstant" %[[P1]] : i32
// CHECK: %[[P0:.*]] = spirv.AccessChain
// CHECK: %[[AT:.*]] = spirv.Load "PushConstant" %[[P0]] : i32
// CHECK: spirv.IMul %[[ROW]], %[[AT]]
spirv.module Logical GLSL450 {
  spirv.func @main() "None" {
    %row = spirv.Undef {spire.push_constant = 1 : i64} : i32
    %at = spirv.Undef {spire.push_constant = 0 : i64} : i32
    %x = spirv.IMul %row, %at : i32
    spirv.Return
  }
}

// -----

// A kernel without placeholders is left alone.
// CHECK-LABEL: spirv.module Logical GLSL450 {
// CHECK-NOT: PushConstant
spirv.module Logical GLSL450 {
  spirv.func @main() "None" {
    %x = spirv.Undef : i32
    spirv.Return
  }
}

// -----

// The dispatch passes every element up to the last one read.
// expected-error @+1 {{reads push constants up to 2 but not 1}}
spirv.module Logical GLSL450 {
  spirv.func @main() "None" {
    %a = spirv.Undef {spire.push_constant = 0 : i64} : i32
    %b = spirv.Undef {spire.push_constant = 2 : i64} : i32
    spirv.Return
  }
}

// -----

spirv.module Logical GLSL450 {
  spirv.func @main() "None" {
    // expected-error @+1 {{reads push constant 0 as 'i64'; push constants are i32 from 0 up}}
    %a = spirv.Undef {spire.push_constant = 0 : i64} : i64
    spirv.Return
  }
}
