// Rotary position embedding, "normal" (GPT-J style, adjacent pairs) as the
// GGUF llama architecture stores Q and K: pair (2i, 2i+1) of each head rotates
// by pos * base^(-2i/n_rot). Only the first n_rot dimensions of a head rotate.
#pragma once

#include <cstdint>
#include <vector>

namespace lookahead {

struct RopeParams {
  int head_dim = 0;
  int n_rot = 0;            // rotated dims per head (<= head_dim, even)
  float freq_base = 10000;  // rope.freq_base
  float pos_scale = 1.0f;   // 1 / linear scaling factor
};

// Precomputed cos/sin per position so every token at the same position gets
// the very same rotation, however it was batched.
class RopeTable {
 public:
  RopeTable() = default;
  RopeTable(const RopeParams& p, int max_pos);
  // Rotates n_heads heads of x (each head_dim long, contiguous) in place.
  void apply(float* x, int n_heads, int pos) const;
  int max_pos() const { return max_pos_; }

 private:
  RopeParams p_;
  int max_pos_ = 0;
  std::vector<float> cos_, sin_;  // [max_pos][n_rot/2]
};

}  // namespace lookahead
