// ControlService and ControlSession over a real ServerCore: Connect records
// the agent and marks it online; NextOrders sends the agent's policies once
// and again only when they change for it, and queued backups and restores
// (marking them RUNNING); a newer session aborts the older one; a session
// that ends fails the restores it carried; heartbeats set presence and job
// updates set progress. Pings, which depend on the wall clock, are ignored.
#include "server/schedule/control_service.h"

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kNowMs = 1'700'000'000'000;

class ControlServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoreOptions options;
    options.clock = [] { return absl::FromUnixMillis(kNowMs); };
    repo_ = OpenTestRepo("control_service", options);
    ASSERT_NE(repo_, nullptr);
  }

  ControlService& control() { return repo_->core->control(); }

  static v1::HelloRequest Hello(const std::string& agent, const std::string& tenant = "t1") {
    v1::HelloRequest hello;
    hello.set_agent(agent);
    hello.set_tenant(tenant);
    hello.set_hostname(agent + ".example");
    hello.add_roots("/home");
    hello.set_key_check(TestKeyCheck(tenant));
    return hello;
  }
  std::unique_ptr<ControlSession> Connect(const std::string& agent) {
    absl::StatusOr<std::unique_ptr<ControlSession>> session =
        control().Connect(Caller::Internal(), Hello(agent));
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? *std::move(session) : nullptr;
  }
  // NextOrders without waiting, pings left out.
  static std::vector<v1::ServerOrder> Orders(ControlSession& session) {
    absl::StatusOr<std::vector<v1::ServerOrder>> orders = session.NextOrders(absl::ZeroDuration());
    EXPECT_TRUE(orders.ok()) << orders.status();
    std::vector<v1::ServerOrder> out;
    if (!orders.ok()) return out;
    for (v1::ServerOrder& o : *orders) {
      if (!o.has_ping()) out.push_back(std::move(o));
    }
    return out;
  }
  static std::vector<std::string> PolicyNames(const v1::ServerOrder& order) {
    std::vector<std::string> names;
    for (const v1::Policy& p : order.policies().policy()) names.push_back(p.name());
    return names;
  }
  void SetPolicy(const std::string& name, const std::string& agents, uint32_t rpo = 0) {
    v1::Policy p;
    p.set_name(name);
    p.add_agents(agents);
    p.add_roots("/data");
    p.set_rpo_seconds(rpo);
    ASSERT_OK(repo_->core->policies().Set(Caller::Internal(), p).status());
  }
  // A backup job queued for `agent`; its id.
  std::string OrderBackup(const std::string& agent) {
    v1::OrderBackupRequest request;
    request.set_agent(agent);
    request.mutable_order()->add_roots("/srv");
    absl::StatusOr<v1::OrderResponse> ordered =
        repo_->core->orders().OrderBackup(Caller::Internal(), request);
    EXPECT_TRUE(ordered.ok()) << ordered.status();
    return ordered.ok() ? ordered->job().id() : "";
  }
  // A committed snapshot of `agent`, then a restore of it queued for `agent`.
  std::string OrderRestore(const std::string& agent) {
    absl::StatusOr<std::string> job = StartBackup(*repo_->agent, agent, "t1", "/data");
    EXPECT_TRUE(job.ok()) << job.status();
    std::string root = TreeBytes({});
    EXPECT_OK(PutTreesOnce(*repo_->agent, *job, {root}));
    absl::StatusOr<v1::Snapshot> snapshot = Commit(*repo_->agent, *job, Sha256Of(root));
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    v1::OrderRestoreRequest request;
    request.mutable_order()->set_snapshot_id(snapshot.ok() ? snapshot->id() : "");
    request.mutable_order()->set_target_directory("/restore/here");
    absl::StatusOr<v1::OrderResponse> ordered =
        repo_->core->orders().OrderRestore(Caller::Internal(), request);
    EXPECT_TRUE(ordered.ok()) << ordered.status();
    return ordered.ok() ? ordered->job().id() : "";
  }
  v1::Job Job(const std::string& id) {
    absl::StatusOr<std::optional<v1::Job>> job = repo_->catalog->jobs().Get(id);
    EXPECT_TRUE(job.ok() && job->has_value()) << id;
    return job.ok() && job->has_value() ? **job : v1::Job();
  }

  std::unique_ptr<TestRepo> repo_;
};

TEST_F(ControlServiceTest, PoliciesAreSentOnceAndAgainOnlyWhenTheyChangeForTheAgent) {
  SetPolicy("gpus", "gpu-*");
  SetPolicy("webs", "web-*");
  std::unique_ptr<ControlSession> session = Connect("gpu-1");
  ASSERT_NE(session, nullptr);
  std::vector<v1::ServerOrder> orders = Orders(*session);
  ASSERT_EQ(orders.size(), 1u);
  ASSERT_TRUE(orders[0].has_policies());
  EXPECT_THAT(PolicyNames(orders[0]), ElementsAre("gpus"));
  EXPECT_THAT(Orders(*session), IsEmpty());

  // A change to a policy that does not cover the agent sends nothing.
  SetPolicy("webs", "web-1");
  EXPECT_THAT(Orders(*session), IsEmpty());
  // One that does, or a new one covering it, is sent: the whole set again.
  SetPolicy("gpus", "gpu-*", 3600);
  orders = Orders(*session);
  ASSERT_EQ(orders.size(), 1u);
  ASSERT_EQ(orders[0].policies().policy_size(), 1);
  EXPECT_EQ(orders[0].policies().policy(0).rpo_seconds(), 3600u);
  SetPolicy("all", "*");
  orders = Orders(*session);
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_THAT(PolicyNames(orders[0]), ElementsAre("all", "gpus"));
  // Deleting them sends an empty set, which replaces what the agent had.
  ASSERT_OK(repo_->core->policies().Delete(Caller::Internal(), "all"));
  ASSERT_OK(repo_->core->policies().Delete(Caller::Internal(), "gpus"));
  orders = Orders(*session);
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_TRUE(orders[0].has_policies());
  EXPECT_EQ(orders[0].policies().policy_size(), 0);
  EXPECT_THAT(Orders(*session), IsEmpty());
}

TEST_F(ControlServiceTest, AnAgentWithoutPoliciesGetsAnEmptySetFirst) {
  std::unique_ptr<ControlSession> session = Connect("a1");
  std::vector<v1::ServerOrder> orders = Orders(*session);
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_TRUE(orders[0].has_policies());
  EXPECT_EQ(orders[0].policies().policy_size(), 0);
}

TEST_F(ControlServiceTest, QueuedJobsAreDeliveredOnceAndMarkedRunning) {
  std::unique_ptr<ControlSession> session = Connect("a1");
  Orders(*session);  // the policies
  const std::string restore = OrderRestore("a1");
  const std::string backup = OrderBackup("a1");
  ASSERT_OK(control().Hello(Caller::Internal(), Hello("b1")).status());
  const std::string elsewhere = OrderBackup("b1");  // another agent's order
  std::vector<v1::ServerOrder> orders = Orders(*session);
  // Both, each once. (Jobs created in the same millisecond come in id order,
  // which is random, so the order between them is not checked.)
  ASSERT_EQ(orders.size(), 2u);
  std::map<std::string, v1::ServerOrder> by_id;
  for (const v1::ServerOrder& o : orders) by_id[o.job_id()] = o;
  ASSERT_EQ(by_id.count(restore), 1u);
  ASSERT_EQ(by_id.count(backup), 1u);
  ASSERT_TRUE(by_id[restore].has_restore());
  EXPECT_EQ(by_id[restore].restore().target_directory(), "/restore/here");
  EXPECT_EQ(by_id[restore].restore().target_agent(), "a1");
  ASSERT_TRUE(by_id[backup].has_backup());
  EXPECT_THAT(by_id[backup].backup().roots(), ElementsAre("/srv"));
  for (const std::string& id : {restore, backup}) {
    v1::Job job = Job(id);
    EXPECT_EQ(job.state(), v1::JOB_STATE_RUNNING) << id;
    EXPECT_EQ(job.started_unix_ms(), kNowMs) << id;
  }
  EXPECT_THAT(Orders(*session), IsEmpty());
  EXPECT_EQ(Job(elsewhere).state(), v1::JOB_STATE_QUEUED);
}

TEST_F(ControlServiceTest, AWaitingSessionWakesForANewOrder) {
  std::unique_ptr<ControlSession> session = Connect("a1");
  Orders(*session);  // the policies
  absl::StatusOr<std::vector<v1::ServerOrder>> woken;
  std::thread waiter([&] {
    // Blocks on the job board until the order is there (pings aside).
    auto only_pings = [&] {
      for (const v1::ServerOrder& o : *woken) {
        if (!o.has_ping()) return false;
      }
      return true;
    };
    do {
      woken = session->NextOrders(absl::Hours(1));
    } while (woken.ok() && only_pings());
  });
  const std::string backup = OrderBackup("a1");
  waiter.join();
  ASSERT_OK(woken.status());
  ASSERT_EQ(woken->size(), 1u);
  EXPECT_EQ((*woken)[0].job_id(), backup);
}

TEST_F(ControlServiceTest, ANewerSessionAbortsTheOlderOne) {
  std::unique_ptr<ControlSession> first = Connect("a1");
  std::unique_ptr<ControlSession> second = Connect("a1");
  absl::StatusOr<std::vector<v1::ServerOrder>> old = first->NextOrders(absl::ZeroDuration());
  EXPECT_EQ(old.status().code(), absl::StatusCode::kAborted) << old.status();
  EXPECT_EQ(Orders(*second).size(), 1u);
  // The replaced session going away leaves the agent online.
  first.reset();
  EXPECT_TRUE(repo_->jobs->Presence("a1").online);
  second.reset();
  EXPECT_FALSE(repo_->jobs->Presence("a1").online);
}

TEST_F(ControlServiceTest, StopMakesNextOrdersCancelled) {
  std::unique_ptr<ControlSession> session = Connect("a1");
  session->Stop();
  EXPECT_EQ(session->NextOrders(absl::Hours(1)).status().code(), absl::StatusCode::kCancelled);
}

TEST_F(ControlServiceTest, AnEndingSessionFailsTheRestoresItCarried) {
  std::unique_ptr<ControlSession> session = Connect("a1");
  const std::string finished = OrderRestore("a1");
  const std::string unfinished = OrderRestore("a1");
  const std::string backup = OrderBackup("a1");
  std::vector<v1::ServerOrder> orders = Orders(*session);
  ASSERT_EQ(orders.size(), 4u);  // policies and three jobs
  v1::FinishJobRequest done;
  done.set_job_id(finished);
  done.set_state(v1::JOB_STATE_SUCCEEDED);
  ASSERT_OK(repo_->core->orders().FinishJob(Caller::Internal(), done));
  const std::string later = OrderRestore("a1");  // queued, never dispatched

  session.reset();
  EXPECT_EQ(Job(finished).state(), v1::JOB_STATE_SUCCEEDED);
  v1::Job failed = Job(unfinished);
  EXPECT_EQ(failed.state(), v1::JOB_STATE_FAILED);
  EXPECT_THAT(failed.error(), HasSubstr("disconnected"));
  EXPECT_EQ(failed.finished_unix_ms(), kNowMs);
  // A backup ends through its own lease, and an undelivered order waits.
  EXPECT_EQ(Job(backup).state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(Job(later).state(), v1::JOB_STATE_QUEUED);
  EXPECT_FALSE(repo_->jobs->Presence("a1").online);
}

TEST_F(ControlServiceTest, HeartbeatsSetPresenceAndTouchTheAgent) {
  EXPECT_FALSE(repo_->jobs->Presence("a1").online);
  std::unique_ptr<ControlSession> session = Connect("a1");
  EXPECT_TRUE(repo_->jobs->Presence("a1").online);
  ASSERT_OK(repo_->catalog->agents().Touch("a1", 5));
  v1::AgentEvent event;
  v1::Heartbeat* beat = event.mutable_heartbeat();
  beat->set_pending_files(12);
  beat->set_pending_bytes(3456);
  beat->set_last_change_unix_ms(999);
  beat->set_watch_overflows(2);
  beat->set_watcher_problem(std::string(600, 'w'));
  session->OnEvent(event);
  AgentPresence presence = repo_->jobs->Presence("a1");
  EXPECT_TRUE(presence.online);
  EXPECT_EQ(presence.pending_files, 12u);
  EXPECT_EQ(presence.pending_bytes, 3456u);
  EXPECT_EQ(presence.last_change_unix_ms, 999);
  EXPECT_EQ(presence.watch_overflows, 2u);
  EXPECT_EQ(presence.watcher_problem, std::string(512, 'w'));  // bounded
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, repo_->catalog->agents().Get("a1"));
  EXPECT_EQ(agent->last_seen_unix_ms(), kNowMs);
  EXPECT_FALSE(repo_->jobs->Presence("a2").online);  // nobody else's
}

TEST_F(ControlServiceTest, JobUpdatesSetProgressOfTheAgentsRunningJobsOnly) {
  std::unique_ptr<ControlSession> session = Connect("a1");
  const std::string restore = OrderRestore("a1");
  Orders(*session);  // dispatches it: RUNNING, with totals from the snapshot
  const std::string queued = OrderBackup("a1");
  std::unique_ptr<ControlSession> other = Connect("b1");
  const std::string theirs = OrderBackup("b1");
  Orders(*other);

  auto update = [&](const std::string& id, uint64_t files_done) {
    v1::AgentEvent event;
    event.mutable_job_update()->set_job_id(id);
    event.mutable_job_update()->mutable_progress()->set_files_done(files_done);
    event.mutable_job_update()->mutable_progress()->set_current_path(std::string(5000, 'p'));
    session->OnEvent(event);
  };
  update(restore, 7);
  update(queued, 8);     // not running yet
  update(theirs, 9);     // another agent's
  update("j-nope", 10);  // unknown
  v1::Job job = Job(restore);
  EXPECT_EQ(job.progress().files_done(), 7u);
  EXPECT_EQ(job.progress().current_path().size(), 4096u);
  EXPECT_EQ(Job(queued).progress().files_done(), 0u);
  EXPECT_EQ(Job(theirs).progress().files_done(), 0u);
}

TEST_F(ControlServiceTest, ConnectChecksWhoIsConnecting) {
  EXPECT_EQ(control().Connect(Caller::Internal(), Hello("bad name")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(control().Connect(Caller::Agent("a2", "t1"), Hello("a1")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(control().Connect(Caller::Agent("a1", "t2"), Hello("a1", "t1")).status().code(),
            absl::StatusCode::kPermissionDenied);
  std::unique_ptr<ControlSession> session = Connect("a1");
  // An agent keeps its tenant.
  absl::StatusOr<std::unique_ptr<ControlSession>> moved =
      control().Connect(Caller::Internal(), Hello("a1", "t2"));
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kPermissionDenied) << moved.status();
  EXPECT_EQ(Orders(*session).size(), 1u);  // the refused attempt replaced nothing
  // A Hello without roots keeps the roots the agent reported before.
  v1::HelloRequest bare = Hello("a1");
  bare.clear_roots();
  ASSERT_OK(control().Hello(Caller::Agent("a1", "t1"), bare).status());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, repo_->catalog->agents().Get("a1"));
  EXPECT_THAT(agent->roots(), ElementsAre("/home"));
  EXPECT_EQ(agent->tenant(), "t1");
}

}  // namespace
}  // namespace cairn
