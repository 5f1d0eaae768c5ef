// Big buffers on 2 MiB pages. Debian's kernels give transparent huge pages
// only to memory that asks for them (THP "madvise" mode), and in a VM each
// 4 KiB page fault costs more than filling the page: ResNet-50's compile
// writes its 100 MB of weights three times (generated, packed, the blob),
// and with 4 KiB pages spent a third of its time faulting them in
// (docs/perf-log/2026-12-03-compile-time.md). Header-only, shared by
// compiler and runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <sys/mman.h>

namespace spire {

// Reserves room for `n` elements in the empty vector `v`, asking the kernel
// for huge pages for it: call before the elements are written, since pages
// already touched stay as they are.
template <class T> void reserveHugePages(std::vector<T> &v, size_t n);

// `n` value-initialized elements on huge pages.
template <class T> std::vector<T> onHugePages(size_t n) {
  std::vector<T> v;
  reserveHugePages(v, n);
  v.resize(n);
  return v;
}

template <class T> void reserveHugePages(std::vector<T> &v, size_t n) {
  v.reserve(n);
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  uintptr_t start = reinterpret_cast<uintptr_t>(v.data());
  uintptr_t begin = (start + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (start + n * sizeof(T)) & ~(kHuge - 1);
  // Only whole huge pages inside the allocation; advice, so a kernel that
  // declines (THP off) changes nothing.
  if (begin < end)
    madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE);
#endif
}

} // namespace spire
