// GGUF (v2, v3) reader: metadata and tensor directory over a memory map.
//
// Layout (little-endian):
//   "GGUF" u32 version | u64 n_tensors | u64 n_kv
//   n_kv     x { string key, u32 value_type, value }
//   n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
//   padding to general.alignment (default 32) | tensor data (offsets relative here)
//   string = u64 length + bytes (no NUL); array = u32 elem_type, u64 count, elems
//
// Every read is bounds-checked against the file size, counts are checked
// against the bytes left before anything is allocated, and sizes are
// overflow-checked, so a malformed or truncated file produces an Error naming
// the file and the problem, never a crash or an out-of-bounds read.
//
// Ownership: GGUFFile owns the mapping; TensorInfo::data points into it and
// lives as long as the GGUFFile. Immutable after open: thread-safe to read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gguf/tensor_type.h"
#include "util/mapped_file.h"

namespace lookahead {

enum class GGUFValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* gguf_value_type_name(GGUFValueType t);

// One metadata value. Scalars use the field matching their kind (integers in
// i64/u64 both, floats in f64); arrays hold their elements in `array`, which
// may themselves be arrays.
struct GGUFValue {
  GGUFValueType type = GGUFValueType::UINT8;
  uint64_t u64 = 0;
  int64_t i64 = 0;
  double f64 = 0;
  bool b = false;
  std::string str;
  GGUFValueType elem_type = GGUFValueType::UINT8;  // arrays only
  std::vector<GGUFValue> array;

  bool is_integer() const;
  bool is_float() const { return type == GGUFValueType::FLOAT32 || type == GGUFValueType::FLOAT64; }
  // Human-readable rendering (arrays abbreviated), for `lookahead info`.
  std::string to_string(size_t max_elems = 8) const;
};

struct TensorInfo {
  std::string name;
  TensorType type = TensorType::F32;
  uint32_t n_dims = 0;
  uint64_t ne[4] = {1, 1, 1, 1};  // ne[0] is the contiguous (row) dimension
  uint64_t offset = 0;            // relative to the data section
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // into the mapping

  uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  std::string shape_string() const;
};

class GGUFFile {
 public:
  // Maps and validates the file. Throws Error("<path>: <problem>").
  static std::unique_ptr<GGUFFile> open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t file_size() const { return file_.size(); }
  const MappedFile& mapping() const { return file_; }

  const std::map<std::string, GGUFValue>& metadata() const { return kv_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  const GGUFValue* find(const std::string& key) const;
  const TensorInfo* find_tensor(const std::string& name) const;

  // Typed getters. The required forms throw Error naming the file and key if
  // the key is missing or of an incompatible type; the optional forms return
  // nullopt when missing and throw on a wrong type.
  std::optional<uint64_t> get_uint(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  uint64_t require_uint(const std::string& key) const;
  double require_float(const std::string& key) const;
  std::string require_string(const std::string& key) const;
  // Array getters: throw if present but not an array of the right kind.
  std::optional<std::vector<std::string>> get_string_array(const std::string& key) const;
  std::optional<std::vector<float>> get_float_array(const std::string& key) const;
  std::optional<std::vector<int64_t>> get_int_array(const std::string& key) const;

  // Throws Error naming the tensor if it is missing or its shape differs.
  const TensorInfo& require_tensor(const std::string& name, std::vector<uint64_t> shape) const;

 private:
  explicit GGUFFile(MappedFile file) : file_(std::move(file)) {}
  void parse();

  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GGUFValue> kv_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace lookahead
