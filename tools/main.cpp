// lookahead: command-line entry point. One binary, several subcommands.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "commands.h"
#include "lookahead/error.h"

namespace {

struct Command {
  const char* name;
  int (*fn)(int, char**, int);
  const char* summary;
};

const Command kCommands[] = {
    {"run", lookahead::cli::cmd_run, "generate text from a prompt (lookahead decoding by default)"},
    {"info", lookahead::cli::cmd_info, "show a GGUF model's architecture, tensors and vocabulary"},
    {"bench", lookahead::cli::cmd_bench, "plain vs lookahead on MT-bench/HumanEval/GSM8K; --forward: forward-pass cost"},
    {"synth", lookahead::cli::cmd_synth, "write a random-weight GGUF in a real model's shape (for speed work)"},
    {"serve", lookahead::cli::cmd_serve, "OpenAI-compatible HTTP server (completions, chat, streaming)"},
    {"tokenize", lookahead::cli::cmd_tokenize, "tokenize text like llama-tokenize (works on vocab-only GGUFs)"},
};

void usage(FILE* out) {
  std::fprintf(out, "usage: lookahead <command> [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\n'lookahead <command> --help' lists a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("lookahead 0.1.0\n");
    return 0;
  }
  for (const auto& c : kCommands) {
    if (cmd != c.name) continue;
    try {
      return c.fn(argc, argv, 2);
    } catch (const lookahead::Error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "error: out of memory\n");
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "error: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 2;
}
