// `lookahead tokenize`: prints the tokens of a prompt, in the format of
// llama.cpp's llama-tokenize.
//
//   lookahead tokenize -m MODEL (-p TEXT | -f FILE | --stdin)
//                      [--ids] [--no-bos] [--no-parse-special] [--show-count]
//
// Default output: one line per token, "%6d -> '%s'", the piece rendered with
// special tokens shown (printed like printf "%s": up to a NUL byte). With
// --ids: one line "[1, 2, 3]". BOS/EOS are added when the vocabulary asks
// for it, unless --no-bos (llama-tokenize passes add_special = add_bos &&
// !no_bos). Special-token texts are parsed unless --no-parse-special. Files
// and stdin are read byte for byte. Only the vocabulary is read, so
// vocab-only GGUFs work.
//
// argv[0] is the subcommand name; options start at argv[1].
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "gguf/gguf_file.h"
#include "text/tokenizer.h"
#include "util/error.h"

namespace {

void print_usage(FILE* out) {
  std::fprintf(out,
               "usage: lookahead tokenize -m MODEL (-p TEXT | -f FILE | --stdin) [--ids] [--no-bos]\n"
               "                          [--no-parse-special] [--show-count]\n");
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) lookahead::fail("cannot open prompt file '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  using namespace lookahead;
  std::string model, prompt;
  int n_sources = 0;
  bool ids_only = false, no_bos = false, no_parse_special = false, show_count = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) fail("option {} needs a value", a);
        return argv[++i];
      };
      if (a == "-m" || a == "--model") {
        model = value();
      } else if (a == "-p" || a == "--prompt") {
        prompt = value();
        ++n_sources;
      } else if (a == "-f" || a == "--file") {
        prompt = read_file_bytes(value());
        ++n_sources;
      } else if (a == "--stdin") {
        prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        ++n_sources;
      } else if (a == "--ids") {
        ids_only = true;
      } else if (a == "--no-bos") {
        no_bos = true;
      } else if (a == "--no-parse-special") {
        no_parse_special = true;
      } else if (a == "--show-count") {
        show_count = true;
      } else if (a == "--log-disable") {
        // accepted for llama-tokenize compatibility; we log nothing anyway
      } else if (a == "-h" || a == "--help") {
        print_usage(stdout);
        return 0;
      } else {
        fail("unknown option '{}'", a);
      }
    }
    if (model.empty()) fail("missing -m MODEL");
    if (n_sources != 1) fail("give exactly one of -p TEXT, -f FILE, --stdin");

    auto file = GGUFFile::open(model);
    auto tok = Tokenizer::from_gguf(*file);
    const bool add_special = tok->add_bos() && !no_bos;
    const std::vector<TokenId> ids = tok->encode(prompt, add_special, !no_parse_special);

    std::string out;
    if (ids_only) {
      out += '[';
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ", ";
        out += std::to_string(ids[i]);
      }
      out += "]\n";
    } else {
      char buf[32];
      for (TokenId id : ids) {
        std::snprintf(buf, sizeof buf, "%6d -> '", id);
        out += buf;
        const std::string piece = tok->token_to_piece(id, /*render_special=*/true);
        out.append(piece.c_str());  // stops at a NUL byte, like printf("%s")
        out += "'\n";
      }
    }
    if (show_count) out += "Total number of tokens: " + std::to_string(ids.size()) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    if (model.empty() || n_sources != 1) print_usage(stderr);
    return 1;
  }
}
