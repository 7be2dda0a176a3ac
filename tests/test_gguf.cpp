// GGUF reader: the real model loads; malformed, truncated and corrupted
// files give clear errors and never crash (this suite also runs under
// AddressSanitizer + UBSan, see scripts/test.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "model/llama_model.h"
#include "test_support.h"
#include "util/error.h"

using namespace lookahead;

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class TempFile {
 public:
  explicit TempFile(const std::vector<uint8_t>& bytes) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("lookahead_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".gguf"))
                .string();
    std::ofstream out(path_, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Builds small GGUF files byte by byte, so a test can state exactly which
// field is wrong.
class GGUFBuilder {
 public:
  explicit GGUFBuilder(uint32_t version = 3) {
    u32(0x46554747);
    u32(version);
    n_tensors_at_ = buf_.size();
    u64(0);
    n_kv_at_ = buf_.size();
    u64(0);
  }
  void u8(uint8_t v) { buf_.push_back(v); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void str(const std::string& s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void kv_u32(const std::string& key, uint32_t v) {
    str(key);
    u32(4);
    u32(v);
    bump(n_kv_at_);
  }
  void kv_str(const std::string& key, const std::string& v) {
    str(key);
    u32(8);
    str(v);
    bump(n_kv_at_);
  }
  void tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name);
    u32(static_cast<uint32_t>(ne.size()));
    for (auto d : ne) u64(d);
    u32(type);
    u64(offset);
    bump(n_tensors_at_);
  }
  // Pads to the alignment and appends n data bytes.
  void data(size_t n, size_t align = 32) {
    while (buf_.size() % align) buf_.push_back(0);
    buf_.resize(buf_.size() + n, 0);
  }
  void set_count(bool tensors, uint64_t v) { std::memcpy(&buf_[tensors ? n_tensors_at_ : n_kv_at_], &v, 8); }
  const std::vector<uint8_t>& bytes() const { return buf_; }

 private:
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void bump(size_t at) {
    uint64_t v;
    std::memcpy(&v, &buf_[at], 8);
    ++v;
    std::memcpy(&buf_[at], &v, 8);
  }
  std::vector<uint8_t> buf_;
  size_t n_tensors_at_, n_kv_at_;
};

std::string open_error(const std::vector<uint8_t>& bytes) {
  TempFile f(bytes);
  try {
    auto g = GGUFFile::open(f.path());
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

std::string load_error(const std::vector<uint8_t>& bytes) {
  TempFile f(bytes);
  try {
    auto m = LlamaModel::load(f.path());
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace

TEST(GGUF, ReadsRealModel) {
  auto f = GGUFFile::open(test::model_path());
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->require_string("general.architecture"), "llama");
  EXPECT_EQ(f->require_uint("llama.embedding_length"), 64u);
  EXPECT_EQ(f->require_uint("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")->size(), 512u);
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")->at(1), "<s>");
  EXPECT_EQ(f->tensors().size(), 48u);
  const TensorInfo* t = f->find_tensor("blk.0.ffn_down.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ne[0], 172u);
  EXPECT_EQ(t->ne[1], 64u);
  EXPECT_EQ(t->n_bytes, 172u * 64 * 4);
  auto m = LlamaModel::load(test::model_path());
  EXPECT_EQ(m->hparams().n_layer, 5);
  EXPECT_EQ(m->hparams().head_dim, 8);
  EXPECT_FALSE(m->tied_output());
}

TEST(GGUF, MissingFileNamesThePath) {
  EXPECT_THROW(
      {
        try {
          GGUFFile::open("/nonexistent/model.gguf");
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
          throw;
        }
      },
      Error);
}

TEST(GGUF, EveryTruncationIsAnError) {
  const auto bytes = read_bytes(test::model_path());
  ASSERT_GT(bytes.size(), 1000u);
  // Every prefix length through the header and metadata, then a stride
  // through the tensor data.
  std::vector<size_t> lengths;
  for (size_t n = 1; n < 40000 && n < bytes.size(); n += (n < 4096 ? 1 : 97)) lengths.push_back(n);
  for (size_t n = 40000; n < bytes.size(); n += 65537) lengths.push_back(n);
  lengths.push_back(bytes.size() - 1);
  // One mapping per prefix is slow; reuse one file rewritten in place.
  for (size_t n : lengths) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string err = n < 1000 || n % 7 == 0 ? open_error(prefix) : load_error(prefix);
    ASSERT_FALSE(err.empty()) << "prefix of " << n << " bytes loaded without error";
  }
}

TEST(GGUF, TruncatedFileSaysTruncated) {
  const auto bytes = read_bytes(test::model_path());
  std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + 100);
  EXPECT_NE(open_error(prefix).find("truncated"), std::string::npos) << open_error(prefix);
  std::vector<uint8_t> most(bytes.begin(), bytes.end() - 10);
  const std::string e = open_error(most);
  EXPECT_NE(e.find("outside the file"), std::string::npos) << e;
}

TEST(GGUF, RandomCorruptionNeverCrashes) {
  const auto bytes = read_bytes(test::model_path());
  uint64_t s = 12345;
  auto next = [&] { return s = s * 6364136223846793005ULL + 1442695040888963407ULL; };
  // Corrupt bytes in the header/metadata/tensor-info region (the first 16 KiB
  // hold all of it) and check the reader either rejects or loads cleanly.
  for (int iter = 0; iter < 300; ++iter) {
    auto b = bytes;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < flips; ++k) b[(next() >> 17) % 16384] = static_cast<uint8_t>(next() >> 33);
    TempFile f(b);
    try {
      auto m = LlamaModel::load(f.path());
    } catch (const Error&) {
    }
  }
  SUCCEED();
}

TEST(GGUF, BadMagic) {
  auto b = read_bytes(test::model_path());
  b[0] = 'X';
  EXPECT_NE(open_error(b).find("bad magic"), std::string::npos);
}

TEST(GGUF, UnsupportedVersion) {
  GGUFBuilder g(1);
  EXPECT_NE(open_error(g.bytes()).find("unsupported GGUF version 1"), std::string::npos);
  GGUFBuilder g4(4);
  EXPECT_NE(open_error(g4.bytes()).find("unsupported GGUF version 4"), std::string::npos);
  GGUFBuilder g2(2);
  EXPECT_EQ(open_error(g2.bytes()), "");
}

TEST(GGUF, HugeCountsAreRejectedBeforeAllocating) {
  GGUFBuilder g;
  g.set_count(false, ~0ULL);
  EXPECT_NE(open_error(g.bytes()).find("metadata entries"), std::string::npos);
  GGUFBuilder h;
  h.set_count(true, 1ULL << 60);
  EXPECT_NE(open_error(h.bytes()).find("tensors"), std::string::npos);
  GGUFBuilder a;
  a.str("arr");
  a.u32(9);             // array
  a.u32(4);             // of u32
  a.u64(1ULL << 61);    // absurd length
  a.set_count(false, 1);
  EXPECT_NE(open_error(a.bytes()).find("more than the file holds"), std::string::npos) << open_error(a.bytes());
  GGUFBuilder s;
  s.str("k");
  s.u32(8);
  s.u64(1ULL << 62);  // string length
  s.set_count(false, 1);
  EXPECT_NE(open_error(s.bytes()).find("truncated"), std::string::npos);
}

TEST(GGUF, AllValueTypesAndNestedArrays) {
  GGUFBuilder g;
  auto key = [&](const std::string& k, uint32_t type) {
    g.str(k);
    g.u32(type);
  };
  key("u8", 0); g.u8(200);
  key("i8", 1); g.u8(0xff);
  key("u16", 2); g.u8(1); g.u8(2);
  key("i16", 3); g.u8(0xfe); g.u8(0xff);
  key("u32", 4); g.u32(70000);
  key("i32", 5); g.u32(static_cast<uint32_t>(-5));
  key("f32", 6); g.f32(1.5f);
  key("bool", 7); g.u8(1);
  key("str", 8); g.str("hello");
  key("u64", 10); g.u64(1ULL << 40);
  key("i64", 11); g.u64(static_cast<uint64_t>(-7LL));
  key("f64", 12); { double d = 2.25; uint64_t bits; std::memcpy(&bits, &d, 8); g.u64(bits); }
  key("nested", 9); g.u32(9); g.u64(2);           // array of 2 arrays
  g.u32(4); g.u64(2); g.u32(1); g.u32(2);          //   [1, 2]
  g.u32(8); g.u64(1); g.str("x");                  //   ["x"]
  g.set_count(false, 13);
  TempFile f(g.bytes());
  auto r = GGUFFile::open(f.path());
  EXPECT_EQ(*r->get_uint("u8"), 200u);
  EXPECT_EQ(*r->get_int("i8"), -1);
  EXPECT_EQ(*r->get_uint("u16"), 0x0201u);
  EXPECT_EQ(*r->get_int("i16"), -2);
  EXPECT_EQ(*r->get_uint("u32"), 70000u);
  EXPECT_EQ(*r->get_int("i32"), -5);
  EXPECT_FLOAT_EQ(*r->get_float("f32"), 1.5f);
  EXPECT_TRUE(*r->get_bool("bool"));
  EXPECT_EQ(*r->get_string("str"), "hello");
  EXPECT_EQ(*r->get_uint("u64"), 1ULL << 40);
  EXPECT_EQ(*r->get_int("i64"), -7);
  EXPECT_DOUBLE_EQ(*r->get_float("f64"), 2.25);
  const GGUFValue* n = r->find("nested");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->array.size(), 2u);
  EXPECT_EQ(n->array[0].array[1].u64, 2u);
  EXPECT_EQ(n->array[1].array[0].str, "x");
  EXPECT_THROW(r->get_string("u32"), Error);  // wrong type is an error, not garbage
  EXPECT_THROW(r->require_uint("missing"), Error);
}

TEST(GGUF, InvalidBoolAndUnknownValueType) {
  GGUFBuilder g;
  g.str("b");
  g.u32(7);
  g.u8(7);
  g.set_count(false, 1);
  EXPECT_NE(open_error(g.bytes()).find("invalid bool"), std::string::npos);
  GGUFBuilder h;
  h.str("x");
  h.u32(99);
  h.set_count(false, 1);
  EXPECT_NE(open_error(h.bytes()).find("unknown value type 99"), std::string::npos);
}

TEST(GGUF, DuplicateKeysAndTensorNames) {
  GGUFBuilder g;
  g.kv_u32("a", 1);
  g.kv_u32("a", 2);
  EXPECT_NE(open_error(g.bytes()).find("duplicate metadata key 'a'"), std::string::npos);
  GGUFBuilder t;
  t.tensor("w", {32}, 0, 0);
  t.tensor("w", {32}, 0, 128);
  t.data(256);
  EXPECT_NE(open_error(t.bytes()).find("duplicate tensor name 'w'"), std::string::npos);
}

TEST(GGUF, TensorValidation) {
  {
    GGUFBuilder g;
    g.tensor("w", {32}, 17000, 0);
    g.data(128);
    EXPECT_NE(open_error(g.bytes()).find("unknown tensor type 17000"), std::string::npos);
  }
  {
    GGUFBuilder g;
    g.tensor("w", {33}, 8, 0);  // Q8_0 needs multiples of 32
    g.data(128);
    EXPECT_NE(open_error(g.bytes()).find("not a multiple"), std::string::npos);
  }
  {
    GGUFBuilder g;
    g.tensor("w", {32, 4}, 0, 0);  // 512 bytes, only 100 present
    g.data(100);
    EXPECT_NE(open_error(g.bytes()).find("outside the file"), std::string::npos);
  }
  {
    GGUFBuilder g;
    g.tensor("w", {1ULL << 39, 1ULL << 39}, 0, 0);  // element count overflows
    g.data(32);
    EXPECT_NE(open_error(g.bytes()).find("overflows"), std::string::npos);
  }
  {
    GGUFBuilder g;
    g.tensor("w", {8}, 0, 3);  // misaligned offset
    g.data(64);
    EXPECT_NE(open_error(g.bytes()).find("not aligned"), std::string::npos);
  }
  {
    GGUFBuilder g;
    g.tensor("w", {8, 1, 1, 1, 1}, 0, 0);
    g.data(64);
    EXPECT_NE(open_error(g.bytes()).find("dimension count 5"), std::string::npos);
  }
  {
    GGUFBuilder g;
    g.kv_u32("general.alignment", 3);
    EXPECT_NE(open_error(g.bytes()).find("power of two"), std::string::npos);
  }
}

TEST(GGUF, ModelLoaderNamesMissingAndMisshapedTensors) {
  {
    GGUFBuilder g;
    g.kv_str("general.architecture", "gpt-j");
    EXPECT_NE(load_error(g.bytes()).find("unsupported architecture 'gpt-j'"), std::string::npos);
  }
  {
    GGUFBuilder g;
    g.kv_str("general.architecture", "llama");
    EXPECT_NE(load_error(g.bytes()).find("missing required metadata key 'llama.embedding_length'"), std::string::npos)
        << load_error(g.bytes());
  }
  // The real model with one tensor renamed / reshaped / retyped.
  auto bytes = read_bytes(test::model_path());
  auto patch = [&](const std::string& from, const std::string& to) {
    auto b = bytes;
    auto it = std::search(b.begin(), b.end(), from.begin(), from.end());
    EXPECT_NE(it, b.end());
    std::copy(to.begin(), to.end(), it);
    return b;
  };
  EXPECT_NE(load_error(patch("blk.3.ffn_up.weight", "blk.3.ffn_UP.weight")).find("missing required tensor 'blk.3.ffn_up.weight'"),
            std::string::npos);
  // Shape: token_embd is [64, 512]; find its dims right after the name.
  {
    auto b = bytes;
    const std::string name = "token_embd.weight";
    auto it = std::search(b.begin(), b.end(), name.begin(), name.end());
    ASSERT_NE(it, b.end());
    size_t pos = static_cast<size_t>(it - b.begin()) + name.size();
    uint32_t n_dims;
    std::memcpy(&n_dims, &b[pos], 4);
    ASSERT_EQ(n_dims, 2u);
    uint64_t d0 = 32;  // was 64: the element count shrinks, so the file stays in bounds
    std::memcpy(&b[pos + 4], &d0, 8);
    const std::string e = load_error(b);
    EXPECT_NE(e.find("token_embd.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("expected [64, 512]"), std::string::npos) << e;
    // Type: F32 -> Q4_1 (known to ggml, not supported by our kernels).
    auto c = bytes;
    std::memcpy(&c[pos + 4], &bytes[pos + 4], 8);
    uint32_t q41 = 3;
    std::memcpy(&c[pos + 4 + 16], &q41, 4);
    const std::string e2 = load_error(c);
    EXPECT_NE(e2.find("unsupported type Q4_1"), std::string::npos) << e2;
  }
}
