// GGUF writer round trip through our reader, and a tiny synthetic model
// written by `synth` logic loads and runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/context.h"
#include "model/llama_model.h"
#include "test_support.h"
#include "ops/matmul.h"
#include "ops/repack.h"
#include "ops/quant.h"
#include "util/error.h"

namespace lookahead {
namespace {

std::string tmp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("lookahead_test_") + name)).string();
}

TEST(GGUFWriter, RoundTripThroughReader) {
  const std::string path = tmp_path("writer.gguf");
  GGUFWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 3);
  w.set_i32("x.neg", -5);
  w.set_u64("x.big", uint64_t{1} << 40);
  w.set_f32("x.f", 0.25f);
  w.set_bool("x.b", true);
  w.set_string_array("tokenizer.ggml.tokens", {"<s>", "</s>", "hello"});
  w.set_u32("llama.block_count", 4);  // replaces
  std::vector<float> a(64 * 3), b(256);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.01f * i;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.001f * i - 0.1f;
  std::vector<uint8_t> qb(row_size(TensorType::Q4_K, 256));
  quantize_row(TensorType::Q4_K, b.data(), 256, qb.data());
  w.add_tensor("a", TensorType::F32, {64, 3});
  w.add_tensor("b", TensorType::Q4_K, {256});
  w.add_tensor("c", TensorType::F32, {5});  // odd size: the next offset must realign
  w.add_tensor("d", TensorType::F32, {1});
  w.begin(path);
  w.write_tensor_data(a.data(), 64 * 4);  // in pieces
  w.write_tensor_data(a.data() + 64, 128 * 4);
  w.write_tensor_data(qb.data(), qb.size());
  const float c[5] = {1, 2, 3, 4, 5}, d = 7;
  w.write_tensor_data(c, sizeof(c));
  w.write_tensor_data(&d, 4);
  w.finish();

  auto f = GGUFFile::open(path);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->require_string("general.architecture"), "llama");
  EXPECT_EQ(f->require_uint("llama.block_count"), 4u);
  EXPECT_EQ(*f->get_int("x.neg"), -5);
  EXPECT_EQ(f->require_uint("x.big"), uint64_t{1} << 40);
  EXPECT_EQ(f->require_float("x.f"), 0.25);
  EXPECT_EQ(*f->get_bool("x.b"), true);
  EXPECT_EQ(*f->get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"<s>", "</s>", "hello"}));
  const TensorInfo& ta = f->require_tensor("a", {64, 3});
  EXPECT_EQ(0, std::memcmp(ta.data, a.data(), a.size() * 4));
  const TensorInfo& tb = f->require_tensor("b", {256});
  EXPECT_EQ(tb.type, TensorType::Q4_K);
  EXPECT_EQ(0, std::memcmp(tb.data, qb.data(), qb.size()));
  const TensorInfo& tc = f->require_tensor("c", {5});
  EXPECT_EQ(0, std::memcmp(tc.data, c, sizeof(c)));
  const TensorInfo& td = f->require_tensor("d", {1});
  EXPECT_EQ(tc.offset % 32, 0u);
  EXPECT_EQ(td.offset % 32, 0u);
  EXPECT_EQ(*reinterpret_cast<const float*>(td.data), 7.0f);
  std::filesystem::remove(path);
}

TEST(GGUFWriter, CopiesArbitraryMetadataValues) {
  // Values read from one file (nested arrays included) write back unchanged.
  const std::string p1 = tmp_path("w1.gguf"), p2 = tmp_path("w2.gguf");
  {
    GGUFWriter w;
    GGUFValue arr;
    arr.type = GGUFValueType::ARRAY;
    arr.elem_type = GGUFValueType::INT32;
    for (int i = 0; i < 4; ++i) {
      GGUFValue e;
      e.type = GGUFValueType::INT32;
      e.i64 = -i;
      e.u64 = static_cast<uint64_t>(e.i64);
      arr.array.push_back(e);
    }
    w.set("x.arr", arr);
    w.set_f32("x.f", 1.5f);
    w.begin(p1);
    w.finish();
  }
  auto f1 = GGUFFile::open(p1);
  {
    GGUFWriter w(64);
    for (const auto& [k, v] : f1->metadata()) w.set(k, v);
    w.add_tensor("t", TensorType::F16, {4});
    w.begin(p2);
    const uint16_t h[4] = {1, 2, 3, 4};
    w.write_tensor_data(h, 8);
    w.finish();
  }
  auto f2 = GGUFFile::open(p2);
  EXPECT_EQ(f2->alignment(), 64u);
  EXPECT_EQ(*f2->get_int_array("x.arr"), (std::vector<int64_t>{0, -1, -2, -3}));
  EXPECT_EQ(f2->require_float("x.f"), 1.5);
  EXPECT_EQ(f2->require_tensor("t", {4}).offset % 64, 0u);
  std::filesystem::remove(p1);
  std::filesystem::remove(p2);
}

TEST(GGUFWriter, RejectsWrongSizesAndBadShapes) {
  GGUFWriter w;
  EXPECT_THROW(w.add_tensor("q", TensorType::Q8_0, {33}), Error);
  w.add_tensor("t", TensorType::F32, {4});
  const std::string path = tmp_path("bad.gguf");
  w.begin(path);
  float x[8] = {};
  EXPECT_THROW(w.write_tensor_data(x, 32), Error);
  EXPECT_THROW(w.finish(), Error);
  std::filesystem::remove(path);
}

TEST(GGUFWriter, SynthModelsLoadAndRun) {
  // `lookahead synth` with a small custom shape, every --type: the file loads
  // through the normal loader and gives finite logits.
  const std::string vocab = test::shared_path("vocab/ggml-vocab-llama-spm.gguf");
  if (!std::filesystem::exists(vocab) || !std::filesystem::exists(test::cli_path())) GTEST_SKIP();
  for (const char* type : {"F16", "BF16", "Q8_0", "Q4_0", "Q4_K_M"}) {
    const std::string out = tmp_path((std::string("synth_") + type + ".gguf").c_str());
    const std::string cmd = test::cli_path() + " synth --arch llama --shape tiny --n-embd 256 --n-ff 512 --n-layer 2" +
                            " --n-head 4 --n-head-kv 2 --type " + type + " --vocab " + vocab + " -o " + out + " 2>/dev/null";
    ASSERT_EQ(0, std::system(cmd.c_str())) << cmd;
    auto m = LlamaModel::load(out);
    EXPECT_EQ(m->hparams().n_vocab, 32000);
    EXPECT_EQ(m->hparams().n_layer, 2);
    auto toks = m->gguf().get_string_array("tokenizer.ggml.tokens");
    ASSERT_TRUE(toks.has_value());
    EXPECT_EQ(toks->size(), 32000u);
    InferenceContext ctx(*m, {.n_ctx = 32, .max_batch = 8, .n_threads = 2});
    const std::vector<TokenId> prompt = {1, 100, 200, 300};
    const float* logits = ctx.prefill(prompt);
    for (int i = 0; i < 32000; ++i) ASSERT_TRUE(std::isfinite(logits[i])) << type;
    // Load-time repacking (P16 / huge-page copies) changes where the kernels
    // read, never the result: the same logits bit for bit without it. F16 /
    // BF16 with a P16F copy sum each row in another order (matmul.h): close.
    if (std::string(type) == "Q8_0" || std::string(type) == "Q4_0") {
      EXPECT_EQ(m->packed_bytes() > 0, packed_size(TensorType::Q8_0, 1, 32) > 0) << type;
    }
    auto plain = LlamaModel::load(out, {.repack = false});
    EXPECT_EQ(plain->packed_bytes(), 0u);
    InferenceContext ctx2(*plain, {.n_ctx = 32, .max_batch = 8, .n_threads = 1});
    const float* logits2 = ctx2.prefill(prompt);
    const bool p16f = (std::string(type) == "F16" || std::string(type) == "BF16") &&
                      packed_size(TensorType::F16, 1, 16) > 0;
    if (!p16f) {
      EXPECT_EQ(0, std::memcmp(logits, logits2, 32000 * sizeof(float))) << type;
    } else {
      for (int i = 0; i < 32000; ++i) ASSERT_NEAR(logits[i], logits2[i], 1e-3f * (1.0f + std::fabs(logits2[i]))) << type;
    }
    std::filesystem::remove(out);
  }
}

}  // namespace
}  // namespace lookahead
