// Loads shared/models/stories260K.reference.json and dataset prompts for the
// decoding tests.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace lookahead::test {

struct ReferenceCase {
  std::string prompt;
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> greedy_ids;
};

inline std::vector<ReferenceCase> reference_cases() {
  std::ifstream in(shared_path("models/stories260K.reference.json"));
  const auto j = nlohmann::json::parse(in);
  std::vector<ReferenceCase> out;
  for (const auto& c : j.at("cases"))
    out.push_back({c.at("prompt").get<std::string>(), c.at("prompt_ids").get<std::vector<int32_t>>(),
                   c.at("greedy_ids").get<std::vector<int32_t>>()});
  return out;
}

}  // namespace lookahead::test
