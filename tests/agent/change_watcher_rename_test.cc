// ChangeWatcher under renames: a storm of renames reports every final name,
// moves out of and into the root, a directory renamed within the root keeps
// its watches, and the root itself deleted, recreated or moved away.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/change_watcher.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/change_watcher_test_util.h"

namespace cairn {
namespace {

TEST_F(ChangeWatcherTest, RenameStormReportsEveryFinalName) {
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/a"));
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/b"));
  std::vector<std::string> files;  // current relative names
  for (int i = 0; i < 100; ++i) {
    files.push_back(absl::StrCat("a/f", i));
    CAIRN_ASSERT_OK(WriteFile(R(root_, files.back()), "x"));
  }
  std::vector<std::string> dirs;
  for (int i = 0; i < 10; ++i) {
    dirs.push_back(absl::StrCat("d", i));
    CAIRN_ASSERT_OK(MakeDirectories(R(root_, dirs.back() + "/inner")));
  }
  StartWatcher();
  ASSERT_EQ(watcher_->stats().watched_directories, 23u);
  size_t file_renames = 0;
  for (int i = 0; i < 1000; ++i) {
    if (i % 10 == 9) {  // a directory moves (with its watched child)
      std::string& d = dirs[(i / 10) % dirs.size()];
      std::string to = absl::StrCat("dir", i);
      ASSERT_EQ(std::rename(R(root_, d).c_str(), R(root_, to).c_str()), 0) << d;
      d = to;
      continue;
    }
    std::string& f = files[file_renames++ % files.size()];
    std::string to = absl::StrCat(i % 2 ? "a" : "b", "/g", i);
    ASSERT_EQ(std::rename(R(root_, f).c_str(), R(root_, to).c_str()), 0) << f;
    f = to;
  }
  std::vector<std::string> finals = files;
  finals.insert(finals.end(), dirs.begin(), dirs.end());
  ASSERT_TRUE(PollUntilSeen(finals)) << Describe();
  if (watcher_->stats().overflows == 0) {
    EXPECT_FALSE(Saw("")) << watcher_->stats().problem;
  }
  EXPECT_EQ(watcher_->stats().watched_directories, 23u);
  // The renamed directories are watched under their new names.
  Clear();
  std::vector<std::string> inner;
  for (const std::string& d : dirs) {
    inner.push_back(d + "/inner/new");
    CAIRN_ASSERT_OK(WriteFile(R(root_, inner.back()), "x"));
  }
  ASSERT_TRUE(PollUntilSeen(inner)) << Describe();
}

TEST_F(ChangeWatcherTest, MovesOutOfAndIntoTheRoot) {
  CAIRN_ASSERT_OK(WriteFile(root_ + "/file1", "x"));
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/dir1/deeper"));
  CAIRN_ASSERT_OK(MakeDirectories(outside_ + "/tree/sub"));
  CAIRN_ASSERT_OK(WriteFile(outside_ + "/tree/sub/x", "x"));
  CAIRN_ASSERT_OK(WriteFile(outside_ + "/f2", "x"));
  StartWatcher();
  ASSERT_EQ(watcher_->stats().watched_directories, 3u);

  // Out: the old names.
  ASSERT_EQ(std::rename((root_ + "/file1").c_str(), (outside_ + "/file1").c_str()), 0);
  ASSERT_EQ(std::rename((root_ + "/dir1").c_str(), (outside_ + "/dir1").c_str()), 0);
  ASSERT_TRUE(PollUntilSeen({"file1", "dir1"})) << Describe();
  ASSERT_TRUE(Barrier());
  EXPECT_EQ(watcher_->stats().watched_directories, 1u);
  // What happens in the moved-out directory is no longer ours.
  Clear();
  CAIRN_ASSERT_OK(WriteFile(outside_ + "/dir1/new", "x"));
  CAIRN_ASSERT_OK(WriteFile(outside_ + "/dir1/deeper/new", "x"));
  ASSERT_TRUE(Barrier());
  EXPECT_FALSE(Saw("dir1/new")) << Describe();
  EXPECT_FALSE(Saw("dir1/deeper/new")) << Describe();

  // In: the new names, and a directory's content, which is then watched.
  Clear();
  ASSERT_EQ(std::rename((outside_ + "/f2").c_str(), (root_ + "/f2").c_str()), 0);
  ASSERT_EQ(std::rename((outside_ + "/tree").c_str(), (root_ + "/tree").c_str()), 0);
  ASSERT_TRUE(PollUntilSeen({"f2", "tree", "tree/sub", "tree/sub/x"})) << Describe();
  EXPECT_EQ(watcher_->stats().watched_directories, 3u);
  Clear();
  CAIRN_ASSERT_OK(WriteFile(root_ + "/tree/sub/y", "x"));
  ASSERT_TRUE(PollUntilSeen({"tree/sub/y"})) << Describe();
  EXPECT_FALSE(Saw(""));
}

TEST_F(ChangeWatcherTest, DirectoryRenamedWithinTheRootKeepsItsWatches) {
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/a/b"));
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/other"));
  StartWatcher();
  ASSERT_EQ(std::rename((root_ + "/a").c_str(), (root_ + "/other/z").c_str()), 0);
  ASSERT_TRUE(PollUntilSeen({"a", "other/z"})) << Describe();
  Clear();
  CAIRN_ASSERT_OK(WriteFile(root_ + "/other/z/b/f", "x"));
  ASSERT_TRUE(PollUntilSeen({"other/z/b/f"})) << Describe();
  EXPECT_EQ(watcher_->stats().watched_directories, 4u);
  EXPECT_FALSE(Saw("a/b/f"));
}

TEST_F(ChangeWatcherTest, RootDeletedAndRecreated) {
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/sub"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/sub/f", "x"));
  StartWatcher();
  RemoveTree(root_);
  ASSERT_TRUE(PollUntilSeen({""})) << Describe();
  WatcherStats stats = watcher_->stats();
  EXPECT_NE(stats.problem.find("deleted"), std::string::npos) << stats.problem;
  EXPECT_EQ(stats.watched_directories, 0u);
  // While it is gone, Poll keeps working and says nothing more.
  Clear();
  CAIRN_ASSERT_OK(watcher_->Poll(absl::Milliseconds(10), &events_));
  EXPECT_TRUE(events_.empty());

  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/sub"));
  ASSERT_TRUE(PollUntilSeen({""})) << Describe();
  EXPECT_EQ(CountOf(""), 1u);
  EXPECT_NE(watcher_->stats().problem.find("came back"), std::string::npos);
  EXPECT_EQ(watcher_->stats().watched_directories, 2u);
  Clear();
  CAIRN_ASSERT_OK(WriteFile(root_ + "/x", "x"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/sub/y", "x"));
  ASSERT_TRUE(PollUntilSeen({"x", "sub/y"})) << Describe();
  EXPECT_FALSE(Saw(""));
}

TEST_F(ChangeWatcherTest, RootMovedAwayAndReplaced) {
  StartWatcher();
  ASSERT_EQ(std::rename(root_.c_str(), (base_ + "/moved").c_str()), 0);
  ASSERT_TRUE(PollUntilSeen({""})) << Describe();
  EXPECT_NE(watcher_->stats().problem.find("moved away"), std::string::npos)
      << watcher_->stats().problem;
  CAIRN_ASSERT_OK(WriteFile(base_ + "/moved/ignored", "x"));
  CAIRN_ASSERT_OK(MakeDirectories(root_));
  Clear();
  ASSERT_TRUE(PollUntilSeen({""})) << Describe();
  ASSERT_TRUE(Barrier());
  EXPECT_FALSE(Saw("ignored"));
}

}  // namespace
}  // namespace cairn
