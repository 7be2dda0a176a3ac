#include "text/jinja/interpreter.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "text/jinja/builtins.h"
#include "text/jinja/diagnostics.h"
#include "text/jinja/pystr.h"

namespace lookahead::jinja {
namespace {

constexpr std::int64_t kMaxRepeat = std::int64_t{1} << 26;

ScopePtr child_of(const ScopePtr& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

// Python's slice.indices() for a sequence of length n.
void slice_indices(std::int64_t n, const Value* start, const Value* stop, const Value* step, std::int64_t* b,
                   std::int64_t* e, std::int64_t* st) {
  auto as_index = [](const Value* v) -> std::optional<std::int64_t> {
    if (!v || v->is_none()) return std::nullopt;
    if (!v->is_integral()) raise_failure("slice indices must be integers or None");
    return v->as_int();
  };
  std::int64_t s = as_index(step).value_or(1);
  if (s == 0) raise_failure("slice step cannot be zero");
  auto clamp = [&](std::optional<std::int64_t> x, std::int64_t def) {
    if (!x) return def;
    std::int64_t v = *x;
    if (v < 0) {
      v += n;
      if (v < 0) v = s < 0 ? -1 : 0;
    } else if (v >= n) {
      v = s < 0 ? n - 1 : n;
    }
    return v;
  };
  *b = clamp(as_index(start), s < 0 ? n - 1 : 0);
  *e = clamp(as_index(stop), s < 0 ? -1 : n);
  *st = s;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
  std::int64_t m = a % b;
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

[[noreturn]] void bad_operands(const char* op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  raise_failure(std::string("unsupported operand type(s) for ") + op + ": '" + type_name(a) + "' and '" +
                type_name(b) + "'");
}

Value repeat(const Value& seq, std::int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    if (static_cast<std::int64_t>(seq.s.size()) * n > kMaxRepeat) raise_failure("string repetition too large");
    std::string out;
    for (std::int64_t k = 0; k < n; ++k) out += seq.s;
    return Value::string(std::move(out), seq.safe);
  }
  if (static_cast<std::int64_t>(seq.list->size()) * n > kMaxRepeat) raise_failure("list repetition too large");
  List out;
  for (std::int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
  return Value::make_list(std::move(out), seq.tuple);
}

}  // namespace

Interpreter::Interpreter(const Environment& env) : env_(env) {
  globals_["range"] = Value::make_callable("range", [this](CallArgs& a) {
    if (!a.kw.empty() || a.pos.empty() || a.pos.size() > 3) raise_failure("range() takes 1 to 3 integer arguments");
    for (const auto& v : a.pos)
      if (!v.is_integral()) raise_failure("range() arguments must be integers, not '" + type_name(v) + "'");
    std::int64_t start = 0, stop, step = 1;
    if (a.pos.size() == 1) {
      stop = a.pos[0].as_int();
    } else {
      start = a.pos[0].as_int();
      stop = a.pos[1].as_int();
      if (a.pos.size() == 3) step = a.pos[2].as_int();
    }
    if (step == 0) raise_failure("range() arg 3 must not be zero");
    List out;
    for (std::int64_t v = start; step > 0 ? v < stop : v > stop; v += step) {
      if (static_cast<std::int64_t>(out.size()) >= kMaxRepeat) raise_failure("range() too large");
      out.push_back(Value::integer(v));
    }
    charge_iterations(out.size());
    return Value::make_list(std::move(out));
  });
  globals_["namespace"] = Value::make_callable("namespace", [](CallArgs& a) {
    Value v;
    v.kind = Kind::Namespace;
    v.ns = std::make_shared<Namespace>();
    for (const auto& p : a.pos) {
      if (!p.is_dict()) raise_failure("namespace() positional arguments must be mappings");
      for (const auto& [k, val] : p.dict->entries()) v.ns->attrs.set(k, val);
    }
    for (const auto& [k, val] : a.kw) v.ns->attrs.set(Value::string(k), val);
    return v;
  });
  globals_["dict"] = Value::make_callable("dict", [](CallArgs& a) {
    Dict d;
    for (const auto& p : a.pos) {
      if (!p.is_dict()) raise_failure("dict() positional arguments must be mappings");
      for (const auto& [k, val] : p.dict->entries()) d.set(k, val);
    }
    for (const auto& [k, val] : a.kw) d.set(Value::string(k), val);
    return Value::make_dict(std::move(d));
  });
  globals_["raise_exception"] = Value::make_callable("raise_exception", [](CallArgs& a) -> Value {
    std::string msg = a.pos.empty() ? std::string() : to_str(a.pos[0]);
    throw TemplateFailure(msg, {}, true);
  });
  globals_["strftime_now"] = Value::make_callable("strftime_now", [this](CallArgs& a) {
    if (a.pos.size() != 1 || !a.pos[0].is_string()) raise_failure("strftime_now() takes one format string");
    std::tm tm{};
    if (env_.now) {
      tm = env_.now();
    } else {
      std::time_t t = std::time(nullptr);
      localtime_r(&t, &tm);
    }
    if (a.pos[0].s.empty()) return Value::string("");
    char buf[512];
    std::size_t n = std::strftime(buf, sizeof buf, a.pos[0].s.c_str(), &tm);
    return Value::string(std::string(buf, n));
  });
}

void Interpreter::charge_iterations(std::size_t n) {
  iterations_ += n;
  if (iterations_ > env_.max_loop_iterations) raise_failure("template exceeded the loop iteration limit");
}

void Interpreter::append(std::string& out, std::string_view text) {
  out.append(text);
  if (out.size() > env_.max_output_bytes) raise_failure("template output exceeds the size limit");
}

std::string Interpreter::render(const Body& body, const Value& context) {
  auto root = std::make_shared<Scope>();
  if (context.is_dict())
    for (const auto& [k, v] : context.dict->entries())
      if (k.is_string()) root->vars[k.s] = v;
  std::string out;
  exec(body, root, out);
  return out;
}

Interpreter::Flow Interpreter::exec(const Body& body, const ScopePtr& scope, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec_stmt(*s, scope, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out) {
  try {
    switch (s.kind) {
      case StmtKind::Text: append(out, s.text); return Flow::Normal;
      case StmtKind::Output: {
        Value v = eval(*s.expr, scope);
        append(out, to_str(v));
        return Flow::Normal;
      }
      case StmtKind::If:
        for (std::size_t k = 0; k < s.conds.size(); ++k)
          if (truthy(eval(*s.conds[k], scope))) return exec(s.bodies[k], scope, out);
        return exec(s.else_body, scope, out);
      case StmtKind::For: exec_for(s, scope, out); return Flow::Normal;
      case StmtKind::Set: assign(s.target, eval(*s.expr, scope), scope, s.pos); return Flow::Normal;
      case StmtKind::SetBlock: {
        std::string buf;
        exec(s.body, child_of(scope), buf);
        assign(s.target, apply_filters(s.filters, Value::string(std::move(buf)), scope), scope, s.pos);
        return Flow::Normal;
      }
      case StmtKind::Macro: scope->vars[s.name] = make_macro(s, scope); return Flow::Normal;
      case StmtKind::CallBlock: {
        const Expr& call_expr = *s.expr;
        Value callee = eval(*call_expr.a, scope);
        CallArgs args = eval_args(call_expr, scope);
        std::weak_ptr<Scope> weak = scope;
        const Stmt* stmt = &s;
        args.kw.emplace_back("caller", Value::make_callable("caller", [this, stmt, weak](CallArgs& a) {
          return invoke_macro(*stmt, weak, a);
        }));
        Value r = call(callee, args);
        append(out, to_str(r));
        return Flow::Normal;
      }
      case StmtKind::FilterBlock: {
        std::string buf;
        Flow f = exec(s.body, scope, buf);
        append(out, to_str(apply_filters(s.filters, Value::string(std::move(buf)), scope)));
        return f;
      }
      case StmtKind::Break: return Flow::Break;
      case StmtKind::Continue: return Flow::Continue;
      case StmtKind::Scope: return exec(s.body, scope, out);
    }
  } catch (TemplateFailure& f) {
    f.set_pos_if_unset(s.pos);
    throw;
  }
  return Flow::Normal;
}

void Interpreter::exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
  List items;
  {
    Value iterable = eval(*s.expr, scope);
    try {
      items = iterate(iterable);
    } catch (TemplateFailure& f) {
      f.set_pos_if_unset(s.expr->pos);
      throw;
    }
  }
  if (s.cond) {
    List kept;
    for (auto& item : items) {
      auto iter_scope = child_of(scope);
      assign(s.target, item, iter_scope, s.pos);
      if (truthy(eval(*s.cond, iter_scope))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  charge_iterations(items.size());
  if (items.empty()) {
    exec(s.else_body, scope, out);
    return;
  }
  const auto n = static_cast<std::int64_t>(items.size());
  auto items_ptr = std::make_shared<const List>(std::move(items));
  for (std::int64_t k = 0; k < n; ++k) {
    auto iter_scope = child_of(scope);
    const Value& item = (*items_ptr)[static_cast<std::size_t>(k)];
    assign(s.target, item, iter_scope, s.pos);
    Dict loop;
    loop.set(Value::string("index"), Value::integer(k + 1));
    loop.set(Value::string("index0"), Value::integer(k));
    loop.set(Value::string("revindex"), Value::integer(n - k));
    loop.set(Value::string("revindex0"), Value::integer(n - k - 1));
    loop.set(Value::string("first"), Value::boolean(k == 0));
    loop.set(Value::string("last"), Value::boolean(k == n - 1));
    loop.set(Value::string("length"), Value::integer(n));
    loop.set(Value::string("depth"), Value::integer(1));
    loop.set(Value::string("depth0"), Value::integer(0));
    if (k > 0) loop.set(Value::string("previtem"), (*items_ptr)[static_cast<std::size_t>(k - 1)]);
    if (k + 1 < n) loop.set(Value::string("nextitem"), (*items_ptr)[static_cast<std::size_t>(k + 1)]);
    loop.set(Value::string("cycle"), Value::make_callable("cycle", [k](CallArgs& a) {
      if (a.pos.empty()) raise_failure("no items for cycling given");
      return a.pos[static_cast<std::size_t>(k) % a.pos.size()];
    }));
    iter_scope->vars["loop"] = Value::make_dict(std::move(loop));
    Flow f = exec(s.body, iter_scope, out);
    if (f == Flow::Break) break;
  }
}

void Interpreter::assign(const Target& t, const Value& v, const ScopePtr& scope, SourcePos pos) {
  if (!t.attr.empty()) {
    Value target = lookup(t.names[0], scope);
    if (target.kind != Kind::Namespace) raise_at(pos, "cannot assign attribute on non-namespace object");
    target.ns->attrs.set(Value::string(t.attr), v);
    return;
  }
  if (!t.is_tuple) {
    scope->vars[t.names[0]] = v;
    return;
  }
  List parts = iterate(v);
  if (parts.size() != t.names.size())
    raise_at(pos, parts.size() > t.names.size() ? "too many values to unpack" : "not enough values to unpack");
  for (std::size_t k = 0; k < parts.size(); ++k) scope->vars[t.names[k]] = parts[k];
}

Value Interpreter::lookup(const std::string& name, const ScopePtr& scope) {
  for (const Scope* s = scope.get(); s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return it->second;
  }
  auto g = globals_.find(name);
  if (g != globals_.end()) return g->second;
  return Value::undefined("'" + name + "' is undefined");
}

Value Interpreter::make_macro(const Stmt& s, const ScopePtr& scope) {
  // A weak reference: the macro is stored in the scope it captures.
  std::weak_ptr<Scope> weak = scope;
  const Stmt* stmt = &s;
  return Value::make_callable(s.name, [this, stmt, weak](CallArgs& a) { return invoke_macro(*stmt, weak, a); });
}

Value Interpreter::invoke_macro(const Stmt& s, const std::weak_ptr<Scope>& def_scope, CallArgs& args) {
  ScopePtr parent = def_scope.lock();
  if (!parent) raise_failure("macro '" + s.name + "' called after its defining scope ended");
  if (call_depth_ >= env_.max_call_depth) raise_failure("maximum macro recursion depth exceeded");
  struct DepthGuard {
    int& d;
    explicit DepthGuard(int& depth) : d(depth) { ++d; }
    ~DepthGuard() { --d; }
  } guard(call_depth_);
  const std::string& label = s.kind == StmtKind::Macro ? s.name : std::string("caller");
  if (args.pos.size() > s.params.size())
    raise_failure("macro '" + label + "' takes not more than " + std::to_string(s.params.size()) + " argument(s)");
  auto scope = child_of(parent);
  for (const auto& [k, v] : args.kw) {
    bool known = k == "caller";
    for (const auto& p : s.params) known = known || p == k;
    if (!known) raise_failure("macro '" + label + "' takes no keyword argument '" + k + "'");
    if (k == "caller") scope->vars["caller"] = v;
  }
  for (std::size_t k = 0; k < s.params.size(); ++k) {
    const Value* given = args.get(k, s.params[k]);
    if (k >= args.pos.size()) {
      given = nullptr;
      for (const auto& [name, v] : args.kw)
        if (name == s.params[k]) given = &v;
    }
    if (given) scope->vars[s.params[k]] = *given;
    else if (s.defaults[k]) scope->vars[s.params[k]] = eval(*s.defaults[k], scope);
    else scope->vars[s.params[k]] = Value::undefined("parameter '" + s.params[k] + "' was not provided");
  }
  std::string out;
  exec(s.body, scope, out);
  return Value::string(std::move(out));
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.kind == Kind::Callable) return callee.fn->fn(args);
  if (callee.is_undefined()) fail_undefined(callee);
  raise_failure("'" + type_name(callee) + "' object is not callable");
}

Value Interpreter::getattr(const Value& obj, const std::string& name) {
  switch (obj.kind) {
    case Kind::Undefined: fail_undefined(obj);
    case Kind::Namespace: {
      const Value* v = obj.ns->attrs.find(name);
      return v ? *v : Value::undefined("'Namespace' object has no attribute '" + name + "'");
    }
    case Kind::Dict: {
      // Python attribute lookup happens first: message.items is the method.
      if (auto m = bound_method(obj, name)) return *m;
      const Value* v = obj.dict->find(name);
      return v ? *v : Value::undefined("'dict object' has no attribute '" + name + "'");
    }
    default:
      if (auto m = bound_method(obj, name)) return *m;
      return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + name + "'");
  }
}

Value Interpreter::getitem(const Value& obj, const Value& key) {
  switch (obj.kind) {
    case Kind::Undefined: fail_undefined(obj);
    case Kind::Dict: {
      const Value* v = obj.dict->find(key);
      if (v) return *v;
      break;
    }
    case Kind::List:
    case Kind::String: {
      if (!key.is_integral() || obj.is_view()) break;
      std::int64_t idx = key.as_int();
      if (obj.is_list()) {
        auto n = static_cast<std::int64_t>(obj.list->size());
        if (idx < 0) idx += n;
        if (idx >= 0 && idx < n) return (*obj.list)[static_cast<std::size_t>(idx)];
        return Value::undefined("list object has no element " + std::to_string(key.as_int()));
      }
      std::u32string u = pystr::decode(obj.s);
      auto n = static_cast<std::int64_t>(u.size());
      if (idx < 0) idx += n;
      if (idx >= 0 && idx < n) return Value::string(pystr::encode(u.substr(static_cast<std::size_t>(idx), 1)));
      return Value::undefined("str object has no element " + std::to_string(key.as_int()));
    }
    case Kind::Namespace:
      if (key.is_string()) return getattr(obj, key.s);
      break;
    default: break;
  }
  // jinja2 falls back to attribute lookup for string keys.
  if (key.is_string() && obj.kind != Kind::Dict) return getattr(obj, key.s);
  if (key.is_string()) {
    if (auto m = bound_method(obj, key.s)) return *m;
    return Value::undefined("'dict object' has no attribute '" + key.s + "'");
  }
  return Value::undefined("'" + type_name(obj) + " object' has no element " + repr(key));
}

List Interpreter::iterate(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return {};
    case Kind::List: return *v.list;
    case Kind::Dict: {
      List keys;
      keys.reserve(v.dict->size());
      for (const auto& [k, val] : v.dict->entries()) keys.push_back(k);
      return keys;
    }
    case Kind::String: {
      List chars;
      std::string buf;
      for (char32_t c : pystr::decode(v.s)) {
        buf.clear();
        pystr::append_utf8(buf, c);
        chars.push_back(Value::string(buf));
      }
      return chars;
    }
    default: raise_failure("'" + type_name(v) + "' object is not iterable");
  }
}

bool Interpreter::contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Kind::Undefined: return false;
    case Kind::String:
      if (!item.is_string())
        raise_failure("'in <string>' requires string as left operand, not " + type_name(item));
      return container.s.find(item.s) != std::string::npos;
    case Kind::List:
      for (const auto& e : *container.list)
        if (equals(e, item)) return true;
      return false;
    case Kind::Dict: return container.dict->find(item) != nullptr;
    default: raise_failure("argument of type '" + type_name(container) + "' is not iterable");
  }
}

CallArgs Interpreter::eval_args(const Expr& e, const ScopePtr& scope) {
  CallArgs args;
  args.pos.reserve(e.items.size());
  for (const auto& a : e.items) args.pos.push_back(eval(*a, scope));
  for (const auto& [k, a] : e.kwargs) args.kw.emplace_back(k, eval(*a, scope));
  return args;
}

Value Interpreter::apply_filters(const std::vector<ExprPtr>& filters, Value input, const ScopePtr& scope) {
  for (const auto& f : filters) {
    CallArgs args = eval_args(*f, scope);
    try {
      input = apply_filter(*this, f->name, input, args);
    } catch (TemplateFailure& err) {
      err.set_pos_if_unset(f->pos);
      throw;
    }
  }
  return input;
}

Value Interpreter::eval(const Expr& e, const ScopePtr& scope) {
  try {
    switch (e.kind) {
      case ExprKind::Literal: return e.literal;
      case ExprKind::Name: return lookup(e.name, scope);
      case ExprKind::List:
      case ExprKind::Tuple: {
        List items;
        items.reserve(e.items.size());
        for (const auto& it : e.items) items.push_back(eval(*it, scope));
        return Value::make_list(std::move(items), e.kind == ExprKind::Tuple);
      }
      case ExprKind::Dict: {
        Dict d;
        for (std::size_t k = 0; k + 1 < e.items.size(); k += 2) {
          Value key = eval(*e.items[k], scope);
          if (key.is_list() && !key.tuple) raise_at(e.items[k]->pos, "unhashable type: 'list'");
          if (key.is_dict()) raise_at(e.items[k]->pos, "unhashable type: 'dict'");
          d.set(std::move(key), eval(*e.items[k + 1], scope));
        }
        return Value::make_dict(std::move(d));
      }
      case ExprKind::GetAttr: return getattr(eval(*e.a, scope), e.name);
      case ExprKind::GetItem: {
        Value obj = eval(*e.a, scope);
        return getitem(obj, eval(*e.b, scope));
      }
      case ExprKind::Slice: return eval_slice(e, scope);
      case ExprKind::Call: {
        Value callee = eval(*e.a, scope);
        CallArgs args = eval_args(e, scope);
        return call(callee, args);
      }
      case ExprKind::Filter: {
        Value input = e.a ? eval(*e.a, scope) : Value::undefined();
        CallArgs args = eval_args(e, scope);
        return apply_filter(*this, e.name, input, args);
      }
      case ExprKind::Test: {
        Value input = eval(*e.a, scope);
        CallArgs args = eval_args(e, scope);
        return Value::boolean(apply_test(*this, e.name, input, args));
      }
      case ExprKind::Unary: {
        Value v = eval(*e.a, scope);
        if (e.name == "not") return Value::boolean(!truthy(v));
        if (v.is_undefined()) fail_undefined(v);
        if (!v.is_numeric()) raise_failure("bad operand type for unary " + e.name + ": '" + type_name(v) + "'");
        if (e.name == "+") return v.kind == Kind::Bool ? Value::integer(v.as_int()) : v;
        if (v.kind == Kind::Float) return Value::number(-v.f);
        if (v.as_int() == std::numeric_limits<std::int64_t>::min()) raise_failure("integer overflow");
        return Value::integer(-v.as_int());
      }
      case ExprKind::Binary: return eval_binary(e, scope);
      case ExprKind::Compare: return eval_compare(e, scope);
      case ExprKind::CondExpr:
        if (truthy(eval(*e.b, scope))) return eval(*e.a, scope);
        return e.c ? eval(*e.c, scope) : Value::undefined("the inline if-expression evaluated to false");
    }
  } catch (TemplateFailure& f) {
    f.set_pos_if_unset(e.pos);
    throw;
  }
  return Value::undefined();
}

Value Interpreter::eval_slice(const Expr& e, const ScopePtr& scope) {
  Value obj = eval(*e.a, scope);
  Value parts[3];
  const Value* ptrs[3] = {nullptr, nullptr, nullptr};
  for (int k = 0; k < 3; ++k) {
    if (e.items[static_cast<std::size_t>(k)]) {
      parts[k] = eval(*e.items[static_cast<std::size_t>(k)], scope);
      ptrs[k] = &parts[k];
    }
  }
  if (obj.is_undefined()) fail_undefined(obj);
  std::int64_t b, en, st;
  if (obj.is_view()) return Value::undefined("'" + type_name(obj) + "' object is not subscriptable");
  if (obj.is_list()) {
    slice_indices(static_cast<std::int64_t>(obj.list->size()), ptrs[0], ptrs[1], ptrs[2], &b, &en, &st);
    List out;
    for (std::int64_t k = b; st > 0 ? k < en : k > en; k += st) out.push_back((*obj.list)[static_cast<std::size_t>(k)]);
    return Value::make_list(std::move(out), obj.tuple);
  }
  if (obj.is_string()) {
    std::u32string u = pystr::decode(obj.s);
    slice_indices(static_cast<std::int64_t>(u.size()), ptrs[0], ptrs[1], ptrs[2], &b, &en, &st);
    std::u32string out;
    for (std::int64_t k = b; st > 0 ? k < en : k > en; k += st) out.push_back(u[static_cast<std::size_t>(k)]);
    return Value::string(pystr::encode(out), obj.safe);
  }
  raise_failure("'" + type_name(obj) + "' object is not subscriptable");
}

Value Interpreter::eval_binary(const Expr& e, const ScopePtr& scope) {
  const std::string& op = e.name;
  if (op == "and") {
    Value l = eval(*e.a, scope);
    return truthy(l) ? eval(*e.b, scope) : l;
  }
  if (op == "or") {
    Value l = eval(*e.a, scope);
    return truthy(l) ? l : eval(*e.b, scope);
  }
  Value a = eval(*e.a, scope);
  Value b = eval(*e.b, scope);
  if (op == "~") return Value::string(to_str(a) + to_str(b));
  bool both_num = a.is_numeric() && b.is_numeric();
  bool any_float = a.kind == Kind::Float || b.kind == Kind::Float;
  if (op == "+") {
    if (both_num) {
      if (any_float) return Value::number(a.as_double() + b.as_double());
      std::int64_t r;
      if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) raise_failure("integer overflow");
      return Value::integer(r);
    }
    if (a.is_string() && b.is_string()) {
      if (a.safe == b.safe) return Value::string(a.s + b.s, a.safe);
      // markupsafe: Markup + str escapes the plain side.
      if (a.safe) return Value::string(a.s + pystr::html_escape(b.s), true);
      return Value::string(pystr::html_escape(a.s) + b.s, true);
    }
    if (a.is_list() && b.is_list() && a.tuple == b.tuple && !a.is_view() && !b.is_view()) {
      List out = *a.list;
      out.insert(out.end(), b.list->begin(), b.list->end());
      return Value::make_list(std::move(out), a.tuple);
    }
    if (a.is_string() && !b.is_undefined() && !a.is_undefined())
      raise_failure("can only concatenate str (not \"" + type_name(b) + "\") to str");
    bad_operands("+", a, b);
  }
  if (op == "-") {
    if (!both_num) bad_operands("-", a, b);
    if (any_float) return Value::number(a.as_double() - b.as_double());
    std::int64_t r;
    if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) raise_failure("integer overflow");
    return Value::integer(r);
  }
  if (op == "*") {
    if (both_num) {
      if (any_float) return Value::number(a.as_double() * b.as_double());
      std::int64_t r;
      if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) raise_failure("integer overflow");
      return Value::integer(r);
    }
    if ((a.is_string() || (a.is_list() && !a.is_view())) && b.is_integral()) return repeat(a, b.as_int());
    if ((b.is_string() || (b.is_list() && !b.is_view())) && a.is_integral()) return repeat(b, a.as_int());
    bad_operands("*", a, b);
  }
  if (op == "/") {
    if (!both_num) bad_operands("/", a, b);
    if (b.as_double() == 0) raise_failure("division by zero");
    return Value::number(a.as_double() / b.as_double());
  }
  if (op == "//") {
    if (!both_num) bad_operands("//", a, b);
    if (b.as_double() == 0) raise_failure("integer division or modulo by zero");
    if (any_float) return Value::number(std::floor(a.as_double() / b.as_double()));
    if (a.as_int() == std::numeric_limits<std::int64_t>::min() && b.as_int() == -1) raise_failure("integer overflow");
    return Value::integer(floor_div(a.as_int(), b.as_int()));
  }
  if (op == "%") {
    if (a.is_string()) return Value::string(percent_format(a.s, b), a.safe);
    if (!both_num) bad_operands("%", a, b);
    if (b.as_double() == 0) raise_failure("integer division or modulo by zero");
    if (any_float) {
      double x = a.as_double(), y = b.as_double();
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value::number(m);
    }
    if (b.as_int() == -1) return Value::integer(0);
    return Value::integer(floor_mod(a.as_int(), b.as_int()));
  }
  if (op == "**") {
    if (!both_num) bad_operands("**", a, b);
    if (!any_float && b.as_int() >= 0) {
      std::int64_t base = a.as_int(), r = 1;
      for (std::int64_t k = 0; k < b.as_int(); ++k) {
        if (__builtin_mul_overflow(r, base, &r)) raise_failure("integer overflow");
        if (r == 0 || r == 1) break;
      }
      return Value::integer(r);
    }
    return Value::number(std::pow(a.as_double(), b.as_double()));
  }
  raise_failure("unknown operator '" + op + "'");
}

Value Interpreter::eval_compare(const Expr& e, const ScopePtr& scope) {
  Value left = eval(*e.a, scope);
  for (std::size_t k = 0; k < e.ops.size(); ++k) {
    Value right = eval(*e.items[k], scope);
    const std::string& op = e.ops[k];
    bool r;
    if (op == "==") r = equals(left, right);
    else if (op == "!=") r = !equals(left, right);
    else if (op == "in") r = contains(right, left);
    else if (op == "not in") r = !contains(right, left);
    else {
      if (left.is_undefined()) fail_undefined(left);
      if (right.is_undefined()) fail_undefined(right);
      int c;
      try {
        c = compare(left, right);
      } catch (TemplateFailure&) {
        raise_failure("'" + op + "' not supported between instances of '" + type_name(left) + "' and '" +
                      type_name(right) + "'");
      }
      r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
    }
    if (!r) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

}  // namespace lookahead::jinja
