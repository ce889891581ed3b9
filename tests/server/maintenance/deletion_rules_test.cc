// MayDelete and the retention lock: a protected snapshot, or one younger
// than min_retention, may not be deleted (FailedPrecondition saying why and,
// for the lock, until when); PruneSnapshots lists such snapshots as held and
// keeps them, dry run or not; and the maintenance service's DeleteSnapshot
// and Prune on a real ServerCore with the lock set obey the same rules.
#include "server/maintenance/deletion_rules.h"

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/maintenance/retention.h"
#include "tests/server/maintenance/gc_test_util.h"
#include "tests/server/server_test_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kDay = absl::Hours(24);

v1::Snapshot SnapshotAt(absl::Time created, bool is_protected = false) {
  v1::Snapshot s;
  s.set_id("s-1");
  s.set_created_unix_ms(absl::ToUnixMillis(created));
  s.set_is_protected(is_protected);
  return s;
}

TEST(MayDeleteTest, WithoutLockOrProtectionAnythingMayGo) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  EXPECT_OK(MayDelete(SnapshotAt(now), DeletionRules(), now));
  EXPECT_OK(MayDelete(SnapshotAt(now + kDay), DeletionRules(), now));  // clock skew
}

TEST(MayDeleteTest, AProtectedSnapshotStaysWhateverItsAge) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  absl::Status s = MayDelete(SnapshotAt(now - 3650 * kDay, true), DeletionRules(), now);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("snapshot s-1 is protected"));
  EXPECT_THAT(s.message(), HasSubstr("cairnctl snapshot unprotect s-1"));
}

TEST(MayDeleteTest, TheLockHoldsUntilMinRetentionHasPassed) {
  const absl::Time created = absl::FromUnixSeconds(1'700'000'000);  // 2023-11-14 22:13:20 UTC
  const DeletionRules rules{.min_retention = 7 * kDay};
  absl::Status young = MayDelete(SnapshotAt(created), rules, created + 7 * kDay - absl::Seconds(1));
  EXPECT_EQ(young.code(), absl::StatusCode::kFailedPrecondition) << young;
  EXPECT_THAT(young.message(), HasSubstr("retention lock (min_retention_days 7)"));
  EXPECT_THAT(young.message(), HasSubstr("until 2023-11-21 22:13 UTC"));
  EXPECT_OK(MayDelete(SnapshotAt(created), rules, created + 7 * kDay));
  EXPECT_OK(MayDelete(SnapshotAt(created), rules, created + 70 * kDay));
  // Created "in the future" is as young as can be.
  EXPECT_EQ(MayDelete(SnapshotAt(created + kDay), rules, created + 7 * kDay).code(),
            absl::StatusCode::kFailedPrecondition);
  // Protection is reported before the lock.
  EXPECT_THAT(MayDelete(SnapshotAt(created, true), rules, created).message(),
              HasSubstr("protected"));
}

// A core with the retention lock set, snapshots of a1's /data made at
// chosen times of a test clock.
class RetentionLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoreOptions options;
    options.clock = clock_.fn();
    options.min_retention = 15 * kDay;
    repo_ = OpenTestRepo("retention_lock", std::move(options));
    ASSERT_NE(repo_, nullptr);
  }
  std::string BackUp() {
    absl::StatusOr<std::string> job = StartBackup(*repo_->agent, "a1", "t1", "/data");
    EXPECT_TRUE(job.ok()) << job.status();
    const std::string root = TreeBytes({});
    EXPECT_OK(PutTreesOnce(*repo_->agent, *job, {root}));
    absl::StatusOr<v1::Snapshot> s = Commit(*repo_->agent, *job, Sha256Of(root));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->id() : std::string();
  }
  std::vector<std::string> Remaining() {
    absl::StatusOr<std::vector<v1::Snapshot>> all =
        repo_->catalog->snapshots().List("", std::numeric_limits<uint32_t>::max());
    EXPECT_TRUE(all.ok()) << all.status();
    std::vector<std::string> ids;
    if (all.ok()) {
      for (const v1::Snapshot& s : *all) ids.push_back(s.id());
    }
    return ids;
  }
  static std::vector<v1::Policy> KeepLastOne() {
    v1::Policy p;
    p.set_name("p");
    p.add_agents("a1");
    p.add_roots("/data");
    p.mutable_retention()->set_keep_last(1);
    return {p};
  }
  MaintenanceService& maintenance() { return repo_->core->maintenance(); }

  TestClock clock_;
  std::unique_ptr<TestRepo> repo_;
};

TEST_F(RetentionLockTest, PruneHoldsProtectedAndYoungSnapshots) {
  const std::string oldest = BackUp();
  clock_.Advance(10 * kDay);
  const std::string old = BackUp();
  clock_.Advance(10 * kDay);
  const std::string middle = BackUp();
  clock_.Advance(10 * kDay);
  const std::string newest = BackUp();
  ASSERT_OK(repo_->catalog->snapshots().SetProtected(oldest, true).status());
  // Now oldest is 30 days old (protected), old 20, middle 10 (locked), newest 0.
  const DeletionRules rules{.min_retention = 15 * kDay};
  const absl::Time now = clock_.fn()();

  v1::PruneRequest dry;
  dry.set_dry_run(true);
  ASSERT_OK_AND_ASSIGN(v1::PruneResponse preview,
                       PruneSnapshots(repo_->catalog, KeepLastOne(), dry, now, rules));
  EXPECT_THAT(preview.expired_snapshot_ids(), UnorderedElementsAre(old));
  EXPECT_THAT(preview.held_snapshot_ids(), UnorderedElementsAre(oldest, middle));
  EXPECT_EQ(preview.kept(), 3u);
  EXPECT_EQ(Remaining().size(), 4u);

  ASSERT_OK_AND_ASSIGN(v1::PruneResponse done,
                       PruneSnapshots(repo_->catalog, KeepLastOne(), {}, now, rules));
  EXPECT_THAT(done.expired_snapshot_ids(), UnorderedElementsAre(old));
  EXPECT_THAT(done.held_snapshot_ids(), UnorderedElementsAre(oldest, middle));
  EXPECT_THAT(Remaining(), UnorderedElementsAre(oldest, middle, newest));

  // Without the lock only the protection holds.
  ASSERT_OK_AND_ASSIGN(v1::PruneResponse unlocked,
                       PruneSnapshots(repo_->catalog, KeepLastOne(), dry, now));
  EXPECT_THAT(unlocked.expired_snapshot_ids(), UnorderedElementsAre(middle));
  EXPECT_THAT(unlocked.held_snapshot_ids(), UnorderedElementsAre(oldest));
}

TEST_F(RetentionLockTest, TheServicesDeleteOnlyWhatTheRulesAllow) {
  const std::string old = BackUp();
  clock_.Advance(20 * kDay);
  const std::string young = BackUp();
  v1::DeleteSnapshotRequest del;
  del.set_snapshot_id(young);
  absl::Status locked = maintenance().DeleteSnapshot(Caller::Internal(), del).status();
  EXPECT_EQ(locked.code(), absl::StatusCode::kFailedPrecondition) << locked;
  EXPECT_THAT(locked.message(), HasSubstr("retention lock"));

  v1::ProtectSnapshotRequest protect;
  protect.set_snapshot_id(old);
  protect.set_protect(true);
  ASSERT_OK(maintenance().ProtectSnapshot(Caller::Internal(), protect).status());
  del.set_snapshot_id(old);
  absl::Status held = maintenance().DeleteSnapshot(Caller::Internal(), del).status();
  EXPECT_EQ(held.code(), absl::StatusCode::kFailedPrecondition) << held;
  EXPECT_THAT(held.message(), HasSubstr("protected"));
  EXPECT_THAT(Remaining(), UnorderedElementsAre(old, young));

  protect.set_protect(false);
  ASSERT_OK(maintenance().ProtectSnapshot(Caller::Internal(), protect).status());
  ASSERT_OK(maintenance().DeleteSnapshot(Caller::Internal(), del).status());
  EXPECT_THAT(Remaining(), UnorderedElementsAre(young));
}

}  // namespace
}  // namespace cairn
