// TenantQuota over a real catalog, with a clock the test moves: no quota
// lets everything through; per-tenant quotas override the default; the
// usage starts from what the catalog holds, charges add up between recounts
// (once a minute), a charge past the quota is RESOURCE_EXHAUSTED naming the
// tenant and the quota, and a charge so large it would wrap is refused. The
// ingest path refuses an upload past the quota the same way.
#include "server/ingest/tenant_quota.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/maintenance/gc_test_util.h"
#include "tests/server/server_test_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

v1::ServerLimits Quota(uint64_t default_bytes) {
  v1::ServerLimits limits;
  limits.set_tenant_quota_bytes(default_bytes);
  return limits;
}

class TenantQuotaTest : public ::testing::Test {
 protected:
  // A repo whose tenant t1 stores three chunks (no quota on the core).
  void SetUp() override {
    repo_ = OpenTestRepo("quota");
    ASSERT_NE(repo_, nullptr);
    ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "a1", "t1", "/data"));
    ASSERT_OK(StoreChunks(*repo_->agent, job, {TestChunkId(1), TestChunkId(2), TestChunkId(3)}));
    ASSERT_OK_AND_ASSIGN(t1_, repo_->catalog->agents().TenantId("t1"));
    ASSERT_OK_AND_ASSIGN(stored_, repo_->catalog->chunks().TenantStoredBytes(t1_));
    ASSERT_GE(stored_, 3u * 64);
  }
  ChunkStore* chunks() { return &repo_->catalog->chunks(); }

  std::unique_ptr<TestRepo> repo_;
  TestClock clock_;
  int64_t t1_ = 0;
  uint64_t stored_ = 0;
};

TEST_F(TenantQuotaTest, NoQuotaLetsEverythingThrough) {
  TenantQuota quota(chunks(), v1::ServerLimits(), clock_.fn());
  EXPECT_EQ(quota.LimitOf("t1"), 0u);
  EXPECT_OK(quota.Charge(t1_, "t1", std::numeric_limits<uint64_t>::max()));
  EXPECT_OK(quota.Charge(t1_, "t1", std::numeric_limits<uint64_t>::max()));
}

TEST_F(TenantQuotaTest, PerTenantQuotasOverrideTheDefault) {
  v1::ServerLimits limits = Quota(1000);
  v1::TenantQuota* big = limits.add_tenant_quota();
  big->set_tenant("big");
  big->set_bytes(5 << 20);
  v1::TenantQuota* free = limits.add_tenant_quota();
  free->set_tenant("free");
  free->set_bytes(0);
  TenantQuota quota(chunks(), limits, clock_.fn());
  EXPECT_EQ(quota.LimitOf("t1"), 1000u);
  EXPECT_EQ(quota.LimitOf("big"), 5u << 20);
  EXPECT_EQ(quota.LimitOf("free"), 0u);
  EXPECT_OK(quota.Charge(99, "free", 1 << 30));
}

TEST_F(TenantQuotaTest, AChargePastTheQuotaNamesTheTenantAndTheQuota) {
  TenantQuota quota(chunks(), Quota(stored_ + 100), clock_.fn());
  ASSERT_OK(quota.Charge(t1_, "t1", 60));
  ASSERT_OK(quota.Charge(t1_, "t1", 40));  // exactly full
  absl::Status over = quota.Charge(t1_, "t1", 1);
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted) << over;
  EXPECT_THAT(over.message(), HasSubstr("tenant t1 has stored"));
  EXPECT_THAT(over.message(),
              HasSubstr(absl::StrCat(stored_ + 100, " bytes of its quota of ", stored_ + 100,
                                     " bytes (limits.tenant_quota")));
  EXPECT_OK(quota.Charge(t1_, "t1", 0));
}

TEST_F(TenantQuotaTest, LargeQuotasAreShownInMib) {
  TenantQuota quota(chunks(), Quota(3 << 20), clock_.fn());
  absl::Status over = quota.Charge(t1_, "t1", 3 << 20);
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted) << over;
  EXPECT_THAT(over.message(), HasSubstr("of its quota of 3.0 MiB"));
}

TEST_F(TenantQuotaTest, AChargeThatWouldWrapIsRefused) {
  TenantQuota quota(chunks(), Quota(stored_ + 100), clock_.fn());
  const uint64_t huge = std::numeric_limits<uint64_t>::max() - stored_ + 1;  // sum wraps to 0
  EXPECT_EQ(quota.Charge(t1_, "t1", huge).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(quota.Charge(t1_, "t1", std::numeric_limits<uint64_t>::max()).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_OK(quota.Charge(t1_, "t1", 100));  // the refused charges were not counted
}

TEST_F(TenantQuotaTest, TheCatalogIsCountedAgainAfterAMinute) {
  TenantQuota quota(chunks(), Quota(stored_ + 100), clock_.fn());
  ASSERT_OK(quota.Charge(t1_, "t1", 100));  // never stored
  EXPECT_EQ(quota.Charge(t1_, "t1", 1).code(), absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(quota.Charge(t1_, "t1", 1).code(), absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Seconds(2));
  // The recount sees only what the catalog holds.
  EXPECT_OK(quota.Charge(t1_, "t1", 100));
}

TEST_F(TenantQuotaTest, AQuotaBelowWhatIsStoredRefusesEverything) {
  TenantQuota quota(chunks(), Quota(stored_ / 2), clock_.fn());
  EXPECT_EQ(quota.Charge(t1_, "t1", 1).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(quota.Charge(t1_, "t1", 0).code(), absl::StatusCode::kResourceExhausted);
  // Another tenant has nothing stored.
  ASSERT_OK_AND_ASSIGN(int64_t t2, repo_->catalog->agents().TenantId("t2"));
  EXPECT_OK(quota.Charge(t2, "t2", stored_ / 2));
}

TEST(TenantQuotaIngestTest, AnUploadPastTheQuotaIsRefused) {
  CoreOptions options;
  options.limits = Quota(200);
  std::unique_ptr<TestRepo> repo = OpenTestRepo("quota_ingest", std::move(options));
  ASSERT_NE(repo, nullptr);
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo->agent, "a1", "t1", "/data"));
  std::vector<std::string> ids;
  for (uint64_t n = 0; n < 10; ++n) ids.push_back(TestChunkId(n));
  absl::Status status = StoreChunks(*repo->agent, job, ids);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr("tenant t1"));
  EXPECT_THAT(status.message(), HasSubstr("quota of 200 bytes"));
  ASSERT_OK_AND_ASSIGN(int64_t t1, repo->catalog->agents().TenantId("t1"));
  ASSERT_OK_AND_ASSIGN(uint64_t stored, repo->catalog->chunks().TenantStoredBytes(t1));
  EXPECT_LE(stored, 200u);
}

}  // namespace
}  // namespace cairn
