// End-to-end exactness of the kernels on the real stories260K model: greedy
// decoding reproduces the independent fp32 reference token for token, and
// whole-prompt batches give the same logits as token-by-token feeding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "model/context.h"
#include "model/llama_model.h"
#include "test_support.h"

namespace lookahead {
namespace {

int argmax(const float* v, int n) { return static_cast<int>(std::max_element(v, v + n) - v); }

TEST(KernelModel, Stories260KGreedyMatchesReference) {
  const std::string ref_path = test::shared_path("models/stories260K.reference.json");
  if (!std::filesystem::exists(test::model_path()) || !std::filesystem::exists(ref_path)) GTEST_SKIP() << "no shared data";
  auto model = LlamaModel::load(test::model_path());
  nlohmann::json ref = nlohmann::json::parse(std::ifstream(ref_path));
  for (int threads : {1, 2}) {
    for (const auto& c : ref["cases"]) {
      const auto prompt = c["prompt_ids"].get<std::vector<TokenId>>();
      const auto want = c["greedy_ids"].get<std::vector<TokenId>>();
      InferenceContext ctx(*model, {.n_ctx = 512, .max_batch = 64, .n_threads = threads});
      const float* logits = ctx.prefill(prompt);
      std::vector<TokenId> got;
      Batch b;
      for (size_t i = 0; i < want.size(); ++i) {
        const int tok = argmax(logits, ctx.n_vocab());
        got.push_back(tok);
        if (tok == 2) break;
        b.clear();
        b.add(tok, ctx.n_past(), {}, true);
        logits = ctx.forward(b);
        ctx.commit_all();
      }
      ASSERT_EQ(got, want) << c["prompt"] << " threads=" << threads;
    }
  }
}

TEST(KernelModel, PromptBatchEqualsTokenByToken) {
  if (!std::filesystem::exists(test::model_path())) GTEST_SKIP() << "no shared data";
  auto model = LlamaModel::load(test::model_path());
  const std::vector<TokenId> prompt = {1, 400, 20, 300, 77, 5, 123, 250, 9, 61, 33};
  const int nv = model->hparams().n_vocab;
  InferenceContext a(*model, {.n_ctx = 64, .max_batch = 16, .n_threads = 2});
  Batch b;
  b.add_causal(prompt, 0, false);
  const float* lg = a.forward(b);
  std::vector<float> batched(lg, lg + prompt.size() * nv);
  InferenceContext s(*model, {.n_ctx = 64, .max_batch = 16, .n_threads = 1});
  for (size_t i = 0; i < prompt.size(); ++i) {
    b.clear();
    b.add(prompt[i], static_cast<int32_t>(i), {}, true);
    const float* l1 = s.forward(b);
    s.commit_all();
    ASSERT_EQ(0, std::memcmp(l1, &batched[i * nv], nv * sizeof(float))) << "token " << i;
  }
}

TEST(KernelModel, TiledAttentionBatchEqualsTokenByToken) {
  // stories260K's heads (8 dims) take the per-token attention path; this
  // synthetic shape (head_dim 32, 4 heads per KV head) takes the tiled one
  // (attention_kv_head: 8-token tiles, the history in 16-key blocks): ten
  // tokens after a 40-token history, in one batch on two threads, give the
  // logits of feeding them one at a time on one, F32 and F16 KV caches.
  auto model = test::synth_model("tiled_attention",
                                 "--n-embd 256 --n-ff 512 --n-layer 2 --n-head 8 --n-head-kv 2 --type Q8_0");
  if (!model) GTEST_SKIP() << "no shared data or CLI";
  const int nv = model->hparams().n_vocab;
  std::vector<TokenId> history(40), next(10);
  for (size_t i = 0; i < history.size(); ++i) history[i] = static_cast<TokenId>(1 + 97 * i % 31000);
  for (size_t i = 0; i < next.size(); ++i) next[i] = static_cast<TokenId>(5 + 331 * i % 31000);
  for (KVType kv : {KVType::F32, KVType::F16}) {
    InferenceContext a(*model, {.n_ctx = 64, .max_batch = 16, .kv_type = kv, .n_threads = 2});
    a.prefill(history);
    Batch b;
    b.add_causal(next, a.n_past(), false);
    const float* lg = a.forward(b);
    std::vector<float> batched(lg, lg + next.size() * nv);
    InferenceContext s(*model, {.n_ctx = 64, .max_batch = 16, .kv_type = kv, .n_threads = 1});
    s.prefill(history);
    for (size_t i = 0; i < next.size(); ++i) {
      b.clear();
      b.add(next[i], s.n_past(), {}, true);
      const float* l1 = s.forward(b);
      s.commit_all();
      ASSERT_EQ(0, std::memcmp(l1, &batched[i * nv], nv * sizeof(float))) << "token " << i;
    }
  }
}

}  // namespace
}  // namespace lookahead
