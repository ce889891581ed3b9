// FileErrorLog: every failure counted, the first kMaxFileErrors kept, and an
// error message that quotes a path which is not UTF-8 still makes a
// cairn.v1.FileError that can cross the wire (a proto3 string must be UTF-8:
// before, such a message made the job's report unparsable for the server).
#include "agent/file_error_log.h"

#include <string>

#include "absl/status/status.h"
#include "common/path_text.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(FileErrorLogTest, CountsEveryFailureAndKeepsTheFirstHundred) {
  FileErrorLog log;
  for (int i = 0; i < 250; ++i) {
    log.Add("f" + std::to_string(i), absl::NotFoundError("gone"));
  }
  EXPECT_EQ(log.count(), 250u);
  ASSERT_EQ(log.kept().size(), kMaxFileErrors);
  EXPECT_EQ(log.kept().front().path(), "f0");
  EXPECT_EQ(log.kept().back().path(), "f99");
}

TEST(FileErrorLogTest, AMessageQuotingANonUtf8PathStillParsesOnTheOtherSide) {
  const std::string path("caf\xe9/\xff", 6);
  FileErrorLog log;
  log.Add(path, absl::PermissionDeniedError("open " + path + ": Permission denied"));
  ASSERT_EQ(log.kept().size(), 1u);
  const v1::FileError& e = log.kept()[0];
  EXPECT_EQ(e.path(), path) << "the path field holds the raw bytes";
  EXPECT_TRUE(IsUtf8(e.error())) << e.error();
  v1::FileError back;
  ASSERT_TRUE(back.ParseFromString(e.SerializeAsString()));
  // The message names the path in the reversible text form.
  absl::StatusOr<std::string> raw = PathFromText(back.error());
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_NE(raw->find(path), std::string::npos);
}

}  // namespace
}  // namespace cairn
