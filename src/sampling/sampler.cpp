#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>

namespace lookahead {
namespace {

bool by_value_desc(const TokenProb& a, const TokenProb& b) { return a.p > b.p || (a.p == b.p && a.id < b.id); }

}  // namespace

TokenId Sampler::argmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

const float* Sampler::penalized(const float* logits, int n_vocab, std::span<const TokenId> history,
                                SamplerScratch& s) const {
  const bool off = p_.repeat_penalty == 1.0f && p_.presence_penalty == 0.0f && p_.frequency_penalty == 0.0f;
  if (off || p_.repeat_last_n == 0 || history.empty()) return logits;
  s.logits.assign(logits, logits + n_vocab);
  size_t from = 0;
  if (p_.repeat_last_n > 0 && history.size() > static_cast<size_t>(p_.repeat_last_n))
    from = history.size() - p_.repeat_last_n;
  std::vector<TokenId>& ids = s.ids;
  ids.assign(history.begin() + static_cast<std::ptrdiff_t>(from), history.end());
  std::sort(ids.begin(), ids.end());
  // Each distinct token once, with its count in the window.
  for (size_t i = 0; i < ids.size();) {
    size_t e = i + 1;
    while (e < ids.size() && ids[e] == ids[i]) ++e;
    const TokenId t = ids[i];
    const auto count = static_cast<float>(e - i);
    i = e;
    if (t < 0 || t >= n_vocab) continue;
    float& l = s.logits[t];
    l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
    l -= count * p_.frequency_penalty + p_.presence_penalty;
  }
  return s.logits.data();
}

void Sampler::distribution(const float* logits, int n_vocab, std::span<const TokenId> history, SamplerScratch& s,
                           std::vector<TokenProb>& out) const {
  const float* l = penalized(logits, n_vocab, history, s);
  out.clear();
  if (p_.greedy()) {
    out.push_back({argmax(l, n_vocab), 1.0f});
    return;
  }
  auto& c = s.cand;
  c.resize(n_vocab);
  for (int i = 0; i < n_vocab; ++i) c[i] = {i, l[i]};
  size_t n = c.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
    std::partial_sort(c.begin(), c.begin() + p_.top_k, c.end(), by_value_desc);
    n = p_.top_k;
  } else {
    std::sort(c.begin(), c.end(), by_value_desc);
  }
  // top-p and min-p look at the untempered softmax, as llama.cpp's chain does.
  const float mx = c[0].p;
  if (p_.top_p < 1.0f) {
    double z = 0;
    for (size_t i = 0; i < n; ++i) z += std::exp(static_cast<double>(c[i].p - mx));
    double cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cum += std::exp(static_cast<double>(c[i].p - mx)) / z;
      if (cum >= p_.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
  }
  if (p_.min_p > 0.0f) {
    const float floor_logit = mx + std::log(p_.min_p);
    size_t keep = 1;
    while (keep < n && c[keep].p >= floor_logit) ++keep;
    n = keep;
  }
  double z = 0;
  for (size_t i = 0; i < n; ++i) z += std::exp(static_cast<double>(c[i].p - mx) / p_.temperature);
  out.resize(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = {c[i].id, static_cast<float>(std::exp(static_cast<double>(c[i].p - mx) / p_.temperature) / z)};
  // Drop the tail that underflowed to probability 0 in float (low
  // temperature, wide logits): such tokens can never be drawn, and keeping
  // them let the old draw() fall back to the least likely token of the whole
  // vocabulary when u exceeded the float sum. Sorted, so zeros are at the end.
  while (out.size() > 1 && out.back().p <= 0.0f) out.pop_back();
}

TokenId Sampler::draw(const std::vector<TokenProb>& dist, double u) {
  // The float probabilities sum to 1 only up to rounding; scaling u by their
  // actual sum (rather than comparing u with a sum that may stop short of 1)
  // keeps the excess or shortfall from landing on the last token. The same
  // arithmetic is in RngRandomness::categorical (decoding/speculative_verify),
  // so lookahead verification reproduces plain draws exactly.
  double total = 0;
  for (const auto& tp : dist) total += tp.p;
  const double target = u * total;
  double cum = 0;
  size_t last = 0;
  for (size_t i = 0; i < dist.size(); ++i) {
    if (dist[i].p <= 0) continue;
    cum += dist[i].p;
    last = i;
    if (target < cum) return dist[i].id;
  }
  return dist[last].id;  // target rounded up to the total
}

TokenId Sampler::sample(const float* logits, int n_vocab, std::span<const TokenId> history, SamplerScratch& s,
                        Rng& rng) const {
  if (p_.greedy()) return argmax(penalized(logits, n_vocab, history, s), n_vocab);
  distribution(logits, n_vocab, history, s, s.dist);
  return draw(s.dist, rng.uniform());
}

}  // namespace lookahead
