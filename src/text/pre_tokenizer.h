// Regex pre-tokenizers for byte-level BPE, chosen by tokenizer.ggml.pre.
//
// The regex lists are llama.cpp's (llm_tokenizer_bpe), applied the same way:
// each regex further splits every piece produced by the previous one, and the
// text between matches is kept as pieces of its own. Matching uses PCRE2 in
// UTF + UCP mode (JIT when available), so \p{L}, \p{N}, \s and (?!\S) have
// Unicode semantics; '$' matches only at the very end of a piece, like
// ECMAScript std::regex in llama.cpp.
//
// Input must be valid UTF-8 (callers sanitize first). Thread-safe after
// construction: match data is allocated per call.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lookahead {

struct PreTokenizerSpec {
  bool known = true;           // false: the name was not recognised, default regexes used
  bool ignore_merges = false;  // llama3 family: whole-token pieces skip BPE merging
  bool add_bos = false;        // llama.cpp's add_bos default for this family
  std::vector<std::string> regexes;
};

// The spec for a tokenizer.ggml.pre value ("" = llama.cpp's default regexes).
PreTokenizerSpec pre_tokenizer_spec(const std::string& pre);

class PreTokenizer {
 public:
  // Compiles the regexes; throws Error if PCRE2 rejects one.
  explicit PreTokenizer(const std::vector<std::string>& regexes);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Splits valid UTF-8 `text` into consecutive non-empty pieces that cover it.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lookahead
