#include "server/metrics.h"

#include <fmt/format.h>

namespace lookahead::server {

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cum);
  }
  cum += counts_.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cum, name, sum_, name, count_);
}

namespace {
std::vector<double> latency_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}
}  // namespace

Metrics::Metrics()
    : request_duration_(latency_buckets()),
      ttft_(latency_buckets()),
      queue_wait_(latency_buckets()),
      compression_({1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 8}) {}

void Metrics::on_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::on_generation(const GenerationStats& s, double queue_wait_s, double ttft_s, double total_s,
                            bool cancelled) {
  int64_t accepted = 0;
  for (size_t n = 0; n < s.accept_hist.size(); ++n) accepted += static_cast<int64_t>(n) * s.accept_hist[n];
  std::lock_guard lock(mu_);
  ++generations_;
  if (cancelled) ++cancelled_;
  prompt_tokens_ += static_cast<uint64_t>(s.prompt_tokens);
  generated_tokens_ += static_cast<uint64_t>(s.generated_tokens);
  steps_ += static_cast<uint64_t>(s.steps);
  accepted_tokens_ += static_cast<uint64_t>(accepted);
  request_duration_.observe(total_s);
  if (ttft_s >= 0) ttft_.observe(ttft_s);
  queue_wait_.observe(queue_wait_s);
  if (s.steps > 0) compression_.observe(static_cast<double>(accepted) / s.steps);
}

std::string Metrics::render(const Gauges& g) const {
  std::lock_guard lock(mu_);
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  auto gauge = [&](const char* name, const char* help, double v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
  };
  out += "# HELP lookahead_requests_total HTTP requests on the API routes, by endpoint and status.\n"
         "# TYPE lookahead_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("lookahead_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  counter("lookahead_generations_total", "Generations run (completions and chat).", generations_);
  counter("lookahead_cancelled_total", "Generations stopped early by a client disconnect or shutdown.", cancelled_);
  counter("lookahead_prompt_tokens_total", "Prompt tokens processed.", prompt_tokens_);
  counter("lookahead_generated_tokens_total", "Tokens generated.", generated_tokens_);
  counter("lookahead_decode_steps_total", "Forward passes after the prompt (decode steps).", steps_);
  counter("lookahead_accepted_tokens_total", "Tokens accepted by decode steps.", accepted_tokens_);
  gauge("lookahead_compression_ratio", "Accepted tokens per decode step over all generations (1 = plain decoding).",
        steps_ ? static_cast<double>(accepted_tokens_) / static_cast<double>(steps_) : 0.0);
  request_duration_.render(out, "lookahead_request_duration_seconds", "Generation request latency, queueing included.");
  ttft_.render(out, "lookahead_time_to_first_token_seconds", "Time from request to the first generated text.");
  queue_wait_.render(out, "lookahead_queue_wait_seconds", "Time spent waiting for a free slot.");
  compression_.render(out, "lookahead_request_compression", "Accepted tokens per decode step, per generation.");
  gauge("lookahead_slots_total", "Slots (concurrent generations).", g.slots_total);
  gauge("lookahead_slots_busy", "Slots generating now.", g.slots_busy);
  gauge("lookahead_queue_length", "Requests waiting for a slot.", g.queue_length);
  gauge("lookahead_shared_pool_ngrams", "N-grams in the shared lookahead pool.", static_cast<double>(g.shared_pool_ngrams));
  gauge("lookahead_ready", "1 once the model is loaded.", g.ready ? 1 : 0);
  return out;
}

}  // namespace lookahead::server
