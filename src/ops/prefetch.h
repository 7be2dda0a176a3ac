// Software prefetch of row spans: how kernels fetch the rows they will read
// next while the current ones compute (weights in the matmul tiles, keys and
// values in attention). A prefetch never faults, and never changes a result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <immintrin.h>

namespace lookahead {

// Prefetches (T0) the lines at p, p + 64, ... below p + N of R rows
// `stride` bytes apart (N a constant, so the loops unroll).
template <int R, size_t N>
inline void prefetch_rows(const void* p, size_t stride) {
  const char* c = static_cast<const char*>(p);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (size_t l = 0; l < N; l += 64) _mm_prefetch(c + r * stride + l, _MM_HINT_T0);
}

// The same with the row count and span known only at run time.
inline void prefetch_rows(const void* p, int rows, size_t stride, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int r = 0; r < rows; ++r)
    for (size_t l = 0; l < bytes; l += 64) _mm_prefetch(c + r * stride + l, _MM_HINT_T0);
}

}  // namespace lookahead
