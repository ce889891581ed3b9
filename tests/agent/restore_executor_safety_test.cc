// RestoreExecutor never writes outside its target: hostile names and restore
// paths, symlinks planted in the target or in the snapshot itself, hardlinks
// to outside, the root or the agent's own files as target; set-id bits and
// device nodes only with allow_special.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/restore_executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/restore_safety_test_util.h"

namespace cairn {
namespace {

TEST_F(RestoreSafetyTest, HostileNamesAreRefusedForEveryEntryType) {
  const std::vector<std::string> names = HostileNames();
  for (v1::EntryType type : {v1::ENTRY_TYPE_FILE, v1::ENTRY_TYPE_DIRECTORY, v1::ENTRY_TYPE_SYMLINK,
                             v1::ENTRY_TYPE_HARDLINK}) {
    SCOPED_TRACE(v1::EntryType_Name(type));
    RemoveTree(target_);
    std::vector<v1::TreeEntry> entries = {FileLike("ok")};
    for (const std::string& name : names) {
      switch (type) {
        case v1::ENTRY_TYPE_FILE:
          entries.push_back(FileLike(name));
          break;
        case v1::ENTRY_TYPE_DIRECTORY: {
          CAIRN_ASSERT_OK_AND_ASSIGN(v1::TreeEntry dir, Dir(name, {FileLike("inner")}));
          entries.push_back(dir);
          break;
        }
        case v1::ENTRY_TYPE_SYMLINK:
          entries.push_back(Symlink(name, victim_file_));
          break;
        default:
          entries.push_back(Hardlink(name, "ok"));
          break;
      }
    }
    CAIRN_ASSERT_OK_AND_ASSIGN(std::string snapshot, Snapshot(entries));
    CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(snapshot));
    EXPECT_EQ(result.failed, names.size()) << DescribeErrors(result.errors);
    EXPECT_EQ(result.errors.size(), names.size());
    EXPECT_EQ(ListDir(target_), std::vector<std::string>{"ok"});
    ExpectOutsideUntouched();
  }
}

// A tree whose entries are out of order (or repeat a name) did not come
// from a backup: nothing of that directory is restored, and the restore says
// why.
TEST_F(RestoreSafetyTest, ATreeOutOfOrderIsRefusedWhole) {
  RemoveTree(target_);
  v1::Tree inner;
  *inner.add_entries() = FileLike("b");
  *inner.add_entries() = FileLike("a");
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string inner_id, env_->PutRawTree(inner));
  v1::TreeEntry dir;
  dir.set_name("d");
  dir.set_type(v1::ENTRY_TYPE_DIRECTORY);
  dir.set_mode(0755);
  dir.set_subtree_id(inner_id);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string snapshot, Snapshot({dir, FileLike("ok")}));
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(snapshot));
  EXPECT_EQ(result.failed, 1u) << DescribeErrors(result.errors);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].path(), "d");
  EXPECT_THAT(result.errors[0].error(), ::testing::HasSubstr("out of order"));
  EXPECT_TRUE(ListDir(target_ + "/d").empty()) << "nothing of an unsorted tree is restored";
  EXPECT_EQ(ListDir(target_), (std::vector<std::string>{"d", "ok"}));
  ExpectOutsideUntouched();
}

TEST_F(RestoreSafetyTest, HostileRestorePathsAreRefused) {
  RemoveTree(target_);
  const std::vector<std::string> paths = {"../x",   "/etc/passwd",          "",  "a//b",
                                          "alpha/", "sub/../../victim.txt", ".", "sub/./inner"};
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(honest_snapshot_, false, paths));
  EXPECT_EQ(result.failed, paths.size()) << DescribeErrors(result.errors);
  EXPECT_TRUE(ListDir(target_).empty());
  ExpectOutsideUntouched();
}

TEST_F(RestoreSafetyTest, DirectoryOverARestoredSymlinkIsRefused) {
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string first, Snapshot({Symlink("evil", victim_dir_)}));
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult r1, Restore(first));
  ASSERT_TRUE(r1.errors.empty()) << DescribeErrors(r1.errors);

  CAIRN_ASSERT_OK_AND_ASSIGN(v1::TreeEntry evil, Dir("evil", {FileLike("passwd")}));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string second, Snapshot({evil}));
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult r2, Restore(second, /*overwrite=*/true));
  EXPECT_TRUE(HasErrorFor(r2.errors, "evil")) << DescribeErrors(r2.errors);
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult r3, Restore(second, true, {"evil/passwd"}));
  EXPECT_EQ(r3.failed, 1u) << DescribeErrors(r3.errors);
  struct stat st;
  ASSERT_EQ(lstat((target_ + "/evil").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ExpectOutsideUntouched();
}

TEST_F(RestoreSafetyTest, SameNameTwiceInOneTreeNeverWritesThroughALink) {
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::TreeEntry dir, Dir("d", {FileLike("passwd")}));
  CAIRN_ASSERT_OK_AND_ASSIGN(
      std::string snapshot,
      Snapshot({Symlink("d", victim_dir_), dir, Symlink("f", victim_file_), FileLike("f")}));
  for (bool overwrite : {false, true}) {
    SCOPED_TRACE(overwrite);
    RemoveTree(target_);
    CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(snapshot, overwrite));
    EXPECT_GE(result.failed, 1u);
    ExpectOutsideUntouched();
  }
}

TEST_F(RestoreSafetyTest, SymlinkPlantedAtAFileNameIsReplacedNotFollowed) {
  ASSERT_EQ(symlink(victim_file_.c_str(), (target_ + "/alpha").c_str()), 0);
  // Without overwrite: refused, the link stays.
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult refused, Restore(honest_snapshot_, false, {"alpha"}));
  EXPECT_TRUE(HasErrorFor(refused.errors, "alpha")) << DescribeErrors(refused.errors);
  struct stat st;
  ASSERT_EQ(lstat((target_ + "/alpha").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  // With overwrite: the link itself is replaced by the file.
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(honest_snapshot_, true));
  EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
  ASSERT_EQ(lstat((target_ + "/alpha").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string alpha, ReadFile(target_ + "/alpha"));
  EXPECT_EQ(alpha, "alpha's content");
  ExpectOutsideUntouched();
}

TEST_F(RestoreSafetyTest, SymlinkPlantedAtAParentDirectoryIsNotWrittenThrough) {
  ASSERT_EQ(symlink(victim_dir_.c_str(), (target_ + "/sub").c_str()), 0);
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult all, Restore(honest_snapshot_, true));
  EXPECT_TRUE(HasErrorFor(all.errors, "sub")) << DescribeErrors(all.errors);
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult one, Restore(honest_snapshot_, true, {"sub/inner"}));
  EXPECT_EQ(one.failed, 1u) << DescribeErrors(one.errors);
  // The rest of the snapshot still restored.
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string gamma, ReadFile(target_ + "/gamma"));
  EXPECT_EQ(gamma, "gamma's content");
  ExpectOutsideUntouched();
}

TEST_F(RestoreSafetyTest, HardlinksToOutsideOrThroughLinksAreRefused) {
  const std::vector<std::string> bad_targets = {
      "../../etc/passwd",    "/etc/passwd", "../victim.txt", victim_file_,
      "ok/../../victim.txt", "a-link/keep", "a-link",        "",
      "no-such-file"};
  std::vector<v1::TreeEntry> entries = {FileLike("ok"), Symlink("a-link", victim_dir_)};
  for (size_t i = 0; i < bad_targets.size(); ++i) {
    entries.push_back(Hardlink(absl::StrCat("h", i), bad_targets[i]));
  }
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string snapshot, Snapshot(entries));
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(snapshot));
  // "a-link" as a hardlink source links the symlink itself: allowed, harmless.
  EXPECT_EQ(result.failed, bad_targets.size() - 1) << DescribeErrors(result.errors);
  for (size_t i = 0; i < bad_targets.size(); ++i) {
    if (bad_targets[i] == "a-link") continue;
    struct stat st;
    EXPECT_NE(lstat(absl::StrCat(target_, "/h", i).c_str(), &st), 0) << bad_targets[i];
  }
  struct stat st;
  ASSERT_EQ(stat(victim_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  ASSERT_EQ(stat((victim_dir_ + "/keep").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  ExpectOutsideUntouched();
}

TEST_F(RestoreSafetyTest, HardlinkGroupLedByASymlinkLinksTheSymlinkItself) {
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string snapshot,
                             Snapshot({Symlink("a", victim_file_), Hardlink("b", "a")}));
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(snapshot));
  EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
  struct stat a, b, victim;
  ASSERT_EQ(lstat((target_ + "/a").c_str(), &a), 0);
  ASSERT_EQ(lstat((target_ + "/b").c_str(), &b), 0);
  EXPECT_TRUE(S_ISLNK(b.st_mode));
  EXPECT_EQ(a.st_ino, b.st_ino);
  ASSERT_EQ(stat(victim_file_.c_str(), &victim), 0);
  EXPECT_NE(victim.st_ino, b.st_ino);
  EXPECT_EQ(victim.st_nlink, 1u);
  ExpectOutsideUntouched();
}

TEST_F(RestoreSafetyTest, RestoreIntoRootIsRefused) {
  const std::string root_link = work_ + "/root-link";
  ASSERT_EQ(symlink("/", root_link.c_str()), 0);
  CAIRN_ASSERT_OK_AND_ASSIGN(outside_before_, Outside());
  for (const std::string& target : {std::string("/"), std::string("//"), std::string("/."),
                                    std::string("/tmp/.."), root_link, root_link + "/"}) {
    SCOPED_TRACE(target);
    RestoreOptions options;
    options.snapshot_id = honest_snapshot_;
    options.target = target;
    absl::StatusOr<RestoreResult> result = env_->Restore(options);
    EXPECT_FALSE(result.ok());
    struct stat st;
    EXPECT_NE(lstat("/alpha", &st), 0) << "restored into /";
  }
  for (const std::string& target : {std::string(""), std::string("relative/dir")}) {
    RestoreOptions options;
    options.snapshot_id = honest_snapshot_;
    options.target = target;
    EXPECT_FALSE(env_->Restore(options).ok()) << target;
  }
  ExpectOutsideUntouched();
}

TEST_F(RestoreSafetyTest, RestoreOverTheAgentsOwnFilesIsRefused) {
  const v1::AgentConfig& config = env_->agent().config;
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string key_before, ReadFile(config.key_file()));
  for (const std::string& target : {config.state_dir(), env_->base(), config.state_dir() + "/spool",
                                    config.state_dir() + "/", config.state_dir() + "/new/dir",
                                    env_->base() + "/no-such/../agent-" + config.name() + "/new"}) {
    SCOPED_TRACE(target);
    RestoreOptions options;
    options.snapshot_id = honest_snapshot_;
    options.target = target;
    options.overwrite = true;
    options.protected_paths = {config.key_file(), config.state_dir()};
    absl::StatusOr<RestoreResult> result = env_->Restore(options);
    EXPECT_TRUE(absl::IsPermissionDenied(result.status())) << result.status();
  }
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string key_after, ReadFile(config.key_file()));
  EXPECT_TRUE(key_before == key_after);
  EXPECT_FALSE(ReadFile(config.state_dir() + "/alpha").ok());
  struct stat st;
  EXPECT_NE(stat((config.state_dir() + "/new").c_str(), &st), 0)
      << "a refused restore still created directories in the agent's state";
  EXPECT_NE(stat((env_->base() + "/no-such").c_str(), &st), 0);
  // An unrelated target is fine with the same protections.
  RestoreOptions options;
  options.snapshot_id = honest_snapshot_;
  options.target = target_;
  options.protected_paths = {config.key_file(), config.state_dir()};
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(options));
  EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
}

TEST_F(RestoreSafetyTest, SetIdBitsNeedAllowSpecial) {
  const std::string src = env_->base() + "/setid";
  ASSERT_EQ(mkdir(src.c_str(), 0755), 0);
  CAIRN_ASSERT_OK(WriteFile(src + "/suid", "#!/bin/sh\n", 0755));
  ASSERT_EQ(chmod((src + "/suid").c_str(), 04755), 0);
  CAIRN_ASSERT_OK(WriteFile(src + "/sgid", "#!/bin/sh\n", 0711));
  ASSERT_EQ(chmod((src + "/sgid").c_str(), 02711), 0);
  ASSERT_EQ(mkdir((src + "/sgid-dir").c_str(), 0755), 0);
  ASSERT_EQ(chmod((src + "/sgid-dir").c_str(), 02775), 0);
  struct stat st;
  ASSERT_EQ(stat((src + "/suid").c_str(), &st), 0);
  if ((st.st_mode & 04000) == 0) GTEST_SKIP() << "this filesystem drops set-id bits";
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult backup, env_->Backup(src, v1::BACKUP_LEVEL_FULL));

  auto mode_of = [](const std::string& path) {
    struct stat s;
    return lstat(path.c_str(), &s) == 0 ? static_cast<int>(s.st_mode & 07777) : -1;
  };
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult plain, Restore(backup.snapshot.id()));
  EXPECT_TRUE(plain.errors.empty()) << DescribeErrors(plain.errors);
  EXPECT_EQ(mode_of(target_ + "/suid"), 0755);
  EXPECT_EQ(mode_of(target_ + "/sgid"), 0711);
  EXPECT_EQ(mode_of(target_ + "/sgid-dir"), 0775);

  RemoveTree(target_);
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult special,
                             Restore(backup.snapshot.id(), false, {}, /*allow_special=*/true));
  EXPECT_TRUE(special.errors.empty()) << DescribeErrors(special.errors);
  EXPECT_EQ(mode_of(target_ + "/suid"), 04755);
  EXPECT_EQ(mode_of(target_ + "/sgid"), 02711);
  EXPECT_EQ(mode_of(target_ + "/sgid-dir"), 02775);
}

// Device nodes give access to hardware: only a restore that allows special
// files makes them. A FIFO is as harmless as an empty file and is restored.
TEST_F(RestoreSafetyTest, DeviceNodesNeedAllowSpecialFifosDoNot) {
  auto special = [](const std::string& name, v1::EntryType type, uint64_t rdev) {
    v1::TreeEntry e;
    e.set_name(name);
    e.set_type(type);
    e.set_mode(0666);
    e.set_rdev(rdev);
    return e;
  };
  CAIRN_ASSERT_OK_AND_ASSIGN(
      std::string snapshot, Snapshot({special("disk", v1::ENTRY_TYPE_BLOCK_DEVICE, makedev(8, 0)),
                                      FileLike("ok"), special("pipe", v1::ENTRY_TYPE_FIFO, 0),
                                      special("zero", v1::ENTRY_TYPE_CHAR_DEVICE, makedev(1, 5))}));
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult plain, Restore(snapshot));
  EXPECT_EQ(plain.failed, 2u) << DescribeErrors(plain.errors);
  EXPECT_TRUE(HasErrorFor(plain.errors, "zero"));
  EXPECT_TRUE(HasErrorFor(plain.errors, "disk"));
  EXPECT_EQ(ListDir(target_), (std::vector<std::string>{"ok", "pipe"}));

  RemoveTree(target_);
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult allowed, Restore(snapshot, false, {}, true));
  struct stat st;
  ASSERT_EQ(lstat((target_ + "/pipe").c_str(), &st), 0) << DescribeErrors(allowed.errors);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  if (lstat((target_ + "/zero").c_str(), &st) != 0) {
    GTEST_SKIP() << "cannot create device nodes here: " << DescribeErrors(allowed.errors);
  }
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 5));
  ASSERT_EQ(lstat((target_ + "/disk").c_str(), &st), 0);
  EXPECT_TRUE(S_ISBLK(st.st_mode));
}

}  // namespace
}  // namespace cairn
