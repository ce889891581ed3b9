#include "server/schedule/scheduler.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace cairn {
namespace {

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir(absl::StrCat(
        "scheduler_", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    auto catalog = Catalog::Open(dir_ + "/catalog.db");
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = *std::move(catalog);
    jobs_ = std::make_unique<JobBoard>(catalog_.get(), absl::Hours(1));
    policies_ = std::make_unique<PolicyService>(&catalog_->policies(), jobs_.get());
    v1::AgentInfo agent;
    agent.set_name("gpu-1");
    agent.set_tenant("t");
    agent.add_roots("/data");
    ASSERT_TRUE(catalog_->agents().Upsert(agent).ok());
    agent.set_name("cpu-1");
    ASSERT_TRUE(catalog_->agents().Upsert(agent).ok());
  }

  std::string dir_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<JobBoard> jobs_;
  std::unique_ptr<PolicyService> policies_;
};

TEST_F(SchedulerTest, OrdersDueBackupsOncePerRootAndSkipsBusyOnes) {
  v1::Policy policy;
  policy.set_name("nightly");
  policy.add_agents("gpu-*");
  policy.add_roots("/data/a");
  policy.add_roots("/data/b");
  v1::Schedule* s = policy.add_schedules();
  s->set_cron("0 3 * * *");
  s->set_level(v1::BACKUP_LEVEL_DIFFERENTIAL);
  ASSERT_TRUE(policies_->Set(Caller::Internal(), policy).ok());

  absl::Time now = absl::FromCivil(absl::CivilMinute(2026, 11, 25, 2, 58), absl::UTCTimeZone());
  Scheduler scheduler(policies_.get(), catalog_.get(), jobs_.get(), [&now] { return now; });
  now += absl::Minutes(1);  // 02:59: nothing due
  EXPECT_EQ(scheduler.Tick(), 0);
  now += absl::Minutes(2);  // 03:01: due once
  EXPECT_EQ(scheduler.Tick(), 2);
  auto queued = catalog_->jobs().Queued("gpu-1");
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[0].backup().level(), v1::BACKUP_LEVEL_DIFFERENTIAL);
  EXPECT_TRUE(catalog_->jobs().Queued("cpu-1")->empty());
  // Not due again until tomorrow, and the queued ones would block repeats.
  now += absl::Minutes(10);
  EXPECT_EQ(scheduler.Tick(), 0);
  now += absl::Hours(24);
  EXPECT_EQ(scheduler.Tick(), 0) << "jobs still queued for both roots: no pile-up";
}

}  // namespace
}  // namespace cairn
