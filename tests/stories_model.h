// The default model (stories260K) and its tokenizer, loaded once per test
// binary and shared by the decoding suites.
#pragma once

#include <memory>

#include "gguf/gguf_file.h"
#include "model/llama_model.h"
#include "test_support.h"
#include "text/tokenizer.h"

namespace lookahead::test {

inline const LlamaModel& stories_model() {
  static const auto m = LlamaModel::load(model_path());
  return *m;
}

inline const Tokenizer& stories_tokenizer() {
  static const auto f = GGUFFile::open(model_path());
  static const auto t = Tokenizer::from_gguf(*f);
  return *t;
}

}  // namespace lookahead::test
