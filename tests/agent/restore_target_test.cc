// The file-system moves of a restore, in real temp directories: the rule for
// an existing entry; MakeRoom and MoveIntoPlace never follow a symlink and
// never replace without overwrite; EnsureDirectory refuses a symlink and
// says whether it created the directory; OpenDirectoryBelow refuses a
// symlinked component; OpenRestoreTarget refuses relative paths, "/" and
// the agent's own paths before creating anything; ApplyMetadata.
#include "agent/restore_target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class RestoreTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = MakeTestDir("restore_target");
    dir_ = base_ + "/target";
    outside_ = base_ + "/outside.txt";
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
    ASSERT_OK(WriteFile(outside_, "outside, never to be touched"));
    int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    dir_fd_ = UniqueFd(fd);
  }
  void TearDown() override {
    dir_fd_.reset();
    if (!HasFailure()) RemoveTree(base_);
  }

  std::string At(const std::string& name) const { return dir_ + "/" + name; }
  static bool Exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
  }
  static bool IsLink(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  }
  void ExpectOutsideUntouched() {
    ASSERT_OK_AND_ASSIGN(std::string outside, ReadFile(outside_));
    EXPECT_EQ(outside, "outside, never to be touched");
  }

  std::string base_, dir_, outside_;
  UniqueFd dir_fd_;
};

TEST_F(RestoreTargetTest, ExistingEntryRules) {
  absl::Status keep = ExistingEntry("a/b", false, false);
  EXPECT_EQ(keep.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(keep.message(), HasSubstr("a/b exists (restore with overwrite)"));
  EXPECT_EQ(ExistingEntry("d", true, false).code(), absl::StatusCode::kAlreadyExists);
  absl::Status dir = ExistingEntry("d", true, true);
  EXPECT_EQ(dir.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(dir.message(), HasSubstr("d exists as a directory"));
  EXPECT_OK(ExistingEntry("f", false, true));
}

TEST_F(RestoreTargetTest, MakeRoomFreesANameOnlyAsTheRuleAllows) {
  EXPECT_OK(MakeRoom(dir_fd_.get(), "absent", "absent", false));
  ASSERT_OK(WriteFile(At("file"), "old"));
  EXPECT_EQ(MakeRoom(dir_fd_.get(), "file", "file", false).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(Exists(At("file")));
  EXPECT_OK(MakeRoom(dir_fd_.get(), "file", "file", true));
  EXPECT_FALSE(Exists(At("file")));
  ASSERT_EQ(mkdir(At("dir").c_str(), 0755), 0);
  EXPECT_EQ(MakeRoom(dir_fd_.get(), "dir", "dir", true).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(Exists(At("dir")));
}

TEST_F(RestoreTargetTest, MakeRoomRemovesASymlinkNeverItsTarget) {
  ASSERT_EQ(symlink(outside_.c_str(), At("to-file").c_str()), 0);
  ASSERT_EQ(symlink(base_.c_str(), At("to-dir").c_str()), 0);
  EXPECT_EQ(MakeRoom(dir_fd_.get(), "to-file", "to-file", false).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(IsLink(At("to-file")));
  EXPECT_OK(MakeRoom(dir_fd_.get(), "to-file", "to-file", true));
  EXPECT_OK(MakeRoom(dir_fd_.get(), "to-dir", "to-dir", true));  // a link, not a directory
  EXPECT_FALSE(Exists(At("to-file")));
  EXPECT_FALSE(Exists(At("to-dir")));
  ExpectOutsideUntouched();
  EXPECT_TRUE(Exists(base_));
  ASSERT_EQ(symlink("dangling", At("dangling").c_str()), 0);
  EXPECT_OK(MakeRoom(dir_fd_.get(), "dangling", "dangling", true));
  EXPECT_FALSE(Exists(At("dangling")));
}

TEST_F(RestoreTargetTest, MoveIntoPlaceRefusesToReplaceWithoutOverwrite) {
  ASSERT_OK(WriteFile(At(".tmp"), "new"));
  EXPECT_OK(MoveIntoPlace(dir_fd_.get(), ".tmp", "fresh", "fresh", false));
  ASSERT_OK_AND_ASSIGN(std::string fresh, ReadFile(At("fresh")));
  EXPECT_EQ(fresh, "new");
  EXPECT_FALSE(Exists(At(".tmp")));

  ASSERT_OK(WriteFile(At(".tmp"), "newer"));
  absl::Status refused = MoveIntoPlace(dir_fd_.get(), ".tmp", "fresh", "fresh", false);
  EXPECT_EQ(refused.code(), absl::StatusCode::kAlreadyExists) << refused;
  ASSERT_OK_AND_ASSIGN(fresh, ReadFile(At("fresh")));
  EXPECT_EQ(fresh, "new");
  EXPECT_TRUE(Exists(At(".tmp")));  // the caller's to remove
  EXPECT_OK(MoveIntoPlace(dir_fd_.get(), ".tmp", "fresh", "fresh", true));
  ASSERT_OK_AND_ASSIGN(fresh, ReadFile(At("fresh")));
  EXPECT_EQ(fresh, "newer");
}

TEST_F(RestoreTargetTest, MoveIntoPlaceReplacesASymlinkItself) {
  ASSERT_EQ(symlink(outside_.c_str(), At("name").c_str()), 0);
  ASSERT_OK(WriteFile(At(".tmp"), "restored"));
  EXPECT_EQ(MoveIntoPlace(dir_fd_.get(), ".tmp", "name", "name", false).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(IsLink(At("name")));
  EXPECT_OK(MoveIntoPlace(dir_fd_.get(), ".tmp", "name", "name", true));
  EXPECT_FALSE(IsLink(At("name")));
  ASSERT_OK_AND_ASSIGN(std::string now, ReadFile(At("name")));
  EXPECT_EQ(now, "restored");
  ExpectOutsideUntouched();
}

TEST_F(RestoreTargetTest, MoveIntoPlaceNeverReplacesADirectory) {
  ASSERT_EQ(mkdir(At("d").c_str(), 0755), 0);
  ASSERT_OK(WriteFile(At("d/inside"), "kept"));
  ASSERT_OK(WriteFile(At(".tmp"), "file"));
  for (bool overwrite : {false, true}) {
    absl::Status status = MoveIntoPlace(dir_fd_.get(), ".tmp", "d", "d", overwrite);
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  }
  EXPECT_THAT(ListDir(At("d")), ElementsAre("inside"));
}

TEST_F(RestoreTargetTest, EnsureDirectoryCreatesOrReuses) {
  ASSERT_OK_AND_ASSIGN(OpenedDirectory made, EnsureDirectory(dir_fd_.get(), "new", "new"));
  EXPECT_TRUE(made.created);
  struct stat st;
  ASSERT_EQ(fstat(made.fd.get(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // The descriptor is the directory at that name.
  int probe = openat(made.fd.get(), "probe", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(probe, 0);
  close(probe);
  EXPECT_TRUE(Exists(At("new/probe")));

  ASSERT_OK_AND_ASSIGN(OpenedDirectory again, EnsureDirectory(dir_fd_.get(), "new", "new"));
  EXPECT_FALSE(again.created);
  ASSERT_EQ(mkdir(At("mine").c_str(), 0751), 0);
  ASSERT_OK_AND_ASSIGN(OpenedDirectory existing, EnsureDirectory(dir_fd_.get(), "mine", "mine"));
  EXPECT_FALSE(existing.created);
  ASSERT_EQ(stat(At("mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);  // not touched
}

TEST_F(RestoreTargetTest, EnsureDirectoryRefusesASymlinkOrAFile) {
  ASSERT_EQ(mkdir((base_ + "/elsewhere").c_str(), 0755), 0);
  ASSERT_EQ(symlink((base_ + "/elsewhere").c_str(), At("link").c_str()), 0);
  absl::StatusOr<OpenedDirectory> link = EnsureDirectory(dir_fd_.get(), "link", "link");
  EXPECT_EQ(link.status().code(), absl::StatusCode::kFailedPrecondition) << link.status();
  EXPECT_THAT(link.status().message(), HasSubstr("link"));
  EXPECT_TRUE(IsLink(At("link")));
  EXPECT_THAT(ListDir(base_ + "/elsewhere"), IsEmpty());
  ASSERT_OK(WriteFile(At("file"), "x"));
  EXPECT_EQ(EnsureDirectory(dir_fd_.get(), "file", "file").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RestoreTargetTest, OpenDirectoryBelowNeverFollowsALink) {
  ASSERT_OK(MakeDirectories(At("a/b/c"), 0755));
  ASSERT_OK_AND_ASSIGN(UniqueFd c, OpenDirectoryBelow(dir_fd_.get(), {"a", "b", "c"}, "a/b/c"));
  int probe = openat(c.get(), "probe", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(probe, 0);
  close(probe);
  EXPECT_TRUE(Exists(At("a/b/c/probe")));
  ASSERT_OK_AND_ASSIGN(UniqueFd self, OpenDirectoryBelow(dir_fd_.get(), {}, ""));
  EXPECT_NE(self.get(), dir_fd_.get());  // a descriptor of its own

  ASSERT_EQ(mkdir((base_ + "/elsewhere").c_str(), 0755), 0);
  ASSERT_EQ(symlink((base_ + "/elsewhere").c_str(), At("a/link").c_str()), 0);
  EXPECT_FALSE(OpenDirectoryBelow(dir_fd_.get(), {"a", "link"}, "a/link").ok());
  EXPECT_EQ(OpenDirectoryBelow(dir_fd_.get(), {"a", "nope"}, "a/nope").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK(WriteFile(At("a/file"), "x"));
  EXPECT_FALSE(OpenDirectoryBelow(dir_fd_.get(), {"a", "file"}, "a/file").ok());
}

TEST_F(RestoreTargetTest, OpenRestoreTargetRefusesBadTargetsBeforeCreatingThem) {
  for (const std::string& bad :
       {std::string(""), std::string("relative/dir"), std::string("./x"), std::string("/"),
        std::string("//"), std::string("/tmp/a\0b", 8)}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(OpenRestoreTarget(bad, {}).status().code(), absl::StatusCode::kInvalidArgument);
  }
  const std::string state = base_ + "/agent-state";
  ASSERT_OK(MakeDirectories(state + "/spool", 0700));
  for (const std::string& overlapping : {state, state + "/restore-here", base_}) {
    SCOPED_TRACE(overlapping);
    absl::StatusOr<UniqueFd> fd = OpenRestoreTarget(overlapping, {"", state});
    EXPECT_EQ(fd.status().code(), absl::StatusCode::kPermissionDenied) << fd.status();
  }
  EXPECT_FALSE(Exists(state + "/restore-here"));
  // Through a symlink, or with "..", the real path is what counts.
  ASSERT_EQ(symlink(state.c_str(), (base_ + "/innocent").c_str()), 0);
  EXPECT_EQ(OpenRestoreTarget(base_ + "/innocent/sub", {state}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(Exists(state + "/sub"));
  EXPECT_EQ(OpenRestoreTarget(base_ + "/target/../agent-state/x", {state}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(Exists(state + "/x"));
}

TEST_F(RestoreTargetTest, OpenRestoreTargetCreatesAndOpensTheTarget) {
  const std::string target = base_ + "/new/nested/target";
  ASSERT_OK_AND_ASSIGN(UniqueFd fd, OpenRestoreTarget(target, {base_ + "/agent-state"}));
  struct stat by_fd, by_path;
  ASSERT_EQ(fstat(fd.get(), &by_fd), 0);
  ASSERT_EQ(stat(target.c_str(), &by_path), 0);
  EXPECT_EQ(by_fd.st_ino, by_path.st_ino);
  EXPECT_EQ(by_fd.st_dev, by_path.st_dev);
  // An existing directory is fine as well.
  ASSERT_OK(OpenRestoreTarget(dir_, {}).status());
}

TEST_F(RestoreTargetTest, ApplyMetadataSetsModeAndTimes) {
  ASSERT_OK(WriteFile(At("f"), "data", 0600));
  int fd = open(At("f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  UniqueFd file(fd);
  v1::TreeEntry entry;
  entry.set_mode(06755);  // set-id bits
  entry.set_uid(getuid());
  entry.set_gid(getgid());
  entry.set_mtime_ns(1'600'000'000'123'456'789);
  ASSERT_OK(ApplyMetadata(file.get(), entry, /*allow_special=*/false, "f"));
  struct stat st;
  ASSERT_EQ(fstat(file.get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);  // set-id bits dropped
  EXPECT_EQ(st.st_mtim.tv_sec, 1'600'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123'456'789);
  entry.set_mode(01777);
  ASSERT_OK(ApplyMetadata(file.get(), entry, false, "f"));
  ASSERT_EQ(fstat(file.get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);  // the sticky bit always
  // Only the times, when asked for only them.
  entry.set_mode(0600);
  entry.set_mtime_ns(-1'500'000'000);  // before 1970
  ASSERT_OK(
      ApplyMetadata(file.get(), entry, false, "f", MetadataParts{.owner = false, .mode = false}));
  ASSERT_EQ(fstat(file.get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_EQ(st.st_mtim.tv_sec, -2);
  EXPECT_EQ(st.st_mtim.tv_nsec, 500'000'000);
  // Set-id bits only with allow_special.
  entry.set_mode(02750);
  ASSERT_OK(ApplyMetadata(file.get(), entry, /*allow_special=*/true, "f"));
  ASSERT_EQ(fstat(file.get(), &st), 0);
  if ((st.st_mode & 02000) == 0) GTEST_SKIP() << "this file system drops set-id bits";
  EXPECT_EQ(st.st_mode & 07777, 02750u);
}

}  // namespace
}  // namespace cairn
