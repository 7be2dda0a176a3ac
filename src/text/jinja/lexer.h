// Tokenizer for the Jinja subset, faithful to jinja2 3.1's lexer.
//
// Whitespace handling follows jinja2 exactly: newlines are normalized to \n,
// one trailing newline is dropped (keep_trailing_newline=False), "-" on a tag
// strips all adjacent whitespace, trim_blocks removes one \n after a block or
// comment tag, and lstrip_blocks removes spaces/tabs between a line start and
// a block or comment tag ("+" opts out). Comments are dropped; {% raw %}
// bodies become plain data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/jinja/diagnostics.h"

namespace lookahead::jinja {

enum class TokenType : std::uint8_t {
  Data,
  VarBegin,
  VarEnd,
  BlockBegin,
  BlockEnd,
  Name,
  String,
  Integer,
  Float,
  Operator,
  Eof
};

struct Token {
  TokenType type = TokenType::Eof;
  std::string value;  // Data text, name, unescaped string, or operator spelling
  std::int64_t int_value = 0;
  double float_value = 0;
  SourcePos pos;
};

struct LexerOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws TemplateFailure (with position) on malformed input.
std::vector<Token> tokenize(std::string_view source, const LexerOptions& opts);

}  // namespace lookahead::jinja
