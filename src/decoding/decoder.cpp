#include "decoding/decoder.h"

#include <algorithm>

#include "util/timer.h"

namespace lookahead {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::Length: return "length";
    case StopReason::EndOfGeneration: return "eos";
    case StopReason::ContextFull: return "context";
    case StopReason::Stopped: return "stopped";
  }
  return "?";
}

namespace detail {

size_t OutputCollector::accept(std::span<const TokenId> toks) {
  size_t kept = 0;
  for (; kept < toks.size() && !done_; ++kept) {
    const TokenId t = toks[kept];
    if (std::find(req_.stop_tokens.begin(), req_.stop_tokens.end(), t) != req_.stop_tokens.end()) {
      stop(StopReason::EndOfGeneration);
      break;
    }
    res_.tokens.push_back(t);
    history_.push_back(t);
    if (static_cast<int>(res_.tokens.size()) >= req_.max_tokens) stop(StopReason::Length);
  }
  res_.stats.generated_tokens = static_cast<int>(res_.tokens.size());
  if (kept > 0 && sink_ && !sink_(toks.subspan(0, kept)) && !done_) stop(StopReason::Stopped);
  return kept;
}

GenerationState::GenerationState(InferenceContext& c, const DecodeRequest& r, const TokenSink& sink)
    : ctx(c),
      req(r),
      history(r.prompt.begin(), r.prompt.end()),
      out(r, sink, res, history),
      sampler(r.sampling),
      rng(r.sampling.seed),
      n_vocab(c.n_vocab()) {}

TokenId GenerationState::prefill() {
  const double t0 = now_ms();
  res.stats.prompt_tokens = static_cast<int>(req.prompt.size());
  const float* logits = ctx.prefill(req.prompt);
  const TokenId first = sampler.sample(logits, n_vocab, history, scratch, rng);
  t_generate = now_ms();
  res.stats.prompt_ms = t_generate - t0;
  if (req.max_tokens <= 0) out.stop(StopReason::Length);
  else out.accept({&first, 1});
  return first;
}

DecodeResult GenerationState::finish() {
  res.stats.generate_ms = now_ms() - t_generate;
  return std::move(res);
}

}  // namespace detail

}  // namespace lookahead
