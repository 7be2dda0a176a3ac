// Quantized weight blocks in the exact GGUF/ggml on-disk layouts, their
// reference quantizers and dequantizers, and the 8-bit activation formats the
// integer matmul kernels consume.
//
// Weight block layouts (little-endian, packed, no padding):
//   Q8_0  32 elems, 34 B:  f16 d | i8 qs[32]                 x = d*q
//   Q4_0  32 elems, 18 B:  f16 d | u8 qs[16]                 x[i] = d*((qs[i]&15)-8),
//                                                            x[i+16] = d*((qs[i]>>4)-8)
//   Q4_K 256 elems, 144 B: f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
//        8 sub-blocks of 32 with 6-bit scale sc and min m (packed, see
//        q4k_scale_min); 64-element chunk c uses qs[32c..32c+31]: low nibbles
//        are sub-block 2c, high nibbles sub-block 2c+1; x = d*sc*q - dmin*m.
//   Q6_K 256 elems, 210 B: u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d
//        16 sub-blocks of 16 with int8 scales; q = 6-bit value - 32.
//
// Activation formats (ours, in memory only; one token's row at a time):
//   A32 (for Q8_0, Q4_0 weights): per 32 elements a float scale d and 32
//       int8 q in [-127, 127]; x ~= d*q; plus c = d * (-8 * sum of q), the
//       Q4_0 offset term (Q4_0 kernels multiply unsigned nibbles and add
//       d_w * c once per block instead of re-centring every weight).
//   AK  (for Q4_K, Q6_K weights): per 256 elements a float d, 256 int8 q and
//       16 int16 sums of 16 consecutive q (the "bsums" the min/offset terms use).
// Quantizing a token's activations depends on that token's values only, so
// it keeps matmul batch-invariant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gguf/tensor_type.h"

namespace lookahead {

inline constexpr int kQK = 32;    // elements per Q8_0 / Q4_0 block
inline constexpr int kQKK = 256;  // elements per K-quant super-block

#pragma pack(push, 1)
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};
#pragma pack(pop)
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ6_K) == 210);

// Bytes of one Q8_0 / Q4_0 block (a 2-byte scale, then the quants).
template <TensorType TY>
constexpr size_t q32_block_bytes() { return TY == TensorType::Q8_0 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0); }

// Element e (0..255) of a Q6_K block as its unsigned 6-bit value u = q + 32.
inline int q6k_u(const BlockQ6_K* blk, int e) {
  const int h = e / 128, r = e % 128, part = r / 32, l = r % 32;
  const uint8_t ql = blk->ql[64 * h + l + (part & 1) * 32];
  const int low = (part < 2) ? (ql & 15) : (ql >> 4);
  const int high = (blk->qh[32 * h + l] >> (2 * part)) & 3;
  return low | (high << 4);
}

// Sub-block j (0..7) of a Q4_K block: 6-bit scale and min.
inline void q4k_scale_min(const uint8_t* s, int j, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// All eight at once, byte j of sc8 / mn8 = q4k_scale_min's sc / m for j:
// word arithmetic on the three 32-bit words of the 12 bytes, for kernels
// that would otherwise assemble vectors from eight scalar decodes.
inline void q4k_scales_mins(const uint8_t* s, uint64_t& sc8, uint64_t& mn8) {
  uint32_t a, b, c;
  std::memcpy(&a, s, 4);
  std::memcpy(&b, s + 4, 4);
  std::memcpy(&c, s + 8, 4);
  constexpr uint32_t k6 = 0x3f3f3f3fu, k4 = 0x0f0f0f0fu, k2 = 0x03030303u;
  const uint32_t sc_hi = (c & k4) | (((a >> 6) & k2) << 4);
  const uint32_t mn_hi = ((c >> 4) & k4) | (((b >> 6) & k2) << 4);
  sc8 = (a & k6) | static_cast<uint64_t>(sc_hi) << 32;
  mn8 = (b & k6) | static_cast<uint64_t>(mn_hi) << 32;
}

// Types quantize_row / dequantize_row_raw handle: F32, F16, BF16, Q8_0,
// Q4_0, Q4_K, Q6_K.
bool quant_supports(TensorType t);
// Elements per block of t (1 for float types).
int block_elems(TensorType t);

// Encodes n floats (a multiple of block_elems) into `out` (row_size bytes).
// Deterministic; simple round-to-nearest quantizers (not llama.cpp's
// importance-weighted search), good enough for synthetic models and tests.
void quantize_row(TensorType t, const float* x, int64_t n, uint8_t* out);
// Decodes n elements of type t from `in`.
void dequantize_row_raw(TensorType t, const uint8_t* in, int64_t n, float* out);

// ---- activation formats ----------------------------------------------------

enum class ActFormat { Float, A32, AK };
ActFormat act_format(TensorType weight_type);

// Per-token layout of a quantized activation row of n elements (n a multiple
// of the block size): qs at +0, scales after, bsums after that (AK only).
// Each part is padded to 32 bytes so every row starts aligned.
size_t act_row_bytes(ActFormat f, int64_t n);
// Quantizes one row. SIMD and scalar paths produce identical bytes.
void quantize_act_row(ActFormat f, const float* x, int64_t n, uint8_t* out);
void quantize_act_row_scalar(ActFormat f, const float* x, int64_t n, uint8_t* out);

// Accessors into a quantized activation row. The per-block float arrays are
// zero-padded to a multiple of 8 blocks (kernels load them 8 at a time).
inline const int8_t* act_qs(const uint8_t* row) { return reinterpret_cast<const int8_t*>(row); }
inline size_t act_pad32(size_t b) { return (b + 31) & ~size_t{31}; }
inline const float* act_d(const uint8_t* row, int64_t n) { return reinterpret_cast<const float*>(row + act_pad32(n)); }
// A32 only: the per-block offset terms c.
inline const float* act_c(const uint8_t* row, int64_t n) {
  return reinterpret_cast<const float*>(row + act_pad32(n) + act_pad32(static_cast<size_t>(n / kQK) * 4));
}
// AK only: 16 sums per super-block.
inline const int16_t* act_bsums(const uint8_t* row, int64_t n) {
  return reinterpret_cast<const int16_t*>(row + act_pad32(n) + act_pad32(static_cast<size_t>(n / kQKK) * 4));
}

}  // namespace lookahead
