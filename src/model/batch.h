// A forward batch: tokens with explicit positions and an explicit attention
// rule each.
//
// Token i attends to every committed KV-cache row (positions 0..n_past-1),
// then to the earlier batch tokens listed in its `sees` set (ascending batch
// indices), then to itself. That is enough for all three users:
//   prompt / plain decoding:  sees = all earlier tokens (causal)
//   lookahead window:         sees = one Jacobi diagonal (see lookahead_decoder.h)
//   verification candidates:  sees = x and the candidate's own earlier tokens
// Keys are visited in that order; list `sees` so positions ascend and the
// attention result is bit-identical to plain decoding (ops/attention.h).
//
// Storage is flat (CSR) and reused across steps: clear() keeps capacity, so
// building a batch in the decode loop does not allocate once warm.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

namespace lookahead {

using TokenId = int32_t;

class Batch {
 public:
  void clear() {
    tokens_.clear();
    pos_.clear();
    want_logits_.clear();
    sees_.clear();
    begin_.clear();
    len_.clear();
  }

  // Adds a token and returns its batch index. `sees` must hold earlier batch
  // indices in ascending order (checked by InferenceContext::forward).
  int add(TokenId token, int32_t pos, std::span<const int32_t> sees, bool want_logits) {
    push(token, pos, want_logits, static_cast<int32_t>(sees_.size()), static_cast<int32_t>(sees.size()));
    sees_.insert(sees_.end(), sees.begin(), sees.end());
    return size() - 1;
  }
  int add(TokenId token, int32_t pos, std::initializer_list<int32_t> sees, bool want_logits) {
    return add(token, pos, std::span<const int32_t>(sees.begin(), sees.size()), want_logits);
  }
  // Appends a causal run: each token sees every earlier token of the batch.
  // Such tokens point into a shared 0,1,2,... array instead of storing
  // O(n^2) indices for a long prompt.
  void add_causal(std::span<const TokenId> toks, int32_t pos0, bool logits_last_only) {
    for (size_t i = 0; i < toks.size(); ++i) {
      const int idx = size();
      while (static_cast<int>(iota_.size()) < idx) iota_.push_back(static_cast<int32_t>(iota_.size()));
      push(toks[i], pos0 + static_cast<int32_t>(i), !logits_last_only || i + 1 == toks.size(), -1, idx);
    }
  }

  int size() const { return static_cast<int>(tokens_.size()); }
  TokenId token(int i) const { return tokens_[i]; }
  int32_t pos(int i) const { return pos_[i]; }
  bool want_logits(int i) const { return want_logits_[i] != 0; }
  std::span<const int32_t> sees(int i) const {
    const int32_t* base = begin_[i] < 0 ? iota_.data() : sees_.data() + begin_[i];
    return {base, static_cast<size_t>(len_[i])};
  }
  int n_logits() const {
    int n = 0;
    for (uint8_t w : want_logits_) n += w;
    return n;
  }

 private:
  void push(TokenId token, int32_t pos, bool want_logits, int32_t begin, int32_t len) {
    tokens_.push_back(token);
    pos_.push_back(pos);
    want_logits_.push_back(want_logits ? 1 : 0);
    begin_.push_back(begin);
    len_.push_back(len);
  }

  std::vector<TokenId> tokens_;
  std::vector<int32_t> pos_;
  std::vector<uint8_t> want_logits_;
  std::vector<int32_t> sees_;   // explicit sets, concatenated
  std::vector<int32_t> begin_;  // into sees_, or -1 for causal (into iota_)
  std::vector<int32_t> len_;
  std::vector<int32_t> iota_;
};

}  // namespace lookahead
