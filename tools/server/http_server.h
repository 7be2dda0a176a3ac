// The OpenAI-compatible HTTP server behind `lookahead serve`.
//
// Life cycle (one Server per process):
//   Server s(opts);
//   int port = s.bind();   // listening socket up (port 0 picks a free one)
//   s.run();               // accepts at once (/health answers 503), loads the
//                          // model, serves until stop(); returns the exit code
//   s.stop();              // from any thread, e.g. the signal thread
//
// Routes: POST /v1/completions, POST /v1/chat/completions, GET /v1/models,
// GET /health, GET /metrics (docs/server.md has the details).
//
// Threads: cpp-httplib runs each connection on a worker of its own pool;
// a generation runs on that worker while it holds a slot lease (SlotPool).
// Every handler catches everything it can throw and answers with an OpenAI
// error object, so no request can take the process down.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "lookahead/lookahead.h"

namespace httplib {
class DataSink;
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace lookahead::server {

class SlotPool;
class Metrics;
struct CompletionRequest;
enum class Endpoint;

struct ServerOptions {
  std::string model_path;
  std::string chat_template;        // Jinja source overriding the model's; empty = model's
  std::string alias;                // model id in /v1/models and responses; empty = file stem
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0 = any free port
  std::string api_key;              // non-empty: /v1/* need "Authorization: Bearer KEY"
  int n_slots = 1;                  // concurrent generations
  int max_queue = 64;               // requests that may wait for a slot; more get 503
  SessionOptions session;           // per slot
  LookaheadOptions lookahead;       // window/ngram/verify, enabled
  bool shared_pool = true;          // share one n-gram pool across requests
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413
  double shutdown_grace_s = 10;     // in-flight generations may finish for this long after stop()
  int load_delay_ms = 0;            // testing: wait this long before loading (to observe /health 503)
};

class Server {
 public:
  explicit Server(ServerOptions opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port. Throws lookahead::Error.
  int bind();
  // Serves until stop(); loads the model meanwhile. Returns 0 on a clean
  // stop, 1 when the model failed to load.
  int run();
  // Graceful stop: refuse new work, let in-flight generations finish for up
  // to shutdown_grace_s, then cancel them. Idempotent, any thread; returns
  // at once (run() returns when everything has drained).
  void stop();
  // Makes in-flight generations stop at their next token (finish_reason
  // "cancelled"); implies stop(). Any thread.
  void cancel_all();

 private:
  struct Job;
  void install_routes();
  void handle_generate(Endpoint ep, const httplib::Request& req, httplib::Response& res);
  Job prepare(const CompletionRequest& cr);
  void run_plain(Job& job, httplib::Response& res);
  void run_stream(std::shared_ptr<Job> job, httplib::Response& res);
  // Runs the generation of a streamed job, writing SSE events to the sink;
  // returns false when the client went away (httplib then closes it).
  bool stream_events(Job& job, httplib::DataSink& sink);
  void stop_listener();  // once: stop accepting connections
  bool cancelled() const { return cancel_all_.load(std::memory_order_relaxed); }

  ServerOptions opts_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<Metrics> metrics_;
  std::shared_ptr<const Model> model_;   // set once, before ready_
  std::unique_ptr<SlotPool> slots_;      // set once, before ready_
  std::shared_ptr<SharedNGramPool> pool_;
  std::atomic<bool> ready_{false}, stopping_{false}, cancel_all_{false}, listen_done_{false}, run_started_{false};
  std::once_flag listener_stopped_;
  int listen_fd_ = -1;  // the listening socket (owned by httplib)
  std::atomic<int> in_flight_{0};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  int64_t created_ = 0;
};

}  // namespace lookahead::server
