#include "ops/attention.h"

#include <cmath>
#include <cstring>

#include "util/fp16.h"

namespace lookahead {
namespace {

template <typename T>
inline float ld(const T* p, int64_t i) {
  if constexpr (sizeof(T) == 4) return p[i];
  else return fp16_to_fp32(p[i]);
}

template <typename T>
void attention_impl(const AttentionShape& s, const float* q, const T* k, const T* v, int64_t n_prefix,
                    const int32_t* extra, int64_t n_extra, float* scores, float* out) {
  const int64_t row = static_cast<int64_t>(s.n_head_kv) * s.head_dim;
  const int group = s.n_head / s.n_head_kv;
  const int64_t n_keys = n_prefix + n_extra;
  for (int h = 0; h < s.n_head; ++h) {
    const float* qh = q + static_cast<int64_t>(h) * s.head_dim;
    const int64_t off = static_cast<int64_t>(h / group) * s.head_dim;
    float mx = -INFINITY;
    for (int64_t j = 0; j < n_keys; ++j) {
      const int64_t r = j < n_prefix ? j : extra[j - n_prefix];
      const T* kr = k + r * row + off;
      float d = 0.0f;
      for (int i = 0; i < s.head_dim; ++i) d += qh[i] * ld(kr, i);
      d *= s.scale;
      scores[j] = d;
      if (d > mx) mx = d;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < n_keys; ++j) {
      scores[j] = std::exp(scores[j] - mx);
      sum += scores[j];
    }
    float* oh = out + static_cast<int64_t>(h) * s.head_dim;
    for (int i = 0; i < s.head_dim; ++i) oh[i] = 0.0f;
    for (int64_t j = 0; j < n_keys; ++j) {
      const int64_t r = j < n_prefix ? j : extra[j - n_prefix];
      const T* vr = v + r * row + off;
      const float p = scores[j];
      for (int i = 0; i < s.head_dim; ++i) oh[i] += p * ld(vr, i);
    }
    const float inv = 1.0f / sum;
    for (int i = 0; i < s.head_dim; ++i) oh[i] *= inv;
  }
}

}  // namespace

void attention_one(const AttentionShape& s, const float* q, const void* k, const void* v, KVType type,
                   int64_t n_prefix, const int32_t* extra, int64_t n_extra, float* scores, float* out) {
  if (type == KVType::F32)
    attention_impl(s, q, static_cast<const float*>(k), static_cast<const float*>(v), n_prefix, extra, n_extra, scores, out);
  else
    attention_impl(s, q, static_cast<const uint16_t*>(k), static_cast<const uint16_t*>(v), n_prefix, extra, n_extra,
                   scores, out);
}

}  // namespace lookahead
