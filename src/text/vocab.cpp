#include "text/vocab.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "gguf/gguf_file.h"
#include "text/pre_tokenizer.h"
#include "util/error.h"

namespace lookahead {

namespace {

uint32_t attr_from_type(int64_t type) {
  switch (static_cast<TokenType>(type)) {
    case TokenType::Normal: return kAttrNormal;
    case TokenType::Unknown: return kAttrUnknown;
    case TokenType::Control: return kAttrControl;
    case TokenType::UserDefined: return kAttrUserDefined;
    case TokenType::Unused: return kAttrUnused;
    case TokenType::Byte: return kAttrByte;
    default: return 0;  // undefined: rendered as nothing, never special
  }
}

// Reads an optional token id. Missing, negative or out-of-range values keep
// the default, as llama.cpp does (converters write 0xFFFFFFFF for "none").
void read_id(const GGUFFile& f, const char* key, int32_t n, TokenId& id) {
  if (id >= n) id = kNoToken;
  const GGUFValue* v = f.find(key);
  if (!v || !v->is_integer()) return;
  if (v->i64 >= 0 && v->i64 < n) id = static_cast<TokenId>(v->i64);
}

}  // namespace

int32_t Vocab::rank(std::string_view left, std::string_view right) const {
  std::string key;
  key.reserve(left.size() + right.size() + 1);
  key.append(left).append(1, ' ').append(right);
  auto it = merge_rank.find(key);
  return it == merge_rank.end() ? -1 : it->second;
}

Vocab Vocab::from_gguf(const GGUFFile& f) {
  Vocab v;
  const std::string& path = f.path();
  auto model = f.get_string("tokenizer.ggml.model");
  if (!model) fail("{}: no tokenizer in file (missing tokenizer.ggml.model)", path);
  v.model = *model;
  v.pre = f.get_string("tokenizer.ggml.pre").value_or("");
  v.name = f.get_string("general.name").value_or("");

  if (v.model == "llama") {
    v.type = VocabType::Spm;
    v.bos = 1; v.eos = 2; v.unk = 0;
    v.add_bos = true; v.add_eos = false; v.add_space_prefix = true;
  } else if (v.model == "gpt2") {
    v.type = VocabType::Bpe;
    v.bos = 11; v.eos = 11;  // llama.cpp's defaults for gpt2-style vocabularies
    const PreTokenizerSpec spec = pre_tokenizer_spec(v.pre);
    if (!spec.known) {
      std::fprintf(stderr, "warning: %s: unknown tokenizer.ggml.pre '%s', using the default pre-tokenizer\n",
                   path.c_str(), v.pre.c_str());
    }
    v.add_bos = spec.add_bos;
    v.ignore_merges = spec.ignore_merges;
    v.add_space_prefix = false;
  } else {
    fail("{}: unsupported tokenizer.ggml.model '{}' (supported: llama, gpt2)", path, v.model);
  }

  auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->empty()) fail("{}: missing or empty tokenizer.ggml.tokens", path);
  if (tokens->size() > 0x7fffffff) fail("{}: vocabulary too large", path);
  v.tokens = std::move(*tokens);
  const int32_t n = v.n_tokens();

  if (auto scores = f.get_float_array("tokenizer.ggml.scores")) {
    if (scores->size() < v.tokens.size())
      fail("{}: tokenizer.ggml.scores has {} entries, expected {}", path, scores->size(), n);
    v.scores.assign(scores->begin(), scores->begin() + n);
  } else {
    v.scores.assign(n, 0.0f);
  }
  v.attrs.assign(n, kAttrNormal);
  if (auto types = f.get_int_array("tokenizer.ggml.token_type")) {
    if (types->size() < v.tokens.size())
      fail("{}: tokenizer.ggml.token_type has {} entries, expected {}", path, types->size(), n);
    for (int32_t i = 0; i < n; ++i) v.attrs[i] = attr_from_type((*types)[i]);
  }

  v.token_to_id.reserve(v.tokens.size());
  for (int32_t i = 0; i < n; ++i) {
    // An empty token could never be produced or matched; give it a unique
    // placeholder text like llama.cpp so that lookups stay one-to-one.
    if (v.tokens[i].empty()) v.tokens[i] = "[EMPTY_" + std::to_string(i) + "]";
    if (!v.token_to_id.emplace(v.tokens[i], i).second)
      fail("{}: duplicate token '{}' in vocabulary (ids {} and {})", path, v.tokens[i], v.token_to_id[v.tokens[i]], i);
  }

  if (v.type == VocabType::Bpe) {
    auto merges = f.get_string_array("tokenizer.ggml.merges");
    if (!merges) fail("{}: BPE vocabulary without tokenizer.ggml.merges", path);
    v.merge_rank.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
      const std::string& m = (*merges)[i];
      // llama.cpp splits at the first space after position 0; a merge without
      // a separator can never match a pair and is skipped.
      const size_t pos = m.find(' ', 1);
      if (pos == std::string::npos) continue;
      v.merge_rank.emplace(m, static_cast<int32_t>(i));  // first (lowest) rank wins
    }
  }

  read_id(f, "tokenizer.ggml.bos_token_id", n, v.bos);
  read_id(f, "tokenizer.ggml.eos_token_id", n, v.eos);
  read_id(f, "tokenizer.ggml.eot_token_id", n, v.eot);
  read_id(f, "tokenizer.ggml.eom_token_id", n, v.eom);
  read_id(f, "tokenizer.ggml.unknown_token_id", n, v.unk);
  read_id(f, "tokenizer.ggml.seperator_token_id", n, v.sep);
  read_id(f, "tokenizer.ggml.padding_token_id", n, v.pad);
  read_id(f, "tokenizer.ggml.mask_token_id", n, v.mask);

  if (auto b = f.get_bool("tokenizer.ggml.add_bos_token")) v.add_bos = *b;
  if (auto b = f.get_bool("tokenizer.ggml.add_eos_token")) v.add_eos = *b;
  if (auto b = f.get_bool("tokenizer.ggml.add_space_prefix")) v.add_space_prefix = *b;
  if (v.add_bos && v.bos == kNoToken) fail("{}: tokenizer.ggml.add_bos_token is true but there is no BOS token", path);
  if (v.add_eos && v.eos == kNoToken) fail("{}: tokenizer.ggml.add_eos_token is true but there is no EOS token", path);

  // llama.cpp detects end-of-turn / end-of-generation tokens by their text
  // (converters rarely record them) and forces them to Control so they are
  // neither rendered nor matched as plain text.
  static const char* const kEotTexts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
      "<EOT>", "_<EOT>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
  };
  static const char* const kEogTexts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
      "<EOT>", "_<EOT>", "<|end_of_text|>", "<|return|>", "<|call|>",
  };
  if (v.eot == kNoToken) {
    // llama.cpp takes whichever match its hash map yields first; we take the
    // first in list order (most specific first), e.g. <|eot_id|> over
    // <|end_of_text|> for Llama 3. Both end generation either way.
    for (const char* t : kEotTexts) {
      if (TokenId id = v.find(t); id != kNoToken) {
        v.eot = id;
        break;
      }
    }
  }
  if (v.eot != kNoToken) v.attrs[v.eot] |= kAttrControl;
  if (v.eom == kNoToken) v.eom = v.find("<|eom_id|>");
  if (v.eom != kNoToken) v.attrs[v.eom] |= kAttrControl;
  for (const char* t : kEogTexts) {
    const TokenId id = v.find(t);
    if (id == kNoToken) continue;
    v.eog.insert(id);
    v.attrs[id] |= kAttrControl;
  }
  for (TokenId id : {v.eos, v.eot, v.eom})
    if (id != kNoToken) v.eog.insert(id);

  // Control tokens named "...unused..." are placeholders (llama.cpp).
  for (int32_t i = 0; i < n; ++i)
    if ((v.attrs[i] & kAttrControl) && v.tokens[i].find("unused") != std::string::npos) v.attrs[i] |= kAttrUnused;

  for (int32_t i = 0; i < n; ++i)
    if (v.attrs[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) v.special_tokens.push_back(i);
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(),
                   [&](TokenId a, TokenId b) { return v.tokens[a].size() > v.tokens[b].size(); });

  // Phi-3's special tokens swallow the whitespace after them (llama.cpp keys
  // this off the model name).
  std::string lname = v.name;
  for (char& c : lname) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lname.find("phi-3") != std::string::npos || lname.find("phi3") != std::string::npos) {
    for (TokenId id : v.special_tokens) v.attrs[id] |= kAttrRStrip;
    if (TokenId id = v.find("</s>"); id != kNoToken) v.attrs[id] |= kAttrRStrip;
    for (const char* t : {"<unk>", "<s>", "<|endoftext|>"})
      if (TokenId id = v.find(t); id != kNoToken) v.attrs[id] &= ~kAttrRStrip;
  }
  return v;
}

}  // namespace lookahead
