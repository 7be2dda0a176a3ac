// SwiGLU: the AVX2 version equals its scalar twin bit for bit (every tail
// length, extreme gates), stays close to the double-precision formula, and
// never produces inf or NaN from finite inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu_features.h"
#include "ops/swiglu.h"
#include "util/rng.h"

namespace lookahead {
namespace {

std::vector<float> gates(int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> g(n);
  for (auto& v : g) v = static_cast<float>((rng.uniform() * 2 - 1) * 12);
  // Past the clamp on both sides, zeros of both signs, huge values.
  const float special[] = {0.0f, -0.0f, 87.5f, -87.5f, 88.5f, -88.5f, 200.0f, -200.0f, 1.0e38f, -1.0e38f, 1e-30f};
  for (int i = 0; i < n && i < 11; ++i) g[i * 3 % n] = special[i];
  return g;
}

TEST(KernelSwiGLU, SimdMatchesScalarTwinBitExact) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "no AVX2";
  for (int n : {1, 7, 8, 9, 31, 64, 1000}) {
    const auto g = gates(n, 10 + n);
    std::vector<float> b(n);
    Rng rng(5);
    for (auto& v : b) v = static_cast<float>(rng.uniform() * 4 - 2);
    std::vector<float> simd = g, scalar = g;
    swiglu(simd.data(), b.data(), n);
    swiglu_scalar(scalar.data(), b.data(), n);
    ASSERT_EQ(0, std::memcmp(simd.data(), scalar.data(), n * sizeof(float))) << "n=" << n;
  }
}

TEST(KernelSwiGLU, CloseToDoubleFormulaAndFinite) {
  const int n = 4000;
  const auto g = gates(n, 3);
  std::vector<float> b(n, 1.5f), a = g;
  swiglu(a.data(), b.data(), n);
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(std::isfinite(a[i])) << "g=" << g[i];
    const double want = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * 1.5;
    if (std::fabs(g[i]) < 80.0f) {
      EXPECT_NEAR(a[i], want, 4e-7 * std::fabs(want) + 1e-37) << "g=" << g[i];
    } else {
      // Saturated: the gate itself for large g, ~0 for very negative g.
      EXPECT_NEAR(a[i], g[i] > 0 ? want : 0.0, 4e-7 * std::fabs(want) + 1e-30) << "g=" << g[i];
    }
  }
}

}  // namespace
}  // namespace lookahead
