// SizesTest's first kernel: y[n, c, j] = x[n, c, 2j] + ... + x[n, c, 2j + 4]
// for x [N, 4, L] and y [N, 4, (L - 5) floordiv 2 + 1], L a specialization
// constant. One invocation per element of a sample; the sample is the
// workgroup's z.
#version 450
layout(local_size_x = 64) in;
layout(constant_id = 0) const int L = 1;
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

void main() {
  const int lout = (L - 5) / 2 + 1; // L >= 5: truncation is the floor
  int i = int(gl_GlobalInvocationID.x);
  if (i >= 4 * lout)
    return;
  int n = int(gl_WorkGroupID.z), c = i / lout, j = i % lout;
  float sum = 0.0;
  for (int k = 0; k < 5; ++k)
    sum += x[(n * 4 + c) * L + 2 * j + k];
  y[n * 4 * lout + i] = sum;
}
