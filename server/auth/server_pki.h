// The server's TLS identity and trust root. On first start cairn-server makes
// its own CA and a server certificate signed by it, in STATE_DIR/tls (keys
// mode 0600), and prints the CA's fingerprint, which join tokens carry and
// agents pin. An operator with a PKI of their own names its files in the
// config instead (the CA key is still needed to sign agents' certificates).
// Clients check the server's certificate against the CA and the name
// `server_name` ("cairn-server" by default), whatever address they dialled.
//
//   ASSIGN_OR_RETURN(ServerPki pki, LoadOrCreateServerPki(state_dir + "/tls", config.tls()));
//   std::cerr << "CA fingerprint " << pki.ca_fingerprint;
#ifndef CAIRN_SERVER_AUTH_SERVER_PKI_H_
#define CAIRN_SERVER_AUTH_SERVER_PKI_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/v1/config.pb.h"

namespace cairn {

struct ServerPki {
  std::string ca_cert_pem;
  std::string ca_key_pem;      // signs enrollments; never leaves the server
  std::string cert_chain_pem;  // the server's certificate, then the CA's
  std::string key_pem;
  std::string ca_fingerprint;  // "sha256:..."
  std::string server_name;     // what clients check the certificate against
};

// Loads the CA and server certificate from `dir`, or from the files `tls`
// names, making what is missing (a CA valid 10 years; a server certificate
// valid 2 years, made again when under 30 days remain). Errors name the file.
absl::StatusOr<ServerPki> LoadOrCreateServerPki(const std::string& dir, const v1::TlsConfig& tls,
                                                absl::Time now = absl::Now());

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_SERVER_PKI_H_
