// plan-memory plans kernels: layers outside them are an error that says
// which pass to run first.
// RUN: spire-opt --pass-pipeline='builtin.module(func.func(spire-plan-memory))' %s -verify-diagnostics

// expected-error @+1 {{has layers outside kernels; run spire-form-kernels first}}
func.func @model(%arg0: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = spire.relu %arg0 {name = "r"} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}
