#include "gguf/gguf_writer.h"

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace lookahead {
namespace {

GGUFValue scalar(GGUFValueType t) {
  GGUFValue v;
  v.type = t;
  return v;
}

}  // namespace

GGUFWriter::GGUFWriter(uint32_t alignment) : alignment_(alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) fail("gguf writer: alignment {} is not a power of two", alignment);
  if (alignment != 32) set_u32("general.alignment", alignment);
}

GGUFWriter::~GGUFWriter() {
  if (f_) std::fclose(f_);
}

void GGUFWriter::set(const std::string& key, GGUFValue v) {
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  kv_.emplace_back(key, std::move(v));
}

void GGUFWriter::set_u32(const std::string& key, uint32_t x) {
  GGUFValue v = scalar(GGUFValueType::UINT32);
  v.u64 = x;
  v.i64 = x;
  set(key, std::move(v));
}
void GGUFWriter::set_i32(const std::string& key, int32_t x) {
  GGUFValue v = scalar(GGUFValueType::INT32);
  v.i64 = x;
  v.u64 = static_cast<uint64_t>(x);
  set(key, std::move(v));
}
void GGUFWriter::set_u64(const std::string& key, uint64_t x) {
  GGUFValue v = scalar(GGUFValueType::UINT64);
  v.u64 = x;
  v.i64 = static_cast<int64_t>(x);
  set(key, std::move(v));
}
void GGUFWriter::set_f32(const std::string& key, float x) {
  GGUFValue v = scalar(GGUFValueType::FLOAT32);
  v.f64 = x;
  set(key, std::move(v));
}
void GGUFWriter::set_bool(const std::string& key, bool x) {
  GGUFValue v = scalar(GGUFValueType::BOOL);
  v.b = x;
  set(key, std::move(v));
}
void GGUFWriter::set_string(const std::string& key, std::string x) {
  GGUFValue v = scalar(GGUFValueType::STRING);
  v.str = std::move(x);
  set(key, std::move(v));
}
void GGUFWriter::set_string_array(const std::string& key, const std::vector<std::string>& xs) {
  GGUFValue v = scalar(GGUFValueType::ARRAY);
  v.elem_type = GGUFValueType::STRING;
  v.array.reserve(xs.size());
  for (const auto& s : xs) {
    GGUFValue e = scalar(GGUFValueType::STRING);
    e.str = s;
    v.array.push_back(std::move(e));
  }
  set(key, std::move(v));
}

size_t GGUFWriter::add_tensor(const std::string& name, TensorType type, std::vector<uint64_t> ne) {
  if (f_) fail("gguf writer: add_tensor('{}') after begin()", name);
  if (ne.empty() || ne.size() > 4) fail("gguf writer: tensor '{}' has {} dimensions (1..4 allowed)", name, ne.size());
  const auto info = tensor_type_info(static_cast<uint32_t>(type));
  if (!info) fail("gguf writer: tensor '{}' has unknown type {}", name, static_cast<uint32_t>(type));
  if (ne[0] % info->block_elems != 0)
    fail("gguf writer: tensor '{}': row of {} is not a multiple of the {} block ({})", name, ne[0], info->name,
         info->block_elems);
  for (const auto& t : tensors_)
    if (t.name == name) fail("gguf writer: duplicate tensor '{}'", name);
  uint64_t rows = 1;
  for (size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
  Tensor t{name, type, std::move(ne), 0, 0};
  t.n_bytes = t.ne[0] / info->block_elems * info->block_bytes * rows;
  t.offset = (data_size_ + alignment_ - 1) / alignment_ * alignment_;
  data_size_ = t.offset + t.n_bytes;
  tensors_.push_back(std::move(t));
  return tensors_.size() - 1;
}

void GGUFWriter::write_raw(const void* p, size_t n) {
  if (n && std::fwrite(p, 1, n, f_) != n) fail("{}: write failed: {}", path_, std::strerror(errno));
  pos_ += n;
}

void GGUFWriter::write_string(const std::string& s) {
  const uint64_t n = s.size();
  write_raw(&n, 8);
  write_raw(s.data(), s.size());
}

void GGUFWriter::write_value(const GGUFValue& v) {
  switch (v.type) {
    case GGUFValueType::UINT8: case GGUFValueType::INT8: { const uint8_t x = static_cast<uint8_t>(v.u64); write_raw(&x, 1); break; }
    case GGUFValueType::UINT16: case GGUFValueType::INT16: { const uint16_t x = static_cast<uint16_t>(v.u64); write_raw(&x, 2); break; }
    case GGUFValueType::UINT32: case GGUFValueType::INT32: { const uint32_t x = static_cast<uint32_t>(v.u64); write_raw(&x, 4); break; }
    case GGUFValueType::UINT64: case GGUFValueType::INT64: write_raw(&v.u64, 8); break;
    case GGUFValueType::FLOAT32: { const float x = static_cast<float>(v.f64); write_raw(&x, 4); break; }
    case GGUFValueType::FLOAT64: write_raw(&v.f64, 8); break;
    case GGUFValueType::BOOL: { const uint8_t x = v.b ? 1 : 0; write_raw(&x, 1); break; }
    case GGUFValueType::STRING: write_string(v.str); break;
    case GGUFValueType::ARRAY: {
      const uint32_t et = static_cast<uint32_t>(v.elem_type);
      const uint64_t n = v.array.size();
      write_raw(&et, 4);
      write_raw(&n, 8);
      for (const auto& e : v.array) {
        if (e.type != v.elem_type) fail("{}: array element type mismatch", path_);
        write_value(e);
      }
      break;
    }
  }
}

void GGUFWriter::pad_to_alignment() {
  static const uint8_t zeros[256] = {};
  uint64_t pad = (alignment_ - pos_ % alignment_) % alignment_;
  while (pad > 0) {
    const size_t n = pad < sizeof(zeros) ? static_cast<size_t>(pad) : sizeof(zeros);
    write_raw(zeros, n);
    pad -= n;
  }
}

void GGUFWriter::begin(const std::string& path) {
  if (f_) fail("gguf writer: begin() called twice");
  path_ = path;
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) fail("{}: cannot create: {}", path, std::strerror(errno));
  buf_.resize(1 << 22);
  std::setvbuf(f_, buf_.data(), _IOFBF, buf_.size());
  const uint32_t magic = 0x46554747, version = 3;
  const uint64_t n_tensors = tensors_.size(), n_kv = kv_.size();
  write_raw(&magic, 4);
  write_raw(&version, 4);
  write_raw(&n_tensors, 8);
  write_raw(&n_kv, 8);
  for (const auto& [key, v] : kv_) {
    write_string(key);
    const uint32_t t = static_cast<uint32_t>(v.type);
    write_raw(&t, 4);
    write_value(v);
  }
  for (const auto& t : tensors_) {
    write_string(t.name);
    const uint32_t nd = static_cast<uint32_t>(t.ne.size()), type = static_cast<uint32_t>(t.type);
    write_raw(&nd, 4);
    write_raw(t.ne.data(), 8 * t.ne.size());
    write_raw(&type, 4);
    write_raw(&t.offset, 8);
  }
  pad_to_alignment();
  data_start_ = pos_;
  cur_ = 0;
  cur_written_ = 0;
}

void GGUFWriter::write_tensor_data(const void* data, size_t n) {
  if (!f_) fail("gguf writer: write_tensor_data() before begin()");
  if (cur_ >= tensors_.size()) fail("{}: more tensor data than tensors", path_);
  Tensor& t = tensors_[cur_];
  if (cur_written_ == 0) {
    pad_to_alignment();
    if (pos_ - data_start_ != t.offset) fail("{}: internal error: tensor '{}' misplaced", path_, t.name);
  }
  if (cur_written_ + n > t.n_bytes) fail("{}: tensor '{}': {} bytes written, {} expected", path_, t.name, cur_written_ + n, t.n_bytes);
  write_raw(data, n);
  cur_written_ += n;
  if (cur_written_ == t.n_bytes) {
    ++cur_;
    cur_written_ = 0;
  }
}

void GGUFWriter::finish() {
  if (!f_) fail("gguf writer: finish() before begin()");
  if (cur_ != tensors_.size() || cur_written_ != 0)
    fail("{}: only {} of {} tensors written", path_, cur_, tensors_.size());
  const int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) fail("{}: close failed: {}", path_, std::strerror(errno));
}

}  // namespace lookahead
