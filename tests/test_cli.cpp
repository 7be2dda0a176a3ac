// End-to-end tests of the `lookahead` CLI: run, info, tokenize, and its
// error handling (one-line messages, non-zero exit codes).
#include <algorithm>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "ops/cpu_features.h"
#include "reference_cases.h"

using namespace lookahead;
using test::run_cli;

namespace {

std::vector<std::string> base_run(const std::string& prompt) {
  return {"run", "-m", test::model_path(), "-p", prompt, "--temp", "0", "-t", "1"};
}

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST(Cli, RunJsonReproducesReferenceWithAndWithoutLookahead) {
  for (const auto& c : test::reference_cases()) {
    for (bool la : {true, false}) {
      auto args = base_run(c.prompt);
      args.insert(args.end(), {"-n", "256", "--json"});
      if (!la) args.push_back("--no-lookahead");
      const auto r = run_cli(args);
      ASSERT_EQ(r.code, 0) << r.err;
      const auto j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j.at("prompt_ids").get<std::vector<int32_t>>(), c.prompt_ids);
      EXPECT_EQ(j.at("tokens").get<std::vector<int32_t>>(), c.greedy_ids) << c.prompt << " lookahead=" << la;
      const auto& s = j.at("stats");
      EXPECT_EQ(s.at("generated_tokens").get<int>(), 256);
      EXPECT_EQ(s.at("prompt_tokens").get<int>(), static_cast<int>(c.prompt_ids.size()));
      const int steps = s.at("steps").get<int>();
      EXPECT_NEAR(s.at("tokens_per_step").get<double>(), 256.0 / steps, 1e-9);
      for (const char* k : {"prompt_ms", "generate_ms", "tokens_per_second"}) EXPECT_TRUE(s.contains(k)) << k;
      if (la) EXPECT_LT(steps, 200);
      else EXPECT_EQ(steps, 255);
      EXPECT_FALSE(j.at("text").get<std::string>().empty());
    }
  }
}

TEST(Cli, StreamedTextEqualsJsonTextAndStatsGoToStderr) {
  auto args = base_run("Tom and Lily went to the park");
  args.insert(args.end(), {"-n", "80"});
  const auto streamed = run_cli(args);
  ASSERT_EQ(streamed.code, 0) << streamed.err;
  args.push_back("--json");
  const auto j = nlohmann::json::parse(run_cli(args).out);
  EXPECT_EQ(streamed.out, j.at("text").get<std::string>() + "\n");
  EXPECT_NE(streamed.err.find("tok/step"), std::string::npos) << streamed.err;
  EXPECT_NE(streamed.err.find("generated 80 tok"), std::string::npos) << streamed.err;
}

TEST(Cli, PromptFromFileEqualsPromptFlag) {
  const std::string path = (std::filesystem::temp_directory_path() / "lookahead_cli_prompt.txt").string();
  std::ofstream(path) << "Once upon a time";
  auto a = base_run("Once upon a time");
  a.insert(a.end(), {"-n", "40", "--json"});
  const auto ra = run_cli(a);
  const auto rb = run_cli({"run", "-m", test::model_path(), "-f", path, "--temp", "0", "-n", "40", "--json"});
  std::filesystem::remove(path);
  ASSERT_EQ(rb.code, 0) << rb.err;
  EXPECT_EQ(nlohmann::json::parse(ra.out).at("tokens"), nlohmann::json::parse(rb.out).at("tokens"));
}

TEST(Cli, SeededSamplingIsReproducibleAndThreadInvariant) {
  auto args = std::vector<std::string>{"run", "-m", test::model_path(), "-p", "Once upon a time", "-n", "60",
                                       "--temp", "0.9", "-s", "7", "--json", "--no-lookahead"};
  const auto a = run_cli(args);
  args.insert(args.end(), {"-t", "2"});
  const auto b = run_cli(args);
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(nlohmann::json::parse(a.out).at("tokens"), nlohmann::json::parse(b.out).at("tokens"));
  EXPECT_EQ(nlohmann::json::parse(a.out).at("stats").at("seed").get<uint64_t>(), 7u);
}

TEST(Cli, ErrorsAreOneLineAndNonZero) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"run", "-m", "/no/such/model.gguf", "-p", "hi"}, "/no/such/model.gguf"},
      {{"run", "-m", test::model_path(), "-p", "hi", "--bogus"}, "unknown option '--bogus'"},
      {{"run", "-m", test::model_path(), "-p", "hi", "-n"}, "needs a value"},
      {{"run", "-m", test::model_path(), "-p", "hi", "-n", "ten"}, "expected an integer"},
      {{"run", "-m", test::model_path(), "-p", "Once upon a time there was a girl", "-c", "8"}, "too long for the context"},
      {{"run", "-m", test::model_path(), "-p", "hi", "--lookahead", "15,5"}, "W,N,G"},
      {{"run", "-p", "hi"}, "-m MODEL is required"},
      {{"run", "-m", test::model_path(), "-f", "/no/such/prompt.txt"}, "/no/such/prompt.txt"},
      {{"info", "-m", test::shared_path("models/stories260K.reference.json")}, "not a GGUF file"},
      {{"bench", "--forward", "-m", test::model_path(), "--logits", "some"}, "--logits takes all or last"},
      {{"bench", "--forward", "-m", test::model_path(), "--kernels", "sse"}, "--kernels takes auto or avx2"},
      {{"bench", "--forward", "-m", test::model_path(), "--ctx", "many"}, "--ctx: expected an integer, got 'many'"},
      {{"bench", "--forward", "-m", test::model_path(), "--repeats", "0"}, "must be >= 1"},
      {{"bench", "--forward", "-m", test::model_path(), "--bogus"}, "unknown option '--bogus'"},
      {{"bench", "--forward"}, "-m MODEL is required"},
      {{"frobnicate"}, "unknown command"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli(c.args);
    EXPECT_NE(r.code, 0) << c.args[0] << " " << c.needle;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << "stderr was: " << r.err;
    if (c.args[0] != "frobnicate") {
      EXPECT_EQ(lines(r.err), 1) << r.err;
    }
  }
}

TEST(Cli, BenchForwardJsonReportsCostPerK) {
  for (const char* logits : {"all", "last"}) {
    const auto r = run_cli({"bench", "--forward", "-m", test::model_path(), "-t", "2", "--ctx", "16", "--repeats", "3",
                            "--decode", "4", "--json", "--logits", logits});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("cost_logits"), logits);
    std::vector<int> ks;
    std::vector<std::vector<double>> samples;
    for (const auto& c : j.at("cost")) {
      ks.push_back(c.at("k").get<int>());
      samples.push_back(c.at("samples_ms").get<std::vector<double>>());
      ASSERT_EQ(samples.back().size(), 3u);
      // ms is the median of the samples.
      std::vector<double> s = samples.back();
      std::sort(s.begin(), s.end());
      EXPECT_EQ(c.at("ms").get<double>(), s[1]);
      EXPECT_GT(s[0], 0.0);
    }
    EXPECT_EQ(ks, (std::vector<int>{1, 2, 4, 8, 16, 32, 64}));
    // Ratio of the medians, and the median of each round's own k=16 / k=1.
    EXPECT_DOUBLE_EQ(j.at("cost16_over_cost1").get<double>(), j["cost"][4]["ms"].get<double>() / j["cost"][0]["ms"].get<double>());
    std::vector<double> paired;
    for (int r = 0; r < 3; ++r) paired.push_back(samples[4][r] / samples[0][r]);
    std::sort(paired.begin(), paired.end());
    EXPECT_DOUBLE_EQ(j.at("cost16_over_cost1_paired").get<double>(), paired[1]);
    EXPECT_GT(j.at("decode_tokens_per_second").get<double>(), 0.0);
    EXPECT_EQ(j.at("weight_bytes_per_token").get<int64_t>() > 0, true);
    // Decode against the op-by-op read of the same weights.
    EXPECT_GT(j.at("op_stream_ms").get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(j.at("decode_vs_op_stream").get<double>(),
                     1e3 / j["decode_tokens_per_second"].get<double>() / j["op_stream_ms"].get<double>());
    EXPECT_EQ(j.at("kernels"), cpu_has_avx512() ? "avx512" : cpu_has_avx2() ? "avx2" : "scalar");
  }
  if (cpu_has_avx2()) {
    const auto r = run_cli({"bench", "--forward", "-m", test::model_path(), "-t", "1", "--ctx", "8", "--repeats", "1",
                            "--decode", "2", "--json", "--kernels", "avx2"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out).at("kernels"), "avx2");
  }
}

TEST(Cli, InfoDescribesTheModel) {
  const auto r = run_cli({"info", "-m", test::model_path()});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* s : {"architecture:  llama", "n_vocab 512, n_embd 64, n_layer 5, n_head 8, n_head_kv 4",
                        "F32        48 tensors", "llama, 512 tokens", "bos    1 '<s>'", "eos    2 '</s>'",
                        "chat template: no", "runnable:      yes"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
}

TEST(Cli, TokenizeMatchesReferenceIds) {
  for (const auto& c : test::reference_cases()) {
    const auto r = run_cli({"tokenize", "-m", test::model_path(), "-p", c.prompt, "--ids"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string want = "[";
    for (size_t i = 0; i < c.prompt_ids.size(); ++i) want += (i ? ", " : "") + std::to_string(c.prompt_ids[i]);
    EXPECT_EQ(r.out, want + "]\n");
  }
  const auto v = run_cli({"tokenize", "-m", test::shared_path("vocab/ggml-vocab-llama-bpe.gguf"), "-p",
                          "Hello world", "--ids", "--no-bos"});
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(v.out, "[9906, 1917]\n");
}
