// Renders every real chat template in shared/templates on the conversations
// recorded by scripts/gen_template_fixtures.py and compares with what Python
// jinja2 (HF transformers' environment) produced, byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "text/chat_template.h"

namespace lookahead {
namespace {

using nlohmann::ordered_json;

struct FixtureCase {
  std::string fixture_file;
  std::string template_file;
  std::string case_name;
  ordered_json data;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<FixtureCase> load_cases() {
  std::vector<FixtureCase> out;
  std::filesystem::path dir = std::filesystem::path(test::fixtures_dir()) / "templates";
  if (!std::filesystem::exists(dir)) return out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    ordered_json j = ordered_json::parse(read_file(f.string()));
    for (const auto& c : j["cases"])
      out.push_back({f.string(), j["template"].get<std::string>(), c["name"].get<std::string>(), c});
  }
  return out;
}

std::tm fixed_clock() {
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 6;
  tm.tm_mday = 26;
  tm.tm_hour = 10;
  tm.tm_min = 30;
  tm.tm_wday = 5;
  tm.tm_yday = 207;
  return tm;
}

class ChatTemplateFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(ChatTemplateFixture, MatchesJinja2) {
  const FixtureCase& fc = GetParam();
  ChatTemplate tmpl(read_file(test::shared_path("templates/" + fc.template_file)));
  tmpl.set_clock(fixed_clock);
  const ordered_json& ctx = fc.data["context"];
  if (fc.data.contains("expected")) {
    std::string got = tmpl.render(ctx);
    EXPECT_EQ(got, fc.data["expected"].get<std::string>());
  } else {
    std::string expected_error = fc.data["error"].get<std::string>();
    try {
      std::string got = tmpl.render(ctx);
      ADD_FAILURE() << "expected an error (" << expected_error << ") but rendered:\n" << got;
    } catch (const Error& e) {
      if (fc.data["raised"].get<bool>()) {
        EXPECT_NE(std::string(e.what()).find(expected_error), std::string::npos)
            << "error '" << e.what() << "' does not contain '" << expected_error << "'";
      }
    }
  }
}

// The convenience API (messages + extra fields + extra variables) must agree with render().
TEST_P(ChatTemplateFixture, ApplyMatchesRender) {
  const FixtureCase& fc = GetParam();
  const ordered_json& ctx = fc.data["context"];
  std::vector<ChatMessage> messages;
  for (const auto& m : ctx["messages"]) {
    ChatMessage cm{m["role"].get<std::string>(), m["content"].is_string() ? m["content"].get<std::string>() : ""};
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it.key() != "role" && (it.key() != "content" || !it.value().is_string())) cm.extra[it.key()] = it.value();
    messages.push_back(std::move(cm));
  }
  ordered_json extra = ordered_json::object();
  for (auto it = ctx.begin(); it != ctx.end(); ++it) {
    if (it.key() == "messages" || it.key() == "add_generation_prompt" || it.key() == "bos_token" ||
        it.key() == "eos_token")
      continue;
    extra[it.key()] = it.value();
  }
  ChatTemplate tmpl(read_file(test::shared_path("templates/" + fc.template_file)));
  tmpl.set_clock(fixed_clock);
  auto run = [&] {
    return tmpl.apply(messages, ctx["add_generation_prompt"].get<bool>(), ctx["bos_token"].get<std::string>(),
                      ctx["eos_token"].get<std::string>(), extra);
  };
  if (fc.data.contains("expected")) {
    EXPECT_EQ(run(), fc.data["expected"].get<std::string>());
  } else {
    EXPECT_THROW(run(), Error);
  }
}

std::string case_label(const ::testing::TestParamInfo<FixtureCase>& info) {
  std::string name = std::filesystem::path(info.param.template_file).stem().string() + "__" + info.param.case_name;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Templates, ChatTemplateFixture, ::testing::ValuesIn(load_cases()), case_label);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ChatTemplateFixture);

TEST(ChatTemplate, EveryTemplateHasAFixture) {
  for (const auto& e : std::filesystem::directory_iterator(test::shared_path("templates"))) {
    if (e.path().extension() != ".jinja") continue;
    auto fixture = std::filesystem::path(test::fixtures_dir()) / "templates" / (e.path().stem().string() + ".json");
    EXPECT_TRUE(std::filesystem::exists(fixture)) << "no fixture for " << e.path().filename();
  }
}

TEST(ChatTemplate, SyntaxErrorThrowsOnConstruction) {
  EXPECT_THROW(ChatTemplate("{% for m in messages %}"), Error);
  EXPECT_THROW(ChatTemplate("{{ messages | nosuchfilter }}"), Error);
}

TEST(ChatTemplate, ApplyPassesStandardVariables) {
  ChatTemplate t(
      "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
      "{% if add_generation_prompt %}<assistant>{% endif %}{{ eos_token }}");
  std::vector<ChatMessage> msgs = {{"user", "hi"}, {"assistant", "yo"}};
  EXPECT_EQ(t.apply(msgs, true, "<s>", "</s>"), "<s><user>hi<assistant>yo<assistant></s>");
  EXPECT_EQ(t.apply(msgs, false, "", ""), "<user>hi<assistant>yo");
}

TEST(ChatTemplate, ExtraMessageFieldsAndVariables) {
  ChatTemplate t("{% for m in messages %}{{ m.content is none }}{{ m.tool_calls | tojson }}{% endfor %}{{ tools | length }}");
  ChatMessage m{"assistant", "ignored"};
  m.extra = {{"content", nullptr}, {"tool_calls", ordered_json::array({{{"b", 1}, {"a", 2}}})}};
  EXPECT_EQ(t.apply({m}, false, "", "", {{"tools", ordered_json::array({1, 2, 3})}}), "True[{\"b\": 1, \"a\": 2}]3");
}

TEST(ChatTemplate, RaiseExceptionMessageIsReported) {
  ChatTemplate t("{{ raise_exception('roles must alternate') }}");
  try {
    t.apply({{"user", "x"}}, false, "", "");
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("roles must alternate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("chat template"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, StrftimeNowUsesInjectedClock) {
  ChatTemplate t("{{ strftime_now('%d %b %Y') }}");
  t.set_clock(fixed_clock);
  EXPECT_EQ(t.render(nlohmann::json::object()), "26 Jul 2024");
}

}  // namespace
}  // namespace lookahead
