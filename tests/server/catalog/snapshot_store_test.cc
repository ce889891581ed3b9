// SnapshotStore on a real catalog file, beyond catalog_test.cc: Commit writes
// the snapshot and its job's final record in one transaction (and neither
// when it fails), a repeated commit of a job returns the first snapshot,
// Delete notes each snapshot's job, List and RootTrees, and Totals.
#include "server/catalog/snapshot_store.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/catalog/store_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class SnapshotStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(t1_, catalog().agents().TenantId("t1"));
    ASSERT_OK_AND_ASSIGN(t2_, catalog().agents().TenantId("t2"));
  }

  SnapshotStore& snapshots() { return catalog().snapshots(); }

  // A running backup job of `agent`, stored.
  v1::Job RunningJob(const std::string& id, const std::string& agent = "a1") {
    v1::Job job;
    job.set_id(id);
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_state(v1::JOB_STATE_RUNNING);
    job.set_agent(agent);
    job.set_created_unix_ms(5);
    EXPECT_OK(catalog().jobs().Insert(job, 0));
    return job;
  }
  static v1::Snapshot Snap(const std::string& id, const std::string& job_id, int64_t created_ms,
                           const std::string& tenant = "t1", const std::string& agent = "a1") {
    v1::Snapshot s;
    s.set_id(id);
    s.set_agent(agent);
    s.set_tenant(tenant);
    s.add_roots("/data");
    s.set_level(v1::BACKUP_LEVEL_FULL);
    s.set_root_tree_id(Sha256Of(id));
    s.set_created_unix_ms(created_ms);
    s.set_job_id(job_id);
    s.mutable_stats()->set_bytes_scanned(100);
    return s;
  }
  // Commits snapshot `id` for a new running job `job_id`.
  absl::StatusOr<v1::Snapshot> CommitNew(const std::string& id, const std::string& job_id,
                                         int64_t created_ms, const std::string& tenant = "t1",
                                         const std::string& agent = "a1") {
    v1::Job job = RunningJob(job_id, agent);
    job.set_state(v1::JOB_STATE_SUCCEEDED);
    job.set_snapshot_id(id);
    return snapshots().Commit(Snap(id, job_id, created_ms, tenant, agent), job);
  }
  v1::Job JobNow(const std::string& id) {
    absl::StatusOr<std::optional<v1::Job>> job = catalog().jobs().Get(id);
    EXPECT_TRUE(job.ok() && job->has_value()) << id;
    return job.ok() && job->has_value() ? **job : v1::Job();
  }
  static std::vector<std::string> IdsOf(const std::vector<v1::Snapshot>& list) {
    std::vector<std::string> ids;
    for (const v1::Snapshot& s : list) ids.push_back(s.id());
    return ids;
  }

  int64_t t1_ = 0;
  int64_t t2_ = 0;
};

TEST_F(SnapshotStoreTest, CommitWritesTheSnapshotAndTheWholeJobRecord) {
  v1::Job job = RunningJob("j-1");
  job.set_state(v1::JOB_STATE_PARTIAL);
  job.set_snapshot_id("s-1");
  job.set_finished_unix_ms(77);
  job.add_file_errors()->set_path("a/b");
  ASSERT_OK_AND_ASSIGN(v1::Snapshot committed, snapshots().Commit(Snap("s-1", "j-1", 10), job));
  EXPECT_EQ(committed.id(), "s-1");

  Reopen();
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> got, snapshots().Get("s-1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->root_tree_id(), Sha256Of("s-1"));
  EXPECT_EQ(got->job_id(), "j-1");
  v1::Job now = JobNow("j-1");
  EXPECT_EQ(now.state(), v1::JOB_STATE_PARTIAL);
  EXPECT_EQ(now.finished_unix_ms(), 77);
  ASSERT_EQ(now.file_errors_size(), 1);
  // The state column follows the record: the job is no longer listed as running.
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> running, catalog().jobs().List("", 10, true));
  EXPECT_THAT(running, IsEmpty());
}

TEST_F(SnapshotStoreTest, ARepeatedCommitOfAJobReturnsTheFirstSnapshot) {
  ASSERT_OK(CommitNew("s-1", "j-1", 10).status());
  v1::Job again = JobNow("j-1");
  again.set_error("must not be written");
  v1::Snapshot other = Snap("s-2", "j-1", 20);
  other.set_root_tree_id(Sha256Of("different"));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot second, snapshots().Commit(other, again));
  EXPECT_EQ(second.id(), "s-1");
  EXPECT_EQ(second.root_tree_id(), Sha256Of("s-1"));
  EXPECT_EQ(JobNow("j-1").error(), "");
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, snapshots().List("", 10));
  EXPECT_THAT(IdsOf(all), ElementsAre("s-1"));
}

TEST_F(SnapshotStoreTest, ACommitForAnUnknownTenantWritesNeitherRow) {
  RunningJob("j-1");
  v1::Job finished = JobNow("j-1");
  finished.set_state(v1::JOB_STATE_SUCCEEDED);
  absl::StatusOr<v1::Snapshot> s = snapshots().Commit(Snap("s-1", "j-1", 10, "nobody"), finished);
  EXPECT_FALSE(s.ok());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> none, snapshots().Get("s-1"));
  EXPECT_FALSE(none.has_value());
  EXPECT_EQ(JobNow("j-1").state(), v1::JOB_STATE_RUNNING);
}

// Regression: a commit for a job that does not exist was reported as
// AlreadyExists ("FOREIGN KEY constraint failed", read as a duplicate
// snapshot); it is FailedPrecondition, and foreign-key violations in general
// are no longer mapped to AlreadyExists.
TEST_F(SnapshotStoreTest, ACommitForAMissingJobIsFailedPrecondition) {
  v1::Job ghost;
  ghost.set_id("j-ghost");
  ghost.set_state(v1::JOB_STATE_SUCCEEDED);
  absl::StatusOr<v1::Snapshot> s = snapshots().Commit(Snap("s-1", "j-ghost", 10), ghost);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << s.status();
}

TEST_F(SnapshotStoreTest, DeleteNotesEachJobAndKeepsIt) {
  ASSERT_OK(CommitNew("s-1", "j-1", 10).status());
  ASSERT_OK(CommitNew("s-2", "j-2", 20).status());
  ASSERT_OK(CommitNew("s-3", "j-3", 30).status());
  v1::Job j2 = JobNow("j-2");
  j2.set_error("earlier note");
  ASSERT_OK(catalog().jobs().Update(j2));

  ASSERT_OK(snapshots().Delete(
      {{"s-1", "pruned by policy p"}, {"s-2", "pruned by policy p"}, {"s-nope", "ignored"}}));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> gone, snapshots().Get("s-1"));
  EXPECT_FALSE(gone.has_value());
  ASSERT_OK_AND_ASSIGN(gone, snapshots().Get("s-2"));
  EXPECT_FALSE(gone.has_value());
  EXPECT_EQ(JobNow("j-1").error(), "pruned by policy p");
  EXPECT_EQ(JobNow("j-2").error(), "earlier note; pruned by policy p");
  EXPECT_EQ(JobNow("j-1").state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(JobNow("j-3").error(), "");
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> left, snapshots().List("", 10));
  EXPECT_THAT(IdsOf(left), ElementsAre("s-3"));

  // Deleting again (a retried prune) is fine and notes nothing twice.
  ASSERT_OK(snapshots().Delete({{"s-1", "pruned again"}}));
  EXPECT_EQ(JobNow("j-1").error(), "pruned by policy p");
  ASSERT_OK(snapshots().Delete({}));
}

TEST_F(SnapshotStoreTest, ListIsNewestFirstPerAgentAndLimited) {
  ASSERT_OK(CommitNew("s-a-old", "j-1", 10, "t1", "a").status());
  ASSERT_OK(CommitNew("s-b", "j-2", 20, "t1", "b").status());
  ASSERT_OK(CommitNew("s-a-new", "j-3", 30, "t1", "a").status());
  ASSERT_OK(CommitNew("s-a-tie", "j-4", 30, "t1", "a").status());  // same time: later row first
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, snapshots().List("", 10));
  EXPECT_THAT(IdsOf(all), ElementsAre("s-a-tie", "s-a-new", "s-b", "s-a-old"));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> of_a, snapshots().List("a", 10));
  EXPECT_THAT(IdsOf(of_a), ElementsAre("s-a-tie", "s-a-new", "s-a-old"));
  ASSERT_OK_AND_ASSIGN(of_a, snapshots().List("a", 2));
  EXPECT_THAT(IdsOf(of_a), ElementsAre("s-a-tie", "s-a-new"));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> none, snapshots().List("zz", 10));
  EXPECT_THAT(none, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> latest,
                       snapshots().Latest("a", "/data", std::nullopt));
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id(), "s-a-tie");
}

TEST_F(SnapshotStoreTest, RootTreesNameEachSnapshotsTenant) {
  ASSERT_OK_AND_ASSIGN(std::vector<TenantObject> roots, snapshots().RootTrees());
  EXPECT_THAT(roots, IsEmpty());
  ASSERT_OK(CommitNew("s-1", "j-1", 10, "t1").status());
  ASSERT_OK(CommitNew("s-2", "j-2", 20, "t2", "b").status());
  ASSERT_OK_AND_ASSIGN(roots, snapshots().RootTrees());
  std::vector<std::pair<int64_t, std::string>> got;
  for (const TenantObject& r : roots) got.emplace_back(r.tenant, r.id);
  EXPECT_THAT(got, UnorderedElementsAre(std::make_pair(t1_, Sha256Of("s-1")),
                                        std::make_pair(t2_, Sha256Of("s-2"))));
  ASSERT_OK(snapshots().Delete({{"s-1", "x"}}));
  ASSERT_OK_AND_ASSIGN(roots, snapshots().RootTrees());
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0].tenant, t2_);
}

TEST_F(SnapshotStoreTest, TotalsCountSnapshotsAndLogicalBytes) {
  ASSERT_OK_AND_ASSIGN(CatalogTotals totals, snapshots().Totals());
  EXPECT_EQ(totals.snapshots, 0u);
  EXPECT_EQ(totals.logical_bytes, 0u);
  ASSERT_OK(CommitNew("s-1", "j-1", 10).status());
  ASSERT_OK(CommitNew("s-2", "j-2", 20).status());
  ASSERT_OK_AND_ASSIGN(totals, snapshots().Totals());
  EXPECT_EQ(totals.snapshots, 2u);
  EXPECT_EQ(totals.logical_bytes, 200u);
  ASSERT_OK(snapshots().Delete({{"s-2", "x"}}));
  ASSERT_OK_AND_ASSIGN(totals, snapshots().Totals());
  EXPECT_EQ(totals.snapshots, 1u);
  EXPECT_EQ(totals.logical_bytes, 100u);
}

TEST_F(SnapshotStoreTest, AnUnparsableRowIsDataLoss) {
  ASSERT_OK(CommitNew("s-1", "j-1", 10).status());
  ASSERT_OK(RawExec("UPDATE snapshots SET data = X'FF' WHERE id = 's-1'"));
  EXPECT_EQ(snapshots().Get("s-1").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(snapshots().List("", 10).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cairn
