#include "ops/rope.h"

#include <cmath>

#include "util/error.h"

namespace lookahead {

RopeTable::RopeTable(const RopeParams& p, int max_pos) : p_(p), max_pos_(max_pos) {
  const int half = p.n_rot / 2;
  cos_.resize(static_cast<size_t>(max_pos) * half);
  sin_.resize(cos_.size());
  for (int pos = 0; pos < max_pos; ++pos) {
    for (int i = 0; i < half; ++i) {
      // Computed in double and rounded once: the closest float to the exact angle.
      const double theta = std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_rot);
      const double a = static_cast<double>(pos) * p.pos_scale * theta;
      cos_[static_cast<size_t>(pos) * half + i] = static_cast<float>(std::cos(a));
      sin_[static_cast<size_t>(pos) * half + i] = static_cast<float>(std::sin(a));
    }
  }
}

void RopeTable::apply(float* x, int n_heads, int pos) const {
  if (pos < 0 || pos >= max_pos_) fail("rope: position {} outside the table of {}", pos, max_pos_);
  const int half = p_.n_rot / 2;
  const float* c = cos_.data() + static_cast<size_t>(pos) * half;
  const float* s = sin_.data() + static_cast<size_t>(pos) * half;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<size_t>(h) * p_.head_dim;
    for (int i = 0; i < half; ++i) {
      const float x0 = v[2 * i], x1 = v[2 * i + 1];
      v[2 * i] = x0 * c[i] - x1 * s[i];
      v[2 * i + 1] = x0 * s[i] + x1 * c[i];
    }
  }
}

}  // namespace lookahead
