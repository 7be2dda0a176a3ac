// Shared helpers for the test suite: where the read-only shared/ data lives,
// and synthetic models of chosen shapes.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "model/llama_model.h"

namespace lookahead::test {

// LOOKAHEAD_SHARED_DIR (environment) overrides the path baked in at configure
// time, so the suite runs from any checkout layout.
inline std::string shared_dir() {
  if (const char* env = std::getenv("LOOKAHEAD_SHARED_DIR"); env && *env) return env;
  return LOOKAHEAD_SHARED_DIR;
}
inline std::string shared_path(const std::string& rel) { return shared_dir() + "/" + rel; }
inline std::string model_path() { return shared_path("models/stories260K.gguf"); }
inline std::string fixtures_dir() { return LOOKAHEAD_TEST_FIXTURES; }
inline std::string cli_path() { return LOOKAHEAD_CLI_PATH; }

// `lookahead synth --arch llama --shape tiny <flags>` with the Llama 2 vocab
// (random weights), loaded, its file removed; nullptr when the CLI or the
// vocab is missing. `name` keeps the files of tests running in parallel apart.
inline std::unique_ptr<LlamaModel> synth_model(const std::string& name, const std::string& flags) {
  const std::string vocab = shared_path("vocab/ggml-vocab-llama-spm.gguf");
  if (!std::filesystem::exists(vocab) || !std::filesystem::exists(cli_path())) return nullptr;
  const std::string path = (std::filesystem::temp_directory_path() / ("lookahead_test_" + name + ".gguf")).string();
  const std::string cmd =
      cli_path() + " synth --arch llama --shape tiny " + flags + " --vocab " + vocab + " -o " + path + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  auto model = LlamaModel::load(path);
  std::filesystem::remove(path);
  return model;
}

}  // namespace lookahead::test
