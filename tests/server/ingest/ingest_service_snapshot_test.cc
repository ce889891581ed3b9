// IngestService's snapshot commits: the root tree must be stored, a retried
// commit returns the same snapshot, file errors make it partial (bounded),
// a failed job cannot commit; and reads of committed snapshots (chunks,
// trees) are scoped to the snapshot's tenant.
#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/ingest_service.h"
#include "tests/server/ingest/ingest_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

TEST_F(IngestServiceTest, CommitNeedsTheRootTree) {
  absl::Status status = Commit(calls(), job_, Sha256Of("not stored")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(Commit(calls(), job_, std::string(31, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Commit(calls(), "j-nope", Sha256Of("x")).status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, GetJob(job_));
  EXPECT_EQ(job->state(), v1::JOB_STATE_RUNNING);  // still open for a correct commit
  ASSERT_OK_AND_ASSIGN(std::string root, SimpleRoot(job_));
  EXPECT_OK(Commit(calls(), job_, root).status());
}

TEST_F(IngestServiceTest, RetriedCommitReturnsTheSameSnapshot) {
  ASSERT_OK_AND_ASSIGN(std::string root, SimpleRoot(job_));
  ASSERT_OK_AND_ASSIGN(std::string other, SimpleRoot(job_, "other"));
  v1::CommitSnapshotRequest request;
  request.set_job_id(job_);
  request.set_root_tree_id(root);
  request.mutable_stats()->set_files(1);
  request.mutable_stats()->set_bytes_scanned(200);
  ASSERT_OK_AND_ASSIGN(v1::CommitSnapshotResponse first, calls().CommitSnapshot(request));
  ASSERT_OK_AND_ASSIGN(v1::CommitSnapshotResponse again, calls().CommitSnapshot(request));
  EXPECT_EQ(again.snapshot().id(), first.snapshot().id());
  EXPECT_EQ(again.snapshot().SerializeAsString(), first.snapshot().SerializeAsString());

  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, GetJob(job_));
  EXPECT_EQ(job->state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job->snapshot_id(), first.snapshot().id());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, repo_->catalog->agents().Get("a1"));
  EXPECT_EQ(agent->last_snapshot_id(), first.snapshot().id());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, repo_->catalog->snapshots().List("", 10));
  EXPECT_THAT(all, SizeIs(1));

  // A "retry" naming another root is not a retry.
  request.set_root_tree_id(other);
  EXPECT_EQ(calls().CommitSnapshot(request).status().code(), absl::StatusCode::kFailedPrecondition);
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

// While another backup runs, a commit leaves the catalog's write-ahead log
// as it is; the commit of the last running backup folds it into the file.
TEST_F(IngestServiceTest, TheLastRunningBackupsCommitFoldsTheCatalogLog) {
  const std::string wal = repo_->dir + "/catalog.db-wal";
  ASSERT_OK_AND_ASSIGN(std::string other,
                       StartBackup(calls(), "a2", "t1", "/data", v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(std::string root, SimpleRoot(job_));
  ASSERT_OK(Commit(calls(), job_, root).status());
  EXPECT_GT(FileSize(wal), 0) << "another backup is running";

  ASSERT_OK(StoreChunks(calls(), other, stored_));
  ASSERT_OK_AND_ASSIGN(std::string other_root, SimpleRoot(other, "g"));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot last, Commit(calls(), other, other_root));
  EXPECT_EQ(FileSize(wal), 0);
  // Folded, not lost: both snapshots read back.
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, repo_->catalog->snapshots().List("", 10));
  EXPECT_THAT(all, SizeIs(2));
}

TEST_F(IngestServiceTest, CommitWithFileErrorsIsPartialAndBounded) {
  ASSERT_OK_AND_ASSIGN(std::string root, SimpleRoot(job_));
  v1::CommitSnapshotRequest request;
  request.set_job_id(job_);
  request.set_root_tree_id(root);
  for (size_t i = 0; i <= kMaxFileErrors; ++i) {
    v1::FileError* e = request.add_file_errors();
    e->set_path(absl::StrCat("f", i));
    e->set_error("permission denied");
  }
  EXPECT_EQ(calls().CommitSnapshot(request).status().code(), absl::StatusCode::kResourceExhausted);
  request.mutable_file_errors()->DeleteSubrange(2, request.file_errors_size() - 2);
  ASSERT_OK(calls().CommitSnapshot(request).status());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, GetJob(job_));
  EXPECT_EQ(job->state(), v1::JOB_STATE_PARTIAL);
  EXPECT_THAT(job->file_errors(), SizeIs(2));
}

TEST_F(IngestServiceTest, CommitOfAFailedJobIsRefused) {
  ASSERT_OK_AND_ASSIGN(std::string root, SimpleRoot(job_));
  v1::FinishJobRequest fail;
  fail.set_job_id(job_);
  fail.set_state(v1::JOB_STATE_FAILED);
  fail.set_error("out of memory");
  ASSERT_OK(calls().FinishJob(fail));
  absl::Status status = Commit(calls(), job_, root).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("FAILED"));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, repo_->catalog->snapshots().List("", 10));
  EXPECT_THAT(all, IsEmpty());
}

TEST_F(IngestServiceTest, ReadChunksIsScopedToTheSnapshotsTenant) {
  const std::string sealed = TestSealed(77, 300);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackIngest> ingest, calls().StartUpload(job_));
    ASSERT_OK(ingest->Add(TestChunkId(77), 500, sealed));
    ASSERT_OK(ingest->Finish());
  }
  ASSERT_OK_AND_ASSIGN(std::string root, SimpleRoot(job_));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot mine, Commit(calls(), job_, root));
  // Tenant t2 has a snapshot too, and a chunk of its own.
  ASSERT_OK_AND_ASSIGN(std::string job2, StartBackup(calls(), "b1", "t2", "/data"));
  ASSERT_OK(StoreChunks(calls(), job2, {TestChunkId(900)}));
  std::string other_root = TreeBytes({FileEntry("x", {TestChunkId(900)}, 100)});
  ASSERT_OK(PutTreesOnce(calls(), job2, {other_root}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot theirs, Commit(calls(), job2, Sha256Of(other_root)));

  ASSERT_OK_AND_ASSIGN(auto got, calls().ReadChunks(mine.id(), {TestChunkId(77)}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].second, sealed);
  // Through t2's snapshot, t1's chunk does not exist, and the other way round.
  EXPECT_EQ(calls().ReadChunks(theirs.id(), {TestChunkId(77)}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(calls().ReadChunks(mine.id(), {TestChunkId(900)}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(calls().ReadChunks(mine.id(), {std::string(31, 'x')}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calls().ReadChunks("s-nope", {TestChunkId(77)}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(IngestServiceTest, GetTreeReadsOnlyTheSnapshotsTenant) {
  ASSERT_OK_AND_ASSIGN(std::string root, SimpleRoot(job_));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot snapshot, Commit(calls(), job_, root));

  // Tenant t2 stores a tree t1 does not have.
  ASSERT_OK_AND_ASSIGN(std::string job2, StartBackup(calls(), "b1", "t2", "/data"));
  ASSERT_OK(StoreChunks(calls(), job2, {TestChunkId(900)}));
  std::string secret = TreeBytes({FileEntry("secret", {TestChunkId(900)}, 100)});
  ASSERT_OK(PutTreesOnce(calls(), job2, {secret}));

  v1::GetTreeRequest request;
  request.set_snapshot_id(snapshot.id());
  ASSERT_OK_AND_ASSIGN(v1::GetTreeResponse got, calls().GetTree(request));
  EXPECT_EQ(Sha256Of(got.tree()), root);
  request.set_id(root);
  ASSERT_OK_AND_ASSIGN(got, calls().GetTree(request));
  EXPECT_EQ(Sha256Of(got.tree()), root);

  request.set_id(Sha256Of(secret));
  EXPECT_EQ(calls().GetTree(request).status().code(), absl::StatusCode::kNotFound);
  request.set_id(std::string(31, 'x'));
  EXPECT_EQ(calls().GetTree(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_id("");
  request.set_snapshot_id("s-nope");
  EXPECT_EQ(calls().GetTree(request).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cairn
