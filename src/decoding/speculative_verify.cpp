#include "decoding/speculative_verify.h"

#include <algorithm>

namespace lookahead {
namespace {

double total_of(std::span<const double> w) {
  double t = 0;
  for (double x : w) t += x;
  return t;
}

}  // namespace

size_t RngRandomness::categorical(std::span<const double> w) {
  // Same arithmetic as Sampler::draw (sum in order, scale u, walk), so that
  // with nothing rejected the drawn token equals plain sampling's.
  const double target = rng_.uniform() * total_of(w);
  double cum = 0;
  size_t last = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] <= 0) continue;
    cum += w[i];
    last = i;
    if (target < cum) return i;
  }
  return last;  // target rounded up to the total
}

VerifyResult verify_sampled(std::span<const TokenId> cands, int n_cands, int len, DistributionFn dist,
                            VerifyRandomness& rnd, std::vector<TokenId>& accepted, VerifyScratch& s) {
  VerifyResult r;
  accepted.clear();
  s.alive.assign(static_cast<size_t>(std::max(0, n_cands)), 1);
  for (int k = 0;; ++k) {
    dist(k, k == 0 ? -1 : r.best, accepted, s.dist);
    s.w.resize(s.dist.size());
    for (size_t i = 0; i < s.dist.size(); ++i) s.w[i] = s.dist[i].p;
    double remaining = total_of(s.w);
    s.rejected.clear();
    int hit = -1;
    // Past the last draft position (k == len) only the residual draw is left.
    for (int c = 0; k < len && c < n_cands; ++c) {
      if (!s.alive[c]) continue;
      const TokenId x = cands[static_cast<size_t>(c) * len + k];
      // Same token as a rejected one: its residual probability is 0, so the
      // rule would reject it with certainty; skipping it saves a uniform.
      if (std::find(s.rejected.begin(), s.rejected.end(), x) != s.rejected.end()) continue;
      size_t i = 0;
      while (i < s.dist.size() && s.dist[i].id != x) ++i;
      const double px = i < s.dist.size() && remaining > 0 ? std::min(1.0, s.w[i] / remaining) : 0.0;
      // A token outside the truncated distribution (px == 0) is rejected
      // without drawing.
      if (px > 0 && rnd.bernoulli(px)) {
        hit = c;
        break;
      }
      // Rejected: the residual is norm(max(0, p - δ_x)), i.e. p with x zeroed.
      s.rejected.push_back(x);
      if (i < s.dist.size() && s.w[i] > 0) {
        s.w[i] = 0;
        remaining = total_of(s.w);  // summed afresh, not subtracted: no cancellation
      }
    }
    if (hit < 0) {
      // Cannot happen in exact arithmetic (the last token with mass has
      // px == 1 and is always accepted); guards against rounding only.
      if (!(remaining > 0))
        for (size_t i = 0; i < s.dist.size(); ++i) s.w[i] = s.dist[i].p;
      accepted.push_back(s.dist[rnd.categorical(s.w)].id);
      return r;
    }
    const TokenId x = cands[static_cast<size_t>(hit) * len + k];
    accepted.push_back(x);
    for (int c = 0; c < n_cands; ++c)
      if (s.alive[c] && cands[static_cast<size_t>(c) * len + k] != x) s.alive[c] = 0;
    r.best = hit;
    r.n_draft = k + 1;
  }
}

}  // namespace lookahead
