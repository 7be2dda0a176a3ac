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
};

// KV cache element types supported by attention.
enum class KVType { F32, F16 };

// Heads that share a KV head are processed up to this many at a time; the
// scores scratch holds one row of keys per head of a set.
inline constexpr int kAttentionHeadSet = 4;
inline constexpr int64_t attention_scratch_floats(int64_t n_keys) { return kAttentionHeadSet * n_keys; }

// q: [n_head * head_dim]. k, v: cache rows of n_head_kv * head_dim elements
// of `type`. scores: scratch of at least attention_scratch_floats(n_prefix +
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
// The scalar twin (reference for tests).
void attention_one_scalar(const AttentionShape& s, const float* q, const void* k, const void* v, KVType type,
                          int64_t n_prefix, const int32_t* extra, int64_t n_extra, float* scores, float* out);

}  // namespace lookahead
