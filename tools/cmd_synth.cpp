// `lookahead synth`: writes a Llama-architecture GGUF with seeded random
// weights in a real model's shape, for benchmarking kernels and the forward
// pass at real sizes without downloading weights.
//
//   lookahead synth --arch llama --shape tinyllama-1.1b|llama-7b|NAME
//                   --type F16|BF16|Q8_0|Q4_0|Q4_K_M --vocab VOCAB.gguf -o OUT.gguf
//                   [--seed S] [--n-embd N --n-ff N --n-layer N --n-head N
//                    --n-head-kv N --n-ctx N] [--n-vocab N (without --vocab)]
//
// Weights are uniform with standard deviation 0.02 (norm weights 1), so
// activations stay finite through every layer. Tensors are generated and
// quantized in parallel, one at a time, and streamed to the file.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "ops/quant.h"
#include "util/error.h"
#include "util/rng.h"
#include "util/timer.h"

namespace lookahead::cli {
namespace {

struct Shape {
  int n_embd = 0, n_ff = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ctx = 2048;
};

const char* kUsage =
    "usage: lookahead synth --arch llama --shape tinyllama-1.1b|llama-7b|NAME --type F16|BF16|Q8_0|Q4_0|Q4_K_M\n"
    "                       --vocab VOCAB.gguf -o OUT.gguf [--seed S]\n"
    "                       [--n-embd N --n-ff N --n-layer N --n-head N --n-head-kv N --n-ctx N] [--n-vocab N]\n";

int parse_int(const std::string& flag, const char* v) {
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (!*v || *end || x <= 0 || x > (1 << 24)) fail("synth: {} expects a positive integer, got '{}'", flag, v);
  return static_cast<int>(x);
}

// Q4_K_M keeps a third of the attn_v / ffn_down layers (and the first and
// last eighth) at Q6_K, as llama.cpp's quantizer does.
bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

void fill_row(uint64_t seed, uint64_t tensor, uint64_t row, float* x, int64_t n, float sd) {
  Rng rng(seed ^ (tensor * 0x9E3779B97F4A7C15ULL) ^ (row * 0xD1B54A32D192ED03ULL));
  const float a = sd * 1.7320508f * 0x1.0p-31f;  // uniform in [-sd*sqrt3, sd*sqrt3)
  int64_t i = 0;
  for (; i + 1 < n; i += 2) {
    const uint64_t r = rng.next_u64();
    x[i] = a * static_cast<float>(static_cast<int32_t>(r) );
    x[i + 1] = a * static_cast<float>(static_cast<int32_t>(r >> 32));
  }
  if (i < n) x[i] = a * static_cast<float>(static_cast<int32_t>(rng.next_u64()));
}

}  // namespace

int cmd_synth(int argc, char** argv) {
  std::string arch = "llama", shape_name, type_name, vocab_path, out_path;
  uint64_t seed = 1234;
  int n_vocab_flag = 0;
  Shape s;
  bool custom[6] = {};
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) fail("synth: {} needs a value", a);
      return argv[++i];
    };
    if (a == "--arch") arch = val();
    else if (a == "--shape") shape_name = val();
    else if (a == "--type") type_name = val();
    else if (a == "--vocab") vocab_path = val();
    else if (a == "-o" || a == "--output") out_path = val();
    else if (a == "--seed") seed = std::strtoull(val(), nullptr, 10);
    else if (a == "--n-embd") s.n_embd = parse_int(a, val()), custom[0] = true;
    else if (a == "--n-ff") s.n_ff = parse_int(a, val()), custom[1] = true;
    else if (a == "--n-layer") s.n_layer = parse_int(a, val()), custom[2] = true;
    else if (a == "--n-head") s.n_head = parse_int(a, val()), custom[3] = true;
    else if (a == "--n-head-kv") s.n_head_kv = parse_int(a, val()), custom[4] = true;
    else if (a == "--n-ctx") s.n_ctx = parse_int(a, val()), custom[5] = true;
    else if (a == "--n-vocab") n_vocab_flag = parse_int(a, val());
    else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else fail("synth: unknown argument '{}'\n{}", a, kUsage);
  }
  if (arch != "llama") fail("synth: unsupported --arch '{}' (supported: llama)", arch);
  if (out_path.empty() || type_name.empty()) fail("synth: -o and --type are required\n{}", kUsage);

  Shape base;
  if (shape_name == "tinyllama-1.1b") base = {2048, 5632, 22, 32, 4, 2048};
  else if (shape_name == "llama-7b") base = {4096, 11008, 32, 32, 32, 4096};
  else if (shape_name.empty()) shape_name = "custom";
  // Flags override the named shape's fields.
  const int* src[6] = {&s.n_embd, &s.n_ff, &s.n_layer, &s.n_head, &s.n_head_kv, &s.n_ctx};
  int* dst[6] = {&base.n_embd, &base.n_ff, &base.n_layer, &base.n_head, &base.n_head_kv, &base.n_ctx};
  for (int k = 0; k < 6; ++k)
    if (custom[k]) *dst[k] = *src[k];
  s = base;
  if (s.n_head_kv == 0) s.n_head_kv = s.n_head;
  if (!s.n_embd || !s.n_ff || !s.n_layer || !s.n_head)
    fail("synth: unknown --shape '{}' and incomplete --n-embd/--n-ff/--n-layer/--n-head", shape_name);
  if (s.n_embd % s.n_head || s.n_head % s.n_head_kv || (s.n_embd / s.n_head) % 2)
    fail("synth: n_embd {} / n_head {} / n_head_kv {} do not form valid heads", s.n_embd, s.n_head, s.n_head_kv);

  // Matrix types per ftype.
  TensorType main_t, out_t;
  uint32_t file_type;
  bool q4km = false;
  std::string tn = type_name;
  std::transform(tn.begin(), tn.end(), tn.begin(), ::toupper);
  if (tn == "F16") main_t = out_t = TensorType::F16, file_type = 1;
  else if (tn == "BF16") main_t = out_t = TensorType::BF16, file_type = 32;
  else if (tn == "F32") main_t = out_t = TensorType::F32, file_type = 0;
  else if (tn == "Q8_0") main_t = out_t = TensorType::Q8_0, file_type = 7;
  else if (tn == "Q4_0") main_t = TensorType::Q4_0, out_t = TensorType::Q6_K, file_type = 2;
  else if (tn == "Q4_K_M") main_t = TensorType::Q4_K, out_t = TensorType::Q6_K, file_type = 15, q4km = true;
  else fail("synth: unsupported --type '{}' (F16, BF16, F32, Q8_0, Q4_0, Q4_K_M)", type_name);
  // A row that is not a whole number of blocks falls back to a finer type.
  auto fit = [](TensorType t, int cols) {
    if (cols % block_elems(t) == 0) return t;
    if (cols % 32 == 0) return TensorType::Q8_0;
    return TensorType::F16;
  };

  GGUFWriter w;
  int n_vocab = n_vocab_flag;
  std::unique_ptr<GGUFFile> vocab;
  if (!vocab_path.empty()) {
    vocab = GGUFFile::open(vocab_path);
    auto toks = vocab->get_string_array("tokenizer.ggml.tokens");
    if (!toks) fail("{}: no tokenizer.ggml.tokens", vocab_path);
    n_vocab = static_cast<int>(toks->size());
  }
  if (n_vocab <= 0) fail("synth: --vocab VOCAB.gguf (or --n-vocab N) is required");
  const int head_dim = s.n_embd / s.n_head, dkv = s.n_head_kv * head_dim;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "synthetic " + shape_name + " " + type_name);
  w.set_u32("general.file_type", file_type);
  w.set_u32("general.quantization_version", 2);
  w.set_u32("llama.vocab_size", static_cast<uint32_t>(n_vocab));
  w.set_u32("llama.context_length", s.n_ctx);
  w.set_u32("llama.embedding_length", s.n_embd);
  w.set_u32("llama.block_count", s.n_layer);
  w.set_u32("llama.feed_forward_length", s.n_ff);
  w.set_u32("llama.rope.dimension_count", head_dim);
  w.set_u32("llama.attention.head_count", s.n_head);
  w.set_u32("llama.attention.head_count_kv", s.n_head_kv);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  if (vocab)
    for (const auto& [key, v] : vocab->metadata())
      if (key.rfind("tokenizer.", 0) == 0) w.set(key, v);

  struct Spec {
    std::string name;
    TensorType type;
    int cols, rows;  // rows == 0: a norm vector
  };
  std::vector<Spec> specs;
  specs.push_back({"token_embd.weight", fit(q4km ? TensorType::Q4_K : main_t, s.n_embd), s.n_embd, n_vocab});
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const TensorType big = q4km && more_bits(l, s.n_layer) ? TensorType::Q6_K : main_t;
    specs.push_back({b + "attn_norm.weight", TensorType::F32, s.n_embd, 0});
    specs.push_back({b + "attn_q.weight", fit(main_t, s.n_embd), s.n_embd, s.n_embd});
    specs.push_back({b + "attn_k.weight", fit(main_t, s.n_embd), s.n_embd, dkv});
    specs.push_back({b + "attn_v.weight", fit(big, s.n_embd), s.n_embd, dkv});
    specs.push_back({b + "attn_output.weight", fit(main_t, s.n_embd), s.n_embd, s.n_embd});
    specs.push_back({b + "ffn_norm.weight", TensorType::F32, s.n_embd, 0});
    specs.push_back({b + "ffn_gate.weight", fit(main_t, s.n_embd), s.n_embd, s.n_ff});
    specs.push_back({b + "ffn_up.weight", fit(main_t, s.n_embd), s.n_embd, s.n_ff});
    specs.push_back({b + "ffn_down.weight", fit(big, s.n_ff), s.n_ff, s.n_embd});
  }
  specs.push_back({"output_norm.weight", TensorType::F32, s.n_embd, 0});
  specs.push_back({"output.weight", fit(out_t, s.n_embd), s.n_embd, n_vocab});
  for (const auto& sp : specs) {
    if (sp.rows == 0) w.add_tensor(sp.name, sp.type, {static_cast<uint64_t>(sp.cols)});
    else w.add_tensor(sp.name, sp.type, {static_cast<uint64_t>(sp.cols), static_cast<uint64_t>(sp.rows)});
  }

  const double t0 = now_ms();
  w.begin(out_path);
  const int n_threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<uint8_t> buf;
  uint64_t total = 0;
  for (size_t ti = 0; ti < specs.size(); ++ti) {
    const Spec& sp = specs[ti];
    const size_t n_bytes = w.tensor_bytes(ti);
    buf.resize(n_bytes);
    if (sp.rows == 0) {
      std::vector<float> ones(sp.cols, 1.0f);
      std::memcpy(buf.data(), ones.data(), n_bytes);
    } else {
      const size_t rb = n_bytes / sp.rows;
      auto work = [&](int th) {
        std::vector<float> row(sp.cols);
        for (int r = th; r < sp.rows; r += n_threads) {
          fill_row(seed, ti, r, row.data(), sp.cols, 0.02f);
          quantize_row(sp.type, row.data(), sp.cols, buf.data() + r * rb);
        }
      };
      std::vector<std::thread> th;
      for (int k = 1; k < n_threads; ++k) th.emplace_back(work, k);
      work(0);
      for (auto& t : th) t.join();
    }
    w.write_tensor_data(buf.data(), n_bytes);
    total += n_bytes;
  }
  w.finish();
  std::fprintf(stderr, "synth: wrote %s (%s, %d layers, n_embd %d, n_ff %d, vocab %d): %.2f GB of tensors in %.1f s\n",
               out_path.c_str(), type_name.c_str(), s.n_layer, s.n_embd, s.n_ff, n_vocab, total / 1e9,
               (now_ms() - t0) / 1000.0);
  return 0;
}

}  // namespace lookahead::cli
