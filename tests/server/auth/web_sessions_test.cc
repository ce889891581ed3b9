// Browser sessions: a login token works once and within five minutes, a
// session lasts twelve hours and carries the credential it came from, only
// admin credentials get tokens, and both maps stay bounded.
#include "server/auth/web_sessions.h"

#include <string>

#include "gtest/gtest.h"

namespace cairn {
namespace {

class WebSessionsTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  WebSessions sessions_{[this] { return now_; }};
  Caller viewer_ = [] {
    Caller c = Caller::Admin("alice", Role::kViewer);
    c.serial = "0a1b";
    return c;
  }();
};

TEST_F(WebSessionsTest, ATokenWorksOnceForASessionWithTheCaller) {
  absl::StatusOr<WebLogin> login = sessions_.NewLogin(viewer_);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->token.size(), 64u);
  EXPECT_EQ(login->expires, now_ + WebSessions::kLoginLifetime);
  absl::StatusOr<std::string> session = sessions_.Redeem(login->token);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_NE(*session, login->token);
  EXPECT_TRUE(absl::IsUnauthenticated(sessions_.Redeem(login->token).status()));
  std::optional<Caller> who = sessions_.Find(*session);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->name, "alice");
  EXPECT_EQ(who->role, Role::kViewer);
  EXPECT_EQ(who->serial, "0a1b");
  EXPECT_FALSE(sessions_.Find("nope").has_value());
  sessions_.End(*session);
  EXPECT_FALSE(sessions_.Find(*session).has_value());
}

TEST_F(WebSessionsTest, TokensAndSessionsExpire) {
  absl::StatusOr<WebLogin> late = sessions_.NewLogin(viewer_);
  absl::StatusOr<WebLogin> soon = sessions_.NewLogin(viewer_);
  ASSERT_TRUE(late.ok() && soon.ok());
  absl::StatusOr<std::string> session = sessions_.Redeem(soon->token);
  ASSERT_TRUE(session.ok());
  now_ += WebSessions::kLoginLifetime + absl::Seconds(1);
  EXPECT_TRUE(absl::IsUnauthenticated(sessions_.Redeem(late->token).status()));
  EXPECT_TRUE(sessions_.Find(*session).has_value());
  now_ += WebSessions::kSessionLifetime;
  EXPECT_FALSE(sessions_.Find(*session).has_value());
}

TEST_F(WebSessionsTest, OnlyAdminCredentialsGetTokens) {
  EXPECT_TRUE(absl::IsPermissionDenied(sessions_.NewLogin(Caller::Agent("gpu-1", "t1")).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(sessions_.NewLogin(Caller::Anonymous()).status()));
  EXPECT_TRUE(sessions_.NewLogin(Caller::Admin("root", Role::kAdmin)).ok());
}

TEST_F(WebSessionsTest, BothMapsAreBounded) {
  std::string first;
  for (size_t i = 0; i < WebSessions::kMaxLogins + 10; ++i) {
    absl::StatusOr<WebLogin> login = sessions_.NewLogin(viewer_);
    ASSERT_TRUE(login.ok());
    if (i == 0) first = login->token;
    now_ += absl::Milliseconds(1);
  }
  // The oldest went first.
  EXPECT_FALSE(sessions_.Redeem(first).ok());
  std::string first_session;
  for (size_t i = 0; i < WebSessions::kMaxSessions + 10; ++i) {
    absl::StatusOr<WebLogin> login = sessions_.NewLogin(viewer_);
    ASSERT_TRUE(login.ok());
    absl::StatusOr<std::string> s = sessions_.Redeem(login->token);
    ASSERT_TRUE(s.ok());
    if (i == 0) first_session = *s;
    now_ += absl::Milliseconds(1);
  }
  EXPECT_FALSE(sessions_.Find(first_session).has_value());
}

}  // namespace
}  // namespace cairn
