#include "ops/attention.h"

#include "ops/hsum.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <immintrin.h>

#include "ops/cpu_features.h"
#include "ops/exp_poly.h"
#include "ops/prefetch.h"
#include "util/fp16.h"

// GCC 12's AVX-512 headers (broadcast/extract with _mm*_undefined_*()) trip
// these warnings when inlined; the undefined lanes are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lookahead {
namespace {
// Keys (value rows) ahead that the prefix loops prefetch: a decode token's
// keys come from memory (the layer's weights went through the caches since
// the last token), and the hardware prefetchers alone left a 1024-key
// TinyLlama attention at ~11 GB/s (Q4_0, 2 threads: 3.6 -> 2.7 ms a token;
// 32 ahead 3.1-3.4).
constexpr int64_t kAhead = 16;
// The same for the tiled path's 16-key blocks of the shared prefix, two
// blocks ahead (16 tokens over 1024 keys: -5 %, 64 tokens -2 %).
constexpr int64_t kTileAhead = 32;

// The operation sequence both twins follow, per head:
//   score_j = (hsum8 of 8 FMA lanes over head_dim, then a mul+add tail) * scale
//   m = max_j score_j;  e_j = exp_poly(score_j - m)
//   sum = hsum8 of lanes (lane j % 8 adds e_j for j < n8 keys), then + e_j tail
//   out[i] = fma(e_j, v_j[i], out[i]) for j in order;  out[i] *= 1/sum
// exp_poly (ops/exp_poly.h) is our own exp whose scalar and AVX2 versions
// agree bit for bit.

using simd::exp_poly8;
using simd::exp_poly16;
using simd::exp_poly_scalar;
using simd::hsum8;
using simd::hsum8_scalar;

template <typename T>
inline float ld(const T* p, int64_t i) {
  if constexpr (sizeof(T) == 4) return p[i];
  else return fp16_to_fp32(p[i]);
}

template <typename T>
__attribute__((target("avx2,fma,f16c"))) inline __m256 ld8(const T* p) {
  if constexpr (sizeof(T) == 4) return _mm256_loadu_ps(p);
  else return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline int64_t key_row(int64_t j, int64_t n_prefix, const int32_t* extra) {
  return j < n_prefix ? j : extra[j - n_prefix];
}

template <typename T>
void attention_scalar(const AttentionShape& s, const float* q, const T* k, const T* v, int64_t n_prefix,
                      const int32_t* extra, int64_t n_extra, float* scores, float* out, int h0, int h1) {
  const int64_t row = s.row_stride();
  const int group = s.n_head / s.n_head_kv;
  const int64_t n_keys = n_prefix + n_extra;
  const int hd = s.head_dim, hd8 = hd & ~7;
  const int64_t nk8 = n_keys & ~int64_t{7};
  for (int h = h0; h < h1; ++h) {
    const float* qh = q + static_cast<int64_t>(h) * hd;
    const int64_t off = s.head_offset(h / group);
    float mx = -INFINITY;
    for (int64_t j = 0; j < n_keys; ++j) {
      const T* kr = k + key_row(j, n_prefix, extra) * row + off;
      float lane[8] = {};
      for (int i = 0; i < hd8; i += 8)
        for (int l = 0; l < 8; ++l) lane[l] = std::fmaf(qh[i + l], ld(kr, i + l), lane[l]);
      float d = hsum8_scalar(lane);
      for (int i = hd8; i < hd; ++i) {
        const float p = qh[i] * ld(kr, i);
        d = d + p;
      }
      d = d * s.scale;
      scores[j] = d;
      mx = d > mx ? d : mx;
    }
    float lane[8] = {};
    for (int64_t j = 0; j < nk8; ++j) {
      scores[j] = exp_poly_scalar(scores[j] - mx);
      lane[j % 8] = lane[j % 8] + scores[j];
    }
    float sum = hsum8_scalar(lane);
    for (int64_t j = nk8; j < n_keys; ++j) {
      scores[j] = exp_poly_scalar(scores[j] - mx);
      sum = sum + scores[j];
    }
    float* oh = out + static_cast<int64_t>(h) * hd;
    for (int i = 0; i < hd; ++i) oh[i] = 0.0f;
    for (int64_t j = 0; j < n_keys; ++j) {
      const T* vr = v + key_row(j, n_prefix, extra) * row + off;
      for (int i = 0; i < hd; ++i) oh[i] = std::fmaf(scores[j], ld(vr, i), oh[i]);
    }
    const float inv = 1.0f / sum;
    for (int i = 0; i < hd; ++i) oh[i] = oh[i] * inv;
  }
}

// AVX2 twin; requires head_dim % 8 == 0 (callers fall back otherwise).
// Heads that share a KV head (grouped-query attention) go G at a time so a
// key or value row is loaded once for all of them; every (head, key) still
// runs exactly the per-head operation sequence above.

#define LK_ATT_AVX2 __attribute__((always_inline, target("avx2,fma,f16c"))) inline

// Scores of G heads (queries qh[g]) over all keys into sc[g][0..n_keys).
template <typename T, int G>
LK_ATT_AVX2 void scores_group(const float* const* qh, const T* k, int64_t row, int64_t off, int64_t n_prefix,
                              const int32_t* extra, int64_t n_keys, int hd, float scale, float* const* sc,
                              int64_t j0 = 0) {
  int64_t j = j0;
  // Four keys at a time: independent FMA chains.
  for (; j + 4 <= n_keys; j += 4) {
    const T* kr[4];
    for (int u = 0; u < 4; ++u) kr[u] = k + key_row(j + u, n_prefix, extra) * row + off;
    __m256 a[G][4];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) a[g][u] = _mm256_setzero_ps();
    for (int i = 0; i < hd; i += 8) {
      __m256 kv[4];
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) kv[u] = ld8(kr[u] + i);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        const __m256 qv = _mm256_loadu_ps(qh[g] + i);
#pragma GCC unroll 4
        for (int u = 0; u < 4; ++u) a[g][u] = _mm256_fmadd_ps(qv, kv[u], a[g][u]);
      }
    }
    for (int g = 0; g < G; ++g)
      for (int u = 0; u < 4; ++u) sc[g][j + u] = hsum8(a[g][u]) * scale;
  }
  for (; j < n_keys; ++j) {
    const T* kr = k + key_row(j, n_prefix, extra) * row + off;
    for (int g = 0; g < G; ++g) {
      __m256 a = _mm256_setzero_ps();
      for (int i = 0; i < hd; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(qh[g] + i), ld8(kr + i), a);
      sc[g][j] = hsum8(a) * scale;
    }
  }
}

// The largest score, 8 lanes at a time (the scalar loop was ~15 % of the
// attention time). max is exact, so any order finds the twin's value; a NaN
// score is skipped as there (max_ps returns its second operand, the running
// max, when the first is NaN). Only a zero maximum's sign may differ, and
// exp(score - max) is the same for either.
LK_ATT_AVX2 float scores_max(const float* scores, int64_t n_keys) {
  const int64_t nk8 = n_keys & ~int64_t{7};
  __m256 vm = _mm256_set1_ps(-INFINITY);
  for (int64_t jj = 0; jj < nk8; jj += 8) vm = _mm256_max_ps(_mm256_loadu_ps(scores + jj), vm);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vm);
  float mx = -INFINITY;
  for (float m : lanes) mx = m > mx ? m : mx;
  for (int64_t jj = nk8; jj < n_keys; ++jj) mx = scores[jj] > mx ? scores[jj] : mx;
  return mx;
}

// Keys [j, n_keys) -> exp(score - mx) in place: 8 at a time into the 8-lane
// sum vs (lane l: keys j + l, j + 8 + l, ...), then hsum8, then the tail one
// by one. Returns the sum.
LK_ATT_AVX2 float exp_sum_from(float* scores, int64_t j, int64_t n_keys, float mx, __m256 vs) {
  const __m256 vmx = _mm256_set1_ps(mx);
  for (; j + 8 <= n_keys; j += 8) {
    const __m256 e = exp_poly8(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vmx));
    _mm256_storeu_ps(scores + j, e);
    vs = _mm256_add_ps(vs, e);
  }
  float sum = hsum8(vs);
  for (; j < n_keys; ++j) {
    scores[j] = exp_poly_scalar(scores[j] - mx);
    sum = sum + scores[j];
  }
  return sum;
}

// Scores -> exp(score - max) in place; returns their sum (fixed order).
LK_ATT_AVX2 float softmax_numerators(float* scores, int64_t n_keys) {
  return exp_sum_from(scores, 0, n_keys, scores_max(scores, n_keys), _mm256_setzero_ps());
}

// One head set of the AVX2 family (ng <= 2 heads of the KV head rows at
// `off`; two heads' score chains fill the 16 ymm registers): the scores of
// every key into sc, then the softmax: sc[g] becomes the numerators,
// sums[g] their sum. head_scores512 is the AVX-512 form.
template <typename T>
LK_ATT_AVX2 void head_scores_avx2(int ng, const float* const* qh, float* const* sc, float* sums, const T* k,
                                  int64_t row, int64_t off, int64_t n_prefix, const int32_t* extra, int64_t n_keys,
                                  int hd, float scale) {
  if (ng == 2) scores_group<T, 2>(qh, k, row, off, n_prefix, extra, n_keys, hd, scale, sc);
  else scores_group<T, 1>(qh, k, row, off, n_prefix, extra, n_keys, hd, scale, sc);
  for (int g = 0; g < ng; ++g) sums[g] = softmax_numerators(sc[g], n_keys);
}

// The value sums' last step, as the twin: out[0 .. 8 n) = acc[0 .. n) * (1 / sum).
LK_ATT_AVX2 void store_normalized(const __m256* acc, int n, float sum, float* out) {
  const __m256 vinv = _mm256_set1_ps(1.0f / sum);
  for (int u = 0; u < n; ++u) _mm256_storeu_ps(out + 8 * u, _mm256_mul_ps(acc[u], vinv));
}

// Weighted values of V heads sharing a KV head: oh[g] = sum_j e[g][j] * v_j
// / sums[g]. The outputs stay in registers (head_dim <= 64 per pass; larger
// heads go in 64-wide column blocks). A block's vector count is a template
// constant (NV; 0: nv at run time, for the last block of odd head sizes):
// a run-time test inside the key loop made GCC track which accumulators
// were set, a dozen extra instructions per key.
template <typename T, int V, int NV>
LK_ATT_AVX2 void values_cols(const T* v, int64_t row, int64_t off, int64_t n_prefix, const int32_t* extra,
                             int64_t n_keys, float* const* e, const float* sums, float* const* oh, int c0, int nv) {
  constexpr int kMax = NV > 0 ? NV : 8;
  const int n_vec = NV > 0 ? NV : nv;
  __m256 acc[V][kMax];
#pragma GCC unroll 4
  for (int g = 0; g < V; ++g)
#pragma GCC unroll 8
    for (int u = 0; u < kMax; ++u) acc[g][u] = _mm256_setzero_ps();
  for (int64_t jj = 0; jj < n_keys; ++jj) {
    const T* vr = v + key_row(jj, n_prefix, extra) * row + off + c0;
    __m256 p[V];
#pragma GCC unroll 4
    for (int g = 0; g < V; ++g) p[g] = _mm256_set1_ps(e[g][jj]);
#pragma GCC unroll 8
    for (int u = 0; u < n_vec; ++u) {
      const __m256 vv = ld8(vr + 8 * u);
#pragma GCC unroll 4
      for (int g = 0; g < V; ++g) acc[g][u] = _mm256_fmadd_ps(p[g], vv, acc[g][u]);
    }
  }
  for (int g = 0; g < V; ++g) store_normalized(acc[g], n_vec, sums[g], oh[g] + c0);
}

template <typename T, int V>
LK_ATT_AVX2 void values_group(const T* v, int64_t row, int64_t off, int64_t n_prefix, const int32_t* extra,
                              int64_t n_keys, int hd, float* const* e, const float* sums, float* const* oh) {
  for (int c0 = 0; c0 < hd; c0 += 64) {
    const int nv = (hd - c0 >= 64 ? 64 : hd - c0) / 8;
    if (nv == 8) values_cols<T, V, 8>(v, row, off, n_prefix, extra, n_keys, e, sums, oh, c0, nv);
    else values_cols<T, V, 0>(v, row, off, n_prefix, extra, n_keys, e, sums, oh, c0, nv);
  }
}

// Small heads (head_dim 8 or 16). A head set's value sums are then one or
// two accumulator chains that wait on the FMA latency key after key (with
// stories260K's 8-dim heads, 2 per KV head, most of a lookahead step), so
// the value pass runs kSmallRows query rows side by side instead: each row
// still does exactly the per-head sequence (out[i] = fma(e_j, v_j[i],
// out[i]) over its keys in order, then * 1 / sum), only interleaved.
constexpr int kSmallRows = 12;

// Value sums of RR rows of NV ymm each: the shared prefix keys [0, n_prefix)
// (SHARED: every row reads one KV head, at off[0], so one load of a value
// row serves them all; else row r reads at off[r]), then row r's
// n_extra[r] keys extra[r][..], the rows side by side, each step's sum kept
// only where the row has that key (a blend, so a row with fewer keys keeps
// its sums). e[r][j]: key j's numerator. Both families (AVX2 code; 12 ymm
// accumulators fit AVX2's 16 registers).
template <typename T, int RR, int NV, bool SHARED>
LK_ATT_AVX2 void values_rows(const T* v, int64_t row, const int64_t* off, int64_t n_prefix, const int32_t* const* extra,
                            const int64_t* n_extra, const float* const* e, const float* sums, float* const* oh) {
  __m256 acc[RR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < RR; ++r)
#pragma GCC unroll 2
    for (int u = 0; u < NV; ++u) acc[r][u] = _mm256_setzero_ps();
  for (int64_t j = 0; j < n_prefix; ++j) {
    if constexpr (SHARED) {
      const T* vr = v + j * row + off[0];
      __m256 vv[NV];
#pragma GCC unroll 2
      for (int u = 0; u < NV; ++u) vv[u] = ld8(vr + 8 * u);
#pragma GCC unroll 16
      for (int r = 0; r < RR; ++r) {
        const __m256 p = _mm256_set1_ps(e[r][j]);
#pragma GCC unroll 2
        for (int u = 0; u < NV; ++u) acc[r][u] = _mm256_fmadd_ps(p, vv[u], acc[r][u]);
      }
    } else {
#pragma GCC unroll 16
      for (int r = 0; r < RR; ++r) {
        const T* vr = v + j * row + off[r];
        const __m256 p = _mm256_set1_ps(e[r][j]);
#pragma GCC unroll 2
        for (int u = 0; u < NV; ++u) acc[r][u] = _mm256_fmadd_ps(p, ld8(vr + 8 * u), acc[r][u]);
      }
    }
  }
  int64_t max_extra = 0;
  for (int r = 0; r < RR; ++r) max_extra = std::max(max_extra, n_extra[r]);
  for (int64_t m = 0; m < max_extra; ++m) {
#pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      const bool on = m < n_extra[r];
      // Off: cache row 0 and a zero weight, both ignored under the mask.
      const T* vr = v + (on ? extra[r][m] : 0) * row + off[r];
      const __m256 p = _mm256_set1_ps(on ? e[r][n_prefix + m] : 0.0f);
      const __m256 keep = _mm256_castsi256_ps(_mm256_set1_epi32(on ? -1 : 0));
#pragma GCC unroll 2
      for (int u = 0; u < NV; ++u)
        acc[r][u] = _mm256_blendv_ps(acc[r][u], _mm256_fmadd_ps(p, ld8(vr + 8 * u), acc[r][u]), keep);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < RR; ++r) store_normalized(acc[r], NV, sums[r], oh[r]);
}

// The per-row inputs of one values_rows pass (see there).
struct SmallRows {
  int64_t off[kSmallRows], n_extra[kSmallRows];
  const int32_t* extra[kSmallRows];
  const float* e[kSmallRows];
  float sums[kSmallRows];
  float* oh[kSmallRows];
  void set(int r, int64_t o, const int32_t* x, int64_t nx, const float* er, float* out) {
    off[r] = o;
    extra[r] = x;
    n_extra[r] = nx;
    e[r] = er;
    oh[r] = out;
  }
};

template <typename T, int RR, int NV, bool SHARED>
LK_ATT_AVX2 void values_rows_of(const T* v, int64_t row, int64_t n_prefix, const SmallRows& rows) {
  values_rows<T, RR, NV, SHARED>(v, row, rows.off, n_prefix, rows.extra, rows.n_extra, rows.e, rows.sums, rows.oh);
}

// values_rows over rows [0, n) of `rows` (n <= kSmallRows, head_dim 8 or
// 16): the missing rows repeat row 0's inputs into a dummy output.
template <typename T, bool SHARED>
LK_ATT_AVX2 void values_small(int n, int hd, const T* v, int64_t row, int64_t n_prefix, SmallRows& rows) {
  alignas(32) float dummy[16];
  for (int r = n; r < kSmallRows; ++r) {
    rows.set(r, rows.off[0], rows.extra[0], rows.n_extra[0], rows.e[0], dummy);
    rows.sums[r] = rows.sums[0];
  }
  // As many accumulators as rows (a decode thread's 4 heads need not pay
  // for 12), in steps of 4 (hd 8) or 2 (hd 16).
  const int lanes = n * (hd / 8);  // ymm accumulators the rows need
  if (lanes <= 4) hd == 8 ? values_rows_of<T, 4, 1, SHARED>(v, row, n_prefix, rows)
                          : values_rows_of<T, 2, 2, SHARED>(v, row, n_prefix, rows);
  else if (lanes <= 8) hd == 8 ? values_rows_of<T, 8, 1, SHARED>(v, row, n_prefix, rows)
                               : values_rows_of<T, 4, 2, SHARED>(v, row, n_prefix, rows);
  else hd == 8 ? values_rows_of<T, kSmallRows, 1, SHARED>(v, row, n_prefix, rows)
               : values_rows_of<T, kSmallRows / 2, 2, SHARED>(v, row, n_prefix, rows);
}

// attention_heads' per-token path for head_dim 8 or 16: the heads in chunks
// of kSmallRows (hd 8) or kSmallRows / 2 (hd 16), each chunk's scores and
// softmax head set by head set (scores(ng, qh, sc, sums, kvh): the
// family's) into its own score rows, then one values_rows pass.
template <typename T, typename Scores>
LK_ATT_AVX2 void attention_small(const AttentionShape& s, int set_max, const float* q, const T* v, int64_t n_prefix,
                                 const int32_t* extra, int64_t n_extra, float* scores, float* out, int h0, int h1,
                                 Scores&& head_scores) {
  const int group = s.n_head / s.n_head_kv;
  const int64_t n_keys = n_prefix + n_extra;
  const int hd = s.head_dim, chunk = hd == 8 ? kSmallRows : kSmallRows / 2;
  SmallRows rows;
  for (int c0 = h0; c0 < h1; c0 += chunk) {
    const int c1 = std::min(h1, c0 + chunk);
    for (int h = c0; h < c1;) {
      const int kvh = h / group;
      const int ng = std::min(set_max, std::min(c1, (kvh + 1) * group) - h);
      const float* qh[kAttentionHeadSet];
      float* sc[kAttentionHeadSet];
      for (int g = 0; g < ng; ++g) {
        const int r = h + g - c0;
        qh[g] = q + static_cast<int64_t>(h + g) * hd;
        sc[g] = scores + r * n_keys;
        rows.set(r, s.head_offset(kvh), extra, n_extra, sc[g], out + static_cast<int64_t>(h + g) * hd);
      }
      head_scores(ng, qh, sc, rows.sums + (h - c0), kvh);
      h += ng;
    }
    values_small<T, false>(c1 - c0, hd, v, s.row_stride(), n_prefix, rows);
  }
}

// attention_kv_head for head_dim 8 or 16: per token its keys' scores from
// j0 on and the softmax, head set by head set (scores(ng, qh, sc, sums, t):
// the family's; the keys before j0 are already in the score rows), then the
// value sums of up to kSmallRows rows of several tokens at a time over the
// shared prefix and their own rows. sc_row(r): query row r's scores (r = t
// * group + head within the KV head); sums: one float per row.
template <typename T, typename ScRow, typename Scores>
LK_ATT_AVX2 void kv_head_small(const AttentionShape& s, int kvh, const AttentionQuery* qs, int nq, const T* v,
                               int64_t n_prefix, int set_max, ScRow&& sc_row, float* sums, Scores&& head_scores) {
  const int group = s.n_head / s.n_head_kv, hd = s.head_dim;
  const int rows = nq * group;
  for (int t = 0; t < nq; ++t)
    for (int h = 0; h < group;) {
      const int ng = std::min(set_max, group - h);
      const float* qh[kAttentionHeadSet];
      float* sc[kAttentionHeadSet];
      for (int g = 0; g < ng; ++g) {
        qh[g] = qs[t].q + static_cast<int64_t>(kvh * group + h + g) * hd;
        sc[g] = sc_row(t * group + h + g);
      }
      head_scores(ng, qh, sc, sums + t * group + h, t);
      h += ng;
    }
  const int chunk = hd == 8 ? kSmallRows : kSmallRows / 2;
  SmallRows rs;
  for (int r0 = 0; r0 < rows; r0 += chunk) {
    const int n = std::min(rows - r0, chunk);
    for (int i = 0; i < n; ++i) {
      const int r = r0 + i, t = r / group;
      rs.set(i, s.head_offset(kvh), qs[t].extra, qs[t].n_extra, sc_row(r),
             qs[t].out + static_cast<int64_t>(kvh * group + r % group) * hd);
      rs.sums[i] = sums[r];
    }
    values_small<T, true>(n, hd, v, s.row_stride(), n_prefix, rs);
  }
}

// kv_head_small with the AVX2 scores (no transposed key tile: every key
// through scores_group), for the Lanes8 family.
template <typename T>
__attribute__((target("avx2,fma,f16c"))) void attention_kv_head_small_avx2(const AttentionShape& s, int kvh,
                                                                           const AttentionQuery* qs, int nq,
                                                                           const T* k, const T* v, int64_t n_prefix,
                                                                           float* scratch) {
  int64_t n_keys_max = n_prefix;
  for (int t = 0; t < nq; ++t) n_keys_max = std::max(n_keys_max, n_prefix + qs[t].n_extra);
  const int64_t stride = (n_keys_max + 15) / 16 * 16;
  const int64_t row = s.row_stride(), off = s.head_offset(kvh);
  auto sc_row = [&](int r) { return scratch + static_cast<int64_t>(r) * stride; };
  float* sums = scratch + static_cast<int64_t>(nq) * (s.n_head / s.n_head_kv) * stride;
  kv_head_small(s, kvh, qs, nq, v, n_prefix, 2, sc_row, sums,
                [&](int ng, const float* const* qh, float* const* sc, float* sm, int t)
                    __attribute__((target("avx2,fma,f16c"))) {
                      head_scores_avx2(ng, qh, sc, sm, k, row, off, n_prefix, qs[t].extra, n_prefix + qs[t].n_extra,
                                       s.head_dim, s.scale);
                    });
}

// ---- AVX-512 forms of the same operations ----------------------------------------
// Scores: a zmm holds two keys' 8-lane chains side by side (lanes 0-7 key j,
// 8-15 key j+1; the query's 8 dims broadcast to both halves), each half then
// summed by hsum8: per key exactly the ymm sequence. Values are element-wise
// (out[i] = fma(e_j, v_j[i], out[i]) in key order), so 16 dims per zmm give
// the same bits too.

#define LK_ATT_512 __attribute__((always_inline, target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c"))) inline

template <typename T>
LK_ATT_512 __m512 ld8x2(const T* a, const T* b) {
  if constexpr (sizeof(T) == 4)
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a)), _mm256_loadu_ps(b), 1);
  else
    return _mm512_cvtph_ps(_mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)),
                                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(a))));
}

template <typename T>
LK_ATT_512 __m512 ld16(const T* p) {
  if constexpr (sizeof(T) == 4) return _mm512_loadu_ps(p);
  else return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// hsum8 of the 8 keys held by a[0..4) (a[u]: key 2u in lanes 0-7, key
// 2u+1 in 8-15), all at once: every step adds the same lane pairs as hsum8
// (l_i + l_{i+4}, then s0 + s2 and s1 + s3, then t0 + t1), only with the
// keys side by side, so each key's sum is hsum8's bit for bit. Returns keys
// 0..7 in order.
LK_ATT_512 __m256 hsum8_x8(const __m512* a) {
  // Step 1: 128-bit halves of each key. P/Q: low/high halves of keys 0-3
  // (and 4-7), one key per 128-bit chunk.
  const __m512 s03 = _mm512_add_ps(_mm512_shuffle_f32x4(a[0], a[1], 0x88), _mm512_shuffle_f32x4(a[0], a[1], 0xdd));
  const __m512 s47 = _mm512_add_ps(_mm512_shuffle_f32x4(a[2], a[3], 0x88), _mm512_shuffle_f32x4(a[2], a[3], 0xdd));
  // Step 2: chunk c holds [s0 s1] and [s2 s3] of keys c and c + 4.
  const __m512 t = _mm512_add_ps(_mm512_shuffle_ps(s03, s47, 0x44), _mm512_shuffle_ps(s03, s47, 0xee));
  // Step 3: chunk c = [t0 t1 (key c), t0 t1 (key c+4)] -> lanes 0, 1: keys c, c + 4.
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(t, t, 0x08), _mm512_shuffle_ps(t, t, 0x0d));
  // Lane 4c = key c, lane 4c + 1 = key c + 4.
  const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_castps512_ps256(_mm512_permutexvar_ps(idx, r));
}

template <typename T, int G>
LK_ATT_512 void scores_group512(const float* const* qh, const T* k, int64_t row, int64_t off, int64_t n_prefix,
                                const int32_t* extra, int64_t n_keys, int hd, float scale, float* const* sc,
                                int64_t j0 = 0) {
  int64_t j = j0;
  // Eight keys (four pairs) at a time.
  for (; j + 8 <= n_keys; j += 8) {
    const T* kr[8];
    for (int u = 0; u < 8; ++u) kr[u] = k + key_row(j + u, n_prefix, extra) * row + off;
    // Inside the prefix the 8 keys are consecutive rows.
    if (j + 8 + kAhead <= n_prefix) prefetch_rows(kr[0] + kAhead * row, 8, row * sizeof(T), hd * sizeof(T));
    __m512 a[G][4];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) a[g][u] = _mm512_setzero_ps();
    for (int i = 0; i < hd; i += 8) {
      __m512 kv[4];
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) kv[u] = ld8x2(kr[2 * u] + i, kr[2 * u + 1] + i);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        const __m512 qv = _mm512_broadcast_f32x8(_mm256_loadu_ps(qh[g] + i));
#pragma GCC unroll 4
        for (int u = 0; u < 4; ++u) a[g][u] = _mm512_fmadd_ps(qv, kv[u], a[g][u]);
      }
    }
    for (int g = 0; g < G; ++g) _mm256_storeu_ps(sc[g] + j, _mm256_mul_ps(hsum8_x8(a[g]), _mm256_set1_ps(scale)));
  }
  if (j < n_keys) scores_group<T, G>(qh, k, row, off, n_prefix, extra, n_keys, hd, scale, sc, j);
}

// values_cols / values_group with 16 dims per zmm; head_dim % 16 == 0 only.
template <typename T, int V, int NV>
LK_ATT_512 void values_cols512(const T* v, int64_t row, int64_t off, int64_t n_prefix, const int32_t* extra,
                               int64_t n_keys, float* const* e, const float* sums, float* const* oh, int c0) {
  __m512 acc[V][NV];
#pragma GCC unroll 4
  for (int g = 0; g < V; ++g)
#pragma GCC unroll 4
    for (int u = 0; u < NV; ++u) acc[g][u] = _mm512_setzero_ps();
  for (int64_t jj = 0; jj < n_keys; ++jj) {
    const T* vr = v + key_row(jj, n_prefix, extra) * row + off + c0;
    if (jj + kAhead < n_prefix) prefetch_rows<1, NV * 16 * sizeof(T)>(vr + kAhead * row, 0);
    __m512 p[V];
#pragma GCC unroll 4
    for (int g = 0; g < V; ++g) p[g] = _mm512_set1_ps(e[g][jj]);
#pragma GCC unroll 4
    for (int u = 0; u < NV; ++u) {
      const __m512 vv = ld16(vr + 16 * u);
#pragma GCC unroll 4
      for (int g = 0; g < V; ++g) acc[g][u] = _mm512_fmadd_ps(p[g], vv, acc[g][u]);
    }
  }
  for (int g = 0; g < V; ++g) {
    const __m512 vinv = _mm512_set1_ps(1.0f / sums[g]);
    for (int u = 0; u < NV; ++u) _mm512_storeu_ps(oh[g] + c0 + 16 * u, _mm512_mul_ps(acc[g][u], vinv));
  }
}

template <typename T, int V>
LK_ATT_512 void values_group512(const T* v, int64_t row, int64_t off, int64_t n_prefix, const int32_t* extra,
                                int64_t n_keys, int hd, float* const* e, const float* sums, float* const* oh) {
  for (int c0 = 0; c0 < hd; c0 += 64) {
    switch ((hd - c0 >= 64 ? 64 : hd - c0) / 16) {
      case 4: values_cols512<T, V, 4>(v, row, off, n_prefix, extra, n_keys, e, sums, oh, c0); break;
      case 3: values_cols512<T, V, 3>(v, row, off, n_prefix, extra, n_keys, e, sums, oh, c0); break;
      case 2: values_cols512<T, V, 2>(v, row, off, n_prefix, extra, n_keys, e, sums, oh, c0); break;
      default: values_cols512<T, V, 1>(v, row, off, n_prefix, extra, n_keys, e, sums, oh, c0); break;
    }
  }
}

// softmax_numerators with 16 keys per exp (exp_poly16: exp_poly8's
// operations lane by lane), each half added into the 8-lane sum as the
// AVX2 loop adds its two 8-key steps: the same bits, half the exp work
// (the ymm exp was ~12 % of attention).
LK_ATT_512 float softmax_numerators512(float* scores, int64_t n_keys) {
  const float mx = scores_max(scores, n_keys);
  const __m512 vmx = _mm512_set1_ps(mx);
  __m256 vs = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n_keys; j += 16) {
    const __m512 e = exp_poly16(_mm512_sub_ps(_mm512_loadu_ps(scores + j), vmx));
    _mm512_storeu_ps(scores + j, e);
    vs = _mm256_add_ps(vs, _mm512_castps512_ps256(e));
    vs = _mm256_add_ps(vs, _mm512_extractf32x8_ps(e, 1));
  }
  return exp_sum_from(scores, j, n_keys, mx, vs);
}

// One head set (ng <= 4 heads of KV head rows at `off`): scores of keys
// [j0, n_keys) into sc (keys before j0 already there), then the softmax:
// sc[g] becomes the numerators, sums[g] their sum.
template <typename T>
LK_ATT_512 void head_scores512(int ng, const float* const* qh, float* const* sc, float* sums, const T* k,
                               int64_t row, int64_t off, int64_t n_prefix, const int32_t* extra, int64_t n_keys,
                               int hd, float scale, int64_t j0) {
  switch (ng) {
    case 4: scores_group512<T, 4>(qh, k, row, off, n_prefix, extra, n_keys, hd, scale, sc, j0); break;
    case 3: scores_group512<T, 3>(qh, k, row, off, n_prefix, extra, n_keys, hd, scale, sc, j0); break;
    case 2: scores_group512<T, 2>(qh, k, row, off, n_prefix, extra, n_keys, hd, scale, sc, j0); break;
    default: scores_group512<T, 1>(qh, k, row, off, n_prefix, extra, n_keys, hd, scale, sc, j0); break;
  }
  for (int g = 0; g < ng; ++g) sums[g] = softmax_numerators512(sc[g], n_keys);
}

// head_scores512, then the value sums into oh.
template <typename T>
LK_ATT_512 void head_set512(int ng, const float* const* qh, float* const* sc, float* const* oh, const T* k,
                            const T* v, int64_t row, int64_t off, int64_t n_prefix, const int32_t* extra,
                            int64_t n_keys, int hd, float scale, int64_t j0) {
  float sums[kAttentionHeadSet];
  head_scores512(ng, qh, sc, sums, k, row, off, n_prefix, extra, n_keys, hd, scale, j0);
  if (hd % 16 == 0) {
    switch (ng) {
      case 4: values_group512<T, 4>(v, row, off, n_prefix, extra, n_keys, hd, sc, sums, oh); break;
      case 3: values_group512<T, 3>(v, row, off, n_prefix, extra, n_keys, hd, sc, sums, oh); break;
      case 2: values_group512<T, 2>(v, row, off, n_prefix, extra, n_keys, hd, sc, sums, oh); break;
      default: values_group512<T, 1>(v, row, off, n_prefix, extra, n_keys, hd, sc, sums, oh); break;
    }
  } else {
    for (int g = 0; g < ng; ++g) values_group<T, 1>(v, row, off, n_prefix, extra, n_keys, hd, sc + g, sums + g, oh + g);
  }
}

// Heads [h0, h1) in sets of up to 4 per KV head, AVX-512 forms.
template <typename T>
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c"))) void attention_avx512(
    const AttentionShape& s, const float* q, const T* k, const T* v, int64_t n_prefix, const int32_t* extra,
    int64_t n_extra, float* scores, float* out, int h0, int h1) {
  const int64_t row = s.row_stride();
  const int group = s.n_head / s.n_head_kv;
  const int64_t n_keys = n_prefix + n_extra;
  const int hd = s.head_dim;
  if (hd <= 16) {
    attention_small(s, kAttentionHeadSet, q, v, n_prefix, extra, n_extra, scores, out, h0, h1,
                    [&](int ng, const float* const* qh, float* const* sc, float* sums, int kvh)
                        __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c"))) {
                          head_scores512(ng, qh, sc, sums, k, row, s.head_offset(kvh), n_prefix, extra, n_keys, hd,
                                         s.scale, 0);
                        });
    return;
  }
  for (int h = h0; h < h1;) {
    const int kvh = h / group;
    const int ng = std::min(kAttentionHeadSet, std::min(h1, (kvh + 1) * group) - h);
    const float* qh[kAttentionHeadSet];
    float* sc[kAttentionHeadSet];
    float* oh[kAttentionHeadSet];
    for (int g = 0; g < ng; ++g) {
      qh[g] = q + static_cast<int64_t>(h + g) * hd;
      sc[g] = scores + g * n_keys;
      oh[g] = out + static_cast<int64_t>(h + g) * hd;
    }
    head_set512(ng, qh, sc, oh, k, v, row, s.head_offset(kvh), n_prefix, extra, n_keys, hd, s.scale, 0);
    h += ng;
  }
}

// Heads [h0, h1) in sets of up to 2 heads per KV head (16 ymm registers:
// 2 heads x 4 keys of score chains), values one head at a time.
// scores: kAttentionHeadSet score rows of n_keys floats.
template <typename T>
__attribute__((target("avx2,fma,f16c"))) void attention_avx2(const AttentionShape& s, const float* q, const T* k,
                                                             const T* v, int64_t n_prefix, const int32_t* extra,
                                                             int64_t n_extra, float* scores, float* out, int h0, int h1) {
  const int64_t row = s.row_stride();
  const int group = s.n_head / s.n_head_kv;
  const int64_t n_keys = n_prefix + n_extra;
  const int hd = s.head_dim;
  if (hd <= 16) {
    attention_small(s, 2, q, v, n_prefix, extra, n_extra, scores, out, h0, h1,
                    [&](int ng, const float* const* qh, float* const* sc, float* sums, int kvh)
                        __attribute__((target("avx2,fma,f16c"))) {
                      head_scores_avx2(ng, qh, sc, sums, k, row, s.head_offset(kvh), n_prefix, extra, n_keys, hd,
                                       s.scale);
                    });
    return;
  }
  for (int h = h0; h < h1;) {
    const int kvh = h / group;
    const int ng = std::min(2, std::min(h1, (kvh + 1) * group) - h);
    const int64_t off = s.head_offset(kvh);
    const float* qh[2];
    float* sc[2];
    float* oh[2];
    float sums[2];
    for (int g = 0; g < ng; ++g) {
      qh[g] = q + static_cast<int64_t>(h + g) * hd;
      sc[g] = scores + g * n_keys;
      oh[g] = out + static_cast<int64_t>(h + g) * hd;
    }
    head_scores_avx2(ng, qh, sc, sums, k, row, off, n_prefix, extra, n_keys, hd, s.scale);
    for (int g = 0; g < ng; ++g) values_group<T, 1>(v, row, off, n_prefix, extra, n_keys, hd, sc + g, sums + g, oh + g);
    h += ng;
  }
}

// ---- Several tokens of one KV head (attention_kv_head) ------------------------

// kt[d * 16 + u] = dim d of key j0 + u (u < 16, d < hd; hd % 8 == 0): 16x16
// transposes (unpack 32-bit and 64-bit pairs within 128-bit lanes, then two
// rounds of 128-bit lane shuffles) of 16 dims at a time. A last 8 dims
// (hd % 16 == 8) load as the low halves: dims 0-7 of the result come from
// 128-bit lanes 0-1 of every step (c0, d0 below), so the upper halves are
// never stored.
template <typename T>
LK_ATT_512 void transpose_keys16(const T* k, int64_t row, int64_t off, int64_t j0, int hd, float* kt) {
  for (int c = 0; c < hd; c += 16) {
    const bool half = hd - c == 8;
    __m512 r[16], a[16], b[16];
    if (half) {
#pragma GCC unroll 16
      for (int u = 0; u < 16; ++u) r[u] = _mm512_castps256_ps512(ld8(k + (j0 + u) * row + off + c));
    } else {
#pragma GCC unroll 16
      for (int u = 0; u < 16; ++u) r[u] = ld16(k + (j0 + u) * row + off + c);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // b[4i + e], 128-bit lane L: keys 4i .. 4i+3 at dim 4L + e.
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      const __m512d a0 = _mm512_castps_pd(a[4 * i]), a1 = _mm512_castps_pd(a[4 * i + 1]);
      const __m512d a2 = _mm512_castps_pd(a[4 * i + 2]), a3 = _mm512_castps_pd(a[4 * i + 3]);
      b[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
      b[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
      b[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
      b[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    // dim 4L + e = lane L of b[e], b[4 + e], b[8 + e], b[12 + e].
#pragma GCC unroll 4
    for (int e = 0; e < 4; ++e) {
      const __m512 c0 = _mm512_shuffle_f32x4(b[e], b[4 + e], 0x44), c1 = _mm512_shuffle_f32x4(b[e], b[4 + e], 0xee);
      const __m512 d0 = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0x44);
      const __m512 d1 = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0xee);
      _mm512_store_ps(kt + (c + e) * 16, _mm512_shuffle_f32x4(c0, d0, 0x88));
      _mm512_store_ps(kt + (c + 4 + e) * 16, _mm512_shuffle_f32x4(c0, d0, 0xdd));
      if (half) continue;
      _mm512_store_ps(kt + (c + 8 + e) * 16, _mm512_shuffle_f32x4(c1, d1, 0x88));
      _mm512_store_ps(kt + (c + 12 + e) * 16, _mm512_shuffle_f32x4(c1, d1, 0xdd));
    }
  }
}

// Scores of RR query rows against the 16 keys of kt, into sc[r][0..16):
// lane u of acc[r][l] is key u's chain l (dims l, l + 8, ... in order from
// zero, as in scores_group512), then hsum8's tree across the 8 chains.
template <int RR>
LK_ATT_512 void scores_rows16(const float* kt, int hd, const float* const* qr, float scale, float* const* sc) {
  __m512 acc[RR][8];
#pragma GCC unroll 4
  for (int r = 0; r < RR; ++r)
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) acc[r][l] = _mm512_setzero_ps();
  for (int i = 0; i < hd; i += 8) {
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) {
      __m512 kv = _mm512_load_ps(kt + (i + l) * 16);
      // Keep kv in a register: folded into each row's FMA as a memory
      // operand it cost a second load per FMA, and loads were the limit.
      __asm__("" : "+v"(kv));
#pragma GCC unroll 4
      for (int r = 0; r < RR; ++r) acc[r][l] = _mm512_fmadd_ps(_mm512_set1_ps(qr[r][i + l]), kv, acc[r][l]);
    }
  }
  const __m512 vscale = _mm512_set1_ps(scale);
#pragma GCC unroll 4
  for (int r = 0; r < RR; ++r) {
    const __m512 s0 = _mm512_add_ps(acc[r][0], acc[r][4]), s1 = _mm512_add_ps(acc[r][1], acc[r][5]);
    const __m512 s2 = _mm512_add_ps(acc[r][2], acc[r][6]), s3 = _mm512_add_ps(acc[r][3], acc[r][7]);
    const __m512 t = _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3));
    _mm512_storeu_ps(sc[r], _mm512_mul_ps(t, vscale));
  }
}

template <typename T>
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c"))) void attention_kv_head_avx512(
    const AttentionShape& s, int kvh, const AttentionQuery* qs, int nq, const T* k, const T* v, int64_t n_prefix,
    float* scratch) {
  const int64_t row = s.row_stride();
  const int group = s.n_head / s.n_head_kv;
  const int hd = s.head_dim;
  const int64_t off = s.head_offset(kvh);
  int64_t n_keys_max = n_prefix;
  for (int t = 0; t < nq; ++t) n_keys_max = std::max(n_keys_max, n_prefix + qs[t].n_extra);
  const int64_t stride = (n_keys_max + 15) / 16 * 16;
  const int rows = nq * group;
  float* kt = scratch + static_cast<int64_t>(rows) * stride;
  kt += (64 - reinterpret_cast<uintptr_t>(kt) % 64) % 64 / sizeof(float);
  auto q_row = [&](int r) { return qs[r / group].q + static_cast<int64_t>(kvh * group + r % group) * hd; };
  auto sc_row = [&](int r) { return scratch + static_cast<int64_t>(r) * stride; };

  // The shared prefix, 16 keys at a time, for every row.
  const int64_t n16 = n_prefix / 16 * 16;
  for (int64_t j0 = 0; j0 < n16; j0 += 16) {
    if (j0 + 16 + kTileAhead <= n16)
      prefetch_rows(k + (j0 + kTileAhead) * row + off, 16, row * sizeof(T), hd * sizeof(T));
    transpose_keys16(k, row, off, j0, hd, kt);
    int r = 0;
    for (; r + 3 <= rows; r += 3) {
      const float* qr[3] = {q_row(r), q_row(r + 1), q_row(r + 2)};
      float* sc[3] = {sc_row(r) + j0, sc_row(r + 1) + j0, sc_row(r + 2) + j0};
      scores_rows16<3>(kt, hd, qr, s.scale, sc);
    }
    for (; r < rows; ++r) {
      const float* qr[1] = {q_row(r)};
      float* sc[1] = {sc_row(r) + j0};
      scores_rows16<1>(kt, hd, qr, s.scale, sc);
    }
  }
  // Small heads: the value sums of several tokens' rows at a time.
  if (hd <= 16) {
    kv_head_small(s, kvh, qs, nq, v, n_prefix, kAttentionHeadSet, sc_row, kt + 16 * hd,
                  [&](int ng, const float* const* qh, float* const* sc, float* sums, int t)
                      __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c"))) {
                        head_scores512(ng, qh, sc, sums, k, row, off, n_prefix, qs[t].extra, n_prefix + qs[t].n_extra,
                                       hd, s.scale, n16);
                      });
    return;
  }
  // Per token: the prefix's last keys and its own rows, the softmax and the
  // values, in head sets as attention_avx512 runs them.
  for (int t = 0; t < nq; ++t) {
    const int64_t n_keys = n_prefix + qs[t].n_extra;
    for (int h = 0; h < group;) {
      const int ng = std::min(kAttentionHeadSet, group - h);
      const float* qh[kAttentionHeadSet];
      float* sc[kAttentionHeadSet];
      float* oh[kAttentionHeadSet];
      for (int g = 0; g < ng; ++g) {
        qh[g] = q_row(t * group + h + g);
        sc[g] = sc_row(t * group + h + g);
        oh[g] = qs[t].out + static_cast<int64_t>(kvh * group + h + g) * hd;
      }
      head_set512(ng, qh, sc, oh, k, v, row, off, n_prefix, qs[t].extra, n_keys, hd, s.scale, n16);
      h += ng;
    }
  }
}

template <typename T>
void attention_dispatch(bool simd, const AttentionShape& s, const float* q, const void* k, const void* v,
                        int64_t n_prefix, const int32_t* extra, int64_t n_extra, float* scores, float* out, int h0, int h1) {
  const T* kk = static_cast<const T*>(k);
  const T* vv = static_cast<const T*>(v);
  if (simd && s.head_dim % 8 == 0 && use_avx512())
    attention_avx512(s, q, kk, vv, n_prefix, extra, n_extra, scores, out, h0, h1);
  else if (simd && s.head_dim % 8 == 0)
    attention_avx2(s, q, kk, vv, n_prefix, extra, n_extra, scores, out, h0, h1);
  else attention_scalar(s, q, kk, vv, n_prefix, extra, n_extra, scores, out, h0, h1);
}

}  // namespace

void attention_one(const AttentionShape& s, const float* q, const void* k, const void* v, KVType type,
                   int64_t n_prefix, const int32_t* extra, int64_t n_extra, float* scores, float* out) {
  if (type == KVType::F32) attention_dispatch<float>(use_avx2(), s, q, k, v, n_prefix, extra, n_extra, scores, out, 0, s.n_head);
  else attention_dispatch<uint16_t>(use_avx2(), s, q, k, v, n_prefix, extra, n_extra, scores, out, 0, s.n_head);
}

void attention_one_scalar(const AttentionShape& s, const float* q, const void* k, const void* v, KVType type,
                          int64_t n_prefix, const int32_t* extra, int64_t n_extra, float* scores, float* out) {
  if (type == KVType::F32) attention_dispatch<float>(false, s, q, k, v, n_prefix, extra, n_extra, scores, out, 0, s.n_head);
  else attention_dispatch<uint16_t>(false, s, q, k, v, n_prefix, extra, n_extra, scores, out, 0, s.n_head);
}

void attention_kv_head(const AttentionShape& s, int kvh, const AttentionQuery* queries, int n_queries, const void* k,
                       const void* v, KVType type, int64_t n_prefix, float* scratch) {
  const int group = s.n_head / s.n_head_kv;
  if (use_avx2() && use_avx512() && s.head_dim % 8 == 0) {
    if (type == KVType::F32)
      attention_kv_head_avx512(s, kvh, queries, n_queries, static_cast<const float*>(k), static_cast<const float*>(v),
                               n_prefix, scratch);
    else
      attention_kv_head_avx512(s, kvh, queries, n_queries, static_cast<const uint16_t*>(k),
                               static_cast<const uint16_t*>(v), n_prefix, scratch);
    return;
  }
  if (use_avx2() && s.head_dim % 8 == 0 && s.head_dim <= 16) {
    if (type == KVType::F32)
      attention_kv_head_small_avx2(s, kvh, queries, n_queries, static_cast<const float*>(k),
                                   static_cast<const float*>(v), n_prefix, scratch);
    else
      attention_kv_head_small_avx2(s, kvh, queries, n_queries, static_cast<const uint16_t*>(k),
                                   static_cast<const uint16_t*>(v), n_prefix, scratch);
    return;
  }
  for (int t = 0; t < n_queries; ++t)
    attention_heads(s, kvh * group, (kvh + 1) * group, queries[t].q, k, v, type, n_prefix, queries[t].extra,
                    queries[t].n_extra, scratch, queries[t].out);
}

void attention_heads(const AttentionShape& s, int h0, int h1, const float* q, const void* k, const void* v,
                     KVType type, int64_t n_prefix, const int32_t* extra, int64_t n_extra, float* scores, float* out) {
  if (type == KVType::F32) attention_dispatch<float>(use_avx2(), s, q, k, v, n_prefix, extra, n_extra, scores, out, h0, h1);
  else attention_dispatch<uint16_t>(use_avx2(), s, q, k, v, n_prefix, extra, n_extra, scores, out, h0, h1);
}

}  // namespace lookahead
