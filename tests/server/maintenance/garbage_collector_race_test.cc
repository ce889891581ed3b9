// GarbageCollector racing running backups: a chunk or tree reported present
// while a collection runs is rescued, answers given to a live backup spare
// their ids and answers to ended ones do not, a live backup's uploads and
// trees stay, and a backup past its lease is refused once its data is gone.
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/maintenance/garbage_collector.h"
#include "tests/server/maintenance/gc_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST_F(GcTest, ChunkToldPresentDuringGcIsRescuedAndTheBackupCommits) {
  const std::string c = Id(1), x = Id(2), n = Id(3);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{c, x}}, {{c, x}}));
  ASSERT_OK(Forget(*repo_, s1));
  NextMillisecond();
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  GcOptions options = Immediately();
  absl::StatusOr<std::vector<uint32_t>> told;
  options.phase_hook = [&](GcPhase phase) {
    // The backup asks while the collector holds its candidates.
    if (phase == GcPhase::kChunkCandidates) told = Missing(*repo_, job, {c, n});
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(options));
  ASSERT_TRUE(told.ok()) << told.status();
  EXPECT_EQ(*told, std::vector<uint32_t>{1}) << "c was reported present";
  EXPECT_EQ(report.chunks_rescued, 1u);
  EXPECT_EQ(report.chunks_deleted, 1u);  // x
  EXPECT_TRUE(Stored(*repo_, c));
  EXPECT_FALSE(Stored(*repo_, x));

  ASSERT_OK(Upload(*repo_, job, {n}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Finish(*repo_, job, {{c, n}}));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
  EXPECT_FALSE(s2.id().empty());
}

TEST_F(GcTest, ChunkToldPresentBeforeGcToALiveBackupSurvives) {
  const std::string c = Id(1), x = Id(2);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{c, x}}, {{c, x}}));
  ASSERT_OK(Forget(*repo_, s1));
  NextMillisecond();
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Missing(*repo_, job, {c}));
  EXPECT_THAT(missing, IsEmpty());

  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_TRUE(Stored(*repo_, c)) << "the live backup was told c exists";
  EXPECT_GE(report.spared_maybe_reused, 1u);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Finish(*repo_, job, {{c}}));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));

  // Once no backup that heard the answer is live, garbage goes.
  ASSERT_OK(Forget(*repo_, s2));
  ASSERT_OK_AND_ASSIGN(report, Gc());
  EXPECT_FALSE(Stored(*repo_, c));
  EXPECT_FALSE(Stored(*repo_, x));
}

TEST_F(GcTest, AnswersToEndedBackupsProtectNothing) {
  const std::string g = Id(1);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{g}}, {{g}}));
  ASSERT_OK(Forget(*repo_, s1));
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Missing(*repo_, job, {g}));
  EXPECT_THAT(missing, IsEmpty());
  v1::FinishJobRequest finish;
  finish.set_job_id(job);
  finish.set_state(v1::JOB_STATE_FAILED);
  ASSERT_OK(repo_->agent->FinishJob(finish));
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.chunks_deleted, 1u);
  EXPECT_FALSE(Stored(*repo_, g));
}

TEST_F(GcTest, TreeToldPresentDuringGcKeepsItsWholeSubtree) {
  // s1's trees (root -> "d" -> chunks a, b) become garbage; a new backup of
  // the same content is told the root exists while the collector runs.
  const std::string a = Id(1), b = Id(2);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a, b}}, {{a, b}}));
  ASSERT_OK(Forget(*repo_, s1));
  NextMillisecond();
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/other",
                                                    v1::BACKUP_LEVEL_FULL));
  GcOptions options = Immediately();
  absl::StatusOr<v1::FindMissingTreesResponse> told;
  options.phase_hook = [&](GcPhase phase) {
    if (phase == GcPhase::kTreeCandidates) {
      v1::FindMissingTreesRequest request;
      request.set_job_id(job);
      request.add_ids(s1.root_tree_id());
      told = repo_->agent->FindMissingTrees(request);
    }
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(options));
  ASSERT_TRUE(told.ok()) << told.status();
  EXPECT_EQ(told->missing_size(), 0);
  EXPECT_EQ(report.trees_rescued, 1u);
  EXPECT_EQ(report.trees_deleted, 0u) << "the subtree below the rescued root stays too";
  EXPECT_EQ(report.chunks_deleted, 0u) << "and so do the chunks it references";

  // The agent trusts the answer and commits the old root as its own.
  ASSERT_OK(Commit(*repo_->agent, job, s1.root_tree_id()).status());
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
}

TEST_F(GcTest, LiveBackupsUploadsAndTreesAreSpared) {
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK(Upload(*repo_, job, {Id(1), Id(2)}));
  std::vector<std::string> trees = TreesFor({{Id(1)}, {Id(2)}});
  ASSERT_OK(PutTrees(*repo_->agent, job, trees));
  // Uploaded and stored but not yet part of any snapshot.
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.chunks_deleted + report.trees_deleted + report.packs_deleted, 0u);
  ASSERT_OK(Commit(*repo_->agent, job, Sha256Of(trees[1])).status());
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
}

// A lease extension is a catalog write at most once per tenth of the lease
// (docs/gc.md, "Leases"): a call soon after the last extension leaves the
// stored expiry where it was (still most of a lease ahead), a later call
// moves it.
TEST_F(GcTest, LeaseIsWrittenAtMostOncePerTenthOfALease) {
  const absl::Duration lease = absl::Hours(1);  // the server core's default
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  const absl::Time began = clock_.fn()();
  // Whether the catalog counts the job live at `at` (its stored lease).
  auto live_at = [&](absl::Time at) {
    absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> live =
        repo_->catalog->jobs().LiveBackups(absl::ToUnixMillis(at));
    EXPECT_TRUE(live.ok()) << live.status();
    if (!live.ok()) return false;
    for (const auto& [id, created] : *live) {
      if (id == job) return true;
    }
    return false;
  };
  ASSERT_TRUE(live_at(began + lease - absl::Minutes(1)));
  ASSERT_FALSE(live_at(began + lease + absl::Minutes(1)));

  // Five minutes on (under a tenth of an hour): not written.
  clock_.Advance(absl::Minutes(5));
  ASSERT_OK(Missing(*repo_, job, {Id(1)}).status());
  EXPECT_FALSE(live_at(began + lease + absl::Minutes(1)));

  // Seven minutes on: written, a whole lease from now.
  clock_.Advance(absl::Minutes(2));
  ASSERT_OK(Missing(*repo_, job, {Id(1)}).status());
  EXPECT_TRUE(live_at(began + absl::Minutes(7) + lease - absl::Minutes(1)));
  EXPECT_FALSE(live_at(began + absl::Minutes(7) + lease + absl::Minutes(1)));
}

TEST_F(GcTest, ExpiredLeaseRefusesCommitAfterGcCollectedItsData) {
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  const std::string u = Id(1);
  ASSERT_OK(Upload(*repo_, job, {u}));
  std::vector<std::string> trees = TreesFor({{u}});
  ASSERT_OK(PutTrees(*repo_->agent, job, trees));

  // The agent pauses past its lease; the collector no longer counts the job.
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.chunks_deleted, 1u);
  EXPECT_EQ(report.trees_deleted, 2u);

  // Resumed: every call of the job is refused, the commit first of all.
  absl::StatusOr<v1::Snapshot> commit = Commit(*repo_->agent, job, Sha256Of(trees[1]));
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(commit.status().message(), HasSubstr("lease expired"));
  absl::Status put = PutTrees(*repo_->agent, job, trees);
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Missing(*repo_, job, {u}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(repo_->agent->StartUpload(job).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> snapshots,
                       repo_->catalog->snapshots().List("", 10));
  EXPECT_THAT(snapshots, IsEmpty());
}

TEST_F(GcTest, CallsRenewTheLease) {
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK(Upload(*repo_, job, {Id(1)}));
  for (int i = 0; i < 3; ++i) {  // 40 minutes apart: 2 hours in all, each within the lease
    clock_.Advance(absl::Minutes(40));
    ASSERT_OK(Missing(*repo_, job, {Id(1)}).status());
  }
  clock_.Advance(absl::Minutes(40));
  ASSERT_OK(Finish(*repo_, job, {{Id(1)}}).status());
}

}  // namespace
}  // namespace cairn
