// StatusService over a real ServerCore with an injected clock: a server with
// nothing wrong is healthy; an agent past its policy's RPO (never backed up,
// or too long ago on the server's clock), a watcher problem an agent's
// heartbeat reported, and a tier that cannot report its space each make it
// unhealthy with a problem naming them; agents carry presence and policies.
#include "server/browse/status_service.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/schedule/control_service.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/fault_injection_tier.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kStartMs = 1'700'000'000'000;

class StatusServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoreOptions options;
    options.clock = [this] { return absl::FromUnixMillis(now_ms_.load()); };
    repo_ = OpenTestRepo("status_service", options, [this](std::unique_ptr<Tier> local) {
      std::unique_ptr<FaultInjectionTier> wrapped = WrapWithFaults(std::move(local));
      faults_ = wrapped.get();
      return std::unique_ptr<Tier>(std::move(wrapped));
    });
    ASSERT_NE(repo_, nullptr);
  }

  StatusService& status() { return repo_->core->status(); }

  v1::GetStatusResponse Status() {
    absl::StatusOr<v1::GetStatusResponse> got = status().GetStatus(Caller::Internal());
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : v1::GetStatusResponse();
  }
  static std::vector<std::string> Problems(const v1::GetStatusResponse& s) {
    return std::vector<std::string>(s.problems().begin(), s.problems().end());
  }
  void SetPolicy(const std::string& name, const std::string& agents, uint32_t rpo_seconds) {
    v1::Policy p;
    p.set_name(name);
    p.add_agents(agents);
    p.set_rpo_seconds(rpo_seconds);
    ASSERT_OK(repo_->core->policies().Set(Caller::Internal(), p).status());
  }
  // A committed snapshot of `agent` at the current clock.
  void BackUp(const std::string& agent) {
    ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, agent, "t1", "/data"));
    std::string root = TreeBytes({});
    ASSERT_OK(PutTreesOnce(*repo_->agent, job, {root}));
    ASSERT_OK(Commit(*repo_->agent, job, Sha256Of(root)).status());
  }
  absl::Status Hello(const std::string& agent) {
    v1::HelloRequest hello;
    hello.set_agent(agent);
    hello.set_tenant("t1");
    return repo_->agent->Hello(hello).status();
  }

  std::atomic<int64_t> now_ms_{kStartMs};
  FaultInjectionTier* faults_ = nullptr;
  std::unique_ptr<TestRepo> repo_;
};

TEST_F(StatusServiceTest, AServerWithNothingWrongIsHealthy) {
  ASSERT_OK(Hello("a1"));
  SetPolicy("no-rpo", "*", 0);
  now_ms_ += 90'000;
  v1::GetStatusResponse s = Status();
  EXPECT_TRUE(s.healthy());
  EXPECT_THAT(Problems(s), IsEmpty());
  EXPECT_EQ(s.uptime_seconds(), 90);
  EXPECT_FALSE(s.version().empty());
  ASSERT_EQ(s.tiers_size(), 1);
  EXPECT_EQ(s.tiers(0).name(), "hot");
  EXPECT_EQ(s.tiers(0).kind(), "local");
  ASSERT_EQ(s.agents_size(), 1);
  EXPECT_EQ(s.agents(0).name(), "a1");
  EXPECT_FALSE(s.agents(0).rpo_violated());
  EXPECT_THAT(s.agents(0).policies(), ElementsAre("no-rpo"));
  EXPECT_FALSE(s.agents(0).online());
}

TEST_F(StatusServiceTest, AnAgentThatNeverBackedUpIsPastItsRpo) {
  ASSERT_OK(Hello("gpu-1"));
  ASSERT_OK(Hello("web-1"));
  SetPolicy("gpus", "gpu-*", 3600);
  v1::GetStatusResponse s = Status();
  EXPECT_FALSE(s.healthy());
  EXPECT_THAT(Problems(s), ElementsAre("agent gpu-1 is past its RPO (last backup never)"));
  ASSERT_EQ(s.agents_size(), 2);
  EXPECT_TRUE(s.agents(0).rpo_violated());
  EXPECT_FALSE(s.agents(1).rpo_violated());  // no policy covers web-1
}

TEST_F(StatusServiceTest, RpoIsJudgedOnTheServersClock) {
  SetPolicy("tight", "a1", 3600);
  SetPolicy("loose", "*", 86400);
  BackUp("a1");
  EXPECT_TRUE(Status().healthy());
  now_ms_ += 3600 * 1000;  // exactly the RPO: still within it
  EXPECT_TRUE(Status().healthy());
  now_ms_ += 1;
  v1::GetStatusResponse s = Status();
  EXPECT_FALSE(s.healthy());
  EXPECT_THAT(Problems(s), ElementsAre("agent a1 is past its RPO (last backup too old)"));
  ASSERT_EQ(s.agents_size(), 1);
  EXPECT_THAT(s.agents(0).policies(), ElementsAre("loose", "tight"));
  // A new snapshot puts it right.
  BackUp("a1");
  EXPECT_TRUE(Status().healthy());
  ASSERT_OK_AND_ASSIGN(v1::ListAgentsResponse agents, status().ListAgents(Caller::Internal()));
  ASSERT_EQ(agents.agents_size(), 1);
  EXPECT_FALSE(agents.agents(0).rpo_violated());
  EXPECT_EQ(agents.agents(0).last_backup_unix_ms(), now_ms_.load());
}

TEST_F(StatusServiceTest, AWatcherProblemFromAHeartbeatIsReported) {
  v1::HelloRequest hello;
  hello.set_agent("a1");
  hello.set_tenant("t1");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlSession> session,
                       repo_->core->control().Connect(Caller::Internal(), hello));
  v1::AgentEvent event;
  event.mutable_heartbeat()->set_pending_files(40);
  event.mutable_heartbeat()->set_watch_overflows(3);
  event.mutable_heartbeat()->set_watcher_problem("watch limit reached: falling back to scans");
  session->OnEvent(event);

  v1::GetStatusResponse s = Status();
  EXPECT_FALSE(s.healthy());
  EXPECT_THAT(Problems(s), ElementsAre("agent a1: watch limit reached: falling back to scans"));
  ASSERT_EQ(s.agents_size(), 1);
  EXPECT_TRUE(s.agents(0).online());
  EXPECT_EQ(s.agents(0).pending_files(), 40u);
  EXPECT_EQ(s.agents(0).watch_overflows(), 3u);

  // The next heartbeat without a problem clears it.
  event.mutable_heartbeat()->clear_watcher_problem();
  session->OnEvent(event);
  s = Status();
  EXPECT_TRUE(s.healthy());
  EXPECT_THAT(Problems(s), IsEmpty());
  session.reset();
  s = Status();
  EXPECT_FALSE(s.agents(0).online());
  EXPECT_TRUE(s.healthy());  // offline is not a problem by itself
}

TEST_F(StatusServiceTest, ATierThatCannotReportItsSpaceIsAProblem) {
  faults_->FailFromNth(TierOp::kSpace, 1, absl::UnavailableError("mount is gone"));
  v1::GetStatusResponse s = Status();
  EXPECT_FALSE(s.healthy());
  ASSERT_EQ(s.problems_size(), 1);
  EXPECT_THAT(s.problems(0), HasSubstr("tier hot"));
  EXPECT_THAT(s.problems(0), HasSubstr("mount is gone"));
  ASSERT_EQ(s.tiers_size(), 1);  // still listed, without numbers
  EXPECT_EQ(s.tiers(0).packs(), 0u);
  faults_->ClearFaults();
  EXPECT_TRUE(Status().healthy());
}

TEST_F(StatusServiceTest, TotalsTiersAndJobs) {
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "a1", "t1", "/data"));
  ASSERT_OK(StoreChunks(*repo_->agent, job, {TestChunkId(1), TestChunkId(2)}));
  v1::GetStatusResponse running = Status();
  ASSERT_EQ(running.running_jobs_size(), 1);
  EXPECT_EQ(running.running_jobs(0).id(), job);

  std::string root = TreeBytes({FileEntry("f", {TestChunkId(1), TestChunkId(2)}, 100)});
  ASSERT_OK(PutTreesOnce(*repo_->agent, job, {root}));
  v1::CommitSnapshotRequest commit;
  commit.set_job_id(job);
  commit.set_root_tree_id(Sha256Of(root));
  commit.mutable_stats()->set_bytes_scanned(800);
  ASSERT_OK(repo_->agent->CommitSnapshot(commit).status());

  v1::GetStatusResponse s = Status();
  EXPECT_EQ(s.chunks(), 2u);
  EXPECT_EQ(s.unique_bytes(), 200u);  // StoreChunks: raw size 100 each
  EXPECT_EQ(s.stored_bytes(), 128u);  // sealed 64 each
  EXPECT_EQ(s.snapshots(), 1u);
  EXPECT_EQ(s.logical_bytes(), 800u);
  EXPECT_DOUBLE_EQ(s.dedup_ratio(), 4.0);
  EXPECT_DOUBLE_EQ(s.compression_ratio(), 200.0 / 128.0);
  EXPECT_EQ(s.tiers(0).packs(), 1u);
  EXPECT_GT(s.tiers(0).used_bytes(), 128u);
  EXPECT_EQ(s.running_jobs_size(), 0);
  ASSERT_EQ(s.recent_jobs_size(), 1);
  EXPECT_EQ(s.recent_jobs(0).state(), v1::JOB_STATE_SUCCEEDED);
}

}  // namespace
}  // namespace cairn
