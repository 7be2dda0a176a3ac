// RMSNorm: out = x / sqrt(mean(x^2) + eps) * weight. The sum of squares is a
// sequential float sum (fixed order), so results are batch-invariant.
#pragma once

#include <cmath>
#include <cstdint>

namespace lookahead {

inline void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  float ss = 0.0f;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

}  // namespace lookahead
