// Tree-walking evaluator for parsed templates.
//
// Scoping follows jinja2: a for-loop iteration, macro call and block-set body
// each get a fresh child scope (so `set` inside them does not leak out, and a
// `set` in one iteration is not visible in the next), while `if` and
// `filter` bodies share the enclosing scope. namespace() objects are the
// only way to carry state out of a loop. One Interpreter renders one template
// once; it is not shared between threads.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/jinja/ast.h"
#include "text/jinja/value.h"

namespace lookahead::jinja {

struct Scope;
using ScopePtr = std::shared_ptr<Scope>;

struct Scope {
  std::unordered_map<std::string, Value> vars;
  ScopePtr parent;
};

// Render-time environment: clock and resource limits.
struct Environment {
  // Local time used by strftime_now(); defaults to the system clock.
  std::function<std::tm()> now;
  std::size_t max_output_bytes = std::size_t{64} << 20;
  int max_call_depth = 200;
  std::size_t max_loop_iterations = 10'000'000;
};

class Interpreter {
 public:
  explicit Interpreter(const Environment& env);

  // Renders `body` with the variables of `context` (a dict value).
  std::string render(const Body& body, const Value& context);

  const Environment& env() const { return env_; }

  Value eval(const Expr& e, const ScopePtr& scope);
  Value call(const Value& callee, CallArgs& args);
  Value getattr(const Value& obj, const std::string& name);
  Value getitem(const Value& obj, const Value& key);
  // Python iter() materialized: list items, dict keys, str characters;
  // Undefined iterates as empty; anything else throws.
  List iterate(const Value& v);
  bool contains(const Value& container, const Value& item);
  // Charges loop iterations against the environment's limit.
  void charge_iterations(std::size_t n);

 private:
  enum class Flow { Normal, Break, Continue };

  Flow exec(const Body& body, const ScopePtr& scope, std::string& out);
  Flow exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out);
  void exec_for(const Stmt& s, const ScopePtr& scope, std::string& out);
  void assign(const Target& t, const Value& v, const ScopePtr& scope, SourcePos pos);
  Value lookup(const std::string& name, const ScopePtr& scope);
  Value eval_binary(const Expr& e, const ScopePtr& scope);
  Value eval_compare(const Expr& e, const ScopePtr& scope);
  Value eval_slice(const Expr& e, const ScopePtr& scope);
  CallArgs eval_args(const Expr& e, const ScopePtr& scope);
  Value apply_filters(const std::vector<ExprPtr>& filters, Value input, const ScopePtr& scope);
  Value make_macro(const Stmt& s, const ScopePtr& scope);
  Value invoke_macro(const Stmt& s, const std::weak_ptr<Scope>& def_scope, CallArgs& args);
  void append(std::string& out, std::string_view text);

  Environment env_;
  std::unordered_map<std::string, Value> globals_;
  int call_depth_ = 0;
  std::size_t iterations_ = 0;
};

}  // namespace lookahead::jinja
