// InferenceContext: one sequence's state (KV cache, scratch, thread pool)
// over a shared, immutable LlamaModel, and the batched forward pass.
//
// Contract: forward(batch) computes every batch token's hidden state with the
// attention rule in batch.h, stages all their K/V rows, and returns logits
// for the rows that asked for them. The caller then commits the rows to keep
// (kv().commit / commit_all). Positions must be >= n_past; a token's result
// depends only on its own token, position and the keys it sees, never on the
// rest of the batch or the thread count (batch invariance).
//
// Threads: one InferenceContext is used by one thread at a time; it owns a
// ThreadPool for intra-op parallelism.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/batch.h"
#include "model/kv_cache.h"
#include "model/llama_model.h"
#include "ops/rope.h"
#include "util/thread_pool.h"

namespace lookahead {

struct ContextOptions {
  int n_ctx = 0;           // context size in tokens; 0 = the model's training context
  int max_batch = 512;     // most tokens in one forward pass; longer prompts are split
  KVType kv_type = KVType::F32;
  int n_threads = 0;       // 0 = physical cores
};

class InferenceContext {
 public:
  InferenceContext(const LlamaModel& model, const ContextOptions& opts);

  const LlamaModel& model() const { return model_; }
  int n_ctx() const { return kv_.n_ctx(); }
  int n_past() const { return kv_.n_past(); }
  int max_batch() const { return max_batch_; }
  int n_vocab() const { return model_.hparams().n_vocab; }
  KVCache& kv() { return kv_; }
  ThreadPool& pool() { return pool_; }

  // Runs one batch (size <= max_batch). Returns logits [n_logits][n_vocab] in
  // batch order of the rows that asked; valid until the next forward().
  const float* forward(const Batch& batch);

  // Commits staged rows (ascending batch indices) / the whole last batch.
  void commit(std::span<const int32_t> batch_rows) { kv_.commit(batch_rows); }
  void commit_all() { kv_.commit_first(last_batch_size_); }
  void truncate(int n) { kv_.truncate(n); }

  // Feeds a causal run (a prompt) in chunks of max_batch, commits it, and
  // returns the logits of its last token (n_vocab floats, valid until the next
  // forward). Throws Error if it does not fit the context.
  const float* prefill(std::span<const TokenId> tokens);

 private:
  void validate(const Batch& b) const;

  const LlamaModel& model_;
  int max_batch_;
  KVCache kv_;
  RopeTable rope_;
  ThreadPool pool_;
  AttentionShape att_;
  int last_batch_size_ = 0;
  // Scratch, sized for max_batch at construction (no allocation per step).
  std::vector<float> x_, xb_, q_, k_, v_, att_out_, ff_a_, ff_b_, logits_, hidden_sel_;
  // Attention scratch per thread: scores for a tile of att_tile_tokens_
  // tokens (or a head set of one token) over n_ctx + max_batch keys, and
  // each tile token's in-batch key rows.
  static constexpr int kMaxAttentionTile = 32;
  int att_tile_tokens_ = 1;
  std::vector<float> scores_;  // [n_threads][per-thread size]
  std::vector<int32_t> extra_;  // [n_threads][att_tile_tokens_][max_batch]
};

}  // namespace lookahead
