// Error reporting used by every layer.
//
// Contract: all recoverable failures (bad files, bad flags, bad requests)
// throw lookahead::Error with a one-line, human-readable message that names
// the offending input. Nothing in the library calls exit() or abort() on bad
// input; the tools catch Error at the top and turn it into an exit code or an
// HTTP error.
#pragma once

#include <string>

#include <fmt/format.h>

#include "lookahead/error.h"

namespace lookahead {

// Throws Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace lookahead
