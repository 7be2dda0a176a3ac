// Lossless multi-candidate verification for sampling (temperature > 0).
//
// Lookahead decoding (Fu et al., ICML 2024) verifies several one-hot drafts
// (n-grams from its pool) in one forward pass. Under greedy decoding a draft
// token is accepted iff it equals the argmax; under sampling we use the
// multi-candidate speculative sampling rule of SpecInfer (Miao et al., ASPLOS
// 2024, "token tree verification"), which the original lookahead
// implementation also uses. Specialised to one-hot drafts it reads, at each
// position with target distribution p (after the whole sampler chain):
//
//   for each candidate still alive at this position, in order:
//     x = its token here; skip it if x was already rejected here (p(x) = 0);
//     accept x with probability p(x)          (= min(1, p(x)/q(x)), q = δ_x);
//     on reject: p(x) <- 0 and renormalise    (= norm(max(0, p - q)));
//   if one was accepted: keep the candidates that agree with it so far and go
//     to the next position, whose p is the model's distribution after it;
//   otherwise (or past the last draft position): draw from the residual p and
//     stop.
//
// Why the output has exactly the target distribution (proof sketch):
//  (1) One position, candidate tokens x1..xm distinct (duplicates of rejected
//      tokens are skipped, which is what the rule would do anyway: their
//      residual probability is 0, so they are rejected with certainty). By
//      induction on m: m = 0 draws from p. For m > 0,
//        P(out = x1)      = p(x1),
//        P(out = y != x1) = (1 - p(x1)) * p'(y),  p' = p with x1 removed,
//                                                 renormalised, drawn by the
//                                                 rule on x2..xm (induction)
//                         = (1 - p(x1)) * p(y) / (1 - p(x1)) = p(y).
//      (p(x1) = 1 never rejects; p(x1) = 0 always rejects and p' = p.)
//  (2) Several positions: the candidates alive at position k+1 and the
//      distribution there are functions of the prefix accepted so far (the
//      pool and the window are fixed before the step's randomness is drawn;
//      the lookahead branch is greedy, i.e. deterministic). So conditional on
//      the prefix, position k+1 is again an instance of (1) and its token has
//      the target conditional p(. | prefix). The product of the conditionals
//      is the target joint; stopping after a residual draw only decides how
//      many tokens this step emits, not their distribution, and the next
//      step starts from the same conditional.
//  (3) Steps: each step uses fresh randomness and starts from the accepted
//      history, so by induction over steps the whole generation has the
//      distribution of plain sampling. Truncation (max_tokens, stop tokens,
//      context end) cuts a sequence at a point that depends only on its
//      prefix, so it preserves the distribution too.
//
// The verifier is a pure function of the distributions, the candidates and
// the randomness source, so tests can enumerate its decision tree exactly
// (tests/test_sampling_verify.cpp) instead of sampling it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "sampling/sampler.h"
#include "util/rng.h"

namespace lookahead {

// Where the verifier's randomness comes from. Injectable so a test can walk
// every branch with its exact probability.
class VerifyRandomness {
 public:
  virtual ~VerifyRandomness() = default;
  // True with probability p (p in [0, 1]).
  virtual bool bernoulli(double p) = 0;
  // An index i with probability w[i] / sum(w); w >= 0 with a positive sum.
  virtual size_t categorical(std::span<const double> w) = 0;
};

// The production source: one Rng::uniform() per decision. categorical() uses
// the very arithmetic of Sampler::draw, so a step without candidates draws
// the same token as plain sampling from the same Rng state.
class RngRandomness final : public VerifyRandomness {
 public:
  explicit RngRandomness(Rng& rng) : rng_(rng) {}
  bool bernoulli(double p) override { return rng_.uniform() < p; }
  size_t categorical(std::span<const double> w) override;

 private:
  Rng& rng_;
};

// A non-owning callable reference (no allocation per step, unlike
// std::function with a large capture).
template <class Sig>
class FunctionRef;
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT: implicit by design, like std::function_ref
      : obj_(const_cast<void*>(static_cast<const void*>(&f))), call_([](void* o, Args... a) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(a)...);
        }) {}
  R operator()(Args... a) const { return call_(obj_, std::forward<Args>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

// Fills `out` with the target distribution at draft depth `depth` (0 = the
// position right after the step's input token), given the tokens accepted
// so far in this step (`accepted`, size == depth). `cand` is one candidate
// whose first `depth` tokens equal `accepted` (any alive one: they share
// the prefix, so their logits there are identical), or -1 when depth == 0.
// Probabilities need not sum to exactly 1 (they are renormalised).
using DistributionFn = FunctionRef<void(int depth, int cand, std::span<const TokenId> accepted,
                                        std::vector<TokenProb>& out)>;

struct VerifyResult {
  int best = -1;     // a candidate whose first n_draft tokens were accepted; -1 if n_draft == 0
  int n_draft = 0;   // accepted draft tokens; the step emits n_draft + 1 tokens
};

// Reusable buffers (no allocation once warm).
struct VerifyScratch {
  std::vector<TokenProb> dist;
  std::vector<double> w;
  std::vector<TokenId> rejected;
  std::vector<uint8_t> alive;
};

// Multi-candidate speculative verification with one-hot drafts (see the top
// of this file). `cands` holds n_cands rows of `len` draft tokens each
// (row-major). Writes the emitted tokens to `accepted`: the accepted draft
// prefix plus one token drawn from the (residual) target distribution.
VerifyResult verify_sampled(std::span<const TokenId> cands, int n_cands, int len, DistributionFn dist,
                            VerifyRandomness& rnd, std::vector<TokenId>& accepted, VerifyScratch& s);

}  // namespace lookahead
