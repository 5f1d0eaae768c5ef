// select-kernel-config takes a target from a JSON file in the form
// `spire devices --profile` prints: "name" is the built-in profile whose
// tiles the kernels start from, the other fields describe the device and
// are recorded; the device's subgroup size and workgroup limit bound the
// tiles. A file that cannot be used is an error saying why.
// RUN: rm -rf %t && mkdir -p %t
// RUN: echo '{"name": "nvidia", "subgroup_size": 4, "max_workgroup_invocations": 64, "f16": false}' > %t/small.json
// RUN: spire-opt --pass-pipeline="builtin.module(func.func(spire-form-kernels),spire-select-kernel-config{target=%t/small.json})" %s | FileCheck %s
// RUN: echo '{"name": "cray"}' > %t/cray.json
// RUN: not spire-opt --pass-pipeline="builtin.module(spire-select-kernel-config{target=%t/cray.json})" %s 2>&1 | FileCheck %s --check-prefix=NAME
// RUN: echo '{"name": "amd", "subgroup_size": -1}' > %t/negative.json
// RUN: not spire-opt --pass-pipeline="builtin.module(spire-select-kernel-config{target=%t/negative.json})" %s 2>&1 | FileCheck %s --check-prefix=FIELD
// RUN: echo '{"name": ' > %t/broken.json
// RUN: not spire-opt --pass-pipeline="builtin.module(spire-select-kernel-config{target=%t/broken.json})" %s 2>&1 | FileCheck %s --check-prefix=JSON
// RUN: not spire-opt --pass-pipeline="builtin.module(spire-select-kernel-config{target=%t/missing.json})" %s 2>&1 | FileCheck %s --check-prefix=MISSING

// nvidia's tiles (workgroups of 128, 8 lanes sharing loads), bounded by a
// device with 4-lane subgroups and 64 invocations a workgroup.
// CHECK: spire.target = #spire.target<name = "nvidia", subgroup_size = 4, max_workgroup_invocations = 64, shared_memory_bytes = 49152, max_texel_buffer_elements = 134217728, f16 = false, vector_width = 4>
// CHECK: spire.kernel "r"{{.*}}#spire.kernel_config<workgroup = 64, channel_tile = 8, positions = 8,{{.*}}broadcast_lanes = 4,

// NAME: error: target file '{{.*}}cray.json': names no built-in profile: 'cray'
// FIELD: error: target file '{{.*}}negative.json': "subgroup_size" must be a whole number >= 1
// JSON: error: target file '{{.*}}broken.json': not JSON:
// MISSING: error: target file '{{.*}}missing.json': cannot read it: No such file or directory

func.func @model(%arg0: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = spire.relu %arg0 {name = "r"} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}
