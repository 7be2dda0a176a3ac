#include "text/bpe_tokenizer.h"

#include <algorithm>
#include <queue>

#include "text/unicode.h"

namespace lookahead {

namespace {

struct Symbol {
  int prev, next;
  size_t off, len;  // byte range in the word; len == 0: merged away
};

struct Bigram {
  int left, right;
  int32_t rank;
  size_t len_left, len_right;  // sizes when queued, to detect stale entries
};

struct BigramGreater {
  // Lowest rank first; equal ranks: leftmost first.
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

BpeTokenizer::BpeTokenizer(Vocab v) : Tokenizer(std::move(v)) {
  pre_ = std::make_unique<PreTokenizer>(pre_tokenizer_spec(vocab_.pre).regexes);
}

void BpeTokenizer::encode_word(const std::string& word, std::vector<TokenId>& out) const {
  if (word.empty()) return;
  if (vocab_.ignore_merges) {
    if (TokenId id = vocab_.find(word); id != kNoToken) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Symbol> syms;
  syms.reserve(word.size());
  for (size_t off = 0; off < word.size();) {
    const size_t len = std::min(text::utf8_lead_len(static_cast<uint8_t>(word[off])), word.size() - off);
    const int idx = static_cast<int>(syms.size());
    syms.push_back({idx - 1, off + len == word.size() ? -1 : idx + 1, off, len});
    off += len;
  }
  const std::string_view wv(word);
  std::priority_queue<Bigram, std::vector<Bigram>, BigramGreater> queue;
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const int32_t rank = vocab_.rank(wv.substr(syms[l].off, syms[l].len), wv.substr(syms[r].off, syms[r].len));
    if (rank < 0) return;
    queue.push({l, r, rank, syms[l].len, syms[r].len});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Bigram bg = queue.top();
    queue.pop();
    Symbol& l = syms[bg.left];
    Symbol& r = syms[bg.right];
    // Symbols only grow to the right and are contiguous, so an entry is
    // current iff both sides still have the sizes it was queued with and
    // are still neighbours (llama.cpp compares the texts; equivalent).
    if (l.len == 0 || r.len == 0 || l.len != bg.len_left || r.len != bg.len_right || l.next != bg.right) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = bg.left;
    try_add(l.prev, bg.left);
    try_add(bg.left, l.next);
  }

  for (int i = 0; i != -1; i = syms[i].next) {
    const std::string_view s = wv.substr(syms[i].off, syms[i].len);
    if (TokenId id = vocab_.find(s); id != kNoToken) {
      out.push_back(id);
      continue;
    }
    for (char c : s) {
      if (TokenId id = vocab_.find(std::string_view(&c, 1)); id != kNoToken) out.push_back(id);
    }
  }
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<TokenId> out;
  if (add_special && vocab_.add_bos) out.push_back(vocab_.bos);
  for (const Fragment& fr : partition(text, parse_special)) {
    if (fr.token != kNoToken) {
      out.push_back(fr.token);
      continue;
    }
    const std::string clean = text::sanitize_utf8(fr.text);
    for (std::string_view piece : pre_->split(clean)) encode_word(text::bytes_to_unicode_string(piece), out);
  }
  if (add_special && vocab_.add_eos) out.push_back(vocab_.eos);
  return out;
}

std::string BpeTokenizer::token_to_piece(TokenId id, bool render_special) const {
  if (!vocab_.valid(id)) return {};
  const uint32_t attr = vocab_.attrs[id];
  const std::string& t = vocab_.tokens[id];
  if (attr & (kAttrControl | kAttrUnknown)) return render_special ? t : std::string();
  if (attr & kAttrUserDefined) return t;
  if (!(attr & kAttrNormal)) return {};
  // Map each code point back to its byte. Code points outside the byte map
  // (rare, hand-added tokens) are kept as their own UTF-8 (llama.cpp writes an
  // "[UNK_BYTE_...]" marker instead).
  std::string s;
  s.reserve(t.size());
  std::string_view tv(t);
  for (size_t i = 0; i < tv.size();) {
    const text::Utf8Decode d = text::utf8_decode(tv.substr(i));
    if (d.status != text::Utf8Decode::Ok) {
      s += tv[i++];
      continue;
    }
    const int b = text::unicode_to_byte(d.cpt);
    if (b >= 0) s += static_cast<char>(b);
    else s.append(tv.substr(i, d.len));
    i += d.len;
  }
  return s;
}

}  // namespace lookahead
