// Shared fixture of the ChangeWatcher tests: a root to watch and a directory
// outside it, a watcher started on demand, and polling until the paths a
// test waits for were reported (with a deadline no passing run reaches).
//
//   StartWatcher();
//   CAIRN_ASSERT_OK(WriteFile(root_ + "/f", "x"));
//   ASSERT_TRUE(PollUntilSeen({"f"})) << Describe();
#ifndef CAIRN_TESTS_AGENT_CHANGE_WATCHER_TEST_UTIL_H_
#define CAIRN_TESTS_AGENT_CHANGE_WATCHER_TEST_UTIL_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/change_watcher.h"
#include "gtest/gtest.h"

namespace cairn {

// Long enough for any loaded machine; the loops end as soon as the events
// arrive, so passing runs never wait this long.
inline constexpr absl::Duration kDeadline = absl::Seconds(60);
inline constexpr absl::Duration kPollStep = absl::Milliseconds(50);

class ChangeWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  void StartWatcher(std::vector<std::string> excludes = {}, ChangeWatcherOptions options = {});

  // Polls until `done` holds for everything seen since the last Clear().
  bool PollUntil(const std::function<bool()>& done);
  bool Saw(const std::string& path) const { return seen_.count(path) > 0; }
  bool PollUntilSeen(const std::vector<std::string>& paths);
  // Creates `name` in the root and polls until it is reported: every event
  // queued before it has then been handled, so absence can be checked.
  bool Barrier();
  void Clear();
  // How often `path` is among the events since the last Clear().
  size_t CountOf(const std::string& path) const;
  // The paths seen, for failure messages.
  std::string Describe() const;

  std::string base_, root_, outside_;
  std::unique_ptr<ChangeWatcher> watcher_;
  std::vector<WatchEvent> events_;
  std::set<std::string> seen_;
  int barriers_ = 0;
};

// `rel` under `root`.
std::string R(const std::string& root, const std::string& rel);

}  // namespace cairn

#endif  // CAIRN_TESTS_AGENT_CHANGE_WATCHER_TEST_UTIL_H_
