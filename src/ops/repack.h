// Repacked weight layouts: the byte orders the Lanes16 quantized kernels
// (P16, P16K, P16Q6) and the float kernels (P16F) stream, and the code
// that writes them. The model keeps a load-time copy (pack_rows) when it
// fits in memory; without one, matmul builds the same vectors from the GGUF
// rows as it goes (k <= 4 in registers, ops/p16_transpose.h; more tokens
// 16 rows at a time into scratch, pack_p16_rows), so the same bits.
//
// Packing only moves bits. The AVX-512 packers (register transposes) and
// their scalar twins write identical bytes (tests).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/tensor_type.h"
#include "ops/matmul.h"
#include "ops/quant.h"

namespace lookahead {

// P16 layout: what the Lanes16 quantized kernels stream. The 16 int32 lanes
// of a zmm hold 16 consecutive blocks, so one vpdpbusd adds 4 products to
// every block's exact integer sum and no lane ever mixes two blocks. Per row,
// the blocks go in groups s of 16 (b = 16s + i, i = 0..15; the last group is
// padded with zero blocks):
//
//   qs part, group (r, s):  Q4_0 4 vectors, Q8_0 8 vectors of 64 bytes
//     vector j:  | blk 0 qs[4j..4j+3] | blk 1 qs[4j..4j+3] | ... | blk 15 ... |
//                  (Q8_0 stored as q + 128, i.e. unsigned)
//     Q4_0: low nibbles are elements 4j..4j+3, high nibbles 4j+16..4j+19
//   scale part, group (r, s): 16 x f16 (block i's d; 0 for padding)
//
//   memory: [qs (0,0) (0,1) .. (0,nsg-1) (1,0) .. (rows-1,nsg-1)] [scales, same order]
//
// Q4_K ("P16K") does the same with its 32-element sub-blocks in place of
// blocks: 16 sub-blocks (two super-blocks) per group, qs as Q4_0 above (the
// nibbles re-paired so a byte holds elements e and e + 16 of one sub-block),
// and a 40-byte scale unit per group: the 16 6-bit scales, the 16 mins (one
// byte each) and d, dmin of both super-blocks (f16). 296 bytes per 512
// elements where GGUF has 288.
//
// Q6_K ("P16Q6"): one super-block per group, lane i = its 16-element
// sub-block i: two vectors of low nibbles (elements 4v+b and 8+4v+b), one of
// 2-bit planes (bits 2k.. of byte b = element 4k+b), then 16 int8 scales
// and d: 210 bytes, as in GGUF.
//
// The activations are transposed to match (vector j lane i = elements
// 4j..4j+3 of block i), so the kernel needs no shuffles at all. Same bytes
// per block as the GGUF layout: packing costs a copy at load, not memory
// bandwidth per token.
//
// P16F (F32, F16, BF16): lanes are rows. Rows go in blocks of 16 (the last
// padded with zero rows); a block stores column k of its 16 rows as one
// vector of 16 elements (64 bytes for F32, 32 for F16/BF16), columns in
// order:
//
//   block b:  | k=0: w[16b][0] .. w[16b+15][0] | k=1: w[16b][1] .. | ... |
//   memory:   [block 0 (cols x 16 elements)] [block 1] ...
//
// The kernel widens one vector per block and step, broadcasts x[t][k] and
// does acc[row][t] = fma(w[row][k], x[t][k], acc[row][t]) for k = 0, 1, ...
// from 0: each output is a plain in-order fmaf sum (its scalar twin), with
// no horizontal reduction, and a weight vector serves every token of a tile.
// The contract has no lane count, so both families run it (AVX2 as two ymm
// per column) and agree bit for bit on a matrix with a P16F copy. Without
// one (no AVX2, or repacking off) float matrices follow their family's
// lane contract (matmul.h): other last bits.
//
// F32 joined for small matrices: stories260K's 64-column rows left the
// row-lane tile 4 FMAs per (row, token) and a 16-lane horizontal sum, so a
// 16-token pass cost 11x a decode token.

// Groups of 16 Q8_0 / Q4_0 blocks (or 32-element Q4_K sub-blocks) in a
// row of `cols` elements, the last padded with zero blocks.
constexpr int64_t p16_groups(int64_t cols) { return (cols / kQK + 15) / 16; }
// Bytes of one P16 group's qs part.
template <TensorType TY>
constexpr size_t p16_qbytes() { return TY == TensorType::Q4_0 ? 256 : 512; }
// P16K: per (row, group) a 40-byte scale unit: sc[16] | m[16] | d, dmin of
// the group's first and second super-block (f16).
constexpr size_t kK16Unit = 40;
// P16Q6: per (row, super-block) an 18-byte unit: 16 int8 scales, d (f16).
constexpr size_t kQ6Unit = 18;
// The float types, whose packed layout is P16F.
constexpr bool is_p16f_type(TensorType type) {
  return type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16;
}
// P16F: 16-row blocks of a rows-row matrix, and the bytes of one block of
// `cols` columns (16 elements per column).
constexpr int64_t p16f_blocks(int64_t rows) { return (rows + 15) / 16; }
constexpr size_t p16f_block_bytes(TensorType type, int64_t cols) {
  return static_cast<size_t>(cols) * 16 * (type == TensorType::F32 ? 4 : 2);
}

// Bytes per row of the two parts of a quantized P16 matrix (Q8_0, Q4_0:
// P16; Q4_K: P16K; Q6_K: P16Q6): qs first for every row, then the scales.
struct P16Strides {
  size_t qs = 0;
  size_t sc = 0;
};
P16Strides p16_strides(TensorType type, int64_t cols);

// Bytes of the packed copy of a rows x cols `type` matrix; 0 when the CPU
// lacks the layout's kernels (P16F: AVX2; the quantized P16 layouts: the
// Lanes16 kernels, and the current kernel mode's family is Lanes16).
size_t packed_size(TensorType type, int64_t rows, int64_t cols);
// Writes rows [r0, r1) of w's packed copy into `out` (the whole matrix's
// packed_size bytes, 64-byte aligned). Threads may pack disjoint row ranges
// of one matrix concurrently (P16F rows share blocks but not bytes).
void pack_rows(const WeightView& w, uint8_t* out, int64_t r0, int64_t r1);
// Same bytes as pack_rows, written by the scalar twins (reference for tests).
void pack_rows_scalar(const WeightView& w, uint8_t* out, int64_t r0, int64_t r1);

// Group s (blocks 16 s .. 16 s + 15, padded past nb) of one Q8_0 / Q4_0 row
// in the GGUF layout: its P16 qs part to q, its 16 f16 scales to d. The
// scalar packer, for the padded last group of kernels that transpose full
// groups in registers.
template <TensorType TY>
void p16_group_scalar(const uint8_t* row, int64_t nb, int64_t s, uint8_t* q, uint8_t* d);

// Group s (sub-blocks 16 s .. 16 s + 15, padded past ng) of one Q4_K row in
// the GGUF layout: its P16K qs part to q, its scale unit to u. The same
// role for Q4_K.
void p16k_group_scalar(const BlockQ4_K* row, int64_t ng, int64_t s, uint8_t* q, uint8_t* u);

// Rows [r0, r1) of a quantized matrix (Q8_0, Q4_0, Q4_K, Q6_K) in its P16
// layout: qs gets row r0's qs part (then r0 + 1 ... at p16_strides' qs),
// sc its scale part. What matmul streams when the matrix has no copy; uses
// the AVX-512 packer when the CPU has it. Any thread; no allocation.
void pack_p16_rows(const WeightView& w, int64_t r0, int64_t r1, uint8_t* qs, uint8_t* sc);

}  // namespace lookahead
