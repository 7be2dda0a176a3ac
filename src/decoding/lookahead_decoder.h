// Lookahead decoding (Fu, Bailis, Stoica, Zhang, "Break the Sequential
// Dependency of LLM Inference Using Lookahead Decoding", ICML 2024).
//
// Exact, draft-model-free parallel decoding. Each step runs ONE forward pass
// over three parts, with x the last accepted token at position p (x is not yet
// in the KV cache):
//
//   batch:  [ x | window: level 0 (W) | level 1 (W) | ... | level L-1 (W) | cand 0 (N-1) | ... | cand g-1 (N-1) ]
//   pos:      p   level l, column i at p+1+l+i                              cand c, token k at p+1+k
//
// Attention (besides the whole committed cache, which everyone sees), e.g.
// W=3, N=4 (L=3 levels) and one candidate; rows attend to columns marked *:
//
//                 x  a0 a1 a2  b0 b1 b2  c0 c1 c2  v0 v1 v2
//   x            [*                                         ]
//   a0 (l0,c0)   [*  *                                      ]
//   a1 (l0,c1)   [*  *  *                                   ]
//   a2 (l0,c2)   [*  *  *  *                                ]
//   b0 (l1,c0)   [*  *         *                            ]
//   b1 (l1,c1)   [*  *  *         *                         ]
//   b2 (l1,c2)   [*  *  *  *         *                      ]
//   c0 (l2,c0)   [*  *         *         *                  ]
//   c1 (l2,c1)   [*  *  *         *         *               ]
//   c2 (l2,c2)   [*  *  *  *         *         *            ]
//   v0 (cand)    [*                                *        ]
//   v1           [*                                *  *     ]
//   v2           [*                                *  *  *  ]
//
// Lookahead branch: token (l, i) sees x, level-0 columns 0..i and column i of
// levels 1..l: one diagonal of the Jacobi trajectory. The argmax at the last
// level of column i becomes the column's newest level; the column's tokens
// across the levels plus that prediction form an N-gram that goes into the
// pool keyed by its first token; the oldest level drops. Level 0 starts as
// tokens drawn (seeded) from the prompt; the first N-2 steps are warm-up
// steps that grow the window to N-1 levels.
//
// Verification branch: up to G n-grams from pool[x]; each sees only x, its
// own earlier tokens and the cache, never the window, so its logits are
// bit-identical to plain decoding's (batch-invariant kernels). Candidates are
// laid out as a token trie: n-grams sharing a prefix share its rows, so the
// batch holds each distinct prefix once (the diagram shows one candidate). We accept the
// longest candidate prefix whose every token equals the model's choice at the
// previous position, plus the model's next token after it (a full match
// yields N tokens). Only x and the accepted candidate tokens' KV rows are
// committed; every other row of the batch is dropped.
//
// Sampling (temperature > 0) uses the lossless multi-candidate rule in
// verify_sampled(); greedy is exactly plain greedy, token for token.
//
// Threads: not thread-safe. The pool may be kept across generate() calls with
// the same model (keep_pool), e.g. by the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "decoding/decoder.h"
#include "decoding/ngram_pool.h"

namespace lookahead {

struct LookaheadParams {
  int window = 15;              // W: columns of the lookahead window
  int ngram = 5;                // N: n-gram size (window has N-1 levels)
  int max_verify = 15;          // G: most candidates verified per step (also the pool's per-key capacity)
  bool pool_from_prompt = false;  // seed the pool with the prompt's n-grams
  bool keep_pool = false;       // keep the pool across generate() calls
  uint64_t seed = 1234;         // seeds the window's initial tokens

  // Most tokens in one step's batch: 1 + W*(N-1) + G*(N-1) (fewer when
  // candidates share prefixes).
  int batch_size() const { return 1 + (window + max_verify) * (ngram - 1); }
  // Throws Error with the offending value.
  void validate() const;
  // "W,N,G" -> params (throws Error on bad input).
  static LookaheadParams parse(const std::string& spec);
};

class LookaheadDecoder final : public Decoder {
 public:
  explicit LookaheadDecoder(const LookaheadParams& p);
  DecodeResult generate(InferenceContext& ctx, const DecodeRequest& req, const TokenSink& on_tokens) override;
  std::string name() const override { return "lookahead"; }
  const LookaheadParams& params() const { return p_; }
  NGramPool& pool() { return pool_; }

 private:
  LookaheadParams p_;
  NGramPool pool_;
  // Step scratch, reused (no allocation once warm).
  Batch batch_;
  std::vector<TokenId> window_;    // [level][column], (N-1) x W
  std::vector<TokenId> cands_;     // [candidate][k], g x (N-1)
  std::vector<TokenId> accepted_;
  std::vector<int32_t> sees_, commit_rows_;
  std::vector<int32_t> node_of_;       // [candidate][k] -> trie node
  std::vector<TokenId> trie_token_;    // per trie node
  std::vector<int32_t> trie_parent_;   // per trie node, -1 = x
  std::vector<uint8_t> alive_;
};

}  // namespace lookahead
