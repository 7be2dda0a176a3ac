#include "ops/matmul.h"

#include <cstring>
#include <immintrin.h>

#include "ops/cpu_features.h"
#include "util/error.h"
#include "util/fp16.h"
#include "util/thread_pool.h"

namespace lookahead {
namespace {

// ---- scalar twins: one sequential sum per output ----------------------------

template <typename Load>
float dot_scalar(const uint8_t* row, const float* x, int64_t n, Load load) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += load(row, i) * x[i];
  return s;
}

float load_f32(const uint8_t* r, int64_t i) {
  float v;
  std::memcpy(&v, r + 4 * i, 4);
  return v;
}
float load_f16(const uint8_t* r, int64_t i) {
  uint16_t h;
  std::memcpy(&h, r + 2 * i, 2);
  return fp16_to_fp32(h);
}
float load_bf16(const uint8_t* r, int64_t i) {
  uint16_t h;
  std::memcpy(&h, r + 2 * i, 2);
  return bf16_to_fp32(h);
}

float dot_row_scalar(TensorType t, const uint8_t* row, const float* x, int64_t n) {
  switch (t) {
    case TensorType::F32: return dot_scalar(row, x, n, load_f32);
    case TensorType::F16: return dot_scalar(row, x, n, load_f16);
    case TensorType::BF16: return dot_scalar(row, x, n, load_bf16);
    default: fail("matmul: unsupported tensor type {}", tensor_type_name(t));
  }
}

// ---- AVX2 kernels -----------------------------------------------------------
// Per token: two 8-wide FMA accumulators over 16-element steps, a fixed
// horizontal sum, then a scalar tail. Up to 4 tokens share each weight load;
// every token's own operation sequence is the same for any tile size.

__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(TensorType t, const uint8_t* row, int64_t i) {
  if (t == TensorType::F32) return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i));
  if (t == TensorType::F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

__attribute__((target("avx2,fma"))) inline float hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

template <int T>
__attribute__((target("avx2,fma,f16c"))) void dot_tile_avx2(TensorType type, const uint8_t* row, const float* x,
                                                            int64_t ldx, int64_t n, float* out, int64_t ldy) {
  __m256 a0[T], a1[T];
  for (int t = 0; t < T; ++t) a0[t] = a1[t] = _mm256_setzero_ps();
  const int64_t n16 = n & ~int64_t{15};
  for (int64_t i = 0; i < n16; i += 16) {
    const __m256 w0 = load8(type, row, i), w1 = load8(type, row, i + 8);
    for (int t = 0; t < T; ++t) {
      a0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * ldx + i), a0[t]);
      a1[t] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + t * ldx + i + 8), a1[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    float s = hsum8(_mm256_add_ps(a0[t], a1[t]));
    for (int64_t i = n16; i < n; ++i) {
      float w = type == TensorType::F32 ? load_f32(row, i) : type == TensorType::F16 ? load_f16(row, i) : load_bf16(row, i);
      s += w * x[t * ldx + i];
    }
    out[t * ldy] = s;
  }
}

void matmul_rows_avx2(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy,
                      int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + r * w.row_bytes;
    int t = 0;
    for (; t + 4 <= n_tokens; t += 4) dot_tile_avx2<4>(w.type, row, x + t * ldx, ldx, w.cols, y + t * ldy + r, ldy);
    for (; t < n_tokens; ++t) dot_tile_avx2<1>(w.type, row, x + t * ldx, ldx, w.cols, y + t * ldy + r, ldy);
  }
}

void matmul_rows_scalar(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy,
                        int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r)
    for (int t = 0; t < n_tokens; ++t) y[t * ldy + r] = dot_row_scalar(w.type, w.data + r * w.row_bytes, x + t * ldx, w.cols);
}

}  // namespace

size_t row_size(TensorType type, int64_t cols) {
  const auto info = tensor_type_info(static_cast<uint32_t>(type));
  if (!info) fail("unknown tensor type {}", static_cast<uint32_t>(type));
  return static_cast<size_t>(cols / info->block_elems) * info->block_bytes;
}

bool matmul_supports(TensorType type) {
  return type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16;
}

void matmul(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy, ThreadPool* pool) {
  if (!matmul_supports(w.type)) fail("matmul: unsupported tensor type {}", tensor_type_name(w.type));
  const bool simd = use_avx2();
  auto run = [&](int64_t r0, int64_t r1, int) {
    if (simd) matmul_rows_avx2(w, x, ldx, n_tokens, y, ldy, r0, r1);
    else matmul_rows_scalar(w, x, ldx, n_tokens, y, ldy, r0, r1);
  };
  // Threads only pay off above a few tens of microseconds of work.
  const int64_t work = w.rows * w.cols * n_tokens;
  if (pool && pool->size() > 1 && work >= (int64_t{1} << 17)) pool->parallel_for(w.rows, 16, run);
  else run(0, w.rows, 0);
}

void matmul_scalar(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy) {
  if (!matmul_supports(w.type)) fail("matmul: unsupported tensor type {}", tensor_type_name(w.type));
  matmul_rows_scalar(w, x, ldx, n_tokens, y, ldy, 0, w.rows);
}

void dequantize_row(const WeightView& w, int64_t r, float* out) {
  const uint8_t* row = w.data + r * w.row_bytes;
  switch (w.type) {
    case TensorType::F32: for (int64_t i = 0; i < w.cols; ++i) out[i] = load_f32(row, i); break;
    case TensorType::F16: for (int64_t i = 0; i < w.cols; ++i) out[i] = load_f16(row, i); break;
    case TensorType::BF16: for (int64_t i = 0; i < w.cols; ++i) out[i] = load_bf16(row, i); break;
    default: fail("dequantize: unsupported tensor type {}", tensor_type_name(w.type));
  }
}

}  // namespace lookahead
