// The strict check of an untrusted bundle's kernels (ContextOptions::
// untrusted), before a driver sees them. With robustBufferAccess on, a
// kernel that passes cannot touch memory outside the buffers bound to it:
// logical addressing only (no pointers made from integers or device
// addresses), storage only through descriptors of set 0 at bindings the
// bundle's dispatches provide, and no capability or extension beyond those
// Spire's own compiler emits or that cannot address memory.
#pragma once

#include "Internal.h"

namespace spire {

// Throws Error(Bundle) naming kernel `k` and the first instruction that
// breaks those rules; `bindings` is how many buffers its dispatches bind.
void checkKernelStrictly(const bundle::Kernel &kernel, size_t k, uint32_t bindings);

} // namespace spire
