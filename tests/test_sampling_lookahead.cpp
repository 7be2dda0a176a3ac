// Lookahead decoding with sampling is lossless: over many seeded runs on
// stories260K its outputs have the same distribution as plain sampling's.
// Equality token for token is not expected (the two consume randomness
// differently); equality in distribution is.
//
// Design of the statistical test
// ------------------------------
// For each sampler setting we draw n sequences of kLen tokens with plain
// sampling (seeds 1..n) and n with lookahead (seeds disjoint from those, so
// the two samples are independent), and compare six distributions: the
// token at each of positions 2..6 (1-based; position 1 comes from the
// prefill, before any verification) and the joint of the first 3 tokens.
// Each comparison is a two-sample chi-square test on the pooled-count bins:
// categories sorted by pooled count, the most frequent kMaxBins-1 each a bin,
// the rest one "other" bin (binning on pooled counts is symmetric in the two
// samples, so it keeps the null distribution). With equal sample sizes,
//     T = sum_bins (a_i - b_i)^2 / (a_i + b_i)  ~  chi2(bins - 1)   under H0,
// and under an alternative p != q it is approximately noncentral chi2 with
//     lambda = n * sum (p_i - q_i)^2 / (p_i + q_i)  >=  2 n TV(p, q)^2
// (Cauchy-Schwarz: (sum |p-q|)^2 <= sum (p-q)^2/(p+q) * sum (p+q)).
//
// False alarms: kFamilyAlpha = 1e-3 for the whole file, Bonferroni over
// settings x 6 comparisons, so each test uses alpha = 1e-3 / (6 S). The
// seeds are fixed, so the test is deterministic; the alpha is the chance
// that a correct implementation would fail for an arbitrary seed choice.
// Power: TV = 5% gives lambda >= 2 n 0.05^2 = n / 200. The test computes
// (PowerOfTheDesign) the power at the worst case df = kMaxBins-1 and asserts
// it is >= 0.9 for the chosen n; for S = 5, 39 df, alpha = 3.3e-5 that needs
// n >= 13,800 runs per decoder and setting (we use kRuns = 14,000: power
// 0.91). A difference confined to swaps inside the "other" bin (categories
// rarer than the 39 most frequent) is not seen.
//
// Candidates must really be verified, or this proves nothing: the pool holds
// the prompt's n-grams, n-grams of independently sampled continuations
// (seed_pool) and, kept across runs, the window's; each setting asserts
// that most steps verified candidates and accepted drafts (observed: ~97%
// of steps verify, 60-95% accept at least one draft, 1.9-2.4 tokens/step).
//
// Sensitivity, checked by mutation: verifying without the residual (a
// rejected token keeps its mass) fails every comparison (chi2 280-740 on
// 36-39 df at temp 0.7; binned TV 3-8%), as do the exact Verify tests. A
// repetition-penalty history that misses the tokens accepted earlier in the
// step shifts the distribution by well under 5% TV at penalty 1.3; the
// deterministic OneHotSampling... test below catches that one instead.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>

#include "decoding/lookahead_decoder.h"
#include "stories_model.h"
#include "test_support.h"
#include "text/tokenizer.h"
#include "util/timer.h"

using namespace lookahead;

namespace {

constexpr int kLen = 6;            // tokens per run: positions 1..6
constexpr int kRuns = 14000;       // runs per decoder and setting
constexpr int kMaxBins = 40;
constexpr double kFamilyAlpha = 1e-3;
constexpr double kDetectTV = 0.05;
constexpr double kMinPower = 0.9;
constexpr int kComparisons = 6;    // positions 2..6 and the joint of 1..3

const LlamaModel& model() { return test::stories_model(); }

const Tokenizer& tokenizer() { return test::stories_tokenizer(); }

// A story opening where the next tokens are uncertain but not flat.
const std::vector<TokenId>& prompt() {
  static const auto p =
      tokenizer().encode("Lily and Ben were", true, false);
  return p;
}

// --- chi-square distribution (regularised incomplete gamma) ---------------

// Q(a, x) = Gamma(a, x) / Gamma(a), the upper regularised incomplete gamma.
double gamma_q(double a, double x) {
  if (x <= 0) return 1.0;
  const double lg = std::lgamma(a);
  if (x < a + 1) {  // series for P
    double sum = 1.0 / a, term = sum;
    for (int n = 1; n < 1000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (std::abs(term) < std::abs(sum) * 1e-16) break;
    }
    return 1.0 - sum * std::exp(-x + a * std::log(x) - lg);
  }
  // Continued fraction for Q (modified Lentz).
  double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (std::abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < 1e-16) break;
  }
  return std::exp(-x + a * std::log(x) - lg) * h;
}

double chi2_sf(double x, double df) { return gamma_q(df / 2, x / 2); }

double chi2_critical(double alpha, double df) {
  double lo = 0, hi = df + 100 * std::sqrt(2 * df) + 100;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (chi2_sf(mid, df) > alpha ? lo : hi) = mid;
  }
  return hi;
}

// P(noncentral chi2(df, lambda) > c): a Poisson(lambda/2) mixture of central
// chi2(df + 2j).
double noncentral_chi2_sf(double c, double df, double lambda) {
  if (lambda <= 0) return chi2_sf(c, df);
  double total = 0;
  for (int j = 0; j < 2000; ++j) {
    const double w = std::exp(-lambda / 2 + j * std::log(lambda / 2) - std::lgamma(j + 1.0));
    total += w * chi2_sf(c, df + 2 * j);
    if (j > lambda && w < 1e-15) break;
  }
  return total;
}

// --- the two-sample test --------------------------------------------------

struct ChiSquare {
  double stat = 0;
  int df = 0;
  double p_value = 1;
  double tv = 0;  // observed total variation between the binned samples
};

ChiSquare two_sample_chi_square(const std::map<int64_t, int>& a, const std::map<int64_t, int>& b, int n) {
  std::map<int64_t, std::pair<int, int>> both;
  for (const auto& [k, v] : a) both[k].first += v;
  for (const auto& [k, v] : b) both[k].second += v;
  std::vector<std::pair<int, int>> cats;
  for (const auto& [k, v] : both) cats.push_back(v);
  std::sort(cats.begin(), cats.end(), [](const auto& x, const auto& y) {
    return x.first + x.second > y.first + y.second || (x.first + x.second == y.first + y.second && x < y);
  });
  std::vector<std::pair<int, int>> bins(cats.begin(), cats.begin() + std::min<size_t>(cats.size(), kMaxBins - 1));
  std::pair<int, int> other{0, 0};
  for (size_t i = bins.size(); i < cats.size(); ++i) {
    other.first += cats[i].first;
    other.second += cats[i].second;
  }
  if (other.first + other.second > 0) bins.push_back(other);
  ChiSquare r;
  for (const auto& [x, y] : bins) {
    r.stat += static_cast<double>(x - y) * (x - y) / (x + y);
    r.tv += std::abs(x - y) / (2.0 * n);
  }
  r.df = static_cast<int>(bins.size()) - 1;
  r.p_value = r.df > 0 ? chi2_sf(r.stat, r.df) : 1.0;
  return r;
}

// --- running the decoders -------------------------------------------------

struct Sample {
  std::vector<std::array<TokenId, kLen>> seqs;  // -1 past the end (EOS)
  DecodeStats stats;                            // summed over the runs
};

Sample run_many(Decoder& dec, const SamplerParams& sp, uint64_t seed0, int n) {
  InferenceContext ctx(model(), {64, 64, KVType::F32, 1});
  Sample s;
  s.seqs.reserve(n);
  s.stats.accept_hist.assign(8, 0);
  for (int i = 0; i < n; ++i) {
    ctx.truncate(0);
    DecodeRequest req;
    req.prompt = prompt();
    req.max_tokens = kLen;
    req.sampling = sp;
    req.sampling.seed = seed0 + i;
    req.stop_tokens = {tokenizer().eos()};
    const auto r = dec.generate(ctx, req, {});
    std::array<TokenId, kLen> seq;
    seq.fill(-1);
    std::copy(r.tokens.begin(), r.tokens.end(), seq.begin());
    s.seqs.push_back(seq);
    s.stats.steps += r.stats.steps;
    s.stats.generated_tokens += r.stats.generated_tokens;
    s.stats.pool_lookups += r.stats.pool_lookups;
    s.stats.pool_hits += r.stats.pool_hits;
    s.stats.verified_candidates += r.stats.verified_candidates;
    for (size_t j = 0; j < r.stats.accept_hist.size() && j < s.stats.accept_hist.size(); ++j)
      s.stats.accept_hist[j] += r.stats.accept_hist[j];
  }
  return s;
}

LookaheadParams small_config() {
  LookaheadParams p = LookaheadParams::parse("2,4,4");
  p.pool_from_prompt = true;
  p.keep_pool = true;
  return p;
}

// Fills the lookahead pool with n-grams of typical continuations of the
// prompt, drawn by plain sampling with seeds disjoint from the measured
// runs. Without this the tiny per-run window (a few steps of W columns)
// rarely produces an n-gram keyed by the token just sampled, and most steps
// would verify nothing. The pool is fixed before, and independent of, the
// measured runs' randomness, so it cannot bias their distribution (see the
// proof in decoding/speculative_verify.h); keep_pool then lets the runs'
// own window n-grams accumulate too.
void seed_pool(LookaheadDecoder& la, const SamplerParams& sp) {
  InferenceContext ctx(model(), {64, 64, KVType::F32, 1});
  PlainDecoder plain;
  for (int i = 0; i < 200; ++i) {
    ctx.truncate(0);
    DecodeRequest req;
    req.prompt = prompt();
    req.max_tokens = 12;
    req.sampling = sp;
    req.sampling.seed = 2'000'000'011ULL + i;
    auto seq = prompt();
    const auto r = plain.generate(ctx, req, {});
    seq.insert(seq.end(), r.tokens.begin(), r.tokens.end());
    la.pool().add_sequence(seq);
  }
}

SamplerParams chain(float temp, int top_k, float top_p, float min_p, float penalty = 1.0f, float presence = 0.0f,
                    float frequency = 0.0f) {
  SamplerParams p;
  p.temperature = temp;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  p.repeat_penalty = penalty;
  p.presence_penalty = presence;
  p.frequency_penalty = frequency;
  return p;
}

struct Setting {
  const char* name;
  SamplerParams params;
};
const std::vector<Setting>& settings() {
  static const std::vector<Setting> s = {
      {"temp 0.7, default chain (top-k 40, top-p 0.95, min-p 0.05)", chain(0.7f, 40, 0.95f, 0.05f)},
      {"temp 1.0, no truncation", chain(1.0f, 0, 1.0f, 0.0f)},
      {"temp 1.0, top-k 10", chain(1.0f, 10, 1.0f, 0.0f)},
      {"temp 1.0, top-p 0.8", chain(1.0f, 0, 0.8f, 0.0f)},
      {"temp 0.8, repetition 1.3, presence 0.3, frequency 0.2 penalties", chain(0.8f, 0, 1.0f, 0.0f, 1.3f, 0.3f, 0.2f)},
  };
  return s;
}

double per_test_alpha() { return kFamilyAlpha / (kComparisons * static_cast<double>(settings().size())); }

void check_same_distribution(const Setting& st) {
  // Both cores: each thread runs half of the plain and half of the
  // lookahead runs, with its own contexts and decoders (the model is
  // immutable and shared; each lookahead decoder keeps its own pool).
  Sample ps, ls, half_p[2], half_l[2];
  auto worker = [&](int h) {
    PlainDecoder plain;
    LookaheadDecoder la(small_config());
    seed_pool(la, st.params);
    half_p[h] = run_many(plain, st.params, 1 + h * (kRuns / 2), kRuns / 2);
    half_l[h] = run_many(la, st.params, 1'000'000'007ULL + h * (kRuns / 2), kRuns / 2);
  };
  const double t0 = now_ms();
  std::thread t(worker, 1);
  worker(0);
  t.join();
  for (Sample* out : {&ps, &ls}) {
    const Sample* halves = out == &ps ? half_p : half_l;
    *out = halves[0];
    out->seqs.insert(out->seqs.end(), halves[1].seqs.begin(), halves[1].seqs.end());
    out->stats.steps += halves[1].stats.steps;
    out->stats.generated_tokens += halves[1].stats.generated_tokens;
    out->stats.pool_lookups += halves[1].stats.pool_lookups;
    out->stats.pool_hits += halves[1].stats.pool_hits;
    for (size_t j = 0; j < out->stats.accept_hist.size(); ++j) out->stats.accept_hist[j] += halves[1].stats.accept_hist[j];
  }
  std::printf("  [%s] %d + %d runs in %.0f ms\n", st.name, kRuns, kRuns, now_ms() - t0);
  ASSERT_EQ(ls.seqs.size(), static_cast<size_t>(kRuns));

  // The lookahead side really verified and accepted drafts.
  const double verified = static_cast<double>(ls.stats.pool_lookups) / ls.stats.steps;
  const double hits = static_cast<double>(ls.stats.pool_hits) / ls.stats.steps;
  const double tps = static_cast<double>(ls.stats.generated_tokens - kRuns) / ls.stats.steps;
  std::printf("  [%s] steps %d, verified %.2f, accepted a draft %.2f, tokens/step %.2f (plain steps %d)\n", st.name,
              ls.stats.steps, verified, hits, tps, ps.stats.steps);
  EXPECT_GE(verified, 0.8) << st.name;
  EXPECT_GE(hits, 0.5) << st.name;
  int steps = 0;
  for (int h : ls.stats.accept_hist) steps += h;
  EXPECT_EQ(steps, ls.stats.steps);

  const double alpha = per_test_alpha();
  auto compare = [&](const char* what, auto key) {
    std::map<int64_t, int> a, b;
    for (const auto& s : ps.seqs) ++a[key(s)];
    for (const auto& s : ls.seqs) ++b[key(s)];
    const auto r = two_sample_chi_square(a, b, kRuns);
    std::printf("    %-22s categories %4zu, df %2d, chi2 %7.2f, p %.4f, binned TV %.4f\n", what,
                std::max(a.size(), b.size()), r.df, r.stat, r.p_value, r.tv);
    // Not degenerate: several outcomes with real mass.
    EXPECT_GE(r.df, 3) << st.name << " " << what;
    EXPECT_GT(r.p_value, alpha) << st.name << " " << what << ": chi2 " << r.stat << " df " << r.df;
  };
  for (int pos = 2; pos <= 6; ++pos)
    compare(fmt::format("position {}", pos).c_str(), [pos](const std::array<TokenId, kLen>& s) {
      return static_cast<int64_t>(s[pos - 1]);
    });
  compare("joint of positions 1-3", [](const std::array<TokenId, kLen>& s) {
    return (static_cast<int64_t>(s[0] + 1) << 40) | (static_cast<int64_t>(s[1] + 1) << 20) | (s[2] + 1);
  });
}

}  // namespace

TEST(SamplingStats, ChiSquareHelpersMatchKnownValues) {
  EXPECT_NEAR(chi2_critical(0.05, 1), 3.841459, 1e-5);
  EXPECT_NEAR(chi2_critical(0.01, 10), 23.209251, 1e-5);
  EXPECT_NEAR(chi2_critical(0.001, 39), 72.05466, 1e-3);
  // Noncentral with lambda = 0 is central.
  EXPECT_NEAR(noncentral_chi2_sf(20, 10, 0), chi2_sf(20, 10), 1e-12);
  // E.g. df 1: P(chi2'(1, 9) > 3.84) = P(|Z + 3| > 1.96) = 0.851.
  EXPECT_NEAR(noncentral_chi2_sf(3.841459, 1, 9), 0.8508, 1e-3);
  // The two-sample statistic on identical and on disjoint samples.
  std::map<int64_t, int> a = {{1, 50}, {2, 50}}, b = {{3, 100}};
  EXPECT_EQ(two_sample_chi_square(a, a, 100).stat, 0);
  EXPECT_NEAR(two_sample_chi_square(a, b, 100).tv, 1.0, 1e-12);
}

TEST(SamplingStats, PowerOfTheDesign) {
  const double alpha = per_test_alpha();
  const int df = kMaxBins - 1;
  const double crit = chi2_critical(alpha, df);
  const double lambda = 2.0 * kRuns * kDetectTV * kDetectTV;
  const double power = noncentral_chi2_sf(crit, df, lambda);
  int needed = 100;
  while (noncentral_chi2_sf(crit, df, 2.0 * needed * kDetectTV * kDetectTV) < kMinPower) needed += 100;
  std::printf("  alpha per test %.2e (family %.0e over %zu settings x %d), df %d, critical %.2f\n", alpha, kFamilyAlpha,
              settings().size(), kComparisons, df, crit);
  std::printf("  TV %.2f -> lambda >= %.1f with n = %d: power %.3f (n needed for %.2f: %d)\n", kDetectTV, lambda, kRuns,
              power, kMinPower, needed);
  EXPECT_GE(power, kMinPower);
}

TEST(Sampling, LookaheadMatchesPlainDistributionTemp07DefaultChain) { check_same_distribution(settings()[0]); }
TEST(Sampling, LookaheadMatchesPlainDistributionTemp10) { check_same_distribution(settings()[1]); }
TEST(Sampling, LookaheadMatchesPlainDistributionTopK) { check_same_distribution(settings()[2]); }
TEST(Sampling, LookaheadMatchesPlainDistributionTopP) { check_same_distribution(settings()[3]); }
TEST(Sampling, LookaheadMatchesPlainDistributionPenalties) { check_same_distribution(settings()[4]); }

TEST(Sampling, SeededAndReproducible) {
  for (const auto& st : settings()) {
    auto once = [&](uint64_t seed, int threads = 1) {
      LookaheadDecoder la(LookaheadParams::parse("4,4,8"));
      InferenceContext ctx(model(), {256, 64, KVType::F32, threads});
      DecodeRequest req;
      req.prompt = prompt();
      req.max_tokens = 40;
      req.sampling = st.params;
      req.sampling.seed = seed;
      return la.generate(ctx, req, {}).tokens;
    };
    EXPECT_EQ(once(11), once(11)) << st.name;
    // Batch-invariant kernels: the thread count changes nothing either.
    EXPECT_EQ(once(11, 2), once(11)) << st.name;
    EXPECT_NE(once(11), once(12)) << st.name;
  }
}

TEST(Sampling, WithoutCandidatesLookaheadDrawsExactlyLikePlain) {
  // G = 0: no drafts, so each step's one token is the residual draw from the
  // unmodified distribution, with the same arithmetic and the same Rng
  // stream as plain sampling: the outputs are identical, penalty included.
  for (const auto& st : settings()) {
    for (uint64_t seed : {1, 2, 3}) {
      auto gen = [&](Decoder& d) {
        InferenceContext ctx(model(), {256, 64, KVType::F32, 1});
        DecodeRequest req;
        req.prompt = prompt();
        req.max_tokens = 60;
        req.sampling = st.params;
        req.sampling.seed = seed;
        return d.generate(ctx, req, {}).tokens;
      };
      PlainDecoder plain;
      LookaheadDecoder la(LookaheadParams::parse("4,4,0"));
      EXPECT_EQ(gen(la), gen(plain)) << st.name << " seed " << seed;
    }
  }
}

TEST(Sampling, StatsAreFilledLikeGreedy) {
  // Sampling with a kept pool on a repetitive prompt: several tokens a step.
  LookaheadParams p = LookaheadParams::parse("15,5,15");
  p.keep_pool = true;
  p.pool_from_prompt = true;
  LookaheadDecoder la(p);
  InferenceContext ctx(model(), {512, 512, KVType::F32, 1});
  DecodeRequest req;
  req.prompt = prompt();
  req.max_tokens = 200;
  req.sampling = chain(0.3f, 40, 0.95f, 0.05f);
  DecodeResult r;
  for (int rep = 0; rep < 2; ++rep) {  // the second run profits from the kept pool
    ctx.truncate(0);
    req.sampling.seed = 5;
    r = la.generate(ctx, req, {});
  }
  const auto& s = r.stats;
  ASSERT_EQ(s.accept_hist.size(), 6u);
  int steps = 0, emitted = 0;
  for (size_t m = 0; m < s.accept_hist.size(); ++m) {
    steps += s.accept_hist[m];
    emitted += static_cast<int>(m) * s.accept_hist[m];
  }
  EXPECT_EQ(s.accept_hist[0], 0);
  EXPECT_EQ(steps, s.steps);
  EXPECT_EQ(s.generated_tokens, static_cast<int>(r.tokens.size()));
  EXPECT_GE(emitted + 1, s.generated_tokens);  // + the prefill's token; the last step may be cut
  EXPECT_EQ(s.prompt_tokens, static_cast<int>(prompt().size()));
  EXPECT_GT(s.pool_lookups, 0);
  EXPECT_GT(s.pool_hits, 0);
  EXPECT_GT(s.verified_candidates, 0);
  EXPECT_GT(s.pool_size, 0);
  EXPECT_GT(s.generate_ms, 0);
  EXPECT_GT(s.forward_ms, 0);
  EXPECT_GT(s.tokens_per_step(), 1.2);
  std::printf("  sampling at temp 0.3: %.2f tokens/step, %d steps\n", s.tokens_per_step(), s.steps);
}

TEST(Sampling, OneHotSamplingThroughTheVerifierEqualsPlainTokenForToken) {
  // temperature > 0 with top-k 1 takes the sampling path (verify_sampled),
  // but every distribution is one-hot: the output must then equal plain
  // decoding's token for token. Long runs with many accepted drafts make
  // this a sharp, deterministic check of the verifier's plumbing: which
  // logits row serves each depth, the commit, and the repetition penalty's
  // history (prompt + generated + tokens accepted earlier in the step),
  // which a statistical test at moderate penalties barely sees.
  const std::string texts[] = {"Lily and Ben were", "Once upon a time, there was a little girl named Lily. She"};
  for (const auto& text : texts) {
    const auto ids = tokenizer().encode(text, true, false);
    for (float penalty : {1.3f, 2.0f}) {
      for (const char* cfg : {"4,4,8", "2,3,2"}) {
        SamplerParams sp = chain(0.8f, 1, 1.0f, 0.0f, penalty);
        sp.repeat_last_n = 16;  // a window the generation slides through
        auto gen = [&](Decoder& d) {
          InferenceContext ctx(model(), {512, 512, KVType::F32, 1});
          DecodeRequest req;
          req.prompt = ids;
          req.max_tokens = 160;
          req.sampling = sp;
          req.sampling.seed = 3;
          return d.generate(ctx, req, {});
        };
        PlainDecoder plain;
        LookaheadParams lp = LookaheadParams::parse(cfg);
        lp.pool_from_prompt = true;
        LookaheadDecoder la(lp);
        const auto want = gen(plain);
        const auto got = gen(la);
        EXPECT_EQ(got.tokens, want.tokens) << text << " penalty " << penalty << " " << cfg;
        EXPECT_GT(got.stats.pool_hits, 5) << text << " penalty " << penalty << " " << cfg;
        EXPECT_GT(got.stats.tokens_per_step(), 1.1) << text << " penalty " << penalty << " " << cfg;
      }
    }
  }
}
