#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>

#include "api/model_impl.h"
#include "api/stop_matcher.h"
#include "decoding/lookahead_decoder.h"
#include "model/context.h"
#include "text/tokenizer.h"
#include "util/error.h"

namespace lookahead {

struct Session::Impl {
  std::unique_ptr<InferenceContext> ctx;
  std::unique_ptr<LookaheadDecoder> lookahead;  // kept so its pool can persist (keep_pool)
};

struct SharedNGramPool::Impl {
  mutable std::mutex mu;
  NGramPool pool;  // n() == 0 until the first generate() sets N
};

SharedNGramPool::SharedNGramPool() : impl_(std::make_unique<Impl>()) {}
SharedNGramPool::~SharedNGramPool() = default;
int64_t SharedNGramPool::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->pool.size();
}
void SharedNGramPool::clear() {
  std::lock_guard lock(impl_->mu);
  impl_->pool = NGramPool();
}

namespace {

SamplerParams to_sampler(const SamplingOptions& s, uint64_t seed) {
  SamplerParams p;
  p.temperature = s.temperature;
  p.top_k = s.top_k;
  p.top_p = s.top_p;
  p.min_p = s.min_p;
  p.repeat_penalty = s.repeat_penalty;
  p.presence_penalty = s.presence_penalty;
  p.frequency_penalty = s.frequency_penalty;
  p.repeat_last_n = s.repeat_last_n;
  p.seed = seed;
  if (!(s.temperature == s.temperature)) fail("temperature must be a number");
  if (s.top_p <= 0 || s.top_p > 1) fail("top_p must be in (0, 1], got {}", s.top_p);
  if (s.min_p < 0 || s.min_p > 1) fail("min_p must be in [0, 1], got {}", s.min_p);
  if (!(s.repeat_penalty > 0) || !std::isfinite(s.repeat_penalty))
    fail("repeat_penalty must be positive, got {}", s.repeat_penalty);
  if (!std::isfinite(s.presence_penalty)) fail("presence_penalty must be a finite number");
  if (!std::isfinite(s.frequency_penalty)) fail("frequency_penalty must be a finite number");
  return p;
}

LookaheadParams to_lookahead(const LookaheadOptions& o) {
  LookaheadParams p;
  p.window = o.window;
  p.ngram = o.ngram;
  p.max_verify = o.max_verify;
  p.pool_from_prompt = o.pool_from_prompt;
  p.keep_pool = o.keep_pool;
  p.validate();
  return p;
}

}  // namespace

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& opts)
    : model_(std::move(model)), impl_(std::make_unique<Impl>()) {
  if (!model_) fail("Session: null model");
  const LlamaModel& lm = *model_->impl().llama;
  ContextOptions c;
  c.n_ctx = opts.n_ctx > 0 ? opts.n_ctx : std::min(lm.hparams().n_ctx_train, 4096);
  c.n_threads = opts.n_threads;
  c.max_batch = opts.max_batch;
  c.kv_type = opts.kv_type == KVCacheType::F16 ? KVType::F16 : KVType::F32;
  if (c.max_batch < 1) fail("max_batch must be at least 1, got {}", c.max_batch);
  impl_->ctx = std::make_unique<InferenceContext>(lm, c);
}

Session::~Session() = default;
int Session::n_ctx() const { return impl_->ctx->n_ctx(); }
int Session::n_threads() const { return impl_->ctx->pool().size(); }

Generation Session::generate(std::string_view prompt, const GenerateOptions& opts, const TextCallback& on_text) {
  return generate(model_->tokenize(prompt, opts.add_special, opts.parse_special), opts, on_text);
}

Generation Session::generate(std::vector<int32_t> prompt_ids, const GenerateOptions& opts, const TextCallback& on_text) {
  const Model::Impl& mi = model_->impl();
  const Tokenizer& tok = *mi.tokenizer;
  InferenceContext& ctx = *impl_->ctx;
  if (prompt_ids.empty()) fail("empty prompt: nothing to condition on (the vocab adds no BOS)");
  for (int32_t id : prompt_ids)
    if (id < 0 || id >= tok.n_vocab()) fail("prompt token id {} outside the vocabulary of {}", id, tok.n_vocab());
  if (static_cast<int>(prompt_ids.size()) >= ctx.n_ctx())
    fail("prompt of {} tokens is too long for the context of {} tokens", prompt_ids.size(), ctx.n_ctx());
  if (opts.max_tokens < 0) fail("max_tokens must be >= 0, got {}", opts.max_tokens);

  const uint64_t seed = opts.sampling.seed ? *opts.sampling.seed : std::random_device{}();
  DecodeRequest req;
  req.prompt = prompt_ids;
  req.max_tokens = opts.max_tokens;
  req.sampling = to_sampler(opts.sampling, seed);
  for (const auto& id : tok.vocab().eog) req.stop_tokens.push_back(id);
  std::sort(req.stop_tokens.begin(), req.stop_tokens.end());

  Decoder* decoder = nullptr;
  PlainDecoder plain;
  SharedNGramPool* shared = opts.lookahead.enabled ? opts.lookahead.shared_pool.get() : nullptr;
  if (opts.lookahead.enabled) {
    LookaheadParams lp = to_lookahead(opts.lookahead);
    // The decoder must not clear the snapshot loaded below.
    if (shared) lp.keep_pool = true;
    if (lp.batch_size() > ctx.max_batch())
      fail("--lookahead {},{},{} needs {} tokens per step; raise max_batch (now {})", lp.window, lp.ngram,
           lp.max_verify, lp.batch_size(), ctx.max_batch());
    auto& la = impl_->lookahead;
    const auto& cur = la ? la->params() : lp;
    if (!la || cur.window != lp.window || cur.ngram != lp.ngram || cur.max_verify != lp.max_verify ||
        cur.pool_from_prompt != lp.pool_from_prompt || cur.keep_pool != lp.keep_pool)
      la = std::make_unique<LookaheadDecoder>(lp);
    decoder = la.get();
    if (shared) {
      std::lock_guard lock(shared->impl().mu);
      const NGramPool& sp = shared->impl().pool;
      if (sp.n() == lp.ngram && sp.capacity() == std::max(1, lp.max_verify)) la->pool() = sp;
      else la->pool().reset(lp.ngram, std::max(1, lp.max_verify));
    }
  } else {
    decoder = &plain;
  }

  Generation g;
  g.prompt_ids = prompt_ids;
  // Only a bare-BOS prompt puts the first generated piece at the start of the text.
  TokenStream stream(tok, /*at_text_start=*/prompt_ids.size() == 1 && prompt_ids[0] == tok.bos());
  StopMatcher stops(opts.stop);
  bool cancelled = false;
  auto emit = [&](const std::string& piece) {
    if (piece.empty()) return true;
    g.text += piece;
    if (on_text && !on_text(piece)) {
      cancelled = true;
      return false;
    }
    return true;
  };
  TokenSink sink = [&](std::span<const TokenId> toks) {
    for (TokenId t : toks) {
      if (!emit(stops.push(stream.push(t)))) return false;
      if (stops.stopped()) return false;
    }
    return true;
  };

  ctx.truncate(0);
  DecodeResult r = decoder->generate(ctx, req, sink);
  if (!stops.stopped() && !cancelled) emit(stops.push(stream.flush()) + stops.flush());

  if (shared) {
    // Only the real sequence goes back (not the window's guesses): those are
    // the n-grams a similar request is most likely to repeat.
    std::vector<int32_t> seq(prompt_ids);
    seq.insert(seq.end(), r.tokens.begin(), r.tokens.end());
    const int n = opts.lookahead.ngram, cap = std::max(1, opts.lookahead.max_verify);
    std::lock_guard lock(shared->impl().mu);
    NGramPool& sp = shared->impl().pool;
    if (sp.n() != n || sp.capacity() != cap) sp.reset(n, cap);
    sp.add_sequence(seq);
  }

  g.tokens = std::move(r.tokens);
  if (stops.stopped()) g.finish_reason = "stop";
  else if (cancelled) g.finish_reason = "cancelled";
  else if (r.stop == StopReason::EndOfGeneration) g.finish_reason = "stop";
  else if (r.stop == StopReason::ContextFull) g.finish_reason = "context";
  else g.finish_reason = "length";

  GenerationStats& s = g.stats;
  s.prompt_tokens = r.stats.prompt_tokens;
  s.generated_tokens = static_cast<int>(g.tokens.size());
  s.steps = r.stats.steps;
  s.tokens_per_step = s.steps ? static_cast<double>(s.generated_tokens) / s.steps : 0.0;
  s.prompt_ms = r.stats.prompt_ms;
  s.generate_ms = r.stats.generate_ms;
  s.forward_ms = r.stats.forward_ms;
  s.tokens_per_second = r.stats.tokens_per_second();
  s.accept_hist = r.stats.accept_hist;
  s.pool_size = r.stats.pool_size;
  s.pool_lookups = r.stats.pool_lookups;
  s.pool_hits = r.stats.pool_hits;
  s.verified_candidates = r.stats.verified_candidates;
  s.seed = seed;
  s.decoder = decoder->name();
  return g;
}

}  // namespace lookahead
