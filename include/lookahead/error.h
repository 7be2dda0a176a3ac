// The one exception type the library throws for bad input (files, options,
// prompts). what() is a one-line message naming the input and the problem.
#pragma once

#include <stdexcept>
#include <string>

namespace lookahead {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace lookahead
