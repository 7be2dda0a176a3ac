#include "decoding/ngram_pool.h"

#include <algorithm>

#include "util/error.h"

namespace lookahead {

void NGramPool::reset(int n, int capacity) {
  if (n < 2) fail("n-gram pool: N must be at least 2, got {}", n);
  if (capacity < 1) fail("n-gram pool: capacity must be at least 1, got {}", capacity);
  n_ = n;
  capacity_ = capacity;
  size_ = 0;
  map_.clear();
}

void NGramPool::add(TokenId key, std::span<const TokenId> rest) {
  const size_t m = static_cast<size_t>(n_ - 1);
  if (rest.size() != m) fail("n-gram pool: expected {} tokens after the key, got {}", m, rest.size());
  Entry& e = map_[key];
  for (int i = 0; i < e.count; ++i) {
    auto it = e.grams.begin() + static_cast<std::ptrdiff_t>(i * m);
    if (std::equal(rest.begin(), rest.end(), it)) {
      // Refresh: move to the most recent slot (the end).
      std::rotate(it, it + static_cast<std::ptrdiff_t>(m), e.grams.end());
      return;
    }
  }
  if (e.count == capacity_) {
    e.grams.erase(e.grams.begin(), e.grams.begin() + static_cast<std::ptrdiff_t>(m));
    --e.count;
    --size_;
  }
  e.grams.insert(e.grams.end(), rest.begin(), rest.end());
  ++e.count;
  ++size_;
}

void NGramPool::add_sequence(std::span<const TokenId> seq) {
  const size_t n = static_cast<size_t>(n_);
  for (size_t i = 0; i + n <= seq.size(); ++i) add(seq[i], seq.subspan(i + 1, n - 1));
}

int NGramPool::lookup(TokenId key, int max_count, std::vector<TokenId>& out) const {
  out.clear();
  auto it = map_.find(key);
  if (it == map_.end()) return 0;
  const Entry& e = it->second;
  const size_t m = static_cast<size_t>(n_ - 1);
  const int k = std::min(max_count, e.count);
  for (int i = 0; i < k; ++i) {
    auto g = e.grams.begin() + static_cast<std::ptrdiff_t>((e.count - 1 - i) * m);
    out.insert(out.end(), g, g + static_cast<std::ptrdiff_t>(m));
  }
  return k;
}

}  // namespace lookahead
