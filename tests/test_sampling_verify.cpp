// verify_sampled() alone, checked against exact enumeration: every branch of
// the verifier's decision tree (each accept/reject coin and each residual
// draw) is walked with its exact probability, so the probability of every
// output is computed, not sampled. Losslessness then means: the emitted
// tokens, continued to a fixed length D by drawing the rest from the target
// conditionals, have exactly the target product distribution
//   P(s_0 .. s_{D-1}) = prod_i p(s_i | s_0 .. s_{i-1})
// (checked within 1e-12 on small synthetic distributions with several
// candidates, shared prefixes, duplicates, tokens outside the support and
// one-hot targets).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "decoding/speculative_verify.h"
#include "util/rng.h"

using namespace lookahead;

namespace {

// A synthetic target model: p(. | prefix) over tokens 0..V-1, derived from a
// hash of the prefix. Tokens with weight 0 are left out of the distribution,
// as truncation (top-k/top-p/min-p) does. `onehot_at` makes depth d one-hot.
struct SyntheticModel {
  int vocab = 5;
  uint64_t salt = 1;
  int onehot_at = -1;

  std::vector<TokenProb> dist(std::span<const TokenId> prefix) const {
    uint64_t h = salt * 0x9e3779b97f4a7c15ULL + prefix.size();
    for (TokenId t : prefix) h = (h ^ static_cast<uint64_t>(t + 1)) * 0x100000001b3ULL;
    Rng r(h);
    std::vector<TokenProb> out;
    if (static_cast<int>(prefix.size()) == onehot_at) {
      out.push_back({static_cast<TokenId>(r.below(vocab)), 1.0f});
      return out;
    }
    double z = 0;
    std::vector<double> w(vocab);
    for (int i = 0; i < vocab; ++i) {
      // About one token in four gets no mass (truncated away).
      w[i] = r.below(4) == 0 ? 0.0 : 0.05 + r.uniform();
      z += w[i];
    }
    if (z == 0) w[0] = z = 1;
    for (int i = 0; i < vocab; ++i)
      if (w[i] > 0) out.push_back({i, static_cast<float>(w[i] / z)});
    std::sort(out.begin(), out.end(), [](const TokenProb& a, const TokenProb& b) { return a.p > b.p; });
    return out;
  }
  // p(t | prefix), normalised by the float sum exactly as the verifier does.
  double prob(std::span<const TokenId> prefix, TokenId t) const {
    const auto d = dist(prefix);
    double z = 0, pt = 0;
    for (const auto& tp : d) {
      z += tp.p;
      if (tp.id == t) pt = tp.p;
    }
    return pt / z;
  }
};

// Replays a fixed list of decisions; at the first decision past the list it
// throws the branch probabilities so the enumerator can fork there.
struct Fork {
  std::vector<double> probs;
};
class ScriptedRandomness final : public VerifyRandomness {
 public:
  explicit ScriptedRandomness(const std::vector<size_t>& script) : script_(script) {}
  bool bernoulli(double p) override {
    EXPECT_GT(p, 0.0);  // zero-probability coins must not be tossed
    EXPECT_LE(p, 1.0);
    return next({p, 1 - p}) == 0;
  }
  size_t categorical(std::span<const double> w) override {
    double z = 0;
    for (double x : w) z += x;
    EXPECT_GT(z, 0.0);
    std::vector<double> probs;
    for (double x : w) probs.push_back(x / z);
    return next(probs);
  }
  double prob() const { return prob_; }

 private:
  size_t next(std::vector<double> probs) {
    if (pos_ == script_.size()) throw Fork{std::move(probs)};
    const size_t b = script_[pos_++];
    prob_ *= probs[b];
    return b;
  }
  const std::vector<size_t>& script_;
  size_t pos_ = 0;
  double prob_ = 1;
};

struct Leaf {
  std::vector<TokenId> out;
  VerifyResult res;
  double prob;
};

struct Case {
  SyntheticModel model;
  int len;                     // draft length (N-1)
  std::vector<TokenId> cands;  // row-major, n x len
  int n() const { return len ? static_cast<int>(cands.size()) / len : 0; }
};

// All outcomes of verify_sampled on `c` with their exact probabilities.
std::vector<Leaf> enumerate(const Case& c) {
  std::vector<Leaf> leaves;
  VerifyScratch scratch;
  std::vector<TokenId> accepted;
  std::vector<std::vector<size_t>> todo = {{}};
  while (!todo.empty()) {
    const auto script = std::move(todo.back());
    todo.pop_back();
    ScriptedRandomness rnd(script);
    auto dist = [&](int depth, int cand, std::span<const TokenId> acc, std::vector<TokenProb>& out) {
      // The verifier must pass the prefix accepted so far and an alive
      // candidate that agrees with it (its logits are the ones to use).
      EXPECT_EQ(static_cast<int>(acc.size()), depth);
      if (depth == 0) {
        EXPECT_EQ(cand, -1);
      } else {
        EXPECT_GE(cand, 0);
        for (int j = 0; j < depth; ++j) EXPECT_EQ(c.cands[static_cast<size_t>(cand) * c.len + j], acc[j]);
      }
      out = c.model.dist(acc);
    };
    try {
      const VerifyResult r = verify_sampled(c.cands, c.n(), c.len, dist, rnd, accepted, scratch);
      leaves.push_back({accepted, r, rnd.prob()});
    } catch (const Fork& f) {
      for (size_t b = 0; b < f.probs.size(); ++b) {
        if (f.probs[b] <= 0) continue;  // branch never taken
        auto s = script;
        s.push_back(b);
        todo.push_back(std::move(s));
      }
    }
  }
  return leaves;
}

// Adds to `out` every continuation of `prefix` (probability p) to length D,
// each weighted by the target model's probability of its extra tokens.
void extend_by_target(const Case& c, const std::vector<TokenId>& prefix, double p, int D,
                      std::map<std::vector<TokenId>, double>& out) {
  std::vector<std::pair<std::vector<TokenId>, double>> ext = {{prefix, p}};
  for (int d = static_cast<int>(prefix.size()); d < D; ++d) {
    std::vector<std::pair<std::vector<TokenId>, double>> next;
    for (const auto& [s, q] : ext)
      for (const auto& tp : c.model.dist(s)) {
        auto s2 = s;
        s2.push_back(tp.id);
        next.push_back({s2, q * c.model.prob(s, tp.id)});
      }
    ext = std::move(next);
  }
  for (const auto& [s, q] : ext) out[s] += q;
}

// Checks losslessness of `c` exactly; returns P(at least one draft accepted).
double check_lossless(const Case& c) {
  const int D = c.len + 1;  // the most a step can emit
  const auto leaves = enumerate(c);
  double total = 0, p_accept = 0;
  // Distribution of the verifier's output continued to length D.
  std::map<std::vector<TokenId>, double> got;
  for (const auto& l : leaves) {
    total += l.prob;
    EXPECT_EQ(static_cast<int>(l.out.size()), l.res.n_draft + 1);
    EXPECT_LE(l.res.n_draft, c.len);
    if (l.res.n_draft > 0) {
      p_accept += l.prob;
      EXPECT_GE(l.res.best, 0);
      for (int j = 0; j < l.res.n_draft; ++j) EXPECT_EQ(c.cands[static_cast<size_t>(l.res.best) * c.len + j], l.out[j]);
    } else {
      EXPECT_EQ(l.res.best, -1);
    }
    // Continue with every possible tail, weighted by the target.
    extend_by_target(c, l.out, l.prob, D, got);
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
  // The target product distribution, enumerated the same way.
  std::map<std::vector<TokenId>, double> want;
  extend_by_target(c, {}, 1.0, D, want);
  EXPECT_EQ(got.size(), want.size());
  double max_err = 0;
  for (const auto& [s, p] : want) {
    const auto it = got.find(s);
    max_err = std::max(max_err, std::abs((it == got.end() ? 0.0 : it->second) - p));
  }
  EXPECT_LT(max_err, 1e-12);
  return p_accept;
}

// Sum of p over the distinct first tokens of the candidates: the chance that
// the rule accepts a draft at depth 0 (it is optimal: every candidate token
// that would be drawn is accepted).
double distinct_first_mass(const Case& c) {
  std::vector<TokenId> seen;
  double m = 0;
  for (int i = 0; i < c.n(); ++i) {
    const TokenId t = c.cands[static_cast<size_t>(i) * c.len];
    if (std::find(seen.begin(), seen.end(), t) != seen.end()) continue;
    seen.push_back(t);
    m += c.model.prob({}, t);
  }
  return m;
}

}  // namespace

TEST(Verify, NoCandidatesIsOneDraw) {
  Case c{{}, 3, {}};
  const auto leaves = enumerate(c);
  for (const auto& l : leaves) EXPECT_EQ(l.out.size(), 1u);
  EXPECT_NEAR(check_lossless(c), 0.0, 0);
}

TEST(Verify, SingleCandidateAcceptsWithTargetProbability) {
  SyntheticModel m;
  m.salt = 7;
  const auto d0 = m.dist({});
  Case c{m, 2, {d0[0].id, 1}};
  EXPECT_NEAR(check_lossless(c), m.prob({}, d0[0].id), 1e-12);
}

TEST(Verify, SharedPrefixesDuplicatesAndRejectedTokens) {
  for (uint64_t salt = 1; salt <= 12; ++salt) {
    SyntheticModel m;
    m.salt = salt;
    // Rows share prefixes (0 0 .), repeat a first token that may be rejected
    // (1 ...), repeat a whole row, and use token 4, which often has no mass.
    Case c{m, 3, {0, 0, 1, /**/ 0, 0, 2, /**/ 1, 2, 3, /**/ 0, 1, 1, /**/ 1, 3, 0, /**/ 0, 0, 1, /**/ 4, 4, 4, /**/ 2, 0, 0}};
    EXPECT_NEAR(check_lossless(c), distinct_first_mass(c), 1e-12) << "salt " << salt;
  }
}

TEST(Verify, OneHotTargetAcceptsExactlyTheMatchingCandidate) {
  // Greedy-like targets: a one-hot p accepts the matching draft with
  // certainty and rejects every other one.
  for (uint64_t salt = 1; salt <= 8; ++salt) {
    SyntheticModel m;
    m.salt = salt;
    m.onehot_at = 0;
    const TokenId top = m.dist({})[0].id;
    Case c{m, 2, {(top + 1) % 5, 0, top, 1, top, 2}};
    EXPECT_NEAR(check_lossless(c), 1.0, 1e-12);
    for (const auto& l : enumerate(c)) {
      EXPECT_EQ(l.out[0], top);
      EXPECT_TRUE(l.res.best == 1 || l.res.best == 2);  // a row that starts with `top`
    }
  }
}

TEST(Verify, RandomCasesMatchTargetExactly) {
  Rng r(2024);
  for (int it = 0; it < 150; ++it) {
    Case c;
    c.model.vocab = 2 + static_cast<int>(r.below(4));
    c.model.salt = r.next_u64();
    c.model.onehot_at = r.below(5) == 0 ? static_cast<int>(r.below(3)) : -1;
    c.len = 1 + static_cast<int>(r.below(3));
    const int n = static_cast<int>(r.below(6));
    for (int i = 0; i < n * c.len; ++i) c.cands.push_back(static_cast<TokenId>(r.below(c.model.vocab + 1)));
    EXPECT_NEAR(check_lossless(c), distinct_first_mass(c), 1e-12) << "case " << it;
    if (HasFailure()) break;
  }
}

TEST(Verify, RngCategoricalDrawsWhatSamplerDrawDraws) {
  // With nothing rejected, lookahead's residual draw must equal plain
  // sampling's draw from the same Rng state (same arithmetic).
  Rng gen(5);
  for (int it = 0; it < 2000; ++it) {
    std::vector<TokenProb> dist;
    const int n = 1 + static_cast<int>(gen.below(20));
    double z = 0;
    std::vector<double> raw;
    for (int i = 0; i < n; ++i) z += raw.emplace_back(gen.uniform());
    for (int i = 0; i < n; ++i) dist.push_back({100 + i, static_cast<float>(raw[i] / z)});
    std::vector<double> w;
    for (const auto& tp : dist) w.push_back(tp.p);
    const uint64_t seed = gen.next_u64();
    Rng a(seed), b(seed);
    RngRandomness rr(a);
    EXPECT_EQ(dist[rr.categorical(w)].id, Sampler::draw(dist, b.uniform()));
  }
}

TEST(Verify, DeterministicForASeed) {
  SyntheticModel m;
  Case c{m, 3, {0, 0, 1, 0, 0, 2, 1, 2, 3, 2, 1, 0}};
  auto dist = [&](int, int, std::span<const TokenId> acc, std::vector<TokenProb>& out) { out = m.dist(acc); };
  VerifyScratch s;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Rng a(seed), b(seed);
    RngRandomness ra(a), rb(b);
    std::vector<TokenId> oa, ob;
    const auto va = verify_sampled(c.cands, c.n(), c.len, dist, ra, oa, s);
    const auto vb = verify_sampled(c.cands, c.n(), c.len, dist, rb, ob, s);
    EXPECT_EQ(oa, ob);
    EXPECT_EQ(va.best, vb.best);
    EXPECT_EQ(va.n_draft, vb.n_draft);
  }
}
