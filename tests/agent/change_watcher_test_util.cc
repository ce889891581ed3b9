#include "tests/agent/change_watcher_test_util.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {

void ChangeWatcherTest::SetUp() {
  base_ = MakeTestDir("watcher");
  root_ = base_ + "/root";
  outside_ = base_ + "/outside";
  CAIRN_ASSERT_OK(MakeDirectories(root_));
  CAIRN_ASSERT_OK(MakeDirectories(outside_));
}

void ChangeWatcherTest::TearDown() {
  watcher_.reset();
  if (!HasFailure()) RemoveTree(base_);
}

void ChangeWatcherTest::StartWatcher(std::vector<std::string> excludes,
                                     ChangeWatcherOptions options) {
  absl::StatusOr<std::unique_ptr<ChangeWatcher>> watcher =
      ChangeWatcher::Start(root_, std::move(excludes), options);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  watcher_ = *std::move(watcher);
}

bool ChangeWatcherTest::PollUntil(const std::function<bool()>& done) {
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

bool ChangeWatcherTest::PollUntilSeen(const std::vector<std::string>& paths) {
  return PollUntil([&] {
    for (const std::string& p : paths) {
      if (!Saw(p)) return false;
    }
    return true;
  });
}

bool ChangeWatcherTest::Barrier() {
  std::string name = absl::StrCat("barrier-", barriers_++);
  EXPECT_TRUE(WriteFile(root_ + "/" + name, "x").ok());
  return PollUntilSeen({name});
}

void ChangeWatcherTest::Clear() {
  events_.clear();
  seen_.clear();
}

size_t ChangeWatcherTest::CountOf(const std::string& path) const {
  size_t n = 0;
  for (const WatchEvent& e : events_) n += e.path == path;
  return n;
}

std::string ChangeWatcherTest::Describe() const {
  std::string out = absl::StrCat(seen_.size(), " paths seen:");
  size_t shown = 0;
  for (const std::string& p : seen_) {
    if (++shown > 40) return out + " ...";
    absl::StrAppend(&out, " \"", p, "\"");
  }
  return out;
}

std::string R(const std::string& root, const std::string& rel) { return root + "/" + rel; }

}  // namespace cairn
