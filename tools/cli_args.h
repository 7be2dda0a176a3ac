// Minimal declarative flag parser for the CLI subcommands.
//
// Options are declared with their llama.cpp-style names, then parse() fills
// the bound variables. Unknown flags, missing values and malformed numbers
// throw lookahead::Error with a one-line message; main() prints it and
// exits with status 1.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace lookahead::cli {

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary) : command_(std::move(command)), summary_(std::move(summary)) {}

  void add_string(std::vector<std::string> names, std::string* out, std::string help, std::string metavar = "VALUE");
  void add_int(std::vector<std::string> names, int* out, std::string help);
  void add_int64(std::vector<std::string> names, long long* out, std::string help);
  void add_float(std::vector<std::string> names, float* out, std::string help);
  void add_flag(std::vector<std::string> names, bool* out, std::string help);
  // Flag that clears *out (e.g. --no-lookahead).
  void add_negative_flag(std::vector<std::string> names, bool* out, std::string help);
  // Called with the value, for options with custom parsing.
  void add_custom(std::vector<std::string> names, std::function<void(const std::string&)> fn, std::string help,
                  std::string metavar = "VALUE");

  // Parses argv[first..argc). Returns false if --help was given (usage
  // printed to stdout). Records which options were seen.
  bool parse(int argc, char** argv, int first);
  bool seen(const std::string& name) const;
  std::string usage() const;

 private:
  struct Opt {
    std::vector<std::string> names;
    bool takes_value;
    std::function<void(const std::string&)> apply;
    std::string help, metavar;
    bool seen = false;
  };
  std::string command_, summary_;
  std::vector<Opt> opts_;
};

// Reads a whole file byte for byte; throws Error naming the path.
std::string read_file(const std::string& path);

}  // namespace lookahead::cli
