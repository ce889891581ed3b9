// Who may call the server, managed: join tokens, enrollment of agents (and
// renewal of their certificates), approval and revocation, admin credentials,
// and reading the audit log. The server's CA signs every certificate; the
// catalog records each one by serial (AccessStore), and that record is what
// the Authenticator believes.
//
//   ASSIGN_OR_RETURN(v1::CreateJoinTokenResponse t, access.CreateJoinToken(admin, request));
//   ASSIGN_OR_RETURN(v1::EnrollResponse e, access.Enroll(Caller::Anonymous(), enroll));
#ifndef CAIRN_SERVER_AUTH_ACCESS_SERVICE_H_
#define CAIRN_SERVER_AUTH_ACCESS_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/security.pb.h"
#include "server/auth/authenticator.h"
#include "server/auth/caller.h"
#include "server/auth/server_pki.h"
#include "server/catalog/catalog.h"

namespace cairn {

struct AccessOptions {
  uint32_t max_agents_per_tenant = 10000;
  absl::Duration agent_certificate_validity = absl::Hours(24 * 90);
  std::function<absl::Time()> clock = absl::Now;
  // Called after an agent is revoked (the core closes its control stream).
  std::function<void(const std::string& agent)> on_revoke;
};

class AccessService final {
 public:
  // `pki` may be null (a core without a CA, in tests): then nothing can be
  // signed and enrollment fails with FailedPrecondition.
  AccessService(Catalog* catalog, std::shared_ptr<const ServerPki> pki,
                Authenticator* authenticator, AccessOptions options);

  absl::StatusOr<v1::GetCaCertificateResponse> GetCaCertificate(const Caller& caller);
  absl::StatusOr<v1::EnrollResponse> Enroll(const Caller& caller, const v1::EnrollRequest& request);
  absl::StatusOr<v1::RenewCertificateResponse> RenewCertificate(
      const Caller& caller, const v1::RenewCertificateRequest& request);

  absl::StatusOr<v1::CreateJoinTokenResponse> CreateJoinToken(
      const Caller& caller, const v1::CreateJoinTokenRequest& request);
  absl::StatusOr<v1::ListJoinTokensResponse> ListJoinTokens(const Caller& caller);
  absl::StatusOr<v1::DeleteJoinTokenResponse> DeleteJoinToken(
      const Caller& caller, const v1::DeleteJoinTokenRequest& request);

  absl::StatusOr<v1::AgentAccessResponse> ApproveAgent(const Caller& caller,
                                                       const v1::AgentAccessRequest& request);
  absl::StatusOr<v1::AgentAccessResponse> RevokeAgent(const Caller& caller,
                                                      const v1::AgentAccessRequest& request);

  absl::StatusOr<v1::CreateCredentialResponse> CreateCredential(
      const Caller& caller, const v1::CreateCredentialRequest& request);
  absl::StatusOr<v1::ListCredentialsResponse> ListCredentials(const Caller& caller);
  absl::StatusOr<v1::RevokeCredentialResponse> RevokeCredential(
      const Caller& caller, const v1::RevokeCredentialRequest& request);

  absl::StatusOr<v1::ListAuditResponse> ListAudit(const Caller& caller,
                                                  const v1::ListAuditRequest& request);

  // A whole credentials file's worth (key made here) for admin `name`: how
  // the server makes its first admin credential. `server` is left empty.
  absl::StatusOr<v1::ClientCredentials> IssueAdminCredentials(const std::string& name,
                                                              v1::Role role,
                                                              absl::Duration validity,
                                                              const std::string& created_by);
  // Whether any admin-role credential is live now.
  absl::StatusOr<bool> HasLiveAdmin();
  // Revokes admin `name`'s certificates, even the last: for a credential
  // issued here whose file could not be written (nobody holds its key).
  absl::Status WithdrawUnheldAdmin(const std::string& name);

 private:
  absl::Status NeedPki() const;
  // Signs `csr_pem` for a client and fills in `record`'s serial and times;
  // writes nothing, so that a refusal after it leaves no row.
  absl::StatusOr<std::string> Sign(const std::string& csr_pem, CertificateRecord& record,
                                   absl::Duration validity);
  // Signs and records the certificate.
  absl::StatusOr<std::string> SignAndRecord(const std::string& csr_pem, CertificateRecord record,
                                            absl::Duration validity);
  // Updates the agent's record: access state and certificate expiry.
  absl::Status SetAgentAccess(const std::string& agent, v1::AgentAccess access,
                              int64_t certificate_expires_ms);
  int64_t NowMs() const { return absl::ToUnixMillis(options_.clock()); }

  Catalog* catalog_;
  std::shared_ptr<const ServerPki> pki_;
  Authenticator* authenticator_;
  AccessOptions options_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_ACCESS_SERVICE_H_
