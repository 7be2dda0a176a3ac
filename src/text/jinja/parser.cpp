#include "text/jinja/parser.h"

#include <algorithm>

#include "text/jinja/builtins.h"

namespace lookahead::jinja {
namespace {

constexpr int kMaxNesting = 200;

std::string describe(const Token& t) {
  switch (t.type) {
    case TokenType::Data: return "template data";
    case TokenType::VarBegin: return "'{{'";
    case TokenType::VarEnd: return "end of print statement";
    case TokenType::BlockBegin: return "'{%'";
    case TokenType::BlockEnd: return "end of statement block";
    case TokenType::Name: return "'" + t.value + "'";
    case TokenType::String: return "string literal";
    case TokenType::Integer:
    case TokenType::Float: return "number '" + t.value + "'";
    case TokenType::Operator: return "'" + t.value + "'";
    case TokenType::Eof: return "end of template";
  }
  return "token";
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Body run() {
    std::string found;
    Body body = subparse({}, &found);
    return body;
  }

 private:
  const Token& cur() const { return toks_[i_]; }
  const Token& peek(std::size_t n = 1) const { return toks_[std::min(i_ + n, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  bool is_op(const char* op) const { return cur().type == TokenType::Operator && cur().value == op; }
  bool is_name(const char* n) const { return cur().type == TokenType::Name && cur().value == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail(const Token& t, std::string msg) const { raise_at(t.pos, std::move(msg)); }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(cur(), std::string("expected '") + op + "', got " + describe(cur()));
    next();
  }
  const Token& expect_name() {
    if (cur().type != TokenType::Name) fail(cur(), "expected a name, got " + describe(cur()));
    return next();
  }
  void expect_block_end() {
    if (cur().type != TokenType::BlockEnd) fail(cur(), "expected end of statement block, got " + describe(cur()));
    next();
  }

  struct DepthGuard {
    Parser* p;
    DepthGuard(Parser* parser, const Token& t) : p(parser) {
      if (++p->depth_ > kMaxNesting) p->fail(t, "expression nested too deeply");
    }
    ~DepthGuard() { --p->depth_; }
  };

  // Parses statements until a block tag named in `ends`; on return the tag
  // name has been consumed and stored in *found.
  Body subparse(const std::vector<std::string>& ends, std::string* found) {
    Body body;
    while (true) {
      const Token& t = cur();
      switch (t.type) {
        case TokenType::Eof:
          if (!ends.empty()) fail(t, "unexpected end of template, expected '" + ends.back() + "'");
          return body;
        case TokenType::Data: {
          auto s = std::make_unique<Stmt>(StmtKind::Text, t.pos);
          s->text = t.value;
          body.push_back(std::move(s));
          next();
          break;
        }
        case TokenType::VarBegin: {
          next();
          auto s = std::make_unique<Stmt>(StmtKind::Output, t.pos);
          s->expr = parse_tuple(true, {}, false);
          if (cur().type != TokenType::VarEnd) fail(cur(), "expected end of print statement, got " + describe(cur()));
          next();
          body.push_back(std::move(s));
          break;
        }
        case TokenType::BlockBegin: {
          next();
          const Token& name = cur();
          if (name.type != TokenType::Name) fail(name, "tag name expected");
          if (std::find(ends.begin(), ends.end(), name.value) != ends.end()) {
            *found = name.value;
            next();
            return body;
          }
          body.push_back(parse_statement());
          break;
        }
        default: fail(t, "unexpected " + describe(t));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& t = next();
    const std::string& n = t.value;
    if (n == "if") return parse_if(t);
    if (n == "for") return parse_for(t);
    if (n == "set") return parse_set(t);
    if (n == "macro") return parse_macro(t);
    if (n == "call") return parse_call_block(t);
    if (n == "filter") return parse_filter_block(t);
    if (n == "break" || n == "continue") {
      if (loop_depth_ == 0) fail(t, "'" + n + "' outside of a loop");
      auto s = std::make_unique<Stmt>(n == "break" ? StmtKind::Break : StmtKind::Continue, t.pos);
      expect_block_end();
      return s;
    }
    if (n == "generation") {
      // HF's AssistantTracker tag: renders its body unchanged.
      auto s = std::make_unique<Stmt>(StmtKind::Scope, t.pos);
      expect_block_end();
      std::string found;
      s->body = subparse({"endgeneration"}, &found);
      expect_block_end();
      return s;
    }
    static const char* const kEnds[] = {"endif", "endfor", "endset", "endmacro", "endcall", "endfilter",
                                        "else",  "elif",   "endgeneration", "endraw"};
    for (const char* e : kEnds)
      if (n == e) fail(t, "unexpected tag '" + n + "'");
    fail(t, "unknown tag '" + n + "'");
  }

  StmtPtr parse_if(const Token& t) {
    auto s = std::make_unique<Stmt>(StmtKind::If, t.pos);
    while (true) {
      s->conds.push_back(parse_tuple(false, {}, false));
      expect_block_end();
      std::string found;
      s->bodies.push_back(subparse({"elif", "else", "endif"}, &found));
      if (found == "elif") continue;
      if (found == "else") {
        expect_block_end();
        s->else_body = subparse({"endif"}, &found);
      }
      expect_block_end();
      return s;
    }
  }

  Target parse_target(bool with_namespace) {
    Target tg;
    bool paren = skip_op("(");
    const Token& first = expect_name();
    if (with_namespace && !paren && is_op(".")) {
      next();
      tg.names.push_back(first.value);
      tg.attr = expect_name().value;
      return tg;
    }
    tg.names.push_back(first.value);
    while (is_op(",")) {
      next();
      tg.is_tuple = true;
      if (cur().type != TokenType::Name) break;
      tg.names.push_back(expect_name().value);
    }
    if (paren) {
      expect_op(")");
      tg.is_tuple = tg.is_tuple || tg.names.size() > 1;
    }
    return tg;
  }

  StmtPtr parse_for(const Token& t) {
    auto s = std::make_unique<Stmt>(StmtKind::For, t.pos);
    s->target = parse_target(false);
    if (!skip_name("in")) fail(cur(), "expected 'in', got " + describe(cur()));
    s->expr = parse_tuple(false, {"recursive"}, false);
    if (skip_name("if")) s->cond = parse_expression(true);
    if (is_name("recursive")) fail(cur(), "recursive loops are not supported");
    expect_block_end();
    std::string found;
    ++loop_depth_;
    s->body = subparse({"endfor", "else"}, &found);
    --loop_depth_;
    if (found == "else") {
      expect_block_end();
      s->else_body = subparse({"endfor"}, &found);
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(const Token& t) {
    Target tg = parse_target(true);
    if (skip_op("=")) {
      auto s = std::make_unique<Stmt>(StmtKind::Set, t.pos);
      s->target = std::move(tg);
      s->expr = parse_tuple(true, {}, false);
      expect_block_end();
      return s;
    }
    auto s = std::make_unique<Stmt>(StmtKind::SetBlock, t.pos);
    if (!tg.attr.empty() || tg.is_tuple) fail(cur(), "block set needs a single name");
    s->target = std::move(tg);
    while (is_op("|")) {
      next();
      s->filters.push_back(parse_filter(nullptr));
    }
    expect_block_end();
    std::string found;
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endset"}, &found);
    loop_depth_ = saved;
    expect_block_end();
    return s;
  }

  void parse_signature(Stmt& s) {
    expect_op("(");
    while (!is_op(")")) {
      if (!s.params.empty()) expect_op(",");
      if (is_op(")")) break;
      const Token& p = expect_name();
      s.params.push_back(p.value);
      if (skip_op("=")) {
        s.defaults.push_back(parse_expression(true));
      } else {
        if (std::any_of(s.defaults.begin(), s.defaults.end(), [](const ExprPtr& e) { return e != nullptr; }))
          fail(p, "non-default argument follows default argument");
        s.defaults.push_back(nullptr);
      }
    }
    expect_op(")");
  }

  StmtPtr parse_macro(const Token& t) {
    auto s = std::make_unique<Stmt>(StmtKind::Macro, t.pos);
    s->name = expect_name().value;
    parse_signature(*s);
    expect_block_end();
    std::string found;
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endmacro"}, &found);
    loop_depth_ = saved;
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block(const Token& t) {
    auto s = std::make_unique<Stmt>(StmtKind::CallBlock, t.pos);
    if (is_op("(")) parse_signature(*s);
    s->expr = parse_expression(true);
    if (s->expr->kind != ExprKind::Call) fail(t, "expected a call in 'call' block");
    expect_block_end();
    std::string found;
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endcall"}, &found);
    loop_depth_ = saved;
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(const Token& t) {
    auto s = std::make_unique<Stmt>(StmtKind::FilterBlock, t.pos);
    s->filters.push_back(parse_filter(nullptr));
    while (is_op("|")) {
      next();
      s->filters.push_back(parse_filter(nullptr));
    }
    expect_block_end();
    std::string found;
    s->body = subparse({"endfilter"}, &found);
    expect_block_end();
    return s;
  }

  // ---- expressions ----

  bool is_tuple_end(const std::vector<std::string>& extra) const {
    const Token& t = cur();
    if (t.type == TokenType::VarEnd || t.type == TokenType::BlockEnd || t.type == TokenType::Eof) return true;
    if (t.type == TokenType::Operator && t.value == ")") return true;
    if (t.type == TokenType::Name && std::find(extra.begin(), extra.end(), t.value) != extra.end()) return true;
    return false;
  }

  ExprPtr parse_tuple(bool with_condexpr, const std::vector<std::string>& extra_end, bool explicit_parens) {
    const Token& start = cur();
    std::vector<ExprPtr> args;
    bool is_tuple = false;
    while (true) {
      if (!args.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      args.push_back(parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!args.empty()) return std::move(args[0]);
      if (!explicit_parens) fail(cur(), "expected an expression, got " + describe(cur()));
    }
    auto e = std::make_unique<Expr>(ExprKind::Tuple, start.pos);
    e->items = std::move(args);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard g(this, cur());
    if (!with_condexpr) return parse_or();
    ExprPtr e1 = parse_or();
    while (is_name("if")) {
      const Token& t = next();
      auto ce = std::make_unique<Expr>(ExprKind::CondExpr, t.pos);
      ce->b = parse_or();
      if (skip_name("else")) ce->c = parse_expression(true);
      ce->a = std::move(e1);
      e1 = std::move(ce);
    }
    return e1;
  }

  ExprPtr binary(const Token& t, const std::string& op, ExprPtr l, ExprPtr r) {
    auto e = std::make_unique<Expr>(ExprKind::Binary, t.pos);
    e->name = op;
    e->a = std::move(l);
    e->b = std::move(r);
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr l = parse_and();
    while (is_name("or")) {
      const Token& t = next();
      l = binary(t, "or", std::move(l), parse_and());
    }
    return l;
  }

  ExprPtr parse_and() {
    ExprPtr l = parse_not();
    while (is_name("and")) {
      const Token& t = next();
      l = binary(t, "and", std::move(l), parse_not());
    }
    return l;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      const Token& t = next();
      DepthGuard g(this, t);
      auto e = std::make_unique<Expr>(ExprKind::Unary, t.pos);
      e->name = "not";
      e->a = parse_not();
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token& start = cur();
    ExprPtr expr = parse_math1();
    std::unique_ptr<Expr> cmp;
    while (true) {
      std::string op;
      const Token& t = cur();
      if (t.type == TokenType::Operator &&
          (t.value == "==" || t.value == "!=" || t.value == "<" || t.value == "<=" || t.value == ">" ||
           t.value == ">=")) {
        op = t.value;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && peek().type == TokenType::Name && peek().value == "in") {
        op = "not in";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = std::make_unique<Expr>(ExprKind::Compare, start.pos);
        cmp->a = std::move(expr);
      }
      cmp->ops.push_back(op);
      cmp->items.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(expr);
  }

  ExprPtr parse_math1() {
    ExprPtr l = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = next();
      l = binary(t, t.value, std::move(l), parse_concat());
    }
    return l;
  }

  ExprPtr parse_concat() {
    ExprPtr l = parse_math2();
    while (is_op("~")) {
      const Token& t = next();
      l = binary(t, "~", std::move(l), parse_math2());
    }
    return l;
  }

  ExprPtr parse_math2() {
    ExprPtr l = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = next();
      l = binary(t, t.value, std::move(l), parse_pow());
    }
    return l;
  }

  ExprPtr parse_pow() {
    ExprPtr l = parse_unary(true);
    while (is_op("**")) {
      const Token& t = next();
      l = binary(t, "**", std::move(l), parse_unary(true));
    }
    return l;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard g(this, cur());
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      node = std::make_unique<Expr>(ExprKind::Unary, t.pos);
      node->name = t.value;
      node->a = parse_unary(false);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    switch (t.type) {
      case TokenType::Name: {
        next();
        auto e = std::make_unique<Expr>(ExprKind::Literal, t.pos);
        if (t.value == "true" || t.value == "True") e->literal = Value::boolean(true);
        else if (t.value == "false" || t.value == "False") e->literal = Value::boolean(false);
        else if (t.value == "none" || t.value == "None") e->literal = Value::none();
        else {
          e->kind = ExprKind::Name;
          e->name = t.value;
        }
        return e;
      }
      case TokenType::String: {
        auto e = std::make_unique<Expr>(ExprKind::Literal, t.pos);
        std::string s;
        while (cur().type == TokenType::String) s += next().value;
        e->literal = Value::string(std::move(s));
        return e;
      }
      case TokenType::Integer: {
        next();
        auto e = std::make_unique<Expr>(ExprKind::Literal, t.pos);
        e->literal = Value::integer(t.int_value);
        return e;
      }
      case TokenType::Float: {
        next();
        auto e = std::make_unique<Expr>(ExprKind::Literal, t.pos);
        e->literal = Value::number(t.float_value);
        return e;
      }
      case TokenType::Operator:
        if (t.value == "(") {
          next();
          ExprPtr e = parse_tuple(true, {}, true);
          expect_op(")");
          return e;
        }
        if (t.value == "[") {
          next();
          auto e = std::make_unique<Expr>(ExprKind::List, t.pos);
          while (!is_op("]")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("]")) break;
            e->items.push_back(parse_expression(true));
          }
          expect_op("]");
          return e;
        }
        if (t.value == "{") {
          next();
          auto e = std::make_unique<Expr>(ExprKind::Dict, t.pos);
          while (!is_op("}")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("}")) break;
            e->items.push_back(parse_expression(true));
            expect_op(":");
            e->items.push_back(parse_expression(true));
          }
          expect_op("}");
          return e;
        }
        break;
      default: break;
    }
    fail(t, "unexpected " + describe(t));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        const Token& dot = next();
        const Token& a = cur();
        if (a.type == TokenType::Name) {
          next();
          auto e = std::make_unique<Expr>(ExprKind::GetAttr, dot.pos);
          e->a = std::move(node);
          e->name = a.value;
          node = std::move(e);
        } else if (a.type == TokenType::Integer) {
          next();
          auto e = std::make_unique<Expr>(ExprKind::GetItem, dot.pos);
          e->a = std::move(node);
          e->b = std::make_unique<Expr>(ExprKind::Literal, a.pos);
          e->b->literal = Value::integer(a.int_value);
          node = std::move(e);
        } else {
          fail(a, "expected name or number after '.'");
        }
      } else if (is_op("[")) {
        const Token& lb = next();
        std::vector<ExprPtr> args;
        while (!is_op("]")) {
          if (!args.empty()) expect_op(",");
          args.push_back(parse_subscribed());
        }
        expect_op("]");
        if (args.empty()) fail(lb, "expected subscript expression");
        if (args.size() == 1 && args[0]->kind == ExprKind::Slice) {
          args[0]->a = std::move(node);
          node = std::move(args[0]);
          continue;
        }
        auto e = std::make_unique<Expr>(ExprKind::GetItem, lb.pos);
        e->a = std::move(node);
        if (args.size() == 1) {
          e->b = std::move(args[0]);
        } else {
          e->b = std::make_unique<Expr>(ExprKind::Tuple, lb.pos);
          e->b->items = std::move(args);
        }
        node = std::move(e);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  // Returns a plain expression, or a Slice node whose `a` the caller fills.
  ExprPtr parse_subscribed() {
    const Token& start = cur();
    ExprPtr first;
    if (!is_op(":")) {
      first = parse_expression(true);
      if (!is_op(":")) return first;
    }
    next();  // ':'
    auto s = std::make_unique<Expr>(ExprKind::Slice, start.pos);
    s->items.resize(3);
    s->items[0] = std::move(first);
    if (!is_op("]") && !is_op(",") && !is_op(":")) s->items[1] = parse_expression(true);
    if (skip_op(":")) {
      if (!is_op("]") && !is_op(",")) s->items[2] = parse_expression(true);
    }
    return s;
  }

  void parse_call_args(Expr& e) {
    const Token& lp = cur();
    expect_op("(");
    bool need_comma = false;
    while (!is_op(")")) {
      if (need_comma) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (is_op("*") || is_op("**")) fail(cur(), "*args and **kwargs in calls are not supported");
      if (cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().value == "=") {
        std::string key = next().value;
        next();
        e.kwargs.emplace_back(key, parse_expression(true));
      } else {
        if (!e.kwargs.empty()) fail(lp, "positional argument follows keyword argument");
        e.items.push_back(parse_expression(true));
      }
      need_comma = true;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = std::make_unique<Expr>(ExprKind::Call, cur().pos);
    e->a = std::move(callee);
    parse_call_args(*e);
    return e;
  }

  ExprPtr parse_filter(ExprPtr input) {
    const Token& nt = expect_name();
    std::string name = nt.value;
    while (is_op(".")) {
      next();
      name += "." + expect_name().value;
    }
    if (!has_filter(name)) fail(nt, "unknown filter '" + name + "'");
    auto e = std::make_unique<Expr>(ExprKind::Filter, nt.pos);
    e->a = std::move(input);
    e->name = name;
    if (is_op("(")) parse_call_args(*e);
    return e;
  }

  ExprPtr parse_test(ExprPtr input) {
    const Token& is = next();
    bool negated = skip_name("not");
    const Token& nt = expect_name();
    std::string name = nt.value;
    while (is_op(".")) {
      next();
      name += "." + expect_name().value;
    }
    if (!has_test(name)) fail(nt, "unknown test '" + name + "'");
    auto e = std::make_unique<Expr>(ExprKind::Test, nt.pos);
    e->a = std::move(input);
    e->name = name;
    const Token& t = cur();
    if (is_op("(")) {
      parse_call_args(*e);
    } else if ((t.type == TokenType::Name || t.type == TokenType::String || t.type == TokenType::Integer ||
                t.type == TokenType::Float || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail(t, "cannot chain multiple tests with 'is'");
      e->items.push_back(parse_postfix(parse_primary()));
    }
    if (!negated) return e;
    auto n = std::make_unique<Expr>(ExprKind::Unary, is.pos);
    n->name = "not";
    n->a = std::move(e);
    return n;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        next();
        node = parse_filter(std::move(node));
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  std::vector<Token> toks_;
  std::size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse(std::vector<Token> tokens) { return Parser(std::move(tokens)).run(); }

}  // namespace lookahead::jinja
