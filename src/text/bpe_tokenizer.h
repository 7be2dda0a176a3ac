// Byte-level BPE tokenizer (tokenizer.ggml.model = "gpt2"), matching
// llama.cpp's llm_tokenizer_bpe.
//
// Pipeline per raw fragment: invalid UTF-8 -> U+FFFD (as llama.cpp), regex
// pre-tokenization (PreTokenizer), GPT-2 byte->unicode encoding of each
// piece, then within each piece repeated merging of the adjacent pair with
// the lowest merge rank (ties: leftmost), with a priority queue and lazy
// invalidation: O(n log n) per piece. Final symbols that are not tokens are
// emitted byte by byte (only single-byte texts that are tokens survive), as
// llama.cpp does. With ignore_merges (llama3), a piece that is itself a token
// is emitted directly.
#pragma once

#include <memory>

#include "text/pre_tokenizer.h"
#include "text/tokenizer.h"

namespace lookahead {

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(Vocab v);
  std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const override;
  std::string token_to_piece(TokenId id, bool render_special = false) const override;

 private:
  void encode_word(const std::string& word, std::vector<TokenId>& out) const;

  std::unique_ptr<PreTokenizer> pre_;
};

}  // namespace lookahead
