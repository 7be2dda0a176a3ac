// RMSNorm: out = x / sqrt(mean(x^2) + eps) * weight. The sum of squares is a
// sequential float sum (fixed order), so results are batch-invariant.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace lookahead {

// The step after the sum of squares ss, shared by rms_norm and
// rms_norm_rows so both give the same bytes.
inline void rms_norm_scale(const float* x, const float* weight, int64_t n, float eps, float ss, float* out) {
  const float scale = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

inline void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  float ss = 0.0f;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  rms_norm_scale(x, weight, n, eps, ss, out);
}

// rms_norm of rows x + r * ldx -> out + r * ldo, r < n_rows, each row's
// result exactly rms_norm's. One row's sum is a chain of dependent adds
// (~2.5 us for 2048 values, at the add latency); eight rows' chains side by
// side keep the adder busy instead, 4-5x faster for a batch.
inline void rms_norm_rows(const float* x, int64_t ldx, const float* weight, int64_t n, float eps, float* out,
                          int64_t ldo, int n_rows) {
  constexpr int kRows = 8;
  for (int r0 = 0; r0 < n_rows; r0 += kRows) {
    const int nr = std::min(kRows, n_rows - r0);
    if (nr < kRows) {
      for (int r = r0; r < n_rows; ++r) rms_norm(x + r * ldx, weight, n, eps, out + r * ldo);
      return;
    }
    float ss[kRows] = {};
    const float* xr = x + r0 * ldx;
    for (int64_t i = 0; i < n; ++i)
      for (int r = 0; r < kRows; ++r) ss[r] += xr[r * ldx + i] * xr[r * ldx + i];
    for (int r = 0; r < kRows; ++r) rms_norm_scale(xr + r * ldx, weight, n, eps, ss[r], out + (r0 + r) * ldo);
  }
}

}  // namespace lookahead
