#include "ops/matmul.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <immintrin.h>
#include <vector>

#include "ops/cpu_features.h"
#include "ops/hsum.h"
#include "ops/quant.h"
#include "ops/p16_transpose.h"
#include "ops/prefetch.h"
#include "ops/repack.h"
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
using simd::hsum16x16;
using simd::hsum16_scalar;
using simd::hsum8;
using simd::hsum8_scalar;

template <int L>
inline float hsum_scalar(const float* l) {
  if constexpr (L == 8) return hsum8_scalar(l);
  else return hsum16_scalar(l);
}

// f.template operator()<R, rem>(t0) with rem as a template argument.
template <int R, int T, typename F>
inline void tail_tile(int rem, int t0, F& f) {
  if constexpr (T >= 1) {
    if (rem == T) f.template operator()<R, T>(t0);
    else tail_tile<R, T - 1>(rem, t0, f);
  }
}

// The token tiles of n tokens: `full` tiles of TMAX, then `rem` tokens in
// one tile, or (EVEN_TAIL, rem > TMAX) in two near-equal ones. EVEN_TAIL: a
// tail narrower than TMAX / 2 shares the last full tile's tokens instead (8
// tokens with TMAX 6: 4 + 4, not 6 + 2), since a 1-2 token tile reuses each
// weight load too little. token_tiles runs them; drivers that treat one tile
// specially (the prefetching one) locate it here.
template <int TMAX, bool EVEN_TAIL>
struct TokenTiles {
  int full, rem;
  constexpr explicit TokenTiles(int n) : full(n / TMAX), rem(n % TMAX) {
    if (EVEN_TAIL && rem > 0 && rem < TMAX / 2 && full >= 1) {
      --full;
      rem += TMAX;
    }
  }
  constexpr int count() const { return full + (rem > TMAX ? 2 : rem > 0 ? 1 : 0); }
  // Index of the tile that starts at token t0.
  constexpr int index(int t0) const { return t0 <= full * TMAX ? t0 / TMAX : full + 1; }
  // First token of the second tile; 0 when there is only one.
  constexpr int second() const { return count() < 2 ? 0 : full > 0 ? TMAX : (rem + 1) / 2; }
};

// Calls f.template operator()<R, T>(t0) over the tokens [0, n), tile by
// tile (TokenTiles).
template <int R, int TMAX, bool EVEN_TAIL, typename F>
inline void token_tiles(int n, F& f) {
  const TokenTiles<TMAX, EVEN_TAIL> tt(n);
  int t = 0;
  for (int i = 0; i < tt.full; ++i, t += TMAX) f.template operator()<R, TMAX>(t);
  if (tt.rem > TMAX) {
    tail_tile<R, TMAX>((tt.rem + 1) / 2, t, f);
    tail_tile<R, TMAX>(tt.rem / 2, t + (tt.rem + 1) / 2, f);
  } else if (tt.rem > 0) {
    tail_tile<R, TMAX>(tt.rem, t, f);
  }
}

// Rows [r0, r1) in groups of R, the leftover rows as one smaller group (a
// row's result does not depend on its group), each group x token tiles of
// TMAX: f.template operator()<RR, T>(r, t0). P16F passes 16-row blocks as
// its "rows".
template <int R, int TMAX, bool EVEN_TAIL, typename F>
inline void rows_tail(int64_t rem, int64_t r, int n_tokens, F& f) {
  if constexpr (R >= 1) {
    if (rem == R) {
      auto g = [&]<int RR, int T>(int t0) { f.template operator()<RR, T>(r, t0); };
      token_tiles<R, TMAX, EVEN_TAIL>(n_tokens, g);
    } else {
      rows_tail<R - 1, TMAX, EVEN_TAIL>(rem, r, n_tokens, f);
    }
  }
}
template <int R, int TMAX, typename F, bool EVEN_TAIL = false>
inline void row_tiles(int64_t r0, int64_t r1, int n_tokens, F&& f) {
  int64_t r = r0;
  for (; r + R <= r1; r += R) {
    auto g = [&]<int RR, int T>(int t0) { f.template operator()<RR, T>(r, t0); };
    token_tiles<R, TMAX, EVEN_TAIL>(n_tokens, g);
  }
  if (r < r1) rows_tail<R - 1, TMAX, EVEN_TAIL>(r1 - r, r, n_tokens, f);
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

template <typename Dot>
void float_rows_scalar(const Job& j, int64_t r0, int64_t r1, Dot dot) {
  const WeightView& w = *j.w;
  for (int64_t r = r0; r < r1; ++r)
    for (int t = 0; t < j.n_tokens; ++t) j.y[t * j.ldy + r] = dot(w.data + r * w.row_bytes, j.x + t * j.ldx, w.cols);
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

// The Lanes16 contract (P16, see matmul.h): lane i owns blocks 16s + i for
// s = 0, 1, ...; per block the exact int sum of w*q (Q4_0: (nibble - 8)*q)
// becomes lane i = fma(float(sum), d_w * d_x, lane i), group by group;
// lanes of the padding blocks past the row end are left alone. Then the
// 16-lane horizontal sum (hsum16_scalar).
template <TensorType TY>
float q32_dot_scalar16(const uint8_t* row, const uint8_t* act, int64_t n) {
  const int8_t* xq = act_qs(act);
  const float* xd = act_d(act, n);
  const int64_t nb = n / kQK;
  float lane[16] = {};
  for (int64_t b = 0; b < nb; ++b) {
    int u[32];
    float dw;
    unpack32_scalar<TY>(row, b, u, dw);
    const int8_t* x = xq + b * kQK;
    int sum = 0;
    for (int i = 0; i < kQK; ++i) sum += (TY == TensorType::Q4_0 ? u[i] - 8 : u[i]) * x[i];
    lane[b % 16] = std::fmaf(static_cast<float>(sum), dw * xd[b], lane[b % 16]);
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

// Scales of blocks g..g+7 (0 past nb) as 8 floats. Assembled in two
// general registers: storing the halves to a stack array and loading it
// back as a vector stalls on store forwarding (Q4_0 k = 1 was 1.9x slower).
template <TensorType TY>
__attribute__((target("avx2,fma,f16c"))) inline __m256 group_scales(const uint8_t* row, int64_t g, int64_t nb) {
  constexpr size_t bsz = q32_block_bytes<TY>();
  auto h = [&](int i) -> uint64_t {
    if (g + i >= nb) return 0;
    uint16_t v;
    std::memcpy(&v, row + (g + i) * bsz, 2);
    return v;
  };
  const uint64_t lo = h(0) | h(1) << 16 | h(2) << 32 | h(3) << 48;
  const uint64_t hi = h(4) | h(5) << 16 | h(6) << 32 | h(7) << 48;
  return _mm256_cvtph_ps(_mm_set_epi64x(static_cast<int64_t>(hi), static_cast<int64_t>(lo)));
}

template <TensorType TY, int R, int T>
__attribute__((target("avx2,fma,f16c"))) void q32_tile(const uint8_t* w, size_t wstride, const uint8_t* act,
                                                       size_t astride, int64_t n, float* y, int64_t ldy,
                                                       const uint8_t* pf) {
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
    if (pf) prefetch_rows<R, 8 * q32_block_bytes<TY>() + 63>(pf + g * q32_block_bytes<TY>(), wstride);
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
// For the P16 drivers' tile lambdas, which p16_group and the decode streams
// must inline (see p16_group).
#define LK_AVX512_INLINE __attribute__((always_inline, target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c")))

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

// Lanes over the row, as Lanes8 does (F32, and F16/BF16 read from the file
// layout). next: null to prefetch this tile's own weights ~1 KB ahead (the
// first token tile of a row group, which streams them from memory); else the
// next row group's weights, fetched while later token tiles reuse cached
// ones.
template <TensorType TY, int R, int T>
LK_AVX512 void float_tile16(const uint8_t* w, size_t wstride, const float* x, int64_t ldx, int64_t n, float* y,
                            int64_t ldy, const uint8_t* next) {
  constexpr int64_t esz = TY == TensorType::F32 ? 4 : 2;
  __m512 acc[R][T];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const int64_t n16 = n & ~int64_t{15};
  for (int64_t i = 0; i < n16; i += 16) {
    if ((i * esz) % 64 == 0) {
      const uint8_t* pf = next ? next + i * esz : w + i * esz + 1024;
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) _mm_prefetch(reinterpret_cast<const char*>(pf + r * wstride), _MM_HINT_T0);
    }
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

// `bytes` of 64-byte aligned scratch in v, a thread-local buffer that grows,
// never shrinks, so the steady state allocates nothing.
inline uint8_t* scratch64(std::vector<uint8_t>& v, size_t bytes) {
  if (v.size() < bytes + 64) v.resize(bytes + 64);
  return v.data() + ((64 - reinterpret_cast<uintptr_t>(v.data()) % 64) % 64);
}

// Scratch for rows repacked on the fly (quantized weights without a P16 copy).
thread_local std::vector<uint8_t> t_packed;

// ---- F32 / F16 / BF16 over the P16F layout (matmul.h) -------------------------------
// Lanes are 16 rows, not 16 stretches of one row: a zmm holds column k of a
// 16-row block, an activation is broadcast, and each lane walks its row in
// order (acc = fma(w[k], x[k], acc), k = 0, 1, ...). No horizontal sum, and
// one weight vector serves every token of the tile, so k = 16 runs near the
// FMA peak where the row-lane tile lost ~40 % to activation streams and
// reductions. The scalar twin is the plain sequential fmaf loop. Only
// matrices with a P16F copy run this (AVX-512, or AVX2 on Lanes8 CPUs);
// without one (repacking off, or no AVX2) float types keep their family's
// lane contract (transposing on the fly made k = 1 1.5x slower than reading
// the rows as they are).

template <TensorType TY>
float f16seq_dot_scalar(const uint8_t* row, const float* x, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s = std::fmaf(ld_scalar<TY>(row, i), x[i], s);
  return s;
}

// Lanes of block b (rows 16 b .. 16 b + 15) that fall in [r0, r1).
inline uint32_t p16f_mask(int64_t b, int64_t r0, int64_t r1) {
  const int64_t lo = std::max<int64_t>(r0 - 16 * b, 0), hi = std::min<int64_t>(r1 - 16 * b, 16);
  return ((1u << hi) - 1) & ~((1u << lo) - 1);
}

// The AVX2 form (Lanes8 CPUs): a block's column is two ymm, otherwise the
// AVX-512 tile below step for step, so both families give the same bits.
// Step k also prefetches AHEAD: each block's own stream kP16fAhead bytes
// ahead (one line per stream each step that starts a line: every other
// step for 16-bit types; tiles of 8 accumulators); else pf + pf_step * k
// (pf_step 0: the same line each step, a no-op after the first;
// unconditional, since a branch on k made GCC spill the 12 accumulators of
// a 6-token tile every step). Prefetches past the end of the copy are
// harmless (they never fault).
constexpr int64_t kP16fAhead = 2048;
// Bytes of one P16F column (16 elements).
template <TensorType TY>
constexpr int64_t p16f_col_bytes() { return TY == TensorType::F32 ? 64 : 32; }
template <TensorType TY, int R, int T, bool AHEAD = false>
__attribute__((target("avx2,fma,f16c"))) void p16f_tile_avx2(const uint8_t* w, size_t bstride, const float* x,
                                                             int64_t ldx, int64_t n, float* y, int64_t ldy,
                                                             const uint32_t* mask, const uint8_t* pf,
                                                             int64_t pf_step) {
  __m256 acc[R][2][T];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][0][t] = acc[r][1][t] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n; ++k) {
    if constexpr (AHEAD) {
      if (k % (64 / p16f_col_bytes<TY>()) == 0)
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r)
          _mm_prefetch(reinterpret_cast<const char*>(w + r * bstride + p16f_col_bytes<TY>() * k + kP16fAhead),
                       _MM_HINT_T0);
    } else {
      _mm_prefetch(reinterpret_cast<const char*>(pf + pf_step * k), _MM_HINT_T0);
    }
    __m256 wv[R][2];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      wv[r][0] = load8<TY>(w + r * bstride, 16 * k);
      wv[r][1] = load8<TY>(w + r * bstride, 16 * k + 8);
    }
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m256 xb = _mm256_set1_ps(x[t * ldx + k]);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        acc[r][0][t] = _mm256_fmadd_ps(wv[r][0], xb, acc[r][0][t]);
        acc[r][1][t] = _mm256_fmadd_ps(wv[r][1], xb, acc[r][1][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      alignas(32) float out[16];
      _mm256_store_ps(out, acc[r][0][t]);
      _mm256_store_ps(out + 8, acc[r][1][t]);
      float* yr = y + t * ldy + 16 * r;
      for (int i = 0; i < 16; ++i)
        if (mask[r] >> i & 1) yr[i] = out[i];
    }
}

// Rows [r0, r1) of a matrix with a P16F copy on Lanes8 CPUs: 1 block x 6
// tokens (12 ymm chains), k = 1 4 blocks and k = 2 2 blocks at once (8
// chains; 1 block left k = 2 latency-bound). Left to the hardware
// prefetcher, the first token tile waits on memory; so for k > 2 one tile
// per block (the second, or the only one) prefetches the next block, whose
// bytes are exactly one column's per step. 5632x2048 single-threaded
// (Zen 5, ymm FMA peak ~53 G MAC/s): k = 4 1.62 -> 1.11 ms, 6 2.3 -> 1.3,
// 8 2.97 -> 2.2, 16 5.0 -> 3.8; k = 1 ~10 % slower with it. k = 1 and 2
// prefetch their own blocks ahead instead (TinyLlama F16 passes, paired in
// one process: k = 1 -7 %; k = 2 -19 % with the 2-block tile, -9 % of it
// from the tile; 1-block tiles up to k = 6 were 2-11 % slower that way).
template <TensorType TY>
void p16f_rows_avx2(const Job& j, int64_t r0, int64_t r1) {
  const WeightView& w = *j.w;
  const size_t bstride = p16f_block_bytes(TY, w.cols);
  const int64_t b1 = p16f_blocks(r1);
  constexpr int kTokens = 6;
  const int pf_tile = TokenTiles<kTokens, true>(j.n_tokens).second();  // first token of the prefetching tile
  auto tile = [&]<int R, int T>(int64_t b, int t0) {
    uint32_t mask[R];
    for (int r = 0; r < R; ++r) mask[r] = p16f_mask(b + r, r0, r1);
    const uint8_t* blocks = w.packed + b * bstride;
    const float* x = j.x + t0 * j.ldx;
    float* y = j.y + t0 * j.ldy + 16 * b;
    const bool pf = j.n_tokens > 1 && t0 == pf_tile && b + 2 * R <= b1;
    if (j.n_tokens <= 2)  // one token tile
      p16f_tile_avx2<TY, R, T, true>(blocks, bstride, x, j.ldx, w.cols, y, j.ldy, mask, blocks, 0);
    else
      p16f_tile_avx2<TY, R, T>(blocks, bstride, x, j.ldx, w.cols, y, j.ldy, mask, pf ? blocks + R * bstride : blocks,
                               pf ? p16f_col_bytes<TY>() * R : 0);
  };
  if (j.n_tokens == 1) row_tiles<4, 1>(r0 / 16, p16f_blocks(r1), 1, tile);
  else if (j.n_tokens == 2) row_tiles<2, 2>(r0 / 16, p16f_blocks(r1), 2, tile);
  else row_tiles<1, kTokens, decltype(tile)&, true>(r0 / 16, p16f_blocks(r1), j.n_tokens, tile);
}

// Blocks [0, R) at w (bstride bytes apart) x tokens [0, T): y row 16 b + i
// of each token gets lane i where mask[b] has bit i. Step k also prefetches
// AHEAD: each block's own stream kP16fAhead bytes ahead (one line per
// stream each step that starts one); else the column's worth of lines at
// pf + col_bytes * k while k < n_pf (the next blocks' weights, fetched
// while later token tiles reuse these ones from cache; every other step
// covers a line for 16-bit types, each step one for F32, so the step
// prefetches the line at pf + 64 k, and F32 the one after it too).
// Prefetches past the end of the copy are harmless.
template <TensorType TY, int R, int T, bool AHEAD = false>
LK_AVX512 void p16f_tile(const uint8_t* w, size_t bstride, const float* x, int64_t ldx, int64_t n, float* y,
                         int64_t ldy, const __mmask16* mask, const uint8_t* pf, int64_t n_pf) {
  __m512 acc[R][T];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t k = 0; k < n; ++k) {
    if constexpr (AHEAD) {
      if (k % (64 / p16f_col_bytes<TY>()) == 0)
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r)
          _mm_prefetch(reinterpret_cast<const char*>(w + r * bstride + p16f_col_bytes<TY>() * k + kP16fAhead),
                       _MM_HINT_T0);
    } else if (k < n_pf) {
      constexpr int64_t lines = p16f_col_bytes<TY>() / 32;  // per step
#pragma GCC unroll 2
      for (int64_t i = 0; i < lines; ++i)
        _mm_prefetch(reinterpret_cast<const char*>(pf + 64 * (lines * k + i)), _MM_HINT_T1);
    }
    __m512 wv[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) wv[r] = load16<TY>(w + r * bstride, 16 * k);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512 xb = _mm512_set1_ps(x[t * ldx + k]);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xb, acc[r][t]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy + 16 * r, mask[r], acc[r][t]);
}

// Rows [r0, r1) of a matrix with a P16F copy: the 16-row blocks that hold
// them, storing only their lanes (a block split between two threads is
// computed by both, each keeping its own rows). Tiles: k = 1 streams 4
// blocks at once; larger k 4 blocks x 6 tokens (k = 16 measured 3x8, 2x8,
// 5x4, 6x4, 8x2, 1x16, 2x12 + 2x4 no faster, K-chunking slower). The first
// token tile waits on memory: with 3+ token tiles the later ones prefetch
// the next blocks (4 % faster at k = 32, neutral at 16, 2-6 % slower at 8
// and 12, hence not there); with 1-2 (k <= 12) the first one prefetches its
// own blocks 2 KB ahead (k = 2, 4, 8: -4, -7, -9 %; at 16-64, instead of or
// besides the next-block prefetch, -3 to +2 %; k = 1 against k = 2 in the
// same runs, k1/k2: 8 blocks without it 1.04-1.17, 4 blocks 1.02-1.10, 4
// blocks with it 0.96-1.02, 1 KB ahead 0.95-1.08). An even tail: k = 8 and
// 14 4-5 % faster; near-equal 5-6 token tiles everywhere were 2-4 % slower
// at k = 32 and 64. All measured as paired runs alternating in one process.
template <TensorType TY>
void p16f_rows(const Job& j, int64_t r0, int64_t r1) {
  constexpr int kTokens = 6;
  const WeightView& w = *j.w;
  const size_t bstride = p16f_block_bytes(TY, w.cols);
  const int64_t b1 = p16f_blocks(r1);
  const int n = j.n_tokens;
  const TokenTiles<kTokens, true> tiles(n);
  auto tile = [&]<int R, int T>(int64_t b, int t0) {
    __mmask16 mask[R];
    for (int r = 0; r < R; ++r) mask[r] = static_cast<__mmask16>(p16f_mask(b + r, r0, r1));
    // With 3+ token tiles, those after the first prefetch the next R blocks
    // (contiguous, R * cols * col_bytes / 64 lines), col_bytes / 32 lines
    // per step, tile by tile.
    constexpr int64_t lps = p16f_col_bytes<TY>() / 32;
    const uint8_t* blocks = w.packed + b * bstride;
    const int64_t first_line = (tiles.index(t0) - 1) * w.cols * lps,
                  lines = b + 2 * R <= b1 ? R * w.cols * p16f_col_bytes<TY>() / 64 : 0;
    const int64_t n_pf =
        t0 > 0 && tiles.count() >= 3 ? std::clamp<int64_t>((lines - first_line) / lps, 0, w.cols) : 0;
    const float* x = j.x + t0 * j.ldx;
    float* y = j.y + t0 * j.ldy + 16 * b;
    // With fewer, the first (or only) one prefetches its own blocks ahead.
    if (t0 == 0 && tiles.count() < 3)
      p16f_tile<TY, R, T, true>(blocks, bstride, x, j.ldx, w.cols, y, j.ldy, mask, nullptr, 0);
    else
      p16f_tile<TY, R, T>(blocks, bstride, x, j.ldx, w.cols, y, j.ldy, mask,
                          n_pf > 0 ? blocks + R * bstride + 64 * first_line : nullptr, n_pf);
  };
  if (n == 1) row_tiles<4, 1>(r0 / 16, b1, 1, tile);
  else row_tiles<4, kTokens, decltype(tile)&, true>(r0 / 16, b1, n, tile);
}

// ---- Lanes16 Q8_0/Q4_0 over the P16 layout -------------------------------------
// One group of 16 blocks per step. Its int sums start at the activation's
// offset term (-8 or -128 times each block's sum of q, see to_t16) and
// collect 8 vpdpbusd (unsigned weight bytes x signed activations, exact):
// Q4_0 the low and high nibbles of 4 vectors, Q8_0 the 8 vectors of q + 128.
// Then acc = fma(float(sums), d_w * d_x, acc): q32_dot_scalar16 exactly.

// One group's 8 vpdpbusd steps into is[R][T]: weight vector j of each row
// (NIBBLES: the low, then the high nibbles of 4 vectors; else 8 byte
// vectors) against activation vector j of each token.
//
// The 8 steps of a (row, token) are a chain of dependent vpdpbusd; with
// fewer than 8 (row, token) pairs in the tile (decode: 4 rows) the chains
// alone left the kernel waiting on their latency, so the steps then go to
// S = 2 or 4 partial sums per pair, added at the end: int32 sums are exact,
// so the same bits in any order.
template <bool NIBBLES, int R, int T>
__attribute__((always_inline, target("avx512f,avx512bw,avx512vnni"))) inline void p16_group_sums(
    const uint8_t* ws, size_t qstride, const uint8_t* xs, size_t astride, __m512i (&is)[R][T]) {
  constexpr int S = R * T >= 8 ? 1 : R * T >= 4 ? 2 : 4;
  const __m512i m4 = _mm512_set1_epi8(15);
  __m512i part[S][R][T];
#pragma GCC unroll 4
  for (int p = 0; p < S; ++p)
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) part[p][r][t] = p == 0 ? is[r][t] : _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    __m512i wv[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      if constexpr (NIBBLES) {
        const __m512i v = _mm512_load_si512(ws + r * qstride + (j & 3) * 64);
        wv[r] = _mm512_and_si512(j < 4 ? v : _mm512_srli_epi16(v, 4), m4);
      } else {
        wv[r] = _mm512_load_si512(ws + r * qstride + j * 64);
      }
    }
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512i xv = _mm512_load_si512(xs + t * astride + j * 64);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) part[j % S][r][t] = _mm512_dpbusd_epi32(part[j % S][r][t], wv[r], xv);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      __m512i sum = part[0][r][t];
#pragma GCC unroll 4
      for (int p = 1; p < S; ++p) sum = _mm512_add_epi32(sum, part[p][r][t]);
      is[r][t] = sum;
    }
}

// p16_group_sums for one row whose group is already in registers (v: the
// vectors the copy would hold; NIBBLES: low then high nibbles of 4, else
// STEPS byte vectors), T tokens.
template <bool NIBBLES, int T, int STEPS = 8>
__attribute__((always_inline, target("avx512f,avx512bw,avx512vnni"))) inline void p16_vector_sums(
    const __m512i* v, const uint8_t* xs, size_t astride, __m512i (&is)[T]) {
  const __m512i m4 = _mm512_set1_epi8(15);
#pragma GCC unroll 8
  for (int j = 0; j < STEPS; ++j) {
    const __m512i wv = NIBBLES ? _mm512_and_si512(j < 4 ? v[j & 3] : _mm512_srli_epi16(v[j & 3], 4), m4) : v[j];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) is[t] = _mm512_dpbusd_epi32(is[t], wv, _mm512_load_si512(xs + t * astride + j * 64));
  }
}

// One token's P16 (Q8_0 / Q4_0) group step, shared by the tile and the
// direct kernel so both give the same bits: acc += float(is) * (dw * dx),
// dx the token's 16 block scales at dx_at.
LK_AVX512 inline void p16_accumulate(__m512i is, __m512 dw, const uint8_t* dx_at, __m512& acc) {
  const __m512 dx = _mm512_load_ps(reinterpret_cast<const float*>(dx_at));
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(dw, dx), acc);
}

// Token activations in the P16 order ("T16"), per token:
//   [q: nsg x 8 vectors of 64 bytes, vector j lane i = block 16s+i's q[4j..4j+3]]
//   [d: nsg x 16 floats] [offset: nsg x 16 int32 = -K * sum of the block's q]
// K = 8 for Q4_0 (nibbles are w + 8), 128 for Q8_0 (stored q + 128).
size_t t16_row_bytes(int64_t cols) { return static_cast<size_t>(p16_groups(cols)) * (512 + 64 + 64); }

// Group s of the 32-element int8 blocks q, transposed into oq: vector j
// lane i = block 16s+i's q[4j..4j+3], lanes of the blocks past `valid`
// zero. Returns each lane's exact sum of q (vpdpbusd with ones).
LK_AVX512 inline __m512i transpose_group(const int* q, int64_t s, int64_t valid, int32_t* oq) {
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32(kQK / 4));
  const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1);
  __m512i sum = _mm512_setzero_si512();
  for (int j = 0; j < 8; ++j) {
    const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, _mm512_add_epi32(idx, _mm512_set1_epi32(j)),
                                                  q + s * 16 * (kQK / 4), 4);
    _mm512_store_si512(oq + s * 128 + j * 16, v);
    sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(1), v);
  }
  return sum;
}

template <TensorType TY>
LK_AVX512 void to_t16(const uint8_t* a32, int64_t cols, uint8_t* out) {
  const int64_t nb = cols / kQK, nsg = p16_groups(cols);
  const int* q = reinterpret_cast<const int*>(act_qs(a32));
  const float* d = act_d(a32, cols);
  int32_t* oq = reinterpret_cast<int32_t*>(out);
  float* od = reinterpret_cast<float*>(out + nsg * 512);
  int32_t* oo = reinterpret_cast<int32_t*>(out + nsg * 576);
  for (int64_t s = 0; s < nsg; ++s) {
    const int64_t valid = nb - 16 * s < 16 ? nb - 16 * s : 16;
    const __m512i sum = transpose_group(q, s, valid, oq);
    _mm512_store_ps(od + s * 16, _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << valid) - 1), d + s * 16));
    const int shift = TY == TensorType::Q4_0 ? 3 : 7;
    _mm512_store_si512(oo + s * 16, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, shift)));
  }
}

// Q4_K (P16K): the same transposed q vectors from AK activations (a
// sub-block of 32 plays the part of a block), the per-lane dx of the lane's
// super-block in the d slot and float(sum of the sub-block's q) in the
// offset slot.
LK_AVX512 void to_k16(const uint8_t* ak, int64_t cols, uint8_t* out) {
  const int64_t ng = cols / kQK, nsg = p16_groups(cols);
  const int* q = reinterpret_cast<const int*>(act_qs(ak));
  const float* d = act_d(ak, cols);
  int32_t* oq = reinterpret_cast<int32_t*>(out);
  float* od = reinterpret_cast<float*>(out + nsg * 512);
  float* ox = reinterpret_cast<float*>(out + nsg * 576);
  for (int64_t s = 0; s < nsg; ++s) {
    const int64_t valid = ng - 16 * s < 16 ? ng - 16 * s : 16;
    _mm512_store_ps(ox + s * 16, _mm512_cvtepi32_ps(transpose_group(q, s, valid, oq)));
    for (int i = 0; i < 16; ++i) od[s * 16 + i] = i < valid ? d[(16 * s + i) / 8] : 0.0f;
  }
}

// A P16K group's scale unit as vectors: lane i = sub-block i's scale and
// min; d and dmin of the group's first super-block in lanes 0-7, of the
// second in 8-15.
struct K16Scales {
  __m512 sc, m, d, dmin;
};
// f16 lo in lanes 0-7, hi in lanes 8-15, as floats.
LK_AVX512 inline __m512 f16_pair(uint16_t lo, uint16_t hi) {
  return _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16(static_cast<short>(hi)), _mm_set1_epi16(static_cast<short>(lo))));
}
LK_AVX512 inline K16Scales k16_scales(const uint8_t* u) {
  uint16_t h[4];
  std::memcpy(h, u + 32, 8);
  return {_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u)))),
          _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u + 16)))),
          f16_pair(h[0], h[2]), f16_pair(h[1], h[3])};
}

// One token's group step: acc += float(is) * sc * (d * dx), then
// acc += (m * xsum) * -(dmin * dx), with dx / xsum the token's 16 floats.
LK_AVX512 inline void k16_accumulate(const K16Scales& k, __m512i is, const uint8_t* dx_at, const uint8_t* xsum_at,
                                     __m512& acc) {
  const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(0x80000000u)));
  const __m512 dx = _mm512_load_ps(reinterpret_cast<const float*>(dx_at));
  const __m512 xsum = _mm512_load_ps(reinterpret_cast<const float*>(xsum_at));
  acc = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(is), k.sc), _mm512_mul_ps(k.d, dx), acc);
  acc = _mm512_fmadd_ps(_mm512_mul_ps(k.m, xsum), _mm512_xor_ps(_mm512_mul_ps(k.dmin, dx), sign), acc);
}

// Where a P16 tile's outputs go and what it prefetches: its R rows are
// qstride / sstride bytes apart (passed beside this), output row r at
// y + r * ystep, and at each group step it prefetches the lines q / s bytes
// past each row's quants / scales there (q = 0: none).
struct P16Next {
  int64_t ystep = 1;
  size_t q = 0, s = 0;
};

// y[t * ldy + r * ystep] = hsum16(acc[r][t]): a 4 x 4 tile's 16 sums all at
// once (hsum16x16, same bits), smaller tiles one by one.
template <int R, int T>
LK_AVX512 inline void store_tile_sums(const float (*acc)[T][16], float* y, int64_t ldy, int64_t ystep) {
  if constexpr (R == 4 && T == 4) {
    __m512 v[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) v[i] = _mm512_load_ps(acc[i % 4][i / 4]);  // lane 4 t + r: (r, t)
    float o[16];
    hsum16x16(v, o);
    for (int t = 0; t < 4; ++t)
      for (int r = 0; r < 4; ++r) y[t * ldy + r * ystep] = o[4 * t + r];
  } else {
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) y[t * ldy + r * ystep] = hsum16(_mm512_load_ps(acc[r][t]));
  }
}

// Zeroes a tile's N float accumulators (16 lanes each) with vector stores:
// `= {}` compiled to `rep stos`, whose start-up cost every tile paid (~6 %
// of a 16-token Q4_0 matmul over 2048 columns, 4 column groups a tile).
template <int N>
LK_AVX512 inline void zero_accumulators(float (*acc)[16]) {
#pragma GCC unroll 64
  for (int i = 0; i < N; ++i) _mm512_store_ps(acc[i], _mm512_setzero_ps());
}

template <int R, int T>
LK_AVX512 void p16k_tile(const uint8_t* qs, size_t qstride, const uint8_t* sc, size_t sstride, const uint8_t* act,
                         size_t astride, int64_t nsg, float* y, int64_t ldy, const P16Next& nx) {
  alignas(64) float acc[R][T][16];
  zero_accumulators<R * T>(acc[0]);
  const uint8_t* xd = act + nsg * 512;
  const uint8_t* xs16 = act + nsg * 576;
  for (int64_t s = 0; s < nsg; ++s) {
    __m512i is[R][T];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) is[r][t] = _mm512_setzero_si512();
    if (nx.q) {
      // As p16_tile's Q4_0: the next tile's quants and scales (Q4_K_M
      // decode -11 %; 32000x2048 single-threaded 1.56 -> 1.06 ms).
      prefetch_rows<R, 256>(qs + nx.q + s * 256, qstride);
      prefetch_rows<R, 1>(sc + nx.s + s * kK16Unit, sstride);
    }
    p16_group_sums<true, R, T>(qs + s * 256, qstride, act + s * 512, astride, is);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const K16Scales k = k16_scales(sc + r * sstride + s * kK16Unit);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        __m512 a = _mm512_load_ps(acc[r][t]);
        k16_accumulate(k, is[r][t], xd + t * astride + s * 64, xs16 + t * astride + s * 64, a);
        _mm512_store_ps(acc[r][t], a);
      }
    }
  }
  store_tile_sums<R, T>(acc, y, ldy, nx.ystep);
}

// Q4_K at k <= 4 without a load-time copy, as p16_row_direct: each full
// group's P16K vectors built in registers (p16k_group_vectors) and its scale
// unit from the two super-blocks (p16k_unit), then
// p16k_tile's steps, so the same bits.
template <int T>
LK_AVX512 void p16k_row_direct(const uint8_t* row_bytes, const uint8_t* act, size_t astride, int64_t nsg, int64_t ng,
                               float* y, int64_t ldy) {
  const auto* row = reinterpret_cast<const BlockQ4_K*>(row_bytes);
  const uint8_t* xd = act + nsg * 512;
  const uint8_t* xs16 = act + nsg * 576;
  __m512 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < nsg; ++s) {
    __m512i v[4];
    K16Scales k;
    if (16 * s + 16 <= ng) {
      const BlockQ4_K* sb = row + 2 * s;
      prefetch_ahead<2 * sizeof(BlockQ4_K)>(sb);
      p16k_group_vectors(sb, v);
      alignas(64) uint8_t u[kK16Unit];
      p16k_unit(sb, u);
      k = k16_scales(u);
    } else {
      alignas(64) uint8_t q[256], u[kK16Unit];
      p16k_group_scalar(row, ng, s, q, u);
      for (int j = 0; j < 4; ++j) v[j] = _mm512_load_si512(q + 64 * j);
      k = k16_scales(u);
    }
    __m512i is[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) is[t] = _mm512_setzero_si512();
    p16_vector_sums<true, T>(v, act + s * 512, astride, is);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) k16_accumulate(k, is[t], xd + t * astride + s * 64, xs16 + t * astride + s * 64, acc[t]);
  }
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) y[t * ldy] = hsum16(acc[t]);
}

// Q6_K activations (from AK) for P16Q6, per super-block: 4 q vectors
// (vector j lane i = elements 16i+4j..+3), dx in all 16 lanes, and the
// offsets -32 * bsum_i (int32). 384 bytes per 256 elements.
size_t q6t_row_bytes(int64_t cols) { return static_cast<size_t>(cols / kQKK) * 384; }

LK_AVX512 void to_q6t(const uint8_t* ak, int64_t cols, uint8_t* out) {
  const int64_t nb = cols / kQKK;
  const int* q = reinterpret_cast<const int*>(act_qs(ak));
  const float* d = act_d(ak, cols);
  const int16_t* bs = act_bsums(ak, cols);
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32(4));
  for (int64_t b = 0; b < nb; ++b) {
    for (int j = 0; j < 4; ++j)
      _mm512_store_si512(out + b * 256 + j * 64,
                         _mm512_i32gather_epi32(_mm512_add_epi32(idx, _mm512_set1_epi32(j)), q + b * 64, 4));
    _mm512_store_ps(reinterpret_cast<float*>(out + nb * 256 + b * 64), _mm512_set1_ps(d[b]));
    const __m512i bsum = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bs + b * 16)));
    _mm512_store_si512(out + nb * 320 + b * 64, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(bsum, 5)));
  }
}

// A Q6_K block's 16 int8 scales followed by its f16 d (GGUF keeps them so,
// and so does the P16Q6 unit), as vectors.
struct Q6Scales {
  __m512 sc, d;
};
LK_AVX512 inline Q6Scales q6_scales(const uint8_t* u) {
  uint16_t h;
  std::memcpy(&h, u + 16, 2);
  return {_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u)))),
          _mm512_set1_ps(fp16_to_fp32(h))};
}

// One token's P16Q6 block step: acc += (float(is) * sc) * (d * dx).
LK_AVX512 inline void q6_accumulate(const Q6Scales& k, __m512i is, const uint8_t* dx_at, __m512& acc) {
  const __m512 dx = _mm512_load_ps(reinterpret_cast<const float*>(dx_at));
  acc = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(is), k.sc), _mm512_mul_ps(k.d, dx), acc);
}

// Q6_K at k <= 4 without a load-time copy: each block's four dot-product
// vectors straight from the GGUF bytes (q6k_block_vectors: the values
// p16q6_tile unfolds from V0 / V1 / P), then its steps, so the same bits.
template <int T>
LK_AVX512 void p16q6_row_direct(const uint8_t* row_bytes, const uint8_t* act, size_t astride, int64_t nb, float* y,
                                int64_t ldy) {
  const auto* row = reinterpret_cast<const BlockQ6_K*>(row_bytes);
  const uint8_t* xd = act + nb * 256;
  const uint8_t* xo = act + nb * 320;
  __m512 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    prefetch_ahead<sizeof(BlockQ6_K)>(row + b);
    __m512i u[4];
    q6k_block_vectors(row + b, u);
    __m512i is[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) is[t] = _mm512_load_si512(xo + t * astride + b * 64);
    p16_vector_sums<false, T, 4>(u, act + b * 256, astride, is);
    static_assert(offsetof(BlockQ6_K, d) == offsetof(BlockQ6_K, scales) + 16);
    const Q6Scales k = q6_scales(reinterpret_cast<const uint8_t*>(row[b].scales));
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) q6_accumulate(k, is[t], xd + t * astride + b * 64, acc[t]);
  }
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) y[t * ldy] = hsum16(acc[t]);
}

template <int R, int T>
LK_AVX512 void p16q6_tile(const uint8_t* qs, size_t qstride, const uint8_t* sc, size_t sstride, const uint8_t* act,
                          size_t astride, int64_t nb, float* y, int64_t ldy, const P16Next& nx) {
  alignas(64) float acc[R][T][16];
  zero_accumulators<R * T>(acc[0]);
  const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
  const uint8_t* xd = act + nb * 256;
  const uint8_t* xo = act + nb * 320;
  for (int64_t b = 0; b < nb; ++b) {
    __m512i is[R][T];
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512i o = _mm512_load_si512(xo + t * astride + b * 64);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) is[r][t] = o;
    }
    const uint8_t* xs = act + b * 256;
    if (nx.q) {
      // The next tile's quants and scales, as p16k_tile (32000x2048
      // single-threaded 2.34 -> 1.34 ms).
      prefetch_rows<R, 192>(qs + nx.q + b * 192, qstride);
      prefetch_rows<R, 1>(sc + nx.s + b * kQ6Unit, sstride);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      __m512i u[R];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const uint8_t* wq = qs + r * qstride + b * 192;
        const __m512i v = _mm512_load_si512(wq + (j & 1) * 64);
        const __m512i p = _mm512_load_si512(wq + 128);
        const __m512i lo = _mm512_and_si512(j < 2 ? v : _mm512_srli_epi16(v, 4), m4);
        __m512i hi;
        if (j == 0) hi = _mm512_slli_epi16(p, 4);
        else if (j == 1) hi = _mm512_slli_epi16(p, 2);
        else if (j == 2) hi = p;
        else hi = _mm512_srli_epi16(p, 2);
        u[r] = _mm512_or_si512(lo, _mm512_and_si512(hi, m30));
      }
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512i xv = _mm512_load_si512(xs + t * astride + j * 64);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) is[r][t] = _mm512_dpbusd_epi32(is[r][t], u[r], xv);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const Q6Scales k = q6_scales(sc + r * sstride + b * kQ6Unit);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        __m512 a = _mm512_load_ps(acc[r][t]);
        q6_accumulate(k, is[r][t], xd + t * astride + b * 64, a);
        _mm512_store_ps(acc[r][t], a);
      }
    }
  }
  store_tile_sums<R, T>(acc, y, ldy, nx.ystep);
}

// Rows [r, r + R) x tokens [0, T): qs/sc point at row r's first group. The
// float accumulators are touched once per group (after 8 vpdpbusd), so they
// live in memory and the registers go to the int sums and weights: up to
// R*T + R + 1 zmm.
template <TensorType TY, int R, int T>
LK_AVX512_INLINE inline void p16_tile(const uint8_t* qs, size_t qstride, const uint8_t* sc, size_t sstride,
                                      const uint8_t* act, size_t astride, int64_t nsg, float* y, int64_t ldy,
                                      const P16Next& nx) {
  constexpr size_t QB = p16_qbytes<TY>();
  alignas(64) float acc[R][T][16];
  zero_accumulators<R * T>(acc[0]);
  const uint8_t* xd = act + nsg * 512;
  const uint8_t* xo = act + nsg * 576;
  for (int64_t s = 0; s < nsg; ++s) {
    __m512i is[R][T];
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512i o = _mm512_load_si512(xo + t * astride + s * 64);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) is[r][t] = o;
    }
    const uint8_t* ws = qs + s * QB;
    if (nx.q) {
      // Single token: memory-bound. Fetch the next rows' quants and scales
      // at this group while this tile computes (Q4_0 decode +3-4 %, the
      // scales another 2 %; Q8_0, with twice the lines per group, ran 4-7 %
      // slower with it).
      prefetch_rows<R, QB>(ws + nx.q, qstride);
      prefetch_rows<R, 1>(sc + nx.s + s * 32, sstride);
    }
    p16_group_sums<TY == TensorType::Q4_0, R, T>(ws, qstride, act + s * 512, astride, is);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(sc + r * sstride + s * 32)));
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        __m512 a = _mm512_load_ps(acc[r][t]);
        p16_accumulate(is[r][t], dw, xd + t * astride + s * 64, a);
        _mm512_store_ps(acc[r][t], a);
      }
    }
  }
  store_tile_sums<R, T>(acc, y, ldy, nx.ystep);
}

// k <= 4 over a matrix without a load-time copy: a row read in the GGUF
// layout, each full group transposed in registers into the vectors the copy
// would hold (p16_group_vectors) and used for the T tokens, then p16_tile's
// steps, so the same bits; a padded last group goes through the scalar
// packer. Repacking 16 rows into scratch first made decode 1.3-1.5x the
// copy's; this runs about as fast as the copy (one row at a time: tiles of
// 2 and 4 rows spilled registers and ran 2-4x slower).
template <TensorType TY, int T>
LK_AVX512 void p16_row_direct(const uint8_t* row, const uint8_t* act, size_t astride, int64_t nsg, int64_t nb, float* y,
                              int64_t ldy) {
  constexpr int NV = static_cast<int>(p16_qbytes<TY>() / 64);
  constexpr size_t bsz = q32_block_bytes<TY>();
  const uint8_t* xd = act + nsg * 512;
  const uint8_t* xo = act + nsg * 576;
  __m512 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < nsg; ++s) {
    __m512i v[NV];
    __m512 dw;
    if (16 * s + 16 <= nb) {
      prefetch_ahead<16 * bsz>(row + 16 * s * bsz);
      p16_group_vectors<TY>(row + 16 * s * bsz, v);
      dw = p16_group_scales<TY>(row + 16 * s * bsz);
    } else {
      alignas(64) uint8_t q[NV * 64], d[32];
      p16_group_scalar<TY>(row, nb, s, q, d);
      for (int j = 0; j < NV; ++j) v[j] = _mm512_load_si512(q + 64 * j);
      dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d)));
    }
    __m512i is[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) is[t] = _mm512_load_si512(xo + t * astride + s * 64);
    p16_vector_sums<TY == TensorType::Q4_0, T>(v, act + s * 512, astride, is);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) p16_accumulate(is[t], dw, xd + t * astride + s * 64, acc[t]);
  }
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) y[t * ldy] = hsum16(acc[t]);
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

// The Lanes16 Q4_K contract (P16K, see matmul.h): lane i owns sub-blocks
// (32 elements) g = 16s + i. Per sub-block, with its 6-bit scale sc and min
// m, the exact int sums isum = sum q*x and xsum = sum x (AK activations:
// bsums), then lane = fma(float(isum) * sc, d * dx, lane) and
// lane = fma(m * float(xsum), -(dmin * dx), lane) (both products of small
// integers are exact in float). Then hsum16_scalar.
float q4k_dot_scalar16(const uint8_t* row, const uint8_t* act, int64_t n) {
  const int8_t* xq = act_qs(act);
  const float* xd = act_d(act, n);
  const int16_t* bs = act_bsums(act, n);
  float lane[16] = {};
  for (int64_t g = 0; g < n / kQK; ++g) {
    const int64_t b = g / 8;
    const int j = static_cast<int>(g % 8);
    const auto* blk = reinterpret_cast<const BlockQ4_K*>(row) + b;
    int sc, m;
    q4k_scale_min(blk->scales, j, sc, m);
    int isum = 0;
    for (int e = 0; e < kQK; ++e) {
      const uint8_t byte = blk->qs[32 * (j / 2) + e];
      isum += (j % 2 ? byte >> 4 : byte & 15) * xq[g * kQK + e];
    }
    const int xsum = bs[b * 16 + 2 * j] + bs[b * 16 + 2 * j + 1];
    const float dx = xd[b];
    float& l = lane[g % 16];
    l = std::fmaf(static_cast<float>(isum) * static_cast<float>(sc), fp16_to_fp32(blk->d) * dx, l);
    l = std::fmaf(static_cast<float>(m) * static_cast<float>(xsum), -(fp16_to_fp32(blk->dmin) * dx), l);
  }
  return hsum16_scalar(lane);
}

template <int T>
__attribute__((always_inline, target("avx2,fma,f16c"))) inline void q4k_tile_body(const uint8_t* w, const uint8_t* act,
                                                                               size_t astride, int64_t n, float* y,
                                                                               int64_t ldy, const uint8_t* pf) {
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
    if (pf) prefetch_rows<1, sizeof(BlockQ4_K)>(pf + b * sizeof(BlockQ4_K), 0);  // the next row's (k_rows_avx2)
    // Scales and mins straight into registers (eight scalar decodes went
    // through the stack and stalled on store forwarding).
    uint64_t sc8, mn8;
    q4k_scales_mins(blk->scales, sc8, mn8);
    __m256i il[T];
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) il[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qs + 32 * c));
      const __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      const __m256i s0 = _mm256_set1_epi16(static_cast<int16_t>(sc8 >> (16 * c) & 0xff));
      const __m256i s1 = _mm256_set1_epi16(static_cast<int16_t>(sc8 >> (16 * c + 8) & 0xff));
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
    // int16 pairs (m_j, m_j) for the madd with the 16 sub-block sums.
    const __m256i m32 = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(mn8)));
    const __m256i m16 = _mm256_or_si256(m32, _mm256_slli_epi32(m32, 16));
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

// The Lanes16 Q6_K contract (P16Q6, see matmul.h): one super-block per
// group, lane i = its sub-block i (16 elements, int8 scale sc). Exact int
// v = sum (q + 32) * x - 32 * bsum = sum q * x; then
// lane = fma(float(v) * sc, d * dx, lane) (|v * sc| < 2^24: exact).
float q6k_dot_scalar16(const uint8_t* row, const uint8_t* act, int64_t n) {
  const int8_t* xq = act_qs(act);
  const float* xd = act_d(act, n);
  const int16_t* bs = act_bsums(act, n);
  float lane[16] = {};
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ6_K*>(row) + b;
    const float dd = fp16_to_fp32(blk->d) * xd[b];
    for (int i = 0; i < 16; ++i) {
      int v = 0;
      for (int e = 16 * i; e < 16 * i + 16; ++e) v += q6k_u(blk, e) * xq[b * kQKK + e];
      v -= 32 * bs[b * 16 + i];
      lane[i] = std::fmaf(static_cast<float>(v) * static_cast<float>(blk->scales[i]), dd, lane[i]);
    }
  }
  return hsum16_scalar(lane);
}

template <int T>
__attribute__((always_inline, target("avx2,fma,f16c"))) inline void q6k_tile_body(const uint8_t* w, const uint8_t* act,
                                                                               size_t astride, int64_t n, float* y,
                                                                               int64_t ldy, const uint8_t* pf) {
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
    if (pf) prefetch_rows<1, sizeof(BlockQ6_K)>(pf + b * sizeof(BlockQ6_K), 0);  // the next row's (k_rows_avx2)
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->scales)));
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
      // s[p]: int16 scale 8h + 2p in the low lane, 8h + 2p + 1 in the high
      // one, by shuffles of the widened scales (building each from two
      // scalar loads cost 22 % at k = 1).
      const __m256i sh = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00);
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p) {
        const char a0 = static_cast<char>(4 * p), a1 = static_cast<char>(4 * p + 1);
        const char b0 = static_cast<char>(4 * p + 2), b1 = static_cast<char>(4 * p + 3);
        s[p] = _mm256_shuffle_epi8(sh, _mm256_setr_epi8(a0, a1, a0, a1, a0, a1, a0, a1, a0, a1, a0, a1, a0, a1, a0, a1,
                                                        b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1));
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

// The Lanes8 K-quant tiles (Lanes16 has its own P16K / P16Q6 kernels).
template <int T>
__attribute__((target("avx2,fma,f16c"))) void q4k_tile(const uint8_t* w, const uint8_t* act, size_t astride, int64_t n,
                                                       float* y, int64_t ldy, const uint8_t* pf) {
  q4k_tile_body<T>(w, act, astride, n, y, ldy, pf);
}
template <int T>
__attribute__((target("avx2,fma,f16c"))) void q6k_tile(const uint8_t* w, const uint8_t* act, size_t astride, int64_t n,
                                                       float* y, int64_t ldy, const uint8_t* pf) {
  q6k_tile_body<T>(w, act, astride, n, y, ldy, pf);
}

// ---- per-type row drivers ---------------------------------------------------------

// Rows in tiles of 2 x up to 4 tokens. A row group's first token tile
// prefetches the next group's rows group by group (pf): weights beyond the
// caches otherwise stream at a fraction of the bandwidth (32000x2048 single
// thread, k = 1: Q8_0 5.2 -> 3.1 ms, Q4_0 4.5 -> 3.2 ms; k = 2, 4 -25-39 %;
// k = 16 unchanged).
template <TensorType TY>
void q32_rows_avx2(const Job& j, int64_t r0, int64_t r1) {
  const WeightView& w = *j.w;
  auto tile = [&]<int R, int T>(int64_t r, int t0) {
    const uint8_t* next = w.data + (r + R) * w.row_bytes;
    q32_tile<TY, R, T>(w.data + r * w.row_bytes, w.row_bytes, j.act + t0 * j.act_stride, j.act_stride, w.cols,
                       j.y + t0 * j.ldy + r, j.ldy, t0 == 0 && r + 2 * R <= r1 ? next : nullptr);
  };
  row_tiles<2, 4>(r0, r1, j.n_tokens, tile);
}

// Token tile width of the P16 kernels for k > 1.
constexpr int kP16Tokens = 4;
// Row streams of a pass with one token tile (p16_rows; 8 were no faster).
constexpr int kK1Streams = 4;

// Rows [r0, r1) of a matrix in one of the P16 layouts (st: bytes per row
// of its two parts). tile.template operator()<R, T>(qs, sc, r, t0, step)
// runs rows r, r + step, ... (R of them) x tokens [t0, t0 + T) whose
// groups start at qs / sc.
// Reads the load-time copy when there is one. Without it, k <= kP16Tokens
// runs direct.template operator()<T>(row, act, y) on each GGUF row (row's
// bytes, the first token's activations and output; see p16_row_direct),
// and more tokens pack 16 rows at a time into a scratch buffer
// (pack_p16_rows): the same bytes, so the same results. Tiles: 4 rows x 4
// tokens measured best on Zen 5 (k = 16 and 64: 2x4, 2x6, 3x6, 5x4, 6x3,
// 8x2 were 3-25 % slower, before p16_prefetch); up to 4 tokens over the
// copy take one row from each of 4 streams (below; before the streams,
// Q8_0 decode ran 8 consecutive rows at a time, 10 % faster than 4).

// Every token tile of one group of R rows (tile<R, T>, token_tiles'
// tiling) in one AVX-512 call, the tiles inlined. Called tile by tile from
// generic code, each tile was a call of its own; with the zeroing and the
// 16-at-once sums above, a 16-token 5632 x 2048 Q4_0 matmul (1 thread, in
// cache) went from 208-218 to ~250 G multiply-adds/s, as fast as the same
// tile code in one hand-written loop.
// (token_tiles itself is generic code, which cannot inline AVX-512 tiles.)
template <int R, typename Tile>
LK_AVX512 void p16_group(Tile& tile, const uint8_t* qs, const uint8_t* sc, int64_t r, int n_tokens) {
  static_assert(kP16Tokens == 4, "the tail below covers tiles of 1-3 tokens");
  const TokenTiles<kP16Tokens, false> tt(n_tokens);
  const int t = tt.full * kP16Tokens;
  for (int t0 = 0; t0 < t; t0 += kP16Tokens) tile.template operator()<R, kP16Tokens>(qs, sc, r, t0, 1);
  switch (tt.rem) {
    case 3: tile.template operator()<R, 3>(qs, sc, r, t, 1); break;
    case 2: tile.template operator()<R, 2>(qs, sc, r, t, 1); break;
    case 1: tile.template operator()<R, 1>(qs, sc, r, t, 1); break;
    default: break;
  }
}

template <typename Tile, typename Direct>
void p16_rows(const Job& j, int64_t r0, int64_t r1, P16Strides st, Tile&& tile, Direct&& direct) {
  const WeightView& w = *j.w;
  if (!w.packed && j.n_tokens <= kP16Tokens) {
    row_tiles<1, kP16Tokens>(r0, r1, j.n_tokens, [&]<int R, int T>(int64_t r, int t0) {
      direct.template operator()<T>(w.data + r * w.row_bytes, j.act + t0 * j.act_stride, j.y + t0 * j.ldy + r);
    });
    return;
  }
  // Groups of 4 rows (the leftover rows one smaller group), each with all
  // its token tiles in one p16_group call: row_tiles with one "token tile".
  auto run = [&](const uint8_t* qs, const uint8_t* sc, int64_t a, int64_t b) {
    row_tiles<4, 1>(a, b, 1, [&]<int R, int>(int64_t r, int) {
      p16_group<R>(tile, qs + (r - a) * st.qs, sc + (r - a) * st.sc, r, j.n_tokens);
    });
  };
  if (w.packed) {
    const uint8_t* qs = w.packed + r0 * st.qs;
    const uint8_t* sc = w.packed + w.rows * st.qs + r0 * st.sc;
    // Up to kP16Tokens tokens (one token tile; decode) read the range as
    // kK1Streams streams, a tile taking one row from each (rows i, i + q,
    // i + 2q, ...; its outputs q apart): the hardware prefetchers then
    // follow several streams at once, where the consecutive rows of a
    // 4-row tile made one (TinyLlama's ffn matrices cycling through 22
    // layers, k = 1: Q4_0 44 -> 52 GB/s, Q4_K_M 42 -> 47, Q8_0 47 -> 50;
    // whole decode passes Q4_0 -15 %, Q4_K_M -13 %, Q8_0 -4 %; k = 2, 4
    // -3 to -8 %). Rows left over take the tiles below.
    int64_t done = 0;
    if (j.n_tokens <= kP16Tokens) {
      const int64_t q = (r1 - r0) / kK1Streams;
      // AVX-512 code, so the drivers' tile lambdas inline here too.
      auto streams = [&]<int R, int T>(int) LK_AVX512 {
        for (int64_t i = 0; i < q; ++i) tile.template operator()<R, T>(qs + i * st.qs, sc + i * st.sc, r0 + i, 0, q);
      };
      tail_tile<kK1Streams, kP16Tokens>(j.n_tokens, 0, streams);
      done = q * kK1Streams;
    }
    run(qs + done * st.qs, sc + done * st.sc, r0 + done, r1);
    return;
  }
  constexpr int64_t kChunk = 16;
  uint8_t* qs = scratch64(t_packed, kChunk * (st.qs + st.sc));
  uint8_t* sc = qs + kChunk * st.qs;
  for (int64_t a = r0; a < r1; a += kChunk) {
    const int64_t b = a + kChunk < r1 ? a + kChunk : r1;
    pack_p16_rows(w, a, b, qs, sc);
    run(qs, sc, a, b);
  }
}

// Does the token tile at t0 prefetch the next row group's quants and scales
// while it computes (the tiles' pf)? Left to the hardware prefetcher, the
// first token tile of a group waits on memory (8 streams per thread). So
// the second token tile does (k = 16, two threads: Q4_0 -21 %, Q8_0 -14 %,
// Q4_K_M -23 %; k = 8 -24-33 %, k = 32 -11 %), or the only one for k <= 4
// (k = 2, 4: Q4_K_M -50 %, Q4_0 -12-25 %, Q8_0 -10 %), except Q8_0 at
// k = 1 (at_k1 false: 4 % slower with it). Only over the load-time copy:
// the scratch rows of p16_rows were just written and are in cache.
inline bool p16_prefetch(const Job& j, int t0, bool at_k1) {
  if (!j.w->packed) return false;
  if (j.n_tokens == 1) return at_k1;
  return t0 == TokenTiles<kP16Tokens, false>(j.n_tokens).second();
}

// The P16Next of an R-row tile whose rows are `step` rows apart (p16_rows):
// it prefetches the next tile's rows (R rows on), or with decode's streams
// the next row of each stream.
inline P16Next p16_next(const Job& j, int t0, bool at_k1, int R, const P16Strides& st, int64_t step) {
  if (!p16_prefetch(j, t0, at_k1)) return {step, 0, 0};
  const size_t ahead = step == 1 ? R : 1;
  return {step, ahead * st.qs, ahead * st.sc};
}

template <TensorType TY>
void q32_rows_avx512(const Job& j, int64_t r0, int64_t r1) {
  const int64_t nsg = p16_groups(j.w->cols), nb = j.w->cols / kQK;
  const P16Strides st = p16_strides(TY, j.w->cols);
  p16_rows(
      j, r0, r1, st,
      [&]<int R, int T>(const uint8_t* qs, const uint8_t* sc, int64_t r, int t0, int64_t step) LK_AVX512_INLINE {
        p16_tile<TY, R, T>(qs, st.qs * step, sc, st.sc * step, j.act + t0 * j.act_stride, j.act_stride, nsg,
                           j.y + t0 * j.ldy + r, j.ldy, p16_next(j, t0, TY != TensorType::Q8_0, R, st, step));
      },
      [&]<int T>(const uint8_t* row, const uint8_t* act, float* y) {
        p16_row_direct<TY, T>(row, act, j.act_stride, nsg, nb, y, j.ldy);
      });
}

void q4k_rows_avx512(const Job& j, int64_t r0, int64_t r1) {
  const int64_t nsg = p16_groups(j.w->cols), ng = j.w->cols / kQK;
  const P16Strides st = p16_strides(TensorType::Q4_K, j.w->cols);
  p16_rows(
      j, r0, r1, st,
      [&]<int R, int T>(const uint8_t* qs, const uint8_t* sc, int64_t r, int t0, int64_t step) LK_AVX512_INLINE {
        p16k_tile<R, T>(qs, st.qs * step, sc, st.sc * step, j.act + t0 * j.act_stride, j.act_stride, nsg,
                        j.y + t0 * j.ldy + r, j.ldy, p16_next(j, t0, true, R, st, step));
      },
      [&]<int T>(const uint8_t* row, const uint8_t* act, float* y) {
        p16k_row_direct<T>(row, act, j.act_stride, nsg, ng, y, j.ldy);
      });
}

void q6k_rows_avx512(const Job& j, int64_t r0, int64_t r1) {
  const int64_t nb = j.w->cols / kQKK;
  const P16Strides st = p16_strides(TensorType::Q6_K, j.w->cols);
  p16_rows(
      j, r0, r1, st,
      [&]<int R, int T>(const uint8_t* qs, const uint8_t* sc, int64_t r, int t0, int64_t step) LK_AVX512_INLINE {
        p16q6_tile<R, T>(qs, st.qs * step, sc, st.sc * step, j.act + t0 * j.act_stride, j.act_stride, nb,
                         j.y + t0 * j.ldy + r, j.ldy, p16_next(j, t0, true, R, st, step));
      },
      [&]<int T>(const uint8_t* row, const uint8_t* act, float* y) {
        p16q6_row_direct<T>(row, act, j.act_stride, nb, y, j.ldy);
      });
}

template <TensorType TY>
void float_rows_avx512(const Job& j, int64_t r0, int64_t r1) {
  const WeightView& w = *j.w;
  row_tiles<4, 6>(r0, r1, j.n_tokens, [&]<int R, int T>(int64_t r, int t0) {
    const uint8_t* next = t0 > 0 && r + 2 * R <= r1 ? w.data + (r + R) * w.row_bytes : nullptr;
    float_tile16<TY, R, T>(w.data + r * w.row_bytes, w.row_bytes, j.x + t0 * j.ldx, j.ldx, w.cols,
                           j.y + t0 * j.ldy + r, j.ldy, next);
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
  constexpr int kTokens = 4;
  const int pf_tile = TokenTiles<kTokens, false>(j.n_tokens).second();
  row_tiles<1, kTokens>(r0, r1, j.n_tokens, [&]<int R, int T>(int64_t r, int t0) {
    const uint8_t* wr = w.data + r * w.row_bytes;
    const uint8_t* a = j.act + t0 * j.act_stride;
    float* y = j.y + t0 * j.ldy + r;
    // For k > 1 the second token tile (the only one for k <= 4) prefetches
    // the next row (Q4_K_M k = 4 and 16 -6 %; k = 1 no change).
    const bool p = j.n_tokens > 1 && t0 == pf_tile;
    const uint8_t* pf = p && r + 2 <= r1 ? wr + w.row_bytes : nullptr;
    if (w.type == TensorType::Q4_K) q4k_tile<T>(wr, a, j.act_stride, w.cols, y, j.ldy, pf);
    else q6k_tile<T>(wr, a, j.act_stride, w.cols, y, j.ldy, pf);
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
  if (j.w->packed) {
    // P16F: one contract for both families, one scalar twin.
    switch (impl) {
      case Impl::Avx512: p16f_rows<TY>(j, r0, r1); break;
      case Impl::Avx2: p16f_rows_avx2<TY>(j, r0, r1); break;
      default: float_rows_scalar(j, r0, r1, f16seq_dot_scalar<TY>); break;
    }
    return;
  }
  switch (impl) {
    case Impl::Avx512: float_rows_avx512<TY>(j, r0, r1); break;
    case Impl::Scalar16: float_rows_scalar(j, r0, r1, float_dot_scalar<TY, 16>); break;
    case Impl::Avx2: float_rows_avx2<TY>(j, r0, r1); break;
    case Impl::Scalar8: float_rows_scalar(j, r0, r1, float_dot_scalar<TY, 8>); break;
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
  const bool k_simd = impl == Impl::Avx2 && cpu_has_avx2();
  switch (j.w->type) {
    case TensorType::F32: float_rows<TensorType::F32>(j, impl, r0, r1); break;
    case TensorType::F16: float_rows<TensorType::F16>(j, impl, r0, r1); break;
    case TensorType::BF16: float_rows<TensorType::BF16>(j, impl, r0, r1); break;
    case TensorType::Q8_0: q32_rows<TensorType::Q8_0>(j, impl, r0, r1); break;
    case TensorType::Q4_0: q32_rows<TensorType::Q4_0>(j, impl, r0, r1); break;
    case TensorType::Q4_K:
      // Lanes16: its own P16K contract; Lanes8: the shared 8-lane kernel.
      if (impl == Impl::Avx512) q4k_rows_avx512(j, r0, r1);
      else if (impl == Impl::Scalar16) quant_rows_scalar(j, r0, r1, q4k_dot_scalar16);
      else if (k_simd) k_rows_avx2(j, r0, r1);
      else quant_rows_scalar(j, r0, r1, q4k_dot_scalar);
      break;
    case TensorType::Q6_K:
      if (impl == Impl::Avx512) q6k_rows_avx512(j, r0, r1);
      else if (impl == Impl::Scalar16) quant_rows_scalar(j, r0, r1, q6k_dot_scalar16);
      else if (k_simd) k_rows_avx2(j, r0, r1);
      else quant_rows_scalar(j, r0, r1, q6k_dot_scalar);
      break;
    default: fail("matmul: unsupported tensor type {}", tensor_type_name(j.w->type));
  }
}

// Quantized activations of the current matmul (scratch64).
thread_local std::vector<uint8_t> t_act;
thread_local std::vector<uint8_t> t_act16;
// Activations (tokens x cols) from which their quantization is split
// between the pool's threads: a dispatch costs about a microsecond.
constexpr int64_t kParallelQuantizeMin = 4 * 2048;

// The Lanes16 quantized kernels read their activations transposed (T16,
// K16 or Q6T, one layout per type; see to_t16, to_k16, to_q6t).
bool reads_transposed(TensorType t, Impl impl) {
  return impl == Impl::Avx512 &&
         (t == TensorType::Q8_0 || t == TensorType::Q4_0 || t == TensorType::Q4_K || t == TensorType::Q6_K);
}

// Kernels that read a matrix of type t share quantized activations with
// those of type u (same format, and the same transposed layout under Lanes16)?
bool same_activations(TensorType t, TensorType u, Impl impl) {
  if (act_format(t) != act_format(u)) return false;
  const bool tq = reads_transposed(t, impl), uq = reads_transposed(u, impl);
  return tq == uq && (!tq || t == u);
}

// Outputs outs[0..n) over the same activations: one quantization of them
// and one dispatch over the concatenated rows (every row is still computed
// by its own matrix's kernel, so each output equals a lone matmul's).
void matmul_impl(const MatmulOut* outs, int n, const float* x, int64_t ldx, int n_tokens, ThreadPool* pool,
                 bool simd_allowed) {
  const Impl impl = current_impl(simd_allowed);
  const bool simd = impl == Impl::Avx2 || impl == Impl::Avx512;
  for (int m = 0; m < n; ++m)
    if (!matmul_supports(outs[m].w->type)) fail("matmul: unsupported tensor type {}", tensor_type_name(outs[m].w->type));
  if (n_tokens <= 0 || n <= 0) return;
  const WeightView& w = *outs[0].w;
  Job j{&w, x, ldx, nullptr, 0, n_tokens, outs[0].y, outs[0].ldy};
  const ActFormat f = act_format(w.type);
  if (f != ActFormat::Float) {
    j.act_stride = act_row_bytes(f, w.cols);
    // Aligned base: every token row then starts 32-byte aligned. The
    // buffers are the calling thread's; pool threads only fill their rows.
    uint8_t* base = scratch64(t_act, j.act_stride * n_tokens);
    const bool transposed = reads_transposed(w.type, impl);
    const size_t stride16 = !transposed ? 0 : w.type == TensorType::Q6_K ? q6t_row_bytes(w.cols) : t16_row_bytes(w.cols);
    uint8_t* base16 = transposed ? scratch64(t_act16, stride16 * n_tokens) : nullptr;
    // Token by token, so any split between threads gives the same bytes.
    auto quantize = [&](int64_t t0, int64_t t1, int) {
      for (int64_t t = t0; t < t1; ++t) {
        uint8_t* a = base + t * j.act_stride;
        if (simd) quantize_act_row(f, x + t * ldx, w.cols, a);
        else quantize_act_row_scalar(f, x + t * ldx, w.cols, a);
        if (!transposed) continue;
        uint8_t* a16 = base16 + t * stride16;
        if (w.type == TensorType::Q8_0) to_t16<TensorType::Q8_0>(a, w.cols, a16);
        else if (w.type == TensorType::Q4_0) to_t16<TensorType::Q4_0>(a, w.cols, a16);
        else if (w.type == TensorType::Q4_K) to_k16(a, w.cols, a16);
        else to_q6t(a, w.cols, a16);
      }
    };
    // A few microseconds a token on the caller alone, while the other
    // threads wait: 3-4 % of a 16-64 token Q4_0/Q8_0 pass.
    if (pool && pool->size() > 1 && static_cast<int64_t>(n_tokens) * w.cols >= kParallelQuantizeMin)
      pool->parallel_for(n_tokens, 1, quantize);
    else
      quantize(0, n_tokens, 0);
    j.act = transposed ? base16 : base;
    if (transposed) j.act_stride = stride16;
  }
  constexpr int kMaxOuts = 8;
  Job jobs[kMaxOuts];
  int64_t first_row[kMaxOuts + 1] = {0};
  int64_t work = 0;
  for (int m = 0; m < n; ++m) {
    jobs[m] = j;
    jobs[m].w = outs[m].w;
    jobs[m].y = outs[m].y;
    jobs[m].ldy = outs[m].ldy;
    first_row[m + 1] = first_row[m] + outs[m].w->rows;
    work += outs[m].w->rows * outs[m].w->cols * n_tokens;
  }
  auto rows = [&](int64_t r0, int64_t r1) {
    for (int m = 0; m < n; ++m) {
      const int64_t a = std::max(r0, first_row[m]), b = std::min(r1, first_row[m + 1]);
      if (a < b) run_rows(jobs[m], impl, a - first_row[m], b - first_row[m]);
    }
  };
  // Threads only pay off above a few tens of microseconds of work. Up to
  // ~2M multiply-adds (tens of microseconds) one chunk per thread: each
  // chunk claimed and counted moves the pool's two shared cache lines
  // between cores, ~1.5 us a dispatch with 4 chunks per thread against
  // ~0.5 us with 1 (a 3 us job); bigger ones keep the balanced split.
  auto body = [&](int64_t r0, int64_t r1, int) { rows(r0, r1); };
  if (!pool || pool->size() == 1 || work < (int64_t{1} << 17)) rows(0, first_row[n]);
  else if (work < (int64_t{1} << 21)) pool->parallel_for(first_row[n], 16, body);
  else pool->parallel_for_balanced(first_row[n], 16, body);
}

void matmul_multi_impl(const MatmulOut* outs, int n, const float* x, int64_t ldx, int n_tokens, ThreadPool* pool,
                       bool simd_allowed) {
  const Impl impl = current_impl(simd_allowed);
  // Runs of outputs that can share activations go together.
  for (int a = 0; a < n;) {
    int b = a + 1;
    while (b < n && b - a < 8 && outs[b].w->cols == outs[a].w->cols &&
           same_activations(outs[a].w->type, outs[b].w->type, impl))
      ++b;
    matmul_impl(outs + a, b - a, x, ldx, n_tokens, pool, simd_allowed);
    a = b;
  }
}

}  // namespace

size_t row_size(TensorType type, int64_t cols) {
  const auto info = tensor_type_info(static_cast<uint32_t>(type));
  if (!info) fail("unknown tensor type {}", static_cast<uint32_t>(type));
  return static_cast<size_t>(cols / info->block_elems) * info->block_bytes;
}

bool matmul_supports(TensorType type) { return quant_supports(type); }

void matmul(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy, ThreadPool* pool) {
  const MatmulOut o{&w, y, ldy};
  matmul_impl(&o, 1, x, ldx, n_tokens, pool, true);
}

void matmul_multi(const MatmulOut* outs, int n_outs, const float* x, int64_t ldx, int n_tokens, ThreadPool* pool) {
  matmul_multi_impl(outs, n_outs, x, ldx, n_tokens, pool, true);
}

void matmul_scalar(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy) {
  const MatmulOut o{&w, y, ldy};
  matmul_impl(&o, 1, x, ldx, n_tokens, nullptr, false);
}

void dequantize_row(const WeightView& w, int64_t r, float* out) {
  if (!matmul_supports(w.type)) fail("dequantize: unsupported tensor type {}", tensor_type_name(w.type));
  dequantize_row_raw(w.type, w.data + r * w.row_bytes, w.cols, out);
}

}  // namespace lookahead
