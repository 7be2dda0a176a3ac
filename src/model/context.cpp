#include "model/context.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/rms_norm.h"
#include "ops/swiglu.h"
#include "util/error.h"

namespace lookahead {

InferenceContext::InferenceContext(const LlamaModel& model, const ContextOptions& opts)
    : model_(model), max_batch_(std::max(1, opts.max_batch)), pool_(opts.n_threads) {
  const LlamaHParams& hp = model.hparams();
  const int n_ctx = opts.n_ctx > 0 ? opts.n_ctx : hp.n_ctx_train;
  if (n_ctx > (1 << 22)) fail("context size {} is too large", n_ctx);
  const int64_t dkv = static_cast<int64_t>(hp.n_head_kv) * hp.head_dim;
  kv_ = KVCache(hp.n_layer, hp.n_head_kv, hp.head_dim, n_ctx, max_batch_, opts.kv_type);
  rope_ = RopeTable({hp.head_dim, hp.n_rot, hp.rope_freq_base, 1.0f / hp.rope_scale}, n_ctx + max_batch_);
  att_ = {hp.n_head, hp.n_head_kv, hp.head_dim, 1.0f / std::sqrt(static_cast<float>(hp.head_dim)),
          kv_.row_stride(), kv_.head_stride()};
  const size_t B = max_batch_;
  x_.resize(B * hp.n_embd);
  xb_.resize(B * hp.n_embd);
  q_.resize(B * hp.n_embd);
  att_out_.resize(B * hp.n_embd);
  k_.resize(B * dkv);
  v_.resize(B * dkv);
  ff_a_.resize(B * hp.n_ff);
  ff_b_.resize(B * hp.n_ff);
  hidden_sel_.resize(B * hp.n_embd);
  // Attention tiles: up to 32 query rows (tokens x the heads of a KV head).
  att_tile_tokens_ = std::clamp(32 / (hp.n_head / hp.n_head_kv), 1, kMaxAttentionTile);
  const int64_t per_thread = std::max(attention_scratch_floats(n_ctx + B),
                                      attention_kv_head_scratch_floats(att_, att_tile_tokens_, n_ctx + B));
  scores_.resize(static_cast<size_t>(pool_.size()) * per_thread);
  extra_.resize(static_cast<size_t>(pool_.size()) * att_tile_tokens_ * B);
}

void InferenceContext::validate(const Batch& b) const {
  const int n = b.size();
  if (n == 0) fail("forward: empty batch");
  if (n > max_batch_) fail("forward: batch of {} tokens exceeds max_batch {}", n, max_batch_);
  const int n_vocab = model_.hparams().n_vocab;
  for (int i = 0; i < n; ++i) {
    if (b.token(i) < 0 || b.token(i) >= n_vocab) fail("forward: token id {} outside the vocabulary of {}", b.token(i), n_vocab);
    if (b.pos(i) < kv_.n_past() || b.pos(i) >= rope_.max_pos())
      fail("forward: position {} outside [{}, {})", b.pos(i), kv_.n_past(), rope_.max_pos());
    int32_t prev = -1;
    for (int32_t j : b.sees(i)) {
      if (j <= prev || j >= i) fail("forward: token {} may only see earlier batch tokens in ascending order", i);
      prev = j;
    }
  }
}

const float* InferenceContext::forward(const Batch& b) {
  validate(b);
  const LlamaHParams& hp = model_.hparams();
  const int n = b.size();
  const int d = hp.n_embd, ff = hp.n_ff;
  const int64_t dkv = static_cast<int64_t>(hp.n_head_kv) * hp.head_dim;
  const int n_past = kv_.n_past();
  ThreadPool* pool = &pool_;

  for (int i = 0; i < n; ++i) dequantize_row(model_.tok_embd(), b.token(i), x_.data() + static_cast<size_t>(i) * d);

  for (int l = 0; l < hp.n_layer; ++l) {
    const LlamaLayer& L = model_.layers()[l];
    rms_norm_rows(x_.data(), d, L.attn_norm.data(), d, hp.rms_eps, xb_.data(), d, n);
    const MatmulOut qkv[] = {{&L.wq, q_.data(), d}, {&L.wk, k_.data(), dkv}, {&L.wv, v_.data(), dkv}};
    matmul_multi(qkv, 3, xb_.data(), d, n, pool);
    for (int i = 0; i < n; ++i) {
      rope_.apply(&q_[i * d], hp.n_head, b.pos(i));
      rope_.apply(&k_[i * dkv], hp.n_head_kv, b.pos(i));
      kv_.store(l, n_past + i, &k_[i * dkv], &v_[i * dkv]);
    }
    // Attention: (token, head) pairs are independent. A decode token (or a
    // batch with no history to share) splits its flattened pairs across the
    // threads, even a single token's heads; see attend_tiles for batches.
    const void* kc = kv_.k(l);
    const void* vc = kv_.v(l);
    const int64_t score_stride = scores_.size() / pool_.size();
    const int nh = hp.n_head;
    // Token i's keys after the history: the batch rows it sees, then its own.
    auto own_rows = [&](int i, int32_t* rows) {
      int64_t ne = 0;
      for (int32_t j : b.sees(i)) rows[ne++] = n_past + j;
      rows[ne++] = n_past + i;
      return ne;
    };
    auto attend = [&](int64_t u0, int64_t u1, int t) {
      float* scores = scores_.data() + t * score_stride;
      int32_t* extra = extra_.data() + static_cast<size_t>(t) * att_tile_tokens_ * max_batch_;
      for (int64_t u = u0; u < u1;) {
        const int i = static_cast<int>(u / nh);
        const int h0 = static_cast<int>(u % nh);
        const int h1 = static_cast<int>(std::min<int64_t>(nh, h0 + (u1 - u)));
        const int64_t ne = own_rows(i, extra);
        attention_heads(att_, h0, h1, &q_[static_cast<size_t>(i) * d], kc, vc, kv_.type(), n_past, extra, ne, scores,
                        &att_out_[static_cast<size_t>(i) * d]);
        u += h1 - h0;
      }
    };
    // Several tokens over a history: (KV head, tile of tokens) units, so
    // the shared keys are read (and on AVX-512 transposed) once per tile
    // rather than once per token (attention_kv_head).
    const int nkv = hp.n_head_kv, tile = att_tile_tokens_;
    const int64_t n_tiles = (n + tile - 1) / tile;
    auto attend_tiles = [&](int64_t u0, int64_t u1, int t) {
      float* scratch = scores_.data() + t * score_stride;
      int32_t* extra = extra_.data() + static_cast<size_t>(t) * tile * max_batch_;
      AttentionQuery qs[kMaxAttentionTile];
      int64_t built = -1;  // the tile qs describes (units of one tile are consecutive)
      for (int64_t u = u0; u < u1; ++u) {
        const int kvh = static_cast<int>(u % nkv);
        const int i0 = static_cast<int>(u / nkv) * tile, i1 = std::min(n, i0 + tile);
        if (u / nkv != built) {
          for (int i = i0; i < i1; ++i) {
            int32_t* ex = extra + static_cast<size_t>(i - i0) * max_batch_;
            qs[i - i0] = {&q_[static_cast<size_t>(i) * d], ex, own_rows(i, ex), &att_out_[static_cast<size_t>(i) * d]};
          }
          built = u / nkv;
        }
        attention_kv_head(att_, kvh, qs, i1 - i0, kc, vc, kv_.type(), n_past, scratch);
      }
    };
    // Small ops take one chunk per thread (see matmul: each claimed chunk
    // costs cache-line moves between cores), large ones the balanced split.
    const int64_t att_work = static_cast<int64_t>(n) * (n_past + n) * d;
    const int cpt = att_work < (1 << 22) ? 1 : 4;
    if (att_work < (1 << 16)) attend(0, static_cast<int64_t>(n) * nh, 0);
    else if (n == 1 || n_past < 16) pool_.parallel_for_chunks(static_cast<int64_t>(n) * nh, 1, cpt, attend);
    else pool_.parallel_for_chunks(n_tiles * nkv, 1, cpt, attend_tiles);
    matmul(L.wo, att_out_.data(), d, n, xb_.data(), d, pool);
    for (int64_t i = 0; i < static_cast<int64_t>(n) * d; ++i) x_[i] += xb_[i];

    rms_norm_rows(x_.data(), d, L.ffn_norm.data(), d, hp.rms_eps, xb_.data(), d, n);
    const MatmulOut gate_up[] = {{&L.w_gate, ff_a_.data(), ff}, {&L.w_up, ff_b_.data(), ff}};
    matmul_multi(gate_up, 2, xb_.data(), d, n, pool);
    // SwiGLU, elementwise (so any split across threads gives the same bytes);
    // worth two threads from a few thousand elements, one chunk each.
    auto act = [&](int64_t i0, int64_t i1, int) { swiglu(ff_a_.data() + i0, ff_b_.data() + i0, i1 - i0); };
    const int64_t n_ff = static_cast<int64_t>(n) * ff;
    if (n_ff >= 4096) pool_.parallel_for(n_ff, 1024, act);
    else act(0, n_ff, 0);
    matmul(L.w_down, ff_a_.data(), ff, n, xb_.data(), d, pool);
    for (int64_t i = 0; i < static_cast<int64_t>(n) * d; ++i) x_[i] += xb_[i];
  }

  int n_out = 0;
  for (int i = 0; i < n; ++i)
    if (b.want_logits(i)) rms_norm(&x_[i * d], model_.output_norm().data(), d, hp.rms_eps, &hidden_sel_[n_out++ * d]);
  if (logits_.size() < static_cast<size_t>(n_out) * hp.n_vocab) logits_.resize(static_cast<size_t>(n_out) * hp.n_vocab);
  if (n_out > 0) matmul(model_.output(), hidden_sel_.data(), d, n_out, logits_.data(), hp.n_vocab, pool);
  last_batch_size_ = n;
  return logits_.data();
}

const float* InferenceContext::prefill(std::span<const TokenId> tokens) {
  if (tokens.empty()) fail("prefill: empty prompt");
  if (kv_.n_past() + static_cast<int64_t>(tokens.size()) > kv_.n_ctx())
    fail("prompt of {} tokens does not fit the context of {} ({} already used)", tokens.size(), kv_.n_ctx(),
         kv_.n_past());
  Batch batch;
  const float* logits = nullptr;
  for (size_t off = 0; off < tokens.size(); off += max_batch_) {
    const size_t len = std::min<size_t>(max_batch_, tokens.size() - off);
    batch.clear();
    batch.add_causal(tokens.subspan(off, len), kv_.n_past(), true);
    logits = forward(batch);
    commit_all();
  }
  return logits;
}

}  // namespace lookahead
