// Python-compatible string helpers for the Jinja engine.
//
// Chat templates were written against Python's str semantics, so lengths,
// indexing and slicing count Unicode code points, and strip()/split() use
// Python's notion of whitespace. All functions take and return UTF-8; invalid
// bytes are treated as single code points (U+0080..U+00FF) so that no input
// can make them fail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lookahead::jinja::pystr {

std::u32string decode(std::string_view s);
void append_utf8(std::string& out, char32_t cp);
std::string encode(std::u32string_view s);

// Number of code points.
std::size_t length(std::string_view s);

// Python str.isspace() for a single code point.
bool is_space(char32_t c);

// str.strip / lstrip / rstrip; `chars` = nullopt means whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);

// str.split(sep=None, maxsplit=-1) and str.rsplit.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, long maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, long maxsplit);

// str.splitlines() (no keepends).
std::vector<std::string> splitlines(std::string_view s);

// str.replace(old, new, count=-1).
std::string replace(std::string_view s, std::string_view from, std::string_view to, long count);

// Case mapping covers ASCII plus Latin-1/Latin Extended-A/Greek/Cyrillic basics.
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize()
std::string title(std::string_view s);       // str.title()
std::string jinja_title(std::string_view s); // the |title filter (word starts after [-\s({\[<])

bool is_lower_cp(char32_t c);
bool is_upper_cp(char32_t c);

// HTML escaping as done by markupsafe.escape.
std::string html_escape(std::string_view s);

// Python repr() of a str.
std::string repr(std::string_view s);

// Python repr() of a float (shortest round-trip, 'r' formatting rules).
std::string float_repr(double d);

}  // namespace lookahead::jinja::pystr
