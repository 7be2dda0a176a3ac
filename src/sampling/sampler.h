// Sampler chain, in llama.cpp's default order:
//   penalties -> top-k -> top-p -> min-p -> temperature -> draw
// The penalties stage, over the last repeat_last_n tokens (prompt included,
// as llama.cpp's server feeds its prompt to the sampler), first divides a
// seen token's positive logit by repeat_penalty (multiplies a negative one),
// then subtracts frequency_penalty x its count + presence_penalty (OpenAI's
// formula).
// Greedy (temperature <= 0) is the argmax after the penalty.
//
// distribution() exposes the exact distribution the draw uses, so lossless
// lookahead sampling can verify drafts against it (see the decoding layer).
// Randomness comes only from the caller's Rng (util/rng.h), so a seed gives
// the same tokens on every machine.
//
// Threads: a Sampler is immutable after construction; scratch lives in the
// caller's SamplerScratch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/batch.h"
#include "util/rng.h"

namespace lookahead {

struct SamplerParams {
  float temperature = 0.8f;        // <= 0: greedy (argmax)
  int top_k = 40;                  // <= 0: off
  float top_p = 0.95f;             // >= 1: off
  float min_p = 0.05f;             // <= 0: off
  float repeat_penalty = 1.0f;     // 1: off; >1 penalises tokens seen in the last repeat_last_n
  float presence_penalty = 0.0f;   // 0: off; subtracted once from each token seen in the window
  float frequency_penalty = 0.0f;  // 0: off; subtracted per occurrence in the window
  int repeat_last_n = 64;          // history window for the penalties (0: off, -1: whole history)
  uint64_t seed = 0;               // seeds the caller's Rng

  bool greedy() const { return temperature <= 0.0f; }
};

struct TokenProb {
  TokenId id;
  float p;  // for logits stages: the logit
};

struct SamplerScratch {
  std::vector<TokenProb> cand;
  std::vector<float> logits;
  std::vector<TokenId> ids;
  std::vector<TokenProb> dist;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p) : p_(p) {}
  const SamplerParams& params() const { return p_; }

  // Applies the penalties for `history` (all tokens so far, prompt included)
  // to a copy of logits held in scratch.logits and returns it (logits itself
  // when every penalty is off).
  const float* penalized(const float* logits, int n_vocab, std::span<const TokenId> history, SamplerScratch& s) const;

  // The distribution the draw samples from: candidates sorted by probability
  // (descending, ties by id), probabilities summing to 1. For greedy it is
  // the argmax with probability 1.
  void distribution(const float* logits, int n_vocab, std::span<const TokenId> history, SamplerScratch& s,
                    std::vector<TokenProb>& out) const;

  // Draws one token: argmax for greedy, else one uniform from rng.
  TokenId sample(const float* logits, int n_vocab, std::span<const TokenId> history, SamplerScratch& s,
                 Rng& rng) const;

  // Index of the largest value; the lowest index wins ties.
  static TokenId argmax(const float* x, int n);
  // Draws from a normalised distribution with one uniform u in [0, 1).
  static TokenId draw(const std::vector<TokenProb>& dist, double u);

 private:
  SamplerParams p_;
};

}  // namespace lookahead
