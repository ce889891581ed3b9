#include "common/json_reader.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

// Validates a whole document the way a caller that skips everything would.
absl::Status Check(absl::string_view text) {
  JsonReader in(text);
  absl::Status status = in.SkipValue();
  if (!status.ok()) return status;
  return in.Finish();
}

std::string Nested(int depth, char open, char close, absl::string_view inner) {
  std::string out;
  for (int i = 0; i < depth; ++i) {
    out += open == '{' ? std::string("{\"k\":") : std::string(1, open);
  }
  absl::StrAppend(&out, inner);
  for (int i = 0; i < depth; ++i) out += close;
  return out;
}

TEST(JsonReaderTest, WalksADocument) {
  JsonReader in(R"( {"name": "w", "n": 42, "list": [1, [], {}], "ok": true, "none": null} )");
  ASSERT_OK(in.EnterObject());
  std::string key, name;
  uint64_t n = 0;
  bool ok = false;
  std::vector<std::string> keys;
  while (true) {
    ASSERT_OK_AND_ASSIGN(bool more, in.NextMember(&key));
    if (!more) break;
    keys.push_back(key);
    if (key == "name") {
      ASSERT_OK(in.ReadString(&name));
    } else if (key == "n") {
      ASSERT_OK(in.ReadUint64(&n));
    } else if (key == "ok") {
      ASSERT_OK(in.ReadBool(&ok));
    } else if (key == "list") {
      EXPECT_EQ(in.Peek(), JsonType::kArray);
      ASSERT_OK(in.SkipValue());
    } else {
      EXPECT_EQ(in.Peek(), JsonType::kNull);
      ASSERT_OK(in.SkipValue());
    }
  }
  ASSERT_OK(in.Finish());
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "n", "list", "ok", "none"}));
  EXPECT_EQ(name, "w");
  EXPECT_EQ(n, 42u);
  EXPECT_TRUE(ok);
}

TEST(JsonReaderTest, ReportsDuplicateKeysForTheCallerToJudge) {
  JsonReader in(R"({"a":1,"a":2})");
  ASSERT_OK(in.EnterObject());
  std::string key;
  std::vector<std::string> keys;
  while (true) {
    ASSERT_OK_AND_ASSIGN(bool more, in.NextMember(&key));
    if (!more) break;
    keys.push_back(key);
    ASSERT_OK(in.SkipValue());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "a"}));
}

TEST(JsonReaderTest, DecodesEscapes) {
  JsonReader in(R"("q\" b\\ s\/ \b\f\n\r\t \u0041\u00e9\u20ac \ud83d\ude00 raw é")");
  std::string out;
  ASSERT_OK(in.ReadString(&out));
  EXPECT_EQ(out, "q\" b\\ s/ \b\f\n\r\t A\xc3\xa9\xe2\x82\xac \xf0\x9f\x98\x80 raw \xc3\xa9");
  JsonReader nul(R"("a\u0000b")");
  ASSERT_OK(nul.ReadString(&out));
  EXPECT_EQ(out, std::string("a\0b", 3));
}

TEST(JsonReaderTest, RefusesBadStrings) {
  for (const std::string& text : std::vector<std::string>{
           R"("\ud83d")",           // lone high surrogate
           R"("\ud83d\u0041")",     // high surrogate, then not a low one
           R"("\ude00")",           // lone low surrogate
           R"("\x41")",             // unknown escape
           R"("\u12g4")",           // bad hex
           R"("\u12)",              // truncated \u
           "\"tab\tinside\"",       // raw control character
           "\"\xc0\x80\"",          // overlong NUL
           "\"\xed\xa0\x80\"",      // encoded surrogate
           "\"\xf5\x80\x80\x80\"",  // past U+10FFFF
           "\"\xe2\x82\"",          // cut sequence
           "\"\x80\"",              // stray continuation byte
           "\"open",                // unterminated
           "\"ends in escape\\",
       }) {
    absl::Status status = Check(text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(JsonReaderTest, ReadsUnsignedIntegersExactly) {
  for (auto [text, value] : std::vector<std::pair<std::string, uint64_t>>{
           {"0", 0}, {" 7 ", 7}, {"18446744073709551615", UINT64_MAX}}) {
    JsonReader in(text);
    uint64_t out = 1;
    ASSERT_OK(in.ReadUint64(&out));
    EXPECT_EQ(out, value);
    EXPECT_OK(in.Finish());
  }
  for (auto [text, why] : std::vector<std::pair<std::string, std::string>>{
           {"18446744073709551616", "does not fit"},
           {"99999999999999999999999999999999999999999999999999", "does not fit"},
           {"-1", "negative"},
           {"-0", "negative"},
           {"1.0", "not an integer"},
           {"1e3", "not an integer"},
           {"01", "leading zero"},
           {"-", "expected a number"},
           {"\"1\"", "expected a number"},
       }) {
    JsonReader in(text);
    uint64_t out;
    absl::Status status = in.ReadUint64(&out);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(status.message().find(why), std::string::npos) << text << ": " << status;
  }
}

TEST(JsonReaderTest, AcceptsValidDocuments) {
  for (const char* text :
       {"{}", "[]", " [ ] ", "0", "-0", "-1.5e-3", "1E+9", "12.75", "true", "false", "null", "\"\"",
        R"({"a":[1,{"b":null}],"c":"d"})", "[1,2,3]", "\t\r\n{ \"a\" : [ ] }\n"}) {
    absl::Status status = Check(text);
    EXPECT_TRUE(status.ok()) << text << ": " << status;
  }
}

TEST(JsonReaderTest, RefusesWhatStrictJsonRefuses) {
  for (const char* text : {"",
                           " ",
                           "{",
                           "}",
                           "[",
                           "{\"a\"}",
                           "{\"a\":}",
                           "{\"a\":1,}",
                           "[1,]",
                           "[,1]",
                           "[1 2]",
                           "{\"a\":1 \"b\":2}",
                           "{a:1}",
                           "{'a':1}",
                           "[01]",
                           "1.",
                           ".5",
                           "+1",
                           "1e",
                           "1e+",
                           "--1",
                           "tru",
                           "nul",
                           "True",
                           "NaN",
                           "Infinity",
                           "[1]x",
                           "{} {}",
                           "{\"a\":1}}",
                           "[\"abc",
                           "// comment\n{}",
                           "{\"a\":1,\"b\"}",
                           "\xef\xbb\xbf{}"}) {
    absl::Status status = Check(text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(status.message().find("JSON at byte"), std::string::npos) << status;
  }
}

TEST(JsonReaderTest, BoundsNesting) {
  EXPECT_OK(Check(Nested(kMaxJsonDepth, '[', ']', "1")));
  EXPECT_OK(Check(Nested(kMaxJsonDepth, '{', '}', "1")));
  for (char open : {'[', '{'}) {
    const char close = open == '[' ? ']' : '}';
    absl::Status status = Check(Nested(kMaxJsonDepth + 1, open, close, "1"));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("deeper than 64"), std::string::npos) << status;
  }
  // Far deeper than the limit: refused early, no deep recursion.
  EXPECT_FALSE(Check(std::string(1 << 20, '[')).ok());
}

TEST(JsonReaderTest, EveryTruncationIsAnError) {
  const std::string text =
      R"({"a": [1, -2.5e3, true, false, null], "b\u00e9": {"c": "d\n\ud83d\ude00"}, "e": []})";
  ASSERT_OK(Check(text));
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_FALSE(Check(text.substr(0, n)).ok()) << n;
  }
}

TEST(JsonReaderTest, RandomBytesNeverCrash) {
  uint64_t x = 42;
  auto next = [&x] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  // Mostly JSON punctuation, so the reader gets past the first byte.
  const std::string alphabet = "{}[]:,\"\\u0123456789-+.eEtrufalsn \n\xc3\xa9\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string text(next() % 64, '\0');
    for (char& c : text) c = i % 2 ? alphabet[next() % alphabet.size()] : static_cast<char>(next());
    (void)Check(text);
  }
}

}  // namespace
}  // namespace cairn
