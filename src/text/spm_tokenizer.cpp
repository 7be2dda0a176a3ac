#include "text/spm_tokenizer.h"

#include <algorithm>
#include <queue>

#include <fmt/format.h>

#include "text/unicode.h"

namespace lookahead {

namespace {

const std::string kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

struct Symbol {
  int prev, next;
  size_t off, len;  // byte range in the escaped text; len == 0: merged away
};

struct Bigram {
  int left, right;
  float score;
  size_t len;  // byte length of the merged text, to detect stale entries
};

struct BigramLess {
  // Highest score first; equal scores: leftmost first.
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(Vocab v) : Tokenizer(std::move(v)) {
  for (int b = 0; b < 256; ++b) {
    TokenId id = vocab_.find(fmt::format("<0x{:02X}>", b));
    // llama.cpp falls back to a token that is the byte itself.
    if (id == kNoToken) id = vocab_.find(std::string(1, static_cast<char>(b)));
    byte_tokens_[b] = id;
  }
}

TokenId SpmTokenizer::byte_token(uint8_t b) const { return byte_tokens_[b] != kNoToken ? byte_tokens_[b] : vocab_.unk; }

void SpmTokenizer::encode_fragment(const std::string& text, std::vector<TokenId>& out) const {
  if (text.empty()) return;
  std::vector<Symbol> syms;
  syms.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    // Group bytes the way llama.cpp does (lead-byte length, clipped at the end)
    // so that invalid UTF-8 falls back to the same byte tokens.
    const size_t len = std::min(text::utf8_lead_len(static_cast<uint8_t>(text[off])), text.size() - off);
    const int idx = static_cast<int>(syms.size());
    syms.push_back({idx - 1, off + len == text.size() ? -1 : idx + 1, off, len});
    off += len;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramLess> queue;
  std::string_view tv(text);
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const size_t len = syms[l].len + syms[r].len;
    const TokenId id = vocab_.find(tv.substr(syms[l].off, len));
    if (id == kNoToken) return;
    queue.push({l, r, vocab_.scores[id], len});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Bigram bg = queue.top();
    queue.pop();
    Symbol& l = syms[bg.left];
    Symbol& r = syms[bg.right];
    // Stale: one side was merged into something else since this was queued.
    if (l.len == 0 || r.len == 0 || l.len + r.len != bg.len) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = bg.left;
    try_add(l.prev, bg.left);
    try_add(bg.left, l.next);
  }

  // Every merged symbol is a token by construction; only single symbols can
  // be missing from the vocabulary, and those become byte tokens.
  for (int i = 0; i != -1; i = syms[i].next) {
    const std::string_view s = tv.substr(syms[i].off, syms[i].len);
    const TokenId id = vocab_.find(s);
    if (id != kNoToken) {
      out.push_back(id);
      continue;
    }
    for (char c : s) {
      const TokenId b = byte_token(static_cast<uint8_t>(c));
      if (b != kNoToken) out.push_back(b);
    }
  }
}

std::vector<TokenId> SpmTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<TokenId> out;
  if (add_special && vocab_.add_bos) out.push_back(vocab_.bos);
  // As llama.cpp: the dummy prefix goes before the first raw fragment and
  // before every raw fragment that follows a special token.
  bool prev_special = true;
  std::string buf;
  for (const Fragment& fr : partition(text, parse_special)) {
    if (fr.token != kNoToken) {
      out.push_back(fr.token);
      prev_special = true;
      continue;
    }
    buf.clear();
    if (vocab_.add_space_prefix && prev_special) buf += kSpace;
    for (char c : fr.text) {
      if (c == ' ') buf += kSpace;
      else buf += c;
    }
    encode_fragment(buf, out);
    prev_special = false;
  }
  if (add_special && vocab_.add_eos) out.push_back(vocab_.eos);
  return out;
}

std::string SpmTokenizer::token_to_piece(TokenId id, bool render_special) const {
  if (!vocab_.valid(id)) return {};
  const uint32_t attr = vocab_.attrs[id];
  const std::string& t = vocab_.tokens[id];
  if (attr & (kAttrControl | kAttrUnknown)) return render_special ? t : std::string();
  if (attr & kAttrUserDefined) return t;
  if (attr & kAttrNormal) {
    std::string s;
    s.reserve(t.size());
    for (size_t i = 0; i < t.size();) {
      if (t.compare(i, kSpace.size(), kSpace) == 0) {
        s += ' ';
        i += kSpace.size();
      } else {
        s += t[i++];
      }
    }
    return s;
  }
  if (attr & kAttrByte) {
    // "<0xNN>"
    auto hex = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex(t[3]) >= 0 && hex(t[4]) >= 0)
      return std::string(1, static_cast<char>(hex(t[3]) * 16 + hex(t[4])));
    return t;  // a byte token with another spelling: the text itself
  }
  return {};
}

}  // namespace lookahead
