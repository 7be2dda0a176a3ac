#include "text/jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "text/jinja/pystr.h"

namespace lookahead::jinja {
namespace {

bool is_ws_at(std::string_view s, std::size_t i, std::size_t* len) {
  // Python's \s for the byte sequence at i (ASCII fast path, then UTF-8).
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    *len = 1;
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  }
  std::size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
  if (i + n > s.size()) n = 1;
  std::u32string u = pystr::decode(s.substr(i, n));
  *len = n;
  return u.size() == 1 && pystr::is_space(u[0]);
}

std::size_t skip_ws(std::string_view s, std::size_t i) {
  std::size_t len = 0;
  while (i < s.size() && is_ws_at(s, i, &len)) i += len;
  return i;
}

// Python str.rstrip() on UTF-8.
std::string_view rstrip_ws(std::string_view s) {
  std::u32string u = pystr::decode(s);
  std::size_t e = u.size();
  while (e > 0 && pystr::is_space(u[e - 1])) --e;
  std::size_t bytes = pystr::encode(std::u32string_view(u).substr(0, e)).size();
  return s.substr(0, bytes);
}

bool all_ws(std::string_view s) {
  if (s.empty()) return false;  // jinja's \s+ needs at least one character
  return skip_ws(s, 0) == s.size();
}

class Lexer {
 public:
  Lexer(std::string_view src, const LexerOptions& o) : opts_(o) {
    // Normalize newlines and drop one trailing newline, like jinja2.
    src_.reserve(src.size());
    for (std::size_t i = 0; i < src.size(); ++i) {
      if (src[i] == '\r') {
        src_.push_back('\n');
        if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
      } else {
        src_.push_back(src[i]);
      }
    }
    if (!opts_.keep_trailing_newline && !src_.empty() && src_.back() == '\n') src_.pop_back();
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    std::size_t pos = 0;
    bool line_starting = true;
    std::string_view s = src_;
    while (pos < s.size()) {
      std::size_t start = find_tag(pos);
      if (start == std::string_view::npos) {
        emit_data(s.substr(pos), pos);
        break;
      }
      char kind = s[start + 1];  // '{', '%' or '#'
      char sign = start + 2 < s.size() ? s[start + 2] : '\0';
      if (sign != '-' && sign != '+') sign = '\0';
      std::string_view text = s.substr(pos, start - pos);
      if (sign == '-') {
        text = rstrip_ws(text);
      } else if (sign != '+' && opts_.lstrip_blocks && kind != '{') {
        std::size_t nl = text.rfind('\n');
        std::size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting) && all_ws(text.substr(l_pos))) text = text.substr(0, l_pos);
      }
      emit_data(text, pos);
      std::size_t body = start + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        pos = lex_comment(body, start, &line_starting);
      } else if (kind == '%' && is_raw(body)) {
        pos = lex_raw(body, start, &line_starting);
      } else {
        pos = lex_tag(kind == '{', body, start, &line_starting);
      }
    }
    Token eof;
    eof.type = TokenType::Eof;
    eof.pos = pos_of(s.size());
    tokens_.push_back(eof);
    return std::move(tokens_);
  }

 private:
  SourcePos pos_of(std::size_t off) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), off);
    std::size_t line = static_cast<std::size_t>(it - line_starts_.begin());
    std::size_t ls = line_starts_[line - 1];
    std::size_t col = pystr::length(std::string_view(src_).substr(ls, off - ls)) + 1;
    return SourcePos{static_cast<std::uint32_t>(line), static_cast<std::uint32_t>(col)};
  }

  [[noreturn]] void fail(std::size_t off, std::string msg) const { raise_at(pos_of(off), std::move(msg)); }

  std::size_t find_tag(std::size_t from) const {
    std::size_t p = from;
    while (true) {
      p = src_.find('{', p);
      if (p == std::string::npos || p + 1 >= src_.size()) return std::string::npos;
      char c = src_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
      ++p;
    }
  }

  void emit_data(std::string_view text, std::size_t off) {
    if (text.empty()) return;
    Token t;
    t.type = TokenType::Data;
    t.value = std::string(text);
    t.pos = pos_of(off);
    tokens_.push_back(std::move(t));
  }

  void emit(TokenType type, std::string value, std::size_t off) {
    Token t;
    t.type = type;
    t.value = std::move(value);
    t.pos = pos_of(off);
    tokens_.push_back(std::move(t));
  }

  // Matches a block/comment end at i: "+X}", "-X}\s*" or "X}" + optional
  // "\n" (trim_blocks). Returns the end offset or npos.
  std::size_t match_end(std::size_t i, char x, bool allow_plus, bool trim) const {
    std::string_view s = src_;
    auto at = [&](std::size_t k, std::string_view lit) { return s.substr(k, lit.size()) == lit; };
    std::string close{x, '}'};
    if (allow_plus && i < s.size() && s[i] == '+' && at(i + 1, close)) return i + 3;
    if (i < s.size() && s[i] == '-' && at(i + 1, close)) return skip_ws(s, i + 3);
    if (at(i, close)) {
      std::size_t e = i + 2;
      if (trim && e < s.size() && s[e] == '\n') ++e;
      return e;
    }
    return std::string::npos;
  }

  std::size_t lex_comment(std::size_t body, std::size_t start, bool* line_starting) {
    for (std::size_t i = body; i < src_.size(); ++i) {
      std::size_t e = match_end(i, '#', true, opts_.trim_blocks);
      if (e != std::string::npos) {
        *line_starting = src_[e - 1] == '\n';
        return e;
      }
    }
    fail(start, "missing end of comment tag");
  }

  bool is_raw(std::size_t body) const {
    std::size_t i = skip_ws(src_, body);
    if (src_.compare(i, 3, "raw") != 0) return false;
    i = skip_ws(src_, i + 3);
    return match_end(i, '%', false, false) != std::string::npos;
  }

  std::size_t lex_raw(std::size_t body, std::size_t start, bool* line_starting) {
    std::size_t i = skip_ws(src_, body) + 3;
    i = skip_ws(src_, i);
    std::size_t content = match_end(i, '%', false, false);
    // The raw body runs until {%[-+]? endraw %}.
    std::size_t p = content;
    while (true) {
      p = src_.find("{%", p);
      if (p == std::string::npos) fail(start, "missing end of raw directive");
      std::size_t q = p + 2;
      char sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : '\0';
      if (sign) ++q;
      q = skip_ws(src_, q);
      if (src_.compare(q, 6, "endraw") == 0) {
        std::size_t r = skip_ws(src_, q + 6);
        std::size_t e = match_end(r, '%', true, opts_.trim_blocks);
        if (e != std::string::npos) {
          std::string_view text = std::string_view(src_).substr(content, p - content);
          if (sign == '-') {
            text = rstrip_ws(text);
          } else if (sign != '+' && opts_.lstrip_blocks) {
            std::size_t nl = text.rfind('\n');
            std::size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
            if (l_pos > 0 && all_ws(text.substr(l_pos))) text = text.substr(0, l_pos);
          }
          emit_data(text, content);
          *line_starting = src_[e - 1] == '\n';
          return e;
        }
      }
      p += 2;
    }
  }

  std::size_t lex_tag(bool is_var, std::size_t body, std::size_t start, bool* line_starting) {
    emit(is_var ? TokenType::VarBegin : TokenType::BlockBegin, "", start);
    std::vector<char> balance;
    std::string_view s = src_;
    std::size_t i = body;
    while (true) {
      if (i >= s.size()) fail(start, is_var ? "unclosed '{{' (missing '}}')" : "unclosed '{%' (missing '%}')");
      if (balance.empty()) {
        std::size_t e = std::string::npos;
        if (is_var) {
          if (s[i] == '-' && s.substr(i + 1, 2) == "}}") e = skip_ws(s, i + 3);
          else if (s.substr(i, 2) == "}}") e = i + 2;
        } else {
          e = match_end(i, '%', true, opts_.trim_blocks);
        }
        if (e != std::string::npos) {
          emit(is_var ? TokenType::VarEnd : TokenType::BlockEnd, "", i);
          *line_starting = s[e - 1] == '\n';
          return e;
        }
      }
      std::size_t len = 0;
      if (is_ws_at(s, i, &len)) {
        i += len;
        continue;
      }
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (std::isdigit(c)) {
        i = lex_number(i);
        continue;
      }
      if (std::isalpha(c) || c == '_') {
        std::size_t j = i;
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
        emit(TokenType::Name, std::string(s.substr(i, j - i)), i);
        i = j;
        continue;
      }
      if (c == '\'' || c == '"') {
        i = lex_string(i);
        continue;
      }
      static const char* const kOps[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[",
                                         "]",  "(",  ")",  "{",  "}",  ">",  "<", "=", ".", ":", "|", ",", ";"};
      bool matched = false;
      for (const char* op : kOps) {
        std::string_view o(op);
        if (s.substr(i, o.size()) == o) {
          if (o == "{" || o == "(" || o == "[") {
            balance.push_back(o == "{" ? '}' : o == "(" ? ')' : ']');
          } else if (o == "}" || o == ")" || o == "]") {
            if (balance.empty()) fail(i, "unexpected '" + std::string(o) + "'");
            if (balance.back() != o[0])
              fail(i, "unexpected '" + std::string(o) + "', expected '" + std::string(1, balance.back()) + "'");
            balance.pop_back();
          }
          emit(TokenType::Operator, std::string(o), i);
          i += o.size();
          matched = true;
          break;
        }
      }
      if (!matched) {
        std::string ch;
        pystr::append_utf8(ch, pystr::decode(s.substr(i, 4)).front());
        fail(i, "unexpected character '" + ch + "'");
      }
    }
  }

  std::size_t lex_number(std::size_t i) {
    std::string_view s = src_;
    auto digits = [&](std::size_t k) {  // (\d+_)*\d+
      std::size_t j = k;
      if (j >= s.size() || !std::isdigit(static_cast<unsigned char>(s[j]))) return std::string::npos;
      while (j < s.size()) {
        if (std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        else if (s[j] == '_' && j + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[j + 1]))) ++j;
        else break;
      }
      return j;
    };
    std::size_t ip = digits(i);
    std::size_t end = ip;
    bool is_float = false;
    if (end < s.size() && s[end] == '.') {
      std::size_t f = digits(end + 1);
      if (f != std::string::npos) {
        end = f;
        is_float = true;
      }
    }
    if (end < s.size() && (s[end] == 'e' || s[end] == 'E')) {
      std::size_t k = end + 1;
      if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
      std::size_t f = digits(k);
      if (f != std::string::npos) {
        end = f;
        is_float = true;
      }
    }
    std::string text;
    for (char ch : s.substr(i, end - i))
      if (ch != '_') text.push_back(ch);
    Token t;
    t.pos = pos_of(i);
    t.value = text;
    if (is_float) {
      t.type = TokenType::Float;
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      t.type = TokenType::Integer;
      errno = 0;
      t.int_value = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) fail(i, "integer literal too large");
    }
    tokens_.push_back(std::move(t));
    return end;
  }

  std::size_t lex_string(std::size_t i) {
    std::string_view s = src_;
    char q = s[i];
    std::string out;
    std::size_t j = i + 1;
    auto hexval = [&](std::size_t k, int n) -> long {
      if (k + n > s.size()) return -1;
      long v = 0;
      for (int d = 0; d < n; ++d) {
        char c = s[k + d];
        int h = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                : -1;
        if (h < 0) return -1;
        v = v * 16 + h;
      }
      return v;
    };
    while (true) {
      if (j >= s.size()) fail(i, "unterminated string literal");
      char c = s[j];
      if (c == q) break;
      if (c != '\\') {
        out.push_back(c);
        ++j;
        continue;
      }
      if (j + 1 >= s.size()) fail(i, "unterminated string literal");
      char e = s[j + 1];
      j += 2;
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          long v = hexval(j, n);
          if (v < 0 || v > 0x10FFFF) fail(j - 2, std::string("truncated \\") + e + " escape in string literal");
          pystr::append_utf8(out, static_cast<char32_t>(v));
          j += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            long v = e - '0';
            for (int d = 0; d < 2 && j < s.size() && s[j] >= '0' && s[j] <= '7'; ++d) v = v * 8 + (s[j++] - '0');
            pystr::append_utf8(out, static_cast<char32_t>(v));
          } else {
            // Python keeps unknown escapes verbatim.
            out.push_back('\\');
            out.push_back(e);
          }
      }
    }
    Token t;
    t.type = TokenType::String;
    t.value = std::move(out);
    t.pos = pos_of(i);
    tokens_.push_back(std::move(t));
    return j + 1;
  }

  LexerOptions opts_;
  std::string src_;
  std::vector<std::size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexerOptions& opts) { return Lexer(source, opts).run(); }

}  // namespace lookahead::jinja
