#include "server/slots.h"

#include <algorithm>

#include "server/api_error.h"

namespace lookahead::server {

SlotPool::SlotPool(std::shared_ptr<const Model> model, int n_slots, const SessionOptions& so, int max_queue)
    : max_queue_(max_queue) {
  for (int i = 0; i < n_slots; ++i) sessions_.push_back(std::make_unique<Session>(model, so));
  n_ctx_ = sessions_.empty() ? 0 : sessions_[0]->n_ctx();
  // Hand out the lowest index first (stable slot numbers in logs).
  for (int i = n_slots - 1; i >= 0; --i) free_.push_back(i);
}

SlotPool::~SlotPool() = default;

SlotPool::Lease::~Lease() { pool_->release(slot_); }
Session& SlotPool::Lease::session() const { return *pool_->sessions_[slot_]; }

std::unique_ptr<SlotPool::Lease> SlotPool::acquire(double* queue_wait_s) {
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  if (shutting_down_) throw ApiError(503, "the server is shutting down", "server_error", {}, "shutting_down");
  if (waiters_.empty() && !free_.empty()) {
    const int slot = free_.back();
    free_.pop_back();
    if (queue_wait_s) *queue_wait_s = 0;
    return std::make_unique<Lease>(this, slot);
  }
  if (static_cast<int>(waiters_.size()) >= max_queue_)
    throw ApiError(503, "the server is overloaded: all slots are busy and the queue is full; retry later",
                   "server_error", {}, "overloaded");
  const uint64_t ticket = next_ticket_++;
  waiters_.push_back(ticket);
  cv_.wait(lock, [&] { return shutting_down_ || (waiters_.front() == ticket && !free_.empty()); });
  if (shutting_down_) {
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), ticket));
    throw ApiError(503, "the server is shutting down", "server_error", {}, "shutting_down");
  }
  waiters_.pop_front();
  const int slot = free_.back();
  free_.pop_back();
  // The next waiter may be able to go too (more than one slot free).
  if (!waiters_.empty() && !free_.empty()) cv_.notify_all();
  if (queue_wait_s) *queue_wait_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::make_unique<Lease>(this, slot);
}

void SlotPool::release(int slot) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(slot);
  }
  cv_.notify_all();
}

void SlotPool::shutdown() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
  }
  cv_.notify_all();
}

int SlotPool::busy() const {
  std::lock_guard lock(mu_);
  return n_slots() - static_cast<int>(free_.size());
}

int SlotPool::queued() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(waiters_.size());
}

}  // namespace lookahead::server
