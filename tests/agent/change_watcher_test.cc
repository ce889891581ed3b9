#include "agent/change_watcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/path_rules.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

// Long enough for any loaded machine; the loops end as soon as the events
// arrive, so passing runs never wait this long.
constexpr absl::Duration kDeadline = absl::Seconds(60);
constexpr absl::Duration kPollStep = absl::Milliseconds(50);

class ChangeWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = MakeTestDir("watcher");
    root_ = base_ + "/root";
    outside_ = base_ + "/outside";
    CAIRN_ASSERT_OK(MakeDirectories(root_));
    CAIRN_ASSERT_OK(MakeDirectories(outside_));
  }
  void TearDown() override {
    watcher_.reset();
    if (!HasFailure()) RemoveTree(base_);
  }

  void StartWatcher(std::vector<std::string> excludes = {}, ChangeWatcherOptions options = {}) {
    absl::StatusOr<std::unique_ptr<ChangeWatcher>> watcher =
        ChangeWatcher::Start(root_, std::move(excludes), options);
    ASSERT_TRUE(watcher.ok()) << watcher.status();
    watcher_ = *std::move(watcher);
  }

  // Polls until `done` holds for everything seen since the last Clear().
  bool PollUntil(const std::function<bool()>& done) {
    absl::Time deadline = absl::Now() + kDeadline;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::Status polled = watcher_->Poll(kPollStep, &events_);
      EXPECT_TRUE(polled.ok()) << polled;
      if (!polled.ok()) return false;
      for (const WatchEvent& e : events_) seen_.insert(e.path);
    }
    return true;
  }
  bool Saw(const std::string& path) const { return seen_.count(path) > 0; }
  bool PollUntilSeen(const std::vector<std::string>& paths) {
    return PollUntil([&] {
      for (const std::string& p : paths) {
        if (!Saw(p)) return false;
      }
      return true;
    });
  }
  // Creates `name` in the root and polls until it is reported: every event
  // queued before it has then been handled, so absence can be checked.
  bool Barrier() {
    std::string name = absl::StrCat("barrier-", barriers_++);
    EXPECT_TRUE(WriteFile(root_ + "/" + name, "x").ok());
    return PollUntilSeen({name});
  }
  void Clear() {
    events_.clear();
    seen_.clear();
  }
  size_t CountOf(const std::string& path) const {
    size_t n = 0;
    for (const WatchEvent& e : events_) n += e.path == path;
    return n;
  }
  std::string Describe() const {
    std::string out = absl::StrCat(seen_.size(), " paths seen:");
    size_t shown = 0;
    for (const std::string& p : seen_) {
      if (++shown > 40) return out + " ...";
      absl::StrAppend(&out, " \"", p, "\"");
    }
    return out;
  }

  std::string base_, root_, outside_;
  std::unique_ptr<ChangeWatcher> watcher_;
  std::vector<WatchEvent> events_;
  std::set<std::string> seen_;
  int barriers_ = 0;
};

std::string R(const std::string& root, const std::string& rel) { return root + "/" + rel; }

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

TEST_F(ChangeWatcherTest, InjectedOverflowReportsEverythingOnceAndKeepsWorking) {
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/d"));
  StartWatcher();
  watcher_->InjectOverflowForTest();
  watcher_->InjectOverflowForTest();
  CAIRN_ASSERT_OK(watcher_->Poll(absl::ZeroDuration(), &events_));
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].path, "");
  WatcherStats stats = watcher_->stats();
  EXPECT_EQ(stats.overflows, 2u);
  EXPECT_NE(stats.problem.find("overflow"), std::string::npos) << stats.problem;
  EXPECT_FALSE(stats.incomplete);
  EXPECT_EQ(stats.watched_directories, 2u);
  Clear();
  CAIRN_ASSERT_OK(WriteFile(root_ + "/d/f", "x"));
  ASSERT_TRUE(PollUntilSeen({"d/f"})) << Describe();
  EXPECT_FALSE(Saw(""));
}

// 20,000 creations without polling overrun the default queue (16384); on a
// machine with a larger queue every name arrives instead. Either way the
// watcher goes on working, including in a directory made during the flood.
TEST_F(ChangeWatcherTest, FloodEitherOverflowsOrDeliversEverything) {
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/flood"));
  StartWatcher();
  constexpr int kFiles = 20000;
  for (int i = 0; i < kFiles; ++i) {
    int fd = ::open(absl::StrCat(root_, "/flood/f", i).c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/late"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/late/f", "x"));
  ASSERT_TRUE(PollUntil([&] {
    if (Saw("")) return true;
    if (!Saw("late/f")) return false;
    for (int i = 0; i < kFiles; ++i) {
      if (!Saw(absl::StrCat("flood/f", i))) return false;
    }
    return true;
  }));
  RecordProperty("overflowed", Saw("") ? "yes" : "no");
  if (Saw("")) {
    EXPECT_GT(watcher_->stats().overflows, 0u);
    EXPECT_NE(watcher_->stats().problem.find("overflow"), std::string::npos);
  }
  ASSERT_TRUE(Barrier());  // drain what is left of the flood
  Clear();
  CAIRN_ASSERT_OK(WriteFile(root_ + "/late/g", "x"));
  CAIRN_ASSERT_OK(WriteFile(root_ + "/flood/after", "x"));
  ASSERT_TRUE(PollUntilSeen({"late/g", "flood/after"})) << Describe();
  EXPECT_EQ(watcher_->stats().watched_directories, 3u);
}

TEST_F(ChangeWatcherTest, WatchLimitReportsEverythingAndIncomplete) {
  for (int i = 0; i < 5; ++i) CAIRN_ASSERT_OK(MakeDirectories(absl::StrCat(root_, "/d", i)));
  ChangeWatcherOptions options;
  options.max_watches = 3;
  StartWatcher({}, options);
  CAIRN_ASSERT_OK(watcher_->Poll(absl::ZeroDuration(), &events_));
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].path, "");
  WatcherStats stats = watcher_->stats();
  EXPECT_TRUE(stats.incomplete);
  EXPECT_NE(stats.problem.find("watch limit"), std::string::npos) << stats.problem;
  EXPECT_EQ(stats.watched_directories, 3u);
  // A new directory past the limit: reported, and "" again.
  Clear();
  CAIRN_ASSERT_OK(MakeDirectories(root_ + "/new"));
  ASSERT_TRUE(PollUntilSeen({"new", ""})) << Describe();
  EXPECT_EQ(watcher_->stats().watched_directories, 3u);
  // Files in the root are still reported.
  Clear();
  CAIRN_ASSERT_OK(WriteFile(root_ + "/f", "x"));
  ASSERT_TRUE(PollUntilSeen({"f"})) << Describe();
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
