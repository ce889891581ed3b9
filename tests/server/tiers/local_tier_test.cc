// What only the local tier promises (the shared contract is in
// tier_conformance_test.cc): its on-disk layout, temp file clean-up, modes.
#include "server/tiers/local_tier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/tiers/tier_test_dir.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

TEST(LocalTierTest, CreatesNestedDirectory) {
  const std::string dir = FreshTestDir("local_tier") + "/a/b";
  absl::StatusOr<std::unique_ptr<Tier>> tier = OpenLocalTier("hot", dir);
  ASSERT_TRUE(tier.ok()) << tier.status();
  EXPECT_EQ((*tier)->name(), "hot");
  EXPECT_EQ((*tier)->kind(), "local");
  EXPECT_TRUE(S_ISDIR(ModeOf(dir)));
  EXPECT_EQ(ModeOf(dir) & 0007, 0u) << "no access for others";
}

TEST(LocalTierTest, RefusesFileInPlaceOfDirectory) {
  const std::string dir = FreshTestDir("local_tier");
  ASSERT_TRUE(MakeDirectories(dir).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/file", "x").ok());
  EXPECT_FALSE(OpenLocalTier("hot", dir + "/file").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(OpenLocalTier("hot", "").status()));
}

TEST(LocalTierTest, OneFilePerObjectWithSaneMode) {
  const std::string dir = FreshTestDir("local_tier");
  std::unique_ptr<Tier> tier = *OpenLocalTier("hot", dir);
  ASSERT_TRUE(tier->Put("pack-1", "data").ok());
  EXPECT_THAT(RawDirListing(dir), ElementsAre("pack-1"));
  const mode_t mode = ModeOf(dir + "/pack-1");
  EXPECT_TRUE(S_ISREG(mode));
  EXPECT_EQ(mode & 0600, 0600u) << "owner reads and writes";
  EXPECT_EQ(mode & 0007, 0u) << "others get nothing";
  EXPECT_EQ(mode & 0111, 0u) << "not executable";
  EXPECT_EQ(*ReadFileToString(dir + "/pack-1", 100), "data");
}

TEST(LocalTierTest, WriterUsesTempFileInSameDirectory) {
  const std::string dir = FreshTestDir("local_tier");
  std::unique_ptr<Tier> tier = *OpenLocalTier("hot", dir);
  std::unique_ptr<TierWriter> writer = *tier->Create("pack-1");
  ASSERT_TRUE(writer->Append("abc").ok());
  std::vector<std::string> raw = RawDirListing(dir);
  ASSERT_THAT(raw, SizeIs(1));
  EXPECT_EQ(raw[0].rfind("pack-1~", 0), 0u) << raw[0];
  EXPECT_THAT(*tier->List(), IsEmpty());
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_THAT(RawDirListing(dir), ElementsAre("pack-1"));
}

TEST(LocalTierTest, StaleTempFilesAreRemovedAtOpen) {
  const std::string dir = FreshTestDir("local_tier");
  {
    std::unique_ptr<Tier> tier = *OpenLocalTier("hot", dir);
    ASSERT_TRUE(tier->Put("kept", "k").ok());
  }
  // What a crash mid-write leaves behind, plus files that are not ours.
  ASSERT_TRUE(WriteFileAtomically(dir + "/pack-9~0123456789abcdef", "partial").ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/kept~1", "partial").ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/not an object", "x").ok());
  ASSERT_TRUE(MakeDirectories(dir + "/subdir").ok());

  std::unique_ptr<Tier> tier = *OpenLocalTier("hot", dir);
  EXPECT_THAT(RawDirListing(dir), ElementsAre("kept", "not an object", "subdir"));
  // Foreign files and directories are neither listed nor counted.
  EXPECT_THAT(*tier->List(), ElementsAre("kept"));
  EXPECT_EQ(tier->Space()->objects, 1u);
  EXPECT_TRUE(absl::IsNotFound(tier->Size("subdir").status()));
  std::string out;
  EXPECT_TRUE(absl::IsNotFound(tier->Read("subdir", 0, 0, &out)));
}

TEST(LocalTierTest, FailedCommitLeavesNoTempFile) {
  const std::string dir = FreshTestDir("local_tier");
  std::unique_ptr<Tier> tier = *OpenLocalTier("hot", dir);
  // A directory in the way makes the rename fail.
  ASSERT_TRUE(MakeDirectories(dir + "/blocked/inner").ok());
  {
    std::unique_ptr<TierWriter> writer = *tier->Create("blocked");
    ASSERT_TRUE(writer->Append("data").ok());
    absl::Status status = writer->Commit();
    EXPECT_FALSE(status.ok());
    // Failed once, failed for good, with the same error.
    EXPECT_EQ(writer->Append("more"), status);
    EXPECT_EQ(writer->Commit(), status);
  }
  EXPECT_THAT(RawDirListing(dir), ElementsAre("blocked"));
  EXPECT_THAT(*tier->List(), IsEmpty());
}

TEST(LocalTierTest, DirectoryRemovedUnderneath) {
  const std::string dir = FreshTestDir("local_tier");
  std::unique_ptr<Tier> tier = *OpenLocalTier("hot", dir);
  ASSERT_EQ(::rmdir(dir.c_str()), 0);
  EXPECT_TRUE(absl::IsNotFound(tier->Create("x").status()));
  EXPECT_TRUE(absl::IsNotFound(tier->List().status()));
  EXPECT_TRUE(absl::IsNotFound(tier->Put("x", "y")));
}

}  // namespace
}  // namespace cairn
