// Overflow-checked arithmetic for sizes and offsets read from files (bundles,
// .npy, .safetensors): a crafted file must not make a size wrap around into
// a small, plausible one. Header-only and dependency-free, so the runtime and
// the compiler share it; not installed (no public header includes it).
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

namespace spire {

template <typename T>
concept CheckedInt = std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>;

// a * b, or nullopt when the exact product does not fit in T.
template <CheckedInt T> std::optional<T> checkedMul(T a, T b) {
  T r;
  if (__builtin_mul_overflow(a, b, &r))
    return std::nullopt;
  return r;
}

// a + b, or nullopt when the exact sum does not fit in T.
template <CheckedInt T> std::optional<T> checkedAdd(T a, T b) {
  T r;
  if (__builtin_add_overflow(a, b, &r))
    return std::nullopt;
  return r;
}

// `unit` times every value of `dims` (a shape's element or byte count), or
// nullopt on overflow or on a negative value.
template <CheckedInt T, typename Range> std::optional<T> checkedProduct(const Range &dims, T unit) {
  std::optional<T> n = unit;
  for (auto d : dims) {
    if constexpr (std::is_signed_v<decltype(d)>)
      if (d < 0)
        return std::nullopt;
    if (n)
      n = checkedMul(*n, static_cast<T>(d));
  }
  return n;
}

} // namespace spire
