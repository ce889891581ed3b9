// AWS Signature Version 4 for S3 requests, written by cairn rather than left
// to curl: curl 7.88's CURLOPT_AWS_SIGV4 does not sort query parameters,
// drops the '=' of empty ones and signs the payload as UNSIGNED unless told,
// and each of these breaks a signature somewhere (docs/storage.md).
//
//   SigV4Request r{.method = "PUT", .path = "/bucket/pack-1", .host = "s3.local:9000"};
//   r.headers = {{"x-amz-content-sha256", Sha256Hex(body)}};
//   std::string auth = SignV4(r, credentials, "us-east-1", absl::Now());
#ifndef CAIRN_SERVER_TIERS_S3_S3_SIGNER_H_
#define CAIRN_SERVER_TIERS_S3_S3_SIGNER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cairn {

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

struct SigV4Request {
  std::string method;
  // The path as sent, already URI-encoded (S3EncodePath), starting with '/'.
  std::string path;
  // Query parameters, not encoded; any order (they are sorted to sign).
  std::vector<std::pair<std::string, std::string>> query;
  std::string host;  // the Host header: "host" or "host:port"
  // Headers to sign, besides host and x-amz-date (added by SignV4), with
  // lower-case names. Must hold x-amz-content-sha256.
  std::map<std::string, std::string> headers;
};

// The values of the Authorization and X-Amz-Date headers for `request` made
// at `now`. Adds nothing to `request`; the caller sends host, x-amz-date,
// every header of request.headers and (if any) x-amz-security-token, which
// the caller must put in request.headers itself so it is signed.
struct SigV4Signature {
  std::string authorization;
  std::string amz_date;  // "20261130T120000Z"
};
SigV4Signature SignV4(const SigV4Request& request, const SigV4Credentials& credentials,
                      absl::string_view region, absl::Time now);

// The canonical query string: parameters sorted by encoded name then value,
// each "name=value" (an empty value still has its '='), joined with '&'.
// Also what goes on the wire, so the signed and the sent strings agree.
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
// (A-Z a-z 0-9 - _ . ~) stay, everything else becomes %XX (upper-case);
// '/' stays too when `keep_slash`.
std::string S3UriEncode(absl::string_view s, bool keep_slash);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);
// The MD5 of `data`, computed once, in the two forms S3 wants: base64 for
// Content-MD5, lower-case hex for comparing with the ETag of a PUT.
struct Md5Sum {
  std::string base64;
  std::string hex;
};
Md5Sum Md5Of(absl::string_view data);

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_S3_S3_SIGNER_H_
