// Source positions and the engine-internal failure type.
//
// Contract: everything inside the engine that fails throws TemplateFailure.
// Code that knows the source position of the construct being evaluated adds it
// (first position wins, so the innermost construct is reported). The public
// Template API converts TemplateFailure into lookahead::Error with a message of
// the form "<template name>: <what> at line L, column C".
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "util/error.h"

namespace lookahead::jinja {

struct SourcePos {
  std::uint32_t line = 0;    // 1-based; 0 = unknown
  std::uint32_t column = 0;  // 1-based, in code points
};

class TemplateFailure : public Error {
 public:
  TemplateFailure(std::string what, SourcePos pos, bool raised = false)
      : Error(what), what_(std::move(what)), pos_(pos), raised_(raised) {}
  const std::string& message() const { return what_; }
  SourcePos pos() const { return pos_; }
  bool has_pos() const { return pos_.line != 0; }
  void set_pos_if_unset(SourcePos p) {
    if (!has_pos()) pos_ = p;
  }
  // True when the template itself called raise_exception().
  bool raised() const { return raised_; }

 private:
  std::string what_;
  SourcePos pos_;
  bool raised_;
};

[[noreturn]] inline void raise_failure(std::string what) { throw TemplateFailure(std::move(what), {}); }
[[noreturn]] inline void raise_at(SourcePos pos, std::string what) { throw TemplateFailure(std::move(what), pos); }

}  // namespace lookahead::jinja
