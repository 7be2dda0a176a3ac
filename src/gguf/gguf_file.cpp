#include "gguf/gguf_file.h"

#include <cstring>
#include <limits>

#include "util/error.h"

namespace lookahead {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr int kMaxArrayDepth = 8;        // nested arrays deeper than this are rejected

// Bounds-checked little-endian cursor over the mapped file.
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, const std::string& path) : p_(p), n_(n), path_(path) {}
  size_t pos() const { return pos_; }
  size_t left() const { return n_ - pos_; }

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    const uint64_t len = read<uint64_t>(what);
    if (len > left()) fail("{}: truncated file: {} of length {} runs past the end (offset {})", path_, what, len, pos_);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }
  void need(size_t bytes, const char* what) {
    if (bytes > left()) fail("{}: truncated file: cannot read {} at offset {}", path_, what, pos_);
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& path_;
};

size_t min_encoded_size(GGUFValueType t) {
  switch (t) {
    case GGUFValueType::UINT8: case GGUFValueType::INT8: case GGUFValueType::BOOL: return 1;
    case GGUFValueType::UINT16: case GGUFValueType::INT16: return 2;
    case GGUFValueType::UINT32: case GGUFValueType::INT32: case GGUFValueType::FLOAT32: return 4;
    case GGUFValueType::UINT64: case GGUFValueType::INT64: case GGUFValueType::FLOAT64: return 8;
    case GGUFValueType::STRING: return 8;
    case GGUFValueType::ARRAY: return 12;
  }
  return 1;
}

bool valid_value_type(uint32_t t) { return t <= 12; }

void read_value(Cursor& c, GGUFValueType type, GGUFValue& v, const std::string& path, const std::string& key,
                int depth) {
  v.type = type;
  switch (type) {
    case GGUFValueType::UINT8: v.u64 = c.read<uint8_t>("u8 value"); v.i64 = static_cast<int64_t>(v.u64); break;
    case GGUFValueType::INT8: v.i64 = c.read<int8_t>("i8 value"); v.u64 = static_cast<uint64_t>(v.i64); break;
    case GGUFValueType::UINT16: v.u64 = c.read<uint16_t>("u16 value"); v.i64 = static_cast<int64_t>(v.u64); break;
    case GGUFValueType::INT16: v.i64 = c.read<int16_t>("i16 value"); v.u64 = static_cast<uint64_t>(v.i64); break;
    case GGUFValueType::UINT32: v.u64 = c.read<uint32_t>("u32 value"); v.i64 = static_cast<int64_t>(v.u64); break;
    case GGUFValueType::INT32: v.i64 = c.read<int32_t>("i32 value"); v.u64 = static_cast<uint64_t>(v.i64); break;
    case GGUFValueType::UINT64: v.u64 = c.read<uint64_t>("u64 value"); v.i64 = static_cast<int64_t>(v.u64); break;
    case GGUFValueType::INT64: v.i64 = c.read<int64_t>("i64 value"); v.u64 = static_cast<uint64_t>(v.i64); break;
    case GGUFValueType::FLOAT32: v.f64 = c.read<float>("f32 value"); break;
    case GGUFValueType::FLOAT64: v.f64 = c.read<double>("f64 value"); break;
    case GGUFValueType::BOOL: {
      const uint8_t b = c.read<uint8_t>("bool value");
      if (b > 1) fail("{}: metadata key '{}': invalid bool value {}", path, key, b);
      v.b = b != 0;
      break;
    }
    case GGUFValueType::STRING: v.str = c.read_string("string value"); break;
    case GGUFValueType::ARRAY: {
      if (depth >= kMaxArrayDepth) fail("{}: metadata key '{}': arrays nested deeper than {}", path, key, kMaxArrayDepth);
      const uint32_t et = c.read<uint32_t>("array element type");
      if (!valid_value_type(et)) fail("{}: metadata key '{}': unknown array element type {}", path, key, et);
      const uint64_t n = c.read<uint64_t>("array length");
      v.elem_type = static_cast<GGUFValueType>(et);
      // Check the count against the bytes left before allocating anything.
      if (n > c.left() / min_encoded_size(v.elem_type))
        fail("{}: truncated file: metadata key '{}' declares {} array elements, more than the file holds", path, key, n);
      v.array.resize(n);
      for (uint64_t i = 0; i < n; ++i) read_value(c, v.elem_type, v.array[i], path, key, depth + 1);
      break;
    }
  }
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_mul_overflow(a, b, &out); }

}  // namespace

const char* gguf_value_type_name(GGUFValueType t) {
  static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i <= 12 ? names[i] : "?";
}

bool GGUFValue::is_integer() const {
  switch (type) {
    case GGUFValueType::UINT8: case GGUFValueType::INT8: case GGUFValueType::UINT16: case GGUFValueType::INT16:
    case GGUFValueType::UINT32: case GGUFValueType::INT32: case GGUFValueType::UINT64: case GGUFValueType::INT64:
      return true;
    default:
      return false;
  }
}

std::string GGUFValue::to_string(size_t max_elems) const {
  switch (type) {
    case GGUFValueType::UINT8: case GGUFValueType::UINT16: case GGUFValueType::UINT32: case GGUFValueType::UINT64:
      return std::to_string(u64);
    case GGUFValueType::INT8: case GGUFValueType::INT16: case GGUFValueType::INT32: case GGUFValueType::INT64:
      return std::to_string(i64);
    case GGUFValueType::FLOAT32: case GGUFValueType::FLOAT64: return fmt::format("{}", f64);
    case GGUFValueType::BOOL: return b ? "true" : "false";
    case GGUFValueType::STRING: {
      std::string s = str.size() > 60 ? str.substr(0, 60) + "..." : str;
      std::string out = "\"";
      for (char ch : s) out += ch == '\n' ? std::string("\\n") : std::string(1, ch);
      return out + "\"";
    }
    case GGUFValueType::ARRAY: {
      std::string out = fmt::format("[{} x {}: ", array.size(), gguf_value_type_name(elem_type));
      for (size_t i = 0; i < array.size() && i < max_elems; ++i) out += (i ? ", " : "") + array[i].to_string(2);
      if (array.size() > max_elems) out += ", ...";
      return out + "]";
    }
  }
  return "?";
}

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (uint32_t i = 0; i < n_dims; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

std::unique_ptr<GGUFFile> GGUFFile::open(const std::string& path) {
  std::unique_ptr<GGUFFile> f(new GGUFFile(MappedFile(path)));
  f->parse();
  return f;
}

void GGUFFile::parse() {
  const std::string& path = file_.path();
  Cursor c(file_.data(), file_.size(), path);
  if (file_.size() < 4) fail("{}: not a GGUF file (too short for the magic)", path);
  const uint32_t magic = c.read<uint32_t>("magic");
  if (magic != kMagic) fail("{}: not a GGUF file (bad magic 0x{:08x})", path, magic);
  version_ = c.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) fail("{}: unsupported GGUF version {} (supported: 2, 3)", path, version_);
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Each kv needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8+4+4+8.
  if (n_kv > c.left() / 13) fail("{}: truncated file: header declares {} metadata entries", path, n_kv);
  if (n_tensors > c.left() / 24) fail("{}: truncated file: header declares {} tensors", path, n_tensors);

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string("metadata key");
    const uint32_t t = c.read<uint32_t>("metadata value type");
    if (!valid_value_type(t)) fail("{}: metadata key '{}': unknown value type {}", path, key, t);
    GGUFValue v;
    read_value(c, static_cast<GGUFValueType>(t), v, path, key, 0);
    if (kv_.count(key)) fail("{}: duplicate metadata key '{}'", path, key);
    kv_.emplace(std::move(key), std::move(v));
  }

  if (const GGUFValue* a = find("general.alignment")) {
    if (!a->is_integer() || a->u64 == 0 || (a->u64 & (a->u64 - 1)) != 0 || a->u64 > (1u << 20))
      fail("{}: general.alignment must be a power of two, got {}", path, a->to_string());
    alignment_ = a->u64;
  }

  tensors_.resize(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo& ti = tensors_[i];
    ti.name = c.read_string("tensor name");
    ti.n_dims = c.read<uint32_t>("tensor dimension count");
    if (ti.n_dims == 0 || ti.n_dims > 4) fail("{}: tensor '{}': invalid dimension count {}", path, ti.name, ti.n_dims);
    for (uint32_t d = 0; d < ti.n_dims; ++d) {
      ti.ne[d] = c.read<uint64_t>("tensor dimension");
      if (ti.ne[d] == 0 || ti.ne[d] > (uint64_t{1} << 40))
        fail("{}: tensor '{}': invalid dimension {} = {}", path, ti.name, d, ti.ne[d]);
    }
    const uint32_t type = c.read<uint32_t>("tensor type");
    const auto info = tensor_type_info(type);
    if (!info) fail("{}: tensor '{}': unknown tensor type {}", path, ti.name, type);
    ti.type = static_cast<TensorType>(type);
    ti.offset = c.read<uint64_t>("tensor offset");
    uint64_t n = 1;
    for (uint32_t d = 0; d < 4; ++d)
      if (mul_overflows(n, ti.ne[d], n)) fail("{}: tensor '{}': element count overflows", path, ti.name);
    if (ti.ne[0] % info->block_elems != 0)
      fail("{}: tensor '{}': row length {} is not a multiple of the {} block size {}", path, ti.name, ti.ne[0],
           info->name, info->block_elems);
    if (mul_overflows(n / info->block_elems, info->block_bytes, ti.n_bytes))
      fail("{}: tensor '{}': byte size overflows", path, ti.name);
    if (ti.offset % alignment_ != 0)
      fail("{}: tensor '{}': offset {} is not aligned to {}", path, ti.name, ti.offset, alignment_);
    if (tensor_index_.count(ti.name)) fail("{}: duplicate tensor name '{}'", path, ti.name);
    tensor_index_[ti.name] = i;
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t data_start = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (n_tensors > 0 && data_start > file_.size())
    fail("{}: truncated file: tensor data section starts past the end of the file", path);
  const uint64_t data_size = file_.size() - std::min<uint64_t>(data_start, file_.size());
  for (TensorInfo& ti : tensors_) {
    if (ti.offset > data_size || ti.n_bytes > data_size - ti.offset)
      fail("{}: tensor '{}': data [{}, {}) lies outside the file's data section of {} bytes (truncated file?)", path,
           ti.name, ti.offset, ti.offset + ti.n_bytes, data_size);
    ti.data = file_.data() + data_start + ti.offset;
  }
}

const GGUFValue* GGUFFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const TensorInfo* GGUFFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<uint64_t> GGUFFile::get_uint(const std::string& key) const {
  const GGUFValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) fail("{}: metadata key '{}' should be an integer, is {}", path(), key, gguf_value_type_name(v->type));
  if (v->i64 < 0 && v->type != GGUFValueType::UINT64) fail("{}: metadata key '{}' is negative ({})", path(), key, v->i64);
  return v->u64;
}

std::optional<int64_t> GGUFFile::get_int(const std::string& key) const {
  const GGUFValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) fail("{}: metadata key '{}' should be an integer, is {}", path(), key, gguf_value_type_name(v->type));
  return v->i64;
}

std::optional<double> GGUFFile::get_float(const std::string& key) const {
  const GGUFValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_float()) return v->f64;
  if (v->is_integer()) return static_cast<double>(v->i64);
  fail("{}: metadata key '{}' should be a number, is {}", path(), key, gguf_value_type_name(v->type));
}

std::optional<bool> GGUFFile::get_bool(const std::string& key) const {
  const GGUFValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GGUFValueType::BOOL) fail("{}: metadata key '{}' should be a bool, is {}", path(), key, gguf_value_type_name(v->type));
  return v->b;
}

std::optional<std::string> GGUFFile::get_string(const std::string& key) const {
  const GGUFValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GGUFValueType::STRING) fail("{}: metadata key '{}' should be a string, is {}", path(), key, gguf_value_type_name(v->type));
  return v->str;
}

uint64_t GGUFFile::require_uint(const std::string& key) const {
  auto v = get_uint(key);
  if (!v) fail("{}: missing required metadata key '{}'", path(), key);
  return *v;
}

double GGUFFile::require_float(const std::string& key) const {
  auto v = get_float(key);
  if (!v) fail("{}: missing required metadata key '{}'", path(), key);
  return *v;
}

std::string GGUFFile::require_string(const std::string& key) const {
  auto v = get_string(key);
  if (!v) fail("{}: missing required metadata key '{}'", path(), key);
  return *v;
}

namespace {
const GGUFValue* array_of(const GGUFFile& f, const std::string& key) {
  const GGUFValue* v = f.find(key);
  if (v && v->type != GGUFValueType::ARRAY) fail("{}: metadata key '{}' should be an array, is {}", f.path(), key, gguf_value_type_name(v->type));
  return v;
}
}  // namespace

std::optional<std::vector<std::string>> GGUFFile::get_string_array(const std::string& key) const {
  const GGUFValue* v = array_of(*this, key);
  if (!v) return std::nullopt;
  if (v->elem_type != GGUFValueType::STRING) fail("{}: metadata key '{}' should be an array of strings", path(), key);
  std::vector<std::string> out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) out.push_back(e.str);
  return out;
}

std::optional<std::vector<float>> GGUFFile::get_float_array(const std::string& key) const {
  const GGUFValue* v = array_of(*this, key);
  if (!v) return std::nullopt;
  std::vector<float> out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) {
    if (e.is_float()) out.push_back(static_cast<float>(e.f64));
    else if (e.is_integer()) out.push_back(static_cast<float>(e.i64));
    else fail("{}: metadata key '{}' should be an array of numbers", path(), key);
  }
  return out;
}

std::optional<std::vector<int64_t>> GGUFFile::get_int_array(const std::string& key) const {
  const GGUFValue* v = array_of(*this, key);
  if (!v) return std::nullopt;
  std::vector<int64_t> out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) {
    if (!e.is_integer()) fail("{}: metadata key '{}' should be an array of integers", path(), key);
    out.push_back(e.i64);
  }
  return out;
}

const TensorInfo& GGUFFile::require_tensor(const std::string& name, std::vector<uint64_t> shape) const {
  const TensorInfo* t = find_tensor(name);
  if (!t) fail("{}: missing required tensor '{}'", path(), name);
  bool ok = shape.size() >= 1 && shape.size() <= 4;
  for (size_t d = 0; ok && d < 4; ++d) ok = t->ne[d] == (d < shape.size() ? shape[d] : 1);
  if (!ok) {
    std::string want = "[";
    for (size_t d = 0; d < shape.size(); ++d) want += (d ? ", " : "") + std::to_string(shape[d]);
    fail("{}: tensor '{}' has shape {}, expected {}]", path(), name, t->shape_string(), want);
  }
  return *t;
}

}  // namespace lookahead
