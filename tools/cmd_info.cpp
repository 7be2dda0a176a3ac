// `lookahead info`: what a GGUF file holds and whether we can run it.
#include <cstdio>
#include <map>
#include <string>

#include "cli_args.h"
#include "commands.h"
#include "gguf/gguf_file.h"
#include "lookahead/lookahead.h"
#include "util/error.h"

namespace lookahead::cli {
namespace {

std::string human_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, units[u]);
}

}  // namespace

int cmd_info(int argc, char** argv, int first) {
  std::string path;
  bool all_keys = false;
  ArgParser ap("info", "Show a GGUF model's architecture, hyperparameters, tensors and vocabulary.");
  ap.add_string({"-m", "--model"}, &path, "GGUF file", "FILE");
  ap.add_flag({"--all"}, &all_keys, "also list every metadata key");
  if (!ap.parse(argc, argv, first)) return 0;
  if (path.empty()) fail("info: -m MODEL is required");

  auto f = GGUFFile::open(path);
  std::printf("file:          %s\n", path.c_str());
  std::printf("gguf version:  %u, alignment %llu, %s\n", f->version(), static_cast<unsigned long long>(f->alignment()),
              human_bytes(f->file_size()).c_str());
  const std::string arch = f->get_string("general.architecture").value_or("(none)");
  std::printf("architecture:  %s\n", arch.c_str());
  if (auto name = f->get_string("general.name")) std::printf("name:          %s\n", name->c_str());

  std::map<std::string, std::pair<int, uint64_t>> by_type;
  uint64_t total = 0;
  for (const auto& t : f->tensors()) {
    auto& e = by_type[std::string(tensor_type_name(t.type))];
    ++e.first;
    e.second += t.n_bytes;
    total += t.n_bytes;
  }
  std::printf("tensors:       %zu, %s\n", f->tensors().size(), human_bytes(total).c_str());
  for (const auto& [type, e] : by_type)
    std::printf("  %-8s %4d tensors, %s\n", type.c_str(), e.first, human_bytes(e.second).c_str());

  if (!f->tensors().empty()) {
    ModelOptions mo;
    mo.path = path;
    try {
      auto model = Model::load(mo);
      const ModelInfo& i = model->info();
      std::printf("hyperparameters:\n");
      std::printf("  n_vocab %d, n_embd %d, n_layer %d, n_head %d, n_head_kv %d, head_dim %d, n_ff %d\n", i.n_vocab,
                  i.n_embd, i.n_layer, i.n_head, i.n_head_kv, i.n_embd / i.n_head, i.n_ff);
      std::printf("  context %d, rope freq_base %g, rope linear scale %g, rms_eps %g, output %s\n", i.n_ctx_train,
                  i.rope_freq_base, i.rope_scale, i.rms_eps, i.tied_output ? "tied to token_embd" : "separate");
      std::printf("runnable:      yes\n");
    } catch (const Error& e) {
      std::printf("runnable:      no: %s\n", e.what());
    }
  }

  const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
  std::printf("vocab:         %s, %zu tokens", f->get_string("tokenizer.ggml.model").value_or("(none)").c_str(),
              tokens ? tokens->size() : 0);
  if (auto pre = f->get_string("tokenizer.ggml.pre")) std::printf(", pre-tokenizer %s", pre->c_str());
  std::printf("\n");
  auto show_special = [&](const char* label, const char* key) {
    auto id = f->get_int(key);
    if (!id || *id < 0 || (tokens && *id >= static_cast<int64_t>(tokens->size()))) return;
    std::printf("  %-6s %lld '%s'\n", label, static_cast<long long>(*id),
                tokens ? (*tokens)[static_cast<size_t>(*id)].c_str() : "");
  };
  show_special("bos", "tokenizer.ggml.bos_token_id");
  show_special("eos", "tokenizer.ggml.eos_token_id");
  show_special("eot", "tokenizer.ggml.eot_token_id");
  show_special("unk", "tokenizer.ggml.unknown_token_id");
  show_special("pad", "tokenizer.ggml.padding_token_id");
  const auto tmpl = f->get_string("tokenizer.chat_template");
  std::printf("chat template: %s\n", tmpl ? fmt::format("yes ({} bytes)", tmpl->size()).c_str() : "no");

  if (all_keys) {
    std::printf("metadata:\n");
    for (const auto& [k, v] : f->metadata()) std::printf("  %s = %s\n", k.c_str(), v.to_string().c_str());
  }
  return 0;
}

}  // namespace lookahead::cli
