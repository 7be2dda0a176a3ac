// The engine reproduces an independent fp32 reference exactly, and its output
// does not depend on the thread count or on how the prompt is batched.
#include <gtest/gtest.h>

#include "decoding/decoder.h"
#include "model/context.h"
#include "reference_cases.h"
#include "stories_model.h"
#include "text/tokenizer.h"
#include "util/error.h"

using namespace lookahead;

namespace {

const LlamaModel& model() { return test::stories_model(); }

std::vector<TokenId> greedy(const std::vector<TokenId>& prompt, int n, ContextOptions opts) {
  InferenceContext ctx(model(), opts);
  DecodeRequest req;
  req.prompt = prompt;
  req.max_tokens = n;
  req.sampling.temperature = 0;
  req.stop_tokens = {2};
  PlainDecoder dec;
  return dec.generate(ctx, req, {}).tokens;
}

}  // namespace

TEST(Reference, GreedyMatchesFp32ReferenceExactly) {
  for (const auto& c : test::reference_cases()) {
    for (int threads : {1, 2}) {
      const auto got = greedy(c.prompt_ids, static_cast<int>(c.greedy_ids.size()), {1024, 512, KVType::F32, threads});
      EXPECT_EQ(got, c.greedy_ids) << "prompt '" << c.prompt << "', threads " << threads;
    }
  }
}

TEST(Reference, TokenizerReproducesPromptIds) {
  auto f = GGUFFile::open(test::model_path());
  auto tok = Tokenizer::from_gguf(*f);
  for (const auto& c : test::reference_cases()) EXPECT_EQ(tok->encode(c.prompt, true, false), c.prompt_ids) << c.prompt;
}

TEST(Reference, PromptInOneBatchEqualsTokenByToken) {
  for (const auto& c : test::reference_cases()) {
    // max_batch = 1 feeds the prompt one token per forward pass; 3 in odd chunks.
    const auto one = greedy(c.prompt_ids, 64, {1024, 512, KVType::F32, 1});
    EXPECT_EQ(greedy(c.prompt_ids, 64, {1024, 1, KVType::F32, 1}), one) << c.prompt;
    EXPECT_EQ(greedy(c.prompt_ids, 64, {1024, 3, KVType::F32, 2}), one) << c.prompt;
  }
}

TEST(Reference, LogitsAreBitIdenticalAcrossBatchingAndThreads) {
  const auto cases = test::reference_cases();
  const auto& ids = cases.back().prompt_ids;
  const int n_vocab = model().hparams().n_vocab;
  // Logits of every prompt position, computed in one batch with 2 threads...
  InferenceContext a(model(), {256, 512, KVType::F32, 2});
  Batch b;
  b.add_causal(ids, 0, /*logits_last_only=*/false);
  const float* la = a.forward(b);
  std::vector<float> all(la, la + ids.size() * n_vocab);
  // ...equal those computed token by token with 1 thread, bit for bit.
  InferenceContext c(model(), {256, 512, KVType::F32, 1});
  for (size_t i = 0; i < ids.size(); ++i) {
    Batch one;
    one.add(ids[i], static_cast<int32_t>(i), {}, true);
    const float* lc = c.forward(one);
    c.commit_all();
    ASSERT_EQ(0, std::memcmp(lc, all.data() + i * n_vocab, n_vocab * sizeof(float))) << "position " << i;
  }
}

TEST(Reference, F16KVCacheRunsAndIsThreadInvariant) {
  const auto cases = test::reference_cases();
  const auto& c = cases[1];
  const auto a = greedy(c.prompt_ids, 64, {1024, 512, KVType::F16, 1});
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(greedy(c.prompt_ids, 64, {1024, 4, KVType::F16, 2}), a);
}

TEST(Reference, StopsAtEosAndAtContextEnd) {
  const auto cases = test::reference_cases();
  const auto& c = cases[1];
  // Context of prompt + 10: plain decoding yields 11 tokens (the last one is
  // sampled but never fed), then stops.
  InferenceContext ctx(model(), {static_cast<int>(c.prompt_ids.size()) + 10, 512, KVType::F32, 1});
  DecodeRequest req;
  req.prompt = c.prompt_ids;
  req.max_tokens = 100;
  req.sampling.temperature = 0;
  PlainDecoder dec;
  auto r = dec.generate(ctx, req, {});
  EXPECT_EQ(r.stop, StopReason::ContextFull);
  EXPECT_EQ(r.tokens.size(), 11u);
  EXPECT_EQ(r.tokens, std::vector<TokenId>(c.greedy_ids.begin(), c.greedy_ids.begin() + 11));
  // Treat the 5th reference token as EOS: generation stops before it.
  InferenceContext ctx2(model(), {1024, 512, KVType::F32, 1});
  req.stop_tokens = {c.greedy_ids[4]};
  auto r2 = dec.generate(ctx2, req, {});
  EXPECT_EQ(r2.stop, StopReason::EndOfGeneration);
  EXPECT_EQ(r2.tokens, std::vector<TokenId>(c.greedy_ids.begin(), c.greedy_ids.begin() + 4));
}

TEST(Reference, BadBatchesAreRejected) {
  InferenceContext ctx(model(), {64, 8, KVType::F32, 1});
  Batch b;
  b.add(600, 0, {}, true);  // token outside the vocab
  EXPECT_THROW(ctx.forward(b), Error);
  b.clear();
  b.add(1, 0, {}, true);
  b.add(1, 1, {1}, true);  // sees itself / a later token
  EXPECT_THROW(ctx.forward(b), Error);
  b.clear();
  for (int i = 0; i < 9; ++i) b.add(1, i, {}, false);  // larger than max_batch
  EXPECT_THROW(ctx.forward(b), Error);
  std::vector<TokenId> long_prompt(65, 1);
  EXPECT_THROW(ctx.prefill(long_prompt), Error);
}
