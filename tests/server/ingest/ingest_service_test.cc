// Repository with a real Catalog, JobBoard and LocalTier: hello and backup
// sessions, parent selection per level, tree validation against hostile
// input, snapshot commits (idempotent, refused when they must be), job ends
// and tenant-scoped reads.
#include "server/core/server_core.h"

#include <cstdint>
#include <string>
#include <vector>

#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class IngestServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("repository");
    ASSERT_NE(repo_, nullptr);
    ASSERT_OK_AND_ASSIGN(job_,
                         StartBackup(calls(), "a1", "t1", "/data", v1::BACKUP_LEVEL_FULL));
    for (uint64_t n = 0; n < 8; ++n) stored_.push_back(TestChunkId(n));
    ASSERT_OK(StoreChunks(calls(), job_, stored_));
  }

  AgentCalls& calls() { return *repo_->agent; }

  v1::HelloRequest Hello(absl::string_view agent, absl::string_view tenant) {
    v1::HelloRequest hello;
    hello.set_agent(std::string(agent));
    hello.set_tenant(std::string(tenant));
    return hello;
  }

  absl::StatusOr<v1::BeginBackupResponse> Begin(absl::string_view agent,
                                                std::vector<std::string> roots,
                                                v1::BackupLevel level) {
    v1::BeginBackupRequest begin;
    begin.set_agent(std::string(agent));
    for (std::string& r : roots) begin.add_roots(std::move(r));
    begin.set_level(level);
    return calls().BeginBackup(begin);
  }

  // A one-file tree over stored chunks, stored for `job`; its id.
  absl::StatusOr<std::string> SimpleRoot(absl::string_view job, absl::string_view name = "f") {
    std::string tree = TreeBytes({FileEntry(name, {stored_[0], stored_[1]}, 100)});
    absl::Status status = PutTreesOnce(calls(), job, {tree});
    if (!status.ok()) return status;
    return Sha256Of(tree);
  }

  bool TreeStored(absl::string_view tree_bytes) {
    v1::FindMissingTreesRequest request;
    request.set_job_id(job_);
    request.add_ids(Sha256Of(tree_bytes));
    absl::StatusOr<v1::FindMissingTreesResponse> missing = calls().FindMissingTrees(request);
    EXPECT_TRUE(missing.ok()) << missing.status();
    return missing.ok() && missing->missing().empty();
  }

  absl::StatusOr<std::optional<v1::Job>> GetJob(absl::string_view id) {
    return repo_->catalog->jobs().Get(id);
  }

  std::unique_ptr<TestRepo> repo_;
  std::string job_;
  std::vector<std::string> stored_;
};

TEST_F(IngestServiceTest, HelloRefusesBadNames) {
  const std::string bad_names[] = {
      "", "has space", "a/b", "\xc3\xbc", std::string(65, 'a'), "..x\n", std::string("a\0b", 3)};
  for (const std::string& name : bad_names) {
    SCOPED_TRACE(name);
    EXPECT_EQ(calls().Hello(Hello(name, "t1")).status().code(),
              absl::StatusCode::kInvalidArgument);
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

  ASSERT_OK_AND_ASSIGN(std::string job2, StartBackup(calls(), "a1", "t1", "/data",
                                                     v1::BACKUP_LEVEL_INCREMENTAL));
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

struct BadTree {
  std::string label;
  std::string bytes;
  absl::StatusCode code;
  std::string message;
};

TEST_F(IngestServiceTest, PutTreesRefusesHostileTrees) {
  const std::string& c0 = stored_[0];
  const std::string& c1 = stored_[1];
  auto file = [&](absl::string_view name) { return FileEntry(name, {c0}, 100); };
  auto one = [](v1::TreeEntry e) { return TreeBytes({std::move(e)}); };

  std::vector<BadTree> cases;
  auto add = [&](std::string label, std::string bytes, absl::StatusCode code, std::string message) {
    cases.push_back({std::move(label), std::move(bytes), code, std::move(message)});
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const auto kPrecondition = absl::StatusCode::kFailedPrecondition;
  add("unsorted", TreeBytes({file("b"), file("a")}), kInvalid, "sorted");
  add("duplicate", TreeBytes({file("a"), file("a")}), kInvalid, "sorted and unique");
  add("dotdot", one(file("..")), kInvalid, "");
  add("dot", one(file(".")), kInvalid, "");
  add("slash", one(file("a/b")), kInvalid, "");
  add("empty name", one(file("")), kInvalid, "");
  add("nul", one(file(std::string("a\0b", 3))), kInvalid, "");
  add("256 bytes", one(file(std::string(256, 'n'))), kInvalid, "");
  {
    v1::TreeEntry e = FileEntry("f", {c0}, 100);
    e.mutable_chunks(0)->mutable_id()->resize(31);
    add("chunk id 31", one(e), kInvalid, "malformed chunk list");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0}, 100);
    e.mutable_chunks(0)->set_size(0);
    add("chunk size 0", one(e), kInvalid, "malformed chunk list");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0, c1}, 100);
    e.mutable_chunks(1)->set_offset(50);
    add("overlap", one(e), kInvalid, "malformed chunk list");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0, c1}, 100);
    std::swap(*e.mutable_chunks(0), *e.mutable_chunks(1));
    e.mutable_chunks(0)->set_offset(100);
    e.mutable_chunks(1)->set_offset(0);
    add("out of order", one(e), kInvalid, "malformed chunk list");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0, c1}, 100);
    e.set_size(150);
    add("past size", one(e), kInvalid, "past its size");
  }
  {
    // offset + size wraps around 2^64: must not pass for "within the size".
    v1::TreeEntry e = FileEntry("f", {c0}, 100);
    e.mutable_chunks(0)->set_offset(UINT64_MAX - 49);
    e.set_size(1000);
    add("offset overflow", one(e), kInvalid, "");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0}, kMaxChunkBytes + 1);
    add("chunk over max", one(e), kInvalid, "malformed chunk list");
  }
  add("chunk not stored", one(FileEntry("f", {TestChunkId(5000)}, 100)), kPrecondition,
      "not stored");
  add("missing subtree", one(DirEntry("d", Sha256Of("no such tree"))), kPrecondition, "not stored");
  add("subtree id 31", one(DirEntry("d", Sha256Of("x").substr(0, 31))), kInvalid, "subtree id");
  {
    v1::TreeEntry e = file("x");
    e.set_type(static_cast<v1::EntryType>(99));
    add("type 99", one(e), kInvalid, "unknown type");
    e.set_type(v1::ENTRY_TYPE_UNSPECIFIED);
    add("type unspecified", one(e), kInvalid, "unknown type");
  }
  {
    v1::TreeEntry e;
    e.set_name("link");
    e.set_type(v1::ENTRY_TYPE_SYMLINK);
    add("empty link", one(e), kInvalid, "target");
    e.set_link_target(std::string(kMaxPathTotalBytes + 1, 'l'));
    add("long link", one(e), kInvalid, "target");
  }
  add("garbage", std::string("\xff\xff\xff\xff garbage", 13), kInvalid, "parse");

  for (const BadTree& c : cases) {
    SCOPED_TRACE(c.label);
    absl::Status status = PutTreesOnce(calls(), job_, {c.bytes});
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
    EXPECT_FALSE(TreeStored(c.bytes));
  }

  // The boundaries that are legal.
  std::string fine = TreeBytes({file("a\xff\n b"), file(std::string(255, 'n'))});
  EXPECT_OK(PutTreesOnce(calls(), job_, {fine}));
  EXPECT_TRUE(TreeStored(fine));
}

TEST_F(IngestServiceTest, PutTreesTakesChildrenFirstOnly) {
  std::string child = TreeBytes({FileEntry("f", {stored_[2]}, 100)});
  std::string parent = TreeBytes({DirEntry("sub", Sha256Of(child))});
  absl::Status wrong_order = PutTreesOnce(calls(), job_, {parent, child});
  EXPECT_EQ(wrong_order.code(), absl::StatusCode::kFailedPrecondition) << wrong_order;
  EXPECT_FALSE(TreeStored(parent));
  ASSERT_OK(PutTreesOnce(calls(), job_, {child, parent}));
  EXPECT_TRUE(TreeStored(parent));
  EXPECT_TRUE(TreeStored(child));
}

TEST_F(IngestServiceTest, PutTreesBoundsTheCall) {
  std::vector<std::string> trees;
  for (int i = 0; i < 65; ++i) {
    trees.push_back(TreeBytes({FileEntry(absl::StrCat("f", i), {stored_[0]}, 100)}));
  }
  absl::Status status = PutTreesOnce(calls(), job_, trees);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  for (const std::string& t : trees) EXPECT_FALSE(TreeStored(t));
  trees.pop_back();
  EXPECT_OK(PutTreesOnce(calls(), job_, trees));

  // One tree over 12 MiB (valid otherwise: sorted symlinks with long targets).
  std::vector<v1::TreeEntry> links;
  for (int i = 0; i < 3100; ++i) {
    v1::TreeEntry e;
    e.set_name(absl::StrCat("l", 10000 + i));
    e.set_type(v1::ENTRY_TYPE_SYMLINK);
    e.set_link_target(std::string(kMaxPathTotalBytes, 't'));
    links.push_back(std::move(e));
  }
  std::string huge = TreeBytes(links);
  ASSERT_GT(huge.size(), kMaxTreeBytes);
  status = PutTreesOnce(calls(), job_, {huge});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_FALSE(TreeStored(huge));

  // Two legal trees that together pass the 14 MiB a call may carry.
  links.resize(1800);
  std::string half_a = TreeBytes(links);
  links.erase(links.begin());
  std::string half_b = TreeBytes(links);
  ASSERT_LE(half_a.size(), kMaxTreeBytes);
  ASSERT_GT(half_a.size() + half_b.size(), kMaxTreesBytesPerCall);
  status = PutTreesOnce(calls(), job_, {half_a, half_b});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_FALSE(TreeStored(half_a));
  EXPECT_OK(PutTreesOnce(calls(), job_, {half_a}));
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
  EXPECT_EQ(calls().FindMissingChunks(find).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(IngestServiceTest, CommitNeedsTheRootTree) {
  absl::Status status = Commit(calls(), job_, Sha256Of("not stored")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(Commit(calls(), job_, std::string(31, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Commit(calls(), "j-nope", Sha256Of("x")).status().code(),
            absl::StatusCode::kNotFound);
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
  EXPECT_EQ(calls().CommitSnapshot(request).status().code(),
            absl::StatusCode::kFailedPrecondition);
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
  EXPECT_EQ(calls().CommitSnapshot(request).status().code(),
            absl::StatusCode::kResourceExhausted);
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

TEST_F(IngestServiceTest, FindMissingChunksBoundsAndAnswersByIndex) {
  v1::FindMissingChunksRequest request;
  request.set_job_id(job_);
  for (size_t i = 0; i <= kMaxIdsPerCall; ++i) request.add_ids(TestChunkId(i));
  absl::Status status = calls().FindMissingChunks(request).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;

  request.mutable_ids()->RemoveLast();
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse response,
                       calls().FindMissingChunks(request));
  EXPECT_EQ(response.missing_size(), static_cast<int>(kMaxIdsPerCall - stored_.size()));
  EXPECT_EQ(response.missing(0), stored_.size());

  request.add_ids(std::string(31, 'x'));
  request.mutable_ids()->DeleteSubrange(0, 100);
  EXPECT_EQ(calls().FindMissingChunks(request).status().code(),
            absl::StatusCode::kInvalidArgument);
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
