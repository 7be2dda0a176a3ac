// Monotonic wall-clock timing in milliseconds.
#pragma once

#include <chrono>

namespace lookahead {

inline double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace lookahead
