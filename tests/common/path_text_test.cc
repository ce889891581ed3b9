// PathToText / PathFromText: every byte string up to 3 bytes and many random
// longer ones round-trip exactly; valid UTF-8 without control bytes is kept
// as is (IsPlainText), anything else (invalid or overlong UTF-8, surrogates,
// control bytes) is written \xHH and a backslash \\; the text is always
// plain; PathFromText refuses a lone or unknown backslash and bad hex.
#include "common/path_text.h"

#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

// PathToText's promises for one raw string; false (with a failure) if one breaks.
bool CheckOne(const std::string& raw) {
  const std::string text = PathToText(raw);
  absl::StatusOr<std::string> back = PathFromText(text);
  if (!back.ok() || *back != raw) {
    ADD_FAILURE() << "no round trip for \"" << text << "\": " << back.status();
    return false;
  }
  if (!IsPlainText(text)) {
    ADD_FAILURE() << "text is not plain: \"" << text << "\"";
    return false;
  }
  if ((text == raw) != (IsPlainText(raw) && raw.find('\\') == std::string::npos)) {
    ADD_FAILURE() << "kept as is, or not, wrongly: \"" << text << "\"";
    return false;
  }
  return true;
}

TEST(PathTextTest, EveryStringOfUpToThreeBytesRoundTrips) {
  ASSERT_TRUE(CheckOne(""));
  std::string raw;
  for (int a = 0; a < 256; ++a) {
    raw.assign(1, static_cast<char>(a));
    ASSERT_TRUE(CheckOne(raw));
    for (int b = 0; b < 256; ++b) {
      raw.assign({static_cast<char>(a), static_cast<char>(b)});
      ASSERT_TRUE(CheckOne(raw));
      for (int c = 0; c < 256; ++c) {
        raw.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        ASSERT_TRUE(CheckOne(raw));
      }
    }
  }
}

TEST(PathTextTest, RandomLongerStringsRoundTrip) {
  std::mt19937 random(1234);
  // Uniform bytes, and bytes biased to what the escaping cares about.
  const std::string tricky = "\\x0aF/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xa0\x80\x7f\n";
  for (int i = 0; i < 20000; ++i) {
    std::string raw(4 + random() % 60, '\0');
    for (char& ch : raw) {
      ch = i % 2 == 0 ? static_cast<char>(random()) : tricky[random() % tricky.size()];
    }
    ASSERT_TRUE(CheckOne(raw)) << i;
  }
}

TEST(PathTextTest, ValidUtf8IsKeptAsIs) {
  for (const std::string& raw :
       {std::string("data/report.txt"), std::string("caf\xc3\xa9"),
        std::string("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), std::string("\xf0\x9f\x98\x80"),
        std::string("\xf4\x8f\xbf\xbf"), std::string("\xed\x9f\xbf"), std::string(" ~!")}) {
    EXPECT_EQ(PathToText(raw), raw);
    EXPECT_TRUE(IsPlainText(raw));
  }
}

TEST(PathTextTest, EverythingElseIsEscaped) {
  struct Case {
    std::string raw, text;
  };
  for (const Case& c : std::vector<Case>{
           {"caf\xe9.txt", "caf\\xe9.txt"},               // Latin-1
           {"\xc0\xaf", "\\xc0\\xaf"},                    // overlong '/'
           {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},           // overlong, three bytes
           {"\xed\xa0\x80", "\\xed\\xa0\\x80"},           // a surrogate
           {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},  // above U+10FFFF
           {"\xe6\x97", "\\xe6\\x97"},                    // cut short
           {"\x80", "\\x80"},                             // a lone continuation byte
           {"a\nb\tc", "a\\x0ab\\x09c"},                  // control bytes
           {std::string("\0", 1), "\\x00"},
           {"\x7f", "\\x7f"},
           {"back\\slash", "back\\\\slash"},
           {"\\x41", "\\\\x41"},  // text that looks like an escape
       }) {
    EXPECT_EQ(PathToText(c.raw), c.text);
    EXPECT_FALSE(IsPlainText(c.raw) && c.raw.find('\\') == std::string::npos) << c.text;
    absl::StatusOr<std::string> back = PathFromText(c.text);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, c.raw);
  }
}

TEST(PathTextTest, PathFromTextRefusesBadEscapes) {
  for (const std::string& bad :
       {std::string("\\"), std::string("a\\"), std::string("\\x"), std::string("\\x4"),
        std::string("ab\\xg0"), std::string("\\x0g"), std::string("\\y"), std::string("\\X41"),
        std::string("\\ x41"), std::string("ok\\\\\\")}) {
    absl::StatusOr<std::string> raw = PathFromText(bad);
    EXPECT_EQ(raw.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::StatusOr<std::string> at = PathFromText("abc\\q");
  EXPECT_THAT(at.status().message(), HasSubstr("byte 3"));
  // Either case of hex digit is read.
  absl::StatusOr<std::string> upper = PathFromText("\\xAB\\xab");
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_EQ(*upper, "\xab\xab");
  // Plain text, and text PathToText never writes (valid UTF-8, no backslash), is kept.
  absl::StatusOr<std::string> plain = PathFromText("\xc3\xa9/\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "\xc3\xa9/\n");
}

}  // namespace
}  // namespace cairn
