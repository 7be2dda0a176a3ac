// Errors the server answers with, in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// Request parsing and the scheduler throw ApiError; the route wrappers in
// http_server.cpp catch it (and everything else) per request and write it.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace lookahead::server {

struct ApiError : std::runtime_error {
  int status;          // HTTP status
  std::string type;    // "invalid_request_error", "authentication_error", "server_error", ...
  std::string param;   // offending request field, empty = null
  std::string code;    // machine-readable code, empty = null

  ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string param = {},
           std::string code = {})
      : std::runtime_error(std::move(message)),
        status(status),
        type(std::move(type)),
        param(std::move(param)),
        code(std::move(code)) {}

  nlohmann::json to_json() const {
    return {{"error",
             {{"message", what()},
              {"type", type},
              {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
              {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}}}};
  }
};

// 400 naming the field.
inline ApiError bad_field(const std::string& param, const std::string& message) {
  return ApiError(400, message, "invalid_request_error", param, "invalid_value");
}

}  // namespace lookahead::server
