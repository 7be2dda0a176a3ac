#include "ops/matmul.h"

#include <cmath>
#include <cstring>
#include <immintrin.h>
#include <vector>

#include "ops/cpu_features.h"
#include "ops/hsum.h"
#include "ops/quant.h"
#include "util/error.h"
#include "util/fp16.h"
#include "util/thread_pool.h"

// GCC 12's AVX-512 headers (extract/cvt with _mm*_undefined_*()) trip these
// warnings when inlined; the undefined lanes are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lookahead {
namespace {

// ---- common -------------------------------------------------------------------

using simd::hsum16;
using simd::hsum16_scalar;
using simd::hsum8;
using simd::hsum8_scalar;

template <int L>
inline float hsum_scalar(const float* l) {
  if constexpr (L == 8) return hsum8_scalar(l);
  else return hsum16_scalar(l);
}


inline float ld_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_fp32(h);
}

// Calls f.template operator()<R, T>(t0) over the tokens [0, n) in tiles of
// TMAX, then one tile of the remainder.
template <int R, int T, typename F>
inline void tail_tile(int rem, int t0, F& f) {
  if constexpr (T >= 1) {
    if (rem == T) f.template operator()<R, T>(t0);
    else tail_tile<R, T - 1>(rem, t0, f);
  }
}
template <int R, int TMAX, typename F>
inline void token_tiles(int n, F& f) {
  int t = 0;
  for (; t + TMAX <= n; t += TMAX) f.template operator()<R, TMAX>(t);
  if (t < n) tail_tile<R, TMAX - 1>(n - t, t, f);
}

// Rows [r0, r1) in groups of R, the leftover rows one by one (a row's result
// does not depend on its group).
template <int R, int TMAX, typename F>
inline void row_tiles(int64_t r0, int64_t r1, int n_tokens, F&& f) {
  int64_t r = r0;
  for (; r + R <= r1; r += R) {
    auto g = [&]<int RR, int T>(int t0) { f.template operator()<RR, T>(r, t0); };
    token_tiles<R, TMAX>(n_tokens, g);
  }
  for (; r < r1; ++r) {
    auto g = [&]<int RR, int T>(int t0) { f.template operator()<RR, T>(r, t0); };
    token_tiles<1, TMAX>(n_tokens, g);
  }
}

struct Job {
  const WeightView* w;
  const float* x;        // float activations (float types)
  int64_t ldx;
  const uint8_t* act;    // quantized activations (integer types)
  size_t act_stride;
  int n_tokens;
  float* y;
  int64_t ldy;
};

// ---- float types (F32, F16, BF16) -------------------------------------------------
// Per (row, token): lane j accumulates w[i+j]*x[i+j] with FMA for i = 0, 8,
// ...; then hsum8; then a scalar tail (cols % 8) with separate mul and add.

template <TensorType TY>
inline float ld_scalar(const uint8_t* row, int64_t i) {
  if constexpr (TY == TensorType::F32) {
    float v;
    std::memcpy(&v, row + 4 * i, 4);
    return v;
  } else {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, 2);
    if constexpr (TY == TensorType::F16) return fp16_to_fp32(h);
    else return bf16_to_fp32(h);
  }
}

template <TensorType TY, int L>
float float_dot_scalar(const uint8_t* row, const float* x, int64_t n) {
  float lane[L] = {};
  const int64_t nl = n & ~int64_t{L - 1};
  for (int64_t i = 0; i < nl; i += L)
    for (int j = 0; j < L; ++j) lane[j] = std::fmaf(ld_scalar<TY>(row, i + j), x[i + j], lane[j]);
  float s = hsum_scalar<L>(lane);
  for (int64_t i = nl; i < n; ++i) {
    const float p = ld_scalar<TY>(row, i) * x[i];
    s = s + p;
  }
  return s;
}

template <TensorType TY>
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const uint8_t* row, int64_t i) {
  if constexpr (TY == TensorType::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i));
    if constexpr (TY == TensorType::F16) return _mm256_cvtph_ps(h);
    else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}

template <TensorType TY, int R, int T>
__attribute__((target("avx2,fma,f16c"))) void float_tile(const uint8_t* w, size_t wstride, const float* x,
                                                         int64_t ldx, int64_t n, float* y, int64_t ldy) {
  __m256 acc[R][T];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const int64_t n8 = n & ~int64_t{7};
  for (int64_t i = 0; i < n8; i += 8) {
    __m256 wv[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) wv[r] = load8<TY>(w + r * wstride, i);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m256 xv = _mm256_loadu_ps(x + t * ldx + i);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      float s = hsum8(acc[r][t]);
      for (int64_t i = n8; i < n; ++i) {
        const float p = ld_scalar<TY>(w + r * wstride, i) * x[t * ldx + i];
        s = s + p;
      }
      y[t * ldy + r] = s;
    }
}

template <TensorType TY>
void float_rows_avx2(const Job& j, int64_t r0, int64_t r1) {
  const WeightView& w = *j.w;
  row_tiles<4, 3>(r0, r1, j.n_tokens, [&]<int R, int T>(int64_t r, int t0) {
    float_tile<TY, R, T>(w.data + r * w.row_bytes, w.row_bytes, j.x + t0 * j.ldx, j.ldx, w.cols, j.y + t0 * j.ldy + r,
                         j.ldy);
  });
}

template <TensorType TY, int L>
void float_rows_scalar(const Job& j, int64_t r0, int64_t r1) {
  const WeightView& w = *j.w;
  for (int64_t r = r0; r < r1; ++r)
    for (int t = 0; t < j.n_tokens; ++t)
      j.y[t * j.ldy + r] = float_dot_scalar<TY, L>(w.data + r * w.row_bytes, j.x + t * j.ldx, w.cols);
}

// ---- Q8_0 / Q4_0 ----------------------------------------------------------------
// Per row and token, blocks in groups of 8 (g): for each block b of the group,
// lane k (0..7) = fma(float(sum of u*x over elements 4k..4k+3), d_w*d_x,
// lane k), where u is the signed weight (Q8_0) or the unsigned nibble 0..15
// (Q4_0). Q4_0 then adds the -8 offset once per group: lane l =
// fma(d_w[8g+l], c[8g+l], lane l) with the activation term c (ops/quant.h),
// 0*0 for lanes past the last block. AVX2 gets the int sums from
// maddubs + madd(., 1): Q4_0 as maddubs(nibbles, x); Q8_0 as
// maddubs(|w|, sign(x, w)) (|w| <= 128, |x| <= 127: no int16 saturation).

template <TensorType TY>
inline void unpack32_scalar(const uint8_t* row, int64_t b, int* u, float& d) {
  if constexpr (TY == TensorType::Q8_0) {
    const auto* blk = reinterpret_cast<const BlockQ8_0*>(row) + b;
    d = fp16_to_fp32(blk->d);
    for (int i = 0; i < 32; ++i) u[i] = blk->qs[i];
  } else {
    const auto* blk = reinterpret_cast<const BlockQ4_0*>(row) + b;
    d = fp16_to_fp32(blk->d);
    for (int i = 0; i < 16; ++i) {
      u[i] = blk->qs[i] & 15;
      u[i + 16] = blk->qs[i] >> 4;
    }
  }
}

template <TensorType TY>
float q32_dot_scalar(const uint8_t* row, const uint8_t* act, int64_t n) {
  const int8_t* xq = act_qs(act);
  const float* xd = act_d(act, n);
  const float* xc = act_c(act, n);
  const int64_t nb = n / kQK;
  float lane[8] = {};
  for (int64_t g = 0; g < nb; g += 8) {
    const int64_t gend = g + 8 < nb ? g + 8 : nb;
    float dws[8] = {};
    for (int64_t b = g; b < gend; ++b) {
      int u[32];
      unpack32_scalar<TY>(row, b, u, dws[b - g]);
      const float s = dws[b - g] * xd[b];
      const int8_t* x = xq + b * kQK;
      for (int k = 0; k < 8; ++k) {
        int sum = 0;
        for (int i = 0; i < 4; ++i) sum += u[4 * k + i] * x[4 * k + i];
        lane[k] = std::fmaf(static_cast<float>(sum), s, lane[k]);
      }
    }
    if constexpr (TY == TensorType::Q4_0)
      for (int l = 0; l < 8; ++l) lane[l] = std::fmaf(dws[l], g + l < nb ? xc[g + l] : 0.0f, lane[l]);
  }
  return hsum8_scalar(lane);
}

// The Lanes16 contract: blocks in groups of 8 as above, each group in pairs
// (b, b+1): lanes 0..7 take block b exactly as the 8-lane contract does,
// lanes 8..15 block b+1; a pair missing its second block (odd group length)
// gives lanes 8..15 fma(0, 0, lane). The Q4_0 offset term goes to lanes
// 0..7 only. Then the 16-lane horizontal sum (hsum16_scalar).
template <TensorType TY>
float q32_dot_scalar16(const uint8_t* row, const uint8_t* act, int64_t n) {
  const int8_t* xq = act_qs(act);
  const float* xd = act_d(act, n);
  const float* xc = act_c(act, n);
  const int64_t nb = n / kQK;
  float lane[16] = {};
  for (int64_t g = 0; g < nb; g += 8) {
    const int64_t gend = g + 8 < nb ? g + 8 : nb;
    float dws[8] = {};
    for (int64_t b0 = g; b0 < gend; b0 += 2) {
      for (int h = 0; h < 2; ++h) {
        const int64_t b = b0 + h;
        float* ln = lane + 8 * h;
        if (b >= gend) {
          for (int k = 0; k < 8; ++k) ln[k] = std::fmaf(0.0f, 0.0f, ln[k]);
          continue;
        }
        int u[32];
        unpack32_scalar<TY>(row, b, u, dws[b - g]);
        const float s = dws[b - g] * xd[b];
        const int8_t* x = xq + b * kQK;
        for (int k = 0; k < 8; ++k) {
          int sum = 0;
          for (int i = 0; i < 4; ++i) sum += u[4 * k + i] * x[4 * k + i];
          ln[k] = std::fmaf(static_cast<float>(sum), s, ln[k]);
        }
      }
    }
    if constexpr (TY == TensorType::Q4_0)
      for (int l = 0; l < 8; ++l) lane[l] = std::fmaf(dws[l], g + l < nb ? xc[g + l] : 0.0f, lane[l]);
  }
  return hsum16_scalar(lane);
}

template <TensorType TY>
__attribute__((target("avx2,fma,f16c"))) inline __m256i unpack32(const uint8_t* row, int64_t b) {
  if constexpr (TY == TensorType::Q8_0) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + b * sizeof(BlockQ8_0) + 2));
  } else {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + b * sizeof(BlockQ4_0) + 2));
    const __m128i m = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
  }
}

// Scales of blocks g..g+7 (0 past nb) as 8 floats.
template <TensorType TY>
__attribute__((target("avx2,fma,f16c"))) inline __m256 group_scales(const uint8_t* row, int64_t g, int64_t nb) {
  constexpr size_t bsz = TY == TensorType::Q8_0 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0);
  alignas(16) uint16_t h[8] = {};
  const int64_t cnt = nb - g < 8 ? nb - g : 8;
  for (int64_t i = 0; i < cnt; ++i) std::memcpy(&h[i], row + (g + i) * bsz, 2);
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
}

template <TensorType TY, int R, int T>
__attribute__((target("avx2,fma,f16c"))) void q32_tile(const uint8_t* w, size_t wstride, const uint8_t* act,
                                                       size_t astride, int64_t n, float* y, int64_t ldy) {
  __m256 acc[R][T];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const float* xd[T];
  const float* xc[T];
  for (int t = 0; t < T; ++t) xd[t] = act_d(act + t * astride, n), xc[t] = act_c(act + t * astride, n);
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t nb = n / kQK;
  alignas(32) float dd[R][T][8];
  for (int64_t g = 0; g < nb; g += 8) {
    const int64_t gend = g + 8 < nb ? g + 8 : nb;
    __m256 dw[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) dw[r] = group_scales<TY>(w + r * wstride, g, nb);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m256 dx = _mm256_loadu_ps(xd[t] + g);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) _mm256_store_ps(dd[r][t], _mm256_mul_ps(dw[r], dx));
    }
    for (int64_t b = g; b < gend; ++b) {
      __m256i wv[R], aw[R];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        wv[r] = unpack32<TY>(w + r * wstride, b);
        if constexpr (TY == TensorType::Q8_0) aw[r] = _mm256_sign_epi8(wv[r], wv[r]);
      }
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m256i xv = _mm256_load_si256(reinterpret_cast<const __m256i*>(act + t * astride + b * kQK));
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          __m256i p;
          if constexpr (TY == TensorType::Q8_0) p = _mm256_maddubs_epi16(aw[r], _mm256_sign_epi8(xv, wv[r]));
          else p = _mm256_maddubs_epi16(wv[r], xv);
          const __m256 f = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
          acc[r][t] = _mm256_fmadd_ps(f, _mm256_broadcast_ss(&dd[r][t][b - g]), acc[r][t]);
        }
      }
    }
    if constexpr (TY == TensorType::Q4_0) {
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m256 c = _mm256_loadu_ps(xc[t] + g);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(dw[r], c, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[t * ldy + r] = hsum8(acc[r][t]);
}

// ---- AVX-512 (Lanes16 family) --------------------------------------------------
// Same structure as the AVX2 kernels with 16-lane accumulators and 32 vector
// registers (bigger tiles). Float types: lane j accumulates w[i+j]*x[i+j]
// for i = 0, 16, ...; then hsum16; then the scalar tail (cols % 16).
// Q8_0/Q4_0: see q32_dot_scalar16; the int sums come from vpdpbusd
// (unsigned x signed bytes, exact int32): Q4_0 as dpbusd(nibbles, x); Q8_0
// as dpbusd(w + 128, x) - 128 * (sums of 4 x), started from the negated
// correction so one dpbusd per (row, token, block pair) remains.

#define LK_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c")))


template <TensorType TY>
LK_AVX512 inline __m512 load16(const uint8_t* row, int64_t i) {
  if constexpr (TY == TensorType::F32) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i);
  } else {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i));
    if constexpr (TY == TensorType::F16) return _mm512_cvtph_ps(h);
    else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

template <TensorType TY, int R, int T>
LK_AVX512 void float_tile16(const uint8_t* w, size_t wstride, const float* x, int64_t ldx, int64_t n, float* y,
                            int64_t ldy) {
  __m512 acc[R][T];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const int64_t n16 = n & ~int64_t{15};
  for (int64_t i = 0; i < n16; i += 16) {
    __m512 wv[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) wv[r] = load16<TY>(w + r * wstride, i);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512 xv = _mm512_loadu_ps(x + t * ldx + i);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      float s = hsum16(acc[r][t]);
      for (int64_t i = n16; i < n; ++i) {
        const float p = ld_scalar<TY>(w + r * wstride, i) * x[t * ldx + i];
        s = s + p;
      }
      y[t * ldy + r] = s;
    }
}

// Weight bytes of blocks b and b+1 (b+1 only if `two`; else zeros) as 64
// unsigned bytes in element order: Q4_0 the nibbles, Q8_0 w + 128.
template <TensorType TY>
LK_AVX512 inline __m512i unpack64(const uint8_t* row, int64_t b, bool two) {
  if constexpr (TY == TensorType::Q8_0) {
    const uint8_t* p = row + b * sizeof(BlockQ8_0) + 2;
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = two ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + sizeof(BlockQ8_0)))
                           : _mm256_set1_epi8(static_cast<char>(0x80));
    return _mm512_xor_si512(_mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1),
                            _mm512_set1_epi8(static_cast<char>(0x80)));
  } else {
    const uint8_t* p = row + b * sizeof(BlockQ4_0) + 2;
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hi = two ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + sizeof(BlockQ4_0))) : _mm_setzero_si128();
    const __m512i y = _mm512_zextsi256_si512(_mm256_set_m128i(hi, lo));
    // 128-bit lanes: lo, lo, hi, hi; then shift lanes 1 and 3 right by 4.
    const __m512i z = _mm512_shuffle_i64x2(y, y, 0x50);
    const __m512i sh = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
    return _mm512_and_si512(_mm512_srlv_epi64(z, sh), _mm512_set1_epi8(15));
  }
}

// Scales of blocks g..g+7 (0 past nb) as 8 floats.
template <TensorType TY>
LK_AVX512 inline __m256 group_scales16(const uint8_t* row, int64_t g, int64_t nb) {
  constexpr size_t bsz = TY == TensorType::Q8_0 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0);
  if (nb - g >= 8) {
    constexpr int bs = static_cast<int>(bsz);
    const __m256i off = _mm256_setr_epi32(0, bs, 2 * bs, 3 * bs, 4 * bs, 5 * bs, 6 * bs, 7 * bs);
    const __m256i v = _mm256_i32gather_epi32(reinterpret_cast<const int*>(row + g * bsz), off, 1);
    return _mm256_cvtph_ps(_mm256_cvtepi32_epi16(v));
  }
  alignas(16) uint16_t h[8] = {};
  for (int64_t i = 0; i < nb - g; ++i) std::memcpy(&h[i], row + (g + i) * bsz, 2);
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
}

// Rows of a tile as pre-unpacked bytes (unpack_rows16): 32 bytes per block
// exactly as unpack64 returns them (zero-padded to whole pairs), and the
// block scales as floats (zero-padded to whole groups of 8).
struct Unpacked {
  const uint8_t* u;  // Q4_0: nibbles; Q8_0: the signed weights
  const int32_t* base;  // Q8_0 only: -128 * sums of 4 weights, 16 per block pair
  size_t ustride;  // bytes per row (u and base)
  const float* d;
  size_t dstride;  // floats per row
};

// PRE: weights come from `pre` (rows r.. of an unpacked row group) instead of
// being decoded here; the arithmetic is identical.
template <TensorType TY, int R, int T, bool PRE = false>
LK_AVX512 void q32_tile16(const uint8_t* w, size_t wstride, const uint8_t* act, size_t astride, int64_t n, float* y,
                          int64_t ldy, Unpacked pre = {}) {
  __m512 acc[R][T];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const float* xd[T];
  const float* xc[T];
  for (int t = 0; t < T; ++t) xd[t] = act_d(act + t * astride, n), xc[t] = act_c(act + t * astride, n);
  const int64_t nb = n / kQK;
  const __m512i c80 = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i pair_idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  alignas(64) float dw[R][16] = {};
  for (int64_t g = 0; g < nb; g += 8) {
    const int64_t gend = g + 8 < nb ? g + 8 : nb;
    // Kept in memory (vpermps reads it there): registers go to the tile.
    if constexpr (!PRE) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) _mm256_store_ps(dw[r], group_scales16<TY>(w + r * wstride, g, nb));
    }
    for (int64_t b = g; b < gend; b += 2) {
      const bool two = b + 1 < gend;
      const __m512i idx = _mm512_add_epi32(pair_idx, _mm512_set1_epi32(static_cast<int>(b - g)));
      __m512i u[R];
      __m512 dwe[R];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        if constexpr (PRE) {
          u[r] = _mm512_load_si512(pre.u + r * pre.ustride + b * kQK);
          dwe[r] = _mm512_permutexvar_ps(idx, _mm512_zextps256_ps512(_mm256_load_ps(pre.d + r * pre.dstride + g)));
        } else {
          u[r] = unpack64<TY>(w + r * wstride, b, two);
          dwe[r] = _mm512_permutexvar_ps(idx, _mm512_load_ps(dw[r]));
        }
      }
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const int8_t* xp = act_qs(act + t * astride) + b * kQK;
        const __m512i xv = two ? _mm512_loadu_si512(xp)
                               : _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp)));
        const __m512 dxe = _mm512_permutexvar_ps(idx, _mm512_zextps256_ps512(_mm256_loadu_ps(xd[t] + g)));
        __m512i base = _mm512_setzero_si512();
        if constexpr (TY == TensorType::Q8_0 && !PRE)
          base = _mm512_sub_epi32(base, _mm512_dpbusd_epi32(_mm512_setzero_si512(), c80, xv));
        const __m512i xu = TY == TensorType::Q8_0 && PRE ? _mm512_xor_si512(xv, c80) : xv;
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          __m512i is;
          if constexpr (TY == TensorType::Q8_0 && PRE)
            is = _mm512_dpbusd_epi32(_mm512_load_si512(pre.base + r * pre.ustride / 4 + b * 8), xu, u[r]);
          else
            is = _mm512_dpbusd_epi32(base, u[r], xv);
          const __m512 f = _mm512_cvtepi32_ps(is);
          acc[r][t] = _mm512_fmadd_ps(f, _mm512_mul_ps(dwe[r], dxe), acc[r][t]);
        }
      }
    }
    if constexpr (TY == TensorType::Q4_0) {
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512 c = _mm512_zextps256_ps512(_mm256_loadu_ps(xc[t] + g));
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          const __m512 d = PRE ? _mm512_zextps256_ps512(_mm256_load_ps(pre.d + r * pre.dstride + g)) : _mm512_load_ps(dw[r]);
          acc[r][t] = _mm512_mask3_fmadd_ps(d, c, acc[r][t], 0x00FF);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[t * ldy + r] = hsum16(acc[r][t]);
}

// ---- Q4_K ---------------------------------------------------------------------
// Per super-block and token: int lane k (0..7) = sum over the 8 sub-blocks j
// of sc_j * (sum of q*x over elements 4k..4k+3 of sub-block j); min lane k =
// m_k * (bsum[2k] + bsum[2k+1]). Then lane k = fma(float(int lane), d*dx,
// lane k) and lane k = fma(float(min lane), -(dmin*dx), lane k).

float q4k_dot_scalar(const uint8_t* row, const uint8_t* act, int64_t n) {
  const int8_t* xq = act_qs(act);
  const float* xd = act_d(act, n);
  const int16_t* bs = act_bsums(act, n);
  float lane[8] = {};
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ4_K*>(row) + b;
    const int8_t* x = xq + b * kQKK;
    int il[8] = {}, ml[8];
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      q4k_scale_min(blk->scales, j, sc, m);
      const int c = j / 2, hi = j % 2;
      for (int k = 0; k < 8; ++k) {
        int sum = 0;
        for (int i = 0; i < 4; ++i) {
          const uint8_t byte = blk->qs[32 * c + 4 * k + i];
          const int q = hi ? byte >> 4 : byte & 15;
          sum += q * x[32 * j + 4 * k + i];
        }
        il[k] += sc * sum;
      }
      ml[j] = m * (bs[b * 16 + 2 * j] + bs[b * 16 + 2 * j + 1]);
    }
    const float dd = fp16_to_fp32(blk->d) * xd[b];
    const float dm = -(fp16_to_fp32(blk->dmin) * xd[b]);
    for (int k = 0; k < 8; ++k) {
      lane[k] = std::fmaf(static_cast<float>(il[k]), dd, lane[k]);
      lane[k] = std::fmaf(static_cast<float>(ml[k]), dm, lane[k]);
    }
  }
  return hsum8_scalar(lane);
}

template <int T>
__attribute__((target("avx2,fma,f16c"))) void q4k_tile(const uint8_t* w, const uint8_t* act, size_t astride,
                                                       int64_t n, float* y, int64_t ldy) {
  __m256 acc[T];
  const float* xd[T];
  const int16_t* xbs[T];
  for (int t = 0; t < T; ++t) {
    acc[t] = _mm256_setzero_ps();
    xd[t] = act_d(act + t * astride, n);
    xbs[t] = act_bsums(act + t * astride, n);
  }
  const __m256i m4 = _mm256_set1_epi8(15);
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ4_K*>(w) + b;
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) q4k_scale_min(blk->scales, j, sc[j], mn[j]);
    __m256i il[T];
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) il[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qs + 32 * c));
      const __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      const __m256i s0 = _mm256_set1_epi16(static_cast<int16_t>(sc[2 * c]));
      const __m256i s1 = _mm256_set1_epi16(static_cast<int16_t>(sc[2 * c + 1]));
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const int8_t* x = act_qs(act + t * astride) + b * kQKK + 64 * c;
        const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
        const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32));
        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, x0), s0);
        const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, x1), s1);
        il[t] = _mm256_add_epi32(il[t], _mm256_add_epi32(p0, p1));
      }
    }
    const __m256i m16 = _mm256_setr_epi16(mn[0], mn[0], mn[1], mn[1], mn[2], mn[2], mn[3], mn[3], mn[4], mn[4], mn[5],
                                          mn[5], mn[6], mn[6], mn[7], mn[7]);
    const float d = _cvtsh_ss(blk->d), dmin = _cvtsh_ss(blk->dmin);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m256i bsv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xbs[t] + b * 16));
      const __m256i ml = _mm256_madd_epi16(bsv, m16);
      const float dx = xd[t][b];
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(il[t]), _mm256_set1_ps(d * dx), acc[t]);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ml), _mm256_set1_ps(-(dmin * dx)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) y[t * ldy] = hsum8(acc[t]);
}

// ---- Q6_K ---------------------------------------------------------------------
// With u = q + 32 in [0, 63]: int lane k = sum over the eight 32-element
// chunks of sc(chunk, k) * (sum of u*x over elements 4k..4k+3 of the chunk),
// where sc(chunk, k) is the scale of the 16-element sub-block holding them,
// minus 32 * (sc[2k]*bsum[2k] + sc[2k+1]*bsum[2k+1]). Then lane k =
// fma(float(int lane), d*dx, lane k).

inline int q6k_u(const BlockQ6_K* blk, int e) {
  const int h = e / 128, r = e % 128, part = r / 32, l = r % 32;
  const uint8_t ql = blk->ql[64 * h + l + (part & 1) * 32];
  const int low = (part < 2) ? (ql & 15) : (ql >> 4);
  const int high = (blk->qh[32 * h + l] >> (2 * part)) & 3;
  return low | (high << 4);
}

float q6k_dot_scalar(const uint8_t* row, const uint8_t* act, int64_t n) {
  const int8_t* xq = act_qs(act);
  const float* xd = act_d(act, n);
  const int16_t* bs = act_bsums(act, n);
  float lane[8] = {};
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ6_K*>(row) + b;
    const int8_t* x = xq + b * kQKK;
    int il[8] = {};
    for (int chunk = 0; chunk < 8; ++chunk)
      for (int k = 0; k < 8; ++k) {
        int sum = 0;
        for (int i = 0; i < 4; ++i) {
          const int e = 32 * chunk + 4 * k + i;
          sum += q6k_u(blk, e) * x[e];
        }
        il[k] += blk->scales[2 * chunk + k / 4] * sum;
      }
    for (int k = 0; k < 8; ++k)
      il[k] -= 32 * (blk->scales[2 * k] * bs[b * 16 + 2 * k] + blk->scales[2 * k + 1] * bs[b * 16 + 2 * k + 1]);
    const float dd = fp16_to_fp32(blk->d) * xd[b];
    for (int k = 0; k < 8; ++k) lane[k] = std::fmaf(static_cast<float>(il[k]), dd, lane[k]);
  }
  return hsum8_scalar(lane);
}

template <int T>
__attribute__((target("avx2,fma,f16c"))) void q6k_tile(const uint8_t* w, const uint8_t* act, size_t astride,
                                                       int64_t n, float* y, int64_t ldy) {
  __m256 acc[T];
  const float* xd[T];
  const int16_t* xbs[T];
  for (int t = 0; t < T; ++t) {
    acc[t] = _mm256_setzero_ps();
    xd[t] = act_d(act + t * astride, n);
    xbs[t] = act_bsums(act + t * astride, n);
  }
  const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ6_K*>(w) + b;
    __m256i il[T];
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) il[t] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->ql + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qh + 32 * h));
      __m256i u[4], s[4];
      u[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
      u[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
      u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
      u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
      for (int p = 0; p < 4; ++p) {
        const int8_t* sc = blk->scales + 8 * h + 2 * p;
        s[p] = _mm256_set_m128i(_mm_set1_epi16(sc[1]), _mm_set1_epi16(sc[0]));
      }
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const int8_t* x = act_qs(act + t * astride) + b * kQKK + 128 * h;
        __m256i sum = il[t];
#pragma GCC unroll 4
        for (int p = 0; p < 4; ++p) {
          const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * p));
          sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(u[p], xv), s[p]));
        }
        il[t] = sum;
      }
    }
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->scales)));
    const float d = _cvtsh_ss(blk->d);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m256i bsv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xbs[t] + b * 16));
      const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(bsv, sc16), 5);
      const __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(il[t], corr));
      acc[t] = _mm256_fmadd_ps(f, _mm256_set1_ps(d * xd[t][b]), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) y[t * ldy] = hsum8(acc[t]);
}

// ---- per-type row drivers ---------------------------------------------------------

template <TensorType TY>
void q32_rows_avx2(const Job& j, int64_t r0, int64_t r1) {
  const WeightView& w = *j.w;
  row_tiles<2, 4>(r0, r1, j.n_tokens, [&]<int R, int T>(int64_t r, int t0) {
    q32_tile<TY, R, T>(w.data + r * w.row_bytes, w.row_bytes, j.act + t0 * j.act_stride, j.act_stride, w.cols,
                       j.y + t0 * j.ldy + r, j.ldy);
  });
}

// Decodes rows [r, r+R) once into the thread's scratch (unpack64 bytes and
// float scales) so several token tiles share the work.
template <TensorType TY>
LK_AVX512 void unpack_rows16(const WeightView& w, int64_t r, int R, uint8_t* u, int32_t* base, size_t ustride,
                             float* d, size_t dstride) {
  const int64_t nb = w.cols / kQK;
  for (int i = 0; i < R; ++i) {
    const uint8_t* row = w.data + (r + i) * w.row_bytes;
    uint8_t* ur = u + i * ustride;
    int32_t* br = base + i * ustride / 4;
    for (int64_t b = 0; b < nb; b += 2) {
      __m512i v = unpack64<TY>(row, b, b + 1 < nb);
      if constexpr (TY == TensorType::Q8_0) {
        // Signed weights, and -128 * (sums of 4 weights): with x + 128 as
        // the unsigned operand, base + dpbusd(x + 128, w) = sum of w*x.
        v = _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80)));
        const __m512i s4 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(static_cast<char>(0x80)), v);
        _mm512_store_si512(br + b * 8, _mm512_sub_epi32(_mm512_setzero_si512(), s4));
      }
      _mm512_store_si512(ur + b * kQK, v);
    }
    float* dr = d + i * dstride;
    for (int64_t g = 0; g < nb; g += 8) _mm256_store_ps(dr + g, group_scales16<TY>(row, g, nb));
  }
}

thread_local std::vector<uint8_t> t_unpacked;

template <TensorType TY>
void q32_rows_avx512(const Job& j, int64_t r0, int64_t r1) {
  const WeightView& w = *j.w;
  constexpr int R = 4, TMAX = 4;
  if (j.n_tokens <= TMAX) {
    // One token tile per row group: decode the weights in the tile itself.
    row_tiles<R, TMAX>(r0, r1, j.n_tokens, [&]<int RR, int T>(int64_t r, int t0) {
      q32_tile16<TY, RR, T>(w.data + r * w.row_bytes, w.row_bytes, j.act + t0 * j.act_stride, j.act_stride, w.cols,
                            j.y + t0 * j.ldy + r, j.ldy);
    });
    return;
  }
  const int64_t nb = w.cols / kQK;
  const size_t ustride = static_cast<size_t>((nb + 1) / 2) * 64;
  const size_t dstride = static_cast<size_t>((nb + 7) / 8) * 8;
  const size_t need = 2 * R * ustride + R * dstride * 4 + 64;
  if (t_unpacked.size() < need) t_unpacked.resize(need);
  uint8_t* ubase = t_unpacked.data() + ((64 - reinterpret_cast<uintptr_t>(t_unpacked.data()) % 64) % 64);
  int32_t* bbase = reinterpret_cast<int32_t*>(ubase + R * ustride);
  float* dbase = reinterpret_cast<float*>(ubase + 2 * R * ustride);
  int64_t r = r0;
  for (; r + R <= r1; r += R) {
    unpack_rows16<TY>(w, r, R, ubase, bbase, ustride, dbase, dstride);
    const Unpacked pre{ubase, bbase, ustride, dbase, dstride};
    auto g = [&]<int RR, int T>(int t0) {
      q32_tile16<TY, RR, T, true>(nullptr, 0, j.act + t0 * j.act_stride, j.act_stride, w.cols, j.y + t0 * j.ldy + r,
                                  j.ldy, pre);
    };
    token_tiles<R, TMAX>(j.n_tokens, g);
  }
  for (; r < r1; ++r) {
    auto g = [&]<int RR, int T>(int t0) {
      q32_tile16<TY, RR, T>(w.data + r * w.row_bytes, w.row_bytes, j.act + t0 * j.act_stride, j.act_stride, w.cols,
                            j.y + t0 * j.ldy + r, j.ldy);
    };
    token_tiles<1, TMAX>(j.n_tokens, g);
  }
}

template <TensorType TY>
void float_rows_avx512(const Job& j, int64_t r0, int64_t r1) {
  const WeightView& w = *j.w;
  row_tiles<4, 6>(r0, r1, j.n_tokens, [&]<int R, int T>(int64_t r, int t0) {
    float_tile16<TY, R, T>(w.data + r * w.row_bytes, w.row_bytes, j.x + t0 * j.ldx, j.ldx, w.cols,
                           j.y + t0 * j.ldy + r, j.ldy);
  });
}

template <typename Dot>
void quant_rows_scalar(const Job& j, int64_t r0, int64_t r1, Dot dot) {
  const WeightView& w = *j.w;
  for (int64_t r = r0; r < r1; ++r)
    for (int t = 0; t < j.n_tokens; ++t)
      j.y[t * j.ldy + r] = dot(w.data + r * w.row_bytes, j.act + t * j.act_stride, w.cols);
}

void k_rows_avx2(const Job& j, int64_t r0, int64_t r1) {
  const WeightView& w = *j.w;
  row_tiles<1, 4>(r0, r1, j.n_tokens, [&]<int R, int T>(int64_t r, int t0) {
    if (w.type == TensorType::Q4_K)
      q4k_tile<T>(w.data + r * w.row_bytes, j.act + t0 * j.act_stride, j.act_stride, w.cols, j.y + t0 * j.ldy + r, j.ldy);
    else
      q6k_tile<T>(w.data + r * w.row_bytes, j.act + t0 * j.act_stride, j.act_stride, w.cols, j.y + t0 * j.ldy + r, j.ldy);
  });
}

// Which implementation runs: the family's SIMD kernels or its scalar twins.
enum class Impl { Scalar8, Avx2, Scalar16, Avx512 };

Impl current_impl(bool simd_allowed) {
  if (kernel_family() == KernelFamily::Lanes16) return simd_allowed && use_avx512() ? Impl::Avx512 : Impl::Scalar16;
  return simd_allowed && use_avx2() ? Impl::Avx2 : Impl::Scalar8;
}

template <TensorType TY>
void float_rows(const Job& j, Impl impl, int64_t r0, int64_t r1) {
  switch (impl) {
    case Impl::Avx512: float_rows_avx512<TY>(j, r0, r1); break;
    case Impl::Scalar16: float_rows_scalar<TY, 16>(j, r0, r1); break;
    case Impl::Avx2: float_rows_avx2<TY>(j, r0, r1); break;
    case Impl::Scalar8: float_rows_scalar<TY, 8>(j, r0, r1); break;
  }
}

template <TensorType TY>
void q32_rows(const Job& j, Impl impl, int64_t r0, int64_t r1) {
  switch (impl) {
    case Impl::Avx512: q32_rows_avx512<TY>(j, r0, r1); break;
    case Impl::Scalar16: quant_rows_scalar(j, r0, r1, q32_dot_scalar16<TY>); break;
    case Impl::Avx2: q32_rows_avx2<TY>(j, r0, r1); break;
    case Impl::Scalar8: quant_rows_scalar(j, r0, r1, q32_dot_scalar<TY>); break;
  }
}

void run_rows(const Job& j, Impl impl, int64_t r0, int64_t r1) {
  // K-quants: one kernel (AVX2 when present) in both families.
  const bool k_simd = (impl == Impl::Avx2 || impl == Impl::Avx512) && cpu_has_avx2();
  switch (j.w->type) {
    case TensorType::F32: float_rows<TensorType::F32>(j, impl, r0, r1); break;
    case TensorType::F16: float_rows<TensorType::F16>(j, impl, r0, r1); break;
    case TensorType::BF16: float_rows<TensorType::BF16>(j, impl, r0, r1); break;
    case TensorType::Q8_0: q32_rows<TensorType::Q8_0>(j, impl, r0, r1); break;
    case TensorType::Q4_0: q32_rows<TensorType::Q4_0>(j, impl, r0, r1); break;
    case TensorType::Q4_K:
      if (k_simd) k_rows_avx2(j, r0, r1);
      else quant_rows_scalar(j, r0, r1, q4k_dot_scalar);
      break;
    case TensorType::Q6_K:
      if (k_simd) k_rows_avx2(j, r0, r1);
      else quant_rows_scalar(j, r0, r1, q6k_dot_scalar);
      break;
    default: fail("matmul: unsupported tensor type {}", tensor_type_name(j.w->type));
  }
}

// Quantized activations of the current matmul; grows, never shrinks, so the
// steady state allocates nothing.
thread_local std::vector<uint8_t> t_act;

void matmul_impl(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy,
                 ThreadPool* pool, bool simd_allowed) {
  const Impl impl = current_impl(simd_allowed);
  const bool simd = impl == Impl::Avx2 || impl == Impl::Avx512;
  if (!matmul_supports(w.type)) fail("matmul: unsupported tensor type {}", tensor_type_name(w.type));
  if (n_tokens <= 0) return;
  Job j{&w, x, ldx, nullptr, 0, n_tokens, y, ldy};
  const ActFormat f = act_format(w.type);
  if (f != ActFormat::Float) {
    j.act_stride = act_row_bytes(f, w.cols);
    const size_t need = j.act_stride * n_tokens + 64;
    if (t_act.size() < need) t_act.resize(need);
    // 32-byte aligned base: every token row then starts aligned.
    uint8_t* base = t_act.data() + ((32 - reinterpret_cast<uintptr_t>(t_act.data()) % 32) % 32);
    for (int t = 0; t < n_tokens; ++t) {
      if (simd) quantize_act_row(f, x + t * ldx, w.cols, base + t * j.act_stride);
      else quantize_act_row_scalar(f, x + t * ldx, w.cols, base + t * j.act_stride);
    }
    j.act = base;
  }
  // Threads only pay off above a few tens of microseconds of work.
  const int64_t work = w.rows * w.cols * n_tokens;
  if (pool && pool->size() > 1 && work >= (int64_t{1} << 17))
    pool->parallel_for_balanced(w.rows, 16, [&](int64_t r0, int64_t r1, int) { run_rows(j, impl, r0, r1); });
  else
    run_rows(j, impl, 0, w.rows);
}

}  // namespace

size_t row_size(TensorType type, int64_t cols) {
  const auto info = tensor_type_info(static_cast<uint32_t>(type));
  if (!info) fail("unknown tensor type {}", static_cast<uint32_t>(type));
  return static_cast<size_t>(cols / info->block_elems) * info->block_bytes;
}

bool matmul_supports(TensorType type) { return quant_supports(type); }

void matmul(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy, ThreadPool* pool) {
  matmul_impl(w, x, ldx, n_tokens, y, ldy, pool, true);
}

void matmul_scalar(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy) {
  matmul_impl(w, x, ldx, n_tokens, y, ldy, nullptr, false);
}

void dequantize_row(const WeightView& w, int64_t r, float* out) {
  if (!matmul_supports(w.type)) fail("dequantize: unsupported tensor type {}", tensor_type_name(w.type));
  dequantize_row_raw(w.type, w.data + r * w.row_bytes, w.cols, out);
}

}  // namespace lookahead
