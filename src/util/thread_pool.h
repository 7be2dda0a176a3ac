// Fork-join thread pool for the forward pass.
//
// A whole stories260K token costs tens of microseconds, so dispatch must cost
// well under a microsecond: workers spin on a job word for a short while,
// then yield, then park on a condition variable (the dispatcher takes the
// mutex only when someone is parked), and parallel_for() hands out
// contiguous chunks with no allocation. Callers should still keep tiny ops
// on one thread (matmul does below ~2^17 multiply-adds).
//
// Chunks are claimed, not assigned: the caller and the workers take chunk
// indices from one atomic counter, so a worker the OS has descheduled (the
// machine is often shared) does not stall the op; the caller takes its chunk.
// Chunk boundaries depend only on (n, grain, size()), never on who runs them.
//
// Contract: parallel_for() is called from one thread at a time (the owner);
// it returns when every chunk is done. fn(begin, end, thread_index) gets the
// index of the thread running it (0 = the caller), for per-thread scratch.
// fn must not throw. Work is split by output index only, so the split never
// changes any reduction order (batch invariance).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace lookahead {

class ThreadPool {
 public:
  // n_threads <= 0 means the number of physical cores.
  explicit ThreadPool(int n_threads = 0);  // at most 65535
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end, thread_index) over [0, n) split into at most size()
  // contiguous chunks of whole multiples of `grain` (the last may be short).
  // Each chunk runs exactly once, on some thread.
  template <typename Fn>
  void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
    parallel_for_chunks(n, grain, 1, std::forward<Fn>(fn));
  }

  // Like parallel_for, but into at most chunks_per_thread * size() chunks
  // (still whole multiples of grain, still fixed by (n, grain, size())):
  // on a loaded machine a descheduled thread then holds back only a small
  // chunk while the others claim the rest. Single-threaded pools run fn
  // once over [0, n).
  template <typename Fn>
  void parallel_for_balanced(int64_t n, int64_t grain, Fn&& fn) {
    parallel_for_chunks(n, grain, n_threads_ > 1 ? 4 : 1, std::forward<Fn>(fn));
  }

  template <typename Fn>
  void parallel_for_chunks(int64_t n, int64_t grain, int chunks_per_thread, Fn&& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    const int64_t units = (n + grain - 1) / grain;
    const int64_t max_chunks = std::min<int64_t>(static_cast<int64_t>(n_threads_) * chunks_per_thread, 65535);
    const int nt = static_cast<int>(units < max_chunks ? units : max_chunks);
    if (nt <= 1) {
      fn(int64_t{0}, n, 0);
      return;
    }
    using F = std::remove_reference_t<Fn>;
    auto thunk = [](void* ctx, int64_t b, int64_t e, int t) { (*static_cast<F*>(ctx))(b, e, t); };
    dispatch(thunk, const_cast<void*>(static_cast<const void*>(&fn)), n, grain, nt);
  }

  // Calls fn(i) once for every i in [0, size()), in parallel (slice i of
  // some work; i is not necessarily the running thread's index).
  template <typename Fn>
  void run_all(Fn&& fn) {
    parallel_for(n_threads_, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) fn(static_cast<int>(i));
    });
  }

  // Physical cores (falls back to hardware_concurrency()).
  static int physical_cores();

 private:
  using Thunk = void (*)(void*, int64_t, int64_t, int);
  void dispatch(Thunk thunk, void* ctx, int64_t n, int64_t grain, int nt);
  void worker_loop(int index);
  void run_chunk(int chunk, int thread_index);
  // Claims and runs chunks of job `gen` until none is left; false if the job
  // word already belongs to another job.
  void work_on(uint32_t gen, int thread_index);

  int n_threads_;
  std::vector<std::thread> workers_;
  // Current job. Published by storing job_ = generation << 32 | n_chunks << 16
  // | 0; chunks are claimed by incrementing the low 16 bits.
  Thunk thunk_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  int n_active_ = 0;
  std::atomic<uint64_t> job_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> sleepers_{0};
};

}  // namespace lookahead
