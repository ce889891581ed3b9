// ChangeWatcher on real directories: start-up checks, file changes at any
// depth, merged repeated writes, new directories watched at once (also
// while a writer races the watcher), deep trees, excludes and symlinks.
#include "agent/change_watcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/path_rules.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/change_watcher_test_util.h"

namespace cairn {
namespace {

TEST_F(ChangeWatcherTest, StartRefusesAMissingRootOrAFile) {
  absl::StatusOr<std::unique_ptr<ChangeWatcher>> missing =
      ChangeWatcher::Start(base_ + "/nope", {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  CAIRN_ASSERT_OK(WriteFile(base_ + "/file", "x"));
  absl::StatusOr<std::unique_ptr<ChangeWatcher>> file = ChangeWatcher::Start(base_ + "/file", {});
  EXPECT_EQ(file.status().code(), absl::StatusCode::kFailedPrecondition) << file.status();
}

TEST_F(ChangeWatcherTest, IdlePollTimesOutWithNothing) {
  StartWatcher();
  CAIRN_ASSERT_OK(watcher_->Poll(absl::Milliseconds(20), &events_));
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(watcher_->stats().watched_directories, 1u);
  EXPECT_EQ(watcher_->stats().problem, "");
  EXPECT_GE(watcher_->fd(), 0);
}

TEST_F(ChangeWatcherTest, ReportsFileChangesAtDepth) {
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/a/b/c"));
  StartWatcher();
  EXPECT_EQ(watcher_->stats().watched_directories, 4u);
  const std::string f = "a/b/c/f";

  CAIRN_ASSERT_OK(WriteFile(R(root_, f), "created"));
  ASSERT_TRUE(PollUntil([&] {
    for (const WatchEvent& e : events_) {
      if (e.path == f && e.closed_after_write) return true;
    }
    return false;
  })) << Describe();
  EXPECT_GE(events_.front().when, absl::Now() - kDeadline);

  Clear();
  CAIRN_ASSERT_OK(AppendFile(R(root_, f), " and modified"));
  ASSERT_TRUE(PollUntilSeen({f})) << Describe();

  Clear();
  ASSERT_EQ(::chmod(R(root_, f).c_str(), 0600), 0);
  ASSERT_TRUE(PollUntilSeen({f})) << Describe();

  Clear();
  ASSERT_EQ(::truncate(R(root_, "a/b/c/f").c_str(), 1), 0);
  ASSERT_TRUE(PollUntilSeen({f})) << Describe();

  Clear();
  ASSERT_EQ(::unlink(R(root_, f).c_str()), 0);
  ASSERT_TRUE(PollUntilSeen({f})) << Describe();

  // A directory's own change is reported by its name in its parent.
  Clear();
  ASSERT_EQ(::chmod(R(root_, "a/b").c_str(), 0700), 0);
  ASSERT_TRUE(PollUntilSeen({"a/b"})) << Describe();
  EXPECT_FALSE(Saw("")) << "a change is not an overflow";
  EXPECT_EQ(watcher_->stats().overflows, 0u);
  EXPECT_GT(watcher_->stats().events, 0u);
}

TEST_F(ChangeWatcherTest, RepeatedWritesMergeIntoFewEvents) {
  StartWatcher();
  {
    int fd = ::open(R(root_, "log").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(::write(fd, "line\n", 5), 5);
    ::close(fd);
  }
  ASSERT_TRUE(Barrier());
  EXPECT_LE(CountOf("log"), 3u);  // create/modify merged, then the close
}

TEST_F(ChangeWatcherTest, NewDirectoryThenFileInsideItAtOnceIsReported) {
  StartWatcher();
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/d"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/d/f", "x"));
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/x/y/z"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/x/y/z/g", "x"));
  ASSERT_TRUE(PollUntilSeen({"d", "d/f", "x", "x/y", "x/y/z", "x/y/z/g"})) << Describe();
  EXPECT_EQ(watcher_->stats().watched_directories, 5u);
  // And they are watched from now on.
  Clear();
  CAIRN_ASSERT_OK(WriteFile(root_ + "/x/y/z/later", "x"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/d/later", "x"));
  ASSERT_TRUE(PollUntilSeen({"x/y/z/later", "d/later"})) << Describe();
}

// A writer races the watcher: directories and files appear while Poll runs,
// so some files land before their directory's watch and some after.
TEST_F(ChangeWatcherTest, ConcurrentCreationMissesNothing) {
  StartWatcher();
  std::vector<std::string> want;
  for (int d = 0; d < 100; ++d) {
    for (int f = 0; f < 4; ++f) want.push_back(absl::StrCat("d", d, "/sub/f", f));
  }
  std::atomic<bool> ok{true};
  std::thread writer([&] {
    for (int d = 0; d < 100; ++d) {
      std::string dir = absl::StrCat(root_, "/d", d, "/sub");
      if (!MakeDirectories(dir).ok()) ok = false;
      for (int f = 0; f < 4; ++f) {
        if (!WriteFile(absl::StrCat(dir, "/f", f), "x").ok()) ok = false;
      }
    }
  });
  bool all = PollUntilSeen(want);
  writer.join();
  ASSERT_TRUE(ok);
  ASSERT_TRUE(all || PollUntilSeen(want));
  EXPECT_EQ(watcher_->stats().watched_directories, 201u);
}

TEST_F(ChangeWatcherTest, DeepTrees) {
  std::string deep = root_;
  std::string rel;
  for (int i = 0; i < 50; ++i) {
    deep += absl::StrCat("/level", i);
    rel = JoinPath(rel, absl::StrCat("level", i));
  }
  CAIRN_ASSERT_OK(MakeDirectories(deep));
  StartWatcher();
  EXPECT_EQ(watcher_->stats().watched_directories, 51u);
  CAIRN_ASSERT_OK(WriteFile(deep + "/bottom", "x"));
  ASSERT_TRUE(PollUntilSeen({rel + "/bottom"})) << Describe();

  // The same depth created after Start, all at once.
  std::string late = root_ + "/late";
  std::string late_rel = "late";
  for (int i = 0; i < 50; ++i) {
    late += absl::StrCat("/n", i);
    late_rel += absl::StrCat("/n", i);
  }
  CAIRN_ASSERT_OK(MakeDirectories(late));
  CAIRN_ASSERT_OK(WriteFile(late + "/bottom", "x"));
  ASSERT_TRUE(PollUntilSeen({late_rel + "/bottom"})) << Describe();
  EXPECT_EQ(watcher_->stats().watched_directories, 102u);
  Clear();
  CAIRN_ASSERT_OK(WriteFile(late + "/second", "x"));
  ASSERT_TRUE(PollUntilSeen({late_rel + "/second"})) << Describe();
}

TEST_F(ChangeWatcherTest, ExcludesAreNeitherWatchedNorReported) {
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/cache/inner"));
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/logs"));
  StartWatcher({"*.tmp", "cache", "logs/*.log"});
  EXPECT_EQ(watcher_->stats().watched_directories, 2u);  // root, logs
  CAIRN_ASSERT_OK(WriteFile(root_ + "/a.tmp", "x"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/cache/x", "x"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/cache/inner/x", "x"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/logs/a.log", "x"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/logs/keep.txt", "x"));
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/sub/cache"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/sub/cache/x", "x"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/sub/b.tmp", "x"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/sub/kept", "x"));
  ASSERT_TRUE(PollUntilSeen({"logs/keep.txt", "sub", "sub/kept"})) << Describe();
  ASSERT_TRUE(Barrier());
  for (const char* excluded : {"a.tmp", "cache", "cache/x", "cache/inner/x", "logs/a.log",
                               "sub/cache", "sub/cache/x", "sub/b.tmp"}) {
    EXPECT_FALSE(Saw(excluded)) << excluded;
  }
  EXPECT_EQ(watcher_->stats().watched_directories, 3u);  // + sub
  // A watched directory renamed to an excluded name stops being watched.
  ASSERT_EQ(std::rename((root_ + "/sub").c_str(), (root_ + "/cache2.tmp").c_str()), 0);
  ASSERT_TRUE(Barrier());
  EXPECT_EQ(watcher_->stats().watched_directories, 2u);
}

TEST_F(ChangeWatcherTest, SymlinksBelowTheRootAreNotFollowed) {
  CAIRN_ASSERT_OK(MakeDirectories(outside_ + "/target"));
  ASSERT_EQ(::symlink((outside_ + "/target").c_str(), (root_ + "/link").c_str()), 0);
  StartWatcher();
  EXPECT_EQ(watcher_->stats().watched_directories, 1u);
  CAIRN_ASSERT_OK(WriteFile(outside_ + "/target/x", "x"));
  ASSERT_TRUE(Barrier());
  EXPECT_FALSE(Saw("link/x"));
  // A symlink to a directory appearing later is an entry, not a directory.
  ASSERT_EQ(::symlink((outside_ + "/target").c_str(), (root_ + "/link2").c_str()), 0);
  ASSERT_TRUE(PollUntilSeen({"link2"}));
  EXPECT_EQ(watcher_->stats().watched_directories, 1u);
}

TEST_F(ChangeWatcherTest, RootReachedThroughASymlinkIsWatched) {
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/d"));
  ASSERT_EQ(::symlink(root_.c_str(), (base_ + "/alias").c_str()), 0);
  absl::StatusOr<std::unique_ptr<ChangeWatcher>> watcher =
      ChangeWatcher::Start(base_ + "/alias", {});
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  watcher_ = *std::move(watcher);
  EXPECT_EQ(watcher_->stats().watched_directories, 2u);
  CAIRN_ASSERT_OK(WriteFile(root_ + "/d/f", "x"));
  ASSERT_TRUE(PollUntilSeen({"d/f"})) << Describe();
}

}  // namespace
}  // namespace cairn
