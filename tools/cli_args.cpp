#include "cli_args.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace lookahead::cli {
namespace {

long long parse_integer(const std::string& flag, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE) fail("{}: expected an integer, got '{}'", flag, v);
  return x;
}

}  // namespace

void ArgParser::add_string(std::vector<std::string> names, std::string* out, std::string help, std::string metavar) {
  opts_.push_back({std::move(names), true, [out](const std::string& v) { *out = v; }, std::move(help), std::move(metavar)});
}

void ArgParser::add_int(std::vector<std::string> names, int* out, std::string help) {
  const std::string flag = names.front();
  opts_.push_back({std::move(names), true,
                   [out, flag](const std::string& v) {
                     const long long x = parse_integer(flag, v);
                     if (x < -2147483647LL || x > 2147483647LL) fail("{}: value {} out of range", flag, v);
                     *out = static_cast<int>(x);
                   },
                   std::move(help), "N"});
}

void ArgParser::add_int64(std::vector<std::string> names, long long* out, std::string help) {
  const std::string flag = names.front();
  opts_.push_back({std::move(names), true, [out, flag](const std::string& v) { *out = parse_integer(flag, v); },
                   std::move(help), "N"});
}

void ArgParser::add_float(std::vector<std::string> names, float* out, std::string help) {
  const std::string flag = names.front();
  opts_.push_back({std::move(names), true,
                   [out, flag](const std::string& v) {
                     char* end = nullptr;
                     const float x = std::strtof(v.c_str(), &end);
                     if (v.empty() || *end != '\0' || x != x) fail("{}: expected a number, got '{}'", flag, v);
                     *out = x;
                   },
                   std::move(help), "X"});
}

void ArgParser::add_flag(std::vector<std::string> names, bool* out, std::string help) {
  opts_.push_back({std::move(names), false, [out](const std::string&) { *out = true; }, std::move(help), ""});
}

void ArgParser::add_negative_flag(std::vector<std::string> names, bool* out, std::string help) {
  opts_.push_back({std::move(names), false, [out](const std::string&) { *out = false; }, std::move(help), ""});
}

void ArgParser::add_custom(std::vector<std::string> names, std::function<void(const std::string&)> fn,
                           std::string help, std::string metavar) {
  opts_.push_back({std::move(names), true, std::move(fn), std::move(help), std::move(metavar)});
}

bool ArgParser::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(usage().c_str(), stdout);
      return false;
    }
    std::string value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      if (auto eq = a.find('='); eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    Opt* opt = nullptr;
    for (auto& o : opts_)
      for (const auto& n : o.names)
        if (n == a) opt = &o;
    if (!opt) fail("{}: unknown option '{}' (see 'lookahead {} --help')", command_, a, command_);
    if (opt->takes_value && !has_inline) {
      if (i + 1 >= argc) fail("{}: option {} needs a value", command_, a);
      value = argv[++i];
    } else if (!opt->takes_value && has_inline) {
      fail("{}: option {} takes no value", command_, a);
    }
    opt->apply(value);
    opt->seen = true;
  }
  return true;
}

bool ArgParser::seen(const std::string& name) const {
  for (const auto& o : opts_)
    for (const auto& n : o.names)
      if (n == name) return o.seen;
  return false;
}

std::string ArgParser::usage() const {
  std::string s = "usage: lookahead " + command_ + " [options]\n" + summary_ + "\n\noptions:\n";
  for (const auto& o : opts_) {
    std::string names;
    for (const auto& n : o.names) names += (names.empty() ? "" : ", ") + n;
    if (o.takes_value) names += " " + o.metavar;
    s += "  " + names;
    s += names.size() < 30 ? std::string(30 - names.size(), ' ') : "\n" + std::string(32, ' ');
    s += o.help + "\n";
  }
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open file", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace lookahead::cli
