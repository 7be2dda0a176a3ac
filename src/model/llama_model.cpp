#include "model/llama_model.h"

#include "util/error.h"

namespace lookahead {
namespace {

WeightView matrix(const GGUFFile& f, const std::string& name, uint64_t cols, uint64_t rows) {
  const TensorInfo& t = f.require_tensor(name, {cols, rows});
  if (!matmul_supports(t.type))
    fail("{}: tensor '{}' has unsupported type {}", f.path(), name, tensor_type_name(t.type));
  WeightView w;
  w.type = t.type;
  w.rows = static_cast<int64_t>(rows);
  w.cols = static_cast<int64_t>(cols);
  w.data = t.data;
  w.row_bytes = row_size(t.type, w.cols);
  return w;
}

std::vector<float> vector_f32(const GGUFFile& f, const std::string& name, uint64_t n) {
  const TensorInfo& t = f.require_tensor(name, {n});
  if (t.type != TensorType::F32 && t.type != TensorType::F16 && t.type != TensorType::BF16)
    fail("{}: tensor '{}' has unsupported type {} (norm weights must be F32, F16 or BF16)", f.path(), name,
         tensor_type_name(t.type));
  WeightView w{t.type, 1, static_cast<int64_t>(n), t.data, row_size(t.type, static_cast<int64_t>(n))};
  std::vector<float> out(n);
  dequantize_row(w, 0, out.data());
  return out;
}

int positive_int(const GGUFFile& f, const std::string& key, uint64_t v) {
  if (v == 0 || v > (1u << 24)) fail("{}: metadata key '{}' has invalid value {}", f.path(), key, v);
  return static_cast<int>(v);
}

}  // namespace

std::unique_ptr<LlamaModel> LlamaModel::load(const std::string& path) {
  auto m = std::make_unique<LlamaModel>();
  m->file_ = GGUFFile::open(path);
  const GGUFFile& f = *m->file_;
  const std::string arch = f.require_string("general.architecture");
  if (arch != "llama") fail("{}: unsupported architecture '{}' (supported: llama)", path, arch);
  const std::string p = arch + ".";
  LlamaHParams& hp = m->hp_;
  hp.n_embd = positive_int(f, p + "embedding_length", f.require_uint(p + "embedding_length"));
  hp.n_layer = positive_int(f, p + "block_count", f.require_uint(p + "block_count"));
  hp.n_head = positive_int(f, p + "attention.head_count", f.require_uint(p + "attention.head_count"));
  hp.n_head_kv = positive_int(f, p + "attention.head_count_kv",
                              f.get_uint(p + "attention.head_count_kv").value_or(static_cast<uint64_t>(hp.n_head)));
  hp.n_ff = positive_int(f, p + "feed_forward_length", f.require_uint(p + "feed_forward_length"));
  hp.n_ctx_train = positive_int(f, p + "context_length", f.get_uint(p + "context_length").value_or(2048));
  if (hp.n_embd % hp.n_head != 0) fail("{}: embedding_length {} is not a multiple of head_count {}", path, hp.n_embd, hp.n_head);
  if (hp.n_head % hp.n_head_kv != 0)
    fail("{}: head_count {} is not a multiple of head_count_kv {}", path, hp.n_head, hp.n_head_kv);
  hp.head_dim = hp.n_embd / hp.n_head;
  hp.n_rot = static_cast<int>(f.get_uint(p + "rope.dimension_count").value_or(static_cast<uint64_t>(hp.head_dim)));
  if (hp.n_rot <= 0 || hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0)
    fail("{}: rope.dimension_count {} invalid for head size {}", path, hp.n_rot, hp.head_dim);
  hp.rope_freq_base = static_cast<float>(f.get_float(p + "rope.freq_base").value_or(10000.0));
  if (!(hp.rope_freq_base > 0)) fail("{}: rope.freq_base must be positive", path);
  const std::string scaling = f.get_string(p + "rope.scaling.type").value_or("none");
  if (scaling == "linear") {
    hp.rope_scale = static_cast<float>(f.get_float(p + "rope.scaling.factor").value_or(1.0));
    if (!(hp.rope_scale > 0)) fail("{}: rope.scaling.factor must be positive", path);
  } else if (scaling != "none") {
    fail("{}: unsupported rope scaling type '{}' (supported: none, linear)", path, scaling);
  } else if (auto lin = f.get_float(p + "rope.scale_linear")) {
    hp.rope_scale = static_cast<float>(*lin);  // older key
  }
  hp.rms_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-5));

  const TensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!emb) fail("{}: missing required tensor 'token_embd.weight'", path);
  hp.n_vocab = static_cast<int>(emb->ne[1]);
  const uint64_t d = hp.n_embd, dkv = static_cast<uint64_t>(hp.n_head_kv) * hp.head_dim, ff = hp.n_ff;
  m->tok_embd_ = matrix(f, "token_embd.weight", d, hp.n_vocab);
  m->output_norm_ = vector_f32(f, "output_norm.weight", d);
  if (f.find_tensor("output.weight")) {
    m->output_ = matrix(f, "output.weight", d, hp.n_vocab);
  } else {
    m->output_ = m->tok_embd_;
    m->tied_ = true;
  }
  m->layers_.resize(hp.n_layer);
  for (int i = 0; i < hp.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    LlamaLayer& L = m->layers_[i];
    L.attn_norm = vector_f32(f, b + "attn_norm.weight", d);
    L.ffn_norm = vector_f32(f, b + "ffn_norm.weight", d);
    L.wq = matrix(f, b + "attn_q.weight", d, d);
    L.wk = matrix(f, b + "attn_k.weight", d, dkv);
    L.wv = matrix(f, b + "attn_v.weight", d, dkv);
    L.wo = matrix(f, b + "attn_output.weight", d, d);
    L.w_gate = matrix(f, b + "ffn_gate.weight", d, ff);
    L.w_up = matrix(f, b + "ffn_up.weight", d, ff);
    L.w_down = matrix(f, b + "ffn_down.weight", ff, d);
  }
  return m;
}

uint64_t LlamaModel::weight_bytes_per_token() const {
  auto bytes = [](const WeightView& w) { return static_cast<uint64_t>(w.rows) * w.row_bytes; };
  uint64_t total = bytes(output_) + static_cast<uint64_t>(tok_embd_.row_bytes);
  for (const auto& L : layers_)
    total += bytes(L.wq) + bytes(L.wk) + bytes(L.wv) + bytes(L.wo) + bytes(L.w_gate) + bytes(L.w_up) + bytes(L.w_down);
  return total;
}

}  // namespace lookahead
