// N-gram pool of lookahead decoding (Fu et al., ICML 2024, Sec. 3.2): maps a
// token to the n-grams seen to follow it. An entry for key t is the N-1
// tokens that followed t in some n-gram (t, a_1, ..., a_{N-1}).
//
// Per key at most `capacity` n-grams, no duplicates, least recently added or
// refreshed evicted first. Candidates come out most recent first.
//
// Threads: not thread-safe; a pool shared by several requests (the server)
// must be guarded by its owner.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "model/batch.h"

namespace lookahead {

class NGramPool {
 public:
  NGramPool() = default;
  NGramPool(int n, int capacity) { reset(n, capacity); }

  // Clears the pool and sets the n-gram size (N >= 2) and per-key capacity.
  void reset(int n, int capacity);
  int n() const { return n_; }
  int capacity() const { return capacity_; }

  // Adds (key, rest[0..N-2]); a duplicate is refreshed to most recent.
  void add(TokenId key, std::span<const TokenId> rest);
  // Adds every n-gram of a token sequence (e.g. the prompt).
  void add_sequence(std::span<const TokenId> seq);

  // Up to max_count continuations of key, most recent first; each is N-1
  // tokens. Returns the count; out holds them back to back.
  int lookup(TokenId key, int max_count, std::vector<TokenId>& out) const;

  int64_t size() const { return size_; }

 private:
  struct Entry {
    std::vector<TokenId> grams;  // count * (N-1) tokens, oldest first
    int count = 0;
  };
  int n_ = 0, capacity_ = 0;
  int64_t size_ = 0;
  std::unordered_map<TokenId, Entry> map_;
};

}  // namespace lookahead
