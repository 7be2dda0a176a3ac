// Per-layer key/value cache with a staging area for the current batch.
//
//   rows [0, n_past)                  committed history; row r holds position r
//   rows [n_past, n_past + n_batch)   staged K/V of the last forward's batch
//
// forward() writes every batch token's K/V into the staging rows; commit()
// then keeps a chosen subset (e.g. the tokens lookahead accepted, which are
// not contiguous in the batch) by moving them down to n_past.. in order, and
// drops the rest. Capacity is n_ctx committed rows plus max_batch staging rows.
//
// Each layer's K (and V) is head-major, so attention, which reads one KV
// head's keys at a time, streams one contiguous run (AttentionShape's
// kv_row_stride = head_dim, kv_head_stride = C * head_dim describe it):
//
//   C = n_ctx + max_batch rows, each head_dim elements
//   head 0:  | row 0 | row 1 | ... | row C-1 |
//   head 1:  | row 0 | row 1 | ... | row C-1 |
//   ...
//   store() scatters a token's n_head_kv * head_dim values to row r of
//   every head; commit() moves a row within every head.
//
// Memory: one anonymous mapping for every layer's K and one for V
// (AlignedBuffer), so pages are committed as rows are first written: a
// long context costs memory for the rows it uses, not at construction.
//
// Not thread-safe: owned and used by one InferenceContext.
#pragma once

#include <cstdint>
#include <span>

#include "ops/attention.h"
#include "util/aligned_buffer.h"

namespace lookahead {

class KVCache {
 public:
  KVCache() = default;
  KVCache(int n_layer, int n_head_kv, int head_dim, int n_ctx, int max_batch, KVType type);

  KVType type() const { return type_; }
  int n_ctx() const { return n_ctx_; }
  int n_past() const { return n_past_; }
  size_t elem_bytes() const { return type_ == KVType::F32 ? 4 : 2; }
  // Elements between consecutive rows of one head, and between heads.
  int64_t row_stride() const { return head_dim_; }
  int64_t head_stride() const { return static_cast<int64_t>(n_ctx_ + max_batch_) * head_dim_; }

  void* k(int layer) { return k_.data() + layer * layer_bytes_; }
  void* v(int layer) { return v_.data() + layer * layer_bytes_; }
  // Stores a token's float K and V (n_head_kv * head_dim each, heads side
  // by side) as (layer, row), converting to the cache type.
  void store(int layer, int64_t row, const float* k, const float* v);

  // Keeps staged rows `batch_rows` (ascending batch indices) as the next
  // committed rows. Throws Error if that would exceed n_ctx.
  void commit(std::span<const int32_t> batch_rows);
  // Keeps the first n_staged staged rows.
  void commit_first(int n_staged);
  // Forgets committed rows beyond n (n <= n_past).
  void truncate(int n);
  size_t bytes() const;

 private:
  KVType type_ = KVType::F32;
  int n_ctx_ = 0, max_batch_ = 0, n_past_ = 0;
  int n_layer_ = 0, n_head_kv_ = 0, head_dim_ = 0;
  size_t layer_bytes_ = 0;
  AlignedBuffer k_, v_;  // n_layer_ * layer_bytes_ each
};

}  // namespace lookahead
