// Tokenizer tests: exactness against llama.cpp's vocab test cases
// (shared/vocab/*.gguf.inp/.out, generated with the reference HF tokenizers),
// the stories260K prompt ids, round trips, and robustness on random bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gguf/gguf_file.h"
#include "test_support.h"
#include "text/tokenizer.h"
#include "text/unicode.h"
#include "util/error.h"

namespace lookahead {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Loads each vocabulary once for the whole test binary (they are up to 10 MB).
const Tokenizer& vocab_tokenizer(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[name];
  if (!slot) slot = Tokenizer::from_file(test::shared_path("vocab/ggml-vocab-" + name + ".gguf"));
  return *slot;
}

const Tokenizer& stories_tokenizer() {
  static std::unique_ptr<Tokenizer> tok = Tokenizer::from_file(test::model_path());
  return *tok;
}

struct VocabCase {
  std::string text;
  std::vector<TokenId> ids;
};

// Splits the .inp on "\n__ggml_vocab_test__\n" (dropping the empty tail after
// the last separator) and pairs each case with its line of the .out.
std::vector<VocabCase> load_cases(const std::string& name) {
  const std::string base = test::shared_path("vocab/ggml-vocab-" + name + ".gguf");
  const std::string inp = read_all(base + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(inp.substr(pos));
      break;
    }
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::ifstream out(base + ".out");
  std::vector<VocabCase> cases;
  std::string line;
  for (const std::string& t : texts) {
    if (!std::getline(out, line)) break;
    VocabCase c{t, {}};
    std::istringstream ls(line);
    for (long v; ls >> v;) c.ids.push_back(static_cast<TokenId>(v));
    cases.push_back(std::move(c));
  }
  return cases;
}

const char* const kVocabsWithCases[] = {
    "llama-spm", "phi-3", "gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder",
    "falcon", "mpt", "starcoder", "refact",
};

std::string ids_str(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

class TokenizerVocab : public ::testing::TestWithParam<const char*> {};

// Same flags as llama.cpp's test-tokenizer-0: add_special=false, parse_special=false.
TEST_P(TokenizerVocab, MatchesLlamaCppCases) {
  const std::string name = GetParam();
  const Tokenizer& tok = vocab_tokenizer(name);
  const auto cases = load_cases(name);
  ASSERT_GE(cases.size(), 40u) << name;
  int failures = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto got = tok.encode(cases[i].text, false, false);
    if (got != cases[i].ids) {
      ++failures;
      ADD_FAILURE() << "vocab " << name << " case " << i << " text '" << cases[i].text << "'\n  want: "
                    << ids_str(cases[i].ids) << "\n  got:  " << ids_str(got);
    }
  }
  EXPECT_EQ(failures, 0) << name;
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, TokenizerVocab, ::testing::ValuesIn(kVocabsWithCases),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

TEST(Tokenizer, Stories260KReferencePrompts) {
  const Tokenizer& tok = stories_tokenizer();
  EXPECT_EQ(tok.n_vocab(), 512);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_TRUE(tok.add_bos());
  EXPECT_TRUE(tok.is_eog(2));
  const auto ref = nlohmann::json::parse(read_all(test::shared_path("models/stories260K.reference.json")));
  ASSERT_FALSE(ref["cases"].empty());
  for (const auto& c : ref["cases"]) {
    const std::string prompt = c["prompt"];
    const auto want = c["prompt_ids"].get<std::vector<TokenId>>();
    EXPECT_EQ(tok.encode(prompt, true, false), want) << "prompt '" << prompt << "'";
    EXPECT_EQ(tok.decode(want), prompt);
  }
}

}  // namespace
}  // namespace lookahead
