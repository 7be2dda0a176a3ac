#include "ops/repack.h"

#include <cstring>
#include <immintrin.h>

#include "ops/cpu_features.h"
#include "ops/p16_transpose.h"
#include "util/error.h"

// GCC 12's AVX-512 headers (cast/insert with _mm*_undefined_*()) trip these
// warnings when inlined; the undefined lanes are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lookahead {
namespace {

#define LK_PACK512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

// ---- P16F (F32 / F16 / BF16) -----------------------------------------------------------

// 8 rows x 8 columns of 16-bit values: column c of rows src[0..8) to
// dst[16 c .. 16 c + 8) (three rounds of unpacks, SSE2).
inline void transpose8x8_u16(const uint16_t* const* src, int64_t c, uint16_t* dst) {
  __m128i a[8], b[8];
  for (int i = 0; i < 8; ++i) a[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i] + c));
  for (int i = 0; i < 4; ++i) {
    b[i] = _mm_unpacklo_epi16(a[2 * i], a[2 * i + 1]);
    b[i + 4] = _mm_unpackhi_epi16(a[2 * i], a[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    a[4 * h + 0] = _mm_unpacklo_epi32(b[4 * h + 0], b[4 * h + 1]);
    a[4 * h + 1] = _mm_unpackhi_epi32(b[4 * h + 0], b[4 * h + 1]);
    a[4 * h + 2] = _mm_unpacklo_epi32(b[4 * h + 2], b[4 * h + 3]);
    a[4 * h + 3] = _mm_unpackhi_epi32(b[4 * h + 2], b[4 * h + 3]);
  }
  // a[0..4): columns (0,1) (2,3) of rows 0-3 / 4-7 interleaved per 64 bits.
  const int order[4] = {0, 1, 4, 5};
  for (int q = 0; q < 4; ++q) {
    const __m128i lo = a[order[q]], hi = a[order[q] + 2];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16 * (c + 2 * q)), _mm_unpacklo_epi64(lo, hi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16 * (c + 2 * q + 1)), _mm_unpackhi_epi64(lo, hi));
  }
}

// 4 rows x 4 columns of 32-bit values: column c of rows src[0..4) to
// dst[16 c .. 16 c + 4) (the SSE 4x4 transpose).
inline void transpose4x4_u32(const uint32_t* const* src, int64_t c, uint32_t* dst) {
  __m128 a0 = _mm_loadu_ps(reinterpret_cast<const float*>(src[0] + c));
  __m128 a1 = _mm_loadu_ps(reinterpret_cast<const float*>(src[1] + c));
  __m128 a2 = _mm_loadu_ps(reinterpret_cast<const float*>(src[2] + c));
  __m128 a3 = _mm_loadu_ps(reinterpret_cast<const float*>(src[3] + c));
  _MM_TRANSPOSE4_PS(a0, a1, a2, a3);
  _mm_storeu_ps(reinterpret_cast<float*>(dst + 16 * c), a0);
  _mm_storeu_ps(reinterpret_cast<float*>(dst + 16 * (c + 1)), a1);
  _mm_storeu_ps(reinterpret_cast<float*>(dst + 16 * (c + 2)), a2);
  _mm_storeu_ps(reinterpret_cast<float*>(dst + 16 * (c + 3)), a3);
}

// Rows [r0, r1) of w into their lanes of the P16F blocks at out (block
// r0 / 16 first); lanes past the matrix's last row become zeros when the
// range ends there. E: the element's bits (uint16_t F16/BF16, uint32_t
// F32). With simd, aligned groups of G rows go through GxG transposes
// (8x8 16-bit, 4x4 32-bit); else every row goes its own way (the scalar
// twin).
template <typename E>
void pack_p16f(const WeightView& w, int64_t r0, int64_t r1, uint8_t* out, bool simd) {
  constexpr int G = sizeof(E) == 2 ? 8 : 4;
  const int64_t cols = w.cols, b0 = r0 / 16;
  auto* dst = reinterpret_cast<E*>(out);
  auto lane = [&](int64_t r) { return dst + (r / 16 - b0) * cols * 16 + r % 16; };
  auto src = [&](int64_t r) { return reinterpret_cast<const E*>(w.data + r * w.row_bytes); };
  for (int64_t r = r0; r < r1;) {
    if (simd && r % G == 0 && r + G <= r1) {
      const E* rows[G];
      for (int i = 0; i < G; ++i) rows[i] = src(r + i);
      int64_t c = 0;
      for (; c + G <= cols; c += G) {
        if constexpr (G == 8) transpose8x8_u16(rows, c, lane(r));
        else transpose4x4_u32(rows, c, lane(r));
      }
      for (int i = 0; i < G; ++i)
        for (int64_t cc = c; cc < cols; ++cc) lane(r + i)[cc * 16] = rows[i][cc];
      r += G;
    } else {
      const E* s = src(r);
      E* d = lane(r);
      for (int64_t c = 0; c < cols; ++c) d[c * 16] = s[c];
      ++r;
    }
  }
  if (r1 == w.rows)
    for (int64_t r = w.rows; r < p16f_blocks(w.rows) * 16; ++r) {
      E* d = lane(r);
      for (int64_t c = 0; c < cols; ++c) d[c * 16] = 0;
    }
}

}  // namespace

// ---- P16 (Q8_0 / Q4_0) -----------------------------------------------------------
// Group s of a row: blocks 16s .. 16s + 15 (nb in the row), qs part to q,
// scales to d. Blocks past nb are padding: scale 0, quants that decode to 0
// against the kernel's offsets (Q8_0 0x80 = 0 + 128, Q4_0 nibbles 0).

template <TensorType TY>
void p16_group_scalar(const uint8_t* row, int64_t nb, int64_t s, uint8_t* q, uint8_t* d) {
  constexpr size_t bsz = q32_block_bytes<TY>();
  constexpr int nvec = static_cast<int>(p16_qbytes<TY>() / 64);
  for (int i = 0; i < 16; ++i) {
    const int64_t b = 16 * s + i;
    if (b >= nb) {
      std::memset(d + 2 * i, 0, 2);
      for (int j = 0; j < nvec; ++j) std::memset(q + j * 64 + 4 * i, TY == TensorType::Q8_0 ? 0x80 : 0, 4);
      continue;
    }
    const uint8_t* blk = row + b * bsz;
    std::memcpy(d + 2 * i, blk, 2);
    for (int j = 0; j < nvec; ++j) {
      uint32_t v;
      std::memcpy(&v, blk + 2 + 4 * j, 4);
      if constexpr (TY == TensorType::Q8_0) v ^= 0x80808080u;
      std::memcpy(q + j * 64 + 4 * i, &v, 4);
    }
  }
}
template void p16_group_scalar<TensorType::Q8_0>(const uint8_t*, int64_t, int64_t, uint8_t*, uint8_t*);
template void p16_group_scalar<TensorType::Q4_0>(const uint8_t*, int64_t, int64_t, uint8_t*, uint8_t*);

namespace {

// A full group (16 blocks at g): the register transpose, then the scales.
template <TensorType TY>
LK_PACK512 void p16_group_avx512(const uint8_t* g, uint8_t* q, uint8_t* d) {
  constexpr size_t bsz = q32_block_bytes<TY>();
  prefetch_ahead<16 * bsz>(g);
  __m512i v[p16_qbytes<TY>() / 64];
  p16_group_vectors<TY>(g, v);
  for (size_t j = 0; j < p16_qbytes<TY>() / 64; ++j) _mm512_storeu_si512(q + 64 * j, v[j]);
  for (int i = 0; i < 16; ++i) std::memcpy(d + 2 * i, g + i * bsz, 2);
}

template <TensorType TY>
void pack_p16(const WeightView& w, int64_t r0, int64_t r1, uint8_t* qs, uint8_t* sc, bool simd) {
  constexpr size_t QB = p16_qbytes<TY>();
  const int64_t nb = w.cols / kQK, nsg = p16_groups(w.cols);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + r * w.row_bytes;
    uint8_t* q = qs + (r - r0) * nsg * QB;
    uint8_t* d = sc + (r - r0) * nsg * 32;
    for (int64_t s = 0; s < nsg; ++s) {
      if (simd && 16 * s + 16 <= nb)
        p16_group_avx512<TY>(row + 16 * s * q32_block_bytes<TY>(), q + s * QB, d + s * 32);
      else
        p16_group_scalar<TY>(row, nb, s, q + s * QB, d + s * 32);
    }
  }
}

}  // namespace

// ---- P16K (Q4_K) -------------------------------------------------------------------
// Group s: sub-blocks 16s .. 16s + 15 (super-blocks 2s, 2s + 1; ng
// sub-blocks in the row). A sub-block's byte e holds its elements e and
// e + 16 (GGUF pairs sub-blocks 2c and 2c + 1 in one byte instead).

void p16k_group_scalar(const BlockQ4_K* row, int64_t ng, int64_t s, uint8_t* q, uint8_t* u) {
  std::memset(u, 0, kK16Unit);
  for (int h = 0; h < 2; ++h) {
    const int64_t b = 2 * s + h;
    if (8 * b < ng) {
      std::memcpy(u + 32 + 4 * h, &row[b].d, 2);
      std::memcpy(u + 34 + 4 * h, &row[b].dmin, 2);
    }
  }
  for (int i = 0; i < 16; ++i) {
    const int64_t g = 16 * s + i;
    uint8_t bytes[16] = {};
    if (g < ng) {
      const BlockQ4_K& blk = row[g / 8];
      const int j = static_cast<int>(g % 8);
      int scv, mv;
      q4k_scale_min(blk.scales, j, scv, mv);
      u[i] = static_cast<uint8_t>(scv);
      u[16 + i] = static_cast<uint8_t>(mv);
      auto nib = [&](int e) { const uint8_t by = blk.qs[32 * (j / 2) + e]; return j % 2 ? by >> 4 : by & 15; };
      for (int e = 0; e < 16; ++e) bytes[e] = static_cast<uint8_t>(nib(e) | (nib(e + 16) << 4));
    }
    for (int v = 0; v < 4; ++v) std::memcpy(q + v * 64 + 4 * i, bytes + 4 * v, 4);
  }
}

namespace {

// A full group (two super-blocks at sb): vectors, then the scale unit.
LK_PACK512 void p16k_group_avx512(const BlockQ4_K* sb, uint8_t* q, uint8_t* u) {
  prefetch_ahead<2 * sizeof(BlockQ4_K)>(sb);
  __m512i v[4];
  p16k_group_vectors(sb, v);
  for (int j = 0; j < 4; ++j) _mm512_storeu_si512(q + 64 * j, v[j]);
  p16k_unit(sb, u);
}

void pack_p16k(const WeightView& w, int64_t r0, int64_t r1, uint8_t* qs, uint8_t* sc, bool simd) {
  const int64_t ng = w.cols / kQK, nsg = p16_groups(w.cols);
  for (int64_t r = r0; r < r1; ++r) {
    const auto* row = reinterpret_cast<const BlockQ4_K*>(w.data + r * w.row_bytes);
    uint8_t* q = qs + (r - r0) * nsg * 256;
    uint8_t* u = sc + (r - r0) * nsg * kK16Unit;
    for (int64_t s = 0; s < nsg; ++s) {
      if (simd && 16 * s + 16 <= ng) p16k_group_avx512(row + 2 * s, q + s * 256, u + s * kK16Unit);
      else p16k_group_scalar(row, ng, s, q + s * 256, u + s * kK16Unit);
    }
  }
}

// ---- P16Q6 (Q6_K) ------------------------------------------------------------------
// Per super-block 3 vectors -- V0, V1: lane i bytes b = element 4v+b (low
// nibble) and 8+4v+b (high nibble) of sub-block i, low 4 bits; P: lane i
// byte b bits 2k..2k+1 = high 2 bits of element 4k+b -- then the unit:
// 16 int8 scales and d (f16).

void p16q6_block_scalar(const BlockQ6_K* blk, uint8_t* q, uint8_t* u) {
  std::memcpy(u, blk->scales, 16);
  std::memcpy(u + 16, &blk->d, 2);
  for (int i = 0; i < 16; ++i)
    for (int bb = 0; bb < 4; ++bb) {
      auto val = [&](int m) { return q6k_u(blk, 16 * i + m); };
      for (int v = 0; v < 2; ++v)
        q[v * 64 + 4 * i + bb] = static_cast<uint8_t>((val(4 * v + bb) & 15) | ((val(8 + 4 * v + bb) & 15) << 4));
      uint8_t plane = 0;
      for (int k = 0; k < 4; ++k) plane |= static_cast<uint8_t>(((val(4 * k + bb) >> 4) & 3) << (2 * k));
      q[128 + 4 * i + bb] = plane;
    }
}

// From q6k_sub_blocks' lanes, folding bytes within lanes builds each
// sub-block's V0 / V1 / P dwords; two rounds of dword permutes gather them
// into the vectors.
LK_PACK512 void p16q6_block_avx512(const BlockQ6_K* blk, uint8_t* q, uint8_t* u) {
  prefetch_ahead<sizeof(BlockQ6_K)>(blk);
  __m512i L[4], H[4];
  q6k_sub_blocks(blk, L, H);
  __m512i pl[4], ph[4];
  for (int k = 0; k < 4; ++k) {
    // Byte n (0..7): element n | element 8+n << 4 (dword 0: V0, dword 1: V1).
    pl[k] = _mm512_or_si512(L[k], _mm512_slli_epi16(_mm512_bsrli_epi128(L[k], 8), 4));
    // Byte b (0..3): high bits of elements b, 4+b, 8+b, 12+b (dword 0: P).
    __m512i p = _mm512_or_si512(H[k], _mm512_slli_epi16(_mm512_bsrli_epi128(H[k], 4), 2));
    p = _mm512_or_si512(p, _mm512_slli_epi16(_mm512_bsrli_epi128(H[k], 8), 4));
    ph[k] = _mm512_or_si512(p, _mm512_slli_epi16(_mm512_bsrli_epi128(H[k], 12), 6));
  }
  // V0, V1: dwords 0, 1 of the pl lanes; P: dword 0 of the ph lanes.
  const __m512i lanes = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
  __m512i v0, v1, p, unused;
  gather_lane_dwords(pl, lanes, v0, v1);
  gather_lane_dwords(ph, lanes, p, unused);
  _mm512_storeu_si512(q + 0, v0);
  _mm512_storeu_si512(q + 64, v1);
  _mm512_storeu_si512(q + 128, p);
  std::memcpy(u, blk->scales, 16);
  std::memcpy(u + 16, &blk->d, 2);
}

void pack_p16q6(const WeightView& w, int64_t r0, int64_t r1, uint8_t* qs, uint8_t* sc, bool simd) {
  const int64_t nb = w.cols / kQKK;
  for (int64_t r = r0; r < r1; ++r) {
    const auto* row = reinterpret_cast<const BlockQ6_K*>(w.data + r * w.row_bytes);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* q = qs + ((r - r0) * nb + b) * 192;
      uint8_t* u = sc + ((r - r0) * nb + b) * kQ6Unit;
      if (simd) p16q6_block_avx512(row + b, q, u);
      else p16q6_block_scalar(row + b, q, u);
    }
  }
}

void pack_quantized(const WeightView& w, int64_t r0, int64_t r1, uint8_t* qs, uint8_t* sc, bool simd) {
  switch (w.type) {
    case TensorType::Q8_0: pack_p16<TensorType::Q8_0>(w, r0, r1, qs, sc, simd); break;
    case TensorType::Q4_0: pack_p16<TensorType::Q4_0>(w, r0, r1, qs, sc, simd); break;
    case TensorType::Q4_K: pack_p16k(w, r0, r1, qs, sc, simd); break;
    case TensorType::Q6_K: pack_p16q6(w, r0, r1, qs, sc, simd); break;
    default: fail("pack: {} has no P16 layout", tensor_type_name(w.type));
  }
}

void pack_rows_impl(const WeightView& w, uint8_t* out, int64_t r0, int64_t r1, bool simd) {
  if (packed_size(w.type, w.rows, w.cols) == 0) fail("pack_rows: {} has no packed layout here", tensor_type_name(w.type));
  if (is_p16f_type(w.type)) {
    uint8_t* blocks = out + static_cast<size_t>(r0 / 16) * p16f_block_bytes(w.type, w.cols);
    if (w.type == TensorType::F32) pack_p16f<uint32_t>(w, r0, r1, blocks, simd);
    else pack_p16f<uint16_t>(w, r0, r1, blocks, simd);
    return;
  }
  const P16Strides st = p16_strides(w.type, w.cols);
  const size_t n = static_cast<size_t>(w.rows), a = static_cast<size_t>(r0);
  pack_quantized(w, r0, r1, out + a * st.qs, out + n * st.qs + a * st.sc, simd && cpu_has_avx512());
}

}  // namespace

P16Strides p16_strides(TensorType type, int64_t cols) {
  const size_t nsg = static_cast<size_t>(p16_groups(cols));
  switch (type) {
    case TensorType::Q8_0: return {nsg * p16_qbytes<TensorType::Q8_0>(), nsg * 32};
    case TensorType::Q4_0: return {nsg * p16_qbytes<TensorType::Q4_0>(), nsg * 32};
    case TensorType::Q4_K: return {nsg * 256, nsg * kK16Unit};
    case TensorType::Q6_K: return {static_cast<size_t>(cols / kQKK) * 192, static_cast<size_t>(cols / kQKK) * kQ6Unit};
    default: return {};
  }
}

size_t packed_size(TensorType type, int64_t rows, int64_t cols) {
  if (is_p16f_type(type)) return cpu_has_avx2() ? static_cast<size_t>(p16f_blocks(rows)) * p16f_block_bytes(type, cols) : 0;
  // Only the Lanes16 kernels read the quantized P16 layouts: a process
  // forced onto Lanes8 (KernelMode::Avx2) loads like an AVX2-only CPU.
  if (!cpu_has_avx512() || kernel_family() != KernelFamily::Lanes16) return 0;
  const P16Strides st = p16_strides(type, cols);
  return static_cast<size_t>(rows) * (st.qs + st.sc);
}

void pack_rows(const WeightView& w, uint8_t* out, int64_t r0, int64_t r1) { pack_rows_impl(w, out, r0, r1, true); }

void pack_rows_scalar(const WeightView& w, uint8_t* out, int64_t r0, int64_t r1) {
  pack_rows_impl(w, out, r0, r1, false);
}

void pack_p16_rows(const WeightView& w, int64_t r0, int64_t r1, uint8_t* qs, uint8_t* sc) {
  pack_quantized(w, r0, r1, qs, sc, cpu_has_avx512());
}

}  // namespace lookahead
