// ChangeWatcher past its limits: a queue overflow (injected, or a flood of
// creations) and the watch limit report everything ("") and leave the
// watcher working.
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "agent/change_watcher.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/change_watcher_test_util.h"

namespace cairn {
namespace {

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

}  // namespace
}  // namespace cairn
