// AccessService: join tokens, approval and revocation of agents, admin
// credentials, the audit log. (Enrollment and renewal: enrollment.cc.)
#include "server/auth/access_service.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/join_token.h"
#include "common/status_macros.h"
#include "common/x509.h"

namespace cairn {
namespace {

constexpr uint32_t kDefaultTokenTtlSeconds = 3600;
constexpr uint32_t kMaxTokenTtlSeconds = 30 * 24 * 3600;
constexpr uint32_t kMaxTokenUses = 10000;
constexpr uint32_t kDefaultCredentialDays = 365;
constexpr uint32_t kMaxCredentialDays = 3650;

absl::Status NeedAdmin(const Caller& caller) {
  if (!caller.HasRole(Role::kAdmin)) {
    return absl::PermissionDeniedError(
        absl::StrCat("managing access needs the admin role; ", caller.Describe(), " lacks it"));
  }
  return absl::OkStatus();
}

// Agent globs: the name characters plus fnmatch's * ? [ ] !.
absl::Status CheckGlob(absl::string_view glob) {
  if (glob.empty() || glob.size() > 64) {
    return absl::InvalidArgumentError("agent_glob must be 1 to 64 characters");
  }
  for (char c : glob) {
    if (!absl::ascii_isalnum(c) &&
        absl::string_view("._-*?[]!").find(c) == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("agent_glob '", glob, "': only letters, digits, . _ - and * ? [ ] !"));
    }
  }
  return absl::OkStatus();
}

v1::Credential CredentialOf(const CertificateRecord& r) {
  v1::Credential c;
  c.set_name(r.name);
  c.set_role(r.role);
  c.set_created_unix_ms(r.issued_ms);
  c.set_expires_unix_ms(r.expires_ms);
  c.set_revoked(r.revoked_ms != 0);
  c.set_created_by(r.created_by);
  return c;
}

}  // namespace

AccessService::AccessService(Catalog* catalog, std::shared_ptr<const ServerPki> pki,
                             Authenticator* authenticator, AccessOptions options)
    : catalog_(catalog),
      pki_(std::move(pki)),
      authenticator_(authenticator),
      options_(std::move(options)) {}

absl::StatusOr<v1::CreateJoinTokenResponse> AccessService::CreateJoinToken(
    const Caller& caller, const v1::CreateJoinTokenRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller));
  RETURN_IF_ERROR(NeedPki());
  RETURN_IF_ERROR(ValidateAgentName(request.tenant(), "tenant"));
  const std::string glob = request.agent_glob().empty() ? "*" : request.agent_glob();
  RETURN_IF_ERROR(CheckGlob(glob));
  const uint32_t ttl = request.ttl_seconds() == 0 ? kDefaultTokenTtlSeconds : request.ttl_seconds();
  if (ttl > kMaxTokenTtlSeconds) {
    return absl::InvalidArgumentError("a join token lives at most 30 days (ttl)");
  }
  const uint32_t uses = request.uses() == 0 ? 1 : request.uses();
  if (uses > kMaxTokenUses) {
    return absl::InvalidArgumentError(
        absl::StrCat("a join token has at most ", kMaxTokenUses, " uses"));
  }
  JoinTokenParts parts = NewJoinToken(pki_->ca_fingerprint);
  const int64_t now = NowMs();
  v1::JoinToken token;
  token.set_id(parts.id);
  token.set_tenant(request.tenant());
  token.set_agent_glob(glob);
  token.set_expires_unix_ms(now + int64_t{ttl} * 1000);
  token.set_uses_left(uses);
  token.set_needs_approval(request.needs_approval());
  token.set_created_by(caller.Principal());
  token.set_created_unix_ms(now);
  RETURN_IF_ERROR(catalog_->access().AddToken(token, HashJoinSecret(parts.secret)));
  v1::CreateJoinTokenResponse response;
  response.set_token(FormatJoinToken(parts));
  *response.mutable_info() = std::move(token);
  return response;
}

absl::StatusOr<v1::ListJoinTokensResponse> AccessService::ListJoinTokens(const Caller& caller) {
  RETURN_IF_ERROR(NeedAdmin(caller));
  ASSIGN_OR_RETURN(std::vector<v1::JoinToken> tokens, catalog_->access().ListTokens(NowMs()));
  v1::ListJoinTokensResponse response;
  for (v1::JoinToken& t : tokens) *response.add_tokens() = std::move(t);
  return response;
}

absl::StatusOr<v1::DeleteJoinTokenResponse> AccessService::DeleteJoinToken(
    const Caller& caller, const v1::DeleteJoinTokenRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller));
  if (request.id().empty() || request.id().size() > 64) {
    return absl::InvalidArgumentError("id: the token id (cairnctl token list)");
  }
  RETURN_IF_ERROR(catalog_->access().DeleteToken(request.id()));
  return v1::DeleteJoinTokenResponse();
}

absl::Status AccessService::SetAgentAccess(const std::string& agent, v1::AgentAccess access,
                                           int64_t certificate_expires_ms) {
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> info, catalog_->agents().Get(agent));
  if (!info.has_value()) return absl::NotFoundError(absl::StrCat("no agent ", agent));
  info->set_access(access);
  if (certificate_expires_ms != 0) info->set_certificate_expires_unix_ms(certificate_expires_ms);
  return catalog_->agents().Upsert(*info);
}

absl::StatusOr<v1::AgentAccessResponse> AccessService::ApproveAgent(
    const Caller& caller, const v1::AgentAccessRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller));
  RETURN_IF_ERROR(ValidateAgentName(request.agent(), "agent"));
  ASSIGN_OR_RETURN(int approved, catalog_->access().Approve(request.agent()));
  if (approved == 0) {
    ASSIGN_OR_RETURN(bool live, catalog_->access().HasLiveCertificate(PrincipalKind::kAgent,
                                                                      request.agent(), NowMs()));
    if (!live) return absl::NotFoundError(absl::StrCat("no enrolled agent ", request.agent()));
  }
  authenticator_->ForgetRecords();
  RETURN_IF_ERROR(SetAgentAccess(request.agent(), v1::AGENT_ACCESS_ENROLLED, 0));
  v1::AgentAccessResponse response;
  response.set_access(v1::AGENT_ACCESS_ENROLLED);
  return response;
}

absl::StatusOr<v1::AgentAccessResponse> AccessService::RevokeAgent(
    const Caller& caller, const v1::AgentAccessRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller));
  RETURN_IF_ERROR(ValidateAgentName(request.agent(), "agent"));
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> info, catalog_->agents().Get(request.agent()));
  if (!info.has_value()) return absl::NotFoundError(absl::StrCat("no agent ", request.agent()));
  RETURN_IF_ERROR(catalog_->access()
                      .RevokeCertificates(PrincipalKind::kAgent, request.agent(), NowMs())
                      .status());
  authenticator_->ForgetRecords();
  RETURN_IF_ERROR(SetAgentAccess(request.agent(), v1::AGENT_ACCESS_REVOKED, 0));
  if (options_.on_revoke) options_.on_revoke(request.agent());
  v1::AgentAccessResponse response;
  response.set_access(v1::AGENT_ACCESS_REVOKED);
  return response;
}

absl::StatusOr<v1::CreateCredentialResponse> AccessService::CreateCredential(
    const Caller& caller, const v1::CreateCredentialRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller));
  RETURN_IF_ERROR(NeedPki());
  RETURN_IF_ERROR(ValidateAgentName(request.name(), "credential name"));
  if (request.role() < v1::ROLE_VIEWER || request.role() > v1::ROLE_ADMIN) {
    return absl::InvalidArgumentError("role must be viewer, operator or admin");
  }
  const uint32_t days = request.ttl_days() == 0 ? kDefaultCredentialDays : request.ttl_days();
  if (days > kMaxCredentialDays) {
    return absl::InvalidArgumentError("a credential lives at most 3650 days");
  }
  ASSIGN_OR_RETURN(bool live, catalog_->access().HasLiveCertificate(PrincipalKind::kAdmin,
                                                                    request.name(), NowMs()));
  if (live) {
    return absl::AlreadyExistsError(absl::StrCat(
        "credential ", request.name(), " exists; revoke it first or choose another name"));
  }
  if (request.csr_pem().empty() || request.csr_pem().size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("csr_pem must be 1 to ", kMaxPemBytes, " bytes"));
  }
  ASSIGN_OR_RETURN(std::string cert,
                   SignAndRecord(request.csr_pem(),
                                 CertificateRecord{.kind = PrincipalKind::kAdmin,
                                                   .name = request.name(),
                                                   .role = request.role(),
                                                   .created_by = caller.Principal()},
                                 absl::Hours(24) * days));
  v1::CreateCredentialResponse response;
  response.set_cert_pem(cert);
  response.set_ca_cert_pem(pki_->ca_cert_pem);
  response.set_server_name(pki_->server_name);
  return response;
}

absl::StatusOr<v1::ListCredentialsResponse> AccessService::ListCredentials(const Caller& caller) {
  RETURN_IF_ERROR(NeedAdmin(caller));
  ASSIGN_OR_RETURN(std::vector<CertificateRecord> records,
                   catalog_->access().ListCertificates(PrincipalKind::kAdmin));
  v1::ListCredentialsResponse response;
  for (const CertificateRecord& r : records) *response.add_credentials() = CredentialOf(r);
  return response;
}

absl::StatusOr<v1::RevokeCredentialResponse> AccessService::RevokeCredential(
    const Caller& caller, const v1::RevokeCredentialRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller));
  RETURN_IF_ERROR(ValidateAgentName(request.name(), "credential name"));
  const int64_t now = NowMs();
  ASSIGN_OR_RETURN(std::vector<CertificateRecord> records,
                   catalog_->access().ListCertificates(PrincipalKind::kAdmin));
  bool found = false;
  bool another_admin = false;
  for (const CertificateRecord& r : records) {
    if (r.revoked_ms != 0 || r.expires_ms <= now) continue;
    if (r.name == request.name()) {
      found = true;
    } else if (r.role == v1::ROLE_ADMIN) {
      another_admin = true;
    }
  }
  if (!found) return absl::NotFoundError(absl::StrCat("no live credential ", request.name()));
  if (!another_admin) {
    for (const CertificateRecord& r : records) {
      if (r.name == request.name() && r.role == v1::ROLE_ADMIN && r.revoked_ms == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat(request.name(),
                         " is the last admin credential: create another admin first "
                         "(cairnctl credentials create --role admin)"));
      }
    }
  }
  RETURN_IF_ERROR(
      catalog_->access().RevokeCertificates(PrincipalKind::kAdmin, request.name(), now).status());
  authenticator_->ForgetRecords();
  return v1::RevokeCredentialResponse();
}

absl::StatusOr<v1::ListAuditResponse> AccessService::ListAudit(
    const Caller& caller, const v1::ListAuditRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller));
  if (request.limit() > 1000) return absl::InvalidArgumentError("limit is at most 1000");
  ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries, catalog_->audit().List(request));
  v1::ListAuditResponse response;
  for (v1::AuditEntry& e : entries) *response.add_entries() = std::move(e);
  return response;
}

absl::StatusOr<v1::ClientCredentials> AccessService::IssueAdminCredentials(
    const std::string& name, v1::Role role, absl::Duration validity,
    const std::string& created_by) {
  RETURN_IF_ERROR(NeedPki());
  RETURN_IF_ERROR(ValidateAgentName(name, "credential name"));
  ASSIGN_OR_RETURN(std::string key, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(std::string csr, MakeCsrPem(key));
  ASSIGN_OR_RETURN(std::string cert, SignAndRecord(csr,
                                                   CertificateRecord{.kind = PrincipalKind::kAdmin,
                                                                     .name = name,
                                                                     .role = role,
                                                                     .created_by = created_by},
                                                   validity));
  v1::ClientCredentials credentials;
  credentials.set_server_name(pki_->server_name);
  credentials.set_ca_cert_pem(pki_->ca_cert_pem);
  credentials.set_cert_pem(cert);
  credentials.set_key_pem(key);
  credentials.set_name(name);
  credentials.set_role(role);
  return credentials;
}

absl::Status AccessService::WithdrawUnheldAdmin(const std::string& name) {
  return catalog_->access().RevokeCertificates(PrincipalKind::kAdmin, name, NowMs()).status();
}

absl::StatusOr<bool> AccessService::HasLiveAdmin() {
  ASSIGN_OR_RETURN(std::vector<CertificateRecord> records,
                   catalog_->access().ListCertificates(PrincipalKind::kAdmin));
  const int64_t now = NowMs();
  for (const CertificateRecord& r : records) {
    if (r.revoked_ms == 0 && r.expires_ms > now && r.role == v1::ROLE_ADMIN) return true;
  }
  return false;
}

}  // namespace cairn
