// Text <-> token ids, compatible with llama.cpp's tokenizers.
//
// Two algorithms, chosen by tokenizer.ggml.model:
//   "llama" -> SpmTokenizer: SentencePiece-style score-driven merges with
//              byte fallback (<0xNN>) and the dummy-prefix space.
//   "gpt2"  -> BpeTokenizer: byte-level BPE over merge ranks, after a regex
//              pre-tokenizer chosen by tokenizer.ggml.pre.
// Both produce exactly llama.cpp's ids (llama_tokenize) for the same flags,
// for valid UTF-8 input; see the .cpp files for the few documented cases of
// invalid UTF-8 where they may differ.
//
// Special tokens: before the algorithm runs, the texts of special tokens are
// cut out of the input, longest first (llama.cpp's tokenizer_st_partition).
// User-defined tokens (type 4) are always cut out; control (3) and unknown (2)
// tokens only when parse_special is set.
//
// Thread-safety: immutable after construction; encode/decode may be called
// concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/vocab.h"

namespace lookahead {

class GGUFFile;

class Tokenizer {
 public:
  virtual ~Tokenizer();

  // Reads tokenizer.ggml.* from any GGUF (vocab-only files too). Throws Error
  // on a missing/invalid vocabulary or an unsupported tokenizer model.
  static std::unique_ptr<Tokenizer> from_gguf(const GGUFFile& f);
  // Convenience: opens `path` and reads its vocabulary.
  static std::unique_ptr<Tokenizer> from_file(const std::string& path);

  // add_special: prepend BOS / append EOS as the vocabulary says
  // (tokenizer.ggml.add_bos_token / add_eos_token; llama.cpp defaults: SPM adds
  // BOS, BPE adds BOS only for the llama3/tekken pre-tokenizers).
  // parse_special: also recognise control/unknown token texts in `text`.
  // Any byte string is accepted; invalid UTF-8 never throws.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const = 0;

  // Raw bytes of one token: byte tokens -> that byte, SPM '▁' -> ' ', BPE
  // byte-level text -> the bytes it encodes. Control and unknown tokens render
  // as "" unless render_special (then their text); user-defined tokens always
  // render as their text; unused/undefined tokens and ids out of range as "".
  virtual std::string token_to_piece(TokenId id, bool render_special = false) const = 0;

  // Decodes a sequence that starts at the beginning of a text: the
  // concatenation of the pieces, except that when the vocabulary adds a dummy
  // prefix (SPM add_space_prefix) one leading space is removed from the first
  // piece after any leading BOS, so decode(encode(x, add_special, false)) == x
  // for SPM too. Unlike llama.cpp's detokenize we never "clean up" spaces
  // before punctuation, so decoding is lossless and streamable. Bytes are
  // returned as they are: the result may be invalid UTF-8 (see sanitize_utf8).
  std::string decode(const std::vector<TokenId>& ids, bool render_special = false) const;

  // True when decode() strips one leading space from the first text piece.
  bool strips_dummy_prefix() const { return vocab_.add_space_prefix; }

  int32_t n_vocab() const { return vocab_.n_tokens(); }
  TokenId bos() const { return vocab_.bos; }  // kNoToken (-1) when absent
  TokenId eos() const { return vocab_.eos; }
  TokenId eot() const { return vocab_.eot; }
  TokenId pad() const { return vocab_.pad; }
  TokenId unk() const { return vocab_.unk; }
  bool is_eog(TokenId id) const { return vocab_.eog.count(id) != 0; }
  bool is_control(TokenId id) const { return vocab_.has_attr(id, kAttrControl); }
  bool add_bos() const { return vocab_.add_bos; }
  bool add_eos() const { return vocab_.add_eos; }
  const Vocab& vocab() const { return vocab_; }

 protected:
  explicit Tokenizer(Vocab v) : vocab_(std::move(v)) {}

  // A piece of the input after special-token splitting: raw text, or a token.
  struct Fragment {
    std::string_view text;  // when token == kNoToken
    TokenId token = kNoToken;
  };
  // llama.cpp's tokenizer_st_partition: cuts special-token texts out of `text`.
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;

  Vocab vocab_;
};

// Incremental, UTF-8-safe detokenizer for streaming generated tokens.
//
// push() returns the text that became complete: it never ends inside a UTF-8
// sequence that later bytes could complete; such a tail is held back. Bytes
// that can never be part of valid UTF-8 are passed through raw, immediately
// (no U+FFFD substitution), so the concatenation of every push() plus flush()
// is byte-identical to Tokenizer::decode() of the same ids (with
// at_text_start = true) or to the plain concatenation of token_to_piece()
// (at_text_start = false, for a continuation after a prompt). flush() returns
// the held tail (possibly an incomplete sequence) and resets the stream to
// continue as a continuation.
class TokenStream {
 public:
  explicit TokenStream(const Tokenizer& tok, bool at_text_start = true, bool render_special = false);
  std::string push(TokenId id);
  std::string flush();

 private:
  const Tokenizer& tok_;
  bool render_special_;
  bool strip_pending_;  // still looking for the first piece to strip a dummy-prefix space from
  std::string pending_;
};

}  // namespace lookahead
