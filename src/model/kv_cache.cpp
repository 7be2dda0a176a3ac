#include "model/kv_cache.h"

#include <cstring>

#include "util/error.h"
#include "util/fp16.h"

namespace lookahead {

KVCache::KVCache(int n_layer, int n_head_kv, int head_dim, int n_ctx, int max_batch, KVType type)
    : type_(type),
      n_ctx_(n_ctx),
      max_batch_(max_batch),
      n_layer_(n_layer),
      n_head_kv_(n_head_kv),
      head_dim_(head_dim),
      layer_bytes_(static_cast<size_t>(n_head_kv) * head_stride() * elem_bytes()),
      k_(n_layer * layer_bytes_),
      v_(n_layer * layer_bytes_) {}

void KVCache::store(int layer, int64_t row, const float* k, const float* v) {
  for (int h = 0; h < n_head_kv_; ++h) {
    const size_t off = layer * layer_bytes_ + static_cast<size_t>(h * head_stride() + row * head_dim_) * elem_bytes();
    const float* kh = k + static_cast<int64_t>(h) * head_dim_;
    const float* vh = v + static_cast<int64_t>(h) * head_dim_;
    if (type_ == KVType::F32) {
      std::memcpy(k_.data() + off, kh, head_dim_ * 4);
      std::memcpy(v_.data() + off, vh, head_dim_ * 4);
    } else {
      auto* kd = reinterpret_cast<uint16_t*>(k_.data() + off);
      auto* vd = reinterpret_cast<uint16_t*>(v_.data() + off);
      for (int i = 0; i < head_dim_; ++i) {
        kd[i] = fp32_to_fp16(kh[i]);
        vd[i] = fp32_to_fp16(vh[i]);
      }
    }
  }
}

void KVCache::commit(std::span<const int32_t> batch_rows) {
  if (n_past_ + static_cast<int64_t>(batch_rows.size()) > n_ctx_)
    fail("context full: {} + {} tokens exceed the context size {}", n_past_, batch_rows.size(), n_ctx_);
  const size_t row_bytes = static_cast<size_t>(head_dim_) * elem_bytes();
  const size_t head_bytes = static_cast<size_t>(head_stride()) * elem_bytes();
  int32_t prev = -1;
  for (size_t i = 0; i < batch_rows.size(); ++i) {
    const int32_t src = batch_rows[i];
    if (src <= prev || src >= max_batch_) fail("kv commit: batch rows must be ascending and < {}", max_batch_);
    prev = src;
    const size_t from = static_cast<size_t>(n_past_ + src) * row_bytes;
    const size_t to = static_cast<size_t>(n_past_ + i) * row_bytes;
    if (from == to) continue;
    for (int l = 0; l < n_layer_; ++l)
      for (int h = 0; h < n_head_kv_; ++h) {
        const size_t hb = l * layer_bytes_ + h * head_bytes;
        std::memmove(k_.data() + hb + to, k_.data() + hb + from, row_bytes);
        std::memmove(v_.data() + hb + to, v_.data() + hb + from, row_bytes);
      }
  }
  n_past_ += static_cast<int>(batch_rows.size());
}

void KVCache::commit_first(int n_staged) {
  if (n_past_ + n_staged > n_ctx_)
    fail("context full: {} + {} tokens exceed the context size {}", n_past_, n_staged, n_ctx_);
  n_past_ += n_staged;
}

void KVCache::truncate(int n) {
  if (n < 0 || n > n_past_) fail("kv truncate: {} outside [0, {}]", n, n_past_);
  n_past_ = n;
}

size_t KVCache::bytes() const {
  return 2 * static_cast<size_t>(n_layer_) * layer_bytes_;
}

}  // namespace lookahead
