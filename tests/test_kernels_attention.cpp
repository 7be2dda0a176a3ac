// Attention: AVX2 vs scalar twin (bit-exact), committed vs in-batch keys
// (bit-exact), and agreement with a double-precision softmax.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "ops/attention.h"
#include "ops/cpu_features.h"
#include "util/fp16.h"
#include "util/rng.h"

namespace lookahead {
namespace {

struct Cache {
  std::vector<float> kf, vf;
  std::vector<uint16_t> kh, vh;
  const void* k(KVType t) const { return t == KVType::F32 ? static_cast<const void*>(kf.data()) : kh.data(); }
  const void* v(KVType t) const { return t == KVType::F32 ? static_cast<const void*>(vf.data()) : vh.data(); }
};

Cache make_cache(int rows, int row_elems, uint64_t seed) {
  Rng rng(seed);
  Cache c;
  c.kf.resize(rows * row_elems);
  c.vf.resize(rows * row_elems);
  for (auto& x : c.kf) x = static_cast<float>(rng.uniform() * 2 - 1);
  for (auto& x : c.vf) x = static_cast<float>(rng.uniform() * 2 - 1);
  for (float x : c.kf) c.kh.push_back(fp32_to_fp16(x));
  for (float x : c.vf) c.vh.push_back(fp32_to_fp16(x));
  return c;
}

class KernelAttention : public ::testing::TestWithParam<KVType> {};

TEST_P(KernelAttention, HeadSplitMatchesWholeBitExact) {
  // Threads split one token's heads: any split gives the same bytes.
  // Heads of 8 and 16 dims run their value sums up to 12 heads side by
  // side, so a split also moves where those chunks start.
  const KVType kt = GetParam();
  for (AttentionShape s : {AttentionShape{8, 2, 64, 0.125f}, AttentionShape{16, 8, 8, 0.35f},
                           AttentionShape{16, 4, 16, 0.25f}}) {
    const int re = s.n_head_kv * s.head_dim;
    Cache c = make_cache(80, re, 9);
    Rng rng(4);
    std::vector<float> q(s.n_head * s.head_dim);
    for (auto& x : q) x = static_cast<float>(rng.uniform() * 4 - 2);
    std::vector<int32_t> extra = {70, 72, 75};
    std::vector<float> sc(attention_scratch_floats(63)), whole(q.size()), part(q.size(), -1.0f);
    attention_one(s, q.data(), c.k(kt), c.v(kt), kt, 60, extra.data(), 3, sc.data(), whole.data());
    for (int cut : {1, 3, 4, 7, 13}) {
      if (cut >= s.n_head) continue;
      attention_heads(s, 0, cut, q.data(), c.k(kt), c.v(kt), kt, 60, extra.data(), 3, sc.data(), part.data());
      attention_heads(s, cut, s.n_head, q.data(), c.k(kt), c.v(kt), kt, 60, extra.data(), 3, sc.data(), part.data());
      ASSERT_EQ(0, std::memcmp(whole.data(), part.data(), whole.size() * 4)) << "hd " << s.head_dim << " cut " << cut;
    }
  }
}

TEST_P(KernelAttention, SimdMatchesScalarBitExact) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "no AVX2";
  const KVType kt = GetParam();
  // Head sets (kAttentionHeadSet) of 1..4 heads per KV head: groups of 1, 2,
  // 3 (4 + 2 + ... splits), 8 (TinyLlama); head sizes 8..128. Both the AVX2
  // build and (on AVX-512 CPUs) the wide build against the scalar twin.
  std::vector<KernelMode> modes = {KernelMode::Avx2};
  if (cpu_has_avx512()) modes.push_back(KernelMode::Auto);
  for (KernelMode mode : modes)
  for (AttentionShape s : {AttentionShape{8, 4, 8, 0.3535f}, AttentionShape{4, 2, 64, 0.125f},
                           AttentionShape{2, 1, 128, 0.0883f}, AttentionShape{2, 2, 96, 0.1f},
                           AttentionShape{6, 2, 32, 0.17f}, AttentionShape{32, 4, 64, 0.125f},
                           AttentionShape{8, 1, 16, 0.25f}, AttentionShape{5, 1, 64, 0.125f},
                           AttentionShape{16, 8, 8, 0.35f}, AttentionShape{14, 7, 16, 0.25f}}) {
    set_kernel_mode(mode);
    const int re = s.n_head_kv * s.head_dim;
    Cache c = make_cache(120, re, 5);
    Rng rng(3);
    std::vector<float> q(s.n_head * s.head_dim);
    for (auto& x : q) x = static_cast<float>(rng.uniform() * 4 - 2);
    std::vector<int32_t> extra = {100, 103, 104, 110, 111};
    for (int64_t n_prefix : {0, 1, 7, 8, 9, 33, 99}) {
      for (int64_t ne : {0, 1, 3, 5}) {
        if (n_prefix + ne == 0) continue;
        std::vector<float> sc(attention_scratch_floats(200)), a(q.size()), b(q.size());
        attention_one(s, q.data(), c.k(kt), c.v(kt), kt, n_prefix, extra.data(), ne, sc.data(), a.data());
        attention_one_scalar(s, q.data(), c.k(kt), c.v(kt), kt, n_prefix, extra.data(), ne, sc.data(), b.data());
        ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4))
            << "mode " << static_cast<int>(mode) << " heads " << s.n_head << "/" << s.n_head_kv << " hd " << s.head_dim
            << " prefix " << n_prefix;
      }
    }
  }
  set_kernel_mode(KernelMode::Auto);
}

TEST_P(KernelAttention, KvHeadTilesMatchPerTokenBitExact) {
  // Several tokens over one shared prefix, each with its own in-batch rows
  // (a lookahead batch's mask), through attention_kv_head: the same bytes
  // as attention_heads token by token, in every mode, for prefixes around
  // the 16-key blocks and tiles of 1..13 tokens (row counts that are and
  // are not multiples of the 3-row score step, and of the 12 or 6 rows
  // whose value sums small heads run together; tokens with 1..13 keys of
  // their own).
  const KVType kt = GetParam();
  std::vector<KernelMode> modes = {KernelMode::Scalar, KernelMode::Avx2};
  if (cpu_has_avx512()) modes.push_back(KernelMode::Auto);
  for (KernelMode mode : modes)
  for (AttentionShape s : {AttentionShape{32, 4, 64, 0.125f}, AttentionShape{4, 4, 32, 0.17f},
                           AttentionShape{6, 2, 128, 0.0883f}, AttentionShape{4, 1, 16, 0.25f},
                           AttentionShape{4, 2, 24, 0.2f}, AttentionShape{8, 4, 8, 0.35f},
                           AttentionShape{6, 6, 8, 0.35f}, AttentionShape{8, 2, 16, 0.25f}}) {
    set_kernel_mode(mode);
    const int re = s.n_head_kv * s.head_dim, group = s.n_head / s.n_head_kv;
    Cache c = make_cache(140, re, 11);
    Rng rng(12);
    const int max_tok = 13;
    std::vector<float> q(static_cast<size_t>(max_tok) * s.n_head * s.head_dim);
    for (auto& x : q) x = static_cast<float>(rng.uniform() * 4 - 2);
    // Token t sees (a subset of) the earlier in-batch rows 120 .. 119 + t,
    // then its own, 120 + t.
    std::vector<std::vector<int32_t>> extras(max_tok);
    for (int t = 0; t < max_tok; ++t) {
      for (int j = 0; j < t; ++j)
        if ((j * 7 + t) % 3 != 0) extras[t].push_back(120 + j);
      extras[t].push_back(120 + t);
    }
    for (int64_t n_prefix : {0, 5, 16, 17, 40, 99, 112}) {
      for (int nq = 1; nq <= max_tok; nq += (nq < 5 ? 2 : 4)) {
        for (int kvh = 0; kvh < s.n_head_kv; ++kvh) {
          std::vector<float> want(q.size(), -1.0f), got(q.size(), -1.0f);
          std::vector<float> sc(attention_scratch_floats(n_prefix + max_tok));
          std::vector<float> scratch(attention_kv_head_scratch_floats(s, nq, n_prefix + max_tok));
          std::vector<AttentionQuery> qs(nq);
          for (int t = 0; t < nq; ++t) {
            const size_t o = static_cast<size_t>(t) * s.n_head * s.head_dim;
            attention_heads(s, kvh * group, (kvh + 1) * group, &q[o], c.k(kt), c.v(kt), kt, n_prefix,
                            extras[t].data(), static_cast<int64_t>(extras[t].size()), sc.data(), &want[o]);
            qs[t] = {&q[o], extras[t].data(), static_cast<int64_t>(extras[t].size()), &got[o]};
          }
          attention_kv_head(s, kvh, qs.data(), nq, c.k(kt), c.v(kt), kt, n_prefix, scratch.data());
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4))
              << "mode " << static_cast<int>(mode) << " heads " << s.n_head << "/" << s.n_head_kv << " hd "
              << s.head_dim << " prefix " << n_prefix << " tokens " << nq << " kv head " << kvh;
        }
      }
    }
  }
  set_kernel_mode(KernelMode::Auto);
}

TEST_P(KernelAttention, HeadMajorLayoutGivesTheSameBytes) {
  // The inference context keeps each KV head's rows together
  // (kv_row_stride = head_dim); attention over that layout must give the
  // bytes of the heads-side-by-side layout, decode and tiled, every mode.
  const KVType kt = GetParam();
  std::vector<KernelMode> modes = {KernelMode::Scalar, KernelMode::Avx2};
  if (cpu_has_avx512()) modes.push_back(KernelMode::Auto);
  const AttentionShape s{32, 4, 64, 0.125f};
  const int re = s.n_head_kv * s.head_dim, group = s.n_head / s.n_head_kv, rows = 150, cap = rows + 7;
  Cache c = make_cache(rows, re, 31);
  Cache h;  // head-major copy: [kv head][cap rows][head_dim]
  const size_t hm = static_cast<size_t>(s.n_head_kv) * cap * s.head_dim;
  h.kf.assign(hm, 0.0f), h.vf.assign(hm, 0.0f), h.kh.assign(hm, 0), h.vh.assign(hm, 0);
  for (int r = 0; r < rows; ++r)
    for (int kvh = 0; kvh < s.n_head_kv; ++kvh)
      for (int i = 0; i < s.head_dim; ++i) {
        const size_t from = static_cast<size_t>(r) * re + kvh * s.head_dim + i;
        const size_t to = (static_cast<size_t>(kvh) * cap + r) * s.head_dim + i;
        h.kf[to] = c.kf[from], h.vf[to] = c.vf[from], h.kh[to] = c.kh[from], h.vh[to] = c.vh[from];
      }
  AttentionShape hs = s;
  hs.kv_row_stride = s.head_dim;
  hs.kv_head_stride = static_cast<int64_t>(cap) * s.head_dim;
  Rng rng(32);
  const int nq = 3;
  std::vector<float> q(static_cast<size_t>(nq) * s.n_head * s.head_dim);
  for (auto& x : q) x = static_cast<float>(rng.uniform() * 4 - 2);
  const std::vector<std::vector<int32_t>> extras = {{140}, {140, 141}, {141, 143, 149}};
  for (KernelMode mode : modes) {
    set_kernel_mode(mode);
    for (int64_t n_prefix : {0, 9, 40, 100, 139}) {
      std::vector<float> sc(attention_scratch_floats(n_prefix + 3)), a(q.size(), -1.0f), b(q.size(), -1.0f);
      attention_one(s, q.data(), c.k(kt), c.v(kt), kt, n_prefix, extras[2].data(), 3, sc.data(), a.data());
      attention_one(hs, q.data(), h.k(kt), h.v(kt), kt, n_prefix, extras[2].data(), 3, sc.data(), b.data());
      ASSERT_EQ(0, std::memcmp(a.data(), b.data(), s.n_head * s.head_dim * 4))
          << "decode, mode " << static_cast<int>(mode) << " prefix " << n_prefix;
      std::vector<float> scratch(attention_kv_head_scratch_floats(hs, nq, n_prefix + 3));
      for (int kvh = 0; kvh < s.n_head_kv; ++kvh) {
        std::vector<AttentionQuery> qa(nq), qb(nq);
        for (int t = 0; t < nq; ++t) {
          const size_t o = static_cast<size_t>(t) * s.n_head * s.head_dim;
          const auto ne = static_cast<int64_t>(extras[t].size());
          qa[t] = {&q[o], extras[t].data(), ne, &a[o]};
          qb[t] = {&q[o], extras[t].data(), ne, &b[o]};
        }
        attention_kv_head(s, kvh, qa.data(), nq, c.k(kt), c.v(kt), kt, n_prefix, scratch.data());
        attention_kv_head(hs, kvh, qb.data(), nq, h.k(kt), h.v(kt), kt, n_prefix, scratch.data());
      }
      ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4))
          << "tiled, mode " << static_cast<int>(mode) << " prefix " << n_prefix << " group " << group;
    }
  }
  set_kernel_mode(KernelMode::Auto);
}

TEST_P(KernelAttention, CommittedAndInBatchKeysAgree) {
  // Keys 0..n-1 committed vs the same rows copied further down and listed
  // as in-batch extras: identical results.
  const KVType kt = GetParam();
  const AttentionShape s{4, 2, 64, 0.125f};
  const int re = s.n_head_kv * s.head_dim;
  Cache c = make_cache(100, re, 8);
  for (int r = 0; r < 10; ++r) {  // rows 60..69 = rows 20..29
    std::memcpy(&c.kf[(60 + r) * re], &c.kf[(20 + r) * re], re * 4);
    std::memcpy(&c.vf[(60 + r) * re], &c.vf[(20 + r) * re], re * 4);
    std::memcpy(&c.kh[(60 + r) * re], &c.kh[(20 + r) * re], re * 2);
    std::memcpy(&c.vh[(60 + r) * re], &c.vh[(20 + r) * re], re * 2);
  }
  std::vector<float> q(s.n_head * s.head_dim, 0.1f), sc(attention_scratch_floats(30)), a(q.size()), b(q.size());
  for (size_t i = 0; i < q.size(); ++i) q[i] = 0.01f * static_cast<float>(i % 17);
  attention_one(s, q.data(), c.k(kt), c.v(kt), kt, 30, nullptr, 0, sc.data(), a.data());
  std::vector<int32_t> extra;
  for (int r = 0; r < 10; ++r) extra.push_back(60 + r);
  attention_one(s, q.data(), c.k(kt), c.v(kt), kt, 20, extra.data(), 10, sc.data(), b.data());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
}

TEST_P(KernelAttention, MatchesDoubleSoftmax) {
  const KVType kt = GetParam();
  const AttentionShape s{2, 1, 64, 0.125f};
  Cache c = make_cache(50, 64, 2);
  std::vector<float> q(128), sc(attention_scratch_floats(50)), out(128);
  Rng rng(4);
  for (auto& x : q) x = static_cast<float>(rng.uniform() * 6 - 3);
  attention_one(s, q.data(), c.k(kt), c.v(kt), kt, 50, nullptr, 0, sc.data(), out.data());
  for (int h = 0; h < 2; ++h) {
    std::vector<double> p(50);
    double mx = -1e300, sum = 0;
    for (int j = 0; j < 50; ++j) {
      double d = 0;
      for (int i = 0; i < 64; ++i) d += double(q[h * 64 + i]) * (kt == KVType::F32 ? c.kf[j * 64 + i] : fp16_to_fp32(c.kh[j * 64 + i]));
      p[j] = d * s.scale;
      mx = std::max(mx, p[j]);
    }
    for (auto& x : p) sum += (x = std::exp(x - mx));
    for (int i = 0; i < 64; ++i) {
      double o = 0;
      for (int j = 0; j < 50; ++j) o += p[j] / sum * (kt == KVType::F32 ? c.vf[j * 64 + i] : fp16_to_fp32(c.vh[j * 64 + i]));
      EXPECT_NEAR(out[h * 64 + i], o, 1e-5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KernelKV, KernelAttention, ::testing::Values(KVType::F32, KVType::F16),
                         [](const auto& info) { return std::string(info.param == KVType::F32 ? "F32" : "F16"); });

}  // namespace
}  // namespace lookahead
