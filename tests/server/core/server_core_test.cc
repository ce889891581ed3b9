// ServerCore assembled over a real catalog and local tiers: Open needs a tier
// (and refuses before it creates anything), new packs go to the first tier,
// the services share one catalog and one job board (an order made through
// orders() reaches a control session from control(), and status() sees the
// agent online), and Stop wakes a session waiting for orders.
#include "server/core/server_core.h"

#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/schedule/control_service.h"
#include "server/tiers/local_tier.h"
#include "tests/server/server_test_util.h"
#include "tests/server/thread_wait_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

v1::HelloRequest Hello(const std::string& agent) {
  v1::HelloRequest hello;
  hello.set_agent(agent);
  hello.set_tenant("t1");
  hello.set_hostname(agent + ".example");
  return hello;
}

// The orders of one NextOrders call, pings left out.
std::vector<v1::ServerOrder> WithoutPings(std::vector<v1::ServerOrder> orders) {
  std::vector<v1::ServerOrder> out;
  for (v1::ServerOrder& o : orders) {
    if (!o.has_ping()) out.push_back(std::move(o));
  }
  return out;
}

TEST(ServerCoreOpenTest, OpenNeedsATierAndCreatesNothingWithout) {
  const std::string dir = FreshTestDir("core_no_tier");
  ASSERT_OK(MakeDirectories(dir, 0750));
  absl::StatusOr<std::unique_ptr<ServerCore>> core =
      ServerCore::Open(dir + "/catalog.db", {}, CoreOptions());
  EXPECT_EQ(core.status().code(), absl::StatusCode::kInvalidArgument) << core.status();
  EXPECT_THAT(core.status().message(), HasSubstr("tier"));
  EXPECT_FALSE(Exists(dir + "/catalog.db")) << "refused, yet it made a catalog";
  RemoveTestDirUnlessFailed(dir);
}

TEST(ServerCoreOpenTest, NewPacksGoToTheFirstTier) {
  const std::string dir = FreshTestDir("core_two_tiers");
  ASSERT_OK(MakeDirectories(dir, 0750));
  std::vector<std::unique_ptr<Tier>> tiers;
  for (const char* name : {"hot", "cold"}) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> tier,
                         OpenLocalTier(name, absl::StrCat(dir, "/", name)));
    tiers.push_back(std::move(tier));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerCore> core,
                       ServerCore::Open(dir + "/catalog.db", std::move(tiers), CoreOptions()));
  EXPECT_EQ(core->tiers().hot()->name(), "hot");
  ASSERT_NE(core->tiers().Find("cold"), nullptr);
  AgentCalls agent(core.get());
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(agent, "a1", "t1", "/data"));
  ASSERT_OK(StoreChunks(agent, job, {TestChunkId(1), TestChunkId(2)}));
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs, core->catalog().chunks().ListPacks());
  ASSERT_EQ(packs.size(), 1u);
  EXPECT_EQ(packs[0].tier, "hot");
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> cold, core->tiers().Find("cold")->List());
  EXPECT_THAT(cold, IsEmpty());
  core.reset();
  RemoveTestDirUnlessFailed(dir);
}

class ServerCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("server_core");
    ASSERT_NE(repo_, nullptr);
  }
  ServerCore& core() { return *repo_->core; }

  std::unique_ptr<TestRepo> repo_;
};

TEST_F(ServerCoreTest, TheServicesShareOneCatalogAndOneBoard) {
  EXPECT_EQ(&core().catalog(), repo_->catalog);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlSession> session,
                       core().control().Connect(Caller::Internal(), Hello("gpu-1")));
  ASSERT_OK(session->NextOrders(absl::ZeroDuration()).status());  // the policies

  // Connected through control(): the agent is in the catalog and online
  // for status().
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> known, core().catalog().agents().Get("gpu-1"));
  ASSERT_TRUE(known.has_value());
  ASSERT_OK_AND_ASSIGN(v1::GetStatusResponse status, core().status().GetStatus(Caller::Internal()));
  ASSERT_EQ(status.agents_size(), 1);
  EXPECT_EQ(status.agents(0).name(), "gpu-1");
  EXPECT_TRUE(status.agents(0).online());

  // Ordered through orders(): the session carries it.
  v1::OrderBackupRequest request;
  request.set_agent("gpu-1");
  request.mutable_order()->add_roots("/srv");
  ASSERT_OK_AND_ASSIGN(v1::OrderResponse ordered,
                       core().orders().OrderBackup(Caller::Internal(), request));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::ServerOrder> orders,
                       session->NextOrders(absl::ZeroDuration()));
  orders = WithoutPings(std::move(orders));
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].job_id(), ordered.job().id());
  ASSERT_TRUE(orders[0].has_backup());
  // And the job, marked running by the session, is what orders() reports.
  v1::GetJobRequest get;
  get.set_job_id(ordered.job().id());
  ASSERT_OK_AND_ASSIGN(v1::GetJobResponse job, core().orders().GetJob(Caller::Internal(), get));
  EXPECT_EQ(job.job().state(), v1::JOB_STATE_RUNNING);
}

TEST_F(ServerCoreTest, StopWakesASessionWaitingForOrders) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlSession> session,
                       core().control().Connect(Caller::Internal(), Hello("gpu-1")));
  ASSERT_OK(session->NextOrders(absl::ZeroDuration()).status());  // the policies
  std::atomic<pid_t> tid{0};
  std::atomic<bool> returned{false};
  absl::Notification woken;
  absl::StatusOr<std::vector<v1::ServerOrder>> orders;
  std::thread waiter([&] {
    tid = CurrentThreadId();
    orders = session->NextOrders(absl::Hours(1));
    returned = true;
    woken.Notify();
  });
  while (tid == 0) std::this_thread::yield();
  ASSERT_TRUE(WaitUntilAsleep(tid, [&] { return returned.load(); }))
      << "NextOrders returned before Stop";
  core().Stop();
  // Generous: a woken session returns at once; one that was not would wait
  // its hour (then the session is stopped so the thread can be joined).
  const bool in_time = woken.WaitForNotificationWithTimeout(absl::Seconds(60));
  if (!in_time) session->Stop();
  waiter.join();
  EXPECT_TRUE(in_time) << "Stop did not wake the waiting session";
  ASSERT_OK(orders.status());
  EXPECT_THAT(WithoutPings(*orders), IsEmpty());
}

}  // namespace
}  // namespace cairn
