#include "server/tiers/s3/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/tiers/s3/s3_signer.h"
#include "server/tiers/s3/s3_xml.h"

namespace cairn {

struct S3Client::Attempt {
  absl::Status transport;  // not OK: no response (connection, timeout, ...)
  bool body_too_large = false;
  S3Response response;
};

namespace {

struct Sink {
  CURL* curl;
  S3Response* response;
  size_t max_body;
  bool too_large = false;
};

// Error replies are short XML documents; read them whatever the caller
// expected of a successful reply.
constexpr size_t kMaxErrorBody = 64 << 10;

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t bytes = size * n;
  long status = 0;
  curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
  const size_t limit =
      status >= 200 && status < 300 ? sink->max_body : std::max(sink->max_body, kMaxErrorBody);
  if (sink->response->body.size() + bytes > limit) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->response->body.append(data, bytes);
  return bytes;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  absl::string_view line(data, size * n);
  if (absl::StartsWith(line, "HTTP/")) {
    sink->response->headers.clear();  // a new response (after 100 Continue)
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    sink->response->headers[name] = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return line.size();
}

bool Transient(const S3Response& r) {
  if (r.status >= 500 || r.status == 429) return true;
  return r.status == 400 && XmlFirstText(r.body, "Code") == "RequestTimeout";
}

}  // namespace

S3Client::S3Client(S3TierOptions options) : options_(std::move(options)) {
  static absl::once_flag once;
  absl::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  absl::string_view endpoint = options_.endpoint;
  if (absl::ConsumePrefix(&endpoint, "https://")) {
    scheme_ = "https";
  } else {
    absl::ConsumePrefix(&endpoint, "http://");
    scheme_ = "http";
  }
  host_ = std::string(absl::StripSuffix(endpoint, "/"));
  if (!options_.path_style) host_ = absl::StrCat(options_.bucket, ".", host_);
}

S3Client::~S3Client() {
  absl::MutexLock lock(&mu_);
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* S3Client::AcquireHandle() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void S3Client::ReleaseHandle(void* handle) {
  if (handle == nullptr) return;
  curl_easy_reset(static_cast<CURL*>(handle));  // keeps its live connections
  absl::MutexLock lock(&mu_);
  idle_.push_back(handle);
}

S3Client::Attempt S3Client::SendOnce(const S3Request& request, const std::string& payload_sha256) {
  Attempt attempt;
  CURL* curl = static_cast<CURL*>(AcquireHandle());
  if (curl == nullptr) {
    attempt.transport = absl::ResourceExhaustedError("curl_easy_init failed");
    return attempt;
  }
  SigV4Request sign;
  sign.method = request.method;
  // The bucket itself is "/bucket" path-style (no trailing slash: what SDKs
  // send and stores sign), "/" virtual-host style.
  if (options_.path_style) {
    sign.path = absl::StrCat("/", options_.bucket);
    if (!request.key.empty()) absl::StrAppend(&sign.path, "/", S3UriEncode(request.key, true));
  } else {
    sign.path = absl::StrCat("/", S3UriEncode(request.key, true));
  }
  sign.query = request.query;
  sign.host = host_;
  sign.headers = request.headers;
  sign.headers["x-amz-content-sha256"] = payload_sha256;
  if (!options_.session_token.empty()) {
    sign.headers["x-amz-security-token"] = options_.session_token;
  }
  SigV4Signature sig =
      SignV4(sign, {options_.access_key_id, options_.secret_access_key, options_.session_token},
             options_.region, absl::Now());

  std::string url = absl::StrCat(scheme_, "://", host_, sign.path);
  if (!sign.query.empty()) absl::StrAppend(&url, "?", CanonicalQuery(sign.query));
  curl_slist* headers = nullptr;
  auto add = [&headers](const std::string& h) { headers = curl_slist_append(headers, h.c_str()); };
  for (const auto& [name, value] : sign.headers) add(absl::StrCat(name, ": ", value));
  add(absl::StrCat("x-amz-date: ", sig.amz_date));
  add(absl::StrCat("authorization: ", sig.authorization));
  add("Expect:");        // no 100-continue round trip
  add("Content-Type:");  // curl's form default would be wrong

  Sink sink{curl, &attempt.response, request.max_body};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>(absl::ToInt64Seconds(options_.stall_timeout))));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "PUT" || request.method == "POST") {
      // POSTFIELDS sends the caller's buffer without copying it.
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
    }
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &attempt.response.status);
  attempt.body_too_large = sink.too_large;
  if (rc != CURLE_OK && !sink.too_large) {
    attempt.transport = absl::UnavailableError(
        absl::StrCat(request.method, " ", url, ": ", curl_easy_strerror(rc)));
    // A connection that failed mid-transfer is not reused.
    curl_easy_cleanup(curl);
    return attempt;
  }
  ReleaseHandle(curl);
  return attempt;
}

absl::StatusOr<S3Response> S3Client::Send(const S3Request& request, const S3ResponseCheck& check) {
  thread_local absl::BitGen bitgen;
  absl::Status last;
  const int attempts = std::max(1, options_.max_attempts);
  const std::string payload_sha256 = Sha256Hex(request.body);  // once, not per attempt
  for (int n = 0; n < attempts; ++n) {
    if (n > 0) {
      absl::Duration cap =
          std::min(options_.backoff_max, options_.backoff_base * (1 << std::min(n, 20)));
      absl::SleepFor(
          absl::Nanoseconds(absl::Uniform<int64_t>(bitgen, 0, absl::ToInt64Nanoseconds(cap) + 1)));
    }
    Attempt attempt = SendOnce(request, payload_sha256);
    if (attempt.body_too_large) {
      return absl::DataLossError(absl::StrCat(request.method, " ", request.key,
                                              ": the reply is longer than the ", request.max_body,
                                              " bytes asked for"));
    }
    if (!attempt.transport.ok()) {
      last = attempt.transport;
      continue;
    }
    S3Response& r = attempt.response;
    if (Transient(r)) {
      last = S3Error(r, absl::StrCat(request.method, " ", request.key));
      continue;
    }
    if (r.status >= 200 && r.status < 300 && check) {
      absl::Status ok = check(r);
      if (!ok.ok()) {
        last = ok;
        continue;
      }
    }
    return std::move(r);
  }
  return absl::UnavailableError(absl::StrCat("S3 endpoint ", options_.endpoint, " failed ",
                                             attempts, " attempts; last: ", last.message()));
}

absl::Status S3Error(const S3Response& response, absl::string_view what) {
  std::string code = XmlFirstText(response.body, "Code");
  std::string message = XmlFirstText(response.body, "Message");
  std::string text = absl::StrCat(what, ": HTTP ", response.status);
  if (!code.empty()) absl::StrAppend(&text, " ", code);
  if (!message.empty()) absl::StrAppend(&text, ": ", message);
  switch (response.status) {
    case 404:
      return absl::NotFoundError(text);
    case 403:
      return absl::PermissionDeniedError(
          absl::StrCat(text, " (check the tier's access key, secret and region)"));
    case 416:
      return absl::OutOfRangeError(text);
    default:
      if (response.status >= 500 || response.status == 429) return absl::UnavailableError(text);
      return absl::FailedPreconditionError(text);
  }
}

}  // namespace cairn
