#include "text/tokenizer.h"

#include <cctype>

#include "gguf/gguf_file.h"
#include "text/bpe_tokenizer.h"
#include "text/spm_tokenizer.h"
#include "text/unicode.h"
#include "util/error.h"

namespace lookahead {

Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GGUFFile& f) {
  Vocab v = Vocab::from_gguf(f);
  if (v.type == VocabType::Spm) return std::make_unique<SpmTokenizer>(std::move(v));
  return std::make_unique<BpeTokenizer>(std::move(v));
}

std::unique_ptr<Tokenizer> Tokenizer::from_file(const std::string& path) {
  auto f = GGUFFile::open(path);
  return from_gguf(*f);
}

std::vector<Tokenizer::Fragment> Tokenizer::partition(std::string_view text, bool parse_special) const {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({text, kNoToken});
  // Same order as llama.cpp: for each special token (longest first), split
  // every remaining raw fragment at each of its occurrences.
  for (TokenId id : vocab_.special_tokens) {
    const uint32_t attr = vocab_.attrs[id];
    if (!parse_special && (attr & (kAttrControl | kAttrUnknown))) continue;
    const std::string& st = vocab_.tokens[id];
    std::vector<Fragment> out;
    bool changed = false;
    for (const Fragment& fr : frags) {
      if (fr.token != kNoToken || fr.text.find(st) == std::string_view::npos) {
        out.push_back(fr);
        continue;
      }
      changed = true;
      std::string_view rest = fr.text;
      for (size_t m; (m = rest.find(st)) != std::string_view::npos;) {
        std::string_view left = rest.substr(0, m);
        if (attr & kAttrLStrip)
          while (!left.empty() && std::isspace(static_cast<unsigned char>(left.back()))) left.remove_suffix(1);
        if (!left.empty()) out.push_back({left, kNoToken});
        out.push_back({{}, id});
        rest = rest.substr(m + st.size());
        if (attr & kAttrRStrip)
          while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
      }
      if (!rest.empty()) out.push_back({rest, kNoToken});
    }
    if (changed) frags = std::move(out);
  }
  return frags;
}

std::string Tokenizer::decode(const std::vector<TokenId>& ids, bool render_special) const {
  std::string out;
  bool strip = vocab_.add_space_prefix;
  for (TokenId id : ids) {
    std::string piece = token_to_piece(id, render_special);
    if (strip && id != vocab_.bos) {
      // The first token after the BOS carries the dummy-prefix space.
      if (!piece.empty() && piece[0] == ' ') piece.erase(0, 1);
      strip = false;
    }
    out += piece;
  }
  return out;
}

TokenStream::TokenStream(const Tokenizer& tok, bool at_text_start, bool render_special)
    : tok_(tok), render_special_(render_special), strip_pending_(at_text_start && tok.strips_dummy_prefix()) {}

std::string TokenStream::push(TokenId id) {
  std::string piece = tok_.token_to_piece(id, render_special_);
  if (strip_pending_ && id != tok_.bos()) {
    if (!piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    strip_pending_ = false;
  }
  pending_ += piece;
  const size_t n = text::utf8_complete_prefix(pending_);
  std::string out = pending_.substr(0, n);
  pending_.erase(0, n);
  return out;
}

std::string TokenStream::flush() {
  std::string out;
  out.swap(pending_);
  strip_pending_ = false;
  return out;
}

}  // namespace lookahead
