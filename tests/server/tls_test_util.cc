#include "tests/server/tls_test_util.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/v1/security.grpc.pb.h"
#include "common/client_tls.h"
#include "common/grpc_status.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "common/x509.h"
#include "tests/server/server_test_util.h"

namespace cairn {

std::string TestKeyCheck(absl::string_view tenant) {
  return Sha256Of(absl::StrCat("key of ", tenant)).substr(0, 16);
}

std::string AddressOf(const CairnServer& server) {
  return absl::StrCat("127.0.0.1:", server.port());
}

absl::StatusOr<v1::ClientCredentials> AdminCredentials(CairnServer& server, v1::Role role,
                                                       const std::string& name) {
  static std::atomic<int> counter{0};
  std::string n = name.empty() ? absl::StrCat("test-admin-", counter++) : name;
  ASSIGN_OR_RETURN(v1::ClientCredentials c,
                   server.core()->access().IssueAdminCredentials(n, role, absl::Hours(24), "test"));
  c.set_server(AddressOf(server));
  return c;
}

v1::ClientCredentials AnonymousCredentials(CairnServer& server) {
  absl::StatusOr<v1::GetCaCertificateResponse> ca =
      server.core()->access().GetCaCertificate(Caller::Anonymous());
  v1::ClientCredentials c;
  c.set_server(AddressOf(server));
  if (ca.ok()) {
    c.set_ca_cert_pem(ca->ca_cert_pem());
    c.set_server_name(ca->server_name());
  }
  return c;
}

absl::StatusOr<v1::ClientCredentials> EnrollAgentForTest(CairnServer& server,
                                                         absl::string_view tenant,
                                                         absl::string_view name,
                                                         std::string key_check) {
  if (key_check.empty()) key_check = TestKeyCheck(tenant);
  v1::CreateJoinTokenRequest token_request;
  token_request.set_tenant(std::string(tenant));
  token_request.set_agent_glob(std::string(name));
  ASSIGN_OR_RETURN(v1::CreateJoinTokenResponse token,
                   server.core()->access().CreateJoinToken(Caller::Internal(), token_request));
  ASSIGN_OR_RETURN(std::string key, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(std::string csr, MakeCsrPem(key));
  v1::ClientCredentials c = AnonymousCredentials(server);
  auto stub = v1::EnrollService::NewStub(TestChannel(server, c));
  v1::EnrollRequest request;
  request.set_token(token.token());
  request.set_csr_pem(csr);
  request.set_agent(std::string(name));
  request.set_hostname("test-host");
  request.set_key_check(key_check);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::EnrollResponse response;
  grpc::Status status = stub->Enroll(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  c.set_cert_pem(response.cert_pem());
  c.set_key_pem(key);
  c.set_name(response.agent());
  c.set_tenant(response.tenant());
  return c;
}

std::shared_ptr<grpc::Channel> TestChannel(const CairnServer& server,
                                           const v1::ClientCredentials& credentials) {
  grpc::ChannelArguments args = CairnChannelArguments();
  args.SetMaxSendMessageSize(-1);  // let the client send what the server must refuse
  return NewClientChannel(AddressOf(server), credentials, args);
}

}  // namespace cairn
