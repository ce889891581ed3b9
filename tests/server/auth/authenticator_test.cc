// Authenticator::Identify over a real catalog and CA: no certificate is an
// anonymous caller; an enrolled agent's or an admin credential's certificate
// is the caller the catalog record names; certificates that are garbage, of
// another CA, unknown to the catalog, not for clients, expired or revoked
// are Unauthenticated; and a revocation is seen on the next call, whatever
// was cached.
#include "server/auth/authenticator.h"

#include <string>

#include "common/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/auth/access_service_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

class AuthenticatorTest : public AccessServiceTest {
 protected:
  Authenticator& auth() { return repo_->core->authenticator(); }
  void ExpectRefused(const std::string& pem, absl::string_view text) {
    SCOPED_TRACE(text);
    absl::StatusOr<Caller> caller = auth().Identify(pem);
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated) << caller.status();
    EXPECT_THAT(caller.status().message(), HasSubstr(text));
  }
  // A client certificate for a new key signed by `pki` but recorded nowhere.
  static std::string Unrecorded(const ServerPki& pki, bool server = false) {
    absl::StatusOr<std::string> key = GeneratePrivateKeyPem();
    absl::StatusOr<std::string> csr = MakeCsrPem(key.ok() ? *key : "");
    absl::StatusOr<std::string> cert =
        SignCsr(pki.ca_cert_pem, pki.ca_key_pem, csr.ok() ? *csr : "",
                CertificateRequest{.common_name = "a1", .server = server});
    EXPECT_TRUE(cert.ok()) << cert.status();
    return cert.ok() ? *cert : std::string();
  }
};

TEST_F(AuthenticatorTest, NoCertificateIsAnAnonymousCaller) {
  ASSERT_OK_AND_ASSIGN(Caller caller, auth().Identify(""));
  EXPECT_EQ(caller.kind, Caller::Kind::kAnonymous);
}

TEST_F(AuthenticatorTest, AnAgentsCertificateNamesTheAgentAndItsTenant) {
  const std::string cert = EnrollNew("gpu-1", "t1");
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(cert));
  for (int call = 0; call < 2; ++call) {  // the second from the cache
    ASSERT_OK_AND_ASSIGN(Caller caller, auth().Identify(cert));
    EXPECT_EQ(caller.kind, Caller::Kind::kAgent);
    EXPECT_EQ(caller.name, "gpu-1");
    EXPECT_EQ(caller.tenant, "t1");
    EXPECT_TRUE(caller.approved);
    EXPECT_EQ(caller.serial, info.serial);
  }
}

TEST_F(AuthenticatorTest, AnAdminCredentialNamesItsRole) {
  ASSERT_OK_AND_ASSIGN(Caller op, auth().Identify(AdminCertificate("olga", v1::ROLE_OPERATOR)));
  EXPECT_EQ(op.kind, Caller::Kind::kAdmin);
  EXPECT_EQ(op.name, "olga");
  EXPECT_EQ(op.role, Role::kOperator);
  EXPECT_TRUE(op.tenant.empty());
  ASSERT_OK_AND_ASSIGN(Caller viewer, auth().Identify(AdminCertificate("vera", v1::ROLE_VIEWER)));
  EXPECT_EQ(viewer.role, Role::kViewer);
}

TEST_F(AuthenticatorTest, GarbageIsRefused) {
  for (const std::string& pem :
       {std::string("x"),
        std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        std::string(100000, 'A'), std::string("\0\0\0\0", 4)}) {
    ExpectRefused(pem, "does not accept the client certificate");
  }
}

TEST_F(AuthenticatorTest, ACertificateOfAnotherCaIsRefused) {
  const std::string dir = NewTempDir("auth_other_ca");
  ASSERT_OK_AND_ASSIGN(ServerPki other, LoadOrCreateServerPki(dir, v1::TlsConfig()));
  ExpectRefused(Unrecorded(other), "it must be issued by this server's CA");
  RemoveTestDirUnlessFailed(dir);
}

TEST_F(AuthenticatorTest, ACertificateTheCatalogDoesNotKnowIsRefused) {
  ExpectRefused(Unrecorded(*pki_), "not in its catalog");
}

TEST_F(AuthenticatorTest, ServerAndCaCertificatesAreNoClientCertificates) {
  ExpectRefused(Unrecorded(*pki_, /*server=*/true), "does not accept the client certificate");
  ExpectRefused(SplitPemCertificates(pki_->cert_chain_pem).at(0), "");
  ExpectRefused(pki_->ca_cert_pem, "");
}

TEST_F(AuthenticatorTest, AnExpiredCertificateIsRefusedCachedOrNot) {
  const std::string cert = EnrollNew("a1", "t1");
  const std::string fresh = EnrollNew("a2", "t1");
  ASSERT_OK(auth().Identify(cert).status());  // cached while valid
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(cert));
  clock_.Advance(info.not_after - absl::Now() + absl::Hours(1));
  ExpectRefused(cert, "expired");
  ExpectRefused(fresh, "expired");
}

TEST_F(AuthenticatorTest, ARevocationIsSeenOnTheNextCallAfterForgetRecords) {
  const std::string cert = EnrollNew("a1", "t1");
  ASSERT_OK(auth().Identify(cert).status());
  ASSERT_OK(catalog().access().RevokeCertificates(PrincipalKind::kAgent, "a1", 1000).status());
  auth().ForgetRecords();
  ExpectRefused(cert, "the certificate of agent a1 was revoked at 1970-01-01 00:00:01 UTC");
  // A new Authenticator over the same catalog, with nothing cached, agrees.
  Authenticator fresh(&catalog().access(), pki_->ca_cert_pem, clock_.fn());
  absl::StatusOr<Caller> caller = fresh.Identify(cert);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated) << caller.status();
}

// What a status page session rests on: the credential it was made with is
// still live (not revoked, not expired); the local socket's admin always is.
TEST_F(AuthenticatorTest, StillLiveEndsWithRevocationOrExpiry) {
  const std::string cert = AdminCertificate("vera", v1::ROLE_VIEWER);
  ASSERT_OK_AND_ASSIGN(Caller vera, auth().Identify(cert));
  ASSERT_OK(auth().StillLive(vera.serial));
  EXPECT_OK(auth().StillLive("local"));
  EXPECT_EQ(auth().StillLive("00ff").code(), absl::StatusCode::kUnauthenticated);
  const std::string other = AdminCertificate("olga", v1::ROLE_VIEWER);
  ASSERT_OK_AND_ASSIGN(Caller olga, auth().Identify(other));
  ASSERT_OK(auth().StillLive(olga.serial));
  ASSERT_OK(catalog().access().RevokeCertificates(PrincipalKind::kAdmin, "olga", 1000).status());
  auth().ForgetRecords();
  EXPECT_THAT(auth().StillLive(olga.serial).message(), HasSubstr("revoked"));
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(cert));
  clock_.Advance(info.not_after - absl::Now() + absl::Hours(1));
  absl::Status expired = auth().StillLive(vera.serial);
  EXPECT_EQ(expired.code(), absl::StatusCode::kUnauthenticated) << expired;
  EXPECT_THAT(expired.message(), HasSubstr("expired"));
}

TEST_F(AuthenticatorTest, AnAuthenticatorWithoutACaAcceptsNoCertificate) {
  const std::string cert = EnrollNew("a1", "t1");
  Authenticator without(&catalog().access(), "", clock_.fn());
  absl::StatusOr<Caller> caller = without.Identify(cert);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated) << caller.status();
}

}  // namespace
}  // namespace cairn
