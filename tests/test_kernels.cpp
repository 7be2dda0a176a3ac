// Matmul kernels: AVX2 vs scalar twins (bit-exact), batch- and
// thread-count invariance (bit-exact), unsupported-type errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu_features.h"
#include "ops/hsum.h"
#include "ops/matmul.h"
#include "ops/repack.h"
#include "ops/quant.h"
#include "ops/rms_norm.h"
#include "util/error.h"
#include "util/rng.h"
#include "util/thread_pool.h"

namespace lookahead {
namespace {

float gauss(Rng& rng) {
  const double u1 = rng.uniform() + 1e-12, u2 = rng.uniform();
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

struct Matrix {
  std::vector<uint8_t> bytes;
  WeightView w;
};

Matrix make_matrix(TensorType t, int64_t rows, int64_t cols, uint64_t seed) {
  Rng rng(seed);
  Matrix m;
  const size_t rb = row_size(t, cols);
  m.bytes.resize(rb * rows);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = 0.05f * gauss(rng);
    quantize_row(t, row.data(), cols, m.bytes.data() + r * rb);
  }
  m.w = {t, rows, cols, m.bytes.data(), rb};
  return m;
}

std::vector<float> make_acts(int n_tokens, int64_t cols, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(n_tokens * cols);
  for (auto& v : x) v = gauss(rng);
  return x;
}

const TensorType kAllTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0,
                                TensorType::Q4_0, TensorType::Q4_K, TensorType::Q6_K};

// A column count that exercises tails: float types get a non-multiple of 8.
int64_t test_cols(TensorType t) {
  const int be = block_elems(t);
  return be == 1 ? 515 : be == 32 ? 544 : 512;
}

class KernelMatmul : public ::testing::TestWithParam<TensorType> {};

TEST_P(KernelMatmul, SimdMatchesScalarTwinBitExact) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "no AVX2";
  const TensorType t = GetParam();
  const int64_t rows = 37, cols = test_cols(t);
  Matrix m = make_matrix(t, rows, cols, 1);
  for (int n : {1, 2, 3, 4, 5, 7, 9}) {
    auto x = make_acts(n, cols, 100 + n);
    std::vector<float> a(n * rows), b(n * rows);
    matmul(m.w, x.data(), cols, n, a.data(), rows, nullptr);
    matmul_scalar(m.w, x.data(), cols, n, b.data(), rows);
    for (int i = 0; i < n * rows; ++i) ASSERT_EQ(a[i], b[i]) << tensor_type_name(t) << " n=" << n << " i=" << i;
  }
}

TEST_P(KernelMatmul, CloseToFloatReference) {
  // The product of the dequantized weights with the float activations: only
  // the activation quantization (integer types) separates the two.
  const TensorType t = GetParam();
  const int64_t rows = 16, cols = test_cols(t);
  Matrix m = make_matrix(t, rows, cols, 2);
  auto x = make_acts(3, cols, 7);
  std::vector<float> y(3 * rows), wr(cols);
  matmul(m.w, x.data(), cols, 3, y.data(), rows, nullptr);
  const double tol = act_format(t) == ActFormat::Float ? 1e-4 : 2e-2;
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(m.w, r, wr.data());
    for (int tk = 0; tk < 3; ++tk) {
      double ref = 0, mag = 0;
      for (int64_t i = 0; i < cols; ++i) ref += double(wr[i]) * x[tk * cols + i], mag += std::fabs(double(wr[i]) * x[tk * cols + i]);
      EXPECT_NEAR(y[tk * rows + r], ref, tol * mag) << tensor_type_name(t);
    }
  }
}

TEST_P(KernelMatmul, BatchAndThreadInvariant) {
  const TensorType t = GetParam();
  const int64_t rows = 100, cols = test_cols(t);
  const int N = 67;
  Matrix m = make_matrix(t, rows, cols, 3);
  auto x = make_acts(N, cols, 9);
  // Reference: every token alone, single-threaded.
  std::vector<float> ref(N * rows);
  for (int i = 0; i < N; ++i) matmul(m.w, &x[i * cols], cols, 1, &ref[i * rows], rows, nullptr);
  std::vector<float> y(N * rows);
  ThreadPool p2(2), p3(3);
  ThreadPool* pools[] = {nullptr, &p2, &p3};
  int case_no = 0;
  for (int k = 2; k <= N; ++k) {
    const int off = (k * 7) % (N - k + 1);
    ThreadPool* pool = pools[case_no++ % 3];
    matmul(m.w, &x[off * cols], cols, k, y.data(), rows, pool);
    for (int i = 0; i < k; ++i)
      ASSERT_EQ(0, std::memcmp(&y[i * rows], &ref[(off + i) * rows], rows * sizeof(float)))
          << tensor_type_name(t) << " batch " << k << " offset " << off << " token " << i;
  }
  // Whole batch under each thread count.
  for (ThreadPool* pool : pools) {
    matmul(m.w, x.data(), cols, N, y.data(), rows, pool);
    ASSERT_EQ(0, std::memcmp(y.data(), ref.data(), y.size() * sizeof(float))) << tensor_type_name(t);
  }
}

TEST_P(KernelMatmul, ScalarModeBatchInvariant) {
  // The scalar twins obey the same contract (portable builds use them).
  const TensorType t = GetParam();
  const int64_t rows = 9, cols = test_cols(t);
  Matrix m = make_matrix(t, rows, cols, 4);
  auto x = make_acts(6, cols, 5);
  std::vector<float> all(6 * rows), one(rows);
  matmul_scalar(m.w, x.data(), cols, 6, all.data(), rows);
  for (int i = 0; i < 6; ++i) {
    matmul_scalar(m.w, &x[i * cols], cols, 1, one.data(), rows);
    ASSERT_EQ(0, std::memcmp(one.data(), &all[i * rows], rows * sizeof(float)));
  }
}

INSTANTIATE_TEST_SUITE_P(KernelTypes, KernelMatmul, ::testing::ValuesIn(kAllTypes),
                         [](const auto& info) { return std::string(tensor_type_name(info.param)); });


// ---- kernel families ----------------------------------------------------------
// Every family (Lanes8 = AVX2, Lanes16 = AVX-512 where the CPU has it) against
// its own scalar twin, bit for bit, and batch/thread invariant on its own.

struct ModeGuard {
  explicit ModeGuard(KernelMode m) { set_kernel_mode(m); }
  ~ModeGuard() { set_kernel_mode(KernelMode::Auto); }
};

std::vector<KernelMode> simd_modes() {
  std::vector<KernelMode> m;
  if (cpu_has_avx2()) m.push_back(KernelMode::Avx2);
  if (cpu_has_avx512()) m.push_back(KernelMode::Auto);
  return m;
}

class KernelFamilies : public ::testing::TestWithParam<TensorType> {};

TEST_P(KernelFamilies, EachFamilyMatchesItsScalarTwinBitExact) {
  const TensorType t = GetParam();
  const int be = block_elems(t);
  // Float tails of 3, 11 (16-lane tail past an 8-lane step); Q32 group
  // lengths 1 and 7 (odd block pairs); K-quants one or three super-blocks.
  const std::vector<int64_t> cols_list = be == 1 ? std::vector<int64_t>{515, 523, 16, 7}
                                         : be == 32 ? std::vector<int64_t>{544, 480, 32, 256}
                                                    : std::vector<int64_t>{256, 768};
  for (KernelMode mode : simd_modes()) {
    ModeGuard g(mode);
    for (int64_t cols : cols_list) {
      const int64_t rows = 23;
      Matrix m = make_matrix(t, rows, cols, 11 + cols);
      for (int n : {1, 2, 3, 4, 5, 8, 9, 17}) {
        auto x = make_acts(n, cols, 300 + n);
        std::vector<float> a(n * rows), b(n * rows);
        matmul(m.w, x.data(), cols, n, a.data(), rows, nullptr);
        matmul_scalar(m.w, x.data(), cols, n, b.data(), rows);
        for (int i = 0; i < n * rows; ++i)
          ASSERT_EQ(a[i], b[i]) << tensor_type_name(t) << " mode " << static_cast<int>(mode) << " cols " << cols
                                << " n=" << n << " i=" << i;
      }
    }
  }
}

TEST_P(KernelFamilies, ScalarModeEqualsAuto) {
  // KernelMode::Scalar runs the twins of the family Auto picks: same floats.
  const TensorType t = GetParam();
  const int64_t rows = 19, cols = test_cols(t);
  Matrix m = make_matrix(t, rows, cols, 21);
  auto x = make_acts(5, cols, 22);
  std::vector<float> a(5 * rows), b(5 * rows);
  matmul(m.w, x.data(), cols, 5, a.data(), rows, nullptr);
  {
    ModeGuard g(KernelMode::Scalar);
    matmul(m.w, x.data(), cols, 5, b.data(), rows, nullptr);
  }
  ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << tensor_type_name(t);
}

TEST_P(KernelFamilies, EachFamilyBatchAndThreadInvariant) {
  const TensorType t = GetParam();
  const int64_t rows = 45, cols = test_cols(t);
  const int N = 21;
  Matrix m = make_matrix(t, rows, cols, 31);
  auto x = make_acts(N, cols, 32);
  ThreadPool p2(2), p3(3);
  ThreadPool* pools[] = {nullptr, &p2, &p3};
  for (KernelMode mode : simd_modes()) {
    ModeGuard g(mode);
    std::vector<float> ref(N * rows), y(N * rows);
    for (int i = 0; i < N; ++i) matmul(m.w, &x[i * cols], cols, 1, &ref[i * rows], rows, nullptr);
    int case_no = 0;
    for (int k = 2; k <= N; ++k) {
      const int off = (k * 5) % (N - k + 1);
      matmul(m.w, &x[off * cols], cols, k, y.data(), rows, pools[case_no++ % 3]);
      for (int i = 0; i < k; ++i)
        ASSERT_EQ(0, std::memcmp(&y[i * rows], &ref[(off + i) * rows], rows * sizeof(float)))
            << tensor_type_name(t) << " mode " << static_cast<int>(mode) << " batch " << k << " token " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KernelTypes, KernelFamilies, ::testing::ValuesIn(kAllTypes),
                         [](const auto& info) { return std::string(tensor_type_name(info.param)); });

// ---- P16 / P16F packed weights (Lanes16 quantized and F32/F16/BF16) -----------------
// A matrix with a load-time packed copy must give exactly what its scalar
// twin gives, for every k, row range split and thread count, and (quantized
// types) exactly what the same matrix repacked on the fly gives; float types
// without a copy keep the 16-lane contract, so there only closely. Odd group
// lengths pad with zero blocks, row counts that are not a multiple of 16
// (P16F) with zero rows.

// w with a packed copy (64-byte aligned, as the model's), written as rows
// [0, split) and [split, rows) the way two load-time packing threads would.
struct PackedCopy {
  std::vector<uint8_t> buf;
  WeightView w;
  PackedCopy(const WeightView& src, int64_t split) : buf(packed_size(src.type, src.rows, src.cols) + 64), w(src) {
    uint8_t* p = buf.data() + ((64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64);
    pack_rows(src, p, 0, split);
    if (split < src.rows) pack_rows(src, p, split, src.rows);
    w.packed = p;
  }
};

class KernelPacked : public ::testing::TestWithParam<TensorType> {};

TEST_P(KernelPacked, PackedEqualsScalarTwinAndUnpacked) {
  const TensorType t = GetParam();
  if (packed_size(t, 1, 256) == 0) GTEST_SKIP() << "no packed layout on this CPU";
  ThreadPool p2(2), p3(3);
  ThreadPool* pools[] = {nullptr, &p2, &p3};
  int case_no = 0;
  const int be = block_elems(t);
  const std::vector<int64_t> cols_list = be == kQKK ? std::vector<int64_t>{256, 768, 2048, 512}
                                         : be == 1  ? std::vector<int64_t>{515, 7, 16, 2048}
                                                    : std::vector<int64_t>{544, 480, 32, 2048};
  // Each family reads the copy its own way (Lanes8 ignores the quantized
  // P16 copies; both families run P16F). The copy is made as the best
  // family loads; a process forced onto Lanes8 makes none for the quantized
  // types, as an AVX2-only CPU.
  for (KernelMode mode : simd_modes())
    for (int64_t cols : cols_list) {
      const int64_t rows = 37;
      Matrix m = make_matrix(t, rows, cols, 41 + cols);
      ASSERT_GT(packed_size(t, rows, cols), 0u);
      // Two disjoint row ranges, as load-time packing threads would write them.
      const PackedCopy pc(m.w, 18);
      const WeightView& pw = pc.w;
      ModeGuard g(mode);
      EXPECT_EQ(packed_size(t, rows, cols) > 0, be == 1 || kernel_family() == KernelFamily::Lanes16);
      // k = 4: decode's row streams with a full 4 x 4 tile (outputs rows
      // apart); 6, 7, 13: full tiles and tails over consecutive rows.
      for (int k : {1, 2, 3, 4, 6, 7, 13}) {
        auto x = make_acts(k, cols, 500 + k);
        std::vector<float> a(k * rows), b(k * rows), c(k * rows);
        matmul(pw, x.data(), cols, k, a.data(), rows, pools[case_no++ % 3]);
        matmul(m.w, x.data(), cols, k, b.data(), rows, nullptr);
        matmul_scalar(pw, x.data(), cols, k, c.data(), rows);
        const std::string where = "mode " + std::to_string(static_cast<int>(mode)) + " cols " + std::to_string(cols) +
                                  " k " + std::to_string(k);
        ASSERT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float))) << where;
        if (be > 1) {
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << where;
        } else {
          // P16F sums each row in order, the file layout in 8/16 lanes: the
          // same products, another summation order.
          for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5f * (1.0f + std::fabs(b[i]))) << where;
        }
        // And token by token (batch invariance with a packed copy).
        for (int i = 0; i < k; ++i) {
          std::vector<float> one(rows);
          matmul(pw, &x[i * cols], cols, 1, one.data(), rows, nullptr);
          ASSERT_EQ(0, std::memcmp(one.data(), &a[i * rows], rows * sizeof(float))) << where << " token " << i;
        }
      }
    }
}

TEST(KernelPacked16F, BothFamiliesGiveTheSameBits) {
  // P16F's contract (one in-order sum per row) has no lane count, so the
  // AVX2 and AVX-512 kernels agree with each other, not only with the twin.
  if (!cpu_has_avx512()) GTEST_SKIP() << "needs both families";
  for (TensorType t : {TensorType::F32, TensorType::F16, TensorType::BF16}) {
    const int64_t rows = 45, cols = 301;
    Matrix m = make_matrix(t, rows, cols, 77);
    const PackedCopy pc(m.w, rows);
    const WeightView& pw = pc.w;
    for (int k : {1, 2, 5, 16}) {
      auto x = make_acts(k, cols, 900 + k);
      std::vector<float> a(k * rows), b(k * rows);
      matmul(pw, x.data(), cols, k, a.data(), rows, nullptr);
      {
        ModeGuard g(KernelMode::Avx2);
        matmul(pw, x.data(), cols, k, b.data(), rows, nullptr);
      }
      ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << tensor_type_name(t) << " k " << k;
    }
  }
}

TEST(KernelPackedLayout, SizesPerType) {
  if (!cpu_has_avx2()) {
    for (TensorType t : kAllTypes) EXPECT_EQ(packed_size(t, 4, 256), 0u) << tensor_type_name(t);
    GTEST_SKIP() << "no SIMD kernels on this CPU";
  }
  // F32/F16/BF16 (P16F, AVX2 and AVX-512): 16-row blocks, the last padded
  // with zero rows.
  EXPECT_EQ(packed_size(TensorType::F32, 17, 100), 2u * 100 * 64);
  EXPECT_EQ(packed_size(TensorType::F32, 16, 3), 3u * 64);
  EXPECT_EQ(packed_size(TensorType::F16, 32, 100), 2u * 100 * 32);
  EXPECT_EQ(packed_size(TensorType::F16, 17, 100), 2u * 100 * 32);
  EXPECT_EQ(packed_size(TensorType::BF16, 1, 7), 7u * 32);
  if (!cpu_has_avx512()) {
    EXPECT_EQ(packed_size(TensorType::Q4_0, 4, 256), 0u);
    GTEST_SKIP() << "no Lanes16 kernels on this CPU";
  }
  // Same bytes per block as GGUF, plus zero blocks padding each row to 16.
  EXPECT_EQ(packed_size(TensorType::Q4_0, 3, 2048), 3u * 64 * 18);
  EXPECT_EQ(packed_size(TensorType::Q8_0, 3, 2048), 3u * 64 * 34);
  EXPECT_EQ(packed_size(TensorType::Q4_0, 1, 32), 16u * 18);
  // Q4_K: 256 bytes of nibbles and a 40-byte scale unit per 16 sub-blocks.
  EXPECT_EQ(packed_size(TensorType::Q4_K, 3, 2048), 3u * 4 * (256 + 40));
  EXPECT_EQ(packed_size(TensorType::Q4_K, 1, 256), 256u + 40);
  // Q6_K: 192 bytes of 4+2-bit planes and an 18-byte unit per super-block,
  // exactly GGUF's 210.
  EXPECT_EQ(packed_size(TensorType::Q6_K, 3, 2048), 3u * 8 * 210);
}

TEST(KernelPackedLayout, SimdPackersWriteTheScalarTwinsBytes) {
  // The register-transposing packers (load-time copies, and matmul's
  // on-the-fly repacking) against the per-element scalar code, over whole
  // groups, a padded last group (Q8_0 / Q4_0 480 and 544 columns, Q4_K 768)
  // and row ranges that start mid-matrix.
  for (TensorType t : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0, TensorType::Q4_0,
                       TensorType::Q4_K, TensorType::Q6_K}) {
    if (packed_size(t, 1, 256) == 0) continue;
    const std::vector<int64_t> cols_list = block_elems(t) == kQKK ? std::vector<int64_t>{256, 768, 2048}
                                           : block_elems(t) == 1  ? std::vector<int64_t>{515, 16, 2048}
                                                                  : std::vector<int64_t>{544, 480, 2048};
    for (int64_t cols : cols_list) {
      const int64_t rows = 21;
      Matrix m = make_matrix(t, rows, cols, 5 + cols);
      const size_t n = packed_size(t, rows, cols);
      std::vector<uint8_t> simd(n, 0xAB), scalar(n, 0xCD);
      for (int64_t r0 : {int64_t{0}, int64_t{16}}) {
        pack_rows(m.w, simd.data(), r0, rows);
        pack_rows_scalar(m.w, scalar.data(), r0, rows);
      }
      pack_rows(m.w, simd.data(), 0, 16);
      pack_rows_scalar(m.w, scalar.data(), 0, 16);
      ASSERT_EQ(0, std::memcmp(simd.data(), scalar.data(), n)) << tensor_type_name(t) << " cols " << cols;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KernelTypes, KernelPacked,
                         ::testing::Values(TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0,
                                           TensorType::Q4_0, TensorType::Q4_K, TensorType::Q6_K),
                         [](const auto& info) { return std::string(tensor_type_name(info.param)); });

// matmul_multi: one activation pass and one dispatch for several matrices,
// each output exactly what a lone matmul gives; mixed types (different
// activation formats) are split into groups.
TEST(KernelMatmulMulti, EachOutputEqualsALoneMatmul) {
  const int64_t cols = 512;
  ThreadPool p2(2), p3(3);
  const std::vector<std::vector<TensorType>> sets = {
      {TensorType::Q4_0, TensorType::Q4_0, TensorType::Q4_0},
      {TensorType::Q8_0, TensorType::Q8_0},
      {TensorType::F16, TensorType::F16, TensorType::F16},
      {TensorType::Q4_K, TensorType::Q6_K, TensorType::Q4_K},
      {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q6_K, TensorType::F32, TensorType::Q4_0}};
  for (KernelMode mode : simd_modes()) {
    ModeGuard g(mode);
    for (const auto& types : sets) {
      std::vector<Matrix> ms;
      const int64_t rows_of[] = {64, 8, 24, 5, 40};
      for (size_t m = 0; m < types.size(); ++m) ms.push_back(make_matrix(types[m], rows_of[m], cols, 60 + m));
      for (int k : {1, 3, 9}) {
        auto x = make_acts(k, cols, 70 + k);
        for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &p2, &p3}) {
          std::vector<std::vector<float>> got(ms.size()), want(ms.size());
          std::vector<MatmulOut> outs;
          for (size_t m = 0; m < ms.size(); ++m) {
            got[m].assign(k * ms[m].w.rows, -1.0f);
            want[m].assign(k * ms[m].w.rows, -2.0f);
            outs.push_back({&ms[m].w, got[m].data(), ms[m].w.rows});
            matmul(ms[m].w, x.data(), cols, k, want[m].data(), ms[m].w.rows, nullptr);
          }
          matmul_multi(outs.data(), static_cast<int>(outs.size()), x.data(), cols, k, pool);
          for (size_t m = 0; m < ms.size(); ++m)
            ASSERT_EQ(0, std::memcmp(got[m].data(), want[m].data(), got[m].size() * sizeof(float)))
                << "mode " << static_cast<int>(mode) << " matrix " << m << " (" << tensor_type_name(types[m]) << ") k=" << k;
        }
      }
    }
  }
}

TEST(KernelMatmulErrors, UnsupportedTypeNamed) {
  std::vector<uint8_t> bytes(1024);
  WeightView w{TensorType::Q5_K, 1, 256, bytes.data(), 176};
  float x[256] = {}, y[1];
  try {
    matmul(w, x, 256, 1, y, 1, nullptr);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q5_K"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(matmul_supports(TensorType::Q5_K));
  for (TensorType t : kAllTypes) EXPECT_TRUE(matmul_supports(t));
}

// The 16-at-once horizontal sum the 4 x 4 matmul tiles store with gives
// hsum16's bits for every vector: values of mixed sign and magnitude, so any
// other pairing would round differently somewhere.
TEST(KernelHsum, SixteenAtOnceEqualsOneByOne) {
  if (!cpu_has_avx512()) GTEST_SKIP() << "no AVX-512";
  Rng rng(5);
  int differ_from_sequential = 0;
  for (int round = 0; round < 200; ++round) {
    alignas(64) float lanes[16][16];
    for (auto& v : lanes)
      for (float& f : v) f = gauss(rng) * std::ldexp(1.0f, static_cast<int>(rng.below(40)) - 20);
    float out[16];
    simd::hsum16x16_from(&lanes[0][0], out);
    for (int i = 0; i < 16; ++i) {
      const float want = simd::hsum16_scalar(lanes[i]);
      ASSERT_EQ(0, std::memcmp(&out[i], &want, sizeof(float))) << "round " << round << " vector " << i;
      float seq = 0.0f;
      for (float f : lanes[i]) seq += f;
      differ_from_sequential += seq != want;
    }
  }
  EXPECT_GT(differ_from_sequential, 0);  // the data tells pairings apart
}

TEST(KernelRmsNorm, RowsTogetherEqualRowByRowBitExact) {
  // rms_norm_rows interleaves eight rows' sums; each row must still get
  // rms_norm's bytes, for full and partial groups of eight and row strides
  // wider than the row.
  Rng rng(21);
  for (int64_t n : {1, 7, 64, 2048}) {
    const int64_t ld = n + 3;
    const int max_rows = 19;
    std::vector<float> x(max_rows * ld), w(n);
    for (auto& v : x) v = gauss(rng) * 3.0f;
    for (auto& v : w) v = 1.0f + 0.1f * gauss(rng);
    for (int rows = 1; rows <= max_rows; ++rows) {
      std::vector<float> want(rows * ld, -7.0f), got(rows * ld, -7.0f);
      for (int r = 0; r < rows; ++r) rms_norm(&x[r * ld], w.data(), n, 1e-5f, &want[r * ld]);
      rms_norm_rows(x.data(), ld, w.data(), n, 1e-5f, got.data(), ld, rows);
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << "n " << n << " rows " << rows;
    }
  }
}

}  // namespace
}  // namespace lookahead
