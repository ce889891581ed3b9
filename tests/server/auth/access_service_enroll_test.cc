// AccessService::Enroll and RenewCertificate (server/auth/enrollment.cc) on a
// real ServerCore with its own CA: a join token's tenant, glob, uses and
// expiry are enforced; a key of another tenant, a name already enrolled or
// of another tenant and the agents-per-tenant cap are refused; every refused
// enrollment, hostile input included, leaves no row behind (certificates,
// agents, tenants) and does not spend the token; renewal signs a new
// certificate for the caller only.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/join_token.h"
#include "common/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/auth/access_service_test_util.h"
#include "tests/server/tls_test_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

class EnrollTest : public AccessServiceTest {};

TEST_F(EnrollTest, EnrollmentSignsACertificateForTheTokensTenant) {
  const std::string token = Token("t1", "gpu-*");
  ASSERT_OK_AND_ASSIGN(v1::EnrollResponse e, Enroll(token, "gpu-1", "t1"));
  EXPECT_EQ(e.tenant(), "t1");
  EXPECT_EQ(e.agent(), "gpu-1");
  EXPECT_FALSE(e.needs_approval());
  EXPECT_EQ(e.server_name(), "cairn-server");
  EXPECT_EQ(e.ca_cert_pem(), pki_->ca_cert_pem);
  EXPECT_OK(VerifyCertificate(e.cert_pem(), pki_->ca_cert_pem, absl::Now(), /*client=*/true));
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(e.cert_pem()));
  EXPECT_EQ(info.common_name, "gpu-1");

  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> record,
                       catalog().access().GetCertificate(info.serial));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->kind, PrincipalKind::kAgent);
  EXPECT_EQ(record->name, "gpu-1");
  EXPECT_EQ(record->tenant, "t1");
  EXPECT_FALSE(record->pending);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, catalog().agents().Get("gpu-1"));
  ASSERT_TRUE(agent.has_value());
  EXPECT_EQ(agent->tenant(), "t1");
  EXPECT_EQ(agent->hostname(), "gpu-1.example");
  EXPECT_EQ(agent->access(), v1::AGENT_ACCESS_ENROLLED);
  EXPECT_EQ(agent->certificate_expires_unix_ms(), absl::ToUnixMillis(info.not_after));
  EXPECT_EQ(UsesLeft(token), 0);
  ASSERT_OK_AND_ASSIGN(std::string key_check, catalog().agents().KeyCheck("t1"));
  EXPECT_EQ(key_check, TestKeyCheck("t1"));
}

// Everything an enrollment may change, to compare before and after a refusal.
struct Footprint {
  int64_t certificates, agents, tenants, uses_left;
};

class RefusedEnrollTest : public EnrollTest {
 protected:
  void SetUp() override {
    EnrollTest::SetUp();
    ASSERT_FALSE(EnrollNew("a1", "t1").empty());
  }
  Footprint Now(const std::string& token) {
    return {Rows("certificates"), Rows("agents"), Rows("tenants"), UsesLeft(token)};
  }
  // Enrolls with `request`, expects `code` and a message with `text`, and no
  // change to the catalog or the token.
  void ExpectRefused(const v1::EnrollRequest& request, absl::StatusCode code,
                     absl::string_view text) {
    SCOPED_TRACE(text);
    const Footprint before = Now(request.token());
    absl::StatusOr<v1::EnrollResponse> e = access().Enroll(Caller::Anonymous(), request);
    EXPECT_EQ(e.status().code(), code) << e.status();
    EXPECT_THAT(e.status().message(), HasSubstr(text));
    const Footprint after = Now(request.token());
    EXPECT_EQ(after.certificates, before.certificates);
    EXPECT_EQ(after.agents, before.agents);
    EXPECT_EQ(after.tenants, before.tenants);
    EXPECT_EQ(after.uses_left, before.uses_left) << "a refused enrollment spent the token";
  }
};

TEST_F(RefusedEnrollTest, AGlobMismatchNamesBoth) {
  ExpectRefused(EnrollRequest(Token("t1", "gpu-*"), "db-1", "t1"),
                absl::StatusCode::kPermissionDenied, "allows agents named 'gpu-*', not 'db-1'");
}

TEST_F(RefusedEnrollTest, AnotherKeyNamesTheTenant) {
  ExpectRefused(EnrollRequest(Token("t1"), "a2", "t1", TestKeyCheck("another")),
                absl::StatusCode::kFailedPrecondition, "this is not tenant t1's key");
}

TEST_F(RefusedEnrollTest, ANameAlreadyEnrolledIsRefused) {
  ExpectRefused(EnrollRequest(Token("t1"), "a1", "t1"), absl::StatusCode::kAlreadyExists,
                "agent a1 is already enrolled");
}

TEST_F(RefusedEnrollTest, ANameOfAnotherTenantIsRefusedAndNoTenantIsMade) {
  ExpectRefused(EnrollRequest(Token("t2"), "a1", "t2"), absl::StatusCode::kFailedPrecondition,
                "belongs to tenant t1");
}

TEST_F(RefusedEnrollTest, AUsedUpTokenIsRefused) {
  const std::string token = Token("t1", "*", 1);
  ASSERT_OK(Enroll(token, "a2", "t1").status());
  ExpectRefused(EnrollRequest(token, "a3", "t1"), absl::StatusCode::kUnauthenticated,
                "join token not valid");
}

TEST_F(RefusedEnrollTest, AnExpiredTokenIsRefused) {
  const std::string token = Token("t1", "*", 5, false, /*ttl_seconds=*/60);
  clock_.Advance(absl::Seconds(61));
  ExpectRefused(EnrollRequest(token, "a2", "t1"), absl::StatusCode::kUnauthenticated,
                "join token not valid");
}

TEST_F(RefusedEnrollTest, ADeletedTokenIsRefused) {
  const std::string token = Token("t1");
  ASSERT_OK_AND_ASSIGN(JoinTokenParts parts, ParseJoinToken(token));
  v1::DeleteJoinTokenRequest del;
  del.set_id(parts.id);
  ASSERT_OK(access().DeleteJoinToken(admin_, del).status());
  ExpectRefused(EnrollRequest(token, "a2", "t1"), absl::StatusCode::kUnauthenticated,
                "join token not valid");
}

TEST_F(RefusedEnrollTest, HostileTokensAreRefused) {
  ASSERT_OK_AND_ASSIGN(JoinTokenParts parts, ParseJoinToken(Token("t1")));
  JoinTokenParts wrong_secret = parts;
  wrong_secret.secret = std::string(32, '0');
  ExpectRefused(EnrollRequest(FormatJoinToken(wrong_secret), "a2", "t1"),
                absl::StatusCode::kUnauthenticated, "join token not valid");
  JoinTokenParts other_ca = parts;
  other_ca.ca_fingerprint = "sha256:" + std::string(64, 'a');
  ExpectRefused(EnrollRequest(FormatJoinToken(other_ca), "a2", "t1"),
                absl::StatusCode::kUnauthenticated, "made for another server");
  for (const std::string& junk : {std::string(), std::string("cairn1.zz"), std::string(5000, 'x'),
                                  std::string("cairn1.\0\0\0", 10)}) {
    ExpectRefused(EnrollRequest(junk, "a2", "t1"), absl::StatusCode::kUnauthenticated,
                  "join token not valid");
  }
}

TEST_F(RefusedEnrollTest, HostileRequestsAreRefusedWithoutSpendingTheToken) {
  const std::string token = Token("t3");
  v1::EnrollRequest bad_csr = EnrollRequest(token, "b1", "t3");
  bad_csr.set_csr_pem("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n");
  ExpectRefused(bad_csr, absl::StatusCode::kInvalidArgument, "");
  v1::EnrollRequest huge_csr = EnrollRequest(token, "b1", "t3");
  huge_csr.set_csr_pem(std::string(kMaxPemBytes + 1, 'A'));
  ExpectRefused(huge_csr, absl::StatusCode::kInvalidArgument, "csr_pem");
  ExpectRefused(EnrollRequest(token, "b1", "t3", "short"), absl::StatusCode::kInvalidArgument,
                "key_check must be 16 bytes");
  for (const char* name : {"", "../etc", "a/b", "a b"}) {
    ExpectRefused(EnrollRequest(token, name, "t3"), absl::StatusCode::kInvalidArgument, "");
  }
  v1::EnrollRequest long_host = EnrollRequest(token, "b1", "t3");
  long_host.set_hostname(std::string(256, 'h'));
  ExpectRefused(long_host, absl::StatusCode::kInvalidArgument, "host name");
  // The token still enrolls, once.
  ASSERT_OK(Enroll(token, "b1", "t3").status());
}

TEST_F(EnrollTest, TheAgentsPerTenantCapHoldsUntilOneIsRevoked) {
  v1::ServerLimits limits;
  limits.set_max_agents_per_tenant(2);
  Open(limits);
  ASSERT_FALSE(EnrollNew("a1", "t1").empty());
  ASSERT_FALSE(EnrollNew("a2", "t1").empty());
  ASSERT_FALSE(EnrollNew("b1", "t2").empty()) << "another tenant has its own count";
  const std::string token = Token("t1");
  const int64_t certificates = Rows("certificates");
  absl::StatusOr<v1::EnrollResponse> third = Enroll(token, "a3", "t1");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  EXPECT_THAT(third.status().message(), HasSubstr("tenant t1 has 2 agents"));
  EXPECT_THAT(third.status().message(), HasSubstr("max_agents_per_tenant (2)"));
  EXPECT_EQ(Rows("certificates"), certificates);
  EXPECT_EQ(UsesLeft(token), 1);

  v1::AgentAccessRequest revoke;
  revoke.set_agent("a1");
  ASSERT_OK(access().RevokeAgent(admin_, revoke).status());
  EXPECT_OK(Enroll(token, "a3", "t1").status());
}

TEST_F(EnrollTest, AMultiUseTokenEnrollsAsManyAgentsAsItHasUses) {
  const std::string token = Token("t1", "n-?", 2);
  ASSERT_OK(Enroll(token, "n-1", "t1").status());
  EXPECT_EQ(UsesLeft(token), 1);
  ASSERT_OK(Enroll(token, "n-2", "t1").status());
  EXPECT_EQ(UsesLeft(token), 0);
  EXPECT_EQ(Enroll(token, "n-3", "t1").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Rows("agents"), 2);
}

TEST_F(EnrollTest, ARevokedNameMayEnrollAgain) {
  ASSERT_FALSE(EnrollNew("a1", "t1").empty());
  v1::AgentAccessRequest revoke;
  revoke.set_agent("a1");
  ASSERT_OK(access().RevokeAgent(admin_, revoke).status());
  ASSERT_OK_AND_ASSIGN(v1::EnrollResponse again, Enroll(Token("t1"), "a1", "t1"));
  ASSERT_OK_AND_ASSIGN(Caller caller, repo_->core->authenticator().Identify(again.cert_pem()));
  EXPECT_EQ(caller.name, "a1");
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, catalog().agents().Get("a1"));
  EXPECT_EQ(agent->access(), v1::AGENT_ACCESS_ENROLLED);
}

TEST_F(EnrollTest, ATokenThatNeedsApprovalEnrollsAPendingAgent) {
  ASSERT_OK_AND_ASSIGN(v1::EnrollResponse e, Enroll(Token("t1", "*", 1, true), "a1", "t1"));
  EXPECT_TRUE(e.needs_approval());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, catalog().agents().Get("a1"));
  EXPECT_EQ(agent->access(), v1::AGENT_ACCESS_PENDING_APPROVAL);
  ASSERT_OK_AND_ASSIGN(Caller pending, repo_->core->authenticator().Identify(e.cert_pem()));
  EXPECT_FALSE(pending.approved);
}

TEST_F(EnrollTest, WithoutACaNothingCanEnroll) {
  std::unique_ptr<TestRepo> bare = OpenTestRepo("access_no_ca");
  ASSERT_NE(bare, nullptr);
  absl::StatusOr<v1::EnrollResponse> e =
      bare->core->access().Enroll(Caller::Anonymous(), EnrollRequest("x", "a1", "t1"));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition) << e.status();
  EXPECT_THAT(e.status().message(), HasSubstr("no CA"));
}

TEST_F(EnrollTest, RenewalSignsANewCertificateForTheCallingAgent) {
  const std::string first = EnrollNew("a1", "t1");
  ASSERT_OK_AND_ASSIGN(Caller caller, repo_->core->authenticator().Identify(first));
  v1::RenewCertificateRequest request;
  request.set_csr_pem(EnrollRequest("", "a1", "t1").csr_pem());
  ASSERT_OK_AND_ASSIGN(v1::RenewCertificateResponse renewed,
                       access().RenewCertificate(caller, request));
  ASSERT_OK_AND_ASSIGN(Caller again, repo_->core->authenticator().Identify(renewed.cert_pem()));
  EXPECT_EQ(again.kind, Caller::Kind::kAgent);
  EXPECT_EQ(again.name, "a1");
  EXPECT_EQ(again.tenant, "t1");
  EXPECT_NE(again.serial, caller.serial);
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> record,
                       catalog().access().GetCertificate(again.serial));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->created_by, absl::StrCat("renewal of ", caller.serial));
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(renewed.cert_pem()));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, catalog().agents().Get("a1"));
  EXPECT_EQ(agent->certificate_expires_unix_ms(), absl::ToUnixMillis(info.not_after));
}

// The old certificate keeps working until the renewal is first used (an
// agent that renewed and crashed before keeping the new file still gets in);
// from then on it is refused, saying what happened and what to do, and so is
// any other renewal of it.
TEST_F(EnrollTest, TheRenewalsFirstCallRetiresTheCertificateItReplaces) {
  const std::string first = EnrollNew("a1", "t1");
  Authenticator& auth = repo_->core->authenticator();
  ASSERT_OK_AND_ASSIGN(Caller caller, auth.Identify(first));
  v1::RenewCertificateRequest request;
  request.set_csr_pem(EnrollRequest("", "a1", "t1").csr_pem());
  ASSERT_OK_AND_ASSIGN(v1::RenewCertificateResponse renewed,
                       access().RenewCertificate(caller, request));
  // The renewal has not been used yet: the old certificate still works.
  ASSERT_OK(auth.Identify(first).status());
  // Whoever holds a copy of the old key can have a renewal made too, and
  // keep it unused.
  request.set_csr_pem(EnrollRequest("", "a1", "t1").csr_pem());
  ASSERT_OK_AND_ASSIGN(v1::RenewCertificateResponse stolen,
                       access().RenewCertificate(caller, request));
  ASSERT_OK(auth.Identify(first).status());

  ASSERT_OK_AND_ASSIGN(Caller renewal, auth.Identify(renewed.cert_pem()));
  for (const std::string& pem : {first, stolen.cert_pem()}) {
    absl::StatusOr<Caller> old = auth.Identify(pem);
    EXPECT_EQ(old.status().code(), absl::StatusCode::kUnauthenticated) << old.status();
    EXPECT_THAT(old.status().message(),
                HasSubstr(absl::StrCat("replaced by its renewal (certificate ", renewal.serial)));
    EXPECT_THAT(old.status().message(), HasSubstr("cairnctl agents revoke"));
  }
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> retired,
                       catalog().access().GetCertificate(caller.serial));
  ASSERT_TRUE(retired.has_value());
  EXPECT_NE(retired->revoked_ms, 0);
  EXPECT_EQ(retired->replaced_by, renewal.serial);
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> record,
                       catalog().access().GetCertificate(renewal.serial));
  EXPECT_EQ(record->replaces, caller.serial);
  EXPECT_EQ(record->revoked_ms, 0);

  // The renewal goes on working, also once the cache is gone, and the old one
  // stays refused; revoking the agent revokes the renewal too.
  auth.ForgetRecords();
  ASSERT_OK(auth.Identify(renewed.cert_pem()).status());
  EXPECT_EQ(auth.Identify(first).status().code(), absl::StatusCode::kUnauthenticated);
  ASSERT_OK_AND_ASSIGN(int revoked,
                       catalog().access().RevokeCertificates(PrincipalKind::kAgent, "a1", 1));
  EXPECT_EQ(revoked, 1) << "the renewal; the old one and the other renewal were retired";
  auth.ForgetRecords();
  absl::StatusOr<Caller> gone = auth.Identify(renewed.cert_pem());
  EXPECT_THAT(gone.status().message(), HasSubstr("was revoked at"));
  ASSERT_OK_AND_ASSIGN(retired, catalog().access().GetCertificate(caller.serial));
  EXPECT_EQ(retired->replaced_by, renewal.serial) << "still says why it went";
}

TEST_F(EnrollTest, RenewalIsForAgentsAndNeedsAValidCsr) {
  ASSERT_FALSE(EnrollNew("a1", "t1").empty());
  const int64_t certificates = Rows("certificates");
  v1::RenewCertificateRequest request;
  request.set_csr_pem(EnrollRequest("", "a1", "t1").csr_pem());
  for (const Caller& caller : {admin_, Caller::Anonymous()}) {
    EXPECT_EQ(access().RenewCertificate(caller, request).status().code(),
              absl::StatusCode::kPermissionDenied);
  }
  request.set_csr_pem("garbage");
  EXPECT_EQ(access().RenewCertificate(Caller::Agent("a1", "t1"), request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.clear_csr_pem();
  EXPECT_EQ(access().RenewCertificate(Caller::Agent("a1", "t1"), request).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rows("certificates"), certificates);
}

TEST_F(EnrollTest, APendingAgentRenewsIntoAPendingCertificate) {
  const std::string first = EnrollNew("a1", "t1", /*needs_approval=*/true);
  ASSERT_OK_AND_ASSIGN(Caller caller, repo_->core->authenticator().Identify(first));
  ASSERT_FALSE(caller.approved);
  v1::RenewCertificateRequest request;
  request.set_csr_pem(EnrollRequest("", "a1", "t1").csr_pem());
  ASSERT_OK_AND_ASSIGN(v1::RenewCertificateResponse renewed,
                       access().RenewCertificate(caller, request));
  ASSERT_OK_AND_ASSIGN(Caller again, repo_->core->authenticator().Identify(renewed.cert_pem()));
  EXPECT_FALSE(again.approved);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, catalog().agents().Get("a1"));
  EXPECT_EQ(agent->access(), v1::AGENT_ACCESS_PENDING_APPROVAL);
}

}  // namespace
}  // namespace cairn
