// `lookahead bench --forward`: the cost of one forward pass over k tokens at a
// realistic KV length, the number lookahead decoding lives on.
//
//   lookahead bench --forward -m MODEL [-t T] [--ctx 512] [--repeats 5]
//                   [--decode 32] [--json] [--plot FILE.svg] (--help: all flags)
//
// Prefills --ctx random tokens, then times batches of k = 1..64 causal tokens
// at that position (staged, never committed, so every repeat sees the same
// KV length; rounds over every k, up and down), then plain greedy decode
// speed. Also measures the machine's streaming read bandwidth and the
// matmul kernel's peak FLOP/s on this model's own FFN weights, giving two
// floors for cost(k): weight bytes / bandwidth and 2 * params * k / peak;
// and the time to read the weights op by op as a decode pass splits them,
// which tells what the kernels lose from what the op structure costs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <immintrin.h>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/context.h"
#include "model/llama_model.h"
#include "ops/cpu_features.h"
#include "ops/matmul.h"
#include "ops/repack.h"
#include "util/error.h"
#include "util/rng.h"
#include "util/thread_pool.h"
#include "util/timer.h"
#include "cli_args.h"
#include "svg_chart.h"

namespace lookahead::cli {
namespace {

// The kernels that run: "avx512", "avx2" or "scalar".
const char* kernels_name() { return use_avx512() ? "avx512" : use_avx2() ? "avx2" : "scalar"; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

__attribute__((target("avx2"))) uint64_t read_sum_avx2(const uint8_t* p, size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a = _mm256_add_epi64(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_add_epi64(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    c = _mm256_add_epi64(c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    d = _mm256_add_epi64(d, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  a = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
  alignas(32) uint64_t o[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(o), a);
  return o[0] + o[1] + o[2] + o[3];
}

// Sum of n bytes as uint64 words (the reads are the point): AVX2 where the
// CPU has it, else a plain loop (portable builds).
uint64_t read_sum(const uint8_t* p, size_t n) {
  if (cpu_has_avx2()) return read_sum_avx2(p, n);
  uint64_t s = 0, w;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    std::memcpy(&w, p + i, 8);
    s += w;
  }
  return s;
}

// Streaming read bandwidth (GB/s) with the pool's threads: best of 5 passes
// over 512 MiB, far beyond any cache.
double measure_bandwidth(ThreadPool& pool) {
  const size_t n = size_t{512} << 20;
  auto* buf = static_cast<uint8_t*>(std::aligned_alloc(64, n));
  std::memset(buf, 1, n);
  std::vector<uint64_t> sink(pool.size());
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now_ms();
    pool.parallel_for(static_cast<int64_t>(n / 4096), 1, [&](int64_t b, int64_t e, int t) {
      sink[t] += read_sum(buf + b * 4096, static_cast<size_t>(e - b) * 4096);
    });
    best = std::min(best, now_ms() - t0);
  }
  uint64_t s = 0;
  for (auto v : sink) s += v;
  std::free(buf);
  if (s == 42) std::fputs("", stderr);  // keep the reads
  return n / (best * 1e-3) / 1e9;
}

// A decode pass's weight reads without its arithmetic: the forward's ops in
// order (q/k/v, o, gate/up, down per layer, then the output matrix), each
// op's bytes (the load-time copy where there is one) split evenly between
// the threads, which meet after every op as the real pass does. Best of 5
// passes, ms. Set against the probe above it separates what the kernels
// lose (decode vs this) from what the per-op handoffs cost (this vs the
// probe's one long stream per thread; TinyLlama: 89 ops a token).
double measure_op_stream_ms(const LlamaModel& m, ThreadPool& pool) {
  struct Span {
    const uint8_t* p;
    size_t n;
  };
  auto span = [](const WeightView& w) {
    return w.packed ? Span{w.packed, packed_size(w.type, w.rows, w.cols)} : Span{w.data, w.rows * w.row_bytes};
  };
  std::vector<std::vector<Span>> ops;
  for (const auto& L : m.layers()) {
    ops.push_back({span(L.wq), span(L.wk), span(L.wv)});
    ops.push_back({span(L.wo)});
    ops.push_back({span(L.w_gate), span(L.w_up)});
    ops.push_back({span(L.w_down)});
  }
  ops.push_back({span(m.output())});
  std::vector<uint64_t> sink(pool.size());
  const int nt = pool.size();
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now_ms();
    for (const auto& op : ops) {
      size_t total = 0;
      for (const Span& s : op) total += s.n;
      // Thread t reads bytes [t * total / nt, (t + 1) * total / nt) of the
      // op's matrices laid end to end.
      pool.parallel_for(nt, 1, [&](int64_t b, int64_t e, int t) {
        for (int64_t part = b; part < e; ++part) {
          size_t lo = total * part / nt, hi = total * (part + 1) / nt, base = 0;
          for (const Span& s : op) {
            const size_t a = std::max(lo, base), z = std::min(hi, base + s.n);
            if (a < z) sink[t] += read_sum(s.p + (a - base), z - a);
            base += s.n;
          }
        }
      });
    }
    best = std::min(best, now_ms() - t0);
  }
  uint64_t s = 0;
  for (auto v : sink) s += v;
  if (s == 42) std::fputs("", stderr);  // keep the reads
  return best;
}

// Peak multiply-add throughput of the matmul kernel on this model's
// ffn_gate weights with 64 tokens (compute-bound there): GFLOP/s.
double measure_peak_gflops(const LlamaModel& m, ThreadPool& pool) {
  const WeightView& w = m.layers()[0].w_gate;
  const int k = 64;
  std::vector<float> x(static_cast<size_t>(k) * w.cols), y(static_cast<size_t>(k) * w.rows);
  Rng rng(7);
  for (auto& v : x) v = static_cast<float>(rng.uniform() - 0.5);
  matmul(w, x.data(), w.cols, k, y.data(), w.rows, &pool);
  std::vector<double> ts;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now_ms();
    matmul(w, x.data(), w.cols, k, y.data(), w.rows, &pool);
    ts.push_back(now_ms() - t0);
  }
  return 2.0 * w.rows * w.cols * k / (*std::min_element(ts.begin(), ts.end()) * 1e-3) / 1e9;
}

long peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

struct Point {
  int k;
  double ms;
};

// cost(k) with the two floors, drawn by the shared SVG chart helper.
void write_svg(const std::string& path, const std::string& title, const std::vector<Point>& cost, double bw_floor_ms,
               double flops_per_token, double peak_gflops) {
  LineSeries measured{"measured cost(k)", {}, {}, false};
  LineSeries bandwidth{"bandwidth floor", {}, {}, true};
  LineSeries compute{"compute floor (measured peak)", {}, {}, true};
  for (const auto& p : cost) {
    measured.x.push_back(p.k);
    measured.y.push_back(p.ms);
    bandwidth.x.push_back(p.k);
    bandwidth.y.push_back(bw_floor_ms);
    compute.x.push_back(p.k);
    compute.y.push_back(flops_per_token * p.k / (peak_gflops * 1e9) * 1e3);
  }
  write_text_file(path, svg_line_chart(title, "tokens per forward pass (k)", "ms per forward pass",
                                       {measured, bandwidth, compute}));
}

}  // namespace

int cmd_bench_forward(int argc, char** argv) {
  std::string model_path, plot_path;
  int threads = 0, ctx = 512, repeats = 5, decode_n = 32, decode_runs = 1;
  bool json = false, forward = false, logits_last = false;
  LlamaLoadOptions lo;
  ArgParser ap("bench --forward",
               "Time one forward pass over k = 1, 2, 4 .. 64 tokens at a KV length of --ctx, and plain decode,\n"
               "against the bandwidth and compute floors.");
  ap.add_flag({"--forward"}, &forward, "this benchmark (required)");
  ap.add_string({"-m", "--model"}, &model_path, "GGUF model", "FILE");
  ap.add_int({"-t", "--threads"}, &threads, "threads (default: physical cores)");
  ap.add_int({"--ctx"}, &ctx, "KV-cache length the passes run at (default 512)");
  ap.add_int({"--repeats"}, &repeats, "timed rounds over every k (up, down, up, ...); each k's median counts (default 5)");
  ap.add_int({"--decode"}, &decode_n, "tokens of plain greedy decode (default 32)");
  ap.add_int({"--decode-runs"}, &decode_runs, "decode runs from the same position; the fastest counts (default 1)");
  ap.add_flag({"--json"}, &json, "print one JSON object");
  ap.add_string({"--plot"}, &plot_path, "draw cost(k) and the two floors as SVG", "FILE");
  ap.add_negative_flag({"--no-repack"}, &lo.repack,
                       "keep the weights in the GGUF layout (quantized kernels repack on the fly)");
  ap.add_custom(
      {"--logits"},
      [&](const std::string& v) {
        if (v != "all" && v != "last") fail("bench: --logits takes all or last, not '{}'", v);
        logits_last = v == "last";
      },
      "all: logits for every token (default; lookahead needs most); last: the last only (prompt\n"
      "                                processing, as llama-bench's pp)",
      "all|last");
  ap.add_custom(
      {"--kernels"},
      [&](const std::string& v) {
        if (v != "auto" && v != "avx2") fail("bench: --kernels takes auto or avx2, not '{}'", v);
        if (v == "avx2" && !cpu_has_avx2()) fail("bench: --kernels avx2: this CPU lacks AVX2, FMA or F16C");
        set_kernel_mode(v == "avx2" ? KernelMode::Avx2 : KernelMode::Auto);
      },
      "auto: the best family this CPU has (default); avx2: the AVX2 one even on an AVX-512 CPU\n"
      "                                (loads and runs as an AVX2-only CPU would)",
      "auto|avx2");
  if (!ap.parse(argc, argv, 0)) return 0;
  if (!forward) fail("bench: only --forward is implemented (see 'lookahead bench --forward --help')");
  if (model_path.empty()) fail("bench: -m MODEL is required (see 'lookahead bench --forward --help')");
  if (ctx < 1) fail("bench: --ctx must be >= 1");
  if (threads < 0) fail("bench: --threads must be >= 0");
  if (repeats < 1 || decode_n < 1 || decode_runs < 1) fail("bench: --repeats, --decode and --decode-runs must be >= 1");

  const double t_load0 = now_ms();
  auto model = LlamaModel::load(model_path, lo);
  const double load_ms = now_ms() - t_load0;
  const long load_rss_kb = peak_rss_kb();  // the model alone, before the bandwidth probe's buffer
  const LlamaHParams& hp = model->hparams();
  const int kmax = 64;
  ContextOptions co;
  co.n_ctx = ctx + decode_n + kmax + 1;
  co.max_batch = std::max(kmax, 64);
  co.n_threads = threads;
  InferenceContext c(*model, co);
  ThreadPool& pool = c.pool();

  const double bw = measure_bandwidth(pool);
  const double peak = measure_peak_gflops(*model, pool);
  const double op_stream_ms = measure_op_stream_ms(*model, pool);
  const uint64_t wbytes = model->weight_bytes_per_token();
  uint64_t params = 0;  // multiply-adds per token (matrices, not the embedding lookup)
  for (const auto& L : model->layers())
    for (const WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) params += w->rows * w->cols;
  params += model->output().rows * model->output().cols;
  const double flops_per_token = 2.0 * params;
  const double bw_floor_ms = wbytes / (bw * 1e9) * 1e3;

  Rng rng(99);
  std::vector<TokenId> prompt(ctx);
  for (auto& t : prompt) t = static_cast<TokenId>(1 + rng.below(hp.n_vocab - 1));
  const double t_pf0 = now_ms();
  c.prefill(prompt);
  const double prefill_ms = now_ms() - t_pf0;

  // The repeats go round robin over k rather than k by k, so every k sees
  // the same stretch of a shared host's noise and cost(k)/cost(1) compares
  // like with like; each round's own ratios give the paired
  // cost16_over_cost1. Rounds alternate up and down (1..64, 64..1, ...) so a
  // pass always follows one of its own size or the next: right after a
  // 64-token pass (megabytes of dirty activations to write back) k = 1 ran
  // ~10 % slower than in decoding.
  std::vector<int> ks;
  for (int k = 1; k <= kmax; k *= 2) ks.push_back(k);
  const int nk = static_cast<int>(ks.size());
  std::vector<Batch> batches(nk);
  for (int i = nk - 1; i >= 0; --i) {  // warm-up, downwards: round 0 goes up
    std::vector<TokenId> toks(ks[i]);
    for (auto& t : toks) t = static_cast<TokenId>(1 + rng.below(hp.n_vocab - 1));
    batches[i].add_causal(toks, c.n_past(), logits_last);
    c.forward(batches[i]);  // staged rows are simply overwritten next time
  }
  std::vector<std::vector<double>> ts(nk);
  for (int r = 0; r < repeats; ++r)
    for (int s = 0; s < nk; ++s) {
      const int i = r % 2 ? nk - 1 - s : s;
      const double t0 = now_ms();
      c.forward(batches[i]);
      ts[i].push_back(now_ms() - t0);
    }
  std::vector<Point> cost;
  for (size_t i = 0; i < ks.size(); ++i) cost.push_back({ks[i], median(ts[i])});
  const size_t i16 = std::find(ks.begin(), ks.end(), 16) - ks.begin();
  const double ratio16 = cost[i16].ms / cost[0].ms;  // of the medians
  std::vector<double> round_ratios;                  // each round's own cost(16) / cost(1)
  for (int r = 0; r < repeats; ++r) round_ratios.push_back(ts[i16][r] / ts[0][r]);
  const double ratio16_paired = median(round_ratios);

  // Plain greedy decode from the prefilled context; --decode-runs repeats it
  // from the same position (noisy shared machines): the fastest run counts,
  // the median is reported too.
  const float* logits = nullptr;
  std::vector<double> run_tps;
  Batch b;
  for (int run = 0; run < decode_runs; ++run) {
    c.truncate(ctx);
    TokenId tok = prompt.back();
    const double t_dec0 = now_ms();
    for (int i = 0; i < decode_n; ++i) {
      b.clear();
      b.add(tok, c.n_past(), {}, true);
      logits = c.forward(b);
      c.commit_all();
      tok = static_cast<TokenId>(std::max_element(logits, logits + hp.n_vocab) - logits);
    }
    run_tps.push_back(decode_n / ((now_ms() - t_dec0) * 1e-3));
  }
  const double decode_tps = *std::max_element(run_tps.begin(), run_tps.end());
  const double decode_tps_median = median(run_tps);
  c.truncate(ctx);
  const long rss_kb = peak_rss_kb();

  if (!plot_path.empty()) {
    const std::string title = fmt::format("forward cost vs k: {} ({} threads, ctx {})",
                                          model_path.substr(model_path.find_last_of('/') + 1), pool.size(), ctx);
    write_svg(plot_path, title, cost, bw_floor_ms, flops_per_token, peak);
  }
  if (json) {
    nlohmann::json j;
    j["model"] = model_path;
    j["threads"] = pool.size();
    j["kernels"] = kernels_name();
    j["ctx"] = ctx;
    j["decode_tokens_per_second"] = decode_tps;
    j["decode_tokens_per_second_median"] = decode_tps_median;
    j["decode_runs"] = decode_runs;
    j["cost_logits"] = logits_last ? "last" : "all";
    j["cost"] = nlohmann::json::array();
    for (size_t i = 0; i < cost.size(); ++i)
      j["cost"].push_back({{"k", cost[i].k}, {"ms", cost[i].ms}, {"samples_ms", ts[i]}});
    j["weight_bytes_per_token"] = wbytes;
    j["bandwidth_gbs"] = bw;
    j["bandwidth_floor_ms"] = bw_floor_ms;
    j["op_stream_ms"] = op_stream_ms;
    j["decode_vs_op_stream"] = (1e3 / decode_tps) / op_stream_ms;
    j["peak_gflops"] = peak;
    j["flops_per_token"] = flops_per_token;
    j["compute_floor_ms_per_token"] = flops_per_token / (peak * 1e9) * 1e3;
    j["decode_vs_bandwidth_floor"] = (1e3 / decode_tps) / bw_floor_ms;
    j["cost16_over_cost1"] = ratio16;
    j["cost16_over_cost1_paired"] = ratio16_paired;
    j["load_ms"] = load_ms;
    j["repack_ms"] = model->repack_ms();
    j["repacked_mb"] = model->packed_bytes() / 1e6;
    j["prefill_ms"] = prefill_ms;
    j["peak_rss_mb"] = rss_kb / 1024.0;
    j["load_peak_rss_mb"] = load_rss_kb / 1024.0;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("model %s: %d threads, %s kernels, ctx %d, load %.0f ms (repacking %.0f MB: %.0f ms, peak RSS %.0f MB), prefill %.0f ms, "
                "peak RSS %.0f MB (with the 512 MiB bandwidth probe)\n",
                model_path.c_str(), pool.size(), kernels_name(), ctx, load_ms, model->packed_bytes() / 1e6, model->repack_ms(),
                load_rss_kb / 1024.0, prefill_ms, rss_kb / 1024.0);
    std::printf("weights read per token %.1f MB; read bandwidth %.1f GB/s -> bandwidth floor %.2f ms\n", wbytes / 1e6, bw,
                bw_floor_ms);
    std::printf("the same weights read op by op as a decode pass splits them, no arithmetic: %.2f ms (%.2fx the floor)\n",
                op_stream_ms, op_stream_ms / bw_floor_ms);
    std::printf("kernel peak %.1f GFLOP/s -> compute floor %.2f ms per token\n", peak,
                flops_per_token / (peak * 1e9) * 1e3);
    std::printf("cost(k) with logits for %s\n", logits_last ? "the last token only" : "every token");
    std::printf("%4s %10s %10s %12s\n", "k", "ms", "cost/c1", "floor ms");
    for (const auto& p : cost)
      std::printf("%4d %10.2f %10.2f %12.2f\n", p.k, p.ms, p.ms / cost[0].ms,
                  std::max(bw_floor_ms, flops_per_token * p.k / (peak * 1e9) * 1e3));
    std::printf("cost(16)/cost(1) %.2f (ratio of medians), %.2f (median of the %d rounds' own ratios)\n",
                ratio16, ratio16_paired, repeats);
    std::printf("plain decode: %.1f tokens/s (%.2f ms/token, %.2fx the bandwidth floor, %.2fx the op-by-op read)",
                decode_tps, 1e3 / decode_tps, (1e3 / decode_tps) / bw_floor_ms, (1e3 / decode_tps) / op_stream_ms);
    if (decode_runs > 1) std::printf(", best of %d runs; median %.1f tokens/s", decode_runs, decode_tps_median);
    std::printf("\n");
  }
  return 0;
}

}  // namespace lookahead::cli
