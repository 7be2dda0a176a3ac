#include "decoding/lookahead_decoder.h"

#include <algorithm>
#include <sstream>

#include "decoding/speculative_verify.h"
#include "util/error.h"
#include "util/timer.h"

namespace lookahead {

void LookaheadParams::validate() const {
  if (window < 1 || window > 256) fail("lookahead: window W must be in [1, 256], got {}", window);
  if (ngram < 2 || ngram > 32) fail("lookahead: n-gram size N must be in [2, 32], got {}", ngram);
  if (max_verify < 0 || max_verify > 256) fail("lookahead: G must be in [0, 256], got {}", max_verify);
}

LookaheadParams LookaheadParams::parse(const std::string& spec) {
  LookaheadParams p;
  int vals[3];
  std::istringstream in(spec);
  char c1 = 0, c2 = 0;
  if (!(in >> vals[0] >> c1 >> vals[1] >> c2 >> vals[2]) || c1 != ',' || c2 != ',' || !in.eof())
    fail("--lookahead expects W,N,G (e.g. 15,5,15), got '{}'", spec);
  p.window = vals[0];
  p.ngram = vals[1];
  p.max_verify = vals[2];
  p.validate();
  return p;
}

LookaheadDecoder::LookaheadDecoder(const LookaheadParams& p) : p_(p) {
  p_.validate();
  pool_.reset(p_.ngram, std::max(1, p_.max_verify));
}

DecodeResult LookaheadDecoder::generate(InferenceContext& ctx, const DecodeRequest& req, const TokenSink& on_tokens) {
  const int W = p_.window, N = p_.ngram, G = p_.max_verify, M = N - 1;
  if (ctx.max_batch() < p_.batch_size())
    fail("lookahead W={} N={} G={} needs batches of {} tokens, the context allows {}", W, N, G, p_.batch_size(),
         ctx.max_batch());
  if (req.prompt.empty()) fail("generate: empty prompt");

  detail::GenerationState gen(ctx, req, on_tokens);
  DecodeResult& res = gen.res;
  std::vector<TokenId>& history = gen.history;
  detail::OutputCollector& out = gen.out;
  const Sampler& sampler = gen.sampler;
  SamplerScratch& scratch = gen.scratch;
  Rng& rng = gen.rng;
  const int n_vocab = gen.n_vocab;
  VerifyScratch vscratch;  // sampling verification buffers, reused across steps
  res.stats.accept_hist.assign(N + 1, 0);

  if (!p_.keep_pool || pool_.n() != N) pool_.reset(N, std::max(1, G));
  if (p_.pool_from_prompt) pool_.add_sequence(req.prompt);

  TokenId x = gen.prefill();

  // Level 0 of the window: tokens drawn from the prompt (seeded).
  Rng wrng(p_.seed);
  window_.assign(static_cast<size_t>(M) * W, 0);
  for (int i = 0; i < W; ++i) window_[i] = req.prompt[wrng.below(req.prompt.size())];
  int n_levels = 1;

  while (!out.done()) {
    const int p = ctx.n_past();
    if (p >= ctx.n_ctx()) {
      out.stop(StopReason::ContextFull);
      break;
    }
    const int g = G > 0 ? pool_.lookup(x, G, cands_) : 0;

    // ---- build the batch (layout and mask: see lookahead_decoder.h) ----
    batch_.clear();
    batch_.add(x, p, {}, true);
    for (int l = 0; l < n_levels; ++l) {
      for (int i = 0; i < W; ++i) {
        sees_.clear();
        sees_.push_back(0);
        const int lvl0_end = l == 0 ? i : i + 1;  // level 0 columns 0..i (itself excluded)
        for (int j = 0; j < lvl0_end; ++j) sees_.push_back(1 + j);
        for (int ll = 1; ll < l; ++ll) sees_.push_back(1 + ll * W + i);
        batch_.add(window_[static_cast<size_t>(l) * W + i], p + 1 + l + i, sees_, l == n_levels - 1);
      }
    }
    // Verification candidates as a token trie: candidates that share a
    // prefix share its batch rows (their logits there are identical anyway),
    // which shrinks the batch without changing any result.
    const int cand_base = 1 + n_levels * W;
    node_of_.resize(static_cast<size_t>(g) * M);
    trie_token_.clear();
    trie_parent_.clear();
    for (int c = 0; c < g; ++c) {
      int parent = -1;  // -1: x
      for (int k = 0; k < M; ++k) {
        const TokenId tok = cands_[static_cast<size_t>(c) * M + k];
        int node = -1;
        for (int n = 0; n < static_cast<int>(trie_token_.size()) && node < 0; ++n)
          if (trie_parent_[n] == parent && trie_token_[n] == tok) node = n;
        if (node < 0) {
          node = static_cast<int>(trie_token_.size());
          trie_token_.push_back(tok);
          trie_parent_.push_back(parent);
          sees_.clear();
          for (int a = parent; a >= 0; a = trie_parent_[a]) sees_.push_back(cand_base + a);
          sees_.push_back(0);
          std::reverse(sees_.begin(), sees_.end());  // x, then ancestors by depth: ascending rows
          batch_.add(tok, p + 1 + k, sees_, true);
        }
        node_of_[static_cast<size_t>(c) * M + k] = node;
        parent = node;
      }
    }

    const double f0 = now_ms();
    const float* logits = ctx.forward(batch_);
    res.stats.forward_ms += now_ms() - f0;
    ++res.stats.steps;
    // Logit rows: 0 = x, 1..W = window's last level, then the trie nodes.
    auto row = [&](int r) { return logits + static_cast<size_t>(r) * n_vocab; };
    auto cand_row = [&](int c, int k) { return row(1 + W + node_of_[static_cast<size_t>(c) * M + k]); };

    // ---- verification: longest accepted prefix + the model's next token ----
    const size_t hist0 = history.size();
    int best = -1, k = 0;
    if (req.sampling.greedy()) {
      accepted_.clear();
      TokenId t = sampler.sample(row(0), n_vocab, history, scratch, rng);
      accepted_.push_back(t);
      alive_.assign(g, 1);
      while (k < M && g > 0) {
        int first = -1;
        for (int c = 0; c < g; ++c) {
          if (!alive_[c]) continue;
          if (cands_[static_cast<size_t>(c) * M + k] == t) {
            if (first < 0) first = c;
          } else {
            alive_[c] = 0;
          }
        }
        if (first < 0) break;
        best = first;
        ++k;
        // Candidates alive at depth k share their first k tokens, so their
        // logits at depth k-1 are identical: any of them serves.
        history.push_back(t);
        t = sampler.sample(cand_row(best, k - 1), n_vocab, history, scratch, rng);
        accepted_.push_back(t);
      }
    } else {
      // Sampling: SpecInfer-style multi-candidate rule, lossless (proof in
      // decoding/speculative_verify.h). The penalty's history at depth d is
      // the history plus the d tokens accepted so far in this step.
      auto dist = [&](int depth, int c, std::span<const TokenId> acc, std::vector<TokenProb>& out) {
        history.resize(hist0);
        history.insert(history.end(), acc.begin(), acc.end());
        sampler.distribution(depth == 0 ? row(0) : cand_row(c, depth - 1), n_vocab, history, scratch, out);
      };
      RngRandomness rnd(rng);
      const VerifyResult v =
          verify_sampled({cands_.data(), static_cast<size_t>(g) * M}, g, M, dist, rnd, accepted_, vscratch);
      best = v.best;
      k = v.n_draft;
    }
    history.resize(hist0);

    // ---- commit x and the accepted candidate tokens; drop the rest ----
    int m = static_cast<int>(accepted_.size());
    m = std::min(m, ctx.n_ctx() - p);  // never past the context, as plain decoding stops there
    commit_rows_.clear();
    commit_rows_.push_back(0);
    for (int j = 0; j < m - 1; ++j) commit_rows_.push_back(cand_base + node_of_[static_cast<size_t>(best) * M + j]);
    ctx.commit(commit_rows_);

    // ---- lookahead branch: new level from the last level's predictions ----
    if (n_levels < M) {
      for (int i = 0; i < W; ++i) window_[static_cast<size_t>(n_levels) * W + i] = Sampler::argmax(row(1 + i), n_vocab);
      ++n_levels;
    } else {
      for (int i = 0; i < W; ++i) {
        TokenId gram[32];
        for (int l = 1; l < M; ++l) gram[l - 1] = window_[static_cast<size_t>(l) * W + i];
        gram[M - 1] = Sampler::argmax(row(1 + i), n_vocab);
        pool_.add(window_[i], {gram, static_cast<size_t>(M)});
        for (int l = 0; l < M; ++l) window_[static_cast<size_t>(l) * W + i] = gram[l];
      }
    }

    ++res.stats.accept_hist[m];
    if (g > 0) ++res.stats.pool_lookups;
    if (k > 0) ++res.stats.pool_hits;
    res.stats.verified_candidates += g;
    out.accept({accepted_.data(), static_cast<size_t>(m)});
    x = accepted_[m - 1];
  }
  res.stats.pool_size = pool_.size();
  return gen.finish();
}

}  // namespace lookahead
