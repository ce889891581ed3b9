// OrderService over a real ServerCore: OrderRestore refuses what cannot be
// done (unknown snapshot or agent, another tenant's agent, a relative or "/"
// target, bad paths) and queues nothing then; OrderBackup takes its roots
// from the request, or from the agent and the policies covering it;
// FinishJob needs a final state and is idempotent; WatchJob emits each change
// until the job ends, driven from another thread through the JobBoard.
#include "server/schedule/order_service.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr int64_t kNowMs = 1'700'000'000'000;

class OrderServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoreOptions options;
    options.clock = [] { return absl::FromUnixMillis(kNowMs); };
    repo_ = OpenTestRepo("order_service", options);
    ASSERT_NE(repo_, nullptr);
    // A snapshot of a1 (tenant t1) with stats, and agents a2 (t1) and x1 (t2).
    ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "a1", "t1", "/data"));
    std::string root = TreeBytes({});
    ASSERT_OK(PutTreesOnce(*repo_->agent, job, {root}));
    v1::CommitSnapshotRequest commit;
    commit.set_job_id(job);
    commit.set_root_tree_id(Sha256Of(root));
    commit.mutable_stats()->set_files(12);
    commit.mutable_stats()->set_bytes_scanned(3456);
    ASSERT_OK_AND_ASSIGN(v1::CommitSnapshotResponse committed,
                         repo_->agent->CommitSnapshot(commit));
    snapshot_ = committed.snapshot().id();
    ASSERT_OK(Hello("a2", "t1", {}));
    ASSERT_OK(Hello("x1", "t2", {}));
  }

  OrderService& orders() { return repo_->core->orders(); }

  absl::Status Hello(const std::string& agent, const std::string& tenant,
                     const std::vector<std::string>& roots) {
    v1::HelloRequest hello;
    hello.set_agent(agent);
    hello.set_tenant(tenant);
    for (const std::string& r : roots) hello.add_roots(r);
    return repo_->agent->Hello(hello).status();
  }
  v1::OrderRestoreRequest Restore(const std::string& target = "/restore") {
    v1::OrderRestoreRequest request;
    request.mutable_order()->set_snapshot_id(snapshot_);
    request.mutable_order()->set_target_directory(target);
    return request;
  }
  // Every job of kind `kind` in the catalog.
  std::vector<v1::Job> JobsOf(v1::JobKind kind) {
    absl::StatusOr<std::vector<v1::Job>> all = repo_->catalog->jobs().List("", 1000, false);
    EXPECT_TRUE(all.ok()) << all.status();
    std::vector<v1::Job> out;
    if (!all.ok()) return out;
    for (v1::Job& j : *all) {
      if (j.kind() == kind) out.push_back(std::move(j));
    }
    return out;
  }
  std::vector<std::string> BackupRoots() {
    std::vector<std::string> roots;
    for (const v1::Job& j : JobsOf(v1::JOB_KIND_BACKUP)) {
      if (j.state() == v1::JOB_STATE_QUEUED) roots.push_back(j.backup().roots(0));
    }
    return roots;
  }
  v1::Job Job(const std::string& id) {
    absl::StatusOr<std::optional<v1::Job>> job = repo_->catalog->jobs().Get(id);
    EXPECT_TRUE(job.ok() && job->has_value()) << id;
    return job.ok() && job->has_value() ? **job : v1::Job();
  }

  std::unique_ptr<TestRepo> repo_;
  std::string snapshot_;
  const Caller op_ = Caller::Admin("op", Role::kOperator);
};

TEST_F(OrderServiceTest, OrderRestoreRefusesWhatCannotBeDone) {
  struct Case {
    std::string label;
    v1::OrderRestoreRequest request;
    absl::StatusCode code;
  };
  std::vector<Case> cases;
  auto add = [&](std::string label, v1::OrderRestoreRequest r, absl::StatusCode code) {
    cases.push_back({std::move(label), std::move(r), code});
  };
  v1::OrderRestoreRequest r = Restore();
  r.mutable_order()->set_snapshot_id("s-nope");
  add("unknown snapshot", r, absl::StatusCode::kNotFound);
  r = Restore();
  r.mutable_order()->set_target_agent("nobody");
  add("unknown agent", r, absl::StatusCode::kNotFound);
  r = Restore();
  r.mutable_order()->set_target_agent("x1");
  add("another tenant's agent", r, absl::StatusCode::kPermissionDenied);
  for (const std::string& target :
       {std::string(""), std::string("restore"), std::string("./restore"), std::string("/"),
        std::string("///"), std::string("/a\0b", 4), "/" + std::string(kMaxPathTotalBytes, 'd')}) {
    add("target \"" + target + "\"", Restore(target), absl::StatusCode::kInvalidArgument);
  }
  for (const std::string& path :
       {std::string("../etc"), std::string("/etc"), std::string("a//b"), std::string("a/"),
        std::string(""), std::string("a/./b"), std::string("x\0y", 3)}) {
    r = Restore();
    r.mutable_order()->add_paths("fine/path");
    r.mutable_order()->add_paths(path);
    add("path \"" + path + "\"", r, absl::StatusCode::kInvalidArgument);
  }
  r = Restore();
  for (int i = 0; i < 1001; ++i) r.mutable_order()->add_paths("p");
  add("1001 paths", r, absl::StatusCode::kInvalidArgument);

  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    absl::StatusOr<v1::OrderResponse> ordered = orders().OrderRestore(op_, c.request);
    EXPECT_EQ(ordered.status().code(), c.code) << ordered.status();
  }
  EXPECT_THAT(JobsOf(v1::JOB_KIND_RESTORE), IsEmpty());
  absl::StatusOr<v1::OrderResponse> root = orders().OrderRestore(op_, Restore("/"));
  EXPECT_THAT(root.status().message(), HasSubstr("restoring into /"));
}

TEST_F(OrderServiceTest, OrderRestoreQueuesAJobForTheSnapshotsAgentByDefault) {
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse whole, orders().OrderRestore(op_, Restore()));
  const v1::Job& job = whole.job();
  EXPECT_EQ(job.kind(), v1::JOB_KIND_RESTORE);
  EXPECT_EQ(job.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(job.agent(), "a1");
  EXPECT_EQ(job.snapshot_id(), snapshot_);
  EXPECT_EQ(job.restore().target_agent(), "a1");
  EXPECT_EQ(job.restore().target_directory(), "/restore");
  EXPECT_EQ(job.progress().files_total(), 12u);  // known for a whole snapshot
  EXPECT_EQ(job.progress().bytes_total(), 3456u);
  EXPECT_EQ(Job(job.id()).state(), v1::JOB_STATE_QUEUED);

  v1::OrderRestoreRequest part = Restore("/elsewhere/");
  part.mutable_order()->set_target_agent("a2");  // another agent of the tenant
  part.mutable_order()->add_paths("docs/report.txt");
  part.mutable_order()->set_overwrite(true);
  // Replacing files on a host can destroy data: the admin role's to order.
  EXPECT_EQ(orders().OrderRestore(op_, part).status().code(), absl::StatusCode::kPermissionDenied);
  const Caller admin = Caller::Admin("root", Role::kAdmin);
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse some, orders().OrderRestore(admin, part));
  EXPECT_EQ(some.job().agent(), "a2");
  EXPECT_THAT(some.job().restore().paths(), ElementsAre("docs/report.txt"));
  EXPECT_TRUE(some.job().restore().overwrite());
  EXPECT_EQ(some.job().progress().files_total(), 0u);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> queued, repo_->catalog->jobs().Queued("a2"));
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].id(), some.job().id());
}

TEST_F(OrderServiceTest, OrderBackupTakesTheNamedRoots) {
  v1::OrderBackupRequest request;
  request.set_agent("a2");
  request.mutable_order()->add_roots("/b");
  request.mutable_order()->add_roots("/a");
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse ordered, orders().OrderBackup(op_, request));
  EXPECT_THAT(ordered.job().backup().roots(), ElementsAre("/b"));  // the first job
  EXPECT_EQ(ordered.job().backup().level(), v1::BACKUP_LEVEL_INCREMENTAL);
  EXPECT_EQ(ordered.job().state(), v1::JOB_STATE_QUEUED);
  EXPECT_THAT(BackupRoots(), UnorderedElementsAre("/a", "/b"));

  request.mutable_order()->set_level(v1::BACKUP_LEVEL_FULL);
  request.mutable_order()->clear_roots();
  request.mutable_order()->add_roots("/c");
  ASSERT_OK_AND_ASSIGN(ordered, orders().OrderBackup(op_, request));
  EXPECT_EQ(ordered.job().backup().level(), v1::BACKUP_LEVEL_FULL);
}

TEST_F(OrderServiceTest, OrderBackupTakesRootsFromTheAgentAndItsPolicies) {
  ASSERT_OK(Hello("gpu-1", "t1", {"/home", "/data"}));
  v1::Policy covering;
  covering.set_name("gpus");
  covering.add_agents("gpu-*");
  covering.add_roots("/data");  // already the agent's: once
  covering.add_roots("/models");
  ASSERT_OK(repo_->core->policies().Set(Caller::Internal(), covering).status());
  v1::Policy other;
  other.set_name("webs");
  other.add_agents("web-*");
  other.add_roots("/var/www");
  ASSERT_OK(repo_->core->policies().Set(Caller::Internal(), other).status());

  v1::OrderBackupRequest request;
  request.set_agent("gpu-1");
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse ordered, orders().OrderBackup(op_, request));
  EXPECT_THAT(ordered.job().backup().roots(), ElementsAre("/home"));
  EXPECT_THAT(BackupRoots(), UnorderedElementsAre("/home", "/data", "/models"));
}

TEST_F(OrderServiceTest, OrderBackupRefusesWhatCannotBeDone) {
  v1::OrderBackupRequest request;
  request.set_agent("nobody");
  EXPECT_EQ(orders().OrderBackup(op_, request).status().code(), absl::StatusCode::kNotFound);
  request.set_agent("a2");  // no roots of its own, no policy
  absl::StatusOr<v1::OrderResponse> none = orders().OrderBackup(op_, request);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition) << none.status();
  EXPECT_THAT(none.status().message(), HasSubstr("no roots"));
  // One bad root refuses the whole order: no job for the good one either.
  request.mutable_order()->add_roots("/fine");
  request.mutable_order()->add_roots("relative");
  EXPECT_EQ(orders().OrderBackup(op_, request).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(BackupRoots(), IsEmpty());
}

TEST_F(OrderServiceTest, FinishJobNeedsAFinalStateAndBoundedErrors) {
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse ordered, orders().OrderRestore(op_, Restore()));
  const std::string id = ordered.job().id();
  v1::FinishJobRequest finish;
  finish.set_job_id(id);
  for (v1::JobState state :
       {v1::JOB_STATE_UNSPECIFIED, v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING}) {
    finish.set_state(state);
    EXPECT_EQ(orders().FinishJob(Caller::Internal(), finish).code(),
              absl::StatusCode::kInvalidArgument);
  }
  finish.set_state(v1::JOB_STATE_PARTIAL);
  for (size_t i = 0; i <= kMaxFileErrors; ++i) finish.add_file_errors()->set_path("f");
  EXPECT_EQ(orders().FinishJob(Caller::Internal(), finish).code(),
            absl::StatusCode::kResourceExhausted);
  finish.clear_file_errors();
  finish.set_error(std::string(4097, 'e'));
  EXPECT_EQ(orders().FinishJob(Caller::Internal(), finish).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Job(id).state(), v1::JOB_STATE_QUEUED);

  finish.set_error("");
  finish.set_job_id("j-nope");
  EXPECT_EQ(orders().FinishJob(Caller::Internal(), finish).code(), absl::StatusCode::kNotFound);
  finish.set_job_id(id);
  EXPECT_EQ(orders().FinishJob(Caller::Agent("a2", "t1"), finish).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Job(id).state(), v1::JOB_STATE_QUEUED);
}

TEST_F(OrderServiceTest, FinishJobRecordsTheEndOnceAndIgnoresRetries) {
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse ordered, orders().OrderRestore(op_, Restore()));
  const std::string id = ordered.job().id();
  v1::FinishJobRequest finish;
  finish.set_job_id(id);
  finish.set_state(v1::JOB_STATE_PARTIAL);
  finish.set_error("2 files failed");
  finish.add_file_errors()->set_path("a");
  finish.mutable_progress()->set_files_done(10);  // totals left 0: the server's stay
  ASSERT_OK(orders().FinishJob(Caller::Agent("a1", "t1"), finish));
  v1::Job job = Job(id);
  EXPECT_EQ(job.state(), v1::JOB_STATE_PARTIAL);
  EXPECT_EQ(job.error(), "2 files failed");
  ASSERT_EQ(job.file_errors_size(), 1);
  EXPECT_EQ(job.progress().files_done(), 10u);
  EXPECT_EQ(job.progress().files_total(), 12u);
  EXPECT_EQ(job.progress().bytes_total(), 3456u);
  EXPECT_EQ(job.finished_unix_ms(), kNowMs);

  v1::FinishJobRequest retry = finish;
  retry.set_state(v1::JOB_STATE_FAILED);
  retry.set_error("something else");
  ASSERT_OK(orders().FinishJob(Caller::Agent("a1", "t1"), retry));
  EXPECT_EQ(Job(id).SerializeAsString(), job.SerializeAsString());
}

TEST_F(OrderServiceTest, WatchJobEmitsEachChangeUntilTheJobEnds) {
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse ordered, orders().OrderRestore(op_, Restore()));
  const std::string id = ordered.job().id();
  absl::Notification seen[3];
  std::vector<v1::Job> emitted;
  std::thread driver([&] {
    seen[0].WaitForNotification();
    repo_->jobs->Notify();  // a change of the board, not of this job: no emit
    v1::Job running = Job(id);
    running.set_state(v1::JOB_STATE_RUNNING);
    EXPECT_OK(repo_->jobs->Update(running));
    seen[1].WaitForNotification();
    v1::FinishJobRequest finish;
    finish.set_job_id(id);
    finish.set_state(v1::JOB_STATE_SUCCEEDED);
    EXPECT_OK(orders().FinishJob(Caller::Internal(), finish));
  });
  v1::GetJobRequest request;
  request.set_job_id(id);
  absl::Status watched = orders().WatchJob(
      op_, request,
      [&](const v1::Job& job) {
        emitted.push_back(job);
        if (emitted.size() <= 3) seen[emitted.size() - 1].Notify();
        return true;
      },
      [] { return false; });
  driver.join();
  ASSERT_OK(watched);
  std::vector<v1::JobState> states;
  for (const v1::Job& j : emitted) states.push_back(j.state());
  EXPECT_THAT(states,
              ElementsAre(v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING, v1::JOB_STATE_SUCCEEDED));
}

TEST_F(OrderServiceTest, WatchJobEndsAtOnceForAnEndedJobAndWhenTheWatcherGoes) {
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse ordered, orders().OrderRestore(op_, Restore()));
  v1::GetJobRequest request;
  request.set_job_id(ordered.job().id());
  int emits = 0;
  // The watcher goes after the first emit.
  absl::Status status = orders().WatchJob(
      op_, request, [&](const v1::Job&) { return ++emits < 1; }, [] { return false; });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_EQ(emits, 1);
  // Cancelled before anything was sent.
  status = orders().WatchJob(
      op_, request, [&](const v1::Job&) { return ++emits > 0; }, [] { return true; });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(emits, 1);
  // An ended job: one emit, then OK.
  v1::FinishJobRequest finish;
  finish.set_job_id(ordered.job().id());
  finish.set_state(v1::JOB_STATE_CANCELLED);
  ASSERT_OK(orders().FinishJob(Caller::Internal(), finish));
  std::vector<v1::JobState> states;
  ASSERT_OK(orders().WatchJob(
      op_, request,
      [&](const v1::Job& j) {
        states.push_back(j.state());
        return true;
      },
      [] { return false; }));
  EXPECT_THAT(states, ElementsAre(v1::JOB_STATE_CANCELLED));
  request.set_job_id("j-nope");
  EXPECT_EQ(orders()
                .WatchJob(
                    op_, request, [](const v1::Job&) { return true; }, [] { return false; })
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(OrderServiceTest, ListAndGetJobs) {
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse ordered, orders().OrderRestore(op_, Restore()));
  v1::ListJobsRequest list;
  list.set_agent("a1");
  ASSERT_OK_AND_ASSIGN(v1::ListJobsResponse jobs, orders().ListJobs(op_, list));
  ASSERT_EQ(jobs.jobs_size(), 2);  // the backup of the snapshot and the restore
  list.set_limit(1);
  ASSERT_OK_AND_ASSIGN(jobs, orders().ListJobs(op_, list));
  ASSERT_EQ(jobs.jobs_size(), 1);
  list.set_agent("x1");
  list.set_limit(0);
  ASSERT_OK_AND_ASSIGN(jobs, orders().ListJobs(op_, list));
  EXPECT_EQ(jobs.jobs_size(), 0);
  v1::GetJobRequest get;
  get.set_job_id(ordered.job().id());
  ASSERT_OK_AND_ASSIGN(v1::GetJobResponse got, orders().GetJob(op_, get));
  EXPECT_EQ(got.job().id(), ordered.job().id());
  get.set_job_id("j-nope");
  EXPECT_EQ(orders().GetJob(op_, get).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cairn
