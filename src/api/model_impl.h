// Internal side of lookahead::Model: what Sessions, the CLI and the server
// reach through Model::impl().
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "lookahead/lookahead.h"
#include "model/llama_model.h"
#include "text/tokenizer.h"

namespace lookahead {

class ChatTemplate;

struct Model::Impl {
  std::unique_ptr<LlamaModel> llama;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string chat_template_source;  // empty when none
  std::shared_ptr<const ChatTemplate> chat_template;
  ModelInfo info;
};

}  // namespace lookahead
