// End-to-end tests of `lookahead serve`: the real binary on a free loopback
// port, driven over raw HTTP. Covers the OpenAI routes, streaming, stop
// strings, every error status, concurrency, overload, client disconnects,
// the loading state and graceful shutdown; greedy output is checked against
// `lookahead run --json`.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/http_test_util.h"
#include "test_support.h"

namespace lookahead::test {
namespace {

using nlohmann::json;
using http::Headers;
using http::ServerProcess;

const char* kKey = "test-key-123";
constexpr int kCtx = 256;

std::string template_path() { return shared_path("templates/mistralai-Mistral-Nemo-Instruct-2407.jinja"); }

// `lookahead serve` exists only in builds with LOOKAHEAD_BUILD_SERVER=ON.
bool server_built() {
  static const bool built = [] {
    const std::string cmd = cli_path() + " serve --help >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }();
  return built;
}

// Runs the CLI, returns its stdout.
std::string run_cli(std::vector<std::string> args) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return {};
  args.insert(args.begin(), cli_path());
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  std::string got;
  if (rc == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  ::close(out[0]);
  return got;
}

json cli_greedy(const std::string& prompt, int n, bool chat = false, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"run", "--json", "-m", model_path(), "-p", prompt, "-n", std::to_string(n),
                                   "--temp", "0", "-c", std::to_string(kCtx)};
  if (chat) {
    args.insert(args.end(), {"--chat", "--chat-template-file", template_path()});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return json::parse(run_cli(args));
}

Headers auth() { return {{"Authorization", std::string("Bearer ") + kKey}}; }

struct Result {
  int status;
  json body;
};

Result post(int port, const std::string& path, const json& body, const Headers& h = auth()) {
  auto r = http::request(port, "POST", path, body.dump(), h);
  json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  return {r.status, j};
}

// Streams a request; returns the parsed chunks (not [DONE]) and whether the
// stream ended with [DONE].
struct Stream {
  int status = 0;
  std::vector<json> chunks;
  bool done = false;
  std::string content_type;
};
Stream post_stream(int port, const std::string& path, json body) {
  body["stream"] = true;
  auto r = http::request(port, "POST", path, body.dump(), auth());
  Stream s;
  s.status = r.status;
  s.content_type = r.headers["content-type"];
  for (const auto& d : http::sse_data(r.body)) {
    if (d == "[DONE]") {
      s.done = true;
      continue;
    }
    EXPECT_FALSE(s.done) << "data after [DONE]";
    s.chunks.push_back(json::parse(d));
  }
  return s;
}

std::string stream_text(const Stream& s, bool chat) {
  std::string text;
  for (const auto& c : s.chunks) {
    if (c["choices"].empty()) continue;
    const json& ch = c["choices"][0];
    if (chat) {
      if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
    } else {
      text += ch["text"].get<std::string>();
    }
  }
  return text;
}

void expect_error(const Result& r, int status, const std::string& param = "") {
  EXPECT_EQ(r.status, status) << r.body.dump();
  ASSERT_TRUE(r.body.is_object()) << "error body is not JSON";
  ASSERT_TRUE(r.body.contains("error")) << r.body.dump();
  const json& e = r.body["error"];
  EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty()) << r.body.dump();
  EXPECT_TRUE(e["type"].is_string()) << r.body.dump();
  EXPECT_TRUE(e.contains("param") && e.contains("code")) << r.body.dump();
  if (!param.empty()) {
    EXPECT_EQ(e["param"], param) << r.body.dump();
  }
}

// One server for the bulk of the tests: API key, 4 slots, a chat template, a
// small context so "prompt too long" is cheap to provoke.
class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!server_built()) return;
    server_ = new ServerProcess(cli_path(), {"-m", model_path(), "--api-key", kKey, "-np", "4", "-c",
                                             std::to_string(kCtx), "--chat-template-file", template_path()});
    if (!server_->wait_healthy()) {
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (server_) {
      const int rc = server_->stop();
      EXPECT_EQ(rc, 0) << server_->log();
    }
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!server_built()) GTEST_SKIP() << "built without the server";
    ASSERT_NE(server_, nullptr) << "server failed to start";
  }
  int port() const { return server_->port(); }
  static ServerProcess* server_;
};
ServerProcess* ServerTest::server_ = nullptr;

TEST_F(ServerTest, HealthModelsMetrics) {
  auto h = http::request(port(), "GET", "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(json::parse(h.body)["status"], "ok");

  auto m = http::request(port(), "GET", "/v1/models", "", auth());
  ASSERT_EQ(m.status, 200);
  json models = json::parse(m.body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "stories260K");
  EXPECT_EQ(models["data"][0]["object"], "model");

  post(port(), "/v1/completions", {{"prompt", "Hi"}, {"max_tokens", 4}});
  auto mt = http::request(port(), "GET", "/metrics");
  ASSERT_EQ(mt.status, 200);
  for (const char* name : {"lookahead_requests_total{endpoint=\"completions\",status=\"200\"}",
                           "lookahead_prompt_tokens_total", "lookahead_generated_tokens_total",
                           "lookahead_decode_steps_total", "lookahead_accepted_tokens_total",
                           "lookahead_compression_ratio", "lookahead_request_duration_seconds_bucket",
                           "lookahead_time_to_first_token_seconds_count", "lookahead_slots_total 4"})
    EXPECT_NE(mt.body.find(name), std::string::npos) << name;
}

TEST_F(ServerTest, CompletionEqualsCliRun) {
  const std::string prompt = "Once upon a time, there was a little girl";
  const json ref = cli_greedy(prompt, 48);
  ASSERT_TRUE(ref.contains("text")) << ref.dump();
  auto r = post(port(), "/v1/completions", {{"model", "stories260K"}, {"prompt", prompt}, {"max_tokens", 48}, {"temperature", 0}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["object"], "text_completion");
  EXPECT_TRUE(r.body["id"].get<std::string>().starts_with("cmpl-"));
  EXPECT_TRUE(r.body["created"].is_number_integer());
  EXPECT_EQ(r.body["model"], "stories260K");
  ASSERT_EQ(r.body["choices"].size(), 1u);
  EXPECT_EQ(r.body["choices"][0]["index"], 0);
  EXPECT_EQ(r.body["choices"][0]["text"], ref["text"]);
  EXPECT_EQ(r.body["choices"][0]["finish_reason"], ref["finish_reason"]);
  EXPECT_EQ(r.body["usage"]["prompt_tokens"], ref["prompt_ids"].size());
  EXPECT_EQ(r.body["usage"]["completion_tokens"], ref["tokens"].size());
  EXPECT_EQ(r.body["usage"]["total_tokens"], ref["prompt_ids"].size() + ref["tokens"].size());
  const json& la = r.body["lookahead"];
  EXPECT_EQ(la["decoder"], "lookahead");
  EXPECT_GT(la["steps"].get<int>(), 0);
  EXPECT_GE(la["compression"].get<double>(), 1.0);
  EXPECT_LE(la["steps"].get<int>(), la["accepted_tokens"].get<int>());

  // The same prompt as token ids gives the same text.
  auto ids = post(port(), "/v1/completions", {{"prompt", ref["prompt_ids"]}, {"max_tokens", 48}, {"temperature", 0}});
  ASSERT_EQ(ids.status, 200) << ids.body.dump();
  EXPECT_EQ(ids.body["choices"][0]["text"], ref["text"]);
}

TEST_F(ServerTest, ChatEqualsCliRunChat) {
  const std::string user = "Tell me a story about a dog.";
  const json ref = cli_greedy(user, 40, /*chat=*/true);
  ASSERT_TRUE(ref.contains("text")) << ref.dump();
  auto r = post(port(), "/v1/chat/completions",
                {{"model", "stories260K"},
                 {"messages", json::array({{{"role", "user"}, {"content", user}}})},
                 {"max_tokens", 40},
                 {"temperature", 0}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["object"], "chat.completion");
  EXPECT_TRUE(r.body["id"].get<std::string>().starts_with("chatcmpl-"));
  const json& choice = r.body["choices"][0];
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"], ref["text"]);
  EXPECT_EQ(r.body["usage"]["prompt_tokens"], ref["prompt_ids"].size());

  // Content given as text parts is the same message.
  auto parts = post(port(), "/v1/chat/completions",
                    {{"messages", json::array({{{"role", "user"},
                                                {"content", json::array({{{"type", "text"}, {"text", "Tell me a story "}},
                                                                         {{"type", "text"}, {"text", "about a dog."}}})}}})},
                     {"max_tokens", 40},
                     {"temperature", 0}});
  ASSERT_EQ(parts.status, 200) << parts.body.dump();
  EXPECT_EQ(parts.body["choices"][0]["message"]["content"], ref["text"]);
}

TEST_F(ServerTest, StreamingCompletionEqualsNonStreamed) {
  const json req = {{"prompt", "The cat sat"}, {"max_tokens", 60}, {"temperature", 0}};
  auto plain = post(port(), "/v1/completions", req);
  ASSERT_EQ(plain.status, 200);
  Stream s = post_stream(port(), "/v1/completions", req);
  ASSERT_EQ(s.status, 200);
  EXPECT_NE(s.content_type.find("text/event-stream"), std::string::npos);
  EXPECT_TRUE(s.done) << "no [DONE]";
  ASSERT_GE(s.chunks.size(), 2u);
  for (const auto& c : s.chunks) {
    EXPECT_EQ(c["object"], "text_completion");
    EXPECT_EQ(c["id"], s.chunks[0]["id"]);
  }
  EXPECT_EQ(stream_text(s, false), plain.body["choices"][0]["text"]);
  const json& last = s.chunks.back();
  EXPECT_EQ(last["choices"][0]["finish_reason"], plain.body["choices"][0]["finish_reason"]);
  EXPECT_TRUE(last.contains("lookahead"));
  for (size_t i = 0; i + 1 < s.chunks.size(); ++i) EXPECT_TRUE(s.chunks[i]["choices"][0]["finish_reason"].is_null());
}

TEST_F(ServerTest, StreamingChatEqualsNonStreamed) {
  const json req = {{"messages", json::array({{{"role", "system"}, {"content", "Be brief."}},
                                              {{"role", "user"}, {"content", "Hello there"}}})},
                    {"max_tokens", 50},
                    {"temperature", 0},
                    {"stream_options", {{"include_usage", true}}}};
  auto plain = post(port(), "/v1/chat/completions", req);
  ASSERT_EQ(plain.status, 200) << plain.body.dump();
  Stream s = post_stream(port(), "/v1/chat/completions", req);
  ASSERT_EQ(s.status, 200);
  EXPECT_TRUE(s.done);
  ASSERT_GE(s.chunks.size(), 3u);
  EXPECT_EQ(s.chunks[0]["object"], "chat.completion.chunk");
  EXPECT_EQ(s.chunks[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(stream_text(s, true), plain.body["choices"][0]["message"]["content"]);
  // include_usage: a last chunk with no choices and the usage.
  const json& u = s.chunks.back();
  EXPECT_TRUE(u["choices"].empty());
  EXPECT_EQ(u["usage"], plain.body["usage"]);
  EXPECT_EQ(s.chunks[s.chunks.size() - 2]["choices"][0]["finish_reason"], plain.body["choices"][0]["finish_reason"]);
}

TEST_F(ServerTest, StopStrings) {
  const json base = {{"prompt", "Once upon a time"}, {"max_tokens", 80}, {"temperature", 0}};
  auto full = post(port(), "/v1/completions", base);
  ASSERT_EQ(full.status, 200);
  const std::string text = full.body["choices"][0]["text"];
  ASSERT_GT(text.size(), 30u);
  // A stop string taken from the middle of the greedy text.
  const std::string stop = text.substr(20, 4);
  const std::string expect = text.substr(0, text.find(stop));
  for (const json& st : {json(stop), json::array({"zzzz-not-there", stop})}) {
    json req = base;
    req["stop"] = st;
    auto r = post(port(), "/v1/completions", req);
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["choices"][0]["text"], expect) << "stop " << st.dump();
    EXPECT_EQ(r.body["choices"][0]["finish_reason"], "stop");
    // Streamed: the same text, the stop string never sent.
    Stream s = post_stream(port(), "/v1/completions", req);
    EXPECT_TRUE(s.done);
    EXPECT_EQ(stream_text(s, false), expect);
  }
}

TEST_F(ServerTest, PenaltiesEqualCliRun) {
  // OpenAI's presence/frequency penalties (and llama.cpp's repeat_last_n)
  // reach the sampler: the greedy text changes, and equals `run` with the
  // same flags.
  const std::string prompt = "Once upon a time, there was a little girl";
  const json plain = cli_greedy(prompt, 64);
  const json ref = cli_greedy(prompt, 64, false,
                              {"--presence-penalty", "0.5", "--frequency-penalty", "1.5", "--repeat-last-n", "-1"});
  ASSERT_TRUE(ref.contains("text")) << ref.dump();
  EXPECT_NE(ref["text"], plain["text"]);
  auto r = post(port(), "/v1/completions",
                {{"prompt", prompt}, {"max_tokens", 64}, {"temperature", 0}, {"presence_penalty", 0.5},
                 {"frequency_penalty", 1.5}, {"repeat_last_n", -1}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["choices"][0]["text"], ref["text"]);
}

TEST_F(ServerTest, ErrorStatuses) {
  const int p = port();
  // Bad JSON, not an object, invalid UTF-8.
  expect_error({http::request(p, "POST", "/v1/completions", "{\"prompt\": ", auth()).status,
                json::parse(http::request(p, "POST", "/v1/completions", "{\"prompt\": ", auth()).body)},
               400);
  expect_error(post(p, "/v1/completions", json::array({1, 2})), 400);
  {
    auto r = http::request(p, "POST", "/v1/completions", "{\"prompt\": \"\xff\xfe\"}", auth());
    expect_error({r.status, json::parse(r.body, nullptr, false)}, 400);
  }
  // Missing fields.
  expect_error(post(p, "/v1/completions", {{"max_tokens", 4}}), 400, "prompt");
  expect_error(post(p, "/v1/chat/completions", {{"max_tokens", 4}}), 400, "messages");
  expect_error(post(p, "/v1/chat/completions", {{"messages", json::array({{{"content", "hi"}}})}}), 400, "messages[0].role");
  // Wrong types.
  expect_error(post(p, "/v1/completions", {{"prompt", 42}}), 400, "prompt");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"max_tokens", "ten"}}), 400, "max_tokens");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"max_tokens", 1.5}}), 400, "max_tokens");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"temperature", "hot"}}), 400, "temperature");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"stream", "yes"}}), 400, "stream");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"stop", 5}}), 400, "stop");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"seed", "x"}}), 400, "seed");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"model", 3}}), 400, "model");
  expect_error(post(p, "/v1/chat/completions", {{"messages", "hi"}}), 400, "messages");
  expect_error(post(p, "/v1/chat/completions", {{"messages", json::array({{{"role", "user"}, {"content", 7}}})}}), 400,
               "messages[0].content");
  // Out of range / unsupported.
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"max_tokens", -1}}), 400, "max_tokens");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"top_p", 0}}), 400, "top_p");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"presence_penalty", 2.5}}), 400, "presence_penalty");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"frequency_penalty", "lots"}}), 400, "frequency_penalty");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"repeat_last_n", -2}}), 400, "repeat_last_n");
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}, {"n", 2}}), 400, "n");
  expect_error(post(p, "/v1/chat/completions", {{"messages", json::array({{{"role", "user"}, {"content", "x"}}})}, {"n", 3}}),
               400, "n");
  expect_error(post(p, "/v1/completions", {{"prompt", json::array({1, 99999})}}), 400, "prompt");
  // A prompt longer than the context.
  {
    auto r = post(p, "/v1/completions", {{"prompt", std::string(4000, 'a') + " story"}});
    expect_error(r, 400, "prompt");
    EXPECT_EQ(r.body["error"]["code"], "context_length_exceeded");
  }
  // Body over the 1 MiB limit.
  {
    const std::string big = "{\"prompt\": \"" + std::string(1100000, 'a') + "\"}";
    auto r = http::request(p, "POST", "/v1/completions", big, auth());
    expect_error({r.status, json::parse(r.body, nullptr, false)}, 413);
  }
  // Authentication.
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}}, {}), 401);
  expect_error(post(p, "/v1/completions", {{"prompt", "a"}}, {{"Authorization", "Bearer wrong"}}), 401);
  {
    auto r = http::request(p, "GET", "/v1/models");
    expect_error({r.status, json::parse(r.body, nullptr, false)}, 401);
  }
  // Unknown route, wrong method.
  {
    auto r = http::request(p, "GET", "/v1/nope", "", auth());
    expect_error({r.status, json::parse(r.body, nullptr, false)}, 404);
    auto r2 = http::request(p, "GET", "/v1/completions", "", auth());
    expect_error({r2.status, json::parse(r2.body, nullptr, false)}, 405);
  }
  // Still healthy after all that.
  EXPECT_EQ(http::request(p, "GET", "/health").status, 200);
  auto ok = post(p, "/v1/completions", {{"prompt", "a"}, {"max_tokens", 2}});
  EXPECT_EQ(ok.status, 200);
}

TEST_F(ServerTest, MalformedHttpDoesNotHurt) {
  const int p = port();
  auto raw = [&](const std::string& bytes, bool half_close) {
    const int fd = http::connect_loopback(p);
    ASSERT_GE(fd, 0);
    http::send_all(fd, bytes);
    if (half_close) ::shutdown(fd, SHUT_WR);
    pollfd pf{fd, POLLIN, 0};
    ::poll(&pf, 1, 500);
    ::close(fd);
  };
  static const char kGarbage[] = "\x00\x01\x02 garbage \r\n\r\n";
  raw(std::string(kGarbage, sizeof kGarbage - 1), true);
  raw("POST /v1/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"prompt\"", true);  // body cut short
  raw("POST /v1/completions HTTP/1.1\r\nContent-Length: -5\r\n\r\n", true);
  raw("GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n", true);
  raw("POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true);
  raw("POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer " + std::string(kKey) +
          "\r\nContent-Length: 60\r\n\r\n{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}",
      false);  // closes while the answer streams
  EXPECT_EQ(http::request(p, "GET", "/health").status, 200);
  EXPECT_EQ(post(p, "/v1/completions", {{"prompt", "a"}, {"max_tokens", 2}}).status, 200);
}

TEST_F(ServerTest, ChatWithoutTemplateIs400) {
  // A second server without --chat-template-file: stories260K has none.
  ServerProcess s(cli_path(), {"-m", model_path()});
  ASSERT_TRUE(s.wait_healthy()) << s.log();
  auto r = post(s.port(), "/v1/chat/completions", {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}}, {});
  expect_error(r, 400, "messages");
  EXPECT_EQ(s.stop(), 0);
}

TEST_F(ServerTest, EightConcurrentStreamsAreCorrect) {
  constexpr int kClients = 8;
  std::vector<std::string> prompts, expected(kClients);
  for (int i = 0; i < kClients; ++i) prompts.push_back("Tom had a " + std::to_string(i) + " ball and");
  for (int i = 0; i < kClients; ++i) {
    auto r = post(port(), "/v1/completions", {{"prompt", prompts[i]}, {"max_tokens", 64}, {"temperature", 0}});
    ASSERT_EQ(r.status, 200);
    expected[i] = r.body["choices"][0]["text"];
  }
  std::vector<Stream> got(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&, i] {
      got[i] = post_stream(port(), "/v1/completions", {{"prompt", prompts[i]}, {"max_tokens", 64}, {"temperature", 0}});
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(got[i].status, 200) << i;
    EXPECT_TRUE(got[i].done) << i;
    EXPECT_EQ(stream_text(got[i], false), expected[i]) << i;
  }
}

// Overload, disconnects, loading and shutdown need their own servers.
class ServerLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_built()) GTEST_SKIP() << "built without the server";
  }
};

// Reads from a streaming request until `min_bytes` arrived; returns the fd
// (the request keeps going) or -1, and what was read in *head.
int start_stream(int port, const json& body, size_t min_bytes = 1, std::string* head = nullptr) {
  const int fd = http::connect_loopback(port);
  if (fd < 0) return -1;
  json b = body;
  b["stream"] = true;
  http::send_all(fd, http::format_request("POST", "/v1/completions", b.dump(), {}));
  std::string got;
  char buf[4096];
  while (got.size() < min_bytes) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  if (head) *head = got;
  return fd;
}

std::string read_to_end(int fd) {
  std::string got;
  char buf[16384];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return got;
}

double metric(int port, const std::string& name) {
  const std::string body = http::request(port, "GET", "/metrics").body;
  const size_t at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atof(body.c_str() + at + name.size() + 2);
}

// A long generation: stories260K is fast, so make it long (big context, plain
// decoding, one thread) to hold the slot for a while.
const json kLong = {{"prompt", "Once upon a time"}, {"max_tokens", 4000}, {"temperature", 0}};

TEST_F(ServerLifecycleTest, OverloadDisconnectAndGracefulShutdown) {
  ServerProcess s(cli_path(), {"-m", model_path(), "-np", "1", "--max-queue", "1", "-c", "4096", "-t", "1",
                               "--no-lookahead"});
  ASSERT_TRUE(s.wait_healthy()) << s.log();
  const int p = s.port();

  // 1. Overload: one generating, one queued, the next one refused with 503.
  const int busy = start_stream(p, kLong);
  ASSERT_GE(busy, 0);
  std::atomic<int> queued_status{0};
  std::thread queued([&] {
    auto r = http::request(p, "POST", "/v1/completions", json{{"prompt", "Hi"}, {"max_tokens", 2}}.dump());
    queued_status = r.status;
  });
  // Wait until the second request is in the queue.
  for (int i = 0; i < 500 && metric(p, "lookahead_queue_length") < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(metric(p, "lookahead_queue_length"), 1) << s.log();
  auto over = post(p, "/v1/completions", {{"prompt", "Hi"}, {"max_tokens", 2}}, {});
  expect_error(over, 503);
  EXPECT_EQ(over.body["error"]["code"], "overloaded");

  // 2. Client disconnect: closing the stream stops its generation and frees
  // the slot for the queued request.
  ::close(busy);
  queued.join();
  EXPECT_EQ(queued_status, 200);
  for (int i = 0; i < 200 && metric(p, "lookahead_cancelled_total") < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(metric(p, "lookahead_cancelled_total"), 1);
  EXPECT_LT(metric(p, "lookahead_generated_tokens_total"), 4000);

  // 3. SIGTERM while a stream is in flight: it still completes, [DONE]
  // included, then the server exits 0 and stops listening.
  std::string head;
  const int inflight = start_stream(p, {{"prompt", "Once upon a time"}, {"max_tokens", 300}, {"temperature", 0}}, 1, &head);
  ASSERT_GE(inflight, 0);
  ::kill(s.pid(), SIGTERM);
  const std::string all = head + read_to_end(inflight);
  EXPECT_NE(all.find("HTTP/1.1 200"), std::string::npos) << all.substr(0, 500) << "\n" << s.log();
  EXPECT_NE(all.find("data: [DONE]"), std::string::npos) << all.substr(0, 500) << "\n" << s.log();
  EXPECT_EQ(s.stop(SIGTERM, 15000), 0) << s.log();
  EXPECT_EQ(http::request(p, "GET", "/health", "", {}, 500).status, 0);
}

TEST_F(ServerLifecycleTest, SecondSignalCancelsInFlight) {
  ServerProcess s(cli_path(), {"-m", model_path(), "-c", "4096", "-t", "1", "--no-lookahead"});
  ASSERT_TRUE(s.wait_healthy()) << s.log();
  std::string head;
  const int fd = start_stream(s.port(), kLong, 200, &head);
  ASSERT_GE(fd, 0);
  ::kill(s.pid(), SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(s.pid(), SIGTERM);
  const std::string rest = head + read_to_end(fd);
  EXPECT_NE(rest.find("\"finish_reason\":\"cancelled\""), std::string::npos) << rest.substr(rest.size() > 2000 ? rest.size() - 2000 : 0);
  EXPECT_NE(rest.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(s.stop(SIGTERM, 5000), 0) << s.log();
}

TEST_F(ServerLifecycleTest, HealthIs503WhileLoading) {
  ServerProcess s(cli_path(), {"-m", model_path(), "--load-delay-ms", "1500"});
  auto h = http::request(s.port(), "GET", "/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(json::parse(h.body)["status"], "loading");
  auto r = post(s.port(), "/v1/completions", {{"prompt", "a"}}, {});
  expect_error(r, 503);
  EXPECT_EQ(r.body["error"]["code"], "loading");
  ASSERT_TRUE(s.wait_healthy()) << s.log();
  EXPECT_EQ(post(s.port(), "/v1/completions", {{"prompt", "a"}, {"max_tokens", 2}}, {}).status, 200);
  EXPECT_EQ(s.stop(SIGINT), 0) << s.log();
}

TEST_F(ServerLifecycleTest, BadModelExitsNonZero) {
  // The listener is up before the model loads; a load failure ends the
  // process with exit code 1 (signal 0 = just wait for the exit).
  ServerProcess s(cli_path(), {"-m", "/nonexistent/model.gguf"});
  EXPECT_EQ(s.stop(0, 10000), 1) << s.log();
}

}  // namespace
}  // namespace lookahead::test
