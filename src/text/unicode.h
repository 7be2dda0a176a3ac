// UTF-8 helpers and the GPT-2 byte <-> unicode mapping used by byte-level BPE.
//
// "Strict" UTF-8 here means RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF. All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lookahead::text {

// Length of the UTF-8 sequence announced by `lead`, the way llama.cpp counts it
// (high nibble table: 0xxx -> 1, 10xx -> 1, 110x -> 2, 1110 -> 3, 1111 -> 4).
// Never 0; does not validate. The SPM and BPE symbol splitters use this so that
// invalid input is grouped into symbols exactly as llama.cpp groups it.
size_t utf8_lead_len(uint8_t lead);

// Result of decoding one strict UTF-8 sequence at the start of `s`.
struct Utf8Decode {
  enum Status { Ok, Invalid, Incomplete } status;
  uint32_t cpt;  // valid when status == Ok
  size_t len;    // Ok: sequence length; Invalid: 1 (skip one byte); Incomplete: bytes present
};
// Decodes the first code point of a non-empty `s`. Incomplete means `s` ends in
// the middle of a sequence that could still become valid with more bytes.
Utf8Decode utf8_decode(std::string_view s);

// Appends the UTF-8 encoding of `cpt` (must be <= 0x10FFFF) to `out`.
void utf8_append(std::string& out, uint32_t cpt);

// Replaces every byte that does not start a complete strict UTF-8 sequence by
// U+FFFD (one replacement per bad byte, as llama.cpp's unicode_cpts_from_utf8
// does for its own notion of invalid). Valid input is returned unchanged.
std::string sanitize_utf8(std::string_view s);
bool is_valid_utf8(std::string_view s);

// Length of the longest prefix of `s` that does not end inside a possibly
// still-valid incomplete sequence: everything except a trailing incomplete
// sequence. Invalid bytes count as complete (they can never become valid).
size_t utf8_complete_prefix(std::string_view s);

// GPT-2 byte-level encoding: every byte maps to one printable code point
// (printable Latin-1 bytes map to themselves, the rest to U+0100 + n).
// byte_to_unicode returns its UTF-8 text; unicode_to_byte returns -1 for code
// points outside the 256 used ones.
const std::string& byte_to_unicode(uint8_t b);
int unicode_to_byte(uint32_t cpt);
// Byte-encodes a whole string (each byte -> its code point's UTF-8).
std::string bytes_to_unicode_string(std::string_view bytes);

}  // namespace lookahead::text
