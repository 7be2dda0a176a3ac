// Causal/masked multi-head attention for one query token over a list of key
// rows of the KV cache.
//
// The key list is "the first n_prefix cache rows, then the rows in `extra`":
// committed history first, then in-batch tokens this query may see. Scores,
// the softmax and the value sum run over that list in order with one code
// path, so a token whose keys are identical gets a bit-identical result
// whether those keys were committed earlier or sit in the same batch
// (plain vs lookahead decoding, prompt in one batch vs token by token).
#pragma once

#include <cstdint>

namespace lookahead {

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
  float scale = 1.0f;  // usually 1/sqrt(head_dim)
  // Where key j of KV head h starts in k (and v), in elements:
  // j * kv_row_stride + h * kv_head_stride. 0 (both): cache rows of
  // n_head_kv * head_dim, the heads side by side. The inference context
  // keeps each head's rows together instead (row stride head_dim): a head's
  // keys and values are then one contiguous run, which the hardware
  // prefetchers follow (a value pass over 1024 keys ran at 65 % of the FMA
  // peak with its rows 1 KB apart, at 90 % contiguous). The layout never
  // changes the arithmetic.
  int64_t kv_row_stride = 0;
  int64_t kv_head_stride = 0;

  int64_t row_stride() const { return kv_row_stride ? kv_row_stride : static_cast<int64_t>(n_head_kv) * head_dim; }
  int64_t head_offset(int kvh) const { return kvh * (kv_head_stride ? kv_head_stride : head_dim); }
};

// KV cache element types supported by attention.
enum class KVType { F32, F16 };

// Heads that share a KV head are processed up to this many at a time.
inline constexpr int kAttentionHeadSet = 4;
// The scores scratch holds one row of keys per head of a set, or (heads of
// 8 or 16 dims, whose value sums run up to 12 heads side by side) of a chunk.
inline constexpr int kAttentionScoreRows = 16;
inline constexpr int64_t attention_scratch_floats(int64_t n_keys) { return kAttentionScoreRows * n_keys; }

// q: [n_head * head_dim]. k, v: the cache, elements of `type`, key j of KV
// head h at j * s.row_stride() + s.head_offset(h). scores: scratch of at least attention_scratch_floats(n_prefix +
// n_extra) floats.
// out: [n_head * head_dim].
//
// The AVX2 path (head_dim % 8 == 0) and attention_one_scalar() follow one
// fixed operation sequence (8-lane FMA dot products, our own polynomial exp,
// lane-wise sums in key order) and agree bit for bit; the exp is within ~2
// ulp of expf.
void attention_one(const AttentionShape& s, const float* q, const void* k, const void* v, KVType type,
                   int64_t n_prefix, const int32_t* extra, int64_t n_extra, float* scores, float* out);
// Heads [h0, h1) only (same per-head operations as attention_one, so
// splitting the heads of one token across threads changes nothing); writes
// out[h0 * head_dim .. h1 * head_dim).
void attention_heads(const AttentionShape& s, int h0, int h1, const float* q, const void* k, const void* v,
                     KVType type, int64_t n_prefix, const int32_t* extra, int64_t n_extra, float* scores, float* out);
// One query token of attention_kv_head: it sees the shared prefix, then the
// n_extra cache rows in `extra`; its heads' results go to out (laid out as
// attention_heads writes them: out + h * head_dim).
struct AttentionQuery {
  const float* q = nullptr;  // [n_head * head_dim]
  const int32_t* extra = nullptr;
  int64_t n_extra = 0;
  float* out = nullptr;  // [n_head * head_dim]; heads of the KV head only are written
};

// The query heads of KV head `kvh` for several tokens that all see the first
// n_prefix cache rows (the tokens of one batch over the same history). Each
// token's results are bit-identical to attention_heads' over the same heads.
// On AVX-512 the shared keys go 16 at a time, transposed once into a
// keys-in-lanes block that every query row of the call reuses:
//
//   kt[d] = (key j0 .. j0+15, dim d)    acc_l += q[8m + l] * kt[8m + l]
//                                        (l = 0..7, m = 0..head_dim/8-1)
//   score = ((acc_0+acc_4) + (acc_2+acc_6)) + ((acc_1+acc_5) + (acc_3+acc_7))
//
// which is the per-key 8-lane chain and hsum8 of attention_one, lane by
// lane, without a horizontal sum per key. Keys past the last full block and
// each token's extra rows take attention_heads' path; so do other families.
// Heads of 8 or 16 dims (both families, the AVX2 one without the key tile)
// run their value sums up to 12 (6) query rows at a time, across tokens,
// each row in its own key order (one head's sums are one or two FMA
// chains, which left the pass waiting on FMA latency).
// scratch: attention_kv_head_scratch_floats(s, n_queries, n_keys) floats,
// n_keys >= n_prefix + every query's n_extra. Single-threaded; threads call
// it for different (kvh, tokens) with their own scratch.
void attention_kv_head(const AttentionShape& s, int kvh, const AttentionQuery* queries, int n_queries, const void* k,
                       const void* v, KVType type, int64_t n_prefix, float* scratch);
inline int64_t attention_kv_head_scratch_floats(const AttentionShape& s, int n_queries, int64_t n_keys) {
  const int64_t rows = static_cast<int64_t>(n_queries) * (s.n_head / s.n_head_kv);
  const int64_t stride = (n_keys + 15) / 16 * 16;
  return rows * stride + 16 * static_cast<int64_t>(s.head_dim) + 16 + rows + attention_scratch_floats(n_keys);
}

// The scalar twin (reference for tests).
void attention_one_scalar(const AttentionShape& s, const float* q, const void* k, const void* v, KVType type,
                          int64_t n_prefix, const int32_t* extra, int64_t n_extra, float* scores, float* out);

}  // namespace lookahead
