// The OpenAI wire format: parsing and validating request bodies of
// /v1/completions and /v1/chat/completions, and building the response,
// stream-chunk and usage objects. Pure functions of their inputs (no model,
// no I/O), so every rule here is testable without a server.
//
// Threads: everything here is stateless and reentrant.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lookahead/lookahead.h"

namespace lookahead::server {

enum class Endpoint { Completions, Chat };

// A validated request. Sampling fields not sent keep the library's defaults
// (the same as `lookahead run`'s), so a request and a `run` with the same
// flags produce the same output.
struct CompletionRequest {
  Endpoint endpoint = Endpoint::Completions;
  std::string model;                    // as sent; empty = not sent
  std::string prompt;                   // completions: the text prompt
  std::optional<std::vector<int32_t>> prompt_ids;  // completions: prompt given as token ids
  std::vector<Message> messages;        // chat
  std::optional<int> max_tokens;        // unset: the endpoint's default
  SamplingOptions sampling;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;           // stream_options.include_usage
};

// Parses and validates a body. Throws ApiError (400) naming the field for
// bad JSON, a missing prompt/messages, a field of the wrong type or out of
// range, and for unsupported options (n != 1, best_of, echo, logprobs).
CompletionRequest parse_request(Endpoint endpoint, const std::string& body);

// What a response is labelled with.
struct ResponseMeta {
  Endpoint endpoint = Endpoint::Completions;
  std::string id;        // "cmpl-..." / "chatcmpl-..."
  int64_t created = 0;   // unix seconds
  std::string model;
};

// OpenAI finish_reason for a Generation ("stop", "length"; "cancelled"
// when the client or a shutdown stopped it).
std::string finish_reason(const Generation& g);

nlohmann::json usage_json(const GenerationStats& s);
// The `lookahead` extension object: decoder, steps, accepted tokens,
// compression (accepted tokens per step), acceptance histogram, pool stats.
nlohmann::json lookahead_json(const GenerationStats& s);

// A whole non-streamed response.
nlohmann::json completion_response(const ResponseMeta& meta, const Generation& g);

// One streamed chunk. For chat, `role_chunk` makes the first chunk that only
// carries {"role": "assistant"}. finish: null while generating; the final
// chunk carries the finish reason and the usage/lookahead objects.
nlohmann::json stream_chunk(const ResponseMeta& meta, const std::string& text, const Generation* final_gen = nullptr,
                            bool role_chunk = false);
// The stream_options.include_usage chunk: choices [] and the usage.
nlohmann::json usage_chunk(const ResponseMeta& meta, const Generation& g);

// Serialises for the wire; invalid UTF-8 becomes U+FFFD instead of throwing.
std::string dump(const nlohmann::json& j);

}  // namespace lookahead::server
