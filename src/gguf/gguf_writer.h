// GGUF v3 writer: metadata, tensor directory, then tensor data streamed to
// the file one tensor at a time (a 1.1B model never has to sit in memory).
//
// Usage: set metadata and add_tensor() every tensor (name, type, shape with
// ne[0] the row length), then begin(path), then write_tensor_data() once per
// tensor in the order they were added, then finish(). Offsets are aligned to
// `alignment` (general.alignment is written when it is not the default 32).
// Metadata keeps insertion order; setting a key again replaces its value.
//
// Errors (I/O, wrong data size or order, bad shapes) throw lookahead::Error
// naming the file or tensor. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf_file.h"

namespace lookahead {

class GGUFWriter {
 public:
  explicit GGUFWriter(uint32_t alignment = 32);
  ~GGUFWriter();
  GGUFWriter(const GGUFWriter&) = delete;
  GGUFWriter& operator=(const GGUFWriter&) = delete;

  void set(const std::string& key, GGUFValue v);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, std::string v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);

  // Returns the tensor's index. ne[0] must be a multiple of the type's block.
  size_t add_tensor(const std::string& name, TensorType type, std::vector<uint64_t> ne);
  uint64_t tensor_bytes(size_t index) const { return tensors_[index].n_bytes; }
  size_t n_tensors() const { return tensors_.size(); }

  void begin(const std::string& path);
  // Appends the next tensor's bytes; may be called several times per tensor
  // (e.g. row by row) as long as the total matches its size.
  void write_tensor_data(const void* data, size_t n);
  void finish();

 private:
  struct Tensor {
    std::string name;
    TensorType type;
    std::vector<uint64_t> ne;
    uint64_t offset = 0, n_bytes = 0;
  };
  void write_raw(const void* p, size_t n);
  void write_string(const std::string& s);
  void write_value(const GGUFValue& v);
  void pad_to_alignment();

  uint32_t alignment_;
  std::vector<std::pair<std::string, GGUFValue>> kv_;
  std::vector<Tensor> tensors_;
  uint64_t data_size_ = 0;
  std::string path_;
  std::FILE* f_ = nullptr;
  std::vector<char> buf_;       // stdio buffer (must outlive f_)
  uint64_t pos_ = 0;            // bytes written to the file
  uint64_t data_start_ = 0;
  size_t cur_ = 0;              // tensor being written
  uint64_t cur_written_ = 0;
};

}  // namespace lookahead
