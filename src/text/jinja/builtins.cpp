#include "text/jinja/builtins.h"

#include <algorithm>
#include <cerrno>
#include <cfenv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <unordered_map>

#include "text/jinja/diagnostics.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/pystr.h"

namespace lookahead::jinja {

[[noreturn]] void fail_undefined(const Value& undefined) {
  raise_failure(undefined.s.empty() ? std::string("value is undefined") : undefined.s);
}

std::int64_t py_len(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return 0;
    case Kind::String: return static_cast<std::int64_t>(pystr::length(v.s));
    case Kind::List:
      if (v.is_iterator()) raise_failure("object of type '" + type_name(v) + "' has no len()");
      return static_cast<std::int64_t>(v.list->size());
    case Kind::Dict: return static_cast<std::int64_t>(v.dict->size());
    default: raise_failure("object of type '" + type_name(v) + "' has no len()");
  }
}

namespace {

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);
using TestFn = bool (*)(Interpreter&, const Value&, CallArgs&);

// Validates that a call passes only the named parameters, at most once each.
void check_params(const CallArgs& a, std::initializer_list<const char*> names, const char* fname) {
  if (a.pos.size() > names.size())
    raise_failure(std::string(fname) + "() takes at most " + std::to_string(names.size()) + " argument(s)");
  std::size_t idx = 0;
  for (const auto& [k, v] : a.kw) {
    bool ok = false;
    idx = 0;
    for (const char* n : names) {
      if (k == n) {
        if (idx < a.pos.size()) raise_failure(std::string(fname) + "() got multiple values for argument '" + k + "'");
        ok = true;
      }
      ++idx;
    }
    if (!ok) raise_failure(std::string(fname) + "() got an unexpected keyword argument '" + k + "'");
  }
}

Value arg_or(const CallArgs& a, std::size_t i, const char* name, Value def) {
  const Value* v = a.get(i, name);
  return v ? *v : def;
}

// jinja2's soft_str: str() that keeps Markup.
Value soft_str(const Value& v) {
  if (v.is_string()) return v;
  return Value::string(to_str(v));
}

std::optional<std::string> opt_str(const CallArgs& a, std::size_t i, const char* name) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return std::nullopt;
  if (!v->is_string()) raise_failure(std::string(name) + " must be None or str, not " + type_name(*v));
  return v->s;
}

std::int64_t int_arg(const Value& v, const char* what) {
  if (!v.is_integral()) raise_failure(std::string(what) + " must be an integer, not '" + type_name(v) + "'");
  return v.as_int();
}

// make_attrgetter: "a.b.0" walks getitem per dotted part.
Value get_path(Interpreter& in, const Value& item, const Value& attribute) {
  if (!attribute.is_string()) return in.getitem(item, attribute);
  Value cur = item;
  for (const auto& part : pystr::split(attribute.s, std::string("."), -1)) {
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = digits && part.size() < 18 ? in.getitem(cur, Value::integer(std::stoll(part))) : in.getitem(cur, Value::string(part));
  }
  return cur;
}

Value lower_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(pystr::lower(v.s));
  return v;
}

List sorted_copy(List items, bool reverse, const std::function<Value(const Value&)>& key) {
  std::vector<std::pair<Value, Value>> keyed;
  keyed.reserve(items.size());
  for (auto& it : items) keyed.emplace_back(key(it), std::move(it));
  if (reverse)
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& x, const auto& y) { return compare(y.first, x.first) < 0; });
  else
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& x, const auto& y) { return compare(x.first, y.first) < 0; });
  List out;
  out.reserve(keyed.size());
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  return out;
}

// Parses a Python int literal from a string (int(str, base) semantics).
std::optional<std::int64_t> parse_int(const std::string& s, int base) {
  std::string t = pystr::strip(s, std::nullopt, true, true);
  std::string clean;
  for (char c : t)
    if (c != '_') clean.push_back(c);
  if (clean.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(clean.c_str(), &end, base);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

std::optional<double> parse_float(const std::string& s) {
  std::string t = pystr::strip(s, std::nullopt, true, true);
  if (t.empty()) return std::nullopt;
  std::string low = pystr::lower(t);
  if (low == "nan" || low == "+nan" || low == "-nan") return std::nan("");
  if (low == "inf" || low == "+inf" || low == "infinity" || low == "+infinity") return HUGE_VAL;
  if (low == "-inf" || low == "-infinity") return -HUGE_VAL;
  for (char c : t)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
      return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  if (*end != '\0') return std::nullopt;
  return d;
}

// ---------------- filters ----------------

Value f_trim(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"chars"}, "trim");
  Value s = soft_str(v);
  return Value::string(pystr::strip(s.s, opt_str(a, 0, "chars"), true, true), s.safe);
}

Value f_tojson(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson");
  DumpOptions o;
  o.ensure_ascii = truthy(arg_or(a, 0, "ensure_ascii", Value::boolean(false)));
  Value indent = arg_or(a, 1, "indent", Value::none());
  if (indent.is_string()) {
    o.has_indent = true;
    o.indent = indent.s;
  } else if (indent.is_integral()) {
    o.has_indent = true;
    o.indent = std::string(static_cast<std::size_t>(std::clamp<std::int64_t>(indent.as_int(), 0, 64)), ' ');
  } else if (!indent.is_none()) {
    raise_failure("tojson: indent must be an int or str");
  }
  o.item_sep = o.has_indent ? "," : ", ";
  o.key_sep = ": ";
  Value seps = arg_or(a, 2, "separators", Value::none());
  if (seps.is_list()) {
    if (seps.list->size() != 2 || !(*seps.list)[0].is_string() || !(*seps.list)[1].is_string())
      raise_failure("tojson: separators must be a pair of strings");
    o.item_sep = (*seps.list)[0].s;
    o.key_sep = (*seps.list)[1].s;
  }
  o.sort_keys = truthy(arg_or(a, 3, "sort_keys", Value::boolean(false)));
  return Value::string(dump_json(v, o));
}

Value f_length(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "length");
  return Value::integer(py_len(v));
}

Value f_upper(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "upper");
  Value s = soft_str(v);
  return Value::string(pystr::upper(s.s), s.safe);
}
Value f_lower(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "lower");
  Value s = soft_str(v);
  return Value::string(pystr::lower(s.s), s.safe);
}
Value f_title(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "title");
  return Value::string(pystr::jinja_title(soft_str(v).s));
}
Value f_capitalize(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "capitalize");
  return Value::string(pystr::capitalize(soft_str(v).s));
}

Value f_replace(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"old", "new", "count"}, "replace");
  const Value* o = a.get(0, "old");
  const Value* n = a.get(1, "new");
  if (!o || !n) raise_failure("replace() needs 'old' and 'new'");
  Value cnt = arg_or(a, 2, "count", Value::none());
  long count = cnt.is_none() ? -1 : static_cast<long>(int_arg(cnt, "count"));
  return Value::string(pystr::replace(to_str(v), to_str(*o), to_str(*n), count));
}

Value f_default(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"default_value", "boolean"}, "default");
  Value def = arg_or(a, 0, "default_value", Value::string(""));
  bool boolean = truthy(arg_or(a, 1, "boolean", Value::boolean(false)));
  if (v.is_undefined() || (boolean && !truthy(v))) return def;
  return v;
}

Value f_first(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {}, "first");
  List items = in.iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}
Value f_last(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {}, "last");
  List items = in.iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_join(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {"d", "attribute"}, "join");
  std::string sep = to_str(arg_or(a, 0, "d", Value::string("")));
  Value attr = arg_or(a, 1, "attribute", Value::none());
  std::string out;
  bool first = true;
  for (const auto& item : in.iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += to_str(attr.is_none() ? item : get_path(in, item, attr));
  }
  return Value::string(std::move(out));
}

Value f_list(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {}, "list");
  return Value::make_list(in.iterate(v));
}

Value f_items(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "items");
  if (v.is_undefined()) return Value::make_view({}, Value::View::Generator);
  if (!v.is_dict()) raise_failure("Can only get item pairs from a mapping.");
  List out;
  for (const auto& [k, val] : v.dict->entries()) out.push_back(Value::make_list({k, val}, true));
  return Value::make_view(std::move(out), Value::View::Generator);
}

// select / reject / selectattr / rejectattr share jinja2's select_or_reject.
Value select_or_reject(Interpreter& in, const Value& v, CallArgs& a, bool attr, bool select) {
  std::size_t off = 0;
  Value attribute;
  if (attr) {
    if (a.pos.empty()) raise_failure("selectattr/rejectattr need an attribute name");
    attribute = a.pos[0];
    off = 1;
  }
  std::string test;
  CallArgs test_args;
  bool use_test = a.pos.size() > off;
  if (use_test) {
    if (!a.pos[off].is_string()) raise_failure("test name must be a string");
    test = a.pos[off].s;
    if (!jinja::has_test(test)) raise_failure("unknown test '" + test + "'");
    test_args.pos.assign(a.pos.begin() + static_cast<std::ptrdiff_t>(off + 1), a.pos.end());
    test_args.kw = a.kw;
  }
  List out;
  if (!truthy(v)) return Value::make_view({}, Value::View::Generator);
  for (const auto& item : in.iterate(v)) {
    Value subject = attr ? get_path(in, item, attribute) : item;
    bool r;
    if (use_test) {
      CallArgs copy = test_args;
      r = apply_test(in, test, subject, copy);
    } else {
      r = truthy(subject);
    }
    if (r == select) out.push_back(item);
  }
  return Value::make_view(std::move(out), Value::View::Generator);
}
Value f_select(Interpreter& in, const Value& v, CallArgs& a) { return select_or_reject(in, v, a, false, true); }
Value f_reject(Interpreter& in, const Value& v, CallArgs& a) { return select_or_reject(in, v, a, false, false); }
Value f_selectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_or_reject(in, v, a, true, true); }
Value f_rejectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_or_reject(in, v, a, true, false); }

Value f_map(Interpreter& in, const Value& v, CallArgs& a) {
  List out;
  const Value* attribute = nullptr;
  Value def;
  bool has_def = false;
  for (const auto& [k, val] : a.kw) {
    if (k == "attribute") attribute = &val;
    else if (k == "default") {
      def = val;
      has_def = true;
    }
  }
  if (!truthy(v)) return Value::make_view({}, Value::View::Generator);
  if (attribute) {
    for (const auto& item : in.iterate(v)) {
      Value r = get_path(in, item, *attribute);
      out.push_back(r.is_undefined() && has_def ? def : r);
    }
    return Value::make_view(std::move(out), Value::View::Generator);
  }
  if (a.pos.empty() || !a.pos[0].is_string()) raise_failure("map() needs a filter name or attribute=");
  std::string name = a.pos[0].s;
  if (!has_filter(name)) raise_failure("unknown filter '" + name + "'");
  CallArgs rest;
  rest.pos.assign(a.pos.begin() + 1, a.pos.end());
  rest.kw = a.kw;
  for (const auto& item : in.iterate(v)) {
    CallArgs copy = rest;
    out.push_back(apply_filter(in, name, item, copy));
  }
  return Value::make_view(std::move(out), Value::View::Generator);
}

Value f_string(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "string");
  return soft_str(v);
}

Value f_int(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"default", "base"}, "int");
  Value def = arg_or(a, 0, "default", Value::integer(0));
  int base = static_cast<int>(int_arg(arg_or(a, 1, "base", Value::integer(10)), "base"));
  if (v.is_integral()) return Value::integer(v.as_int());
  if (v.kind == Kind::Float) {
    if (!std::isfinite(v.f) || std::fabs(v.f) > 9.2e18) return def;
    return Value::integer(static_cast<std::int64_t>(v.f));
  }
  if (v.is_string()) {
    if (auto i = parse_int(v.s, base)) return Value::integer(*i);
    if (auto d = parse_float(v.s); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18)
      return Value::integer(static_cast<std::int64_t>(*d));
  }
  return def;
}

Value f_float(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"default"}, "float");
  Value def = arg_or(a, 0, "default", Value::number(0.0));
  if (v.is_numeric()) return Value::number(v.as_double());
  if (v.is_string())
    if (auto d = parse_float(v.s)) return Value::number(*d);
  return def;
}

Value f_safe(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "safe");
  return Value::string(to_str(v), true);
}

Value f_escape(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "escape");
  if (v.is_string() && v.safe) return v;
  return Value::string(pystr::html_escape(to_str(v)), true);
}

Value f_unique(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {"case_sensitive", "attribute"}, "unique");
  bool cs = truthy(arg_or(a, 0, "case_sensitive", Value::boolean(false)));
  Value attr = arg_or(a, 1, "attribute", Value::none());
  List out, seen;
  for (const auto& item : in.iterate(v)) {
    Value key = lower_key(attr.is_none() ? item : get_path(in, item, attr), cs);
    if ((key.is_list() && !key.tuple) || key.is_dict()) raise_failure("unhashable type: '" + type_name(key) + "'");
    bool dup = std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); });
    if (!dup) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::make_view(std::move(out), Value::View::Generator);
}

Value f_reverse(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {}, "reverse");
  if (v.is_string()) {
    std::u32string u = pystr::decode(v.s);
    std::reverse(u.begin(), u.end());
    return Value::string(pystr::encode(u), v.safe);
  }
  List items = in.iterate(v);
  std::reverse(items.begin(), items.end());
  // reversed() of a list or dict is an iterator; anything else was copied to a list first.
  if (v.is_list() && !v.is_iterator()) return Value::make_view(std::move(items), Value::View::ReverseIterator);
  if (v.is_dict()) return Value::make_view(std::move(items), Value::View::ReverseIterator);
  return Value::make_list(std::move(items));
}

Value f_sort(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {"reverse", "case_sensitive", "attribute"}, "sort");
  bool rev = truthy(arg_or(a, 0, "reverse", Value::boolean(false)));
  bool cs = truthy(arg_or(a, 1, "case_sensitive", Value::boolean(false)));
  Value attr = arg_or(a, 2, "attribute", Value::none());
  return Value::make_list(sorted_copy(in.iterate(v), rev, [&](const Value& x) {
    return lower_key(attr.is_none() ? x : get_path(in, x, attr), cs);
  }));
}

Value f_dictsort(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"case_sensitive", "by", "reverse"}, "dictsort");
  if (!v.is_dict()) raise_failure("dictsort: value must be a mapping");
  bool cs = truthy(arg_or(a, 0, "case_sensitive", Value::boolean(false)));
  std::string by = to_str(arg_or(a, 1, "by", Value::string("key")));
  bool rev = truthy(arg_or(a, 2, "reverse", Value::boolean(false)));
  if (by != "key" && by != "value") raise_failure("You can only sort by either 'key' or 'value'");
  List items;
  for (const auto& [k, val] : v.dict->entries()) items.push_back(Value::make_list({k, val}, true));
  return Value::make_list(sorted_copy(std::move(items), rev, [&](const Value& x) {
    return lower_key((*x.list)[by == "key" ? 0 : 1], cs);
  }));
}

Value f_batch(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {"linecount", "fill_with"}, "batch");
  const Value* lc = a.get(0, "linecount");
  if (!lc) raise_failure("batch() needs linecount");
  std::int64_t n = int_arg(*lc, "linecount");
  if (n <= 0) raise_failure("batch() linecount must be positive");
  Value fill = arg_or(a, 1, "fill_with", Value::none());
  List out, tmp;
  for (const auto& item : in.iterate(v)) {
    if (static_cast<std::int64_t>(tmp.size()) == n) {
      out.push_back(Value::make_list(std::move(tmp)));
      tmp.clear();
    }
    tmp.push_back(item);
  }
  if (!tmp.empty()) {
    if (!fill.is_none())
      while (static_cast<std::int64_t>(tmp.size()) < n) tmp.push_back(fill);
    out.push_back(Value::make_list(std::move(tmp)));
  }
  return Value::make_view(std::move(out), Value::View::Generator);
}

Value f_indent(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"width", "first", "blank"}, "indent");
  Value width = arg_or(a, 0, "width", Value::integer(4));
  bool first = truthy(arg_or(a, 1, "first", Value::boolean(false)));
  bool blank = truthy(arg_or(a, 2, "blank", Value::boolean(false)));
  std::string ind = width.is_string() ? width.s
                                      : std::string(static_cast<std::size_t>(std::clamp<std::int64_t>(
                                                        int_arg(width, "width"), 0, 1024)),
                                                    ' ');
  std::string s = to_str(v) + "\n";  // jinja2 appends a newline so splitlines keeps a trailing blank line
  std::vector<std::string> lines = pystr::splitlines(s);
  std::string rv;
  if (blank) {
    for (std::size_t k = 0; k < lines.size(); ++k) {
      if (k) rv += "\n" + ind;
      rv += lines[k];
    }
  } else {
    rv = lines.empty() ? std::string() : lines[0];
    for (std::size_t k = 1; k < lines.size(); ++k) {
      rv += "\n";
      if (!lines[k].empty()) rv += ind;
      rv += lines[k];
    }
  }
  if (first) rv = ind + rv;
  return Value::string(std::move(rv));
}

Value f_abs(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "abs");
  if (v.kind == Kind::Float) return Value::number(std::fabs(v.f));
  if (v.is_integral()) {
    if (v.as_int() == INT64_MIN) raise_failure("integer overflow");
    return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  raise_failure("bad operand type for abs(): '" + type_name(v) + "'");
}

Value f_round(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"precision", "method"}, "round");
  std::int64_t prec = int_arg(arg_or(a, 0, "precision", Value::integer(0)), "precision");
  std::string method = to_str(arg_or(a, 1, "method", Value::string("common")));
  if (!v.is_numeric()) raise_failure("round: value must be a number");
  double scale = std::pow(10.0, static_cast<double>(std::clamp<std::int64_t>(prec, -300, 300)));
  double x = v.as_double() * scale;
  double r;
  if (method == "common") {
    if (v.is_integral() && prec >= 0) return Value::integer(v.as_int());
    std::fesetround(FE_TONEAREST);
    r = std::nearbyint(x);
  } else if (method == "ceil") {
    r = std::ceil(x);
  } else if (method == "floor") {
    r = std::floor(x);
  } else {
    raise_failure("method must be common, ceil or floor");
  }
  return Value::number(r / scale);
}

Value f_sum(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {"attribute", "start"}, "sum");
  Value attr = arg_or(a, 0, "attribute", Value::none());
  Value total = arg_or(a, 1, "start", Value::integer(0));
  for (const auto& item : in.iterate(v)) {
    Value x = attr.is_none() ? item : get_path(in, item, attr);
    if (!x.is_numeric() || !total.is_numeric()) raise_failure("sum: unsupported operand types");
    if (x.kind == Kind::Float || total.kind == Kind::Float) total = Value::number(total.as_double() + x.as_double());
    else total = Value::integer(total.as_int() + x.as_int());
  }
  return total;
}

Value min_max(Interpreter& in, const Value& v, CallArgs& a, bool want_max) {
  check_params(a, {"case_sensitive", "attribute"}, want_max ? "max" : "min");
  bool cs = truthy(arg_or(a, 0, "case_sensitive", Value::boolean(false)));
  Value attr = arg_or(a, 1, "attribute", Value::none());
  List items = in.iterate(v);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  std::size_t best = 0;
  auto key = [&](const Value& x) { return lower_key(attr.is_none() ? x : get_path(in, x, attr), cs); };
  Value best_key = key(items[0]);
  for (std::size_t k = 1; k < items.size(); ++k) {
    Value kk = key(items[k]);
    int c = compare(kk, best_key);
    if (want_max ? c > 0 : c < 0) {
      best = k;
      best_key = kk;
    }
  }
  return items[best];
}
Value f_min(Interpreter& in, const Value& v, CallArgs& a) { return min_max(in, v, a, false); }
Value f_max(Interpreter& in, const Value& v, CallArgs& a) { return min_max(in, v, a, true); }

Value f_attr(Interpreter& in, const Value& v, CallArgs& a) {
  check_params(a, {"name"}, "attr");
  const Value* n = a.get(0, "name");
  if (!n || !n->is_string()) raise_failure("attr() needs an attribute name");
  if (v.is_dict()) {
    if (auto m = bound_method(v, n->s)) return *m;
    return Value::undefined("'dict object' has no attribute '" + n->s + "'");
  }
  return in.getattr(v, n->s);
}

Value f_format(Interpreter&, const Value& v, CallArgs& a) {
  if (!a.kw.empty()) raise_failure("format filter: keyword arguments are not supported");
  Value args = a.pos.size() == 1 ? a.pos[0] : Value::make_list(a.pos, true);
  if (a.pos.size() == 1 && !(a.pos[0].is_list() && a.pos[0].tuple)) args = Value::make_list({a.pos[0]}, true);
  return Value::string(percent_format(soft_str(v).s, args));
}

Value f_wordcount(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {}, "wordcount");
  return Value::integer(static_cast<std::int64_t>(pystr::split(to_str(v), std::nullopt, -1).size()));
}

Value f_center(Interpreter&, const Value& v, CallArgs& a) {
  check_params(a, {"width"}, "center");
  std::int64_t width = int_arg(arg_or(a, 0, "width", Value::integer(80)), "width");
  std::string s = to_str(v);
  auto len = static_cast<std::int64_t>(pystr::length(s));
  if (width <= len) return Value::string(s);
  std::int64_t marg = std::min<std::int64_t>(width - len, 1 << 20);
  // Python's str.center puts the extra space on the left when marg and width are odd.
  std::int64_t left = marg / 2 + (marg & width & 1);
  return Value::string(std::string(static_cast<std::size_t>(left), ' ') + s +
                       std::string(static_cast<std::size_t>(marg - left), ' '));
}

const std::unordered_map<std::string, FilterFn>& filters() {
  static const std::unordered_map<std::string, FilterFn> m = {
      {"trim", f_trim},         {"tojson", f_tojson},       {"length", f_length},     {"count", f_length},
      {"upper", f_upper},       {"lower", f_lower},         {"title", f_title},       {"capitalize", f_capitalize},
      {"replace", f_replace},   {"default", f_default},     {"d", f_default},         {"first", f_first},
      {"last", f_last},         {"join", f_join},           {"list", f_list},         {"items", f_items},
      {"select", f_select},     {"reject", f_reject},       {"selectattr", f_selectattr},
      {"rejectattr", f_rejectattr}, {"map", f_map},         {"string", f_string},     {"int", f_int},
      {"float", f_float},       {"safe", f_safe},           {"escape", f_escape},     {"e", f_escape},
      {"unique", f_unique},     {"reverse", f_reverse},     {"sort", f_sort},         {"dictsort", f_dictsort},
      {"batch", f_batch},       {"indent", f_indent},       {"abs", f_abs},           {"round", f_round},
      {"sum", f_sum},           {"min", f_min},             {"max", f_max},           {"attr", f_attr},
      {"format", f_format},     {"wordcount", f_wordcount}, {"center", f_center},
  };
  return m;
}

// ---------------- tests ----------------

const Value& test_arg(const CallArgs& a, const char* test) {
  if (a.pos.empty()) raise_failure(std::string("test '") + test + "' needs an argument");
  return a.pos[0];
}

bool t_defined(Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }
bool t_boolean(Interpreter&, const Value& v, CallArgs&) { return v.kind == Kind::Bool; }
bool t_true(Interpreter&, const Value& v, CallArgs&) { return v.kind == Kind::Bool && v.b; }
bool t_false(Interpreter&, const Value& v, CallArgs&) { return v.kind == Kind::Bool && !v.b; }
bool t_integer(Interpreter&, const Value& v, CallArgs&) { return v.kind == Kind::Int; }
bool t_float(Interpreter&, const Value& v, CallArgs&) { return v.kind == Kind::Float; }
bool t_number(Interpreter&, const Value& v, CallArgs&) { return v.is_numeric(); }
bool t_string(Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(Interpreter&, const Value& v, CallArgs&) { return v.is_dict(); }
bool t_iterable(Interpreter&, const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
bool t_sequence(Interpreter&, const Value& v, CallArgs&) { return v.is_string() || v.is_list() || v.is_dict(); }
bool t_callable(Interpreter&, const Value& v, CallArgs&) { return v.kind == Kind::Callable; }
bool t_odd(Interpreter&, const Value& v, CallArgs&) {
  if (!v.is_integral()) raise_failure("test 'odd' needs an integer");
  return (v.as_int() % 2) != 0;
}
bool t_even(Interpreter&, const Value& v, CallArgs&) {
  if (!v.is_integral()) raise_failure("test 'even' needs an integer");
  return (v.as_int() % 2) == 0;
}
bool t_divisibleby(Interpreter&, const Value& v, CallArgs& a) {
  const Value& n = test_arg(a, "divisibleby");
  if (!v.is_integral() || !n.is_integral() || n.as_int() == 0) raise_failure("test 'divisibleby' needs integers");
  return v.as_int() % n.as_int() == 0;
}
bool t_eq(Interpreter&, const Value& v, CallArgs& a) { return equals(v, test_arg(a, "eq")); }
bool t_ne(Interpreter&, const Value& v, CallArgs& a) { return !equals(v, test_arg(a, "ne")); }
bool t_lt(Interpreter&, const Value& v, CallArgs& a) { return compare(v, test_arg(a, "lt")) < 0; }
bool t_le(Interpreter&, const Value& v, CallArgs& a) { return compare(v, test_arg(a, "le")) <= 0; }
bool t_gt(Interpreter&, const Value& v, CallArgs& a) { return compare(v, test_arg(a, "gt")) > 0; }
bool t_ge(Interpreter&, const Value& v, CallArgs& a) { return compare(v, test_arg(a, "ge")) >= 0; }
bool t_in(Interpreter& in, const Value& v, CallArgs& a) { return in.contains(test_arg(a, "in"), v); }
bool t_sameas(Interpreter&, const Value& v, CallArgs& a) {
  const Value& o = test_arg(a, "sameas");
  if (v.kind != o.kind) return false;
  switch (v.kind) {
    case Kind::None:
    case Kind::Undefined: return true;
    case Kind::Bool: return v.b == o.b;
    case Kind::List: return v.list == o.list;
    case Kind::Dict: return v.dict == o.dict;
    case Kind::Namespace: return v.ns == o.ns;
    case Kind::Callable: return v.fn == o.fn;
    default: return false;
  }
}
bool t_lower(Interpreter&, const Value& v, CallArgs&) {
  if (!v.is_string()) return false;
  bool cased = false;
  for (char32_t c : pystr::decode(v.s)) {
    if (pystr::is_upper_cp(c)) return false;
    if (pystr::is_lower_cp(c)) cased = true;
  }
  return cased;
}
bool t_upper(Interpreter&, const Value& v, CallArgs&) {
  if (!v.is_string()) return false;
  bool cased = false;
  for (char32_t c : pystr::decode(v.s)) {
    if (pystr::is_lower_cp(c)) return false;
    if (pystr::is_upper_cp(c)) cased = true;
  }
  return cased;
}
bool t_escaped(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && v.safe; }
bool t_filter(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && has_filter(v.s); }
bool t_test(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && has_test(v.s); }

const std::unordered_map<std::string, TestFn>& tests() {
  static const std::unordered_map<std::string, TestFn> m = {
      {"defined", t_defined},   {"undefined", t_undefined}, {"none", t_none},         {"boolean", t_boolean},
      {"true", t_true},         {"false", t_false},         {"integer", t_integer},   {"float", t_float},
      {"number", t_number},     {"string", t_string},       {"mapping", t_mapping},   {"iterable", t_iterable},
      {"sequence", t_sequence}, {"callable", t_callable},   {"odd", t_odd},           {"even", t_even},
      {"divisibleby", t_divisibleby}, {"eq", t_eq},         {"equalto", t_eq},        {"==", t_eq},
      {"ne", t_ne},             {"!=", t_ne},               {"lt", t_lt},             {"lessthan", t_lt},
      {"<", t_lt},              {"le", t_le},               {"<=", t_le},             {"gt", t_gt},
      {"greaterthan", t_gt},    {">", t_gt},                {"ge", t_ge},             {">=", t_ge},
      {"in", t_in},             {"sameas", t_sameas},       {"lower", t_lower},       {"upper", t_upper},
      {"escaped", t_escaped},   {"filter", t_filter},       {"test", t_test},
  };
  return m;
}

// ---------------- methods ----------------

std::string format_method(const std::string& fmt, const CallArgs& a) {
  std::string out;
  std::size_t auto_idx = 0;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
        out.push_back('{');
        ++i;
        continue;
      }
      std::size_t close = fmt.find('}', i);
      if (close == std::string::npos) raise_failure("Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, close - i - 1);
      bool as_repr = false;
      if (auto bang = field.find('!'); bang != std::string::npos) {
        as_repr = field.substr(bang + 1) == "r";
        field = field.substr(0, bang);
      }
      if (field.find(':') != std::string::npos) raise_failure("format specs in str.format are not supported");
      const Value* v = nullptr;
      if (field.empty()) {
        if (auto_idx < a.pos.size()) v = &a.pos[auto_idx];
        ++auto_idx;
      } else if (std::all_of(field.begin(), field.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        std::size_t idx = static_cast<std::size_t>(std::stoul(field));
        if (idx < a.pos.size()) v = &a.pos[idx];
      } else {
        for (const auto& [k, val] : a.kw)
          if (k == field) v = &val;
      }
      if (!v) raise_failure("format: missing argument for field '{" + field + "}'");
      out += as_repr ? repr(*v) : to_str(*v);
      i = close;
    } else if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
      out.push_back('}');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

using Method = std::function<Value(const Value& self, CallArgs& a)>;

Value str_method(const std::string& name, const Value& self, CallArgs& a) {
  const std::string& s = self.s;
  auto strip_like = [&](bool l, bool r) {
    check_params(a, {"chars"}, name.c_str());
    return Value::string(pystr::strip(s, opt_str(a, 0, "chars"), l, r));
  };
  if (name == "strip") return strip_like(true, true);
  if (name == "lstrip") return strip_like(true, false);
  if (name == "rstrip") return strip_like(false, true);
  if (name == "split" || name == "rsplit") {
    check_params(a, {"sep", "maxsplit"}, name.c_str());
    auto sep = opt_str(a, 0, "sep");
    if (sep && sep->empty()) raise_failure("empty separator");
    long maxsplit = static_cast<long>(int_arg(arg_or(a, 1, "maxsplit", Value::integer(-1)), "maxsplit"));
    List out;
    for (auto& p : name == "split" ? pystr::split(s, sep, maxsplit) : pystr::rsplit(s, sep, maxsplit))
      out.push_back(Value::string(std::move(p)));
    return Value::make_list(std::move(out));
  }
  if (name == "splitlines") {
    List out;
    for (auto& p : pystr::splitlines(s)) out.push_back(Value::string(std::move(p)));
    return Value::make_list(std::move(out));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* p = a.get(0, "prefix");
    if (!p) raise_failure(name + "() takes at least 1 argument");
    List cands = p->is_list() && p->tuple ? *p->list : List{*p};
    for (const auto& c : cands) {
      if (!c.is_string()) raise_failure(name + " first arg must be str or a tuple of str");
      bool hit = name == "startswith" ? s.compare(0, c.s.size(), c.s) == 0 && s.size() >= c.s.size()
                                      : s.size() >= c.s.size() && s.compare(s.size() - c.s.size(), c.s.size(), c.s) == 0;
      if (hit) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (name == "upper") return Value::string(pystr::upper(s));
  if (name == "lower") return Value::string(pystr::lower(s));
  if (name == "title") return Value::string(pystr::title(s));
  if (name == "capitalize") return Value::string(pystr::capitalize(s));
  if (name == "replace") {
    if (a.pos.size() < 2 || !a.pos[0].is_string() || !a.pos[1].is_string())
      raise_failure("replace() takes two strings");
    long count = a.pos.size() > 2 ? static_cast<long>(int_arg(a.pos[2], "count")) : -1;
    return Value::string(pystr::replace(s, a.pos[0].s, a.pos[1].s, count));
  }
  if (name == "format") return Value::string(format_method(s, a));
  if (name == "join") {
    if (a.pos.size() != 1) raise_failure("join() takes exactly one argument");
    std::string out;
    const Value& it = a.pos[0];
    List items = it.is_list() ? *it.list : List{};
    if (it.is_string()) {
      for (char32_t c : pystr::decode(it.s)) {
        std::string ch;
        pystr::append_utf8(ch, c);
        items.push_back(Value::string(ch));
      }
    } else if (it.is_dict()) {
      for (const auto& [k, v] : it.dict->entries()) items.push_back(k);
    } else if (!it.is_list()) {
      raise_failure("can only join an iterable");
    }
    for (std::size_t k = 0; k < items.size(); ++k) {
      if (!items[k].is_string()) raise_failure("sequence item " + std::to_string(k) + ": expected str instance");
      if (k) out += s;
      out += items[k].s;
    }
    return Value::string(std::move(out));
  }
  if (name == "find" || name == "rfind" || name == "count" || name == "index") {
    if (a.pos.empty() || !a.pos[0].is_string()) raise_failure(name + "() needs a string argument");
    const std::string& sub = a.pos[0].s;
    if (name == "count") {
      if (sub.empty()) return Value::integer(static_cast<std::int64_t>(pystr::length(s)) + 1);
      std::int64_t n = 0;
      for (std::size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::integer(n);
    }
    std::size_t p = name == "rfind" ? s.rfind(sub) : s.find(sub);
    if (p == std::string::npos) {
      if (name == "index") raise_failure("substring not found");
      return Value::integer(-1);
    }
    return Value::integer(static_cast<std::int64_t>(pystr::length(std::string_view(s).substr(0, p))));
  }
  auto all_of = [&](auto pred) {
    std::u32string u = pystr::decode(s);
    return Value::boolean(!u.empty() && std::all_of(u.begin(), u.end(), pred));
  };
  if (name == "isdigit") return all_of([](char32_t c) { return c >= '0' && c <= '9'; });
  if (name == "isalpha") return all_of([](char32_t c) { return c > 127 || std::isalpha(static_cast<int>(c)); });
  if (name == "isalnum") return all_of([](char32_t c) { return c > 127 || std::isalnum(static_cast<int>(c)); });
  if (name == "isspace") return all_of([](char32_t c) { return pystr::is_space(c); });
  if (name == "islower") {
    bool cased = false;
    for (char32_t c : pystr::decode(s)) {
      if (pystr::is_upper_cp(c)) return Value::boolean(false);
      if (pystr::is_lower_cp(c)) cased = true;
    }
    return Value::boolean(cased);
  }
  if (name == "isupper") {
    bool cased = false;
    for (char32_t c : pystr::decode(s)) {
      if (pystr::is_lower_cp(c)) return Value::boolean(false);
      if (pystr::is_upper_cp(c)) cased = true;
    }
    return Value::boolean(cased);
  }
  raise_failure("str has no method '" + name + "'");
}

const char* const kStrMethods[] = {"strip",   "lstrip", "rstrip",  "split",   "rsplit",     "splitlines",
                                   "startswith", "endswith", "upper", "lower", "title",     "capitalize",
                                   "replace", "format", "join",    "find",    "rfind",      "count",
                                   "index",   "isdigit", "isalpha", "isalnum", "isspace",   "islower",
                                   "isupper"};

Value dict_method(const std::string& name, const Value& self, CallArgs& a) {
  const Dict& d = *self.dict;
  if (name == "items") {
    List out;
    for (const auto& [k, v] : d.entries()) out.push_back(Value::make_list({k, v}, true));
    return Value::make_view(std::move(out), Value::View::DictItems);
  }
  if (name == "keys" || name == "values") {
    List out;
    for (const auto& [k, v] : d.entries()) out.push_back(name == "keys" ? k : v);
    return Value::make_view(std::move(out), name == "keys" ? Value::View::DictKeys : Value::View::DictValues);
  }
  if (name == "get") {
    if (a.pos.empty() || a.pos.size() > 2) raise_failure("get() takes 1 or 2 arguments");
    const Value* v = d.find(a.pos[0]);
    if (v) return *v;
    return a.pos.size() == 2 ? a.pos[1] : Value::none();
  }
  if (name == "copy") return self;
  raise_failure("dict has no method '" + name + "'");
}

Value list_method(const std::string& name, const Value& self, CallArgs& a) {
  const List& l = *self.list;
  if (name == "index" || name == "count") {
    if (a.pos.empty()) raise_failure(name + "() takes an argument");
    std::int64_t n = 0;
    for (std::size_t k = 0; k < l.size(); ++k) {
      if (!equals(l[k], a.pos[0])) continue;
      if (name == "index") return Value::integer(static_cast<std::int64_t>(k));
      ++n;
    }
    if (name == "index") raise_failure("value is not in list");
    return Value::integer(n);
  }
  if (name == "copy") return self;
  raise_failure("list has no method '" + name + "'");
}

}  // namespace

bool has_filter(std::string_view name) { return filters().count(std::string(name)) != 0; }
bool has_test(std::string_view name) { return tests().count(std::string(name)) != 0; }

Value apply_filter(Interpreter& in, const std::string& name, const Value& input, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) raise_failure("unknown filter '" + name + "'");
  return it->second(in, input, args);
}

bool apply_test(Interpreter& in, const std::string& name, const Value& input, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) raise_failure("unknown test '" + name + "'");
  return it->second(in, input, args);
}

std::optional<Value> bound_method(const Value& obj, const std::string& name) {
  if (obj.is_string()) {
    for (const char* m : kStrMethods) {
      if (name == m) {
        Value self = obj;
        return Value::make_callable("str." + name, [self, name](CallArgs& a) { return str_method(name, self, a); });
      }
    }
    return std::nullopt;
  }
  if (obj.is_dict()) {
    if (name == "items" || name == "keys" || name == "values" || name == "get" || name == "copy") {
      Value self = obj;
      return Value::make_callable("dict." + name, [self, name](CallArgs& a) { return dict_method(name, self, a); });
    }
    if (name == "pop" || name == "popitem" || name == "setdefault" || name == "update" || name == "clear")
      return Value::undefined("access to attribute '" + name + "' of 'dict' object is unsafe.");
    return std::nullopt;
  }
  if (obj.is_list() && !obj.is_view()) {
    if (name == "index" || name == "count" || (name == "copy" && !obj.tuple)) {
      Value self = obj;
      return Value::make_callable("list." + name, [self, name](CallArgs& a) { return list_method(name, self, a); });
    }
    if (name == "append" || name == "extend" || name == "insert" || name == "remove" || name == "pop" ||
        name == "sort" || name == "reverse" || name == "clear")
      return Value::undefined("access to attribute '" + name + "' of 'list' object is unsafe.");
  }
  return std::nullopt;
}

std::string percent_format(const std::string& format, const Value& args) {
  List items = args.is_list() && args.tuple ? *args.list : List{args};
  const Dict* mapping = args.is_dict() ? args.dict.get() : nullptr;
  std::string out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (++i >= format.size()) raise_failure("incomplete format");
    if (format[i] == '%') {
      out.push_back('%');
      continue;
    }
    const Value* v = nullptr;
    if (format[i] == '(' && mapping) {
      std::size_t close = format.find(')', i);
      if (close == std::string::npos) raise_failure("incomplete format key");
      v = mapping->find(std::string_view(format).substr(i + 1, close - i - 1));
      if (!v) raise_failure("format key not found");
      i = close + 1;
    }
    std::string flags;
    while (i < format.size() && std::string_view("-+ #0123456789.").find(format[i]) != std::string_view::npos)
      flags.push_back(format[i++]);
    if (i >= format.size()) raise_failure("incomplete format");
    char conv = format[i];
    if (!v) {
      if (next >= items.size()) raise_failure("not enough arguments for format string");
      v = &items[next++];
    }
    char buf[512];
    std::string spec = "%" + flags;
    switch (conv) {
      case 's': out += to_str(*v); break;
      case 'r': out += repr(*v); break;
      case 'd':
      case 'i':
        if (!v->is_numeric()) raise_failure("%d format: a real number is required, not " + type_name(*v));
        std::snprintf(buf, sizeof buf, (spec + "lld").c_str(),
                      static_cast<long long>(v->kind == Kind::Float ? std::trunc(v->f) : v->as_int()));
        out += buf;
        break;
      case 'f':
      case 'e':
      case 'g':
        if (!v->is_numeric()) raise_failure("must be real number, not " + type_name(*v));
        std::snprintf(buf, sizeof buf, (spec + conv).c_str(), v->as_double());
        out += buf;
        break;
      case 'x':
      case 'X':
      case 'o':
        if (!v->is_integral()) raise_failure("%x format: an integer is required");
        std::snprintf(buf, sizeof buf, (spec + "ll" + conv).c_str(), static_cast<long long>(v->as_int()));
        out += buf;
        break;
      default: raise_failure(std::string("unsupported format character '") + conv + "'");
    }
  }
  if (!mapping && next < items.size() && !(args.is_list() && args.tuple && items.empty()))
    raise_failure("not all arguments converted during string formatting");
  return out;
}

}  // namespace lookahead::jinja
