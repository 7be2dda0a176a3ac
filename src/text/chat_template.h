// Chat-level API over the Jinja engine: turns a conversation into the prompt
// text a model expects, rendering the model's own chat template the way HF
// transformers' apply_chat_template does (trim_blocks + lstrip_blocks,
// raise_exception(), strftime_now(), HF's tojson).
//
// Contract: the constructor parses once and throws lookahead::Error on syntax
// errors; apply()/render() throw lookahead::Error when the template fails or
// calls raise_exception(msg) (the message then contains msg). A ChatTemplate
// is immutable after construction except for set_clock(), and rendering is
// thread-safe.
#pragma once

#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/jinja/template.h"

namespace lookahead {

struct ChatMessage {
  std::string role;
  std::string content;
  // Extra message fields (tool_calls, tool_call_id, name, ...) merged into the
  // message object; a key here overrides role/content (e.g. "content": null
  // for an assistant message that only carries tool calls).
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class ChatTemplate {
 public:
  // Parses once; throws Error on syntax errors.
  explicit ChatTemplate(std::string source);

  // Renders with the variables HF transformers passes: messages,
  // add_generation_prompt, bos_token, eos_token.
  std::string apply(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                    const std::string& bos_token, const std::string& eos_token) const;
  // Same, plus extra variables (e.g. {"tools": [...]}) from a JSON object.
  std::string apply(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                    const std::string& bos_token, const std::string& eos_token,
                    const nlohmann::ordered_json& extra_vars) const;

  // General form: context is a JSON object of variables. Prefer the
  // ordered_json overload when key order matters (tool schemas printed with
  // tojson keep the caller's order there; nlohmann::json sorts keys).
  std::string render(const nlohmann::json& context) const;
  std::string render(const nlohmann::ordered_json& context) const;

  // Replaces the clock behind strftime_now() (tests pin the date).
  void set_clock(std::function<std::tm()> now) { env_.now = std::move(now); }

  const std::string& source() const { return source_; }

  static nlohmann::ordered_json messages_to_json(const std::vector<ChatMessage>& messages);

 private:
  std::string source_;
  jinja::Template tmpl_;
  jinja::Environment env_;
};

}  // namespace lookahead
