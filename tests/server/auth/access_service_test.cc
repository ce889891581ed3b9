// AccessService's management calls on a real ServerCore with its own CA:
// join tokens (create with defaults and bounds, list, delete), approval and
// revocation of agents (taking effect on the next call), admin credentials
// (create, list, revoke, never the last admin), the live-admin check, and
// that every one of them needs the admin role.
#include "server/auth/access_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/join_token.h"
#include "common/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/auth/access_service_test_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::AgentAccessRequest AgentRequest(const std::string& agent) {
  v1::AgentAccessRequest r;
  r.set_agent(agent);
  return r;
}

TEST_F(AccessServiceTest, ATokenGetsItsDefaultsAndIsListedWithoutItsSecret) {
  v1::CreateJoinTokenRequest request;
  request.set_tenant("t1");
  ASSERT_OK_AND_ASSIGN(v1::CreateJoinTokenResponse created,
                       access().CreateJoinToken(admin_, request));
  const int64_t now = absl::ToUnixMillis(clock_.fn()());
  const v1::JoinToken& info = created.info();
  EXPECT_EQ(info.tenant(), "t1");
  EXPECT_EQ(info.agent_glob(), "*");
  EXPECT_EQ(info.uses_left(), 1u);
  EXPECT_FALSE(info.needs_approval());
  EXPECT_EQ(info.created_by(), "admin:root");
  EXPECT_NEAR(info.expires_unix_ms(), now + 3600 * 1000, 5000);
  ASSERT_OK_AND_ASSIGN(JoinTokenParts parts, ParseJoinToken(created.token()));
  EXPECT_EQ(parts.id, info.id());
  EXPECT_EQ(parts.ca_fingerprint, pki_->ca_fingerprint);

  ASSERT_OK_AND_ASSIGN(v1::ListJoinTokensResponse list, access().ListJoinTokens(admin_));
  ASSERT_EQ(list.tokens_size(), 1);
  EXPECT_EQ(list.tokens(0).id(), info.id());
  EXPECT_EQ(list.tokens(0).tenant(), "t1");
  EXPECT_THAT(list.SerializeAsString(), ::testing::Not(HasSubstr(parts.secret)));
}

TEST_F(AccessServiceTest, TokenBoundsAreEnforced) {
  auto create = [&](auto set) {
    v1::CreateJoinTokenRequest r;
    r.set_tenant("t1");
    set(r);
    return access().CreateJoinToken(admin_, r).status();
  };
  EXPECT_OK(create([](auto& r) { r.set_ttl_seconds(30 * 24 * 3600); }));
  EXPECT_OK(create([](auto& r) { r.set_uses(10000); }));
  EXPECT_OK(create([](auto& r) { r.set_agent_glob("gpu-[0-9]?.*"); }));
  for (absl::Status s :
       {create([](auto& r) { r.set_ttl_seconds(30 * 24 * 3600 + 1); }),
        create([](auto& r) { r.set_uses(10001); }),
        create([](auto& r) { r.set_agent_glob("a/b"); }),
        create([](auto& r) { r.set_agent_glob(std::string(65, '*')); }),
        create([](auto& r) { r.set_tenant(""); }), create([](auto& r) { r.set_tenant("../t"); })}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
  ASSERT_OK_AND_ASSIGN(v1::ListJoinTokensResponse list, access().ListJoinTokens(admin_));
  EXPECT_EQ(list.tokens_size(), 3);
}

TEST_F(AccessServiceTest, ExpiredTokensAreNotListedAndDeletedOnesAreGone) {
  ASSERT_FALSE(Token("t1", "*", 1, false, 60).empty());
  const std::string other = Token("t2");
  ASSERT_OK_AND_ASSIGN(JoinTokenParts parts, ParseJoinToken(other));
  clock_.Advance(absl::Seconds(61));
  ASSERT_OK_AND_ASSIGN(v1::ListJoinTokensResponse list, access().ListJoinTokens(admin_));
  ASSERT_EQ(list.tokens_size(), 1);
  EXPECT_EQ(list.tokens(0).id(), parts.id);

  v1::DeleteJoinTokenRequest del;
  del.set_id(parts.id);
  ASSERT_OK(access().DeleteJoinToken(admin_, del).status());
  ASSERT_OK_AND_ASSIGN(list, access().ListJoinTokens(admin_));
  EXPECT_THAT(list.tokens(), IsEmpty());
  EXPECT_EQ(access().DeleteJoinToken(admin_, del).status().code(), absl::StatusCode::kNotFound);
  del.set_id("");
  EXPECT_EQ(access().DeleteJoinToken(admin_, del).status().code(),
            absl::StatusCode::kInvalidArgument);
  del.set_id(std::string(65, 'a'));
  EXPECT_EQ(access().DeleteJoinToken(admin_, del).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AccessServiceTest, EveryManagementCallNeedsTheAdminRole) {
  v1::CreateJoinTokenRequest token;
  token.set_tenant("t1");
  v1::CreateCredentialRequest credential;
  credential.set_name("x");
  credential.set_role(v1::ROLE_VIEWER);
  v1::RevokeCredentialRequest revoke_credential;
  revoke_credential.set_name("x");
  v1::DeleteJoinTokenRequest del;
  del.set_id("abc");
  for (const Caller& caller :
       {Caller::Admin("op", Role::kOperator), Caller::Agent("a1", "t1"), Caller::Anonymous()}) {
    SCOPED_TRACE(caller.Describe());
    std::vector<absl::Status> statuses = {
        access().CreateJoinToken(caller, token).status(),
        access().ListJoinTokens(caller).status(),
        access().DeleteJoinToken(caller, del).status(),
        access().ApproveAgent(caller, AgentRequest("a1")).status(),
        access().RevokeAgent(caller, AgentRequest("a1")).status(),
        access().CreateCredential(caller, credential).status(),
        access().ListCredentials(caller).status(),
        access().RevokeCredential(caller, revoke_credential).status(),
        access().ListAudit(caller, v1::ListAuditRequest()).status()};
    for (const absl::Status& s : statuses) {
      EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
      EXPECT_THAT(s.message(), HasSubstr("needs the admin role"));
    }
  }
  EXPECT_EQ(Rows("join_tokens"), 0);
  EXPECT_EQ(Rows("certificates"), 0);
}

TEST_F(AccessServiceTest, ApprovalTakesEffectOnTheNextCall) {
  const std::string cert = EnrollNew("a1", "t1", /*needs_approval=*/true);
  Authenticator& auth = repo_->core->authenticator();
  ASSERT_OK_AND_ASSIGN(Caller before, auth.Identify(cert));
  EXPECT_FALSE(before.approved);
  ASSERT_OK_AND_ASSIGN(v1::AgentAccessResponse approved,
                       access().ApproveAgent(admin_, AgentRequest("a1")));
  EXPECT_EQ(approved.access(), v1::AGENT_ACCESS_ENROLLED);
  ASSERT_OK_AND_ASSIGN(Caller after, auth.Identify(cert));
  EXPECT_TRUE(after.approved);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, catalog().agents().Get("a1"));
  EXPECT_EQ(agent->access(), v1::AGENT_ACCESS_ENROLLED);
  // Approving again is harmless; an unknown or bad name is not.
  EXPECT_OK(access().ApproveAgent(admin_, AgentRequest("a1")).status());
  EXPECT_EQ(access().ApproveAgent(admin_, AgentRequest("nobody")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(access().ApproveAgent(admin_, AgentRequest("a/b")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AccessServiceTest, ARevokedAgentIsRefusedOnItsNextCall) {
  const std::string cert = EnrollNew("a1", "t1");
  const std::string other = EnrollNew("a2", "t1");
  Authenticator& auth = repo_->core->authenticator();
  ASSERT_OK(auth.Identify(cert).status());  // now cached
  ASSERT_OK_AND_ASSIGN(v1::AgentAccessResponse revoked,
                       access().RevokeAgent(admin_, AgentRequest("a1")));
  EXPECT_EQ(revoked.access(), v1::AGENT_ACCESS_REVOKED);
  absl::StatusOr<Caller> after = auth.Identify(cert);
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnauthenticated) << after.status();
  EXPECT_THAT(after.status().message(), HasSubstr("agent a1 was revoked"));
  EXPECT_OK(auth.Identify(other).status());  // revoking a1 leaves a2 alone
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, catalog().agents().Get("a1"));
  EXPECT_EQ(agent->access(), v1::AGENT_ACCESS_REVOKED);
  EXPECT_EQ(access().ApproveAgent(admin_, AgentRequest("a1")).status().code(),
            absl::StatusCode::kNotFound)
      << "approval brought a revoked agent back";
  EXPECT_EQ(access().RevokeAgent(admin_, AgentRequest("nobody")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AccessServiceTest, ACredentialIsSignedListedAndUnique) {
  ASSERT_OK_AND_ASSIGN(std::string key, GeneratePrivateKeyPem());
  ASSERT_OK_AND_ASSIGN(std::string csr, MakeCsrPem(key));
  v1::CreateCredentialRequest request;
  request.set_name("alice");
  request.set_role(v1::ROLE_OPERATOR);
  request.set_csr_pem(csr);
  ASSERT_OK_AND_ASSIGN(v1::CreateCredentialResponse created,
                       access().CreateCredential(admin_, request));
  EXPECT_EQ(created.ca_cert_pem(), pki_->ca_cert_pem);
  EXPECT_EQ(created.server_name(), "cairn-server");
  ASSERT_OK_AND_ASSIGN(Caller alice, repo_->core->authenticator().Identify(created.cert_pem()));
  EXPECT_EQ(alice.kind, Caller::Kind::kAdmin);
  EXPECT_EQ(alice.name, "alice");
  EXPECT_EQ(alice.role, Role::kOperator);
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(created.cert_pem()));
  EXPECT_GT(info.not_after, absl::Now() + absl::Hours(24 * 364));  // default: a year

  ASSERT_OK_AND_ASSIGN(v1::ListCredentialsResponse list, access().ListCredentials(admin_));
  ASSERT_EQ(list.credentials_size(), 1);
  EXPECT_EQ(list.credentials(0).name(), "alice");
  EXPECT_EQ(list.credentials(0).role(), v1::ROLE_OPERATOR);
  EXPECT_EQ(list.credentials(0).created_by(), "admin:root");
  EXPECT_FALSE(list.credentials(0).revoked());

  absl::StatusOr<v1::CreateCredentialResponse> again = access().CreateCredential(admin_, request);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
  EXPECT_THAT(again.status().message(), HasSubstr("credential alice exists"));
}

TEST_F(AccessServiceTest, BadCredentialRequestsWriteNothing) {
  ASSERT_OK_AND_ASSIGN(std::string key, GeneratePrivateKeyPem());
  ASSERT_OK_AND_ASSIGN(std::string csr, MakeCsrPem(key));
  auto create = [&](auto set) {
    v1::CreateCredentialRequest r;
    r.set_name("bob");
    r.set_role(v1::ROLE_VIEWER);
    r.set_csr_pem(csr);
    set(r);
    return access().CreateCredential(admin_, r).status();
  };
  for (absl::Status s :
       {create([](auto& r) { r.set_role(v1::ROLE_UNSPECIFIED); }),
        create([](auto& r) { r.set_role(static_cast<v1::Role>(7)); }),
        create([](auto& r) { r.set_ttl_days(3651); }),
        create([](auto& r) { r.set_name("../bob"); }), create([](auto& r) { r.set_csr_pem(""); }),
        create([](auto& r) { r.set_csr_pem("not a csr"); }),
        create([](auto& r) { r.set_csr_pem(std::string(kMaxPemBytes + 1, 'A')); })}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
  EXPECT_EQ(Rows("certificates"), 0);
}

TEST_F(AccessServiceTest, TheLastAdminCredentialCannotBeRevoked) {
  const std::string alice = AdminCertificate("alice", v1::ROLE_ADMIN);
  const std::string viewer = AdminCertificate("vera", v1::ROLE_VIEWER);
  v1::RevokeCredentialRequest request;
  request.set_name("alice");
  absl::Status last = access().RevokeCredential(admin_, request).status();
  EXPECT_EQ(last.code(), absl::StatusCode::kFailedPrecondition) << last;
  EXPECT_THAT(last.message(), HasSubstr("alice is the last admin credential"));
  ASSERT_OK(repo_->core->authenticator().Identify(alice).status());

  // A viewer may go; with a second admin, so may alice.
  request.set_name("vera");
  ASSERT_OK(access().RevokeCredential(admin_, request).status());
  EXPECT_EQ(repo_->core->authenticator().Identify(viewer).status().code(),
            absl::StatusCode::kUnauthenticated);
  AdminCertificate("bob", v1::ROLE_ADMIN);
  request.set_name("alice");
  ASSERT_OK(access().RevokeCredential(admin_, request).status());
  absl::StatusOr<Caller> gone = repo_->core->authenticator().Identify(alice);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kUnauthenticated) << gone.status();
  EXPECT_THAT(gone.status().message(), HasSubstr("credential alice was revoked"));
  request.set_name("bob");
  EXPECT_EQ(access().RevokeCredential(admin_, request).status().code(),
            absl::StatusCode::kFailedPrecondition);
  request.set_name("alice");
  EXPECT_EQ(access().RevokeCredential(admin_, request).status().code(),
            absl::StatusCode::kNotFound);

  ASSERT_OK_AND_ASSIGN(v1::ListCredentialsResponse list, access().ListCredentials(admin_));
  int revoked = 0;
  for (const v1::Credential& c : list.credentials()) revoked += c.revoked() ? 1 : 0;
  EXPECT_EQ(list.credentials_size(), 3);
  EXPECT_EQ(revoked, 2);
}

TEST_F(AccessServiceTest, AnExpiredAdminIsNoLiveAdmin) {
  ASSERT_OK_AND_ASSIGN(bool none, access().HasLiveAdmin());
  EXPECT_FALSE(none);
  AdminCertificate("vera", v1::ROLE_VIEWER);
  ASSERT_OK_AND_ASSIGN(bool viewer_only, access().HasLiveAdmin());
  EXPECT_FALSE(viewer_only);
  AdminCertificate("alice", v1::ROLE_ADMIN);  // valid 24 hours
  ASSERT_OK_AND_ASSIGN(bool live, access().HasLiveAdmin());
  EXPECT_TRUE(live);
  clock_.Advance(absl::Hours(25));
  ASSERT_OK_AND_ASSIGN(bool expired, access().HasLiveAdmin());
  EXPECT_FALSE(expired);
}

TEST_F(AccessServiceTest, TheAuditLogIsListedWithBoundedPages) {
  repo_->core->audit().Record(Caller::Admin("root", Role::kAdmin), "ipv4:127.0.0.1:1",
                              "/cairn.v1.AdminService/Prune", "", absl::OkStatus());
  ASSERT_OK_AND_ASSIGN(v1::ListAuditResponse list, access().ListAudit(admin_, {}));
  ASSERT_EQ(list.entries_size(), 1);
  EXPECT_EQ(list.entries(0).method(), "/cairn.v1.AdminService/Prune");
  v1::ListAuditRequest big;
  big.set_limit(1001);
  EXPECT_EQ(access().ListAudit(admin_, big).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn
