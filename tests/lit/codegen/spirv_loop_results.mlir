// RUN: spire-opt %s --split-input-file --spire-spirv-loop-results | FileCheck %s

// The form scf-to-spirv gives `scf.for ... iter_args`: the carried value is
// also stored to a Function variable every iteration and loaded after the
// loop. It becomes the loop's result (the header argument, yielded by the
// merge); the variable, its store and its load go.
// CHECK-LABEL: spirv.func @sum
// CHECK-NOT: spirv.Variable
// CHECK: %[[R:.*]] = spirv.mlir.loop -> f32 {
// CHECK: ^bb1(%{{.*}}: i32, %[[ACC:.*]]: f32):
// CHECK-NOT: spirv.Store
// CHECK: spirv.mlir.merge %[[ACC]] : f32
// CHECK-NOT: spirv.Load
// CHECK: spirv.ReturnValue %[[R]] : f32
spirv.module Logical GLSL450 {
  spirv.func @sum(%n: i32, %x: f32) -> f32 "None" {
    %c0 = spirv.Constant 0 : i32
    %c1 = spirv.Constant 1 : i32
    %zero = spirv.Constant 0.0 : f32
    %var = spirv.Variable : !spirv.ptr<f32, Function>
    spirv.mlir.loop {
      spirv.Branch ^header(%c0, %zero : i32, f32)
    ^header(%i: i32, %acc: f32):
      %more = spirv.SLessThan %i, %n : i32
      spirv.BranchConditional %more, ^body, ^merge
    ^body:
      %next = spirv.FAdd %acc, %x : f32
      spirv.Store "Function" %var, %next : f32
      %i1 = spirv.IAdd %i, %c1 : i32
      spirv.Branch ^header(%i1, %next : i32, f32)
    ^merge:
      spirv.mlir.merge
    }
    %r = spirv.Load "Function" %var : f32
    spirv.ReturnValue %r : f32
  }
}

// -----

// Nested loops: the inner loop's result feeds the outer back edge, so it
// goes through a select with itself (the serializer numbers loop results
// late); the outer loop's variable is lifted too.
// CHECK-LABEL: spirv.func @nested
// CHECK-NOT: spirv.Variable
// CHECK: %[[OUTER:.*]] = spirv.mlir.loop -> f32 {
// CHECK: ^bb1(%{{.*}}: i32, %[[OACC:.*]]: f32):
// CHECK: %[[INNER:.*]] = spirv.mlir.loop -> f32 {
// CHECK: spirv.mlir.merge %{{.*}} : f32
// CHECK: %[[TRUE:.*]] = spirv.Constant true
// CHECK-NEXT: %[[COPY:.*]] = spirv.Select %[[TRUE]], %[[INNER]], %[[INNER]] : i1, f32
// CHECK: spirv.Branch ^bb1(%{{.*}}, %[[COPY]] : i32, f32)
// CHECK: spirv.mlir.merge %[[OACC]] : f32
// CHECK: spirv.ReturnValue %[[OUTER]] : f32
spirv.module Logical GLSL450 {
  spirv.func @nested(%n: i32, %x: f32) -> f32 "None" {
    %c0 = spirv.Constant 0 : i32
    %c1 = spirv.Constant 1 : i32
    %zero = spirv.Constant 0.0 : f32
    %outer = spirv.Variable : !spirv.ptr<f32, Function>
    spirv.mlir.loop {
      spirv.Branch ^header(%c0, %zero : i32, f32)
    ^header(%i: i32, %acc: f32):
      %more = spirv.SLessThan %i, %n : i32
      spirv.BranchConditional %more, ^body, ^merge
    ^body:
      %inner = spirv.Variable : !spirv.ptr<f32, Function>
      spirv.mlir.loop {
        spirv.Branch ^header(%c0, %acc : i32, f32)
      ^header(%j: i32, %iacc: f32):
        %imore = spirv.SLessThan %j, %n : i32
        spirv.BranchConditional %imore, ^body, ^merge
      ^body:
        %inext = spirv.FAdd %iacc, %x : f32
        spirv.Store "Function" %inner, %inext : f32
        %j1 = spirv.IAdd %j, %c1 : i32
        spirv.Branch ^header(%j1, %inext : i32, f32)
      ^merge:
        spirv.mlir.merge
      }
      %next = spirv.Load "Function" %inner : f32
      spirv.Store "Function" %outer, %next : f32
      %i1 = spirv.IAdd %i, %c1 : i32
      spirv.Branch ^header(%i1, %next : i32, f32)
    ^merge:
      spirv.mlir.merge
    }
    %r = spirv.Load "Function" %outer : f32
    spirv.ReturnValue %r : f32
  }
}

// -----

// Left alone: a variable also written before the loop, and one whose stored
// value is not what the back edge carries.
// CHECK-LABEL: spirv.func @kept
// CHECK-COUNT-2: spirv.Variable
// CHECK: spirv.mlir.loop {
// CHECK-COUNT-2: spirv.Store "Function"
// CHECK: spirv.mlir.merge{{$}}
spirv.module Logical GLSL450 {
  spirv.func @kept(%n: i32, %x: f32) -> f32 "None" {
    %c0 = spirv.Constant 0 : i32
    %c1 = spirv.Constant 1 : i32
    %zero = spirv.Constant 0.0 : f32
    %early = spirv.Variable : !spirv.ptr<f32, Function>
    %other = spirv.Variable : !spirv.ptr<f32, Function>
    spirv.Store "Function" %early, %x : f32
    spirv.mlir.loop {
      spirv.Branch ^header(%c0, %zero : i32, f32)
    ^header(%i: i32, %acc: f32):
      %more = spirv.SLessThan %i, %n : i32
      spirv.BranchConditional %more, ^body, ^merge
    ^body:
      %next = spirv.FAdd %acc, %x : f32
      %twice = spirv.FAdd %next, %next : f32
      spirv.Store "Function" %early, %next : f32
      spirv.Store "Function" %other, %twice : f32
      %i1 = spirv.IAdd %i, %c1 : i32
      spirv.Branch ^header(%i1, %next : i32, f32)
    ^merge:
      spirv.mlir.merge
    }
    %a = spirv.Load "Function" %early : f32
    %b = spirv.Load "Function" %other : f32
    %r = spirv.FAdd %a, %b : f32
    spirv.ReturnValue %r : f32
  }
}

// -----

// Left alone: a store outside the continue block (here before a break, so
// the variable can hold a value the header never received).
// CHECK-LABEL: spirv.func @early_exit
// CHECK: spirv.Variable
// CHECK: spirv.mlir.loop {
// CHECK: spirv.Store "Function"
// CHECK: spirv.mlir.merge{{$}}
spirv.module Logical GLSL450 {
  spirv.func @early_exit(%n: i32, %x: f32) -> f32 "None" {
    %c0 = spirv.Constant 0 : i32
    %c1 = spirv.Constant 1 : i32
    %zero = spirv.Constant 0.0 : f32
    %var = spirv.Variable : !spirv.ptr<f32, Function>
    spirv.mlir.loop {
      spirv.Branch ^header(%c0, %zero : i32, f32)
    ^header(%i: i32, %acc: f32):
      %more = spirv.SLessThan %i, %n : i32
      spirv.BranchConditional %more, ^body, ^merge
    ^body:
      %next = spirv.FAdd %acc, %x : f32
      spirv.Store "Function" %var, %next : f32
      %big = spirv.FOrdGreaterThan %next, %x : f32
      spirv.BranchConditional %big, ^merge, ^continue
    ^continue:
      %i1 = spirv.IAdd %i, %c1 : i32
      spirv.Branch ^header(%i1, %next : i32, f32)
    ^merge:
      spirv.mlir.merge
    }
    %r = spirv.Load "Function" %var : f32
    spirv.ReturnValue %r : f32
  }
}
