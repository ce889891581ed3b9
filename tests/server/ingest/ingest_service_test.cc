// IngestService with a real Catalog, JobBoard and LocalTier: hellos (bad
// names, limits, another tenant's agent), beginning backups (roots, ordered
// jobs, the parent per level), calls that need a running job, bounded
// FindMissingChunks and job ends.
#include "server/ingest/ingest_service.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/ingest/ingest_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

TEST_F(IngestServiceTest, HelloRefusesBadNames) {
  const std::string bad_names[] = {
      "", "has space", "a/b", "\xc3\xbc", std::string(65, 'a'), "..x\n", std::string("a\0b", 3)};
  for (const std::string& name : bad_names) {
    SCOPED_TRACE(name);
    EXPECT_EQ(calls().Hello(Hello(name, "t1")).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(calls().Hello(Hello("ok-agent", name)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AgentInfo> agents, repo_->catalog->agents().List());
  EXPECT_THAT(agents, SizeIs(1));  // only a1 from SetUp

  ASSERT_OK(calls().Hello(Hello(std::string(64, 'a'), "t1")).status());
  v1::HelloRequest many_roots = Hello("a2", "t1");
  for (int i = 0; i < 1025; ++i) many_roots.add_roots("/r");
  EXPECT_EQ(calls().Hello(many_roots).status().code(), absl::StatusCode::kInvalidArgument);
  v1::HelloRequest long_host = Hello("a2", "t1");
  long_host.set_hostname(std::string(256, 'h'));
  EXPECT_EQ(calls().Hello(long_host).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(IngestServiceTest, HelloAnswersLimitsAndRecordsTheAgent) {
  v1::HelloRequest hello = Hello("a2", "t2");
  hello.set_hostname("node-7");
  hello.add_roots("/ckpt");
  ASSERT_OK_AND_ASSIGN(v1::HelloResponse response, calls().Hello(hello));
  EXPECT_EQ(response.max_message_bytes(), static_cast<uint32_t>(kMaxGrpcMessageBytes));
  EXPECT_EQ(response.max_ids_per_call(), kMaxIdsPerCall);
  EXPECT_GT(response.server_time_unix_ms(), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, repo_->catalog->agents().Get("a2"));
  ASSERT_TRUE(agent.has_value());
  EXPECT_EQ(agent->tenant(), "t2");
  EXPECT_EQ(agent->hostname(), "node-7");
  EXPECT_THAT(agent->roots(), ElementsAre("/ckpt"));
}

TEST_F(IngestServiceTest, HelloOfAnAgentUnderAnotherTenantIsDenied) {
  absl::Status status = calls().Hello(Hello("a1", "t2")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(status.message(), HasSubstr("t1"));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, repo_->catalog->agents().Get("a1"));
  EXPECT_EQ(agent->tenant(), "t1");
  // Its own tenant is still welcome.
  EXPECT_OK(calls().Hello(Hello("a1", "t1")).status());
}

TEST_F(IngestServiceTest, BeginBackupNeedsAKnownAgentAndOneAbsoluteRoot) {
  EXPECT_EQ(Begin("stranger", {"/data"}, v1::BACKUP_LEVEL_FULL).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const std::vector<std::vector<std::string>> bad_roots = {
      {}, {"/a", "/b"}, {"relative"}, {""}, {"/" + std::string(kMaxPathTotalBytes, 'x')}};
  for (const auto& roots : bad_roots) {
    SCOPED_TRACE(roots.empty() ? "none" : roots[0].substr(0, 20));
    absl::Status status = Begin("a1", roots, v1::BACKUP_LEVEL_FULL).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("one absolute root"));
  }
  ASSERT_OK_AND_ASSIGN(v1::BeginBackupResponse ok, Begin("a1", {"/x"}, v1::BACKUP_LEVEL_FULL));
  EXPECT_FALSE(ok.job_id().empty());
  EXPECT_GT(ok.lease_expires_unix_ms(), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, GetJob(ok.job_id()));
  EXPECT_EQ(job->state(), v1::JOB_STATE_RUNNING);
  EXPECT_THAT(job->backup().roots(), ElementsAre("/x"));
}

TEST_F(IngestServiceTest, BeginBackupCarriesOutAnOrderedJob) {
  v1::Job order;
  order.set_kind(v1::JOB_KIND_BACKUP);
  order.set_state(v1::JOB_STATE_QUEUED);
  order.set_agent("a1");
  ASSERT_OK_AND_ASSIGN(order, repo_->jobs->Create(order));

  v1::BeginBackupRequest begin;
  begin.set_agent("a1");
  begin.add_roots("/data");
  begin.set_job_id("j-unknown");
  EXPECT_EQ(calls().BeginBackup(begin).status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK(calls().Hello(Hello("a2", "t1")).status());
  begin.set_agent("a2");
  begin.set_job_id(order.id());
  EXPECT_EQ(calls().BeginBackup(begin).status().code(), absl::StatusCode::kNotFound);

  begin.set_agent("a1");
  ASSERT_OK_AND_ASSIGN(v1::BeginBackupResponse response, calls().BeginBackup(begin));
  EXPECT_EQ(response.job_id(), order.id());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, GetJob(order.id()));
  EXPECT_EQ(job->state(), v1::JOB_STATE_RUNNING);

  v1::FinishJobRequest cancel;
  cancel.set_job_id(order.id());
  cancel.set_state(v1::JOB_STATE_CANCELLED);
  ASSERT_OK(calls().FinishJob(cancel));
  EXPECT_EQ(calls().BeginBackup(begin).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(IngestServiceTest, ParentSelectionFollowsTheLevel) {
  ASSERT_OK_AND_ASSIGN(std::string root, SimpleRoot(job_));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot full, Commit(calls(), job_, root));
  EXPECT_TRUE(full.parent_id().empty());

  ASSERT_OK_AND_ASSIGN(std::string job2,
                       StartBackup(calls(), "a1", "t1", "/data", v1::BACKUP_LEVEL_INCREMENTAL));
  ASSERT_OK_AND_ASSIGN(std::string root2, SimpleRoot(job2, "g"));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot incr, Commit(calls(), job2, root2));
  EXPECT_EQ(incr.parent_id(), full.id());

  ASSERT_OK_AND_ASSIGN(v1::BeginBackupResponse next_incr,
                       Begin("a1", {"/data"}, v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_EQ(next_incr.parent_snapshot_id(), incr.id());
  EXPECT_EQ(next_incr.parent_root_tree_id(), root2);
  // Unspecified means incremental.
  ASSERT_OK_AND_ASSIGN(v1::BeginBackupResponse unspecified,
                       Begin("a1", {"/data"}, v1::BACKUP_LEVEL_UNSPECIFIED));
  EXPECT_EQ(unspecified.parent_snapshot_id(), incr.id());
  ASSERT_OK_AND_ASSIGN(v1::BeginBackupResponse diff,
                       Begin("a1", {"/data"}, v1::BACKUP_LEVEL_DIFFERENTIAL));
  EXPECT_EQ(diff.parent_snapshot_id(), full.id());
  EXPECT_EQ(diff.parent_root_tree_id(), root);
  ASSERT_OK_AND_ASSIGN(v1::BeginBackupResponse again_full,
                       Begin("a1", {"/data"}, v1::BACKUP_LEVEL_FULL));
  EXPECT_TRUE(again_full.parent_snapshot_id().empty());
  EXPECT_TRUE(again_full.parent_root_tree_id().empty());
  ASSERT_OK_AND_ASSIGN(v1::BeginBackupResponse other_root,
                       Begin("a1", {"/other"}, v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_TRUE(other_root.parent_snapshot_id().empty());

  // The differential snapshot records the full one as its parent.
  ASSERT_OK(PutTreesOnce(calls(), diff.job_id(),
                         {TreeBytes({FileEntry("f", {stored_[0], stored_[1]}, 100)})}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot diff_snapshot, Commit(calls(), diff.job_id(), root));
  EXPECT_EQ(diff_snapshot.parent_id(), full.id());
  EXPECT_EQ(diff_snapshot.level(), v1::BACKUP_LEVEL_DIFFERENTIAL);
}

TEST_F(IngestServiceTest, TreesAndChunksNeedARunningJob) {
  std::string tree = TreeBytes({FileEntry("f", {stored_[0]}, 100)});
  EXPECT_EQ(PutTreesOnce(calls(), "j-nope", {tree}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(calls().StartUpload("j-nope").status().code(), absl::StatusCode::kNotFound);
  v1::FinishJobRequest fail;
  fail.set_job_id(job_);
  fail.set_state(v1::JOB_STATE_FAILED);
  ASSERT_OK(calls().FinishJob(fail));
  EXPECT_EQ(PutTreesOnce(calls(), job_, {tree}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(calls().StartUpload(job_).status().code(), absl::StatusCode::kFailedPrecondition);
  v1::FindMissingChunksRequest find;
  find.set_job_id(job_);
  find.add_ids(stored_[0]);
  EXPECT_EQ(calls().FindMissingChunks(find).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(IngestServiceTest, FindMissingChunksBoundsAndAnswersByIndex) {
  v1::FindMissingChunksRequest request;
  request.set_job_id(job_);
  for (size_t i = 0; i <= kMaxIdsPerCall; ++i) request.add_ids(TestChunkId(i));
  absl::Status status = calls().FindMissingChunks(request).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;

  request.mutable_ids()->RemoveLast();
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse response, calls().FindMissingChunks(request));
  EXPECT_EQ(response.missing_size(), static_cast<int>(kMaxIdsPerCall - stored_.size()));
  EXPECT_EQ(response.missing(0), stored_.size());

  request.add_ids(std::string(31, 'x'));
  request.mutable_ids()->DeleteSubrange(0, 100);
  EXPECT_EQ(calls().FindMissingChunks(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.clear_ids();
  request.add_ids(stored_[3]);
  request.set_job_id("j-nope");
  EXPECT_EQ(calls().FindMissingChunks(request).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(IngestServiceTest, FinishJobNeedsAFinalState) {
  for (v1::JobState state :
       {v1::JOB_STATE_UNSPECIFIED, v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING}) {
    v1::FinishJobRequest request;
    request.set_job_id(job_);
    request.set_state(state);
    EXPECT_EQ(calls().FinishJob(request).code(), absl::StatusCode::kInvalidArgument)
        << v1::JobState_Name(state);
  }
  v1::FinishJobRequest too_many;
  too_many.set_job_id(job_);
  too_many.set_state(v1::JOB_STATE_FAILED);
  for (size_t i = 0; i <= kMaxFileErrors; ++i) too_many.add_file_errors()->set_error("x");
  EXPECT_EQ(calls().FinishJob(too_many).code(), absl::StatusCode::kResourceExhausted);

  v1::FinishJobRequest fail;
  fail.set_job_id(job_);
  fail.set_state(v1::JOB_STATE_FAILED);
  fail.set_error("first");
  ASSERT_OK(calls().FinishJob(fail));
  // Retried: OK, and the first outcome stays.
  fail.set_state(v1::JOB_STATE_CANCELLED);
  fail.set_error("second");
  ASSERT_OK(calls().FinishJob(fail));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, GetJob(job_));
  EXPECT_EQ(job->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job->error(), "first");
  EXPECT_GT(job->finished_unix_ms(), 0);

  fail.set_job_id("j-nope");
  EXPECT_EQ(calls().FinishJob(fail).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cairn
