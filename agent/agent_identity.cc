#include "agent/agent_identity.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/v1/security.grpc.pb.h"
#include "common/client_tls.h"
#include "common/file_util.h"
#include "common/join_token.h"
#include "common/status_macros.h"
#include "common/x509.h"

namespace cairn {
namespace {

std::string HostName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return host;
}

}  // namespace

absl::StatusOr<v1::ClientCredentials> LoadAgentCredentials(const v1::AgentConfig& config) {
  absl::StatusOr<v1::ClientCredentials> credentials =
      ReadCredentialsFile(config.credentials_file());
  if (absl::IsNotFound(credentials.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this agent is not enrolled (no ", config.credentials_file(),
        "): an admin makes a join token (cairnctl token create --tenant T) and you run "
        "`cairn-agent enroll --server HOST:PORT --token TOKEN`"));
  }
  return credentials;
}

v1::AgentConfig ApplyIdentity(v1::AgentConfig config, const v1::ClientCredentials& credentials,
                              bool server_given) {
  config.set_name(credentials.name());
  config.set_tenant(credentials.tenant());
  if (!server_given && !credentials.server().empty()) config.set_server(credentials.server());
  return config;
}

absl::StatusOr<v1::ClientCredentials> EnrollAgent(const v1::AgentConfig& config,
                                                  const std::string& server,
                                                  const std::string& token,
                                                  const std::string& key_check) {
  ASSIGN_OR_RETURN(JoinTokenParts parts, ParseJoinToken(token));
  ASSIGN_OR_RETURN(v1::GetCaCertificateResponse ca,
                   FetchPinnedCaCertificate(server, parts.ca_fingerprint));
  ASSIGN_OR_RETURN(std::string key, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(std::string csr, MakeCsrPem(key));
  v1::ClientCredentials anonymous;
  anonymous.set_ca_cert_pem(ca.ca_cert_pem());
  anonymous.set_server_name(ca.server_name());
  auto stub = v1::EnrollService::NewStub(NewClientChannel(server, anonymous));
  v1::EnrollRequest request;
  request.set_token(token);
  request.set_csr_pem(csr);
  request.set_agent(config.name());
  request.set_hostname(HostName());
  request.set_key_check(key_check);
  request.set_version(CAIRN_VERSION);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  v1::EnrollResponse response;
  grpc::Status status = stub->Enroll(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  v1::ClientCredentials credentials;
  credentials.set_server(server);
  credentials.set_server_name(response.server_name());
  credentials.set_ca_cert_pem(response.ca_cert_pem());
  credentials.set_cert_pem(response.cert_pem());
  credentials.set_key_pem(key);
  credentials.set_name(response.agent());
  credentials.set_tenant(response.tenant());
  RETURN_IF_ERROR(MakeDirectories(DirName(config.credentials_file()), 0700));
  RETURN_IF_ERROR(WriteCredentialsFile(config.credentials_file(), credentials));
  return credentials;
}

absl::StatusOr<bool> RenewIfDue(ServerConnection* connection, const v1::AgentConfig& config,
                                v1::ClientCredentials* credentials, absl::Time now) {
  ASSIGN_OR_RETURN(CertificateInfo cert, ReadCertificate(credentials->cert_pem()));
  const absl::Duration lifetime = cert.not_after - cert.not_before;
  if (cert.not_after - now > lifetime / 3) return false;
  ASSIGN_OR_RETURN(std::string key, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(std::string csr, MakeCsrPem(key));
  v1::RenewCertificateRequest request;
  request.set_csr_pem(csr);
  ASSIGN_OR_RETURN(v1::RenewCertificateResponse response,
                   connection->Call(&v1::AgentService::Stub::RenewCertificate, request));
  v1::ClientCredentials renewed = *credentials;
  renewed.set_cert_pem(response.cert_pem());
  renewed.set_key_pem(key);
  RETURN_IF_ERROR(WriteCredentialsFile(config.credentials_file(), renewed));
  connection->UseCredentials(renewed);
  *credentials = std::move(renewed);
  return true;
}

v1::HelloRequest MakeHello(const v1::AgentConfig& config, const AgentCrypto& crypto,
                           bool with_roots) {
  v1::HelloRequest hello;
  hello.set_agent(config.name());
  hello.set_tenant(config.tenant());
  hello.set_version(CAIRN_VERSION);
  hello.set_hostname(HostName());
  hello.set_key_check(crypto.key_check);
  if (with_roots) {
    for (const std::string& root : config.roots()) hello.add_roots(root);
  }
  return hello;
}

}  // namespace cairn
