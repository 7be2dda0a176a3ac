// The `llama` GGUF architecture (Llama 1/2/3, TinyLlama, CodeLlama, Mistral):
// hyperparameters and weight views over the mapped file.
//
// Ownership: LlamaModel owns the GGUFFile; every WeightView points into its
// mapping (no copy), and Q8_0/Q4_0 matrices may also point into the model's
// P16 copy (ops/matmul.h), made at load when the CPU has the Lanes16 kernels:
// that copy is what the kernels then stream, and the mapped pages it came
// from are released. Immutable after load: one model can serve many
// InferenceContexts on many threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "ops/matmul.h"
#include "util/aligned_buffer.h"

namespace lookahead {

struct LlamaHParams {
  int n_vocab = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_ff = 0;
  int head_dim = 0;
  int n_rot = 0;             // rope.dimension_count
  int n_ctx_train = 0;       // context_length
  float rope_freq_base = 10000.0f;
  float rope_scale = 1.0f;   // linear scaling factor (positions are divided by it)
  float rms_eps = 1e-5f;
};

struct LlamaLayer {
  std::vector<float> attn_norm, ffn_norm;  // decoded to f32 at load
  WeightView wq, wk, wv, wo, w_gate, w_up, w_down;
};

struct LlamaLoadOptions {
  // Copy Q8_0/Q4_0 matrices into the P16 layout when the CPU has the Lanes16
  // kernels (about 2-4x faster single-token matmuls; costs one pass over
  // those weights at load, no extra memory once the mapped pages are
  // released). Off: the kernels repack rows on the fly, same results.
  bool repack = true;
  // Threads that repack (0 = one per CPU).
  int threads = 0;
};

class LlamaModel {
 public:
  // Loads and validates every tensor's presence, shape and type; throws Error
  // naming the file and the offending key or tensor.
  static std::unique_ptr<LlamaModel> load(const std::string& path, const LlamaLoadOptions& opts = {});

  const LlamaHParams& hparams() const { return hp_; }
  const GGUFFile& gguf() const { return *file_; }
  const std::vector<LlamaLayer>& layers() const { return layers_; }
  const WeightView& tok_embd() const { return tok_embd_; }
  const WeightView& output() const { return output_; }  // == tok_embd when tied
  const std::vector<float>& output_norm() const { return output_norm_; }
  bool tied_output() const { return tied_; }
  // Bytes of weights a single-token forward pass reads (all matrices once).
  uint64_t weight_bytes_per_token() const;
  // Bytes of the P16 copy (0 if nothing was repacked) and the time it took.
  size_t packed_bytes() const { return packed_.size(); }
  double repack_ms() const { return repack_ms_; }

 private:
  void repack(int threads);

  std::unique_ptr<GGUFFile> file_;
  LlamaHParams hp_;
  std::vector<LlamaLayer> layers_;
  WeightView tok_embd_, output_;
  std::vector<float> output_norm_;
  bool tied_ = false;
  AlignedBuffer packed_;
  double repack_ms_ = 0;
};

}  // namespace lookahead
