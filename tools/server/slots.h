// Slot scheduler: a fixed set of Sessions (slots) sharing one Model, handed
// out to requests in strict arrival (FIFO) order through a bounded queue.
//
// Threads: all members are thread-safe. A Lease gives its holder exclusive
// use of one Session until the Lease is destroyed (on any thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "lookahead/lookahead.h"

namespace lookahead::server {

class SlotPool {
 public:
  // max_queue: most requests waiting for a slot; one more is refused.
  SlotPool(std::shared_ptr<const Model> model, int n_slots, const SessionOptions& so, int max_queue);
  ~SlotPool();

  class Lease {
   public:
    Lease(SlotPool* pool, int slot) : pool_(pool), slot_(slot) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Session& session() const;
    int slot() const { return slot_; }

   private:
    SlotPool* pool_;
    int slot_;
  };

  // Blocks until a slot is free and every earlier waiter has been served.
  // Throws ApiError 503 when the queue is full or the pool is shutting down.
  // queue_wait (out) is how long the caller waited.
  std::unique_ptr<Lease> acquire(double* queue_wait_s = nullptr);

  // Wakes every waiter with 503 and refuses new ones; leases keep working.
  void shutdown();

  int n_slots() const { return static_cast<int>(sessions_.size()); }
  int busy() const;
  int queued() const;
  int n_ctx() const { return n_ctx_; }

 private:
  void release(int slot);

  std::vector<std::unique_ptr<Session>> sessions_;
  int n_ctx_ = 0;
  const int max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> free_;         // free slot indices
  std::deque<uint64_t> waiters_;  // tickets in arrival order
  uint64_t next_ticket_ = 0;
  bool shutting_down_ = false;
};

}  // namespace lookahead::server
