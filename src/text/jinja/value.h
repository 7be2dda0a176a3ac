// The runtime value model of the Jinja engine.
//
// Values mirror the Python objects a jinja2 template sees when HF transformers
// renders a chat template: None, bool, int, float, str (optionally "safe",
// i.e. markupsafe.Markup), list/tuple, dict (insertion ordered), the jinja2
// Undefined object, namespace() objects and callables (macros, builtins,
// bound methods). Lists and dicts are immutable once built (the sandbox HF uses
// forbids mutation), so they are shared by pointer and copying a Value is cheap.
// Namespaces are the only mutable objects and have reference semantics.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lookahead::jinja {

struct Value;
class Dict;
struct Namespace;
struct Callable;
using List = std::vector<Value>;

enum class Kind : std::uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

struct Value {
  Kind kind = Kind::Undefined;
  bool safe = false;   // String only: markupsafe.Markup semantics for '+'.
  bool tuple = false;  // List only: prints as a tuple, never equal to a list.
  // List only: the Python object is really an iterator or dict view (what
  // jinja2's map/select/items/... return), which has no len(), is always
  // truthy (iterators), is not subscriptable and is not JSON serializable.
  enum class View : std::uint8_t { None, Generator, ReverseIterator, DictItems, DictKeys, DictValues };
  View view = View::None;
  bool b = false;
  std::int64_t i = 0;
  double f = 0;
  std::string s;  // String payload; for Undefined, the name that was looked up.
  std::shared_ptr<const List> list;
  std::shared_ptr<const Dict> dict;
  std::shared_ptr<Namespace> ns;
  std::shared_ptr<const Callable> fn;

  static Value undefined(std::string hint = {});
  static Value none();
  static Value boolean(bool v);
  static Value integer(std::int64_t v);
  static Value number(double v);
  static Value string(std::string v, bool safe = false);
  static Value make_list(List items, bool tuple = false);
  static Value make_view(List items, View view);
  static Value make_dict(Dict d);
  static Value make_callable(std::string name, std::function<Value(struct CallArgs&)> fn);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_list() const { return kind == Kind::List; }
  bool is_view() const { return kind == Kind::List && view != View::None; }
  bool is_iterator() const { return view == View::Generator || view == View::ReverseIterator; }
  bool is_dict() const { return kind == Kind::Dict; }
  bool is_numeric() const { return kind == Kind::Bool || kind == Kind::Int || kind == Kind::Float; }
  bool is_integral() const { return kind == Kind::Bool || kind == Kind::Int; }
  std::int64_t as_int() const { return kind == Kind::Bool ? (b ? 1 : 0) : i; }
  double as_double() const { return kind == Kind::Float ? f : static_cast<double>(as_int()); }
};

// Insertion-ordered mapping with Python key equality (1 == 1.0 == True).
class Dict {
 public:
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value v);
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<Value, Value>> entries_;
  std::unordered_map<std::string, std::size_t> str_index_;  // fast path for str keys
};

struct Namespace {
  Dict attrs;
};

struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;

  // Looks up a parameter by position or keyword; nullptr if not passed.
  const Value* get(std::size_t index, std::string_view name) const;
};

struct Callable {
  std::string name;
  std::function<Value(CallArgs&)> fn;
};

// Type name as Python would report it ("str", "int", "dict", ...).
std::string type_name(const Value& v);

// Python truthiness.
bool truthy(const Value& v);

// str(v): what {{ v }} prints. Undefined prints as "".
std::string to_str(const Value& v);

// repr(v), used for elements of printed containers.
std::string repr(const Value& v);

// Python ==.
bool equals(const Value& a, const Value& b);

// Python ordering for <, <=, ...; returns -1/0/1 and throws on unorderable types.
int compare(const Value& a, const Value& b);

// JSON conversion. Object key order is preserved with ordered_json; with
// nlohmann::json the keys arrive sorted.
Value from_json(const nlohmann::ordered_json& j);
Value from_json(const nlohmann::json& j);

struct DumpOptions {
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool has_indent = false;
  std::string indent;  // used when has_indent
  std::string item_sep;
  std::string key_sep;
};

// json.dumps(v, ...) as Python computes it; throws on unserializable values.
std::string dump_json(const Value& v, const DumpOptions& opts);

}  // namespace lookahead::jinja
