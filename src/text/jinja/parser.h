// Recursive-descent parser for the Jinja subset, following jinja2's grammar
// and operator precedence (lowest first): conditional expression, or, and,
// not, comparisons/in, + -, ~, * / // %, **, unary - +, then postfix
// (attribute, subscript, call), filters and tests.
#pragma once

#include <vector>

#include "text/jinja/ast.h"
#include "text/jinja/lexer.h"

namespace lookahead::jinja {

// Throws TemplateFailure (with the offending token's position) on syntax
// errors, unknown tags, and unknown filters or tests.
Body parse(std::vector<Token> tokens);

}  // namespace lookahead::jinja
