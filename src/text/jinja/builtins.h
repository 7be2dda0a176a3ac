// Built-in filters, tests, global functions and Python methods of str, dict
// and list, with the semantics of jinja2 3.1 running inside HF transformers'
// ImmutableSandboxedEnvironment (tojson is HF's override: json.dumps with
// ensure_ascii=False, no key sorting, no HTML escaping).
//
// Contract: failures throw TemplateFailure without a position; the
// interpreter attaches the position of the calling expression.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "text/jinja/value.h"

namespace lookahead::jinja {

class Interpreter;

bool has_filter(std::string_view name);
bool has_test(std::string_view name);

Value apply_filter(Interpreter& in, const std::string& name, const Value& input, CallArgs& args);
bool apply_test(Interpreter& in, const std::string& name, const Value& input, CallArgs& args);

// Python attribute lookup of a method on str/dict/list values. Returns a
// bound callable, or nullopt if `name` is not a (safe) method of `obj`.
std::optional<Value> bound_method(const Value& obj, const std::string& name);

// Python's `format % args` for str (%s %r %d %i %f %x %%).
std::string percent_format(const std::string& format, const Value& args);

// Throws the error an Undefined value raises when it is used.
[[noreturn]] void fail_undefined(const Value& undefined);

// Python len(); throws for values without a length.
std::int64_t py_len(const Value& v);

}  // namespace lookahead::jinja
