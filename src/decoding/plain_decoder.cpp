#include <algorithm>

#include "decoding/decoder.h"
#include "util/timer.h"

namespace lookahead {

DecodeResult PlainDecoder::generate(InferenceContext& ctx, const DecodeRequest& req, const TokenSink& on_tokens) {
  DecodeResult res;
  std::vector<TokenId> history(req.prompt.begin(), req.prompt.end());
  detail::OutputCollector out(req, on_tokens, res, history);
  Sampler sampler(req.sampling);
  SamplerScratch scratch;
  Rng rng(req.sampling.seed);
  const int n_vocab = ctx.n_vocab();

  const double t0 = now_ms();
  res.stats.prompt_tokens = static_cast<int>(req.prompt.size());
  const float* logits = ctx.prefill(req.prompt);
  TokenId tok = sampler.sample(logits, n_vocab, history, scratch, rng);
  const double t1 = now_ms();
  res.stats.prompt_ms = t1 - t0;
  if (req.max_tokens <= 0) {
    out.stop(StopReason::Length);
  } else {
    out.accept({&tok, 1});
  }
  Batch batch;
  while (!out.done()) {
    if (ctx.n_past() >= ctx.n_ctx()) {
      out.stop(StopReason::ContextFull);
      break;
    }
    batch.clear();
    batch.add(tok, ctx.n_past(), {}, true);
    const double f0 = now_ms();
    logits = ctx.forward(batch);
    ctx.commit_all();
    res.stats.forward_ms += now_ms() - f0;
    ++res.stats.steps;
    tok = sampler.sample(logits, n_vocab, history, scratch, rng);
    out.accept({&tok, 1});
  }
  res.stats.generate_ms = now_ms() - t1;
  res.stats.accept_hist = {0, res.stats.steps};
  return res;
}

}  // namespace lookahead
