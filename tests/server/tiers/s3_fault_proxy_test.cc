// S3FaultProxy in front of a real s3rver, driven by plain libcurl requests:
// it forwards byte for byte (signatures still hold), keeps connections alive,
// and each armed fault hits exactly the requests it was armed for.
#include "tests/server/tiers/s3_fault_proxy.h"

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/tiers/s3_fault_proxy_http.h"
#include "tests/server/tiers/s3_test_server.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using Fault = S3FaultProxy::Fault;
using Scope = S3FaultProxy::FaultScope;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string head;  // the final response's head
  std::string body;
  long new_connections = 0;
  std::string Etag() const { return HttpHeader(head, "etag"); }
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A libcurl handle: one kept-alive connection for all its requests.
class Client final {
 public:
  Client() : curl_(curl_easy_init()) {}
  ~Client() { curl_easy_cleanup(curl_); }

  // `method` "GET", "HEAD", "PUT" (of `body`) or "DELETE"; `secret`: SigV4
  // signed as key id "S3RVER" with it.
  Reply Do(const std::string& method, const std::string& url, const std::string& body = "",
           const std::string& secret = "") {
    Reply reply;
    std::string heads;
    curl_easy_reset(curl_);  // keeps the connection cache
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(curl_, CURLOPT_EXPECT_100_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &Append);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &heads);
    if (method == "HEAD") curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
    if (method == "PUT" || method == "DELETE") {
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (method == "PUT") {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    std::string userpwd = absl::StrCat("S3RVER:", secret);
    if (!secret.empty()) {
      curl_easy_setopt(curl_, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
      curl_easy_setopt(curl_, CURLOPT_USERPWD, userpwd.c_str());
    }
    curl_slist* headers = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    reply.code = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &reply.new_connections);
    size_t last = heads.rfind("HTTP/");  // past any "100 Continue"
    reply.head = last == std::string::npos ? heads : heads.substr(last);
    return reply;
  }

 private:
  CURL* curl_;
};

class S3FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ASSERT_OK_AND_ASSIGN(s3_, S3TestServer::Start(NewTempDir("s3proxy")));
    ASSERT_OK_AND_ASSIGN(proxy_, S3FaultProxy::Start(s3_->port()));
    ASSERT_EQ(direct_.Do("PUT", Direct("obj"), std::string(1000, 'x')).status, 200);
  }

  std::string Direct(const std::string& key) const {
    return absl::StrCat(s3_->endpoint(), "/cairn-test/", key);
  }
  std::string Proxied(const std::string& key) const {
    return absl::StrCat(proxy_->endpoint(), "/cairn-test/", key);
  }

  std::unique_ptr<S3TestServer> s3_;
  std::unique_ptr<S3FaultProxy> proxy_;
  Client direct_;
  Client client_;
};

TEST_F(S3FaultProxyTest, ForwardsRequestsAndResponsesUnchanged) {
  Reply direct = direct_.Do("GET", Direct("obj"));
  Reply proxied = client_.Do("GET", Proxied("obj"));
  ASSERT_EQ(proxied.code, CURLE_OK) << curl_easy_strerror(proxied.code);
  EXPECT_EQ(proxied.status, 200);
  EXPECT_EQ(proxied.body, direct.body);
  EXPECT_EQ(proxied.Etag(), direct.Etag());
  EXPECT_EQ(client_.Do("GET", Proxied("missing")).status, 404);
  EXPECT_EQ(client_.Do("HEAD", Proxied("obj")).status, 200);
  EXPECT_EQ(client_.Do("PUT", Proxied("new"), "new bytes").status, 200);
  EXPECT_EQ(direct_.Do("GET", Direct("new")).body, "new bytes");
  EXPECT_EQ(client_.Do("DELETE", Proxied("new")).status, 204);
  EXPECT_EQ(direct_.Do("GET", Direct("new")).status, 404);
  EXPECT_EQ(proxy_->requests(), 5);
  EXPECT_EQ(proxy_->faults_injected(), 0);
  EXPECT_EQ(proxy_->request_lines().front(), "GET /cairn-test/obj HTTP/1.1");
}

TEST_F(S3FaultProxyTest, SignaturesForTheProxysAddressHold) {
  Reply put = client_.Do("PUT", Proxied("signed"), "signed bytes", "S3RVER");
  EXPECT_EQ(put.status, 200) << put.body;
  Reply get = client_.Do("GET", Proxied("signed"), "", "S3RVER");
  EXPECT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.body, "signed bytes");
  Reply bad = client_.Do("GET", Proxied("signed"), "", "wrong-secret");
  EXPECT_EQ(bad.status, 403);
  EXPECT_THAT(bad.body, HasSubstr("SignatureDoesNotMatch"));
}

TEST_F(S3FaultProxyTest, KeepsOneConnectionForManyRequests) {
  for (int i = 0; i < 20; ++i) {
    const std::string key = absl::StrCat("k", i);
    Reply put = client_.Do("PUT", Proxied(key), key);
    ASSERT_EQ(put.status, 200);
    EXPECT_EQ(put.new_connections, i == 0 ? 1 : 0) << "request " << i;
    EXPECT_EQ(client_.Do("HEAD", Proxied(key)).new_connections, 0);
    EXPECT_EQ(client_.Do("GET", Proxied(key)).body, key);
  }
  EXPECT_EQ(proxy_->requests(), 60);
}

TEST_F(S3FaultProxyTest, ReconnectsWhenTheStoreClosedAnIdleConnection) {
  ASSERT_EQ(client_.Do("GET", Proxied("obj")).status, 200);
  absl::SleepFor(absl::Seconds(7));  // s3rver drops connections idle for 5 s (checked every 1)
  Reply again = client_.Do("GET", Proxied("obj"));
  EXPECT_EQ(again.code, CURLE_OK) << curl_easy_strerror(again.code);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.new_connections, 0) << "the client's connection should have stayed up";
}

TEST_F(S3FaultProxyTest, AnswersExpectContinueItself) {
  const std::string big(3 << 20, 'b');  // curl sends "Expect: 100-continue" over 1 MiB
  absl::Time start = absl::Now();
  Reply put = client_.Do("PUT", Proxied("big"), big);
  EXPECT_EQ(put.status, 200);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "curl waited for a 100 Continue";
  EXPECT_EQ(direct_.Do("GET", Direct("big")).body, big);
}

TEST_F(S3FaultProxyTest, ErrorFaultsAnswerWithoutForwarding) {
  proxy_->Arm(Fault::kServerError, 1);
  Reply put = client_.Do("PUT", Proxied("never"), "data");
  EXPECT_EQ(put.status, 500);
  EXPECT_THAT(put.body, HasSubstr("<Code>InternalError</Code>"));
  EXPECT_EQ(direct_.Do("GET", Direct("never")).status, 404) << "the PUT reached the store";

  proxy_->Arm(Fault::kSlowDown, 1);
  Reply slow = client_.Do("GET", Proxied("obj"));
  EXPECT_EQ(slow.status, 503);
  EXPECT_THAT(slow.body, HasSubstr("<Code>SlowDown</Code>"));

  proxy_->Arm(Fault::kForbidden, 1);
  Reply denied = client_.Do("GET", Proxied("obj"));
  EXPECT_EQ(denied.status, 403);
  EXPECT_THAT(denied.body, HasSubstr("<Code>AccessDenied</Code>"));

  proxy_->Arm(Fault::kServerError, 1);
  EXPECT_EQ(client_.Do("HEAD", Proxied("obj")).status, 500);
  Reply after = client_.Do("GET", Proxied("obj"));  // same connection, still in step
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.new_connections, 0);
  EXPECT_EQ(after.body, std::string(1000, 'x'));
  EXPECT_EQ(proxy_->faults_injected(), 4);
}

TEST_F(S3FaultProxyTest, DropConnectionGivesACurlError) {
  proxy_->Arm(Fault::kDropConnection, 1);
  Reply dropped = client_.Do("GET", Proxied("obj"));
  EXPECT_EQ(dropped.code, CURLE_GOT_NOTHING) << curl_easy_strerror(dropped.code);
  EXPECT_EQ(client_.Do("GET", Proxied("obj")).status, 200);
}

TEST_F(S3FaultProxyTest, TruncateBodyCutsTheBodyAndCloses) {
  proxy_->Arm(Fault::kTruncateBody, 1);
  Reply cut = client_.Do("GET", Proxied("obj"));
  EXPECT_EQ(cut.code, CURLE_PARTIAL_FILE) << curl_easy_strerror(cut.code);
  EXPECT_EQ(cut.body, std::string(500, 'x'));
  EXPECT_EQ(HttpHeader(cut.head, "content-length"), "1000");
  EXPECT_EQ(client_.Do("GET", Proxied("obj")).body.size(), 1000u);
}

TEST_F(S3FaultProxyTest, WrongEtagChangesOnlyTheEtag) {
  const std::string etag = direct_.Do("GET", Direct("obj")).Etag();
  ASSERT_THAT(etag, MatchesRegex("\"[0-9a-f]{32}\""));
  proxy_->Arm(Fault::kWrongEtag, 1);
  Reply wrong = client_.Do("GET", Proxied("obj"));
  EXPECT_EQ(wrong.status, 200);
  EXPECT_THAT(wrong.Etag(), MatchesRegex("\"[0-9a-f]{32}\""));
  EXPECT_NE(wrong.Etag(), etag);
  EXPECT_EQ(wrong.body, std::string(1000, 'x'));
  EXPECT_EQ(client_.Do("GET", Proxied("obj")).Etag(), etag);
}

TEST_F(S3FaultProxyTest, DelayHoldsTheRequest) {
  proxy_->SetDelay(absl::Milliseconds(300));
  proxy_->Arm(Fault::kDelay, 1);
  absl::Time start = absl::Now();
  EXPECT_EQ(client_.Do("GET", Proxied("obj")).status, 200);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
}

TEST_F(S3FaultProxyTest, FaultsHitOnlyTheirScopeAndCount) {
  proxy_->Arm(Fault::kServerError, 2, Scope::kPut);
  EXPECT_EQ(client_.Do("GET", Proxied("obj")).status, 200);
  EXPECT_EQ(client_.Do("PUT", Proxied("p"), "1").status, 500);
  EXPECT_EQ(client_.Do("HEAD", Proxied("obj")).status, 200);
  EXPECT_EQ(client_.Do("PUT", Proxied("p"), "2").status, 500);
  EXPECT_EQ(client_.Do("PUT", Proxied("p"), "3").status, 200);
  EXPECT_EQ(proxy_->faults_injected(), 2);
  EXPECT_EQ(proxy_->armed(), 0);

  proxy_->Arm(Fault::kForbidden, 5);
  EXPECT_EQ(proxy_->armed(), 5);
  proxy_->Disarm();
  EXPECT_EQ(client_.Do("GET", Proxied("obj")).status, 200);
  EXPECT_EQ(proxy_->requests(), 6);
}

TEST_F(S3FaultProxyTest, ServesConcurrentClients) {
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t, &ok] {
      Client client;
      for (int i = 0; i < 10; ++i) {
        const std::string key = absl::StrCat("c", t, "-", i);
        if (client.Do("PUT", Proxied(key), key).status == 200 &&
            client.Do("GET", Proxied(key)).body == key) {
          ++ok[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(ok[t], 10) << "client " << t;
  EXPECT_EQ(proxy_->requests(), 160);
}

TEST_F(S3FaultProxyTest, StopsPromptlyWithConnectionsOpen) {
  ASSERT_EQ(client_.Do("GET", Proxied("obj")).status, 200);  // its connection stays open
  proxy_->SetDelay(absl::Seconds(60));
  proxy_->Arm(Fault::kDelay, 1);
  std::thread stuck([this] { Client().Do("GET", Proxied("obj")); });
  while (proxy_->armed() > 0) absl::SleepFor(absl::Milliseconds(5));
  absl::Time start = absl::Now();
  proxy_.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  stuck.join();
}

TEST(S3FaultProxyHttpTest, ReadsChunkedBodiesAsSent) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string body = "5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nTrailer: t\r\n\r\n";
  const std::string next = "HTTP/1.1 204 No Content\r\n\r\n";
  ASSERT_TRUE(SendAll(fds[1], head + body + next));
  HttpReader reader(fds[0]);
  std::string got_head, got_body, next_head;
  bool close_delimited = false;
  ASSERT_TRUE(reader.ReadHead(&got_head));
  EXPECT_EQ(got_head, head);
  ASSERT_TRUE(reader.ReadBody(got_head, true, &got_body, &close_delimited));
  EXPECT_EQ(got_body, body);
  EXPECT_FALSE(close_delimited);
  ASSERT_TRUE(reader.ReadHead(&next_head));
  EXPECT_EQ(HttpStatus(next_head), 204);
  ::close(fds[1]);
  ::close(fds[0]);
}

}  // namespace
}  // namespace cairn
