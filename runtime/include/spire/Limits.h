// The sizes a bundle can hold and a Vulkan device can address. The compiler
// refuses a spec beyond them with the layer named; the runtime refuses a
// bundle beyond them as corrupt. Header-only, shared like Checked.h; not
// installed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spire {

// Tensor ranks, batch included.
constexpr int64_t kMaxRank = 8;
// One dim, and the elements of one tensor per sample: kernels index with
// 32-bit integers.
constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;
constexpr int64_t kMaxElements = (int64_t(1) << 31) - 1;
// One binding's bytes: VkPhysicalDeviceLimits::maxStorageBufferRange is a
// uint32_t, so no device binds more.
constexpr int64_t kMaxBindingBytes = (int64_t(1) << 32) - 1;
// The elements of one SizeExpr program (bundle.fbs): far more than any
// shape's expression needs, and few enough that printing one for a message
// stays cheap whatever a corrupt bundle holds.
constexpr size_t kMaxSizeExprLength = 256;
// The weight blob a seeded bundle makes at load: a bound on what a corrupt
// recipe can make the runtime allocate (4 GiB, over a billion parameters).
constexpr uint64_t kMaxSeededWeightsBytes = uint64_t(1) << 32;
// A kernel's 32-bit push constants: 128 bytes, Vulkan's guaranteed
// maxPushConstantsSize.
constexpr uint32_t kMaxPushConstants = 32;
// Values a dispatch's size case lists (bundle.fbs: SizeCase): a key over a
// symbol's whole range, e.g. L in [1, 65536].
constexpr size_t kMaxSizeCaseValues = size_t(1) << 16;

} // namespace spire
