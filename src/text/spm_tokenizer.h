// SentencePiece-style tokenizer (tokenizer.ggml.model = "llama"), matching
// llama.cpp's llm_tokenizer_spm.
//
// Algorithm: the text (with ' ' replaced by U+2581 '▁' and, at the start of
// each raw fragment that follows a special token or the start of input, a
// dummy-prefix '▁' when add_space_prefix) is split into UTF-8 symbols; then
// repeatedly the adjacent pair whose concatenation is a vocabulary token with
// the highest score is merged (ties: leftmost first), via a priority queue of
// bigrams with lazy invalidation: O(n log n). Symbols that are not tokens at
// the end are emitted as byte tokens <0xNN> (byte fallback), or the unknown
// token when the vocabulary has no byte tokens.
#pragma once

#include "text/tokenizer.h"

namespace lookahead {

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(Vocab v);
  std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const override;
  std::string token_to_piece(TokenId id, bool render_special = false) const override;

 private:
  void encode_fragment(const std::string& text, std::vector<TokenId>& out) const;
  TokenId byte_token(uint8_t b) const;

  TokenId byte_tokens_[256];
};

}  // namespace lookahead
