// UTF-8 helpers and the GPT-2 byte map used by the tokenizers.
#include <gtest/gtest.h>

#include <set>

#include "text/unicode.h"

namespace lookahead::text {
namespace {

TEST(TokenizerUnicode, ByteMapIsABijection) {
  std::set<std::string> seen;
  for (int b = 0; b < 256; ++b) {
    const std::string& u = byte_to_unicode(static_cast<uint8_t>(b));
    EXPECT_TRUE(seen.insert(u).second);
    const Utf8Decode d = utf8_decode(u);
    ASSERT_EQ(d.status, Utf8Decode::Ok);
    EXPECT_EQ(d.len, u.size());
    EXPECT_EQ(unicode_to_byte(d.cpt), b);
  }
  EXPECT_EQ(byte_to_unicode(' '), "\xC4\xA0");  // 'Ġ'
  EXPECT_EQ(byte_to_unicode('\n'), "\xC4\x8A");  // 'Ċ'
  EXPECT_EQ(byte_to_unicode('A'), "A");
  EXPECT_EQ(unicode_to_byte(0x4E00), -1);
}

TEST(TokenizerUnicode, StrictDecoding) {
  EXPECT_TRUE(is_valid_utf8("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\xA6\x99"));
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
  EXPECT_EQ(sanitize_utf8("a\xFF" "b\xE2\x82"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("ok"), "ok");
}

TEST(TokenizerUnicode, CompletePrefix) {
  EXPECT_EQ(utf8_complete_prefix(""), 0u);
  EXPECT_EQ(utf8_complete_prefix("ab"), 2u);
  EXPECT_EQ(utf8_complete_prefix("a\xF0\x9F\xA6"), 1u);      // emoji still incomplete
  EXPECT_EQ(utf8_complete_prefix("a\xF0\x9F\xA6\x99"), 5u);  // complete
  EXPECT_EQ(utf8_complete_prefix("a\xE2\x82"), 1u);
  EXPECT_EQ(utf8_complete_prefix("a\xE2" "b"), 3u);  // can never complete: pass through
  EXPECT_EQ(utf8_complete_prefix("a\x80"), 2u);      // stray continuation byte
  EXPECT_EQ(utf8_complete_prefix("a\xC0"), 2u);      // never-valid lead byte
  EXPECT_EQ(utf8_complete_prefix("a\xED\xA0"), 3u);  // surrogate prefix: invalid already
}

}  // namespace
}  // namespace lookahead::text
