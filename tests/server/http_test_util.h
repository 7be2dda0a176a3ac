// Test helpers for the server end-to-end tests: a minimal blocking HTTP/1.1
// client over POSIX sockets (loopback only; the test binary does not link
// cpp-httplib), an SSE parser, and ServerProcess, which runs the real
// `lookahead serve` binary on a free port and always kills it at the end.
//
// Threads: the free functions are reentrant (one socket per call); a
// ServerProcess is owned by one test thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace lookahead::test::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;                              // 0: no response (connection failed or closed early)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // de-chunked
};

inline std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Connects to 127.0.0.1:port; -1 on failure.
inline int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

inline bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

inline std::string format_request(const std::string& method, const std::string& path, const std::string& body,
                                  const Headers& headers) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    r += k + ": " + v + "\r\n";
    if (lower(k) == "content-type") has_type = true;
  }
  if (!body.empty() || method == "POST") {
    if (!has_type) r += "Content-Type: application/json\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "\r\n" + body;
}

inline std::string dechunk(const std::string& s) {
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t eol = s.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const size_t len = std::stoul(s.substr(pos, eol - pos), nullptr, 16);
    if (len == 0) break;
    out += s.substr(eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return out;
}

// Parses a complete response (the server closed the connection after it).
inline Response parse_response(const std::string& raw) {
  Response r;
  const size_t hend = raw.find("\r\n\r\n");
  if (hend == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return r;
  std::istringstream hs(raw.substr(0, hend));
  std::string line;
  std::getline(hs, line);
  r.status = std::atoi(line.c_str() + line.find(' ') + 1);
  while (std::getline(hs, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    r.headers[lower(line.substr(0, colon))] = line.substr(v);
  }
  r.body = raw.substr(hend + 4);
  if (lower(r.headers["transfer-encoding"]) == "chunked") r.body = dechunk(r.body);
  return r;
}

// One request on a fresh connection (Connection: close); reads until the
// server closes it or timeout_ms passes.
inline Response request(int port, const std::string& method, const std::string& path, const std::string& body = "",
                        const Headers& headers = {}, int timeout_ms = 30000) {
  const int fd = connect_loopback(port);
  if (fd < 0) return {};
  std::string raw;
  if (send_all(fd, format_request(method, path, body, headers))) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[16384];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      raw.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return parse_response(raw);
}

// The data payloads of an SSE body, in order ("[DONE]" included).
inline std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::istringstream ev(body.substr(pos, end - pos));
    std::string line, data;
    bool has = false;
    while (std::getline(ev, line)) {
      if (line.rfind("data:", 0) != 0) continue;
      std::string v = line.substr(5);
      if (!v.empty() && v[0] == ' ') v.erase(0, 1);
      data += (has ? "\n" : "") + v;
      has = true;
    }
    if (has) out.push_back(data);
    pos = end + 2;
  }
  return out;
}

// Runs `lookahead serve --port 0 ARGS...`, learns the port from its first
// stdout line, and kills it (SIGKILL after a grace period) when destroyed,
// whatever the test did. Its stderr goes to a log file for diagnostics.
class ServerProcess {
 public:
  ServerProcess(const std::string& cli, std::vector<std::string> args, int start_timeout_ms = 15000) {
    static int counter = 0;
    log_path_ = "/tmp/lookahead_server_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".log";
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_s = {cli, "serve", "--port", "0"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid_, cli.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      pid_ = -1;
      throw std::runtime_error("cannot start " + cli);
    }
    // Read the "listening on http://HOST:PORT" line.
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(start_timeout_ms);
    while (got.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      pollfd p{out[0], POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
      char buf[256];
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    ::close(out[0]);
    const size_t colon = got.rfind(':');
    if (got.find("listening on") == std::string::npos || colon == std::string::npos) {
      kill_now();
      throw std::runtime_error("server did not start: " + got + "\nlog:\n" + log());
    }
    port_ = std::atoi(got.c_str() + colon + 1);
  }
  ~ServerProcess() {
    kill_now();
    ::unlink(log_path_.c_str());
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // Polls GET /health until it answers 200.
  bool wait_healthy(int timeout_ms = 15000) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (request(port_, "GET", "/health", "", {}, 2000).status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Sends sig and waits for the exit; returns the exit code, or -1 (still
  // running after timeout_ms: then killed) or -2 (killed by a signal).
  int stop(int sig = SIGTERM, int timeout_ms = 15000) {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -2;
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        kill_now();
        exit_code_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::string log() const {
    std::ifstream f(log_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

 private:
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
  std::string log_path_;
};

}  // namespace lookahead::test::http
