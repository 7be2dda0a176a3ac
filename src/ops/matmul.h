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
// row in order, then a fixed horizontal sum (float types with a P16F copy:
// one float that walks the row in order, see "P16F" in ops/repack.h).
//
// Two kernel families (ops/cpu_features.h) fix the lane count: Lanes8 (AVX2,
// 8-lane accumulators) and Lanes16 (AVX-512 + VNNI, 16-lane accumulators;
// the quantized types give each lane its own block, see ops/repack.h;
// F32/F16/BF16 with a P16F copy one row per lane in both families). A process uses
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
  // Optional copy of the matrix in its P16 / P16F layout (ops/repack.h),
  // 64-byte aligned, not owned. Null: the Lanes16 quantized kernels
  // transpose the rows as they go (same results; k = 1 about as fast, 8-16
  // tokens up to 1.6x slower); float types read the rows in place under
  // their family's lane contract (other last bits).
  const uint8_t* packed = nullptr;
};

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
