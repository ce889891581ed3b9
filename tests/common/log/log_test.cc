#include "common/log/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace cairn::log {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

absl::Time At() {
  return absl::FromCivil(absl::CivilSecond(2026, 12, 2, 17, 20, 1), absl::UTCTimeZone()) +
         absl::Milliseconds(123);
}

bool ValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    int n = Utf8Sequence(s.substr(i));
    if (n <= 0) return false;
    i += static_cast<size_t>(n);
  }
  return true;
}

TEST(LogTest, LineIsTimestampLevelEventThenFieldsInOrder) {
  EXPECT_EQ(FormatLine(At(), Level::kInfo, "backup.committed",
                       {{"root", "/data"}, {"files", 12}, {"ok", true}}),
            "ts=2026-12-02T17:20:01.123Z level=info event=backup.committed root=/data files=12 "
            "ok=true\n");
  EXPECT_EQ(FormatLine(At(), Level::kError, "x", {}),
            "ts=2026-12-02T17:20:01.123Z level=error event=x\n");
}

TEST(LogTest, ValuesThatNeedItAreQuotedAndEscaped) {
  auto one = [](absl::string_view v) {
    std::string line = FormatLine(At(), Level::kWarn, "e", {{"v", v}});
    size_t at = line.find(" v=");
    return line.substr(at + 3, line.size() - at - 4);
  };
  EXPECT_EQ(one("plain-text_1.2/x:y"), "plain-text_1.2/x:y");
  EXPECT_EQ(one(""), "\"\"");
  EXPECT_EQ(one("two words"), "\"two words\"");
  EXPECT_EQ(one("a=b"), "\"a=b\"");
  EXPECT_EQ(one("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(one("back\\slash"), "\"back\\\\slash\"");
  EXPECT_EQ(one("line1\nline2\r\tend"), "\"line1\\nline2\\r\\tend\"");
  EXPECT_EQ(one(std::string("nul\0bell\x07", 9)), "\"nul\\x00bell\\x07\"");
  EXPECT_EQ(one("caf\xc3\xa9"), "\"caf\xc3\xa9\"");    // UTF-8 kept as it is
  EXPECT_EQ(one("bad\xff\xc3"), "\"bad\\xff\\xc3\"");  // not UTF-8: escaped
}

TEST(LogTest, KeysAreKeptToLowerCaseDigitsUnderscoreAndDot) {
  EXPECT_EQ(FormatLine(At(), Level::kInfo, "e", {{"Bad Key=", "v"}, {"", "w"}, {"ok_1.x", "z"}}),
            "ts=2026-12-02T17:20:01.123Z level=info event=e _ad__ey_=v _=w ok_1.x=z\n");
}

TEST(LogTest, FieldsOfOtherTypesAreWrittenAsText) {
  std::string line = FormatLine(At(), Level::kDebug, "e",
                                {{"n", int64_t{-5}},
                                 {"size", size_t{1} << 40},
                                 {"ratio", 2.5},
                                 {"took", absl::Milliseconds(1234)},
                                 {"error", absl::NotFoundError("no such snapshot")},
                                 {"status", absl::OkStatus()},
                                 {"off", false}});
  EXPECT_THAT(line, HasSubstr(" n=-5 size=1099511627776 ratio=2.5 took=1.234 "
                              "error=\"NOT_FOUND: no such snapshot\" status=OK off=false\n"));
}

// Whatever bytes are logged, the line is one line of valid UTF-8 and
// ParseLine gives the bytes back.
TEST(LogTest, AnyValueRoundTripsThroughOneValidUtf8Line) {
  absl::BitGen gen;
  for (int round = 0; round < 2000; ++round) {
    std::string value(absl::Uniform(gen, 0u, 40u), '\0');
    for (char& c : value) c = static_cast<char>(absl::Uniform<int>(gen, 0, 256));
    if (round % 3 == 0) value += "\xe2\x82\xac plain";  // some valid multi-byte text too
    std::string line = FormatLine(At(), Level::kInfo, "round", {{"v", value}, {"k", "x y"}});
    ASSERT_EQ(line.find('\n'), line.size() - 1);
    ASSERT_TRUE(ValidUtf8(line)) << line;
    absl::StatusOr<std::map<std::string, std::string>> parsed = ParseLine(line);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << " " << line;
    EXPECT_EQ((*parsed)["v"], value) << line;
    EXPECT_EQ((*parsed)["k"], "x y");
    EXPECT_EQ((*parsed)["event"], "round");
    EXPECT_EQ((*parsed)["level"], "info");
    EXPECT_EQ((*parsed)["ts"], "2026-12-02T17:20:01.123Z");
  }
}

TEST(LogTest, ParseLineRejectsWhatIsNotALogLine) {
  for (absl::string_view bad : {
           "ts=1 level=info",                    // no event
           "ts=1 level=info event=\"open",       // unclosed quote
           "ts=1 level=info event=\"a\\q\"",     // unknown escape
           "ts=1 level=info event=\"a\\x4\"",    // short hex escape
           "ts=1 level=info event=\"a\"b",       // text after the quote
           "ts=1 level=info event=e novalue",    // a key without =
           "ts=1 level=info event=e Upper=1",    // a key FormatLine never writes
           "ts=1 level=info event=e v=a\"b",     // a bare value with a quote
           "cairn-server: listening on port 1",  // the old free-text log
       }) {
    EXPECT_FALSE(ParseLine(bad).ok()) << bad;
  }
}

TEST(LogTest, LevelsParseByName) {
  EXPECT_EQ(*ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("INFO"), Level::kInfo);
  EXPECT_EQ(*ParseLevel("warning"), Level::kWarn);
  EXPECT_EQ(*ParseLevel("error"), Level::kError);
  absl::StatusOr<Level> bad = ParseLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("debug, info, warn or error"));
}

// Sends this process' stderr to a file for the life of the object.
class StderrToFile {
 public:
  StderrToFile() : path_(absl::StrCat(NewTempDir("log"), "/stderr")) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(fd_, STDERR_FILENO);
  }
  ~StderrToFile() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(fd_);
  }
  std::string Read() const {
    std::string text;
    int fd = ::open(path_.c_str(), O_RDONLY);
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return text;
  }
  std::string JournalStream() const {
    struct stat st;
    ::fstat(fd_, &st);
    return absl::StrCat(st.st_dev, ":", st.st_ino);
  }

 private:
  std::string path_;
  int fd_ = -1;
  int saved_ = -1;
};

TEST(LogTest, EventsBelowTheMinimumLevelAreDropped) {
  StderrToFile err;
  SetMinLevel(Level::kWarn);
  Info("quiet.info");
  Debug("quiet.debug");
  Warn("loud.warn", {{"n", 1}});
  Error("loud.error");
  SetMinLevel(Level::kInfo);
  std::string text = err.Read();
  EXPECT_THAT(text, Not(HasSubstr("quiet")));
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << text;
  EXPECT_THAT(lines[0], HasSubstr(" level=warn event=loud.warn n=1"));
  EXPECT_THAT(lines[1], HasSubstr(" level=error event=loud.error"));
}

// Lines from many threads, each longer than a pipe's atomic write, come out
// whole: every line parses and none is lost.
TEST(LogTest, ConcurrentEventsComeOutAsWholeLines) {
  StderrToFile err;
  const std::string big(6000, 'x');
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) Info("stress", {{"thread", t}, {"i", i}, {"pad", big}});
    });
  }
  for (std::thread& th : threads) th.join();
  std::vector<std::string> lines = absl::StrSplit(err.Read(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 800u);
  for (const std::string& line : lines) {
    absl::StatusOr<std::map<std::string, std::string>> parsed = ParseLine(line);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ((*parsed)["pad"], big);
  }
}

// Under systemd, a line starts with its syslog priority for journald.
TEST(LogTest, UnderJournaldLinesCarryTheSyslogPriority) {
  StderrToFile err;
  ASSERT_EQ(::setenv("JOURNAL_STREAM", err.JournalStream().c_str(), 1), 0);
  Error("j.error");
  Warn("j.warn");
  Info("j.info");
  ::setenv("JOURNAL_STREAM", "0:0", 1);  // some other stream: no prefix
  Info("j.other");
  ::unsetenv("JOURNAL_STREAM");
  std::vector<std::string> lines = absl::StrSplit(err.Read(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], StartsWith("<3>ts="));
  EXPECT_THAT(lines[1], StartsWith("<4>ts="));
  EXPECT_THAT(lines[2], StartsWith("<6>ts="));
  EXPECT_THAT(lines[3], StartsWith("ts="));
}

}  // namespace
}  // namespace cairn::log
