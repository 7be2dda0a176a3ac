#include "text/jinja/value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "text/jinja/diagnostics.h"
#include "text/jinja/pystr.h"

namespace lookahead::jinja {

Value Value::undefined(std::string hint) {
  Value v;
  v.s = std::move(hint);
  return v;
}
Value Value::none() {
  Value v;
  v.kind = Kind::None;
  return v;
}
Value Value::boolean(bool x) {
  Value v;
  v.kind = Kind::Bool;
  v.b = x;
  return v;
}
Value Value::integer(std::int64_t x) {
  Value v;
  v.kind = Kind::Int;
  v.i = x;
  return v;
}
Value Value::number(double x) {
  Value v;
  v.kind = Kind::Float;
  v.f = x;
  return v;
}
Value Value::string(std::string x, bool safe) {
  Value v;
  v.kind = Kind::String;
  v.s = std::move(x);
  v.safe = safe;
  return v;
}
Value Value::make_list(List items, bool tuple) {
  Value v;
  v.kind = Kind::List;
  v.tuple = tuple;
  v.list = std::make_shared<const List>(std::move(items));
  return v;
}
Value Value::make_view(List items, View view) {
  Value v = make_list(std::move(items));
  v.view = view;
  return v;
}
Value Value::make_dict(Dict d) {
  Value v;
  v.kind = Kind::Dict;
  v.dict = std::make_shared<const Dict>(std::move(d));
  return v;
}
Value Value::make_callable(std::string name, std::function<Value(CallArgs&)> fn) {
  Value v;
  v.kind = Kind::Callable;
  v.fn = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

const Value* Dict::find(std::string_view key) const {
  auto it = str_index_.find(std::string(key));
  return it == str_index_.end() ? nullptr : &entries_[it->second].second;
}

const Value* Dict::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.s));
  if (key.kind == Kind::List && !key.tuple) return nullptr;  // unhashable: never a key
  for (const auto& [k, v] : entries_)
    if (!k.is_string() && equals(k, key)) return &v;
  return nullptr;
}

void Dict::set(Value key, Value v) {
  if (key.is_string()) {
    auto it = str_index_.find(key.s);
    if (it != str_index_.end()) {
      entries_[it->second].second = std::move(v);
      return;
    }
    str_index_.emplace(key.s, entries_.size());
    entries_.emplace_back(std::move(key), std::move(v));
    return;
  }
  for (auto& [k, old] : entries_) {
    if (!k.is_string() && equals(k, key)) {
      old = std::move(v);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(v));
}

const Value* CallArgs::get(std::size_t index, std::string_view name) const {
  if (index < pos.size()) return &pos[index];
  for (const auto& [k, v] : kw)
    if (k == name) return &v;
  return nullptr;
}

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return v.safe ? "Markup" : "str";
    case Kind::List:
      switch (v.view) {
        case Value::View::Generator: return "generator";
        case Value::View::ReverseIterator: return "list_reverseiterator";
        case Value::View::DictItems: return "dict_items";
        case Value::View::DictKeys: return "dict_keys";
        case Value::View::DictValues: return "dict_values";
        case Value::View::None: break;
      }
      return v.tuple ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Callable: return "function";
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return v.b;
    case Kind::Int: return v.i != 0;
    case Kind::Float: return v.f != 0.0;
    case Kind::String: return !v.s.empty();
    case Kind::List: return v.is_iterator() || !v.list->empty();
    case Kind::Dict: return !v.dict->empty();
    case Kind::Namespace:
    case Kind::Callable: return true;
  }
  return false;
}

static std::string dict_repr(const Dict& d) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : d.entries()) {
    if (!first) out += ", ";
    first = false;
    out += repr(k);
    out += ": ";
    out += repr(v);
  }
  return out + "}";
}

std::string to_str(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return v.b ? "True" : "False";
    case Kind::Int: return std::to_string(v.i);
    case Kind::Float: return pystr::float_repr(v.f);
    case Kind::String: return v.s;
    case Kind::List: {
      if (v.is_iterator()) return "<" + type_name(v) + " object>";
      if (v.is_view()) {
        Value plain = v;
        plain.view = Value::View::None;
        return type_name(v) + "(" + to_str(plain) + ")";
      }
      std::string out = v.tuple ? "(" : "[";
      for (std::size_t k = 0; k < v.list->size(); ++k) {
        if (k) out += ", ";
        out += repr((*v.list)[k]);
      }
      if (v.tuple && v.list->size() == 1) out += ",";
      return out + (v.tuple ? ")" : "]");
    }
    case Kind::Dict: return dict_repr(*v.dict);
    case Kind::Namespace: return "<Namespace " + dict_repr(v.ns->attrs) + ">";
    case Kind::Callable: return "<function " + v.fn->name + ">";
  }
  return "";
}

std::string repr(const Value& v) {
  if (v.kind == Kind::String) return v.safe ? "Markup(" + pystr::repr(v.s) + ")" : pystr::repr(v.s);
  if (v.kind == Kind::Undefined) return "Undefined";
  return to_str(v);
}

bool equals(const Value& a, const Value& b) {
  if (a.is_numeric() && b.is_numeric()) {
    if (a.kind == Kind::Float || b.kind == Kind::Float) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind != b.kind) return false;
  if (a.is_view() || b.is_view()) return a.list == b.list && a.view == b.view;
  switch (a.kind) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.s == b.s;
    case Kind::List: {
      if (a.tuple != b.tuple || a.list->size() != b.list->size()) return false;
      for (std::size_t k = 0; k < a.list->size(); ++k)
        if (!equals((*a.list)[k], (*b.list)[k])) return false;
      return true;
    }
    case Kind::Dict: {
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : a.dict->entries()) {
        const Value* other = b.dict->find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    case Kind::Namespace: return a.ns == b.ns;
    case Kind::Callable: return a.fn == b.fn;
    default: return false;
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_numeric() && b.is_numeric()) {
    if (a.kind == Kind::Float || b.kind == Kind::Float) {
      double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    std::int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    // UTF-8 byte order equals code point order.
    int c = a.s.compare(b.s);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list() && a.tuple == b.tuple && !a.is_view() && !b.is_view()) {
    std::size_t n = std::min(a.list->size(), b.list->size());
    for (std::size_t k = 0; k < n; ++k) {
      if (equals((*a.list)[k], (*b.list)[k])) continue;
      return compare((*a.list)[k], (*b.list)[k]);
    }
    return a.list->size() < b.list->size() ? -1 : (a.list->size() > b.list->size() ? 1 : 0);
  }
  if (a.is_undefined() || b.is_undefined()) raise_failure("cannot compare an undefined value");
  raise_failure("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

template <typename J>
static Value from_json_impl(const J& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.template get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = j.template get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(INT64_MAX)) return Value::integer(static_cast<std::int64_t>(u));
      return Value::number(static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float: return Value::number(j.template get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json_impl(e));
      return Value::make_list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.set(Value::string(it.key()), from_json_impl(it.value()));
      return Value::make_dict(std::move(d));
    }
    default: return Value::none();  // binary / discarded: not produced by JSON text
  }
}

Value from_json(const nlohmann::ordered_json& j) { return from_json_impl(j); }
Value from_json(const nlohmann::json& j) { return from_json_impl(j); }

static void dump_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  char buf[16];
  auto hex = [&](unsigned cp) {
    std::snprintf(buf, sizeof buf, "\\u%04x", cp);
    out += buf;
  };
  if (!ensure_ascii) {
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (u < 0x20) hex(u);
          else out.push_back(c);
      }
    }
  } else {
    for (char32_t c : pystr::decode(s)) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) {
            hex(static_cast<unsigned>(c));
          } else if (c < 0x80) {
            out.push_back(static_cast<char>(c));
          } else if (c < 0x10000) {
            hex(static_cast<unsigned>(c));
          } else {
            unsigned v = static_cast<unsigned>(c) - 0x10000;
            hex(0xD800 | (v >> 10));
            hex(0xDC00 | (v & 0x3FF));
          }
      }
    }
  }
  out.push_back('"');
}

static std::string float_json(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return pystr::float_repr(d);
}

static void dump_value(std::string& out, const Value& v, const DumpOptions& o, int level, int depth) {
  if (depth > 512) raise_failure("tojson: value nested too deeply");
  switch (v.kind) {
    case Kind::None: out += "null"; return;
    case Kind::Bool: out += v.b ? "true" : "false"; return;
    case Kind::Int: out += std::to_string(v.i); return;
    case Kind::Float: out += float_json(v.f); return;
    case Kind::String: dump_string(out, v.s, o.ensure_ascii); return;
    case Kind::List: {
      if (v.is_view()) raise_failure("Object of type " + type_name(v) + " is not JSON serializable");
      if (v.list->empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      std::string nl;
      if (o.has_indent) {
        nl = "\n";
        for (int k = 0; k <= level; ++k) nl += o.indent;
        out += nl;
      }
      bool first = true;
      for (const auto& e : *v.list) {
        if (!first) out += o.item_sep + nl;
        first = false;
        dump_value(out, e, o, level + 1, depth + 1);
      }
      if (o.has_indent) {
        out.push_back('\n');
        for (int k = 0; k < level; ++k) out += o.indent;
      }
      out.push_back(']');
      return;
    }
    case Kind::Dict: {
      if (v.dict->empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& e : v.dict->entries()) items.push_back(&e);
      if (o.sort_keys)
        std::stable_sort(items.begin(), items.end(),
                         [](auto* a, auto* b) { return compare(a->first, b->first) < 0; });
      out.push_back('{');
      std::string nl;
      if (o.has_indent) {
        nl = "\n";
        for (int k = 0; k <= level; ++k) nl += o.indent;
        out += nl;
      }
      bool first = true;
      for (const auto* e : items) {
        if (!first) out += o.item_sep + nl;
        first = false;
        const Value& k = e->first;
        std::string key;
        switch (k.kind) {
          case Kind::String: key = k.s; break;
          case Kind::Float: key = float_json(k.f); break;
          case Kind::Bool: key = k.b ? "true" : "false"; break;
          case Kind::None: key = "null"; break;
          case Kind::Int: key = std::to_string(k.i); break;
          default: raise_failure("keys must be str, int, float, bool or None, not " + type_name(k));
        }
        dump_string(out, key, o.ensure_ascii);
        out += o.key_sep;
        dump_value(out, e->second, o, level + 1, depth + 1);
      }
      if (o.has_indent) {
        out.push_back('\n');
        for (int k = 0; k < level; ++k) out += o.indent;
      }
      out.push_back('}');
      return;
    }
    default: raise_failure("Object of type " + type_name(v) + " is not JSON serializable");
  }
}

std::string dump_json(const Value& v, const DumpOptions& opts) {
  std::string out;
  dump_value(out, v, opts, 0, 0);
  return out;
}

}  // namespace lookahead::jinja
