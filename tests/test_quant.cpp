// Quantization formats: block sizes, round trips, known encodings, and the
// activation quantizer's SIMD path vs its scalar twin.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu_features.h"
#include "ops/matmul.h"
#include "ops/quant.h"
#include "util/fp16.h"
#include "util/rng.h"

namespace lookahead {
namespace {

std::vector<float> gaussian(int64_t n, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> x(n);
  for (auto& v : x) {
    const double u1 = rng.uniform() + 1e-12, u2 = rng.uniform();
    v = scale * static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  return x;
}

double rel_rms_error(TensorType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_size(t, static_cast<int64_t>(x.size())));
  quantize_row(t, x.data(), x.size(), q.data());
  std::vector<float> y(x.size());
  dequantize_row_raw(t, q.data(), x.size(), y.data());
  double e = 0, s = 0;
  for (size_t i = 0; i < x.size(); ++i) e += (x[i] - y[i]) * (x[i] - y[i]), s += x[i] * x[i];
  return std::sqrt(e / s);
}

TEST(QuantFormat, RowSizesMatchGGUF) {
  EXPECT_EQ(row_size(TensorType::Q8_0, 256), 8u * 34);
  EXPECT_EQ(row_size(TensorType::Q4_0, 256), 8u * 18);
  EXPECT_EQ(row_size(TensorType::Q4_K, 256), 144u);
  EXPECT_EQ(row_size(TensorType::Q6_K, 512), 420u);
  EXPECT_EQ(row_size(TensorType::F16, 10), 20u);
}

TEST(QuantRoundTrip, ErrorWithinFormatPrecision) {
  const auto x = gaussian(4096, 11, 0.02f);
  EXPECT_EQ(rel_rms_error(TensorType::F32, x), 0.0);
  EXPECT_LT(rel_rms_error(TensorType::F16, x), 1e-3);
  EXPECT_LT(rel_rms_error(TensorType::BF16, x), 5e-3);
  EXPECT_LT(rel_rms_error(TensorType::Q8_0, x), 0.01);
  EXPECT_LT(rel_rms_error(TensorType::Q6_K, x), 0.05);
  EXPECT_LT(rel_rms_error(TensorType::Q4_K, x), 0.12);
  EXPECT_LT(rel_rms_error(TensorType::Q4_0, x), 0.15);
}

TEST(QuantRoundTrip, ZerosAndConstantsAreExact) {
  for (TensorType t : {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q4_K, TensorType::Q6_K}) {
    std::vector<float> z(512, 0.0f), y(512, 1.0f);
    std::vector<uint8_t> q(row_size(t, 512));
    quantize_row(t, z.data(), 512, q.data());
    dequantize_row_raw(t, q.data(), 512, y.data());
    for (float v : y) ASSERT_EQ(v, 0.0f) << tensor_type_name(t);
  }
}

TEST(QuantFormat, KnownQ4_0AndQ8_0Encodings) {
  // Q4_0: element i is the low nibble of qs[i], element i+16 the high nibble.
  BlockQ4_0 b{};
  b.d = fp32_to_fp16(0.5f);
  for (int i = 0; i < 16; ++i) b.qs[i] = static_cast<uint8_t>(i | ((15 - i) << 4));
  float y[32];
  dequantize_row_raw(TensorType::Q4_0, reinterpret_cast<const uint8_t*>(&b), 32, y);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(y[i], 0.5f * (i - 8));
    EXPECT_EQ(y[i + 16], 0.5f * (7 - i));
  }
  BlockQ8_0 c{};
  c.d = fp32_to_fp16(0.25f);
  for (int i = 0; i < 32; ++i) c.qs[i] = static_cast<int8_t>(i - 16);
  dequantize_row_raw(TensorType::Q8_0, reinterpret_cast<const uint8_t*>(&c), 32, y);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], 0.25f * (i - 16));
}

TEST(QuantFormat, KnownQ4_KScaleMinPacking) {
  // Scales 1..8 and mins 8..1 (6-bit, the upper two sub-blocks use the
  // spill bits) decode through q4k_scale_min as packed.
  BlockQ4_K k{};
  std::vector<float> x(256);
  for (int j = 0; j < 8; ++j)
    for (int i = 0; i < 32; ++i) x[32 * j + i] = (j + 1) * 0.1f * (i % 16) - (8 - j) * 0.05f;
  quantize_row(TensorType::Q4_K, x.data(), 256, reinterpret_cast<uint8_t*>(&k));
  int prev_sc = -1;
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    q4k_scale_min(k.scales, j, sc, m);
    EXPECT_GT(sc, prev_sc);  // scales grow with j
    prev_sc = sc;
  }
  EXPECT_LT(rel_rms_error(TensorType::Q4_K, x), 0.05);
}

TEST(QuantFormat, Q4_KScalesMinsAtOnceMatchOneByOne) {
  // Every bit of the 12 bytes matters somewhere: random bytes, all ones, zeros.
  Rng rng(12);
  for (int c = 0; c < 2000; ++c) {
    uint8_t s[12];
    for (auto& b : s) b = c == 0 ? 0xff : c == 1 ? 0 : static_cast<uint8_t>(rng.below(256));
    uint64_t sc8, mn8;
    q4k_scales_mins(s, sc8, mn8);
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      q4k_scale_min(s, j, sc, m);
      ASSERT_EQ(static_cast<int>(sc8 >> (8 * j) & 0xff), sc) << "case " << c << " j " << j;
      ASSERT_EQ(static_cast<int>(mn8 >> (8 * j) & 0xff), m) << "case " << c << " j " << j;
    }
  }
}

TEST(QuantAct, SimdMatchesScalarBytes) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "no AVX2";
  for (ActFormat f : {ActFormat::A32, ActFormat::AK}) {
    auto x = gaussian(1024, 3);
    x[5] = 0;  // a block of zeros, too
    for (int i = 256; i < 512; ++i) x[i] = 0;
    std::vector<uint8_t> a(act_row_bytes(f, 1024)), b(a.size());
    quantize_act_row(f, x.data(), 1024, a.data());
    quantize_act_row_scalar(f, x.data(), 1024, b.data());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size()));
    if (f == ActFormat::AK) {
      const int8_t* q = act_qs(a.data());
      const int16_t* bs = act_bsums(a.data(), 1024);
      for (int s = 0; s < 64; ++s) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += q[16 * s + i];
        ASSERT_EQ(sum, bs[s]);
      }
    }
  }
}

}  // namespace
}  // namespace lookahead
