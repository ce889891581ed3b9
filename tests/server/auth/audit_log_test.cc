// AuditLog over a real catalog's audit table, with a clock the test sets:
// successful and refused calls are recorded with who, peer, method, resource
// and outcome (hostile text made valid and bounded); refusals are limited to
// 100 per ten seconds, the rest counted and recorded as one summary entry
// when the next window opens, while successes are never limited.
#include "server/auth/audit_log.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "tests/server/server_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kMethod[] = "/cairn.v1.AdminService/Prune";

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("audit");
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(dir_ + "/catalog.db"));
    log_ = std::make_unique<AuditLog>(&catalog_->audit(),
                                      [this] { return absl::FromUnixMillis(now_ms_.load()); });
  }
  void TearDown() override {
    log_.reset();
    catalog_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }

  std::vector<v1::AuditEntry> Entries() {
    std::vector<v1::AuditEntry> all;
    v1::ListAuditRequest request;
    request.set_limit(1000);
    while (true) {
      absl::StatusOr<std::vector<v1::AuditEntry>> page = catalog_->audit().List(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || page->empty()) return all;
      request.set_after_id(page->back().id());
      for (v1::AuditEntry& e : *page) all.push_back(std::move(e));
    }
  }
  void Refuse(int times) {
    for (int i = 0; i < times; ++i) {
      log_->Record(Caller::Anonymous(), "ipv4:10.0.0.9:5000", kMethod, absl::StrCat("n=", i),
                   absl::UnauthenticatedError("no"));
    }
  }

  std::string dir_;
  std::unique_ptr<Catalog> catalog_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, RecordsSuccessesAndRefusalsWithTheirDetails) {
  log_->Record(Caller::Admin("alice", Role::kAdmin), "ipv4:127.0.0.1:4000", kMethod, "agent=gpu-07",
               absl::OkStatus());
  now_ms_ += 5;
  log_->Record(Caller::Agent("gpu-07", "t1"), "ipv6:[::1]:4001",
               "/cairn.v1.AccessService/ListAudit", "",
               absl::PermissionDeniedError("needs the admin role"));
  std::vector<v1::AuditEntry> entries = Entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].who(), "admin:alice");
  EXPECT_EQ(entries[0].peer(), "ipv4:127.0.0.1:4000");
  EXPECT_EQ(entries[0].method(), kMethod);
  EXPECT_EQ(entries[0].resource(), "agent=gpu-07");
  EXPECT_EQ(entries[0].code(), "OK");
  EXPECT_EQ(entries[0].time_unix_ms(), 1'700'000'000'000);
  EXPECT_EQ(entries[1].who(), "agent:t1/gpu-07");
  EXPECT_EQ(entries[1].code(), "PERMISSION_DENIED");
  EXPECT_EQ(entries[1].message(), "needs the admin role");
  EXPECT_EQ(entries[1].time_unix_ms(), 1'700'000'000'005);
  EXPECT_LT(entries[0].id(), entries[1].id());
}

TEST_F(AuditLogTest, HostileTextIsStoredValidAndBounded) {
  const std::string not_utf8("\xff\xfe/etc\x80", 8);
  log_->Record(Caller::Anonymous(), not_utf8, std::string(10000, 'm'), not_utf8,
               absl::InvalidArgumentError(std::string(100000, 'x')));
  std::vector<v1::AuditEntry> entries = Entries();
  ASSERT_EQ(entries.size(), 1u);
  const v1::AuditEntry& e = entries[0];
  EXPECT_EQ(e.who(), "anonymous");
  EXPECT_FALSE(e.peer().empty());
  EXPECT_NE(e.peer(), not_utf8);
  EXPECT_THAT(e.peer(), HasSubstr("/etc"));
  EXPECT_LE(e.method().size(), 512u);
  EXPECT_LE(e.message().size(), 512u);
  EXPECT_THAT(e.method(), StartsWith("mmmm"));
  EXPECT_EQ(e.code(), "INVALID_ARGUMENT");
}

TEST_F(AuditLogTest, RefusalsBeyondTheLimitAreCountedThenSummarized) {
  Refuse(AuditLog::kMaxRefusalsPerWindow + 50);
  EXPECT_EQ(Entries().size(), 100u);
  EXPECT_EQ(log_->suppressed_total(), 50u);
  // Successes are recorded however many refusals there were.
  log_->Record(Caller::Admin("alice", Role::kAdmin), "p", kMethod, "", absl::OkStatus());
  EXPECT_EQ(Entries().size(), 101u);

  // Still inside the window: counted.
  now_ms_ += absl::ToInt64Milliseconds(AuditLog::kWindow) - 1;
  Refuse(1);
  EXPECT_EQ(log_->suppressed_total(), 51u);
  EXPECT_EQ(Entries().size(), 101u);

  // The next window: one summary of the 51, then the refusal itself.
  now_ms_ += 1;
  Refuse(1);
  std::vector<v1::AuditEntry> entries = Entries();
  ASSERT_EQ(entries.size(), 103u);
  EXPECT_EQ(entries[101].who(), "server");
  EXPECT_EQ(entries[101].code(), "RESOURCE_EXHAUSTED");
  EXPECT_THAT(entries[101].message(), StartsWith("51 more failed or refused calls"));
  EXPECT_EQ(entries[102].resource(), "n=0");
  EXPECT_EQ(entries[102].code(), "UNAUTHENTICATED");
  EXPECT_EQ(log_->suppressed_total(), 51u);

  // The new window admits 100 again (one used above).
  Refuse(99);
  EXPECT_EQ(Entries().size(), 202u);
  Refuse(1);
  EXPECT_EQ(Entries().size(), 202u);
  EXPECT_EQ(log_->suppressed_total(), 52u);
}

TEST_F(AuditLogTest, TheCountIsRecordedWhenTheNextWindowOpensWhateverComesNext) {
  Refuse(AuditLog::kMaxRefusalsPerWindow + 7);
  now_ms_ += absl::ToInt64Milliseconds(AuditLog::kWindow);
  // No refusal follows, only an admin's successful call: the count of the
  // window before must not wait for the next attacker.
  log_->Record(Caller::Admin("alice", Role::kAdmin), "p", kMethod, "", absl::OkStatus());
  std::vector<v1::AuditEntry> entries = Entries();
  ASSERT_EQ(entries.size(), 102u);
  EXPECT_EQ(entries[100].who(), "server");
  EXPECT_THAT(entries[100].message(), StartsWith("7 more"));
  EXPECT_EQ(entries[101].who(), "admin:alice");
  // Written once.
  Refuse(1);
  EXPECT_EQ(Entries().size(), 103u);
}

TEST_F(AuditLogTest, AWindowWithoutSuppressedRefusalsWritesNoSummary) {
  Refuse(AuditLog::kMaxRefusalsPerWindow);
  now_ms_ += absl::ToInt64Milliseconds(AuditLog::kWindow);
  Refuse(1);
  std::vector<v1::AuditEntry> entries = Entries();
  ASSERT_EQ(entries.size(), 101u);
  for (const v1::AuditEntry& e : entries) EXPECT_EQ(e.who(), "anonymous");
  EXPECT_EQ(log_->suppressed_total(), 0u);
}

}  // namespace
}  // namespace cairn
