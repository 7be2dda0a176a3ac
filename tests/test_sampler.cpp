// Sampler chain unit tests: greedy argmax and its tie rule, each truncation
// stage (top-k, top-p, min-p) against hand-computed expectations in
// llama.cpp's order (penalty -> top-k -> top-p -> min-p -> temperature),
// temperature, the repetition penalty and its window, normalisation, draw()
// and seeded reproducibility.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "sampling/sampler.h"

using namespace lookahead;

namespace {

SamplerParams plain_params(float temp) {
  SamplerParams p;
  p.temperature = temp;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.repeat_penalty = 1.0f;
  return p;
}

std::vector<TokenProb> dist_of(const SamplerParams& p, const std::vector<float>& logits,
                               const std::vector<TokenId>& history = {}) {
  Sampler s(p);
  SamplerScratch scratch;
  std::vector<TokenProb> out;
  s.distribution(logits.data(), static_cast<int>(logits.size()), history, scratch, out);
  return out;
}

std::set<TokenId> ids_of(const std::vector<TokenProb>& d) {
  std::set<TokenId> s;
  for (const auto& tp : d) s.insert(tp.id);
  return s;
}

double sum_of(const std::vector<TokenProb>& d) {
  double z = 0;
  for (const auto& tp : d) z += tp.p;
  return z;
}

// Softmax of logits[ids] at temperature t, as the reference.
std::map<TokenId, double> softmax(const std::vector<float>& logits, const std::set<TokenId>& ids, double t) {
  double mx = -1e300, z = 0;
  for (TokenId i : ids) mx = std::max(mx, static_cast<double>(logits[i]));
  std::map<TokenId, double> out;
  for (TokenId i : ids) z += out[i] = std::exp((logits[i] - mx) / t);
  for (auto& [i, p] : out) p /= z;
  return out;
}

const std::vector<float> kLogits = {1.0f, 3.0f, -2.0f, 2.5f, 0.0f, 3.0f, -1.0f, 2.0f};

}  // namespace

TEST(Sampler, GreedyIsArgmaxLowestIndexWinsTies) {
  EXPECT_EQ(Sampler::argmax(kLogits.data(), 8), 1);  // 1 and 5 tie at 3.0
  const std::vector<float> neg = {-5.0f, -1.0f, -1.0f, -3.0f};
  EXPECT_EQ(Sampler::argmax(neg.data(), 4), 1);
  Sampler s(plain_params(0.0f));
  SamplerScratch scratch;
  Rng rng(1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample(kLogits.data(), 8, {}, scratch, rng), 1);
  const auto d = dist_of(plain_params(0.0f), kLogits);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, 1);
  EXPECT_EQ(d[0].p, 1.0f);
  // Negative temperature is greedy too, and ignores truncation settings.
  SamplerParams p = plain_params(-1.0f);
  p.top_k = 3;
  EXPECT_EQ(dist_of(p, kLogits).size(), 1u);
}

TEST(Sampler, DistributionIsSortedNormalisedSoftmaxAtTemperature) {
  for (float t : {0.3f, 0.7f, 1.0f, 1.5f}) {
    const auto d = dist_of(plain_params(t), kLogits);
    ASSERT_EQ(d.size(), 8u);
    EXPECT_NEAR(sum_of(d), 1.0, 1e-6);
    const auto want = softmax(kLogits, ids_of(d), t);
    for (size_t i = 0; i < d.size(); ++i) {
      EXPECT_NEAR(d[i].p, want.at(d[i].id), 1e-6) << "t=" << t;
      if (i > 0) {
        EXPECT_GE(d[i - 1].p, d[i].p);
        if (d[i - 1].p == d[i].p) {
          EXPECT_LT(d[i - 1].id, d[i].id);  // ties by id
        }
      }
    }
    // Temperature: log-probability ratios scale as 1/t.
    EXPECT_NEAR(std::log(want.at(1) / want.at(0)), (3.0 - 1.0) / t, 1e-9);
  }
  // Lower temperature sharpens.
  EXPECT_GT(dist_of(plain_params(0.5f), kLogits)[0].p, dist_of(plain_params(1.0f), kLogits)[0].p);
}

TEST(Sampler, TopKKeepsTheKLargest) {
  SamplerParams p = plain_params(1.0f);
  p.top_k = 3;
  auto d = dist_of(p, kLogits);
  EXPECT_EQ(ids_of(d), (std::set<TokenId>{1, 5, 3}));
  EXPECT_NEAR(sum_of(d), 1.0, 1e-6);
  const auto want = softmax(kLogits, {1, 5, 3}, 1.0);
  for (const auto& tp : d) EXPECT_NEAR(tp.p, want.at(tp.id), 1e-6);
  // A tie at the cut keeps the lower id.
  p.top_k = 1;
  d = dist_of(p, kLogits);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, 1);
  EXPECT_EQ(d[0].p, 1.0f);
  // k >= vocab: everything.
  p.top_k = 100;
  EXPECT_EQ(dist_of(p, kLogits).size(), 8u);
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  // Untempered softmax of kLogits, sorted: 1,5 (3.0), 3 (2.5), 7 (2.0), 0, 4, 6, 2.
  const auto full = softmax(kLogits, {0, 1, 2, 3, 4, 5, 6, 7}, 1.0);
  const std::vector<TokenId> order = {1, 5, 3, 7, 0, 4, 6, 2};
  for (float top_p : {0.05f, 0.3f, 0.5f, 0.8f, 0.9f, 0.99f}) {
    size_t keep = 0;
    double cum = 0;
    while (keep < order.size()) {
      cum += full.at(order[keep++]);
      if (cum >= top_p) break;
    }
    SamplerParams p = plain_params(1.0f);
    p.top_p = top_p;
    const auto d = dist_of(p, kLogits);
    EXPECT_EQ(ids_of(d), std::set<TokenId>(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep)))
        << "top_p " << top_p;
    EXPECT_NEAR(sum_of(d), 1.0, 1e-6);
  }
  // top-p looks at the untempered distribution: the kept set does not
  // depend on the temperature (llama.cpp's chain applies temperature last).
  SamplerParams p = plain_params(0.2f);
  p.top_p = 0.8f;
  SamplerParams q = p;
  q.temperature = 2.0f;
  EXPECT_EQ(ids_of(dist_of(p, kLogits)), ids_of(dist_of(q, kLogits)));
}

TEST(Sampler, MinPKeepsTokensWithinFactorOfTheMax) {
  // p_i / p_max = exp(l_i - 3): 2.5 -> 0.61, 2.0 -> 0.37, 1.0 -> 0.14, 0 -> 0.05.
  struct C {
    float min_p;
    std::set<TokenId> ids;
  };
  for (const auto& c : {C{0.5f, {1, 5, 3}}, C{0.3f, {1, 5, 3, 7}}, C{0.1f, {1, 5, 3, 7, 0}}, C{1.0f, {1, 5}}}) {
    SamplerParams p = plain_params(0.8f);
    p.min_p = c.min_p;
    const auto d = dist_of(p, kLogits);
    EXPECT_EQ(ids_of(d), c.ids) << "min_p " << c.min_p;
    EXPECT_NEAR(sum_of(d), 1.0, 1e-6);
    const auto want = softmax(kLogits, c.ids, 0.8);
    for (const auto& tp : d) EXPECT_NEAR(tp.p, want.at(tp.id), 1e-6);
  }
}

TEST(Sampler, ChainAppliesTopKThenTopPThenMinP) {
  SamplerParams p = plain_params(1.0f);
  p.top_k = 4;    // {1, 5, 3, 7}
  p.top_p = 0.6f;  // renormalised over the 4: 1 and 5 hold ~0.62 together -> {1, 5}
  const auto d = dist_of(p, kLogits);
  EXPECT_EQ(ids_of(d), (std::set<TokenId>{1, 5}));
  p.top_p = 1.0f;
  p.min_p = 0.5f;  // of {1, 5, 3, 7}: keeps 1, 5, 3
  EXPECT_EQ(ids_of(dist_of(p, kLogits)), (std::set<TokenId>{1, 5, 3}));
}

TEST(Sampler, RepetitionPenaltyDividesPositiveMultipliesNegativeOncePerToken) {
  SamplerParams p = plain_params(0.0f);
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = -1;
  Sampler s(p);
  SamplerScratch scratch;
  // Token 1 (3.0) and 2 (-2.0) in history, 1 twice: 1 -> 1.5, 2 -> -4.0, once each.
  const std::vector<TokenId> hist = {1, 2, 1, 99 /* out of vocab: ignored */};
  const float* l = s.penalized(kLogits.data(), 8, hist, scratch);
  EXPECT_FLOAT_EQ(l[1], 1.5f);
  EXPECT_FLOAT_EQ(l[2], -4.0f);
  EXPECT_FLOAT_EQ(l[5], 3.0f);
  EXPECT_FLOAT_EQ(l[0], 1.0f);
  // Greedy sees the penalty: 5 wins now.
  Rng rng(0);
  EXPECT_EQ(s.sample(kLogits.data(), 8, hist, scratch, rng), 5);
  EXPECT_EQ(dist_of(p, kLogits, hist)[0].id, 5);
  // The window: only the last n tokens count.
  p.repeat_last_n = 2;
  Sampler s2(p);
  const std::vector<TokenId> hist2 = {1, 5, 3, 7};  // only 3 and 7 penalised
  l = s2.penalized(kLogits.data(), 8, hist2, scratch);
  EXPECT_FLOAT_EQ(l[1], 3.0f);
  EXPECT_FLOAT_EQ(l[3], 1.25f);
  EXPECT_FLOAT_EQ(l[7], 1.0f);
  // Off: penalty 1, window 0, or empty history return the input as is.
  p.repeat_last_n = 0;
  EXPECT_EQ(Sampler(p).penalized(kLogits.data(), 8, hist, scratch), kLogits.data());
  p.repeat_last_n = 64;
  p.repeat_penalty = 1.0f;
  EXPECT_EQ(Sampler(p).penalized(kLogits.data(), 8, hist, scratch), kLogits.data());
  // The penalty also shapes the sampled distribution.
  SamplerParams q = plain_params(1.0f);
  q.repeat_penalty = 2.0f;
  const auto d = dist_of(q, kLogits, {1});
  std::vector<float> pen = kLogits;
  pen[1] = 1.5f;
  const auto want = softmax(pen, {0, 1, 2, 3, 4, 5, 6, 7}, 1.0);
  for (const auto& tp : d) EXPECT_NEAR(tp.p, want.at(tp.id), 1e-6);
}

TEST(Sampler, PresenceAndFrequencyPenaltiesSubtractPerTokenAndPerOccurrence) {
  SamplerParams p = plain_params(0.0f);
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  p.repeat_last_n = -1;
  SamplerScratch scratch;
  const std::vector<TokenId> hist = {1, 2, 1, 99 /* out of vocab: ignored */};
  const float* l = Sampler(p).penalized(kLogits.data(), 8, hist, scratch);
  EXPECT_EQ(l[1], 3.0f - (2 * 0.25f + 0.5f));  // seen twice
  EXPECT_EQ(l[2], -2.0f - (0.25f + 0.5f));     // once
  EXPECT_EQ(l[5], 3.0f);                       // unseen: untouched
  // After the repetition penalty, as llama.cpp's penalties stage.
  p.repeat_penalty = 2.0f;
  l = Sampler(p).penalized(kLogits.data(), 8, hist, scratch);
  EXPECT_EQ(l[1], 1.5f - 1.0f);
  EXPECT_EQ(l[2], -4.0f - 0.75f);
  // The same window: with the last 2 tokens only 1 (once) and 99 count.
  p.repeat_penalty = 1.0f;
  p.repeat_last_n = 2;
  l = Sampler(p).penalized(kLogits.data(), 8, hist, scratch);
  EXPECT_EQ(l[1], 3.0f - 0.75f);
  EXPECT_EQ(l[2], -2.0f);
  // Negative values reward repeats (OpenAI allows [-2, 2]).
  p.presence_penalty = -1.0f;
  p.frequency_penalty = 0.0f;
  EXPECT_EQ(Sampler(p).penalized(kLogits.data(), 8, hist, scratch)[1], 4.0f);
  // Greedy follows: tokens 1 and 5 tie at 3.0 and the lower id wins; a
  // small presence penalty on 1 hands the argmax to 5.
  SamplerParams g = plain_params(0.0f);
  Rng rng(0);
  EXPECT_EQ(Sampler(g).sample(kLogits.data(), 8, hist, scratch, rng), 1);
  g.presence_penalty = 0.1f;
  EXPECT_EQ(Sampler(g).sample(kLogits.data(), 8, hist, scratch, rng), 5);
}

TEST(Sampler, DrawWalksTheCumulativeMass) {
  const std::vector<TokenProb> d = {{7, 0.5f}, {3, 0.25f}, {9, 0.25f}};
  EXPECT_EQ(Sampler::draw(d, 0.0), 7);
  EXPECT_EQ(Sampler::draw(d, 0.4999), 7);
  EXPECT_EQ(Sampler::draw(d, 0.5), 3);
  EXPECT_EQ(Sampler::draw(d, 0.7499), 3);
  EXPECT_EQ(Sampler::draw(d, 0.75), 9);
  EXPECT_EQ(Sampler::draw(d, std::nextafter(1.0, 0.0)), 9);
  // Mass that does not sum to exactly 1 is scaled, not dumped on the last
  // token: with a total of 0.5, u = 0.6 lands in the second half (token 9),
  // and a zero-mass tail is never drawn.
  const std::vector<TokenProb> half = {{7, 0.25f}, {3, 0.0f}, {9, 0.25f}, {4, 0.0f}};
  EXPECT_EQ(Sampler::draw(half, 0.4), 7);
  EXPECT_EQ(Sampler::draw(half, 0.6), 9);
  EXPECT_EQ(Sampler::draw(half, std::nextafter(1.0, 0.0)), 9);
}

TEST(Sampler, DrawFrequenciesMatchTheDistribution) {
  SamplerParams p = plain_params(0.9f);
  p.top_k = 5;
  Sampler s(p);
  SamplerScratch scratch;
  const auto d = dist_of(p, kLogits);
  Rng rng(42);
  std::map<TokenId, int> count;
  const int n = 200000;
  for (int i = 0; i < n; ++i) ++count[s.sample(kLogits.data(), 8, {}, scratch, rng)];
  EXPECT_EQ(count.size(), d.size());
  for (const auto& tp : d) {
    // 5 standard errors: a false alarm about once in 3 million runs per token.
    const double se = std::sqrt(tp.p * (1 - tp.p) / n);
    EXPECT_NEAR(static_cast<double>(count[tp.id]) / n, tp.p, 5 * se) << "token " << tp.id;
  }
}

TEST(Sampler, SeededAndReproducible) {
  SamplerParams p = plain_params(1.0f);
  Sampler s(p);
  SamplerScratch scratch;
  auto run = [&](uint64_t seed) {
    Rng rng(seed);
    std::vector<TokenId> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(kLogits.data(), 8, {}, scratch, rng));
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
  // The generator is defined bit for bit (not std::*_distribution), so these
  // values hold on every platform.
  Rng r(0);
  const uint64_t first = r.next_u64();
  Rng r2(0);
  EXPECT_EQ(r2.next_u64(), first);
  Rng u(3);
  for (int i = 0; i < 1000; ++i) {
    const double x = u.uniform();
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
  }
}

TEST(Sampler, ProbabilitiesSumToOneOnLargeVocab) {
  // A model-sized vocabulary with a wide logit range, every stage enabled.
  std::vector<float> logits(32000);
  Rng r(9);
  for (auto& l : logits) l = static_cast<float>(20 * r.uniform() - 10);
  for (float t : {0.1f, 0.7f, 1.0f, 2.0f}) {
    for (int k : {0, 1, 40}) {
      for (float top_p : {0.5f, 0.95f, 1.0f}) {
        for (float min_p : {0.0f, 0.05f}) {
          SamplerParams p = plain_params(t);
          p.top_k = k;
          p.top_p = top_p;
          p.min_p = min_p;
          const auto d = dist_of(p, logits);
          ASSERT_FALSE(d.empty());
          EXPECT_NEAR(sum_of(d), 1.0, 1e-5);
          for (const auto& tp : d) EXPECT_GT(tp.p, 0.0f);  // underflowed tokens are dropped
          if (k > 0) {
            EXPECT_LE(d.size(), static_cast<size_t>(k));
          }
        }
      }
    }
  }
}
