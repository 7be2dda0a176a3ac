#include "model/llama_model.h"

#include <cstdio>
#include <cstring>

#include "ops/repack.h"
#include "util/error.h"
#include "util/thread_pool.h"
#include "util/timer.h"

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

std::unique_ptr<LlamaModel> LlamaModel::load(const std::string& path, const LlamaLoadOptions& opts) {
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
  if (opts.repack) m->repack(opts.threads);
  return m;
}

namespace {

// Transparent huge pages for anonymous memory ("always" or "madvise")?
bool huge_pages_available() {
  std::FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f) return false;
  char buf[128] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  const std::string s(buf, n);
  return s.find("[always]") != std::string::npos || s.find("[madvise]") != std::string::npos;
}

// MemAvailable from /proc/meminfo in bytes (0 if unknown).
size_t available_memory() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  size_t kb = 0;
  while (std::fgets(line, sizeof(line), f))
    if (std::sscanf(line, "MemAvailable: %zu kB", &kb) == 1) break;
  std::fclose(f);
  return kb * 1024;
}

}  // namespace

void LlamaModel::repack(int threads) {
  std::vector<WeightView*> todo;
  for (auto& L : layers_)
    for (WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) todo.push_back(w);
  todo.push_back(&output_);
  // Plain copies pay only through huge pages; P16 pays on its own.
  const bool copy_plain = huge_pages_available();
  std::vector<size_t> offset;
  size_t total = 0;
  for (WeightView* w : todo) {
    offset.push_back(total);
    const size_t ps = packed_size(w->type, w->rows, w->cols);
    total += ((ps ? ps : copy_plain ? w->rows * w->row_bytes : 0) + 63) / 64 * 64;
  }
  if (total == 0) return;
  // The copies are anonymous memory, which (unlike mapped file pages) cannot
  // be dropped under pressure: a model near the size of RAM stays mmap-only.
  const size_t avail = available_memory();
  if (avail != 0 && total > avail / 4 * 3) return;
  const double t0 = now_ms();
  packed_ = AlignedBuffer(total);
  // Matrices are handed out whole (balanced chunks of the list); the
  // biggest (output, ffn) are few enough that this balances well.
  ThreadPool pool(threads);
  pool.parallel_for_balanced(static_cast<int64_t>(todo.size()), 1, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      WeightView& w = *todo[i];
      const uint8_t* old = w.data;
      if (packed_size(w.type, w.rows, w.cols) == 0) {
        if (!copy_plain) continue;
        std::memcpy(packed_.data() + offset[i], w.data, w.rows * w.row_bytes);
        w.data = packed_.data() + offset[i];
      } else {
        pack_rows(w, packed_.data() + offset[i], 0, w.rows);
        w.packed = packed_.data() + offset[i];
      }
      // The kernels now read the copy; token_embd (get_rows) still reads
      // the mapping when the output matrix is tied to it.
      if (!(tied_ && &w == &output_)) file_->mapping().release_pages(old, w.rows * w.row_bytes);
    }
  });
  repack_ms_ = now_ms() - t0;
}

uint64_t LlamaModel::weight_bytes_per_token() const {
  auto bytes = [](const WeightView& w) { return static_cast<uint64_t>(w.rows) * w.row_bytes; };
  uint64_t total = bytes(output_) + static_cast<uint64_t>(tok_embd_.row_bytes);
  for (const auto& L : layers_)
    total += bytes(L.wq) + bytes(L.wk) + bytes(L.wv) + bytes(L.wo) + bytes(L.w_gate) + bytes(L.w_up) + bytes(L.w_down);
  return total;
}

}  // namespace lookahead
