// cairn's own small PKI, with OpenSSL: ECDSA P-256 keys, SHA-256 signatures,
// PEM everywhere. The server keeps a CA that signs its own TLS certificate and
// the client certificates of enrolled agents and admin credentials; the CA's
// fingerprint (SHA-256 of its DER) is what a join token pins.
//
//   ASSIGN_OR_RETURN(std::string key, GeneratePrivateKeyPem());
//   ASSIGN_OR_RETURN(std::string csr, MakeCsrPem(key));
//   ASSIGN_OR_RETURN(std::string cert, SignCsr(ca_cert, ca_key, csr, CertificateRequest{...}));
//   ASSIGN_OR_RETURN(std::string fp, CertificateFingerprint(ca_cert));  // "sha256:..."
#ifndef CAIRN_COMMON_X509_H_
#define CAIRN_COMMON_X509_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cairn {

// PEM inputs from the network are refused above this size.
inline constexpr size_t kMaxPemBytes = 16 << 10;

// What the CA writes into a certificate it signs. The subject is the CA's
// choice, never the requester's.
struct CertificateRequest {
  std::string common_name;
  std::string unit;                       // organizationalUnitName, when set
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries ("127.0.0.1", "::1")
  bool server = false;                    // extendedKeyUsage serverAuth, else clientAuth
  absl::Duration validity = absl::Hours(24 * 365);
};

struct CertificateInfo {
  std::string common_name;
  std::string serial;  // lower-case hex
  absl::Time not_before;
  absl::Time not_after;
  bool is_ca = false;
};

// A new ECDSA P-256 private key (PKCS#8 PEM).
absl::StatusOr<std::string> GeneratePrivateKeyPem();
// A certificate signing request for `key_pem`'s public key, signed by it.
absl::StatusOr<std::string> MakeCsrPem(absl::string_view key_pem);
// A self-signed CA certificate for `key_pem`.
absl::StatusOr<std::string> SelfSignedCaPem(absl::string_view key_pem,
                                            absl::string_view common_name, absl::Duration validity);
// Signs the public key of `csr_pem` (whose own signature must verify) as
// `what` says, with a random 128-bit serial. InvalidArgument for a CSR that
// is over-size, does not parse or is not signed by its key, and for a common
// name outside 1 to 64 bytes or a unit over 64 (X.509's bounds).
absl::StatusOr<std::string> SignCsr(absl::string_view ca_cert_pem, absl::string_view ca_key_pem,
                                    absl::string_view csr_pem, const CertificateRequest& what);

absl::StatusOr<CertificateInfo> ReadCertificate(absl::string_view cert_pem);
// "sha256:" and 64 hex digits: SHA-256 of the certificate's DER encoding.
absl::StatusOr<std::string> CertificateFingerprint(absl::string_view cert_pem);
// Whether `cert_pem` was signed by `ca_cert_pem`'s key, is valid at `now`
// and (with `client`) may be used to authenticate a TLS client.
// PermissionDenied saying why not.
absl::Status VerifyCertificate(absl::string_view cert_pem, absl::string_view ca_cert_pem,
                               absl::Time now, bool client = false);
// Whether `key_pem` is the private key of `cert_pem`.
absl::Status CheckKeyMatches(absl::string_view key_pem, absl::string_view cert_pem);
// The PEM certificates of a chain, in order.
std::vector<std::string> SplitPemCertificates(absl::string_view pem_chain);

}  // namespace cairn

#endif  // CAIRN_COMMON_X509_H_
