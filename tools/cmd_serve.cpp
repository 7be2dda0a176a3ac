// `lookahead serve`: the OpenAI-compatible HTTP server (tools/server/).
// Parses the flags, installs the SIGINT/SIGTERM handling and runs the
// server until a signal stops it.
#include <csignal>
#include <cstdio>
#include <string>

#include "cli_args.h"
#include "commands.h"
#include "util/error.h"

#ifdef LOOKAHEAD_HAVE_SERVER
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "decoding/lookahead_decoder.h"
#include "server/http_server.h"
#include "util/thread_pool.h"
#endif

namespace lookahead::cli {

#ifndef LOOKAHEAD_HAVE_SERVER

int cmd_serve(int, char**, int) { fail("serve: this build has no server (configure with -DLOOKAHEAD_BUILD_SERVER=ON)"); }

#else

int cmd_serve(int argc, char** argv, int first) {
  server::ServerOptions so;
  std::string template_file, lookahead_spec;
  int threads = 0, ctx = 0, batch = 512, load_delay_ms = 0, max_body_kib = 1024;
  float grace = 10;
  bool use_lookahead = true, shared_pool = true;

  ArgParser ap("serve", "OpenAI-compatible HTTP server (completions, chat, SSE streaming) with lookahead decoding.");
  ap.add_string({"-m", "--model"}, &so.model_path, "GGUF model file", "FILE");
  ap.add_string({"--host"}, &so.host, "address to listen on (default 127.0.0.1)", "ADDR");
  ap.add_int({"--port"}, &so.port, "port to listen on, 0 = any free one (default 8080)");
  ap.add_string({"--api-key"}, &so.api_key, "require 'Authorization: Bearer KEY' on /v1/* (default: none)", "KEY");
  ap.add_string({"-a", "--alias"}, &so.alias, "model id in responses and /v1/models (default: the file's stem)", "NAME");
  ap.add_int({"-np", "--parallel"}, &so.n_slots, "slots: generations that run at once (default 1)");
  ap.add_int({"--max-queue"}, &so.max_queue, "requests that may wait for a slot; more get 503 (default 64)");
  ap.add_int({"-c", "--ctx-size"}, &ctx, "context size per slot (default: the model's, at most 4096)");
  ap.add_int({"-t", "--threads"}, &threads, "threads per slot (default: physical cores / slots, at least 1)");
  ap.add_int({"-b", "--batch-size"}, &batch, "most tokens per forward pass (default 512)");
  ap.add_string({"--lookahead"}, &lookahead_spec, "lookahead window W, n-gram size N, candidates G (default 15,5,15)", "W,N,G");
  ap.add_negative_flag({"--no-lookahead"}, &use_lookahead, "plain autoregressive decoding");
  ap.add_negative_flag({"--no-shared-pool"}, &shared_pool, "give every request a fresh n-gram pool (default: one pool shared by all requests)");
  ap.add_string({"--chat-template-file"}, &template_file, "Jinja chat template overriding the model's", "FILE");
  ap.add_int({"--max-body-kib"}, &max_body_kib, "largest request body in KiB; larger get 413 (default 1024)");
  ap.add_float({"--shutdown-grace"}, &grace, "seconds in-flight requests may finish after SIGINT/SIGTERM (default 10)");
  ap.add_int({"--load-delay-ms"}, &load_delay_ms, "testing: wait this long before loading the model");
  if (!ap.parse(argc, argv, first)) return 0;

  if (so.model_path.empty()) fail("serve: -m MODEL is required");
  if (so.port < 0 || so.port > 65535) fail("serve: --port must be in 0..65535, got {}", so.port);
  if (so.n_slots < 1 || so.n_slots > 256) fail("serve: -np must be in 1..256, got {}", so.n_slots);
  if (so.max_queue < 0 || so.max_queue > 4096) fail("serve: --max-queue must be in 0..4096, got {}", so.max_queue);
  if (threads < 0) fail("serve: -t must be positive, got {}", threads);
  if (ctx < 0) fail("serve: -c must be positive, got {}", ctx);
  if (max_body_kib < 1) fail("serve: --max-body-kib must be at least 1, got {}", max_body_kib);
  if (!(grace >= 0)) fail("serve: --shutdown-grace must be >= 0, got {}", grace);
  if (!template_file.empty()) so.chat_template = read_file(template_file);
  so.session.n_ctx = ctx;
  so.session.n_threads = threads > 0 ? threads : std::max(1, ThreadPool::physical_cores() / so.n_slots);
  so.session.max_batch = batch;
  so.lookahead.enabled = use_lookahead;
  if (!lookahead_spec.empty()) {
    const LookaheadParams lp = LookaheadParams::parse(lookahead_spec);
    so.lookahead.window = lp.window;
    so.lookahead.ngram = lp.ngram;
    so.lookahead.max_verify = lp.max_verify;
  }
  if (use_lookahead) {
    LookaheadParams lp;
    lp.window = so.lookahead.window;
    lp.ngram = so.lookahead.ngram;
    lp.max_verify = so.lookahead.max_verify;
    if (lp.batch_size() > batch)
      fail("serve: --lookahead {} needs {} tokens per step; raise -b (now {})", lookahead_spec, lp.batch_size(), batch);
  }
  so.shared_pool = shared_pool;
  so.max_body_bytes = static_cast<size_t>(max_body_kib) * 1024;
  so.shutdown_grace_s = grace;
  so.load_delay_ms = load_delay_ms;

  // Signals go to one thread that sigwait()s for them: block them here,
  // before any other thread exists, so every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client must not kill the process

  server::Server srv(so);
  const int port = srv.bind();
  // Tests and scripts read this line to learn the port (with --port 0).
  std::printf("lookahead serve: listening on http://%s:%d\n", so.host.c_str(), port);
  std::fflush(stdout);

  // First signal: graceful stop. A second one: cancel in-flight work now.
  std::atomic<bool> finished{false};
  std::thread sig_thread([&srv, &finished, sigs] {
    for (int n = 0;; ++n) {
      int sig = 0;
      sigwait(&sigs, &sig);
      if (finished) return;
      std::fprintf(stderr, "[serve] %s: %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                   n == 0 ? "shutting down (again to cancel in-flight requests)" : "cancelling in-flight requests");
      if (n == 0) srv.stop();
      else srv.cancel_all();
    }
  });
  const int rc = srv.run();
  // Wake the signal thread so it can be joined.
  finished = true;
  pthread_kill(sig_thread.native_handle(), SIGTERM);
  sig_thread.join();
  return rc;
}

#endif

}  // namespace lookahead::cli
