// lookahead: public C++ API.
//
//   auto model = lookahead::Model::load({.path = "stories260K.gguf"});
//   lookahead::Session session(model, {.n_ctx = 2048});
//   lookahead::GenerateOptions opt;
//   opt.max_tokens = 64;
//   opt.sampling.temperature = 0;               // greedy
//   auto g = session.generate("Once upon a time", opt,
//                             [](std::string_view piece) { fputs(std::string(piece).c_str(), stdout); return true; });
//   // g.text, g.tokens, g.stats.tokens_per_step ...
//
// Threads: a Model is immutable after load and may be shared by any number of
// Sessions on any threads. A Session (one KV cache, one decoder) is used by
// one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lookahead/error.h"

namespace lookahead {

struct ModelOptions {
  std::string path;            // GGUF file (llama architecture)
  std::string chat_template;   // Jinja source overriding the model's tokenizer.chat_template; empty = model's
  bool repack = true;          // copy weights at load into the kernels' layout / huge pages (faster decode,
                               // slower load; same results either way, except F32/F16/BF16 on AVX2 CPUs,
                               // whose two layouts sum in different orders: last-bit differences).
                               // Off: quantized models on AVX-512 CPUs decode up to 1.4x, batch up to 1.6x slower
};

struct ModelInfo {
  std::string architecture, name;
  int n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx_train = 0;
  float rope_freq_base = 0, rope_scale = 1, rms_eps = 0;
  bool tied_output = false;
  uint64_t weight_bytes = 0;   // bytes of all tensors
  std::string tokenizer_model;  // "llama" (SPM) or "gpt2" (BPE)
  int32_t bos = -1, eos = -1, eot = -1;
  bool has_chat_template = false;
};

struct Message {
  std::string role;     // "system", "user", "assistant", "tool"
  std::string content;
};

class Model {
 public:
  // Throws lookahead::Error (a std::runtime_error) with a one-line message
  // naming the file and the problem.
  static std::shared_ptr<const Model> load(const ModelOptions& opts);
  ~Model();

  const ModelInfo& info() const;
  // add_special: BOS/EOS as the vocab's metadata says. parse_special: treat
  // special-token texts in `text` as those tokens.
  std::vector<int32_t> tokenize(std::string_view text, bool add_special = true, bool parse_special = true) const;
  std::string detokenize(std::span<const int32_t> ids) const;
  std::string token_piece(int32_t id) const;
  bool is_end_of_generation(int32_t id) const;
  // Renders the chat template. Throws Error if the model has none or the
  // template fails (the message names the construct and where it is).
  std::string apply_chat_template(const std::vector<Message>& messages, bool add_generation_prompt) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  Model();
  std::unique_ptr<Impl> impl_;
};

enum class KVCacheType { F32, F16 };

struct SessionOptions {
  int n_ctx = 0;                  // context in tokens; 0 = min(model's training context, 4096)
  int n_threads = 0;              // 0 = physical cores
  KVCacheType kv_type = KVCacheType::F32;
  int max_batch = 512;            // most tokens per forward pass (prompt chunks, lookahead steps)
};

struct SamplingOptions {
  float temperature = 0.8f;       // <= 0: greedy
  int top_k = 40;                 // <= 0: off
  float top_p = 0.95f;            // >= 1: off
  float min_p = 0.05f;            // <= 0: off
  float repeat_penalty = 1.0f;    // 1: off; divides a seen token's positive logit (multiplies a negative one)
  float presence_penalty = 0.0f;  // 0: off; subtracted from the logit of each token seen (OpenAI's)
  float frequency_penalty = 0.0f; // 0: off; subtracted once per occurrence (OpenAI's)
  int repeat_last_n = 64;         // tokens the penalties look back over, prompt included (-1: all, 0: none)
  std::optional<uint64_t> seed;   // unset: random (reported in stats.seed)
};

// An n-gram pool shared by several Sessions of one model (the server's slots),
// so that what one request generated helps later, similar requests. A
// generate() with LookaheadOptions::shared_pool set starts its decoder's pool
// from a snapshot of this one, and when it is done adds the n-grams of its
// prompt and output to it. Greedy output is unchanged (lookahead is exact
// whatever the pool holds); only the compression changes.
// Threads: thread-safe (one internal mutex, held only for the snapshot copy
// and the merge, never during decoding).
class SharedNGramPool {
 public:
  SharedNGramPool();
  ~SharedNGramPool();
  SharedNGramPool(const SharedNGramPool&) = delete;
  SharedNGramPool& operator=(const SharedNGramPool&) = delete;
  int64_t size() const;  // n-grams held
  void clear();

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct LookaheadOptions {
  bool enabled = true;            // false: plain autoregressive decoding
  int window = 15;                // W
  int ngram = 5;                  // N
  int max_verify = 15;            // G
  bool pool_from_prompt = false;  // seed the n-gram pool with the prompt's n-grams
  bool keep_pool = false;         // keep the pool across generate() calls of this Session
  // Non-null: start from and feed this pool (see SharedNGramPool); keep_pool
  // is then ignored.
  std::shared_ptr<SharedNGramPool> shared_pool;
};

struct GenerateOptions {
  int max_tokens = 128;
  SamplingOptions sampling;
  LookaheadOptions lookahead;
  std::vector<std::string> stop;  // stop strings (not included in the output)
  bool add_special = true;        // add BOS as the vocab says (text prompts only)
  bool parse_special = true;      // parse special-token texts in the prompt
};

struct GenerationStats {
  int prompt_tokens = 0;
  int generated_tokens = 0;
  int steps = 0;                  // forward passes after the prompt
  double tokens_per_step = 0;     // generated / steps (compression)
  double prompt_ms = 0;
  double generate_ms = 0;
  double forward_ms = 0;          // of generate_ms, time inside forward passes
  double tokens_per_second = 0;   // generated / generate time
  std::vector<int> accept_hist;   // [n] = steps that accepted n tokens
  int64_t pool_size = 0, pool_lookups = 0, pool_hits = 0, verified_candidates = 0;
  uint64_t seed = 0;
  std::string decoder;            // "plain" or "lookahead"
};

struct Generation {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> tokens;    // generated ids (end-of-generation token excluded)
  std::string text;               // generated text (stop string excluded)
  std::string finish_reason;      // "length", "stop" (EOS or stop string), "context", "cancelled"
  GenerationStats stats;
};

// Receives generated text as it is accepted, always whole UTF-8 code points.
// Return false to stop generating.
using TextCallback = std::function<bool(std::string_view text)>;

class Session {
 public:
  Session(std::shared_ptr<const Model> model, const SessionOptions& opts = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Each call starts from an empty context. Throws Error on a prompt that
  // does not fit the context or bad options.
  Generation generate(std::string_view prompt, const GenerateOptions& opts, const TextCallback& on_text = {});
  Generation generate(std::vector<int32_t> prompt_ids, const GenerateOptions& opts, const TextCallback& on_text = {});

  int n_ctx() const;
  int n_threads() const;
  const Model& model() const { return *model_; }

 private:
  struct Impl;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lookahead
