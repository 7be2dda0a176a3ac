// Tokenizer vocabulary read from GGUF metadata (tokenizer.ggml.*).
//
// Holds the token texts, scores, per-token attributes, BPE merge ranks, the
// special token ids and the add_bos/add_eos/add_space_prefix flags, with
// llama.cpp's defaults and fix-ups (see Vocab::from_gguf). Immutable after
// construction; thread-safe to read.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace lookahead {

class GGUFFile;

using TokenId = int32_t;
inline constexpr TokenId kNoToken = -1;

// tokenizer.ggml.token_type values (as written by the GGUF converters).
enum class TokenType : int32_t {
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

// Per-token attribute bits, derived from TokenType plus llama.cpp's fix-ups
// (e.g. "<|eot_id|>"-like tokens forced to Control).
enum TokenAttr : uint32_t {
  kAttrNormal = 1u << 0,
  kAttrUnknown = 1u << 1,
  kAttrControl = 1u << 2,
  kAttrUserDefined = 1u << 3,
  kAttrUnused = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLStrip = 1u << 6,  // when split out of text, eat whitespace to its left
  kAttrRStrip = 1u << 7,  // ... and to its right
};

enum class VocabType { Spm, Bpe };

struct Vocab {
  VocabType type = VocabType::Spm;
  std::string model;  // tokenizer.ggml.model ("llama", "gpt2")
  std::string pre;    // tokenizer.ggml.pre ("" when absent)
  std::string name;   // general.name (some fix-ups key off it)

  std::vector<std::string> tokens;
  std::vector<float> scores;    // all 0 when absent
  std::vector<uint32_t> attrs;  // TokenAttr bits
  // Transparent hashing: lookups by string_view do not allocate.
  struct StrHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, TokenId, StrHash, std::equal_to<>> token_to_id;
  // BPE merges: key is "left right" exactly as stored in tokenizer.ggml.merges
  // (the left part never contains a space in byte-level vocabularies).
  std::unordered_map<std::string, int32_t, StrHash, std::equal_to<>> merge_rank;

  TokenId bos = kNoToken, eos = kNoToken, eot = kNoToken, eom = kNoToken;
  TokenId unk = kNoToken, sep = kNoToken, pad = kNoToken, mask = kNoToken;
  std::unordered_set<TokenId> eog;  // end-of-generation set (eos, eot, eom, text-detected)

  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  // SPM dummy prefix
  bool ignore_merges = false;     // BPE (llama3): a pre-token that is a whole token skips merging

  // Control, user-defined and unknown tokens, longest text first: the
  // candidates for splitting special-token texts out of the input.
  std::vector<TokenId> special_tokens;

  // Reads and validates; throws Error naming the file and the problem.
  static Vocab from_gguf(const GGUFFile& f);

  int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
  bool valid(TokenId id) const { return id >= 0 && id < n_tokens(); }
  bool has_attr(TokenId id, uint32_t a) const { return valid(id) && (attrs[id] & a) != 0; }
  TokenId find(std::string_view text) const {
    auto it = token_to_id.find(text);
    return it == token_to_id.end() ? kNoToken : it->second;
  }
  // BPE merge rank of (left, right), or -1.
  int32_t rank(std::string_view left, std::string_view right) const;
};

}  // namespace lookahead
