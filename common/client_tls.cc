#include "common/client_tls.h"

#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/client_interceptor.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/v1/security.grpc.pb.h"
#include "common/file_util.h"
#include "common/grpc_status.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "common/text_config.h"
#include "common/x509.h"

namespace cairn {
namespace {

constexpr size_t kMaxCredentialsFileBytes = 64 << 10;

// Names the agent on every call over the local socket (which has no
// certificate to say who calls).
class LocalAgentInterceptor final : public grpc::experimental::Interceptor {
 public:
  LocalAgentInterceptor(const std::string* agent, const std::string* tenant)
      : agent_(agent), tenant_(tenant) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      std::multimap<std::string, std::string>* metadata = methods->GetSendInitialMetadata();
      metadata->emplace(kLocalAgentMetadata, *agent_);
      metadata->emplace(kLocalTenantMetadata, *tenant_);
    }
    methods->Proceed();
  }

 private:
  const std::string* agent_;
  const std::string* tenant_;
};

class LocalAgentInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  LocalAgentInterceptorFactory(std::string agent, std::string tenant)
      : agent_(std::move(agent)), tenant_(std::move(tenant)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new LocalAgentInterceptor(&agent_, &tenant_);
  }

 private:
  const std::string agent_;
  const std::string tenant_;
};

std::shared_ptr<grpc::Channel> NewLocalChannel(const std::string& address,
                                               const v1::ClientCredentials& credentials,
                                               const grpc::ChannelArguments& args) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> agent;
  if (!credentials.tenant().empty()) {
    agent.push_back(
        std::make_unique<LocalAgentInterceptorFactory>(credentials.name(), credentials.tenant()));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      absl::StrCat("unix:", address.substr(std::string_view("local:").size())),
      grpc::InsecureChannelCredentials(), args, std::move(agent));
}

}  // namespace

bool IsLocalSocketAddress(absl::string_view address) { return absl::StartsWith(address, "local:"); }

absl::StatusOr<v1::ClientCredentials> ReadCredentialsFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("no credentials file ", path));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " holds a private key but others can read it: chmod 600 ", path));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, kMaxCredentialsFileBytes));
  v1::ClientCredentials credentials;
  RETURN_IF_ERROR(ParseTextConfig(text, path, &credentials));
  if (credentials.server_name().empty() || credentials.ca_cert_pem().empty() ||
      credentials.cert_pem().empty() || credentials.key_pem().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     " is not a complete credentials file (server_name, ca_cert_pem, cert_pem and "
                     "key_pem must be set)"));
  }
  absl::Status matches = CheckKeyMatches(credentials.key_pem(), credentials.cert_pem());
  if (!matches.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", matches.message()));
  return credentials;
}

absl::Status WriteCredentialsFile(const std::string& path,
                                  const v1::ClientCredentials& credentials) {
  return WriteFileAtomically(path, PrintTextConfig(credentials), 0600);
}

grpc::ChannelArguments CairnChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  args.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  // Chunk streams carry multi-MiB messages: large windows avoid stalls.
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kMaxGrpcMessageBytes);
  args.SetInt(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, 8 << 20);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  return args;
}

std::shared_ptr<grpc::Channel> NewClientChannel(const std::string& address,
                                                const v1::ClientCredentials& credentials,
                                                grpc::ChannelArguments args) {
  if (IsLocalSocketAddress(address)) return NewLocalChannel(address, credentials, args);
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = credentials.ca_cert_pem();
  tls.pem_private_key = credentials.key_pem();
  tls.pem_cert_chain = credentials.cert_pem();
  // The certificate names the server ("cairn-server"), whatever address was dialled.
  args.SetSslTargetNameOverride(credentials.server_name());
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args);
}

absl::StatusOr<v1::GetCaCertificateResponse> FetchPinnedCaCertificate(
    const std::string& address, absl::string_view pinned_fingerprint) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  // The server's name is not known yet (this call tells it); ask for the
  // default rather than the dialled address, which no server certificate
  // names (gRPC's server logs every such handshake as an error).
  grpc::ChannelArguments args = CairnChannelArguments();
  args.SetSslTargetNameOverride(kDefaultServerName);
  auto channel =
      grpc::CreateCustomChannel(address, grpc::experimental::TlsCredentials(options), args);
  std::unique_ptr<v1::EnrollService::Stub> stub = v1::EnrollService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::GetCaCertificateResponse response;
  grpc::Status status = stub->GetCaCertificate(&context, v1::GetCaCertificateRequest(), &response);
  if (!status.ok()) {
    absl::Status s = FromGrpcStatus(status);
    return absl::Status(
        s.code(), absl::StrCat("fetching the CA certificate from ", address, ": ", s.message()));
  }
  absl::StatusOr<std::string> fingerprint = CertificateFingerprint(response.ca_cert_pem());
  if (!fingerprint.ok() || *fingerprint != pinned_fingerprint) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the server at ", address, " presents CA ",
        fingerprint.ok() ? *fingerprint : std::string("(unreadable)"), ", not ", pinned_fingerprint,
        " which the join token pins: it is not the server the token was made for, or "
        "something is in between. Nothing was sent."));
  }
  return response;
}

}  // namespace cairn
