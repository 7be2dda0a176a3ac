// GGML tensor element types as stored in GGUF files: ids, names, block
// layout (elements per block, bytes per block).
//
// The ids and block sizes are the on-disk format defined by ggml; a type the
// engine cannot compute with is still described here so that files holding it
// load far enough to give a clear "unsupported type" error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lookahead {

enum class TensorType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35,
};

struct TensorTypeInfo {
  std::string_view name;
  uint32_t block_elems;  // elements per block
  uint32_t block_bytes;  // bytes per block
};

// Layout of a known type id, or nullopt for ids ggml does not define.
std::optional<TensorTypeInfo> tensor_type_info(uint32_t id);
std::string_view tensor_type_name(TensorType t);
// Parses "F16", "q8_0", ... (case-insensitive).
std::optional<TensorType> tensor_type_from_name(std::string_view name);

}  // namespace lookahead
