// Stop strings over streamed text: releases text as soon as it can no longer
// be the start of a stop string, and cuts the output before the first stop
// string that completes.
#pragma once

#include <string>
#include <vector>

namespace lookahead {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  // Appends text; returns what is safe to emit now. Sets stopped() when a
  // stop string completed (the text from it on is dropped).
  std::string push(const std::string& text);
  // Returns the held-back tail at the end of generation.
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace lookahead
