// The decoder interface: turns a prompt into generated tokens on an
// InferenceContext. Two implementations: PlainDecoder (one token per forward
// pass) and LookaheadDecoder (Fu et al., ICML 2024; several tokens per pass,
// same output). The CLI, the server and the benchmark all go through this.
//
// Contract of generate():
//   - prefills `prompt` after whatever the context already holds, then
//     generates until max_tokens, an end-of-generation token (not emitted),
//     the context is full, or on_tokens returns false;
//   - on_tokens receives each run of newly accepted tokens in order, as soon
//     as they are accepted (one for plain, up to N for lookahead);
//   - for greedy sampling the tokens are exactly those of PlainDecoder.
// Not thread-safe: one generate() at a time per decoder and context.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "model/context.h"
#include "sampling/sampler.h"

namespace lookahead {

enum class StopReason { Length, EndOfGeneration, ContextFull, Stopped };
const char* stop_reason_name(StopReason r);

struct DecodeStats {
  int prompt_tokens = 0;
  int generated_tokens = 0;
  int steps = 0;                 // forward passes after the prompt
  double prompt_ms = 0;          // prefill, including the first sampled token
  double generate_ms = 0;        // after the prefill
  double forward_ms = 0;         // time inside forward() after the prefill
  std::vector<int> accept_hist;  // accept_hist[n] = steps that accepted n tokens
  // Lookahead only.
  int64_t pool_size = 0;         // n-grams in the pool at the end
  int64_t pool_lookups = 0;      // steps that verified at least one candidate
  int64_t pool_hits = 0;         // steps whose best candidate matched >= 1 token
  int64_t verified_candidates = 0;

  double tokens_per_step() const { return steps ? static_cast<double>(generated_tokens) / steps : 0.0; }
  double tokens_per_second() const { return generate_ms > 0 ? generated_tokens / (generate_ms / 1000.0) : 0.0; }
};

struct DecodeRequest {
  std::vector<TokenId> prompt;
  int max_tokens = 128;
  SamplerParams sampling;
  std::vector<TokenId> stop_tokens;  // end-of-generation ids (EOS, EOT, ...)
};

struct DecodeResult {
  std::vector<TokenId> tokens;  // generated ids, EOG excluded
  StopReason stop = StopReason::Length;
  DecodeStats stats;
};

// Return false to stop generation after these tokens.
using TokenSink = std::function<bool(std::span<const TokenId> tokens)>;

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual DecodeResult generate(InferenceContext& ctx, const DecodeRequest& req, const TokenSink& on_tokens) = 0;
  virtual std::string name() const = 0;
};

class PlainDecoder final : public Decoder {
 public:
  DecodeResult generate(InferenceContext& ctx, const DecodeRequest& req, const TokenSink& on_tokens) override;
  std::string name() const override { return "plain"; }
};

namespace detail {
// Shared bookkeeping for decoders: accepts a run of tokens, applying the
// max_tokens / EOG / sink rules in one place so every decoder stops exactly
// where plain decoding would.
class OutputCollector {
 public:
  OutputCollector(const DecodeRequest& req, const TokenSink& sink, DecodeResult& res, std::vector<TokenId>& history)
      : req_(req), sink_(sink), res_(res), history_(history) {}
  // Accepts tokens in order; returns how many were kept. Sets done().
  size_t accept(std::span<const TokenId> toks);
  bool done() const { return done_; }
  void stop(StopReason r) { res_.stop = r; done_ = true; }

 private:
  const DecodeRequest& req_;
  const TokenSink& sink_;
  DecodeResult& res_;
  std::vector<TokenId>& history_;
  bool done_ = false;
};

// What every decoder sets up the same way: result, history (prompt +
// generated), output rules, sampler and its seeded Rng, plus the prefill
// that yields the first token. Keeps the decoders' stopping and timing
// identical by construction.
struct GenerationState {
  GenerationState(InferenceContext& ctx, const DecodeRequest& req, const TokenSink& sink);
  // Prefills the prompt, samples the first token and hands it to the output
  // rules (unless max_tokens <= 0). Returns it: the first token to feed.
  TokenId prefill();
  // Stamps the generation time and returns the result.
  DecodeResult finish();

  InferenceContext& ctx;
  const DecodeRequest& req;
  DecodeResult res;
  std::vector<TokenId> history;
  OutputCollector out;
  Sampler sampler;
  SamplerScratch scratch;
  Rng rng;
  const int n_vocab;
  double t_generate = 0;  // when the prefill ended
};
}  // namespace detail

}  // namespace lookahead
