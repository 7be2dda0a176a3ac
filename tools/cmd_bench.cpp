// `lookahead bench`: the paper's decoding benchmark on this machine. Runs
// dataset prompts with plain and with lookahead decoding, checks that greedy
// outputs are identical, and reports tokens/s, steps, compression and
// speedup per dataset (table, JSON, SVG). `bench --forward` times the forward
// pass instead (cmd_bench_forward).
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_args.h"
#include "commands.h"
#include "decoding/lookahead_decoder.h"
#include "eval/datasets.h"
#include "lookahead/lookahead.h"
#include "svg_chart.h"
#include "util/error.h"
#include "util/timer.h"

namespace lookahead::cli {
namespace {

struct DatasetTotals {
  std::string name;
  int prompts = 0, skipped = 0, mismatches = 0;
  int64_t plain_tokens = 0, la_tokens = 0, plain_steps = 0, la_steps = 0;
  double plain_ms = 0, la_ms = 0, la_forward_ms = 0;
  std::vector<int> accept_hist;

  double plain_tps() const { return plain_ms > 0 ? plain_tokens / (plain_ms / 1000) : 0; }
  double la_tps() const { return la_ms > 0 ? la_tokens / (la_ms / 1000) : 0; }
  double compression() const { return la_steps ? static_cast<double>(la_tokens) / la_steps : 0; }
  double speedup() const { return plain_tps() > 0 ? la_tps() / plain_tps() : 0; }
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(',', start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

int cmd_bench(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i)
    if (std::string(argv[i]) == "--forward") return cmd_bench_forward(argc - first, argv + first);

  const char* shared_env = std::getenv("LOOKAHEAD_SHARED_DIR");
  const std::string shared = shared_env && *shared_env ? shared_env : "../shared";
  std::string model_path = shared + "/models/stories260K.gguf", data_dir = shared + "/data";
  std::string datasets = "mt_bench,humaneval,gsm8k", lookahead_spec = "15,5,15", out_path, plot_path;
  int limit = 10, n_predict = 128, threads = 0, ctx = 2048, top_k = 40;
  float temp = 0.0f, top_p = 0.95f, min_p = 0.05f;
  long long seed = 42;
  bool chat = false;
  ArgParser ap("bench", "Plain vs lookahead decoding on MT-bench, HumanEval and GSM8K prompts "
                        "(greedy outputs are checked to be identical).\n"
                        "'lookahead bench --forward -m MODEL' times the forward pass instead.");
  ap.add_string({"-m", "--model"}, &model_path, "GGUF model (default: shared stories260K)", "FILE");
  ap.add_string({"--data"}, &data_dir, "folder with mt_bench/, humaneval/, gsm8k/ (default: ../shared/data)", "DIR");
  ap.add_string({"--dataset"}, &datasets, "comma-separated datasets (default: mt_bench,humaneval,gsm8k)", "LIST");
  ap.add_int({"--limit"}, &limit, "prompts per dataset (default 10; 0 = all)");
  ap.add_int({"-n", "--n-predict"}, &n_predict, "tokens to generate per prompt (default 128)");
  ap.add_string({"--lookahead"}, &lookahead_spec, "W,N,G (default 15,5,15)", "W,N,G");
  ap.add_float({"--temp"}, &temp, "temperature (default 0: greedy, outputs checked identical)");
  ap.add_int({"--top-k"}, &top_k, "top-k when sampling (default 40)");
  ap.add_float({"--top-p"}, &top_p, "top-p when sampling (default 0.95)");
  ap.add_float({"--min-p"}, &min_p, "min-p when sampling (default 0.05)");
  ap.add_int64({"-s", "--seed"}, &seed, "sampling seed (default 42)");
  ap.add_int({"-t", "--threads"}, &threads, "threads (default: physical cores)");
  ap.add_int({"-c", "--ctx-size"}, &ctx, "context size (default 2048)");
  ap.add_flag({"--chat"}, &chat, "wrap prompts in the model's chat template");
  ap.add_string({"--out"}, &out_path, "write the results as JSON to FILE", "FILE");
  ap.add_string({"--plot"}, &plot_path, "write an SVG chart of speedup and compression to FILE", "FILE");
  if (!ap.parse(argc, argv, first)) return 0;
  if (n_predict < 1) fail("bench: -n must be at least 1");

  const LookaheadParams lp = LookaheadParams::parse(lookahead_spec);
  auto model = Model::load({model_path, ""});
  SessionOptions so;
  so.n_ctx = ctx;
  so.n_threads = threads;
  so.max_batch = std::max(512, lp.batch_size());
  Session session(model, so);

  GenerateOptions base;
  base.max_tokens = n_predict;
  base.sampling.temperature = temp;
  base.sampling.top_k = top_k;
  base.sampling.top_p = top_p;
  base.sampling.min_p = min_p;
  base.sampling.seed = static_cast<uint64_t>(seed);
  GenerateOptions plain = base, la = base;
  plain.lookahead.enabled = false;
  la.lookahead.window = lp.window;
  la.lookahead.ngram = lp.ngram;
  la.lookahead.max_verify = lp.max_verify;

  struct Job {
    size_t dataset;
    DatasetPrompt prompt;
  };
  std::vector<DatasetTotals> totals;
  std::vector<Job> jobs;
  for (const auto& name : split_commas(datasets)) {
    totals.push_back({});
    totals.back().name = name;
    totals.back().accept_hist.assign(lp.ngram + 1, 0);
    for (auto& p : load_dataset(data_dir, name, limit)) jobs.push_back({totals.size() - 1, std::move(p)});
  }

  const bool tty = isatty(STDERR_FILENO);
  const double t_start = now_ms();
  nlohmann::json per_prompt = nlohmann::json::array();
  for (size_t j = 0; j < jobs.size(); ++j) {
    DatasetTotals& t = totals[jobs[j].dataset];
    std::string text = jobs[j].prompt.text;
    if (chat) text = model->apply_chat_template({{"user", text}}, true);
    const auto ids = model->tokenize(text, !chat, chat);
    if (static_cast<int>(ids.size()) + n_predict > session.n_ctx()) {
      ++t.skipped;
      continue;
    }
    const Generation a = session.generate(ids, plain);
    const Generation b = session.generate(ids, la);
    const bool same = a.tokens == b.tokens;
    if (temp <= 0 && !same) ++t.mismatches;
    ++t.prompts;
    t.plain_tokens += a.stats.generated_tokens;
    t.plain_steps += a.stats.steps;
    t.plain_ms += a.stats.generate_ms;
    t.la_tokens += b.stats.generated_tokens;
    t.la_steps += b.stats.steps;
    t.la_ms += b.stats.generate_ms;
    t.la_forward_ms += b.stats.forward_ms;
    for (size_t k = 0; k < b.stats.accept_hist.size() && k < t.accept_hist.size(); ++k) t.accept_hist[k] += b.stats.accept_hist[k];
    per_prompt.push_back({{"dataset", t.name},
                          {"id", jobs[j].prompt.id},
                          {"prompt_tokens", ids.size()},
                          {"identical", same},
                          {"plain", {{"tokens", a.stats.generated_tokens}, {"ms", a.stats.generate_ms}, {"steps", a.stats.steps}}},
                          {"lookahead", {{"tokens", b.stats.generated_tokens}, {"ms", b.stats.generate_ms}, {"steps", b.stats.steps}}}});
    if (tty) {
      const double el = (now_ms() - t_start) / 1000, eta = el / (j + 1) * (jobs.size() - j - 1);
      std::fprintf(stderr, "\r[%zu/%zu] %-9s compression %.2f speedup %.2fx  elapsed %.0fs ETA %.0fs   ", j + 1,
                   jobs.size(), t.name.c_str(), t.compression(), t.speedup(), el, eta);
    }
  }
  if (tty) std::fprintf(stderr, "\n");

  std::printf("model %s | lookahead W=%d N=%d G=%d | %d tokens/prompt | temp %g | %d threads\n",
              model_path.c_str(), lp.window, lp.ngram, lp.max_verify, n_predict, temp, session.n_threads());
  std::printf("%-10s %7s %10s %10s %9s %9s %11s %8s %10s\n", "dataset", "prompts", "plain t/s", "look t/s", "steps",
              "tok/step", "fwd % time", "speedup", temp <= 0 ? "identical" : "identical*");
  nlohmann::json out_sets = nlohmann::json::array();
  int mismatches = 0;
  for (const auto& t : totals) {
    std::printf("%-10s %7d %10.1f %10.1f %9lld %9.2f %10.0f%% %7.2fx %10s\n", t.name.c_str(), t.prompts, t.plain_tps(),
                t.la_tps(), static_cast<long long>(t.la_steps), t.compression(),
                t.la_ms > 0 ? 100 * t.la_forward_ms / t.la_ms : 0.0, t.speedup(),
                temp <= 0 ? (t.mismatches ? "NO" : "yes") : "n/a");
    mismatches += t.mismatches;
    out_sets.push_back({{"dataset", t.name},
                        {"prompts", t.prompts},
                        {"skipped", t.skipped},
                        {"plain_tokens_per_second", t.plain_tps()},
                        {"lookahead_tokens_per_second", t.la_tps()},
                        {"plain_steps", t.plain_steps},
                        {"lookahead_steps", t.la_steps},
                        {"generated_tokens", t.la_tokens},
                        {"compression", t.compression()},
                        {"speedup", t.speedup()},
                        {"accept_hist", t.accept_hist},
                        {"mismatches", t.mismatches}});
  }
  if (temp > 0) std::printf("(* sampling: outputs differ by design; the distribution is the same)\n");
  if (!out_path.empty()) {
    nlohmann::json j = {{"model", model_path},
                        {"lookahead", {{"W", lp.window}, {"N", lp.ngram}, {"G", lp.max_verify}}},
                        {"n_predict", n_predict},
                        {"temperature", temp},
                        {"threads", session.n_threads()},
                        {"datasets", out_sets},
                        {"prompts", per_prompt}};
    write_text_file(out_path, j.dump(2) + "\n");
  }
  if (!plot_path.empty()) {
    std::vector<BarGroup> groups;
    for (const auto& t : totals) groups.push_back({t.name, {t.speedup(), t.compression()}});
    write_text_file(plot_path,
                    svg_bar_chart(fmt::format("Lookahead W={} N={} G={} vs plain decoding", lp.window, lp.ngram, lp.max_verify),
                                  "ratio", {"speedup (tokens/s ratio)", "compression (tokens/step)"}, groups, 1.0));
  }
  if (mismatches) {
    std::fprintf(stderr, "error: %d prompts gave different greedy output with lookahead\n", mismatches);
    return 1;
  }
  return 0;
}

}  // namespace lookahead::cli
