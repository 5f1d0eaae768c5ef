#version 450
// 256 scattered f32 loads per invocation, from a storage buffer (default),
// a uniform texel buffer (-DTEXEL), or none (-DNONE: the same index math).
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Out { float o[]; };
#if defined(NONE)
layout(set = 0, binding = 1) readonly buffer In { float x[]; };
#define LOAD(i) float(i)
#elif defined(TEXEL)
layout(set = 0, binding = 1) uniform samplerBuffer src;
#define LOAD(i) texelFetch(src, int(i)).r
#else
layout(set = 0, binding = 1) readonly buffer In { float x[]; };
#define LOAD(i) x[i]
#endif
const uint N = 1u << 20;
void main() {
  uint base = gl_GlobalInvocationID.x * 8u;
  float acc = 0.0;
  for (uint k = 0u; k < 256u; ++k)
    acc += LOAD((base + k * 1031u) & (N - 1u));
  o[gl_GlobalInvocationID.x] = acc;
}
