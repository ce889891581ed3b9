// The request-head parser of the web listener: what it accepts, and that
// it refuses, with InvalidArgument, every malformed or unwanted head.
#include "server/web/http_request.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(HttpRequestTest, ParsesARequestHead) {
  absl::StatusOr<HttpRequest> r = ParseHttpRequestHead(
      "GET /a%20b/metrics?x=1&name=caf%C3%A9 HTTP/1.1\r\nHost: cairn:7421\r\n"
      "Accept:  text/plain \r\nCONTENT-LENGTH: 0\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/a b/metrics");
  EXPECT_EQ(r->query, "x=1&name=caf%C3%A9");
  EXPECT_EQ(r->Header("host"), "cairn:7421");
  EXPECT_EQ(r->Header("accept"), "text/plain");
  EXPECT_EQ(r->Header("missing"), std::nullopt);
  EXPECT_EQ(r->QueryParam("x"), "1");
  EXPECT_EQ(r->QueryParam("name"), "café");
  EXPECT_EQ(r->QueryParam("y"), std::nullopt);
  ASSERT_TRUE(ParseHttpRequestHead("HEAD / HTTP/1.0\r\n\r\n").ok());
}

TEST(HttpRequestTest, RefusesMalformedHeads) {
  const std::string bad[] = {
      "",
      "\r\n\r\n",
      "GET / HTTP/1.1\r\n",       // no blank line
      "GET /  HTTP/1.1\r\n\r\n",  // two spaces
      "GET / HTTP/1.1 extra\r\n\r\n",
      "G(T / HTTP/1.1\r\n\r\n",          // not a token
      "GET http://x/ HTTP/1.1\r\n\r\n",  // absolute form
      "GET * HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.2\r\n\r\n",
      "GET / http/1.1\r\n\r\n",
      "GET /a\x01 HTTP/1.1\r\n\r\n",
      "GET /%4 HTTP/1.1\r\n\r\n",  // truncated escape
      "GET /%g0 HTTP/1.1\r\n\r\n",
      "GET /%00 HTTP/1.1\r\n\r\n",  // NUL
      "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
      "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
      "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
      "GET / HTTP/1.1\r\nX: a\r\n continued\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "VERYLONGMETHODNAMEHERE / HTTP/1.1\r\n\r\n",
  };
  for (const std::string& head : bad) {
    absl::StatusOr<HttpRequest> r = ParseHttpRequestHead(head);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << "accepted: " << head;
  }
}

TEST(HttpRequestTest, BoundsTheHead) {
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= kMaxHttpHeaders; ++i) many += "X-A: b\r\n";
  many += "\r\n";
  EXPECT_FALSE(ParseHttpRequestHead(many).ok());
  std::string long_head =
      "GET / HTTP/1.1\r\nX: " + std::string(kMaxHttpHeadBytes, 'a') + "\r\n\r\n";
  EXPECT_FALSE(ParseHttpRequestHead(long_head).ok());
}

TEST(HttpRequestTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%2Fb%2fc+d").value(), "a/b/c+d");
  EXPECT_FALSE(PercentDecode("%").ok());
  EXPECT_FALSE(PercentDecode("%1").ok());
  EXPECT_FALSE(PercentDecode("%zz").ok());
  EXPECT_FALSE(PercentDecode("%00").ok());
}

}  // namespace
}  // namespace cairn
