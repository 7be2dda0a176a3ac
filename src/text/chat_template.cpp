#include "text/chat_template.h"

namespace lookahead {
namespace {

jinja::TemplateOptions chat_options() {
  jinja::TemplateOptions o;
  o.trim_blocks = true;
  o.lstrip_blocks = true;
  o.keep_trailing_newline = false;
  o.name = "chat template";
  return o;
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source) : source_(std::move(source)), tmpl_(source_, chat_options()) {}

nlohmann::ordered_json ChatTemplate::messages_to_json(const std::vector<ChatMessage>& messages) {
  auto arr = nlohmann::ordered_json::array();
  for (const auto& m : messages) {
    nlohmann::ordered_json obj = {{"role", m.role}, {"content", m.content}};
    if (m.extra.is_object())
      for (auto it = m.extra.begin(); it != m.extra.end(); ++it) obj[it.key()] = it.value();
    arr.push_back(std::move(obj));
  }
  return arr;
}

std::string ChatTemplate::apply(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                const std::string& bos_token, const std::string& eos_token) const {
  return apply(messages, add_generation_prompt, bos_token, eos_token, nlohmann::ordered_json::object());
}

std::string ChatTemplate::apply(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                const std::string& bos_token, const std::string& eos_token,
                                const nlohmann::ordered_json& extra_vars) const {
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = messages_to_json(messages);
  ctx["add_generation_prompt"] = add_generation_prompt;
  ctx["bos_token"] = bos_token;
  ctx["eos_token"] = eos_token;
  if (extra_vars.is_object())
    for (auto it = extra_vars.begin(); it != extra_vars.end(); ++it) ctx[it.key()] = it.value();
  return tmpl_.render(ctx, env_);
}

std::string ChatTemplate::render(const nlohmann::json& context) const { return tmpl_.render(context, env_); }

std::string ChatTemplate::render(const nlohmann::ordered_json& context) const { return tmpl_.render(context, env_); }

}  // namespace lookahead
