#include "ops/swiglu.h"

#include <immintrin.h>

#include "ops/cpu_features.h"
#include "ops/exp_poly.h"

namespace lookahead {

namespace {

inline float swiglu_one(float g, float b) {
  const float t0 = -g;
  float t = t0 < simd::kExpMin ? simd::kExpMin : t0;
  t = t > simd::kExpMax ? simd::kExpMax : t;
  float s = 1.0f / (1.0f + simd::exp_poly_scalar(t));
  s = t0 > simd::kExpMax ? 0.0f : s;
  return (g * s) * b;
}

__attribute__((target("avx2,fma"))) void swiglu_avx2(float* a, const float* b, int64_t n) {
  const __m256 lo = _mm256_set1_ps(simd::kExpMin), hi = _mm256_set1_ps(simd::kExpMax), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(a + i);
    // Same clamp order as the scalar twin: max with kExpMin, then min with
    // kExpMax; past kExpMax the sigmoid is 0.
    const __m256 t0 = _mm256_sub_ps(_mm256_setzero_ps(), g);
    const __m256 t = _mm256_min_ps(_mm256_max_ps(t0, lo), hi);
    __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, simd::exp_poly8(t)));
    s = _mm256_blendv_ps(s, _mm256_setzero_ps(), _mm256_cmp_ps(t0, hi, _CMP_GT_OQ));
    _mm256_storeu_ps(a + i, _mm256_mul_ps(_mm256_mul_ps(g, s), _mm256_loadu_ps(b + i)));
  }
  for (; i < n; ++i) a[i] = swiglu_one(a[i], b[i]);
}

}  // namespace

void swiglu(float* a, const float* b, int64_t n) {
  if (use_avx2()) swiglu_avx2(a, b, n);
  else swiglu_scalar(a, b, n);
}

void swiglu_scalar(float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] = swiglu_one(a[i], b[i]);
}

}  // namespace lookahead
