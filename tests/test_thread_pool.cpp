#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "util/thread_pool.h"

namespace lookahead {
namespace {

TEST(ThreadPool, CoversRangeOnceInGrainChunks) {
  for (int nt : {1, 2, 3, 5}) {
    ThreadPool pool(nt);
    EXPECT_EQ(pool.size(), nt);
    for (int64_t n : {1, 7, 16, 17, 100, 1000}) {
      for (int64_t grain : {1, 4, 16}) {
        std::vector<std::atomic<int>> hits(n);
        std::atomic<int> bad{0};
        pool.parallel_for(n, grain, [&](int64_t b, int64_t e, int t) {
          if (b % grain != 0 || t < 0 || t >= nt) bad.fetch_add(1);
          for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
        });
        EXPECT_EQ(bad.load(), 0);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "nt=" << nt << " n=" << n;
      }
    }
  }
}

TEST(ThreadPool, SplitIsDeterministic) {
  // The same (n, grain, size) always yields the same chunks, whoever runs them.
  ThreadPool pool(3);
  auto chunks = [&] {
    std::mutex mu;
    std::vector<std::pair<int64_t, int64_t>> c;
    pool.parallel_for(90, 4, [&](int64_t b, int64_t e, int) {
      std::lock_guard<std::mutex> lk(mu);
      c.emplace_back(b, e);
    });
    std::sort(c.begin(), c.end());
    return c;
  };
  const auto first = chunks();
  EXPECT_EQ(first.size(), 3u);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(chunks(), first);
}

TEST(ThreadPool, BalancedSplitCoversOnceAndIsDeterministic) {
  // At most 4 chunks per thread, whole multiples of grain, each index once,
  // the same chunks every time.
  for (int nt : {1, 2, 3}) {
    ThreadPool pool(nt);
    for (int64_t n : {1, 5, 16, 90, 1000}) {
      auto chunks = [&] {
        std::mutex mu;
        std::vector<std::pair<int64_t, int64_t>> c;
        pool.parallel_for_balanced(n, 4, [&](int64_t b, int64_t e, int) {
          std::lock_guard<std::mutex> lk(mu);
          c.emplace_back(b, e);
        });
        std::sort(c.begin(), c.end());
        return c;
      };
      const auto first = chunks();
      ASSERT_LE(first.size(), static_cast<size_t>(nt > 1 ? 4 * nt : 1));
      int64_t next = 0;
      for (const auto& [b, e] : first) {
        ASSERT_EQ(b, next);
        ASSERT_EQ(b % 4, 0);
        ASSERT_LT(b, e);
        next = e;
      }
      ASSERT_EQ(next, n);
      for (int i = 0; i < 20; ++i) ASSERT_EQ(chunks(), first);
    }
  }
}

TEST(ThreadPool, ManyQuickDispatches) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int it = 0; it < 20000; ++it)
    pool.parallel_for(2, 1, [&](int64_t b, int64_t e, int) { sum.fetch_add(e - b); });
  EXPECT_EQ(sum.load(), 40000);
}

TEST(ThreadPool, RunAllRunsEveryWorkerOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(3);
  for (int it = 0; it < 100; ++it) pool.run_all([&](int t) { hits[t].fetch_add(1); });
  for (auto& h : hits) EXPECT_EQ(h.load(), 100);
}

}  // namespace
}  // namespace lookahead
