// The `llama` GGUF architecture (Llama 1/2/3, TinyLlama, CodeLlama, Mistral):
// hyperparameters and weight views over the mapped file.
//
// Ownership: LlamaModel owns the GGUFFile and, unless repacking is off, one
// buffer with copies of the matrices (see LlamaLoadOptions::repack): a
// WeightView's data then points into that buffer (or, for types with a
// packed layout, its `packed` copy does), and the mapped pages it came from
// are released.
// token_embd is always read from the mapping. Immutable after load: one model can serve many
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
  // Copy the matrices the kernels stream out of the file mapping at load:
  // Q8_0/Q4_0/Q4_K/Q6_K into the P16 layouts (CPUs with the Lanes16 kernels,
  // which otherwise transpose rows on the fly: TinyLlama decode 1.0-1.4x,
  // 8-16-token passes 1.1-1.6x the copy's time) and F32/F16/BF16 into P16F (AVX2 CPUs;
  // ~30 % faster 16-token matmuls with AVX-512, ~35 % with AVX2; stories260K's
  // 64-column F32 rows 1.3-1.5x faster in 16-64-token passes), into
  // transparent-huge-page memory where the kernel offers it (2 MB pages:
  // streaming 4 KB file pages costs a TLB walk per page; F16 TinyLlama
  // decode 60-80 -> 48 ms). Costs one pass over the weights at load, no
  // extra resident memory (the mapped pages are released). Skipped when the
  // copies would take more than 3/4 of the available memory (anonymous pages
  // cannot be dropped under pressure like mapped file pages). Off: the
  // kernels read the mapping (quantized ones repack rows on the fly: same
  // results; float types keep their lane order: last-bit differences).
  bool repack = true;
  // Threads that repack (0 = one per physical core, as ThreadPool).
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
  // Bytes of the repacked copies (0 if nothing was repacked) and the time
  // they took.
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
