// SwiGLU, the Llama feed-forward gate: a[i] = silu(a[i]) * b[i] with
// silu(g) = g * (1 / (1 + exp(-g))) and exp from ops/exp_poly.h.
//
// Elementwise, so any split of [0, n) across threads or batches gives the
// same bytes. The AVX2 version and swiglu_scalar() follow one operation
// sequence and agree bit for bit; -g is clamped to [kExpMin, kExpMax] for
// the exp (the sigmoid is then 1 - 1.6e-38 near its top) and the sigmoid is
// 0 past kExpMax.
#pragma once

#include <cstdint>

namespace lookahead {

// a and b: n floats each; a is overwritten. Uses AVX2 when the kernel mode
// allows it (ops/cpu_features.h).
void swiglu(float* a, const float* b, int64_t n);
// The scalar twin.
void swiglu_scalar(float* a, const float* b, int64_t n);

}  // namespace lookahead
