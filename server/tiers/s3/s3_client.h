// One S3 endpoint spoken to over libcurl: builds the URL (path-style or
// virtual-host), signs (s3_signer.h), sends, and retries what is worth
// retrying with exponential backoff and full jitter. Thread-safe: requests run
// concurrently on pooled curl handles, whose connections are kept alive.
//
//   S3Client client(options);
//   S3Request get{.method = "GET", .key = "packs/pack-1"};
//   get.headers["range"] = "bytes=0-99";
//   ASSIGN_OR_RETURN(S3Response r, client.Send(get));
//   if (r.status != 206) return S3Error(r, "read pack-1");
#ifndef CAIRN_SERVER_TIERS_S3_S3_CLIENT_H_
#define CAIRN_SERVER_TIERS_S3_S3_CLIENT_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/tiers/s3/s3_tier.h"

namespace cairn {

struct S3Request {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string key;     // the object's full key; "" for the bucket itself
  std::vector<std::pair<std::string, std::string>> query;  // not encoded
  // Extra headers, lower-case names, all signed (range, content-md5, ...).
  std::map<std::string, std::string> headers;
  absl::string_view body;  // sent as is; must outlive Send
  // A response body longer than this fails the request (not retried): a
  // reply never allocates more than the caller asked for.
  size_t max_body = 1 << 20;
};

struct S3Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Called on a 2xx response; an error makes Send try again (a truncated body,
// a wrong ETag), and after the last attempt Send returns that error.
using S3ResponseCheck = std::function<absl::Status(const S3Response&)>;

class S3Client final {
 public:
  explicit S3Client(S3TierOptions options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Sends `request`, again while the failure is transient: a transport
  // error, 5xx, 429, a 400 RequestTimeout, or `check` failing. Returns the
  // response of the first attempt that is not transient, whatever its status
  // (a 404 is an answer, not an error), or Unavailable after max_attempts.
  absl::StatusOr<S3Response> Send(const S3Request& request, const S3ResponseCheck& check = nullptr);

  const S3TierOptions& options() const { return options_; }

 private:
  struct Attempt;
  void* AcquireHandle();
  void ReleaseHandle(void* handle);
  Attempt SendOnce(const S3Request& request, const std::string& payload_sha256);

  const S3TierOptions options_;
  std::string scheme_;  // "http" or "https"
  std::string host_;    // host[:port] of the endpoint
  absl::Mutex mu_;
  std::vector<void*> idle_ ABSL_GUARDED_BY(mu_);  // CURL* easy handles
};

// The error a non-2xx response stands for, with S3's own Code and Message:
// 404 NotFound, 403 PermissionDenied, 416 OutOfRange, 5xx Unavailable,
// others FailedPrecondition. `what` says what was being done.
absl::Status S3Error(const S3Response& response, absl::string_view what);

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_S3_S3_CLIENT_H_
