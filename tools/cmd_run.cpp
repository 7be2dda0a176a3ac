// `lookahead run`: generate from a prompt, streaming text to stdout and a
// stats line to stderr (or one JSON object with --json).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_args.h"
#include "commands.h"
#include "decoding/lookahead_decoder.h"
#include "lookahead/lookahead.h"
#include "util/error.h"

namespace lookahead::cli {

nlohmann::json stats_json(const GenerationStats& s) {
  return {{"prompt_tokens", s.prompt_tokens},
          {"generated_tokens", s.generated_tokens},
          {"steps", s.steps},
          {"tokens_per_step", s.tokens_per_step},
          {"prompt_ms", s.prompt_ms},
          {"generate_ms", s.generate_ms},
          {"forward_ms", s.forward_ms},
          {"tokens_per_second", s.tokens_per_second},
          {"accept_hist", s.accept_hist},
          {"pool_size", s.pool_size},
          {"pool_lookups", s.pool_lookups},
          {"pool_hits", s.pool_hits},
          {"pool_hit_rate", s.pool_lookups ? static_cast<double>(s.pool_hits) / s.pool_lookups : 0.0},
          {"verified_candidates", s.verified_candidates},
          {"decoder", s.decoder},
          {"seed", s.seed}};
}

std::string stats_line(const GenerationStats& s) {
  std::string hist;
  for (size_t i = 1; i < s.accept_hist.size(); ++i) hist += fmt::format("{}{}:{}", i > 1 ? " " : "", i, s.accept_hist[i]);
  std::string line = fmt::format(
      "[{}] prompt {} tok in {:.1f} ms | generated {} tok in {:.1f} ms, {:.1f} tok/s | {} steps, {:.2f} tok/step "
      "| forward {:.0f}% of time",
      s.decoder, s.prompt_tokens, s.prompt_ms, s.generated_tokens, s.generate_ms, s.tokens_per_second, s.steps,
      s.tokens_per_step, s.generate_ms > 0 ? 100.0 * s.forward_ms / s.generate_ms : 0.0);
  if (s.decoder == "lookahead")
    line += fmt::format(" | accepted/step {{{}}} | pool {} n-grams, hit rate {:.0f}%", hist, s.pool_size,
                        s.pool_lookups ? 100.0 * s.pool_hits / s.pool_lookups : 0.0);
  return line;
}

int cmd_run(int argc, char** argv, int first) {
  std::string model_path, prompt, prompt_file, system_prompt, template_file, lookahead_spec, kv_type = "f32";
  int n_predict = -1, threads = 0, ctx = 0, top_k = 40, repeat_last_n = 64, batch = 512;
  long long seed = -1;
  float temp = 0.8f, top_p = 0.95f, min_p = 0.05f, repeat_penalty = 1.0f, presence_penalty = 0.0f,
        frequency_penalty = 0.0f;
  bool json = false, use_lookahead = true, pool_from_prompt = false, chat = false;

  ArgParser ap("run", "Generate text with lookahead decoding (exact: same output as plain decoding).");
  ap.add_string({"-m", "--model"}, &model_path, "GGUF model file", "FILE");
  ap.add_string({"-p", "--prompt"}, &prompt, "prompt text", "TEXT");
  ap.add_string({"-f", "--file"}, &prompt_file, "read the prompt from FILE", "FILE");
  ap.add_int({"-n", "--n-predict"}, &n_predict, "tokens to generate (-1: until EOS or the context is full; default -1)");
  ap.add_float({"--temp"}, &temp, "temperature, 0 = greedy (default 0.8)");
  ap.add_int({"--top-k"}, &top_k, "top-k sampling, 0 = off (default 40)");
  ap.add_float({"--top-p"}, &top_p, "top-p sampling, 1 = off (default 0.95)");
  ap.add_float({"--min-p"}, &min_p, "min-p sampling, 0 = off (default 0.05)");
  ap.add_float({"--repeat-penalty"}, &repeat_penalty, "repetition penalty, 1 = off (default 1.0)");
  ap.add_float({"--presence-penalty"}, &presence_penalty, "subtracted from each seen token's logit, 0 = off (default 0)");
  ap.add_float({"--frequency-penalty"}, &frequency_penalty, "subtracted per occurrence, 0 = off (default 0)");
  ap.add_int({"--repeat-last-n"}, &repeat_last_n, "tokens the penalties look back over, -1 = all (default 64)");
  ap.add_int64({"-s", "--seed"}, &seed, "random seed, -1 = random (default -1)");
  ap.add_int({"-t", "--threads"}, &threads, "threads (default: physical cores)");
  ap.add_int({"-c", "--ctx-size"}, &ctx, "context size (default: the model's, at most 4096)");
  ap.add_int({"-b", "--batch-size"}, &batch, "most tokens per forward pass (default 512)");
  ap.add_string({"-ctk", "--cache-type-k"}, &kv_type, "KV cache type: f32 or f16 (default f32)", "TYPE");
  ap.add_string({"--lookahead"}, &lookahead_spec, "lookahead window W, n-gram size N, candidates G (default 15,5,15)", "W,N,G");
  ap.add_negative_flag({"--no-lookahead"}, &use_lookahead, "plain autoregressive decoding");
  ap.add_flag({"--pool-from-prompt"}, &pool_from_prompt, "seed the n-gram pool with the prompt's n-grams");
  ap.add_flag({"--chat"}, &chat, "wrap the prompt in the model's chat template as a user message");
  ap.add_string({"-sys", "--system-prompt"}, &system_prompt, "system message for --chat", "TEXT");
  ap.add_string({"--chat-template-file"}, &template_file, "Jinja chat template overriding the model's", "FILE");
  ap.add_flag({"--json"}, &json, "print one JSON object (prompt_ids, tokens, text, stats) instead of streaming");
  if (!ap.parse(argc, argv, first)) return 0;

  if (model_path.empty()) fail("run: -m MODEL is required");
  if (ap.seen("-p") && ap.seen("-f")) fail("run: give either -p or -f, not both");
  if (!prompt_file.empty()) prompt = read_file(prompt_file);
  if (n_predict < -1) fail("run: -n must be -1 or more, got {}", n_predict);
  if (threads < 0) fail("run: -t must be positive, got {}", threads);
  if (kv_type != "f32" && kv_type != "f16") fail("run: --cache-type-k must be f32 or f16, got '{}'", kv_type);

  ModelOptions mo;
  mo.path = model_path;
  if (!template_file.empty()) mo.chat_template = read_file(template_file);
  auto model = Model::load(mo);

  GenerateOptions go;
  go.sampling.temperature = temp;
  go.sampling.top_k = top_k;
  go.sampling.top_p = top_p;
  go.sampling.min_p = min_p;
  go.sampling.repeat_penalty = repeat_penalty;
  go.sampling.repeat_last_n = repeat_last_n;
  go.sampling.presence_penalty = presence_penalty;
  go.sampling.frequency_penalty = frequency_penalty;
  if (seed >= 0) go.sampling.seed = static_cast<uint64_t>(seed);
  go.lookahead.enabled = use_lookahead;
  go.lookahead.pool_from_prompt = pool_from_prompt;
  if (!lookahead_spec.empty()) {
    const LookaheadParams lp = LookaheadParams::parse(lookahead_spec);
    go.lookahead.window = lp.window;
    go.lookahead.ngram = lp.ngram;
    go.lookahead.max_verify = lp.max_verify;
  }

  SessionOptions so;
  so.n_ctx = ctx;
  so.n_threads = threads;
  so.max_batch = batch;
  so.kv_type = kv_type == "f16" ? KVCacheType::F16 : KVCacheType::F32;
  Session session(model, so);
  go.max_tokens = n_predict < 0 ? session.n_ctx() : n_predict;

  if (chat) {
    std::vector<Message> msgs;
    if (!system_prompt.empty()) msgs.push_back({"system", system_prompt});
    msgs.push_back({"user", prompt});
    prompt = model->apply_chat_template(msgs, true);
    // Most templates write BOS themselves; add it only when this one did not.
    const int32_t bos = model->info().bos;
    go.add_special = !(bos >= 0 && prompt.starts_with(model->token_piece(bos)));
  }

  TextCallback stream;
  if (!json)
    stream = [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  Generation g = session.generate(prompt, go, stream);
  if (json) {
    nlohmann::json j = {{"prompt_ids", g.prompt_ids},
                        {"tokens", g.tokens},
                        {"text", g.text},
                        {"finish_reason", g.finish_reason},
                        {"stats", stats_json(g.stats)}};
    std::puts(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fputs("\n", stdout);
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", stats_line(g.stats).c_str());
  }
  return 0;
}

}  // namespace lookahead::cli
