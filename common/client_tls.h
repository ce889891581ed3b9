// The client side of cairn's TLS: credentials files (cairn.v1.ClientCredentials
// in text format, mode 0600), channels that check the server's certificate
// against the cairn CA and the server name and present the client's own
// certificate, and the one unverified call an enrolling agent makes: fetching
// the CA certificate, which it then trusts only if it matches the fingerprint
// its join token pins.
//
//   ASSIGN_OR_RETURN(v1::ClientCredentials c, ReadCredentialsFile(path));
//   std::shared_ptr<grpc::Channel> channel = NewClientChannel(c.server(), c);
#ifndef CAIRN_COMMON_CLIENT_TLS_H_
#define CAIRN_COMMON_CLIENT_TLS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/v1/security.pb.h"

namespace cairn {

// Reads and checks a credentials file: it parses, names a server name, holds
// a CA certificate, a certificate and its key. FailedPrecondition when the
// file can be read by group or others (it holds a private key).
absl::StatusOr<v1::ClientCredentials> ReadCredentialsFile(const std::string& path);
// Writes atomically with mode 0600.
absl::Status WriteCredentialsFile(const std::string& path,
                                  const v1::ClientCredentials& credentials);

// Channel arguments every cairn channel uses: message bounds, windows,
// keepalive, reconnect backoff.
grpc::ChannelArguments CairnChannelArguments();

// The name in the server's certificate unless its config's tls.server_name
// says otherwise; what clients ask for (SNI) before they know the server's.
inline constexpr char kDefaultServerName[] = "cairn-server";

// The metadata that names the agent calling on the local socket.
inline constexpr char kLocalAgentMetadata[] = "cairn-agent";
inline constexpr char kLocalTenantMetadata[] = "cairn-tenant";
// Whether `address` names the server's local socket ("local:PATH").
bool IsLocalSocketAddress(absl::string_view address);

// A TLS channel to `address` that verifies the server against
// `credentials.ca_cert_pem()` and `server_name()`, and presents the
// credentials' certificate when it has one ("unix:PATH" is TLS over a Unix
// socket). For "local:PATH" (the server's local socket) a plaintext channel
// to unix:PATH; with an agent's credentials every call names that agent and
// tenant in its metadata (kLocalAgentMetadata).
std::shared_ptr<grpc::Channel> NewClientChannel(
    const std::string& address, const v1::ClientCredentials& credentials,
    grpc::ChannelArguments args = CairnChannelArguments());

// The server's CA certificate, fetched over TLS without checking the server
// (it has nothing to check against yet), accepted only if its fingerprint is
// `pinned_fingerprint` ("sha256:..."). PermissionDenied when it is not: the
// server is not the one the token was made for, or someone is in between.
absl::StatusOr<v1::GetCaCertificateResponse> FetchPinnedCaCertificate(
    const std::string& address, absl::string_view pinned_fingerprint);

}  // namespace cairn

#endif  // CAIRN_COMMON_CLIENT_TLS_H_
