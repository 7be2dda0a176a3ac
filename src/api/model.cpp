#include <fstream>
#include <sstream>

#include "api/model_impl.h"
#include "text/chat_template.h"
#include "util/error.h"

namespace lookahead {

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::~Model() = default;

std::shared_ptr<const Model> Model::load(const ModelOptions& opts) {
  std::shared_ptr<Model> m(new Model());
  Impl& im = *m->impl_;
  im.llama = LlamaModel::load(opts.path, {.repack = opts.repack});
  const GGUFFile& f = im.llama->gguf();
  im.tokenizer = Tokenizer::from_gguf(f);
  if (im.tokenizer->n_vocab() != im.llama->hparams().n_vocab)
    fail("{}: tokenizer has {} tokens but token_embd.weight has {} rows", opts.path, im.tokenizer->n_vocab(),
         im.llama->hparams().n_vocab);
  im.chat_template_source = opts.chat_template.empty() ? f.get_string("tokenizer.chat_template").value_or("")
                                                       : opts.chat_template;
  if (!im.chat_template_source.empty()) im.chat_template = std::make_shared<ChatTemplate>(im.chat_template_source);

  const LlamaHParams& hp = im.llama->hparams();
  ModelInfo& info = im.info;
  info.architecture = f.get_string("general.architecture").value_or("");
  info.name = f.get_string("general.name").value_or("");
  info.n_vocab = hp.n_vocab;
  info.n_embd = hp.n_embd;
  info.n_layer = hp.n_layer;
  info.n_head = hp.n_head;
  info.n_head_kv = hp.n_head_kv;
  info.n_ff = hp.n_ff;
  info.n_ctx_train = hp.n_ctx_train;
  info.rope_freq_base = hp.rope_freq_base;
  info.rope_scale = hp.rope_scale;
  info.rms_eps = hp.rms_eps;
  info.tied_output = im.llama->tied_output();
  for (const auto& t : f.tensors()) info.weight_bytes += t.n_bytes;
  info.tokenizer_model = f.get_string("tokenizer.ggml.model").value_or("");
  info.bos = im.tokenizer->bos();
  info.eos = im.tokenizer->eos();
  info.eot = im.tokenizer->eot();
  info.has_chat_template = !im.chat_template_source.empty();
  return m;
}

const ModelInfo& Model::info() const { return impl_->info; }

std::vector<int32_t> Model::tokenize(std::string_view text, bool add_special, bool parse_special) const {
  return impl_->tokenizer->encode(text, add_special, parse_special);
}

std::string Model::detokenize(std::span<const int32_t> ids) const {
  return impl_->tokenizer->decode(std::vector<TokenId>(ids.begin(), ids.end()));
}

std::string Model::token_piece(int32_t id) const { return impl_->tokenizer->token_to_piece(id, true); }

bool Model::is_end_of_generation(int32_t id) const { return impl_->tokenizer->is_eog(id); }

std::string Model::apply_chat_template(const std::vector<Message>& messages, bool add_generation_prompt) const {
  if (!impl_->chat_template) fail("the model has no chat template (tokenizer.chat_template); pass one with --chat-template-file");
  const Tokenizer& tok = *impl_->tokenizer;
  auto piece = [&](TokenId id) { return id >= 0 ? tok.token_to_piece(id, true) : std::string(); };
  std::vector<ChatMessage> msgs;
  for (const auto& m : messages) msgs.push_back({m.role, m.content, nlohmann::ordered_json::object()});
  return impl_->chat_template->apply(msgs, add_generation_prompt, piece(tok.bos()), piece(tok.eos()));
}

}  // namespace lookahead
