// Job and snapshot ids ("j-" / "s-" and 16 lower-case hex digits, random),
// agent and tenant name validation (1 to 64 of [A-Za-z0-9._-], errors naming
// the field and showing the name escaped), and HexOf.
#include "common/ids.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(IdsTest, JobAndSnapshotIdsAreRandomHexWithTheirPrefix) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string job = NewJobId();
    std::string snapshot = NewSnapshotId();
    EXPECT_THAT(job, MatchesRegex("j-[0-9a-f]{16}"));
    EXPECT_THAT(snapshot, MatchesRegex("s-[0-9a-f]{16}"));
    EXPECT_TRUE(seen.insert(job.substr(2)).second) << job;
    EXPECT_TRUE(seen.insert(snapshot.substr(2)).second) << snapshot;
  }
}

TEST(IdsTest, ValidNamesPass) {
  for (const std::string& name :
       {std::string("a"), std::string("gpu-node_07.example"), std::string("A.B-C_D"),
        std::string(64, 'x'), std::string("..."), std::string("-")}) {
    EXPECT_TRUE(ValidateAgentName(name, "name").ok()) << name;
  }
}

TEST(IdsTest, BadNamesAreRefusedNamingTheField) {
  for (const std::string& empty_or_long : {std::string(), std::string(65, 'x')}) {
    absl::Status status = ValidateAgentName(empty_or_long, "tenant");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("tenant must be 1 to 64 characters"));
  }
  for (const std::string& bad :
       {std::string("has space"), std::string("a/b"), std::string("\xc3\xbc"),
        std::string("a\0b", 3), std::string("tab\there"), std::string("a:b"), std::string("x\n")}) {
    absl::Status status = ValidateAgentName(bad, "agent");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("agent \"")) << status;
    EXPECT_THAT(status.message(), HasSubstr("may hold only letters, digits")) << status;
  }
  // The name is shown escaped: no raw control bytes in the message.
  absl::Status newline = ValidateAgentName("x\ny", "name");
  EXPECT_THAT(newline.message(), HasSubstr("x\\ny"));
  EXPECT_EQ(newline.message().find('\n'), absl::string_view::npos);
}

TEST(IdsTest, HexOfIsLowerCaseTwoDigitsAByte) {
  EXPECT_EQ(HexOf(""), "");
  EXPECT_EQ(HexOf(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(HexOf("AZ"), "415a");
  EXPECT_EQ(HexOf(std::string(32, '\x7f')).size(), 64u);
}

TEST(IdsTest, ASnapshotsIdFollowsFromItsJobs) {
  EXPECT_EQ(SnapshotIdForJob("j-0123456789abcdef"), "s-0123456789abcdef");
  const std::string job = NewJobId();
  EXPECT_EQ(SnapshotIdForJob(job), SnapshotIdForJob(job));
  EXPECT_NE(SnapshotIdForJob(job), SnapshotIdForJob(NewJobId()));
}

}  // namespace
}  // namespace cairn
