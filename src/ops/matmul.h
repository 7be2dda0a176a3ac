// Weight-matrix x activations products, the bulk of every forward pass.
//
// Layout: a weight matrix has `rows` output features, each a contiguous row of
// `cols` input features stored in `type` (GGUF/ggml block layout: F32, F16,
// BF16, Q8_0, Q4_0, Q4_K, Q6_K; see ops/quant.h). Activations are row-major
// float: token t's input is x[t*ldx .. t*ldx+cols).
//
// Batch invariance (see DEVELOPERS.md): y[t][r] is computed by the same
// sequence of floating-point operations whatever n_tokens, t, or the thread
// count are. Work is split across threads by output rows only; tiling over
// rows and tokens only shares weight and activation loads, never a reduction:
// every (row, token) pair owns one 8- or 16-lane accumulator that walks the
// row in order, then a fixed horizontal sum (Lanes16 F16/BF16: one float
// that walks the row in order, see "P16F" below).
//
// Two kernel families (ops/cpu_features.h) fix the lane count: Lanes8 (AVX2,
// 8-lane accumulators) and Lanes16 (AVX-512 + VNNI, 16-lane accumulators;
// the quantized types give each lane its own block, see "P16 layout" below;
// F16/BF16 with a P16F copy one row per lane in both families). A process uses
// one family for every call, whatever k, so the invariance above holds; the
// two families' floats differ slightly from each other.
//
// Integer types first quantize each token's activations (A32 blocks for
// Q8_0/Q4_0, AK super-blocks for Q4_K/Q6_K, see ops/quant.h); block dot
// products are exact int32 sums, so the AVX2 kernels and their scalar twins
// agree bit for bit. Float types: the scalar twin mirrors the 8 lanes with
// fmaf, so they agree bit for bit too (tests check both).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gguf/tensor_type.h"

namespace lookahead {

class ThreadPool;

struct WeightView {
  TensorType type = TensorType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* data = nullptr;  // not owned; rows * row_bytes bytes
  size_t row_bytes = 0;
  // Optional copy of the matrix in its P16 / P16F layout below (pack_rows),
  // 64-byte aligned, not owned. Null: the Lanes16 quantized kernels repack
  // rows into a scratch buffer as they go (same results, slower); F16/BF16
  // read the rows in place under the 16-lane contract (other last bits).
  const uint8_t* packed = nullptr;
};

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
// P16F (F16, BF16): lanes are rows. Rows go in blocks of 16 (the last padded
// with zero rows); a block stores column k of its 16 rows as one 32-byte
// vector, columns in order:
//
//   block b:  | k=0: w[16b][0] .. w[16b+15][0] | k=1: w[16b][1] .. | ... |
//   memory:   [block 0 (cols x 32 bytes)] [block 1] ...
//
// The kernel widens one vector per block and step, broadcasts x[t][k] and
// does acc[row][t] = fma(w[row][k], x[t][k], acc[row][t]) for k = 0, 1, ...
// from 0: each output is a plain in-order fmaf sum (its scalar twin), with
// no horizontal reduction, and a weight vector serves every token of a tile.
// The contract has no lane count, so both families run it (AVX2 as two ymm
// per column) and agree bit for bit on a matrix with a P16F copy. Without
// one, F16/BF16 follow their family's lane contract like F32.

// Bytes of the packed copy of a rows x cols `type` matrix; 0 when the type
// has no packed layout (F32) or the CPU lacks its kernels (P16F: AVX2; the
// quantized P16 layouts: the Lanes16 kernels, and the current kernel mode's
// family is Lanes16).
size_t packed_size(TensorType type, int64_t rows, int64_t cols);
// Writes rows [r0, r1) of w's packed copy into `out` (the whole matrix's
// packed_size bytes, 64-byte aligned). Threads may pack disjoint row ranges
// of one matrix concurrently (P16F rows share blocks but not bytes).
void pack_rows(const WeightView& w, uint8_t* out, int64_t r0, int64_t r1);

// Bytes of one row of `cols` elements of `type` (cols must be a whole number
// of blocks).
size_t row_size(TensorType type, int64_t cols);

// Types the matmul and dequantize kernels handle.
bool matmul_supports(TensorType type);

// y[t*ldy + r] = dot(W row r, x[t*ldx ...]) for t < n_tokens, r < rows.
// pool may be null (single-threaded). x and y must not alias. Not reentrant
// per calling thread (uses a thread-local scratch for quantized activations).
void matmul(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy,
            ThreadPool* pool);

// One output of matmul_multi: y[t*ldy + r] = dot(W row r, x[t*ldx ...]).
struct MatmulOut {
  const WeightView* w = nullptr;
  float* y = nullptr;
  int64_t ldy = 0;
};
// Several matrices over the same activations (a layer's Q, K and V; gate
// and up): the activations are quantized once and one dispatch covers all
// their rows, so small matrices (K, V) no longer pay a thread hand-off each.
// Each output is bit-identical to matmul(*outs[i].w, x, ...). Matrices
// whose types need different activation formats are run in separate groups.
// The x rows must not alias any y.
void matmul_multi(const MatmulOut* outs, int n_outs, const float* x, int64_t ldx, int n_tokens, ThreadPool* pool);

// Same result computed with the scalar twins of the current family only
// (reference for tests).
void matmul_scalar(const WeightView& w, const float* x, int64_t ldx, int n_tokens, float* y, int64_t ldy);

// Decodes row r of w into out[0..cols).
void dequantize_row(const WeightView& w, int64_t r, float* out);

}  // namespace lookahead
