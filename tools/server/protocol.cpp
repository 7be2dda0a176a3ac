#include "server/protocol.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "server/api_error.h"

namespace lookahead::server {

using nlohmann::json;

namespace {

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    default: return "value";
  }
}

ApiError wrong_type(const std::string& field, const char* expected, const json& v) {
  return ApiError(400, "'" + field + "' must be " + expected + ", got " + type_name(v), "invalid_request_error", field,
                  "invalid_type");
}

// Looks a field up; null counts as absent (OpenAI clients send nulls for unset options).
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

double get_number(const json& v, const std::string& name) {
  if (!v.is_number()) throw wrong_type(name, "a number", v);
  const double d = v.get<double>();
  if (!std::isfinite(d)) throw bad_field(name, "'" + name + "' must be finite");
  return d;
}

// An integer; a float with an integral value (e.g. 16.0) is accepted too.
int64_t get_integer(const json& v, const std::string& name) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) throw bad_field(name, "'" + name + "' is too large");
    return static_cast<int64_t>(u);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  throw wrong_type(name, "an integer", v);
}

bool get_bool(const json& v, const std::string& name) {
  if (!v.is_boolean()) throw wrong_type(name, "a boolean", v);
  return v.get<bool>();
}

std::string get_string(const json& v, const std::string& name) {
  if (!v.is_string()) throw wrong_type(name, "a string", v);
  return v.get<std::string>();
}

std::vector<int32_t> get_token_ids(const json& v, const std::string& name) {
  std::vector<int32_t> ids;
  ids.reserve(v.size());
  for (const auto& t : v) {
    if (!t.is_number_integer() && !t.is_number_unsigned()) throw wrong_type(name, "a string or an array of token ids", t);
    const int64_t id = t.get<int64_t>();
    if (id < 0 || id > std::numeric_limits<int32_t>::max()) throw bad_field(name, "token id " + std::to_string(id) + " is out of range");
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

std::string message_content(const json& m, size_t i) {
  const std::string name = "messages[" + std::to_string(i) + "].content";
  auto it = m.find("content");
  if (it == m.end() || it->is_null()) return {};  // e.g. an assistant turn that only called tools
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) throw wrong_type(name, "a string or an array of content parts", *it);
  // Content parts: only text is supported; the parts are joined.
  std::string text;
  for (const auto& part : *it) {
    if (!part.is_object()) throw wrong_type(name, "an array of content part objects", part);
    const json* type = field(part, "type");
    if (!type || !type->is_string() || type->get<std::string>() != "text")
      throw bad_field(name, "only content parts of type 'text' are supported");
    const json* t = field(part, "text");
    if (!t) throw ApiError(400, "'" + name + "' part is missing 'text'", "invalid_request_error", name, "missing_field");
    text += get_string(*t, name + ".text");
  }
  return text;
}

}  // namespace

CompletionRequest parse_request(Endpoint endpoint, const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    throw ApiError(400, std::string("request body is not valid JSON: ") + e.what(), "invalid_request_error", {},
                   "invalid_json");
  }
  if (!j.is_object()) throw ApiError(400, "request body must be a JSON object", "invalid_request_error", {}, "invalid_json");

  CompletionRequest r;
  r.endpoint = endpoint;
  if (const json* v = field(j, "model")) r.model = get_string(*v, "model");

  if (endpoint == Endpoint::Completions) {
    const json* p = field(j, "prompt");
    if (!p) throw ApiError(400, "'prompt' is required", "invalid_request_error", "prompt", "missing_field");
    if (p->is_string()) {
      r.prompt = p->get<std::string>();
    } else if (p->is_array()) {
      if (p->empty()) throw bad_field("prompt", "'prompt' must not be an empty array");
      // A batch of prompts would need n choices; only a batch of one is served.
      if ((*p)[0].is_string() || (*p)[0].is_array()) {
        if (p->size() != 1) throw bad_field("prompt", "only one prompt per request is supported");
        const json& one = (*p)[0];
        if (one.is_string()) r.prompt = one.get<std::string>();
        else if (one.empty()) throw bad_field("prompt", "'prompt' must not be an empty array");
        else r.prompt_ids = get_token_ids(one, "prompt");
      } else {
        r.prompt_ids = get_token_ids(*p, "prompt");
      }
    } else {
      throw wrong_type("prompt", "a string or an array of token ids", *p);
    }
    if (const json* v = field(j, "echo"); v && get_bool(*v, "echo"))
      throw bad_field("echo", "'echo' is not supported");
    if (const json* v = field(j, "suffix"); v && !get_string(*v, "suffix").empty())
      throw bad_field("suffix", "'suffix' is not supported");
    if (const json* v = field(j, "best_of"); v && get_integer(*v, "best_of") != 1)
      throw bad_field("best_of", "only best_of = 1 is supported");
    if (const json* v = field(j, "logprobs"); v && !(v->is_boolean() && !v->get<bool>()) &&
                                                !(v->is_number() && v->get<double>() == 0))
      throw bad_field("logprobs", "'logprobs' is not supported");
  } else {
    const json* m = field(j, "messages");
    if (!m) throw ApiError(400, "'messages' is required", "invalid_request_error", "messages", "missing_field");
    if (!m->is_array()) throw wrong_type("messages", "an array", *m);
    if (m->empty()) throw bad_field("messages", "'messages' must not be empty");
    for (size_t i = 0; i < m->size(); ++i) {
      const json& msg = (*m)[i];
      const std::string name = "messages[" + std::to_string(i) + "]";
      if (!msg.is_object()) throw wrong_type(name, "an object", msg);
      const json* role = field(msg, "role");
      if (!role) throw ApiError(400, "'" + name + ".role' is required", "invalid_request_error", name + ".role", "missing_field");
      r.messages.push_back({get_string(*role, name + ".role"), message_content(msg, i)});
    }
    if (const json* v = field(j, "logprobs"); v && get_bool(*v, "logprobs"))
      throw bad_field("logprobs", "'logprobs' is not supported");
    if (const json* v = field(j, "tools"); v && !(v->is_array() && v->empty()))
      throw bad_field("tools", "'tools' is not supported");
  }

  // max_completion_tokens is the newer name of max_tokens in the chat API.
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (const json* v = field(j, name)) {
      const int64_t n = get_integer(*v, name);
      if (n < 0) throw bad_field(name, std::string("'") + name + "' must be >= 0");
      r.max_tokens = static_cast<int>(std::min<int64_t>(n, std::numeric_limits<int>::max()));
    }
  }
  if (const json* v = field(j, "n"); v && get_integer(*v, "n") != 1)
    throw bad_field("n", "only n = 1 is supported");

  SamplingOptions& s = r.sampling;
  if (const json* v = field(j, "temperature")) {
    s.temperature = static_cast<float>(get_number(*v, "temperature"));
    if (s.temperature < 0) throw bad_field("temperature", "'temperature' must be >= 0");
  }
  if (const json* v = field(j, "top_p")) {
    const double p = get_number(*v, "top_p");
    if (p <= 0 || p > 1) throw bad_field("top_p", "'top_p' must be in (0, 1]");
    s.top_p = static_cast<float>(p);
  }
  if (const json* v = field(j, "top_k")) {
    const int64_t k = get_integer(*v, "top_k");
    if (k < 0) throw bad_field("top_k", "'top_k' must be >= 0");
    s.top_k = static_cast<int>(std::min<int64_t>(k, std::numeric_limits<int>::max()));
  }
  if (const json* v = field(j, "min_p")) {
    const double p = get_number(*v, "min_p");
    if (p < 0 || p > 1) throw bad_field("min_p", "'min_p' must be in [0, 1]");
    s.min_p = static_cast<float>(p);
  }
  if (const json* v = field(j, "repeat_penalty")) {
    const double p = get_number(*v, "repeat_penalty");
    if (p <= 0) throw bad_field("repeat_penalty", "'repeat_penalty' must be > 0");
    s.repeat_penalty = static_cast<float>(p);
  }
  if (const json* v = field(j, "repeat_last_n")) {
    const int64_t n = get_integer(*v, "repeat_last_n");
    if (n < -1) throw bad_field("repeat_last_n", "'repeat_last_n' must be >= -1");
    s.repeat_last_n = static_cast<int>(std::min<int64_t>(n, std::numeric_limits<int>::max()));
  }
  for (auto [name, dst] : {std::pair{"presence_penalty", &s.presence_penalty},
                            std::pair{"frequency_penalty", &s.frequency_penalty}})
    if (const json* v = field(j, name)) {
      const double p = get_number(*v, name);
      if (p < -2 || p > 2) throw bad_field(name, std::string("'") + name + "' must be in [-2, 2]");
      *dst = static_cast<float>(p);
    }
  if (const json* v = field(j, "seed")) s.seed = static_cast<uint64_t>(get_integer(*v, "seed"));

  if (const json* v = field(j, "stop")) {
    if (v->is_string()) {
      r.stop.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      for (const auto& e : *v) r.stop.push_back(get_string(e, "stop"));
    } else {
      throw wrong_type("stop", "a string or an array of strings", *v);
    }
    if (r.stop.size() > 16) throw bad_field("stop", "at most 16 stop strings are supported");
    for (const auto& st : r.stop)
      if (st.empty()) throw bad_field("stop", "stop strings must not be empty");
  }
  if (const json* v = field(j, "stream")) r.stream = get_bool(*v, "stream");
  if (const json* v = field(j, "stream_options")) {
    if (!v->is_object()) throw wrong_type("stream_options", "an object", *v);
    if (const json* u = field(*v, "include_usage")) r.include_usage = get_bool(*u, "stream_options.include_usage");
  }
  return r;
}

std::string finish_reason(const Generation& g) {
  if (g.finish_reason == "context") return "length";  // OpenAI has no separate reason for a full context
  return g.finish_reason;
}

nlohmann::json usage_json(const GenerationStats& s) {
  return {{"prompt_tokens", s.prompt_tokens},
          {"completion_tokens", s.generated_tokens},
          {"total_tokens", s.prompt_tokens + s.generated_tokens}};
}

nlohmann::json lookahead_json(const GenerationStats& s) {
  int64_t accepted = 0;
  for (size_t n = 0; n < s.accept_hist.size(); ++n) accepted += static_cast<int64_t>(n) * s.accept_hist[n];
  return {{"decoder", s.decoder},
          {"steps", s.steps},
          {"accepted_tokens", accepted},
          {"compression", s.steps ? static_cast<double>(accepted) / s.steps : 0.0},
          {"accept_hist", s.accept_hist},
          {"pool_size", s.pool_size},
          {"pool_hit_rate", s.pool_lookups ? static_cast<double>(s.pool_hits) / s.pool_lookups : 0.0},
          {"prompt_ms", s.prompt_ms},
          {"generate_ms", s.generate_ms},
          {"tokens_per_second", s.tokens_per_second},
          {"seed", s.seed}};
}

namespace {
json base(const ResponseMeta& meta, bool chunk) {
  const bool chat = meta.endpoint == Endpoint::Chat;
  return {{"id", meta.id},
          {"object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", "lookahead-0.1.0"}};
}
}  // namespace

nlohmann::json completion_response(const ResponseMeta& meta, const Generation& g) {
  json j = base(meta, false);
  json choice = {{"index", 0}, {"finish_reason", finish_reason(g)}, {"logprobs", nullptr}};
  if (meta.endpoint == Endpoint::Chat) choice["message"] = {{"role", "assistant"}, {"content", g.text}};
  else choice["text"] = g.text;
  j["choices"] = json::array({choice});
  j["usage"] = usage_json(g.stats);
  j["lookahead"] = lookahead_json(g.stats);
  return j;
}

nlohmann::json stream_chunk(const ResponseMeta& meta, const std::string& text, const Generation* final_gen,
                            bool role_chunk) {
  json j = base(meta, true);
  json choice = {{"index", 0},
                 {"finish_reason", final_gen ? json(finish_reason(*final_gen)) : json(nullptr)},
                 {"logprobs", nullptr}};
  if (meta.endpoint == Endpoint::Chat) {
    json delta = json::object();
    if (role_chunk) delta = {{"role", "assistant"}, {"content", ""}};
    else if (!text.empty()) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  j["choices"] = json::array({choice});
  if (final_gen) j["lookahead"] = lookahead_json(final_gen->stats);
  return j;
}

nlohmann::json usage_chunk(const ResponseMeta& meta, const Generation& g) {
  json j = base(meta, true);
  j["choices"] = json::array();
  j["usage"] = usage_json(g.stats);
  return j;
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace lookahead::server
