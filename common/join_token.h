// Join tokens: what `cairnctl token create` prints and `cairn-agent enroll
// --token` takes. A token names its record on the server (id), proves the
// holder may enroll (secret: 128 random bits, of which the server keeps only
// a SHA-256), and pins the server's CA (the SHA-256 of its certificate), so
// the agent trusts the server it enrolls with without trusting the network:
//
//   cairn1.<id: 12 hex>.<secret: 32 hex>.<CA fingerprint: 64 hex>
//
//   ASSIGN_OR_RETURN(JoinTokenParts t, ParseJoinToken(text));
#ifndef CAIRN_COMMON_JOIN_TOKEN_H_
#define CAIRN_COMMON_JOIN_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

struct JoinTokenParts {
  std::string id;              // 12 hex digits
  std::string secret;          // 32 hex digits
  std::string ca_fingerprint;  // "sha256:" + 64 hex digits, as CertificateFingerprint
};

// A new id and secret for the CA with `ca_fingerprint` ("sha256:...").
JoinTokenParts NewJoinToken(absl::string_view ca_fingerprint);
std::string FormatJoinToken(const JoinTokenParts& parts);
// InvalidArgument (never quoting the secret) for anything but the format above.
absl::StatusOr<JoinTokenParts> ParseJoinToken(absl::string_view text);
// SHA-256 of the secret: what the server stores and compares.
std::string HashJoinSecret(absl::string_view secret);

}  // namespace cairn

#endif  // CAIRN_COMMON_JOIN_TOKEN_H_
