// Tokenizer tests: exactness against llama.cpp's vocab test cases
// (shared/vocab/*.gguf.inp/.out, generated with the reference HF tokenizers),
// the stories260K prompt ids, round trips, and robustness on random bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
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


// Vocabularies without .out cases still load and round-trip.
const char* const kAllVocabs[] = {
    "llama-spm", "phi-3", "gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder",
    "falcon", "mpt", "starcoder", "refact", "gpt-neox", "baichuan",
};

// Exactness of the round trip, per vocabulary family:
//  - BPE: decode(encode(x)) == sanitize_utf8(x) (invalid bytes become U+FFFD
//    before pre-tokenization, as in llama.cpp); exact for valid UTF-8.
//  - SPM: exact for any bytes (byte fallback), except that a literal U+2581
//    in the input decodes as ' ', and control-token texts that the merges
//    happen to rebuild would be dropped (not seen in these vocabularies).
TEST(Tokenizer, RoundTripOnVocabCases) {
  for (const char* name : kAllVocabs) {
    const Tokenizer& tok = vocab_tokenizer(name);
    for (const auto& c : load_cases("llama-spm")) {  // same texts in every .inp
      const auto ids = tok.encode(c.text, false, false);
      EXPECT_EQ(tok.decode(ids), c.text) << "vocab " << name << " text '" << c.text << "'";
      const auto with_bos = tok.encode(c.text, true, false);
      EXPECT_EQ(tok.decode(with_bos), c.text) << "vocab " << name << " (add_special) text '" << c.text << "'";
    }
  }
}

// Checks that no chunk boundary falls inside a valid UTF-8 sequence of `full`.
void expect_no_split_code_points(const std::string& full, const std::vector<size_t>& boundaries,
                                 const std::string& what) {
  std::vector<bool> inside(full.size() + 1, false);
  for (size_t i = 0; i < full.size();) {
    const auto d = text::utf8_decode(std::string_view(full).substr(i));
    if (d.status == text::Utf8Decode::Ok) {
      for (size_t k = 1; k < d.len; ++k) inside[i + k] = true;
      i += d.len;
    } else {
      i += 1;
    }
  }
  for (size_t b : boundaries) EXPECT_FALSE(inside[b]) << what << ": chunk boundary at " << b << " splits a code point";
}

std::string stream_all(const Tokenizer& tok, const std::vector<TokenId>& ids, std::vector<size_t>* boundaries) {
  TokenStream ts(tok);
  std::string out;
  for (TokenId id : ids) {
    out += ts.push(id);
    boundaries->push_back(out.size());
  }
  out += ts.flush();
  return out;
}

TEST(Tokenizer, RandomBytesEncodeDecodeStream) {
  const char* const names[] = {"llama-spm", "phi-3", "gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "falcon", "mpt"};
  // Fragments that make random strings hit multi-byte and special paths.
  const std::vector<std::string> pieces = {
      " ", "  ", "\n", "\t", "a", "Hello", "'s", "123", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\xA6\x99", "\xE4\xBD\xA0",
      "\xE2\x96\x81", "<s>", "<|endoftext|>", "\xC3", "\xE2\x82", "\xF0\x9F", "\x80", "\xFF", "\xC0\x80", "\xED\xA0\x80",
  };
  std::mt19937 rng(1234);
  int n_total = 0;
  for (const char* name : names) {
    const Tokenizer& tok = vocab_tokenizer(name);
    const bool spm = tok.vocab().type == VocabType::Spm;
    for (int iter = 0; iter < 400; ++iter, ++n_total) {
      // Even iterations: arbitrary bytes; odd ones: valid UTF-8 only.
      const bool valid_only = iter % 2 == 1;
      std::string s;
      const int len = static_cast<int>(rng() % 48);
      for (int i = 0; i < len; ++i) {
        std::string p = rng() % 2 ? std::string(1, static_cast<char>(rng() % (valid_only ? 128 : 256)))
                                  : pieces[rng() % pieces.size()];
        if (!valid_only || text::is_valid_utf8(p)) s += p;
      }
      const auto ids = tok.encode(s, iter % 2 == 0, iter % 3 == 0);
      for (TokenId id : ids) ASSERT_TRUE(id >= 0 && id < tok.n_vocab()) << name;
      const std::string dec = tok.decode(ids);
      // Without parse_special the text must come back. BPE: invalid bytes come
      // back as U+FFFD. SPM: exact for valid UTF-8 without a literal U+2581
      // (which decodes as ' '); for invalid UTF-8, llama.cpp's grouping lets an
      // invalid lead byte swallow the '▁' that replaced a following space, and
      // that space then decodes as "▁" (we keep llama.cpp's ids).
      if (iter % 3 != 0) {
        if (!spm) {
          // Bytes whose byte-level symbol is not in the vocabulary (Falcon
          // lacks a few control characters) are dropped, as in llama.cpp.
          std::string want;
          for (char c : text::sanitize_utf8(s))
            if (tok.vocab().find(text::byte_to_unicode(static_cast<uint8_t>(c))) != kNoToken) want += c;
          EXPECT_EQ(dec, want) << "vocab " << name << " iter " << iter;
        } else if (valid_only && s.find("\xE2\x96\x81") == std::string::npos) {
          EXPECT_EQ(dec, s) << "vocab " << name << " iter " << iter;
        }
      }
      std::vector<size_t> bounds;
      EXPECT_EQ(stream_all(tok, ids, &bounds), dec) << "vocab " << name << " iter " << iter;
      expect_no_split_code_points(dec, bounds, std::string(name) + " iter " + std::to_string(iter));
    }
  }
  EXPECT_GE(n_total, 3000);
}

TEST(Tokenizer, TokenStreamHoldsIncompleteSequences) {
  const Tokenizer& tok = vocab_tokenizer("llama-spm");
  // 🦙 is not in the Llama 2 vocabulary: it falls back to 4 byte tokens.
  const auto ids = tok.encode("\xF0\x9F\xA6\x99!", false, false);
  TokenStream ts(tok, /*at_text_start=*/false);
  std::vector<std::string> outs;
  for (TokenId id : ids) outs.push_back(ts.push(id));
  outs.push_back(ts.flush());
  std::string all;
  for (const auto& o : outs) {
    EXPECT_TRUE(text::is_valid_utf8(o)) << "chunk '" << o << "'";
    all += o;
  }
  EXPECT_EQ(all, " \xF0\x9F\xA6\x99!");  // continuation mode keeps the dummy-prefix space
  // An invalid byte is passed through at once, not held.
  TokenStream raw(tok, false);
  const TokenId b80 = tok.vocab().find("<0x80>");
  ASSERT_NE(b80, kNoToken);
  EXPECT_EQ(raw.push(b80), "\x80");
  const TokenId bf0 = tok.vocab().find("<0xF0>");
  EXPECT_EQ(raw.push(bf0), "");
  EXPECT_EQ(raw.flush(), "\xF0");
}

TEST(Tokenizer, SpecialTokensAndFlags) {
  const Tokenizer& l3 = vocab_tokenizer("llama-bpe");
  EXPECT_TRUE(l3.add_bos());  // llama-bpe pre implies add_bos in llama.cpp
  EXPECT_EQ(l3.bos(), 128000);
  EXPECT_EQ(l3.eot(), 128009);
  EXPECT_TRUE(l3.is_eog(128001));
  EXPECT_TRUE(l3.is_eog(128009));
  EXPECT_FALSE(l3.is_eog(128000));
  const auto hello = l3.encode("hello", false, false);
  std::vector<TokenId> want = {128000, 128006};
  want.insert(want.end(), hello.begin(), hello.end());
  want.push_back(128009);
  EXPECT_EQ(l3.encode("<|start_header_id|>hello<|eot_id|>", true, true), want);
  // Without parse_special the control texts are plain text.
  const auto plain = l3.encode("<|start_header_id|>hello<|eot_id|>", false, false);
  for (TokenId id : plain) EXPECT_LT(id, 128000);
  EXPECT_EQ(l3.decode(plain), "<|start_header_id|>hello<|eot_id|>");
  EXPECT_EQ(l3.token_to_piece(128009), "");
  EXPECT_EQ(l3.token_to_piece(128009, true), "<|eot_id|>");
  EXPECT_EQ(l3.decode(want, true), "<|begin_of_text|><|start_header_id|>hello<|eot_id|>");

  const Tokenizer& g2 = vocab_tokenizer("gpt-2");
  EXPECT_FALSE(g2.add_bos());
  EXPECT_EQ(g2.encode("Hello", true, false), g2.encode("Hello", false, false));

  const Tokenizer& ds = vocab_tokenizer("deepseek-llm");
  EXPECT_TRUE(ds.add_bos());  // from tokenizer.ggml.add_bos_token
  EXPECT_EQ(ds.encode("x", true, false).front(), 100000);

  const Tokenizer& qw = vocab_tokenizer("qwen2");
  const TokenId im_end = qw.vocab().find("<|im_end|>");
  ASSERT_NE(im_end, kNoToken);
  EXPECT_TRUE(qw.is_eog(im_end));
  EXPECT_TRUE(qw.is_control(im_end));

  // SPM: the dummy prefix goes after each special token.
  const Tokenizer& spm = vocab_tokenizer("llama-spm");
  const auto a = spm.encode("Hello", false, false);
  auto b = spm.encode("<s>Hello", false, true);
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b.front(), 1);
  b.erase(b.begin());
  EXPECT_EQ(a, b);
  EXPECT_EQ(spm.encode("", true, false), std::vector<TokenId>{1});
  EXPECT_TRUE(spm.encode("", false, false).empty());

  // MPT: runs of spaces are user-defined tokens, split out even without
  // parse_special (as llama.cpp and HF do).
  const Tokenizer& mpt = vocab_tokenizer("mpt");
  const auto sp = mpt.encode("a    b", false, false);
  const TokenId four = mpt.vocab().find("    ");
  EXPECT_NE(std::find(sp.begin(), sp.end(), four), sp.end());
}

TEST(Tokenizer, LongInputIsFast) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "The quick brown fox, jumps over 1234 lazy dogs! \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\xA6\x99\n";
  text += std::string(5000, ' ') + std::string(5000, 'a') + std::string(3000, '7');
  for (const char* name : {"llama-spm", "llama-bpe", "gpt-2", "qwen2"}) {
    const Tokenizer& tok = vocab_tokenizer(name);
    const auto t0 = std::chrono::steady_clock::now();
    const auto ids = tok.encode(text, false, false);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(tok.decode(ids), text) << name;
    EXPECT_LT(ms, 2000.0) << name << " took " << ms << " ms for " << text.size() << " bytes";
  }
}

// Writes a minimal GGUF v3 with the given string metadata.
std::string write_gguf(const std::string& name, const std::vector<std::pair<std::string, std::string>>& kv) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream o(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { o.write(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [&](uint64_t v) { o.write(reinterpret_cast<const char*>(&v), 8); };
  auto str = [&](const std::string& s) { u64(s.size()); o.write(s.data(), static_cast<std::streamsize>(s.size())); };
  o.write("GGUF", 4);
  u32(3);
  u64(0);
  u64(kv.size());
  for (const auto& [k, v] : kv) {
    str(k);
    u32(8);
    str(v);
  }
  return path;
}

TEST(Tokenizer, RejectsMissingOrUnsupportedVocab) {
  const std::string none = write_gguf("lookahead_tok_none.gguf", {{"general.architecture", "llama"}});
  EXPECT_THROW(Tokenizer::from_file(none), Error);
  const std::string bert = write_gguf("lookahead_tok_bert.gguf", {{"tokenizer.ggml.model", "bert"}});
  EXPECT_THROW(Tokenizer::from_file(bert), Error);
  const std::string empty = write_gguf("lookahead_tok_empty.gguf", {{"tokenizer.ggml.model", "llama"}});
  EXPECT_THROW(Tokenizer::from_file(empty), Error);
  std::filesystem::remove(none);
  std::filesystem::remove(bert);
  std::filesystem::remove(empty);
}

}  // namespace
}  // namespace lookahead
