// Our own exp: range reduction + degree-6 polynomial (~2 ulp of expf),
// written with explicit FMAs so the scalar, AVX2 and AVX-512 versions agree
// bit for bit (attention's softmax and SwiGLU use it, each with a scalar twin).
//
// Inputs below kExpMin are raised to it (exp(-87) ~ 1.6e-38, harmless in a
// softmax or a sigmoid); inputs must stay at or below kExpMax (callers
// clamp): 2^n must stay a normal float.
#pragma once

#include <cmath>
#include <cstdint>
#include <immintrin.h>

#include "util/fp16.h"

namespace lookahead::simd {

inline constexpr float kExpMin = -87.0f;
inline constexpr float kExpMax = 88.0f;

namespace exp_detail {
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kC6 = 1.9875691500e-4f, kC5 = 1.3981999507e-3f, kC4 = 8.3334519073e-3f, kC3 = 4.1665795894e-2f,
                kC2 = 1.6666665459e-1f, kC1 = 5.0000001201e-1f;
}  // namespace exp_detail

inline float exp_poly_scalar(float x) {
  using namespace exp_detail;
  x = x < kExpMin ? kExpMin : x;
  const float n = std::nearbyint(x * kLog2e);
  float r = std::fmaf(n, -kLn2Hi, x);
  r = std::fmaf(n, -kLn2Lo, r);
  float p = kC6;
  p = std::fmaf(p, r, kC5);
  p = std::fmaf(p, r, kC4);
  p = std::fmaf(p, r, kC3);
  p = std::fmaf(p, r, kC2);
  p = std::fmaf(p, r, kC1);
  const float r2 = r * r;
  p = std::fmaf(p, r2, r);
  p = p + 1.0f;
  const int32_t e = static_cast<int32_t>(n);
  return p * fp32_from_bits(static_cast<uint32_t>(e + 127) << 23);
}

__attribute__((target("avx2,fma"))) inline __m256 exp_poly8(__m256 x) {
  using namespace exp_detail;
  x = _mm256_max_ps(x, _mm256_set1_ps(kExpMin));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Hi), x);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kC6);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC5));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC1));
  const __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// exp_poly8 in zmm: the same operations lane by lane, so the same bits.
__attribute__((target("avx512f,avx512dq"))) inline __m512 exp_poly16(__m512 x) {
  using namespace exp_detail;
  x = _mm512_max_ps(x, _mm512_set1_ps(kExpMin));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Hi), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kC6);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC5));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC1));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, r);
  p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

}  // namespace lookahead::simd
