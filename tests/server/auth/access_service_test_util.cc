#include "tests/server/auth/access_service_test_util.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/join_token.h"
#include "common/x509.h"
#include "server/catalog/sqlite_db.h"
#include "tests/server/tls_test_util.h"
#include "tests/test_dir.h"

namespace cairn {

void AccessServiceTest::Open(const v1::ServerLimits& limits) {
  repo_.reset();
  const std::string tls_dir = NewTempDir("access_pki");
  absl::StatusOr<ServerPki> pki = LoadOrCreateServerPki(tls_dir, v1::TlsConfig());
  ASSERT_TRUE(pki.ok()) << pki.status();
  pki_ = std::make_shared<const ServerPki>(*std::move(pki));
  RemoveTestDirUnlessFailed(tls_dir);
  CoreOptions options;
  options.clock = clock_.fn();
  options.pki = pki_;
  options.limits = limits;
  repo_ = OpenTestRepo("access", std::move(options));
  ASSERT_NE(repo_, nullptr);
}

std::string AccessServiceTest::Token(absl::string_view tenant, absl::string_view glob,
                                     uint32_t uses, bool needs_approval, uint32_t ttl_seconds) {
  v1::CreateJoinTokenRequest request;
  request.set_tenant(std::string(tenant));
  request.set_agent_glob(std::string(glob));
  request.set_uses(uses);
  request.set_needs_approval(needs_approval);
  request.set_ttl_seconds(ttl_seconds);
  absl::StatusOr<v1::CreateJoinTokenResponse> token = access().CreateJoinToken(admin_, request);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? token->token() : std::string();
}

v1::EnrollRequest AccessServiceTest::EnrollRequest(const std::string& token,
                                                   absl::string_view agent,
                                                   absl::string_view tenant,
                                                   std::string key_check) {
  absl::StatusOr<std::string> key = GeneratePrivateKeyPem();
  EXPECT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> csr = MakeCsrPem(key.ok() ? *key : "");
  EXPECT_TRUE(csr.ok()) << csr.status();
  v1::EnrollRequest request;
  request.set_token(token);
  request.set_csr_pem(csr.ok() ? *csr : "");
  request.set_agent(std::string(agent));
  request.set_hostname(absl::StrCat(agent, ".example"));
  request.set_key_check(key_check.empty() ? TestKeyCheck(tenant) : key_check);
  return request;
}

absl::StatusOr<v1::EnrollResponse> AccessServiceTest::Enroll(const std::string& token,
                                                             absl::string_view agent,
                                                             absl::string_view tenant,
                                                             std::string key_check) {
  return access().Enroll(Caller::Anonymous(),
                         EnrollRequest(token, agent, tenant, std::move(key_check)));
}

std::string AccessServiceTest::EnrollNew(absl::string_view agent, absl::string_view tenant,
                                         bool needs_approval) {
  absl::StatusOr<v1::EnrollResponse> enrolled =
      Enroll(Token(tenant, agent, 1, needs_approval), agent, tenant);
  EXPECT_TRUE(enrolled.ok()) << enrolled.status();
  return enrolled.ok() ? enrolled->cert_pem() : std::string();
}

std::string AccessServiceTest::AdminCertificate(const std::string& name, v1::Role role) {
  absl::StatusOr<v1::ClientCredentials> c =
      access().IssueAdminCredentials(name, role, absl::Hours(24), "test");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? c->cert_pem() : std::string();
}

int64_t AccessServiceTest::Rows(absl::string_view table) {
  absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(repo_->dir + "/catalog.db");
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return -1;
  absl::StatusOr<SqliteStatement> count =
      (*db)->Prepare(absl::StrCat("SELECT COUNT(*) FROM ", table));
  EXPECT_TRUE(count.ok()) << count.status();
  if (!count.ok()) return -1;
  absl::StatusOr<bool> row = count->Step();
  EXPECT_TRUE(row.ok() && *row);
  return row.ok() && *row ? count->ColumnInt(0) : -1;
}

int64_t AccessServiceTest::UsesLeft(const std::string& token) {
  absl::StatusOr<JoinTokenParts> parts = ParseJoinToken(token);
  if (!parts.ok()) return -1;
  absl::StatusOr<std::optional<StoredToken>> stored = catalog().access().GetToken(parts->id);
  EXPECT_TRUE(stored.ok()) << stored.status();
  if (!stored.ok() || !stored->has_value()) return -1;
  return (*stored)->token.uses_left();
}

}  // namespace cairn
