// SizesTest's second kernel: z = 2 y + L over [N, 4, (L - 5) floordiv 2 + 1],
// so that its output shows which L it was specialized for.
#version 450
layout(local_size_x = 64) in;
layout(constant_id = 0) const int L = 1;
layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) writeonly buffer Z { float z[]; };

void main() {
  const int lout = (L - 5) / 2 + 1;
  int i = int(gl_GlobalInvocationID.x);
  if (i >= 4 * lout)
    return;
  int at = int(gl_WorkGroupID.z) * 4 * lout + i;
  z[at] = 2.0 * y[at] + float(L);
}
