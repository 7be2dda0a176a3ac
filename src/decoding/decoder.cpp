#include "decoding/decoder.h"

#include <algorithm>

namespace lookahead {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::Length: return "length";
    case StopReason::EndOfGeneration: return "eos";
    case StopReason::ContextFull: return "context";
    case StopReason::Stopped: return "stopped";
  }
  return "?";
}

namespace detail {

size_t OutputCollector::accept(std::span<const TokenId> toks) {
  size_t kept = 0;
  for (; kept < toks.size() && !done_; ++kept) {
    const TokenId t = toks[kept];
    if (std::find(req_.stop_tokens.begin(), req_.stop_tokens.end(), t) != req_.stop_tokens.end()) {
      stop(StopReason::EndOfGeneration);
      break;
    }
    res_.tokens.push_back(t);
    history_.push_back(t);
    if (static_cast<int>(res_.tokens.size()) >= req_.max_tokens) stop(StopReason::Length);
  }
  res_.stats.generated_tokens = static_cast<int>(res_.tokens.size());
  if (kept > 0 && sink_ && !sink_(toks.subspan(0, kept)) && !done_) stop(StopReason::Stopped);
  return kept;
}

}  // namespace detail

}  // namespace lookahead
