#include "common/path_rules.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PathRulesTest, RefusesBadRelativePaths) {
  const std::vector<std::string> bad = {
      "",
      "/abs",
      "../x",
      ".",
      "..",
      "a/../b",
      "a/./b",
      "a//b",
      "a/",
      "/",
      "x/..",
      std::string("a\0b", 3),
      std::string("a/b\0", 4),
  };
  for (const std::string& path : bad) {
    absl::Status status = ValidateRelativePath(path);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << "path: " << path << " -> " << status;
    EXPECT_FALSE(SplitRelativePath(path).ok()) << path;
  }
}

TEST(PathRulesTest, AcceptsAnyBytesInNames) {
  const std::vector<std::string> good = {
      "a",       "a/b/c", "with space", "new\nline", "\xff\xfe", "d\xff/\xc3\x28",
      "..a/b..", "...",   ".hidden/x",  "tab\there",
  };
  for (const std::string& path : good) {
    EXPECT_TRUE(ValidateRelativePath(path).ok()) << path;
  }
}

TEST(PathRulesTest, NameLimits) {
  EXPECT_TRUE(ValidateName(std::string(255, 'n')).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName(std::string(256, 'n'))));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRelativePath("a/" + std::string(256, 'n'))));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName("")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName(".")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName("..")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName("a/b")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName(std::string("\0", 1))));
  EXPECT_TRUE(ValidateName("\xff\xfe").ok());
}

TEST(PathRulesTest, PathLengthLimit) {
  // 15 names of 255 bytes with their separators (3840 bytes), then "a/" and a
  // 254-byte name: exactly 4096.
  std::string path;
  for (int i = 0; i < 15; ++i) path += std::string(255, 'p') + "/";
  path += "a/" + std::string(254, 'q');
  ASSERT_EQ(path.size(), kMaxPathBytes);
  EXPECT_TRUE(ValidateRelativePath(path).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateRelativePath(path + "q")));
}

TEST(PathRulesTest, ErrorsQuoteTheNameEscaped) {
  absl::Status status = ValidateRelativePath(std::string("ok/\x01..\0", 7));
  ASSERT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(), HasSubstr("\\x01..\\x00"));
  status = ValidateRelativePath("dir/..");
  EXPECT_THAT(status.message(), HasSubstr("\"..\""));
}

TEST(PathRulesTest, HugeInputMakesASmallError) {
  absl::Status status = ValidateRelativePath(std::string(1 << 20, 'x'));
  ASSERT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_LT(status.message().size(), 2000u);
}

TEST(PathRulesTest, Split) {
  EXPECT_THAT(*SplitRelativePath("a"), ElementsAre("a"));
  EXPECT_THAT(*SplitRelativePath("a/b c/\xff"), ElementsAre("a", "b c", "\xff"));
}

TEST(PathRulesTest, Join) {
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/b", "c"), "a/b/c");
  EXPECT_EQ(JoinPath("a", ""), "a");
}

}  // namespace
}  // namespace cairn
