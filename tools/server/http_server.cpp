#include "server/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "server/api_error.h"
#include "server/metrics.h"
#include "server/protocol.h"
#include "server/slots.h"
#include "util/error.h"

namespace lookahead::server {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// One line per event on stderr; a single fprintf call is not interleaved.
template <typename... Args>
void log_line(fmt::format_string<Args...> f, Args&&... args) {
  const std::string s = fmt::format(f, std::forward<Args>(args)...);
  std::fprintf(stderr, "[serve] %s\n", s.c_str());
}

std::string random_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}{:08x}", prefix, rng(), static_cast<uint32_t>(rng()));
}

void write_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.status == 503 || e.status == 429) res.set_header("Retry-After", "1");
  res.set_content(dump(e.to_json()), "application/json");
}

// Compares without an early exit, so response time does not reveal how much
// of a guessed key was right.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

const char* endpoint_name(Endpoint ep) { return ep == Endpoint::Chat ? "chat_completions" : "completions"; }

}  // namespace

struct Server::Job {
  std::vector<int32_t> ids;
  GenerateOptions go;
  ResponseMeta meta;
  bool stream = false, include_usage = false;
  Clock::time_point t0;
  double queue_wait_s = 0;
  std::unique_ptr<SlotPool::Lease> lease;
  std::shared_ptr<void> in_flight;  // releases the server's in-flight count when the job dies
};

Server::Server(ServerOptions opts) : opts_(std::move(opts)), http_(std::make_unique<httplib::Server>()), metrics_(std::make_unique<Metrics>()) {
  if (opts_.alias.empty()) opts_.alias = std::filesystem::path(opts_.model_path).stem().string();
  if (opts_.shared_pool && opts_.lookahead.enabled) pool_ = std::make_shared<SharedNGramPool>();
  created_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Every connection holds a worker while it lives, so there must be enough
  // for all slots, a full queue, and health/metrics probes on top; beyond
  // that the queue's 503 is what bounds the load.
  const size_t workers = static_cast<size_t>(opts_.n_slots + opts_.max_queue + 8);
  http_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http_->set_payload_max_length(opts_.max_body_bytes);
  http_->set_tcp_nodelay(true);  // SSE events are small writes that must go out at once
  http_->set_keep_alive_max_count(1000);
  http_->set_keep_alive_timeout(2);  // also bounds how long an idle connection delays shutdown
  // Keep the listening socket's fd: stop_listener() shuts it down directly
  // (see there). SO_REUSEADDR as httplib's default, but not its SO_REUSEPORT,
  // which would let a second server bind the same port silently.
  http_->set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_ = sock;
  });
  install_routes();
}

Server::~Server() {
  stop();
}

int Server::bind() {
  int port = opts_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(opts_.host);
    if (port < 0) fail("serve: cannot listen on {} (any port)", opts_.host);
  } else if (!http_->bind_to_port(opts_.host, port)) {
    fail("serve: cannot listen on {}:{} (in use, or not a local address)", opts_.host, port);
  }
  // httplib 0.11 listens with a backlog of 5, so a burst of clients sees
  // dropped SYNs and 1 s retransmits; listen() again raises it (Linux).
  if (listen_fd_ >= 0) ::listen(listen_fd_, 512);
  return port;
}

void Server::install_routes() {
  httplib::Server& s = *http_;

  // Authentication for the API routes; /health and /metrics stay open for probes.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opts_.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.rfind(prefix, 0) == 0 && same_secret(auth.substr(prefix.size()), opts_.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    write_error(res, ApiError(401,
                              auth.empty() ? "missing API key: send 'Authorization: Bearer KEY'" : "incorrect API key",
                              "invalid_request_error", {}, "invalid_api_key"));
    metrics_->on_request("auth", 401);
    return httplib::Server::HandlerResponse::Handled;
  });

  // httplib's own errors (404 route, 413 body too large, 400 malformed
  // HTTP) get OpenAI error bodies; ours already have one.
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e(res.status, "request failed", "invalid_request_error");
    if (res.status == 404)
      e = ApiError(404, "unknown request URL: " + req.method + " " + req.path, "invalid_request_error", {}, "unknown_url");
    else if (res.status == 413)
      e = ApiError(413, "request body too large", "invalid_request_error", {}, "request_too_large");
    else if (res.status == 400)
      e = ApiError(400, "malformed HTTP request", "invalid_request_error");
    else if (res.status >= 500)
      e = ApiError(res.status, "internal server error", "server_error");
    write_error(res, e);
    return httplib::Server::HandlerResponse::Handled;
  }));

  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    write_error(res, ApiError(500, "internal server error", "server_error"));
  });

  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (stopping_) {
      res.status = 503;
      res.set_content(R"({"status":"shutting_down"})", "application/json");
    } else if (!ready_) {
      res.status = 503;
      res.set_content(R"({"status":"loading"})", "application/json");
    } else {
      res.set_content(R"({"status":"ok"})", "application/json");
    }
  });

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    Metrics::Gauges g;
    g.ready = ready_;
    if (ready_) {
      g.slots_total = slots_->n_slots();
      g.slots_busy = slots_->busy();
      g.queue_length = slots_->queued();
    }
    if (pool_) g.shared_pool_ngrams = pool_->size();
    res.set_content(metrics_->render(g), "text/plain; version=0.0.4; charset=utf-8");
  });

  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json m = {{"id", opts_.alias}, {"object", "model"}, {"created", created_}, {"owned_by", "lookahead"}};
    if (ready_) {
      const ModelInfo& mi = model_->info();
      m["meta"] = {{"n_vocab", mi.n_vocab}, {"n_ctx", slots_->n_ctx()}, {"n_ctx_train", mi.n_ctx_train},
                   {"n_embd", mi.n_embd}, {"n_layer", mi.n_layer}, {"has_chat_template", mi.has_chat_template}};
    }
    res.set_content(dump(json{{"object", "list"}, {"data", json::array({m})}}), "application/json");
    metrics_->on_request("models", 200);
  });

  s.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_generate(Endpoint::Completions, req, res);
  });
  s.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_generate(Endpoint::Chat, req, res);
  });
  // Known routes with the wrong method: 405 rather than "unknown URL".
  auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
    write_error(res, ApiError(405, "method " + req.method + " not allowed on " + req.path, "invalid_request_error", {},
                              "method_not_allowed"));
  };
  s.Get("/v1/completions", not_allowed);
  s.Get("/v1/chat/completions", not_allowed);
  s.Post("/v1/models", not_allowed);
}

int Server::run() {
  run_started_ = true;
  std::thread listener([this] {
    http_->listen_after_bind();
    listen_done_ = true;
  });

  int rc = 0;
  if (opts_.load_delay_ms > 0) {
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait_for(lock, std::chrono::milliseconds(opts_.load_delay_ms), [&] { return stopping_.load(); });
  }
  if (!stopping_) {
    try {
      const auto t0 = Clock::now();
      ModelOptions mo;
      mo.path = opts_.model_path;
      mo.chat_template = opts_.chat_template;
      model_ = Model::load(mo);
      slots_ = std::make_unique<SlotPool>(model_, opts_.n_slots, opts_.session, opts_.max_queue);
      ready_ = true;
      if (stopping_) slots_->shutdown();  // stop() ran before the slots existed
      log_line("model '{}' loaded in {:.0f} ms: {} slot(s), context {} tokens, {} thread(s) per slot, {}{}",
               opts_.alias, seconds_since(t0) * 1000, opts_.n_slots, slots_->n_ctx(),
               opts_.session.n_threads, opts_.lookahead.enabled ?
               fmt::format("lookahead {},{},{}", opts_.lookahead.window, opts_.lookahead.ngram, opts_.lookahead.max_verify) : "plain decoding",
               pool_ ? ", shared n-gram pool" : "");
    } catch (const std::exception& e) {
      log_line("error: {}", e.what());
      rc = 1;
      stop();
    }
  }

  {
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait(lock, [&] { return stopping_.load(); });
    // Grace period: in-flight generations may finish; then they are cancelled.
    if (!stop_cv_.wait_for(lock, std::chrono::duration<double>(opts_.shutdown_grace_s),
                           [&] { return in_flight_ == 0 || cancelled(); }))
      log_line("grace period over: cancelling {} generation(s)", in_flight_.load());
  }
  cancel_all_ = true;
  stop_listener();  // in case stop() ran before run() started the listener
  listener.join();
  log_line("stopped");
  return rc;
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  if (ready_) slots_->shutdown();
  if (run_started_) stop_listener();
  std::lock_guard lock(stop_mu_);
  stop_cv_.notify_all();
}

void Server::stop_listener() {
  std::call_once(listener_stopped_, [this] {
    // Not httplib's stop(): that also marks the server as shutting down,
    // and its chunked-response loop then drops a stream whose headers are
    // out but whose provider has not run yet. Shutting the listening socket
    // down makes accept() fail, which ends httplib's accept loop (it closes
    // the socket); requests in flight run to the end.
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  });
}

void Server::cancel_all() {
  cancel_all_ = true;
  stop();
  std::lock_guard lock(stop_mu_);
  stop_cv_.notify_all();
}

Server::Job Server::prepare(const CompletionRequest& cr) {
  Job job;
  const Model& m = *model_;
  const bool chat = cr.endpoint == Endpoint::Chat;
  const char* prompt_param = chat ? "messages" : "prompt";
  if (chat) {
    if (!m.info().has_chat_template)
      throw ApiError(400, "the model has no chat template; start the server with --chat-template-file",
                     "invalid_request_error", "messages", "no_chat_template");
    std::string prompt;
    try {
      prompt = m.apply_chat_template(cr.messages, /*add_generation_prompt=*/true);
    } catch (const Error& e) {
      throw ApiError(400, std::string("chat template failed: ") + e.what(), "invalid_request_error", "messages");
    }
    // As `lookahead run --chat`: most templates write BOS themselves; add it
    // only when this one did not.
    const int32_t bos = m.info().bos;
    const bool add_bos = !(bos >= 0 && prompt.starts_with(m.token_piece(bos)));
    job.ids = m.tokenize(prompt, add_bos, true);
  } else if (cr.prompt_ids) {
    job.ids = *cr.prompt_ids;
    for (int32_t id : job.ids)
      if (id >= m.info().n_vocab)
        throw bad_field("prompt", fmt::format("token id {} is outside the vocabulary of {}", id, m.info().n_vocab));
  } else {
    job.ids = m.tokenize(cr.prompt, true, true);
  }
  if (job.ids.empty()) throw bad_field(prompt_param, "the prompt is empty (and the model adds no BOS)");
  const int n_ctx = slots_->n_ctx();
  if (static_cast<int>(job.ids.size()) >= n_ctx)
    throw ApiError(400,
                   fmt::format("the prompt is {} tokens long; this model's context is {} tokens", job.ids.size(), n_ctx),
                   "invalid_request_error", prompt_param, "context_length_exceeded");

  job.go.sampling = cr.sampling;
  job.go.stop = cr.stop;
  job.go.lookahead = opts_.lookahead;
  job.go.lookahead.shared_pool = pool_;
  // OpenAI's defaults: 16 for completions, the rest of the context for chat.
  job.go.max_tokens = cr.max_tokens ? *cr.max_tokens : chat ? n_ctx - static_cast<int>(job.ids.size()) : 16;
  job.stream = cr.stream;
  job.include_usage = cr.include_usage;
  job.meta.endpoint = cr.endpoint;
  job.meta.id = random_id(chat ? "chatcmpl-" : "cmpl-");
  job.meta.created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  job.meta.model = opts_.alias;
  return job;
}

void Server::handle_generate(Endpoint ep, const httplib::Request& req, httplib::Response& res) {
  const auto t0 = Clock::now();
  int status = 200;
  try {
    if (stopping_) throw ApiError(503, "the server is shutting down", "server_error", {}, "shutting_down");
    if (!ready_) throw ApiError(503, "the model is still loading; retry when GET /health answers 200", "server_error", {}, "loading");
    const CompletionRequest cr = parse_request(ep, req.body);
    auto job = std::make_shared<Job>(prepare(cr));
    job->t0 = t0;
    ++in_flight_;
    job->in_flight = std::shared_ptr<void>(nullptr, [this](void*) {
      --in_flight_;
      std::lock_guard lock(stop_mu_);
      stop_cv_.notify_all();
    });
    job->lease = slots_->acquire(&job->queue_wait_s);
    if (job->stream) run_stream(std::move(job), res);
    else run_plain(*job, res);
  } catch (const ApiError& e) {
    status = e.status;
    write_error(res, e);
  } catch (const Error& e) {
    // The library's errors are about the request (options, prompt).
    status = 400;
    write_error(res, ApiError(400, e.what(), "invalid_request_error"));
  } catch (const std::bad_alloc&) {
    status = 500;
    write_error(res, ApiError(500, "out of memory", "server_error"));
  } catch (const std::exception& e) {
    status = 500;
    log_line("internal error: {}", e.what());
    write_error(res, ApiError(500, "internal server error", "server_error"));
  }
  if (status != 200) log_line("{} {} -> {}", req.method, req.path, status);
  metrics_->on_request(endpoint_name(ep), status);
}

void Server::run_plain(Job& job, httplib::Response& res) {
  double ttft = -1;
  TextCallback on_text = [&](std::string_view) {
    if (ttft < 0) ttft = seconds_since(job.t0);
    return !cancelled();
  };
  Generation g = job.lease->session().generate(job.ids, job.go, on_text);
  const int slot = job.lease->slot();
  job.lease.reset();  // the slot is free before the response is written
  res.set_content(dump(completion_response(job.meta, g)), "application/json");
  const double total = seconds_since(job.t0);
  metrics_->on_generation(g.stats, job.queue_wait_s, ttft, total, g.finish_reason == "cancelled");
  log_line("{} slot {}: prompt {} tok, generated {} tok in {} steps ({:.2f} tok/step), {}, {:.1f} ms", job.meta.id,
           slot, g.stats.prompt_tokens, g.stats.generated_tokens, g.stats.steps, g.stats.tokens_per_step,
           finish_reason(g), total * 1000);
}

void Server::run_stream(std::shared_ptr<Job> job, httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  // The provider runs on this worker after the handler returns; it owns the
  // job (and so the slot lease) through the shared_ptr. If the client is
  // gone before it runs, destroying the provider frees the slot.
  res.set_chunked_content_provider("text/event-stream", [this, job](size_t, httplib::DataSink& sink) {
    // httplib calls providers outside its handler try-block: nothing may
    // escape from here, or the worker thread would terminate the process.
    try {
      return stream_events(*job, sink);
    } catch (const std::exception& e) {
      log_line("{}: stream failed: {}", job->meta.id, e.what());
    } catch (...) {
      log_line("{}: stream failed", job->meta.id);
    }
    job->lease.reset();
    job->in_flight.reset();
    return false;
  });
}

bool Server::stream_events(Job& job_ref, httplib::DataSink& sink) {
  Job* job = &job_ref;
  {
    bool client_gone = false;
    auto send = [&](const json& j) {
      if (client_gone) return false;
      const std::string ev = "data: " + dump(j) + "\n\n";
      if (!sink.is_writable() || !sink.write(ev.data(), ev.size())) client_gone = true;
      return !client_gone;
    };
    double ttft = -1;
    if (job->meta.endpoint == Endpoint::Chat) send(stream_chunk(job->meta, {}, nullptr, /*role_chunk=*/true));
    // Each accepted piece goes out as its own event, at once; a failed
    // write means the client disconnected, which stops the generation.
    TextCallback on_text = [&](std::string_view piece) {
      if (ttft < 0) ttft = seconds_since(job->t0);
      if (cancelled()) return false;
      return send(stream_chunk(job->meta, std::string(piece)));
    };
    Generation g;
    try {
      g = job->lease->session().generate(job->ids, job->go, on_text);
    } catch (const std::exception& e) {
      // Headers are out: report in-band, as OpenAI does for stream errors.
      send(ApiError(500, e.what(), "server_error").to_json());
      const std::string done = "data: [DONE]\n\n";
      if (!client_gone) sink.write(done.data(), done.size());
      job->lease.reset();
      sink.done();
      return true;
    }
    const int slot = job->lease->slot();
    job->lease.reset();
    const bool cancelled_gen = client_gone || g.finish_reason == "cancelled";
    if (!client_gone) {
      send(stream_chunk(job->meta, {}, &g));
      if (job->include_usage) send(usage_chunk(job->meta, g));
      const std::string done = "data: [DONE]\n\n";
      if (!client_gone) sink.write(done.data(), done.size());
    }
    const double total = seconds_since(job->t0);
    metrics_->on_generation(g.stats, job->queue_wait_s, ttft, total, cancelled_gen);
    log_line("{} slot {} (stream): prompt {} tok, generated {} tok in {} steps ({:.2f} tok/step), {}, {:.1f} ms{}",
             job->meta.id, slot, g.stats.prompt_tokens, g.stats.generated_tokens, g.stats.steps,
             g.stats.tokens_per_step, finish_reason(g), total * 1000, client_gone ? " (client disconnected)" : "");
    job->in_flight.reset();
    if (client_gone) return false;  // closes the connection
    sink.done();
    return true;
  }
}

}  // namespace lookahead::server
