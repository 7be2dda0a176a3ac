#include "util/thread_pool.h"

#include <fstream>
#include <immintrin.h>
#include <set>
#include <string>
#include <utility>

namespace lookahead {

int ThreadPool::physical_cores() {
  // Count distinct (physical id, core id) pairs; SMT siblings share both.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  std::string line;
  int phys = 0;
  while (std::getline(in, line)) {
    if (line.rfind("physical id", 0) == 0) phys = std::stoi(line.substr(line.find(':') + 1));
    if (line.rfind("core id", 0) == 0) cores.insert({phys, std::stoi(line.substr(line.find(':') + 1))});
  }
  int n = static_cast<int>(cores.size());
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0 || (hw > 0 && n > hw)) n = hw;
  return n > 0 ? n : 1;
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : physical_cores()) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(int index) {
  if (index >= n_active_) return;
  const int64_t units = (n_ + grain_ - 1) / grain_;
  const int64_t per = units / n_active_, extra = units % n_active_;
  const int64_t ub = index * per + (index < extra ? index : extra);
  const int64_t ue = ub + per + (index < extra ? 1 : 0);
  const int64_t b = ub * grain_;
  const int64_t e = ue * grain_ < n_ ? ue * grain_ : n_;
  if (b < e) thunk_(ctx_, b, e, index);
}

void ThreadPool::dispatch(Thunk thunk, void* ctx, int64_t n, int64_t grain, int nt) {
  thunk_ = thunk;
  ctx_ = ctx;
  n_ = n;
  grain_ = grain;
  n_active_ = nt;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    // Publishing under the mutex pairs with the sleepers' predicate check.
    std::lock_guard<std::mutex> lk(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  if (sleepers_.load(std::memory_order_acquire) > 0) cv_.notify_all();
  run_chunk(0);
  while (pending_.load(std::memory_order_acquire) != 0) _mm_pause();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin briefly: the next op usually arrives within microseconds.
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < 20000; ++spin) {
      _mm_pause();
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lk(mu_);
      sleepers_.fetch_add(1);
      cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      sleepers_.fetch_sub(1);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load()) return;
    run_chunk(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace lookahead
