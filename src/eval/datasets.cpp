#include "eval/datasets.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <zlib.h>

#include "util/error.h"

namespace lookahead {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open dataset file", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail("{}: cannot open dataset file", path);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  const bool bad = n < 0;
  gzclose(f);
  if (bad) fail("{}: corrupt gzip data", path);
  return out;
}

template <typename Fn>
void for_each_line(const std::string& path, const std::string& text, int limit, Fn fn) {
  std::istringstream in(text);
  std::string line;
  int lineno = 0, count = 0;
  while (std::getline(in, line) && (limit <= 0 || count < limit)) {
    ++lineno;
    if (line.empty()) continue;
    try {
      fn(nlohmann::json::parse(line));
      ++count;
    } catch (const nlohmann::json::exception& e) {
      fail("{}:{}: {}", path, lineno, e.what());
    }
  }
}

}  // namespace

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"mt_bench", "humaneval", "gsm8k"};
  return names;
}

std::vector<DatasetPrompt> load_dataset(const std::string& data_dir, const std::string& name, int limit) {
  std::vector<DatasetPrompt> out;
  if (name == "mt_bench") {
    const std::string path = data_dir + "/mt_bench/question.jsonl";
    for_each_line(path, read_text(path), limit, [&](const nlohmann::json& j) {
      out.push_back({std::to_string(j.at("question_id").get<int>()), j.at("turns").at(0).get<std::string>()});
    });
  } else if (name == "humaneval") {
    const std::string path = data_dir + "/humaneval/HumanEval.jsonl.gz";
    for_each_line(path, read_gzip(path), limit, [&](const nlohmann::json& j) {
      out.push_back({j.at("task_id").get<std::string>(), j.at("prompt").get<std::string>()});
    });
  } else if (name == "gsm8k") {
    const std::string path = data_dir + "/gsm8k/test.jsonl";
    int i = 0;
    for_each_line(path, read_text(path), limit, [&](const nlohmann::json& j) {
      out.push_back({"gsm8k/" + std::to_string(i++), j.at("question").get<std::string>()});
    });
  } else {
    fail("unknown dataset '{}' (known: mt_bench, humaneval, gsm8k)", name);
  }
  return out;
}

}  // namespace lookahead
