// GcGuard on its own: lookups record the ids they answer present; a candidate
// answered present during a collection is rescued; the reuse log spares ids
// answered to a backup still live and forgets periods no live backup heard;
// one collection at a time; orphan objects are due only after the grace; and
// a sweep shuts lookups out (two threads ordered by a notification and by
// waiting until the lookup is blocked, no sleeps).
#include "server/ingest/gc_guard.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"
#include "tests/server/thread_wait_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A clock the test moves by hand.
class ManualClock {
 public:
  std::function<absl::Time()> fn() const {
    std::shared_ptr<std::atomic<int64_t>> now = now_ms_;
    return [now] { return absl::FromUnixMillis(now->load()); };
  }
  void Advance(absl::Duration d) { *now_ms_ += absl::ToInt64Milliseconds(d); }

 private:
  std::shared_ptr<std::atomic<int64_t>> now_ms_ =
      std::make_shared<std::atomic<int64_t>>(1'700'000'000'000);
};

// A catalog stand-in for lookups: the ids it holds are present.
class FakeStore {
 public:
  explicit FakeStore(std::set<std::string> ids) : ids_(std::move(ids)) {}
  std::vector<uint32_t> FindMissing(const std::vector<std::string>& ids) const {
    std::vector<uint32_t> missing;
    for (uint32_t i = 0; i < ids.size(); ++i) {
      if (!ids_.contains(ids[i])) missing.push_back(i);
    }
    return missing;
  }
  void Erase(const std::string& id) { ids_.erase(id); }

 private:
  std::set<std::string> ids_;
};

class GcGuardTest : public ::testing::Test {
 protected:
  // A lookup of `ids` answered from `store_`.
  absl::StatusOr<std::vector<uint32_t>> Lookup(GcObject kind, const std::vector<std::string>& ids) {
    return guard_.FindMissingAndProtect(kind, ids, [&]() -> absl::StatusOr<std::vector<uint32_t>> {
      return store_.FindMissing(ids);
    });
  }
  // What a sweep would be told about `id`.
  GcSpare Why(GcObject kind, const std::string& id) {
    GcSpare why = GcSpare::kNo;
    EXPECT_OK(guard_.Sweep([&](const GcGuard::Sparer& sparer) {
      why = sparer.Why(kind, id);
      return absl::OkStatus();
    }));
    return why;
  }

  const std::string a_ = TestChunkId(1), b_ = TestChunkId(2), c_ = TestChunkId(3);
  const std::string x_ = TestChunkId(4), n_ = TestChunkId(5);
  FakeStore store_{{a_, b_, c_, x_}};
  ManualClock clock_;
  GcGuard guard_{clock_.fn()};
};

TEST_F(GcGuardTest, FindMissingAndProtectRecordsThePresentAnswers) {
  guard_.BackupBegan("j-1");
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Lookup(GcObject::kChunk, {a_, n_, c_}));
  EXPECT_THAT(missing, ElementsAre(1u));  // the lookup's answer, unchanged

  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({"j-1"});
  guard_.SetCandidates(GcObject::kChunk, {a_, b_, c_, n_});
  EXPECT_EQ(Why(GcObject::kChunk, a_), GcSpare::kMaybeReused);
  EXPECT_EQ(Why(GcObject::kChunk, c_), GcSpare::kMaybeReused);
  EXPECT_EQ(Why(GcObject::kChunk, b_), GcSpare::kNo) << "never asked for";
  EXPECT_EQ(Why(GcObject::kChunk, n_), GcSpare::kNo) << "answered missing";
  EXPECT_EQ(Why(GcObject::kTree, a_), GcSpare::kNo) << "a chunk's answer is no tree's";
  guard_.End();
}

TEST_F(GcGuardTest, AFailedLookupRecordsNothing) {
  guard_.BackupBegan("j-1");
  absl::StatusOr<std::vector<uint32_t>> failed = guard_.FindMissingAndProtect(
      GcObject::kChunk, std::vector<std::string>{a_},
      []() -> absl::StatusOr<std::vector<uint32_t>> { return absl::UnavailableError("disk"); });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({"j-1"});
  EXPECT_EQ(Why(GcObject::kChunk, a_), GcSpare::kNo);
  guard_.End();
}

TEST_F(GcGuardTest, ACandidateAnsweredPresentDuringACollectionIsRescued) {
  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({});
  guard_.SetCandidates(GcObject::kChunk, {a_, x_});
  guard_.SetCandidates(GcObject::kTree, {b_});
  ASSERT_OK(Lookup(GcObject::kChunk, {a_, n_, b_}).status());
  EXPECT_EQ(Why(GcObject::kChunk, a_), GcSpare::kRescued);
  EXPECT_EQ(Why(GcObject::kChunk, x_), GcSpare::kNo);
  // b was answered present as a chunk: it is no tree candidate's rescue, but
  // the reuse log of this collection's period has it.
  EXPECT_EQ(Why(GcObject::kTree, b_), GcSpare::kNo);
  EXPECT_EQ(Why(GcObject::kChunk, b_), GcSpare::kMaybeReused);
  guard_.End();

  // The next collection starts with no rescues; with no live backup, the
  // answers of the last one are forgotten.
  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({});
  guard_.SetCandidates(GcObject::kChunk, {a_});
  EXPECT_EQ(Why(GcObject::kChunk, a_), GcSpare::kNo);
  guard_.End();
}

TEST_F(GcGuardTest, NewCandidatesForgetTheRescuesOfTheOldOnes) {
  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({});
  guard_.SetCandidates(GcObject::kChunk, {a_});
  ASSERT_OK(Lookup(GcObject::kChunk, {a_}).status());
  EXPECT_EQ(Why(GcObject::kChunk, a_), GcSpare::kRescued);
  guard_.SetCandidates(GcObject::kChunk, {a_, c_});
  EXPECT_EQ(Why(GcObject::kChunk, a_), GcSpare::kMaybeReused) << "the log still has it";
  guard_.End();
}

TEST_F(GcGuardTest, TheReuseLogSparesIdsAnsweredToABackupStillLive) {
  guard_.BackupBegan("j-live");
  ASSERT_OK(Lookup(GcObject::kTree, {a_}).status());  // before the collection
  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({"j-live"});
  guard_.SetCandidates(GcObject::kTree, {a_, x_});
  EXPECT_EQ(Why(GcObject::kTree, a_), GcSpare::kMaybeReused);
  EXPECT_EQ(Why(GcObject::kTree, x_), GcSpare::kNo);
  guard_.End();

  // Still live at the next collection: still spared.
  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({"j-live"});
  EXPECT_EQ(Why(GcObject::kTree, a_), GcSpare::kMaybeReused);
  guard_.End();

  // Ended: nothing live heard the answer any more.
  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({});
  EXPECT_EQ(Why(GcObject::kTree, a_), GcSpare::kNo);
  guard_.End();
}

TEST_F(GcGuardTest, ForgetAnswersBeforeDropsThePeriodsNoLiveBackupHeard) {
  guard_.BackupBegan("j-old");
  ASSERT_OK(Lookup(GcObject::kChunk, {a_}).status());
  guard_.BackupBegan("j-new");
  ASSERT_OK(Lookup(GcObject::kChunk, {b_}).status());
  ASSERT_OK(guard_.Begin());
  // Only j-new is live: a was answered before it began, to j-old alone.
  guard_.ForgetAnswersBefore({"j-new"});
  EXPECT_EQ(Why(GcObject::kChunk, a_), GcSpare::kNo);
  EXPECT_EQ(Why(GcObject::kChunk, b_), GcSpare::kMaybeReused);
  guard_.End();
}

TEST_F(GcGuardTest, ALiveBackupThisGuardNeverSawBeginKeepsEveryAnswer) {
  guard_.BackupBegan("j-1");
  ASSERT_OK(Lookup(GcObject::kChunk, {a_}).status());
  guard_.BackupBegan("j-2");
  ASSERT_OK(Lookup(GcObject::kChunk, {b_}).status());
  ASSERT_OK(guard_.Begin());
  // A job that began before a restart may have heard anything.
  guard_.ForgetAnswersBefore({"j-2", "j-from-before-the-restart"});
  EXPECT_EQ(Why(GcObject::kChunk, a_), GcSpare::kMaybeReused);
  EXPECT_EQ(Why(GcObject::kChunk, b_), GcSpare::kMaybeReused);
  guard_.End();
}

TEST_F(GcGuardTest, BeginTwiceIsAbortedUntilEnd) {
  ASSERT_OK(guard_.Begin());
  absl::Status second = guard_.Begin();
  EXPECT_EQ(second.code(), absl::StatusCode::kAborted) << second;
  EXPECT_THAT(second.message(), HasSubstr("a garbage collection is already running"));
  guard_.End();
  EXPECT_OK(guard_.Begin());
  guard_.End();
}

TEST_F(GcGuardTest, OrphansAreDueOnlyAfterTheGrace) {
  const absl::Duration grace = absl::Hours(1);
  EXPECT_THAT(guard_.OrphansDue("hot", {"pack-1"}, grace), IsEmpty()) << "first seen now";
  clock_.Advance(absl::Minutes(30));
  EXPECT_THAT(guard_.OrphansDue("hot", {"pack-1", "pack-2"}, grace), IsEmpty());
  clock_.Advance(absl::Minutes(30));
  EXPECT_THAT(guard_.OrphansDue("hot", {"pack-1", "pack-2"}, grace), ElementsAre("pack-1"));
  // Another tier's object of the same name has a clock of its own.
  EXPECT_THAT(guard_.OrphansDue("cold", {"pack-1"}, grace), IsEmpty());
  clock_.Advance(absl::Minutes(30));
  EXPECT_THAT(guard_.OrphansDue("hot", {"pack-1", "pack-2"}, grace),
              ElementsAre("pack-1", "pack-2"));
  // A name no longer orphaned (catalogued since) is forgotten: seen again,
  // it starts over. Other tiers' names are kept.
  EXPECT_THAT(guard_.OrphansDue("hot", {"pack-2"}, grace), ElementsAre("pack-2"));
  EXPECT_THAT(guard_.OrphansDue("hot", {"pack-1", "pack-2"}, grace), ElementsAre("pack-2"));
  clock_.Advance(absl::Minutes(30));
  EXPECT_THAT(guard_.OrphansDue("cold", {"pack-1"}, grace), ElementsAre("pack-1"));
  // A zero grace makes everything due at once.
  EXPECT_THAT(guard_.OrphansDue("other", {"x"}, absl::ZeroDuration()), ElementsAre("x"));
}

// A lookup that starts while a sweep runs waits for the sweep: it cannot
// answer "present" for an id the sweep is deleting.
TEST_F(GcGuardTest, ASweepShutsLookupsOut) {
  absl::Notification sweeping;
  std::atomic<pid_t> lookup_tid{0};
  std::atomic<bool> about_to_look{false};
  std::atomic<bool> lookup_ran{false};
  absl::StatusOr<std::vector<uint32_t>> answer;
  std::thread lookup([&] {
    sweeping.WaitForNotification();
    lookup_tid = CurrentThreadId();
    about_to_look = true;
    answer = guard_.FindMissingAndProtect(GcObject::kChunk, std::vector<std::string>{x_},
                                          [&]() -> absl::StatusOr<std::vector<uint32_t>> {
                                            lookup_ran = true;
                                            return store_.FindMissing({x_});
                                          });
  });
  bool blocked = false;
  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({});
  guard_.SetCandidates(GcObject::kChunk, {x_});
  ASSERT_OK(guard_.Sweep([&](const GcGuard::Sparer& sparer) {
    sweeping.Notify();
    while (!about_to_look) std::this_thread::yield();
    // The lookup either blocks (right) or runs its lookup now (wrong).
    blocked = WaitUntilAsleep(lookup_tid, [&] { return lookup_ran.load(); }) && !lookup_ran;
    if (sparer.Why(GcObject::kChunk, x_) == GcSpare::kNo) store_.Erase(x_);
    return absl::OkStatus();
  }));
  lookup.join();
  guard_.End();
  EXPECT_TRUE(blocked) << "the lookup ran while the sweep held the guard";
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(*answer, ElementsAre(0u)) << "the swept id must be reported missing";
}

// The other way round: a sweep waits for a lookup in progress, so what the
// lookup answered present is rescued before the sweep looks.
TEST_F(GcGuardTest, ALookupInProgressHoldsTheSweepBack) {
  ASSERT_OK(guard_.Begin());
  guard_.ForgetAnswersBefore({});
  guard_.SetCandidates(GcObject::kChunk, {a_});
  absl::Notification looking;
  absl::Notification release;
  std::thread lookup([&] {
    ASSERT_OK(guard_
                  .FindMissingAndProtect(GcObject::kChunk, std::vector<std::string>{a_},
                                         [&]() -> absl::StatusOr<std::vector<uint32_t>> {
                                           looking.Notify();
                                           release.WaitForNotification();
                                           return store_.FindMissing({a_});
                                         })
                  .status());
  });
  looking.WaitForNotification();
  std::atomic<pid_t> sweep_tid{0};
  std::atomic<bool> about_to_sweep{false};
  std::atomic<bool> swept{false};
  GcSpare why = GcSpare::kNo;
  std::thread sweep([&] {
    sweep_tid = CurrentThreadId();
    about_to_sweep = true;
    EXPECT_OK(guard_.Sweep([&](const GcGuard::Sparer& sparer) {
      swept = true;
      why = sparer.Why(GcObject::kChunk, a_);
      return absl::OkStatus();
    }));
  });
  while (!about_to_sweep) std::this_thread::yield();
  const bool blocked = WaitUntilAsleep(sweep_tid, [&] { return swept.load(); }) && !swept;
  release.Notify();
  lookup.join();
  sweep.join();
  guard_.End();
  EXPECT_TRUE(blocked) << "the sweep ran while a lookup was in progress";
  EXPECT_EQ(why, GcSpare::kRescued);
}

}  // namespace
}  // namespace cairn
