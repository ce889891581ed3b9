// Data sessions (server/auth/data_sessions.h): only agents open them; a call
// is admitted once, in any order within the replay window and never again;
// sessions end after their lifetime; an agent keeps at most kMaxPerPrincipal
// (its oldest go first); unknown ids are refused. Liveness of the
// certificate behind a session is tested against a real server in
// tests/server/rpc/data_channel_test.cc.
#include "server/auth/data_sessions.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

class DataSessionsTest : public ::testing::Test {
 protected:
  DataSessionGrant OpenFor(const std::string& agent) {
    Caller caller = Caller::Agent(agent, "t1");
    caller.serial = "0a" + agent;
    absl::StatusOr<DataSessionGrant> grant = sessions_.Open(caller);
    EXPECT_TRUE(grant.ok()) << grant.status();
    return grant.ok() ? *std::move(grant) : DataSessionGrant{};
  }
  absl::Status Admit(const DataSessionGrant& grant, uint64_t call) {
    return sessions_.Admit(absl::BytesToHexString(grant.id), call).status();
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  DataSessions sessions_{nullptr, [this] { return now_; }};
};

TEST_F(DataSessionsTest, AnAgentsSessionAdmitsItsCallsWithItsKey) {
  DataSessionGrant grant = OpenFor("a1");
  EXPECT_EQ(grant.id.size(), 16u);
  ASSERT_NE(grant.key, nullptr);
  EXPECT_EQ(grant.expires, now_ + DataSessions::kLifetime);
  absl::StatusOr<DataCallGrant> call = sessions_.Admit(absl::BytesToHexString(grant.id), 1);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->caller.name, "a1");
  EXPECT_EQ(call->caller.tenant, "t1");
  EXPECT_EQ(call->call, 1u);
  EXPECT_TRUE(call->key->Equals(*grant.key));
  EXPECT_EQ(sessions_.calls_admitted(), 1u);
}

TEST_F(DataSessionsTest, OnlyAgentsOpenSessions) {
  absl::StatusOr<DataSessionGrant> admin = sessions_.Open(Caller::Admin("root", Role::kAdmin));
  EXPECT_TRUE(absl::IsPermissionDenied(admin.status())) << admin.status();
  EXPECT_TRUE(absl::IsPermissionDenied(sessions_.Open(Caller::Anonymous()).status()));
  EXPECT_EQ(sessions_.size(), 0u);
}

TEST_F(DataSessionsTest, ACallIsAdmittedOnceInAnyOrderWithinTheWindow) {
  DataSessionGrant grant = OpenFor("a1");
  ASSERT_TRUE(Admit(grant, 5).ok());
  ASSERT_TRUE(Admit(grant, 3).ok());  // late, but new
  ASSERT_TRUE(Admit(grant, 4).ok());
  for (uint64_t used : {3, 4, 5}) {
    absl::Status again = Admit(grant, used);
    EXPECT_TRUE(absl::IsUnauthenticated(again)) << again;
    EXPECT_THAT(again.message(), HasSubstr("used before"));
  }
  EXPECT_TRUE(absl::IsUnauthenticated(Admit(grant, 0)));
  ASSERT_TRUE(Admit(grant, 5 + DataSessions::kReplayWindow).ok());
  // 5 is now out of the window: refused as too old, not admitted again.
  absl::Status old = Admit(grant, 5);
  EXPECT_TRUE(absl::IsUnauthenticated(old)) << old;
  EXPECT_THAT(old.message(), HasSubstr("too far behind"));
  absl::Status behind = Admit(grant, 6);  // inside the window, never used
  EXPECT_TRUE(behind.ok()) << behind;
  // A jump past the whole window forgets the old bits, not the new call.
  ASSERT_TRUE(Admit(grant, 100000).ok());
  EXPECT_TRUE(absl::IsUnauthenticated(Admit(grant, 100000)));
  EXPECT_TRUE(Admit(grant, 99999).ok());
}

TEST_F(DataSessionsTest, ASessionEndsAfterItsLifetime) {
  DataSessionGrant grant = OpenFor("a1");
  now_ += DataSessions::kLifetime - absl::Seconds(1);
  EXPECT_TRUE(Admit(grant, 1).ok());
  now_ += absl::Seconds(1);
  absl::Status expired = Admit(grant, 2);
  EXPECT_TRUE(absl::IsUnauthenticated(expired)) << expired;
  EXPECT_THAT(expired.message(), HasSubstr("expired"));
  EXPECT_EQ(sessions_.size(), 0u);
}

TEST_F(DataSessionsTest, UnknownSessionsAreRefused) {
  OpenFor("a1");
  EXPECT_TRUE(absl::IsUnauthenticated(sessions_.Admit("", 1).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(sessions_.Admit(std::string(32, '0'), 1).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(sessions_.Admit("not hex at all", 1).status()));
}

TEST_F(DataSessionsTest, AnAgentKeepsAtMostItsCapTheOldestGoFirst) {
  std::vector<DataSessionGrant> grants;
  for (size_t i = 0; i < DataSessions::kMaxPerPrincipal + 2; ++i) {
    grants.push_back(OpenFor("a1"));
    now_ += absl::Seconds(1);
  }
  DataSessionGrant other = OpenFor("a2");
  EXPECT_EQ(sessions_.size(), DataSessions::kMaxPerPrincipal + 1);
  EXPECT_TRUE(absl::IsUnauthenticated(Admit(grants[0], 1)));
  EXPECT_TRUE(absl::IsUnauthenticated(Admit(grants[1], 1)));
  for (size_t i = 2; i < grants.size(); ++i) EXPECT_TRUE(Admit(grants[i], 1).ok()) << i;
  EXPECT_TRUE(Admit(other, 1).ok());
}

}  // namespace
}  // namespace cairn
