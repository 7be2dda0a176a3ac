#include <algorithm>

#include "decoding/decoder.h"
#include "util/timer.h"

namespace lookahead {

DecodeResult PlainDecoder::generate(InferenceContext& ctx, const DecodeRequest& req, const TokenSink& on_tokens) {
  detail::GenerationState gen(ctx, req, on_tokens);
  DecodeStats& stats = gen.res.stats;
  TokenId tok = gen.prefill();
  Batch batch;
  while (!gen.out.done()) {
    if (ctx.n_past() >= ctx.n_ctx()) {
      gen.out.stop(StopReason::ContextFull);
      break;
    }
    batch.clear();
    batch.add(tok, ctx.n_past(), {}, true);
    const double f0 = now_ms();
    const float* logits = ctx.forward(batch);
    ctx.commit_all();
    stats.forward_ms += now_ms() - f0;
    ++stats.steps;
    tok = gen.sampler.sample(logits, gen.n_vocab, gen.history, gen.scratch, gen.rng);
    gen.out.accept({&tok, 1});
  }
  stats.accept_hist = {0, stats.steps};
  return gen.finish();
}

}  // namespace lookahead
