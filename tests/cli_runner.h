// Runs the built `lookahead` binary and captures stdout, stderr and the exit
// code, for end-to-end CLI tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "test_support.h"

namespace lookahead::test {

struct CliResult {
  int code = -1;
  std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// args are passed to the CLI verbatim (each quoted for the shell).
inline CliResult run_cli(const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string base = (std::filesystem::temp_directory_path() /
                            ("lookahead_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                               .string();
  std::string cmd = shell_quote(cli_path());
  for (const auto& a : args) cmd.append(" ").append(shell_quote(a));
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive)
  // on `"literal" + std::string&&` here.
  cmd.append(" >").append(base).append(".out 2>").append(base).append(".err </dev/null");
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  return r;
}

}  // namespace lookahead::test
