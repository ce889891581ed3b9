// CheckTenantKey and PeekTenantKey over a real catalog: the first check
// value of a tenant is recorded, the same one passes, another is refused
// with a message naming the tenant and both fingerprints; a check of the
// wrong size records nothing; Peek never records; tenants are independent;
// and of two first agents racing with different keys exactly one wins.
#include "server/auth/tenant_key.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

class TenantKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("tenant_key");
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(dir_ + "/catalog.db"));
  }
  void TearDown() override {
    catalog_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }
  AgentStore& agents() { return catalog_->agents(); }
  std::string Stored(absl::string_view tenant) {
    absl::StatusOr<std::string> stored = agents().KeyCheck(tenant);
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? *stored : "?";
  }

  std::string dir_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(TenantKeyTest, TheFirstCheckIsRecordedAndTheSamePasses) {
  const std::string key = TestKeyCheck("t1");
  EXPECT_EQ(Stored("t1"), "");
  ASSERT_OK(CheckTenantKey(agents(), "t1", key));
  EXPECT_EQ(Stored("t1"), key);
  EXPECT_OK(CheckTenantKey(agents(), "t1", key));
  EXPECT_OK(PeekTenantKey(agents(), "t1", key));
}

TEST_F(TenantKeyTest, AnotherKeyIsRefusedNamingTheTenantAndBothFingerprints) {
  const std::string key = TestKeyCheck("t1"), other = TestKeyCheck("t2");
  ASSERT_OK(CheckTenantKey(agents(), "t1", key));
  for (const absl::Status& s :
       {CheckTenantKey(agents(), "t1", other), PeekTenantKey(agents(), "t1", other)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_THAT(s.message(), HasSubstr("this is not tenant t1's key"));
    EXPECT_THAT(s.message(), HasSubstr(KeyCheckText(key)));
    EXPECT_THAT(s.message(), HasSubstr(KeyCheckText(other)));
  }
  EXPECT_EQ(Stored("t1"), key);
  // The other key is another tenant's own.
  EXPECT_OK(CheckTenantKey(agents(), "t2", other));
  EXPECT_EQ(Stored("t2"), other);
  EXPECT_EQ(Stored("t1"), key);
}

TEST_F(TenantKeyTest, AWrongSizeIsRefusedAndRecordsNothing) {
  for (const std::string& check :
       {std::string(), std::string(15, 'k'), std::string(17, 'k'), std::string(1 << 20, 'k')}) {
    absl::Status s = CheckTenantKey(agents(), "t1", check);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr("key_check must be 16 bytes"));
    EXPECT_EQ(PeekTenantKey(agents(), "t1", check).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Stored("t1"), "");
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AgentInfo> none, agents().List());
  EXPECT_TRUE(none.empty());
}

TEST_F(TenantKeyTest, PeekRecordsNothing) {
  const std::string key = TestKeyCheck("t1");
  ASSERT_OK(PeekTenantKey(agents(), "t1", key));
  EXPECT_EQ(Stored("t1"), "");
  ASSERT_OK(PeekTenantKey(agents(), "t1", TestKeyCheck("t9")));
  ASSERT_OK(CheckTenantKey(agents(), "t1", key));
  EXPECT_EQ(Stored("t1"), key);
}

TEST_F(TenantKeyTest, OfTwoRacingFirstChecksExactlyOneWins) {
  for (int round = 0; round < 20; ++round) {
    const std::string tenant = absl::StrCat("race-", round);
    const std::string keys[2] = {TestKeyCheck(tenant + "a"), TestKeyCheck(tenant + "b")};
    absl::Status results[2];
    absl::Notification go;
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        go.WaitForNotification();
        results[i] = CheckTenantKey(agents(), tenant, keys[i]);
      });
    }
    go.Notify();
    for (std::thread& t : threads) t.join();
    SCOPED_TRACE(tenant);
    ASSERT_NE(results[0].ok(), results[1].ok()) << results[0] << " / " << results[1];
    const int winner = results[0].ok() ? 0 : 1;
    EXPECT_EQ(results[1 - winner].code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(Stored(tenant), keys[winner]);
  }
}

}  // namespace
}  // namespace cairn
