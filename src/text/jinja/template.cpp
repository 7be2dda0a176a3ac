#include "text/jinja/template.h"

#include <fmt/format.h>

#include "text/jinja/lexer.h"
#include "text/jinja/parser.h"

namespace lookahead::jinja {
namespace {

[[noreturn]] void rethrow(const std::string& name, const TemplateFailure& f) {
  if (f.has_pos())
    throw Error(fmt::format("{}: {} at line {}, column {}", name, f.message(), f.pos().line, f.pos().column));
  throw Error(fmt::format("{}: {}", name, f.message()));
}

}  // namespace

Template::Template(std::string_view source, TemplateOptions opts) : name_(std::move(opts.name)) {
  LexerOptions lo;
  lo.trim_blocks = opts.trim_blocks;
  lo.lstrip_blocks = opts.lstrip_blocks;
  lo.keep_trailing_newline = opts.keep_trailing_newline;
  try {
    body_ = std::make_shared<const Body>(parse(tokenize(source, lo)));
  } catch (const TemplateFailure& f) {
    rethrow(name_, f);
  }
}

std::string Template::render_value(const Value& context, const Environment& env) const {
  if (!context.is_dict()) throw Error(name_ + ": render context must be a JSON object");
  try {
    Interpreter in(env);
    return in.render(*body_, context);
  } catch (const TemplateFailure& f) {
    rethrow(name_, f);
  }
}

std::string Template::render(const nlohmann::ordered_json& context, const Environment& env) const {
  return render_value(from_json(context), env);
}

std::string Template::render(const nlohmann::json& context, const Environment& env) const {
  return render_value(from_json(context), env);
}

}  // namespace lookahead::jinja
