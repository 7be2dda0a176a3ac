// Prompts of the paper's evaluation sets, as shipped in shared/data:
//   mt_bench   data/mt_bench/question.jsonl   first turn of each question
//   humaneval  data/humaneval/HumanEval.jsonl.gz   the code prompt
//   gsm8k      data/gsm8k/test.jsonl          the question
// Used by `lookahead bench` and the exactness tests.
#pragma once

#include <string>
#include <vector>

namespace lookahead {

struct DatasetPrompt {
  std::string id;
  std::string text;
};

// Names accepted by load_dataset().
const std::vector<std::string>& dataset_names();

// Loads up to `limit` prompts (limit <= 0: all) of dataset `name` from the
// shared data folder `data_dir` (the folder holding mt_bench/, humaneval/,
// gsm8k/). Throws Error naming the file on missing or malformed data.
std::vector<DatasetPrompt> load_dataset(const std::string& data_dir, const std::string& name, int limit);

}  // namespace lookahead
