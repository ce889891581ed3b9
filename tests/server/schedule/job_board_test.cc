// JobBoard over a real catalog: Create assigns the id, the times and the
// lease; Create and Update bump the version and wake waiters; WaitForOrders
// returns an agent's queued jobs oldest first, wakes for a new order made on
// another thread (the waiter is seen blocked first, no sleeps) but not for
// another agent's order or a commit, and returns at once when told to stop;
// WakeAll wakes; presence is kept per agent and is no change of the board.
#include "server/schedule/job_board.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/catalog/store_test_util.h"
#include "tests/server/thread_wait_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class JobBoardTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    board_ = std::make_unique<JobBoard>(&catalog(), absl::Hours(1));
  }
  void TearDown() override {
    board_.reset();
    StoreTest::TearDown();
  }

  static v1::Job NewJob(const std::string& agent, v1::JobState state,
                        v1::JobKind kind = v1::JOB_KIND_BACKUP) {
    v1::Job job;
    job.set_kind(kind);
    job.set_state(state);
    job.set_agent(agent);
    return job;
  }
  static std::vector<std::string> Ids(const std::vector<v1::Job>& jobs) {
    std::vector<std::string> ids;
    for (const v1::Job& j : jobs) ids.push_back(j.id());
    return ids;
  }

  std::unique_ptr<JobBoard> board_;
  std::atomic<bool> stop_{false};
};

TEST_F(JobBoardTest, CreateAssignsTheIdTheTimesAndTheLease) {
  const int64_t before = absl::ToUnixMillis(absl::Now());
  v1::Job asked = NewJob("a1", v1::JOB_STATE_QUEUED);
  asked.set_id("j-chosen-by-the-caller");
  asked.set_created_unix_ms(5);
  ASSERT_OK_AND_ASSIGN(v1::Job queued, board_->Create(asked));
  ASSERT_OK_AND_ASSIGN(v1::Job running, board_->Create(NewJob("a1", v1::JOB_STATE_RUNNING)));
  const int64_t after = absl::ToUnixMillis(absl::Now());

  for (const v1::Job* job : {&queued, &running}) {
    EXPECT_TRUE(job->id().starts_with("j-")) << job->id();
    EXPECT_EQ(job->id().size(), 18u) << job->id();
    EXPECT_GE(job->created_unix_ms(), before);
    EXPECT_LE(job->created_unix_ms(), after);
    ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> stored, catalog().jobs().Get(job->id()));
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->SerializeAsString(), job->SerializeAsString());
  }
  EXPECT_NE(queued.id(), running.id());
  EXPECT_NE(queued.id(), "j-chosen-by-the-caller");
  EXPECT_EQ(queued.started_unix_ms(), 0) << "not started yet";
  EXPECT_EQ(running.started_unix_ms(), running.created_unix_ms());

  // The running backup holds a lease of the board's length from its creation.
  auto live_at = [&](int64_t ms) -> std::vector<std::string> {
    absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> live =
        catalog().jobs().LiveBackups(ms);
    EXPECT_TRUE(live.ok()) << live.status();
    std::vector<std::string> ids;
    if (live.ok()) {
      for (const auto& [id, created] : *live) ids.push_back(id);
    }
    return ids;
  };
  const int64_t lease_end = running.created_unix_ms() + absl::ToInt64Milliseconds(absl::Hours(1));
  EXPECT_THAT(live_at(lease_end - 60'000), ElementsAre(running.id()));
  EXPECT_THAT(live_at(lease_end + 60'000), IsEmpty());
}

TEST_F(JobBoardTest, CreateAndUpdateBumpTheVersion) {
  const uint64_t at_start = board_->version();
  ASSERT_OK_AND_ASSIGN(v1::Job job, board_->Create(NewJob("a1", v1::JOB_STATE_QUEUED)));
  const uint64_t after_create = board_->version();
  EXPECT_GT(after_create, at_start);
  job.set_state(v1::JOB_STATE_FAILED);
  job.set_error("disk on fire");
  ASSERT_OK(board_->Update(job));
  const uint64_t after_update = board_->version();
  EXPECT_GT(after_update, after_create);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> stored, catalog().jobs().Get(job.id()));
  EXPECT_EQ(stored->state(), v1::JOB_STATE_FAILED);
  // Already past: no wait. Nothing new: the same version, after the timeout.
  EXPECT_EQ(board_->WaitForChange(at_start, absl::Hours(1)), after_update);
  EXPECT_EQ(board_->WaitForChange(after_update, absl::ZeroDuration()), after_update);

  // An update of a job the catalog does not have fails and wakes nobody.
  v1::Job ghost = job;
  ghost.set_id("j-ghost");
  EXPECT_EQ(board_->Update(ghost).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(board_->version(), after_update);
  board_->Notify();
  EXPECT_GT(board_->version(), after_update);
}

TEST_F(JobBoardTest, WaitForOrdersReturnsTheAgentsQueuedJobsOldestFirst) {
  ASSERT_OK_AND_ASSIGN(v1::Job first, board_->Create(NewJob("a1", v1::JOB_STATE_QUEUED)));
  ASSERT_OK(board_->Create(NewJob("a1", v1::JOB_STATE_RUNNING)).status());
  ASSERT_OK(board_->Create(NewJob("b1", v1::JOB_STATE_QUEUED)).status());
  ASSERT_OK_AND_ASSIGN(v1::Job second,
                       board_->Create(NewJob("a1", v1::JOB_STATE_QUEUED, v1::JOB_KIND_RESTORE)));
  // Queued jobs are returned at once, however long the caller would wait.
  EXPECT_THAT(Ids(board_->WaitForOrders("a1", absl::Hours(1), &stop_)),
              ElementsAre(first.id(), second.id()));
  // Even when told to stop: what is queued is still handed over.
  stop_ = true;
  EXPECT_THAT(Ids(board_->WaitForOrders("a1", absl::Hours(1), &stop_)),
              ElementsAre(first.id(), second.id()));
  // Nothing queued and told to stop: nothing, without waiting.
  EXPECT_THAT(board_->WaitForOrders("c1", absl::Hours(1), &stop_), IsEmpty());
}

TEST_F(JobBoardTest, WaitForOrdersWakesForANewOrderFromAnotherThread) {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> returned{false};
  std::vector<v1::Job> woken;
  std::thread waiter([&] {
    tid = CurrentThreadId();
    woken = board_->WaitForOrders("a1", absl::Hours(1), &stop_);
    returned = true;
  });
  while (tid == 0) std::this_thread::yield();
  ASSERT_TRUE(WaitUntilAsleep(tid, [&] { return returned.load(); }))
      << "the waiter returned before any order was made";
  ASSERT_OK_AND_ASSIGN(v1::Job order, board_->Create(NewJob("a1", v1::JOB_STATE_QUEUED)));
  waiter.join();
  EXPECT_THAT(Ids(woken), ElementsAre(order.id()));
}

TEST_F(JobBoardTest, OnlyTheAgentsOwnOrdersAndWakesWakeItsWaiter) {
  const uint64_t a1 = board_->OrdersVersion("a1");
  // Another agent's order, a running job of a1's, a commit: not a1's business.
  ASSERT_OK(board_->Create(NewJob("b1", v1::JOB_STATE_QUEUED)).status());
  ASSERT_OK(board_->Create(NewJob("a1", v1::JOB_STATE_RUNNING)).status());
  board_->Notify();
  EXPECT_EQ(board_->OrdersVersion("a1"), a1);
  ASSERT_OK(board_->Create(NewJob("a1", v1::JOB_STATE_QUEUED)).status());
  EXPECT_GT(board_->OrdersVersion("a1"), a1);
  const uint64_t after_order = board_->OrdersVersion("a1");
  board_->WakeAgent("a1");
  EXPECT_GT(board_->OrdersVersion("a1"), after_order);
  const uint64_t b1 = board_->OrdersVersion("b1");
  board_->WakeAll();
  EXPECT_GT(board_->OrdersVersion("b1"), b1) << "WakeAll reaches every agent";
  EXPECT_GT(board_->OrdersVersion("never-seen"), 0u);
}

TEST_F(JobBoardTest, AnotherAgentsOrderDoesNotWakeAWaiter) {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> returned{false};
  std::vector<v1::Job> woken;
  std::thread waiter([&] {
    tid = CurrentThreadId();
    woken = board_->WaitForOrders("a1", absl::Hours(1), &stop_);
    returned = true;
  });
  while (tid == 0) std::this_thread::yield();
  ASSERT_TRUE(WaitUntilAsleep(tid, [&] { return returned.load(); }));
  ASSERT_OK(board_->Create(NewJob("b1", v1::JOB_STATE_QUEUED)).status());
  board_->Notify();
  // Had either woken it, it would have returned with nothing (one look per
  // wake) before a1's order below exists, barring a very late scheduling.
  ASSERT_TRUE(WaitUntilAsleep(tid, [&] { return returned.load(); }))
      << "another agent's order woke a1's session";
  ASSERT_OK_AND_ASSIGN(v1::Job order, board_->Create(NewJob("a1", v1::JOB_STATE_QUEUED)));
  waiter.join();
  EXPECT_THAT(Ids(woken), ElementsAre(order.id()));
}

TEST_F(JobBoardTest, WakeAllWakesAWaiter) {
  const uint64_t seen = board_->version();
  std::atomic<pid_t> tid{0};
  std::atomic<bool> returned{false};
  uint64_t now = seen;
  std::thread waiter([&] {
    tid = CurrentThreadId();
    now = board_->WaitForChange(seen, absl::Hours(1));
    returned = true;
  });
  while (tid == 0) std::this_thread::yield();
  ASSERT_TRUE(WaitUntilAsleep(tid, [&] { return returned.load(); }));
  board_->WakeAll();
  waiter.join();
  EXPECT_GT(now, seen);
}

TEST_F(JobBoardTest, PresenceIsPerAgentAndNoChangeOfTheBoard) {
  AgentPresence unknown = board_->Presence("nobody");
  EXPECT_FALSE(unknown.online);
  EXPECT_EQ(unknown.pending_files, 0u);
  EXPECT_EQ(unknown.watcher_problem, "");

  const uint64_t version = board_->version();
  AgentPresence a;
  a.online = true;
  a.pending_files = 12;
  a.pending_bytes = 3400;
  a.last_change_unix_ms = 1'700'000'000'000;
  a.watch_overflows = 2;
  a.watcher_problem = "queue overflow";
  board_->SetPresence("a1", a);
  AgentPresence b;
  b.online = true;
  board_->SetPresence("b1", b);
  EXPECT_EQ(board_->version(), version) << "a heartbeat must not wake every session";

  AgentPresence got = board_->Presence("a1");
  EXPECT_TRUE(got.online);
  EXPECT_EQ(got.pending_files, 12u);
  EXPECT_EQ(got.pending_bytes, 3400u);
  EXPECT_EQ(got.last_change_unix_ms, 1'700'000'000'000);
  EXPECT_EQ(got.watch_overflows, 2u);
  EXPECT_EQ(got.watcher_problem, "queue overflow");
  EXPECT_EQ(board_->Presence("b1").pending_files, 0u);
  // Replaced whole, not merged.
  board_->SetPresence("a1", AgentPresence{});
  EXPECT_FALSE(board_->Presence("a1").online);
  EXPECT_EQ(board_->Presence("a1").watcher_problem, "");
  EXPECT_TRUE(board_->Presence("b1").online);
}

TEST_F(JobBoardTest, TheLeaseIsTheOneGiven) {
  EXPECT_EQ(board_->lease(), absl::Hours(1));
  JobBoard other(&catalog(), absl::Minutes(5));
  EXPECT_EQ(other.lease(), absl::Minutes(5));
}

}  // namespace
}  // namespace cairn
