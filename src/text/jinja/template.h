// Public entry point of the Jinja engine: parse once, render many times.
//
// Contract: construction throws lookahead::Error for syntax errors (unknown
// tags, filters or tests included); render() throws lookahead::Error for
// runtime failures, including raise_exception() called by the template.
// Messages read "<name>: <what> at line L, column C". A Template is immutable
// after construction, and render() is safe to call concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "text/jinja/ast.h"
#include "text/jinja/interpreter.h"

namespace lookahead::jinja {

struct TemplateOptions {
  // HF transformers renders chat templates with trim_blocks and lstrip_blocks.
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
  std::string name = "template";  // prefix of error messages
};

class Template {
 public:
  explicit Template(std::string_view source, TemplateOptions opts = {});

  // `context` must be a JSON object; its members become template variables.
  // ordered_json keeps the caller's key order, which tojson and items() show.
  std::string render(const nlohmann::ordered_json& context, const Environment& env = {}) const;
  std::string render(const nlohmann::json& context, const Environment& env = {}) const;
  std::string render_value(const Value& context, const Environment& env = {}) const;

 private:
  std::string name_;
  std::shared_ptr<const Body> body_;
};

}  // namespace lookahead::jinja
