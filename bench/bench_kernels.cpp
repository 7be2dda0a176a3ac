// Micro-benchmarks, one per kernel. Single-threaded unless the name says
// otherwise; counters: "MAC/s" multiply-adds (matmul), "B/s" weight bytes.
//   ./build/bench/lookahead_bench --benchmark_filter='Matmul/Q4_0'
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <immintrin.h>
#include <vector>

#include "ops/attention.h"
#include "ops/cpu_features.h"
#include "ops/matmul.h"
#include "ops/repack.h"
#include "ops/quant.h"
#include "ops/swiglu.h"
#include "util/aligned_buffer.h"
#include "util/rng.h"
#include "util/thread_pool.h"

namespace lookahead {
namespace {

struct Mat {
  std::vector<uint8_t> bytes;
  AlignedBuffer packed;  // packed copy (packed_size), in the memory models load it into
  WeightView w;
};

Mat make(TensorType t, int64_t rows, int64_t cols) {
  Rng rng(1);
  Mat m;
  const size_t rb = row_size(t, cols);
  m.bytes.resize(rb * rows);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = static_cast<float>(rng.uniform() - 0.5) * 0.04f;
    quantize_row(t, row.data(), cols, m.bytes.data() + r * rb);
  }
  m.w = {t, rows, cols, m.bytes.data(), rb};
  if (const size_t n = packed_size(t, rows, cols)) {
    m.packed = AlignedBuffer(n);
    pack_rows(m.w, m.packed.data(), 0, rows);
    m.w.packed = m.packed.data();
  }
  return m;
}

// TinyLlama's ffn_gate shape (5632 x 2048): weights far beyond L2.
// copy = false: the matrix as a model without its load-time copy has it
// (quantized types on AVX-512 transpose the GGUF rows as they go).
void BM_Matmul(benchmark::State& st, TensorType t, int threads, KernelMode mode = KernelMode::Auto, bool copy = true) {
  set_kernel_mode(mode);
  const int k = static_cast<int>(st.range(0));
  static Mat m;
  static TensorType mt = TensorType::I8;
  if (mt != t) m = make(t, 5632, 2048), mt = t;
  WeightView w = m.w;
  if (!copy) w.packed = nullptr;
  std::vector<float> x(k * m.w.cols), y(k * m.w.rows);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1f * i);
  ThreadPool pool(threads);
  for (auto _ : st) {
    matmul(w, x.data(), w.cols, k, y.data(), w.rows, threads > 1 ? &pool : nullptr);
    benchmark::DoNotOptimize(y.data());
  }
  set_kernel_mode(KernelMode::Auto);
  st.counters["MAC/s"] = benchmark::Counter(double(m.w.rows) * m.w.cols * k * st.iterations(), benchmark::Counter::kIsRate);
  st.counters["B/s"] = benchmark::Counter(double(m.bytes.size()) * st.iterations(), benchmark::Counter::kIsRate);
}

#define MATMUL_BENCH(T)                                                                       \
  BENCHMARK_CAPTURE(BM_Matmul, T, TensorType::T, 1)->RangeMultiplier(2)->Range(1, 64)->UseRealTime(); \
  BENCHMARK_CAPTURE(BM_Matmul, T##_2threads, TensorType::T, 2)->Arg(1)->Arg(16)->UseRealTime(); \
  BENCHMARK_CAPTURE(BM_Matmul, T##_avx2, TensorType::T, 1, KernelMode::Avx2)->Arg(1)->Arg(4)->Arg(8)->Arg(16)->UseRealTime();
MATMUL_BENCH(F32)
MATMUL_BENCH(F16)
MATMUL_BENCH(BF16)
MATMUL_BENCH(Q8_0)
MATMUL_BENCH(Q4_0)
MATMUL_BENCH(Q4_K)
MATMUL_BENCH(Q6_K)
#define MATMUL_NOCOPY_BENCH(T) \
  BENCHMARK_CAPTURE(BM_Matmul, T##_nocopy, TensorType::T, 1, KernelMode::Auto, false)->Arg(1)->Arg(4)->Arg(16)->UseRealTime();
MATMUL_NOCOPY_BENCH(Q8_0)
MATMUL_NOCOPY_BENCH(Q4_0)
MATMUL_NOCOPY_BENCH(Q4_K)
MATMUL_NOCOPY_BENCH(Q6_K)

// The load-time copy of one 5632 x 2048 matrix (pack_rows), and its scalar
// twin; "B/s" GGUF bytes packed.
void BM_PackRows(benchmark::State& st, TensorType t, bool simd) {
  const Mat m = make(t, 5632, 2048);
  const size_t n = packed_size(t, m.w.rows, m.w.cols);
  if (n == 0) {
    st.SkipWithError("no packed layout on this CPU");
    return;
  }
  AlignedBuffer out(n);
  for (auto _ : st) {
    if (simd) pack_rows(m.w, out.data(), 0, m.w.rows);
    else pack_rows_scalar(m.w, out.data(), 0, m.w.rows);
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["B/s"] = benchmark::Counter(double(m.bytes.size()) * st.iterations(), benchmark::Counter::kIsRate);
}
#define PACK_BENCH(T)                                              \
  BENCHMARK_CAPTURE(BM_PackRows, T, TensorType::T, true)->UseRealTime(); \
  BENCHMARK_CAPTURE(BM_PackRows, T##_scalar, TensorType::T, false)->UseRealTime();
PACK_BENCH(F16)
PACK_BENCH(Q8_0)
PACK_BENCH(Q4_0)
PACK_BENCH(Q4_K)
PACK_BENCH(Q6_K)

void BM_QuantizeActs(benchmark::State& st, ActFormat f) {
  std::vector<float> x(5632);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1f * i);
  std::vector<uint8_t> out(act_row_bytes(f, 5632));
  for (auto _ : st) {
    quantize_act_row(f, x.data(), 5632, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  st.SetItemsProcessed(st.iterations() * 5632);
}
BENCHMARK_CAPTURE(BM_QuantizeActs, A32, ActFormat::A32);
BENCHMARK_CAPTURE(BM_QuantizeActs, AK, ActFormat::AK);

// TinyLlama attention (32 heads, 4 KV heads, head_dim 64) over n keys, the
// cache head-major as the inference context keeps it (or interleaved: the
// heads of a row side by side).
void BM_Attention(benchmark::State& st, KVType kt, KernelMode mode = KernelMode::Auto, bool interleaved = false) {
  set_kernel_mode(mode);
  const int n = static_cast<int>(st.range(0));
  AttentionShape s{32, 4, 64, 0.125f};
  if (!interleaved) s.kv_row_stride = 64, s.kv_head_stride = static_cast<int64_t>(n) * 64;
  const int re = 4 * 64;
  std::vector<float> kf(n * re), vf(n * re), q(32 * 64), out(32 * 64), sc(attention_scratch_floats(n));
  for (size_t i = 0; i < kf.size(); ++i) kf[i] = std::sin(0.01f * i), vf[i] = std::cos(0.01f * i);
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.3f * i);
  std::vector<uint16_t> kh(kf.size()), vh(vf.size());
  const void* k = kf.data();
  const void* v = vf.data();
  if (kt == KVType::F16) k = kh.data(), v = vh.data();
  for (auto _ : st) {
    attention_one(s, q.data(), k, v, kt, n, nullptr, 0, sc.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  set_kernel_mode(KernelMode::Auto);
  st.SetItemsProcessed(st.iterations() * n);
}
BENCHMARK_CAPTURE(BM_Attention, F32, KVType::F32)->Arg(64)->Arg(512)->Arg(2048);
BENCHMARK_CAPTURE(BM_Attention, F32_interleaved, KVType::F32, KernelMode::Auto, true)->Arg(2048);
BENCHMARK_CAPTURE(BM_Attention, F16, KVType::F16)->Arg(512);
BENCHMARK_CAPTURE(BM_Attention, F32_avx2, KVType::F32, KernelMode::Avx2)->Arg(512);

// A batch of 64 tokens (causal among themselves) over a history of n keys,
// TinyLlama heads, KV head by KV head as the forward pass splits it: token
// by token (attention_heads) or in tiles of 4 tokens (attention_kv_head, the
// forward pass's choice for batches). The cache is head-major as the
// inference context keeps it, or (interleaved) with the heads of a row side
// by side. Items: query tokens.
void BM_AttentionBatch(benchmark::State& st, bool tiled, bool interleaved = false) {
  const int n = static_cast<int>(st.range(0)), nt = 64, tile = 4;
  AttentionShape s{32, 4, 64, 0.125f};
  if (!interleaved) s.kv_row_stride = 64, s.kv_head_stride = static_cast<int64_t>(n + nt) * 64;
  const int re = 4 * 64, group = 8, dq = 32 * 64;
  std::vector<float> kf(static_cast<size_t>(n + nt) * re), vf(kf.size()), q(static_cast<size_t>(nt) * dq), out(q.size());
  for (size_t i = 0; i < kf.size(); ++i) kf[i] = std::sin(0.01f * i), vf[i] = std::cos(0.01f * i);
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.3f * i);
  std::vector<int32_t> extra(static_cast<size_t>(nt) * nt);
  for (int i = 0; i < nt; ++i)
    for (int j = 0; j <= i; ++j) extra[static_cast<size_t>(i) * nt + j] = n + j;
  std::vector<float> sc(attention_kv_head_scratch_floats(s, tile, n + nt));
  for (auto _ : st) {
    for (int kvh = 0; kvh < 4; ++kvh) {
      for (int i0 = 0; i0 < nt; i0 += tile) {
        AttentionQuery qs[tile];
        for (int t = 0; t < tile; ++t) {
          const int i = i0 + t;
          qs[t] = {&q[static_cast<size_t>(i) * dq], &extra[static_cast<size_t>(i) * nt], i + 1, &out[static_cast<size_t>(i) * dq]};
          if (!tiled)
            attention_heads(s, kvh * group, (kvh + 1) * group, qs[t].q, kf.data(), vf.data(), KVType::F32, n,
                            qs[t].extra, qs[t].n_extra, sc.data(), qs[t].out);
        }
        if (tiled) attention_kv_head(s, kvh, qs, tile, kf.data(), vf.data(), KVType::F32, n, sc.data());
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  st.SetItemsProcessed(st.iterations() * nt);
}
BENCHMARK_CAPTURE(BM_AttentionBatch, per_token, false)->Arg(256)->Arg(384)->Arg(512)->Arg(1024);
BENCHMARK_CAPTURE(BM_AttentionBatch, tiled, true)->Arg(256)->Arg(384)->Arg(512)->Arg(1024);
BENCHMARK_CAPTURE(BM_AttentionBatch, tiled_interleaved, true, true)->Arg(256)->Arg(1024);

void BM_SwiGLU(benchmark::State& st) {
  const int64_t n = st.range(0);
  std::vector<float> a(n), b(n), g(n);
  for (int64_t i = 0; i < n; ++i) g[i] = std::sin(0.01f * i) * 8, b[i] = std::cos(0.01f * i);
  for (auto _ : st) {
    a = g;
    swiglu(a.data(), b.data(), n);
    benchmark::DoNotOptimize(a.data());
  }
  st.SetItemsProcessed(st.iterations() * n);
}
BENCHMARK(BM_SwiGLU)->Arg(16 * 5632);

// The CPU's multiply-add ceiling: 24 independent zmm FMA chains per thread
// (ymm without AVX-512), no memory traffic. "MAC/s" over all threads; the
// compute floor the matmul rows above are measured against.
#define LK_FMA_CHAINS(NAME, TARGET, V, SET1, FMA)                  \
  __attribute__((target(TARGET), noinline)) float NAME(int64_t iters) { \
    V a[24];                                                            \
    const V m = SET1(1.0000001f), c = SET1(0.999f);                    \
    for (int i = 0; i < 24; ++i) a[i] = SET1(static_cast<float>(i));  \
    for (int64_t it = 0; it < iters; ++it) {                            \
      _Pragma("GCC unroll 24") for (int i = 0; i < 24; ++i) a[i] = FMA(a[i], m, c); \
    }                                                                   \
    float s = 0;                                                        \
    for (int i = 0; i < 24; ++i) {                                      \
      float l[sizeof(V) / 4];                                           \
      std::memcpy(l, &a[i], sizeof(l));                                 \
      s += l[0];                                                        \
    }                                                                   \
    return s;                                                           \
  }
LK_FMA_CHAINS(fma_chains16, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps)
LK_FMA_CHAINS(fma_chains8, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps)

void BM_FmaPeak(benchmark::State& st) {
  const int threads = static_cast<int>(st.range(0));
  const bool wide = cpu_has_avx512();
  if (!wide && !cpu_has_avx2()) {
    st.SkipWithError("no AVX2");
    return;
  }
  ThreadPool pool(threads);
  constexpr int64_t kIters = 1 << 20;
  std::vector<float> sink(threads * 16);
  for (auto _ : st) {
    pool.run_all([&](int t) { sink[t * 16] = wide ? fma_chains16(kIters) : fma_chains8(kIters); });
    benchmark::DoNotOptimize(sink.data());
  }
  st.counters["MAC/s"] =
      benchmark::Counter(double(kIters) * 24 * (wide ? 16 : 8) * threads * st.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FmaPeak)->Arg(1)->Arg(2)->UseRealTime();

void BM_ThreadPoolDispatch(benchmark::State& st) {
  ThreadPool pool(static_cast<int>(st.range(0)));
  std::vector<int64_t> sink(64);
  for (auto _ : st) pool.parallel_for(64, 1, [&](int64_t b, int64_t e, int t) { sink[t * 8] += e - b; });
}
BENCHMARK(BM_ThreadPoolDispatch)->Arg(2)->UseRealTime();

}  // namespace
}  // namespace lookahead
