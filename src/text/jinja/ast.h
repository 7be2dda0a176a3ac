// Syntax tree of a parsed template.
//
// Expressions and statements are plain tagged structs owned through
// unique_ptr; the tree is immutable after parsing, so one parsed template can
// be rendered concurrently from several threads.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/diagnostics.h"
#include "text/jinja/value.h"

namespace lookahead::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind {
  Literal,   // literal
  Name,      // name
  List,      // items
  Tuple,     // items
  Dict,      // items as key, value, key, value...
  GetAttr,   // a . name
  GetItem,   // a [ b ]
  Slice,     // a [ items[0] : items[1] : items[2] ] (null = omitted)
  Call,      // a ( items, kwargs )
  Filter,    // a | name ( items, kwargs ); a is null inside filter blocks
  Test,      // a is name ( items, kwargs )
  Unary,     // name in {"-", "+", "not"} applied to a
  Binary,    // a name b for + - * / // % ** ~ and or
  Compare,   // a ops[k] items[k] ... (chained)
  CondExpr,  // a if b else c (c may be null)
};

struct Expr {
  ExprKind kind;
  SourcePos pos;
  Value literal;
  std::string name;
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;

  Expr(ExprKind k, SourcePos p) : kind(k), pos(p) {}
};

// Left-hand side of set / for.
struct Target {
  std::vector<std::string> names;  // one name, or several for tuple unpacking
  bool is_tuple = false;
  std::string attr;  // non-empty: "{% set names[0].attr = ... %}" on a namespace
};

enum class StmtKind {
  Text,         // text
  Output,       // expr
  If,           // conds[k] -> bodies[k]; else_body
  For,          // target in expr [if cond]: body; else_body
  Set,          // target = expr
  SetBlock,     // target = rendered body, through filters
  Macro,        // name(params = defaults): body
  CallBlock,    // expr (a Call) with caller(params) = body
  FilterBlock,  // body through filters
  Break,
  Continue,
  Scope,        // plain body in the current scope (e.g. {% generation %})
};

struct Stmt {
  StmtKind kind;
  SourcePos pos;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  Target target;
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // aligned with params; null = required
  std::vector<ExprPtr> filters;   // Filter exprs with a null input

  Stmt(StmtKind k, SourcePos p) : kind(k), pos(p) {}
};

}  // namespace lookahead::jinja
