// AccessService: the CA certificate, enrollment with a join token, and
// renewal of an agent's certificate.
#include <fnmatch.h>
#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/join_token.h"
#include "common/status_macros.h"
#include "common/x509.h"
#include "server/auth/access_service.h"
#include "server/auth/tenant_key.h"

namespace cairn {
namespace {

constexpr char kBadToken[] =
    "join token not valid (unknown, expired or used up): ask an admin for a new one "
    "(cairnctl token create --tenant T)";

absl::Status CheckEnrollRequest(const v1::EnrollRequest& r) {
  RETURN_IF_ERROR(ValidateAgentName(r.agent(), "agent name"));
  if (r.csr_pem().empty() || r.csr_pem().size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("csr_pem must be 1 to ", kMaxPemBytes, " bytes"));
  }
  if (r.hostname().size() > 255 || r.version().size() > 64) {
    return absl::InvalidArgumentError("enroll: over-long host name or version");
  }
  return absl::OkStatus();
}

bool SameSecret(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

absl::Status AccessService::NeedPki() const {
  if (pki_ == nullptr) {
    return absl::FailedPreconditionError("this server has no CA: it cannot sign certificates");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetCaCertificateResponse> AccessService::GetCaCertificate(const Caller&) {
  RETURN_IF_ERROR(NeedPki());
  v1::GetCaCertificateResponse response;
  response.set_ca_cert_pem(pki_->ca_cert_pem);
  response.set_server_name(pki_->server_name);
  return response;
}

absl::StatusOr<std::string> AccessService::Sign(const std::string& csr_pem,
                                                CertificateRecord& record,
                                                absl::Duration validity) {
  RETURN_IF_ERROR(NeedPki());
  // A client certificate named like the server could pass for it with a
  // client that does not check the key usage.
  if (record.name == pki_->server_name) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", record.name, "\" is the server's name; choose another name"));
  }
  // The unit says whose certificate it is; an agent's is its tenant (at most
  // 64 bytes, as X.509 allows).
  CertificateRequest what{.common_name = record.name,
                          .unit = record.kind == PrincipalKind::kAgent
                                      ? record.tenant
                                      : std::string("admin credential"),
                          .validity = validity};
  ASSIGN_OR_RETURN(std::string cert, SignCsr(pki_->ca_cert_pem, pki_->ca_key_pem, csr_pem, what));
  ASSIGN_OR_RETURN(CertificateInfo info, ReadCertificate(cert));
  record.serial = info.serial;
  record.issued_ms = NowMs();
  record.expires_ms = absl::ToUnixMillis(info.not_after);
  return cert;
}

absl::StatusOr<std::string> AccessService::SignAndRecord(const std::string& csr_pem,
                                                         CertificateRecord record,
                                                         absl::Duration validity) {
  ASSIGN_OR_RETURN(std::string cert, Sign(csr_pem, record, validity));
  RETURN_IF_ERROR(catalog_->access().AddCertificate(record));
  return cert;
}

absl::StatusOr<v1::EnrollResponse> AccessService::Enroll(const Caller& /*anyone*/,
                                                         const v1::EnrollRequest& request) {
  RETURN_IF_ERROR(NeedPki());
  RETURN_IF_ERROR(CheckEnrollRequest(request));
  absl::StatusOr<JoinTokenParts> parts = ParseJoinToken(request.token());
  if (!parts.ok()) return absl::UnauthenticatedError(kBadToken);
  if (parts->ca_fingerprint != pki_->ca_fingerprint) {
    return absl::UnauthenticatedError(
        "the join token was made for another server (its CA fingerprint differs)");
  }
  ASSIGN_OR_RETURN(std::optional<StoredToken> stored, catalog_->access().GetToken(parts->id));
  const int64_t now = NowMs();
  if (!stored.has_value() || !SameSecret(stored->secret_hash, HashJoinSecret(parts->secret)) ||
      stored->token.uses_left() == 0 || stored->token.expires_unix_ms() <= now) {
    return absl::UnauthenticatedError(kBadToken);
  }
  const v1::JoinToken& token = stored->token;
  const std::string& tenant = token.tenant();
  if (::fnmatch(token.agent_glob().c_str(), request.agent().c_str(), 0) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("the join token allows agents named '",
                                                    token.agent_glob(), "', not '", request.agent(),
                                                    "'"));
  }
  // Checks that write nothing come first: a refused enrollment leaves no rows.
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> existing, catalog_->agents().Get(request.agent()));
  if (existing.has_value() && existing->tenant() != tenant) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent name ", request.agent(), " belongs to tenant ", existing->tenant(),
                     " (its snapshots keep it): choose another name for an agent of ", tenant));
  }
  ASSIGN_OR_RETURN(bool live, catalog_->access().HasLiveCertificate(PrincipalKind::kAgent,
                                                                    request.agent(), now));
  if (live) {
    return absl::AlreadyExistsError(
        absl::StrCat("agent ", request.agent(),
                     " is already enrolled; to enroll a new machine under "
                     "this name, first revoke the old one (cairnctl agents revoke ",
                     request.agent(), ")"));
  }
  ASSIGN_OR_RETURN(int64_t agents, catalog_->access().CountAgents(tenant));
  if (agents >= options_.max_agents_per_tenant) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "tenant ", tenant, " has ", agents, " agents, the most limits.max_agents_per_tenant (",
        options_.max_agents_per_tenant, ") allows: revoke unused ones or raise the limit"));
  }
  RETURN_IF_ERROR(PeekTenantKey(catalog_->agents(), tenant, request.key_check()));
  // Signing writes nothing either, and refuses a CSR that is not one.
  CertificateRecord record{.kind = PrincipalKind::kAgent,
                           .name = request.agent(),
                           .tenant = tenant,
                           .pending = token.needs_approval(),
                           .created_by = absl::StrCat("token ", token.id())};
  ASSIGN_OR_RETURN(std::string cert,
                   Sign(request.csr_pem(), record, options_.agent_certificate_validity));

  ASSIGN_OR_RETURN(bool spent, catalog_->access().SpendToken(token.id(), now));
  if (!spent) return absl::UnauthenticatedError(kBadToken);
  // Of two first agents with different keys racing here, one wins.
  RETURN_IF_ERROR(CheckTenantKey(catalog_->agents(), tenant, request.key_check()));
  RETURN_IF_ERROR(catalog_->access().AddCertificate(record));
  ASSIGN_OR_RETURN(CertificateInfo info, ReadCertificate(cert));
  v1::AgentInfo agent = existing.value_or(v1::AgentInfo());
  agent.set_name(request.agent());
  agent.set_tenant(tenant);
  agent.set_hostname(request.hostname());
  agent.set_version(request.version());
  agent.set_access(token.needs_approval() ? v1::AGENT_ACCESS_PENDING_APPROVAL
                                          : v1::AGENT_ACCESS_ENROLLED);
  agent.set_certificate_expires_unix_ms(absl::ToUnixMillis(info.not_after));
  agent.set_last_seen_unix_ms(now);
  RETURN_IF_ERROR(catalog_->agents().Upsert(agent));
  authenticator_->ForgetRecords();

  v1::EnrollResponse response;
  response.set_cert_pem(cert);
  response.set_ca_cert_pem(pki_->ca_cert_pem);
  response.set_tenant(tenant);
  response.set_agent(request.agent());
  response.set_needs_approval(token.needs_approval());
  response.set_server_name(pki_->server_name);
  return response;
}

absl::StatusOr<v1::RenewCertificateResponse> AccessService::RenewCertificate(
    const Caller& caller, const v1::RenewCertificateRequest& request) {
  if (caller.kind != Caller::Kind::kAgent) {
    return absl::PermissionDeniedError("only an agent renews its own certificate");
  }
  if (request.csr_pem().empty() || request.csr_pem().size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("csr_pem must be 1 to ", kMaxPemBytes, " bytes"));
  }
  ASSIGN_OR_RETURN(
      std::string cert,
      SignAndRecord(request.csr_pem(),
                    CertificateRecord{.kind = PrincipalKind::kAgent,
                                      .name = caller.name,
                                      .tenant = caller.tenant,
                                      .pending = !caller.approved,
                                      .created_by = absl::StrCat("renewal of ", caller.serial),
                                      .replaces = caller.serial == "local" ? "" : caller.serial},
                    options_.agent_certificate_validity));
  ASSIGN_OR_RETURN(CertificateInfo info, ReadCertificate(cert));
  RETURN_IF_ERROR(SetAgentAccess(
      caller.name, caller.approved ? v1::AGENT_ACCESS_ENROLLED : v1::AGENT_ACCESS_PENDING_APPROVAL,
      absl::ToUnixMillis(info.not_after)));
  v1::RenewCertificateResponse response;
  response.set_cert_pem(cert);
  return response;
}

}  // namespace cairn
