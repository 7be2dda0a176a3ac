// Server metrics in the Prometheus text exposition format (GET /metrics).
//
// Threads: thread-safe; one mutex guards all counters (updates are a few per
// request, far off any hot path).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "lookahead/lookahead.h"

namespace lookahead::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double v);
  // Appends the _bucket/_sum/_count lines of metric `name`.
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();

  // One finished HTTP request on an API route (any status).
  void on_request(const std::string& endpoint, int status);
  // One finished generation. ttft_s < 0: no token was produced.
  void on_generation(const GenerationStats& s, double queue_wait_s, double ttft_s, double total_s, bool cancelled);

  // Gauges read at render time (slots, queue, pool) come from `gauges`.
  struct Gauges {
    int slots_total = 0, slots_busy = 0, queue_length = 0;
    int64_t shared_pool_ngrams = 0;
    bool ready = false;
  };
  std::string render(const Gauges& g) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t generations_ = 0, cancelled_ = 0;
  uint64_t prompt_tokens_ = 0, generated_tokens_ = 0, steps_ = 0, accepted_tokens_ = 0;
  Histogram request_duration_, ttft_, queue_wait_, compression_;
};

}  // namespace lookahead::server
