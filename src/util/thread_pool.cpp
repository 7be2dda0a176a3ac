#include "util/thread_pool.h"

#include <algorithm>
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

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::min(n_threads > 0 ? n_threads : physical_cores(), 65535)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  job_.fetch_add(uint64_t{1} << 32);
  {
    std::lock_guard<std::mutex> lk(mu_);
    cv_.notify_all();
  }
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(int chunk, int thread_index) {
  const int64_t units = (n_ + grain_ - 1) / grain_;
  const int64_t per = units / n_active_, extra = units % n_active_;
  const int64_t ub = chunk * per + (chunk < extra ? chunk : extra);
  const int64_t ue = ub + per + (chunk < extra ? 1 : 0);
  const int64_t b = ub * grain_;
  const int64_t e = ue * grain_ < n_ ? ue * grain_ : n_;
  if (b < e) thunk_(ctx_, b, e, thread_index);
}

void ThreadPool::work_on(uint32_t gen, int thread_index) {
  uint64_t v = job_.load(std::memory_order_acquire);
  for (;;) {
    if (static_cast<uint32_t>(v >> 32) != gen) return;  // a newer job (or stop)
    // The chunk count lives in the job word itself: reading n_active_ here
    // could see the next job's value while the caller is writing it.
    const int chunk = static_cast<int>(v & 0xffffu), count = static_cast<int>((v >> 16) & 0xffffu);
    if (chunk >= count) return;
    // Claiming chunk c of job gen pins the job: the caller cannot publish
    // another until done_ counts this chunk, so the fields stay valid.
    if (job_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      run_chunk(chunk, thread_index);
      done_.fetch_add(1, std::memory_order_acq_rel);
      v = job_.load(std::memory_order_acquire);
    }
  }
}

void ThreadPool::dispatch(Thunk thunk, void* ctx, int64_t n, int64_t grain, int nt) {
  thunk_ = thunk;
  ctx_ = ctx;
  n_ = n;
  grain_ = grain;
  n_active_ = nt;
  done_.store(0, std::memory_order_relaxed);
  const uint32_t gen = static_cast<uint32_t>(job_.load(std::memory_order_relaxed) >> 32) + 1;
  // seq_cst on both sides: a worker registers in sleepers_ before its last
  // look at job_, and we publish job_ before looking at sleepers_, so either
  // it sees the new job or we see it and notify under the mutex.
  job_.store((static_cast<uint64_t>(gen) << 32) | (static_cast<uint64_t>(nt) << 16), std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lk(mu_);
    cv_.notify_all();
  }
  work_on(gen, 0);
  for (int spin = 0; done_.load(std::memory_order_acquire) != nt; ++spin) {
    if (spin < 4096) _mm_pause();
    else std::this_thread::yield();  // a worker holding a chunk was descheduled
  }
}

void ThreadPool::worker_loop(int index) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t g = static_cast<uint32_t>(job_.load(std::memory_order_acquire) >> 32);
    // Spin briefly (the next op usually arrives within microseconds), then
    // yield for a while (shared machines), then park.
    for (int spin = 0; g == seen && spin < 30000; ++spin) {
      if (spin < 20000) _mm_pause();
      else std::this_thread::yield();
      g = static_cast<uint32_t>(job_.load(std::memory_order_acquire) >> 32);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lk(mu_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      cv_.wait(lk, [&] { return static_cast<uint32_t>(job_.load(std::memory_order_seq_cst) >> 32) != seen; });
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      g = static_cast<uint32_t>(job_.load(std::memory_order_acquire) >> 32);
    }
    seen = g;
    if (stop_.load()) return;
    work_on(g, index);
  }
}

}  // namespace lookahead
