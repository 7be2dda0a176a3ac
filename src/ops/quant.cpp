#include "ops/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <immintrin.h>

#include "ops/cpu_features.h"
#include "util/error.h"
#include "util/fp16.h"

namespace lookahead {
namespace {

int nearest(float v) { return static_cast<int>(std::nearbyint(v)); }

void quantize_q8_0(const float* x, int64_t n, BlockQ8_0* out) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0.0f;
    for (int i = 0; i < kQK; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = fp32_to_fp16(d);
    for (int i = 0; i < kQK; ++i) out[b].qs[i] = static_cast<int8_t>(std::clamp(nearest(x[i] * id), -127, 127));
  }
}

void quantize_q4_0(const float* x, int64_t n, BlockQ4_0* out) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    // Signed extreme maps to -8 so the full [-8, 7] range is used.
    float amax = 0.0f, mx = 0.0f;
    for (int i = 0; i < kQK; ++i)
      if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), mx = x[i];
    const float d = mx / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = fp32_to_fp16(d);
    for (int i = 0; i < kQK / 2; ++i) {
      const int q0 = std::clamp(nearest(x[i] * id) + 8, 0, 15);
      const int q1 = std::clamp(nearest(x[i + 16] * id) + 8, 0, 15);
      out[b].qs[i] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void quantize_q4_k(const float* x, int64_t n, BlockQ4_K* out) {
  for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    float scale[8], mins[8], max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
      float lo = 0.0f, hi = 0.0f;  // the range always includes 0 (min >= 0)
      for (int i = 0; i < 32; ++i) lo = std::min(lo, x[32 * j + i]), hi = std::max(hi, x[32 * j + i]);
      scale[j] = (hi - lo) / 15.0f;
      mins[j] = -lo;
      max_scale = std::max(max_scale, scale[j]);
      max_min = std::max(max_min, mins[j]);
    }
    BlockQ4_K& o = out[b];
    const float d = max_scale / 63.0f, dmin = max_min / 63.0f;
    o.d = fp32_to_fp16(d);
    o.dmin = fp32_to_fp16(dmin);
    const float dq = fp16_to_fp32(o.d), dminq = fp16_to_fp32(o.dmin);
    int sc[8], m[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = dq > 0 ? std::clamp(nearest(scale[j] / dq), 0, 63) : 0;
      m[j] = dminq > 0 ? std::clamp(nearest(mins[j] / dminq), 0, 63) : 0;
    }
    std::memset(o.scales, 0, sizeof(o.scales));
    for (int j = 0; j < 4; ++j) {
      o.scales[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
      o.scales[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
      o.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
    }
    uint8_t q[kQKK];
    for (int j = 0; j < 8; ++j) {
      const float es = dq * sc[j], em = dminq * m[j];
      for (int i = 0; i < 32; ++i)
        q[32 * j + i] = static_cast<uint8_t>(es > 0 ? std::clamp(nearest((x[32 * j + i] + em) / es), 0, 15) : 0);
    }
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) o.qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void quantize_q6_k(const float* x, int64_t n, BlockQ6_K* out) {
  for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    float scale[16], max_scale = 0.0f;
    for (int s = 0; s < 16; ++s) {
      float amax = 0.0f;
      for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[16 * s + i]));
      scale[s] = amax / 31.0f;
      max_scale = std::max(max_scale, scale[s]);
    }
    BlockQ6_K& o = out[b];
    o.d = fp32_to_fp16(max_scale / 127.0f);
    const float dq = fp16_to_fp32(o.d);
    uint8_t q[kQKK];
    for (int s = 0; s < 16; ++s) {
      const int sc = dq > 0 ? std::clamp(nearest(scale[s] / dq), -127, 127) : 0;
      o.scales[s] = static_cast<int8_t>(sc);
      const float es = dq * sc;
      for (int i = 0; i < 16; ++i)
        q[16 * s + i] = static_cast<uint8_t>((es != 0 ? std::clamp(nearest(x[16 * s + i] / es), -32, 31) : 0) + 32);
    }
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const int q1 = q[128 * h + l], q2 = q[128 * h + 32 + l], q3 = q[128 * h + 64 + l], q4 = q[128 * h + 96 + l];
        o.ql[64 * h + l] = static_cast<uint8_t>((q1 & 15) | ((q3 & 15) << 4));
        o.ql[64 * h + 32 + l] = static_cast<uint8_t>((q2 & 15) | ((q4 & 15) << 4));
        o.qh[32 * h + l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
  }
}

void dequantize_q4_k(const BlockQ4_K* in, int64_t n, float* y) {
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const BlockQ4_K& k = in[b];
    const float d = fp16_to_fp32(k.d), dmin = fp16_to_fp32(k.dmin);
    for (int c = 0; c < 4; ++c) {
      int sc0, m0, sc1, m1;
      q4k_scale_min(k.scales, 2 * c, sc0, m0);
      q4k_scale_min(k.scales, 2 * c + 1, sc1, m1);
      const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
      for (int l = 0; l < 32; ++l) {
        y[64 * c + l] = d0 * (k.qs[32 * c + l] & 15) - mm0;
        y[64 * c + 32 + l] = d1 * (k.qs[32 * c + l] >> 4) - mm1;
      }
    }
    y += kQKK;
  }
}

void dequantize_q6_k(const BlockQ6_K* in, int64_t n, float* y) {
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const BlockQ6_K& k = in[b];
    const float d = fp16_to_fp32(k.d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = k.ql + 64 * h;
      const uint8_t* qh = k.qh + 32 * h;
      const int8_t* sc = k.scales + 8 * h;
      float* o = y + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        o[l] = d * sc[is] * q1;
        o[l + 32] = d * sc[is + 2] * q2;
        o[l + 64] = d * sc[is + 4] * q3;
        o[l + 96] = d * sc[is + 6] * q4;
      }
    }
    y += kQKK;
  }
}

// ---- activation quantization ------------------------------------------------
// One scale per block of `bs` elements: id = 127 / amax, q = rne(x * id),
// d = amax / 127. The SIMD path performs the same IEEE operations (the
// horizontal max is exact in any order), so both give identical bytes.

void act_quant_scalar(int bs, const float* x, int64_t n, int8_t* qs, float* d, int16_t* bsums) {
  for (int64_t b = 0; b < n / bs; ++b) {
    const float* xb = x + b * bs;
    float amax = 0.0f;
    for (int i = 0; i < bs; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    d[b] = amax / 127.0f;
    for (int i = 0; i < bs; ++i) qs[b * bs + i] = static_cast<int8_t>(std::nearbyint(xb[i] * id));
    if (bsums)
      for (int s = 0; s < bs / 16; ++s) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += qs[b * bs + 16 * s + i];
        bsums[b * (bs / 16) + s] = static_cast<int16_t>(sum);
      }
  }
}

__attribute__((target("avx2,fma"))) void act_quant_avx2(int bs, const float* x, int64_t n, int8_t* qs, float* d,
                                                         int16_t* bsums) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < n / bs; ++b) {
    const float* xb = x + b * bs;
    __m256 mx = _mm256_setzero_ps();
    for (int i = 0; i < bs; i += 8) mx = _mm256_max_ps(mx, _mm256_and_ps(_mm256_loadu_ps(xb + i), abs_mask));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    d[b] = amax / 127.0f;
    const __m256 vid = _mm256_set1_ps(id);
    for (int i = 0; i < bs; i += 32) {
      // cvtps rounds to nearest-even (default MXCSR), like nearbyint.
      const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i), vid));
      const __m256i bq = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 8), vid));
      const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 16), vid));
      const __m256i e = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 24), vid));
      // packs interleave 128-bit lanes; the permute restores element order.
      const __m256i ab = _mm256_packs_epi32(a, bq), ce = _mm256_packs_epi32(c, e);
      const __m256i q = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, ce), perm);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + b * bs + i), q);
      if (bsums) {
        // Sums of 16: widen to int16 and add pairs horizontally.
        const __m256i lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(q));
        const __m256i hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(q, 1));
        const __m256i ones = _mm256_set1_epi16(1);
        const __m256i s_lo = _mm256_madd_epi16(lo, ones), s_hi = _mm256_madd_epi16(hi, ones);  // 8 x i32 each
        __m128i t_lo = _mm_add_epi32(_mm256_castsi256_si128(s_lo), _mm256_extracti128_si256(s_lo, 1));
        __m128i t_hi = _mm_add_epi32(_mm256_castsi256_si128(s_hi), _mm256_extracti128_si256(s_hi, 1));
        t_lo = _mm_hadd_epi32(t_lo, t_lo);
        t_hi = _mm_hadd_epi32(t_hi, t_hi);
        t_lo = _mm_hadd_epi32(t_lo, t_lo);
        t_hi = _mm_hadd_epi32(t_hi, t_hi);
        int16_t* bsum = bsums + b * (bs / 16) + i / 16;
        bsum[0] = static_cast<int16_t>(_mm_cvtsi128_si32(t_lo));
        bsum[1] = static_cast<int16_t>(_mm_cvtsi128_si32(t_hi));
      }
    }
  }
}

void act_quant(bool simd, ActFormat f, const float* x, int64_t n, uint8_t* out) {
  const int bs = f == ActFormat::A32 ? kQK : kQKK;
  if (n % bs != 0) fail("activation quantization: row of {} is not a multiple of {}", n, bs);
  int8_t* qs = reinterpret_cast<int8_t*>(out);
  float* d = const_cast<float*>(act_d(out, n));
  int16_t* bsums = f == ActFormat::AK ? const_cast<int16_t*>(act_bsums(out, n)) : nullptr;
  // Zero the padding after the per-block floats (read 8 at a time).
  const size_t nb = static_cast<size_t>(n / bs);
  std::memset(d + nb, 0, act_pad32(nb * 4) - nb * 4);
  if (simd) act_quant_avx2(bs, x, n, qs, d, bsums);
  else act_quant_scalar(bs, x, n, qs, d, bsums);
  if (f == ActFormat::A32) {
    float* c = const_cast<float*>(act_c(out, n));
    std::memset(c + nb, 0, act_pad32(nb * 4) - nb * 4);
    // Exact int sum, one rounding: identical for both paths.
    for (size_t b = 0; b < nb; ++b) {
      int sum = 0;
      for (int i = 0; i < kQK; ++i) sum += qs[b * kQK + i];
      c[b] = d[b] * static_cast<float>(-8 * sum);
    }
  }
}

}  // namespace

bool quant_supports(TensorType t) {
  switch (t) {
    case TensorType::F32: case TensorType::F16: case TensorType::BF16: case TensorType::Q8_0:
    case TensorType::Q4_0: case TensorType::Q4_K: case TensorType::Q6_K: return true;
    default: return false;
  }
}

int block_elems(TensorType t) {
  const auto info = tensor_type_info(static_cast<uint32_t>(t));
  if (!info) fail("unknown tensor type {}", static_cast<uint32_t>(t));
  return static_cast<int>(info->block_elems);
}

void quantize_row(TensorType t, const float* x, int64_t n, uint8_t* out) {
  if (!quant_supports(t)) fail("quantize: unsupported tensor type {}", tensor_type_name(t));
  if (n % block_elems(t) != 0) fail("quantize: {} elements is not a multiple of the {} block size", n, tensor_type_name(t));
  switch (t) {
    case TensorType::F32: std::memcpy(out, x, n * 4); break;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_fp16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      break;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_bf16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      break;
    case TensorType::Q8_0: quantize_q8_0(x, n, reinterpret_cast<BlockQ8_0*>(out)); break;
    case TensorType::Q4_0: quantize_q4_0(x, n, reinterpret_cast<BlockQ4_0*>(out)); break;
    case TensorType::Q4_K: quantize_q4_k(x, n, reinterpret_cast<BlockQ4_K*>(out)); break;
    case TensorType::Q6_K: quantize_q6_k(x, n, reinterpret_cast<BlockQ6_K*>(out)); break;
    default: break;
  }
}

void dequantize_row_raw(TensorType t, const uint8_t* in, int64_t n, float* y) {
  switch (t) {
    case TensorType::F32: std::memcpy(y, in, n * 4); break;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        y[i] = fp16_to_fp32(h);
      }
      break;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        y[i] = bf16_to_fp32(h);
      }
      break;
    case TensorType::Q8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(in);
      for (int64_t i = 0; i < n / kQK; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < kQK; ++j) y[i * kQK + j] = d * b[i].qs[j];
      }
      break;
    }
    case TensorType::Q4_0: {
      const auto* b = reinterpret_cast<const BlockQ4_0*>(in);
      for (int64_t i = 0; i < n / kQK; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < kQK / 2; ++j) {
          y[i * kQK + j] = d * ((b[i].qs[j] & 15) - 8);
          y[i * kQK + j + 16] = d * ((b[i].qs[j] >> 4) - 8);
        }
      }
      break;
    }
    case TensorType::Q4_K: dequantize_q4_k(reinterpret_cast<const BlockQ4_K*>(in), n, y); break;
    case TensorType::Q6_K: dequantize_q6_k(reinterpret_cast<const BlockQ6_K*>(in), n, y); break;
    default: fail("dequantize: unsupported tensor type {}", tensor_type_name(t));
  }
}

ActFormat act_format(TensorType t) {
  switch (t) {
    case TensorType::Q8_0: case TensorType::Q4_0: return ActFormat::A32;
    case TensorType::Q4_K: case TensorType::Q6_K: return ActFormat::AK;
    default: return ActFormat::Float;
  }
}

size_t act_row_bytes(ActFormat f, int64_t n) {
  switch (f) {
    case ActFormat::A32: return act_pad32(n) + 2 * act_pad32(static_cast<size_t>(n / kQK) * 4);
    case ActFormat::AK:
      return act_pad32(n) + act_pad32(static_cast<size_t>(n / kQKK) * 4) + act_pad32(static_cast<size_t>(n / kQKK) * 32);
    default: return static_cast<size_t>(n) * 4;
  }
}

void quantize_act_row(ActFormat f, const float* x, int64_t n, uint8_t* out) { act_quant(use_avx2(), f, x, n, out); }
void quantize_act_row_scalar(ActFormat f, const float* x, int64_t n, uint8_t* out) { act_quant(false, f, x, n, out); }

}  // namespace lookahead
