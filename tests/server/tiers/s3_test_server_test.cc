// S3TestServer: s3rver comes up with the bucket, serves plain HTTP requests,
// checks SigV4 signatures (over the Host header as sent), and never outlives
// the test (destructor; the launcher's exit when its stdin closes).
#include "tests/server/tiers/s3_test_server.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/process_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One request with libcurl: a GET, or a PUT of `put_body`. `secret`: SigV4
// signed with key id "S3RVER" and this secret; `host`: the Host header to
// sign and send while connecting to the URL's port.
Reply Request(const std::string& url, const std::string* put_body = nullptr,
              const std::string& secret = "", const std::string& host = "") {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  if (put_body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, put_body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(put_body->size()));
  }
  std::string userpwd = absl::StrCat("S3RVER:", secret);
  curl_slist* headers = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  if (!secret.empty()) {
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
    curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  }
  if (!host.empty()) headers = curl_slist_append(headers, absl::StrCat("Host: ", host).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  reply.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

TEST(S3TestServerTest, StartsWithTheBucketAndServesPlainRequests) {
  const std::string dir = NewTempDir("s3rver");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<S3TestServer> s3, S3TestServer::Start(dir + "/data"));
  EXPECT_GT(s3->port(), 0);
  EXPECT_EQ(s3->endpoint(), absl::StrCat("http://127.0.0.1:", s3->port()));
  EXPECT_EQ(s3->bucket(), "cairn-test");
  struct stat st;
  EXPECT_EQ(::stat((dir + "/data/cairn-test").c_str(), &st), 0) << "no bucket directory";

  Reply list = Request(s3->endpoint() + "/");
  ASSERT_EQ(list.code, CURLE_OK) << curl_easy_strerror(list.code);
  EXPECT_EQ(list.status, 200);
  EXPECT_THAT(list.body, HasSubstr("<Name>cairn-test</Name>"));

  // Unsigned requests are served (s3rver allows anonymous access).
  const std::string object = absl::StrCat(s3->endpoint(), "/cairn-test/some/key");
  const std::string data = "hello, s3rver";
  EXPECT_EQ(Request(object, &data).status, 200);
  Reply got = Request(object);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, data);
  EXPECT_EQ(Request(s3->endpoint() + "/cairn-test/missing").status, 404);
}

TEST(S3TestServerTest, ChecksSignaturesOverTheHostHeaderAsSent) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<S3TestServer> s3, S3TestServer::Start(NewTempDir("s3")));
  const std::string object = absl::StrCat(s3->endpoint(), "/cairn-test/signed");
  const std::string data = "signed bytes";
  Reply put = Request(object, &data, "S3RVER");
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Request(object, nullptr, "S3RVER").status, 200);
  Reply wrong_secret = Request(object, nullptr, "not-the-secret");
  EXPECT_EQ(wrong_secret.status, 403);
  EXPECT_THAT(wrong_secret.body, HasSubstr("SignatureDoesNotMatch"));
  // A Host naming another port (as through S3FaultProxy) is fine when signed:
  // s3rver does not compare it with its own address.
  EXPECT_EQ(Request(object, nullptr, "S3RVER", "127.0.0.1:1").status, 200);
}

TEST(S3TestServerTest, OptionsPointATierAtTheServer) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<S3TestServer> s3, S3TestServer::Start(NewTempDir("s3")));
  S3TierOptions o = s3->Options("packs/");
  EXPECT_EQ(o.endpoint, s3->endpoint());
  EXPECT_EQ(o.bucket, "cairn-test");
  EXPECT_EQ(o.prefix, "packs/");
  EXPECT_EQ(o.region, "us-east-1");
  EXPECT_TRUE(o.path_style);
  EXPECT_EQ(o.access_key_id, "S3RVER");
  EXPECT_EQ(o.secret_access_key, "S3RVER");
  EXPECT_LE(o.backoff_max, absl::Milliseconds(50));
  EXPECT_EQ(s3->OptionsVia("http://127.0.0.1:1").endpoint, "http://127.0.0.1:1");
}

TEST(S3TestServerTest, DestructorStopsAndReapsTheProcess) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<S3TestServer> s3, S3TestServer::Start(NewTempDir("s3")));
  const pid_t pid = s3->pid();
  const std::string endpoint = s3->endpoint();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, 0), 0);
  s3.reset();
  EXPECT_EQ(::kill(pid, 0), -1) << "still running or not reaped";
  EXPECT_EQ(errno, ESRCH);
  EXPECT_EQ(Request(endpoint + "/").code, CURLE_COULDNT_CONNECT);
}

TEST(S3TestServerTest, LauncherExitsWhenItsStdinCloses) {
  // RunCommand gives it /dev/null: stdin is closed from the start.
  e2e::CommandResult r =
      e2e::RunCommand({"/usr/bin/env", absl::StrCat("NODE_PATH=", CAIRN_S3RVER_MODULES),
                       "NODE_OPTIONS=--openssl-legacy-provider", "node", CAIRN_S3RVER_LAUNCHER,
                       NewTempDir("s3") + "/data", "cairn-test"},
                      absl::Seconds(30));
  EXPECT_FALSE(r.timed_out) << r.Describe();
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
}

TEST(S3TestServerTest, MissingModulesSayHowToInstallThem) {
  absl::StatusOr<std::unique_ptr<S3TestServer>> s3 =
      S3TestServer::Start(NewTempDir("s3"), CAIRN_S3RVER_LAUNCHER, "/nonexistent/node_modules");
  ASSERT_FALSE(s3.ok());
  EXPECT_EQ(s3.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s3.status().message(), HasSubstr("run `make test`"));
}

TEST(S3TestServerTest, ALauncherThatExitsEarlyIsReported) {
  absl::StatusOr<std::unique_ptr<S3TestServer>> s3 =
      S3TestServer::Start(NewTempDir("s3"), "/dev/null", CAIRN_S3RVER_MODULES);
  ASSERT_FALSE(s3.ok());
  EXPECT_THAT(s3.status().message(), HasSubstr("node exited with code 0"));
}

}  // namespace
}  // namespace cairn
