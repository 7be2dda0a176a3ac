// Horizontal sums in one fixed lane order, with their scalar twins.
//
// Every kernel that reduces SIMD lanes uses these, so the SIMD kernels and
// their scalar twins agree bit for bit:
//   8 lanes:  ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))
//   16 lanes: the halves first (l[j] + l[j+8]), then the 8-lane order.
#pragma once

#include <immintrin.h>

namespace lookahead::simd {

inline float hsum8_scalar(const float* l) {
  const float a0 = l[0] + l[4], a1 = l[1] + l[5], a2 = l[2] + l[6], a3 = l[3] + l[7];
  return (a0 + a2) + (a1 + a3);
}

inline float hsum16_scalar(const float* l) {
  float a[8];
  for (int j = 0; j < 8; ++j) a[j] = l[j] + l[j + 8];
  return hsum8_scalar(a);
}

__attribute__((target("avx2,fma"))) inline float hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

__attribute__((target("avx512f,avx512dq,avx2,fma"))) inline float hsum16(__m512 v) {
  return hsum8(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

}  // namespace lookahead::simd
