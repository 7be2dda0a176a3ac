// Register transposes from the GGUF block layout to the P16 vectors
// (ops/repack.h), shared by the packers (ops/repack.cpp) and the kernels
// that read GGUF rows directly (ops/matmul.cpp). AVX-512 F/BW only; callers
// are target-attributed functions on CPUs that have it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <immintrin.h>

#include "ops/quant.h"
#include "ops/repack.h"

// Inlined into their callers, which carry the wider target attributes.
#define LK_P16_INLINE __attribute__((always_inline, target("avx512f,avx512bw"))) inline

namespace lookahead {

// How far ahead of the group being transposed its source is prefetched
// (bytes): the packers and the direct kernels read one sequential stream per
// thread, which the hardware prefetcher alone leaves waiting on memory
// (TinyLlama Q8_0 decode without the copy 52 -> 35 ms when it packed rows
// into scratch, Q4_0 31 -> 24; 1-2 KB helped less, 8 KB no more).
constexpr size_t kTransposeAhead = 4096;

// The N source bytes at p + kTransposeAhead towards L1 (past the matrix's
// end too: a prefetch never faults).
template <size_t N>
inline void prefetch_ahead(const void* p) {
  const char* c = static_cast<const char*>(p) + kTransposeAhead;
  for (size_t l = 0; l < N; l += 64) _mm_prefetch(c + l, _MM_HINT_T0);
}

// A full group of 16 Q8_0 / Q4_0 blocks at g (GGUF bytes) as its P16 qs
// vectors: v[j] lane i = block i's quants 4j..4j+3 (Q8_0 plus 128). Blocks
// are rows, the quants' dwords columns. Q8_0: 16 x 8 dwords, two 8 x 8
// transposes side by side (blocks 0-7 in the low, 8-15 in the high 256
// bits of each zmm); Q4_0: 16 x 4, four 4 x 4 transposes (128-bit lane L =
// blocks 4L..4L+3).
template <TensorType TY>
LK_P16_INLINE void p16_group_vectors(const uint8_t* g, __m512i (&v)[p16_qbytes<TY>() / 64]) {
  constexpr size_t bsz = q32_block_bytes<TY>();
  auto qs = [&](int i) { return g + i * bsz + 2; };
  if constexpr (TY == TensorType::Q8_0) {
    __m512i z[8], t[8];
    for (int k = 0; k < 8; ++k)
      z[k] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs(k)))),
                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs(k + 8))), 1);
    for (int p = 0; p < 4; ++p) {
      t[2 * p] = _mm512_unpacklo_epi32(z[2 * p], z[2 * p + 1]);
      t[2 * p + 1] = _mm512_unpackhi_epi32(z[2 * p], z[2 * p + 1]);
    }
    // z[4p + c], c = 0..3: dword c then c + 4 of blocks 4p..4p+3 (low 256
    // bits) and 8+4p..11+4p (high).
    for (int p = 0; p < 2; ++p) {
      z[4 * p + 0] = _mm512_unpacklo_epi64(t[4 * p + 0], t[4 * p + 2]);
      z[4 * p + 1] = _mm512_unpackhi_epi64(t[4 * p + 0], t[4 * p + 2]);
      z[4 * p + 2] = _mm512_unpacklo_epi64(t[4 * p + 1], t[4 * p + 3]);
      z[4 * p + 3] = _mm512_unpackhi_epi64(t[4 * p + 1], t[4 * p + 3]);
    }
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    const __m512i to_unsigned = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int c = 0; c < 4; ++c) {
      v[c] = _mm512_xor_si512(_mm512_permutex2var_epi64(z[c], lo, z[4 + c]), to_unsigned);
      v[c + 4] = _mm512_xor_si512(_mm512_permutex2var_epi64(z[c], hi, z[4 + c]), to_unsigned);
    }
  } else {
    __m512i z[4];
    for (int k = 0; k < 4; ++k) {
      __m512i x = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs(k))));
      x = _mm512_inserti32x4(x, _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs(k + 4))), 1);
      x = _mm512_inserti32x4(x, _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs(k + 8))), 2);
      z[k] = _mm512_inserti32x4(x, _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs(k + 12))), 3);
    }
    const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    v[0] = _mm512_unpacklo_epi64(t0, t2);
    v[1] = _mm512_unpackhi_epi64(t0, t2);
    v[2] = _mm512_unpacklo_epi64(t1, t3);
    v[3] = _mm512_unpackhi_epi64(t1, t3);
  }
}

// The 16 block scales of that group as floats (lane i = block i's d).
template <TensorType TY>
LK_P16_INLINE __m512 p16_group_scales(const uint8_t* g) {
  constexpr int bsz = static_cast<int>(q32_block_bytes<TY>());
  const __m512i at = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                        _mm512_set1_epi32(bsz));
  // Each dword gathered holds d in its low 16 bits (and two quants above).
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_i32gather_epi32(at, g, 1)));
}

// Two rounds of dword permutes over four zmm z[0..3] of four lanes each:
// round one takes, by idx, 8 + 8 dwords of the pair (z0, z1) and the same
// of (z2, z3); lo gets entries 0-7 of both, hi entries 8-15. So with idx
// entry e (e < 8) = lane e % 4 of z[e / 4] (dword d0 of it) and entry 8 + e
// the same lane's dword d1, lo = [d0 of the 16 lanes], hi = [d1 of them].
LK_P16_INLINE void gather_lane_dwords(const __m512i (&z)[4], __m512i idx, __m512i& lo, __m512i& hi) {
  const __m512i first = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  const __m512i second = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  const __m512i r01 = _mm512_permutex2var_epi32(z[0], idx, z[1]), r23 = _mm512_permutex2var_epi32(z[2], idx, z[3]);
  lo = _mm512_permutex2var_epi32(r01, first, r23);
  hi = _mm512_permutex2var_epi32(r01, second, r23);
}

// A full Q4_K group (two super-blocks at sb) as its P16K qs vectors: v[j]
// lane i = bytes 4j..4j+3 of sub-block i re-paired (byte e = elements e and
// e + 16). Each 64 bytes of qs (two GGUF pairs, 128-bit lanes: pair c's
// elements 0-15, 16-31, pair c+1's) become one zmm of four re-paired
// sub-blocks, in the order a, a+2, a+1, a+3; gather_lane_dwords then
// collects dword j of every sub-block into v[j].
LK_P16_INLINE void p16k_group_vectors(const BlockQ4_K* sb, __m512i (&v)[4]) {
  const __m512i m4 = _mm512_set1_epi8(15);
  __m512i S[4];
  for (int h = 0; h < 2; ++h)
    for (int part = 0; part < 2; ++part) {
      const __m512i Q = _mm512_loadu_si512(sb[h].qs + 64 * part);
      const __m512i x = _mm512_and_si512(Q, m4), y = _mm512_and_si512(_mm512_srli_epi16(Q, 4), m4);
      // Lanes 0 and 2: elements 0-15 | elements 16-31 << 4.
      const __m512i a = _mm512_or_si512(x, _mm512_slli_epi16(_mm512_shuffle_i32x4(x, x, _MM_SHUFFLE(3, 3, 1, 1)), 4));
      const __m512i b = _mm512_or_si512(y, _mm512_slli_epi16(_mm512_shuffle_i32x4(y, y, _MM_SHUFFLE(3, 3, 1, 1)), 4));
      S[2 * h + part] = _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    }
  // Sub-block a + j of a zmm sits in lane 0, 2, 1, 3 for j = 0, 1, 2, 3.
  gather_lane_dwords(S, _mm512_setr_epi32(0, 8, 4, 12, 16, 24, 20, 28, 1, 9, 5, 13, 17, 25, 21, 29), v[0], v[1]);
  gather_lane_dwords(S, _mm512_setr_epi32(2, 10, 6, 14, 18, 26, 22, 30, 3, 11, 7, 15, 19, 27, 23, 31), v[2], v[3]);
}

// The P16K scale unit of a full group (two super-blocks at sb): the 16
// 6-bit scales, the 16 mins, then d, dmin of each super-block.
inline void p16k_unit(const BlockQ4_K* sb, uint8_t* u) {
  for (int h = 0; h < 2; ++h) {
    uint64_t sc8, mn8;
    q4k_scales_mins(sb[h].scales, sc8, mn8);
    std::memcpy(u + 8 * h, &sc8, 8);
    std::memcpy(u + 16 + 8 * h, &mn8, 8);
    std::memcpy(u + 32 + 4 * h, &sb[h].d, 2);
    std::memcpy(u + 34 + 4 * h, &sb[h].dmin, 2);
  }
}

// A Q6_K block's 16 sub-blocks, four per zmm, one per 128-bit lane (zmm k
// lane j = sub-block 4k + j, byte e = its element e): L[k] the low 4 bits,
// H[k] the high 2 bits. Sub-block i's elements are 16 consecutive bytes of
// ql (one nibble) and of qh (one 2-bit field), so no byte moves across
// lanes.
LK_P16_INLINE void q6k_sub_blocks(const BlockQ6_K* blk, __m512i (&L)[4], __m512i (&H)[4]) {
  const __m512i m4 = _mm512_set1_epi8(15), m2 = _mm512_set1_epi8(3);
  const __m512i ql0 = _mm512_loadu_si512(blk->ql), ql1 = _mm512_loadu_si512(blk->ql + 64);
  const __m512i qh = _mm512_loadu_si512(blk->qh);
  // Sub-blocks 0-3, 8-11 take qh chunks 0,1,0,1 / 2,3,2,3 at bits 0,0,2,2;
  // 4-7, 12-15 the same chunks at bits 4,4,6,6.
  const __m512i qh01 = _mm512_shuffle_i32x4(qh, qh, _MM_SHUFFLE(1, 0, 1, 0));
  const __m512i qh23 = _mm512_shuffle_i32x4(qh, qh, _MM_SHUFFLE(3, 2, 3, 2));
  const __m512i sh_lo = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2), sh_hi = _mm512_setr_epi64(4, 4, 4, 4, 6, 6, 6, 6);
  L[0] = _mm512_and_si512(ql0, m4);
  L[1] = _mm512_and_si512(_mm512_srli_epi16(ql0, 4), m4);
  L[2] = _mm512_and_si512(ql1, m4);
  L[3] = _mm512_and_si512(_mm512_srli_epi16(ql1, 4), m4);
  H[0] = _mm512_and_si512(_mm512_srlv_epi64(qh01, sh_lo), m2);
  H[1] = _mm512_and_si512(_mm512_srlv_epi64(qh01, sh_hi), m2);
  H[2] = _mm512_and_si512(_mm512_srlv_epi64(qh23, sh_lo), m2);
  H[3] = _mm512_and_si512(_mm512_srlv_epi64(qh23, sh_hi), m2);
}

// The 6-bit values u = q + 32 of a Q6_K block as the P16Q6 kernel's four
// dot-product vectors: u[j] lane i byte b = element 16 i + 4 j + b.
LK_P16_INLINE void q6k_block_vectors(const BlockQ6_K* blk, __m512i (&u)[4]) {
  __m512i L[4], H[4], U[4];
  q6k_sub_blocks(blk, L, H);
  for (int k = 0; k < 4; ++k) U[k] = _mm512_or_si512(L[k], _mm512_slli_epi16(H[k], 4));
  gather_lane_dwords(U, _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29), u[0], u[1]);
  gather_lane_dwords(U, _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31), u[2], u[3]);
}

}  // namespace lookahead
