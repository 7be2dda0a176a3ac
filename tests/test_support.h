// Shared helpers for the test suite: where the read-only shared/ data lives.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

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

}  // namespace lookahead::test
