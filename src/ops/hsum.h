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

// GCC 12's AVX-512 shuffles pass _mm512_undefined_ps() as their unused
// merge source, which trips -Wuninitialized where they inline.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// hsum16 of 16 vectors at once: out[i] = hsum16(v[i]), bit for bit. Every
// add pairs the same two values as hsum16's (lanes j and j + 8, then of
// each 8-lane sum i and i + 4, i and i + 2, i and i + 1), only with the
// partial sums of several vectors side by side in a register: ~45
// instructions for the 16 sums of a 4 x 4 matmul tile instead of ~140.
__attribute__((target("avx512f,avx512dq,avx2,fma"))) inline void hsum16x16(const __m512* v, float* out) {
  // The network leaves the sum of its input 4e + b in lane 4b + e, so it
  // takes input 4e + b from v[4b + e] (the order transposed).
  auto in = [](int j) { return (j % 4) * 4 + j / 4; };
  __m512 w[8], x[4], y[2];
  for (int k = 0; k < 8; ++k) {  // lanes j, j + 8: input 2k's sums in lanes 0-7, 2k + 1's in 8-15
    const __m512 a = v[in(2 * k)], b = v[in(2 * k + 1)];
    w[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xee));
  }
  for (int m = 0; m < 4; ++m)  // i, i + 4: one 128-bit block per input
    x[m] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * m], w[2 * m + 1], 0x88),
                         _mm512_shuffle_f32x4(w[2 * m], w[2 * m + 1], 0xdd));
  for (int m = 0; m < 2; ++m)  // i, i + 2 within each block
    y[m] = _mm512_add_ps(_mm512_shuffle_ps(x[2 * m], x[2 * m + 1], 0x44),
                         _mm512_shuffle_ps(x[2 * m], x[2 * m + 1], 0xee));
  // i, i + 1
  _mm512_storeu_ps(out, _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], 0x88), _mm512_shuffle_ps(y[0], y[1], 0xdd)));
}

// hsum16x16 over 16 rows of 16 floats (v: 64-byte aligned), for callers
// without AVX-512 types of their own (tests).
__attribute__((target("avx512f,avx512dq,avx2,fma"))) inline void hsum16x16_from(const float* v, float* out) {
  __m512 r[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_load_ps(v + 16 * i);
  hsum16x16(r, out);
}

#pragma GCC diagnostic pop

}  // namespace lookahead::simd
